/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/token.h"

#include <errno.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

#include "base/macro.h"

int token_generate(char *ret, size_t n)
{
	unsigned char raw[PROXY_TOKEN_LEN / 2];
	static const char hex[] = "0123456789abcdef";
	size_t got = 0;

	if (n < PROXY_TOKEN_LEN + 1)
		return -EINVAL;
	while (got < sizeof(raw)) {
		ssize_t k = getrandom(raw + got, sizeof(raw) - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)k;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		ret[2 * i] = hex[raw[i] >> 4];
		ret[2 * i + 1] = hex[raw[i] & 15];
	}
	ret[PROXY_TOKEN_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

static bool secret_eq(const char *token, const char *s, size_t n)
{
	size_t tl = strlen(token);
	/* The length is not secret (always 64); the content is compared in constant time. */
	return n == tl && CRYPTO_memcmp(token, s, n) == 0;
}

enum token_result token_check(const char *token, const char *value)
{
	const char *p;

	if (!value)
		return TOKEN_MISSING;
	while (*value == ' ' || *value == '\t')
		value++;

	if (strncasecmp(value, "Bearer ", 7) == 0) {
		p = value + 7;
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (p[n + strspn(p + n, " \t")] != '\0')
			return TOKEN_BAD;
		return secret_eq(token, p, n) ? TOKEN_OK : TOKEN_BAD;
	}
	if (strncasecmp(value, "Basic ", 6) == 0) {
		unsigned char dec[256];
		p = value + 6;
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (n == 0 || n % 4 != 0 || n > (sizeof(dec) - 1) / 3 * 4 ||
		    p[n + strspn(p + n, " \t")] != '\0')
			return TOKEN_BAD;
		int dl = EVP_DecodeBlock(dec, (const unsigned char *)p, (int)n);
		if (dl < 0)
			return TOKEN_BAD;
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		if (p[n - 1] == '=')
			dl--;
		if (p[n - 2] == '=')
			dl--;
		dec[dl] = '\0';
		const char *colon = memchr(dec, ':', (size_t)dl);
		enum token_result r = TOKEN_BAD;
		if (colon && !memchr(dec, '\0', (size_t)dl)) {
			size_t off = (size_t)(colon - (char *)dec) + 1;
			r = secret_eq(token, (char *)dec + off, (size_t)dl - off) ? TOKEN_OK
										  : TOKEN_BAD;
		}
		explicit_bzero(dec, sizeof(dec));
		return r;
	}
	return TOKEN_BAD;
}
