/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/expand.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strbuf.h"

static const char *const known_vars[] = {"HOME", "WORKDIR", "TMPDIR", "UID"};

int expand_vars_init(struct expand_vars *v, const char *workdir)
{
	*v = (struct expand_vars){0};
	const char *home = secure_getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (home) {
		v->home = strdup(home);
		if (!v->home)
			goto oom;
	}
	const char *tmp = secure_getenv("TMPDIR");
	v->tmpdir = strdup(tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!v->tmpdir)
		goto oom;
	if (workdir) {
		v->workdir = strdup(workdir);
		if (!v->workdir)
			goto oom;
	}
	(void)snprintf(v->uid, sizeof(v->uid), "%u", (unsigned)getuid());
	return 0;
oom:
	expand_vars_done(v);
	return -ENOMEM;
}

void expand_vars_done(struct expand_vars *v)
{
	free(v->home);
	free(v->workdir);
	free(v->tmpdir);
	*v = (struct expand_vars){0};
}

static bool is_name_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/*
 * Parse the reference at s (on '$'): name span and total length. -EINVAL when
 * malformed, with *ret_msg set.
 */
static int parse_ref(const char *s, const char **ret_name, size_t *ret_namelen, size_t *ret_len,
		     const char **ret_msg)
{
	const char *p = s + 1;
	bool braced = *p == '{';
	if (braced)
		p++;
	const char *name = p;
	if (!is_name_char(*p, true)) {
		*ret_msg = "'$' must be followed by a variable name";
		return -EINVAL;
	}
	while (is_name_char(*p, false))
		p++;
	size_t namelen = (size_t)(p - name);
	if (braced) {
		if (*p != '}') {
			*ret_msg = "unterminated '${'";
			return -EINVAL;
		}
		p++;
	}
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(known_vars); i++)
		if (strlen(known_vars[i]) == namelen && memcmp(known_vars[i], name, namelen) == 0)
			known = true;
	*ret_name = name;
	*ret_namelen = namelen;
	*ret_len = (size_t)(p - s);
	if (!known) {
		*ret_msg = "unknown variable; known: $HOME, $WORKDIR, $TMPDIR, $UID";
		return -EINVAL;
	}
	return 0;
}

int expand_check(const char *s, size_t *ret_offset, const char **ret_msg)
{
	if (s[0] == '~' && s[1] && s[1] != '/') {
		*ret_offset = 0;
		*ret_msg = "'~user' is not supported; use '~/' or $HOME";
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if (*p != '$')
			continue;
		const char *name;
		size_t namelen, len;
		if (parse_ref(p, &name, &namelen, &len, ret_msg) < 0) {
			*ret_offset = (size_t)(p - s);
			return -EINVAL;
		}
		p += len - 1;
	}
	return 0;
}

static const char *var_value(const struct expand_vars *v, const char *name, size_t n)
{
	if (n == 4 && memcmp(name, "HOME", 4) == 0)
		return v->home;
	if (n == 7 && memcmp(name, "WORKDIR", 7) == 0)
		return v->workdir;
	if (n == 6 && memcmp(name, "TMPDIR", 6) == 0)
		return v->tmpdir;
	if (n == 3 && memcmp(name, "UID", 3) == 0)
		return v->uid;
	return NULL;
}

static int set_bad(char **ret_bad, const char *s, size_t n)
{
	if (ret_bad) {
		*ret_bad = strndup(s, n);
		if (!*ret_bad)
			return -ENOMEM;
	}
	return 0;
}

int expand_path(const char *s, const struct expand_vars *v, char **ret, char **ret_bad)
{
	struct strbuf sb = STRBUF_INIT;
	int r = 0;
	const char *p = s;

	sb.max = 64 * 1024;
	if (p[0] == '~' && (p[1] == 0 || p[1] == '/')) {
		if (!v->home) {
			r = set_bad(ret_bad, "~", 1);
			r = r < 0 ? r : -ENOENT;
			goto fail;
		}
		r = strbuf_adds(&sb, v->home);
		if (r < 0)
			goto fail;
		p++;
	} else if (p[0] == '~' && p[1]) {
		r = set_bad(ret_bad, p, strcspn(p, "/"));
		r = r < 0 ? r : -EINVAL;
		goto fail;
	}
	while (*p) {
		const char *dollar = strchr(p, '$');
		size_t lit = dollar ? (size_t)(dollar - p) : strlen(p);
		r = strbuf_add(&sb, p, lit);
		if (r < 0)
			goto fail;
		p += lit;
		if (!dollar)
			break;
		const char *name, *msg;
		size_t namelen, len;
		if (parse_ref(p, &name, &namelen, &len, &msg) < 0) {
			size_t badlen =
			    1 +
			    strspn(p + 1, "{}ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
					  "0123456789");
			r = set_bad(ret_bad, p, badlen);
			r = r < 0 ? r : -EINVAL;
			goto fail;
		}
		const char *val = var_value(v, name, namelen);
		if (!val) {
			r = set_bad(ret_bad, p, len);
			r = r < 0 ? r : -ENOENT;
			goto fail;
		}
		r = strbuf_adds(&sb, val);
		if (r < 0)
			goto fail;
		p += len;
	}
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
fail:
	strbuf_release(&sb);
	return r;
}
