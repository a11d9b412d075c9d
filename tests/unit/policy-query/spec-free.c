/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only stand-in for policy's sandbox_spec_free, used while the policy
 * component is not in this tree (meson picks policy_dep when it is).
 */
#include "base/strv.h"
#include "policy/spec.h"

static void free_origin(struct origin *o)
{
	free(o->name);
}

struct sandbox_spec *sandbox_spec_free(struct sandbox_spec *s)
{
	if (!s)
		return NULL;
	free(s->profile_name);
	free(s->workdir);
	for (size_t i = 0; i < s->n_grants; i++) {
		free(s->grants[i].path);
		free_origin(&s->grants[i].origin);
	}
	free(s->grants);
	for (size_t i = 0; i < s->n_denies; i++) {
		free(s->denies[i].path);
		free(s->denies[i].group);
		free(s->denies[i].category);
	}
	free(s->denies);
	free(s->open_ports);
	free(s->listen_ports);
	for (size_t i = 0; i < s->n_unix_grants; i++) {
		free(s->unix_grants[i].path);
		free_origin(&s->unix_grants[i].origin);
	}
	free(s->unix_grants);
	strv_free(s->blocked_commands);
	strv_free(s->allowed_commands);
	free(s->proxy.network_profile);
	strv_free(s->proxy.allow_domains);
	for (size_t i = 0; i < s->proxy.n_credentials; i++) {
		struct credential_spec *c = &s->proxy.credentials[i];
		free(c->name);
		free(c->upstream);
		free(c->credential_key);
		free(c->inject_header);
		free(c->format);
		free(c->env_var);
		free(c->base_url_var);
	}
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
	free(s);
	return NULL;
}

void sandbox_spec_freep(struct sandbox_spec **s)
{
	*s = sandbox_spec_free(*s);
}
