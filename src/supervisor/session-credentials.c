/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/session-credentials.h"

#include <errno.h>

#include "base/macro.h"
#include "base/strv.h"
#include "supervisor/session-environ.h"
#include "proxy/token.h"

int run_credentials_load(const struct sandbox_spec *s, struct run_credentials **ret, struct diag *d)
{
	const struct proxy_spec *px = &s->proxy;
	struct run_credentials *c;
	int r;

	*ret = NULL;
	if (px->n_credentials == 0)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->services = calloc(px->n_credentials, sizeof(*c->services));
	c->specs = calloc(px->n_credentials, sizeof(*c->specs));
	c->secrets = calloc(px->n_credentials, sizeof(*c->secrets));
	c->phantoms = calloc(px->n_credentials, sizeof(*c->phantoms));
	c->rules = calloc(px->n_endpoints ? px->n_endpoints : 1, sizeof(*c->rules));
	if (!c->services || !c->specs || !c->secrets || !c->phantoms || !c->rules) {
		r = -ENOMEM;
		goto fail;
	}
	size_t k = 0;
	for (size_t j = 0; j < px->n_credentials; j++) {
		const struct credential_spec *cs = &px->credentials[j];
		struct diag cd = {{0}};
		size_t i = c->n;
		c->specs[i] = cs;
		r = credential_load(cs->credential_key, &c->secrets[i], &cd);
		if (r < 0 && cs->optional) {
			/* A network profile's bundled key that does not load: run without it. */
			if (strv_extend(&c->dropped, cs->name) < 0 ||
			    strv_extend(&c->dropped, cd.msg[0] ? cd.msg : strerror(-r)) < 0) {
				r = -ENOMEM;
				goto fail;
			}
			secret_wipe(&c->secrets[i]);
			continue;
		}
		if (r < 0) {
			diag_set(d, "--credential", 0, 0,
				 "cannot load the credential of service '%s' from '%s': %s",
				 cs->name, cs->credential_key, cd.msg[0] ? cd.msg : strerror(-r));
			goto fail;
		}
		c->n++;
		r = token_generate(c->phantoms[i], sizeof(c->phantoms[i]));
		if (r < 0)
			goto fail;
		struct proxy_service *ps = &c->services[i];
		*ps = (struct proxy_service){
		    .name = cs->name,
		    .upstream = cs->upstream,
		    .header = cs->inject_header,
		    .format = cs->format,
		    .phantom = c->phantoms[i],
		    .secret = c->secrets[i].data,
		    .secret_len = c->secrets[i].len,
		    .rules = c->rules + k,
		    .tls_ca = cs->tls_ca,
		};
		for (size_t e = 0; e < px->n_endpoints; e++)
			if (streq(px->endpoints[e].service, cs->name)) {
				c->rules[k++] = (struct proxy_endpoint){px->endpoints[e].method,
									px->endpoints[e].path};
				ps->n_rules++;
			}
	}
	*ret = c;
	return 0;
fail:
	run_credentials_free(c);
	return r;
}

void run_credentials_wipe_secrets(struct run_credentials *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		secret_wipe(&c->secrets[i]);
		c->services[i].secret = NULL;
		c->services[i].secret_len = 0;
	}
}

struct run_credentials *run_credentials_free(struct run_credentials *c)
{
	if (!c)
		return NULL;
	run_credentials_wipe_secrets(c);
	if (c->phantoms)
		explicit_bzero(c->phantoms, c->n * sizeof(*c->phantoms));
	free(c->services);
	free(c->specs);
	free(c->secrets);
	free(c->phantoms);
	free(c->rules);
	strv_free(c->dropped);
	free(c);
	return NULL;
}

static void env_unset(char **env, const char *name)
{
	size_t k = 0, l = strlen(name);
	for (size_t i = 0; env && env[i]; i++) {
		if (strncmp(env[i], name, l) == 0 && env[i][l] == '=')
			free(env[i]);
		else
			env[k++] = env[i];
	}
	if (env)
		env[k] = NULL;
}

int run_credentials_environ(const struct run_credentials *c, uint16_t port, char ***env)
{
	char buf[512];
	int r = 0;

	for (size_t i = 0; c && i < c->n; i++) {
		const char *src = startswith(c->specs[i]->credential_key, "env://");
		if (src)
			env_unset(*env, src);
	}
	for (size_t i = 0; c && r >= 0 && i < c->n; i++) {
		const struct credential_spec *cs = c->specs[i];
		(void)snprintf(buf, sizeof(buf), "%s=%s", cs->env_var, c->phantoms[i]);
		r = env_set(env, buf);
		if (r >= 0 && cs->base_url_var) {
			(void)snprintf(buf, sizeof(buf), "%s=http://127.0.0.1:%u/%s",
				       cs->base_url_var, port, cs->name);
			r = env_set(env, buf);
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

void run_credentials_describe(const struct sandbox_spec *s, FILE *out)
{
	const struct proxy_spec *px = &s->proxy;
	for (size_t i = 0; i < px->n_credentials; i++) {
		const struct credential_spec *c = &px->credentials[i];
		(void)fprintf(out,
			      "  [credential] %s -> %s (key injected as %s by the proxy; the "
			      "sandbox gets a phantom token in %s and %s)\n",
			      c->name, strempty(c->upstream), strempty(c->inject_header),
			      strempty(c->env_var),
			      c->base_url_var ? c->base_url_var : "no base URL");
	}
	for (size_t i = 0; i < px->n_endpoints; i++)
		(void)fprintf(out, "  [endpoint] %s %s %s\n", px->endpoints[i].service,
			      px->endpoints[i].method, px->endpoints[i].path);
}
