/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learn tracer: ptrace + a seccomp filter that returns SECCOMP_RET_TRACE only for
 * the syscalls whose outcome the sandbox governs (DESIGN.md, "learn").
 *
 * Cost model. A traced syscall costs one seccomp stop; when its outcome matters (did
 * the open succeed, which fd, did mkdir hit EEXIST) we resume with PTRACE_SYSCALL and
 * take one more stop at syscall exit. execve and connect are decided at entry.
 * O_PATH opens need no grant and are resumed without an exit stop. A successful open
 * is named by readlink(/proc/TID/fd/N): one syscall gives the canonical path, so the
 * hot path never walks the tracee's path itself. Failed read-only opens with ENOENT /
 * ENOTDIR (search-path probing) are dropped without reading their path at all.
 *
 * Startup. The child stops itself with SIGSTOP; we PTRACE_SEIZE it (options include
 * EXITKILL, so the tree dies with us), send SIGCONT, and only then does it install
 * the filter (built and exported to BPF before fork: nothing after fork allocates)
 * and execve. A traced syscall without a tracer would fail with ENOSYS, so the order
 * matters.
 *
 * no_new_privs: installing a filter needs NNP or CAP_SYS_ADMIN. The child tries
 * without NNP first, so as root setuid programs (sudo) keep working under learn;
 * unprivileged it sets NNP, and setuid bits are then ignored, exactly as under
 * `nono run`, which sets NNP too.
 *
 * Signals. SIGINT/SIGTERM/SIGHUP are blocked in the caller while tracing and taken by
 * a watcher thread with sigtimedwait(); signals sent to us with kill() are forwarded
 * to every traced process (terminal-generated ones already reached the child, which
 * shares our process group, so they are not doubled). The watcher also enforces
 * --timeout (SIGTERM, then SIGKILL 1 s later) and SIGKILLs the tree 2 s after a
 * forwarded signal. The main thread only blocks in waitpid(): no polling per stop.
 *
 * Only the native architecture is traced; other-arch (i386) syscalls are allowed
 * untraced (SCMP_FLTATR_ACT_BADARCH = ALLOW) rather than killed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/param.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "base/clock.h"
#include "base/macro.h"
#include "base/path.h"
#include "base/strv.h"
#include "learn-internal.h"

extern char **environ;

/* Kernel UAPI layout of PTRACE_GET_SYSCALL_INFO (linux/ptrace.h clashes with glibc's). */
struct syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t instruction_pointer;
	uint64_t stack_pointer;
	union {
		struct {
			uint64_t nr;
			uint64_t args[6];
		} entry;
		struct {
			int64_t rval;
			uint8_t is_error;
		} exit;
		struct {
			uint64_t nr;
			uint64_t args[6];
			uint32_t ret_data;
		} seccomp;
	};
};
#define SYSCALL_INFO_EXIT    2
#define SYSCALL_INFO_SECCOMP 3

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* What a stop is about: the seccomp filter hands this back as ret_data. */
enum sc_kind {
	SC_OPEN,
	SC_OPENAT,
	SC_OPENAT2,
	SC_CREAT,
	SC_EXECVE,
	SC_EXECVEAT,
	SC_MKDIR,
	SC_MKDIRAT,
	SC_MKNOD,
	SC_MKNODAT,
	SC_UNLINK,
	SC_UNLINKAT,
	SC_RMDIR,
	SC_RENAME,
	SC_RENAMEAT,
	SC_RENAMEAT2,
	SC_LINK,
	SC_LINKAT,
	SC_SYMLINK,
	SC_SYMLINKAT,
	SC_TRUNCATE,
	SC_CONNECT,
	SC_BIND,
	SC_RECVFROM,
	_SC_KIND_MAX,
};

static const char *const sc_names[_SC_KIND_MAX] = {
	[SC_OPEN] = "open",         [SC_OPENAT] = "openat",       [SC_OPENAT2] = "openat2",
	[SC_CREAT] = "creat",       [SC_EXECVE] = "execve",       [SC_EXECVEAT] = "execveat",
	[SC_MKDIR] = "mkdir",       [SC_MKDIRAT] = "mkdirat",     [SC_MKNOD] = "mknod",
	[SC_MKNODAT] = "mknodat",   [SC_UNLINK] = "unlink",       [SC_UNLINKAT] = "unlinkat",
	[SC_RMDIR] = "rmdir",       [SC_RENAME] = "rename",       [SC_RENAMEAT] = "renameat",
	[SC_RENAMEAT2] = "renameat2", [SC_LINK] = "link",         [SC_LINKAT] = "linkat",
	[SC_SYMLINK] = "symlink",   [SC_SYMLINKAT] = "symlinkat", [SC_TRUNCATE] = "truncate",
	[SC_CONNECT] = "connect",   [SC_BIND] = "bind",           [SC_RECVFROM] = "recvfrom",
};

struct pending {
	pid_t tid;
	enum sc_kind kind;
	uint64_t args[6];
	uint64_t open_flags;
};

struct tracer {
	struct path_table paths; /* canonical, from /proc/TID/fd/N */
	struct path_table raw;   /* lexically absolute: canonicalised once, at the end */
	struct endpoint_list outbound, listening;
	char **unix_sockets;
	struct dns_map dns;

	struct pending *pend;
	size_t n_pend, alloc_pend;

	pthread_mutex_t lock; /* guards tracees: the watcher thread signals them */
	pid_t *tracees;
	size_t n_tracees, alloc_tracees;

	pid_t root;
	struct timespec start; /* CLOCK_REALTIME_COARSE before fork: files born after it were created */
	int exit_status;
	uint64_t n_stops;
	int err; /* first internal failure (-ENOMEM, -E2BIG): tracing goes on, result fails */

	/* watcher */
	atomic_bool done;
	atomic_bool timed_out, interrupted;
	unsigned timeout_sec;
	sigset_t sigs;
};

static void tracer_fail(struct tracer *t, int r)
{
	if (r < 0 && t->err == 0)
		t->err = r;
}

/* ---- tracee bookkeeping ---- */

static void tracee_add(struct tracer *t, pid_t tid)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n_tracees; i++)
		if (t->tracees[i] == tid)
			goto out;
	if (t->n_tracees == t->alloc_tracees) {
		size_t na = t->alloc_tracees ? t->alloc_tracees * 2 : 16;
		pid_t *n = realloc(t->tracees, na * sizeof(*n));
		if (!n) {
			tracer_fail(t, -ENOMEM);
			goto out;
		}
		t->tracees = n;
		t->alloc_tracees = na;
	}
	t->tracees[t->n_tracees++] = tid;
out:
	pthread_mutex_unlock(&t->lock);
}

static void tracee_remove(struct tracer *t, pid_t tid)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n_tracees; i++)
		if (t->tracees[i] == tid) {
			t->tracees[i] = t->tracees[--t->n_tracees];
			break;
		}
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < t->n_pend; i++)
		if (t->pend[i].tid == tid) {
			t->pend[i] = t->pend[--t->n_pend];
			break;
		}
}

static void tracees_signal(struct tracer *t, int sig)
{
	pthread_mutex_lock(&t->lock);
	/* kill() on a thread id signals its whole thread group. */
	for (size_t i = 0; i < t->n_tracees; i++)
		(void)kill(t->tracees[i], sig);
	pthread_mutex_unlock(&t->lock);
}

static struct pending *pending_get(struct tracer *t, pid_t tid, bool create)
{
	for (size_t i = 0; i < t->n_pend; i++)
		if (t->pend[i].tid == tid)
			return &t->pend[i];
	if (!create)
		return NULL;
	if (t->n_pend == t->alloc_pend) {
		size_t na = t->alloc_pend ? t->alloc_pend * 2 : 16;
		struct pending *n = realloc(t->pend, na * sizeof(*n));
		if (!n) {
			tracer_fail(t, -ENOMEM);
			return NULL;
		}
		t->pend = n;
		t->alloc_pend = na;
	}
	struct pending *p = &t->pend[t->n_pend++];
	*p = (struct pending){.tid = tid};
	return p;
}

static void pending_drop(struct tracer *t, struct pending *p)
{
	*p = t->pend[--t->n_pend];
}

/* ---- reading the tracee ---- */

static ssize_t mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
	if (n >= 0 || (errno != ENOSYS && errno != EPERM))
		return n < 0 ? -errno : n;
	/* Fallback: word by word through ptrace. */
	size_t done = 0;
	while (done < len) {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(addr + done), NULL);
		if (errno)
			return done ? (ssize_t)done : -errno;
		size_t k = MIN(sizeof(w), len - done);
		memcpy((char *)buf + done, &w, k);
		done += k;
	}
	return (ssize_t)done;
}

/* Read a NUL-terminated string of at most size-1 bytes, one page at a time. */
static int mem_read_string(pid_t tid, uint64_t addr, char *buf, size_t size)
{
	if (!addr)
		return -EFAULT;
	size_t done = 0;
	while (done < size - 1) {
		size_t page_left = 4096 - ((addr + done) & 4095);
		size_t want = MIN(page_left, size - 1 - done);
		ssize_t n = mem_read(tid, addr + done, buf + done, want);
		if (n <= 0)
			return n < 0 ? (int)n : -EFAULT;
		void *nul = memchr(buf + done, 0, (size_t)n);
		if (nul)
			return 0;
		done += (size_t)n;
	}
	return -ENAMETOOLONG;
}

static int proc_readlink(const char *link, char *buf, size_t size)
{
	ssize_t n = readlink(link, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* Absolute, lexically normal form of (dirfd, path) as the tracee sees it. */
static int resolve_at(pid_t tid, int dirfd, const char *path, char **ret)
{
	if (path[0] == '/')
		return path_normalize(path, ret);
	char link[64], base[PATH_MAX];
	if (dirfd == AT_FDCWD)
		(void)snprintf(link, sizeof(link), "/proc/%d/cwd", tid);
	else
		(void)snprintf(link, sizeof(link), "/proc/%d/fd/%d", tid, dirfd);
	int r = proc_readlink(link, base, sizeof(base));
	if (r < 0)
		return r;
	if (base[0] != '/')
		return -ENOTDIR;
	if (!path[0])
		return path_normalize(base, ret);
	return path_absolute(path, base, ret);
}

/* ---- recording ---- */

/*
 * Paths under /proc/PID are per-run and need /proc itself as a grant (system_read_linux
 * gives it), so they are recorded as "/proc". Non-path fd targets (pipe:[..],
 * socket:[..], anon_inode:..) are not paths and need no grant.
 */
static int record_path(struct path_table *tab, char *path, unsigned access, bool is_dir, int err)
{
	if (path[0] != '/')
		return 0;
	size_t n = strlen(path);
	static const char deleted[] = " (deleted)";
	if (n > sizeof(deleted) - 1 && streq(path + n - (sizeof(deleted) - 1), deleted))
		path[n - (sizeof(deleted) - 1)] = 0;
	const char *rest = startswith(path, "/proc/");
	if (rest && *rest >= '0' && *rest <= '9')
		return path_table_add(tab, "/proc", access, true, err);
	return path_table_add(tab, path, access, is_dir, err);
}

static void record_raw_at(struct tracer *t, pid_t tid, int dirfd, uint64_t addr, unsigned access,
			  bool is_dir, int err, bool parent)
{
	char buf[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	if (mem_read_string(tid, addr, buf, sizeof(buf)) < 0)
		return;
	if (resolve_at(tid, dirfd, buf, &abs) < 0)
		return;
	if (parent) {
		/* Creating or removing a name needs a grant on the directory holding it. */
		char *slash = strrchr(abs, '/');
		if (slash == abs)
			abs[1] = 0;
		else if (slash)
			*slash = 0;
		is_dir = true;
	}
	tracer_fail(t, record_path(&t->raw, abs, access, is_dir, err));
}

static unsigned open_access(uint64_t flags)
{
	unsigned a;
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		a = LEARN_WRITE;
		break;
	case O_RDWR:
		a = LEARN_READ | LEARN_WRITE;
		break;
	default:
		a = LEARN_READ;
	}
	if (flags & (O_CREAT | O_TRUNC))
		a |= LEARN_WRITE;
	if (flags & O_DIRECTORY)
		a |= LEARN_LIST;
	return a;
}

/* Duplicate the tracee's socket into us (pidfd_getfd) to ask it questions. */
static int socket_dup(pid_t tid, int fd)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (pidfd < 0)
		pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (pidfd < 0)
		return -errno;
	int s = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	return s < 0 ? -errno : s;
}

static int socket_type(pid_t tid, int fd)
{
	_cleanup_close_ int s = socket_dup(tid, fd);
	if (s < 0)
		return s;
	int type = 0;
	socklen_t l = sizeof(type);
	if (getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return -errno;
	return type;
}

static void record_unix(struct tracer *t, pid_t tid, const struct sockaddr_un *un, size_t len)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (len <= off || un->sun_path[0] == 0) /* unnamed or abstract: never grantable */
		return;
	char path[sizeof(un->sun_path) + 1];
	size_t n = MIN(len - off, sizeof(un->sun_path));
	memcpy(path, un->sun_path, n);
	path[n] = 0;
	_cleanup_free_ char *abs = NULL;
	if (resolve_at(tid, AT_FDCWD, path, &abs) < 0)
		return;
	if (!strv_contains(t->unix_sockets, abs) && strv_length(t->unix_sockets) < LEARN_MAX_ENDPOINTS)
		tracer_fail(t, strv_extend(&t->unix_sockets, abs));
}

static void on_connect(struct tracer *t, pid_t tid, const uint64_t *args)
{
	struct sockaddr_storage ss = {0};
	size_t len = MIN((size_t)(uint32_t)args[2], sizeof(ss));
	ssize_t n = mem_read(tid, args[1], &ss, len);
	if (n < (ssize_t)sizeof(sa_family_t))
		return;
	if (ss.ss_family == AF_UNIX) {
		record_unix(t, tid, (struct sockaddr_un *)&ss, (size_t)n);
		return;
	}
	char addr[46];
	uint16_t port;
	if (sockaddr_format((struct sockaddr *)&ss, (size_t)n, addr, &port) < 0)
		return;
	/* Landlock governs TCP only; UDP (DNS included) needs no grant. */
	if (socket_type(tid, (int)args[0]) != SOCK_STREAM)
		return;
	tracer_fail(t, endpoint_list_add(&t->outbound, addr, port));
}

static void on_bind_exit(struct tracer *t, pid_t tid, const uint64_t *args)
{
	struct sockaddr_storage ss = {0};
	size_t len = MIN((size_t)(uint32_t)args[2], sizeof(ss));
	ssize_t n = mem_read(tid, args[1], &ss, len);
	if (n < (ssize_t)sizeof(sa_family_t))
		return;
	if (ss.ss_family == AF_UNIX) {
		record_unix(t, tid, (struct sockaddr_un *)&ss, (size_t)n);
		return;
	}
	char addr[46];
	uint16_t port;
	if (sockaddr_format((struct sockaddr *)&ss, (size_t)n, addr, &port) < 0)
		return;
	_cleanup_close_ int s = socket_dup(tid, (int)args[0]);
	if (s < 0)
		return;
	int type = 0;
	socklen_t l = sizeof(type);
	if (getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
		return;
	if (port == 0) {
		/* Ephemeral port: report the one the kernel picked. */
		struct sockaddr_storage bound;
		socklen_t bl = sizeof(bound);
		if (getsockname(s, (struct sockaddr *)&bound, &bl) == 0)
			(void)sockaddr_format((struct sockaddr *)&bound, bl, addr, &port);
	}
	tracer_fail(t, endpoint_list_add(&t->listening, addr, port));
}

/* recvfrom(fd, buf, len, flags, src_addr != NULL, addrlen): a DNS answer when from port 53. */
static void on_recvfrom_exit(struct tracer *t, pid_t tid, const uint64_t *args, int64_t rval)
{
	if (rval < 12 || !args[4] || !args[5])
		return;
	socklen_t alen = 0;
	if (mem_read(tid, args[5], &alen, sizeof(alen)) != sizeof(alen))
		return;
	struct sockaddr_storage ss = {0};
	size_t len = MIN((size_t)alen, sizeof(ss));
	ssize_t n = mem_read(tid, args[4], &ss, len);
	char addr[46];
	uint16_t port;
	if (n <= 0 || sockaddr_format((struct sockaddr *)&ss, (size_t)n, addr, &port) < 0 ||
	    port != 53)
		return;
	size_t want = MIN((size_t)rval, (size_t)65535);
	_cleanup_free_ uint8_t *msg = malloc(want);
	if (!msg)
		return;
	n = mem_read(tid, args[1], msg, want);
	if (n > 0)
		(void)dns_decode_answer(msg, (size_t)n, &t->dns);
}

static bool is_open_kind(enum sc_kind k)
{
	return k == SC_OPEN || k == SC_OPENAT || k == SC_OPENAT2 || k == SC_CREAT;
}

/* Seccomp stop: decide at entry or arrange for an exit stop. Returns the resume request. */
static int on_seccomp(struct tracer *t, pid_t tid)
{
	struct syscall_info si;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(si), &si) <= 0 ||
	    si.op != SYSCALL_INFO_SECCOMP || si.seccomp.ret_data >= _SC_KIND_MAX)
		return PTRACE_CONT;
	enum sc_kind k = si.seccomp.ret_data;
	const uint64_t *a = si.seccomp.args;
	uint64_t flags = 0;

	switch (k) {
	case SC_EXECVE:
		/* Nonexistent candidates (execvp's $PATH walk) are dropped at the end. */
		record_raw_at(t, tid, AT_FDCWD, a[0], LEARN_READ | LEARN_EXEC, false, 0, false);
		return PTRACE_CONT;
	case SC_EXECVEAT:
		record_raw_at(t, tid, (int)a[0], a[1], LEARN_READ | LEARN_EXEC, false, 0, false);
		return PTRACE_CONT;
	case SC_CONNECT:
		on_connect(t, tid, a);
		return PTRACE_CONT;
	case SC_OPEN:
		flags = a[1];
		break;
	case SC_OPENAT:
		flags = a[2];
		break;
	case SC_OPENAT2:
		if (mem_read(tid, a[2], &flags, sizeof(flags)) != sizeof(flags))
			return PTRACE_CONT;
		break;
	case SC_CREAT:
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		break;
	default:
		break;
	}
	/* An O_PATH fd grants nothing: no need to see the outcome. */
	if (is_open_kind(k) && (flags & O_PATH))
		return PTRACE_CONT;
	/*
	 * Directory listings (find, tar, ls -R) are the bulk of opens in a tree walk.
	 * Record them at entry and skip the exit stop: that halves the stops of a walk.
	 * One that failed because the directory does not exist is dropped at the end
	 * with the other nonexistent read-only paths.
	 */
	if (is_open_kind(k) && (flags & O_DIRECTORY) && !(open_access(flags) & LEARN_WRITE)) {
		bool at = k == SC_OPENAT || k == SC_OPENAT2;
		record_raw_at(t, tid, at ? (int)a[0] : AT_FDCWD, at ? a[1] : a[0],
			      open_access(flags), true, 0, false);
		return PTRACE_CONT;
	}
	struct pending *p = pending_get(t, tid, true);
	if (!p)
		return PTRACE_CONT;
	p->kind = k;
	memcpy(p->args, a, sizeof(p->args));
	p->open_flags = flags;
	return PTRACE_SYSCALL;
}

static void on_open_exit(struct tracer *t, pid_t tid, const struct pending *p, int64_t rval,
			 bool is_error)
{
	unsigned access = open_access(p->open_flags);
	bool is_dir = p->open_flags & O_DIRECTORY;
	if (!is_error) {
		char link[64], path[PATH_MAX];
		(void)snprintf(link, sizeof(link), "/proc/%d/fd/%d", tid, (int)rval);
		if (proc_readlink(link, path, sizeof(path)) == 0)
			tracer_fail(t, record_path(&t->paths, path, access, is_dir, 0));
		return;
	}
	int err = (int)-rval;
	/* Probing for optional files is not a need: the sandbox answers ENOENT too. */
	if (!(access & LEARN_WRITE) && (err == ENOENT || err == ENOTDIR))
		return;
	int dirfd = AT_FDCWD;
	uint64_t addr = p->args[0];
	if (p->kind == SC_OPENAT || p->kind == SC_OPENAT2) {
		dirfd = (int)p->args[0];
		addr = p->args[1];
	}
	record_raw_at(t, tid, dirfd, addr, access, is_dir, err, false);
}

static void on_syscall_exit(struct tracer *t, pid_t tid)
{
	struct pending *p = pending_get(t, tid, false);
	if (!p)
		return;
	struct syscall_info si;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(si), &si) <= 0 ||
	    si.op != SYSCALL_INFO_EXIT) {
		pending_drop(t, p);
		return;
	}
	int64_t rval = si.exit.rval;
	bool is_error = si.exit.is_error;
	int err = is_error ? (int)-rval : 0;
	const uint64_t *a = p->args;
	unsigned w = LEARN_WRITE;

	/* A name that is already there (mkdir -p) or already gone (rm -f) needed nothing. */
	bool skip_create = err == EEXIST;
	bool skip_remove = err == ENOENT;

	switch (p->kind) {
	case SC_OPEN:
	case SC_OPENAT:
	case SC_OPENAT2:
	case SC_CREAT:
		on_open_exit(t, tid, p, rval, is_error);
		break;
	case SC_MKDIR:
	case SC_MKNOD:
		if (!skip_create)
			record_raw_at(t, tid, AT_FDCWD, a[0], w, true, err, true);
		break;
	case SC_MKDIRAT:
	case SC_MKNODAT:
		if (!skip_create)
			record_raw_at(t, tid, (int)a[0], a[1], w, true, err, true);
		break;
	case SC_SYMLINK:
	case SC_LINK:
		if (!skip_create)
			record_raw_at(t, tid, AT_FDCWD, a[1], w, true, err, true);
		break;
	case SC_SYMLINKAT:
		if (!skip_create)
			record_raw_at(t, tid, (int)a[1], a[2], w, true, err, true);
		break;
	case SC_LINKAT:
		if (!skip_create)
			record_raw_at(t, tid, (int)a[2], a[3], w, true, err, true);
		break;
	case SC_UNLINK:
	case SC_RMDIR:
		if (!skip_remove)
			record_raw_at(t, tid, AT_FDCWD, a[0], w, true, err, true);
		break;
	case SC_UNLINKAT:
		if (!skip_remove)
			record_raw_at(t, tid, (int)a[0], a[1], w, true, err, true);
		break;
	case SC_RENAME:
		if (!skip_remove) {
			record_raw_at(t, tid, AT_FDCWD, a[0], w, true, err, true);
			record_raw_at(t, tid, AT_FDCWD, a[1], w, true, err, true);
		}
		break;
	case SC_RENAMEAT:
	case SC_RENAMEAT2:
		if (!skip_remove) {
			record_raw_at(t, tid, (int)a[0], a[1], w, true, err, true);
			record_raw_at(t, tid, (int)a[2], a[3], w, true, err, true);
		}
		break;
	case SC_TRUNCATE:
		if (!skip_remove)
			record_raw_at(t, tid, AT_FDCWD, a[0], w, false, err, false);
		break;
	case SC_BIND:
		if (!is_error)
			on_bind_exit(t, tid, a);
		break;
	case SC_RECVFROM:
		if (!is_error)
			on_recvfrom_exit(t, tid, a, rval);
		break;
	default:
		break;
	}
	/* p may have moved if the table grew; look it up again. */
	p = pending_get(t, tid, false);
	if (p)
		pending_drop(t, p);
}

/* ---- filter ---- */

struct bpf_prog {
	struct sock_filter *insns;
	unsigned short len;
};

static void bpf_prog_done(struct bpf_prog *p)
{
	free(p->insns);
}

static int filter_build(struct bpf_prog *ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	for (int k = 0; r >= 0 && k < _SC_KIND_MAX; k++) {
		int nr = seccomp_syscall_resolve_name(sc_names[k]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue; /* not on this architecture */
		if (k == SC_RECVFROM)
			/* Only calls that ask who sent the datagram: resolvers do, recv() does not. */
			r = seccomp_rule_add(ctx, SCMP_ACT_TRACE(k), nr, 1, SCMP_A4(SCMP_CMP_NE, 0));
		else
			r = seccomp_rule_add(ctx, SCMP_ACT_TRACE(k), nr, 0);
	}
	_cleanup_close_ int fd = -EBADF;
	if (r >= 0) {
		fd = memfd_create("nono-learn-bpf", MFD_CLOEXEC);
		r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	}
	seccomp_release(ctx);
	if (r < 0)
		return r;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -EINVAL;
	struct sock_filter *insns = malloc((size_t)st.st_size);
	if (!insns)
		return -ENOMEM;
	if (pread(fd, insns, (size_t)st.st_size, 0) != st.st_size) {
		free(insns);
		return -EIO;
	}
	ret->insns = insns;
	ret->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	return 0;
}

/* ---- child ---- */

/* Look argv0 up in $PATH the way execvp does, before fork (nothing after fork allocates). */
static int find_executable(const char *argv0, char **ret)
{
	if (strchr(argv0, '/')) {
		if (access(argv0, X_OK) < 0)
			return -errno;
		char *c = strdup(argv0);
		if (!c)
			return -ENOMEM;
		*ret = c;
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	_cleanup_strv_free_ char **dirs = NULL;
	int r = strv_split(path, ":", &dirs);
	if (r < 0)
		return r;
	int err = -ENOENT;
	STRV_FOREACH(d, dirs) {
		_cleanup_free_ char *p = NULL;
		r = path_join(*d, argv0, &p);
		if (r < 0)
			return r;
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (access(p, X_OK) < 0) {
			err = -errno;
			continue;
		}
		*ret = TAKE_PTR(p);
		return 0;
	}
	return err;
}

struct child_args {
	const char *exe;
	char **argv;
	const struct bpf_prog *prog;
	const sigset_t *old_mask;
	const struct sigaction *old_chld;
	pid_t parent;
	int errfd;
};

_noreturn_ static void child_fail(int errfd, int err)
{
	(void)!write(errfd, &err, sizeof(err));
	_exit(127);
}

/* After fork: async-signal-safe calls only; failures go to errfd as an errno. */
_noreturn_ static void child_run(const struct child_args *c)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(c->errfd, errno);
	if (getppid() != c->parent)
		_exit(127);
	(void)sigaction(SIGCHLD, c->old_chld, NULL);
	/* Wait here until the tracer has seized us. */
	if (kill(getpid(), SIGSTOP) < 0)
		child_fail(c->errfd, errno);
	struct sock_fprog fprog = {.len = c->prog->len, .filter = c->prog->insns};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0) {
		if (errno != EACCES)
			child_fail(c->errfd, errno);
		/* Unprivileged: a filter needs no_new_privs (see the top of this file). */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
			child_fail(c->errfd, errno);
	}
	(void)sigprocmask(SIG_SETMASK, c->old_mask, NULL);
	execve(c->exe, c->argv, environ);
	child_fail(c->errfd, errno);
}

/* ---- watcher thread: signals and timeout ---- */

static void *watcher_main(void *arg)
{
	struct tracer *t = arg;
	uint64_t start = now_ms(), kill_at = 0;
	unsigned tty_signals = 0;
	while (!atomic_load(&t->done)) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		siginfo_t info;
		int sig = sigtimedwait(&t->sigs, &info, &ts);
		uint64_t now = now_ms();
		if (sig > 0) {
			atomic_store(&t->interrupted, true);
			/*
			 * A terminal signal already reached the child (it shares our process
			 * group) and an interactive program may handle it and go on: only a
			 * third one makes us end the tree. A signal sent to us alone is
			 * forwarded, and the tree is killed if it is still there 2 s later.
			 */
			bool from_tty = info.si_code == SI_KERNEL;
			if (!from_tty)
				tracees_signal(t, sig);
			if (!kill_at && (!from_tty || ++tty_signals >= 3))
				kill_at = now + 2000;
		}
		if (t->timeout_sec && !atomic_load(&t->timed_out) &&
		    now - start >= (uint64_t)t->timeout_sec * 1000) {
			atomic_store(&t->timed_out, true);
			tracees_signal(t, SIGTERM);
			kill_at = now + 1000;
		}
		if (kill_at && now >= kill_at)
			tracees_signal(t, SIGKILL);
	}
	return NULL;
}

/* ---- main loop ---- */

static void handle_stop(struct tracer *t, pid_t pid, int status)
{
	int sig = WSTOPSIG(status);
	unsigned ev = (unsigned)status >> 16;
	int req = PTRACE_CONT;
	int inject = 0;

	t->n_stops++;
	if (ev == PTRACE_EVENT_SECCOMP) {
		req = on_seccomp(t, pid);
	} else if (sig == (SIGTRAP | 0x80)) {
		on_syscall_exit(t, pid);
	} else if (ev == PTRACE_EVENT_STOP) {
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			/* Group stop: stay stopped, but keep reporting events (SIGCONT). */
			(void)ptrace(PTRACE_LISTEN, pid, NULL, NULL);
			return;
		}
		tracee_add(t, pid); /* a new child's first stop */
	} else if (ev == PTRACE_EVENT_EXEC) {
		unsigned long former = 0;
		/* A non-leader thread that execs takes over the leader's id. */
		if (ptrace(PTRACE_GETEVENTMSG, pid, NULL, &former) == 0 && (pid_t)former != pid)
			tracee_remove(t, (pid_t)former);
		/*
		 * The kernel opened what really runs: for a script that is the #!
		 * interpreter, which no traced open shows. (The ELF loader ld.so is opened
		 * by the kernel too and is not recorded; system defaults grant it.)
		 */
		char link[64], exe[PATH_MAX];
		(void)snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		if (proc_readlink(link, exe, sizeof(exe)) == 0)
			tracer_fail(t, record_path(&t->paths, exe, LEARN_READ | LEARN_EXEC, false, 0));
	} else if (ev == 0) {
		inject = sig; /* signal-delivery stop: pass the signal on */
	}
	(void)ptrace(req, pid, NULL, (void *)(uintptr_t)inject);
}

static int tracer_loop(struct tracer *t)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return 0;
			return -errno;
		}
		if (WIFSTOPPED(status)) {
			handle_stop(t, pid, status);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == t->root)
				t->exit_status = WIFEXITED(status) ? WEXITSTATUS(status)
								   : 128 + WTERMSIG(status);
			tracee_remove(t, pid);
		}
	}
}

/* ---- result ---- */

struct rdns_job {
	atomic_int refs;
	struct sockaddr_storage ss;
	socklen_t len;
	char host[NI_MAXHOST];
	bool ok;
};

static void rdns_job_unref(struct rdns_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) == 1)
		free(j);
}

static void *rdns_main(void *arg)
{
	struct rdns_job *j = arg;
	j->ok = getnameinfo((struct sockaddr *)&j->ss, j->len, j->host, sizeof(j->host), NULL, 0,
			    NI_NAMEREQD) == 0;
	rdns_job_unref(j);
	return NULL;
}

/*
 * Reverse DNS for endpoints no DNS answer named. getnameinfo() has no timeout, so each
 * lookup runs in its own thread and we wait at most 2 s in total; a late thread is
 * detached and frees its own job.
 */
#define RDNS_MAX      64
#define RDNS_BUDGET_MS 2000

static void rdns_fill(struct learn_endpoint *e, size_t n)
{
	struct rdns_job *jobs[RDNS_MAX];
	pthread_t threads[RDNS_MAX];
	size_t which[RDNS_MAX];
	size_t k = 0;
	for (size_t i = 0; i < n && k < RDNS_MAX; i++) {
		if (e[i].hostname)
			continue;
		struct rdns_job *j = calloc(1, sizeof(*j));
		if (!j)
			break;
		struct sockaddr_in *in = (struct sockaddr_in *)&j->ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&j->ss;
		if (inet_pton(AF_INET, e[i].addr, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			j->len = sizeof(*in);
		} else if (inet_pton(AF_INET6, e[i].addr, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			j->len = sizeof(*in6);
		} else {
			free(j);
			continue;
		}
		atomic_init(&j->refs, 2);
		if (pthread_create(&threads[k], NULL, rdns_main, j) != 0) {
			free(j);
			break;
		}
		jobs[k] = j;
		which[k] = i;
		k++;
	}
	uint64_t deadline = now_ms() + RDNS_BUDGET_MS;
	for (size_t ji = 0; ji < k; ji++) {
		struct rdns_job *j = jobs[ji];
		uint64_t now = now_ms();
		uint64_t left = deadline > now ? deadline - now : 0;
		struct timespec ts;
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(threads[ji], NULL, &ts) == 0) {
			if (j->ok)
				e[which[ji]].hostname = strdup(j->host);
		} else {
			(void)pthread_detach(threads[ji]);
		}
		rdns_job_unref(j);
	}
}

static int endpoints_take(struct endpoint_list *l, struct learn_endpoint **ret, size_t *ret_n)
{
	*ret = TAKE_PTR(l->items);
	*ret_n = l->n;
	*l = (struct endpoint_list){0};
	return 0;
}

/*
 * Canonicalising every recorded path with realpath() costs a readlink per component;
 * on a tree walk that is most of our overhead. Paths share parents, so canonical
 * parents are cached and each path costs one lstat() of its last component; only a
 * symlink there falls back to a full path_canonicalize().
 */
struct canon_cache {
	struct path_table keys; /* lexical directory */
	char **values;          /* its canonical form, same index; NULL: does not exist */
	size_t alloc;
};

static void canon_cache_done(struct canon_cache *c)
{
	for (size_t i = 0; i < c->keys.n; i++)
		free(c->values[i]);
	free(c->values);
	path_table_done(&c->keys);
}

static int canon_fast(struct canon_cache *c, const char *lexical, char **ret, bool *ret_exists,
		      unsigned depth)
{
	if (streq(lexical, "/") || depth > PATH_MAX / 2) {
		*ret_exists = true;
		return (*ret = strdup("/")) ? 0 : -ENOMEM;
	}
	const char *slash = strrchr(lexical, '/');
	_cleanup_free_ char *parent = strndup(lexical, slash == lexical ? 1 : (size_t)(slash - lexical));
	if (!parent)
		return -ENOMEM;
	_cleanup_free_ char *cparent = NULL;
	bool pexists;
	long i = path_table_find(&c->keys, parent);
	if (i >= 0) {
		pexists = c->values[i] != NULL;
		if (pexists && !(cparent = strdup(c->values[i])))
			return -ENOMEM;
	} else {
		int r = canon_fast(c, parent, &cparent, &pexists, depth + 1);
		if (r < 0)
			return r;
		if (c->keys.n == c->alloc) {
			size_t na = c->alloc ? c->alloc * 2 : 256;
			char **nv = realloc(c->values, na * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			c->values = nv;
			c->alloc = na;
		}
		char *v = pexists ? strdup(cparent) : NULL;
		if (pexists && !v)
			return -ENOMEM;
		r = path_table_add(&c->keys, parent, 0, true, 0);
		if (r < 0) {
			free(v);
			return r;
		}
		c->values[c->keys.n - 1] = v;
	}
	if (!pexists) /* beneath something missing: only the lexical form is known */
		return path_canonicalize(lexical, "/", ret, ret_exists);
	_cleanup_free_ char *joined = NULL;
	int r = path_join(cparent, slash + 1, &joined);
	if (r < 0)
		return r;
	struct stat st;
	if (lstat(joined, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
		*ret_exists = false;
	} else if (S_ISLNK(st.st_mode)) {
		return path_canonicalize(joined, "/", ret, ret_exists);
	} else {
		*ret_exists = true;
	}
	*ret = TAKE_PTR(joined);
	return 0;
}

static int tracer_finish(struct tracer *t, const struct learn_options *opts,
			 struct learn_result **ret)
{
	/* Canonicalise the lexical paths once each, merging into the canonical table. */
	struct canon_cache cache = {0};
	for (size_t i = 0; i < t->raw.n; i++) {
		struct learn_path *p = &t->raw.items[i];
		_cleanup_free_ char *c = NULL;
		bool exists = false;
		if (canon_fast(&cache, p->path, &c, &exists, 0) < 0)
			continue;
		/* Exec candidates and listings of directories that are not there needed nothing. */
		if (!(p->access & LEARN_WRITE) && !exists)
			continue;
		int r = record_path(&t->paths, c, p->access, p->is_dir, p->err);
		if (r < 0) {
			canon_cache_done(&cache);
			return r;
		}
		long qi = path_table_find(&t->paths, c);
		if (qi >= 0) /* record_path() may have renamed it (/proc/PID -> /proc) */
			t->paths.items[qi].count += p->count - 1;
	}
	canon_cache_done(&cache);
	size_t n_before = t->paths.n;
	for (size_t i = 0; i < n_before; i++) {
		struct learn_path *p = &t->paths.items[i];
		struct statx stx;
		bool exists = statx(AT_FDCWD, p->path, 0, STATX_TYPE | STATX_BTIME, &stx) == 0;
		if (exists && S_ISDIR(stx.stx_mode)) {
			p->is_dir = true;
			continue;
		}
		if (p->is_dir || !(p->access & LEARN_WRITE))
			continue;
		/*
		 * A file the command created (born during the run, or gone by now) will not
		 * exist when the sandbox starts next time, and a file rule for a missing path
		 * is skipped: what it needs is its directory, with the same access.
		 */
		bool created = !exists ||
			       ((stx.stx_mask & STATX_BTIME) &&
				(stx.stx_btime.tv_sec > t->start.tv_sec ||
				 (stx.stx_btime.tv_sec == t->start.tv_sec &&
				  stx.stx_btime.tv_nsec >= (uint32_t)t->start.tv_nsec)));
		if (!created)
			continue;
		_cleanup_free_ char *dir = strdup(p->path);
		if (!dir)
			return -ENOMEM;
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			dir[1] = 0;
		else if (slash)
			*slash = 0;
		/*
		 * Never widened to /, a top-level directory or $HOME and its ancestors: a
		 * file there keeps its file rule (nono creates a missing write-granted file
		 * of a profile under $HOME before the sandbox starts).
		 */
		const char *home = secure_getenv("HOME");
		if (streq(dir, "/") || !strchr(dir + 1, '/') ||
		    (home && home[0] == '/' && path_is_beneath(home, dir)))
			continue;
		unsigned access = p->access;
		int err = p->err;
		p->access = 0; /* dropped below; p may move when the table grows */
		int r = path_table_add(&t->paths, dir, access, true, err);
		if (r < 0)
			return r;
	}
	/* Drop the entries moved to their directory. */
	size_t o = 0;
	for (size_t i = 0; i < t->paths.n; i++) {
		if (t->paths.items[i].access)
			t->paths.items[o++] = t->paths.items[i];
		else
			free(t->paths.items[i].path);
	}
	t->paths.n = o; /* the hash slots are stale from here on: no more lookups */
	for (size_t i = 0; i < t->outbound.n; i++) {
		const char *name = dns_map_lookup(&t->dns, t->outbound.items[i].addr);
		if (name && !(t->outbound.items[i].hostname = strdup(name)))
			return -ENOMEM;
	}
	if (!opts->no_rdns)
		rdns_fill(t->outbound.items, t->outbound.n);

	struct learn_result *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->paths = TAKE_PTR(t->paths.items);
	r->n_paths = t->paths.n;
	t->paths.n = 0;
	path_table_done(&t->paths);
	(void)endpoints_take(&t->outbound, &r->outbound, &r->n_outbound);
	(void)endpoints_take(&t->listening, &r->listening, &r->n_listening);
	r->unix_sockets = TAKE_PTR(t->unix_sockets);
	r->exit_status = t->exit_status;
	r->timed_out = atomic_load(&t->timed_out);
	r->interrupted = atomic_load(&t->interrupted);
	r->n_stops = t->n_stops;
	*ret = r;
	return 0;
}

static void tracer_done(struct tracer *t)
{
	path_table_done(&t->paths);
	path_table_done(&t->raw);
	endpoint_list_done(&t->outbound);
	endpoint_list_done(&t->listening);
	t->unix_sockets = strv_free(t->unix_sockets);
	dns_map_done(&t->dns);
	free(t->pend);
	free(t->tracees);
	pthread_mutex_destroy(&t->lock);
}

int learn_trace(const struct learn_options *opts, struct learn_result **ret)
{
	if (!opts || !opts->argv || !opts->argv[0] || !ret)
		return -EINVAL;

	_cleanup_free_ char *exe = NULL;
	int r = find_executable(opts->argv[0], &exe);
	if (r < 0)
		return r;
	_cleanup_(bpf_prog_done) struct bpf_prog prog = {0};
	r = filter_build(&prog);
	if (r < 0)
		return r;

	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	_cleanup_close_ int err_rd = errpipe[0], err_wr = errpipe[1];

	struct tracer t = {.root = -1, .timeout_sec = opts->timeout_sec};
	/*
	 * File birth times come from the kernel's coarse clock (updated once a tick); a fine
	 * CLOCK_REALTIME start can lie after the btime of a file created just after it, which
	 * then looked pre-existing. The coarse clock is never later than any timestamp the
	 * kernel gives a file created after this point.
	 */
	(void)clock_gettime(CLOCK_REALTIME_COARSE, &t.start);
	pthread_mutex_init(&t.lock, NULL);
	sigemptyset(&t.sigs);
	sigaddset(&t.sigs, SIGINT);
	sigaddset(&t.sigs, SIGTERM);
	sigaddset(&t.sigs, SIGHUP);
	sigset_t old_mask;
	pthread_sigmask(SIG_BLOCK, &t.sigs, &old_mask);
	/* An ignored SIGCHLD would auto-reap the child and lose its exit status. */
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old_chld;
	(void)sigaction(SIGCHLD, &dfl, &old_chld);

	struct child_args ca = {
		.exe = exe,
		.argv = opts->argv,
		.prog = &prog,
		.old_mask = &old_mask,
		.old_chld = &old_chld,
		.parent = getpid(),
		.errfd = err_wr,
	};
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		goto restore;
	}
	if (pid == 0)
		child_run(&ca);
	err_wr = safe_close(err_wr);
	t.root = pid;

	int status;
	if (waitpid(pid, &status, WUNTRACED) < 0) {
		r = -errno;
		(void)kill(pid, SIGKILL);
		goto reap;
	}
	if (!WIFSTOPPED(status)) {
		int err = 0;
		r = read(err_rd, &err, sizeof(err)) == sizeof(err) ? -err : -ECHILD;
		goto restore;
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   (void *)(PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
			    PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
			    PTRACE_O_TRACESYSGOOD)) < 0) {
		r = -errno;
		(void)kill(pid, SIGKILL);
		goto reap;
	}
	tracee_add(&t, pid);
	(void)kill(pid, SIGCONT);

	pthread_t watcher;
	bool have_watcher = pthread_create(&watcher, NULL, watcher_main, &t) == 0;
	if (!have_watcher) {
		r = -EAGAIN;
		(void)kill(pid, SIGKILL);
		goto reap;
	}
	r = tracer_loop(&t);
	atomic_store(&t.done, true);
	(void)pthread_join(watcher, NULL);
	if (r < 0) {
		tracees_signal(&t, SIGKILL);
		goto reap;
	}

	/* Did execve itself fail? The child reported errno before exiting 127. */
	int err = 0;
	if (read(err_rd, &err, sizeof(err)) == sizeof(err)) {
		r = -err;
		goto restore;
	}
	if (t.err < 0) {
		r = t.err;
		goto restore;
	}
	r = tracer_finish(&t, opts, ret);
	goto restore;

reap:
	while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR)
		;
restore:
	(void)sigaction(SIGCHLD, &old_chld, NULL);
	/* Drop signals that arrived for us while blocked, then unblock. */
	{
		struct timespec zero = {0, 0};
		while (sigtimedwait(&t.sigs, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	tracer_done(&t);
	return r;
}
