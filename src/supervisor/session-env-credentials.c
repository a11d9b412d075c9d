/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/session-env-credentials.h"

#include <errno.h>

#include "base/macro.h"
#include "base/strv.h"
#include "supervisor/session-environ.h"
#include "credential/credential.h"
#include "sandbox/sandbox.h"

/* True when the sandbox strips VAR as a loader hook (LD_*, ...). A credential on the
 * ambient list (GITHUB_TOKEN) may be a target: nono sets it after stripping. */
static bool var_stripped(const char *var)
{
	return sandbox_env_name_unsafe(var);
}

/* Drop NAME=... from env unless some env credential writes NAME itself. */
static void env_unset_source(const struct sandbox_spec *s, char **env, const char *name)
{
	for (size_t i = 0; i < s->n_env_credentials; i++)
		if (streq(s->env_credentials[i].env_var, name))
			return;
	size_t n = strlen(name), k = 0;
	for (size_t i = 0; env && env[i]; i++) {
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			(void)erase_and_free(env[i], strlen(env[i]));
		else
			env[k++] = env[i];
	}
	if (env)
		env[k] = NULL;
}

int run_env_credentials_load(const struct sandbox_spec *s, char ***env, struct diag *d)
{
	for (size_t i = 0; i < s->n_env_credentials; i++) {
		const struct env_credential *ec = &s->env_credentials[i];
		if (!credential_env_name_valid(ec->env_var)) {
			diag_set(d, "--env-credential", 0, 0,
				 "bad environment variable name '%s' for credential '%s': use "
				 "letters, digits and '_', not starting with a digit",
				 ec->env_var, ec->ref);
			return -EINVAL;
		}
		if (startswith(ec->env_var, "NONO_") || var_stripped(ec->env_var)) {
			diag_set(d, "--env-credential", 0, 0,
				 "credential '%s' cannot go into '%s': nono sets or strips that "
				 "variable for the sandboxed command",
				 ec->ref, ec->env_var);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < s->n_env_credentials; i++) {
		const struct env_credential *ec = &s->env_credentials[i];
		_cleanup_secret_ struct secret sec = {0};
		struct diag cd = {{0}};
		int r = credential_load(ec->ref, &sec, &cd);
		if (r < 0) {
			diag_set(d, "--env-credential", 0, 0, "cannot load %s",
				 cd.msg[0] ? cd.msg : ec->ref);
			return r;
		}
		size_t vl = strlen(ec->env_var), n = vl + 1 + sec.len + 1;
		char *kv = malloc(n);
		if (!kv)
			return -ENOMEM;
		memcpy(kv, ec->env_var, vl);
		kv[vl] = '=';
		memcpy(kv + vl + 1, sec.data, sec.len + 1);
		r = env_set(env, kv);
		(void)erase_and_free(kv, n);
		if (r < 0)
			return r;
	}
	/* The secret reaches the child under the requested name only: an env:// source
	 * variable inherited from nono's own environment is removed. */
	for (size_t i = 0; i < s->n_env_credentials; i++)
		if (startswith(s->env_credentials[i].ref, "env://"))
			env_unset_source(s, *env, s->env_credentials[i].ref + strlen("env://"));
	return 0;
}

void run_env_credentials_wipe(const struct sandbox_spec *s, char **env)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_env_credentials; i++) {
		size_t vl = strlen(s->env_credentials[i].env_var);
		for (char **e = env; e && *e; e++)
			if (strncmp(*e, s->env_credentials[i].env_var, vl) == 0 && (*e)[vl] == '=')
				explicit_bzero(*e + vl + 1, strlen(*e + vl + 1));
	}
}
