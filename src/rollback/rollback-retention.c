/* SPDX-License-Identifier: Apache-2.0 */
/* [rollback] in config.toml: max_sessions, max_storage_gb, and max_storage_mb for a cap
 * finer than a gigabyte (TOML integers only here); with both, the smaller applies. */
#include <errno.h>

#include "base/macro.h"
#include "base/toml.h"
#include "rollback/rollback.h"

int rb_limits_load(const char *path, struct rb_limits *ret, struct diag *d)
{
	struct rb_limits l = {RB_DEFAULT_MAX_SESSIONS, RB_DEFAULT_MAX_STORAGE_GB << 30};
	long long gb = 0, mb = 0;
	_cleanup_toml_ struct toml_doc *doc = NULL;
	int r = toml_parse_file(path, &doc, d);

	if (r == -ENOENT) {
		*ret = l;
		return 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < doc->n; i++) {
		const struct toml_entry *e = &doc->entries[i];
		if (!streq(e->table, "rollback"))
			continue;
		if (!streq(e->key, "max_sessions") && !streq(e->key, "max_storage_gb") &&
		    !streq(e->key, "max_storage_mb")) {
			diag_set(d, path, e->line, e->column,
				 "[rollback] %s: unknown key (known: max_sessions, max_storage_gb, "
				 "max_storage_mb)",
				 e->key);
			return -EINVAL;
		}
		if (e->type != TOML_INTEGER || e->i < 1) {
			diag_set(d, path, e->line, e->column,
				 "[rollback] %s: expected a positive integer", e->key);
			return -EINVAL;
		}
		if (streq(e->key, "max_sessions"))
			l.max_sessions = e->i;
		else if (streq(e->key, "max_storage_gb"))
			gb = e->i << 30; /* TOML_INT_MAX << 30 fits */
		else
			mb = e->i << 20;
	}
	if (gb || mb)
		l.max_storage_bytes = !gb ? mb : !mb ? gb : gb < mb ? gb : mb;
	*ret = l;
	return 0;
}
