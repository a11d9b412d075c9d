/* SPDX-License-Identifier: Apache-2.0 */
/*
 * in-toto Statement v1 in a DSSE envelope in a Sigstore bundle v0.3 (JSON, keyed: a
 * public-key hint, no transparency-log entries), built and parsed strictly.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/macro.h"
#include "trust/trust.h"

#define _cleanup_json_ _cleanup_(json_decrefp) /* jansson's own helper */

struct trust_bundle *trust_bundle_free(struct trust_bundle *b)
{
	if (!b)
		return NULL;
	free(b->predicate_type);
	free(b->hint);
	free(b->signer_key_id);
	for (size_t i = 0; i < b->n_subjects; i++)
		free(b->subjects[i].name);
	free(b->subjects);
	free(b->payload);
	free(b->sig);
	json_decref(b->predicate);
	free(b);
	return NULL;
}

bool trust_path_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= 4096 || name[0] == '/')
		return false;
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return false;
	const char *s = name;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!e)
			return true;
		s = e + 1;
	}
}

static bool hex_sha256(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + (size_t)j];
			int x = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;
			if (x < 0)
				return false; /* lowercase only: one spelling per digest */
			v = v << 4 | x;
		}
		out[i] = (uint8_t)v;
	}
	return true;
}

static char *statement_json(const char *key_id, const char *predicate_type,
			    const struct trust_subject *subs, size_t n, json_t *predicate)
{
	_cleanup_json_ json_t *subjects = json_array();
	if (!subjects)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		trust_hex(subs[i].sha256, 32, hex);
		if (json_array_append_new(subjects,
					  json_pack("{s:s, s:{s:s}}", "name", subs[i].name,
						    "digest", "sha256", hex)) < 0)
			return NULL;
	}
	_cleanup_json_ json_t *st =
	    predicate
		? json_pack("{s:s, s:O, s:s, s:O}", "_type", TRUST_STATEMENT_TYPE, "subject",
			    subjects, "predicateType", predicate_type, "predicate", predicate)
		: json_pack("{s:s, s:O, s:s, s:{s:i, s:{s:s, s:s}}}", "_type", TRUST_STATEMENT_TYPE,
			    "subject", subjects, "predicateType", predicate_type, "predicate",
			    "version", 1, "signer", "kind", "keyed", "key_id", key_id);
	return st ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
}

int trust_bundle_sign(const struct trust_key *k, const char *predicate_type,
		      const struct trust_subject *subs, size_t n, char **ret)
{
	return trust_bundle_sign_predicate(k, predicate_type, subs, n, NULL, ret);
}

int trust_bundle_sign_predicate(const struct trust_key *k, const char *predicate_type,
				const struct trust_subject *subs, size_t n, json_t *predicate,
				char **ret)
{
	if (n == 0 || n > TRUST_MAX_SUBJECTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if (!trust_path_valid(subs[i].name))
			return -EINVAL;
	_cleanup_free_ char *payload =
	    statement_json(trust_key_id(k), predicate_type, subs, n, predicate);
	if (!payload)
		return -ENOMEM;
	size_t pl = strlen(payload);
	_cleanup_free_ uint8_t *pae = NULL, *sig = NULL;
	size_t pael = 0, sl = 0;
	int r = trust_pae(TRUST_PAYLOAD_TYPE, payload, pl, &pae, &pael);
	if (r < 0)
		return r;
	r = trust_key_sign(k, pae, pael, &sig, &sl);
	if (r < 0)
		return r;
	_cleanup_free_ char *p64 = trust_b64_encode(payload, pl), *s64 = trust_b64_encode(sig, sl);
	if (!p64 || !s64)
		return -ENOMEM;
	_cleanup_json_ json_t *b =
	    json_pack("{s:s, s:{s:{s:s}, s:[]}, s:{s:s, s:s, s:[{s:s, s:s}]}}", "mediaType",
		      TRUST_BUNDLE_MEDIA_TYPE, "verificationMaterial", "publicKey", "hint",
		      trust_key_id(k), "tlogEntries", "dsseEnvelope", "payload", p64, "payloadType",
		      TRUST_PAYLOAD_TYPE, "signatures", "sig", s64, "keyid", "");
	if (!b)
		return -ENOMEM;
	char *out = json_dumps(b, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* Decode a base64 JSON string value into a fresh buffer. */
static int b64_field(const char *s, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(s);
	_cleanup_free_ uint8_t *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return -ENOMEM;
	int r = trust_b64_decode(s, n, out, ret_len);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}

#define BAD(...)                                                                                   \
	({                                                                                         \
		diag_set(d, file, 0, 0, __VA_ARGS__);                                              \
		-EBADMSG;                                                                          \
	})

static int parse_statement(struct trust_bundle *b, const char *file, struct diag *d)
{
	json_error_t je;
	_cleanup_json_ json_t *st =
	    json_loadb((const char *)b->payload, b->payload_len, JSON_REJECT_DUPLICATES, &je);
	json_t *subjects = NULL, *pred = NULL;
	const char *type = NULL, *ptype = NULL, *kind = NULL, *key_id = NULL;
	json_int_t version = 0;
	if (!st)
		return BAD("the DSSE payload is not JSON: %s", je.text);
	if (json_unpack_ex(st, &je, JSON_STRICT, "{s:s, s:o, s:s, s:o}", "_type", &type, "subject",
			   &subjects, "predicateType", &ptype, "predicate", &pred) < 0)
		return BAD("statement: %s", je.text);
	if (!streq(type, TRUST_STATEMENT_TYPE))
		return BAD("statement: _type is '%.100s', not '%s'", type, TRUST_STATEMENT_TYPE);
	bool audit = streq(ptype, TRUST_PRED_AUDIT);
	if (!audit && !streq(ptype, TRUST_PRED_INSTRUCTION) && !streq(ptype, TRUST_PRED_MULTI) &&
	    !streq(ptype, TRUST_PRED_POLICY))
		return BAD("statement: unknown predicateType '%.200s'", ptype);
	/* The audit-session predicate carries the session context: its other fields are the
	 * caller's to check (b->predicate). */
	if (json_unpack_ex(pred, &je, audit ? 0 : JSON_STRICT, "{s:I, s:{s:s, s:s}}", "version",
			   &version, "signer", "kind", &kind, "key_id", &key_id) < 0)
		return BAD("statement predicate: %s", je.text);
	if (audit)
		b->predicate = json_incref(pred);
	if (version != 1 || !streq(kind, "keyed"))
		return BAD("statement predicate: version 1 and signer kind 'keyed' expected");
	if (!json_is_array(subjects) || json_array_size(subjects) == 0 ||
	    json_array_size(subjects) > TRUST_MAX_SUBJECTS)
		return BAD("statement: subject must be an array of 1 to %d entries",
			   TRUST_MAX_SUBJECTS);
	if (!(b->predicate_type = strdup(ptype)) || !(b->signer_key_id = strdup(key_id)))
		return -ENOMEM;
	size_t n = json_array_size(subjects);
	if (!(b->subjects = calloc(n, sizeof(*b->subjects))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *name = NULL, *hex = NULL;
		struct trust_subject *s = &b->subjects[i];
		if (json_unpack_ex(json_array_get(subjects, i), &je, JSON_STRICT, "{s:s, s:{s:s}}",
				   "name", &name, "digest", "sha256", &hex) < 0)
			return BAD("statement subject %zu: %s", i, je.text);
		if (!trust_path_valid(name))
			return BAD("statement subject %zu: '%.200s' is not a relative path inside "
				   "the tree (no '..', '.', absolute or empty components)",
				   i, name);
		if (!hex_sha256(hex, s->sha256))
			return BAD("statement subject %zu: digest is not 64 lowercase hex digits",
				   i);
		for (size_t j = 0; j < i; j++)
			if (streq(b->subjects[j].name, name))
				return BAD("statement: subject '%.200s' appears twice", name);
		if (!(s->name = strdup(name)))
			return -ENOMEM;
		b->n_subjects = i + 1;
	}
	return 0;
}

int trust_bundle_parse(const char *text, size_t n, const char *file, struct trust_bundle **ret,
		       struct diag *d)
{
	json_error_t je;
	if (n > TRUST_MAX_BUNDLE_SIZE)
		return BAD("bundle larger than %d bytes", TRUST_MAX_BUNDLE_SIZE);
	_cleanup_json_ json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		diag_set(d, file, je.line, je.column, "bundle is not valid JSON: %s", je.text);
		return -EBADMSG;
	}
	const char *media = NULL, *hint = NULL, *payload = NULL, *ptype = NULL;
	json_t *tlog = NULL, *sigs = NULL;
	if (json_unpack_ex(j, &je, JSON_STRICT, "{s:s, s:{s:{s:s}, s?o}, s:{s:s, s:s, s:o}}",
			   "mediaType", &media, "verificationMaterial", "publicKey", "hint", &hint,
			   "tlogEntries", &tlog, "dsseEnvelope", "payload", &payload, "payloadType",
			   &ptype, "signatures", &sigs) < 0)
		return BAD("bundle: %s (a keyed Sigstore bundle v0.3 with a DSSE envelope "
			   "expected)",
			   je.text);
	if (!streq(media, TRUST_BUNDLE_MEDIA_TYPE))
		return BAD("bundle: mediaType '%.100s' is not '%s'", media,
			   TRUST_BUNDLE_MEDIA_TYPE);
	if (tlog && (!json_is_array(tlog) || json_array_size(tlog)))
		return BAD("bundle: transparency-log entries are not supported (keyed bundles "
			   "only)");
	if (!streq(ptype, TRUST_PAYLOAD_TYPE))
		return BAD("bundle: payloadType '%.100s' is not '%s'", ptype, TRUST_PAYLOAD_TYPE);
	if (!json_is_array(sigs) || json_array_size(sigs) != 1)
		return BAD("bundle: exactly one DSSE signature expected");
	const char *sig = NULL, *keyid = NULL;
	if (json_unpack_ex(json_array_get(sigs, 0), &je, JSON_STRICT, "{s:s, s?s}", "sig", &sig,
			   "keyid", &keyid) < 0)
		return BAD("bundle signature: %s", je.text);

	_cleanup_trust_bundle_ struct trust_bundle *b = calloc(1, sizeof(*b));
	if (!b || !(b->hint = strdup(hint)))
		return -ENOMEM;
	int r = b64_field(payload, &b->payload, &b->payload_len);
	if (r == -EINVAL)
		return BAD("bundle: the DSSE payload is not valid base64");
	if (r < 0)
		return r;
	r = b64_field(sig, &b->sig, &b->sig_len);
	if (r == -EINVAL || (r >= 0 && b->sig_len == 0))
		return BAD("bundle: the DSSE signature is not valid base64");
	if (r < 0)
		return r;
	r = parse_statement(b, file, d);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

int trust_bundle_verify(const struct trust_bundle *b, const struct trust_key *k, const char *file,
			struct diag *d)
{
	if (!streq(b->hint, trust_key_id(k)))
		return BAD("signed by key '%.64s', not by the trusted key '%s'", b->hint,
			   trust_key_id(k));
	if (!streq(b->signer_key_id, b->hint))
		return BAD("the statement's signer key_id does not match the bundle's key hint");
	_cleanup_free_ uint8_t *pae = NULL;
	size_t pl = 0;
	int r = trust_pae(TRUST_PAYLOAD_TYPE, b->payload, b->payload_len, &pae, &pl);
	if (r < 0)
		return r;
	r = trust_key_verify(k, pae, pl, b->sig, b->sig_len);
	if (r == -EBADMSG)
		return BAD("the signature does not verify (bundle altered or not made by key '%s')",
			   trust_key_id(k));
	return r;
}

const struct trust_subject *trust_bundle_find(const struct trust_bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n_subjects; i++)
		if (streq(b->subjects[i].name, name))
			return &b->subjects[i];
	return NULL;
}

int trust_hash_file(int dirfd, const char *rel, uint8_t out[32])
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	uint8_t buf[65536];
	int r = 0;
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)k) != 1) {
			r = -EIO;
			break;
		}
	}
	unsigned l = 0;
	if (r >= 0 && EVP_DigestFinal_ex(ctx, out, &l) != 1)
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	return r;
}
