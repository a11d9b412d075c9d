/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The audit trail of `nono run` / `nono shell`: one session record per supervised run
 * (see audit/audit.h), with the command redacted by the default policy extended by
 * [redaction] in ~/.config/nono/config.toml.
 */

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
