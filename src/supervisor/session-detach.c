/* SPDX-License-Identifier: Apache-2.0 */
/* The detached start: see session-detach.h. */
#include "supervisor/session-detach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "supervisor/session-control.h"

static inline size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Close what we inherited without O_CLOEXEC (a test harness's pipes, a shell's fds):
 * nono's own fds all have it, and a daemon must not hold the caller's. */
static void close_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = d ? dirfd(d) : -1;
	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t v;
		if (parse_u64(e->d_name, INT32_MAX, &v) < 0)
			continue;
		int fd = (int)v;
		if (fd <= 2 || fd == self)
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			(void)close(fd);
	}
	(void)closedir(d);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define DETACH_MESSAGES_MAX (64 * 1024)

/* What the background process printed while it started: up to its stderr's offset
 * (shared with ours: one open file description). */
static void print_messages(int memfd)
{
	char b[4096];
	off_t off = 0, end = lseek(memfd, 0, SEEK_CUR);
	while (off < end) {
		size_t want = (size_t)(end - off) < sizeof(b) ? (size_t)(end - off) : sizeof(b);
		ssize_t n = pread(memfd, b, want, off);
		if (n <= 0)
			return;
		if (write(STDERR_FILENO, b, (size_t)n) < 0)
			return;
		off += n;
	}
}

static int caller_wait(pid_t pid, int rfd, int memfd, int timeout_ms)
{
	char m[512];
	size_t len = 0;
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - now_ms();
		struct pollfd p = {rfd, POLLIN, 0};
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Fail closed: the supervisor takes its sandbox with it. */
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			print_messages(memfd);
			log_error("the detached session was not ready within %d s "
				  "(--detach-timeout, NONO_DETACH_STARTUP_TIMEOUT): stopped",
				  timeout_ms / 1000);
			return 1;
		}
		ssize_t n = read(rfd, m + len, sizeof(m) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			len += (size_t)n;
			if (len < sizeof(m) - 1 && !(m[0] == 'R' && memchr(m, '\n', len)) &&
			    !(m[0] == 'E' && len >= 5))
				continue;
		}
		break;
	}
	print_messages(memfd);
	m[len] = 0;
	if (len > 0 && m[0] == 'R') {
		char *nl = strchr(m, '\n'), *sp = strchr(m, ' ');
		if (nl)
			*nl = 0;
		if (sp)
			*sp++ = 0;
		(void)printf("session %s (%s) started in the background\n"
			     "attach with: nono attach %s\n",
			     m + 1, sp ? sp : "", m + 1);
		(void)fflush(stdout);
		return 0;
	}
	if (len >= 5 && m[0] == 'E') {
		uint32_t v = (uint32_t)(uint8_t)m[1] | (uint32_t)(uint8_t)m[2] << 8 |
			     (uint32_t)(uint8_t)m[3] << 16 | (uint32_t)(uint8_t)m[4] << 24;
		int code = (int)v;
		log_error("the detached session ended before it was ready: exit status %d", code);
		return code > 0 && code < 256 ? code : 1;
	}
	int st = 0;
	(void)waitpid(pid, &st, 0);
	log_error("the detached session's supervisor ended before it was ready (%s %d)",
		  WIFSIGNALED(st) ? "signal" : "status",
		  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 1;
}

int session_detach_start(int timeout_ms, int *ret_status_fd, int *ret_code)
{
	int p[2];
	/*
	 * Fixed size, sealed: helpers forked before the session was ready keep it as their
	 * stderr after the caller has gone, and must not grow it without bound.
	 */
	int memfd = memfd_create("nono-detach-messages", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		return -errno;
	if (ftruncate(memfd, DETACH_MESSAGES_MAX) < 0 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int r = -errno;
		(void)close(memfd);
		return r;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		int r = -errno;
		(void)close(memfd);
		return r;
	}
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		(void)close(memfd);
		(void)close(p[0]);
		(void)close(p[1]);
		return r;
	}
	if (pid > 0) {
		(void)close(p[1]);
		*ret_code = caller_wait(pid, p[0], memfd, timeout_ms);
		(void)close(p[0]);
		(void)close(memfd);
		return 0;
	}
	/* The background process: nothing of the caller's terminal stays. */
	(void)close(p[0]);
	(void)setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(memfd, STDERR_FILENO) < 0)
		_exit(1);
	(void)close(null);
	(void)close(memfd);
	close_inherited();
	*ret_status_fd = p[1];
	return 1;
}

void session_detach_ready(int *fd, const char *id, const char *name)
{
	char m[256];
	if (*fd < 0)
		return;
	int n = snprintf(m, sizeof(m), "R%s %s\n", id, name);
	if (n > 0)
		(void)!write(*fd, m, min_sz((size_t)n, sizeof(m) - 1));
	*fd = safe_close(*fd);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		(void)dup2(null, STDERR_FILENO);
		(void)close(null);
	}
}

void session_detach_failed(int *fd, int code)
{
	char m[5] = {'E'};
	if (*fd < 0)
		return;
	ctl_put_code((uint8_t *)m + 1, code);
	(void)!write(*fd, m, sizeof(m));
	*fd = safe_close(*fd);
}
