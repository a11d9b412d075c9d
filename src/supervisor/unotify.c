/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_UNIX path-socket mediation. Landlock (ABI 7) does not govern connect(2) to a
 * named socket, so the child's last seccomp filter turns connect, bind and sendto with
 * an address into user notifications, and this file answers them. Where a write grant
 * reaches a protected path, the same filter, workers and helpers also carry the calls
 * that make, replace or remove names ("protected names" below).
 *
 * Never CONTINUE: the agent can rewrite the address, or dup2 another socket over the fd,
 * between our check and the kernel's second look. Instead, per notification:
 *   1. read the address once (process_vm_readv), duplicate the agent's socket
 *      (pidfd_getfd: the same open file description), and for a path address open the
 *      agent's root (and cwd) through /proc/<pid>, all before SECCOMP_IOCTL_NOTIF_ID_VALID
 *      confirms the task was the notifier throughout (no pid reuse);
 *   2. a path address is resolved in the agent's view (openat2 RESOLVE_IN_ROOT on
 *      /proc/<pid>/root, symlinks followed the way the kernel would) and pinned: an O_PATH
 *      fd of the socket file (connect, sendto) or of its parent directory (bind). The
 *      pinned object's real location is what the policy (unotify_path_allowed) judges;
 *   3. the operation itself is done by a helper process that lives inside the sandbox
 *      (exec'd by the child after Landlock and seccomp, before this filter; see
 *      sandbox/unotify-proto.h), on our duplicate of the agent's socket, with the pinned
 *      object as /proc/self/fd/N. So the agent's socket gets connected or bound to
 *      exactly the inode we checked, and the kernel still applies the agent's own
 *      Landlock domain (TCP port rules, abstract-socket scope, MAKE_SOCK), namespaces
 *      and capabilities: non-path addresses (TCP, abstract, netlink, autobind) are
 *      decided by the kernel as if the agent had made the call, with no policy copied here;
 *   4. the helper's result (0, -EINPROGRESS for a non-blocking connect, -errno) is the
 *      answer. Denials are EACCES, logged with the reason at -v.
 *
 * Threads: UNOTIFY_HELPERS workers, each paired with one helper, take turns receiving
 * (see worker_main). A blocking connect occupies its worker until it completes; when
 * all are busy, further notifications wait in the kernel. They start with the first
 * notification, which the supervisor's loop polls for (unotify_serve): most short
 * commands make no mediated call, and threads started as they exit only take the CPU
 * from the init that reaps them.
 */
#include "supervisor/unotify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/path.h"
#include "base/strv.h"
#include "base/thread.h"
#include "sandbox/unotify-proto.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef PIDFD_GETFD_FLAGS
#define PIDFD_GETFD_FLAGS 0
#endif

/* Sockets the sandbox bound itself may be connected to again (network-allowed mode). */
#define BOUND_MAX 1024

/* ---------------------------------------------------------------- policy */

static bool origin_is_users(enum origin_kind k)
{
	return k == ORIGIN_CLI || k == ORIGIN_ENV || k == ORIGIN_PROFILE || k == ORIGIN_WORKDIR;
}

/* The directory part of a canonical absolute path ("/a/b" -> "/a", "/a" -> "/"). */
static bool parent_equals(const char *path, const char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return false;
	n = slash == path ? 1 : (size_t)(slash - path);
	return strlen(dir) == n && strncmp(path, dir, n) == 0;
}

bool unotify_path_allowed(const struct sandbox_spec *spec, const char *path,
			  enum unotify_access access, const char **ret_why)
{
	const char *why_not = "no --allow-unix-socket* grant covers it";

	if (!spec || !path || path[0] != '/') {
		*ret_why = "not an absolute path";
		return false;
	}
	for (size_t i = 0; i < spec->n_unix_grants; i++) {
		const struct unix_grant *g = &spec->unix_grants[i];
		bool covered;

		if (g->flags & UNIX_SUBTREE)
			covered = !streq(path, g->path) && path_is_beneath(path, g->path);
		else if (g->flags & UNIX_DIR)
			covered = parent_equals(path, g->path);
		else
			covered = streq(path, g->path);
		if (!covered)
			continue;
		if (access == UNOTIFY_ACCESS_BIND && !(g->flags & UNIX_BIND)) {
			why_not = "its grant allows connect only (use a -bind variant)";
			continue;
		}
		*ret_why = "unix socket grant";
		return true;
	}
	if (spec->net != NET_ALLOW) {
		*ret_why = spec->n_unix_grants > 0
			       ? why_not
			       : "restricted network mode and no --allow-unix-socket* grant";
		return false;
	}
	if (access == UNOTIFY_ACCESS_BIND) {
		/* Creating a socket is no way out; Landlock's MAKE_SOCK decides in the helper. */
		*ret_why = "network allowed: bind left to the filesystem grants";
		return true;
	}
	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		if (!origin_is_users(g->origin.kind))
			continue;
		if (g->is_file ? streq(path, g->path) : path_is_beneath(path, g->path)) {
			*ret_why = "network allowed: inside a filesystem grant";
			return true;
		}
	}
	*ret_why = "outside every socket and user filesystem grant";
	return false;
}

/* A protected path (canonical, or as written when a symlink leads to it) is guarded
 * when a write grant reaches it: covers it, or lies within it. */
static bool write_reaches(const struct sandbox_spec *spec, const char *path)
{
	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		if (!g->exists || !g->path || !(g->access & FS_WRITE))
			continue;
		if (path_is_beneath(path, g->path) || path_is_beneath(g->path, path))
			return true;
	}
	return false;
}

static int guards_build(const struct sandbox_spec *spec, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	for (size_t i = 0; i < spec->n_denies; i++) {
		const struct fs_deny *d = &spec->denies[i];
		if (!d->path || d->bypassed)
			continue;
		if (!write_reaches(spec, d->path) && !(d->name && write_reaches(spec, d->name)))
			continue;
		int r = strv_extend_unique(&l, d->path);
		if (r >= 0 && d->name)
			r = strv_extend_unique(&l, d->name);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* The guarded path a name at path would touch, or NULL. A name that is made may not be
 * or lie under a guarded path; one that is replaced, removed or moved (and a new
 * symlink or hard link, which could stand in for a directory) may not be an ancestor
 * either: that would move or re-point what lies beneath. */
static const char *guard_hit(char *const *guards, const char *path, bool replace)
{
	STRV_FOREACH(g, guards)
	if (path_is_beneath(path, *g) || (replace && path_is_beneath(*g, path)))
		return *g;
	return NULL;
}

bool unotify_names_mediated(const struct sandbox_spec *spec)
{
	_cleanup_strv_free_ char **guards = NULL;
	/* Out of memory: say yes, so the caller fails closed. */
	return !spec || guards_build(spec, &guards) < 0 || guards;
}

bool unotify_name_allowed(const struct sandbox_spec *spec, const char *path, bool replace,
			  const char **ret_why)
{
	_cleanup_strv_free_ char **guards = NULL;
	const char *hit;

	if (!spec || !path || path[0] != '/') {
		*ret_why = "not an absolute path";
		return false;
	}
	if (guards_build(spec, &guards) < 0) {
		*ret_why = "out of memory";
		return false;
	}
	hit = guard_hit(guards, path, replace);
	*ret_why = hit ? "a protected name" : "no protected name";
	return !hit;
}

/* ---------------------------------------------------------------- state */

struct worker {
	struct unotify *u;
	pthread_t thread;
	bool started;
	int helper;	  /* our end of the helper's socketpair */
	int helper_child; /* the child's end, closed after fork */
	pid_t helper_pid; /* as the child reported it, 0: unknown */
	struct seccomp_notif *notif;
	struct seccomp_notif_resp *resp;
	char *data; /* sendto payload buffer, UNOTIFY_DATA_MAX */
};

struct bound_sock {
	dev_t dev;
	ino_t ino;
};

struct unotify {
	const struct sandbox_spec *spec;
	int listener;
	int send[2]; /* [0] ours: the listener arrives here; [1] the child's */
	int stop_fd; /* eventfd */
	pthread_mutex_t lock;
	pthread_cond_t free_cv; /* leadership is free (or stop) */
	bool leader;		/* a worker is polling the listener */
	bool stop;
	bool serving; /* the workers started (first notification) */
	bool idle;    /* nothing left under the filter before any notification */
	struct seccomp_notif_sizes sizes;
	struct worker w[UNOTIFY_HELPERS];

	struct bound_sock bound[BOUND_MAX]; /* ring, under lock */
	size_t n_bound, bound_next;

	char **guards; /* protected names a write grant reaches; NULL: names not mediated */
};

static void remember_bound(struct unotify *u, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&u->lock);
	u->bound[u->bound_next] = (struct bound_sock){dev, ino};
	u->bound_next = (u->bound_next + 1) % BOUND_MAX;
	if (u->n_bound < BOUND_MAX)
		u->n_bound++;
	pthread_mutex_unlock(&u->lock);
}

static bool was_bound(struct unotify *u, dev_t dev, ino_t ino)
{
	bool found = false;
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < u->n_bound && !found; i++)
		found = u->bound[i].dev == dev && u->bound[i].ino == ino;
	pthread_mutex_unlock(&u->lock);
	return found;
}

/* ---------------------------------------------------------------- helpers of a request */

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* The notifier is a thread (tid); a thread pidfd (6.9+), else its thread group's. */
static int pidfd_open_(pid_t tid)
{
	int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd >= 0 || errno != EINVAL)
		return fd;
	fd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (fd >= 0 || errno != EINVAL)
		return fd;
	/* Not a group leader on an older kernel: find the leader. */
	char path[64], buf[1024];
	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	_cleanup_close_ int sfd = open(path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return -1;
	ssize_t n = read(sfd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *t = strstr(buf, "\nTgid:");
	if (!t)
		return -1;
	return (int)syscall(SYS_pidfd_open, (pid_t)strtol(t + 6, NULL, 10), 0);
}

static int pidfd_getfd_(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, PIDFD_GETFD_FLAGS);
}

/* Read exactly len bytes at addr in pid. 0 or -EFAULT. */
static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *)(uintptr_t)addr, len};
	if (len == 0)
		return 0;
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

/* readlink into buf (NUL-terminated); the target must be an absolute, live path. */
static int read_link(const char *link, char *buf, size_t size)
{
	ssize_t n = readlink(link, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	if (buf[0] != '/' || strstr(buf, " (deleted)"))
		return -ENOENT;
	return 0;
}

static int fd_location(int fd, char *buf, size_t size)
{
	char link[64];
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return read_link(link, buf, size);
}

/* The agent's umask from /proc/<pid>/status ("Umask:\t0022"); 022 when unreadable. */
static unsigned read_umask(pid_t pid)
{
	char path[64], buf[2048];
	unsigned m = 022;
	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return m;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return m;
	buf[n] = 0;
	const char *p = strstr(buf, "\nUmask:");
	if (p)
		m = (unsigned)strtoul(p + 7, NULL, 8) & 0777;
	return m;
}

static int resolve_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* One round trip with the worker's helper. Returns the syscall result or -errno. */
static int64_t helper_call(struct worker *w, const struct unotify_req *q, const void *data,
			   size_t len, int sock, int aux, int *ret_fd)
{
	int fds[2] = {sock, aux};
	size_t nfds = aux >= 0 ? 2 : 1;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} c;
	struct iovec iov[2] = {{(void *)q, sizeof(*q)}, {(void *)data, len}};
	struct msghdr m = {.msg_iov = iov,
			   .msg_iovlen = len ? 2 : 1,
			   .msg_control = c.buf,
			   .msg_controllen = CMSG_SPACE(nfds * sizeof(int))};
	struct unotify_reply rep;
	ssize_t n;

	memset(c.buf, 0, sizeof(c.buf));
	c.h.cmsg_level = SOL_SOCKET;
	c.h.cmsg_type = SCM_RIGHTS;
	c.h.cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(&c.h), fds, nfds * sizeof(int));
	while ((n = sendmsg(w->helper, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -ECONNABORTED;
	/* An answer may carry one fd (an opened file): take it only where one is expected. */
	struct iovec riov = {&rep, sizeof(rep)};
	struct msghdr rm = {.msg_iov = &riov,
			    .msg_iovlen = 1,
			    .msg_control = c.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int))};
	while ((n = recvmsg(w->helper, &rm, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	int got = -EBADF;
	struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&rm) : NULL;
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
	    h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&got, CMSG_DATA(h), sizeof(int));
	if (n != sizeof(rep) || rep.err || !ret_fd || got < 0) {
		safe_close(got);
		if (n != sizeof(rep))
			return -ECONNABORTED;
		if (!rep.err && ret_fd)
			return -EIO; /* an open that brought no file */
		return rep.err ? -(int64_t)rep.err : rep.ret;
	}
	*ret_fd = got;
	return rep.ret;
}

size_t unotify_sun_path_len(const struct sockaddr_storage *ss, size_t addrlen)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	const size_t off = offsetof(struct sockaddr_un, sun_path);

	if (ss->ss_family != AF_UNIX || addrlen <= off || addrlen > sizeof(*ss) ||
	    sun->sun_path[0] == 0)
		return 0;
	/* sun_path and what follows it inside ss: the kernel's own bound is addrlen. */
	return strnlen(sun->sun_path, addrlen - off);
}

int unotify_sun_path(const char *cwd, const char *p, size_t plen, char *out, size_t outsz)
{
	int e;

	if (plen == 0 || memchr(p, '\0', plen))
		return -EINVAL;
	if (cwd)
		e = snprintf(out, outsz, "%s/%.*s", streq(cwd, "/") ? "" : cwd, (int)plen, p);
	else
		e = snprintf(out, outsz, "%.*s", (int)plen, p);
	if (e < 0 || (size_t)e >= outsz)
		return -ENAMETOOLONG;
	return 0;
}

static void deny_log(const struct unotify_call *r, const char *path, const char *why)
{
	log_info("denied %s to AF_UNIX socket '%s' (pid %d): %s", r->op_name, path, (int)r->pid,
		 why);
}

/*
 * Decide and perform one request. Returns the value for the agent: >= 0 result or
 * -errno. *ret_gone is set when the notification is no longer valid (no answer).
 */
static int64_t handle(struct worker *w, const struct unotify_call *r, uint64_t id, bool *ret_gone)
{
	struct unotify *u = w->u;
	struct sockaddr_storage ss;
	_cleanup_close_ int pidfd = -EBADF, sock = -EBADF, rootfd = -EBADF, target = -EBADF;
	char cwd[PATH_MAX], abs[PATH_MAX + sizeof(ss)], real[PATH_MAX];
	struct unotify_req q = {0};
	size_t datalen = 0;
	unsigned umask_ = 022;
	bool is_path = false;
	int e;

	*ret_gone = false;
	if (r->addrlen < 0 || (uint64_t)r->addrlen > sizeof(ss))
		return -EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (read_mem(r->pid, r->addr_ptr, &ss, (size_t)r->addrlen) < 0)
		return -EFAULT;

	pidfd = pidfd_open_(r->pid);
	if (pidfd < 0)
		return -ESRCH; /* gone, and then the answer goes nowhere */
	sock = pidfd_getfd_(pidfd, r->fd);
	if (sock < 0) {
		e = errno;
		if (e == EBADF)
			return -EBADF;
		log_warning("AF_UNIX mediation: cannot take socket %d of pid %d: %s", r->fd,
			    (int)r->pid, strerror(e));
		return -EACCES;
	}

	if (r->op == UNOTIFY_SENDTO) {
		int type = 0;
		socklen_t tl = sizeof(type);
		datalen = r->len;
		if (datalen > UNOTIFY_DATA_MAX) {
			/* A stream may take part of it (a short write); a datagram may not. */
			if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
			    type == SOCK_STREAM)
				datalen = UNOTIFY_DATA_MAX;
			else
				return -EMSGSIZE;
		}
		if (read_mem(r->pid, r->buf_ptr, w->data, datalen) < 0)
			return -EFAULT;
	}

	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	size_t plen = unotify_sun_path_len(&ss, (size_t)r->addrlen);
	if (plen > 0) {
		is_path = true;
		char link[64];
		(void)snprintf(link, sizeof(link), "/proc/%d/root", (int)r->pid);
		rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0) {
			log_warning("AF_UNIX mediation: cannot open the root of pid %d: %m",
				    (int)r->pid);
			return -EACCES;
		}
		if (sun->sun_path[0] != '/') {
			(void)snprintf(link, sizeof(link), "/proc/%d/cwd", (int)r->pid);
			if (read_link(link, cwd, sizeof(cwd)) < 0)
				return -ENOENT;
		}
		if ((e = unotify_sun_path(sun->sun_path[0] != '/' ? cwd : NULL, sun->sun_path, plen,
					  abs, sizeof(abs))) < 0)
			return e;
		if (r->op == UNOTIFY_BIND)
			umask_ = read_umask(r->pid);
	}

	/* Everything read through the pid is the notifier's only if it is still waiting. */
	if (ioctl(u->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0) {
		*ret_gone = true;
		return -ESRCH;
	}

	q.op = (uint32_t)r->op;
	q.flags = r->flags;
	q.len = (uint32_t)datalen;
	if (!is_path) {
		/* TCP, abstract, unnamed, netlink...: the kernel decides in the helper. */
		q.via = UNOTIFY_VIA_ADDR;
		q.addrlen = (uint32_t)r->addrlen;
		memcpy(&q.addr, &ss, sizeof(ss));
		return helper_call(w, &q, w->data, datalen, sock, -1, NULL);
	}

	const char *why = NULL;
	struct stat st;
	if (r->op == UNOTIFY_BIND) {
		/* Pin the parent directory; the new name is created in exactly that one. */
		char *slash = strrchr(abs, '/');
		const char *name = slash + 1;
		if (!*name || streq(name, ".") || streq(name, ".."))
			return -EINVAL;
		if (strlen(name) >= sizeof(q.name))
			return -ENAMETOOLONG;
		*slash = 0;
		target = resolve_in_root(rootfd, *abs ? abs : "/", O_DIRECTORY);
		if (target < 0)
			return target;
		if ((e = fd_location(target, real, sizeof(real))) < 0)
			return e;
		size_t rl = strlen(real);
		if (rl + 1 + strlen(name) + 1 > sizeof(real))
			return -ENAMETOOLONG;
		(void)snprintf(real + rl, sizeof(real) - rl, "%s%s", streq(real, "/") ? "" : "/",
			       name);
		if (!unotify_path_allowed(u->spec, real, UNOTIFY_ACCESS_BIND, &why)) {
			deny_log(r, real, why);
			return -EACCES;
		}
		const char *hit = guard_hit(u->guards, real, false);
		if (hit) {
			log_info("denied bind of '%s' (pid %d): protected name '%s'", real,
				 (int)r->pid, hit);
			return -EACCES;
		}
		q.via = UNOTIFY_VIA_DIR;
		q.umask = umask_;
		memcpy(q.name, name, strlen(name) + 1);
		int64_t ret = helper_call(w, &q, NULL, 0, sock, target, NULL);
		if (ret == 0 && fstatat(target, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISSOCK(st.st_mode))
			remember_bound(u, st.st_dev, st.st_ino);
		log_debug("%s AF_UNIX socket '%s' (pid %d): %s", r->op_name, real, (int)r->pid,
			  why);
		return ret;
	}

	/* connect, sendto: pin the socket file itself, following symlinks as the kernel does. */
	target = resolve_in_root(rootfd, abs, 0);
	if (target < 0)
		return target;
	if (fstat(target, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ECONNREFUSED;
	if ((e = fd_location(target, real, sizeof(real))) < 0)
		return e;
	if (!unotify_path_allowed(u->spec, real, UNOTIFY_ACCESS_CONNECT, &why)) {
		if (!was_bound(u, st.st_dev, st.st_ino)) {
			deny_log(r, real, why);
			return -EACCES;
		}
		why = "bound inside this sandbox";
	}
	log_debug("%s AF_UNIX socket '%s' (pid %d): %s", r->op_name, real, (int)r->pid, why);
	q.via = UNOTIFY_VIA_FD;
	return helper_call(w, &q, w->data, datalen, sock, target, NULL);
}

/* ---------------------------------------------------------------- protected names */

/*
 * A mask protects an inode that existed at launch; these calls protect the names. Each
 * path is read once; its parent directory is resolved in the agent's view (root, cwd
 * or dirfd; "..", symlinks) and pinned as an O_PATH fd; the pinned directory's real
 * location plus the final component (never followed, except an O_CREAT open's own
 * symlink chain, which is walked here link by link) is what is judged; and the helper
 * performs the call on the pinned directory with that final component. So the name
 * made, replaced or removed is the one that was checked. Refusals are EACCES.
 */

struct fsreq {
	pid_t pid;
	const char *op_name;
	int op;		 /* enum unotify_op, OPEN..UNLINK */
	int dfd1, dfd2;	 /* AT_FDCWD or the agent's fds */
	uint64_t p1, p2; /* the name; the second name (rename), old path (link), target (symlink) */
	int flags;
	unsigned mode;
	uint64_t dev;
};

static bool decode_fs(const struct seccomp_notif *n, struct fsreq *f)
{
	const __u64 *a = n->data.args;
	_cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(n->data.arch, n->data.nr);
	static const struct {
		const char *name;
		int op, dfd1, p1, dfd2, p2, flags, mode, dev; /* argument index, -1: none */
	} map[] = {
	    {"open", UNOTIFY_OPEN, -1, 0, -1, -1, 1, 2, -1},
	    {"creat", UNOTIFY_OPEN, -1, 0, -1, -1, -1, 1, -1},
	    {"openat", UNOTIFY_OPEN, 0, 1, -1, -1, 2, 3, -1},
	    {"mkdir", UNOTIFY_MKDIR, -1, 0, -1, -1, -1, 1, -1},
	    {"mkdirat", UNOTIFY_MKDIR, 0, 1, -1, -1, -1, 2, -1},
	    {"mknod", UNOTIFY_MKNOD, -1, 0, -1, -1, -1, 1, 2},
	    {"mknodat", UNOTIFY_MKNOD, 0, 1, -1, -1, -1, 2, 3},
	    {"symlink", UNOTIFY_SYMLINK, -1, 1, -1, 0, -1, -1, -1},
	    {"symlinkat", UNOTIFY_SYMLINK, 1, 2, -1, 0, -1, -1, -1},
	    {"link", UNOTIFY_LINK, -1, 1, -1, 0, -1, -1, -1},
	    {"linkat", UNOTIFY_LINK, 2, 3, 0, 1, 4, -1, -1},
	    {"rename", UNOTIFY_RENAME, -1, 0, -1, 1, -1, -1, -1},
	    {"renameat", UNOTIFY_RENAME, 0, 1, 2, 3, -1, -1, -1},
	    {"renameat2", UNOTIFY_RENAME, 0, 1, 2, 3, 4, -1, -1},
	    {"unlink", UNOTIFY_UNLINK, -1, 0, -1, -1, -1, -1, -1},
	    {"unlinkat", UNOTIFY_UNLINK, 0, 1, -1, -1, 2, -1, -1},
	    {"rmdir", UNOTIFY_UNLINK, -1, 0, -1, -1, -1, -1, -1},
	};

	if (!name)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (!streq(name, map[i].name))
			continue;
		*f = (struct fsreq){.pid = (pid_t)n->pid,
				    .op_name = map[i].name,
				    .op = map[i].op,
				    .dfd1 = AT_FDCWD,
				    .dfd2 = AT_FDCWD};
		if (map[i].dfd1 >= 0)
			f->dfd1 = (int)a[map[i].dfd1];
		if (map[i].dfd2 >= 0)
			f->dfd2 = (int)a[map[i].dfd2];
		f->p1 = a[map[i].p1];
		if (map[i].p2 >= 0)
			f->p2 = a[map[i].p2];
		if (map[i].flags >= 0)
			f->flags = (int)a[map[i].flags];
		if (map[i].mode >= 0)
			f->mode = (unsigned)a[map[i].mode];
		if (map[i].dev >= 0)
			f->dev = a[map[i].dev];
		if (streq(name, "creat"))
			f->flags = O_CREAT | O_WRONLY | O_TRUNC;
		else if (streq(name, "rmdir"))
			f->flags = AT_REMOVEDIR;
		return true;
	}
	return false;
}

/* Read the NUL-terminated string at addr in pid (at most size - 1 bytes), page by page so
 * that a string ending just before an unmapped page is read. 0, -EFAULT or -ENAMETOOLONG. */
static int read_str(pid_t pid, uint64_t addr, char *buf, size_t size)
{
	size_t done = 0;
	while (done < size) {
		size_t chunk = 4096 - ((addr + done) & 4095);
		if (chunk > size - done)
			chunk = size - done;
		if (read_mem(pid, addr + done, buf + done, chunk) < 0)
			return -EFAULT;
		if (memchr(buf + done, 0, chunk))
			return 0;
		done += chunk;
	}
	return -ENAMETOOLONG;
}

/* One name of a request, read and then pinned. */
struct fsname {
	char path[PATH_MAX];	 /* as given */
	int base;		 /* its starting directory when relative: cwd or dirfd (ours) */
	int parent;		 /* pinned parent directory (O_PATH) */
	char real[PATH_MAX + 1]; /* parent's location + "/" + last: what is judged */
	char last[NAME_MAX + 2]; /* final component, "/" kept when the path had one */
	bool slash, dot;
};

static void fsname_done(struct fsname *n)
{
	n->base = safe_close(n->base);
	n->parent = safe_close(n->parent);
}

/* Before NOTIF_ID_VALID: copy the path and take its starting directory. */
static int fsname_read(pid_t pid, int pidfd, int dfd, uint64_t addr, struct fsname *n)
{
	int r = read_str(pid, addr, n->path, sizeof(n->path));
	if (r < 0)
		return r;
	if (!n->path[0])
		return -ENOENT; /* AT_EMPTY_PATH makes no name */
	if (n->path[0] == '/')
		return 0;
	if (dfd == AT_FDCWD) {
		char link[64];
		(void)snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
		n->base = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else
		n->base = pidfd_getfd_(pidfd, dfd);
	return n->base < 0 ? (errno == ENOTDIR ? -ENOTDIR : -EBADF) : 0;
}

static bool on_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/* Resolve n (or the absolute path abs instead) down to its pinned parent and last. */
static int fsname_pin(int rootfd, struct fsname *n, const char *abs_in)
{
	char abs[PATH_MAX * 2 + 2];
	struct stat st;
	size_t len;
	int e;

	n->parent = safe_close(n->parent);
	if (abs_in)
		e = snprintf(abs, sizeof(abs), "%s", abs_in);
	else if (n->path[0] == '/')
		e = snprintf(abs, sizeof(abs), "%s", n->path);
	else {
		char base[PATH_MAX];
		if (fstat(n->base, &st) < 0 || !S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if ((e = fd_location(n->base, base, sizeof(base))) < 0)
			return e;
		e = snprintf(abs, sizeof(abs), "%s/%s", streq(base, "/") ? "" : base, n->path);
	}
	if (e < 0 || (size_t)e >= sizeof(abs))
		return -ENAMETOOLONG;
	len = (size_t)e;
	n->slash = false;
	while (len > 1 && abs[len - 1] == '/') {
		abs[--len] = 0;
		n->slash = true;
	}
	char *cut = strrchr(abs, '/');
	const char *last = cut + 1;
	if (!*last) /* "/" itself */
		last = ".";
	if (strlen(last) > NAME_MAX)
		return -ENAMETOOLONG;
	n->dot = streq(last, ".") || streq(last, "..");
	(void)snprintf(n->last, sizeof(n->last), "%s%s", last, n->slash ? "/" : "");
	if (cut == abs)
		cut[1] = 0;
	else
		*cut = 0;
	n->parent = resolve_in_root(rootfd, abs, O_DIRECTORY);
	if (n->parent < 0)
		return n->parent;
	/* No names are made in procfs, and resolved here "self" is the supervisor: refuse
	 * (the agent's own /proc/self/fd/N and /dev/std* are reopened, see handle_fs()). */
	if (on_procfs(n->parent))
		return -EACCES;
	char loc[PATH_MAX];
	if ((e = fd_location(n->parent, loc, sizeof(loc))) < 0)
		return e;
	e = snprintf(n->real, sizeof(n->real), "%s/%s", streq(loc, "/") ? "" : loc, last);
	if (e < 0 || (size_t)e >= sizeof(n->real))
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The agent's own descriptor N behind "/proc/self/fd/N", "/proc/thread-self/fd/N",
 * "/dev/fd/N", "/dev/stdin|stdout|stderr" (magic links: the kernel reopens that file,
 * no name is made), or -1. Resolved here, "self" would be the supervisor.
 */
static int self_fd_number(const char *p)
{
	static const char *const std[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
	static const char *const dirs[] = {"/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/"};
	const char *rest = NULL;
	long v = 0;

	for (size_t i = 0; i < ARRAY_SIZE(std); i++)
		if (streq(p, std[i]))
			return (int)i;
	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !rest; i++)
		rest = startswith(p, dirs[i]);
	if (!rest || !*rest || strlen(rest) > 9)
		return -1;
	for (; *rest; rest++) {
		if (*rest < '0' || *rest > '9')
			return -1;
		v = v * 10 + (*rest - '0');
	}
	return (int)v;
}

/*
 * An O_CREAT open follows a symlink in the last component (the kernel would create its
 * target): walk the chain here, so the name judged and opened is never a symlink.
 * Returns 0, the agent's descriptor number + 1 when the chain ends in one of its own
 * (self_fd_number()), or -errno.
 */
static int fsname_follow(int rootfd, struct fsname *n, int flags)
{
	for (int hops = 0; hops < 40; hops++) {
		char target[PATH_MAX], abs[PATH_MAX * 2 + 2];
		struct stat st;
		ssize_t len;

		if (n->slash || (flags & (O_EXCL | O_NOFOLLOW)) || n->dot ||
		    fstatat(n->parent, n->last, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISLNK(st.st_mode))
			return 0;
		len = readlinkat(n->parent, n->last, target, sizeof(target) - 1);
		if (len < 0)
			return -errno;
		target[len] = 0;
		int self = self_fd_number(target);
		if (self >= 0)
			return self + 1;
		if (target[0] == '/')
			(void)snprintf(abs, sizeof(abs), "%s", target);
		else {
			/* real minus its last component is the parent's location */
			size_t pl = strlen(n->real) - strlen(n->last);
			(void)snprintf(abs, sizeof(abs), "%.*s%s", (int)pl, n->real, target);
		}
		int r = fsname_pin(rootfd, n, abs);
		if (r < 0)
			return r;
	}
	return -ELOOP;
}

static void deny_name_log(const char *op, const struct fsname *n, const char *guard, pid_t pid)
{
	log_info("denied %s of '%s' (pid %d): protected name '%s'", op, n->real, (int)pid, guard);
}

/* The errno the kernel gives for "." or ".." as the last component. */
static int dot_errno(const struct fsreq *f, const struct fsname *n)
{
	switch (f->op) {
	case UNOTIFY_OPEN:
		return -EISDIR;
	case UNOTIFY_RENAME:
		return -EBUSY;
	case UNOTIFY_UNLINK:
		if (!(f->flags & AT_REMOVEDIR))
			return -EISDIR;
		return startswith(n->last, "..") ? -ENOTEMPTY : -EINVAL;
	default:
		return -EEXIST;
	}
}

/*
 * Decide and perform one name request. Returns the value for the agent (>= 0 or
 * -errno); for an open, *ret_fd is the opened file to install. *ret_gone as in handle().
 */
static int64_t handle_fs(struct worker *w, const struct fsreq *f, uint64_t id, int *ret_fd,
			 bool *ret_gone)
{
	struct unotify *u = w->u;
	_cleanup_close_ int pidfd = -EBADF, rootfd = -EBADF, oldbase = -EBADF;
	struct fsname *n1 = (struct fsname *)w->data; /* two, in the worker's buffer */
	struct fsname *n2 = n1 + 1;
	_Static_assert(2 * sizeof(struct fsname) + sizeof(struct unotify_fs) + 2 * PATH_MAX + 2 <=
			   UNOTIFY_DATA_MAX,
		       "two names and the request fit the worker's buffer");
	struct unotify_fs args = {.mode = f->mode, .dev = f->dev};
	char *out = (char *)(n2 + 1);
	size_t outlen = 0;
	int64_t ret;
	int e;

	*ret_gone = false;
	*ret_fd = -EBADF;
	n1->base = n1->parent = n2->base = n2->parent = -EBADF;
	pidfd = pidfd_open_(f->pid);
	if (pidfd < 0)
		return -ESRCH;
	char link[64];
	(void)snprintf(link, sizeof(link), "/proc/%d/root", (int)f->pid);
	rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -ESRCH;
	if ((e = fsname_read(f->pid, pidfd, f->dfd1, f->p1, n1)) < 0)
		goto done;
	if (f->op == UNOTIFY_RENAME && (e = fsname_read(f->pid, pidfd, f->dfd2, f->p2, n2)) < 0)
		goto done;
	if (f->op == UNOTIFY_SYMLINK || f->op == UNOTIFY_LINK) {
		/* the symlink's target or the link's old path: a string for the helper */
		if ((e = read_str(f->pid, f->p2, n2->path, sizeof(n2->path))) < 0)
			goto done;
		int own = f->op == UNOTIFY_LINK && (f->flags & AT_SYMLINK_FOLLOW)
			      ? self_fd_number(n2->path)
			      : -1;
		if (f->op == UNOTIFY_LINK && !n2->path[0] && !(f->flags & AT_EMPTY_PATH)) {
			e = -ENOENT;
			goto done;
		}
		if (own >= 0) {
			/* linkat of "/proc/self/fd/N" (an O_TMPFILE file made visible): the
			 * agent's descriptor; the helper links its own copy of it. */
			oldbase = pidfd_getfd_(pidfd, own);
			n2->path[0] = 0;
			if (oldbase < 0) {
				e = -ENOENT;
				goto done;
			}
		} else if (f->op == UNOTIFY_LINK) {
			if (f->dfd2 == AT_FDCWD) {
				(void)snprintf(link, sizeof(link), "/proc/%d/cwd", (int)f->pid);
				oldbase = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
			} else
				oldbase = pidfd_getfd_(pidfd, f->dfd2);
			if (oldbase < 0) {
				e = -EBADF;
				goto done;
			}
		}
	}
	unsigned umask_ = f->op <= UNOTIFY_MKNOD ? read_umask(f->pid) : 022;

	/* Everything read through the pid is the notifier's only if it is still waiting. */
	if (ioctl(u->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0) {
		*ret_gone = true;
		e = -ESRCH;
		goto done;
	}

	int self = f->op == UNOTIFY_OPEN && !(f->flags & (O_EXCL | O_NOFOLLOW))
		       ? self_fd_number(n1->path)
		       : -1;
	if (self < 0 && (e = fsname_pin(rootfd, n1, NULL)) < 0)
		goto done;
	if (f->op == UNOTIFY_OPEN && self < 0) {
		if (n1->slash) {
			e = -EISDIR;
			goto done;
		}
		if ((e = fsname_follow(rootfd, n1, f->flags)) < 0)
			goto done;
		self = e - 1;
	}
	if (self >= 0) {
		/* The agent's own open file, reopened (as the kernel would): no name is made. */
		_cleanup_close_ int own = pidfd_getfd_(pidfd, self);
		if (own < 0) {
			e = -ENOENT;
			goto done;
		}
		struct unotify_req rq = {
		    .op = UNOTIFY_REOPEN, .umask = umask_, .flags = f->flags, .len = sizeof(args)};
		ret = helper_call(w, &rq, &args, sizeof(args), own, -1, ret_fd);
		log_debug("%s of its descriptor %d (pid %d): %s", f->op_name, self, (int)f->pid,
			  ret < 0 ? strerror((int)-ret) : "done");
		e = (int)ret;
		goto done;
	}
	if (f->op == UNOTIFY_RENAME && (e = fsname_pin(rootfd, n2, NULL)) < 0)
		goto done;
	if (n1->dot || (f->op == UNOTIFY_RENAME && n2->dot)) {
		e = dot_errno(f, n1->dot ? n1 : n2);
		goto done;
	}
	/* A new file, directory or node is made: "create"; anything else may replace. */
	bool replace = f->op != UNOTIFY_OPEN && f->op != UNOTIFY_MKDIR && f->op != UNOTIFY_MKNOD;
	const struct fsname *judged = n1;
	const char *hit = guard_hit(u->guards, n1->real, replace);
	if (!hit && f->op == UNOTIFY_RENAME && (hit = guard_hit(u->guards, n2->real, true)))
		judged = n2;
	if (hit) {
		struct stat st;
		/* Making a name that exists fails with EEXIST before any permission check
		 * (so `mkdir -p` passes a protected directory that is there, masked). */
		if ((f->op == UNOTIFY_MKDIR || f->op == UNOTIFY_MKNOD || f->op == UNOTIFY_SYMLINK ||
		     f->op == UNOTIFY_LINK || (f->op == UNOTIFY_OPEN && (f->flags & O_EXCL))) &&
		    fstatat(n1->parent, n1->last, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			e = -EEXIST;
			goto done;
		}
		deny_name_log(f->op_name, judged, hit, f->pid);
		e = -EACCES;
		goto done;
	}

	/* struct unotify_fs, then the strings the helper needs */
	memcpy(out, &args, sizeof(args));
	outlen = sizeof(args);
	const char *s1 = n1->last;
	const char *s2 = f->op == UNOTIFY_RENAME			     ? n2->last
			 : f->op == UNOTIFY_SYMLINK || f->op == UNOTIFY_LINK ? n2->path
									     : "";
	size_t l1 = strlen(s1) + 1, l2 = strlen(s2) + 1;
	memcpy(out + outlen, s1, l1);
	outlen += l1;
	memcpy(out + outlen, s2, l2);
	outlen += l2;

	struct unotify_req q = {
	    .op = (uint32_t)f->op, .umask = umask_, .flags = f->flags, .len = (uint32_t)outlen};
	if (f->op == UNOTIFY_LINK)
		ret = helper_call(w, &q, out, outlen, oldbase, n1->parent, NULL);
	else if (f->op == UNOTIFY_RENAME)
		ret = helper_call(w, &q, out, outlen, n1->parent, n2->parent, NULL);
	else
		ret = helper_call(w, &q, out, outlen, n1->parent, -1,
				  f->op == UNOTIFY_OPEN ? ret_fd : NULL);
	log_debug("%s '%s' (pid %d): %s", f->op_name, n1->real, (int)f->pid,
		  ret < 0 ? strerror((int)-ret) : "done");
	fsname_done(n1);
	fsname_done(n2);
	return ret;
done:
	fsname_done(n1);
	fsname_done(n2);
	return e;
}

bool unotify_decode(const struct seccomp_notif *n, struct unotify_call *r)
{
	const char *name = NULL;
	char *other = NULL;

	*r = (struct unotify_call){.pid = (pid_t)n->pid, .fd = (int)n->data.args[0]};
	if (n->data.arch == seccomp_arch_native()) {
		/* The hot path: no lookup, no allocation. */
		name = n->data.nr == __NR_connect  ? "connect"
		       : n->data.nr == __NR_bind   ? "bind"
		       : n->data.nr == __NR_sendto ? "sendto"
						   : NULL;
	} else
		name = other = seccomp_syscall_resolve_num_arch(n->data.arch, n->data.nr);
	if (!name)
		return false;
	bool ok = true;
	if (streq(name, "connect") || streq(name, "bind")) {
		r->op = name[0] == 'c' ? UNOTIFY_CONNECT : UNOTIFY_BIND;
		r->op_name = name[0] == 'c' ? "connect" : "bind";
		r->addr_ptr = n->data.args[1];
		r->addrlen = (int)n->data.args[2];
	} else if (streq(name, "sendto")) {
		r->op = UNOTIFY_SENDTO;
		r->op_name = "sendto";
		r->buf_ptr = n->data.args[1];
		r->len = n->data.args[2];
		r->flags = (int)n->data.args[3];
		r->addr_ptr = n->data.args[4];
		r->addrlen = (int)n->data.args[5];
	} else
		ok = false;
	free(other);
	return ok;
}

/*
 * Leader/followers: one worker at a time (the leader) polls the listener and receives;
 * it then hands leadership on and handles its notification. So no thread ever sits in
 * NOTIF_RECV without a notification pending (a dying filter would not wake it), there is
 * no extra hand-off on the hot path, and a slow connect only takes one worker out.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct unotify *u = w->u;

	for (;;) {
		pthread_mutex_lock(&u->lock);
		while (u->leader && !u->stop)
			pthread_cond_wait(&u->free_cv, &u->lock);
		if (u->stop) {
			pthread_mutex_unlock(&u->lock);
			return NULL;
		}
		u->leader = true;
		pthread_mutex_unlock(&u->lock);

		bool got = false, end = false;
		struct pollfd p[2] = {{u->listener, POLLIN, 0}, {u->stop_fd, POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			end = errno != EINTR;
		} else if (p[1].revents) {
			end = true;
		} else if (p[0].revents & POLLIN) {
			memset(w->notif, 0, u->sizes.seccomp_notif);
			got = ioctl(u->listener, SECCOMP_IOCTL_NOTIF_RECV, w->notif) == 0;
		} else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			end = true; /* nothing left under the filter */

		pthread_mutex_lock(&u->lock);
		u->leader = false;
		if (end)
			u->stop = true;
		if (end)
			pthread_cond_broadcast(&u->free_cv);
		else
			pthread_cond_signal(&u->free_cv);
		pthread_mutex_unlock(&u->lock);
		if (!got)
			continue;

		struct seccomp_notif *n = w->notif;
		struct unotify_call r;
		struct fsreq f;
		bool gone = false;
		int newfd = -EBADF;
		int64_t val = unotify_decode(n, &r) ? handle(w, &r, n->id, &gone)
			      : decode_fs(n, &f)    ? handle_fs(w, &f, n->id, &newfd, &gone)
						    : -ENOSYS;
		if (gone) {
			safe_close(newfd);
			continue;
		}
		if (newfd >= 0) {
			/* Install the opened file in the agent and answer with its number, in
			 * one step; the agent's O_CLOEXEC decides the new descriptor's flag. */
			struct seccomp_notif_addfd add = {
			    .id = n->id,
			    .flags = SECCOMP_ADDFD_FLAG_SEND,
			    .srcfd = (uint32_t)newfd,
			    .newfd_flags = (f.flags & O_CLOEXEC) ? O_CLOEXEC : 0,
			};
			int ok = ioctl(u->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
			int err = ok < 0 ? errno : 0;
			safe_close(newfd);
			if (ok >= 0 || err == ENOENT || err == EINPROGRESS)
				continue;
			val = -err; /* e.g. EMFILE: the agent's fd table is full */
		}
		memset(w->resp, 0, u->sizes.seccomp_notif_resp);
		w->resp->id = n->id;
		if (val < 0)
			w->resp->error = (int32_t)val;
		else
			w->resp->val = val;
		/* ENOENT: the caller was interrupted or died meanwhile; nothing to do. */
		(void)ioctl(u->listener, SECCOMP_IOCTL_NOTIF_SEND, w->resp);
	}
}

/* ---------------------------------------------------------------- lifecycle */

int unotify_new(const struct sandbox_spec *spec, struct sandbox_plan *plan, struct unotify **ret)
{
	_cleanup_(unotify_freep) struct unotify *u = NULL;
	int child_ends[UNOTIFY_HELPERS];
	int r;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->spec = spec;
	u->listener = u->send[0] = u->send[1] = u->stop_fd = -EBADF;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->free_cv, NULL);
	for (size_t i = 0; i < UNOTIFY_HELPERS; i++) {
		struct worker *w = &u->w[i];
		int sv[2];
		w->u = u;
		w->helper = w->helper_child = -EBADF;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		w->helper = sv[0];
		w->helper_child = child_ends[i] = sv[1];
		/* Room for a full request: header plus UNOTIFY_DATA_MAX bytes of payload. */
		int sz = (int)(sizeof(struct unotify_req) + UNOTIFY_DATA_MAX + 4096);
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		w->data = malloc(UNOTIFY_DATA_MAX);
		if (!w->data)
			return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, u->send) < 0)
		return -errno;
	u->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (u->stop_fd < 0)
		return -errno;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &u->sizes) < 0)
		return -errno;
	if (u->sizes.seccomp_notif < sizeof(struct seccomp_notif))
		u->sizes.seccomp_notif = sizeof(struct seccomp_notif);
	if (u->sizes.seccomp_notif_resp < sizeof(struct seccomp_notif_resp))
		u->sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
	for (size_t i = 0; i < UNOTIFY_HELPERS; i++) {
		u->w[i].notif = calloc(1, u->sizes.seccomp_notif);
		u->w[i].resp = calloc(1, u->sizes.seccomp_notif_resp);
		if (!u->w[i].notif || !u->w[i].resp)
			return -ENOMEM;
	}

	r = guards_build(spec, &u->guards);
	if (r < 0)
		return r;
	r = sandbox_plan_set_unotify(plan, spec, u->send[1], child_ends, UNOTIFY_HELPERS,
				     !!u->guards);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(u);
	return 0;
}

void unotify_after_fork(struct unotify *u)
{
	if (!u)
		return;
	u->send[1] = safe_close(u->send[1]);
	for (size_t i = 0; i < UNOTIFY_HELPERS; i++)
		u->w[i].helper_child = safe_close(u->w[i].helper_child);
}

int unotify_start(struct unotify *u)
{
	int32_t pids[UNOTIFY_HELPERS];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = {pids, sizeof(pids)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = c.buf,
			    .msg_controllen = sizeof(c.buf)};
	ssize_t n;

	if (!u)
		return -EINVAL;
	/* Sent before execve, which has happened: it is there or never comes. */
	while ((n = recvmsg(u->send[0], &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 &&
	       errno == EINTR)
		;
	struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS ||
	    h->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPIPE;
	memcpy(&u->listener, CMSG_DATA(h), sizeof(int));
	u->send[0] = safe_close(u->send[0]);
	if (n != (ssize_t)sizeof(pids))
		return -EPROTO;
	/* Our children (CLONE_PARENT): unreaped, so these pids cannot be reused meanwhile. */
	for (size_t i = 0; i < UNOTIFY_HELPERS; i++)
		u->w[i].helper_pid = pids[i] > 0 ? pids[i] : 0;

	/* The agent waits for each answer: have the kernel switch to us and back on one CPU
	 * (6.6+; older kernels just do ordinary wake-ups). */
	(void)ioctl(u->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		    (uint64_t)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	return 0;
}

int unotify_wait_fd(const struct unotify *u)
{
	return u && u->listener >= 0 && !u->serving && !u->idle ? u->listener : -1;
}

int unotify_serve(struct unotify *u, short revents)
{
	int r = 0;

	if (unotify_wait_fd(u) < 0)
		return 0;
	if (!(revents & POLLIN)) {
		if (revents & (POLLHUP | POLLERR | POLLNVAL))
			u->idle = true;
		return 0;
	}
	/* Workers must not take the supervisor's signals (signalfd reads them). */
	u->serving = true;
	for (size_t i = 0; i < UNOTIFY_HELPERS && r == 0; i++) {
		r = thread_start_unsignalled(&u->w[i].thread, worker_main, &u->w[i]);
		u->w[i].started = r == 0;
	}
	return r;
}

bool unotify_is_helper(const struct unotify *u, pid_t pid)
{
	for (size_t i = 0; u && pid > 0 && i < UNOTIFY_HELPERS; i++)
		if (u->w[i].helper_pid == pid)
			return true;
	return false;
}

struct unotify *unotify_free(struct unotify *u)
{
	if (!u)
		return NULL;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_broadcast(&u->free_cv);
	pthread_mutex_unlock(&u->lock);
	if (u->stop_fd >= 0)
		(void)eventfd_write(u->stop_fd, 1);
	/* A helper may sit in a long connect for a straggler: end it so its worker returns. */
	for (size_t i = 0; i < UNOTIFY_HELPERS; i++)
		if (u->w[i].helper_pid > 0)
			(void)kill(u->w[i].helper_pid, SIGKILL);
	for (size_t i = 0; i < UNOTIFY_HELPERS; i++) {
		struct worker *w = &u->w[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		safe_close(w->helper);
		safe_close(w->helper_child);
		if (w->helper_pid > 0)
			(void)waitpid(w->helper_pid, NULL, __WALL);
		free(w->notif);
		free(w->resp);
		free(w->data);
	}
	safe_close(u->listener);
	safe_close(u->send[0]);
	safe_close(u->send[1]);
	safe_close(u->stop_fd);
	strv_free(u->guards);
	pthread_cond_destroy(&u->free_cv);
	pthread_mutex_destroy(&u->lock);
	free(u);
	return NULL;
}
