/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the rollback manifest parser (src/rollback/rollback-manifest.c), which
 * reads ~/.nono/rollback/sessions/<id>/NNN.json before a restore writes into the grants.
 * Invariants checked: a parsed manifest holds only relative paths without "." or ".."
 * components, sorted and unique, files with a 64-hex hash, symlinks with a target; a
 * failure is -EBADMSG or -ENOMEM; every lookup finds what the manifest holds.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rollback/rollback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (!p[0] || p[0] == '/' || strstr(p, "//") || !strcmp(p, ".") || !strcmp(p, "..") ||
	    !strncmp(p, "./", 2) || !strncmp(p, "../", 3) || strstr(p, "/./") || strstr(p, "/../"))
		__builtin_trap();
	size_t l = strlen(p);
	if (p[l - 1] == '/' || (l >= 2 && !strcmp(p + l - 2, "/.")) ||
	    (l >= 3 && !strcmp(p + l - 3, "/..")))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rb_manifest *m = NULL;
	if (size > 65536)
		return 0;
	int r = rb_manifest_parse((const char *)data, size, &m);
	if (r < 0) {
		if ((r != -EBADMSG && r != -ENOMEM) || m)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < m->n_roots; i++) {
		const struct rb_root *root = &m->roots[i];
		if (root->path[0] != '/')
			__builtin_trap();
		for (size_t j = 0; j < root->n_entries; j++) {
			const struct rb_entry *e = &root->entries[j];
			check_path(e->path);
			if (j > 0 && strcmp(root->entries[j - 1].path, e->path) >= 0)
				__builtin_trap();
			if ((e->type == RB_FILE && strlen(e->hash) != 64) ||
			    (e->type == RB_SYMLINK && (!e->target || !e->target[0])) ||
			    e->type >= RB_TYPE_MAX || e->mode > 07777)
				__builtin_trap();
			if (rb_root_find(root, e->path) != e)
				__builtin_trap();
		}
	}
	rb_manifest_free(m);
	return 0;
}
