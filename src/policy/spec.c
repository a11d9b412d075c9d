/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/spec.h"

#include "base/macro.h"
#include "base/strv.h"

static void origin_done(struct origin *o)
{
	free(o->name);
	o->name = NULL;
}

static void credential_spec_done(struct credential_spec *c)
{
	free(c->name);
	free(c->upstream);
	free(c->credential_key);
	free(c->inject_header);
	free(c->format);
	free(c->env_var);
	free(c->base_url_var);
	free(c->tls_ca);
}

void sandbox_spec_drop_credential(struct sandbox_spec *s, size_t i)
{
	struct proxy_spec *px = &s->proxy;
	if (i >= px->n_credentials)
		return;
	const char *name = px->credentials[i].name;
	size_t o = 0;
	for (size_t k = 0; k < px->n_endpoints; k++) {
		struct endpoint_rule *e = &px->endpoints[k];
		if (name && e->service && streq(e->service, name)) {
			free(e->service);
			free(e->method);
			free(e->path);
		} else
			px->endpoints[o++] = *e;
	}
	px->n_endpoints = o;
	credential_spec_done(&px->credentials[i]);
	memmove(&px->credentials[i], &px->credentials[i + 1],
		(px->n_credentials - i - 1) * sizeof(*px->credentials));
	px->n_credentials--;
}

struct sandbox_spec *sandbox_spec_free(struct sandbox_spec *s)
{
	if (!s)
		return NULL;
	free(s->profile_name);
	free(s->workdir);
	for (size_t i = 0; i < s->n_grants; i++) {
		free(s->grants[i].path);
		origin_done(&s->grants[i].origin);
	}
	free(s->grants);
	for (char **f = s->readonly_files; f && *f; f++)
		free(*f);
	free(s->readonly_files);
	for (size_t i = 0; i < s->n_denies; i++) {
		free(s->denies[i].path);
		free(s->denies[i].group);
		free(s->denies[i].category);
		free(s->denies[i].name);
	}
	free(s->denies);
	free(s->open_ports);
	free(s->listen_ports);
	for (size_t i = 0; i < s->n_unix_grants; i++) {
		free(s->unix_grants[i].path);
		origin_done(&s->unix_grants[i].origin);
	}
	free(s->unix_grants);
	strv_free(s->blocked_commands);
	strv_free(s->allowed_commands);

	free(s->proxy.network_profile);
	strv_free(s->proxy.allow_domains);
	for (size_t i = 0; i < s->proxy.n_credentials; i++)
		credential_spec_done(&s->proxy.credentials[i]);
	free(s->proxy.credentials);
	for (size_t i = 0; i < s->proxy.n_endpoints; i++) {
		free(s->proxy.endpoints[i].service);
		free(s->proxy.endpoints[i].method);
		free(s->proxy.endpoints[i].path);
	}
	free(s->proxy.endpoints);
	free(s->proxy.upstream_proxy);
	strv_free(s->proxy.upstream_bypass);

	for (size_t i = 0; i < s->n_env_credentials; i++) {
		free(s->env_credentials[i].ref);
		free(s->env_credentials[i].env_var);
	}
	free(s->env_credentials);
	strv_free(s->pass_env);
	strv_free(s->suppress_save_prompt);
	free(s);
	return NULL;
}

void sandbox_spec_freep(struct sandbox_spec **s)
{
	*s = sandbox_spec_free(*s);
}

const char *net_mode_to_string(enum net_mode m)
{
	static const char *const table[_NET_MODE_MAX] = {
	    [NET_ALLOW] = "allow",
	    [NET_BLOCK] = "block",
	    [NET_PROXY] = "proxy",
	};
	if ((unsigned)m >= _NET_MODE_MAX)
		return NULL;
	return table[m];
}

const char *origin_kind_to_string(enum origin_kind k)
{
	static const char *const table[_ORIGIN_KIND_MAX] = {
	    [ORIGIN_CLI] = "cli",     [ORIGIN_ENV] = "env",	    [ORIGIN_PROFILE] = "profile",
	    [ORIGIN_GROUP] = "group", [ORIGIN_WORKDIR] = "workdir", [ORIGIN_IMPLIED] = "implied",
	};
	if ((unsigned)k >= _ORIGIN_KIND_MAX)
		return NULL;
	return table[k];
}
