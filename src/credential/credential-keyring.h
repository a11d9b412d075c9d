/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The system keyring (credential-keyring.c): the freedesktop Secret Service through
 * libsecret, asked in a short-lived helper process. credential.c's keyring source and
 * `nono trust keygen` use it.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "credential/secret.h"

/* True when this build can read the system keyring (built with libsecret). */
bool credential_have_keyring(void);

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

/*
 * Store value (one line) in the system keyring as service=SERVICE, account=ACCOUNT with
 * label, in the default collection, replacing an item with the same attributes.
 * -EOPNOTSUPP without a keyring (no session bus, built without libsecret).
 */
int credential_keyring_store(const char *service, const char *account, const char *label,
			     const struct secret *value, struct diag *d);
