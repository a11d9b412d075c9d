/* SPDX-License-Identifier: Apache-2.0 */
/* Signed audit attestations: see session-attest.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "supervisor/session-attest.h"
#include "trust/trust.h"

#define ATTEST_FILE  "audit-attestation.bundle"
#define SESSION_FILE "session.json"

int run_attest_load(const char *ref, struct secret *ret)
{
	struct diag d = {{0}};
	char buf[2048];
	int r = trust_key_load_secret(ref, ret, &d);
	if (r < 0) {
		log_error("--audit-sign-key: %s",
			  d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return -1;
	}
	return 0;
}

static json_t *load_session(int dfd)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	json_error_t je;
	if (trust_read_file(dfd, SESSION_FILE, 4 * 1024 * 1024, &text, &n) < 0)
		return NULL;
	json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Write text to dir/name atomically (temp, fsync, rename), mode 0600. */
static int write_in(int dfd, const char *name, const char *text)
{
	char tmp[128];
	(void)snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, (int)getpid());
	_cleanup_close_ int fd =
	    openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	int r = 0;
	for (const char *p = text; n && r == 0;) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno != EINTR)
			r = -errno;
		else if (k > 0)
			p += k, n -= (size_t)k;
	}
	/* As the audit record does: a session directory given to its user (root running
	 * with another user's HOME) gets files owned by that user. */
	struct stat st;
	if (r == 0 && geteuid() == 0 && fstat(dfd, &st) == 0 && st.st_uid != 0 &&
	    fchown(fd, st.st_uid, st.st_gid) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dfd, tmp, 0);
	return r;
}

/* The predicate for session s (the redacted record nono wrote). NULL: not attestable. */
static json_t *predicate_of(json_t *s, const char *key_id, const char **why)
{
	json_t *integ = json_object_get(s, "integrity");
	const char *root = json_string_value(json_object_get(integ, "merkle_root"));
	const char *algo = json_string_value(json_object_get(integ, "algorithm"));
	json_t *events = json_object_get(integ, "events");
	if (!root || !algo || !json_is_integer(events)) {
		*why = "the session has no integrity summary (recorded with "
		       "--no-audit-integrity, or its event log was inconsistent)";
		return NULL;
	}
	return json_pack("{s:i, s:O?, s:O?, s:O?, s:O?, s:{s:s, s:O, s:O?, s:s}, s:{s:s, s:s}}",
			 "version", 1, "session_id", json_object_get(s, "session_id"), "started",
			 json_object_get(s, "start_time"), "ended", json_object_get(s, "end_time"),
			 "command", json_object_get(s, "command"), "audit_log", "hash_algorithm",
			 algo, "event_count", events, "chain_head",
			 json_object_get(integ, "chain_head"), "merkle_root", root, "signer",
			 "kind", "keyed", "key_id", key_id);
}

static bool hex32(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++) {
		char c = s[i];
		int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (x < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | x : x);
	}
	return true;
}

int run_attest_sign(const char *dir, struct secret *key)
{
	_cleanup_trust_key_ struct trust_key *k = NULL;
	_cleanup_free_ char *json = NULL, *sub_name = NULL, *session_text = NULL;
	const char *why = NULL;
	int r = trust_key_from_secret(key, &k);
	if (r < 0)
		return log_error_errno(r, "--audit-sign-key: cannot decode the key"), -1;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(-errno, "cannot open '%s'", dir), -1;
	json_t *s = load_session(dfd);
	if (!s)
		return log_error("cannot sign the audit record: '%s/%s' unreadable", dir,
				 SESSION_FILE),
		       -1;
	json_t *pred = predicate_of(s, trust_key_id(k), &why);
	const char *id = json_string_value(json_object_get(s, "session_id"));
	const char *root =
	    json_string_value(json_object_get(json_object_get(pred, "audit_log"), "merkle_root"));
	struct trust_subject sub = {0};
	if (!pred || !id || !hex32(root, sub.sha256) ||
	    asprintf(&sub_name, "audit-session:%s", id) < 0) {
		log_error("cannot sign the audit record: %s",
			  why ? why : "the session record is incomplete");
		json_decref(pred);
		json_decref(s);
		return -1;
	}
	sub.name = sub_name;
	r = trust_bundle_sign_predicate(k, TRUST_PRED_AUDIT, &sub, 1, pred, &json);
	json_decref(pred);
	if (r >= 0)
		r = write_in(dfd, ATTEST_FILE, json);
	if (r >= 0 && (json_object_set_new(s, "audit_attestation",
					   json_pack("{s:s, s:s, s:s}", "bundle", ATTEST_FILE,
						     "predicate_type", TRUST_PRED_AUDIT, "key_id",
						     trust_key_id(k))) < 0 ||
		       !(session_text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER))))
		r = -ENOMEM;
	if (r >= 0)
		r = write_in(dfd, SESSION_FILE, session_text);
	json_decref(s);
	if (r < 0)
		return log_error_errno(r, "cannot write the audit attestation in '%s'", dir), -1;
	log_info("audit record signed with key %s: %s/%s", trust_key_id(k), dir, ATTEST_FILE);
	return 0;
}

int audit_attest_verify(const char *dir, const char *pubkey_file)
{
	_cleanup_trust_bundle_ struct trust_bundle *b = NULL;
	_cleanup_trust_key_ struct trust_key *k = NULL;
	_cleanup_free_ char *text = NULL, *want_name = NULL;
	struct diag d = {{0}};
	char buf[2048];
	size_t n = 0;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(-errno, "cannot open '%s'", dir), -1;
	int r = trust_read_file(dfd, ATTEST_FILE, TRUST_MAX_BUNDLE_SIZE, &text, &n);
	if (r == -ENOENT) {
		if (!pubkey_file)
			return 0;
		log_error("%s: no %s: the session was not signed (--audit-sign-key)", dir,
			  ATTEST_FILE);
		return -1;
	}
	if (r < 0)
		return log_error_errno(r, "cannot read %s/%s", dir, ATTEST_FILE), -1;
	if (trust_bundle_parse(text, n, ATTEST_FILE, &b, &d) < 0)
		return log_error("%s", diag_format(&d, buf, sizeof(buf))), -1;
	json_t *s = load_session(dfd);
	if (!s)
		return log_error("%s/%s unreadable", dir, SESSION_FILE), -1;
	json_t *integ = json_object_get(s, "integrity");
	json_t *al = json_object_get(b->predicate, "audit_log");
	const char *id = json_string_value(json_object_get(s, "session_id"));
	const char *root = json_string_value(json_object_get(integ, "merkle_root"));
	uint8_t md[32];
	const char *bad = NULL;
	if (!streq(b->predicate_type, TRUST_PRED_AUDIT) || b->n_subjects != 1)
		bad = "not an audit-session attestation";
	else if (!id || asprintf(&want_name, "audit-session:%s", id) < 0 ||
		 !streq(b->subjects[0].name, want_name) ||
		 !json_equal(json_object_get(b->predicate, "session_id"),
			     json_object_get(s, "session_id")))
		bad = "it is for another session";
	else if (!hex32(root, md) || memcmp(md, b->subjects[0].sha256, 32) != 0 ||
		 !json_equal(json_object_get(al, "merkle_root"),
			     json_object_get(integ, "merkle_root")))
		bad = "its Merkle root differs from the session's";
	else if (!json_equal(json_object_get(al, "chain_head"),
			     json_object_get(integ, "chain_head")) ||
		 !json_equal(json_object_get(al, "event_count"), json_object_get(integ, "events")))
		bad = "its chain head or event count differs from the session's";
	if (bad) {
		json_decref(s);
		log_error("%s/%s: %s", dir, ATTEST_FILE, bad);
		return -1;
	}
	json_decref(s);
	if (!pubkey_file) {
		(void)printf("attestation: signed by key %s (signature not checked: pin the key "
			     "with --public-key-file)\n",
			     b->hint);
		return 0;
	}
	if (trust_key_load_public_file(pubkey_file, &k, &d) < 0 ||
	    trust_bundle_verify(b, k, ATTEST_FILE, &d) < 0)
		return log_error("%s", diag_format(&d, buf, sizeof(buf))), -1;
	(void)printf("attestation: OK, signed by key %s\n", trust_key_id(k));
	return 0;
}
