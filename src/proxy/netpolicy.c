/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/netpolicy.h"

#include <errno.h>
#include <jansson.h>

#include "base/macro.h"
#include "base/strv.h"
#include "proxy/filter.h"

struct net_policy {
	json_t *root; /* validated */
};

struct net_policy *net_policy_free(struct net_policy *p)
{
	if (p) {
		json_decref(p->root);
		free(p);
	}
	return NULL;
}

void net_policy_freep(struct net_policy **p)
{
	*p = net_policy_free(*p);
}

static int only_keys(json_t *o, const char *const *keys, const char *path, const char *name,
		     struct diag *d)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o)) {
		diag_set(d, name, 0, 0, "%s: expected an object", path);
		return -EINVAL;
	}
	json_object_foreach(o, k, v)
	{
		bool ok = false;
		for (size_t i = 0; keys[i]; i++)
			ok = ok || streq(k, keys[i]);
		if (!ok) {
			diag_set(d, name, 0, 0, "%s: unknown key '%s'", path, k);
			return -EINVAL;
		}
	}
	return 0;
}

static int string_array(json_t *a, const char *path, const char *name, struct diag *d)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a)) {
		diag_set(d, name, 0, 0, "%s: expected an array of strings", path);
		return -EINVAL;
	}
	json_array_foreach(a, i, v) if (!json_is_string(v))
	{
		diag_set(d, name, 0, 0, "%s[%zu]: expected a string", path, i);
		return -EINVAL;
	}
	return 0;
}

static int validate(json_t *root, const char *name, struct diag *d)
{
	static const char *const top[] = {"meta", "groups", "profiles", NULL};
	static const char *const group_keys[] = {"description", "hosts", NULL};
	static const char *const profile_keys[] = {"groups", "credentials", NULL};
	char path[512];
	const char *k;
	json_t *v, *groups, *profiles;
	int r;

	if ((r = only_keys(root, top, "$", name, d)) < 0)
		return r;
	groups = json_object_get(root, "groups");
	profiles = json_object_get(root, "profiles");
	if (!groups || !profiles) {
		diag_set(d, name, 0, 0, "$: 'groups' and 'profiles' are required");
		return -EINVAL;
	}
	if (!json_is_object(groups)) {
		diag_set(d, name, 0, 0, "$.groups: expected an object");
		return -EINVAL;
	}
	json_object_foreach(groups, k, v)
	{
		(void)snprintf(path, sizeof(path), "$.groups.%s", k);
		if ((r = only_keys(v, group_keys, path, name, d)) < 0)
			return r;
		json_t *desc = json_object_get(v, "description"),
		       *hosts = json_object_get(v, "hosts");
		if (desc && !json_is_string(desc)) {
			diag_set(d, name, 0, 0, "%s.description: expected a string", path);
			return -EINVAL;
		}
		(void)snprintf(path, sizeof(path), "$.groups.%s.hosts", k);
		if (!hosts) {
			diag_set(d, name, 0, 0, "%s: required", path);
			return -EINVAL;
		}
		if ((r = string_array(hosts, path, name, d)) < 0)
			return r;
		size_t i;
		json_t *h;
		json_array_foreach(hosts, i, h)
		{
			struct filter *f = NULL;
			char *one[] = {(char *)json_string_value(h), NULL};
			r = filter_new(one, &f, NULL);
			filter_free(f);
			if (r < 0) {
				diag_set(d, name, 0, 0, "%s[%zu]: invalid host pattern '%s'", path,
					 i, one[0]);
				return -EINVAL;
			}
		}
	}
	if (!json_is_object(profiles)) {
		diag_set(d, name, 0, 0, "$.profiles: expected an object");
		return -EINVAL;
	}
	json_object_foreach(profiles, k, v)
	{
		(void)snprintf(path, sizeof(path), "$.profiles.%s", k);
		if ((r = only_keys(v, profile_keys, path, name, d)) < 0)
			return r;
		json_t *g = json_object_get(v, "groups"), *c = json_object_get(v, "credentials");
		(void)snprintf(path, sizeof(path), "$.profiles.%s.groups", k);
		if (!g) {
			diag_set(d, name, 0, 0, "%s: required", path);
			return -EINVAL;
		}
		if ((r = string_array(g, path, name, d)) < 0)
			return r;
		size_t i;
		json_t *e;
		json_array_foreach(g, i, e) if (!json_object_get(groups, json_string_value(e)))
		{
			diag_set(d, name, 0, 0, "%s[%zu]: unknown group '%s'", path, i,
				 json_string_value(e));
			return -EINVAL;
		}
		(void)snprintf(path, sizeof(path), "$.profiles.%s.credentials", k);
		if (c && (r = string_array(c, path, name, d)) < 0)
			return r;
	}
	return 0;
}

int net_policy_parse(const char *buf, size_t len, const char *name, struct net_policy **ret,
		     struct diag *d)
{
	json_error_t err;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	int r;

	if (!root) {
		diag_set(d, name, err.line, err.column, "%s", err.text);
		return -EINVAL;
	}
	r = validate(root, name, d);
	if (r < 0) {
		json_decref(root);
		return r;
	}
	struct net_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(root);
		return -ENOMEM;
	}
	p->root = root;
	*ret = p;
	return 0;
}

static int add_strings(json_t *a, char ***l)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		int r = strv_extend_unique(l, json_string_value(v));
		if (r < 0)
			return r;
	}
	return 0;
}

static int empty_strv(char ***l)
{
	if (*l)
		return 0;
	*l = calloc(1, sizeof(char *));
	return *l ? 0 : -ENOMEM;
}

int net_policy_group_hosts(const struct net_policy *p, const char *group, char ***ret_hosts)
{
	_cleanup_strv_free_ char **hosts = NULL;
	json_t *g = json_object_get(json_object_get(p->root, "groups"), group);
	int r;

	if (!g)
		return -ENOENT;
	if ((r = add_strings(json_object_get(g, "hosts"), &hosts)) < 0 ||
	    (r = empty_strv(&hosts)) < 0)
		return r;
	*ret_hosts = TAKE_PTR(hosts);
	return 0;
}

int net_policy_resolve(const struct net_policy *p, const char *profile, char ***ret_hosts,
		       char ***ret_credentials)
{
	_cleanup_strv_free_ char **hosts = NULL, **creds = NULL;
	json_t *groups = json_object_get(p->root, "groups");
	json_t *prof = json_object_get(json_object_get(p->root, "profiles"), profile);
	size_t i;
	json_t *g;
	int r;

	if (!prof)
		return -ENOENT;
	json_array_foreach(json_object_get(prof, "groups"), i, g)
	{
		json_t *grp = json_object_get(groups, json_string_value(g));
		if ((r = add_strings(json_object_get(grp, "hosts"), &hosts)) < 0)
			return r;
	}
	json_t *c = json_object_get(prof, "credentials");
	if (c && (r = add_strings(c, &creds)) < 0)
		return r;
	if ((r = empty_strv(&hosts)) < 0 || (r = empty_strv(&creds)) < 0)
		return r;
	*ret_hosts = TAKE_PTR(hosts);
	*ret_credentials = TAKE_PTR(creds);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int net_policy_profile_names(const struct net_policy *p, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	const char *k;
	json_t *v;
	int r;

	json_object_foreach(json_object_get(p->root, "profiles"), k,
			    v) if ((r = strv_extend(&l, k)) < 0) return r;
	if ((r = empty_strv(&l)) < 0)
		return r;
	qsort(l, strv_length(l), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(l);
	return 0;
}
