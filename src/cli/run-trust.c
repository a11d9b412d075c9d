/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pre-exec trust scan (see run-trust.h). Anchoring: the user-level policy is
 * authoritative. A project policy always adds includes, files and blocklist entries and
 * can only make enforcement stricter (it can only tighten); its publishers count only
 * when ./trust-policy.json.bundle is signed by a user-level publisher, or, when there
 * is no user-level policy at all, with a warning that it is not authoritative.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "cli/run-trust.h"
#include "policy/spec.h"
#include "trust/trust.h"

/* Is ./trust-policy.json signed (trust-policy.json.bundle) by a publisher of user? */
static bool project_policy_signed(const struct trust_policy *user, char *why, size_t n)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_trust_bundle_ struct trust_bundle *b = NULL;
	struct diag d = {{0}};
	char buf[1500];
	uint8_t md[32];
	size_t len = 0;
	const char *bn = TRUST_POLICY_FILE ".bundle";
	int r = trust_read_file(AT_FDCWD, bn, TRUST_MAX_BUNDLE_SIZE, &text, &len);
	if (r < 0) {
		(void)snprintf(why, n, "%s: %s", bn, r == -ENOENT ? "absent" : strerror(-r));
		return false;
	}
	if (trust_bundle_parse(text, len, bn, &b, &d) < 0) {
		(void)snprintf(why, n, "%s", diag_format(&d, buf, sizeof(buf)));
		return false;
	}
	const struct trust_publisher *pub = trust_policy_publisher(user, b->hint);
	const struct trust_subject *s = trust_bundle_find(b, TRUST_POLICY_FILE);
	if (!pub || !streq(b->predicate_type, TRUST_PRED_POLICY) || !s) {
		(void)snprintf(why, n, "%s: not a policy signature by a user-level publisher", bn);
		return false;
	}
	if (trust_bundle_verify(b, pub->key, bn, &d) < 0) {
		(void)snprintf(why, n, "%s", diag_format(&d, buf, sizeof(buf)));
		return false;
	}
	if (trust_hash_file(AT_FDCWD, TRUST_POLICY_FILE, md) < 0 || memcmp(md, s->sha256, 32)) {
		(void)snprintf(why, n,
			       "%s: digest mismatch: the policy changed since it was signed",
			       TRUST_POLICY_FILE);
		return false;
	}
	return true;
}

int run_trust_load_policy(struct trust_policy **ret)
{
	_cleanup_trust_policy_ struct trust_policy *user = NULL, *proj = NULL, *p = NULL;
	_cleanup_free_ char *user_path = NULL;
	struct diag d = {{0}};
	char buf[2048];
	int r;

	*ret = NULL;
	const char *home = secure_getenv("HOME");
	if (home && home[0] == '/' &&
	    asprintf(&user_path, "%s/.config/nono/" TRUST_POLICY_FILE, home) < 0)
		return log_error_errno(-ENOMEM, "out of memory"), -1;
	if (user_path && (r = trust_policy_load_file(user_path, &user, &d)) < 0 && r != -ENOENT) {
		log_error("%s", diag_format(&d, buf, sizeof(buf)));
		return -1;
	}
	if ((r = trust_policy_load_file(TRUST_POLICY_FILE, &proj, &d)) < 0 && r != -ENOENT) {
		log_error("%s", diag_format(&d, buf, sizeof(buf)));
		return -1;
	}
	if (!user && !proj)
		return 0; /* no policy: nothing to scan */
	if (!(p = calloc(1, sizeof(*p))))
		return log_error_errno(-ENOMEM, "out of memory"), -1;
	p->enforcement = TRUST_ENFORCE_DENY;
	/* The user-level includes apply to every project: one absent here is no failure. */
	if (user)
		user->required = strv_free(user->required);
	if (user && trust_policy_merge(p, user, true) < 0)
		return log_error_errno(-ENOMEM, "out of memory"), -1;
	if (proj) {
		char why[1600];
		bool pubs = true;
		if (!user)
			log_warning("./%s: project-level trust policy without a user-level one "
				    "(~/.config/nono/%s): it is not authoritative",
				    TRUST_POLICY_FILE, TRUST_POLICY_FILE);
		else if (proj->n_publishers && !project_policy_signed(user, why, sizeof(why))) {
			log_warning("./%s: its publishers are ignored: it is not signed by a "
				    "user-level publisher (%s)",
				    TRUST_POLICY_FILE, why);
			pubs = false;
		}
		if (trust_policy_merge(p, proj, pubs) < 0)
			return log_error_errno(-ENOMEM, "out of memory"), -1;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

static json_t *summary;

json_t *run_trust_take_summary(void)
{
	return TAKE_PTR(summary);
}

/* Record s (NULL: only the override) for the audit trail; best effort (memory). */
static void set_summary(bool override, const struct trust_policy *p, const struct trust_scan *s)
{
	json_t *o = json_pack("{s:b, s:s?}", "override", override, "enforcement",
			      p ? trust_enforcement_name(p->enforcement) : NULL);
	json_t *ok = json_array(), *bad = json_array();
	for (size_t i = 0; s && ok && bad && i < s->n_found; i++) {
		const struct trust_finding *f = &s->found[i];
		if (f->reason)
			(void)json_array_append_new(
			    bad, json_pack("{s:s, s:s}", "path", f->path, "reason", f->reason));
		else
			(void)json_array_append_new(ok, json_string(f->path));
	}
	if (o && ok && bad && json_object_set_new(o, "verified", ok) == 0 &&
	    json_object_set_new(o, "failed", bad) == 0) {
		json_decref(summary);
		summary = o;
		return;
	}
	json_decref(o);
}

int run_trust_preexec(char *const *skip_dirs, bool override, char ***ret_verified)
{
	_cleanup_trust_policy_ struct trust_policy *p = NULL;
	_cleanup_free_ char *cwd = NULL;
	struct diag d = {{0}};
	char buf[2048];
	int r;

	*ret_verified = NULL;
	if (override) {
		log_warning("*** --trust-override: instruction files (CLAUDE.md, AGENTS.md, "
			    "SKILLS*, ...) are NOT verified for this session; a tampered file "
			    "speaks with your authority ***");
		set_summary(true, NULL, NULL);
		return 0;
	}
	if (run_trust_load_policy(&p) < 0)
		return -1;
	if (!p)
		return 0; /* no policy: nothing to scan */

	if (!(cwd = getcwd(NULL, 0)))
		return log_error_errno(-errno, "cannot get the current directory"), -1;
	_cleanup_trust_scan_ struct trust_scan *s = NULL;
	r = trust_scan_tree(p, cwd, skip_dirs, &s, &d);
	if (r < 0) {
		log_error("%s", diag_format(&d, buf, sizeof(buf)));
		return -1;
	}
	_cleanup_strv_free_ char **verified = NULL;
	set_summary(false, p, s);
	for (size_t i = 0; i < s->n_found; i++) {
		const struct trust_finding *f = &s->found[i];
		if (!f->reason) {
			_cleanup_free_ char *abs = NULL;
			if ((f->path[0] == '/' ? (abs = strdup(f->path)) == NULL
					       : asprintf(&abs, "%s/%s", cwd, f->path) < 0) ||
			    strv_extend(&verified, abs) < 0)
				return log_error_errno(-ENOMEM, "out of memory"), -1;
			log_info("trust: verified '%s' (publisher '%s')", f->path, f->publisher);
		} else if (p->enforcement == TRUST_ENFORCE_DENY)
			log_error("trust: %s: %s", f->path, f->reason);
		else if (p->enforcement == TRUST_ENFORCE_WARN)
			log_warning("trust: %s: %s", f->path, f->reason);
		else
			log_info("trust (audit): %s: %s", f->path, f->reason);
	}
	if (s->n_failed && p->enforcement == TRUST_ENFORCE_DENY) {
		log_error("trust verification failed for %zu instruction file%s: the command was "
			  "not started (re-sign with 'nono trust sign', or --trust-override)",
			  s->n_failed, s->n_failed == 1 ? "" : "s");
		return -1;
	}
	*ret_verified = TAKE_PTR(verified);
	return 0;
}
