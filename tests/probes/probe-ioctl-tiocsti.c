/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-ioctl-tiocsti
 *   Opens a fresh pseudo-terminal pair, makes it the controlling terminal of a new
 *   session and pushes one byte into its input with ioctl(TIOCSTI). On its own
 *   controlling terminal the kernel allows this (dev.tty.legacy_tiocsti=1) or answers
 *   EIO (=0), so EPERM means a seccomp refusal. No real terminal is touched.
 * Exit: 0 injected, 1 EPERM (seccomp), 5 EIO (kernel dev.tty.legacy_tiocsti=0),
 *       25 ENOTTY, 2 ENOENT / 13 EACCES (no pty available), 99 other.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe-common.h"

int main(void)
{
	static const int extra[] = {EIO, ENOTTY, 0};
	char c = 'x';
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return probe_exit(errno, extra);
	if (setsid() < 0) {
		/* Already a process group leader (run from an interactive shell): do it in a
		 * child, which never is, and pass its exit code on. */
		int status;
		pid_t pid = fork();
		if (pid < 0)
			return probe_exit(errno, extra);
		if (pid > 0) {
			if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
				return 99;
			return WEXITSTATUS(status);
		}
		if (setsid() < 0)
			return probe_exit(errno, extra);
	}
	s = open(ptsname(m), O_RDWR | O_CLOEXEC);
	if (s < 0)
		return probe_exit(errno, extra);
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		return probe_exit(errno, extra);
	if (ioctl(s, TIOCSTI, &c) < 0)
		return probe_exit(errno, extra);
	return probe_exit(0, extra);
}
