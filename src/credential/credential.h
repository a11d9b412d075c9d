/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Credential sources. A reference names where a secret lives:
 *   env://VAR                the host environment of nono (not the child's)
 *   file:///abs/path, file://~/path   the whole file, one trailing newline dropped
 *   op://vault/item/field    the 1Password CLI (`op read`), when installed
 *   apple-password://...     macOS only: refused on Linux with a clear message
 *   anything else            an account in the system keyring under service "nono"
 *                            (Secret Service through libsecret, when built with it)
 *
 * Secrets are loaded by the supervisor before the sandbox is applied, live in
 * mlock()ed memory excluded from core dumps, and are wiped by secret_wipe().
 * Nothing here logs a secret; errors name the reference and the source only.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"

struct secret {
	char *data; /* NUL-terminated for convenience; len excludes the NUL */
	size_t len;
};

/* Load ref into *ret. Errors: -ENOENT (not found), -EINVAL (bad reference),
 * -EOPNOTSUPP (source unavailable in this build or on this OS), other -errno. */
int credential_load(const char *ref, struct secret *ret, struct diag *d);

/* Zero and free; leaves *s empty. Accepts an empty secret. */
void secret_wipe(struct secret *s);
#define _cleanup_secret_ __attribute__((cleanup(secret_wipe)))

/* True for env://, file://, op://, apple-password:// references. */
bool credential_ref_is_uri(const char *ref);
