/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child side: apply a prepared plan and execve. Runs between fork() and execve() in
 * a possibly multithreaded parent's child, so only async-signal-safe calls: raw
 * syscalls, open/read/write/close, no malloc, no stdio, no locale. Every failure is
 * reported as {step, errno, index} on err_fd, then _exit(127).
 *
 * Order matters:
 *   pdeathsig -> user ns (+ identity maps) -> mount ns -> masks -> net ns + lo ->
 *   capabilities -> no_new_privs -> Landlock -> seccomp -> AF_UNIX mediation (helpers,
 *   notification filter) -> CLOEXEC sweep -> chdir -> exec
 * Masks need namespace caps, so they come before the drop; Landlock and seccomp come
 * last so they also bind everything above and forbid undoing the masks.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sandbox/landlock-compat.h"
#include "sandbox/sandbox-internal.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const char *exec_path = "the command";

_noreturn_ static void fail(int err_fd, int step, int err, int index)
{
	const char *path = exec_path;
	struct sandbox_exec_error e = {.step = step, .err = err > 0 ? err : EIO, .index = index};

	if (err_fd == SANDBOX_ERR_STDERR) {
		/* In place (nono wrap): no parent to report to, so say it ourselves. */
		char msg[512];
		int n = step == STEP_EXEC
				? snprintf(msg, sizeof(msg),
					   "nono: error: cannot execute '%s' inside the sandbox: %s\n",
					   path, strerror(e.err))
				: snprintf(msg, sizeof(msg),
					   "nono: error: sandbox set-up failed at %s: %s\n",
					   sandbox_step_to_string(step), strerror(e.err));
		if (n > 0)
			(void)!write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
		_exit(1);
	}
	if (err_fd >= 0) {
		const char *b = (const char *)&e;
		size_t done = 0;
		while (done < sizeof(e)) {
			ssize_t n = write(err_fd, b + done, sizeof(e) - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			done += n;
		}
	}
	_exit(127);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	(void)close(fd);
	return err;
}

static int enter_userns(const struct sandbox_plan *p, int *ret_err)
{
	int fl = CLONE_NEWUSER;
	int r;

	if (p->use_mountns)
		fl |= CLONE_NEWNS;
	if (p->flags & SANDBOX_NETNS)
		fl |= CLONE_NEWNET;
	if (unshare(fl) < 0)
		return *ret_err = errno, -1;
	/* setgroups must be denied before an unprivileged gid_map write. */
	r = write_file("/proc/self/setgroups", "deny");
	if (r == 0)
		r = write_file("/proc/self/uid_map", p->uid_map);
	if (r == 0)
		r = write_file("/proc/self/gid_map", p->gid_map);
	if (r < 0)
		return *ret_err = -r, -1;
	return 0;
}

/* An empty read-only tmpfs holding "d" (empty dir) and "f" (empty file). */
static int make_mask_source(int *ret_err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	int fs, mnt, fd;

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return *ret_err = errno, -1;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", "8", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		*ret_err = errno;
		(void)close(fs);
		return -1;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	*ret_err = errno;
	(void)close(fs);
	if (mnt < 0)
		return -1;
	if (mkdirat(mnt, "d", 0755) < 0)
		goto fail;
	fd = openat(mnt, "f", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	(void)close(fd);
	/* Clones made with open_tree() below inherit these mount flags. */
	if (mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		goto fail;
	return mnt;
fail:
	*ret_err = errno;
	(void)close(mnt);
	return -1;
}

static void apply_masks(const struct sandbox_plan *p, int err_fd)
{
	int src, err = 0;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(err_fd, STEP_MOUNTNS, errno, -1);
	src = make_mask_source(&err);
	if (src < 0)
		fail(err_fd, STEP_MASK, err, -1);

	for (size_t i = 0; i < p->n_masks; i++) {
		const struct sandbox_mask *m = &p->masks[i];
		struct open_how how = {
		    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW | (m->is_dir ? O_DIRECTORY : 0),
		    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		struct stat st;
		int target, clone;

		/* Resolve without symlinks and check it is still the object we planned for. */
		target = (int)syscall(SYS_openat2, AT_FDCWD, m->path, &how, sizeof(how));
		if (target < 0) {
			if (errno == ENOENT)
				continue; /* removed since prepare: nothing left to protect */
			fail(err_fd, STEP_MASK, errno, (int)i);
		}
		if (fstat(target, &st) < 0)
			fail(err_fd, STEP_MASK, errno, (int)i);
		if (st.st_dev != m->dev || st.st_ino != m->ino)
			fail(err_fd, STEP_MASK, ESTALE, (int)i);

		if (m->ro_bind) {
			/* The file itself, read-only: a bind of it, flagged so, over it. */
			struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
			clone = open_tree(target, "",
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
			if (clone < 0 ||
			    mount_setattr(clone, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
				fail(err_fd, STEP_MASK, errno, (int)i);
		} else if (m->pin) {
			/* Recursive: the masks already made below stay in the clone. */
			clone = open_tree(target, "",
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
					      AT_RECURSIVE);
		} else
			clone = open_tree(src, m->is_dir ? "d" : "f",
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (clone < 0)
			fail(err_fd, STEP_MASK, errno, (int)i);
		if (move_mount(clone, "", target, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			fail(err_fd, STEP_MASK, errno, (int)i);
		(void)close(clone);
		(void)close(target);
	}
	(void)close(src);
}

static void loopback_up(int err_fd)
{
	struct ifreq ifr;
	int s;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail(err_fd, STEP_NETNS, errno, -1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail(err_fd, STEP_NETNS, errno, -1);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail(err_fd, STEP_NETNS, errno, -1);
	(void)close(s);
}

/* Send fd over the AF_UNIX socket sock (SCM_RIGHTS) with len bytes of data. 0 or an errno. */
static int send_fd(int sock, int fd, const void *data, size_t len)
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

/* Listener inside the namespace, passed out with SCM_RIGHTS (index 1 in errors). */
static void send_listener(const struct sandbox_plan *p, int err_fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(p->listener_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, s, e;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail(err_fd, STEP_NETNS, errno, 1);
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 128) < 0)
		fail(err_fd, STEP_NETNS, errno, 1);
	e = send_fd(p->listener_unix_fd, s, "L", 1);
	if (e)
		fail(err_fd, STEP_NETNS, e, 1);
	(void)close(s);
}

/* One listener on ADDR:port inside the namespace; -1 when the address family is absent. */
static int forward_listener(int family, uint16_t port, int err_fd)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int one = 1, s;

	s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 && family == AF_INET6 && errno == EAFNOSUPPORT)
		return -1;
	if (s < 0)
		fail(err_fd, STEP_NETNS, errno, 2);
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		(void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if ((family == AF_INET ? bind(s, (struct sockaddr *)&a4, sizeof(a4))
			       : bind(s, (struct sockaddr *)&a6, sizeof(a6))) < 0) {
		/* No ::1 in this namespace (IPv6 disabled): IPv4 only. */
		if (family == AF_INET6 && errno == EADDRNOTAVAIL) {
			(void)close(s);
			return -1;
		}
		fail(err_fd, STEP_NETNS, errno, 2);
	}
	if (listen(s, 128) < 0)
		fail(err_fd, STEP_NETNS, errno, 2);
	return s;
}

/* Listeners for forwarded ports, all in one SCM_RIGHTS message (index 2 in errors). */
static void send_forward_listeners(const struct sandbox_plan *p, int err_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 2 * SANDBOX_MAX_FWD_PORTS)];
	} u;
	int fds[2 * SANDBOX_MAX_FWD_PORTS];
	size_t n = 0;
	char byte = 'F';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	for (size_t i = 0; i < p->n_fwd_ports; i++) {
		fds[n++] = forward_listener(AF_INET, p->fwd_ports[i], err_fd);
		int s6 = forward_listener(AF_INET6, p->fwd_ports[i], err_fd);
		if (s6 >= 0)
			fds[n++] = s6;
	}
	if (n > 0) {
		memset(u.buf, 0, sizeof(u.buf));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(&u.h), fds, sizeof(int) * n);
	}
	while (sendmsg(p->fwd_unix_fd, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			fail(err_fd, STEP_NETNS, errno, 2);
	for (size_t i = 0; i < n; i++)
		(void)close(fds[i]);
}

/*
 * AF_UNIX mediation helpers (sandbox/unotify-proto.h). A helper performs the connect,
 * bind or sendto the supervisor approved, on the agent's own socket (received with
 * SCM_RIGHTS), from inside the sandbox: the kernel applies the agent's Landlock domain
 * (TCP ports, abstract-socket scope, MAKE_SOCK), namespaces and capabilities to it.
 * Path addresses arrive pinned as fds, so the inode the supervisor checked is the one
 * used. Forked copies of a single-threaded process: plain syscalls only, no malloc.
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
			if (send_fd(fd, out, &rep, sizeof(rep)))
				_exit(0);
			(void)close(out);
			continue;
		}
		while (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			if (errno != EINTR)
				_exit(0);
	}
}

static void start_mediation(const struct sandbox_plan *p, int err_fd)
{
	struct sock_fprog prog = {.len = p->notify_filter_len, .filter = p->notify_filter};
	int32_t pids[UNOTIFY_HELPERS] = {0};
	int lfd, e;

	for (size_t i = 0; i < p->n_helpers; i++) {
		/* CLONE_PARENT: a sibling under the supervisor, not a child the agent could
		 * wait(2) for. stack 0: runs on a copy of this stack, like fork(2). */
		long pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0UL, NULL,
				   NULL, 0UL);
		if (pid < 0)
			fail(err_fd, STEP_UNOTIFY, errno, (int)i);
		if (pid == 0) {
			int fd = p->helper_fds[i];
			struct sigaction ign = {.sa_handler = SIG_IGN};

			(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (getppid() != p->parent_pid)
				_exit(1);
			/* Out of the terminal's process group: ^C is for the agent. */
			(void)setsid();
			(void)sigaction(SIGPIPE, &ign, NULL);
			if (fd > 0)
				(void)syscall(SYS_close_range, 0U, (unsigned)fd - 1, 0U);
			(void)syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U);
			helper_loop(fd);
		}
		pids[i] = (int32_t)pid;
	}
	/*
	 * WAIT_KILLABLE_RECV (5.19+): once the supervisor holds a notification, only a fatal
	 * signal interrupts the wait. Otherwise a signal would abandon a connect the helper
	 * is already making, and the restarted call would see EALREADY or EISCONN.
	 */
	lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			   SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			   &prog);
	if (lfd < 0 && errno == EINVAL)
		lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				   SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (lfd < 0)
		fail(err_fd, STEP_UNOTIFY, errno, -1);
	e = send_fd(p->notify_send_fd, lfd, pids, sizeof(pids));
	if (e)
		fail(err_fd, STEP_UNOTIFY, e, -1);
	(void)close(lfd);
}

static void drop_caps(const struct sandbox_plan *p, int err_fd)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	/* Root: uid 0 must not regain capabilities at execve (empty bounding set and
	 * no_new_privs already see to it; the locked bits say so twice). Needs
	 * CAP_SETPCAP, so before the drop. */
	if (p->lock_securebits &&
	    prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
		      SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
		      SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0)
		fail(err_fd, STEP_CAPS, errno, -1);
	for (int c = 0; c <= p->cap_last && c < 64; c++) {
		if (!(p->bset_drop & (1ULL << c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			fail(err_fd, STEP_CAPS, errno, c);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(err_fd, STEP_CAPS, errno, -1);
	memcpy(data, p->caps, sizeof(data));
	if (syscall(SYS_capset, &h, data) < 0)
		fail(err_fd, STEP_CAPS, errno, -1);
}

void sandbox_child_exec(const struct sandbox_plan *p, const char *path, char *const argv[],
			char *const envp[], const char *cwd, int err_fd)
{
	pid_t self = getpid();

	if (!p || !path || !argv)
		fail(err_fd, STEP_NONE, EINVAL, -1);

	/* Forked child of the planning process: die with it. `nono wrap` runs in place. */
	if (self != p->parent_pid) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			fail(err_fd, STEP_PDEATHSIG, errno, -1);
		/* The parent died before the signal was armed: nobody would reap us. */
		if (getppid() != p->parent_pid)
			fail(err_fd, STEP_PDEATHSIG, ESRCH, -1);
	}

	if (p->use_userns) {
		int err = 0;
		if (enter_userns(p, &err) < 0)
			fail(err_fd, STEP_USERNS, err, -1);
	} else if (p->use_mountns || (p->flags & SANDBOX_NETNS)) {
		int fl = (p->use_mountns ? CLONE_NEWNS : 0) |
			 ((p->flags & SANDBOX_NETNS) ? CLONE_NEWNET : 0);
		if (unshare(fl) < 0)
			fail(err_fd, p->use_mountns ? STEP_MOUNTNS : STEP_NETNS, errno, -1);
	}
	if (p->use_mountns)
		apply_masks(p, err_fd);
	if (p->flags & SANDBOX_NETNS) {
		loopback_up(err_fd);
		if (p->listener_unix_fd >= 0)
			send_listener(p, err_fd);
		if (p->fwd_unix_fd >= 0)
			send_forward_listeners(p, err_fd);
	}

	drop_caps(p, err_fd);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(err_fd, STEP_NO_NEW_PRIVS, errno, -1);

	if (p->ruleset_fd >= 0 && ll_restrict_self(p->ruleset_fd, p->restrict_flags) < 0)
		fail(err_fd, STEP_LANDLOCK, errno, -1);

	if (p->filter) {
		struct sock_fprog prog = {.len = p->filter_len, .filter = p->filter};
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			fail(err_fd, STEP_SECCOMP, errno, -1);
	}

	/* Last filter: nothing after it may depend on connect/bind being answered. */
	if (p->notify_send_fd >= 0)
		start_mediation(p, err_fd);

	/* Only 0, 1, 2 survive execve; err_fd is already O_CLOEXEC. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* Old kernel: mark one by one up to a sane bound. */
		for (int fd = 3; fd < 65536; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	if (p->keep_fd >= 0 && fcntl(p->keep_fd, F_SETFD, 0) < 0)
		fail(err_fd, STEP_EXEC, errno, -1);

	if (cwd && chdir(cwd) < 0)
		fail(err_fd, STEP_CHDIR, errno, -1);

	execve(path, argv, envp);
	exec_path = path;
	fail(err_fd, STEP_EXEC, errno, -1);
}

void sandbox_plan_keep_fd(struct sandbox_plan *p, int fd)
{
	p->keep_fd = fd;
}
