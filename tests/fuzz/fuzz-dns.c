/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: DNS answer decoding in nono learn (src/learn/dns.c), which reads
 * responses the traced program received. Input: one DNS message in an exactly sized
 * buffer. Invariants checked: at most 64 addresses are added, each a numeric
 * address mapped to a non-empty name that dns_map_lookup() finds again; errors are
 * -EBADMSG (or -ENOMEM).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/macro.h"
#include "learn/learn-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_map m = {0};
	uint8_t *msg = malloc(size ? size : 1);

	if (!msg)
		return 0;
	memcpy(msg, data, size);
	int r = dns_decode_answer(msg, size, &m);
	free(msg);
	if (r < 0 && r != -EBADMSG && r != -ENOMEM)
		__builtin_trap();
	if (r > 64)
		__builtin_trap();
	for (size_t i = 0; i < m.n; i++) {
		unsigned char bin[16];
		const char *a = m.items[i].addr;
		if (memchr(a, '\0', sizeof(m.items[i].addr)) == NULL)
			__builtin_trap();
		if (inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
			__builtin_trap();
		if (!m.items[i].name || !m.items[i].name[0] || !dns_map_lookup(&m, a))
			__builtin_trap();
	}
	dns_map_done(&m);
	return 0;
}
