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

int path_canonicalize(const char *path, const char *base, char **ret, bool *ret_exists)
{
	_cleanup_free_ char *abs = NULL;
	int r = path_absolute(path, base, &abs);
	if (r < 0)
		return r;

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
