/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/endpoint.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/macro.h"

/* A glob with many "**" could make matching expensive: past this many steps, no match. */
#define GLOB_MAX_STEPS 100000

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Bytes allowed unescaped in a path: printable ASCII minus the ones with a meaning. */
static bool raw_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '\\' && c != '#' && c != '?';
}

/*
 * UTF-8 carried in escapes must be well formed: an overlong form such as "%C0%AE"
 * is a '.' to a lax decoder upstream. State for the next continuation byte.
 */
struct utf8 {
	unsigned need;
	unsigned char lo, hi;
};

static int utf8_step(struct utf8 *u, unsigned char c, bool escaped)
{
	if (u->need) {
		if (!escaped || c < u->lo || c > u->hi)
			return -EINVAL;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xBF;
		return 0;
	}
	if (c < 0x80)
		return 0;
	if (c >= 0xC2 && c <= 0xDF)
		u->need = 1;
	else if (c == 0xE0)
		u->need = 2, u->lo = 0xA0;
	else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
		u->need = 2;
	else if (c == 0xED)
		u->need = 2, u->hi = 0x9F; /* no surrogates */
	else if (c == 0xF0)
		u->need = 3, u->lo = 0x90;
	else if (c >= 0xF1 && c <= 0xF3)
		u->need = 3;
	else if (c == 0xF4)
		u->need = 3, u->hi = 0x8F;
	else
		return -EINVAL; /* C0, C1, F5..FF: never in UTF-8 */
	return 0;
}

/* The segment out[s..e) may not be empty ("//"), "." or "..". */
static bool segment_ok(const char *out, size_t s, size_t e)
{
	size_t l = e - s;
	return !(l == 0 || (l == 1 && out[s] == '.') ||
		 (l == 2 && out[s] == '.' && out[s + 1] == '.'));
}

int endpoint_normalize(const char *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	struct utf8 u = {0, 0x80, 0xBF};
	size_t w = 0, seg = 0;

	if (outsz < 2)
		return -ENAMETOOLONG;
	if (n == 0) {
		out[0] = '/';
		out[1] = '\0';
		return 0;
	}
	if (in[0] != '/' || n > (size_t)INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		bool esc = c == '%';
		if (esc) {
			if (n - i < 3)
				return -EINVAL;
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			/* Encoded separators, dots and parameters mean something else to
			 * some decoder downstream; controls and NUL to every one. */
			if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '.' || c == ';')
				return -EINVAL;
		} else if (!raw_ok(c) || c == ';')
			return -EINVAL;
		if (utf8_step(&u, c, esc) < 0)
			return -EINVAL;
		if (c == '/' && !esc) {
			if (w > 0 && !segment_ok(out, seg, w))
				return -EINVAL;
			if (w + 1 >= outsz)
				return -ENAMETOOLONG;
			out[w++] = '/';
			seg = w;
			continue;
		}
		if (esc && !unreserved(c)) {
			if (w + 3 >= outsz)
				return -ENAMETOOLONG;
			out[w++] = '%';
			out[w++] = hex[c >> 4];
			out[w++] = hex[c & 15];
			continue;
		}
		/* "%25" then a hex digit, raw or decoded, is a second layer of encoding. */
		if (hexval((char)c) >= 0 && w >= 3 && out[w - 3] == '%' && out[w - 2] == '2' &&
		    out[w - 1] == '5')
			return -EINVAL;
		if (w + 1 >= outsz)
			return -ENAMETOOLONG;
		out[w++] = (char)c;
	}
	if (u.need)
		return -EINVAL;
	/* The last segment may be empty: a trailing slash. */
	if (w > seg && !segment_ok(out, seg, w))
		return -EINVAL;
	out[w] = '\0';
	return 0;
}

int endpoint_canon_target(const char *t, size_t n, char *out, size_t outsz, size_t *ret_query_off)
{
	const char *q = memchr(t, '?', n);
	size_t pl = q ? (size_t)(q - t) : n;

	if (memchr(t, '#', n))
		return -EINVAL; /* a fragment is the client's, never the server's */
	for (size_t i = pl; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return -EINVAL;
	if (pl == 0)
		return -EINVAL; /* "?x": no path at all */
	int r = endpoint_normalize(t, pl, out, outsz);
	if (r < 0)
		return r;
	*ret_query_off = pl;
	return 0;
}

/* One segment against one glob segment with '*' wildcards inside it. */
static bool seg_match(const char *g, size_t gl, const char *p, size_t pl)
{
	size_t gi = 0, pi = 0, star = SIZE_MAX, mark = 0;

	while (pi < pl) {
		if (gi < gl && g[gi] == '*') {
			star = gi++;
			mark = pi;
		} else if (gi < gl && g[gi] == p[pi]) {
			gi++;
			pi++;
		} else if (star != SIZE_MAX) {
			gi = star + 1;
			pi = ++mark;
		} else
			return false;
	}
	while (gi < gl && g[gi] == '*')
		gi++;
	return gi == gl;
}

/* g and p point at the start of a segment (after its slash) or at the end. */
static bool glob_rec(const char *g, const char *p, unsigned *steps)
{
	for (;;) {
		if (++*steps > GLOB_MAX_STEPS)
			return false;
		if (*g == '\0')
			return *p == '\0';
		size_t gl = strcspn(g, "/");
		const char *gn = g[gl] ? g + gl + 1 : g + gl;
		if (gl == 2 && g[0] == '*' && g[1] == '*') {
			/* Zero segments, or one more and try again. */
			for (;;) {
				if (glob_rec(gn, p, steps))
					return true;
				if (*p == '\0' || *steps > GLOB_MAX_STEPS)
					return false;
				size_t pl = strcspn(p, "/");
				p = p[pl] ? p + pl + 1 : p + pl;
			}
		}
		if (*p == '\0')
			return false;
		size_t pl = strcspn(p, "/");
		if (!seg_match(g, gl, p, pl))
			return false;
		g = gn;
		p = p[pl] ? p + pl + 1 : p + pl;
	}
}

bool endpoint_glob_match(const char *glob, const char *path)
{
	char buf[8192];
	unsigned steps = 0;
	size_t n = strlen(path);

	if (glob[0] != '/' || path[0] != '/' || n >= sizeof(buf))
		return false;
	memcpy(buf, path, n + 1);
	if (n > 1 && buf[n - 1] == '/')
		buf[n - 1] = '\0';
	/* A glob "/" is the root only; "/x/" matches like "/x". */
	size_t gn = strlen(glob);
	char gbuf[1024];
	if (gn >= sizeof(gbuf))
		return false;
	memcpy(gbuf, glob, gn + 1);
	if (gn > 1 && gbuf[gn - 1] == '/')
		gbuf[gn - 1] = '\0';
	return glob_rec(gbuf + 1, buf + 1, &steps);
}

bool endpoint_method_match(const char *rule_method, const char *method)
{
	return streq(rule_method, "*") || strcasecmp(rule_method, method) == 0;
}

bool endpoint_glob_valid(const char *glob)
{
	if (glob[0] != '/' || strlen(glob) >= 1024)
		return false;
	for (const char *p = glob; *p; p++)
		if (!raw_ok((unsigned char)*p) && *p != '%')
			return false;
	for (const char *s = glob; *s;) {
		s++; /* past the slash */
		size_t l = strcspn(s, "/");
		if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += l;
	}
	return true;
}
