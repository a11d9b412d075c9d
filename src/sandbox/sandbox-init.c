/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PID 1 of the sandbox's PID namespace (`nono __init PID [N]`), exec'd fresh by the
 * supervisor's clone once it has forked the agent (sandbox-exec.c fork_agent): it holds
 * nothing of the supervisor's memory or environment, is not dumpable, has no
 * capabilities, and sits outside the agent's Landlock domain (whose signal scope and
 * ptrace rules keep the agent away from it). With N, the run mediates AF_UNIX sockets:
 * PID 1 took the helpers' Landlock layer (the agent's is stacked on it) and the seccomp
 * filter before its exec, and the init forks one helper per channel at fds 3..3+N-1
 * when the supervisor first sends on it (serve()): one exec serves the init and the
 * helpers, and a command that needs none starts none.
 *
 * Its work: forward to the agent the signals other processes send it (the supervisor
 * forwards SIGTERM, SIGHUP, ... here), reap every orphan of the namespace, and exit with
 * the agent's status once the agent is gone. The kernel then kills every process left
 * in the namespace: nothing the agent started outlives it. With a fifth argument S (fd
 * 3+N, `nono __init PID N S`), the status is first written there as one byte: the
 * supervisor starts its end record while the namespace is torn down (which takes the
 * kernel a while: the mount namespace's unmount, an RCU grace period).
 */

#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Where the agent's status is reported before the exit, or -1. */
static int status_fd = -1;

_noreturn_ static void agent_ended(int status)
{
	unsigned char code = (unsigned char)status_code(status);

	if (status_fd >= 0)
		while (write(status_fd, &code, 1) < 0 && errno == EINTR)
			;
	_exit(code);
}

/* Reap every child that has ended; exit with the agent's status when it is one. */
static void reap(pid_t agent)
{
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, WNOHANG);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == ECHILD)
			_exit(1); /* the agent is not ours: nothing to wait for */
		if (w <= 0)
			return;
		if (w == agent)
			agent_ended(status);
	}
}

/* A signal for the agent: only what a process sent (kill, sigqueue: si_code <= 0). The
 * terminal's signals (SI_KERNEL) went to the whole foreground process group, the agent
 * included: forwarding them would deliver them twice. */
static void forward(pid_t agent, int sig, int code)
{
	if (code <= 0)
		(void)kill(agent, sig);
}

/*
 * Mediating: besides the signals, watch the n channels at fds 3.. and fork a helper for
 * one when the supervisor first sends on it (or close it when the supervisor has gone).
 * A run whose command never needs one starts no helper, and has none to end. The init
 * reads nothing from a channel: the forked helper does. Returns only when no signalfd
 * can be had, with every helper started (then the caller's loop serves the signals).
 */
static void serve(pid_t agent, size_t n, const sigset_t *all)
{
	struct pollfd pfd[1 + UNOTIFY_HELPERS];
	int sfd = signalfd(-1, all, SFD_CLOEXEC | SFD_NONBLOCK);

	if (sfd < 0) {
		for (size_t i = 0; i < n; i++) {
			(void)sandbox_helper_fork(3 + (int)i);
			(void)close(3 + (int)i);
		}
		return;
	}
	pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
	for (size_t i = 0; i < n; i++)
		pfd[1 + i] = (struct pollfd){.fd = 3 + (int)i, .events = POLLIN};
	for (;;) {
		struct signalfd_siginfo si;

		if (poll(pfd, 1 + n, -1) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (pfd[1 + i].fd < 0 || pfd[1 + i].revents == 0)
				continue;
			/* A failed fork closes the channel all the same: the supervisor's
			 * request then fails (EPIPE), answered as an error. */
			if (pfd[1 + i].revents & POLLIN)
				(void)sandbox_helper_fork(pfd[1 + i].fd);
			(void)close(pfd[1 + i].fd);
			pfd[1 + i].fd = -1;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap(agent);
			else
				forward(agent, (int)si.ssi_signo, si.ssi_code);
		}
	}
}

void sandbox_init_main(int argc, char **argv)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct none[2] = {{0, 0, 0}, {0, 0, 0}};
	sigset_t all;
	long agent = 0;
	size_t n = 0;

	/* First: nothing of ours may be read through /proc, ptrace or process_vm_readv. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	(void)syscall(SYS_capset, &h, none);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	if (argc < 3 || !argv[2][0])
		_exit(127);
	for (const char *c = argv[2]; *c; c++) {
		if (*c < '0' || *c > '9' || agent > 1000000000L)
			_exit(127);
		agent = agent * 10 + (*c - '0');
	}
	if (agent <= 1)
		_exit(127);
	/* Mediating: the helpers' channels are at fds 3..3+N-1 (sandbox-exec.c,
	 * exec_init_helpers). */
	if (argc >= 4) {
		if (argv[3][0] < '1' || argv[3][0] > '0' + UNOTIFY_HELPERS || argv[3][1])
			_exit(127);
		n = (size_t)(argv[3][0] - '0');
	}
	/* The status pipe, right above the channels (sandbox-exec.c, channels_at_3). */
	if (argc >= 5) {
		if (argv[4][0] != (char)('0' + 3 + n) || argv[4][1])
			_exit(127);
		status_fd = 3 + (int)n;
	}

	/* Blocked, every signal waits for sigwaitinfo(): none is lost, none kills PID 1. */
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, NULL);
	/* The agent may have ended before SIGCHLD was blocked (and that SIGCHLD dropped). */
	reap((pid_t)agent);
	if (n > 0)
		serve((pid_t)agent, n, &all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);

		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			reap((pid_t)agent);
			continue;
		}
		forward((pid_t)agent, sig, si.si_code);
	}
}
