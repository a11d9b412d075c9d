/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct sandbox_spec <-> JSON, for the state a sandbox reads about itself
 * (`nono why --self`). The reader is strict: every key must be present exactly
 * once, no other key is accepted, types and enum names are checked, paths are
 * absolute, lists are bounded. Credential references (keyring accounts, URIs)
 * are not written: the sandboxed side has no business knowing where secrets live.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>

#include "base/strv.h"
#include "query/query.h"

#define SPEC_JSON_VERSION 1
#define SPEC_LIST_MAX	  65536
#define SPEC_STRING_MAX	  8192

static const char *const origin_names[_ORIGIN_KIND_MAX] = {
    [ORIGIN_CLI] = "cli",     [ORIGIN_ENV] = "env",	    [ORIGIN_PROFILE] = "profile",
    [ORIGIN_GROUP] = "group", [ORIGIN_WORKDIR] = "workdir", [ORIGIN_IMPLIED] = "implied",
};

static const char *const net_names[_NET_MODE_MAX] = {
    [NET_ALLOW] = "allow",
    [NET_BLOCK] = "block",
    [NET_PROXY] = "proxy",
};

static const char *const access_names[] = {
    [FS_READ] = "read",
    [FS_WRITE] = "write",
    [FS_RW] = "readwrite",
};

/* ---- writing ---- */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Sets k; returns -1 when v is NULL (allocation or invalid UTF-8) or the set fails. */
static int put(json_t *o, const char *k, json_t *v)
{
	if (!o || !v) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new(o, k, v);
}

static int append(json_t *a, json_t *v)
{
	if (!a || !v) {
		json_decref(v);
		return -1;
	}
	return json_array_append_new(a, v);
}

static json_t *strv_json(char *const *l)
{
	json_t *a = json_array();
	STRV_FOREACH(s, l)
	if (append(a, json_string(*s)) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *ports_json(const uint16_t *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		if (append(a, json_integer(p[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *origin_json(const struct origin *o)
{
	json_t *j = json_object();
	const char *kind =
	    o->kind >= 0 && o->kind < _ORIGIN_KIND_MAX ? origin_names[o->kind] : NULL;
	if (!kind || put(j, "kind", json_string(kind)) < 0 || put(j, "name", jstr(o->name)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *grants_json(const struct sandbox_spec *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n_grants; i++) {
		const struct fs_grant *g = &s->grants[i];
		json_t *o = json_object();
		unsigned acc = g->access & FS_RW;
		int fail = !acc || put(o, "path", jstr(g->path)) < 0 ||
			   put(o, "access", json_string(access_names[acc ? acc : FS_READ])) < 0 ||
			   put(o, "is_file", json_boolean(g->is_file)) < 0 ||
			   put(o, "exists", json_boolean(g->exists)) < 0 ||
			   put(o, "origin", origin_json(&g->origin)) < 0;
		if (fail || append(a, o) < 0) {
			if (fail)
				json_decref(o);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *denies_json(const struct sandbox_spec *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n_denies; i++) {
		const struct fs_deny *d = &s->denies[i];
		json_t *o = json_object();
		int fail = put(o, "path", jstr(d->path)) < 0 ||
			   put(o, "group", jstr(d->group)) < 0 ||
			   put(o, "category", jstr(d->category)) < 0 ||
			   put(o, "exists", json_boolean(d->exists)) < 0 ||
			   put(o, "is_dir", json_boolean(d->is_dir)) < 0 ||
			   put(o, "bypassed", json_boolean(d->bypassed)) < 0;
		if (fail || append(a, o) < 0) {
			if (fail)
				json_decref(o);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *unix_json(const struct sandbox_spec *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n_unix_grants; i++) {
		const struct unix_grant *u = &s->unix_grants[i];
		json_t *o = json_object();
		int fail = put(o, "path", jstr(u->path)) < 0 ||
			   put(o, "flags", json_integer(u->flags)) < 0 ||
			   put(o, "origin", origin_json(&u->origin)) < 0;
		if (fail || append(a, o) < 0) {
			if (fail)
				json_decref(o);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *proxy_json(const struct proxy_spec *p)
{
	json_t *o = json_object(), *eps = json_array(), *creds = json_array();
	for (size_t i = 0; eps && i < p->n_endpoints; i++) {
		const struct endpoint_rule *e = &p->endpoints[i];
		json_t *j = json_object();
		if (put(j, "service", jstr(e->service)) < 0 ||
		    put(j, "method", jstr(e->method)) < 0 || put(j, "path", jstr(e->path)) < 0) {
			json_decref(j);
			json_decref(eps);
			eps = NULL;
		} else if (append(eps, j) < 0) {
			json_decref(eps);
			eps = NULL;
		}
	}
	/* Service names and where the phantom token goes; never the credential reference. */
	for (size_t i = 0; creds && i < p->n_credentials; i++) {
		const struct credential_spec *c = &p->credentials[i];
		json_t *j = json_object();
		if (put(j, "name", jstr(c->name)) < 0 ||
		    put(j, "upstream", jstr(c->upstream)) < 0 ||
		    put(j, "env_var", jstr(c->env_var)) < 0 ||
		    put(j, "base_url_var", jstr(c->base_url_var)) < 0) {
			json_decref(j);
			json_decref(creds);
			creds = NULL;
		} else if (append(creds, j) < 0) {
			json_decref(creds);
			creds = NULL;
		}
	}
	if (put(o, "network_profile", jstr(p->network_profile)) < 0 ||
	    put(o, "allow_domains", strv_json(p->allow_domains)) < 0 ||
	    put(o, "credentials", TAKE_PTR(creds)) < 0 || put(o, "endpoints", TAKE_PTR(eps)) < 0 ||
	    put(o, "upstream_proxy", jstr(p->upstream_proxy)) < 0 ||
	    put(o, "upstream_bypass", strv_json(p->upstream_bypass)) < 0 ||
	    put(o, "port", json_integer(p->port)) < 0 ||
	    put(o, "placement", jstr(proxy_placement_to_string(p->placement))) < 0) {
		json_decref(creds);
		json_decref(eps);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The namespace placement policy_resolve decided (the proxy's is in "proxy"). */
static json_t *placement_json(const struct sandbox_placement *p)
{
	json_t *o = json_object();
	if (put(o, "decided", json_boolean(p->decided)) < 0 ||
	    put(o, "userns", json_boolean(p->userns)) < 0 ||
	    put(o, "mountns", json_boolean(p->mountns)) < 0 ||
	    put(o, "pidns", json_boolean(p->pidns)) < 0 ||
	    put(o, "ro_root", json_boolean(p->ro_root)) < 0 ||
	    put(o, "masks", json_boolean(p->masks)) < 0 ||
	    put(o, "private_tmp", json_boolean(p->private_tmp)) < 0 ||
	    put(o, "proxy", jstr(proxy_placement_to_string(p->proxy))) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int spec_to_json(const struct sandbox_spec *s, char **ret)
{
	if (!s || !ret || s->net < 0 || s->net >= _NET_MODE_MAX)
		return -EINVAL;
	json_t *o = json_object();
	int fail = put(o, "version", json_integer(SPEC_JSON_VERSION)) < 0 ||
		   put(o, "profile_name", jstr(s->profile_name)) < 0 ||
		   put(o, "workdir", jstr(s->workdir)) < 0 ||
		   put(o, "grants", grants_json(s)) < 0 || put(o, "denies", denies_json(s)) < 0 ||
		   put(o, "net", json_string(net_names[s->net])) < 0 ||
		   put(o, "open_ports", ports_json(s->open_ports, s->n_open_ports)) < 0 ||
		   put(o, "listen_ports", ports_json(s->listen_ports, s->n_listen_ports)) < 0 ||
		   put(o, "unix_grants", unix_json(s)) < 0 ||
		   put(o, "scope_signal", json_boolean(s->scope_signal)) < 0 ||
		   put(o, "scope_abstract_unix", json_boolean(s->scope_abstract_unix)) < 0 ||
		   put(o, "blocked_commands", strv_json(s->blocked_commands)) < 0 ||
		   put(o, "allowed_commands", strv_json(s->allowed_commands)) < 0 ||
		   put(o, "proxy", proxy_json(&s->proxy)) < 0 ||
		   put(o, "placement", placement_json(&s->placement)) < 0 ||
		   put(o, "allow_gpu", json_boolean(s->allow_gpu)) < 0 ||
		   put(o, "capability_elevation", json_boolean(s->capability_elevation)) < 0 ||
		   put(o, "best_effort", json_boolean(s->best_effort)) < 0;
	char *out = fail ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!out)
		return fail && o ? -EILSEQ : -ENOMEM;
	*ret = out;
	return 0;
}

/* ---- reading ---- */

/* Exactly these keys: duplicates are refused at load, so size + presence is exact. */
static int check_keys(const json_t *o, const char *const *keys, size_t n)
{
	if (!json_is_object(o) || json_object_size(o) != n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(o, keys[i]))
			return -EINVAL;
	return 0;
}
#define CHECK_KEYS(o, ...)                                                                         \
	check_keys(o, (const char *const[]){__VA_ARGS__},                                          \
		   sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

enum str_kind {
	STR_ANY = 0,
	STR_NULLABLE = 1 << 0,
	STR_PATH = 1 << 1, /* absolute */
};

static int get_str(const json_t *o, const char *k, unsigned kind, char **ret)
{
	const json_t *v = json_object_get(o, k);
	*ret = NULL;
	if (json_is_null(v) && (kind & STR_NULLABLE))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n != strlen(s) || n > SPEC_STRING_MAX)
		return -EINVAL; /* embedded NUL, or too long */
	if ((kind & STR_PATH) && s[0] != '/')
		return -EINVAL;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int get_bool(const json_t *o, const char *k, bool *ret)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_boolean(v))
		return -EINVAL;
	*ret = json_is_true(v);
	return 0;
}

static int get_int(const json_t *o, const char *k, json_int_t min, json_int_t max, json_int_t *ret)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -EINVAL;
	*ret = json_integer_value(v);
	return 0;
}

static int get_enum(const json_t *o, const char *k, const char *const *names, size_t n, int *ret)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_string(v))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (names[i] && streq(names[i], json_string_value(v))) {
			*ret = (int)i;
			return 0;
		}
	return -EINVAL;
}

/* An array, bounded; *ret_n its length. */
static int get_array(const json_t *o, const char *k, const json_t **ret, size_t *ret_n)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_array(v) || json_array_size(v) > SPEC_LIST_MAX)
		return -EINVAL;
	*ret = v;
	*ret_n = json_array_size(v);
	return 0;
}

static int get_strv(const json_t *o, const char *k, char ***ret)
{
	const json_t *a;
	size_t n;
	int r = get_array(o, k, &a, &n);
	if (r < 0)
		return r;
	*ret = NULL;
	if (n == 0)
		return 0;
	char **l = calloc(n + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	*ret = l; /* owned by the spec from here on: freed with it on failure */
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		const char *s = json_string_value(v);
		if (!s || json_string_length(v) != strlen(s) || strlen(s) > SPEC_STRING_MAX)
			return -EINVAL;
		l[i] = strdup(s);
		if (!l[i])
			return -ENOMEM;
	}
	return 0;
}

static int get_ports(const json_t *o, const char *k, uint16_t **ret, size_t *ret_n)
{
	const json_t *a;
	size_t n;
	int r = get_array(o, k, &a, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return 0;
	uint16_t *p = calloc(n, sizeof(uint16_t));
	if (!p)
		return -ENOMEM;
	*ret = p;
	*ret_n = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535)
			return -EINVAL;
		p[i] = (uint16_t)json_integer_value(v);
	}
	return 0;
}

static int get_origin(const json_t *o, struct origin *ret)
{
	const json_t *v = json_object_get(o, "origin");
	int kind, r = CHECK_KEYS(v, "kind", "name");
	if (r >= 0)
		r = get_enum(v, "kind", origin_names, _ORIGIN_KIND_MAX, &kind);
	if (r >= 0) {
		ret->kind = kind;
		r = get_str(v, "name", STR_NULLABLE, &ret->name);
	}
	return r;
}

static int read_grants(const json_t *root, struct sandbox_spec *s)
{
	const json_t *a;
	size_t n;
	int r = get_array(root, "grants", &a, &n);
	if (r < 0 || n == 0)
		return r;
	s->grants = calloc(n, sizeof(*s->grants));
	if (!s->grants)
		return -ENOMEM;
	s->n_grants = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct fs_grant *g = &s->grants[i];
		int acc;
		r = CHECK_KEYS(o, "path", "access", "is_file", "exists", "origin");
		if (r >= 0)
			r = get_str(o, "path", STR_PATH, &g->path);
		if (r >= 0)
			r = get_enum(o, "access", access_names, ARRAY_SIZE(access_names), &acc);
		if (r >= 0) {
			g->access = (unsigned)acc;
			r = get_bool(o, "is_file", &g->is_file);
		}
		if (r >= 0)
			r = get_bool(o, "exists", &g->exists);
		if (r >= 0)
			r = get_origin(o, &g->origin);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_denies(const json_t *root, struct sandbox_spec *s)
{
	const json_t *a;
	size_t n;
	int r = get_array(root, "denies", &a, &n);
	if (r < 0 || n == 0)
		return r;
	s->denies = calloc(n, sizeof(*s->denies));
	if (!s->denies)
		return -ENOMEM;
	s->n_denies = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct fs_deny *d = &s->denies[i];
		r = CHECK_KEYS(o, "path", "group", "category", "exists", "is_dir", "bypassed");
		if (r >= 0)
			r = get_str(o, "path", STR_PATH, &d->path);
		if (r >= 0)
			r = get_str(o, "group", STR_NULLABLE, &d->group);
		if (r >= 0)
			r = get_str(o, "category", STR_NULLABLE, &d->category);
		if (r >= 0)
			r = get_bool(o, "exists", &d->exists);
		if (r >= 0)
			r = get_bool(o, "is_dir", &d->is_dir);
		if (r >= 0)
			r = get_bool(o, "bypassed", &d->bypassed);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_unix(const json_t *root, struct sandbox_spec *s)
{
	const json_t *a;
	size_t n;
	int r = get_array(root, "unix_grants", &a, &n);
	if (r < 0 || n == 0)
		return r;
	s->unix_grants = calloc(n, sizeof(*s->unix_grants));
	if (!s->unix_grants)
		return -ENOMEM;
	s->n_unix_grants = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct unix_grant *u = &s->unix_grants[i];
		json_int_t flags;
		r = CHECK_KEYS(o, "path", "flags", "origin");
		if (r >= 0)
			r = get_str(o, "path", STR_PATH, &u->path);
		if (r >= 0)
			r = get_int(o, "flags", 0,
				    UNIX_CONNECT | UNIX_BIND | UNIX_DIR | UNIX_SUBTREE, &flags);
		if (r >= 0) {
			u->flags = (unsigned)flags;
			r = get_origin(o, &u->origin);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_proxy(const json_t *root, struct proxy_spec *p)
{
	const json_t *o = json_object_get(root, "proxy"), *a;
	json_int_t port;
	size_t n;
	int r = CHECK_KEYS(o, "network_profile", "allow_domains", "credentials", "endpoints",
			   "upstream_proxy", "upstream_bypass", "port", "placement");
	if (r >= 0)
		r = get_str(o, "network_profile", STR_NULLABLE, &p->network_profile);
	if (r >= 0)
		r = get_strv(o, "allow_domains", &p->allow_domains);
	if (r >= 0)
		r = get_str(o, "upstream_proxy", STR_NULLABLE, &p->upstream_proxy);
	if (r >= 0)
		r = get_strv(o, "upstream_bypass", &p->upstream_bypass);
	if (r >= 0)
		r = get_int(o, "port", 0, 65535, &port);
	if (r >= 0) {
		const json_t *pl = json_object_get(o, "placement");
		p->port = (uint16_t)port;
		if (!json_is_null(pl))
			r = proxy_placement_from_string(json_string_value(pl), &p->placement);
	}
	if (r >= 0)
		r = get_array(o, "endpoints", &a, &n);
	if (r >= 0 && n > 0) {
		p->endpoints = calloc(n, sizeof(*p->endpoints));
		if (!p->endpoints)
			return -ENOMEM;
		p->n_endpoints = n;
		for (size_t i = 0; r >= 0 && i < n; i++) {
			const json_t *e = json_array_get(a, i);
			r = CHECK_KEYS(e, "service", "method", "path");
			if (r >= 0)
				r = get_str(e, "service", STR_NULLABLE, &p->endpoints[i].service);
			if (r >= 0)
				r = get_str(e, "method", STR_NULLABLE, &p->endpoints[i].method);
			if (r >= 0)
				r = get_str(e, "path", STR_NULLABLE, &p->endpoints[i].path);
		}
	}
	if (r >= 0)
		r = get_array(o, "credentials", &a, &n);
	if (r >= 0 && n > 0) {
		p->credentials = calloc(n, sizeof(*p->credentials));
		if (!p->credentials)
			return -ENOMEM;
		p->n_credentials = n;
		for (size_t i = 0; r >= 0 && i < n; i++) {
			const json_t *c = json_array_get(a, i);
			struct credential_spec *cs = &p->credentials[i];
			r = CHECK_KEYS(c, "name", "upstream", "env_var", "base_url_var");
			if (r >= 0)
				r = get_str(c, "name", STR_NULLABLE, &cs->name);
			if (r >= 0)
				r = get_str(c, "upstream", STR_NULLABLE, &cs->upstream);
			if (r >= 0)
				r = get_str(c, "env_var", STR_NULLABLE, &cs->env_var);
			if (r >= 0)
				r = get_str(c, "base_url_var", STR_NULLABLE, &cs->base_url_var);
		}
	}
	return r;
}

static int read_placement(const json_t *root, struct sandbox_placement *p)
{
	const json_t *o = json_object_get(root, "placement"), *pl;
	int r = CHECK_KEYS(o, "decided", "userns", "mountns", "pidns", "ro_root", "masks",
			   "private_tmp", "proxy");
	if (r >= 0)
		r = get_bool(o, "decided", &p->decided);
	if (r >= 0)
		r = get_bool(o, "userns", &p->userns);
	if (r >= 0)
		r = get_bool(o, "mountns", &p->mountns);
	if (r >= 0)
		r = get_bool(o, "pidns", &p->pidns);
	if (r >= 0)
		r = get_bool(o, "ro_root", &p->ro_root);
	if (r >= 0)
		r = get_bool(o, "masks", &p->masks);
	if (r >= 0)
		r = get_bool(o, "private_tmp", &p->private_tmp);
	if (r >= 0 && !json_is_null(pl = json_object_get(o, "proxy")))
		r = proxy_placement_from_string(json_string_value(pl), &p->proxy);
	return r;
}

static int read_spec(const json_t *root, struct sandbox_spec *s)
{
	json_int_t version;
	int net;
	int r = CHECK_KEYS(root, "version", "profile_name", "workdir", "grants", "denies", "net",
			   "open_ports", "listen_ports", "unix_grants", "scope_signal",
			   "scope_abstract_unix", "blocked_commands", "allowed_commands", "proxy",
			   "placement", "allow_gpu", "capability_elevation", "best_effort");
	if (r >= 0)
		r = get_int(root, "version", SPEC_JSON_VERSION, SPEC_JSON_VERSION, &version);
	if (r >= 0)
		r = get_str(root, "profile_name", STR_NULLABLE, &s->profile_name);
	if (r >= 0)
		r = get_str(root, "workdir", STR_NULLABLE | STR_PATH, &s->workdir);
	if (r >= 0)
		r = read_grants(root, s);
	if (r >= 0)
		r = read_denies(root, s);
	if (r >= 0)
		r = get_enum(root, "net", net_names, _NET_MODE_MAX, &net);
	if (r >= 0) {
		s->net = net;
		r = get_ports(root, "open_ports", &s->open_ports, &s->n_open_ports);
	}
	if (r >= 0)
		r = get_ports(root, "listen_ports", &s->listen_ports, &s->n_listen_ports);
	if (r >= 0)
		r = read_unix(root, s);
	if (r >= 0)
		r = get_bool(root, "scope_signal", &s->scope_signal);
	if (r >= 0)
		r = get_bool(root, "scope_abstract_unix", &s->scope_abstract_unix);
	if (r >= 0)
		r = get_strv(root, "blocked_commands", &s->blocked_commands);
	if (r >= 0)
		r = get_strv(root, "allowed_commands", &s->allowed_commands);
	if (r >= 0)
		r = read_proxy(root, &s->proxy);
	if (r >= 0)
		r = read_placement(root, &s->placement);
	if (r >= 0)
		r = get_bool(root, "allow_gpu", &s->allow_gpu);
	if (r >= 0)
		r = get_bool(root, "capability_elevation", &s->capability_elevation);
	if (r >= 0)
		r = get_bool(root, "best_effort", &s->best_effort);
	return r;
}

int spec_from_json(const char *json, struct sandbox_spec **ret)
{
	json_error_t err;
	if (!json || !ret)
		return -EINVAL;
	size_t len = strnlen(json, SPEC_JSON_MAX + 1);
	if (len > SPEC_JSON_MAX)
		return -E2BIG;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return -EINVAL;
	struct sandbox_spec *s = calloc(1, sizeof(*s));
	int r = s ? read_spec(root, s) : -ENOMEM;
	json_decref(root);
	if (r < 0) {
		sandbox_spec_free(s);
		return r;
	}
	*ret = s;
	return 0;
}
