/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `nono run --detached`: the supervisor goes to the background before the session is
 * prepared, so every process of the session (proxy, forwarder, helpers, the child)
 * descends from it and none from the caller's shell.
 *
 * session_detach_start() forks. The background process (the supervisor to be) leaves
 * the caller's session (setsid: no controlling terminal), gets /dev/null as stdin and
 * stdout and, until the session is ready, a memfd as stderr that the caller prints;
 * fds it inherited without O_CLOEXEC are closed. It reports through a pipe:
 *   "R<id> <name>"   ready: the command exec'd on the session's PTY and the control
 *                    socket listens (session_detach_ready());
 *   "E" + i32 code   the session ended before that (session_detach_failed()).
 * The caller waits up to timeout_ms, prints the messages, then the session id and the
 * attach command (exit 0), or why it failed (the command's status when it had one);
 * at the timeout it kills the background supervisor, which takes its sandbox along.
 */

#include <stdbool.h>

/*
 * Fork. In the caller: returns 0 with *ret_code the caller's exit code. In the
 * background process: returns 1 with *ret_status_fd the readiness pipe. -errno when
 * nothing was forked.
 */
int session_detach_start(int timeout_ms, int *ret_status_fd, int *ret_code);
/* Ready: tell the caller id and name, close fd, stderr from now on to /dev/null. */
void session_detach_ready(int *fd, const char *id, const char *name);
/* Ended before ready with code: tell the caller (no-op when fd < 0). */
void session_detach_failed(int *fd, int code);
