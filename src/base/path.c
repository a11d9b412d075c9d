/* SPDX-License-Identifier: Apache-2.0 */
#include "path.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "strbuf.h"

int path_normalize(const char *path, char **ret)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	size_t n = strlen(path);
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	char *out = malloc(n + 2);
	if (!out)
		return -ENOMEM;
	size_t o = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, "/");
		if (l == 1 && p[0] == '.') {
			/* skip */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* drop the slash too */
		} else {
			out[o++] = '/';
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	*ret = out;
	return 0;
}

int path_join(const char *a, const char *b, char **ret)
{
	if (b[0] == '/') {
		char *c = strdup(b);
		if (!c)
			return -ENOMEM;
		*ret = c;
		return 0;
	}
	struct strbuf sb = STRBUF_INIT;
	size_t la = strlen(a);
	int r = strbuf_add(&sb, a, la);
	if (r >= 0 && (la == 0 || a[la - 1] != '/'))
		r = strbuf_adds(&sb, "/");
	if (r >= 0)
		r = strbuf_adds(&sb, b);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret = strbuf_detach(&sb);
	return 0;
}

int path_absolute(const char *path, const char *base, char **ret)
{
	_cleanup_free_ char *cwd = NULL, *joined = NULL;
	if (!path || !*path)
		return -EINVAL;
	if (path[0] != '/' && !base) {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
		base = cwd;
	}
	int r = path_join(path[0] == '/' ? "/" : base, path, &joined);
	if (r < 0)
		return r;
	return path_normalize(joined, ret);
}

/*
 * The memo of path_canon_memo_begin(): lexical prefix -> its canonical form, for the
 * prefixes found to exist and hold no symlink. A policy resolution canonicalises a few
 * hundred paths under the same few directories, and realpath(3) readlinks every
 * component of each (1,200 readlinks in a plain run); with the memo, each directory is
 * looked at once.
 */
struct canon_memo_entry {
	char *lexical, *real;
	size_t len; /* strlen(lexical): most entries are skipped on it */
};
static struct {
	struct canon_memo_entry *v;
	size_t n, cap;
	unsigned depth;
} canon_memo;

#define CANON_MEMO_MAX 1024

void path_canon_memo_begin(void)
{
	canon_memo.depth++;
}

void path_canon_memo_end(void)
{
	if (canon_memo.depth == 0 || --canon_memo.depth > 0)
		return;
	for (size_t i = 0; i < canon_memo.n; i++) {
		free(canon_memo.v[i].lexical);
		free(canon_memo.v[i].real);
	}
	free(canon_memo.v);
	canon_memo.v = NULL;
	canon_memo.n = canon_memo.cap = 0;
}

static const char *canon_memo_get(const char *lexical, size_t len)
{
	for (size_t i = canon_memo.n; i > 0; i--) {
		const struct canon_memo_entry *e = &canon_memo.v[i - 1];
		if (e->len == len && memcmp(e->lexical, lexical, len) == 0)
			return e->real;
	}
	return NULL;
}

/* A full memo only stops remembering; lookups still work. */
static void canon_memo_put(const char *lexical, size_t len, const char *real)
{
	if (canon_memo.n == CANON_MEMO_MAX)
		return;
	if (canon_memo.n == canon_memo.cap) {
		size_t cap = canon_memo.cap ? canon_memo.cap * 2 : 32;
		struct canon_memo_entry *v = reallocarray(canon_memo.v, cap, sizeof(*v));
		if (!v)
			return;
		canon_memo.v = v;
		canon_memo.cap = cap;
	}
	char *l = strndup(lexical, len), *rl = strdup(real);
	if (!l || !rl) {
		free(l);
		free(rl);
		return;
	}
	canon_memo.v[canon_memo.n++] = (struct canon_memo_entry){l, rl, len};
}

/*
 * Walk the normalised absolute path abs from its longest memoised prefix, one readlink
 * per component. Returns 1 with *ret set when no component is a symlink (*ret_exists
 * false when a component is missing: the rest is appended, as realpath's fallback
 * below does), 0 when the walk cannot decide (a symlink, an error other than a missing
 * component): the caller then uses realpath(3) as without the memo.
 */
static int canon_memo_walk(const char *abs, char **ret, bool *ret_exists)
{
	struct strbuf cur = STRBUF_INIT;
	size_t start = 0;
	int r;

	/* The longest memoised prefix ending at a component boundary. */
	for (size_t n = strlen(abs); n > 0; n--) {
		if (abs[n] != '/' && abs[n] != 0)
			continue;
		const char *real = canon_memo_get(abs, n);
		if (real) {
			if ((r = strbuf_adds(&cur, real)) < 0)
				goto fail;
			start = n;
			break;
		}
	}
	while (abs[start] == '/' && abs[start + 1]) {
		const char *comp = abs + start + 1;
		size_t l = strcspn(comp, "/");
		size_t keep = cur.len;
		if ((r = strbuf_adds(&cur, "/")) < 0 || (r = strbuf_add(&cur, comp, l)) < 0)
			goto fail;
		char c;
		if (readlink(cur.buf, &c, 1) >= 0)
			goto undecided; /* a symlink: realpath resolves it */
		if (errno != EINVAL) {
			if (errno != ENOENT && errno != ENOTDIR)
				goto undecided; /* an error: realpath reports it */
			/* Missing: the existing prefix, then the rest lexically. */
			cur.len = keep;
			cur.buf[keep] = 0;
			_cleanup_free_ char *joined = NULL;
			r = path_join(keep ? cur.buf : "/", abs + start + 1, &joined);
			if (r >= 0)
				r = path_normalize(joined, ret);
			strbuf_release(&cur);
			if (r < 0)
				return r;
			*ret_exists = false;
			return 1;
		}
		start += 1 + l;
		canon_memo_put(abs, start, cur.buf);
	}
	if (cur.len == 0 && (r = strbuf_adds(&cur, "/")) < 0)
		goto fail;
	*ret = strbuf_detach(&cur);
	*ret_exists = true;
	return 1;
undecided:
	strbuf_release(&cur);
	return 0;
fail:
	strbuf_release(&cur);
	return r;
}

int path_canonicalize(const char *path, const char *base, char **ret, bool *ret_exists)
{
	_cleanup_free_ char *abs = NULL;
	int r = path_absolute(path, base, &abs);
	if (r < 0)
		return r;

	if (canon_memo.depth > 0) {
		bool exists;
		r = canon_memo_walk(abs, ret, &exists);
		if (r < 0)
			return r;
		if (r > 0) {
			if (ret_exists)
				*ret_exists = exists;
			return 0;
		}
	}

	char *real = realpath(abs, NULL);
	if (real) {
		*ret = real;
		if (ret_exists)
			*ret_exists = true;
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return -errno;

	/* Resolve the longest existing prefix, append the rest lexically. */
	size_t n = strlen(abs);
	while (n > 1) {
		while (n > 1 && abs[n - 1] != '/')
			n--;
		if (n > 1)
			n--; /* position of the slash */
		char saved = abs[n];
		abs[n] = 0;
		_cleanup_free_ char *prefix = realpath(n ? abs : "/", NULL);
		abs[n] = saved;
		if (prefix) {
			_cleanup_free_ char *joined = NULL;
			/* n == 1: only "/" exists and abs[1] starts the rest (no slash to skip). */
			r = path_join(prefix, abs + n + (abs[n] == '/'), &joined);
			if (r < 0)
				return r;
			r = path_normalize(joined, ret);
			if (r < 0)
				return r;
			if (ret_exists)
				*ret_exists = false;
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
	}
	r = path_normalize(abs, ret);
	if (r >= 0 && ret_exists)
		*ret_exists = false;
	return r;
}

bool path_is_beneath(const char *path, const char *parent)
{
	if (streq(parent, "/"))
		return path[0] == '/';
	const char *rest = startswith(path, parent);
	return rest && (*rest == 0 || *rest == '/');
}

bool path_is_plain_relative(const char *p)
{
	size_t l = strlen(p);
	if (l == 0 || l >= PATH_MAX || p[0] == '/' || p[l - 1] == '/')
		return false;
	for (const char *c = p; c; c = strchr(c, '/'), c = c ? c + 1 : NULL) {
		size_t n = strcspn(c, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return true;
}
