/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * PTY supervision for interactive runs (stdin a terminal): the child gets a fresh
 * pseudo-terminal as its controlling terminal and stdio, in a session of its own, so it
 * never holds the user's terminal (no TIOCSTI into it, no reading what it was not
 * given). The supervisor puts the user's terminal in raw mode and relays bytes both
 * ways; window-size changes are copied to the child's terminal, whose line discipline
 * then turns ^C, ^Z, ^\ into the child's own signals. The user's terminal modes are
 * restored on every way out of supervise_run().
 */

#include <stdbool.h>
#include <poll.h>
#include <termios.h>

#include "supervisor/altscreen.h"

struct session_ctl;
struct refusal_scan;

struct pty {
	int master;	      /* ours; -1: no PTY */
	int slave;	      /* the child's; closed in the supervisor once it has forked */
	int in, out;	      /* the user's terminal (0) and where output goes (1) */
	struct termios saved; /* the user's terminal modes, restored by pty_restore() */
	bool raw;	      /* the user's terminal is in raw mode */
	int drain_ms;	      /* quiet period to drain output after the child exit */
	char buf[4096];	      /* input not yet written to the master */
	size_t len, off;
	bool in_eof;
	/* --startup-timeout: seconds the child has to enter the alternate screen (0: no
	 * limit), the timer armed by pty_parent_start() (-1: none or no longer needed) and
	 * whether it ran out before the child's output entered it. */
	int startup_timeout_s;
	int timer_fd;
	bool startup_expired;
	struct altscreen alt;
	/* Detached (in and out -1): output goes to the session's control side instead,
	 * and input comes from its attached client (supervisor/session-control.h). */
	struct session_ctl *ctl;
	/* Also fed the child's output, after it is written; or NULL. */
	struct refusal_scan *scan;
};

#define PTY_INIT                                                                                   \
	{                                                                                          \
		.master = -1, .slave = -1, .in = 0, .out = 1, .drain_ms = 100, .timer_fd = -1      \
	}

/* Open a PTY pair with the modes and window size of p->in (detached, p->in < 0: the
 * default modes, 24x80). 0 or -errno. */
int pty_open(struct pty *p);
/* In the forked child, before the sandbox applies: async-signal-safe. New session, the
 * slave as controlling terminal and as fds 0, 1, 2. 0 or -errno. */
int pty_child_setup(const struct pty *p);
/* In the supervisor after fork: close the slave, arm the --startup-timeout timer, put
 * the user's terminal in raw mode. */
int pty_parent_start(struct pty *p);
/* Copy the user's window size to the child's terminal (SIGWINCH). */
void pty_resize(const struct pty *p);
/* Poll set-up: fill up to PTY_POLLFDS_MAX pollfds; returns how many. */
#define PTY_POLLFDS_MAX 4
int pty_pollfds(const struct pty *p, struct pollfd *fds);
/* Handle the revents of those pollfds (same order). */
void pty_relay(struct pty *p, const struct pollfd *fds, int n);
/* After the child exited: relay what it left until drain_ms pass without output. */
void pty_drain(struct pty *p);
/* Restore the user's terminal modes (idempotent). */
void pty_restore(struct pty *p);
/* Restore and close everything (idempotent). */
void pty_close(struct pty *p);
