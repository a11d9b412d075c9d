/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Retention of the audit trail: [audit] in ~/.config/nono/config.toml
 *
 *   [audit]
 *   max_sessions = 200    # keep the newest 200 sessions
 *   max_age_days = 90     # remove sessions that started more than 90 days ago
 *   max_size_mb = 500     # keep the newest sessions within 500 MiB in all
 *
 * Each limit is optional (absent: none). A session is removed whole (its directory),
 * never in part: each session's hash chain starts from its own genesis, so removing
 * one never touches the chain of a kept one. A live session (its recording nono holds
 * a lock on the directory, see audit_open) is never removed and counts as kept.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/diag.h"

struct audit_limits {
	long long max_sessions; /* < 0: no limit */
	long long max_age_s;
	long long max_bytes;
};

/* The limits from [audit] of the config file at path; none when it or the table is
 * absent. Unknown keys and wrong types are -EINVAL with file:line:column in d. */
int audit_limits_load(const char *path, struct audit_limits *ret, struct diag *d);
bool audit_limits_any(const struct audit_limits *l);

struct audit_prune_item {
	const char *id;
	const char *why; /* "max_sessions", "max_age_days" or "max_size_mb" */
	uint64_t bytes;
};

/*
 * Apply the limits to home's audit root, newest session first. cb (may be NULL) is
 * called for every session removed (or, with dry_run, that would be). ret_kept: the
 * sessions left. A missing audit root is nothing to do. Symbolic links are never
 * followed; entries that are not session directories are left alone.
 */
int audit_prune(const char *home, const struct audit_limits *l, bool dry_run,
		void (*cb)(void *ud, const struct audit_prune_item *it), void *ud, size_t *ret_kept,
		struct diag *d);
