/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sandbox enforcement tests. Each case that restricts a process forks, and the child
 * runs sandbox_child_exec() on this very binary in "--probe" mode, which performs one
 * operation and exits with its errno (0 = success). So every assertion is errno-exact
 * and goes through the real child path (namespaces, masks, caps, Landlock, seccomp,
 * execve). The files used have ordinary permissions: as root, DAC would allow every
 * access, so a denial can only come from the sandbox.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <pthread.h>

#include "base/macro.h"
#include "base/strv.h"
#include "sandbox/sandbox-internal.h"
#include "sandbox/sandbox.h"
#include "sandbox/unotify-proto.h"
#include "../must-run.h"

extern char **environ;

/* Exit codes of the probe mode beyond plain errno values. */
#define PROBE_NONEMPTY 200 /* read: the file had content / the directory had entries */
#define PROBE_USAGE    201

static char tmproot[256];
/* Set in a forked helper that must not unwind into cmocka: failures _exit(95). */
static bool in_helper;
static char exe[512];
static struct sandbox_features F;

/* ---------------------------------------------------------------- probe mode */

static int probe_read(const char *path)
{
	char buf[64];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = fdopendir(fd);
		struct dirent *e;
		if (!d)
			return errno;
		while ((e = readdir(d)))
			if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
				return PROBE_NONEMPTY;
		return 0;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno;
	return n > 0 ? PROBE_NONEMPTY : 0;
}

static int probe_inet(bool do_bind, const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_port = htons((uint16_t)strtoul(port, NULL, 10));
	if (s < 0)
		return errno;
	if ((do_bind ? bind(s, (struct sockaddr *)&a, sizeof(a))
		     : connect(s, (struct sockaddr *)&a, sizeof(a))) < 0)
		return errno;
	return 0;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int probe_main(int argc, char **argv)
{
	if (argc == 1 && streq(argv[0], "thread")) {
		/* glibc creates threads with clone3, which is ENOSYS: it must fall back. */
		pthread_t th;
		void *out = NULL;
		int r = pthread_create(&th, NULL, thread_fn, (void *)1);
		if (r != 0)
			return r;
		r = pthread_join(th, &out);
		return r != 0 ? r : out == (void *)1 ? 0 : 99;
	}
	if (argc == 1 && streq(argv[0], "fork")) {
		int status;
		pid_t pid = fork();
		if (pid < 0)
			return errno;
		if (pid == 0)
			_exit(7);
		if (waitpid(pid, &status, 0) < 0)
			return errno;
		return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 99;
	}
	if (argc >= 2 && streq(argv[0], "open")) {
		int fd = argc >= 3 && streq(argv[2], "w")
			     ? open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644)
			     : open(argv[1], O_RDONLY | O_CLOEXEC);
		return fd < 0 ? errno : 0;
	}
	if (argc == 2 && streq(argv[0], "read"))
		return probe_read(argv[1]);
	if (argc == 2 && streq(argv[0], "connect"))
		return probe_inet(false, argv[1]);
	if (argc == 2 && streq(argv[0], "bind"))
		return probe_inet(true, argv[1]);
	if (argc == 4 && streq(argv[0], "socket")) {
		/* Raw syscall with 64-bit arguments so tests can set the upper halves. */
		long s = syscall(SYS_socket, strtoul(argv[1], NULL, 0), strtoul(argv[2], NULL, 0),
				 strtoul(argv[3], NULL, 0));
		return s < 0 ? errno : 0;
	}
	if (argc == 1 && streq(argv[0], "tiocsti")) {
		/*
		 * Inject into our own controlling terminal: the kernel then allows it
		 * (legacy_tiocsti=1) or says EIO (=0), and refuses foreign terminals with
		 * EPERM. So EPERM here can only come from seccomp.
		 */
		char c = 'x';
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
			return errno;
		if (setsid() < 0)
			return errno;
		int sl = open(ptsname(m), O_RDWR | O_CLOEXEC);
		if (sl < 0)
			return errno;
		if (ioctl(sl, TIOCSCTTY, 0) < 0)
			return errno;
		return ioctl(sl, TIOCSTI, &c) < 0 ? errno : 0;
	}
	if (argc == 2 && streq(argv[0], "personality")) {
		long r = syscall(SYS_personality, strtoul(argv[1], NULL, 0));
		return r < 0 ? errno : 0;
	}
	if (argc == 2 && streq(argv[0], "abstract")) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		size_t n = strlen(argv[1]);
		int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (u < 0 || n + 1 > sizeof(a.sun_path))
			return u < 0 ? errno : PROBE_USAGE;
		memcpy(a.sun_path + 1, argv[1], n); /* leading NUL: abstract name */
		return connect(u, (struct sockaddr *)&a,
			       offsetof(struct sockaddr_un, sun_path) + 1 + n) < 0
			   ? errno
			   : 0;
	}
	if (argc == 1 && streq(argv[0], "unshare-user"))
		return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
	if (argc == 1 && streq(argv[0], "unshare-mount"))
		return unshare(CLONE_NEWNS) < 0 ? errno : 0;
	if (argc == 1 && streq(argv[0], "clone3")) {
		struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
		long r = syscall(SYS_clone3, &ca, sizeof(ca));
		if (r == 0)
			_exit(0);
		return r < 0 ? errno : 0;
	}
	if (argc == 1 && streq(argv[0], "keyctl"))
		return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0) < 0 ? errno : 0;
	if (argc == 2 && streq(argv[0], "kill"))
		return kill((pid_t)strtol(argv[1], NULL, 10), 0) < 0 ? errno : 0;
	if (argc == 1 && streq(argv[0], "true"))
		return 0;
	return PROBE_USAGE;
}

/* ---------------------------------------------------------------- spec helpers */

struct tspec {
	struct sandbox_spec s;
	struct fs_grant g[16];
	struct fs_deny dn[8];
	uint16_t open_ports[4];
	unsigned flags; /* enum sandbox_plan_flags */
	char paths[32][320];
	size_t n_paths;
};

static char *tpath(struct tspec *t, const char *rel)
{
	char *p = t->paths[t->n_paths++];
	assert_true(t->n_paths <= ARRAY_SIZE(t->paths));
	if (rel[0] == '/')
		snprintf(p, sizeof(t->paths[0]), "%s", rel);
	else
		snprintf(p, sizeof(t->paths[0]), "%s/%s", tmproot, rel);
	return p;
}

static bool access_ok(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static void add_grant(struct tspec *t, const char *rel, unsigned access, bool is_file)
{
	struct fs_grant *g = &t->g[t->s.n_grants++];
	char *p = tpath(t, rel);
	*g = (struct fs_grant){
	    .path = p, .access = access, .is_file = is_file, .exists = access_ok(p)};
	t->s.grants = t->g;
}

static void add_deny(struct tspec *t, const char *rel, bool bypassed)
{
	struct fs_deny *d = &t->dn[t->s.n_denies++];
	char *p = tpath(t, rel);
	struct stat st;
	bool ex = stat(p, &st) == 0;
	*d = (struct fs_deny){.path = p,
			      .group = (char *)"deny_test",
			      .category = (char *)"test secrets",
			      .exists = ex,
			      .is_dir = ex && S_ISDIR(st.st_mode),
			      .bypassed = bypassed};
	t->s.denies = t->dn;
}

/* What every sandboxed probe needs: the binary, its libraries, the loader cache. */
static void tspec_init(struct tspec *t)
{
	memset(t, 0, sizeof(*t));
	add_grant(t, "/usr", FS_READ, false);
	add_grant(t, "/etc/ld.so.cache", FS_READ, true);
	add_grant(t, exe, FS_READ, true);
	add_grant(t, "/dev/ptmx", FS_RW, true);
	add_grant(t, "/dev/pts", FS_RW, false);
}

/* Run this binary in probe mode under the spec; returns the probe's exit code. */
static int run_probe_as(struct tspec *t, const struct sandbox_features *f, const char *const *args)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	_cleanup_strv_free_ char **warnings = NULL;
	struct sandbox_exec_error e = {0};
	struct diag d = {0};
	char *argv[16] = {exe, (char *)"--probe"};
	int fds[2], status, r;
	size_t n = 2;
	pid_t pid;

	r = sandbox_prepare(&t->s, f, t->flags, &p, &warnings, &d);
	if (r < 0 && in_helper) {
		fprintf(stderr, "sandbox_prepare: %s: %s\n", strerror(-r), d.msg);
		_exit(95);
	}
	if (r < 0)
		fail_msg("sandbox_prepare: %s: %s", strerror(-r), d.msg);
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)close(fds[0]);
		sandbox_child_exec(p, exe, argv, environ, "/", fds[1], -1);
	}
	(void)close(fds[1]);
	r = sandbox_read_exec_error(fds[0], &e);
	(void)close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (r != 0 && in_helper) {
		fprintf(stderr, "child failed at %s: %s (index %d)\n",
			sandbox_step_to_string(e.step), strerror(e.err), e.index);
		_exit(95);
	}
	if (r != 0)
		fail_msg("child failed at %s: %s (index %d)", sandbox_step_to_string(e.step),
			 strerror(e.err), e.index);
	if (!WIFEXITED(status))
		fail_msg("probe killed by signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

static int run_probe(struct tspec *t, const char *const *args)
{
	return run_probe_as(t, &F, args);
}

#define PROBE(t, ...) run_probe((t), (const char *const[]){__VA_ARGS__, NULL})

static void need_landlock(int abi)
{
	if (F.landlock_abi < abi)
		skip_feature("Landlock ABI");
}

/* ---------------------------------------------------------------- fixture */

static void mkfile(const char *rel, const char *content)
{
	char p[320];
	int fd;
	snprintf(p, sizeof(p), "%s/%s", tmproot, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void mkd(const char *rel, mode_t mode)
{
	char p[320];
	snprintf(p, sizeof(p), "%s/%s", tmproot, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/nono-sbx-XXXXXX";
	char *real;
	ssize_t n;
	(void)state;

	if (!mkdtemp(tmpl))
		return -1;
	real = realpath(tmpl, NULL);
	if (!real)
		return -1;
	snprintf(tmproot, sizeof(tmproot), "%s", real);
	free(real);
	(void)chmod(tmproot, 0755);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';

	mkd("ro", 0755);
	mkfile("ro/a.txt", "hello");
	mkd("rw", 0777);
	mkfile("rw/a.txt", "hello");
	mkd("outside", 0755);
	mkfile("outside/b.txt", "outside");
	mkd("fonly", 0755);
	mkfile("fonly/f.txt", "f");
	mkfile("fonly/g.txt", "g");
	mkd("home", 0777);
	mkfile("home/notes.txt", "notes");
	mkd("home/.ssh", 0755);
	mkfile("home/.ssh/id_ed25519", "SECRET KEY");
	mkfile("home/.netrc", "machine x password y");
	mkd("home/.aws", 0755);
	mkfile("home/.aws/credentials", "aws creds");
	mkd("home2", 0755);
	mkd("home2/.ssh", 0755);
	mkfile("home2/.ssh/known_hosts", "host key");
	sandbox_probe(&F);
	F.userns = sandbox_userns_available();
	F.userns_probed = true;
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];
	(void)state;
	if (tmproot[0] && startswith(tmproot, "/tmp/nono-sbx-")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmproot);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static int listener(uint16_t *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 16), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*ret_port = ntohs(a.sin_port);
	return s;
}

/* ---------------------------------------------------------------- Landlock fs */

/* A write outside every write grant: the read-only mount answers before Landlock. */
#define W_REFUSED (sandbox_mountns_available(&F) ? EROFS : EACCES)

static void test_read_grant(void **state)
{
	struct tspec t;
	(void)state;
	need_landlock(1);
	tspec_init(&t);
	add_grant(&t, "ro", FS_READ, false);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "ro/a.txt"), "r"), 0);
	assert_int_equal(PROBE(&t, "read", tpath(&t, "ro")), PROBE_NONEMPTY);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "ro/a.txt"), "w"), W_REFUSED);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "ro/new.txt"), "w"), W_REFUSED);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "outside/b.txt"), "r"), EACCES);
	assert_int_equal(PROBE(&t, "read", tpath(&t, "outside")), EACCES);
}

static void test_write_grant(void **state)
{
	struct tspec t;
	(void)state;
	need_landlock(1);
	tspec_init(&t);
	add_grant(&t, "rw", FS_RW, false);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "rw/a.txt"), "w"), 0);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "rw/created.txt"), "w"), 0);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "outside/b.txt"), "w"), W_REFUSED);
}

static void test_file_grant_does_not_widen(void **state)
{
	struct tspec t;
	(void)state;
	need_landlock(1);
	tspec_init(&t);
	add_grant(&t, "fonly/f.txt", FS_RW, true);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "fonly/f.txt"), "r"), 0);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "fonly/f.txt"), "w"), 0);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "fonly/g.txt"), "r"), EACCES);
	assert_int_equal(PROBE(&t, "read", tpath(&t, "fonly")), EACCES);
	assert_int_equal(PROBE(&t, "open", tpath(&t, "fonly/new.txt"), "w"), W_REFUSED);
}

static void test_missing_grant_skipped(void **state)
{
	struct tspec t;
	(void)state;
	need_landlock(1);
	tspec_init(&t);
	add_grant(&t, "does/not/exist", FS_RW, false);
	assert_false(t.g[t.s.n_grants - 1].exists);
	assert_int_equal(PROBE(&t, "true"), 0);
}

static void test_exec_error_reported(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct sandbox_exec_error e = {0};
	struct diag d = {0};
	struct tspec t;
	char *argv[] = {(char *)"x", NULL};
	int fds[2], status;
	pid_t pid;
	(void)state;
	need_landlock(1); /* every plan below needs Landlock unless best_effort */

	tspec_init(&t);
	assert_int_equal(sandbox_prepare(&t.s, &F, 0, &p, NULL, &d), 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		sandbox_child_exec(p, "/nonexistent/binary", argv, environ, NULL, fds[1], -1);
	}
	close(fds[1]);
	assert_int_equal(sandbox_read_exec_error(fds[0], &e), 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	assert_int_equal(e.step, STEP_EXEC);
	assert_int_equal(e.err, ENOENT);
}

struct spawn_args {
	const struct sandbox_plan *p;
	const char *path;
	char **argv;
	int err_w;
};

static int spawn_child(void *arg)
{
	const struct spawn_args *a = arg;
	sigset_t none;

	sandbox_child_default_handlers();
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	sandbox_child_exec(a->p, a->path, a->argv, environ, "/", a->err_w, -1);
}

/*
 * sandbox_spawn(): the clone shares our memory, so it returns only once every process
 * in it has exec'd or exited, with the report read, and our heap as we left it. As root
 * the plan has a PID namespace: PID 1 clones the agent (sharing the memory too) and
 * execs this binary as the init, which passes the agent's status on.
 */
static void test_spawn(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct sandbox_exec_error e = {0};
	struct diag d = {0};
	struct tspec t;
	char *argv[] = {(char *)"true", NULL};
	char *canary = strdup("untouched");
	int fds[2], status, w;
	pid_t pid = -1;
	(void)state;
	need_landlock(1);

	assert_non_null(canary);
	tspec_init(&t);
	assert_int_equal(sandbox_prepare(&t.s, &F, 0, &p, NULL, &d), 0);
	struct sandbox_plan_info info;
	sandbox_plan_get_info(p, &info);
	if (geteuid() == 0)
		assert_true(info.pidns);

	/* A command that cannot be exec'd: reported, its status 127. */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	w = fds[1];
	struct spawn_args bad = {p, "/nonexistent/binary", argv, fds[1]};
	assert_int_equal(sandbox_spawn(p, spawn_child, &bad, &w, fds[0], &pid, &e), 1);
	assert_int_equal(w, -EBADF); /* ours was closed */
	(void)close(fds[0]);
	assert_int_equal(e.step, STEP_EXEC);
	assert_int_equal(e.err, ENOENT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);

	/* One that can: no report, its own status. */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	w = fds[1];
	struct spawn_args good = {p, "/bin/true", argv, fds[1]};
	e = (struct sandbox_exec_error){0};
	assert_int_equal(sandbox_spawn(p, spawn_child, &good, &w, fds[0], &pid, &e), 0);
	(void)close(fds[0]);
	assert_int_equal(e.step, STEP_NONE);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_string_equal(canary, "untouched");
	free(canary);
}

/*
 * Without a PID namespace, mediating: the agent clones the first helper in our memory too
 * (CLONE_VFORK until it has exec'd this binary as `__unotify-helper 1`), then sends the
 * notification listener with the helper's pid, which is ours to reap (CLONE_PARENT).
 */
static void test_spawn_helper(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct sandbox_exec_error e = {0};
	struct diag d = {0};
	struct tspec t;
	char *argv[] = {(char *)"true", NULL};
	int fds[2], sv[2], ch[2], status, w, lfd = -1;
	int32_t pids[UNOTIFY_HELPERS] = {0};
	char cmdline[128] = {0}, path[64];
	pid_t pid = -1;
	(void)state;
	need_landlock(1);
	if (!F.seccomp_notify)
		skip_feature("seccomp user notification");

	tspec_init(&t);
	t.s.placement = (struct sandbox_placement){.decided = true};
	assert_int_equal(sandbox_prepare(&t.s, &F, 0, &p, NULL, &d), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch), 0);
	assert_int_equal(sandbox_plan_set_unotify(p, &t.s, sv[1], &ch[1], 1, false), 0);
	struct sandbox_plan_info info;
	sandbox_plan_get_info(p, &info);
	assert_false(info.pidns);

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	w = fds[1];
	struct spawn_args a = {p, "/bin/true", argv, fds[1]};
	assert_int_equal(sandbox_spawn(p, spawn_child, &a, &w, fds[0], &pid, &e), 0);
	(void)close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The listener, and the helper's pid: a process of ours, exec'd in its mode. */
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = pids, .iov_len = sizeof(pids)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	assert_int_equal(recvmsg(sv[0], &msg, 0), (ssize_t)sizeof(pids));
	memcpy(&lfd, CMSG_DATA(&u.h), sizeof(int));
	assert_true(lfd >= 0 && pids[0] > 0);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pids[0]);
	int cfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(cfd >= 0);
	assert_true(read(cfd, cmdline, sizeof(cmdline) - 1) > 0);
	(void)close(cfd);
	assert_string_equal(cmdline + strlen(cmdline) + 1, SANDBOX_HELPER_ARG);
	(void)kill(pids[0], SIGKILL);
	assert_int_equal(waitpid(pids[0], &status, 0), pids[0]);
	(void)close(lfd);
	for (int i = 0; i < 2; i++) {
		(void)close(sv[i]);
		(void)close(ch[i]);
	}
}

/* ---------------------------------------------------------------- network */

static void test_block_net(void **state)
{
	struct tspec t;
	uint16_t port;
	char ps[8];
	_cleanup_close_ int l = -EBADF;
	(void)state;
	need_landlock(4);
	l = listener(&port);
	snprintf(ps, sizeof(ps), "%u", port);

	tspec_init(&t);
	t.s.net = NET_BLOCK;
	assert_int_equal(PROBE(&t, "connect", ps), EACCES);
	assert_int_equal(PROBE(&t, "bind", "0"), EACCES);
	/* TCP sockets can be created (Landlock decides per port) ... */
	assert_int_equal(PROBE(&t, "socket", "2", "1", "0"), 0);
	assert_int_equal(PROBE(&t, "socket", "2", "0x80801", "6"), 0); /* NONBLOCK|CLOEXEC */
	assert_int_equal(PROBE(&t, "socket", "10", "1", "0"), 0);
	/* ... nothing else in inet: UDP, raw, SCTP, MPTCP */
	assert_int_equal(PROBE(&t, "socket", "2", "2", "0"), EPERM);
	assert_int_equal(PROBE(&t, "socket", "10", "2", "17"), EPERM);
	assert_int_equal(PROBE(&t, "socket", "2", "3", "1"), EPERM);
	assert_int_equal(PROBE(&t, "socket", "2", "1", "132"), EPERM);
	assert_int_equal(PROBE(&t, "socket", "2", "1", "262"), EPERM);
	assert_int_equal(PROBE(&t, "socket", "2", "5", "132"), EPERM);
	/* upper register halves are ignored by the kernel, so they must not dodge the filter */
	assert_int_equal(PROBE(&t, "socket", "0x100000002", "2", "0"), EPERM);
	assert_int_equal(PROBE(&t, "socket", "2", "0x100000002", "0"), EPERM);
	/* other families */
	assert_int_equal(PROBE(&t, "socket", "17", "3", "0"), EAFNOSUPPORT); /* AF_PACKET */
	assert_int_equal(PROBE(&t, "socket", "40", "1", "0"), EAFNOSUPPORT); /* AF_VSOCK */
	assert_int_equal(PROBE(&t, "socket", "1000", "1", "0"), EAFNOSUPPORT);
	/* local IPC and netlink stay */
	assert_int_equal(PROBE(&t, "socket", "1", "2", "0"), 0);
	assert_int_equal(PROBE(&t, "socket", "16", "3", "0"), 0);
}

static void test_open_port(void **state)
{
	struct tspec t;
	uint16_t p1, p2;
	char s1[8], s2[8];
	_cleanup_close_ int l1 = -EBADF, l2 = -EBADF;
	(void)state;
	need_landlock(4);
	l1 = listener(&p1);
	l2 = listener(&p2);
	snprintf(s1, sizeof(s1), "%u", p1);
	snprintf(s2, sizeof(s2), "%u", p2);

	tspec_init(&t);
	t.s.net = NET_BLOCK;
	t.open_ports[0] = p1;
	t.s.open_ports = t.open_ports;
	t.s.n_open_ports = 1;
	assert_int_equal(PROBE(&t, "connect", s1), 0);
	assert_int_equal(PROBE(&t, "connect", s2), EACCES);
}

static void test_proxy_port(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct diag d = {0};
	struct tspec t;
	(void)state;
	need_landlock(4);
	tspec_init(&t);
	t.s.net = NET_PROXY;
	assert_int_equal(sandbox_prepare(&t.s, &F, 0, &p, NULL, &d), 0);
	assert_int_equal(sandbox_plan_set_proxy_port(p, 3128), 0);
	assert_int_equal(sandbox_plan_set_proxy_port(p, 0), -EINVAL);
	struct sandbox_plan_info info;
	sandbox_plan_get_info(p, &info);
	assert_true(info.net_tcp_restricted);
	assert_int_equal(info.landlock_abi, F.landlock_abi > 7 ? 7 : F.landlock_abi);
	assert_int_equal(info.handled_fs, sandbox_landlock_fs_rights(info.landlock_abi));
	assert_false(info.scope_signal);
	assert_int_equal(info.n_masks, 0);
}

/* Proxy mode: connect only to the proxy (and open ports), bind only the listen ports. */
static void test_proxy_mode(void **state)
{
	struct tspec t;
	uint16_t proxy, other, lport;
	char sp[8], so[8], sl[8];
	uint16_t listen_ports[1];
	_cleanup_close_ int l1 = -EBADF, l2 = -EBADF, l3 = -EBADF;
	(void)state;
	need_landlock(4);
	l1 = listener(&proxy);
	l2 = listener(&other);
	l3 = listener(&lport); /* reserve a free port number, then release it */
	l3 = safe_close(l3);
	snprintf(sp, sizeof(sp), "%u", proxy);
	snprintf(so, sizeof(so), "%u", other);
	snprintf(sl, sizeof(sl), "%u", lport);

	tspec_init(&t);
	t.s.net = NET_PROXY;
	t.s.proxy.port = proxy;
	listen_ports[0] = lport;
	t.s.listen_ports = listen_ports;
	t.s.n_listen_ports = 1;
	assert_int_equal(PROBE(&t, "connect", sp), 0);
	assert_int_equal(PROBE(&t, "connect", so), EACCES);
	assert_int_equal(PROBE(&t, "bind", sl), 0);
	assert_int_equal(PROBE(&t, "bind", so), EACCES);
	assert_int_equal(PROBE(&t, "connect", sl), EACCES); /* bind-only */
	assert_int_equal(PROBE(&t, "socket", "2", "2", "0"), EPERM);
}

static void test_net_allow_control(void **state)
{
	struct tspec t;
	uint16_t port;
	char ps[8];
	_cleanup_close_ int l = -EBADF;
	(void)state;
	need_landlock(1); /* every plan below needs Landlock unless best_effort */
	l = listener(&port);
	snprintf(ps, sizeof(ps), "%u", port);
	tspec_init(&t);
	t.s.net = NET_ALLOW;
	assert_int_equal(PROBE(&t, "connect", ps), 0);
	assert_int_equal(PROBE(&t, "socket", "2", "2", "0"), 0);
}

/* Private network namespace: only a loopback that is up; the host's listener is gone. */
static void test_netns(void **state)
{
	struct tspec t;
	uint16_t port;
	char ps[8];
	_cleanup_close_ int l = -EBADF;
	(void)state;
	need_landlock(1); /* every plan below needs Landlock unless best_effort */
	if (!F.is_root && !F.userns)
		skip_feature("user namespaces");
	l = listener(&port);
	snprintf(ps, sizeof(ps), "%u", port);
	tspec_init(&t);
	assert_int_equal(PROBE(&t, "connect", ps), 0);
	t.flags = SANDBOX_NETNS;
	/* ECONNREFUSED (not ENETUNREACH): lo is up, nothing listens there */
	assert_int_equal(PROBE(&t, "connect", ps), ECONNREFUSED);
}

/* The proxy listener is made inside the child's namespace and handed to us. */
static void test_netns_listener(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct sandbox_exec_error e = {0};
	struct diag d = {0};
	struct tspec t;
	char *argv[] = {exe, (char *)"--probe", (char *)"connect", (char *)"3128", NULL};
	char byte = 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	int sp[2], fds[2], status, lfd = -1;
	pid_t pid;
	(void)state;
	need_landlock(4);
	if (!F.is_root && !F.userns)
		skip_feature("user namespaces");
	tspec_init(&t);
	t.s.net = NET_PROXY;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(sandbox_prepare(&t.s, &F, 0, &p, NULL, &d), 0);
	assert_int_equal(sandbox_plan_set_netns_listener(p, sp[1], 3128), -EINVAL); /* no NETNS */
	p = sandbox_plan_free(p);
	assert_int_equal(sandbox_prepare(&t.s, &F, SANDBOX_NETNS, &p, NULL, &d), 0);
	assert_int_equal(sandbox_plan_set_netns_listener(p, sp[1], 3128), 0);

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		sandbox_child_exec(p, exe, argv, environ, "/", fds[1], -1);
	}
	close(fds[1]);
	close(sp[1]);
	assert_int_equal(recvmsg(sp[0], &msg, MSG_CMSG_CLOEXEC), 1);
	assert_true(msg.msg_controllen >= CMSG_LEN(sizeof(int)));
	struct cmsghdr *c = &u.h; /* the first (only) header */
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	memcpy(&lfd, CMSG_DATA(c), sizeof(int));
	assert_int_equal(sandbox_read_exec_error(fds[0], &e), 0);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* the probe's connect to 3128 inside the namespace reached our listener */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	assert_true(conn >= 0);
	close(conn);
	close(lfd);
	close(sp[0]);
}

static void test_net_needs_abi4(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	_cleanup_strv_free_ char **w = NULL;
	struct sandbox_features f = F;
	struct diag d = {0};
	struct tspec t;
	(void)state;
	need_landlock(3);
	f.landlock_abi = 3;
	tspec_init(&t);
	t.s.net = NET_BLOCK;
	assert_int_equal(sandbox_prepare(&t.s, &f, 0, &p, &w, &d), -EOPNOTSUPP);
	assert_null(p);
	assert_non_null(strstr(d.msg, "ABI 4"));
	t.s.best_effort = true;
	assert_int_equal(sandbox_prepare(&t.s, &f, 0, &p, &w, &d), 0);
	assert_true(strv_length(w) >= 1);
	assert_non_null(strstr(w[0], "ABI 4"));
}

/* ---------------------------------------------------------------- masks */

static void mask_spec(struct tspec *t)
{
	tspec_init(t);
	add_grant(t, "home", FS_RW, false);
	add_deny(t, "home/.ssh", false);
	add_deny(t, "home/.netrc", false);
	add_deny(t, "home/.aws", true);	   /* --bypass-protection */
	add_deny(t, "home/.gnupg", false); /* missing: nothing to mask */
	add_grant(t, "home2/.ssh/known_hosts", FS_READ, true);
	add_deny(t, "home2/.ssh", false); /* a grant inside a protected dir: the deny wins */
}

static void check_masks(struct tspec *t)
{
	assert_int_equal(PROBE(t, "read", tpath(t, "home/notes.txt")), PROBE_NONEMPTY);
	/* masks are mode 000: refused, never an empty read */
	assert_int_equal(PROBE(t, "read", tpath(t, "home/.ssh")), EACCES);
	assert_int_equal(PROBE(t, "read", tpath(t, "home/.ssh/id_ed25519")), EACCES);
	assert_int_equal(PROBE(t, "open", tpath(t, "home/.ssh/new"), "w"), EACCES);
	assert_int_equal(PROBE(t, "read", tpath(t, "home/.netrc")), EACCES);
	assert_int_equal(PROBE(t, "open", tpath(t, "home/.netrc"), "w"), EACCES);
	assert_int_equal(PROBE(t, "read", tpath(t, "home/.aws/credentials")), PROBE_NONEMPTY);
	assert_int_equal(PROBE(t, "read", tpath(t, "home2/.ssh/known_hosts")), EACCES);
	assert_int_equal(PROBE(t, "open", tpath(t, "home/x.txt"), "w"), 0);
}

static void test_masks(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct diag d = {0};
	struct tspec t;
	(void)state;
	need_landlock(1);
	if (!F.is_root && !F.userns)
		skip_feature("user namespaces");
	mask_spec(&t);
	assert_int_equal(sandbox_prepare(&t.s, &F, 0, &p, NULL, &d), 0);
	assert_true(sandbox_plan_uses_masks(p));
	struct sandbox_plan_info info;
	sandbox_plan_get_info(p, &info);
	assert_int_equal(info.n_masks, 3); /* .ssh, .netrc, home2/.ssh; not .aws, .gnupg */
	assert_string_equal(sandbox_plan_mask_path(p, 0), tpath(&t, "home/.ssh"));
	assert_null(sandbox_plan_mask_path(p, 3));
	assert_true(info.mountns);
	assert_true(info.ro_root);
	assert_int_equal(info.userns, !F.is_root);
	assert_true(info.seccomp && info.seccomp_insns > 0);
	check_masks(&t);
	/* the masks live only in the child's namespace */
	char buf[4];
	int fd = open(tpath(&t, "home/.ssh/id_ed25519"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
}

/* The unprivileged path: user namespace with identity maps, then every cap dropped. */
static void test_masks_unprivileged(void **state)
{
	pid_t pid;
	int status;
	(void)state;
	need_landlock(1);
	if (getuid() != 0)
		skip(); /* test_masks covers the current user already */

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tspec t;
		struct sandbox_features f;
		in_helper = true;
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(90);
		/* setresuid() made us non-dumpable, which hides /proc/self/uid_map from us;
		 * a real unprivileged nono process (fresh from execve) is dumpable. */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			_exit(90);
		sandbox_probe(&f);
		f.userns = sandbox_userns_available();
		f.userns_probed = true;
		if (f.is_root || !f.userns)
			_exit(91);
		mask_spec(&t);
		if (run_probe_as(&t, &f,
				 (const char *const[]){"read", tpath(&t, "home/.ssh"), NULL}) !=
		    EACCES)
			_exit(1);
		if (run_probe_as(&t, &f,
				 (const char *const[]){"read", tpath(&t, "home/.ssh/id_ed25519"),
						       NULL}) != EACCES)
			_exit(2);
		if (run_probe_as(&t, &f,
				 (const char *const[]){"open", tpath(&t, "home/.netrc"), "w",
						       NULL}) != EACCES)
			_exit(3);
		if (run_probe_as(&t, &f,
				 (const char *const[]){"read", tpath(&t, "home/.aws/credentials"),
						       NULL}) != PROBE_NONEMPTY)
			_exit(4);
		if (run_probe_as(
			&t, &f,
			(const char *const[]){"open", tpath(&t, "home/y.txt"), "w", NULL}) != 0)
			_exit(5);
		/* every capability of the namespace is gone: no nested user namespace either */
		if (run_probe_as(&t, &f, (const char *const[]){"unshare-user", NULL}) != EPERM)
			_exit(6);
		/* CLONE_NEWNS is not filtered: only the dropped namespace caps refuse it */
		if (run_probe_as(&t, &f, (const char *const[]){"unshare-mount", NULL}) != EPERM)
			_exit(7);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 91)
		skip_feature("user namespaces");
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_masks_refused_without_userns(void **state)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	struct sandbox_features f = F;
	struct diag d = {0};
	struct tspec t;
	(void)state;
	need_landlock(1); /* every plan below needs Landlock unless best_effort */
	f.is_root = false;
	f.userns = false;
	f.userns_probed = true;
	mask_spec(&t);
	assert_int_equal(sandbox_prepare(&t.s, &f, 0, &p, NULL, &d), -EPERM);
	assert_null(p);
	assert_non_null(strstr(d.msg, tpath(&t, "home")));
	assert_non_null(strstr(d.msg, tpath(&t, "home/.ssh")));

	/* without a covering grant nothing needs masking, so it is fine */
	tspec_init(&t);
	add_grant(&t, "ro", FS_READ, false);
	add_deny(&t, "home/.ssh", false);
	assert_int_equal(sandbox_prepare(&t.s, &f, 0, &p, NULL, &d), 0);
	assert_false(sandbox_plan_uses_masks(p));
}

/* ---------------------------------------------------------------- seccomp */

static void test_seccomp_defense(void **state)
{
	struct tspec t;
	(void)state;
	need_landlock(1); /* every plan below needs Landlock unless best_effort */
	if (!F.seccomp)
		skip_feature("seccomp");
	tspec_init(&t);
	assert_int_equal(PROBE(&t, "tiocsti"), EPERM);
	assert_int_equal(PROBE(&t, "unshare-user"), EPERM);
	assert_int_equal(PROBE(&t, "clone3"), ENOSYS);
	assert_int_equal(PROBE(&t, "thread"), 0);
	assert_int_equal(PROBE(&t, "personality", "0xffffffff"), 0); /* query */
	assert_int_equal(PROBE(&t, "personality", "0x40000"), 0);    /* ADDR_NO_RANDOMIZE */
	assert_int_equal(PROBE(&t, "personality", "0x0"), 0);
	assert_int_equal(PROBE(&t, "personality", "0x400000"), EPERM); /* READ_IMPLIES_EXEC */
	assert_int_equal(PROBE(&t, "personality", "0x100000"), EPERM); /* MMAP_PAGE_ZERO */
	assert_int_equal(PROBE(&t, "personality", "0x80400000"), EPERM);
	assert_int_equal(PROBE(&t, "personality", "0x100400000"), EPERM); /* upper half ignored */
	assert_int_equal(PROBE(&t, "fork"), 0);
	assert_int_equal(PROBE(&t, "keyctl"), EPERM);
	/* not a seccomp rule: fails because CAP_SYS_ADMIN is gone (root) or never held */
	assert_int_equal(PROBE(&t, "unshare-mount"), EPERM);
}

/* Control for the seccomp cases: the same probes without a filter are not refused. */
static void test_seccomp_control(void **state)
{
	struct sandbox_features f = F;
	struct tspec t;
	int r;
	(void)state;
	need_landlock(1); /* every plan below needs Landlock unless best_effort */
	f.seccomp = false;
	tspec_init(&t);
	t.s.best_effort = true;
	r = run_probe_as(&t, &f, (const char *const[]){"tiocsti", NULL});
	assert_true(r == 0 || r == EIO);
	assert_int_equal(run_probe_as(&t, &f, (const char *const[]){"clone3", NULL}) == ENOSYS,
			 false);
}

static void test_scope_signal(void **state)
{
	struct tspec t;
	char ps[16];
	(void)state;
	need_landlock(6);
	snprintf(ps, sizeof(ps), "%d", (int)getpid());
	tspec_init(&t);
	assert_int_equal(PROBE(&t, "kill", ps), 0);
	t.s.scope_signal = true;
	assert_int_equal(PROBE(&t, "kill", ps), EPERM);
}

static void test_scope_abstract_unix(void **state)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_close_ int l = -EBADF;
	char name[64];
	struct tspec t;
	size_t n;
	(void)state;
	need_landlock(6);
	n = (size_t)snprintf(name, sizeof(name), "nono-test-%d", (int)getpid());
	memcpy(a.sun_path + 1, name, n);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(
	    bind(l, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n), 0);
	assert_int_equal(listen(l, 4), 0);
	tspec_init(&t);
	assert_int_equal(PROBE(&t, "abstract", name), 0);
	t.s.scope_abstract_unix = true;
	assert_int_equal(PROBE(&t, "abstract", name), EPERM);
}

static char *pfc_text(const struct sandbox_spec *s)
{
	_cleanup_close_ int fd = memfd_create("pfc", MFD_CLOEXEC);
	struct stat st;
	char *buf;

	assert_true(fd >= 0);
	assert_int_equal(sandbox_seccomp_export_pfc(s, fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = calloc(1, st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, st.st_size, 0), st.st_size);
	return buf;
}

/*
 * Instructions the classic BPF program runs for syscall nr of x86_64 until it returns or
 * first reads an argument (where the kernel's action cache stops emulating; the subset
 * libseccomp emits, anything else fails the test).
 */
static unsigned bpf_steps(const struct sock_filter *p, unsigned short len, uint32_t nr)
{
	const uint32_t data[16] = {nr, AUDIT_ARCH_X86_64}; /* nr, arch, ip, args: zero */
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	unsigned steps = 0;
	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *i = &p[pc];
		steps++;
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(i->k % 4 == 0 && i->k < sizeof(data));
			if (i->k >= 16) /* offsetof(struct seccomp_data, args) */
				return steps;
			a = data[i->k / 4];
			break;
		case BPF_LD | BPF_MEM: a = mem[i->k % BPF_MEMWORDS]; break;
		case BPF_LDX | BPF_MEM: x = mem[i->k % BPF_MEMWORDS]; break;
		case BPF_ST: mem[i->k % BPF_MEMWORDS] = a; break;
		case BPF_STX: mem[i->k % BPF_MEMWORDS] = x; break;
		case BPF_MISC | BPF_TAX: x = a; break;
		case BPF_MISC | BPF_TXA: a = x; break;
		case BPF_ALU | BPF_AND | BPF_K: a &= i->k; break;
		case BPF_ALU | BPF_OR | BPF_K: a |= i->k; break;
		case BPF_JMP | BPF_JA: pc += i->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += a > i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (a & i->k) ? i->jt : i->jf; break;
		case BPF_RET | BPF_K: return steps;
		default: fail_msg("opcode 0x%x at %u", i->code, pc);
		}
	}
	fail_msg("ran off the end for nr %u", nr);
	return 0;
}

/* The kernel runs a filter for every syscall number at attach (its action cache) and for
 * each call the cache cannot answer: numbers are a binary tree, never a linear chain
 * (which took the default filter's longest path to a syscall's own rules past 60). */
static void test_seccomp_tree(void **state)
{
	(void)state;
	for (int net = 0; net < 2; net++) {
		struct sandbox_spec s = {.net = net ? NET_BLOCK : NET_ALLOW};
		_cleanup_free_ struct sock_filter *p = NULL;
		unsigned short len = 0;
		unsigned worst = 0, worst_nr = 0;
		assert_int_equal(seccomp_build(&s, &p, &len), 0);
		for (uint32_t nr = 0; nr < 512; nr++) {
			unsigned n = bpf_steps(p, len, nr);
			if (n > worst)
				worst = n, worst_nr = nr;
		}
		print_message("seccomp %s: %u instructions, longest path %u (nr %u)\n",
			      net ? "block-net" : "default", len, worst, worst_nr);
		assert_in_range(worst, 1, 30);
	}
}

static void test_seccomp_golden(void **state)
{
	static const char *const always[] = {
	    "\"keyctl\"",
	    "\"add_key\"",
	    "\"request_key\"",
	    "\"bpf\"",
	    "\"perf_event_open\"",
	    "\"kexec_load\"",
	    "\"mount\"",
	    "\"move_mount\"",
	    "\"open_tree\"",
	    "\"fsopen\"",
	    "\"setns\"",
	    "\"open_by_handle_at\"",
	    "\"init_module\"",
	    "\"userfaultfd\"",
	    "\"io_uring_setup\"",
	    "\"clone3\"",
	    "\"unshare\"",
	    "\"ioctl\"",
	    "\"personality\"",
	    "ERRNO(1)",
	    "ERRNO(38)",
	    "== 21522" /* TIOCSTI */,
	    "== 21532" /* TIOCLINUX */,
	    "0x10000000" /* CLONE_NEWUSER */,
	    "arch x86_64 (",
	    "arch x86 (",
	    "arch x32 (",
	};
	struct sandbox_spec s = {0};
	(void)state;

	_cleanup_free_ char *allow = pfc_text(&s);
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		if (!strstr(allow, always[i]))
			fail_msg("'%s' missing from the filter", always[i]);
	/* no socket rules when the network is unrestricted */
	assert_null(strstr(allow, "\"socket\""));

	s.net = NET_BLOCK;
	_cleanup_free_ char *block = pfc_text(&s);
	assert_non_null(strstr(block, "\"socket\""));
	assert_non_null(strstr(block, "\"socketcall\""));
	assert_non_null(strstr(block, "ERRNO(97)")); /* EAFNOSUPPORT for foreign families */
}

/* ---------------------------------------------------------------- small API */

static void test_fs_rights(void **state)
{
	(void)state;
	assert_int_equal(sandbox_landlock_fs_rights(0), 0);
	assert_int_equal(sandbox_landlock_fs_rights(1), (1ULL << 13) - 1);
	assert_int_equal(sandbox_landlock_fs_rights(2), (1ULL << 14) - 1);
	assert_int_equal(sandbox_landlock_fs_rights(3), (1ULL << 15) - 1);
	assert_int_equal(sandbox_landlock_fs_rights(4), (1ULL << 15) - 1);
	assert_int_equal(sandbox_landlock_fs_rights(5), (1ULL << 16) - 1);
	assert_int_equal(sandbox_landlock_fs_rights(7), (1ULL << 16) - 1);
}

static void test_step_names(void **state)
{
	(void)state;
	for (int i = 0; i < _STEP_MAX; i++)
		assert_string_not_equal(sandbox_step_to_string(i), "unknown");
	assert_string_equal(sandbox_step_to_string(STEP_LANDLOCK), "landlock");
	assert_string_equal(sandbox_step_to_string(_STEP_MAX), "unknown");
}

static void test_clean_environ(void **state)
{
	char *in[] = {(char *)"PATH=/usr/bin",
		      (char *)"LD_PRELOAD=/x.so",
		      (char *)"LD_LIBRARY_PATH=/y",
		      (char *)"BASH_ENV=/z",
		      (char *)"NODE_OPTIONS=--require x",
		      (char *)"PYTHONPATH=/p",
		      (char *)"ENV=/e",
		      (char *)"ENVIRONMENT=prod",
		      (char *)"BASH_FUNC_f%%=() { :; }",
		      (char *)"GLIBC_TUNABLES=x",
		      (char *)"HOME=/root",
		      NULL};
	_cleanup_strv_free_ char **out = NULL;
	(void)state;
	assert_int_equal(sandbox_clean_environ(in, &out), 0);
	assert_int_equal(strv_length(out), 4);
	assert_string_equal(out[0], "PATH=/usr/bin");
	assert_string_equal(out[1], "PYTHONPATH=/p");
	assert_string_equal(out[2], "ENVIRONMENT=prod");
	assert_string_equal(out[3], "HOME=/root");
}

/* Ambient credentials go unless passed by exact name; loader variables always go. */
static void test_env_filter(void **state)
{
	char *in[] = {(char *)"PATH=/usr/bin",
		      (char *)"GITHUB_TOKEN=ghp_1",
		      (char *)"GH_TOKEN=ghp_2",
		      (char *)"AWS_SECRET_ACCESS_KEY=a",
		      (char *)"AWS_SESSION_TOKEN=b",
		      (char *)"AWS_REGION=eu-west-1",
		      (char *)"OP_SERVICE_ACCOUNT_TOKEN=c",
		      (char *)"OP_SESSION_my_team=d",
		      (char *)"OP_SESSION=e", /* the prefix needs its '_' and more */
		      (char *)"VAULT_TOKEN=f",
		      (char *)"VAULT_ADDR=https://vault",
		      (char *)"NPM_TOKEN=g",
		      (char *)"GITHUB_TOKENX=h",     /* exact names only */
		      (char *)"ANTHROPIC_API_KEY=i", /* model keys stay: agents run on them */
		      (char *)"LD_PRELOAD=/x.so",
		      NULL};
	char *pass[] = {(char *)"GH_TOKEN", (char *)"LD_PRELOAD", (char *)"OP_SESSION_my_team",
			NULL};
	_cleanup_strv_free_ char **out = NULL, **removed = NULL;
	(void)state;

	assert_int_equal(sandbox_env_filter(in, NULL, &out, &removed), 0);
	assert_int_equal(strv_length(out), 6);
	assert_string_equal(out[0], "PATH=/usr/bin");
	assert_string_equal(out[1], "AWS_REGION=eu-west-1");
	assert_string_equal(out[2], "OP_SESSION=e");
	assert_string_equal(out[3], "VAULT_ADDR=https://vault");
	assert_string_equal(out[4], "GITHUB_TOKENX=h");
	assert_string_equal(out[5], "ANTHROPIC_API_KEY=i");
	assert_int_equal(strv_length(removed), 8);
	assert_string_equal(removed[0], "GITHUB_TOKEN");
	assert_string_equal(removed[5], "OP_SESSION_my_team");
	assert_string_equal(removed[7], "NPM_TOKEN");
	out = strv_free(out);
	removed = strv_free(removed);

	assert_int_equal(sandbox_env_filter(in, pass, &out, &removed), 0);
	assert_true(strv_contains(out, "GH_TOKEN=ghp_2"));
	assert_true(strv_contains(out, "OP_SESSION_my_team=d"));
	assert_false(strv_contains(out, "LD_PRELOAD=/x.so")); /* never passed */
	assert_false(strv_contains(out, "GITHUB_TOKEN=ghp_1"));
	assert_int_equal(strv_length(removed), 6);

	/* sandbox_clean_environ strips both kinds. */
	out = strv_free(out);
	assert_int_equal(sandbox_clean_environ(in, &out), 0);
	assert_int_equal(strv_length(out), 6);

	assert_true(sandbox_env_name_secret("GITHUB_TOKEN"));
	assert_true(sandbox_env_name_secret("TF_TOKEN_app_terraform_io=x"));
	assert_false(sandbox_env_name_secret("GITHUB_TOKE"));
	assert_true(sandbox_env_name_secret("CARGO_REGISTRIES_MY_REG_TOKEN=t"));
	assert_false(sandbox_env_name_secret("CARGO_REGISTRIES_MY_REG_INDEX=https://x"));
	assert_false(sandbox_env_name_secret("CARGO_REGISTRIES__TOKEN")); /* '*': 1+ chars */
	assert_false(sandbox_env_name_secret("OP_SESSION_"));
	assert_false(sandbox_env_name_secret("OPENAI_API_KEY"));
	assert_true(sandbox_env_name_unsafe("LD_AUDIT"));
	assert_true(sandbox_env_name_unsafe("BASH_ENV"));
	assert_false(sandbox_env_name_unsafe("GITHUB_TOKEN"));
}

int main(int argc, char **argv)
{
	if (argc >= 2 && streq(argv[1], "--probe"))
		return probe_main(argc - 2, argv + 2);
	/* The PID namespace's init of test_spawn, the helper of test_spawn_helper (this
	 * binary is exec'd as them). */
	if (argc >= 2 && streq(argv[1], SANDBOX_INIT_ARG))
		sandbox_init_main(argc, argv);
	if (argc >= 2 && streq(argv[1], SANDBOX_HELPER_ARG))
		sandbox_helper_main(argc, argv);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fs_rights),
	    cmocka_unit_test(test_step_names),
	    cmocka_unit_test(test_clean_environ),
	    cmocka_unit_test(test_env_filter),
	    cmocka_unit_test(test_seccomp_golden),
	    cmocka_unit_test(test_seccomp_tree),
	    cmocka_unit_test(test_read_grant),
	    cmocka_unit_test(test_write_grant),
	    cmocka_unit_test(test_file_grant_does_not_widen),
	    cmocka_unit_test(test_missing_grant_skipped),
	    cmocka_unit_test(test_exec_error_reported),
	    cmocka_unit_test(test_spawn),
	    cmocka_unit_test(test_spawn_helper),
	    cmocka_unit_test(test_block_net),
	    cmocka_unit_test(test_open_port),
	    cmocka_unit_test(test_proxy_port),
	    cmocka_unit_test(test_proxy_mode),
	    cmocka_unit_test(test_net_allow_control),
	    cmocka_unit_test(test_netns),
	    cmocka_unit_test(test_netns_listener),
	    cmocka_unit_test(test_net_needs_abi4),
	    cmocka_unit_test(test_masks),
	    cmocka_unit_test(test_masks_unprivileged),
	    cmocka_unit_test(test_masks_refused_without_userns),
	    cmocka_unit_test(test_seccomp_defense),
	    cmocka_unit_test(test_seccomp_control),
	    cmocka_unit_test(test_scope_signal),
	    cmocka_unit_test(test_scope_abstract_unix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
