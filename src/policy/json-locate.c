/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/json-locate.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/macro.h"

/* Deeper than jansson's own limit is impossible for accepted text; bound our recursion. */
#define LOCATE_MAX_DEPTH 2048
#define LOCATE_MAX_TOKEN 1024

struct cursor {
	const char *p, *end;
	int line, column;
};

static void adv(struct cursor *c)
{
	if (c->p >= c->end)
		return;
	if (*c->p == '\n') {
		c->line++;
		c->column = 1;
	} else if (((unsigned char)*c->p & 0xC0) != 0x80) {
		c->column++;
	}
	c->p++;
}

static int peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static void skip_ws(struct cursor *c)
{
	for (;;) {
		int ch = peek(c);
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			adv(c);
		else
			return;
	}
}

static void put_utf8(char *buf, size_t *n, size_t cap, uint32_t cp)
{
	unsigned char tmp[4];
	size_t k;
	if (cp < 0x80) {
		tmp[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		tmp[0] = (unsigned char)(0xC0 | (cp >> 6));
		tmp[1] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (unsigned char)(0xE0 | (cp >> 12));
		tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		tmp[2] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		tmp[0] = (unsigned char)(0xF0 | (cp >> 18));
		tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		tmp[3] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	for (size_t i = 0; i < k; i++) {
		if (*n < cap)
			buf[*n] = (char)tmp[i];
		(*n)++;
	}
}

static int hex4(struct cursor *c, uint32_t *ret)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int ch = peek(c);
		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else
			return -EINVAL;
		adv(c);
	}
	*ret = v;
	return 0;
}

/*
 * Read a string at the cursor (on its opening quote). When buf is non-NULL the decoded
 * bytes go there (up to cap) and *ret_n is the full decoded length.
 */
static int read_string(struct cursor *c, char *buf, size_t cap, size_t *ret_n)
{
	size_t n = 0;
	if (peek(c) != '"')
		return -EINVAL;
	adv(c);
	for (;;) {
		int ch = peek(c);
		if (ch < 0)
			return -EINVAL;
		if (ch == '"') {
			adv(c);
			break;
		}
		if (ch == '\\') {
			adv(c);
			int e = peek(c);
			uint32_t cp;
			adv(c);
			switch (e) {
			case '"':
			case '\\':
			case '/':
				cp = (uint32_t)e;
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if (hex4(c, &cp) < 0)
					return -EINVAL;
				if (cp >= 0xD800 && cp < 0xDC00 && peek(c) == '\\') {
					adv(c);
					uint32_t lo;
					if (peek(c) != 'u')
						return -EINVAL;
					adv(c);
					if (hex4(c, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
						return -EINVAL;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				break;
			default:
				return -EINVAL;
			}
			if (buf)
				put_utf8(buf, &n, cap, cp);
			continue;
		}
		if (buf) {
			if (n < cap)
				buf[n] = (char)ch;
			n++;
		}
		adv(c);
	}
	if (ret_n)
		*ret_n = n;
	return 0;
}

static int skip_value(struct cursor *c, unsigned depth);

static int skip_container(struct cursor *c, unsigned depth, bool object)
{
	int close = object ? '}' : ']';
	adv(c);
	skip_ws(c);
	if (peek(c) == close) {
		adv(c);
		return 0;
	}
	for (;;) {
		skip_ws(c);
		if (object) {
			if (read_string(c, NULL, 0, NULL) < 0)
				return -EINVAL;
			skip_ws(c);
			if (peek(c) != ':')
				return -EINVAL;
			adv(c);
		}
		if (skip_value(c, depth + 1) < 0)
			return -EINVAL;
		skip_ws(c);
		int ch = peek(c);
		adv(c);
		if (ch == close)
			return 0;
		if (ch != ',')
			return -EINVAL;
	}
}

static int skip_value(struct cursor *c, unsigned depth)
{
	if (depth > LOCATE_MAX_DEPTH)
		return -EINVAL;
	skip_ws(c);
	int ch = peek(c);
	if (ch == '"')
		return read_string(c, NULL, 0, NULL);
	if (ch == '{' || ch == '[')
		return skip_container(c, depth, ch == '{');
	if (ch < 0)
		return -EINVAL;
	/* number or literal: everything up to a delimiter */
	bool any = false;
	for (;;) {
		ch = peek(c);
		if (ch < 0 || ch == ',' || ch == ']' || ch == '}' || ch == ' ' || ch == '\t' ||
		    ch == '\n' || ch == '\r')
			break;
		any = true;
		adv(c);
	}
	return any ? 0 : -EINVAL;
}

/* Next reference token of pointer into tok (RFC 6901 ~0 ~1 unescaped). */
static int next_token(const char **pointer, char *tok, size_t cap, size_t *ret_n)
{
	const char *p = *pointer;
	size_t n = 0;
	if (*p != '/')
		return -EINVAL;
	p++;
	while (*p && *p != '/') {
		char ch = *p++;
		if (ch == '~') {
			if (*p == '0')
				ch = '~';
			else if (*p == '1')
				ch = '/';
			else
				return -EINVAL;
			p++;
		}
		if (n + 1 >= cap)
			return -EINVAL;
		tok[n++] = ch;
	}
	tok[n] = 0;
	*ret_n = n;
	*pointer = p;
	return 0;
}

int json_locate(const char *text, size_t len, const char *pointer, bool want_key, int *ret_line,
		int *ret_column)
{
	if (!text || !pointer)
		return -EINVAL;
	struct cursor c = {text, text + len, 1, 1};
	int key_line = 0, key_column = 0;
	char tok[LOCATE_MAX_TOKEN], key[LOCATE_MAX_TOKEN];

	skip_ws(&c);
	while (*pointer) {
		size_t tn, kn;
		if (next_token(&pointer, tok, sizeof(tok), &tn) < 0)
			return -EINVAL;
		int ch = peek(&c);
		if (ch == '{') {
			adv(&c);
			bool found = false;
			skip_ws(&c);
			if (peek(&c) == '}')
				return -ENOENT;
			for (;;) {
				skip_ws(&c);
				int kl = c.line, kc = c.column;
				if (read_string(&c, key, sizeof(key), &kn) < 0)
					return -EINVAL;
				skip_ws(&c);
				if (peek(&c) != ':')
					return -EINVAL;
				adv(&c);
				skip_ws(&c);
				if (kn == tn && kn <= sizeof(key) && memcmp(key, tok, tn) == 0) {
					key_line = kl;
					key_column = kc;
					found = true;
					break;
				}
				if (skip_value(&c, 0) < 0)
					return -EINVAL;
				skip_ws(&c);
				ch = peek(&c);
				adv(&c);
				if (ch == '}')
					return -ENOENT;
				if (ch != ',')
					return -EINVAL;
			}
			if (!found)
				return -ENOENT;
		} else if (ch == '[') {
			char *endp;
			errno = 0;
			unsigned long idx = strtoul(tok, &endp, 10);
			if (tn == 0 || *endp || errno || !(tok[0] >= '0' && tok[0] <= '9'))
				return -ENOENT;
			adv(&c);
			skip_ws(&c);
			if (peek(&c) == ']')
				return -ENOENT;
			for (unsigned long i = 0;; i++) {
				skip_ws(&c);
				if (i == idx)
					break;
				if (skip_value(&c, 0) < 0)
					return -EINVAL;
				skip_ws(&c);
				ch = peek(&c);
				adv(&c);
				if (ch == ']')
					return -ENOENT;
				if (ch != ',')
					return -EINVAL;
			}
			key_line = key_column = 0;
		} else {
			return -ENOENT;
		}
	}
	if (want_key) {
		if (!key_line)
			return -ENOENT;
		*ret_line = key_line;
		*ret_column = key_column;
	} else {
		if (c.p >= c.end)
			return -EINVAL;
		*ret_line = c.line;
		*ret_column = c.column;
	}
	return 0;
}
