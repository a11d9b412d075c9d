/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * data/network-policy.json: named groups of host patterns and the network profiles
 * built from them. Parsed strictly (unknown or duplicate keys, dangling group names
 * and bad host patterns are errors carrying the JSON path or line:column).
 */

#include <stddef.h>

#include "base/diag.h"

struct net_policy;

/* Parse a buffer (not NUL-terminated). name labels diagnostics. */
int net_policy_parse(const char *buf, size_t len, const char *name, struct net_policy **ret,
		     struct diag *d);
struct net_policy *net_policy_free(struct net_policy *p);
void net_policy_freep(struct net_policy **p);
#define _cleanup_net_policy_ __attribute__((cleanup(net_policy_freep)))

/*
 * Expand a profile into its host patterns (deduplicated, group order) and bundled
 * credential names (either may be an empty vector, never NULL). -ENOENT when the
 * profile does not exist.
 */
int net_policy_resolve(const struct net_policy *p, const char *profile, char ***ret_hosts,
		       char ***ret_credentials);

/* Host patterns of one group. -ENOENT when absent. */
int net_policy_group_hosts(const struct net_policy *p, const char *group, char ***ret_hosts);

/* Names of all profiles, sorted. */
int net_policy_profile_names(const struct net_policy *p, char ***ret);
