/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"

/* Signals the supervisor takes over while the child runs. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

int exit_code_from_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/*
 * Without a PID namespace: this process is a child subreaper, so whatever the command
 * left behind (daemons included: setsid and double forks only reparent them to us)
 * is ours to end. Kill every child but the mediation helpers (unotify_free() ends
 * those), reap it, and repeat for the grandchildren that reparent to us meanwhile.
 */
static void kill_leftovers(const struct unotify *u)
{
	for (int round = 0; round < 4096; round++) {
		DIR *tasks = opendir("/proc/self/task");
		struct dirent *t;
		bool any = false;

		if (!tasks)
			return;
		while ((t = readdir(tasks))) {
			char path[320], buf[4096];
			ssize_t n;
			int fd;

			if (t->d_name[0] == '.')
				continue;
			(void)snprintf(path, sizeof(path), "/proc/self/task/%s/children",
				       t->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			(void)close(fd);
			if (n <= 0)
				continue;
			buf[n] = 0;
			for (char *p = buf, *end; *p; p = end) {
				uint64_t pid;
				end = p + strcspn(p, " \n");
				if (*end)
					*end++ = 0;
				if (parse_u64(p, INT32_MAX, &pid) < 0 || pid == 0 ||
				    unotify_is_helper(u, (pid_t)pid))
					continue;
				(void)kill((pid_t)pid, SIGKILL);
				while (waitpid((pid_t)pid, NULL, __WALL) < 0 && errno == EINTR)
					;
				any = true;
			}
		}
		(void)closedir(tasks);
		if (!any)
			return;
	}
}

/* After the terminal's modes are back: why the command was ended. */
static void startup_warning(const struct supervise_opts *o)
{
	const char *hint = altscreen_profile_hint(o->path);
	log_warning("'%s' did not enter the alternate screen (start a full-screen interface) "
		    "within --startup-timeout %d s: terminated (SIGKILL)%s%s%s; "
		    "'--startup-timeout 0' disables the limit",
		    o->path, o->pty->startup_timeout_s,
		    hint ? "; the recommended built-in profile for it is '--profile " : "",
		    hint ? hint : "", hint ? "'" : "");
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

struct child_args {
	const struct supervise_opts *o;
	const sigset_t *old;
	int err_w;
	int status_w;
};

/*
 * The sandboxed child, in our memory until it execs (sandbox_spawn()): async-signal-safe
 * only, nothing written but its own stack. Not instrumented by AddressSanitizer, which
 * would take this stack for the supervisor's (see src/sandbox/meson.build).
 */
__attribute__((no_sanitize("address"))) static int child_main(void *arg)
{
	const struct child_args *a = arg;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	sandbox_child_default_handlers();
	(void)sigprocmask(SIG_SETMASK, a->old, NULL);
	if (a->o->pty && pty_child_setup(a->o->pty) < 0)
		_exit(1);
	sandbox_child_exec(a->o->plan, a->o->path, a->o->argv, a->o->envp, a->o->cwd, a->err_w,
			   a->status_w);
}

/* Fail closed: the command's connect/bind calls would hang or go unchecked. */
static void mediation_failed(pid_t pid, int r)
{
	log_error_errno(r, "cannot start AF_UNIX socket mediation");
	(void)kill(pid, SIGKILL);
}

int supervise_run(const struct supervise_opts *o, int *ret_exit, struct sandbox_exec_error *ret_err)
{
	_cleanup_close_ int err_r = -EBADF, err_w = -EBADF, sfd = -EBADF, pidfd = -EBADF,
			   status_r = -EBADF, status_w = -EBADF;
	sigset_t mask, old;
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	err_r = pipefd[0];
	err_w = pipefd[1];

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	if (o->pty) {
		/* The child's job control is its own terminal's: ours only forward. */
		sigaddset(&mask, SIGTSTP);
		sigaddset(&mask, SIGCONT);
	}
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		int r = -errno;
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		if (o->pty)
			pty_close(o->pty);
		return r;
	}

	struct sandbox_plan_info info;
	sandbox_plan_get_info(o->plan, &info);
	/* No PID namespace to end the command's tree with it: adopt the orphans instead. */
	if (!info.pidns)
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/* The init's report of the command's status, ahead of the namespace's teardown. */
	if (info.pidns && !o->pty && o->on_status) {
		if (pipe2(pipefd, O_CLOEXEC) == 0) {
			status_r = pipefd[0];
			status_w = pipefd[1];
		}
	}
	struct child_args ca = {o, &old, err_w, status_w};
	struct sandbox_exec_error e = {STEP_NONE, 0, -1};
	pid_t pid = -1;
	int rr = sandbox_spawn(o->plan, child_main, &ca, &err_w, err_r, &pid, &e);
	if (rr < 0) {
		if (pid > 0)
			(void)kill(pid, SIGKILL);
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		if (o->pty)
			pty_close(o->pty);
		return rr;
	}

	status_w = safe_close(status_w); /* the init's copy is the only one: EOF if it dies */
	/* The child has exec'd the command (or failed): nothing runs in our memory now. */
	if (o->pty)
		(void)pty_parent_start(o->pty); /* not a terminal after all: relay as is */
	unotify_after_fork(o->unotify);
	if (o->after_fork)
		o->after_fork(o->userdata, pid);

	int mediation = 0;
	if (rr == 0 && o->unotify && (mediation = unotify_start(o->unotify)) < 0)
		mediation_failed(pid, mediation);
	bool started = rr == 0 && mediation >= 0, after_exec_due = false;
	uint64_t after_exec_at = 0;
	if (started && o->after_exec && o->after_exec_grace_ms > 0) {
		after_exec_due = true;
		after_exec_at = now_ms() + (uint64_t)o->after_exec_grace_ms;
	} else if (started && o->after_exec && o->after_exec(o->userdata) < 0) {
		(void)kill(pid, SIGKILL);
		started = false;
	}
	if (started && o->on_ready && o->on_ready(o->userdata, pid) < 0)
		(void)kill(pid, SIGKILL);

	pidfd = pidfd_open_(pid);
	/* Without a pidfd the loop below polls the signalfd only: serve from the start. */
	if (mediation >= 0 && pidfd < 0 && (mediation = unotify_serve(o->unotify, POLLIN)) < 0)
		mediation_failed(pid, mediation);
	int status = 0;
	bool startup_killed = false;
	for (;;) {
		/* The mediation's workers start with its first notification. */
		struct pollfd p[4 + PTY_POLLFDS_MAX] = {{sfd, POLLIN, 0},
							{pidfd, POLLIN, 0},
							{status_r, POLLIN, 0},
							{unotify_wait_fd(o->unotify), POLLIN, 0}};
		int np = pidfd >= 0 ? 4 : 1;
		int nt = o->pty ? pty_pollfds(o->pty, p + np) : 0;
		int timeout = -1;
		if (after_exec_due) {
			uint64_t now = now_ms();
			timeout = now >= after_exec_at ? 0 : (int)(after_exec_at - now);
		}
		if (pidfd >= 0) {
			if (poll(p, (nfds_t)(np + nt), timeout) < 0 && errno != EINTR)
				break;
			if (p[2].revents) {
				unsigned char code;
				ssize_t n = read(status_r, &code, 1);
				if (n == 1) {
					/* Its fsyncs must not race the end record now begun. */
					after_exec_due = false;
					o->on_status(o->userdata, code);
				}
				if (n >= 0 || errno != EINTR)
					status_r = safe_close(status_r); /* one report, or none */
			}
			if (p[3].revents && mediation >= 0 &&
			    (mediation = unotify_serve(o->unotify, p[3].revents)) < 0)
				mediation_failed(pid, mediation);
			if (p[1].revents & POLLIN)
				break;
		} else {
			(void)poll(p, (nfds_t)(np + nt),
				   timeout >= 0 && timeout < 200 ? timeout : 200);
			if (waitpid(pid, &status, WNOHANG) == pid)
				goto reaped;
		}
		if (after_exec_due && now_ms() >= after_exec_at) {
			/* The command runs on: its start record's fsyncs now. */
			after_exec_due = false;
			if (o->after_exec(o->userdata) < 0)
				(void)kill(pid, SIGKILL);
		}
		if (nt > 0)
			pty_relay(o->pty, p + np, nt);
		if (o->pty && o->pty->startup_expired && !startup_killed) {
			/* --startup-timeout: no alternate screen in time (warned below). */
			startup_killed = true;
			(void)kill(pid, SIGKILL);
		}
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				continue;
			/* The child's terminal is ours to size; the kernel tells the child. */
			if (o->pty && si.ssi_signo == SIGWINCH) {
				pty_resize(o->pty);
				continue;
			}
			/*
			 * A signal the terminal generated (si_pid 0) already reached the
			 * child, which shares our process group; forward only the ones sent
			 * to us by another process.
			 */
			if (!o->pty &&
			    (si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT ||
			     si.ssi_signo == SIGWINCH) &&
			    si.ssi_pid == 0)
				continue;
			(void)kill(pid, (int)si.ssi_signo);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
reaped:
	if (!info.pidns) {
		kill_leftovers(o->unotify);
		(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	}
	if (o->pty) {
		/* Nothing of the child's is left to write: take what it wrote, then the
		 * user's terminal gets its modes back before anything else is printed. */
		pty_drain(o->pty);
		pty_close(o->pty);
	}
	if (startup_killed)
		startup_warning(o);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);

	if (rr > 0) {
		*ret_err = e;
		*ret_exit = 1;
		return 0;
	}
	ret_err->step = STEP_NONE;
	*ret_exit = mediation < 0 ? 1 : exit_code_from_status(status);
	return 0;
}
