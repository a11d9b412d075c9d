/* SPDX-License-Identifier: Apache-2.0 */
/* trust/: strict base64, the DSSE PAE, subject paths, keys, bundles signed and
 * verified, tampering and wrong keys refused, file hashing beneath a directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "trust/trust.h"

static void test_b64_roundtrip(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *enc;
	} v[] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		_cleanup_free_ char *e = trust_b64_encode(v[i].raw, strlen(v[i].raw));
		assert_string_equal(e, v[i].enc);
		uint8_t out[16];
		size_t n = 99;
		assert_int_equal(trust_b64_decode(v[i].enc, strlen(v[i].enc), out, &n), 0);
		assert_int_equal(n, strlen(v[i].raw));
		assert_memory_equal(out, v[i].raw, n);
	}
	/* Unpadded and URL-safe forms decode; in place too. */
	char buf[] = "-_8";
	size_t n = 0;
	assert_int_equal(trust_b64_decode(buf, 3, (uint8_t *)buf, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal((uint8_t)buf[0], 0xfb);
	assert_int_equal((uint8_t)buf[1], 0xff);
}

static void test_b64_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "Zg=",	/* padding not to a multiple of 4 */
	    "Zg===",	/* three pads */
	    "Z",	/* one leftover character */
	    "Zh==",	/* trailing bits set: not canonical */
	    "Zm9=",	/* trailing bits set */
	    "Zm 9v",	/* white space */
	    "Zm9v\n",	/* newline */
	    "+_AA",	/* mixed alphabets */
	    "Zg==Zg==", /* padding in the middle */
	    "Zm9*",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint8_t out[16];
		size_t n = 0;
		assert_int_equal(trust_b64_decode(bad[i], strlen(bad[i]), out, &n), -EINVAL);
	}
}

static void test_pae(void **state)
{
	(void)state;
	/* The DSSE specification's example. */
	_cleanup_free_ uint8_t *p = NULL;
	size_t n = 0;
	assert_int_equal(trust_pae("http://example.com/HelloWorld", "hello world", 11, &p, &n), 0);
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(p, want, n);
}

static void test_path_valid(void **state)
{
	(void)state;
	assert_true(trust_path_valid("CLAUDE.md"));
	assert_true(trust_path_valid(".claude/skills/a.md"));
	assert_true(trust_path_valid("..x/y..")); /* dots inside names are fine */
	static const char *const bad[] = {"",	  "/etc/passwd", "../x",  "a/../b", "a/..", "./a",
					  "a//b", "a/",		 "a/./b", "a\nb",   "a\\b"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(trust_path_valid(bad[i]));
}

static void test_key_id_and_export(void **state)
{
	(void)state;
	_cleanup_trust_key_ struct trust_key *k = NULL, *pub = NULL, *pem = NULL;
	_cleanup_free_ char *b64 = NULL, *p = NULL;
	assert_int_equal(trust_key_generate(&k), 0);
	assert_true(trust_key_has_private(k));
	assert_int_equal(strlen(trust_key_id(k)), TRUST_KEY_ID_LEN);
	assert_int_equal(trust_key_export_public(k, false, &b64), 0);
	assert_int_equal(trust_key_export_public(k, true, &p), 0);
	assert_non_null(startswith(p, "-----BEGIN PUBLIC KEY-----\n"));
	/* Both forms read back to the same key id, which is SHA-256 of the DER. */
	assert_int_equal(trust_key_from_public_text(b64, strlen(b64), &pub), 0);
	assert_int_equal(trust_key_from_public_text(p, strlen(p), &pem), 0);
	assert_false(trust_key_has_private(pub));
	assert_string_equal(trust_key_id(pub), trust_key_id(k));
	assert_string_equal(trust_key_id(pem), trust_key_id(k));
	uint8_t der[256], md[32];
	size_t dl = 0;
	unsigned ml = 0;
	assert_int_equal(trust_b64_decode(b64, strlen(b64), der, &dl), 0);
	assert_int_equal(EVP_Digest(der, dl, md, &ml, EVP_sha256(), NULL), 1);
	char hex[65];
	trust_hex(md, 32, hex);
	assert_string_equal(hex, trust_key_id(k));
	/* Trailing garbage after the DER is refused. */
	der[dl] = 0;
	struct trust_key *x = NULL;
	assert_int_equal(trust_key_from_spki(der, dl + 1, &x), -EINVAL);
	assert_int_equal(trust_key_from_public_text("garbage", 7, &x), -EINVAL);
}

static void test_rsa_refused(void **state)
{
	(void)state;
	/* An RSA or P-384 key is not a trust key. */
	EVP_PKEY *pk = EVP_EC_gen("P-384");
	assert_non_null(pk);
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);
	assert_true(n > 0);
	struct trust_key *k = NULL;
	assert_int_equal(trust_key_from_spki(der, (size_t)n, &k), -EINVAL);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}

static void test_bundle_sign_verify(void **state)
{
	(void)state;
	_cleanup_trust_key_ struct trust_key *k = NULL, *other = NULL;
	assert_int_equal(trust_key_generate(&k), 0);
	assert_int_equal(trust_key_generate(&other), 0);
	struct trust_subject subs[2] = {{(char *)"CLAUDE.md", {1}}, {(char *)".claude/x.md", {2}}};
	_cleanup_free_ char *json = NULL;
	assert_int_equal(trust_bundle_sign(k, TRUST_PRED_MULTI, subs, 2, &json), 0);

	struct diag d = {{0}};
	_cleanup_trust_bundle_ struct trust_bundle *b = NULL;
	assert_int_equal(trust_bundle_parse(json, strlen(json), "x.bundle", &b, &d), 0);
	assert_string_equal(b->predicate_type, TRUST_PRED_MULTI);
	assert_string_equal(b->hint, trust_key_id(k));
	assert_int_equal(b->n_subjects, 2);
	assert_non_null(trust_bundle_find(b, ".claude/x.md"));
	assert_null(trust_bundle_find(b, "x.md"));
	assert_int_equal(trust_bundle_find(b, "CLAUDE.md")->sha256[0], 1);
	assert_int_equal(trust_bundle_verify(b, k, "x.bundle", &d), 0);
	/* Another key: the hint says so. */
	assert_int_equal(trust_bundle_verify(b, other, "x.bundle", &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "not by the trusted key"));
	/* A flipped signature bit. */
	b->sig[b->sig_len - 1] ^= 1;
	memset(&d, 0, sizeof(d));
	assert_int_equal(trust_bundle_verify(b, k, "x.bundle", &d), -EBADMSG);
	assert_string_equal(d.file, "x.bundle");
	assert_non_null(strstr(d.msg, "signature does not verify"));

	/* Bad subject names are refused when signing. */
	struct trust_subject bad = {(char *)"../x", {0}};
	_cleanup_free_ char *j2 = NULL;
	assert_int_equal(trust_bundle_sign(k, TRUST_PRED_MULTI, &bad, 1, &j2), -EINVAL);
	assert_int_equal(trust_bundle_sign(k, TRUST_PRED_MULTI, subs, 0, &j2), -E2BIG);
	assert_int_equal(trust_bundle_sign(k, TRUST_PRED_MULTI, subs, TRUST_MAX_SUBJECTS + 1, &j2),
			 -E2BIG);
}

static void test_audit_predicate(void **state)
{
	(void)state;
	_cleanup_trust_key_ struct trust_key *k = NULL;
	assert_int_equal(trust_key_generate(&k), 0);
	json_t *pred = json_pack("{s:i, s:s, s:{s:s}, s:{s:s, s:s}}", "version", 1, "session_id",
				 "s1", "audit_log", "merkle_root", "00", "signer", "kind", "keyed",
				 "key_id", trust_key_id(k));
	struct trust_subject sub = {(char *)"audit-session:s1", {7}};
	_cleanup_free_ char *json = NULL;
	assert_int_equal(trust_bundle_sign_predicate(k, TRUST_PRED_AUDIT, &sub, 1, pred, &json), 0);
	json_decref(pred);
	struct diag d = {{0}};
	_cleanup_trust_bundle_ struct trust_bundle *b = NULL;
	assert_int_equal(trust_bundle_parse(json, strlen(json), "a.bundle", &b, &d), 0);
	assert_int_equal(trust_bundle_verify(b, k, "a.bundle", &d), 0);
	assert_string_equal(json_string_value(json_object_get(b->predicate, "session_id")), "s1");
	assert_string_equal(b->subjects[0].name, "audit-session:s1");
	/* Other predicate types keep their strict {version, signer}. */
	_cleanup_free_ char *j2 = NULL;
	_cleanup_trust_bundle_ struct trust_bundle *b2 = NULL;
	assert_int_equal(trust_bundle_sign(k, TRUST_PRED_INSTRUCTION, &sub, 1, &j2), 0);
	assert_int_equal(trust_bundle_parse(j2, strlen(j2), "b.bundle", &b2, &d), 0);
	assert_null(b2->predicate);
}

static void parse_fails(const char *text, const char *msg)
{
	struct diag d = {{0}};
	struct trust_bundle *b = NULL;
	assert_int_equal(trust_bundle_parse(text, strlen(text), "f.bundle", &b, &d), -EBADMSG);
	assert_null(b);
	if (!strstr(d.msg, msg))
		fail_msg("'%s' lacks '%s'", d.msg, msg);
	assert_string_equal(d.file, "f.bundle");
}

static void test_bundle_strict(void **state)
{
	(void)state;
	/* A statement for one subject, base64, reused below. */
	static const char st_ok[] =
	    "{\"_type\":\"https://in-toto.io/Statement/"
	    "v1\",\"subject\":[{\"name\":\"a\",\"digest\":"
	    "{\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\"}}],"
	    "\"predicateType\":\"https://nono.sh/attestation/instruction-file/v1\",\"predicate\":"
	    "{\"version\":1,\"signer\":{\"kind\":\"keyed\",\"key_id\":\"k\"}}}";
	_cleanup_free_ char *p64 = trust_b64_encode(st_ok, strlen(st_ok));
	char buf[4096];
#define BUNDLE(media, extra, payload, ptype, sigs)                                                 \
	(snprintf(buf, sizeof(buf),                                                                \
		  "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"k\"}" \
		  "%s},\"dsseEnvelope\":{\"payload\":\"%s\",\"payloadType\":\"%s\","               \
		  "\"signatures\":%s}}",                                                           \
		  media, extra, payload, ptype, sigs),                                             \
	 buf)
	const char *M = TRUST_BUNDLE_MEDIA_TYPE, *T = TRUST_PAYLOAD_TYPE,
		   *S = "[{\"sig\":\"AAAA\"}]";
	struct diag d = {{0}};
	struct trust_bundle *b = NULL;
	const char *ok = BUNDLE(M, "", p64, T, S); /* strlen(buf) only after snprintf */
	if (trust_bundle_parse(ok, strlen(ok), "f", &b, &d) < 0)
		fail_msg("%s", d.msg);
	b = trust_bundle_free(b);

	parse_fails("{", "not valid JSON");
	parse_fails("{\"mediaType\":1}", "bundle:");
	parse_fails(BUNDLE("application/x", "", p64, T, S), "mediaType");
	parse_fails(BUNDLE(M, ",\"tlogEntries\":[{}]", p64, T, S), "transparency-log");
	parse_fails(BUNDLE(M, ",\"bogus\":1", p64, T, S), "bundle:");
	parse_fails(BUNDLE(M, "", p64, "text/plain", S), "payloadType");
	parse_fails(BUNDLE(M, "", p64, T, "[]"), "exactly one");
	parse_fails(BUNDLE(M, "", p64, T, "[{\"sig\":\"AAAA\"},{\"sig\":\"AAAA\"}]"),
		    "exactly one");
	parse_fails(BUNDLE(M, "", p64, T, "[{\"sig\":\"A\"}]"), "signature is not valid base64");
	parse_fails(BUNDLE(M, "", "e30", T, S), "statement:");
	parse_fails(BUNDLE(M, "", "!!!!", T, S), "payload is not valid base64");
	/* Duplicate keys. */
	parse_fails("{\"mediaType\":\"a\",\"mediaType\":\"b\"}", "not valid JSON");

	static const struct {
		const char *from, *to, *msg;
	} edits[] = {
	    {"\"name\":\"a\"", "\"name\":\"../a\"", "not a relative path"},
	    {"\"name\":\"a\"", "\"name\":\"/a\"", "not a relative path"},
	    {"\"sha256\":\"0", "\"sha256\":\"A", "64 lowercase hex"},
	    {"\"sha256\":\"0", "\"sha256\":\"", "64 lowercase hex"},
	    {"Statement/v1", "Statement/v0", "_type"},
	    {"instruction-file/v1", "other/v1", "predicateType"},
	    {"\"version\":1", "\"version\":2", "version 1"},
	    {"\"kind\":\"keyed\"", "\"kind\":\"keyless\"", "keyed"},
	    {"\"subject\":[", "\"subject\":[], \"x\":[", "statement"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		char st[2048];
		const char *at = strstr(st_ok, edits[i].from);
		assert_non_null(at);
		(void)snprintf(st, sizeof(st), "%.*s%s%s", (int)(at - st_ok), st_ok, edits[i].to,
			       at + strlen(edits[i].from));
		_cleanup_free_ char *e = trust_b64_encode(st, strlen(st));
		parse_fails(BUNDLE(M, "", e, T, S), edits[i].msg);
	}
#undef BUNDLE
}

static void test_hash_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/nono-trust-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(symlinkat("f", dfd, "l"), 0);
	assert_int_equal(mkdirat(dfd, "d", 0755), 0);
	uint8_t md[32];
	char hex[65];
	assert_int_equal(trust_hash_file(dfd, "f", md), 0);
	trust_hex(md, 32, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(trust_hash_file(dfd, "l", md), -ELOOP);
	assert_int_equal(trust_hash_file(dfd, "../etc/passwd", md), -EXDEV);
	assert_int_equal(trust_hash_file(dfd, "d", md), -EINVAL);
	/* A FIFO (a planted "bundle") neither hangs nor reads. */
	assert_int_equal(mkfifoat(dfd, "p", 0644), 0);
	char *text = NULL;
	size_t n = 0;
	assert_int_equal(trust_read_file(dfd, "p", 1024, &text, &n), -EINVAL);
	assert_int_equal(trust_hash_file(dfd, "p", md), -EINVAL);
	assert_int_equal(trust_read_file(dfd, "l", 1024, &text, &n), -ELOOP);
	assert_int_equal(trust_read_file(dfd, "f", 2, &text, &n), -EFBIG);
	assert_int_equal(trust_read_file(dfd, "f", 3, &text, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(text, "abc");
	free(text);
	(void)unlinkat(dfd, "p", 0);
	(void)unlinkat(dfd, "l", 0);
	(void)unlinkat(dfd, "f", 0);
	(void)unlinkat(dfd, "d", AT_REMOVEDIR);
	close(dfd);
	(void)rmdir(dir);
}

static void test_glob(void **state)
{
	(void)state;
	static const struct {
		const char *pat, *rel;
		bool match;
	} v[] = {
	    {"CLAUDE.md", "CLAUDE.md", true},
	    {"CLAUDE.md", "sub/dir/CLAUDE.md", true}, /* no '/': any depth */
	    {"CLAUDE.md", "CLAUDE.md.bundle", false},
	    {"SKILLS*", "SKILLS.md", true},
	    {"SKILLS*", "x/SKILLS-extra.txt", true},
	    {".claude/**/*.md", ".claude/a.md", true},
	    {".claude/**/*.md", ".claude/x/y/z.md", true},
	    {".claude/**/*.md", "sub/.claude/a.md", false},
	    {".claude/**/*.md", ".claude/a.txt", false},
	    {".claude/*.md", ".claude/x/a.md", false},
	    {"/CLAUDE.md", "CLAUDE.md", true}, /* anchored: top only */
	    {"/CLAUDE.md", "sub/CLAUDE.md", false},
	    {"/a\\*b", "a*b", true},
	    {"/a\\*b", "axb", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (trust_glob_match(v[i].pat, v[i].rel) != v[i].match)
			fail_msg("'%s' vs '%s'", v[i].pat, v[i].rel);
}

static void policy_fails(const char *text, int line, const char *msg)
{
	struct diag d = {{0}};
	struct trust_policy *p = NULL;
	assert_true(trust_policy_parse(text, strlen(text), "tp.json", &p, &d) < 0);
	assert_null(p);
	assert_string_equal(d.file, "tp.json");
	if (line)
		assert_int_equal(d.line, line);
	if (!strstr(d.msg, msg))
		fail_msg("'%s' lacks '%s'", d.msg, msg);
}

static void test_policy_parse(void **state)
{
	(void)state;
	_cleanup_trust_key_ struct trust_key *k = NULL;
	_cleanup_free_ char *pub = NULL;
	assert_int_equal(trust_key_generate(&k), 0);
	assert_int_equal(trust_key_export_public(k, false, &pub), 0);
	char text[2048];
	(void)snprintf(text, sizeof(text),
		       "{\"version\": 1, \"includes\": [\"CLAUDE.md\"], \"instruction_patterns\": "
		       "[\"AGENTS.md\", \"CLAUDE.md\"], \"files\": [\"~/x.md\"],\n"
		       "\"publishers\": [{\"name\": \"me\", \"key_id\": \"%s\", \"public_key\": "
		       "\"%s\"}],\n\"blocklist\": {\"digests\": [{\"sha256\": \"%064d\", "
		       "\"description\": \"x\", \"added\": \"2026\"}], \"publishers\": "
		       "[\"evil\"]},\n\"enforcement\": \"warn\"}",
		       trust_key_id(k), pub, 0);
	struct diag d = {{0}};
	_cleanup_trust_policy_ struct trust_policy *p = NULL, *m = calloc(1, sizeof(*m));
	if (trust_policy_parse(text, strlen(text), "tp.json", &p, &d) < 0)
		fail_msg("%s", d.msg);
	assert_int_equal(strv_length(p->includes), 2);
	assert_int_equal(p->n_publishers, 1);
	assert_non_null(trust_policy_publisher(p, trust_key_id(k)));
	assert_null(trust_policy_publisher(p, "evil"));
	uint8_t zero[32] = {0};
	assert_true(trust_policy_blocked(p, zero));
	assert_int_equal(p->enforcement, TRUST_ENFORCE_WARN);
	/* Merge: a stricter enforcement wins, a looser one does not. */
	assert_int_equal(trust_policy_merge(m, p, false), 0);
	assert_int_equal(m->n_publishers, 0);
	assert_int_equal(m->enforcement, TRUST_ENFORCE_WARN);
	p->enforcement = TRUST_ENFORCE_AUDIT;
	assert_int_equal(trust_policy_merge(m, p, true), 0);
	assert_int_equal(m->enforcement, TRUST_ENFORCE_WARN);
	assert_int_equal(m->n_publishers, 1);
	assert_true(trust_policy_blocked(m, zero));

	policy_fails("{\"version\": 2}", 1, "'version' must be 1");
	policy_fails("{\"includes\": []}", 0, "'version' must be 1");
	policy_fails("{\"version\": 1,\n \"bogus\": 1}", 2, "bogus");
	policy_fails("{\"version\": 1, \"version\": 1}", 1, "");
	policy_fails("{\"version\": 1,\n\n \"enforcement\": \"strict\"}", 3, "deny, warn or audit");
	policy_fails("{\"version\": 1, \"includes\": [\"../x\"]}", 1, "without '..'");
	policy_fails("{\"version\": 1, \"includes\": [\"/etc/x\"]}", 1, "relative");
	policy_fails("{\"version\": 1, \"files\": [\"rel.md\"]}", 1, "absolute or ~/");
	policy_fails("{\"version\": 1, \"includes\": [\"**/**/**/**/**/*a*b\"]}", 1,
		     "more than 8 '*'");
	policy_fails("{\"version\": 1, \"publishers\": [{\"name\": \"x\"}]}", 1,
		     "needs 'public_key'");
	policy_fails("{\"version\": 1, \"publishers\": [{\"name\": \"x\", \"public_key\": "
		     "\"AAAA\"}]}",
		     1, "not an ECDSA P-256 public key");
	policy_fails("{\"version\": 1, \"publishers\": [{\"name\": \"x\", \"issuer\": "
		     "\"https://token.actions.githubusercontent.com\"}]}",
		     1, "keyless");
	policy_fails("{\"version\": 1, \"blocklist\": {\"digests\": [{\"sha256\": \"AB\"}]}}", 1,
		     "64 lowercase hex");
	(void)snprintf(text, sizeof(text),
		       "{\"version\": 1, \"publishers\": [{\"name\": \"me\", \"key_id\": "
		       "\"%064d\", \"public_key\": \"%s\"}]}",
		       0, pub);
	policy_fails(text, 1, "key_id does not match");
	/* Bounds: 101 includes. */
	char big[4096] = "{\"version\": 1, \"includes\": [";
	for (int i = 0; i <= TRUST_MAX_INCLUDES; i++) {
		char one[32];
		(void)snprintf(one, sizeof(one), "%s\"f%d\"", i ? "," : "", i);
		strncat(big, one, sizeof(big) - strlen(big) - 1);
	}
	strncat(big, "]}", sizeof(big) - strlen(big) - 1);
	policy_fails(big, 1, "more than 100 include patterns");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_roundtrip),
	    cmocka_unit_test(test_b64_strict),
	    cmocka_unit_test(test_pae),
	    cmocka_unit_test(test_path_valid),
	    cmocka_unit_test(test_key_id_and_export),
	    cmocka_unit_test(test_rsa_refused),
	    cmocka_unit_test(test_bundle_sign_verify),
	    cmocka_unit_test(test_bundle_strict),
	    cmocka_unit_test(test_hash_file),
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_policy_parse),
	    cmocka_unit_test(test_audit_predicate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
