/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the reverse proxy's response framing (reverse.c relay: response
 * head, then the body framed by Content-Length, chunked encoding or the connection's
 * end, HEAD responses without a body). Input: one flag byte (bit 0: the request was
 * HEAD; the other bits seed where the stream is cut), then the upstream's bytes, in
 * an exactly sized buffer. The head goes to the framer first, as reverse.c feeds it,
 * then the rest in pieces. Invariants checked:
 *  - the framer never claims more bytes than it was given, and claims fewer only
 *    when the message completed;
 *  - a completed Content-Length message claimed exactly head + length bytes;
 *  - a completed chunked message ends with CRLF; a HEAD response completes at once;
 *  - a message delimited by EOF completes on EOF (n == 0), and nothing completes twice.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/macro.h"
#include "proxy/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_head rh;
	struct http1_framer f;

	if (size < 1)
		return 0;
	bool head_req = data[0] & 1;
	unsigned seed = data[0] >> 1;
	size -= 1;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size);
	if (http1_parse_response_head(buf, size, &rh) != 1)
		goto out;
	if (rh.head_len > size)
		__builtin_trap();
	http1_framer_init(&f, true, head_req);
	ssize_t k = http1_framer_feed(&f, buf, rh.head_len);
	if (k < 0)
		goto out;
	if ((size_t)k > rh.head_len || ((size_t)k < rh.head_len && !f.complete))
		__builtin_trap();
	if (head_req && !f.complete)
		__builtin_trap();
	bool eof_body = !f.complete && http1_framer_needs_eof(&f);
	(void)http1_framer_keep_alive(&f);

	size_t off = rh.head_len, body = 0;
	while (!f.complete && off < size) {
		/* Cut the stream at seed-driven points: 1..(seed % 7 + 1) * 17 bytes. */
		size_t piece = 1 + (off * 31 + seed) % ((seed % 7 + 1) * 17);
		if (piece > size - off)
			piece = size - off;
		k = http1_framer_feed(&f, buf + off, piece);
		if (k < 0)
			goto out;
		if ((size_t)k > piece || ((size_t)k < piece && !f.complete))
			__builtin_trap();
		off += (size_t)k;
		body += (size_t)k;
	}
	if (!f.complete) {
		k = http1_framer_feed(&f, buf, 0); /* EOF */
		if (k > 0 || (k == 0 && eof_body && !f.complete))
			__builtin_trap();
		goto out;
	}
	if (rh.chunked && !head_req && body > 0 &&
	    (off < 2 || buf[off - 2] != '\r' || buf[off - 1] != '\n'))
		__builtin_trap();
	if (rh.has_content_length && !rh.chunked && !head_req && rh.status >= 200 &&
	    rh.status != 204 && rh.status != 304 && body != rh.content_length)
		__builtin_trap();
	/* A completed message takes nothing more. */
	if (off < size && http1_framer_feed(&f, buf + off, size - off) > 0)
		__builtin_trap();
out:
	free(buf);
	return 0;
}
