/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The code of the processes exec'd inside the sandbox: the AF_UNIX mediation helpers
 * (below) and the PID namespace's init (sandbox-init.c). Both files use libc alone, so
 * they also build the small `nono-helper` binary (nono-helper.c): an exec of it maps
 * libc, not OpenSSL, c-ares, jansson and libseccomp, which made each exec of nono itself
 * cost about 2.5 ms of CPU at every launch. Async-signal-safe code only: the senders run
 * between fork and exec.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* Send fd over the AF_UNIX socket sock (SCM_RIGHTS) with len bytes of data. 0 or an errno. */
int sandbox_send_fd(int sock, int fd, const void *data, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;

	memset(u.buf, 0, sizeof(u.buf));
	c = &u.h; /* CMSG_FIRSTHDR(&msg), which cannot be NULL here */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return errno;
	return 0;
}

/*
 * AF_UNIX mediation helpers (sandbox/unotify-proto.h). A helper performs the connect,
 * bind or sendto the supervisor approved, on the agent's own socket (received with
 * SCM_RIGHTS), from inside the sandbox: the kernel applies the agent's Landlock domain
 * (TCP ports, abstract-socket scope, MAKE_SOCK), namespaces and capabilities to it.
 * Path addresses arrive pinned as fds, so the inode the supervisor checked is the one
 * used. Each helper is this binary exec'd fresh (sandbox_helper_main): it holds none of
 * the supervisor's memory or environment, and is not dumpable.
 */
static union {
	struct unotify_req req;
	char buf[sizeof(struct unotify_req) + UNOTIFY_DATA_MAX];
} helper_msg;

/* Append "/proc/self/fd/<fd>" to dst (size bytes); returns the new length or 0. */
static size_t fd_path(char *dst, size_t size, int fd)
{
	static const char prefix[] = "/proc/self/fd/";
	char digits[16];
	size_t n = 0, len = sizeof(prefix) - 1;

	do {
		digits[n++] = (char)('0' + fd % 10);
		fd /= 10;
	} while (fd > 0 && n < sizeof(digits));
	if (len + n + 1 > size)
		return 0;
	memcpy(dst, prefix, len);
	while (n > 0)
		dst[len++] = digits[--n];
	dst[len] = 0;
	return len;
}

/* The i-th NUL-terminated string of n bytes at s, or NULL. */
static const char *nth_string(const char *s, size_t n, int i)
{
	for (;;) {
		const char *end = memchr(s, 0, n);
		if (!end)
			return NULL;
		if (i-- == 0)
			return s;
		n -= (size_t)(end + 1 - s);
		s = end + 1;
	}
}

/*
 * A name operation the supervisor approved (enum unotify_op, OPEN..UNLINK): names are
 * taken against pinned directories and never followed at the end, so the name made,
 * replaced or removed is the one that was checked.
 */
static void helper_fs(size_t n, const int fds[2], struct unotify_reply *rep, int *ret_fd)
{
	const struct unotify_req *q = &helper_msg.req;
	const char *data = helper_msg.buf + sizeof(*q);
	struct unotify_fs a;
	const char *s1, *s2 = NULL;
	mode_t old;
	long r;

	if (q->op == UNOTIFY_REOPEN && q->len >= sizeof(a) && q->len <= n - sizeof(*q)) {
		/* A magic link to the agent's own file: the kernel reopens it. */
		char self[64];
		memcpy(&a, data, sizeof(a));
		if (fd_path(self, sizeof(self), fds[0]) == 0) {
			rep->err = ENAMETOOLONG;
			return;
		}
		old = umask(q->umask & 0777);
		r = open(self, q->flags | O_CLOEXEC, (mode_t)a.mode);
		rep->err = r < 0 ? errno : 0;
		(void)umask(old);
		if (r >= 0)
			*ret_fd = (int)r;
		rep->ret = r < 0 ? -1 : 0;
		return;
	}
	if (q->len > n - sizeof(*q) || q->len < sizeof(a) ||
	    !(s1 = nth_string(data + sizeof(a), q->len - sizeof(a), 0)) ||
	    ((q->op == UNOTIFY_SYMLINK || q->op == UNOTIFY_LINK || q->op == UNOTIFY_RENAME) &&
	     !(s2 = nth_string(data + sizeof(a), q->len - sizeof(a), 1))) ||
	    ((q->op == UNOTIFY_LINK || q->op == UNOTIFY_RENAME) && fds[1] < 0)) {
		rep->err = EINVAL;
		return;
	}
	memcpy(&a, data, sizeof(a));
	old = umask(q->umask & 0777);
	switch (q->op) {
	case UNOTIFY_OPEN:
		r = openat(fds[0], s1, (q->flags | O_NOFOLLOW | O_CLOEXEC), (mode_t)a.mode);
		if (r >= 0)
			*ret_fd = (int)r, r = 0;
		break;
	case UNOTIFY_MKDIR:
		r = mkdirat(fds[0], s1, (mode_t)a.mode);
		break;
	case UNOTIFY_MKNOD:
		r = mknodat(fds[0], s1, (mode_t)a.mode, (dev_t)a.dev);
		break;
	case UNOTIFY_SYMLINK:
		r = symlinkat(s2, fds[0], s1);
		break;
	case UNOTIFY_LINK:
		if (!*s2 && !(q->flags & AT_EMPTY_PATH)) {
			char self[64];
			r = fd_path(self, sizeof(self), fds[0]) == 0
				? (errno = ENAMETOOLONG, -1)
				: linkat(AT_FDCWD, self, fds[1], s1, AT_SYMLINK_FOLLOW);
		} else
			r = linkat(fds[0], s2, fds[1], s1, q->flags);
		break;
	case UNOTIFY_RENAME:
		r = syscall(SYS_renameat2, fds[0], s1, fds[1], s2, (unsigned)q->flags);
		break;
	case UNOTIFY_UNLINK:
		r = unlinkat(fds[0], s1, q->flags);
		break;
	default:
		r = -1;
		errno = EINVAL;
		break;
	}
	rep->err = r < 0 ? errno : 0;
	(void)umask(old);
	rep->ret = r < 0 ? -1 : r;
}

static void helper_do(size_t n, const int fds[2], struct unotify_reply *rep, int *ret_fd)
{
	const struct unotify_req *q = &helper_msg.req;
	struct sockaddr_storage ss;
	socklen_t len;
	ssize_t r;

	if (n >= sizeof(*q) && fds[0] >= 0 && q->op >= UNOTIFY_OPEN && q->op < _UNOTIFY_OP_MAX) {
		helper_fs(n, fds, rep, ret_fd);
		return;
	}
	if (n < sizeof(*q) || fds[0] < 0 || q->addrlen > sizeof(q->addr) ||
	    (q->op == UNOTIFY_SENDTO && q->len > n - sizeof(*q)) ||
	    (q->via != UNOTIFY_VIA_ADDR && fds[1] < 0)) {
		rep->err = EINVAL;
		return;
	}
	memcpy(&ss, &q->addr, sizeof(ss));
	len = q->addrlen;
	if (q->via != UNOTIFY_VIA_ADDR) {
		struct sockaddr_un *u = (struct sockaddr_un *)&ss;
		size_t l, nl = strnlen(q->name, sizeof(q->name));

		memset(u, 0, sizeof(*u));
		u->sun_family = AF_UNIX;
		l = fd_path(u->sun_path, sizeof(u->sun_path), fds[1]);
		if (q->via == UNOTIFY_VIA_DIR) {
			if (l == 0 || nl == 0 || nl >= sizeof(q->name) ||
			    l + 1 + nl + 1 > sizeof(u->sun_path)) {
				rep->err = ENAMETOOLONG;
				return;
			}
			u->sun_path[l++] = '/';
			memcpy(u->sun_path + l, q->name, nl);
			l += nl;
			u->sun_path[l] = 0;
		}
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + 1);
	}
	switch (q->op) {
	case UNOTIFY_CONNECT:
		r = connect(fds[0], (struct sockaddr *)&ss, len);
		break;
	case UNOTIFY_BIND: {
		mode_t old = umask(q->umask & 0777);
		r = bind(fds[0], (struct sockaddr *)&ss, len);
		(void)umask(old);
		break;
	}
	case UNOTIFY_SENDTO:
		r = sendto(fds[0], helper_msg.buf + sizeof(*q), q->len, q->flags | MSG_NOSIGNAL,
			   len ? (struct sockaddr *)&ss : NULL, len);
		break;
	default:
		rep->err = EINVAL;
		return;
	}
	rep->ret = r;
	rep->err = r < 0 ? errno : 0;
}

_noreturn_ static void helper_loop(int fd)
{
	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(2 * sizeof(int))];
		} u;
		struct iovec iov = {.iov_base = helper_msg.buf, .iov_len = sizeof(helper_msg.buf)};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = u.buf,
				   .msg_controllen = sizeof(u.buf)};
		struct unotify_reply rep = {0, 0, 0};
		int fds[2] = {-1, -1}, out = -1;
		ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t j = 0; j < k; j++) {
				int x;
				memcpy(&x, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
				if (j < 2 && fds[j] < 0)
					fds[j] = x;
				else
					(void)close(x);
			}
		}
		if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			rep.err = EMSGSIZE;
		else
			helper_do((size_t)n, fds, &rep, &out);
		for (int j = 0; j < 2; j++)
			if (fds[j] >= 0)
				(void)close(fds[j]);
		if (out >= 0) {
			/* The opened file goes back with the answer (send_fd retries EINTR). */
			if (sandbox_send_fd(fd, out, &rep, sizeof(rep)))
				_exit(0);
			(void)close(out);
			continue;
		}
		while (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			if (errno != EINTR)
				_exit(0);
	}
}

int sandbox_helper_fork(int fd)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigset_t none;
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : 0;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Out of the terminal's process group: ^C is for the agent. */
	(void)setsid();
	(void)sigaction(SIGPIPE, &ign, NULL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL); /* the init blocks every signal */
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(1);
	(void)syscall(SYS_close_range, 4U, ~0U, 0U);
	helper_loop(3);
}

void sandbox_helper_main(int argc, char **argv)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	int n = 1;

	/* First: nothing of ours may be read through /proc, ptrace or process_vm_readv
	 * (inherited by the forks below). */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	(void)sigaction(SIGPIPE, &ign, NULL);
	if (argc >= 3 && argv[2][0] >= '1' && argv[2][0] <= '0' + UNOTIFY_HELPERS && !argv[2][1])
		n = argv[2][0] - '0';
	for (int i = 1; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			break; /* its worker's requests fail: EPIPE, answered as an error */
		if (pid == 0) {
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (dup2(3 + i, 3) < 0)
				_exit(1);
			(void)syscall(SYS_close_range, 4U, ~0U, 0U);
			helper_loop(3);
		}
	}
	(void)syscall(SYS_close_range, 4U, ~0U, 0U);
	helper_loop(3);
}
