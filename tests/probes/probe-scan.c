/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-scan SECRET: look through every process this one can see for SECRET, and try
 * to get hold of every process outside its own tree (itself and its descendants).
 * For each visible pid other than ours:
 *   - /proc/PID/environ and, through /proc/PID/maps, /proc/PID/mem and
 *     process_vm_readv() over every readable mapping: SECRET must not be found
 *     (our own argv holds it: run the probe directly, not under a shell);
 *   - outside our tree: PTRACE_ATTACH, PTRACE_SEIZE, pidfd_getfd() of fds 0..7 and
 *     kill(pid, 0) must all fail.
 * Prints one line per finding and a summary line "scanned N pids, M outside".
 * Exit codes: 0 nothing found, 3 SECRET found, 4 a process outside the tree could be
 * traced, 5 an fd taken with pidfd_getfd(), 6 a process outside the tree could be
 * signalled, 64 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *secret;
static size_t secret_len;
static int result;

static void found(int code, pid_t pid, const char *how)
{
	printf("pid %d: %s\n", (int)pid, how);
	if (result == 0)
		result = code;
}

static int contains(const char *buf, size_t n)
{
	return n >= secret_len && memmem(buf, n, secret, secret_len) != NULL;
}

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	int ppid = -1;
	if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* Ours or a descendant of ours. */
static int in_tree(pid_t pid)
{
	pid_t self = getpid();
	for (int depth = 0; pid > 0 && depth < 64; depth++) {
		if (pid == self)
			return 1;
		pid = ppid_of(pid);
	}
	return 0;
}

static void scan_memory(pid_t pid)
{
	char path[64], line[1024];
	static char buf[1 << 16];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "re");
	if (!maps)
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY | O_CLOEXEC);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
			continue;
		if (strstr(line, "[vvar") || strstr(line, "[vsyscall]"))
			continue;
		/* Overlapping windows so a match across a boundary is not missed. */
		for (unsigned long a = lo; a < hi; a += sizeof(buf) - secret_len) {
			size_t want = hi - a < sizeof(buf) ? hi - a : sizeof(buf);
			ssize_t n;
			if (mem >= 0) {
				n = pread(mem, buf, want, (off_t)a);
				if (n > 0 && contains(buf, (size_t)n))
					found(3, pid, "SECRET in /proc/PID/mem");
			}
			struct iovec l = {buf, want}, r = {(void *)a, want};
			n = process_vm_readv(pid, &l, 1, &r, 1, 0);
			if (n > 0 && contains(buf, (size_t)n))
				found(3, pid, "SECRET through process_vm_readv");
			if (hi - a <= sizeof(buf))
				break;
		}
	}
	if (mem >= 0)
		close(mem);
	fclose(maps);
}

static void scan_environ(pid_t pid)
{
	char path[64];
	static char buf[1 << 20];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0 && contains(buf, (size_t)n))
		found(3, pid, "SECRET in /proc/PID/environ");
}

static void try_attach(pid_t pid)
{
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
		found(4, pid, "PTRACE_ATTACH succeeded");
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		found(4, pid, "PTRACE_SEIZE succeeded");
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		for (int fd = 0; fd < 8; fd++) {
			int got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
			if (got >= 0) {
				found(5, pid, "pidfd_getfd succeeded");
				close(got);
				break;
			}
		}
		close(pfd);
	}
	if (kill(pid, 0) == 0)
		found(6, pid, "kill(pid, 0) succeeded");
}

int main(int argc, char **argv)
{
	int scanned = 0, outside = 0;

	if (argc != 2 || !argv[1][0]) {
		fprintf(stderr, "usage: probe-scan SECRET\n");
		return 64;
	}
	secret = argv[1];
	secret_len = strlen(secret);
	/* Our own argv holds SECRET: we skip ourselves; run us directly, not from a shell. */
	DIR *d = opendir("/proc");
	if (!d) {
		perror("/proc");
		return 99;
	}
	struct dirent *e;
	pid_t self = getpid();
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		scanned++;
		scan_environ((pid_t)pid);
		scan_memory((pid_t)pid);
		if (!in_tree((pid_t)pid)) {
			outside++;
			try_attach((pid_t)pid);
		}
	}
	closedir(d);
	printf("scanned %d pids, %d outside\n", scanned, outside);
	return result;
}
