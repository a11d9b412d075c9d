/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child side: apply a prepared plan and execve. Runs between fork() and execve() in
 * a possibly multithreaded parent's child, or (sandbox_spawn()) in a clone that shares
 * the supervisor's memory, so only async-signal-safe calls: raw syscalls,
 * open/read/write/close, no malloc, no stdio, no locale, nothing written but the stack
 * and this file's statics. Every failure is reported as {step, errno, index} on
 * err_fd, then _exit(127).
 *
 * Order matters:
 *   pdeathsig -> user ns (+ identity maps) -> mount ns -> masks -> [PID ns: fresh
 *   /proc, fork of the agent, exec of the init] -> net ns + lo -> capabilities ->
 *   no_new_privs -> Landlock (the helpers' layer when mediating) -> seccomp -> AF_UNIX
 *   mediation (helpers exec'd, notification filter) -> Landlock (the agent's layer) ->
 *   CLOEXEC sweep -> chdir -> exec
 * In a PID namespace with mediation, PID 1 itself goes on to the seccomp filter before
 * it forks the agent, and its init forks the helpers (confine(), exec_init_helpers()):
 * the agent takes it up from the notification filter.
 * Masks need namespace caps, so they come before the drop; Landlock and seccomp come
 * last so they also bind everything above and forbid undoing the masks. The helpers
 * start one Landlock layer above the agent: the agent's domain is a child of theirs,
 * so Landlock's ptrace and signal scoping keep it away from them.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sandbox/landlock-compat.h"
#include "sandbox/sandbox-internal.h"

#ifdef NONO_ASAN_UNPOISON /* this file is built without ASan, the program with it */
#include <sanitizer/asan_interface.h>
#endif

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * The child's own state. After sandbox_spawn() these live in memory it shares with the
 * supervisor, which never reads them: sandbox_child_exec() sets them afresh each time.
 */
static const char *exec_path = "the command";
/* This process is PID 1 of the plan's PID namespace, or a child of it. */
static bool in_pidns;
/* The mask source attached beneath /proc by apply_masks()' first phase. */
static int attached_src = -1;
/*
 * Tops of the stacks sandbox_spawn() set aside for the clones that share its memory: the
 * agent (forked by PID 1) and the first mediation helper. NULL after a plain fork (unit
 * tests): those clones then copy the address space, as fork(2) does.
 */
static char *agent_stack, *helper_stack;

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

/*
 * User namespace with identity maps. cloned: sandbox_spawn() already made it (with the
 * PID and IPC namespaces); ipc: also a private IPC namespace (in place).
 */
static int enter_userns(const struct sandbox_plan *p, bool cloned, bool ipc, int *ret_err)
{
	int fl = cloned ? 0 : CLONE_NEWUSER;
	int r;

	if (ipc)
		fl |= CLONE_NEWIPC;
	if (p->use_mountns)
		fl |= CLONE_NEWNS;
	if (p->flags & SANDBOX_NETNS)
		fl |= CLONE_NEWNET;
	if (fl != 0 && unshare(fl) < 0)
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

/*
 * A read-only tmpfs holding "d" (a directory) and "f" (a file), both mode 000 and
 * owned by the sandboxed user: reading, listing or entering a mask fails with EACCES
 * (the child holds no capability that overrides DAC), never an empty read that a
 * program could mistake for the real, empty content.
 */
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
	if (mkdirat(mnt, "d", 0) < 0 || fchmodat(mnt, "d", 0, 0) < 0)
		goto fail;
	fd = openat(mnt, "f", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, 0) < 0) {
		*ret_err = errno;
		(void)close(fd);
		(void)close(mnt);
		return -1;
	}
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

static bool is_proc_path(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0;
}

/* O_PATH fd on path, resolved without symlinks, that must still be dev:ino; or -errno. */
static int open_checked(const char *path, bool is_dir, dev_t dev, ino_t ino)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW | (is_dir ? O_DIRECTORY : 0),
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		(void)close(fd);
		return e;
	}
	if (st.st_dev != dev || st.st_ino != ino) {
		(void)close(fd);
		return -ESTALE;
	}
	return fd;
}

/* O_PATH fd on path, resolved without symlinks, or -errno. */
static int open_unchecked(const char *path, bool is_dir)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW | (is_dir ? O_DIRECTORY : 0),
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* wrap's private /tmp: a fresh tmpfs, detached until attached; or -1 with *err. */
static int make_tmpfs(int *err)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1;

	if (fs >= 0 && fsconfig(fs, FSCONFIG_SET_STRING, "mode", "1777", 0) == 0 &&
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	*err = errno;
	if (fs >= 0)
		(void)close(fs);
	return mnt;
}

/* The mount point for a bind back onto wrap's private tmpfs: made in that fresh tmpfs
 * (only this process has seen it). O_PATH fd, or -errno. */
static int tmpfs_mountpoint(const struct sandbox_plan *p, const struct sandbox_bind *b)
{
	for (size_t j = 0; j < p->n_binds; j++) {
		size_t len = strlen(p->binds[j].dst);
		if (!p->binds[j].tmpfs || strncmp(b->dst, p->binds[j].dst, len) != 0 ||
		    b->dst[len] != '/')
			continue;
		int fd = open_unchecked(p->binds[j].dst, true);
		return fd < 0 ? fd
			      : sandbox_make_beneath(fd, b->dst + len + 1, b->is_dir, NULL, NULL);
	}
	return -ENOENT;
}

/* A rule made after planning (a fresh /proc's, a fresh tmpfs's), added to the agent's
 * ruleset and to the helpers' (landlock_add_dir_rule does the same when planning). */
static int add_rule(const struct sandbox_plan *p, const struct ll_path_beneath_attr *pb)
{
	if ((p->ruleset_fd >= 0 && ll_add_rule(p->ruleset_fd, LL_RULE_PATH_BENEATH, pb, 0) < 0) ||
	    (p->helper_ruleset_fd >= 0 &&
	     ll_add_rule(p->helper_ruleset_fd, LL_RULE_PATH_BENEATH, pb, 0) < 0))
		return -errno;
	return 0;
}

/* The Landlock rights of the grants of wrap's tmpfs's own path, on the tmpfs. */
static int tmpfs_rule(const struct sandbox_plan *p, const struct sandbox_bind *b)
{
	struct ll_path_beneath_attr pb = {.allowed_access = b->tmpfs_access & p->handled_fs};
	int r;

	if (!pb.allowed_access || (p->ruleset_fd < 0 && p->helper_ruleset_fd < 0))
		return 0;
	pb.parent_fd = open_unchecked(b->dst, true);
	if (pb.parent_fd < 0)
		return pb.parent_fd;
	r = add_rule(p, &pb);
	(void)close(pb.parent_fd);
	return r;
}

/*
 * The read-only root (bubblewrap's --ro-bind / /): every bind source is cloned while
 * it is still writable, then every mount of the namespace turns read-only, then the
 * clones go back on top, parents first. Outside the write grants chmod, chown, utimes
 * and xattr changes — which Landlock has no right for — fail with EROFS. The private
 * /tmp is one more bind whose source is the session's own directory. Errors report
 * STEP_MOUNTNS with the bind's index.
 */
static void apply_binds(const struct sandbox_plan *p, int err_fd)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	int clones[SANDBOX_MAX_BINDS];

	for (size_t i = 0; i < p->n_binds; i++) {
		const struct sandbox_bind *b = &p->binds[i];
		int fd, err;

		clones[i] = -1;
		if (b->tmpfs) {
			clones[i] = make_tmpfs(&err);
			if (clones[i] < 0)
				fail(err_fd, STEP_MOUNTNS, err, (int)i);
			continue;
		}
		fd = open_checked(b->src, b->is_dir, b->src_dev, b->src_ino);
		if (fd == -ENOENT && !b->required)
			continue; /* removed since prepare: its place stays read-only */
		if (fd < 0)
			fail(err_fd, STEP_MOUNTNS, -fd, (int)i);
		clones[i] = open_tree(
		    fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
		if (clones[i] < 0)
			fail(err_fd, STEP_MOUNTNS, errno, (int)i);
		(void)close(fd);
		if (!b->writable &&
		    mount_setattr(clones[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
			fail(err_fd, STEP_MOUNTNS, errno, (int)i);
	}
	if (p->ro_root && mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		fail(err_fd, STEP_MOUNTNS, errno, -1);
	for (size_t i = 0; i < p->n_binds; i++) {
		const struct sandbox_bind *b = &p->binds[i];
		int dst;

		if (clones[i] < 0)
			continue;
		/* Resolved now, through the binds of its parents. */
		dst = b->in_tmpfs ? tmpfs_mountpoint(p, b)
				  : open_checked(b->dst, b->is_dir, b->dst_dev, b->dst_ino);
		if (dst < 0)
			fail(err_fd, STEP_MOUNTNS, -dst, (int)i);
		if (move_mount(clones[i], "", dst, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			fail(err_fd, STEP_MOUNTNS, errno, (int)i);
		(void)close(clones[i]);
		(void)close(dst);
		int r = b->tmpfs ? tmpfs_rule(p, b) : 0;
		if (r < 0)
			fail(err_fd, STEP_LANDLOCK, -r, (int)i);
	}
}

/*
 * Masks; with proc_phase, only those beneath /proc, on the fresh /proc of a PID
 * namespace (whose inodes are new: no identity to check), else all but those when
 * defer_proc is set.
 */
static void apply_masks(const struct sandbox_plan *p, int err_fd, bool defer_proc, bool proc_phase)
{
	int src, err = 0;

	if (!proc_phase && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(err_fd, STEP_MOUNTNS, errno, -1);
	if (!proc_phase)
		apply_binds(p, err_fd);
	if (p->n_masks == 0)
		return;
	src = attached_src >= 0 ? attached_src : make_mask_source(&err);
	if (src < 0)
		fail(err_fd, STEP_MASK, err, -1);
	/*
	 * Closing the last fd of a detached mount dissolves it, and that waits for an RCU
	 * grace period: 0.1 ms on a quiet machine, up to 4 ms on a busy one, on the
	 * command's path. In a PID namespace the source is attached instead, on /proc, where
	 * mount_proc() mounts the namespace's proc over it: out of sight (and out of reach:
	 * nothing in the sandbox may unmount), and reused by the /proc phase.
	 */
	if (defer_proc && !proc_phase && attached_src < 0) {
		if (move_mount(src, "", AT_FDCWD, "/proc", MOVE_MOUNT_F_EMPTY_PATH) < 0)
			fail(err_fd, STEP_MASK, errno, -1);
		attached_src = src;
	}

	for (size_t i = 0; i < p->n_masks; i++) {
		const struct sandbox_mask *m = &p->masks[i];
		bool in_proc = is_proc_path(m->path);
		int target, clone;

		if (proc_phase ? !in_proc : (defer_proc && in_proc))
			continue;
		/* Resolve without symlinks and check it is still the object we planned for
		 * (on the fresh /proc of a PID namespace the inodes are new: no identity). */
		target = proc_phase ? open_unchecked(m->path, m->is_dir)
				    : open_checked(m->path, m->is_dir, m->dev, m->ino);
		if (target == -ENOENT)
			continue; /* removed since prepare: nothing left to protect */
		if (target < 0)
			fail(err_fd, STEP_MASK, -target, (int)i);

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
	if (src != attached_src || proc_phase) {
		(void)close(src);
		attached_src = -1;
	}
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
	e = sandbox_send_fd(p->listener_unix_fd, s, "L", 1);
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

/* Decimal digits of v (>= 0) into buf (size >= 12), NUL-terminated. */
static void format_int(char *buf, long v)
{
	char tmp[24];
	size_t n = 0, k = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < 11);
	while (n > 0)
		buf[k++] = tmp[--n];
	buf[k] = 0;
}

/* Exec this binary (p->exe_fd) in a hidden mode, with an empty environment. */
static int exec_self(const struct sandbox_plan *p, const char *mode, const char *arg)
{
	char *argv[] = {(char *)"nono", (char *)mode, (char *)arg, NULL};
	char *envp[] = {NULL};

	(void)syscall(SYS_execveat, p->exe_fd, "", argv, envp, AT_EMPTY_PATH);
	return errno;
}

/* Where descriptors wait out of the way of the ones nono-helper gets at fixed numbers:
 * the channels at 3.., then the init's status pipe. */
#define FD_ABOVE_FIXED (3 + UNOTIFY_HELPERS + 1)
_Static_assert(3 + UNOTIFY_HELPERS <= 9, "the status fd is passed as one digit");

/*
 * Before an exec of nono-helper with the mediation channels: the binary's fd moved out
 * of the way of 3.., the n channels at fds 3..3+n-1 and, when status >= 0, that fd at
 * 3+n, without CLOEXEC; every fd above them close-on-exec. Returns the binary's fd, or
 * -errno.
 */
static int channels_at_3(const struct sandbox_plan *p, int status)
{
	int tmp[UNOTIFY_HELPERS + 1], exe;
	size_t n = p->n_helpers;

	if (p->exe_fd < 0 || n == 0 || n > UNOTIFY_HELPERS)
		return -EINVAL;
	exe = fcntl(p->exe_fd, F_DUPFD_CLOEXEC, FD_ABOVE_FIXED);
	if (exe < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		tmp[i] = fcntl(p->helper_fds[i], F_DUPFD_CLOEXEC, FD_ABOVE_FIXED);
		if (tmp[i] < 0)
			return -errno;
	}
	if (status >= 0 && (tmp[n++] = fcntl(status, F_DUPFD_CLOEXEC, FD_ABOVE_FIXED)) < 0)
		return -errno;
	for (size_t i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + (int)i) < 0)
			return -errno;
	(void)syscall(SYS_close_range, 3U + (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC);
	return exe;
}

/*
 * In the freshly cloned first helper: the n channels to fds 3..3+n-1, everything else
 * closed, exec. The exec'd helper forks one process per further channel (a fork of a
 * fresh, non-dumpable process holds nothing either, and costs less than an exec).
 */
_noreturn_ static void helper_exec(const struct sandbox_plan *p)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	char n[4] = {(char)('0' + p->n_helpers), 0, 0, 0};
	int exe;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Without a PID namespace our parent is the supervisor (CLONE_PARENT). */
	if (!in_pidns && getppid() != p->parent_pid)
		_exit(1);
	/* Out of the terminal's process group: ^C is for the agent. */
	(void)setsid();
	/* SIG_IGN survives execve: a vanished agent socket must not kill the helper. */
	(void)sigaction(SIGPIPE, &ign, NULL);
	exe = channels_at_3(p, -1);
	if (exe < 0)
		_exit(1);
	(void)syscall(SYS_close_range, 0U, 2U, 0U);
	{
		char *argv[] = {(char *)"nono", (char *)SANDBOX_HELPER_ARG, n, NULL};
		char *envp[] = {NULL};
		(void)syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
	}
	_exit(1);
}

static int helper_entry(void *p)
{
	helper_exec(p);
}

/* The notification filter and the listener's hand-off; with start_helpers, first the
 * helpers (else the init already serves their channels: fork_agent()). */
static void start_mediation(const struct sandbox_plan *p, int err_fd, bool start_helpers)
{
	struct sock_fprog prog = {.len = p->notify_filter_len, .filter = p->notify_filter};
	int32_t pids[UNOTIFY_HELPERS] = {0};
	int lfd, e;
	/* CLONE_PARENT: a sibling under the supervisor (or, in a PID namespace, a child of
	 * its init), not a child the agent could wait(2) for. */
	long pid = 0;

	if (!start_helpers)
		; /* the init's children, in the PID namespace: pids stay 0 */
	else if (helper_stack)
		/* In the supervisor's memory (sandbox_spawn()): the helper runs on a stack of
		 * its own while we wait (CLONE_VFORK) until it has exec'd, so nothing is
		 * copied and nothing runs beside it. */
		pid = clone(helper_entry, helper_stack,
			    CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD, (void *)p);
	else {
		/* stack 0: runs on a copy of this stack, like fork(2). */
		pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0UL, NULL, NULL,
			      0UL);
		if (pid == 0)
			helper_exec(p);
	}
	if (start_helpers && pid < 0)
		fail(err_fd, STEP_UNOTIFY, errno, 0);
	/* A pid in our PID namespace means nothing to the supervisor: it would signal an
	 * unrelated process; the namespace's end takes the helpers. Otherwise the first
	 * helper's: the others are its children and die with it (PR_SET_PDEATHSIG). */
	pids[0] = in_pidns ? 0 : (int32_t)pid;
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
	e = sandbox_send_fd(p->notify_send_fd, lfd, pids, sizeof(pids));
	if (e)
		fail(err_fd, STEP_UNOTIFY, e, -1);
	(void)close(lfd);
}

/*
 * PID namespace, in its PID 1 (still the supervisor's fork): a /proc of the new
 * namespace over the old one, the Landlock rules granted on /proc moved onto it, and
 * the masks beneath /proc applied on it.
 */
static void mount_proc(const struct sandbox_plan *p, int err_fd)
{
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail(err_fd, STEP_PIDNS, errno, 0);
	if (p->helper_ruleset_fd >= 0) {
		/* The helpers read it (see landlock_build_helper). */
		struct ll_path_beneath_attr pb = {
		    .allowed_access = (LL_FS_READ_FILE | LL_FS_READ_DIR) & p->handled_fs};
		pb.parent_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pb.parent_fd < 0 ||
		    (pb.allowed_access &&
		     ll_add_rule(p->helper_ruleset_fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0))
			fail(err_fd, STEP_LANDLOCK, errno, -1);
		(void)close(pb.parent_fd);
	}
	for (size_t i = 0; i < p->n_proc_rules; i++) {
		struct ll_path_beneath_attr pb = {.allowed_access = p->proc_rules[i].access};
		pb.parent_fd = open(p->proc_rules[i].path, O_PATH | O_CLOEXEC);
		if (pb.parent_fd < 0)
			continue; /* not in this /proc: nothing to grant */
		int r = add_rule(p, &pb);
		if (r < 0)
			fail(err_fd, STEP_LANDLOCK, -r, (int)i);
		(void)close(pb.parent_fd);
	}
	apply_masks(p, err_fd, true, true);
}

/* What the agent-to-be needs to finish the set-up and exec the command. */
struct child_ctx {
	const struct sandbox_plan *p;
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int err_fd;
	int status_fd; /* for the init: where it reports the agent's status, or -1 */
	int sync[2];   /* fork_agent(): PID 1's exec is the EOF on sync[0] */
	/* PID 1 did confine() before fork_agent(), and its init serves the helpers'
	 * channels: the agent goes on from the notification filter. */
	bool confined;
};

_noreturn_ static void finish(const struct child_ctx *c);
static void confine(const struct sandbox_plan *p, int err_fd);

/* In the agent-to-be: wait until PID 1 has exec'd the init (or died). */
static void agent_wait_init(const struct child_ctx *c)
{
	char b;

	/* The init is our parent; its end ends the namespace, and us with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail(c->err_fd, STEP_PDEATHSIG, errno, -1);
	(void)close(c->sync[1]);
	while (read(c->sync[0], &b, 1) < 0 && errno == EINTR)
		;
	(void)close(c->sync[0]);
}

static int agent_entry(void *arg)
{
	const struct child_ctx *c = arg;

	agent_wait_init(c);
	finish(c);
}

/*
 * PID 1, confined (the helpers' Landlock layer, seccomp, no capabilities): exec the init
 * with the mediation channels at fds 3..3+n-1, as `nono __init PID N`; it forks a
 * helper for a channel when first used (sandbox_init_main()). One exec for the init and
 * the helpers instead of two, and the helpers sit in the very domain the agent's layer
 * is stacked on. Returns only when the exec failed (err_fd is then still ours).
 */
static void exec_init_helpers(const struct sandbox_plan *p, int err_fd, int sync_w, int status,
			      const char *pid)
{
	char *envp[] = {NULL};
	char n[2] = {(char)('0' + p->n_helpers), 0};
	char sfd[3] = {(char)('0' + 3 + p->n_helpers), 0, 0};
	char *argv[] = {(char *)"nono", (char *)SANDBOX_INIT_ARG, (char *)pid, n,
			status >= 0 ? sfd : NULL, NULL};
	int exe, err, sync;

	/* Out of the way of 3..: what reports the exec's failure, and the pipe whose close
	 * tells the agent that the init runs (both close-on-exec, above the fixed fds). */
	err = fcntl(err_fd, F_DUPFD_CLOEXEC, FD_ABOVE_FIXED);
	sync = fcntl(sync_w, F_DUPFD_CLOEXEC, FD_ABOVE_FIXED);
	if (err < 0 || sync < 0)
		fail(err_fd, STEP_UNOTIFY, errno, 0);
	exe = channels_at_3(p, status);
	if (exe < 0)
		fail(err, STEP_UNOTIFY, -exe, 0);
	(void)syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
	fail(err, STEP_PIDNS, errno, 2);
}

/*
 * PID 1 forks the process that becomes the agent, then execs itself as the init:
 * fresh, holding nothing of the supervisor's. The agent goes on only once the init
 * has exec'd: it never shares its namespace with the supervisor's memory (and `nono
 * why --self` always finds the init as PID 1). The wait is on a pipe whose only write
 * end PID 1 holds close-on-exec: its exec (or its death) is the EOF.
 *
 * After sandbox_spawn() PID 1 runs in the supervisor's memory, and so does the agent,
 * on a stack of its own (CLONE_VM, no copy); the supervisor waits until both have
 * exec'd. PID 1 runs on only to its exec, and the agent does nothing but wait until
 * then, so the two never run our code side by side. After a plain fork the agent is a
 * copy, and returns here.
 */
static void fork_agent(struct child_ctx *c)
{
	char pid[16];
	long agent;

	if (pipe2(c->sync, O_CLOEXEC) < 0)
		fail(c->err_fd, STEP_PIDNS, errno, 1);
	if (agent_stack)
		agent = clone(agent_entry, agent_stack, CLONE_VM | SIGCHLD, c);
	else
		agent = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, NULL, NULL, 0UL);
	if (agent < 0)
		fail(c->err_fd, STEP_PIDNS, errno, 1);
	if (agent == 0) {
		agent_wait_init(c);
		return;
	}
	(void)close(c->sync[0]);
	format_int(pid, agent);
	if (c->confined)
		exec_init_helpers(c->p, c->err_fd, c->sync[1], c->status_fd, pid);
	(void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	fail(c->err_fd, STEP_PIDNS, exec_self(c->p, SANDBOX_INIT_ARG, pid), 2);
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

/* A pidfd polls readable once its process has exited. */
static bool parent_gone(int pidfd)
{
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

	return pidfd < 0 || poll(&pfd, 1, 0) != 0;
}

void sandbox_child_exec(const struct sandbox_plan *p, const char *path, char *const argv[],
			char *const envp[], const char *cwd, int err_fd, int status_fd)
{
	struct child_ctx c = {p, path, argv, envp, cwd, err_fd, status_fd, {-1, -1}};
	pid_t self;
	bool in_place, pid1;

	exec_path = "the command";
	attached_src = -1;
	if (!p || !path || !argv)
		fail(err_fd, STEP_NONE, EINVAL, -1);
	self = getpid();
	/* `nono wrap` runs in place: no PID namespace (it needs a parent to be its init). */
	in_place = self == p->parent_pid;
	/* Cloned by sandbox_spawn() into new PID and IPC (and user) namespaces. A plain
	 * fork(2) (unit tests) is never PID 1: it gets the IPC namespace only. */
	pid1 = !in_place && p->use_pidns && self == 1;
	in_pidns = pid1;

	/* Forked child of the planning process: die with it. */
	if (!in_place) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			fail(err_fd, STEP_PDEATHSIG, errno, -1);
		/* The parent died before the signal was armed: nobody would reap us. Across
		 * a PID namespace getppid() says 0: ask the parent's pidfd instead. */
		if (pid1 ? parent_gone(p->parent_pidfd) : getppid() != p->parent_pid)
			fail(err_fd, STEP_PDEATHSIG, ESRCH, -1);
	}

	if (p->use_userns) {
		int err = 0;
		if (enter_userns(p, pid1, p->use_pidns && !pid1, &err) < 0)
			fail(err_fd, STEP_USERNS, err, -1);
	} else if (p->use_mountns || (p->flags & SANDBOX_NETNS) || (p->use_pidns && !pid1)) {
		int fl = (p->use_mountns ? CLONE_NEWNS : 0) |
			 ((p->flags & SANDBOX_NETNS) ? CLONE_NEWNET : 0) |
			 ((p->use_pidns && !pid1) ? CLONE_NEWIPC : 0);
		if (unshare(fl) < 0)
			fail(err_fd, p->use_mountns ? STEP_MOUNTNS : STEP_NETNS, errno, -1);
	}
	if (p->use_mountns)
		apply_masks(p, err_fd, pid1, false);
	if (pid1) {
		mount_proc(p, err_fd);
		/* Mediating: PID 1 takes the helpers' layer itself, and its init starts them. */
		if (p->notify_send_fd >= 0 && p->helper_ruleset_fd >= 0) {
			confine(p, err_fd);
			c.confined = true;
		}
		fork_agent(&c);
	}
	finish(&c);
}

/*
 * The network namespace's listeners, the capability drop, no_new_privs, the first
 * Landlock layer (the helpers' when mediating) and the seccomp filter.
 */
static void confine(const struct sandbox_plan *p, int err_fd)
{
	int first;

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

	/* Mediating: the helpers' layer first, the agent's goes on top once they run. */
	first = p->notify_send_fd >= 0 && p->helper_ruleset_fd >= 0 ? p->helper_ruleset_fd
								    : p->ruleset_fd;
	if (first >= 0 && ll_restrict_self(first, p->restrict_flags) < 0)
		fail(err_fd, STEP_LANDLOCK, errno, -1);

	if (p->filter) {
		struct sock_fprog prog = {.len = p->filter_len, .filter = p->filter};
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			fail(err_fd, STEP_SECCOMP, errno, -1);
	}
}

/* From the network namespace's listeners to the exec: the agent's part of the set-up. */
static void finish(const struct child_ctx *c)
{
	const struct sandbox_plan *p = c->p;
	int err_fd = c->err_fd;
	bool mediate = p->notify_send_fd >= 0;
	bool layered = mediate && p->helper_ruleset_fd >= 0;

	if (!c->confined)
		confine(p, err_fd);
	/* Last filter: nothing after it may depend on connect/bind being answered. */
	if (mediate)
		start_mediation(p, err_fd, !c->confined);
	/* One layer deeper than the helpers: the agent can neither trace nor signal them. */
	if (layered && ll_restrict_self(p->ruleset_fd, p->restrict_flags) < 0)
		fail(err_fd, STEP_LANDLOCK, errno, 1);

	/* Only 0, 1, 2 survive execve; err_fd is already O_CLOEXEC. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* Old kernel: mark one by one up to a sane bound. */
		for (int fd = 3; fd < 65536; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	if (p->keep_fd >= 0 && fcntl(p->keep_fd, F_SETFD, 0) < 0)
		fail(err_fd, STEP_EXEC, errno, -1);

	if (c->cwd && chdir(c->cwd) < 0)
		fail(err_fd, STEP_CHDIR, errno, -1);

	execve(c->path, c->argv, c->envp);
	exec_path = c->path;
	fail(err_fd, STEP_EXEC, errno, -1);
}

void sandbox_plan_keep_fd(struct sandbox_plan *p, int fd)
{
	p->keep_fd = fd;
}

void sandbox_child_default_handlers(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	for (int sig = 1; sig < _NSIG; sig++) {
		struct sigaction cur;
		if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_DFL &&
		    cur.sa_handler != SIG_IGN)
			(void)sigaction(sig, &dfl, NULL);
	}
}

/* Each stack sandbox_spawn() sets aside, and the unmapped page below it. */
#define SPAWN_STACK (64 * 1024)
#define SPAWN_GUARD 4096

/*
 * Read the first report from err_r, then on to EOF: every process that holds the write
 * end (PID 1, the agent, the first helper) has exec'd or exited. 0 or 1 as
 * sandbox_read_exec_error(), -errno.
 */
static int drain_exec_error(int err_r, struct sandbox_exec_error *ret)
{
	char buf[sizeof(struct sandbox_exec_error)];
	int r = sandbox_read_exec_error(err_r, ret);

	for (;;) {
		ssize_t n = read(err_r, buf, sizeof(buf));
		if (n == 0)
			return r;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int sandbox_spawn(const struct sandbox_plan *p, int (*fn)(void *), void *arg, int *err_w, int err_r,
		  pid_t *ret_pid, struct sandbox_exec_error *ret_err)
{
	const size_t one = SPAWN_GUARD + SPAWN_STACK, len = 3 * one;
	int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	char *m;
	pid_t pid;
	int r;

	if (!p || !fn || !err_w || *err_w < 0 || err_r < 0 || !ret_pid || !ret_err)
		return -EINVAL;
	if (p->use_pidns)
		flags |= CLONE_NEWPID | CLONE_NEWIPC | (p->use_userns ? CLONE_NEWUSER : 0);
	m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	for (size_t i = 0; i < 3; i++)
		if (mprotect(m + i * one + SPAWN_GUARD, SPAWN_STACK, PROT_READ | PROT_WRITE) < 0) {
			r = -errno;
			(void)munmap(m, len);
			return r;
		}
	agent_stack = m + 2 * one;
	helper_stack = m + 3 * one;
	/* As posix_spawn: the clone starts with every signal blocked, until fn has put the
	 * handlers back to their defaults. Stacks grow down: each gets the top of its own. */
	sigset_t all, saved;
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &saved);
	pid = clone(fn, m + one, flags, arg);
	r = pid < 0 ? -errno : 0;
	(void)sigprocmask(SIG_SETMASK, &saved, NULL);
	/* Ours closed, EOF on err_r means that nothing runs in our memory any more. */
	*err_w = safe_close(*err_w);
	if (r == 0)
		r = drain_exec_error(err_r, ret_err);
	agent_stack = helper_stack = NULL;
	if (pid > 0)
		*ret_pid = pid;
	if (r < 0 && pid > 0)
		/* Cannot tell whether the clones are done with the stacks: leave them be. */
		return r;
#ifdef NONO_ASAN_UNPOISON
	/* Whatever instrumented code (child_main) left poisoned there goes with the stacks. */
	__asan_unpoison_memory_region(m, len);
#endif
	(void)munmap(m, len);
	return r;
}
