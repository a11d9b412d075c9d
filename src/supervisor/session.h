/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * One supervised run of `nono run` / `shell` / `wrap`, owned by the supervisor. cli
 * parses argv, resolves the policy into a spec and hands it over; the session then
 * goes through explicit steps:
 *
 *   session_prepare()    the name (unique among live sessions), audit trail, proxy + port
 * forwarding, private /tmp, the sandbox plan, AF_UNIX mediation, the child's environment (env
 * credentials, proxy variables, the published state) session_exec()       wrap only: no parent
 * stays behind, exec in place session_supervise()  fork the child, start what needs its pid
 * (namespace proxy, forwarder), wait for it; when stdin and stdout are the terminal of a foreground
 * job, the child gets a PTY of its own (supervisor/pty.h) session_finish()     stop the helpers,
 * wipe secrets, close and sign the audit record
 *
 * Each step prints its own errors and returns 0 or -1 (the run ends with
 * EXIT_NONO_ERROR); session_finish() always runs and decides the final exit code.
 */

#include <stdbool.h>

#include "audit/audit.h"
#include "base/refusal-scan.h"
#include "credential/credential.h"
#include "policy/spec.h"
#include "sandbox/sandbox.h"
#include "supervisor/session-audit.h"
#include "supervisor/session-control.h"
#include "supervisor/session-portfwd.h"
#include "supervisor/session-proxy.h"
#include "supervisor/pty.h"
#include "supervisor/session-state.h"
#include "supervisor/session-tmp.h"
#include "supervisor/unotify.h"

struct json_t;

struct session_opts {
	bool wrap;		      /* nono wrap: exec in place, no supervising parent */
	bool audit;		      /* record the audit trail */
	bool audit_integrity;	      /* with its hash chain */
	char *const *cmdv;	      /* the command as given (recorded, redacted) */
	const char *exe;	      /* resolved executable */
	struct json_t *trust_summary; /* the pre-exec trust scan's record; taken, may be NULL */
	struct secret *attest_key;    /* --audit-sign-key (moved into the session), or NULL */
	int pty_drain_ms;	      /* NONO_PTY_DRAIN_TIMEOUT */
	const char *name;	      /* --name, or NULL: made from the command and the id */
	int startup_timeout_s;	      /* --startup-timeout (PTY runs only); 0: none */
	bool detached;		      /* --detached: in the background (session-detach.h) */
	int detach_fd;		      /* detached: the readiness pipe to the caller */
	/* The caller writes to the audit record once the command has ended (--rollback,
	 * --audit-integrity): its end record waits for session_finish. */
	bool audit_after_run;
};

struct session_hook {
	struct run_proxy *rp;
	struct run_portfwd *pf;
	bool child_userns; /* the child has its own user namespace */
	int error;	   /* negative errno when the proxy could not start */
	struct diag d;
	const struct sandbox_spec *spec; /* env credentials to wipe after the fork */
	char **env;
	struct session *sess;
};

struct session {
	const struct sandbox_spec *spec; /* borrowed, frozen: the placement is decided in it */
	struct session_opts o;
	struct sandbox_features f;
	struct audit_log *audit;
	char *audit_dir; /* kept for the attestation */
	/* The end (session_finish), begun as soon as the command's status is known: the
	 * proxy stopped, the end record syncing on its thread (session-audit.h). */
	bool ending;
	bool audit_ending;	      /* end holds the audit log */
	uint64_t audit_lost;	      /* events the trail could not take */
	char *audit_lost_dir;	      /* where, for the message */
	struct run_audit_end audit_end;
	struct secret attest_key;
	struct run_proxy rp;
	struct run_portfwd pf;
	struct run_tmp tmp;
	bool private_tmp; /* the plan mounts tmp over /tmp */
	struct sandbox_plan *plan;
	struct unotify *unotify;
	char **env;
	char *cwd;
	int state_fd;
	struct pty pty;
	char *name;
	bool record_due;  /* session.json goes in the state directory, at the fork */
	bool recorded;	  /* it was written there */
	int record_error; /* writing it failed: the child was stopped */
	struct session_record record;
	struct session_hook hook;
	struct session_ctl ctl;	     /* detached: control socket, replay ring, output log */
	struct refusal_scan refused; /* paths the command's terminal output says were refused */
	bool scanned;		     /* the command had a PTY: refused was fed */
	char **agent_argv; /* the command with nono's agent options (session-agent.h); or NULL */
};

/* Initialise s for spec (borrowed; it must outlive the session) with the probed features. */
void session_init(struct session *s, const struct sandbox_spec *spec,
		  const struct sandbox_features *f, const struct session_opts *o);
int session_prepare(struct session *s);
/* wrap: apply the sandbox to this process and exec; returns only on failure. */
_noreturn_ void session_exec(struct session *s);
/* Run the child to its end: 0 with *ret_code (the child's code or 128+signal), or -1. */
int session_supervise(struct session *s, int *ret_code);
/* The private /tmp when the command used it (for the footer), else NULL. */
const char *session_private_tmp(const struct session *s);

/*
 * For the footer, after session_supervise(): the paths the command's terminal output
 * named as refused (NULL when it had no PTY: plain stdout/stderr are the caller's own
 * fds, never read by nono), and the hosts the proxy refused (up to max, the number left
 * out in *ret_dropped).
 */
const struct refusal_scan *session_refused_paths(const struct session *s);
size_t session_refused_hosts(const struct session *s, struct run_refused_host *ret, size_t max,
			     unsigned *ret_dropped);
/* Release everything; ret is the run's exit code so far, the result the final one. */
int session_finish(struct session *s, int ret);
