/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/endpoint.h"

#include <errno.h>
#include <stdint.h>
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

/* Decode into out; returns the decoded length or -errno. */
static int decode(const char *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (w + 1 >= outsz)
			return -ENAMETOOLONG;
		if (c != '%') {
			if (!raw_ok(c))
				return -EINVAL;
			out[w++] = (char)c;
			continue;
		}
		if (i + 2 >= n)
			return -EINVAL;
		int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		unsigned char v = (unsigned char)(hi << 4 | lo);
		if (v == 0)
			return -EINVAL;
		i += 2;
		if (unreserved(v)) {
			out[w++] = (char)v;
			continue;
		}
		if (w + 3 >= outsz)
			return -ENAMETOOLONG;
		out[w++] = '%';
		out[w++] = hex[v >> 4];
		out[w++] = hex[v & 15];
	}
	if (w >= outsz)
		return -ENAMETOOLONG;
	out[w] = '\0';
	return (int)w;
}

int endpoint_normalize(const char *in, size_t n, char *out, size_t outsz)
{
	if (outsz < 2)
		return -ENAMETOOLONG;
	if (n == 0) {
		out[0] = '/';
		out[1] = '\0';
		return 0;
	}
	if (in[0] != '/' || n > (size_t)INT32_MAX)
		return -EINVAL;
	int len = decode(in, n, out, outsz);
	if (len < 0)
		return len;

	/* Remove dot segments in place: the write index never passes the read index. */
	size_t L = (size_t)len, r = 0, w = 0;
	bool trailing = false;
	while (r < L) {
		while (r < L && out[r] == '/')
			r++;
		size_t s = r;
		while (r < L && out[r] != '/')
			r++;
		size_t sl = r - s;
		if (sl == 0) {
			trailing = true; /* the path ended with a slash */
			break;
		}
		trailing = r < L;
		if (sl == 1 && out[s] == '.') {
			trailing = true;
			continue;
		}
		if (sl == 2 && out[s] == '.' && out[s + 1] == '.') {
			if (w == 0)
				return -EINVAL; /* above the root */
			while (w > 0 && out[w - 1] != '/')
				w--;
			w--; /* the slash that started the removed segment */
			trailing = true;
			continue;
		}
		out[w++] = '/';
		memmove(out + w, out + s, sl);
		w += sl;
	}
	if (w == 0 || trailing)
		out[w++] = '/';
	out[w] = '\0';
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
