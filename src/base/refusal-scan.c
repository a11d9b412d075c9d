/* SPDX-License-Identifier: Apache-2.0 */
#include "base/refusal-scan.h"

#include <string.h>

#include "base/macro.h"

static const char *const messages[_REFUSAL_KIND_MAX] = {
    [REFUSAL_EACCES] = "permission denied",
    [REFUSAL_EPERM] = "operation not permitted",
    [REFUSAL_EROFS] = "read-only file system",
};

const char *refusal_kind_to_string(enum refusal_kind k)
{
	static const char *const names[_REFUSAL_KIND_MAX] = {
	    [REFUSAL_EACCES] = "Permission denied",
	    [REFUSAL_EPERM] = "Operation not permitted",
	    [REFUSAL_EROFS] = "Read-only file system",
	};
	return k >= 0 && k < _REFUSAL_KIND_MAX ? names[k] : "refused";
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Offset of the first case-insensitive occurrence of needle in line, or n. */
static size_t find_ci(const char *line, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && lower(line[i + k]) == needle[k])
			k++;
		if (k == m)
			return i;
	}
	return n;
}

/* The UTF-8 quotes coreutils uses in UTF-8 locales: ‘ ’ “ ”. */
static bool utf8_quote_at(const char *line, size_t n, size_t i, unsigned char last)
{
	return i + 3 <= n && (unsigned char)line[i] == 0xe2 && (unsigned char)line[i + 1] == 0x80 &&
	       (unsigned char)line[i + 2] == last;
}

static bool opens_quote_before(const char *line, size_t i, char *ret_close)
{
	if (i == 0)
		return false;
	char c = line[i - 1];
	if (c == '\'' || c == '"' || c == '`') {
		*ret_close = c;
		return true;
	}
	if (i >= 3 && utf8_quote_at(line, i, i - 3, 0x98)) {
		*ret_close = (char)0x99; /* ’ ends with 0x99 */
		return true;
	}
	if (i >= 3 && utf8_quote_at(line, i, i - 3, 0x9c)) {
		*ret_close = (char)0x9d; /* ” */
		return true;
	}
	return false;
}

static bool path_start(const char *line, size_t n, size_t i)
{
	if (line[i] != '/' || (i + 1 < n && line[i + 1] == '/'))
		return false; /* "//host" is a URL's, not a path */
	if (i == 0)
		return true;
	char c = line[i - 1], dummy;
	return c == ' ' || c == '\t' || c == ':' || c == '(' || c == '[' || c == '=' || c == ',' ||
	       c == '<' || opens_quote_before(line, i, &dummy);
}

/*
 * The path starting at line[i]: its end (exclusive) in *ret_end. Quoted: up to the
 * closing quote, which must be on the line. Bare: up to a space, ':', ',', ')' or a quote.
 * False when it holds a byte that is not printable ASCII.
 */
static bool path_at(const char *line, size_t n, size_t i, size_t *ret_end)
{
	char close = 0;
	bool quoted = opens_quote_before(line, i, &close);
	size_t j = i;
	for (; j < n; j++) {
		unsigned char c = (unsigned char)line[j];
		if (quoted) {
			if ((char)c == close && (close == '\'' || close == '"' || close == '`'))
				break;
			if (c == 0xe2 && j + 3 <= n && (unsigned char)line[j + 1] == 0x80 &&
			    line[j + 2] == close)
				break;
		} else if (c == ' ' || c == '\t' || c == ':' || c == ',' || c == ')' || c == '\'' ||
			   c == '"' || c == '`' || c == ']' || c == '>')
			break;
		else if (c == 0xe2 && j + 3 <= n && (unsigned char)line[j + 1] == 0x80 &&
			 ((unsigned char)line[j + 2] == 0x99 || (unsigned char)line[j + 2] == 0x9d))
			break;
		/* Printable ASCII only: a terminal may act on C1 controls (U+0080..U+009F, or
		 * 8-bit 0x9b as CSI), and the footer prints what is kept. */
		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	if (quoted && j == n)
		return false; /* unterminated */
	*ret_end = j;
	return true;
}

bool refusal_scan_line(const char *line, size_t n, enum refusal_kind *ret_kind, char *ret_path,
		       size_t size)
{
	size_t at = n, best_s = 0, best_e = 0;
	enum refusal_kind kind = REFUSAL_EACCES;
	bool found = false;

	if (size < 2)
		return false;
	for (int k = 0; k < _REFUSAL_KIND_MAX; k++) {
		size_t p = find_ci(line, n, messages[k]);
		if (p < at) {
			at = p;
			kind = (enum refusal_kind)k;
		}
	}
	if (at == n)
		return false;
	/* The last path before the message ("cat: /x: Permission denied"), else the first
	 * after it ("EACCES: permission denied, open '/x'"). */
	for (size_t i = 0; i < n; i++) {
		size_t e;
		if (!path_start(line, n, i) || !path_at(line, n, i, &e))
			continue;
		if (i < at) {
			if (e <= at) {
				best_s = i;
				best_e = e;
				found = true;
			}
			i = e > i ? e - 1 : i;
			continue;
		}
		if (!found) {
			best_s = i;
			best_e = e;
			found = true;
		}
		break;
	}
	if (!found || best_e - best_s >= size)
		return false;
	memcpy(ret_path, line + best_s, best_e - best_s);
	ret_path[best_e - best_s] = 0;
	*ret_kind = kind;
	return true;
}

static void keep(struct refusal_scan *s, enum refusal_kind kind, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->found[i].path, path))
			return;
	if (s->n == REFUSAL_MAX) {
		s->dropped++;
		return;
	}
	size_t l = strlen(path); /* refusal_scan_line() bounded it */
	s->found[s->n].kind = kind;
	memcpy(s->found[s->n].path, path, l + 1);
	s->n++;
}

static void end_line(struct refusal_scan *s)
{
	char path[REFUSAL_PATH_MAX];
	enum refusal_kind kind;

	if (!s->overflow && s->len > 0 &&
	    refusal_scan_line(s->line, s->len, &kind, path, sizeof(path)))
		keep(s, kind, path);
	s->len = 0;
	s->overflow = false;
}

void refusal_scan_init(struct refusal_scan *s)
{
	memset(s, 0, sizeof(*s));
}

enum { ESC_NONE = 0, ESC_START, ESC_CSI, ESC_OSC };

void refusal_scan_feed(struct refusal_scan *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		switch (s->esc) {
		case ESC_START:
			s->esc = c == '[' ? ESC_CSI : c == ']' ? ESC_OSC : ESC_NONE;
			continue;
		case ESC_CSI:
			if (c >= 0x40 && c <= 0x7e)
				s->esc = ESC_NONE;
			continue;
		case ESC_OSC:
			if (c == 0x07)
				s->esc = ESC_NONE;
			else if (c == 0x1b)
				s->esc = ESC_START; /* ESC \ ends it; the backslash is dropped */
			continue;
		default:
			break;
		}
		if (c == '\n' || c == '\r') {
			end_line(s);
			continue;
		}
		if (c == 0x1b) {
			s->esc = ESC_START;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			continue;
		if (s->overflow)
			continue;
		if (s->len == sizeof(s->line)) {
			s->overflow = true;
			continue;
		}
		s->line[s->len++] = (char)c;
	}
}

void refusal_scan_flush(struct refusal_scan *s)
{
	end_line(s);
	s->esc = ESC_NONE;
}
