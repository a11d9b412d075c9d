/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#define PROXY_TOKEN_LEN 64 /* 256 bits as lowercase hex */

enum token_result {
	TOKEN_OK = 0,
	TOKEN_MISSING, /* no Proxy-Authorization header */
	TOKEN_BAD,     /* present but wrong or malformed */
	_TOKEN_RESULT_MAX,
};

/* Fill ret (PROXY_TOKEN_LEN + 1 bytes) with 256 fresh bits from getrandom(), hex. */
int token_generate(char *ret, size_t n);

/*
 * Check one Proxy-Authorization value (NULL: header absent) against token:
 * "Basic base64(user:token)" with any user, or "Bearer token"; scheme names are
 * case-insensitive. The token comparison is constant-time (CRYPTO_memcmp).
 */
enum token_result token_check(const char *token, const char *value);
