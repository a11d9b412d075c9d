/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Signed instruction files (`nono trust`): ECDSA P-256 keys, in-toto Statement v1
 * wrapped in a DSSE envelope inside a Sigstore bundle v0.3 (JSON), keyed (a public-key
 * hint, no transparency-log entries). Formats: research/nono-formats.md §10.5 and §11.
 *
 * Keys: the private key is PKCS#8 DER, stored base64 on one line (so every credential
 * source, which carries one line of text, can hold it); the key id is the hex SHA-256 of
 * the DER SubjectPublicKeyInfo. Private key text is read through credential_load() into
 * secret memory and decoded in place there; nothing here keeps a copy elsewhere except
 * OpenSSL's own key object, freed (and cleared) by trust_key_free().
 *
 * Library code: nothing logs; user-fixable errors fill a struct diag naming the file.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"

#define TRUST_BUNDLE_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define TRUST_PAYLOAD_TYPE	"application/vnd.in-toto+json"
#define TRUST_STATEMENT_TYPE	"https://in-toto.io/Statement/v1"
#define TRUST_PRED_INSTRUCTION	"https://nono.sh/attestation/instruction-file/v1"
#define TRUST_PRED_MULTI	"https://nono.sh/attestation/multi-file/v1"
#define TRUST_PRED_AUDIT	"https://nono.sh/attestation/audit-session/alpha"
#define TRUST_PRED_POLICY	"https://nono.sh/attestation/trust-policy/v1"
#define TRUST_MULTI_BUNDLE	".nono-trust.bundle"
#define TRUST_MAX_SUBJECTS	1000
#define TRUST_MAX_BUNDLE_SIZE	(4 * 1024 * 1024)
#define TRUST_MAX_PUBKEY_FILE	(16 * 1024)
#define TRUST_KEY_ID_LEN	64
#define TRUST_KEYSTORE_SERVICE	"nono-trust"

/* ---- base64 (RFC 4648) and DSSE pre-authentication encoding ---- */

/* Standard alphabet with padding; NULL on ENOMEM. */
char *trust_b64_encode(const void *p, size_t n);
/*
 * Strict decode of n characters of in (standard or URL-safe alphabet, never mixed;
 * padding optional but, when present, exact; no whitespace, no trailing bits set).
 * out needs n / 4 * 3 + 3 bytes and may be the same buffer as in (decoding in place).
 * -EINVAL for anything that is not canonical base64.
 */
int trust_b64_decode(const char *in, size_t n, uint8_t *out, size_t *ret_len);

/* PAE(type, body) = "DSSEv1 " len(type) " " type " " len(body) " " body. */
int trust_pae(const char *type, const void *body, size_t n, uint8_t **ret, size_t *ret_len);

void trust_hex(const uint8_t *p, size_t n, char *out /* 2n + 1 */);

/* ---- keys ---- */

struct trust_key;

struct trust_key *trust_key_free(struct trust_key *k);
static inline void trust_key_freep(struct trust_key **k)
{
	*k = trust_key_free(*k);
}
#define _cleanup_trust_key_ __attribute__((cleanup(trust_key_freep)))

int trust_key_generate(struct trust_key **ret);
/* PKCS#8 DER of an EC P-256 private key; -EINVAL otherwise. */
int trust_key_from_pkcs8(const uint8_t *der, size_t n, struct trust_key **ret);
/* DER SubjectPublicKeyInfo of an EC P-256 key; -EINVAL otherwise. */
int trust_key_from_spki(const uint8_t *der, size_t n, struct trust_key **ret);
/* A public key as text: PEM "PUBLIC KEY" or base64 DER SPKI (surrounding space allowed). */
int trust_key_from_public_text(const char *text, size_t n, struct trust_key **ret);
/*
 * The private key that a credential reference names (env://, file://, op://; a bare key
 * id or keystore://ID: the Secret Service item service "nono-trust", account ID): its
 * value is base64 PKCS#8 DER.
 */
int trust_key_load(const char *ref, struct trust_key **ret, struct diag *d);
/*
 * The same in two steps, for a key loaded before a session and used after it: the
 * reference's text into secret memory (wiped in every later fork), checked to be a key;
 * then the key from it (the secret is consumed: decoded in place, then wiped).
 */
struct secret;
int trust_key_load_secret(const char *ref, struct secret *ret, struct diag *d);
int trust_key_from_secret(struct secret *s, struct trust_key **ret);
/* Public key file (PEM or base64 DER), not a symlink, at most TRUST_MAX_PUBKEY_FILE. */
int trust_key_load_public_file(const char *path, struct trust_key **ret, struct diag *d);

bool trust_key_has_private(const struct trust_key *k);
const char *trust_key_id(const struct trust_key *k);
/* Base64 DER SPKI (one line), or PEM (with_pem). Heap string. */
int trust_key_export_public(const struct trust_key *k, bool pem, char **ret);
/*
 * Write the private key (base64 PKCS#8 + "\n", mode 0600) at path and its public key
 * (PEM) at path.pub. Refuses to replace an existing file unless force (-EEXIST); never
 * follows a symlink at either name.
 */
int trust_key_write_file(const struct trust_key *k, const char *path, bool force, struct diag *d);
/* The private key as base64 PKCS#8 DER (one line) in secret memory. */
int trust_key_export_private(const struct trust_key *k, struct secret *ret);

/* ECDSA-SHA256 over msg, DER signature. */
int trust_key_sign(const struct trust_key *k, const void *msg, size_t n, uint8_t **ret,
		   size_t *ret_len);
/* 0 when sig verifies, -EBADMSG when it does not. */
int trust_key_verify(const struct trust_key *k, const void *msg, size_t n, const uint8_t *sig,
		     size_t sig_len);

/* ---- statements and bundles ---- */

struct trust_subject {
	char *name; /* relative path, trust_path_valid() */
	uint8_t sha256[32];
};

struct trust_bundle {
	char *predicate_type;
	char *hint;	     /* verificationMaterial.publicKey.hint */
	char *signer_key_id; /* predicate.signer.key_id */
	struct trust_subject *subjects;
	size_t n_subjects;
	uint8_t *payload; /* the signed statement bytes */
	size_t payload_len;
	uint8_t *sig;
	size_t sig_len;
	struct json_t *predicate; /* TRUST_PRED_AUDIT only: the whole predicate object */
};

struct trust_bundle *trust_bundle_free(struct trust_bundle *b);
static inline void trust_bundle_freep(struct trust_bundle **b)
{
	*b = trust_bundle_free(*b);
}
#define _cleanup_trust_bundle_ __attribute__((cleanup(trust_bundle_freep)))

/* Build and sign a bundle for subjects (1..TRUST_MAX_SUBJECTS); JSON text in *ret. */
int trust_bundle_sign(const struct trust_key *k, const char *predicate_type,
		      const struct trust_subject *subs, size_t n, char **ret);
/* The same with the predicate given (borrowed; TRUST_PRED_AUDIT), not {version, signer}. */
int trust_bundle_sign_predicate(const struct trust_key *k, const char *predicate_type,
				const struct trust_subject *subs, size_t n,
				struct json_t *predicate, char **ret);
/*
 * Parse a bundle strictly (unknown keys, wrong types, wrong media/payload/statement
 * types, not exactly one signature, bad subjects are errors naming file and the JSON
 * path). Does not check the signature.
 */
int trust_bundle_parse(const char *text, size_t n, const char *file, struct trust_bundle **ret,
		       struct diag *d);
/* Signature over the PAE of the payload with k; the hint must be k's id. */
int trust_bundle_verify(const struct trust_bundle *b, const struct trust_key *k, const char *file,
			struct diag *d);
const struct trust_subject *trust_bundle_find(const struct trust_bundle *b, const char *name);

/* A subject name: relative, no empty, "." or ".." components, no control characters. */
bool trust_path_valid(const char *name);
/*
 * SHA-256 of the regular file rel beneath dirfd, opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS): a symlink anywhere on the way or a ".." escape is -ELOOP/-EXDEV.
 */
int trust_hash_file(int dirfd, const char *rel, uint8_t out[32]);
/* Read a whole regular file (not following a final symlink), at most max bytes. */
int trust_read_file(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);

/* ---- trust policy (trust-policy.json) ---- */

/* Ordered by strictness: merging keeps the larger. */
enum trust_enforcement {
	TRUST_ENFORCE_AUDIT = 0,
	TRUST_ENFORCE_WARN,
	TRUST_ENFORCE_DENY,
	_TRUST_ENFORCE_MAX,
};

#define TRUST_POLICY_FILE     "trust-policy.json"
#define TRUST_MAX_INCLUDES    100
#define TRUST_MAX_FILES	      1000
#define TRUST_MAX_PUBLISHERS  100
#define TRUST_MAX_BLOCKED     10000
#define TRUST_MAX_POLICY_SIZE (1024 * 1024)
#define TRUST_MAX_GLOB_STARS  8

struct trust_publisher {
	char *name;
	char *key_id;	       /* hex SHA-256 of the SPKI */
	struct trust_key *key; /* from public_key; NULL: key id only */
};

struct trust_policy {
	char **includes; /* globs relative to the scanned tree */
	/* Literal (glob-free) includes that must match a file: the scan fails on an absent
	 * one (it could appear mid-session). Set by the parser; nono run drops the user-level
	 * policy's, which apply to every project, before merging. */
	char **required;
	char **files; /* absolute or ~/ paths */
	struct trust_publisher *publishers;
	size_t n_publishers;
	uint8_t (*blocked)[32]; /* blocklisted file digests */
	size_t n_blocked;
	char **blocked_publishers; /* key ids or names */
	enum trust_enforcement enforcement;
	bool enforcement_set; /* the document named it */
};

struct trust_policy *trust_policy_free(struct trust_policy *p);
static inline void trust_policy_freep(struct trust_policy **p)
{
	*p = trust_policy_free(*p);
}
#define _cleanup_trust_policy_ __attribute__((cleanup(trust_policy_freep)))

const char *trust_enforcement_name(enum trust_enforcement e);

/*
 * Parse one trust-policy.json strictly: unknown or duplicate keys, wrong types, bad
 * digests or keys, and exceeded bounds are errors carrying file:line:column.
 */
int trust_policy_parse(const char *text, size_t n, const char *file, struct trust_policy **ret,
		       struct diag *d);
/* Read and parse path (not following a final symlink). -ENOENT when absent. */
int trust_policy_load_file(const char *path, struct trust_policy **ret, struct diag *d);
/*
 * Merge src into dst: includes, files, blocklists unioned, enforcement the stricter;
 * publishers too when with_publishers.
 */
int trust_policy_merge(struct trust_policy *dst, const struct trust_policy *src,
		       bool with_publishers);
/* The publisher whose key id is key_id, not blocklisted; NULL when none. */
const struct trust_publisher *trust_policy_publisher(const struct trust_policy *p,
						     const char *key_id);
bool trust_policy_blocked(const struct trust_policy *p, const uint8_t sha256[32]);
/* A path relative to the tree matches an include glob ('*' within a component, '**' any
 * number of components; a pattern without '/' matches the last component anywhere; a
 * leading '/' anchors at the top: only nono's own callers use that, policies cannot). */
bool trust_glob_match(const char *pattern, const char *rel);

/* ---- pre-exec scan ---- */

struct trust_finding {
	char *path;   /* relative to the tree (or absolute, for policy 'files') */
	char *reason; /* why it failed; NULL when verified */
	char *publisher;
};

struct trust_scan {
	struct trust_finding *found; /* every instruction file, verified or not */
	size_t n_found;
	size_t n_failed;
	size_t n_entries; /* directory entries walked */
};

struct trust_scan *trust_scan_free(struct trust_scan *s);
static inline void trust_scan_freep(struct trust_scan **s)
{
	*s = trust_scan_free(*s);
}
#define _cleanup_trust_scan_ __attribute__((cleanup(trust_scan_freep)))

/* Directory names never descended into (generated trees), NULL-terminated. */
extern const char *const trust_heavy_dirs[];

/*
 * Walk the tree at root (not honouring .gitignore, never following symlinks, pruning
 * trust_heavy_dirs and skip_dirs by exact name), and check every file matching the
 * policy's includes, and every policy 'files' entry: blocklist, then bundle (FILE.bundle
 * beside it or root/.nono-trust.bundle), signature by a policy publisher, subject
 * digest. Literal include patterns that match nothing are failures too. Fails only on
 * errors of the walk itself (-errno, d filled); verification failures are findings.
 */
int trust_scan_tree(const struct trust_policy *p, const char *root, char *const *skip_dirs,
		    struct trust_scan **ret, struct diag *d);
