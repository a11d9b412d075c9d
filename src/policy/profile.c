/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/macro.h"
#include "base/parse.h"
#include "base/path.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "policy/embedded.h"
#include "policy/expand.h"
#include "policy/json-strict.h"
#include "policy/policy.h"
#include "policy/presets.h"
#include "policy/spec.h"

#define JP 512

static void credential_done(struct profile_credential *c)
{
	free(c->name);
	free(c->upstream);
	free(c->credential_key);
	free(c->inject_header);
	free(c->credential_format);
	free(c->env_var);
	free(c->tls_ca);
	for (size_t i = 0; i < c->n_rules; i++) {
		free(c->rules[i].method);
		free(c->rules[i].path);
	}
	free(c->rules);
	*c = (struct profile_credential){0};
}

struct profile *profile_free(struct profile *p)
{
	if (!p)
		return NULL;
	free(p->name);
	free(p->file);
	free(p->text);
	free(p->extends);
	free(p->meta_version);
	free(p->meta_description);
	free(p->meta_author);
	strv_free(p->groups);
	free(p->wsl2_proxy_policy);
	for (size_t i = 0; i < _FS_LIST_MAX; i++)
		strv_free(p->fs[i]);
	strv_free(p->suppress_save_prompt);
	strv_free(p->exclude_groups);
	strv_free(p->add_deny_access);
	strv_free(p->override_deny);
	free(p->network_profile);
	strv_free(p->allow_domain);
	strv_free(p->credentials);
	for (size_t i = 0; i < p->n_custom_credentials; i++)
		credential_done(&p->custom_credentials[i]);
	free(p->custom_credentials);
	free(p->upstream_proxy);
	strv_free(p->upstream_bypass);
	free(p->open_ports);
	free(p->listen_ports);
	strv_free(p->commands_allow);
	strv_free(p->commands_block);
	strv_free(p->env_credentials);
	strv_free(p->pass_env);
	free(p);
	return NULL;
}

void profile_freep(struct profile **p)
{
	*p = profile_free(*p);
}

static struct profile *profile_new(void)
{
	struct profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->capability_elevation = p->allow_gpu = p->best_effort = p->shared_tmp = -1;
	p->workdir_access = -1;
	p->net_block = -1;
	p->proxy_port = -1;
	return p;
}

const char *workdir_access_to_string(unsigned access)
{
	switch (access & FS_RW) {
	case FS_READ:
		return "read";
	case FS_WRITE:
		return "write";
	case FS_RW:
		return "readwrite";
	default:
		return "none";
	}
}

/*
 * "https://host[:port][/path]"; "http://" only for a loopback host (127.0.0.0/8, [::1],
 * localhost), for local test upstreams. No userinfo, query or fragment.
 */
static bool valid_upstream(const char *url)
{
	const char *a = startswith(url, "https://");
	bool tls = a != NULL;
	if (!a && !(a = startswith(url, "http://")))
		return false;
	size_t al = strcspn(a, "/");
	char host[256];
	if (al == 0 || al >= sizeof(host))
		return false;
	memcpy(host, a, al);
	host[al] = '\0';
	char *port = NULL, *h = host;
	if (host[0] == '[') {
		char *rb = strchr(host, ']');
		if (!rb || rb == host + 1 || (rb[1] && rb[1] != ':'))
			return false;
		*rb = '\0';
		port = rb[1] ? rb + 2 : NULL;
		h = host + 1;
		for (const char *p = h; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				return false;
	} else {
		if ((port = strchr(host, ':')))
			*port++ = '\0';
		if (!*h)
			return false;
		for (const char *p = h; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
				return false;
	}
	if (port) {
		char *end;
		long v = strtol(port, &end, 10);
		if (!*port || *end || v < 1 || v > 65535 || port[0] == '0')
			return false;
	}
	for (const char *p = a + al; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '\\' || *p == '@')
			return false;
	if (tls)
		return true;
	if (strcasecmp(h, "localhost") == 0 || streq(h, "::1"))
		return true;
	unsigned o[4];
	char tail;
	return sscanf(h, "%3u.%3u.%3u.%3u%c", &o[0], &o[1], &o[2], &o[3], &tail) == 4 &&
	       o[0] == 127 && o[1] < 256 && o[2] < 256 && o[3] < 256;
}

/* An HTTP header name (RFC 9110 token). */
static bool valid_header_name(const char *s)
{
	if (!s[0] || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	return true;
}

static bool has_control(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* An endpoint glob as the proxy matches it: no query, fragment, backslash, dot segments. */
static bool valid_endpoint_path(const char *g)
{
	if (g[0] != '/' || has_control(g) || strpbrk(g, "?# \\"))
		return false;
	for (const char *p = g; *p;) {
		p++;
		size_t l = strcspn(p, "/");
		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += l;
	}
	return true;
}

static bool valid_service_name(const char *s)
{
	if (!s[0] || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool valid_method(const char *s)
{
	if (streq(s, "*"))
		return true;
	if (!s[0] || strlen(s) > 16)
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p >= 'A' && *p <= 'Z'))
			return false;
	return true;
}

static int parse_endpoint_rules(struct jctx *c, json_t *obj, const char *cp,
				struct profile_credential *cred)
{
	static const char *const keys[] = {"method", "path", NULL};
	json_t *arr = json_object_get(obj, "endpoint_rules"), *e;
	char p[JP], ep[JP];
	size_t i;
	if (!arr)
		return 0;
	jptr(p, sizeof(p), cp, "endpoint_rules");
	if (!json_is_array(arr))
		return jctx_error(c, -EINVAL, p, false, "'%s' must be an array, not %s", p + 1,
				  json_type_name(arr));
	cred->rules = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*cred->rules));
	if (!cred->rules)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		char idx[24];
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		jptr(ep, sizeof(ep), p, idx);
		if (!json_is_object(e))
			return jctx_error(c, -EINVAL, ep, false,
					  "'%s' must be an object {\"method\", \"path\"}, not %s",
					  ep + 1, json_type_name(e));
		int r = jctx_check_keys(c, e, ep, keys);
		if (r < 0)
			return r;
		struct profile_endpoint *rule = &cred->rules[cred->n_rules++];
		r = jctx_get_string(c, e, ep, "method", &rule->method);
		if (r < 0)
			return r;
		r = jctx_get_string(c, e, ep, "path", &rule->path);
		if (r < 0)
			return r;
		if (!rule->method || !rule->path)
			return jctx_error(c, -EINVAL, ep, false,
					  "endpoint rule '%s' needs both 'method' and 'path'",
					  ep + 1);
		if (!valid_method(rule->method)) {
			char mp[JP];
			return jctx_error(c, -EINVAL, jptr(mp, sizeof(mp), ep, "method"), false,
					  "bad HTTP method '%s'; use an upper-case method or '*'",
					  rule->method);
		}
		if (!valid_endpoint_path(rule->path)) {
			char pp[JP];
			return jctx_error(c, -EINVAL, jptr(pp, sizeof(pp), ep, "path"), false,
					  "bad endpoint path '%s'; it must start with '/' and hold no "
					  "'?', '#', '\\', spaces or '.'/'..' segments",
					  rule->path);
		}
	}
	return 0;
}

static int parse_custom_credentials(struct jctx *c, json_t *net, struct profile *p)
{
	static const char *const keys[] = {
	    "upstream", "credential_key", "inject_header",  "credential_format",
	    "env_var",	"tls_ca",	  "endpoint_rules", NULL};
	json_t *obj = NULL, *v;
	const char *name;
	int r = jctx_get_object(c, net, "/network", "custom_credentials", &obj);
	if (r < 0 || !obj)
		return r;
	p->custom_credentials = calloc(json_object_size(obj) ? json_object_size(obj) : 1,
				       sizeof(*p->custom_credentials));
	if (!p->custom_credentials)
		return -ENOMEM;
	json_object_foreach(obj, name, v)
	{
		char cp[JP], fp[JP];
		jptr(cp, sizeof(cp), "/network/custom_credentials", name);
		if (!valid_service_name(name))
			return jctx_error(
			    c, -EINVAL, cp, true,
			    "bad credential service name '%s'; use letters, digits, '-' and '_'",
			    name);
		if (!json_is_object(v))
			return jctx_error(c, -EINVAL, cp, false, "'%s' must be an object, not %s",
					  cp + 1, json_type_name(v));
		r = jctx_check_keys(c, v, cp, keys);
		if (r < 0)
			return r;
		struct profile_credential *cred = &p->custom_credentials[p->n_custom_credentials++];
		cred->name = strdup(name);
		if (!cred->name)
			return -ENOMEM;
		if ((r = jctx_get_string(c, v, cp, "upstream", &cred->upstream)) < 0 ||
		    (r = jctx_get_string(c, v, cp, "credential_key", &cred->credential_key)) < 0 ||
		    (r = jctx_get_string(c, v, cp, "inject_header", &cred->inject_header)) < 0 ||
		    (r = jctx_get_string(c, v, cp, "credential_format", &cred->credential_format)) <
			0 ||
		    (r = jctx_get_string(c, v, cp, "env_var", &cred->env_var)) < 0 ||
		    (r = jctx_get_string(c, v, cp, "tls_ca", &cred->tls_ca)) < 0)
			return r;
		/* An entry named like a preset inherits what it leaves unset. */
		bool preset = policy_credential_is_preset(name);
		if (!cred->upstream && !preset)
			return jctx_error(c, -EINVAL, cp, false,
					  "custom credential '%s' has no 'upstream'; add "
					  "\"upstream\": \"https://...\"",
					  name);
		if (cred->upstream && !valid_upstream(cred->upstream))
			return jctx_error(c, -EINVAL, jptr(fp, sizeof(fp), cp, "upstream"), false,
					  "upstream '%s' of '%s' must be an https://host[:port][/path] "
					  "URL (http:// only for 127.0.0.1, [::1] or localhost)",
					  cred->upstream, name);
		if (cred->inject_header && !valid_header_name(cred->inject_header))
			return jctx_error(c, -EINVAL, jptr(fp, sizeof(fp), cp, "inject_header"),
					  false, "bad HTTP header name '%s'", cred->inject_header);
		if (!cred->credential_key && !preset)
			return jctx_error(c, -EINVAL, cp, false,
					  "custom credential '%s' has no 'credential_key'", name);
		if (cred->env_var && !env_name_valid(cred->env_var))
			return jctx_error(c, -EINVAL, jptr(fp, sizeof(fp), cp, "env_var"), false,
					  "bad environment variable name '%s'", cred->env_var);
		if (cred->credential_format &&
		    (!strstr(cred->credential_format, "{}") || has_control(cred->credential_format)))
			return jctx_error(c, -EINVAL, jptr(fp, sizeof(fp), cp, "credential_format"),
					  false,
					  "credential_format '%s' needs a '{}' placeholder and no control "
					  "characters",
					  cred->credential_format);
		r = parse_endpoint_rules(c, v, cp, cred);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "openai_api_key" -> "OPENAI_API_KEY" */
static int upper_env_name(const char *ref, char **ret)
{
	char *s = strdup(ref);
	if (!s)
		return -ENOMEM;
	for (char *q = s; *q; q++) {
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 'a' + 'A');
		else if (*q == '-' || *q == '.')
			*q = '_';
	}
	*ret = s;
	return 0;
}

static int add_env_pair(char ***l, const char *ref, const char *var)
{
	for (char **q = *l; q && q[0] && q[1]; q += 2)
		if (streq(q[0], ref) && streq(q[1], var))
			return 0;
	int r = strv_extend(l, ref);
	if (r < 0)
		return r;
	return strv_extend(l, var);
}

static int parse_env_credentials(struct jctx *c, json_t *root, struct profile *p)
{
	json_t *v = json_object_get(root, "env_credentials"), *e;
	const char *key;
	size_t i;
	char ep[JP];
	int r;
	if (!v)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach(v, key, e)
		{
			jptr(ep, sizeof(ep), "/env_credentials", key);
			if (!json_is_string(e))
				return jctx_error(
				    c, -EINVAL, ep, false,
				    "'%s' must be an environment variable name, not %s", ep + 1,
				    json_type_name(e));
			if (!env_name_valid(json_string_value(e)))
				return jctx_error(c, -EINVAL, ep, false,
						  "bad environment variable name '%s'",
						  json_string_value(e));
			if (!key[0])
				return jctx_error(c, -EINVAL, ep, true,
						  "empty credential reference");
			r = add_env_pair(&p->env_credentials, key, json_string_value(e));
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (!json_is_array(v))
		return jctx_error(
		    c, -EINVAL, "/env_credentials", false,
		    "'env_credentials' must be an object {REF: VAR} or an array, not %s",
		    json_type_name(v));
	json_array_foreach(v, i, e)
	{
		char idx[24];
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		jptr(ep, sizeof(ep), "/env_credentials", idx);
		if (!json_is_string(e) || !json_string_value(e)[0])
			return jctx_error(c, -EINVAL, ep, false, "'%s' must be a non-empty string",
					  ep + 1);
		const char *s = json_string_value(e);
		const char *eq = strrchr(s, '=');
		_cleanup_free_ char *ref = NULL, *var = NULL;
		if (eq) {
			ref = strndup(s, (size_t)(eq - s));
			var = strdup(eq + 1);
			if (!ref || !var)
				return -ENOMEM;
		} else {
			ref = strdup(s);
			if (!ref)
				return -ENOMEM;
			r = upper_env_name(s, &var);
			if (r < 0)
				return r;
		}
		if (!ref[0] || !env_name_valid(var))
			return jctx_error(c, -EINVAL, ep, false,
					  "bad env credential '%s'; use NAME or REF=VAR", s);
		r = add_env_pair(&p->env_credentials, ref, var);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_group_names(struct jctx *c, const struct policy_groups *groups,
			     const char *pointer, char **names, bool excluding)
{
	size_t i = 0;
	STRV_FOREACH(n, names)
	{
		char ep[JP], idx[24];
		(void)snprintf(idx, sizeof(idx), "%zu", i++);
		jptr(ep, sizeof(ep), pointer, idx);
		const struct policy_group *g = policy_groups_find(groups, *n);
		if (!g)
			return jctx_error(c, -EINVAL, ep, false,
					  "unknown policy group '%s'; see 'nono policy groups'",
					  *n);
		if (excluding && g->required)
			return jctx_error(
			    c, -EPERM, ep, false,
			    "group '%s' is required and cannot be excluded; use "
			    "--bypass-protection PATH with a matching grant to open one path",
			    *n);
	}
	return 0;
}

static int parse_sections(struct jctx *c, json_t *root, const struct policy_groups *groups,
			  struct profile *p)
{
	static const char *const top[] = {"extends",	     "meta",   "security", "workdir",
					  "filesystem",	     "policy", "network",  "commands",
					  "env_credentials", "pass_env", NULL};
	static const char *const meta_keys[] = {"name", "version", "description", "author", NULL};
	static const char *const sec_keys[] = {"groups",      "capability_elevation", "allow_gpu",
					       "best_effort", "wsl2_proxy_policy",    "shared_tmp",
					       NULL};
	static const char *const wd_keys[] = {"access", NULL};
	static const char *const fs_keys[] = {"allow",
					      "read",
					      "write",
					      "allow_file",
					      "read_file",
					      "write_file",
					      "suppress_save_prompt",
					      NULL};
	static const char *const pol_keys[] = {"exclude_groups", "add_deny_access", "override_deny",
					       NULL};
	static const char *const net_keys[] = {"block",
					       "network_profile",
					       "allow_domain",
					       "credentials",
					       "custom_credentials",
					       "upstream_proxy",
					       "upstream_bypass",
					       "open_port",
					       "listen_port",
					       "proxy_port",
					       NULL};
	static const char *const cmd_keys[] = {"allow", "block", NULL};
	json_t *o;
	int r;

	r = jctx_check_keys(c, root, "", top);
	if (r < 0)
		return r;
	r = jctx_get_string(c, root, "", "extends", &p->extends);
	if (r < 0)
		return r;
	if (p->extends && !p->extends[0])
		return jctx_error(c, -EINVAL, "/extends", false, "'extends' must not be empty");

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "meta", &o)) < 0)
		return r;
	if (o) {
		if ((r = jctx_check_keys(c, o, "/meta", meta_keys)) < 0 ||
		    (r = jctx_get_string(c, o, "/meta", "name", &p->name)) < 0 ||
		    (r = jctx_get_string(c, o, "/meta", "version", &p->meta_version)) < 0 ||
		    (r = jctx_get_string(c, o, "/meta", "description", &p->meta_description)) < 0 ||
		    (r = jctx_get_string(c, o, "/meta", "author", &p->meta_author)) < 0)
			return r;
	}

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "security", &o)) < 0)
		return r;
	if (o) {
		if ((r = jctx_check_keys(c, o, "/security", sec_keys)) < 0 ||
		    (r = jctx_get_strv(c, o, "/security", "groups", false, &p->groups)) < 0 ||
		    (r = jctx_get_bool(c, o, "/security", "capability_elevation",
				       &p->capability_elevation)) < 0 ||
		    (r = jctx_get_bool(c, o, "/security", "allow_gpu", &p->allow_gpu)) < 0 ||
		    (r = jctx_get_bool(c, o, "/security", "best_effort", &p->best_effort)) < 0 ||
		    (r = jctx_get_bool(c, o, "/security", "shared_tmp", &p->shared_tmp)) < 0 ||
		    (r = jctx_get_string(c, o, "/security", "wsl2_proxy_policy",
					 &p->wsl2_proxy_policy)) < 0)
			return r;
		if (groups &&
		    (r = check_group_names(c, groups, "/security/groups", p->groups, false)) < 0)
			return r;
	}

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "workdir", &o)) < 0)
		return r;
	if (o) {
		_cleanup_free_ char *access = NULL;
		if ((r = jctx_check_keys(c, o, "/workdir", wd_keys)) < 0 ||
		    (r = jctx_get_string(c, o, "/workdir", "access", &access)) < 0)
			return r;
		if (access) {
			static const struct {
				const char *s;
				int v;
			} acc[] = {{"none", 0},
				   {"read", FS_READ},
				   {"write", FS_WRITE},
				   {"readwrite", FS_RW}};
			for (size_t i = 0; i < ARRAY_SIZE(acc); i++)
				if (streq(access, acc[i].s))
					p->workdir_access = acc[i].v;
			if (p->workdir_access < 0)
				return jctx_error(
				    c, -EINVAL, "/workdir/access", false,
				    "bad workdir access '%s'; use read, write, readwrite or none",
				    access);
		}
	}

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "filesystem", &o)) < 0)
		return r;
	if (o) {
		if ((r = jctx_check_keys(c, o, "/filesystem", fs_keys)) < 0)
			return r;
		for (unsigned l = 0; l < _FS_LIST_MAX; l++)
			if ((r = jctx_get_strv(c, o, "/filesystem", fs_list_key(l), true,
					       &p->fs[l])) < 0)
				return r;
		if ((r = jctx_get_strv(c, o, "/filesystem", "suppress_save_prompt", true,
				       &p->suppress_save_prompt)) < 0)
			return r;
	}

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "policy", &o)) < 0)
		return r;
	if (o) {
		if ((r = jctx_check_keys(c, o, "/policy", pol_keys)) < 0 ||
		    (r = jctx_get_strv(c, o, "/policy", "exclude_groups", false,
				       &p->exclude_groups)) < 0 ||
		    (r = jctx_get_strv(c, o, "/policy", "add_deny_access", true,
				       &p->add_deny_access)) < 0 ||
		    (r = jctx_get_strv(c, o, "/policy", "override_deny", true, &p->override_deny)) <
			0)
			return r;
		if (groups && (r = check_group_names(c, groups, "/policy/exclude_groups",
						     p->exclude_groups, true)) < 0)
			return r;
	}

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "network", &o)) < 0)
		return r;
	if (o) {
		if ((r = jctx_check_keys(c, o, "/network", net_keys)) < 0 ||
		    (r = jctx_get_bool(c, o, "/network", "block", &p->net_block)) < 0 ||
		    (r = jctx_get_string(c, o, "/network", "network_profile",
					 &p->network_profile)) < 0 ||
		    (r = jctx_get_strv(c, o, "/network", "allow_domain", false, &p->allow_domain)) <
			0 ||
		    (r = jctx_get_strv(c, o, "/network", "credentials", false, &p->credentials)) <
			0 ||
		    (r = jctx_get_string(c, o, "/network", "upstream_proxy", &p->upstream_proxy)) <
			0 ||
		    (r = jctx_get_strv(c, o, "/network", "upstream_bypass", false,
				       &p->upstream_bypass)) < 0 ||
		    (r = jctx_get_ports(c, o, "/network", "open_port", &p->open_ports,
					&p->n_open_ports)) < 0 ||
		    (r = jctx_get_ports(c, o, "/network", "listen_port", &p->listen_ports,
					&p->n_listen_ports)) < 0 ||
		    (r = jctx_get_port(c, o, "/network", "proxy_port", &p->proxy_port)) < 0 ||
		    (r = parse_custom_credentials(c, o, p)) < 0)
			return r;
		if (p->network_profile && !p->network_profile[0])
			return jctx_error(c, -EINVAL, "/network/network_profile", false,
					  "'network/network_profile' must not be empty");
	}

	o = NULL;
	if ((r = jctx_get_object(c, root, "", "commands", &o)) < 0)
		return r;
	if (o) {
		if ((r = jctx_check_keys(c, o, "/commands", cmd_keys)) < 0 ||
		    (r = jctx_get_strv(c, o, "/commands", "allow", false, &p->commands_allow)) <
			0 ||
		    (r = jctx_get_strv(c, o, "/commands", "block", false, &p->commands_block)) < 0)
			return r;
	}

	if ((r = jctx_get_strv(c, root, "", "pass_env", false, &p->pass_env)) < 0)
		return r;
	STRV_FOREACH(n, p->pass_env)
	if (!env_name_valid(*n))
		return jctx_error(c, -EINVAL, "/pass_env", false,
				  "bad environment variable name '%s' in 'pass_env'", *n);
	return parse_env_credentials(c, root, p);
}

int profile_parse(const char *text, size_t len, const char *file, const char *name,
		  const struct policy_groups *groups, struct profile **ret, struct diag *d)
{
	struct jctx c = {file, text, len, d};
	_cleanup_profile_ struct profile *p = NULL;
	json_t *root = NULL;
	int r;

	if (len > PROFILE_MAX_SIZE) {
		diag_set(d, file, 0, 0, "profile is larger than %d bytes; split it with 'extends'",
			 PROFILE_MAX_SIZE);
		return -EFBIG;
	}
	r = jctx_load(&c, &root);
	if (r < 0)
		return r;
	p = profile_new();
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	r = parse_sections(&c, root, groups, p);
	if (r < 0)
		goto out;
	if (!p->name && name && !(p->name = strdup(name))) {
		r = -ENOMEM;
		goto out;
	}
	p->file = strdup(strempty(file));
	p->text = strndup(text, len);
	p->text_len = len;
	if (!p->file || !p->text) {
		r = -ENOMEM;
		goto out;
	}
	*ret = TAKE_PTR(p);
	r = 0;
out:
	json_decref(root);
	return r;
}

/* ---- lookup ---- */

int profile_user_dir(char **ret)
{
	struct expand_vars v;
	int r = expand_vars_init(&v, NULL);
	if (r < 0)
		return r;
	if (!v.home) {
		expand_vars_done(&v);
		return -ENOENT;
	}
	r = path_join(v.home, ".config/nono/profiles", ret);
	expand_vars_done(&v);
	return r;
}

static bool is_path_form(const char *name)
{
	size_t n = strlen(name);
	return strchr(name, '/') || (n >= 5 && streq(name + n - 5, ".json"));
}

static bool valid_profile_name(const char *s)
{
	if (!s[0] || s[0] == '.' || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* Read a regular file of at most PROFILE_MAX_SIZE bytes. */
static int read_bounded(const char *path, char **ret, size_t *ret_len, struct diag *d)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		diag_set(d, path, 0, 0, "cannot open profile: %s", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		diag_set(d, path, 0, 0, "profile is not a regular file");
		return -EINVAL;
	}
	struct strbuf sb = STRBUF_INIT;
	sb.max = PROFILE_MAX_SIZE + 1;
	char buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			strbuf_release(&sb);
			diag_set(d, path, 0, 0, "cannot read profile: %s", strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > PROFILE_MAX_SIZE || strbuf_add(&sb, buf, (size_t)n) < 0) {
			strbuf_release(&sb);
			diag_set(d, path, 0, 0,
				 "profile is larger than %d bytes; split it with 'extends'",
				 PROFILE_MAX_SIZE);
			return -EFBIG;
		}
	}
	*ret_len = sb.len;
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

/*
 * Find and parse name. from is the profile whose extends names it (NULL at the top):
 * relative paths are taken against its directory, and a user profile extending its
 * own name gets the built-in.
 */
static int lookup_and_parse(const char *name, const struct profile *from,
			    const struct policy_groups *groups, struct profile **ret,
			    struct diag *d)
{
	_cleanup_free_ char *text = NULL, *path = NULL, *dir = NULL, *user = NULL;
	size_t len = 0;
	int r;

	if (is_path_form(name)) {
		const char *base = NULL;
		if (from && !from->builtin) {
			dir = strdup(from->file);
			if (!dir)
				return -ENOMEM;
			char *slash = strrchr(dir, '/');
			if (slash)
				*(slash == dir ? slash + 1 : slash) = 0;
			base = dir;
		}
		_cleanup_free_ char *expanded = NULL;
		if (name[0] == '~') {
			struct expand_vars v;
			r = expand_vars_init(&v, NULL);
			if (r < 0)
				return r;
			r = expand_path(name, &v, &expanded, NULL);
			expand_vars_done(&v);
			if (r < 0) {
				diag_set(d, name, 0, 0, "cannot expand profile path '%s'", name);
				return r;
			}
		}
		r = path_canonicalize(expanded ? expanded : name, base, &path, NULL);
		if (r < 0) {
			diag_set(d, name, 0, 0, "bad profile path '%s'", name);
			return r;
		}
		r = read_bounded(path, &text, &len, d);
		if (r < 0)
			return r;
		/* without meta.name, a path profile is called by its file name */
		const char *fname = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		size_t fl = strlen(fname);
		_cleanup_free_ char *stem =
		    strndup(fname, fl > 5 && streq(fname + fl - 5, ".json") ? fl - 5 : fl);
		if (!stem)
			return -ENOMEM;
		return profile_parse(text, len, path, stem, groups, ret, d);
	}

	if (!valid_profile_name(name)) {
		diag_set(d, NULL, 0, 0,
			 "bad profile name '%s'; use letters, digits, '-', '_' and '.', or a path",
			 name);
		return -EINVAL;
	}
	r = profile_user_dir(&dir);
	if (r >= 0) {
		struct strbuf sb = STRBUF_INIT;
		if (strbuf_addf(&sb, "%s/%s.json", dir, name) < 0)
			return -ENOMEM;
		user = strbuf_detach(&sb);
		if (!user)
			return -ENOMEM;
		bool self = from && !from->builtin && streq(from->file, user);
		if (!self && access(user, F_OK) == 0) {
			r = read_bounded(user, &text, &len, d);
			if (r < 0)
				return r;
			return profile_parse(text, len, user, name, groups, ret, d);
		}
	}
	_cleanup_free_ char *key = NULL;
	struct strbuf sb = STRBUF_INIT;
	if (strbuf_addf(&sb, "profiles/%s.json", name) < 0)
		return -ENOMEM;
	key = strbuf_detach(&sb);
	if (!key)
		return -ENOMEM;
	const struct embedded_file *f = embedded_find(key);
	if (!f) {
		diag_set(d, NULL, 0, 0, "profile '%s' not found; see 'nono policy profiles'", name);
		return -ENOENT;
	}
	_cleanup_free_ char *label = NULL;
	sb = (struct strbuf)STRBUF_INIT;
	if (strbuf_addf(&sb, "builtin:%s", name) < 0)
		return -ENOMEM;
	label = strbuf_detach(&sb);
	if (!label)
		return -ENOMEM;
	r = profile_parse(f->data, f->size, label, name, groups, ret, d);
	if (r >= 0)
		(*ret)->builtin = true;
	return r;
}

int profile_load(const char *name, struct profile **ret, struct diag *d)
{
	_cleanup_(policy_groups_freep) struct policy_groups *groups = NULL;
	int r = policy_groups_load(&groups, d);
	if (r < 0)
		return r;
	return lookup_and_parse(name, NULL, groups, ret, d);
}

/* ---- merge ---- */

static int strv_append_unique(char ***dst, char *const *src)
{
	STRV_FOREACH(s, src)
	{
		int r = strv_extend_unique(dst, *s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ports_append(uint16_t **dst, size_t *n, const uint16_t *src, size_t m)
{
	for (size_t i = 0; i < m; i++) {
		bool dup = false;
		for (size_t k = 0; k < *n; k++)
			dup = dup || (*dst)[k] == src[i];
		if (dup)
			continue;
		uint16_t *np = reallocarray(*dst, *n + 1, sizeof(**dst));
		if (!np)
			return -ENOMEM;
		np[(*n)++] = src[i];
		*dst = np;
	}
	return 0;
}

static int replace_str(char **dst, const char *src)
{
	if (!src)
		return 0;
	char *s = strdup(src);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int credential_copy(struct profile_credential *dst, const struct profile_credential *src)
{
	*dst = (struct profile_credential){0};
	if (replace_str(&dst->name, src->name) < 0 ||
	    replace_str(&dst->upstream, src->upstream) < 0 ||
	    replace_str(&dst->credential_key, src->credential_key) < 0 ||
	    replace_str(&dst->inject_header, src->inject_header) < 0 ||
	    replace_str(&dst->credential_format, src->credential_format) < 0 ||
	    replace_str(&dst->env_var, src->env_var) < 0 ||
	    replace_str(&dst->tls_ca, src->tls_ca) < 0)
		goto oom;
	if (src->n_rules) {
		dst->rules = calloc(src->n_rules, sizeof(*dst->rules));
		if (!dst->rules)
			goto oom;
		for (size_t i = 0; i < src->n_rules; i++) {
			dst->n_rules++;
			if (replace_str(&dst->rules[i].method, src->rules[i].method) < 0 ||
			    replace_str(&dst->rules[i].path, src->rules[i].path) < 0)
				goto oom;
		}
	}
	return 0;
oom:
	credential_done(dst);
	return -ENOMEM;
}

/* Apply child over acc (acc holds the merged ancestors). */
static int profile_apply(struct profile *acc, const struct profile *child)
{
	int r;
	if ((r = replace_str(&acc->name, child->name)) < 0 ||
	    (r = replace_str(&acc->meta_version, child->meta_version)) < 0 ||
	    (r = replace_str(&acc->meta_description, child->meta_description)) < 0 ||
	    (r = replace_str(&acc->meta_author, child->meta_author)) < 0 ||
	    (r = replace_str(&acc->extends, child->extends)) < 0 ||
	    (r = replace_str(&acc->wsl2_proxy_policy, child->wsl2_proxy_policy)) < 0 ||
	    (r = replace_str(&acc->network_profile, child->network_profile)) < 0 ||
	    (r = replace_str(&acc->upstream_proxy, child->upstream_proxy)) < 0)
		return r;
	if (child->capability_elevation >= 0)
		acc->capability_elevation = child->capability_elevation;
	if (child->allow_gpu >= 0)
		acc->allow_gpu = child->allow_gpu;
	if (child->best_effort >= 0)
		acc->best_effort = child->best_effort;
	if (child->shared_tmp >= 0)
		acc->shared_tmp = child->shared_tmp;
	if (child->workdir_access >= 0)
		acc->workdir_access = child->workdir_access;
	if (child->net_block >= 0)
		acc->net_block = child->net_block;
	if (child->proxy_port >= 0)
		acc->proxy_port = child->proxy_port;

	if ((r = strv_append_unique(&acc->groups, child->groups)) < 0)
		return r;
	for (unsigned l = 0; l < _FS_LIST_MAX; l++)
		if ((r = strv_append_unique(&acc->fs[l], child->fs[l])) < 0)
			return r;
	if ((r = strv_append_unique(&acc->suppress_save_prompt, child->suppress_save_prompt)) < 0 ||
	    (r = strv_append_unique(&acc->exclude_groups, child->exclude_groups)) < 0 ||
	    (r = strv_append_unique(&acc->add_deny_access, child->add_deny_access)) < 0 ||
	    (r = strv_append_unique(&acc->override_deny, child->override_deny)) < 0 ||
	    (r = strv_append_unique(&acc->allow_domain, child->allow_domain)) < 0 ||
	    (r = strv_append_unique(&acc->credentials, child->credentials)) < 0 ||
	    (r = strv_append_unique(&acc->upstream_bypass, child->upstream_bypass)) < 0 ||
	    (r = strv_append_unique(&acc->commands_allow, child->commands_allow)) < 0 ||
	    (r = strv_append_unique(&acc->commands_block, child->commands_block)) < 0 ||
	    (r = strv_append_unique(&acc->pass_env, child->pass_env)) < 0)
		return r;
	for (char **q = child->env_credentials; q && q[0] && q[1]; q += 2)
		if ((r = add_env_pair(&acc->env_credentials, q[0], q[1])) < 0)
			return r;
	if ((r = ports_append(&acc->open_ports, &acc->n_open_ports, child->open_ports,
			      child->n_open_ports)) < 0 ||
	    (r = ports_append(&acc->listen_ports, &acc->n_listen_ports, child->listen_ports,
			      child->n_listen_ports)) < 0)
		return r;

	for (size_t i = 0; i < child->n_custom_credentials; i++) {
		const struct profile_credential *src = &child->custom_credentials[i];
		struct profile_credential copy;
		if ((r = credential_copy(&copy, src)) < 0)
			return r;
		size_t k;
		for (k = 0; k < acc->n_custom_credentials; k++)
			if (streq(acc->custom_credentials[k].name, src->name))
				break;
		if (k < acc->n_custom_credentials) {
			credential_done(&acc->custom_credentials[k]);
			acc->custom_credentials[k] = copy;
			continue;
		}
		struct profile_credential *np = reallocarray(
		    acc->custom_credentials, acc->n_custom_credentials + 1, sizeof(*np));
		if (!np) {
			credential_done(&copy);
			return -ENOMEM;
		}
		np[acc->n_custom_credentials++] = copy;
		acc->custom_credentials = np;
	}
	return 0;
}

static void profile_array_free(struct profile **chain, size_t n)
{
	for (size_t i = 0; i < n; i++)
		profile_free(chain[i]);
}

int profile_load_merged(const char *name, struct profile **ret, struct diag *d)
{
	_cleanup_(policy_groups_freep) struct policy_groups *groups = NULL;
	_cleanup_profile_ struct profile *acc = NULL;
	struct profile *chain[PROFILE_MAX_DEPTH] = {0};
	size_t n = 0;
	int r = policy_groups_load(&groups, d);
	if (r < 0)
		return r;

	r = lookup_and_parse(name, NULL, groups, &chain[n++], d);
	if (r < 0)
		goto out;
	while (chain[n - 1]->extends) {
		struct profile *child = chain[n - 1];
		struct jctx c = {child->file, child->text, child->text_len, d};
		if (n >= PROFILE_MAX_DEPTH) {
			r = jctx_error(&c, -ELOOP, "/extends", false,
				       "profile inheritance is deeper than %d levels at '%s'; "
				       "flatten the chain",
				       PROFILE_MAX_DEPTH, child->extends);
			goto out;
		}
		struct profile *parent = NULL;
		struct diag inner = {0};
		r = lookup_and_parse(child->extends, child, groups, &parent, &inner);
		if (r < 0) {
			if (r == -ENOENT && !inner.file[0])
				(void)jctx_error(&c, r, "/extends", false,
						 "profile '%s' extends '%s', which is not found; "
						 "see 'nono policy profiles'",
						 strempty(child->name), child->extends);
			else
				*d = inner;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (streq(chain[i]->file, parent->file)) {
				struct strbuf sb = STRBUF_INIT;
				for (size_t k = 0; k < n; k++)
					(void)strbuf_addf(&sb, "'%s' -> ",
							  strempty(chain[k]->name));
				(void)strbuf_addf(&sb, "'%s'", strempty(parent->name));
				r = jctx_error(
				    &c, -ELOOP, "/extends", false,
				    "profile inheritance cycle: %s; remove one 'extends'",
				    sb.buf ? sb.buf : "");
				strbuf_release(&sb);
				profile_free(parent);
				goto out;
			}
		chain[n++] = parent;
	}

	acc = profile_new();
	if (!acc) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = n; i-- > 0;) {
		r = profile_apply(acc, chain[i]);
		if (r < 0)
			goto out;
	}
	free(acc->extends);
	acc->extends = chain[0]->extends ? strdup(chain[0]->extends) : NULL;
	if ((chain[0]->extends && !acc->extends) || replace_str(&acc->file, chain[0]->file) < 0 ||
	    !(acc->text = strndup(chain[0]->text, chain[0]->text_len))) {
		r = -ENOMEM;
		goto out;
	}
	acc->text_len = chain[0]->text_len;
	acc->builtin = chain[0]->builtin;
	if (!acc->name && replace_str(&acc->name, name) < 0) {
		r = -ENOMEM;
		goto out;
	}
	*ret = TAKE_PTR(acc);
	r = 0;
out:
	profile_array_free(chain, n);
	return r;
}

/* ---- listing ---- */

void profile_info_free(struct profile_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].name);
		free(list[i].description);
		free(list[i].file);
	}
	free(list);
}

static int info_add(struct profile_info **list, size_t *n, const char *name, const char *desc,
		    const char *file, bool builtin, bool valid)
{
	struct profile_info *np = reallocarray(*list, *n + 1, sizeof(*np));
	if (!np)
		return -ENOMEM;
	*list = np;
	struct profile_info *i = &np[*n];
	*i = (struct profile_info){.builtin = builtin, .valid = valid};
	i->name = strdup(name);
	i->description = strdup(strempty(desc));
	i->file = strdup(file);
	(*n)++;
	if (!i->name || !i->description || !i->file)
		return -ENOMEM;
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct profile_info *)a)->name,
		      ((const struct profile_info *)b)->name);
}

int profile_list(struct profile_info **ret, size_t *ret_n)
{
	_cleanup_free_ char *dir = NULL;
	struct profile_info *list = NULL;
	size_t n = 0, n_builtin;
	int r = 0;

	EMBEDDED_FOREACH(f)
	{
		const char *rest = startswith(f->name, "profiles/");
		if (!rest || strlen(rest) <= 5)
			continue;
		_cleanup_free_ char *name = strndup(rest, strlen(rest) - 5);
		_cleanup_profile_ struct profile *p = NULL;
		struct diag d = {0};
		if (!name) {
			r = -ENOMEM;
			goto fail;
		}
		bool valid = profile_parse(f->data, f->size, f->name, name, NULL, &p, &d) >= 0;
		char label[256];
		(void)snprintf(label, sizeof(label), "builtin:%s", name);
		r = info_add(&list, &n, name, valid ? p->meta_description : "", label, true, valid);
		if (r < 0)
			goto fail;
	}
	qsort(list, n, sizeof(*list), cmp_info);
	n_builtin = n;

	if (profile_user_dir(&dir) >= 0) {
		DIR *dh = opendir(dir);
		struct dirent *de;
		while (dh && (de = readdir(dh))) {
			size_t l = strlen(de->d_name);
			if (l <= 5 || !streq(de->d_name + l - 5, ".json") || de->d_name[0] == '.')
				continue;
			_cleanup_free_ char *name = strndup(de->d_name, l - 5), *path = NULL;
			_cleanup_free_ char *text = NULL;
			_cleanup_profile_ struct profile *p = NULL;
			struct diag d = {0};
			size_t len;
			if (!name || path_join(dir, de->d_name, &path) < 0) {
				closedir(dh);
				r = -ENOMEM;
				goto fail;
			}
			bool valid = read_bounded(path, &text, &len, &d) >= 0 &&
				     profile_parse(text, len, path, name, NULL, &p, &d) >= 0;
			r = info_add(&list, &n, name, valid ? p->meta_description : "", path, false,
				     valid);
			if (r < 0) {
				closedir(dh);
				goto fail;
			}
			for (size_t i = 0; i < n_builtin; i++)
				if (streq(list[i].name, name))
					list[n - 1].overrides_builtin = true;
		}
		if (dh)
			closedir(dh);
		qsort(list + n_builtin, n - n_builtin, sizeof(*list), cmp_info);
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	profile_info_free(list, n);
	return r;
}
