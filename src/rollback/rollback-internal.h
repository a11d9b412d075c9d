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
