/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Between credential.c and the keyring back end (credential-keyring.c). */

#include <stddef.h>

#include "base/diag.h"

/*
 * Look account up in the Secret Service under service "nono". On success *ret is a
 * back-end-owned NUL-terminated value of *ret_len bytes: release it with
 * credential_keyring_free(). -ENOENT when no such item, -EOPNOTSUPP when there is no
 * keyring to ask (no D-Bus session, no Secret Service, built without libsecret).
 */
int credential_keyring_lookup(const char *account, char **ret, size_t *ret_len, struct diag *d);
/* The same under another service (e.g. "nono-trust" for signing keys). */
int credential_keyring_lookup_in(const char *service, const char *account, char **ret,
				 size_t *ret_len, struct diag *d);
void credential_keyring_free(char *value, size_t len);

/* len + 1 bytes of secret memory (locked, not dumped); free with secret_buf_free(). */
char *secret_buf_alloc(size_t len);
void secret_buf_free(char *p, size_t len);
