/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `nono prune`: removing ended sessions' state directories (~/.nono/sessions/<id>/).
 * Only sessions whose record says exited, or crashed (the supervisor is gone), are
 * candidates; a running one never is. Limits:
 *
 *   --older-than DURATION   only sessions that ended (crashed: started) that long ago
 *   --keep N                the N newest ended sessions stay
 *
 * Defaults come from [sessions] in ~/.config/nono/config.toml:
 *
 *   [sessions]
 *   keep = 10
 *   older_than = "7d"
 *
 * and without them: keep 0, any age (every ended session goes).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "supervisor/session-state.h"

#define SESSION_DURATION_MAX (100LL * 366 * 24 * 3600)

/* A duration: decimal digits and an optional unit, s (seconds, the default), m, h, d
 * or w; at most SESSION_DURATION_MAX seconds. 0 or -EINVAL. */
int session_parse_duration(const char *s, int64_t *ret_seconds);

struct session_prune_opts {
	int64_t older_than; /* seconds; 0: any age */
	uint64_t keep;	    /* the newest ended sessions kept */
};

/* The [sessions] limits of the config file at path into *o (fields it does not set stay
 * as they are); the file or table absent is no error. Unknown keys and wrong types are
 * -EINVAL with file:line:column in d. */
int session_prune_limits_load(const char *path, struct session_prune_opts *o, struct diag *d);

/* Which of v (oldest first, as session_records_load() returns them) to remove at time
 * now: sel[i] set for each. Returns how many. */
size_t session_prune_select(const struct session_record *v, size_t n,
			    const struct session_prune_opts *o, int64_t now, bool *sel);

/*
 * Remove HOME/.nono/sessions/<id> and everything in it. No symlink is followed on the
 * way (.nono, sessions and <id> are opened with RESOLVE_NO_SYMLINKS) nor inside (a
 * symlink is removed, never entered), and no other filesystem is entered. 0 or -errno.
 */
int session_remove(const char *home, const char *id);
