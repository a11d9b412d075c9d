/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/session-audit.h"

#include <errno.h>
#include <unistd.h>

#include "audit/redact.h"
#include "audit/retention.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "base/thread.h"

#ifndef NONO_VERSION
#define NONO_VERSION "0.0.0"
#endif

int run_audit_open(const struct sandbox_spec *s, char *const *cmdv, bool integrity,
		   struct audit_log **ret, struct diag *d)
{
	_cleanup_(redact_policy_freep) struct redact_policy *rp = NULL;
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *config = NULL, *cwd = getcwd(NULL, 0);
	const char *home = getenv("HOME");
	int r;

	if ((r = redact_policy_new(&rp)) < 0)
		return r;
	if (home && home[0] == '/') {
		if (asprintf(&config, "%s/.config/nono/config.toml", home) < 0)
			return -ENOMEM;
		if ((r = redact_policy_load_config(rp, config, d)) < 0)
			return r;
		struct audit_limits l; /* checked now: a bad [audit] is found before the run */
		if ((r = audit_limits_load(config, &l, d)) < 0)
			return r;
	}
	if ((r = redact_argv(rp, cmdv, &argv)) < 0)
		return r;
	json_t *diff = redact_policy_diff(rp);
	const struct audit_session_info info = {
	    .nono_version = NONO_VERSION,
	    .profile = s->profile_name,
	    .argv = argv,
	    .cwd = cwd,
	    .network_mode = s->net == NET_BLOCK	  ? "blocked"
			    : s->net == NET_PROXY ? "proxy"
						  : "allowed",
	    .integrity = integrity,
	    .redaction_diff = diff,
	};
	r = audit_open(home, &info, ret, d);
	json_decref(diff);
	return r;
}

static void log_pruned(void *ud, const struct audit_prune_item *it)
{
	(void)ud;
	log_info("audit: removed session %s (%s, %llu bytes)", it->id, it->why,
		 (unsigned long long)it->bytes);
}

void run_audit_prune(void)
{
	_cleanup_free_ char *config = NULL;
	const char *home = getenv("HOME");
	struct audit_limits l;
	struct diag d = {{0}};
	char buf[2048];
	int r;

	if (!home || home[0] != '/' || asprintf(&config, "%s/.config/nono/config.toml", home) < 0)
		return;
	r = audit_limits_load(config, &l, &d);
	if (r >= 0 && audit_limits_any(&l))
		r = audit_prune(home, &l, false, log_pruned, NULL, NULL, &d);
	if (r < 0)
		log_warning("cannot apply the [audit] retention limits: %s",
			    d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
}

static void *audit_end_main(void *arg)
{
	struct run_audit_end *e = arg;
	e->r = audit_close(TAKE_PTR(e->a), e->status, &e->d);
	return NULL;
}

void run_audit_end_begin(struct run_audit_end *e, struct audit_log *a, int status)
{
	*e = (struct run_audit_end){.a = a, .status = status};
	e->threaded = thread_start_unsignalled(&e->thread, audit_end_main, e) == 0;
	if (!e->threaded)
		(void)audit_end_main(e);
}

int run_audit_end_finish(struct run_audit_end *e)
{
	if (e->threaded)
		(void)pthread_join(e->thread, NULL);
	e->threaded = false;
	return e->r;
}
