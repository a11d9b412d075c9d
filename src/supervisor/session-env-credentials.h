/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * --env-credential / --env-credential-map / profile env_credentials: load each secret
 * before the sandbox is applied and put exactly those variables into the child's
 * environment. The supervisor's copies are wiped right after the fork.
 */

#include "base/diag.h"
#include "policy/spec.h"

/*
 * Load every env credential of s and set VAR=value in *env (replacing an inherited
 * VAR; an env:// source variable itself is removed). Variable names are checked: portable, not a
 * loader or NONO_ variable the sandbox strips or sets itself. Errors name the reference and the
 * flag, never a value.
 */
int run_env_credentials_load(const struct sandbox_spec *s, char ***env, struct diag *d);

/* Overwrite the values of those variables in env with zeros, in place. */
void run_env_credentials_wipe(const struct sandbox_spec *s, char **env);
