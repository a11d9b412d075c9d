/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Where in a JSON text a value lives. jansson reports line:column only for syntax
 * errors; for a semantic error (unknown key, wrong type) we know the JSON pointer
 * but not the position, and no Debian-packaged C library maps one to the other. So
 * this is a small hand-written tokenizer that walks the original text along an
 * RFC 6901 pointer. It only ever runs on text jansson has already accepted, but it
 * is written to fail (return -EINVAL) rather than misbehave on anything else.
 */

#include <stdbool.h>
#include <stddef.h>

/*
 * Find the value named by pointer ("" is the root, "/network/allow_domain/2" an
 * element), or with want_key the key of the last object member on the way.
 * Lines and columns start at 1; columns count UTF-8 characters, as jansson's do.
 * Returns 0, -ENOENT when the pointer names nothing, -EINVAL on malformed input.
 */
int json_locate(const char *text, size_t len, const char *pointer, bool want_key, int *ret_line,
		int *ret_column);
