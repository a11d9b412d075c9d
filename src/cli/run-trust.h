/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The pre-exec trust scan of `nono run` / `shell` / `wrap`: load the user-level
 * (~/.config/nono/trust-policy.json) and project-level (./trust-policy.json) trust
 * policies, scan the working directory for instruction files and verify them. With
 * no policy at all nothing is scanned. Prints its own messages.
 * Returns 0 to go on, with *ret_verified the absolute paths of the verified files
 * (to be granted read-only), or -1 when the run must stop (enforcement deny).
 */

#include <stdbool.h>

int run_trust_preexec(char *const *skip_dirs, bool override, char ***ret_verified);

/* What the last run_trust_preexec() found, for the audit record (taken; NULL when no
 * policy applied): {override, enforcement, verified: [...], failed: [{path, reason}]}. */
struct json_t;
struct json_t *run_trust_take_summary(void);

struct trust_policy;
/* The merged user + project policy (anchoring above), *ret NULL when there is none.
 * 0, or -1 after printing the error. */
int run_trust_load_policy(struct trust_policy **ret);
