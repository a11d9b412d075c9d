/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The one HTTP/1.x request-head adapter (over http-parser). No allocation: spans
 * point into the caller's buffer. Every limit maps to a status the proxy answers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <http_parser.h>

#define HTTP1_MAX_HEAD	  (16 * 1024) /* whole head incl. the blank line -> 431 */
#define HTTP1_MAX_HEADERS 100	      /* -> 431 */
#define HTTP1_MAX_TARGET  8192	      /* -> 414 */

struct span {
	const char *p;
	size_t n;
};

struct http1_header {
	struct span name, value;
};

struct http1_head {
	unsigned method; /* enum http_method */
	const char *method_str;
	struct span target;
	unsigned status; /* responses only */
	unsigned http_major, http_minor;
	struct http1_header headers[HTTP1_MAX_HEADERS];
	size_t n_headers;
	uint64_t content_length; /* valid when has_content_length */
	bool has_content_length;
	bool chunked;	 /* Transfer-Encoding present */
	size_t head_len; /* bytes of the head, blank line included */
};

/*
 * Parse a request head at the start of buf[0..len).
 * Returns 1 with *ret filled when a complete head is there, 0 when more bytes are
 * needed (and len is still under HTTP1_MAX_HEAD), or a negative HTTP status:
 * -400 malformed (unknown methods included), -414 target too long, -431 head or
 * header count too large.
 */
int http1_parse_head(const char *buf, size_t len, struct http1_head *ret);

/* The same for a response head (status in ret->status, no method or target). */
int http1_parse_response_head(const char *buf, size_t len, struct http1_head *ret);

/*
 * Where a streamed message ends (Content-Length, chunked, or the connection's EOF),
 * for relaying it without buffering: feed every byte of the message in order, head
 * first. Chunk framing and trailers are checked, not rewritten.
 */
struct http1_framer {
	http_parser p;
	bool complete;
	bool no_body;
	/* Our own check of chunk framing (http-parser, built lenient, takes any two bytes
	 * after chunk data and any byte for the LF of several CRLFs): */
	uint8_t cstate;	 /* where in the message (http1.c enum chunk_state) */
	uint8_t cdigits; /* hex digits of the current chunk size */
	uint64_t cleft;	 /* chunk-size value, then the data bytes still due */
};
/* head_request: a response to HEAD has no body whatever its headers say. */
void http1_framer_init(struct http1_framer *f, bool response, bool head_request);
/*
 * Returns how many of buf[0..n) belong to this message (fewer than n only when it
 * completes inside; then f->complete), or -EBADMSG on a framing error. n == 0 means
 * EOF, which completes a message delimited by the connection's end.
 */
ssize_t http1_framer_feed(struct http1_framer *f, const char *buf, size_t n);
/* After the head: the body runs until EOF (a response without length or chunking). */
bool http1_framer_needs_eof(const struct http1_framer *f);
/* After the head: HTTP/1.1 without "Connection: close" (or 1.0 with keep-alive). */
bool http1_framer_keep_alive(const struct http1_framer *f);

/* The value of the first header called name (case-insensitive), or NULL span. */
struct span http1_header_get(const struct http1_head *h, const char *name);

/* True when the method is CONNECT. */
bool http1_is_connect(const struct http1_head *h);

/*
 * CONNECT authority-form "host:port" / "[v6]:port"; the port is mandatory.
 * host gets the host without brackets (size n). -EINVAL when malformed.
 */
int http1_parse_authority(struct span target, char *host, size_t n, uint16_t *ret_port);

/*
 * Absolute-form "http://host[:port]/path?query" (no userinfo, no https): host into
 * host (size n), port (80 by default), *ret_path points at the origin-form part in
 * the target ("/" when empty: *ret_path_len == 0). -EINVAL when malformed.
 */
int http1_parse_absolute(struct span target, char *host, size_t n, uint16_t *ret_port,
			 struct span *ret_path);

/* Short reason phrase for a status code we send. */
const char *http1_reason(int status);
