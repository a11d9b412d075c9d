/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PID 1 of the sandbox's PID namespace (`nono __init PID [N]`), exec'd fresh by the
 * supervisor's clone once it has forked the agent (sandbox-exec.c fork_agent): it holds
 * nothing of the supervisor's memory or environment, is not dumpable, has no
 * capabilities, and sits outside the agent's Landlock domain (whose signal scope and
 * ptrace rules keep the agent away from it). With N, the run mediates AF_UNIX sockets:
 * PID 1 took the helpers' Landlock layer (the agent's is stacked on it) and the seccomp
 * filter before its exec, and the init forks one helper per channel at fds 3..3+N-1
 * (sandbox_helpers_start()): one exec serves the init and the helpers.
 *
 * Its work: forward to the agent the signals other processes send it (the supervisor
 * forwards SIGTERM, SIGHUP, ... here), reap every orphan of the namespace, and exit with
 * the agent's status once the agent is gone. The kernel then kills every process left
 * in the namespace: nothing the agent started outlives it.
 */

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
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
			_exit(status_code(status));
	}
}

void sandbox_init_main(int argc, char **argv)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct none[2] = {{0, 0, 0}, {0, 0, 0}};
	sigset_t all;
	long agent = 0;

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
	 * exec_init_helpers); serve each in a forked process before signals are blocked. */
	if (argc >= 4) {
		if (argv[3][0] < '1' || argv[3][0] > '0' + UNOTIFY_HELPERS || argv[3][1])
			_exit(127);
		sandbox_helpers_start((size_t)(argv[3][0] - '0'));
	}

	/* Blocked, every signal waits for sigwaitinfo(): none is lost, none kills PID 1. */
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, NULL);
	/* The agent may have ended before SIGCHLD was blocked (and that SIGCHLD dropped). */
	reap((pid_t)agent);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);

		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			reap((pid_t)agent);
			continue;
		}
		/*
		 * Only what a process sent (kill, sigqueue: si_code <= 0). The terminal's
		 * signals (SI_KERNEL) went to the whole foreground process group, the agent
		 * included: forwarding them would deliver them twice.
		 */
		if (si.si_code > 0)
			continue;
		(void)kill((pid_t)agent, sig);
	}
}
