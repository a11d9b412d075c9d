/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the request- and response-head adapter, the target parsers behind
 * it, and the streaming framer (fed in two pieces; it never claims more than it got).
 */
#include <stddef.h>
#include <stdint.h>

#include "proxy/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_head h;
	char host[256];
	uint16_t port;
	struct span path;

	for (int kind = 0; kind < 3; kind++) {
		struct http1_framer f;
		size_t half = size / 2, used = 0;
		http1_framer_init(&f, kind > 0, kind == 2);
		ssize_t k = http1_framer_feed(&f, (const char *)data, half);
		if (k > (ssize_t)half)
			__builtin_trap();
		if (k >= 0 && !f.complete) {
			used = (size_t)k;
			k = http1_framer_feed(&f, (const char *)data + used, size - used);
			if (k > (ssize_t)(size - used))
				__builtin_trap();
		}
		if (k >= 0 && !f.complete)
			(void)http1_framer_feed(&f, (const char *)data, 0);
	}
	if (http1_parse_response_head((const char *)data, size, &h) == 1 &&
	    (h.head_len > size || h.status > 999))
		__builtin_trap();
	if (http1_parse_head((const char *)data, size, &h) != 1)
		return 0;
	if (h.head_len > size || h.target.p < (const char *)data ||
	    h.target.p + h.target.n > (const char *)data + size || h.n_headers > HTTP1_MAX_HEADERS)
		__builtin_trap();
	for (size_t i = 0; i < h.n_headers; i++)
		if (h.headers[i].value.p + h.headers[i].value.n > (const char *)data + h.head_len)
			__builtin_trap();
	(void)http1_header_get(&h, "Proxy-Authorization");
	if (http1_is_connect(&h)) {
		if (http1_parse_authority(h.target, host, sizeof(host), &port) == 0 && port == 0)
			__builtin_trap();
	} else if (http1_parse_absolute(h.target, host, sizeof(host), &port, &path) == 0) {
		if (path.p + path.n > h.target.p + h.target.n)
			__builtin_trap();
	}
	return 0;
}
