/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The supervised parent of `nono run` / `nono shell`: forks the sandboxed child,
 * forwards signals to it, reports sandbox set-up failures, and returns the child's
 * status as an exit code (the child's code, or 128+signal).
 */

#include <stdbool.h>

#include "sandbox/sandbox.h"
#include "supervisor/pty.h"
#include "supervisor/unotify.h"

struct supervise_opts {
	const struct sandbox_plan *plan;
	const char *path; /* resolved executable */
	char *const *argv;
	char *const *envp;
	const char *cwd; /* NULL: inherit */
	/* Called in the parent after fork, before waiting (e.g. to close fds). May be NULL. */
	void (*after_fork)(void *userdata, int child_pid);
	/* Called in the parent once the child has exec'd (mediation started): work that must
	 * happen but not on the child's path, e.g. the audit record's fsyncs. A negative
	 * return kills the child (fail closed). May be NULL. */
	int (*after_exec)(void *userdata);
	/* > 0: after_exec waits this long for the command to end first, and is not called
	 * if it does (the caller's end makes its work moot: the audit record's end is
	 * durable too). A command that runs on gets it then. */
	int after_exec_grace_ms;
	/* Then (after after_exec): once the child has exec'd the command, before the
	 * child's output is relayed; < 0 ends the child (SIGKILL). May be NULL. */
	int (*on_ready)(void *userdata, int child_pid);
	/* Called once with the command's exit code as soon as the sandbox's init reports it,
	 * before the namespace is torn down and the init reaped (without a PTY, in a PID
	 * namespace whose init serves the mediation channels): work that needs only the
	 * code (the audit end record) overlaps the teardown. Not called when no report comes
	 * (the code is then the init's exit status, as before). May be NULL. */
	void (*on_status)(void *userdata, int code);
	void *userdata;
	/* AF_UNIX mediation prepared with unotify_new(), or NULL. Started once the child
	 * has exec'd; the caller frees it after supervise_run() returns. */
	struct unotify *unotify;
	/* PTY supervision (supervisor/pty.h), opened with pty_open(), or NULL: the child
	 * inherits our stdio. Closed, and the user's terminal restored, on return. */
	struct pty *pty;
};

/*
 * Run the child to completion. Returns 0 and sets *ret_exit to the exit code to use,
 * or a negative errno when the supervisor itself failed. When the child failed before
 * execve, returns 0 with *ret_exit = 1 and *ret_err filled (step != STEP_NONE).
 */
int supervise_run(const struct supervise_opts *o, int *ret_exit,
		  struct sandbox_exec_error *ret_err);

/* The exit code for a wait(2) status: the child's code, or 128+signal. */
int exit_code_from_status(int status);
