/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: host normalisation, pattern compilation and filter_check.
 * Input: "pattern\nhost\npath". Invariant checked: whatever the allowlist, an
 * always-denied literal or metadata name is never FILTER_ALLOW.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "proxy/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096], norm[HOST_NAME_MAX_LEN + 1];
	char *pat, *host, *path = NULL;
	struct filter *f = NULL;
	bool is_ip;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	pat = buf;
	host = strchr(pat, '\n');
	if (!host)
		return 0;
	*host++ = '\0';
	path = strchr(host, '\n');
	if (path)
		*path++ = '\0';

	char *pats[] = {pat, (char *)"*.com", NULL};
	if (filter_new(pats, &f, NULL) < 0)
		return 0;
	enum filter_verdict v = filter_check(f, host, path);
	(void)filter_match_host(f, host);
	if (host_normalize(host, norm, sizeof(norm), &is_ip) == 0) {
		if (!is_ip && netmatch_name_is_metadata(norm) && v == FILTER_ALLOW)
			__builtin_trap();
		if (is_ip) {
			struct sockaddr_storage ss = {};
			if (inet_pton(AF_INET, norm, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
				ss.ss_family = AF_INET;
			else if (inet_pton(AF_INET6, norm,
					   &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
				ss.ss_family = AF_INET6;
			else
				__builtin_trap(); /* normalised literal must parse back */
			if (addr_is_denied((struct sockaddr *)&ss) && v == FILTER_ALLOW)
				__builtin_trap();
		}
	} else if (v != FILTER_DENY_BAD_HOST)
		__builtin_trap();
	if (path)
		(void)path_glob_match(pat[0] == '/' ? pat : "/**", path);
	filter_free(f);
	return 0;
}
