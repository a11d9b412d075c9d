/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Secret memory (secret.c): each secret in its own anonymous mapping, locked where
 * RLIMIT_MEMLOCK allows, left out of core dumps and zeroed in forked children
 * (MADV_WIPEONFORK), wiped when freed. Used by every source of credential.c and by the
 * keyring helper; nothing here knows where a secret comes from.
 */

#include <stdbool.h>
#include <stddef.h>

#define CREDENTIAL_MAX_SIZE (64 * 1024) /* the largest secret any source may hold */

struct secret {
	char *data; /* NUL-terminated for convenience; len excludes the NUL */
	size_t len;
};

/* Zero and free; leaves *s empty. Accepts an empty secret. Only for secrets made by
 * credential_load() or secret_from_buf() (they live in their own mapping). */
void secret_wipe(struct secret *s);
#define _cleanup_secret_ __attribute__((cleanup(secret_wipe)))

/* keep: the next fork() copies *s into the child (MADV_KEEPONFORK); !keep: it is
 * zeroed in every child forked later (the default). 0 or -errno; empty s: 0. */
int secret_fork_keep(const struct secret *s, bool keep);

/* Copy len bytes into protected secret memory (NUL-terminated). -ENOMEM on failure. */
int secret_from_buf(const void *buf, size_t len, struct secret *ret);

/* len + 1 bytes of secret memory; free with secret_buf_free(). NULL on failure. */
char *secret_buf_alloc(size_t len);
void secret_buf_free(char *p, size_t len);
