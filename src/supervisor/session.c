/* SPDX-License-Identifier: Apache-2.0 */
/* The session of one supervised run: see session.h. */
#include "supervisor/session.h"

#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "query/query.h"
#include "supervisor/session-agent.h"
#include "supervisor/session-attest.h"
#include "supervisor/session-audit.h"
#include "supervisor/session-detach.h"
#include "supervisor/session-env-credentials.h"
#include "supervisor/supervisor.h"

extern char **environ;

/* The exit codes nono itself uses (cli/cli.h: EXIT_NONO_OK / EXIT_NONO_ERROR). */
enum {
	SESSION_EXIT_OK = 0,
	SESSION_EXIT_ERROR = 1,
};

void session_init(struct session *s, const struct sandbox_spec *spec,
		  const struct sandbox_features *f, const struct session_opts *o)
{
	*s = (struct session){
	    .spec = spec,
	    .o = *o,
	    .f = *f,
	    .rp = {.pid = -1, .sock = {-EBADF, -EBADF}, .stop_fd = -EBADF},
	    .pf = RUN_PORTFWD_INIT,
	    .tmp = RUN_TMP_INIT,
	    .state_fd = -EBADF,
	    .pty = PTY_INIT,
	    .ctl = {.dir_fd = -1, .listen_fd = -1, .client_fd = -1, .log_fd = -1},
	};
	s->pty.drain_ms = o->pty_drain_ms;
	if (!o->detached)
		s->o.detach_fd = -1;
	s->pty.startup_timeout_s = o->startup_timeout_s;
	if (o->attest_key) {
		s->attest_key = *o->attest_key;
		*o->attest_key = (struct secret){0};
	}
	s->o.attest_key = NULL;
	s->hook.rp = &s->rp;
	s->hook.pf = &s->pf;
	s->hook.sess = s;
}

static int log_diag(int r, const struct diag *d)
{
	char buf[2048];
	log_error("%s", d->msg[0] ? diag_format(d, buf, sizeof(buf)) : strerror(-r));
	return -1;
}

static int oom(void)
{
	log_error_errno(-ENOMEM, "out of memory");
	return -1;
}

/* Replace any inherited NONO_SANDBOX_STATE_FD (a nested run describes the inner sandbox). */
static int set_state_env(char ***env, int fd)
{
	char var[64];
	size_t k = 0;
	for (size_t i = 0; (*env)[i]; i++) {
		if (startswith((*env)[i], SANDBOX_STATE_FD_ENV "="))
			free((*env)[i]);
		else
			(*env)[k++] = (*env)[i];
	}
	(*env)[k] = NULL;
	(void)snprintf(var, sizeof(var), "%s=%d", SANDBOX_STATE_FD_ENV, fd);
	return strv_extend(env, var);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* --name must be free among the live sessions of this home; a crashed one's is free. */
static int prepare_name(struct session *s)
{
	struct session_record *v = NULL;
	size_t n = 0;
	if (s->o.name) {
		if (!session_name_valid(s->o.name)) {
			log_error("'--name %s': a session name is 1-%d letters, digits, '.', '_' "
				  "or '-', not starting with '.' or '-'",
				  s->o.name, SESSION_NAME_MAX);
			return -1;
		}
		(void)session_records_load(getenv("HOME"), &v, &n);
		for (size_t i = 0; i < n; i++)
			if (v[i].state == SESSION_RUNNING && streq(v[i].name, s->o.name)) {
				log_error(
				    "'--name %s': a running session already has that name (%s)",
				    s->o.name, v[i].id);
				session_records_free(v, n);
				free(v);
				return -1;
			}
		session_records_free(v, n);
		free(v);
	}
	return 0;
}

/* The record in the state directory (the private tmp's session directory). */
static int prepare_record(struct session *s)
{
	struct stat st;
	char gen[SESSION_NAME_MAX + 1];
	if (s->o.detached && (s->tmp.session_fd < 0 || fstat(s->tmp.session_fd, &st) < 0)) {
		/* Its control socket and output log live in the state directory. */
		log_error("'--detached' needs the session's state directory, which comes with "
			  "the private /tmp: not with --shared-tmp or without user namespaces");
		return -1;
	}
	if (s->o.wrap || s->tmp.session_fd < 0 || fstat(s->tmp.session_fd, &st) < 0)
		return 0; /* no supervisor, or no state directory (--shared-tmp, no mount ns) */
	if (s->o.name)
		s->name = strdup(s->o.name);
	else {
		/* The command's name (safe characters only) and the id's random tail. */
		const char *cmd = base_name(s->o.exe);
		size_t k = 0, idl = strlen(s->tmp.id);
		for (; cmd[k] && k < 32; k++) {
			char c = cmd[k];
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '_' ||
				  (k > 0 && (c == '.' || c == '-'));
			gen[k] = ok ? c : '_';
		}
		(void)snprintf(gen + k, sizeof(gen) - k, "-%s",
			       s->tmp.id + (idl > 4 ? idl - 4 : 0));
		s->name = strdup(gen);
	}
	if (!s->name)
		return oom();
	s->record = (struct session_record){
	    .id = s->tmp.id,
	    .name = s->name,
	    .command = (char *)base_name(s->o.exe),
	    .state = SESSION_RUNNING,
	    .supervisor_pid = getpid(),
	    .supervisor_start = session_pid_start(getpid()),
	    .started = (int64_t)time(NULL),
	};
	/* Written once, right after the fork (after_fork_run), with the detail and the
	 * child's pid: each rewrite was an inode, a rename over the old one and a discard. */
	s->record_due = true;
	if (s->audit && audit_set_session_name(s->audit, s->name) < 0)
		return oom();
	log_info("session %s (%s)", s->record.id, s->name);
	return 0;
}

/* Write the record atomically (temp file, rename): at the fork, and at the end. */
static int write_record(struct session *s)
{
	struct stat st;
	if (fstat(s->tmp.session_fd, &st) < 0)
		return -errno;
	return session_record_write(s->tmp.session_fd, &s->record, geteuid() == 0 && st.st_uid != 0,
				    st.st_uid, st.st_gid);
}

/* At the end: the record stays with what the session kept (its /tmp), else it goes. */
static void finish_record(struct session *s, int code)
{
	if (!s->recorded)
		return;
	s->recorded = false;
	/* A detached session keeps its record beside its output log (nono logs). */
	if (!s->o.detached && !run_tmp_used(s->tmp.tmp) && !run_tmp_used(s->tmp.var_tmp)) {
		session_record_remove(s->tmp.session_fd);
		return;
	}
	s->record.state = SESSION_EXITED;
	s->record.ended = (int64_t)time(NULL);
	s->record.exit_code = code;
	(void)write_record(s);
}

/* The audit record comes first: the proxy appends to the session's event log. */
static int prepare_audit(struct session *s)
{
	struct diag d = {{0}};
	char buf[2048];
	if (!s->o.audit)
		return 0;
	int r = run_audit_open(s->spec, s->o.cmdv, s->o.audit_integrity, &s->audit, &d);
	if (r < 0) {
		log_error("cannot record the audit trail: %s",
			  d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return -1;
	}
	log_info("audit session %s", audit_session_id(s->audit));
	s->rp.audit = s->audit;
	if (s->attest_key.data && !(s->audit_dir = strdup(audit_session_dir(s->audit))))
		return oom();
	struct json_t *ts = TAKE_PTR(s->o.trust_summary);
	if (ts && audit_set_trust(s->audit, ts) < 0)
		return oom();
	return 0;
}

static int prepare_proxy(struct session *s)
{
	const struct sandbox_spec *spec = s->spec;
	struct diag d = {{0}};
	char buf[2048];
	if (spec->net != NET_PROXY)
		return 0;
	int r = run_proxy_prepare(&s->rp, spec, &s->f, &d);
	if (r < 0) {
		log_error("cannot start the network proxy: %s",
			  d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return -1;
	}
	/* A network profile's bundled credentials are optional: one whose key does not
	 * load is left out of this session, with a note under -v. */
	for (char **x = s->rp.creds ? s->rp.creds->dropped : NULL; x && x[0] && x[1]; x += 2)
		log_info("network profile '%s' bundles credential '%s', not enabled: %s",
			 strempty(spec->proxy.network_profile), x[0], x[1]);
	if (s->audit)
		(void)audit_set_proxy_placement(s->audit, s->rp.netns ? "network-namespace"
								      : "host-loopback");
	log_info("network proxy on 127.0.0.1:%u (%s)", s->rp.port,
		 s->rp.netns ? "inside a private network namespace"
			     : "host loopback, Landlock port rules");
	r = run_portfwd_prepare(&s->pf, spec, s->rp.netns, &d);
	if (r < 0)
		return log_diag(r, &d);
	return 0;
}

/* The private /tmp lives in the session's directory, named by the audit session id. */
static int prepare_tmp(struct session *s)
{
	const struct sandbox_spec *spec = s->spec;
	struct diag d = {{0}};
	if (!spec->placement.decided) {
		log_error("the placement was not decided: policy_resolve had no probed features");
		return -1;
	}
	if (spec->placement.private_tmp && !s->o.wrap) {
		int r = run_tmp_create(getenv("HOME"), s->audit ? audit_session_id(s->audit) : NULL,
				       &s->tmp, &d);
		if (r < 0)
			return log_diag(r, &d);
	} else if (!spec->placement.mountns)
		log_info("no mount namespace (%s): the root is not read-only outside the write "
			 "grants and /tmp is the host's",
			 strempty(spec->placement.reason));
	return 0;
}

static int prepare_plan(struct session *s)
{
	const struct sandbox_spec *spec = s->spec;
	_cleanup_strv_free_ char **warnings = NULL;
	struct diag d = {{0}};
	/* wrap leaves no process behind to remove directories: a tmpfs goes with it. */
	const struct sandbox_tmp tmp = {s->tmp.tmp, s->tmp.var_tmp, .tmpfs = s->o.wrap};
	int r =
	    sandbox_prepare_session(spec, &s->f, s->rp.netns ? SANDBOX_NETNS : 0,
				    s->tmp.tmp || s->o.wrap ? &tmp : NULL, &s->plan, &warnings, &d);
	if (r < 0)
		return log_diag(r, &d);
	struct sandbox_plan_info pi;
	sandbox_plan_get_info(s->plan, &pi);
	s->private_tmp = pi.private_tmp && s->tmp.tmp;
	if (pi.private_tmp && !s->tmp.tmp)
		log_info("private /tmp and /var/tmp: fresh tmpfs mounts, gone with the command");
	else if (s->private_tmp)
		log_info("private /tmp and /var/tmp, kept after the run: %s, %s", s->tmp.tmp,
			 s->tmp.var_tmp);
	STRV_FOREACH(w, warnings)
	log_warning("%s", *w);
	if (spec->net == NET_PROXY) {
		r = sandbox_plan_set_proxy_port(s->plan, s->rp.port);
		if (r >= 0 && s->rp.netns)
			r = sandbox_plan_set_netns_listener(s->plan, s->rp.sock[1], s->rp.port);
		if (r >= 0)
			r = run_portfwd_plan(&s->pf, s->plan);
		struct sandbox_plan_info info;
		sandbox_plan_get_info(s->plan, &info);
		s->hook.child_userns = info.userns;
		if (r < 0) {
			log_error_errno(r, "cannot confine the child to the proxy port");
			return -1;
		}
	}
	return 0;
}

/* AF_UNIX path sockets and protected names: mediated by seccomp user notification. */
static int prepare_mediation(struct session *s)
{
	const struct sandbox_spec *spec = s->spec;
	const struct sandbox_features *f = &s->f;
	bool wrap = s->o.wrap;
	bool nested = !wrap && f->seccomp && f->seccomp_notify && sandbox_notify_listener_taken();
	if (nested)
		/* Still mediated, by the enclosing sandbox's supervisor under its rules. */
		log_warning("nested in a sandbox that already mediates AF_UNIX path sockets (the "
			    "kernel allows one mediator): its socket rules apply here, not this "
			    "run's");
	else if (!wrap && f->seccomp && f->seccomp_notify) {
		int r = unotify_new(spec, s->plan, &s->unotify);
		if (r < 0) {
			log_error_errno(r, "cannot prepare AF_UNIX socket mediation");
			return -1;
		}
	} else if (!wrap && (spec->n_unix_grants > 0 || spec->net != NET_ALLOW) &&
		   !spec->best_effort) {
		log_error("the kernel lacks seccomp user notification, which AF_UNIX socket "
			  "mediation needs under --block-net, a proxy or --allow-unix-socket*");
		return -1;
	} else if (!wrap && unotify_names_mediated(spec) && !spec->best_effort) {
		log_error("the kernel lacks seccomp user notification, which keeps protected "
			  "names inside a write grant from being created or replaced; narrow the "
			  "grant");
		return -1;
	} else if (!wrap)
		log_warning("named AF_UNIX sockets are not mediated: the kernel lacks seccomp "
			    "user notification");
	return 0;
}

/* The child's environment: filtered, with env credentials, proxy variables and state. */
static int prepare_environ(struct session *s)
{
	const struct sandbox_spec *spec = s->spec;
	struct diag d = {{0}};
	{
		_cleanup_strv_free_ char **removed = NULL;
		int r = sandbox_env_filter(environ, spec->pass_env, &s->env, &removed);
		if (r < 0)
			return oom();
		STRV_FOREACH(n, removed)
		log_info("ambient credential %s removed from the environment (keep it with "
			 "--pass-env %s)",
			 *n, *n);
	}
	s->hook.spec = spec;
	int r = run_env_credentials_load(spec, &s->env, &d);
	if (r < 0)
		return log_diag(r, &d);
	if (spec->net == NET_PROXY && run_proxy_environ(&s->rp, &s->env) < 0)
		return oom();
	struct sandbox_plan_info pi;
	sandbox_plan_get_info(s->plan, &pi);
	if (run_agent_files_prepare(spec, session_private_tmp(s), geteuid() == 0 && !pi.userns,
				    &s->env) < 0)
		return oom();
	if (run_agent_argv(spec, s->o.cmdv, &s->env, &s->agent_argv) < 0)
		return oom();
	/* why --self: the spec, sealed in a memfd the child inherits at this number. */
	r = sandbox_state_publish(spec, &s->state_fd);
	if (r < 0) {
		log_error_errno(r, "cannot publish the sandbox state for 'nono why --self'");
		return -1;
	}
	sandbox_plan_keep_fd(s->plan, s->state_fd);
	if (set_state_env(&s->env, s->state_fd) < 0)
		return oom();
	s->cwd = getcwd(NULL, 0);
	return 0;
}

static const char *access_name(unsigned a)
{
	return a == FS_RW ? "readwrite" : a == FS_WRITE ? "write" : "read";
}

/* What `nono inspect` shows: grants, network, placement, profile. No secret goes in:
 * credentials by service name only, never their source or value. */
static json_t *record_detail(const struct session *s)
{
	const struct sandbox_spec *spec = s->spec;
	struct sandbox_plan_info pi;
	json_t *grants = json_array(), *creds = json_array(), *hosts = json_array();
	json_t *net = NULL, *placement = NULL, *d = NULL;
	sandbox_plan_get_info(s->plan, &pi);
	for (size_t i = 0; grants && i < spec->n_grants; i++)
		if (spec->grants[i].exists &&
		    json_array_append_new(grants,
					  json_pack("{s:s, s:s, s:b}", "path", spec->grants[i].path,
						    "access", access_name(spec->grants[i].access),
						    "file", spec->grants[i].is_file)) < 0)
			goto fail;
	for (size_t i = 0; creds && i < spec->proxy.n_credentials; i++)
		if (json_array_append_new(creds, json_string(spec->proxy.credentials[i].name)) < 0)
			goto fail;
	for (char **h = spec->proxy.allow_domains; hosts && h && *h; h++)
		if (json_array_append_new(hosts, json_string(*h)) < 0)
			goto fail;
	if (!grants || !creds || !hosts)
		goto fail;
	net = json_pack("{s:s}", "mode", net_mode_to_string(spec->net));
	if (net && spec->net == NET_PROXY &&
	    (json_object_set_new(net, "proxy_port", json_integer(s->rp.port)) < 0 ||
	     json_object_set_new(net, "proxy_placement",
				 json_string(s->rp.netns ? "network-namespace" : "host-loopback")) <
		 0 ||
	     (spec->proxy.network_profile &&
	      json_object_set_new(net, "network_profile",
				  json_string(spec->proxy.network_profile)) < 0) ||
	     json_object_set(net, "allow_domains", hosts) < 0 ||
	     json_object_set(net, "credentials", creds) < 0))
		goto fail;
	placement = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:i}", "user_namespace", pi.userns,
			      "mount_namespace", pi.mountns, "network_namespace", pi.netns,
			      "pid_namespace", pi.pidns, "ipc_namespace", pi.ipcns,
			      "read_only_root", pi.ro_root, "landlock_abi", pi.landlock_abi);
	if (!net || !placement)
		goto fail;
	if (json_object_set_new(placement, "private_tmp",
				s->private_tmp ? json_string(s->tmp.tmp) : json_null()) < 0)
		goto fail;
	/* "o" takes the references, on failure too. */
	d = json_pack("{s:o, s:o, s:o, s:o}", "profile",
		      spec->profile_name ? json_string(spec->profile_name) : json_null(), "network",
		      net, "grants", grants, "placement", placement);
	net = placement = grants = NULL;
fail:
	json_decref(grants);
	json_decref(creds);
	json_decref(hosts);
	json_decref(net);
	json_decref(placement);
	return d;
}

/* Once the plan is made: what inspect shows joins the record. */
static int prepare_detail(struct session *s)
{
	if (!s->record_due)
		return 0;
	s->record.detail = record_detail(s);
	if (!s->record.detail)
		return oom();
	int r = session_record_reserve(s->tmp.session_fd, &s->record);
	if (r < 0) {
		log_error_errno(r, "cannot set aside space for the session record in %s/..",
				s->tmp.tmp);
		return -1;
	}
	return 0;
}

int session_prepare(struct session *s)
{
	if (prepare_name(s) < 0 || prepare_audit(s) < 0 || prepare_proxy(s) < 0 ||
	    prepare_tmp(s) < 0 || prepare_record(s) < 0 || prepare_plan(s) < 0 ||
	    prepare_mediation(s) < 0 || prepare_environ(s) < 0 || prepare_detail(s) < 0)
		return -1;
	return 0;
}

void session_exec(struct session *s)
{
	/* No parent stays behind: apply in place and exec. Fds above 2 are closed. */
	sandbox_child_exec(s->plan, s->o.exe, s->agent_argv ? s->agent_argv : s->o.cmdv, s->env,
			   s->cwd, SANDBOX_ERR_STDERR, -1);
}

/* In the supervisor right after fork: namespace mode takes the child's listener over. */
static void after_fork_proxy(void *userdata, int child_pid)
{
	struct session_hook *h = userdata;
	int r = run_proxy_receive_listener(h->rp, &h->d);
	if (r >= 0)
		r = run_portfwd_start(h->pf, child_pid, h->child_userns, &h->d);
	if (r < 0 && r != -EPIPE) {
		/* Fail closed: a child whose proxy is missing must not run on. */
		h->error = r;
		(void)kill(child_pid, SIGKILL);
	}
}

/* In the supervisor right after fork: the child has its copy of the credentials. */
static void after_fork_run(void *userdata, int child_pid)
{
	struct session_hook *h = userdata;
	struct session *s = (struct session *)((char *)h - offsetof(struct session, hook));
	run_env_credentials_wipe(h->spec, h->env);
	/* The record, with the child's pid for inspect. Without it ps, inspect, attach and
	 * prune would not know the session: fail closed, as a failed start does. */
	if (s->record_due) {
		s->record.child_pid = child_pid;
		s->record_error = write_record(s);
		s->recorded = s->record_error == 0;
		if (s->record_error < 0) {
			(void)kill(child_pid, SIGKILL);
			return;
		}
	}
	if (h->rp->netns)
		after_fork_proxy(userdata, child_pid);
}

/* Detached, once the command runs: the control side opens, the caller is told. */
static int on_ready_detached(void *userdata, int child_pid)
{
	struct session *s = ((struct session_hook *)userdata)->sess;
	int r = session_ctl_open(&s->ctl, s->tmp.session_fd, s->pty.master, child_pid, s->record.id,
				 s->name, s->audit);
	if (r < 0) {
		log_error_errno(r, "cannot open the session's control socket in %s/..", s->tmp.tmp);
		return -1;
	}
	session_detach_ready(&s->o.detach_fd, s->record.id, s->name);
	return 0;
}

/*
 * Off the child's path: the start record reaches the disk once the command runs, or
 * with the end record (durable before nono exits) when the command ends first. A
 * command that ends within the grace pays one record's fsyncs, not two. Not for a
 * detached session: its caller is told once the start record is durable.
 */
#define SESSION_SYNC_GRACE_MS 50

static int after_exec_run(void *userdata)
{
	struct session_hook *h = userdata;
	int r = h->rp->audit ? audit_sync(h->rp->audit) : 0;
	if (r < 0)
		log_error_errno(r, "cannot record the audit trail: the start record did not reach "
				   "the disk; the command is stopped");
	return r;
}

static void print_exec_error(const struct sandbox_exec_error *e, const char *path)
{
	if (e->step == STEP_EXEC)
		log_error("cannot execute '%s' inside the sandbox: %s%s", path, strerror(e->err),
			  e->err == EACCES ? " (is its directory granted? try 'nono why --path "
					     "<file> --op read')"
					   : "");
	else
		log_error("sandbox set-up failed at %s: %s", sandbox_step_to_string(e->step),
			  strerror(e->err));
}

/*
 * The end's first half, which needs only the command's status: the proxy and the port
 * forwards stop (their last events are in the chain: the head and the loss count are
 * final), and the end record starts syncing on its own thread. Called when the init
 * reports the status (before the namespace's teardown), else by session_finish.
 */
static void end_begin(struct session *s, int status)
{
	if (s->ending)
		return;
	s->ending = true;
	run_portfwd_release(&s->pf);
	run_proxy_stop(&s->rp); /* the refused hosts stay for the footer */
	run_env_credentials_wipe(s->spec, s->env);
	s->rp.audit = NULL;
	if (!s->audit)
		return;
	s->audit_lost = audit_events_lost(s->audit);
	if (s->audit_lost > 0)
		s->audit_lost_dir = strdup(audit_session_dir(s->audit));
	s->audit_ending = true;
	run_audit_end_begin(&s->audit_end, TAKE_PTR(s->audit), status);
}

static void on_status_run(void *userdata, int code)
{
	struct session_hook *h = userdata;
	end_begin(h->sess, code);
}

int session_supervise(struct session *s, int *ret_code)
{
	char buf[2048];
	struct supervise_opts so = {
	    .plan = s->plan,
	    .path = s->o.exe,
	    .argv = s->agent_argv ? s->agent_argv : s->o.cmdv,
	    .envp = s->env,
	    .cwd = s->cwd,
	    .after_fork = after_fork_run,
	    .after_exec = after_exec_run,
	    .after_exec_grace_ms = SESSION_SYNC_GRACE_MS,
	    .on_status = s->o.audit_after_run ? NULL : on_status_run,
	    .userdata = &s->hook,
	    .unotify = s->unotify,
	};
	struct sandbox_exec_error e = {0};
	int code = 0;
	s->hook.env = s->env;
	/* Interactive: a terminal of its own for the child, relayed by us. Not for a
	 * background job (it may not change the terminal's modes) nor when the output
	 * goes elsewhere (a pipe gets the command's bytes unchanged). */
	if (s->o.detached) {
		/* In the background: the PTY is the only terminal, relayed to nono attach. */
		s->pty.in = s->pty.out = -1;
		int r = pty_open(&s->pty);
		if (r < 0) {
			log_error_errno(r,
					"cannot open a pseudo-terminal for the detached command");
			return -1;
		}
		s->pty.ctl = &s->ctl;
		so.pty = &s->pty;
		so.on_ready = on_ready_detached;
		so.after_exec_grace_ms = 0;
	} else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
		   tcgetpgrp(STDIN_FILENO) == getpgrp()) {
		int r = pty_open(&s->pty);
		if (r < 0)
			/* E.g. nested in a sandbox without /dev/ptmx: today's inheritance. */
			log_info("no pseudo-terminal for the command (%s): it shares nono's",
				 strerror(-r));
		else {
			so.pty = &s->pty;
			refusal_scan_init(&s->refused);
			s->pty.scan = &s->refused;
			s->scanned = true;
		}
	}
	if (s->o.startup_timeout_s > 0 && !so.pty)
		log_info("--startup-timeout not applied: the command has no terminal of its own "
			 "(stdin or stdout is not a terminal)");
	int r = supervise_run(&so, &code, &e);
	if (s->o.detached)
		session_ctl_close(&s->ctl, code); /* the attached client learns the status */
	run_agent_files_remove(s->spec, session_private_tmp(s));
	sandbox_plan_remove_mountpoints(s->plan);
	if (s->scanned)
		refusal_scan_flush(&s->refused);
	if (r < 0) {
		log_error_errno(r, "cannot start the sandboxed command");
		return -1;
	}
	if (s->record_error < 0) {
		log_error_errno(s->record_error, "cannot write the session record in %s/..",
				s->tmp.tmp);
		return -1;
	}
	if (s->hook.error < 0) {
		log_error("cannot start the network proxy: %s",
			  s->hook.d.msg[0] ? diag_format(&s->hook.d, buf, sizeof(buf))
					   : strerror(-s->hook.error));
		return -1;
	}
	if (e.step != STEP_NONE) {
		print_exec_error(&e, s->o.exe);
		return -1;
	}
	*ret_code = code;
	return 0;
}

const char *session_private_tmp(const struct session *s)
{
	return s->private_tmp ? s->tmp.tmp : NULL;
}

const struct refusal_scan *session_refused_paths(const struct session *s)
{
	return s->scanned ? &s->refused : NULL;
}

size_t session_refused_hosts(const struct session *s, struct run_refused_host *ret, size_t max,
			     unsigned *ret_dropped)
{
	return run_proxy_refused_hosts(&s->rp, ret, max, ret_dropped);
}

int session_finish(struct session *s, int ret)
{
	char buf[2048];
	session_detach_failed(&s->o.detach_fd, ret == 0 ? 1 : ret);
	session_ctl_close(&s->ctl, ret);
	/* What session.json records is the command's own status (an incomplete trail fails
	 * the run, whatever that status was). */
	end_begin(s, ret);
	run_proxy_release(&s->rp);
	if (s->audit_lost > 0) {
		log_error("the audit trail could not be written (%llu events lost, recorded as "
			  "events_lost in %s/session.json where it still fit): network requests "
			  "were refused from then on; the command exited with status %d",
			  (unsigned long long)s->audit_lost, strempty(s->audit_lost_dir), ret);
		if (ret == SESSION_EXIT_OK)
			ret = SESSION_EXIT_ERROR;
	}
	/* While the end record syncs: the session directory, its /tmp, the plan's fds. */
	run_agent_files_remove(s->spec, session_private_tmp(s));
	sandbox_plan_remove_mountpoints(s->plan);
	finish_record(s, ret);
	run_tmp_finish(&s->tmp);
	s->unotify = unotify_free(s->unotify);
	s->plan = sandbox_plan_free(s->plan);
	if (s->audit_ending) {
		s->audit_ending = false;
		if (run_audit_end_finish(&s->audit_end) < 0) {
			log_error("cannot finish the audit record: %s",
				  diag_format(&s->audit_end.d, buf, sizeof(buf)));
			if (ret == SESSION_EXIT_OK)
				ret = SESSION_EXIT_ERROR;
		} else if (s->audit_dir && run_attest_sign(s->audit_dir, &s->attest_key) < 0 &&
			   ret == SESSION_EXIT_OK)
			ret = SESSION_EXIT_ERROR; /* run_attest_sign printed why */
		run_audit_prune();
	}
	free(s->audit_lost_dir);
	s->audit_lost_dir = NULL;
	if (s->o.trust_summary)
		json_decref(s->o.trust_summary);
	s->env = strv_free(s->env);
	s->agent_argv = strv_free(s->agent_argv);
	free(s->cwd);
	s->cwd = NULL;
	free(s->audit_dir);
	s->audit_dir = NULL;
	s->state_fd = safe_close(s->state_fd);
	pty_close(&s->pty);
	free(s->name);
	s->name = NULL;
	json_decref(s->record.detail);
	s->record.detail = NULL;
	secret_wipe(&s->attest_key);
	return ret;
}
