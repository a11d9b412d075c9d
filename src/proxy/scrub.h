/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Credential reflection scrubbing (decisions.md, "The credential proxy scrubs the key
 * from responses"). An upstream can hand the real key back to the agent by echoing the
 * request (an echo endpoint, an error page quoting the header). The reverse proxy runs
 * every response head and body byte through a scrubber that replaces the key with the
 * phantom in each of these spellings (the replacement uses the same spelling):
 *   raw, upper-cased, lower-cased; hex (lower, upper); every byte percent-encoded
 *   (%XX upper and lower) and the URL-component form (unreserved bytes kept); base64
 *   and base64url of the key at each of the three byte alignments (so "user:key" and
 *   "Bearer key" forms are caught: only the characters that depend on the key alone);
 *   JSON with "\/" for '/'.
 * Derived spellings shorter than SCRUB_MIN_DERIVED bytes are left out (they would
 * match ordinary text); the raw key is always a pattern.
 *
 * Matching is leftmost-longest, with a trigram shift table over the shortest pattern's
 * length (Wu-Manber, on trigrams): ordinary text is skipped up to 255 bytes at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define SCRUB_MIN_DERIVED 8

struct scrub;

/* The patterns for key (secret) -> phantom. -EINVAL on an empty key or phantom. */
int scrub_new(const char *key, size_t kl, const char *phantom, size_t pl, struct scrub **ret);
/* Wipes the patterns. Accepts NULL, returns NULL. */
struct scrub *scrub_free(struct scrub *sc);
/* Length of the longest pattern; a stream holds back at most this minus one byte. */
size_t scrub_max_len(const struct scrub *sc);
size_t scrub_n_patterns(const struct scrub *sc);

/*
 * Leftmost-longest match starting at or after from and ending within buf[0..len):
 * true with *ret_at and *ret_len (the matched bytes) and *ret_to / *ret_to_len (the
 * replacement).
 */
bool scrub_find(const struct scrub *sc, const char *buf, size_t len, size_t from, size_t *ret_at,
		size_t *ret_len, const char **ret_to, size_t *ret_to_len);

/* Scrub a whole buffer (a response head) into out. */
int scrub_all(const struct scrub *sc, const char *buf, size_t len, struct strbuf *out);

/*
 * A stream (a response body across reads and chunks). Bytes that could begin a
 * pattern are held back until the next feed decides them, so a key split across
 * reads, TLS records or chunks is still found; the rest goes out at once (a streamed
 * answer is not delayed).
 */
struct scrub_stream {
	const struct scrub *sc;
	char *work; /* held-back bytes at off, then the new input */
	size_t off, held, cap;
};
int scrub_stream_init(struct scrub_stream *st, const struct scrub *sc);
/* Append the scrubbed output for buf[0..n) to out; final flushes what was held. */
int scrub_stream_feed(struct scrub_stream *st, const char *buf, size_t n, bool final,
		      struct strbuf *out);
/*
 * The same without a copy: the output goes to emit as segments, which point into buf,
 * into the scrubber's replacements, or into the stream's own buffer
 * (scrub_stream_holds()): those stay valid only until the next feed. A negative
 * return from emit ends the feed with it.
 */
typedef int (*scrub_emit_fn)(void *ud, const char *p, size_t n);
int scrub_stream_feed_emit(struct scrub_stream *st, const char *buf, size_t n, bool final,
			   scrub_emit_fn emit, void *ud);
bool scrub_stream_holds(const struct scrub_stream *st, const char *p);
/* Wipes and frees the held bytes. */
void scrub_stream_done(struct scrub_stream *st);
