/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The audit trail of `nono run` / `nono shell`: one session record per supervised run
 * (see audit/audit.h), with the command redacted by the default policy extended by
 * [redaction] in ~/.config/nono/config.toml.
 */

#include <pthread.h>
#include <stdbool.h>

#include "audit/audit.h"
#include "base/diag.h"
#include "policy/spec.h"

/* Load the redaction policy and open the session record for cmdv. */
int run_audit_open(const struct sandbox_spec *s, char *const *cmdv, bool integrity,
		   struct audit_log **ret, struct diag *d);

/* After the session's end record: apply the [audit] retention limits of config.toml
 * (audit/retention.h). Problems are warnings: the run itself is over. */
void run_audit_prune(void);

/*
 * The end record (audit_close: written, fsynced, renamed, the directory fsynced) on a
 * thread of its own, so that the supervisor's other clean-up (the session directory, its
 * /tmp, the plan's descriptors: CPU work and inode evictions) runs while the disk syncs.
 * Begin takes a; end joins and returns audit_close's result, d set on failure. Without
 * a thread (pthread_create failed) begin closes in place.
 */
struct run_audit_end {
	struct audit_log *a;
	int status;
	int r;
	bool threaded;
	pthread_t thread;
	struct diag d;
};
void run_audit_end_begin(struct run_audit_end *e, struct audit_log *a, int status);
int run_audit_end_finish(struct run_audit_end *e);
