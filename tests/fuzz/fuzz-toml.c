/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the config.toml reader and the [redaction] policy built from it,
 * then redaction of the same bytes as a command argument. Invariants checked: a
 * parsed document is well formed (every entry has its value), an error carries a
 * message, and redaction never yields text containing a secret value that followed
 * "--token ".
 */
#include <stddef.h>
#include <stdint.h>

#include "audit/redact.h"
#include "base/macro.h"
#include "base/strv.h"
#include "base/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_doc *doc = NULL;
	struct diag d = {{0}};

	if (size > 65536)
		return 0;
	if (toml_parse((const char *)data, size, "fuzz.toml", &doc, &d) >= 0) {
		for (size_t i = 0; i < doc->n; i++) {
			const struct toml_entry *e = &doc->entries[i];
			if (!e->key || !e->table || (e->type == TOML_STRING && !e->str) ||
			    (e->type == TOML_ARRAY && !e->arr))
				__builtin_trap();
		}
		doc = toml_doc_free(doc);
	} else if (!d.msg[0])
		__builtin_trap();

	struct redact_policy *p = NULL;
	if (redact_policy_new(&p) < 0)
		return 0;
	(void)redact_policy_load_text(p, (const char *)data, size, "fuzz.toml", &d);
	char *arg = strndup((const char *)data, size);
	char **out = NULL;
	if (arg) {
		char *const argv[] = {(char *)"--token", (char *)"S3CR3T-VALUE", arg, NULL};
		if (redact_argv(p, argv, &out) >= 0) {
			if (!streq(out[1], REDACTED))
				__builtin_trap();
			out = strv_free(out);
		}
		free(arg);
	}
	redact_policy_free(p);
	return 0;
}
