/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor STAGES DIR [MASK...] -- CMD...: the kernel work a `nono run --allow DIR -- CMD`
 * cannot do without, and nothing else: no policy, no parsing, no supervisor, no
 * mediation. Its time is a lower bound for any launcher that gives the same guarantees
 * on this machine, against which bench/launch.py sets the goals.
 *
 * The child forks into new mount, PID and IPC namespaces and execs CMD as PID 1.
 * STAGES adds, comma-separated:
 *   inplace no fork and no PID namespace: new mount and IPC namespaces for the process
 *           itself, which then execs CMD (`nono wrap`)
 *   fs      mounts made private, DIR cloned, every mount read-only, DIR attached back
 *           writable, each MASK covered (a directory by an empty tmpfs, anything else
 *           by /dev/null), the PID namespace's own /proc; Landlock (read and execute
 *           beneath /, everything beneath DIR); no capabilities, none regained at exec
 *           (securebits: cheaper than nono's bounding-set drop); no_new_privs and a
 *           one-rule seccomp filter
 *   record  the session's record: a new directory beneath DIR/.floor and a new file in
 *           it written before the fork; after CMD, the end written over it and made
 *           durable (fdatasync of the file, fsync of its directory), as the end record
 *           must be before the launcher exits
 *   net     a network namespace too, its loopback brought up
 *
 * Exits with CMD's status; 71-74 when a step of its own fails, 81-94 when one of the
 * child's does (so bench/launch.py, which builds it, leaves a broken floor out of the
 * table instead of timing less work).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/securebits.h>
#include <linux/landlock.h>
#include <linux/mount.h>
#include <net/if.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int mask(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 1;
	if (S_ISDIR(st.st_mode))
		return mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700");
	return mount("/dev/null", path, NULL, MS_BIND, NULL);
}

static int loopback_up(void)
{
	struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_RUNNING};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) ? 1 : close(s);
}

static int lock_down(const char *dir, char **masks, bool pidns)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	struct landlock_ruleset_attr ra = {
	    .handled_access_fs =
		(LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1, /* ABI 1: the headers may be old */
	};
	struct landlock_path_beneath_attr rule = {
	    .allowed_access = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
			      LANDLOCK_ACCESS_FS_READ_DIR,
	};
	struct sock_filter insn[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = 4, .filter = insn};
	int grant, ruleset;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 1;
	grant = (int)syscall(SYS_open_tree, AT_FDCWD, dir,
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (grant < 0)
		return 2;
	if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)))
		return 3;
	if (syscall(SYS_move_mount, grant, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH))
		return 4;
	for (; *masks; masks++) /* on top of the grant they sit in */
		if (mask(*masks))
			return 10;
	if (pidns && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return 13;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (ruleset < 0)
		return 5;
	rule.parent_fd = open("/", O_PATH | O_CLOEXEC);
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0))
		return 6;
	rule.allowed_access = ra.handled_access_fs;
	rule.parent_fd = open(dir, O_PATH | O_CLOEXEC);
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0))
		return 7;
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
		      SECBIT_NO_SETUID_FIXUP_LOCKED,
		  0, 0, 0))
		return 14; /* uid 0 regains nothing at the exec, so it keeps no capability */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0))
		return 8;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 9;
	return 0;
}

int main(int argc, char **argv)
{
	char session[4096], file[4200];
	int fs, record, net, inplace, dashes, status, rec = -1, sdir = -1;
	pid_t pid;

	for (dashes = 3; dashes < argc && strcmp(argv[dashes], "--"); dashes++)
		;
	if (dashes + 1 >= argc)
		return 64;
	argv[dashes] = NULL; /* the end of the masks */
	fs = !!strstr(argv[1], "fs");
	record = !!strstr(argv[1], "record");
	net = !!strstr(argv[1], "net");
	inplace = !!strstr(argv[1], "inplace");
	if (inplace) {
		int err = unshare(CLONE_NEWNS | CLONE_NEWIPC) ? 12 : 0;

		if (!err && fs)
			err = lock_down(argv[2], argv + 3, false);
		if (err)
			return 80 + err;
		execv(argv[dashes + 1], argv + dashes + 1);
		return 127;
	}
	if (record) {
		snprintf(session, sizeof(session), "%s/.floor", argv[2]);
		mkdir(session, 0700);
		snprintf(session, sizeof(session), "%s/.floor/XXXXXX", argv[2]);
		snprintf(file, sizeof(file), "%s/session.json", mkdtemp(session) ? session : "/");
		rec = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		sdir = open(session, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rec < 0 || sdir < 0 || write(rec, "{\"start\":1}\n", 12) != 12)
			return 71;
	}
	pid = (pid_t)syscall(SYS_clone,
			     CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (net ? CLONE_NEWNET : 0) |
				 SIGCHLD,
			     NULL, NULL, NULL, NULL);
	if (pid < 0)
		return 72;
	if (pid == 0) {
		int err = net && loopback_up() ? 11 : 0;

		if (!err && fs)
			err = lock_down(argv[2], argv + 3, true);

		if (err)
			_exit(80 + err);
		execv(argv[dashes + 1], argv + dashes + 1);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 73;
	if (record && (pwrite(rec, "{\"start\":1,\"end\":0}\n", 20, 0) != 20 || fdatasync(rec) ||
		       fsync(sdir)))
		return 74;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
