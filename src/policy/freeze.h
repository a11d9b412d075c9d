/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The steps that complete a spec at the end of policy_resolve() (freeze.c). */

#include "base/diag.h"
#include "policy/policy.h"
#include "policy/profile.h"
#include "policy/spec.h"

/*
 * Proxy mode: validate every host pattern (profile, flags, network profile) with the
 * proxy's filter, and expand the network profile into proxy.allow_domains (its groups'
 * hosts first, then the domains), as the proxy will enforce them.
 */
int freeze_network(struct sandbox_spec *s, const struct policy_input *in, const struct profile *p,
		   struct diag *d);
/* Canonicalise the verified instruction files into s->readonly_files. */
int freeze_readonly_files(struct sandbox_spec *s, char *const *files, struct diag *d);
/* Create the profile's missing state directories and files; their grants then exist. */
int freeze_state_dirs(struct sandbox_spec *s, char ***notes, char ***warnings, struct diag *d);
