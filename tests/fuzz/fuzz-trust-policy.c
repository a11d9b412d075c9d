/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the trust-policy.json parser, merging, and the include glob
 * matcher (the input's first line as a pattern against its second as a path).
 * Invariants: a refused policy carries a message; a parsed one respects its bounds and
 * merges into an empty policy without changing its enforcement's strictness.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "base/strv.h"
#include "trust/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {{0}};
	struct trust_policy *p = NULL;

	if (size > 1 << 20)
		return 0;
	if (trust_policy_parse((const char *)data, size, "fuzz.json", &p, &d) >= 0) {
		if (strv_length(p->includes) > TRUST_MAX_INCLUDES ||
		    strv_length(p->files) > TRUST_MAX_FILES ||
		    p->n_publishers > TRUST_MAX_PUBLISHERS || p->enforcement >= _TRUST_ENFORCE_MAX)
			__builtin_trap();
		struct trust_policy *m = calloc(1, sizeof(*m));
		if (m && trust_policy_merge(m, p, true) >= 0 &&
		    (m->n_publishers != p->n_publishers || m->n_blocked != p->n_blocked ||
		     (p->enforcement_set && m->enforcement != p->enforcement)))
			__builtin_trap();
		trust_policy_free(m);
		p = trust_policy_free(p);
	} else if (!d.msg[0])
		__builtin_trap();

	char *s = strndup((const char *)data, size);
	if (s) {
		char *nl = strchr(s, '\n');
		if (nl) {
			*nl = 0;
			(void)trust_glob_match(s, nl + 1);
		}
		free(s);
	}
	return 0;
}
