/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void rb_hex(const unsigned char *d, size_t n, char *out);
/* prefix + 16 random hex digits. */
int rb_tmp_name(char *buf, size_t n, const char *prefix);
/* Reads in to EOF, hashing; copies to out unless out < 0. */
int rb_copy_hash(int in, int out, char ret_hash[65], uint64_t *ret_size);
bool rb_hash_valid(const char *h);
int rb_entry_cmp(const void *a, const void *b);
/* openat2 beneath rootfd, no symlink anywhere on the path, the last name included:
 * what restore resolves every target's parent with. rel "" is the root itself. */
int rb_open_beneath(int rootfd, const char *rel, uint64_t flags);

struct rb_manifest;
/* The index (rollback-index.c): a binary cache of a manifest body named by its hash key.
 * decode: key NULL skips the key check (fuzzing); -EBADMSG for anything malformed. */
int rb_index_decode(const void *buf, size_t len, const char *key, struct rb_manifest **ret);
int rb_index_encode(const struct rb_manifest *m, const char *key, void **ret, size_t *ret_len);
int rb_index_load(int index_dirfd, const char *key, struct rb_manifest **ret);
int rb_index_store(int index_dirfd, const char *key, const struct rb_manifest *m);

/* A chain of string blocks (rb_snapshot's entry paths and targets): one allocation per
 * 64 KiB of strings rather than one per string. */
struct rb_block {
	struct rb_block *next;
	size_t used, cap;
	char data[];
};
/* A copy of s[0..len) NUL-terminated in *chain's head block (a new one when full). */
char *rb_block_strndup(struct rb_block **chain, const char *s, size_t len);
/* Moves the blocks of *from onto *to. */
void rb_block_splice(struct rb_block **to, struct rb_block **from);
struct rb_block *rb_block_free(struct rb_block *chain);
