/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/groups.h"

#include <errno.h>
#include <stdio.h>

#include "base/macro.h"
#include "base/strv.h"
#include "policy/embedded.h"
#include "policy/expand.h"
#include "policy/json-strict.h"
#include "policy/spec.h"

static const struct {
	const char *key;
	unsigned access;
	bool is_file;
} fs_lists[_FS_LIST_MAX] = {
    [FS_LIST_ALLOW] = {"allow", FS_RW, false},
    [FS_LIST_READ] = {"read", FS_READ, false},
    [FS_LIST_WRITE] = {"write", FS_WRITE, false},
    [FS_LIST_ALLOW_FILE] = {"allow_file", FS_RW, true},
    [FS_LIST_READ_FILE] = {"read_file", FS_READ, true},
    [FS_LIST_WRITE_FILE] = {"write_file", FS_WRITE, true},
};

const char *fs_list_key(enum fs_list l)
{
	return (unsigned)l < _FS_LIST_MAX ? fs_lists[l].key : NULL;
}

unsigned fs_list_access(enum fs_list l)
{
	return (unsigned)l < _FS_LIST_MAX ? fs_lists[l].access : 0;
}

bool fs_list_is_file(enum fs_list l)
{
	return (unsigned)l < _FS_LIST_MAX && fs_lists[l].is_file;
}

const char *platform_to_string(enum platform p)
{
	static const char *const table[_PLATFORM_MAX] = {
	    [PLATFORM_ALL] = "all",
	    [PLATFORM_LINUX] = "linux",
	    [PLATFORM_MACOS] = "macos",
	};
	return (unsigned)p < _PLATFORM_MAX ? table[p] : NULL;
}

bool policy_group_applies(const struct policy_group *g)
{
	return g->platform == PLATFORM_ALL || g->platform == PLATFORM_LINUX;
}

static void group_done(struct policy_group *g)
{
	free(g->name);
	free(g->description);
	for (size_t i = 0; i < _FS_LIST_MAX; i++)
		strv_free(g->fs[i]);
	for (size_t i = 0; i < g->n_denies; i++) {
		free(g->denies[i].path);
		free(g->denies[i].category);
	}
	free(g->denies);
	strv_free(g->commands);
}

struct policy_groups *policy_groups_free(struct policy_groups *g)
{
	if (!g || --g->refs > 0)
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		group_done(&g->groups[i]);
	free(g->groups);
	free(g);
	return NULL;
}

void policy_groups_freep(struct policy_groups **g)
{
	*g = policy_groups_free(*g);
}

const struct policy_group *policy_groups_find(const struct policy_groups *g, const char *name)
{
	for (size_t i = 0; g && name && i < g->n; i++)
		if (streq(g->groups[i].name, name))
			return &g->groups[i];
	return NULL;
}

static int parse_denies(struct jctx *c, json_t *obj, const char *pointer, struct policy_group *g)
{
	json_t *arr = json_object_get(obj, "deny"), *e;
	char p[512], ep[512];
	size_t i;
	if (!arr)
		return 0;
	jptr(p, sizeof(p), pointer, "deny");
	if (!json_is_array(arr))
		return jctx_error(c, -EINVAL, p, false, "'%s' must be an array, not %s", p + 1,
				  json_type_name(arr));
	g->denies = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*g->denies));
	if (!g->denies)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		char idx[24];
		_cleanup_free_ char *path = NULL, *category = NULL;
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		jptr(ep, sizeof(ep), p, idx);
		int r;
		if (json_is_string(e)) {
			path = strdup(json_string_value(e));
			if (!path)
				return -ENOMEM;
		} else if (json_is_object(e)) {
			static const char *const keys[] = {"path", "category", NULL};
			r = jctx_check_keys(c, e, ep, keys);
			if (r < 0)
				return r;
			r = jctx_get_string(c, e, ep, "path", &path);
			if (r < 0)
				return r;
			r = jctx_get_string(c, e, ep, "category", &category);
			if (r < 0)
				return r;
			if (!path)
				return jctx_error(c, -EINVAL, ep, false,
						  "deny entry '%s' has no 'path'", ep + 1);
		} else {
			return jctx_error(c, -EINVAL, ep, false,
					  "'%s' must be a path or {\"path\", \"category\"}, not %s",
					  ep + 1, json_type_name(e));
		}
		size_t off;
		const char *msg;
		if (expand_check(path, &off, &msg) < 0)
			return jctx_error(c, -EINVAL, ep, false, "bad path '%s': %s", path, msg);
		if (!category) {
			category = strdup(g->description);
			if (!category)
				return -ENOMEM;
		}
		g->denies[g->n_denies].path = TAKE_PTR(path);
		g->denies[g->n_denies].category = TAKE_PTR(category);
		g->n_denies++;
	}
	return 0;
}

static int parse_group(struct jctx *c, const char *name, json_t *obj, struct policy_group *g)
{
	static const char *const keys[] = {"description", "platform",	"required", "deny",
					   "allow",	  "read",	"write",    "allow_file",
					   "read_file",	  "write_file", "commands", NULL};
	char p[512];
	_cleanup_free_ char *platform = NULL;
	int required = 0, r;

	jptr(p, sizeof(p), "/groups", name);
	if (!json_is_object(obj))
		return jctx_error(c, -EINVAL, p, false, "group '%s' must be an object, not %s",
				  name, json_type_name(obj));
	r = jctx_check_keys(c, obj, p, keys);
	if (r < 0)
		return r;
	g->name = strdup(name);
	if (!g->name)
		return -ENOMEM;
	r = jctx_get_string(c, obj, p, "description", &g->description);
	if (r < 0)
		return r;
	if (!g->description)
		return jctx_error(c, -EINVAL, p, false, "group '%s' has no 'description'", name);
	r = jctx_get_string(c, obj, p, "platform", &platform);
	if (r < 0)
		return r;
	g->platform = PLATFORM_ALL;
	if (platform) {
		bool found = false;
		for (unsigned i = 0; i < _PLATFORM_MAX; i++)
			if (streq(platform, platform_to_string(i))) {
				g->platform = i;
				found = true;
			}
		if (!found) {
			char pp[512];
			return jctx_error(c, -EINVAL, jptr(pp, sizeof(pp), p, "platform"), false,
					  "unknown platform '%s'; use linux, macos or all",
					  platform);
		}
	}
	r = jctx_get_bool(c, obj, p, "required", &required);
	if (r < 0)
		return r;
	g->required = required;
	for (unsigned l = 0; l < _FS_LIST_MAX; l++) {
		r = jctx_get_strv(c, obj, p, fs_list_key(l), true, &g->fs[l]);
		if (r < 0)
			return r;
	}
	r = jctx_get_strv(c, obj, p, "commands", false, &g->commands);
	if (r < 0)
		return r;
	return parse_denies(c, obj, p, g);
}

int policy_groups_parse(const char *text, size_t len, const char *file, struct policy_groups **ret,
			struct diag *d)
{
	static const char *const keys[] = {"version", "groups", NULL};
	struct jctx c = {file, text, len, d};
	_cleanup_(policy_groups_freep) struct policy_groups *g = NULL;
	json_t *root = NULL, *groups = NULL, *v;
	const char *name;
	int r;

	r = jctx_load(&c, &root);
	if (r < 0)
		return r;
	r = jctx_check_keys(&c, root, "", keys);
	if (r < 0)
		goto out;
	json_t *version = json_object_get(root, "version");
	if (!version || !json_is_integer(version) || json_integer_value(version) != 1) {
		r = jctx_error(&c, -EINVAL, version ? "/version" : "", false,
			       "unsupported policy format version; expected \"version\": 1");
		goto out;
	}
	r = jctx_get_object(&c, root, "", "groups", &groups);
	if (r < 0)
		goto out;
	g = calloc(1, sizeof(*g));
	if (!g) {
		r = -ENOMEM;
		goto out;
	}
	g->refs = 1;
	if (groups) {
		g->groups = calloc(json_object_size(groups) ? json_object_size(groups) : 1,
				   sizeof(*g->groups));
		if (!g->groups) {
			r = -ENOMEM;
			goto out;
		}
		json_object_foreach(groups, name, v)
		{
			/* count first, so a failure still frees the partly parsed group */
			r = parse_group(&c, name, v, &g->groups[g->n++]);
			if (r < 0)
				goto out;
		}
	}
	*ret = TAKE_PTR(g);
	r = 0;
out:
	json_decref(root);
	return r;
}

#ifdef NONO_POLICY_PRECOMPILED
#include "policy-precompiled.h"

int policy_groups_load(struct policy_groups **ret, struct diag *d)
{
	(void)d;
	/* policy-gen parsed the embedded policy.json at build time; pg_builtin holds one
	 * reference that is never dropped, so policy_groups_free() never frees it. */
	pg_builtin.refs++;
	*ret = &pg_builtin;
	return 0;
}
#else
int policy_groups_load(struct policy_groups **ret, struct diag *d)
{
	const struct embedded_file *f = embedded_find("policy.json");
	if (!f) {
		diag_set(d, "policy.json", 0, 0, "built-in policy.json is missing from this build");
		return -ENOENT;
	}
	/* A run used to parse these 11 KB twice (profile merge, then the groups applied). */
	static struct policy_groups *cached;
	if (!cached) {
		int r = policy_groups_parse(f->data, f->size, "builtin:policy.json", &cached, d);
		if (r < 0)
			return r;
	}
	cached->refs++;
	*ret = cached;
	return 0;
}
#endif
