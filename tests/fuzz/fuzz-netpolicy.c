/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: network-policy parsing (src/proxy/netpolicy.c, the format of
 * data/network-policy.json), then every query on what parsed. Input: the JSON, in an
 * exactly sized buffer (the parser takes a span). Invariants checked: a successful
 * parse resolves every profile it lists, with non-NULL vectors; a failed one sets
 * the diagnostic.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/diag.h"
#include "base/macro.h"
#include "base/strv.h"
#include "proxy/netpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_policy *p = NULL;
	struct diag d = {0};
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int r = net_policy_parse(buf, size, "fuzz.json", &p, &d);
	free(buf);
	if (r < 0) {
		if (r != -ENOMEM && !d.msg[0])
			__builtin_trap();
		return 0;
	}
	char **names = NULL;
	if (net_policy_profile_names(p, &names) == 0) {
		for (size_t i = 0; names[i]; i++) {
			char **hosts = NULL, **creds = NULL;
			int k = net_policy_resolve(p, names[i], &hosts, &creds);
			if (k == 0 && (!hosts || !creds))
				__builtin_trap();
			if (k == -ENOENT)
				__builtin_trap(); /* listed, so it exists */
			hosts = strv_free(hosts);
			creds = strv_free(creds);
			(void)net_policy_group_hosts(p, names[i], &hosts);
			strv_free(hosts);
		}
		strv_free(names);
	}
	char **hosts = NULL;
	(void)net_policy_group_hosts(p, "dev", &hosts);
	strv_free(hosts);
	net_policy_free(p);
	return 0;
}
