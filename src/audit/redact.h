/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Redaction of command arguments before they are persisted (session.json, audit
 * events). The default policy replaces with "[REDACTED]":
 *   - the value of a secret-bearing flag: "--token X", "--token=X" (flags in the
 *     list, and any --long-flag whose name contains a secret word such as "token",
 *     "secret", "password", "api-key")
 *   - header-like arguments "Authorization: ...", "X-Api-Key: ...", "Cookie: ..."
 *   - URL userinfo passwords (https://user:PASS@host) and the values of secret query
 *     or fragment keys (key, token, sig, access_token, ...), and the same keys in bare
 *     "k=v&k2=v2" / "API_TOKEN=v" arguments
 * ~/.config/nono/config.toml [redaction] extends it (see README, Redaction):
 *   extra_flags, extra_headers, extra_query_keys      arrays of strings
 *   unsafe_redaction_overrides = true + allow_unredacted_defaults = [names of
 *   defaults to stop redacting]
 * Unknown keys, wrong types and malformed names are errors with file:line:column.
 */

#include <jansson.h>
#include <stdbool.h>

#include "base/diag.h"

#define REDACTED "[REDACTED]"

struct redact_policy;

/* The default policy. */
int redact_policy_new(struct redact_policy **ret);
/* Merge [redaction] of a config.toml file into p; a missing file is not an error. */
int redact_policy_load_config(struct redact_policy *p, const char *path, struct diag *d);
/* Merge [redaction] from a config text (tests, fuzzing). */
int redact_policy_load_text(struct redact_policy *p, const char *buf, size_t len, const char *file,
			    struct diag *d);
struct redact_policy *redact_policy_free(struct redact_policy *p);
void redact_policy_freep(struct redact_policy **p);
#define _cleanup_redact_policy_ __attribute__((cleanup(redact_policy_freep)))

/* A redacted copy of argv (NULL-terminated) in *ret (a strv). */
int redact_argv(const struct redact_policy *p, char *const *argv, char ***ret);
/* One argument on its own (no look-behind at a preceding flag). */
int redact_text(const struct redact_policy *p, const char *arg, char **ret);

/* What differs from the default ({"extra_flags": [...], ...}), or NULL when nothing. */
json_t *redact_policy_diff(const struct redact_policy *p);
