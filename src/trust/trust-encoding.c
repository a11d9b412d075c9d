/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64 (RFC 4648, written here so decoding is strict and can run in place inside
 * secret memory), the DSSE pre-authentication encoding and hex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "trust/trust.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *trust_b64_encode(const void *p, size_t n)
{
	const uint8_t *s = p;
	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = b64_std[v >> 18];
		*o++ = b64_std[(v >> 12) & 63];
		*o++ = b64_std[(v >> 6) & 63];
		*o++ = b64_std[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		*o++ = b64_std[v >> 18];
		*o++ = b64_std[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*o++ = b64_std[v >> 18];
		*o++ = b64_std[(v >> 12) & 63];
		*o++ = b64_std[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = 0;
	return out;
}

/* 0..63, or -1; *url set to 1 or 0 for the alphabet-specific characters. */
static int b64_value(char c, int *url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '/') {
		if (*url == 1)
			return -1;
		*url = 0;
		return c == '+' ? 62 : 63;
	}
	if (c == '-' || c == '_') {
		if (*url == 0)
			return -1;
		*url = 1;
		return c == '-' ? 62 : 63;
	}
	return -1;
}

int trust_b64_decode(const char *in, size_t n, uint8_t *out, size_t *ret_len)
{
	int url = -1;
	size_t pad = 0;

	/* Padding: only at the end, only to a multiple of 4, at most two. */
	while (pad < n && in[n - 1 - pad] == '=')
		pad++;
	if (pad > 2 || (pad && n % 4))
		return -EINVAL;
	n -= pad;
	if (n % 4 == 1)
		return -EINVAL;

	size_t o = 0, i = 0;
	/* Reading 4 characters writes 3 bytes at o <= i: safe in place. */
	for (; i + 4 <= n; i += 4) {
		int a = b64_value(in[i], &url), b = b64_value(in[i + 1], &url),
		    c = b64_value(in[i + 2], &url), e = b64_value(in[i + 3], &url);
		if (a < 0 || b < 0 || c < 0 || e < 0)
			return -EINVAL;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)e;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	size_t rest = n - i;
	if (rest) {
		int a = b64_value(in[i], &url), b = b64_value(in[i + 1], &url);
		int c = rest == 3 ? b64_value(in[i + 2], &url) : 0;
		if (a < 0 || b < 0 || c < 0)
			return -EINVAL;
		if (pad && pad != 4 - rest)
			return -EINVAL;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		/* Canonical: the bits past the last byte are zero. */
		if ((rest == 2 && (v & 0xffff)) || (rest == 3 && (v & 0xff)))
			return -EINVAL;
		out[o++] = (uint8_t)(v >> 16);
		if (rest == 3)
			out[o++] = (uint8_t)(v >> 8);
	}
	*ret_len = o;
	return 0;
}

int trust_pae(const char *type, const void *body, size_t n, uint8_t **ret, size_t *ret_len)
{
	size_t tl = strlen(type);
	char head[64];
	int hl = snprintf(head, sizeof(head), "DSSEv1 %zu ", tl);
	char mid[32];
	int ml = snprintf(mid, sizeof(mid), " %zu ", n);
	if (hl < 0 || ml < 0 || n > SIZE_MAX - tl - 96)
		return -EOVERFLOW;
	size_t total = (size_t)hl + tl + (size_t)ml + n;
	uint8_t *p = malloc(total ? total : 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, head, (size_t)hl);
	memcpy(p + hl, type, tl);
	memcpy(p + hl + tl, mid, (size_t)ml);
	if (n)
		memcpy(p + hl + tl + ml, body, n);
	*ret = p;
	*ret_len = total;
	return 0;
}

void trust_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = 0;
}
