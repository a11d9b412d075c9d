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
 * mlock()ed memory excluded from core dumps (MADV_DONTDUMP) and zeroed in every
 * process forked later (MADV_WIPEONFORK: the sandboxed child and the helpers it forks
 * see zeros), and are wiped by secret_wipe(). The one fork that needs them (the proxy
 * process that injects them) brackets fork() with secret_fork_keep().
 * env://VAR: once read, the value's bytes in nono's own environment are overwritten
 * and VAR is unset, so no later copy of nono's memory or environment carries it (a
 * later load of the same env:// reference gets the copy nono keeps in secret memory).
 * Nothing here logs a secret; errors name the reference and the source only.
 *
 * Every secret is one line of text: NUL, CR and LF inside the value are refused
 * (it goes into environment variables and HTTP headers), and it is never empty.
 *
 * file:// rules: the path must be absolute (or start with ~/ for $HOME); the last
 * component must not be a symbolic link (an agent that can plant one must not be
 * able to redirect nono to another file), the file must be a regular file of at most
 * CREDENTIAL_MAX_SIZE bytes, and not writable by "others" (anyone could swap it).
 * op:// runs `op read REF` found on PATH, without a shell, stdin and stderr on
 * /dev/null, stdout bounded to CREDENTIAL_MAX_SIZE, killed after the timeout; its
 * output never appears in an error.
 * Keyring: attributes service="nono", account=<name> (items stored by upstream nono
 * with username=<name> are found too).
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "credential/credential-keyring.h"
#include "credential/secret.h"

#define CREDENTIAL_OP_TIMEOUT_MS 30000

/* Load ref into *ret. Errors: -ENOENT (not found), -EINVAL (bad reference),
 * -EOPNOTSUPP (source unavailable in this build or on this OS), other -errno. */
int credential_load(const char *ref, struct secret *ret, struct diag *d);

/*
 * The keyring item service=SERVICE, account=ACCOUNT (e.g. the trust signing keys under
 * "nono-trust"), with the rules of the keyring source. Errors as credential_load().
 */
int credential_load_keyring_service(const char *service, const char *account, struct secret *ret,
				    struct diag *d);

/* True for env://, file://, op://, apple-password:// references. */
bool credential_ref_is_uri(const char *ref);

/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool credential_env_name_valid(const char *name);

/* Tests only: the op:// timeout in milliseconds (0 restores the default). */
void credential_set_op_timeout(unsigned ms);
