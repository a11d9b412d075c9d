/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Signed audit attestations (--audit-sign-key REF, nono audit verify
 * --public-key-file F). The key's text is loaded before the session into secret
 * memory (wiped in every fork: the child, helpers and the proxy never hold it) and used
 * once the session record is final: an in-toto statement (predicate
 * https://nono.sh/attestation/audit-session/alpha) over the Merkle root and the
 * redacted session context, in a keyed DSSE/Sigstore bundle, written as
 * audit-attestation.bundle beside session.json, with a summary in session.json.
 */

#include "credential/credential.h"

/* Load and check REF (as `nono trust` keys: file://, env://, op://, key id). 0 or -1
 * after printing. */
int run_attest_load(const char *ref, struct secret *ret);
/* Sign the finished session in dir with key (consumed). 0 or -1 after printing. */
int run_attest_sign(const char *dir, struct secret *key);
/*
 * Check dir's attestation: its statement against session.json (session id, Merkle
 * root, chain head, event count) and, with pubkey_file, its signature by that key.
 * Prints the outcome. 0: verified, or no attestation and no pin; -1: failed.
 */
int audit_attest_verify(const char *dir, const char *pubkey_file);
