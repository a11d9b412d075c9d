/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy_resolve(): profile chain + groups + flags -> struct sandbox_spec.
 * Order: groups (policy.json order), profile lists, workdir, flags, sockets; then
 * bypasses, network, commands, credentials. See doc/design/policy-format.md.
 */
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/path.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "policy/embedded.h"
#include "policy/expand.h"
#include "policy/freeze.h"
#include "policy/groups.h"
#include "policy/policy.h"
#include "policy/presets.h"
#include "policy/profile.h"

struct builder {
	struct sandbox_spec *s;
	struct expand_vars vars;
	const struct profile *p;
	char **warnings;
	struct diag *d;
	/* hash_str() of s->grants[i].path and s->denies[i].path (both only appended to
	 * here), so that the duplicate checks compare strings only on a hash match; and the
	 * arrays' capacities, grown geometrically. */
	uint64_t *grant_hash, *deny_hash;
	size_t grants_cap, denies_cap;
};

/* Room for one more element in *v (n used, *cap allocated) and its hash in *hashes. */
static int grow(void **v, uint64_t **hashes, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	void *nv = reallocarray(*v, c, size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	uint64_t *nh = reallocarray(*hashes, c, sizeof(**hashes));
	if (!nh)
		return -ENOMEM;
	*hashes = nh;
	*cap = c;
	return 0;
}

static void warn(struct builder *b, const char *fmt, ...) _printf_(2, 3);
static void warn(struct builder *b, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int r = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	char *m = r < 0 ? NULL : strbuf_detach(&sb);
	strbuf_release(&sb);
	if (!m || strv_consume(&b->warnings, m) < 0)
		free(m);
}

static int set_origin(struct origin *o, enum origin_kind kind, const char *name)
{
	o->kind = kind;
	o->name = strdup(strempty(name));
	return o->name ? 0 : -ENOMEM;
}

/* Takes path. Merges access into an existing grant for the same path and kind. */
static int add_grant(struct builder *b, char *path, unsigned access, bool is_file, bool exists,
		     enum origin_kind kind, const char *origin)
{
	struct sandbox_spec *s = b->s;
	uint64_t h = hash_str(path);
	for (size_t i = 0; i < s->n_grants; i++)
		if (b->grant_hash[i] == h && s->grants[i].is_file == is_file &&
		    streq(s->grants[i].path, path)) {
			struct fs_grant *g = &s->grants[i];
			g->access |= access;
			free(path);
			/* an explicit grant of a path a group already grants is still explicit
			 * (it may back a --bypass-protection, and `why` should name it) */
			bool weak =
			    g->origin.kind == ORIGIN_GROUP || g->origin.kind == ORIGIN_IMPLIED;
			if (weak && kind != ORIGIN_GROUP && kind != ORIGIN_IMPLIED) {
				free(g->origin.name);
				return set_origin(&g->origin, kind, origin);
			}
			return 0;
		}
	if (grow((void **)&s->grants, &b->grant_hash, s->n_grants, &b->grants_cap,
		 sizeof(*s->grants)) < 0) {
		free(path);
		return -ENOMEM;
	}
	b->grant_hash[s->n_grants] = h;
	struct fs_grant *g = &s->grants[s->n_grants];
	*g =
	    (struct fs_grant){.path = path, .access = access, .is_file = is_file, .exists = exists};
	s->n_grants++;
	return set_origin(&g->origin, kind, origin);
}

/* raw as written, expanded and made absolute without resolving symlinks; NULL if equal. */
static int literal_name(struct builder *b, const char *raw, const char *canonical, char **ret)
{
	_cleanup_free_ char *expanded = NULL, *abs = NULL;
	int r = expand_path(raw, &b->vars, &expanded, NULL);
	if (r < 0)
		return r;
	r = path_absolute(expanded, b->vars.workdir, &abs);
	if (r < 0)
		return r;
	*ret = streq(abs, canonical) ? NULL : TAKE_PTR(abs);
	return 0;
}

static int add_deny(struct builder *b, char *path, const char *raw, const char *group,
		    const char *category, bool exists)
{
	struct sandbox_spec *s = b->s;
	uint64_t h = hash_str(path);
	for (size_t i = 0; i < s->n_denies; i++)
		if (b->deny_hash[i] == h && streq(s->denies[i].path, path)) {
			free(path);
			return 0;
		}
	if (grow((void **)&s->denies, &b->deny_hash, s->n_denies, &b->denies_cap,
		 sizeof(*s->denies)) < 0) {
		free(path);
		return -ENOMEM;
	}
	b->deny_hash[s->n_denies] = h;
	struct stat st;
	struct fs_deny *x = &s->denies[s->n_denies++];
	*x = (struct fs_deny){.path = path, .exists = exists};
	x->is_dir = exists && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	x->group = strdup(group);
	x->category = strdup(category);
	if (!x->group || !x->category)
		return -ENOMEM;
	return literal_name(b, raw, path, &x->name);
}

/*
 * Expand and canonicalise a path from data (a group or profile): relative paths are
 * taken against the workdir. what/file name it in an error.
 */
static int data_path(struct builder *b, const char *raw, const char *file, const char *what,
		     char **ret, bool *ret_exists)
{
	_cleanup_free_ char *expanded = NULL, *bad = NULL;
	int r = expand_path(raw, &b->vars, &expanded, &bad);
	if (r == -EINVAL || r == -ENOENT) {
		diag_set(b->d, file, 0, 0, "cannot expand %s path '%s': %s '%s'", what, raw,
			 r == -EINVAL ? "unknown variable" : "no value for", strempty(bad));
		return r;
	}
	if (r < 0)
		return r;
	r = path_canonicalize(expanded, b->vars.workdir, ret, ret_exists);
	if (r < 0)
		diag_set(b->d, file, 0, 0, "cannot resolve %s path '%s': %s", what, raw,
			 strerror(-r));
	return r;
}

static int apply_fs_lists(struct builder *b, char **const lists[_FS_LIST_MAX], const char *file,
			  enum origin_kind kind, const char *origin)
{
	for (unsigned l = 0; l < _FS_LIST_MAX; l++)
		STRV_FOREACH(raw, lists[l])
		{
			char *path;
			bool exists;
			int r = data_path(b, *raw, file, fs_list_key(l), &path, &exists);
			if (r < 0)
				return r;
			r = add_grant(b, path, fs_list_access(l), fs_list_is_file(l), exists, kind,
				      origin);
			if (r < 0)
				return r;
		}
	return 0;
}

static int apply_groups(struct builder *b, const struct policy_groups *groups)
{
	const struct profile *p = b->p;
	STRV_FOREACH(x, p->exclude_groups)
	{
		const struct policy_group *g = policy_groups_find(groups, *x);
		if (g && g->required) {
			diag_set(b->d, p->file, 0, 0,
				 "group '%s' is required and cannot be excluded; use "
				 "--bypass-protection PATH with a matching grant",
				 *x);
			return -EPERM;
		}
	}
	for (size_t i = 0; i < groups->n; i++) {
		const struct policy_group *g = &groups->groups[i];
		if (!strv_contains(p->groups, g->name) ||
		    strv_contains(p->exclude_groups, g->name) || !policy_group_applies(g))
			continue;
		int r = apply_fs_lists(b, g->fs, "builtin:policy.json", ORIGIN_GROUP, g->name);
		if (r < 0)
			return r;
		for (size_t k = 0; k < g->n_denies; k++) {
			char *path;
			bool exists;
			r = data_path(b, g->denies[k].path, "builtin:policy.json", "deny", &path,
				      &exists);
			if (r < 0)
				return r;
			/* A deny never takes $HOME itself or a directory above it (/root in
			 * deny_system_secrets_linux when root's home is $HOME): the home's own
			 * secrets have their own entries. */
			if (b->vars.home && path_is_beneath(b->vars.home, path)) {
				free(path);
				continue;
			}
			r = add_deny(b, path, g->denies[k].path, g->name, g->denies[k].category,
				     exists);
			if (r < 0)
				return r;
		}
		STRV_FOREACH(c, g->commands)
		if ((r = strv_extend_unique(&b->s->blocked_commands, *c)) < 0)
			return r;
	}
	return 0;
}

static int cli_path(struct builder *b, const char *raw, const char *flag, char **ret,
		    bool *ret_exists)
{
	_cleanup_free_ char *expanded = NULL, *bad = NULL;
	int r = expand_path(raw, &b->vars, &expanded, &bad);
	if (r == -EINVAL || r == -ENOENT) {
		diag_set(b->d, flag, 0, 0,
			 "cannot expand '%s': %s '%s'; use $HOME, $WORKDIR, $TMPDIR, $UID or ~",
			 raw, r == -EINVAL ? "unknown variable" : "no value for", strempty(bad));
		return r;
	}
	if (r < 0)
		return r;
	r = path_canonicalize(expanded, NULL, ret, ret_exists);
	if (r < 0)
		diag_set(b->d, flag, 0, 0, "cannot resolve '%s': %s", raw, strerror(-r));
	return r;
}

static bool parent_is_dir(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	struct stat st;
	if (!dir)
		return false;
	char *slash = strrchr(dir, '/');
	if (!slash)
		return false;
	*(slash == dir ? slash + 1 : slash) = 0;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int apply_input_grants(struct builder *b, const struct policy_input *in)
{
	for (size_t i = 0; i < in->n_grants; i++) {
		const struct input_grant *g = &in->grants[i];
		const char *flag = g->flag ? g->flag : "--allow";
		_cleanup_free_ char *path = NULL;
		bool exists, is_file = g->is_file;
		struct stat st;
		int r = cli_path(b, g->path, flag, &path, &exists);
		if (r < 0)
			return r;
		if (!exists) {
			if (!(is_file && (g->access & FS_WRITE) && parent_is_dir(path))) {
				diag_set(
				    b->d, flag, 0, 0,
				    "path '%s' does not exist; create it first or fix the path",
				    g->path);
				return -ENOENT;
			}
			warn(b,
			     "%s '%s' does not exist yet; nono creates it (empty, mode 0600) "
			     "when the sandbox starts",
			     flag, g->path);
		} else if (stat(path, &st) == 0) {
			if (is_file && S_ISDIR(st.st_mode)) {
				diag_set(b->d, flag, 0, 0,
					 "'%s' is a directory; use the directory form of %s",
					 g->path, flag);
				return -EISDIR;
			}
			if (!S_ISDIR(st.st_mode))
				is_file = true;
		}
		r = add_grant(b, TAKE_PTR(path), g->access, is_file, exists,
			      g->kind == ORIGIN_ENV ? ORIGIN_ENV : ORIGIN_CLI, flag);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * --allow-gpu on Linux (cli-reference): the GPU device nodes that exist, read-write as
 * files (DRM render nodes, NVIDIA compute devices and MIG caps, AMD KFD, WSL2 /dev/dxg),
 * and read-only the Vulkan ICD manifests and GPU sysfs. Never /dev/dri/card* (display,
 * modesetting): compute needs the render nodes only.
 */
static int apply_gpu(struct builder *b, const struct policy_input *in)
{
	static const char *const rw_globs[] = {
	    "/dev/dri/renderD*",     "/dev/nvidia[0-9]*",  "/dev/nvidiactl", "/dev/nvidia-uvm",
	    "/dev/nvidia-uvm-tools", "/dev/nvidia-caps/*", "/dev/kfd",	     "/dev/dxg"};
	static const char *const ro_dirs[] = {"/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d",
					      "/sys/class/drm",		 "/sys/module/nvidia",
					      "/sys/module/amdgpu",	 "/proc/driver/nvidia"};
	const struct profile *p = b->p;
	if (!in->allow_gpu && p->allow_gpu != 1)
		return 0;
	if (in->allow_gpu && in->profile && p->allow_gpu != 1) {
		diag_set(b->d, "--allow-gpu", 0, 0,
			 "profile '%s' does not opt into GPU access; add \"allow_gpu\": true "
			 "to its security section, or run without --profile",
			 strempty(p->name));
		return -EPERM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(rw_globs); i++) {
		glob_t g = {0};
		if (glob(rw_globs[i], GLOB_NOSORT, NULL, &g) != 0) {
			globfree(&g);
			continue;
		}
		int r = 0;
		for (size_t k = 0; r >= 0 && k < g.gl_pathc; k++) {
			struct stat st;
			if (lstat(g.gl_pathv[k], &st) < 0 || !S_ISCHR(st.st_mode))
				continue; /* device nodes only, never through a symlink */
			char *path = strdup(g.gl_pathv[k]);
			r = path ? add_grant(b, path, FS_RW, true, true, ORIGIN_IMPLIED,
					     "--allow-gpu")
				 : -ENOMEM;
		}
		globfree(&g);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ro_dirs); i++) {
		struct stat st;
		if (stat(ro_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char *path = strdup(ro_dirs[i]);
		int r =
		    path ? add_grant(b, path, FS_READ, false, true, ORIGIN_IMPLIED, "--allow-gpu")
			 : -ENOMEM;
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_unix_grants(struct builder *b, const struct policy_input *in)
{
	struct sandbox_spec *s = b->s;
	for (size_t i = 0; i < in->n_unix_grants; i++) {
		const struct input_unix_grant *u = &in->unix_grants[i];
		const char *flag = u->flag ? u->flag : "--allow-unix-socket";
		bool dir = u->flags & (UNIX_DIR | UNIX_SUBTREE), bind = u->flags & UNIX_BIND;
		_cleanup_free_ char *path = NULL;
		bool exists;
		struct stat st;
		int r = cli_path(b, u->path, flag, &path, &exists);
		if (r < 0)
			return r;
		if (!exists && !(bind && !dir && parent_is_dir(path))) {
			diag_set(b->d, flag, 0, 0,
				 "path '%s' does not exist; create it first or fix the path",
				 u->path);
			return -ENOENT;
		}
		if (exists && dir && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
			diag_set(b->d, flag, 0, 0, "'%s' is not a directory", u->path);
			return -ENOTDIR;
		}
		if (!exists) {
			/* bind creates the socket file: the parent directory must be writable */
			_cleanup_free_ char *parent = strdup(path);
			if (!parent)
				return -ENOMEM;
			char *slash = strrchr(parent, '/');
			*(slash == parent ? slash + 1 : slash) = 0;
			r = add_grant(b, TAKE_PTR(parent), FS_RW, false, true, ORIGIN_IMPLIED,
				      flag);
		} else if (dir) {
			char *copy = strdup(path);
			if (!copy)
				return -ENOMEM;
			r = add_grant(b, copy, bind ? FS_RW : FS_READ, false, true, ORIGIN_IMPLIED,
				      flag);
		} else {
			char *copy = strdup(path);
			if (!copy)
				return -ENOMEM;
			r = add_grant(b, copy, FS_READ, true, true, ORIGIN_IMPLIED, flag);
		}
		if (r < 0)
			return r;
		struct unix_grant *ng =
		    reallocarray(s->unix_grants, s->n_unix_grants + 1, sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		s->unix_grants = ng;
		struct unix_grant *x = &ng[s->n_unix_grants++];
		*x = (struct unix_grant){.path = TAKE_PTR(path), .flags = u->flags | UNIX_CONNECT};
		if ((r = set_origin(&x->origin, ORIGIN_CLI, flag)) < 0)
			return r;
	}
	return 0;
}

/* A grant a user asked for (not a group's, not implied) that covers path. */
static bool covered_by_grant(const struct sandbox_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_grants; i++) {
		const struct fs_grant *g = &s->grants[i];
		if (g->origin.kind == ORIGIN_GROUP || g->origin.kind == ORIGIN_IMPLIED)
			continue;
		if (g->is_file ? streq(g->path, path) : path_is_beneath(path, g->path))
			return true;
	}
	return false;
}

static int apply_bypass(struct builder *b, const char *raw, const char *flag, bool from_profile)
{
	_cleanup_free_ char *path = NULL;
	bool exists;
	int r = from_profile ? data_path(b, raw, b->p->file, "override_deny", &path, &exists)
			     : cli_path(b, raw, flag, &path, &exists);
	if (r < 0)
		return r;
	if (!covered_by_grant(b->s, path)) {
		if (from_profile)
			diag_set(b->d, b->p->file, 0, 0,
				 "override_deny '%s' needs a matching grant; add it to "
				 "filesystem.allow, read, write or a *_file list",
				 raw);
		else
			diag_set(b->d, flag, 0, 0,
				 "%s '%s' needs a matching grant (--allow, --read, --write or a "
				 "--*-file flag)",
				 flag, raw);
		return -EPERM;
	}
	bool any = false;
	for (size_t i = 0; i < b->s->n_denies; i++) {
		struct fs_deny *x = &b->s->denies[i];
		if (!x->bypassed && !streq(x->path, path) && path_is_beneath(path, x->path)) {
			/* a mask cannot be lifted for one path inside it: that would be a no-op */
			diag_set(b->d, from_profile ? b->p->file : flag, 0, 0,
				 "cannot bypass '%s' alone: it lies inside protected '%s' (%s); "
				 "bypass '%s' instead",
				 raw, x->path, x->group, x->path);
			return -EPERM;
		}
		if (!path_is_beneath(x->path, path))
			continue;
		any = true;
		if (!x->bypassed)
			warn(b, "protection of '%s' (%s) bypassed by %s", x->path, x->group, flag);
		x->bypassed = true;
	}
	if (!any)
		warn(b, "%s '%s': no deny rule covers this path; nothing to bypass", flag, raw);
	return 0;
}

static int ports_union(uint16_t **dst, size_t *n, const uint16_t *a, size_t na)
{
	for (size_t i = 0; i < na; i++) {
		bool dup = false;
		for (size_t k = 0; k < *n; k++)
			dup = dup || (*dst)[k] == a[i];
		if (dup)
			continue;
		uint16_t *np = reallocarray(*dst, *n + 1, sizeof(**dst));
		if (!np)
			return -ENOMEM;
		np[(*n)++] = a[i];
		*dst = np;
	}
	return 0;
}

static int upper_var(const char *name, const char *suffix, char **ret)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *c = name; *c; c++) {
		char ch = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c == '-' ? '_' : *c;
		if (strbuf_add(&sb, &ch, 1) < 0)
			goto oom;
	}
	if (strbuf_adds(&sb, suffix) < 0)
		goto oom;
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
oom:
	strbuf_release(&sb);
	return -ENOMEM;
}

static int dup_or(char **dst, const char *v, const char *dflt)
{
	*dst = strdup(v ? v : dflt);
	return *dst ? 0 : -ENOMEM;
}

/* A source for --credential SERVICE=SOURCE: a reference or a keyring account name. */
static bool source_valid(const char *src)
{
	if (!*src || strlen(src) > 4096)
		return false;
	for (const char *c = src; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/*
 * Enable service NAME, or NAME=SOURCE to take its key from SOURCE (env://, file://,
 * op://, or a keyring account) instead of the preset's or entry's own. A later
 * NAME=SOURCE overrides the source of a service already enabled (the command line
 * after the profile). A custom entry named like a preset inherits what it leaves unset.
 */
static int add_credential(struct builder *b, const char *arg, const char *flag)
{
	struct proxy_spec *px = &b->s->proxy;
	_cleanup_free_ char *name = strdup(arg);
	if (!name)
		return -ENOMEM;
	char *source = strchr(name, '=');
	if (source) {
		*source++ = '\0';
		if (!*name || !source_valid(source)) {
			diag_set(b->d, flag, 0, 0,
				 "bad credential '%s'; use SERVICE or SERVICE=SOURCE (env://VAR, "
				 "file:///path, op://vault/item/field or a keyring account)",
				 arg);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < px->n_credentials; i++)
		if (streq(px->credentials[i].name, name)) {
			if (!source)
				return 0;
			char *k = strdup(source);
			if (!k)
				return -ENOMEM;
			free(px->credentials[i].credential_key);
			px->credentials[i].credential_key = k;
			return 0;
		}
	struct credential_spec c = {0};
	int r = -ENOMEM;
	const struct profile_credential *pc = NULL;
	for (size_t i = 0; i < b->p->n_custom_credentials; i++)
		if (streq(b->p->custom_credentials[i].name, name))
			pc = &b->p->custom_credentials[i];
	const struct credential_preset *pre = policy_credential_preset(name);
	if (!pc && !pre) {
		diag_set(b->d, flag, 0, 0,
			 "unknown credential service '%s'; use openai, anthropic, gemini, "
			 "google-ai, github, gitlab or define it in network.custom_credentials",
			 name);
		return -ENOENT;
	}
	if (pre) {
		/* The preset, with a same-named custom entry's fields over it. */
		if (dup_or(&c.name, name, NULL) < 0 ||
		    dup_or(&c.upstream, pc ? pc->upstream : NULL, pre->upstream) < 0 ||
		    dup_or(&c.credential_key, pc ? pc->credential_key : NULL, pre->key) < 0 ||
		    dup_or(&c.inject_header, pc ? pc->inject_header : NULL, pre->header) < 0 ||
		    dup_or(&c.format, pc ? pc->credential_format : NULL, pre->format) < 0 ||
		    dup_or(&c.env_var, pc ? pc->env_var : NULL, pre->env) < 0 ||
		    dup_or(&c.base_url_var, pre->base, NULL) < 0)
			goto fail;
	} else {
		if (dup_or(&c.name, name, NULL) < 0 ||
		    dup_or(&c.upstream, pc->upstream, NULL) < 0 ||
		    dup_or(&c.credential_key, pc->credential_key, NULL) < 0 ||
		    dup_or(&c.inject_header, pc->inject_header, "Authorization") < 0 ||
		    dup_or(&c.format, pc->credential_format, "Bearer {}") < 0)
			goto fail;
		if (pc->env_var ? dup_or(&c.env_var, pc->env_var, NULL) < 0
				: upper_var(name, "_API_KEY", &c.env_var) < 0)
			goto fail;
		if (upper_var(name, "_BASE_URL", &c.base_url_var) < 0)
			goto fail;
	}
	if (source) {
		free(c.credential_key);
		if (!(c.credential_key = strdup(source)))
			goto fail;
	}
	if (pc && pc->tls_ca) {
		bool exists = false;
		r = data_path(b, pc->tls_ca, b->p->file, "tls_ca", &c.tls_ca, &exists);
		if (r < 0)
			goto fail;
		r = -ENOMEM;
	}
	struct credential_spec *nc =
	    reallocarray(px->credentials, px->n_credentials + 1, sizeof(*nc));
	if (!nc)
		goto fail;
	px->credentials = nc;
	nc[px->n_credentials++] = c;
	return 0;
fail:
	free(c.name);
	free(c.upstream);
	free(c.credential_key);
	free(c.inject_header);
	free(c.format);
	free(c.env_var);
	free(c.base_url_var);
	free(c.tls_ca);
	return r;
}

static int add_endpoint(struct builder *b, const char *service, const char *method,
			const char *path)
{
	struct proxy_spec *px = &b->s->proxy;
	struct endpoint_rule *ne = reallocarray(px->endpoints, px->n_endpoints + 1, sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	px->endpoints = ne;
	struct endpoint_rule *e = &ne[px->n_endpoints++];
	*e = (struct endpoint_rule){strdup(service), strdup(method), strdup(path)};
	return e->service && e->method && e->path ? 0 : -ENOMEM;
}

static bool credential_enabled(const struct proxy_spec *px, const char *name)
{
	for (size_t i = 0; i < px->n_credentials; i++)
		if (streq(px->credentials[i].name, name))
			return true;
	return false;
}

/*
 * The credentials a network profile bundles (network-policy.json: codex -> openai,
 * opencode -> google-ai), enabled like --credential but optional: the run drops one
 * whose key does not load instead of failing, so the profile works without a key.
 * An unknown network profile is reported by freeze_network(), which expands its hosts.
 */
static int add_bundled_credentials(struct builder *b, const char *np)
{
	const struct embedded_file *f = embedded_find("network-policy.json");
	if (!f)
		return 0;
	json_t *root = json_loadb(f->data, f->size, 0, NULL);
	if (!root)
		return 0;
	json_t *creds =
	    json_object_get(json_object_get(json_object_get(root, "profiles"), np), "credentials");
	size_t i;
	json_t *v;
	int r = 0;
	json_array_foreach(creds, i, v)
	{
		const char *name = json_string_value(v);
		struct proxy_spec *px = &b->s->proxy;
		if (!name || credential_enabled(px, name))
			continue;
		r = add_credential(b, name, "network profile");
		if (r < 0)
			break;
		px->credentials[px->n_credentials - 1].optional = true;
	}
	json_decref(root);
	return r;
}

static int apply_network(struct builder *b, const struct policy_input *in)
{
	const struct profile *p = b->p;
	struct sandbox_spec *s = b->s;
	struct proxy_spec *px = &s->proxy;
	bool cli_proxy = in->network_profile || strv_length(in->allow_domains) ||
			 strv_length(in->credentials) || in->upstream_proxy;
	bool prof_proxy =
	    p->network_profile || p->allow_domain || p->credentials || p->upstream_proxy;
	int r;

	if (in->block_net == 1 && in->allow_net == 1) {
		diag_set(b->d, "--block-net", 0, 0,
			 "--block-net and --allow-net conflict; pick one");
		return -EINVAL;
	}
	if ((in->block_net == 1 || in->allow_net == 1) && cli_proxy) {
		const char *flag = in->block_net == 1 ? "--block-net" : "--allow-net";
		diag_set(b->d, flag, 0, 0,
			 "%s conflicts with --network-profile, --allow-domain, --credential and "
			 "--upstream-proxy; drop one",
			 flag);
		return -EINVAL;
	}
	if (in->allow_net == 1)
		s->net = NET_ALLOW;
	else if (in->block_net == 1)
		s->net = NET_BLOCK;
	else if (cli_proxy)
		s->net = NET_PROXY;
	else if (in->block_net != 0 && p->net_block == 1) {
		s->net = NET_BLOCK;
		if (prof_proxy)
			warn(b,
			     "profile '%s' sets network.block, so its network_profile, "
			     "allow_domain and credentials are unused",
			     strempty(p->name));
	} else if (prof_proxy)
		s->net = NET_PROXY;
	else
		s->net = NET_ALLOW;

	if ((r = ports_union(&s->open_ports, &s->n_open_ports, p->open_ports, p->n_open_ports)) <
		0 ||
	    (r = ports_union(&s->open_ports, &s->n_open_ports, in->open_ports, in->n_open_ports)) <
		0 ||
	    (r = ports_union(&s->listen_ports, &s->n_listen_ports, p->listen_ports,
			     p->n_listen_ports)) < 0 ||
	    (r = ports_union(&s->listen_ports, &s->n_listen_ports, in->listen_ports,
			     in->n_listen_ports)) < 0)
		return r;
	if (s->n_listen_ports && s->net != NET_PROXY)
		warn(b, "--listen-port only has effect in proxy mode (--network-profile or "
			"--allow-domain)");

	if (s->net != NET_PROXY)
		return 0;

	const char *np = in->network_profile ? in->network_profile : p->network_profile;
	if (np && !(px->network_profile = strdup(np)))
		return -ENOMEM;
	const char *up = in->upstream_proxy ? in->upstream_proxy : p->upstream_proxy;
	if (up && !(px->upstream_proxy = strdup(up)))
		return -ENOMEM;
	px->port = in->proxy_port      ? in->proxy_port
		   : p->proxy_port > 0 ? (uint16_t)p->proxy_port
				       : 0;
	char **const domain_lists[] = {p->allow_domain, in->allow_domains};
	char **const bypass_lists[] = {p->upstream_bypass, in->upstream_bypass};
	for (size_t k = 0; k < 2; k++) {
		STRV_FOREACH(x, domain_lists[k])
		if ((r = strv_extend_unique(&px->allow_domains, *x)) < 0)
			return r;
		STRV_FOREACH(x, bypass_lists[k])
		if ((r = strv_extend_unique(&px->upstream_bypass, *x)) < 0)
			return r;
	}
	STRV_FOREACH(x, p->credentials)
	if ((r = add_credential(b, *x, p->file)) < 0)
		return r;
	STRV_FOREACH(x, in->credentials)
	if ((r = add_credential(b, *x, "--credential")) < 0)
		return r;
	if (np && (r = add_bundled_credentials(b, np)) < 0)
		return r;
	for (size_t i = 0; i < p->n_custom_credentials; i++) {
		const struct profile_credential *pc = &p->custom_credentials[i];
		if (!credential_enabled(px, pc->name))
			continue;
		for (size_t k = 0; k < pc->n_rules; k++)
			if ((r = add_endpoint(b, pc->name, pc->rules[k].method,
					      pc->rules[k].path)) < 0)
				return r;
	}
	STRV_FOREACH(x, in->allow_endpoints)
	{
		const char *c1 = strchr(*x, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || c1 == *x || c2 == c1 + 1 || c2[1] != '/') {
			diag_set(b->d, "--allow-endpoint", 0, 0,
				 "bad endpoint rule '%s'; use SERVICE:METHOD:/path", *x);
			return -EINVAL;
		}
		_cleanup_free_ char *service = strndup(*x, (size_t)(c1 - *x));
		_cleanup_free_ char *method = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		if (!service || !method)
			return -ENOMEM;
		if (!credential_enabled(px, service)) {
			diag_set(b->d, "--allow-endpoint", 0, 0,
				 "endpoint rule '%s' names service '%s', which is not enabled; add "
				 "--credential %s",
				 *x, service, service);
			return -EINVAL;
		}
		if ((r = add_endpoint(b, service, method, c2 + 1)) < 0)
			return r;
	}
	return 0;
}

static int add_env_credential(struct sandbox_spec *s, const char *ref, const char *var)
{
	for (size_t i = 0; i < s->n_env_credentials; i++)
		if (streq(s->env_credentials[i].env_var, var)) {
			char *nref = strdup(ref);
			if (!nref)
				return -ENOMEM;
			free(s->env_credentials[i].ref);
			s->env_credentials[i].ref = nref;
			return 0;
		}
	struct env_credential *ne =
	    reallocarray(s->env_credentials, s->n_env_credentials + 1, sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	s->env_credentials = ne;
	struct env_credential *e = &ne[s->n_env_credentials++];
	*e = (struct env_credential){strdup(ref), strdup(var)};
	return e->ref && e->env_var ? 0 : -ENOMEM;
}

static int apply_env_credentials(struct builder *b, const struct policy_input *in)
{
	int r;
	for (char **q = b->p->env_credentials; q && q[0] && q[1]; q += 2)
		if ((r = add_env_credential(b->s, q[0], q[1])) < 0)
			return r;
	STRV_FOREACH(x, in->env_credentials)
	{
		_cleanup_strv_free_ char **items = NULL;
		if ((r = strv_split(*x, ",", &items)) < 0)
			return r;
		STRV_FOREACH(item, items)
		{
			const char *eq = strrchr(*item, '=');
			_cleanup_free_ char *ref = NULL, *var = NULL;
			if (eq) {
				ref = strndup(*item, (size_t)(eq - *item));
				var = strdup(eq + 1);
				if (!ref || !var)
					return -ENOMEM;
			} else {
				ref = strdup(*item);
				if (!ref || (r = upper_var(*item, "", &var)) < 0)
					return -ENOMEM;
			}
			if (!ref[0] || !var[0]) {
				diag_set(b->d, "--env-credential", 0, 0,
					 "bad credential '%s'; use NAME or REF=VAR", *item);
				return -EINVAL;
			}
			if ((r = add_env_credential(b->s, ref, var)) < 0)
				return r;
		}
	}
	for (char **q = in->env_credential_map; q && q[0]; q += 2) {
		if (!q[1]) {
			diag_set(
			    b->d, "--env-credential-map", 0, 0,
			    "'%s' has no destination variable; use --env-credential-map REF VAR",
			    q[0]);
			return -EINVAL;
		}
		if ((r = add_env_credential(b->s, q[0], q[1])) < 0)
			return r;
	}
	return 0;
}

static int resolve(struct builder *b, const struct policy_input *in)
{
	struct sandbox_spec *s = b->s;
	const struct profile *p = b->p;
	_cleanup_(policy_groups_freep) struct policy_groups *groups = NULL;
	int r;

	if ((r = policy_groups_load(&groups, b->d)) < 0)
		return r;
	if ((r = apply_groups(b, groups)) < 0)
		return r;
	if ((r = apply_fs_lists(b, p->fs, p->file, ORIGIN_PROFILE, p->name)) < 0)
		return r;
	STRV_FOREACH(raw, p->add_deny_access)
	{
		char *path, cat[256];
		bool exists;
		if ((r = data_path(b, *raw, p->file, "add_deny_access", &path, &exists)) < 0)
			return r;
		(void)snprintf(cat, sizeof(cat), "added by profile '%s'", strempty(p->name));
		if ((r = add_deny(b, path, *raw, "add_deny_access", cat, exists)) < 0)
			return r;
	}
	STRV_FOREACH(raw, p->suppress_save_prompt)
	{
		_cleanup_free_ char *path = NULL;
		if ((r = data_path(b, *raw, p->file, "suppress_save_prompt", &path, NULL)) < 0)
			return r;
		if ((r = strv_extend_unique(&s->suppress_save_prompt, path)) < 0)
			return r;
	}
	if (in->allow_cwd) {
		unsigned access = p->workdir_access >= 0 ? (unsigned)p->workdir_access : FS_READ;
		if (access) {
			char *wd = strdup(s->workdir);
			if (!wd)
				return -ENOMEM;
			if ((r = add_grant(b, wd, access, false, true, ORIGIN_WORKDIR,
					   "--allow-cwd")) < 0)
				return r;
		} else {
			warn(b,
			     "profile '%s' sets workdir.access to none, so --allow-cwd grants "
			     "nothing",
			     strempty(p->name));
		}
	}
	if ((r = apply_input_grants(b, in)) < 0)
		return r;
	if ((r = apply_gpu(b, in)) < 0)
		return r;
	if ((r = apply_unix_grants(b, in)) < 0)
		return r;
	STRV_FOREACH(x, p->override_deny)
	if ((r = apply_bypass(b, *x, "override_deny", true)) < 0)
		return r;
	STRV_FOREACH(x, in->bypass)
	if ((r = apply_bypass(b, *x, "--bypass-protection", false)) < 0)
		return r;
	if ((r = apply_network(b, in)) < 0)
		return r;

	char **const block_lists[] = {p->commands_block, in->block_commands};
	char **const allow_lists[] = {p->commands_allow, in->allow_commands};
	for (size_t k = 0; k < 2; k++) {
		STRV_FOREACH(x, block_lists[k])
		if ((r = strv_extend_unique(&s->blocked_commands, *x)) < 0)
			return r;
		STRV_FOREACH(x, allow_lists[k])
		if ((r = strv_extend_unique(&s->allowed_commands, *x)) < 0)
			return r;
	}
	/* allowed commands leave the block list */
	size_t w = 0;
	for (size_t i = 0; s->blocked_commands && s->blocked_commands[i]; i++) {
		if (strv_contains(s->allowed_commands, s->blocked_commands[i]))
			free(s->blocked_commands[i]);
		else
			s->blocked_commands[w++] = s->blocked_commands[i];
	}
	if (s->blocked_commands)
		s->blocked_commands[w] = NULL;

	STRV_FOREACH(x, b->p->pass_env)
	if ((r = strv_extend_unique(&b->s->pass_env, *x)) < 0)
		return r;
	STRV_FOREACH(x, in->pass_env)
	{
		_cleanup_strv_free_ char **names = NULL;
		if ((r = strv_split(*x, ",", &names)) < 0)
			return r;
		STRV_FOREACH(n, names)
		{
			if (!env_name_valid(*n)) {
				diag_set(b->d, "--pass-env", 0, 0,
					 "bad environment variable name '%s': use letters, digits "
					 "and '_', not starting with a digit",
					 *n);
				return -EINVAL;
			}
			if ((r = strv_extend_unique(&b->s->pass_env, *n)) < 0)
				return r;
		}
	}
	if ((r = apply_env_credentials(b, in)) < 0)
		return r;

	s->allow_gpu = in->allow_gpu || p->allow_gpu == 1;
	s->capability_elevation = in->capability_elevation >= 0 ? in->capability_elevation == 1
								: p->capability_elevation == 1;
	s->best_effort = p->best_effort == 1;
	s->shared_tmp = in->shared_tmp || p->shared_tmp == 1;
	s->scope_signal = true;
	s->scope_abstract_unix = true;

	/* Frozen from here: nothing after policy_resolve writes to the spec. */
	if ((r = freeze_network(s, in, p, b->d)) < 0 ||
	    (r = freeze_readonly_files(s, in->readonly_files, b->d)) < 0)
		return r;
	if (in->create_state_dirs &&
	    (r = freeze_state_dirs(s, in->created_notes, &b->warnings, b->d)) < 0)
		return r;
	if (in->features)
		policy_decide_placement(in->features, s);
	return 0;
}

void policy_input_init(struct policy_input *in)
{
	*in = (struct policy_input){.block_net = -1, .allow_net = -1, .capability_elevation = -1};
}

static int policy_resolve_memo(const struct policy_input *in, struct sandbox_spec **ret,
			       char ***ret_warnings, struct diag *d)
{
	_cleanup_spec_ struct sandbox_spec *s = calloc(1, sizeof(*s));
	_cleanup_profile_ struct profile *p = NULL;
	_cleanup_free_ char *cwd = NULL;
	struct builder b = {.s = s, .d = d};
	bool exists;
	int r;

	if (!s)
		return -ENOMEM;
	if (!in->workdir) {
		cwd = getcwd(NULL, 0);
		if (!cwd) {
			r = -errno;
			diag_set(d, NULL, 0, 0, "cannot determine the current directory: %s",
				 strerror(-r));
			return r;
		}
	}
	const char *wd = in->workdir ? in->workdir : cwd;
	r = path_canonicalize(wd, NULL, &s->workdir, &exists);
	if (r < 0 || !exists) {
		diag_set(d, "--workdir", 0, 0, "working directory '%s' does not exist", wd);
		return r < 0 ? r : -ENOENT;
	}
	/* Without --profile the built-in default applies: system paths and deny groups. */
	r = profile_load_merged(in->profile ? in->profile : "default", &p, d);
	if (r < 0)
		return r;
	if (in->profile && !(s->profile_name = strdup(strempty(p->name))))
		return -ENOMEM;
	r = expand_vars_init(&b.vars, s->workdir);
	if (r < 0)
		return r;
	b.p = p;
	r = resolve(&b, in);
	expand_vars_done(&b.vars);
	free(b.grant_hash);
	free(b.deny_hash);
	if (r < 0) {
		strv_free(b.warnings);
		return r;
	}
	if (ret_warnings)
		*ret_warnings = b.warnings;
	else
		strv_free(b.warnings);
	*ret = TAKE_PTR(s);
	return 0;
}

int policy_resolve(const struct policy_input *in, struct sandbox_spec **ret, char ***ret_warnings,
		   struct diag *d)
{
	/* The same home and system prefixes, canonicalised hundreds of times: once each. */
	path_canon_memo_begin();
	int r = policy_resolve_memo(in, ret, ret_warnings, d);
	path_canon_memo_end();
	return r;
}
