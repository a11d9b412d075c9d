/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the rollback manifest index decoder (src/rollback/rollback-index.c),
 * which reads ~/.nono/rollback/index/<hash> in place of a manifest's JSON. The input is
 * taken as is, and again with its checksum recomputed (so the fuzzer reaches the entry
 * checks behind it). Invariants: a decoded index holds what the JSON parser would accept
 * (relative paths without "." or "..", sorted and unique, 64-hex hashes for files, targets
 * for symlinks only) and survives an encode and decode unchanged; a failure is -EBADMSG
 * or -ENOMEM.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 104 /* magic 8, key 32, sum 32, 2 x u32, 2 x u64, 2 x u32 */
#define KEY_AT 8
#define SUM_AT 40

static void check(const struct rb_manifest *m, const uint8_t *in, size_t size)
{
	char key[65];
	for (size_t i = 0; i < m->n_roots; i++) {
		const struct rb_root *root = &m->roots[i];
		if (root->path[0] != '/')
			__builtin_trap();
		for (size_t j = 0; j < root->n_entries; j++) {
			const struct rb_entry *e = &root->entries[j];
			if (!path_is_plain_relative(e->path) || e->type >= RB_TYPE_MAX || e->mode > 07777)
				__builtin_trap();
			if (j > 0 && strcmp(root->entries[j - 1].path, e->path) >= 0)
				__builtin_trap();
			if ((e->type == RB_FILE && !rb_hash_valid(e->hash)) ||
			    (e->type == RB_SYMLINK) != (e->target != NULL) ||
			    (e->target && !e->target[0]))
				__builtin_trap();
		}
	}
	/* What was decoded encodes, and decodes again to the same entries. */
	void *out = NULL;
	size_t len = 0;
	struct rb_manifest *again = NULL;
	rb_hex(in + KEY_AT, 32, key);
	if (rb_index_encode(m, key, &out, &len) < 0 || rb_index_decode(out, len, key, &again) < 0)
		__builtin_trap();
	if (again->n_roots != m->n_roots || again->filter.all != m->filter.all)
		__builtin_trap();
	for (size_t i = 0; i < m->n_roots; i++) {
		const struct rb_root *a = &m->roots[i], *b = &again->roots[i];
		if (a->n_entries != b->n_entries || strcmp(a->path, b->path) != 0)
			__builtin_trap();
		for (size_t j = 0; j < a->n_entries; j++) {
			const struct rb_entry *x = &a->entries[j], *y = &b->entries[j];
			if (strcmp(x->path, y->path) != 0 || x->type != y->type ||
			    x->mode != y->mode || x->size != y->size || x->ino != y->ino ||
			    x->mtime_ns != y->mtime_ns || strcmp(x->hash, y->hash) != 0 ||
			    (x->target && strcmp(x->target, y->target) != 0))
				__builtin_trap();
		}
	}
	rb_manifest_free(again);
	free(out);
	(void)size;
}

static void one(const uint8_t *data, size_t size)
{
	struct rb_manifest *m = NULL;
	int r = rb_index_decode(data, size, NULL, &m);
	if (r < 0) {
		if ((r != -EBADMSG && r != -ENOMEM) || m)
			__builtin_trap();
		return;
	}
	check(m, data, size);
	rb_manifest_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	one(data, size);
	if (size < HEADER)
		return 0;
	uint8_t *copy = malloc(size);
	unsigned l = 32;
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (EVP_Digest(copy + HEADER, size - HEADER, copy + SUM_AT, &l, EVP_sha256(), NULL) == 1)
		one(copy, size);
	free(copy);
	return 0;
}
