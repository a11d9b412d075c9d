/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The one HTTP/1.x request-head adapter (over http-parser). No allocation: spans
 * point into the caller's buffer. Every limit maps to a status the proxy answers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
