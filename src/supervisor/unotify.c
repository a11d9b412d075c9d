/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_UNIX path-socket mediation. Landlock (ABI 7) does not govern connect(2) to a
 * named socket, so the child's last seccomp filter turns connect, bind and sendto with
 * an address into user notifications, and this file answers them.
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
 *      (forked by the child after Landlock and seccomp, before this filter; see
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
 * all are busy, further notifications wait in the kernel.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/path.h"
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
	struct seccomp_notif_sizes sizes;
	struct worker w[UNOTIFY_HELPERS];

	struct bound_sock bound[BOUND_MAX]; /* ring, under lock */
	size_t n_bound, bound_next;
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
			   size_t len, int sock, int aux)
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
	while ((n = recv(w->helper, &rep, sizeof(rep), 0)) < 0 && errno == EINTR)
		;
	if (n != sizeof(rep))
		return -ECONNABORTED;
	return rep.err ? -(int64_t)rep.err : rep.ret;
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
		return helper_call(w, &q, w->data, datalen, sock, -1);
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
		q.via = UNOTIFY_VIA_DIR;
		q.umask = umask_;
		memcpy(q.name, name, strlen(name) + 1);
		int64_t ret = helper_call(w, &q, NULL, 0, sock, target);
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
	return helper_call(w, &q, w->data, datalen, sock, target);
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
		bool gone = false;
		int64_t val = unotify_decode(n, &r) ? handle(w, &r, n->id, &gone) : -ENOSYS;
		if (gone)
			continue;
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

	r = sandbox_plan_set_unotify(plan, u->send[1], child_ends, UNOTIFY_HELPERS);
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
	int r;

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

	/* Workers must not take the supervisor's signals (signalfd reads them). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = 0;
	for (size_t i = 0; i < UNOTIFY_HELPERS && r == 0; i++) {
		r = -pthread_create(&u->w[i].thread, NULL, worker_main, &u->w[i]);
		u->w[i].started = r == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
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
	pthread_cond_destroy(&u->free_cv);
	pthread_mutex_destroy(&u->lock);
	free(u);
	return NULL;
}
