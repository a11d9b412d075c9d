/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Merkle root of a snapshot (--audit-integrity), as nono's formats describe it:
 * leaves in path order, leaf = SHA-256(0x00 || path || content hash), node =
 * SHA-256(0x01 || left || right), an odd node promoted, no leaves: SHA-256(""). Paths
 * are absolute (root + '/' + entry), content hashes the raw 32 bytes. Files, and (our
 * addition: a swapped link is a change of state) symlinks with the SHA-256 of the target.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/macro.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

struct leaf {
	char *path;
	const struct rb_entry *e;
};

static int leaf_cmp(const void *a, const void *b)
{
	return strcmp(((const struct leaf *)a)->path, ((const struct leaf *)b)->path);
}

static int digest(const void *p1, size_t n1, const void *p2, size_t n2, const void *p3, size_t n3,
		  unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, p1, n1) == 1 && (!n2 || EVP_DigestUpdate(c, p2, n2) == 1) &&
		 (!n3 || EVP_DigestUpdate(c, p3, n3) == 1) && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EIO;
}

static int unhex32(const char *h, unsigned char out[32])
{
	for (size_t i = 0; i < 32; i++) {
		unsigned v = 0;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (unsigned char)v;
	}
	return 0;
}

int rb_merkle_root(const struct rb_manifest *m, char ret[65], uint64_t *ret_leaves)
{
	size_t n = 0, k = 0;
	int r = 0;
	for (size_t i = 0; i < m->n_roots; i++)
		for (size_t j = 0; j < m->roots[i].n_entries; j++)
			n += m->roots[i].entries[j].type == RB_FILE ||
			     m->roots[i].entries[j].type == RB_SYMLINK;
	_cleanup_free_ struct leaf *leaves = calloc(n ? n : 1, sizeof(*leaves));
	_cleanup_free_ unsigned char(*level)[32] = calloc(n ? n : 1, 32);
	if (!leaves || !level)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_roots && r >= 0; i++)
		for (size_t j = 0; j < m->roots[i].n_entries; j++) {
			const struct rb_entry *e = &m->roots[i].entries[j];
			if (e->type != RB_FILE && e->type != RB_SYMLINK)
				continue;
			if (asprintf(&leaves[k].path, "%s/%s", m->roots[i].path, e->path) < 0) {
				r = -ENOMEM;
				break;
			}
			leaves[k++].e = e;
		}
	if (r >= 0 && k)
		qsort(leaves, k, sizeof(*leaves), leaf_cmp);
	for (size_t i = 0; i < k && r >= 0; i++) {
		unsigned char h[32];
		const struct rb_entry *e = leaves[i].e;
		r = e->type == RB_FILE ? unhex32(e->hash, h)
				       : digest(e->target, strlen(e->target), NULL, 0, NULL, 0, h);
		if (r >= 0)
			r = digest("\0", 1, leaves[i].path, strlen(leaves[i].path), h, 32,
				   level[i]);
	}
	for (size_t i = 0; i < k; i++)
		free(leaves[i].path);
	if (r < 0)
		return r;
	unsigned char root[32];
	if (k == 0)
		r = digest("", 0, NULL, 0, NULL, 0, root);
	else {
		for (size_t w = k; w > 1;) {
			size_t o = 0;
			for (size_t i = 0; i + 1 < w && r >= 0; i += 2)
				r = digest("\1", 1, level[i], 32, level[i + 1], 32, level[o++]);
			if (w % 2)
				memcpy(level[o++], level[w - 1], 32); /* promoted */
			w = o;
		}
		memcpy(root, level[0], 32);
	}
	if (r < 0)
		return r;
	rb_hex(root, 32, ret);
	if (ret_leaves)
		*ret_leaves = k;
	return 0;
}
