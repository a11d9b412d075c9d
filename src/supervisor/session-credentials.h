/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Credential injection for `nono run` (the reverse proxy's side in the supervisor):
 * load each active service's key with credential_load() before the sandbox exists,
 * make one phantom token per service, hand both to the proxy configuration, wipe the
 * keys once the proxy process has its copy, and give the child the phantoms and the
 * <SERVICE>_BASE_URL variables.
 */

#include <stdint.h>
#include <stdio.h>

#include "credential/credential.h"
#include "policy/spec.h"
#include "proxy/proxy.h"

struct run_credentials {
	struct proxy_service *services; /* for proxy_config; strings point into the spec */
	size_t n;
	const struct credential_spec **specs; /* the spec each service came from */
	struct secret *secrets;
	char (*phantoms)[65];
	struct proxy_endpoint *rules; /* all services' rules, grouped by service */
	/* Bundled (optional) services whose key did not load, left out of this session:
	 * pairs of service name and reason, for the caller to report. The spec keeps them. */
	char **dropped;
};

/*
 * Load every credential of s->proxy (none: *ret = NULL, 0). A failure names the
 * service and the reference in d, never a value; an optional one (bundled by the
 * network profile) whose key does not load is left out and listed in dropped.
 */
int run_credentials_load(const struct sandbox_spec *s, struct run_credentials **ret,
			 struct diag *d);
/* Wipe and free the keys (the proxy process holds its own copy). Phantoms stay. */
void run_credentials_wipe_secrets(struct run_credentials *c);
/* Wipes everything; accepts NULL, returns NULL. */
struct run_credentials *run_credentials_free(struct run_credentials *c);

/*
 * The child's side: each service's env_var = its phantom, base_url_var =
 * http://127.0.0.1:<port>/<service>; an env://VAR source variable is removed so the
 * real key is not inherited.
 */
int run_credentials_environ(const struct run_credentials *c, uint16_t port, char ***env);

/* "  [credential] ..." and "  [endpoint] ..." lines for --dry-run and `why`. */
void run_credentials_describe(const struct sandbox_spec *s, FILE *out);
