/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: a profile from arbitrary bytes through the strict parser (jansson,
 * key/type checks, path variable checks) and the JSON-pointer locator, which must
 * cope with text jansson never accepted.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "policy/groups.h"
#include "policy/json-locate.h"
#include "policy/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_groups *groups;
	static const char *const pointers[] = {
	    "",
	    "/meta",
	    "/meta/name",
	    "/filesystem/read/0",
	    "/network/custom_credentials/x",
	    "/network/open_port/1",
	    "/a~1b/~0",
	    "/0",
	    "bad",
	};
	struct diag d = {0};
	char buf[2048];

	if (!groups && policy_groups_load(&groups, &d) < 0)
		__builtin_trap(); /* the embedded policy.json must always parse */

	struct profile *p = NULL;
	int r = profile_parse((const char *)data, size, "fuzz.json", "fuzz", groups, &p, &d);
	if (r < 0) {
		(void)diag_format(&d, buf, sizeof(buf));
		if (p)
			__builtin_trap(); /* no output on failure */
	} else if (!p || !p->name) {
		__builtin_trap();
	}
	profile_free(p);

	for (size_t i = 0; i < sizeof(pointers) / sizeof(pointers[0]); i++) {
		int line = 0, column = 0;
		if (json_locate((const char *)data, size, pointers[i], i & 1, &line, &column) ==
			0 &&
		    (line < 1 || column < 1))
			__builtin_trap();
	}
	return 0;
}
