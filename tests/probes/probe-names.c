/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protected names (supervisor/unotify.c): make, move and link names with the raw
 * calls, so the errno is the kernel's (or the supervisor's) and not a tool's.
 *
 *   probe-names create PATH [MODE]        open(O_CREAT|O_WRONLY|O_CLOEXEC), MODE octal
 *                                         (0600); prints "mode=0NNN cloexec=B" of the
 *                                         file it opened
 *   probe-names excl PATH                 open(O_CREAT|O_EXCL|O_WRONLY)
 *   probe-names mkdir PATH
 *   probe-names symlink TARGET PATH
 *   probe-names link OLD NEW
 *   probe-names rename OLD NEW
 *   probe-names exchange A B              renameat2(RENAME_EXCHANGE)
 *   probe-names unlink PATH
 *   probe-names rmdir PATH
 *   probe-names openat2 PATH              openat2(O_CREAT)
 *   probe-names tmpfile DIR NEW           an O_TMPFILE file in DIR given the name NEW with
 *                                         linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW)
 *   probe-names race DIR GOOD BAD N [OP]  N calls making DIR/NAME while a second thread
 *                                         keeps flipping NAME between GOOD and BAD (same
 *                                         length); OP: create (O_CREAT open, default),
 *                                         mkdir, symlink, rename (of DIR/.src, remade each
 *                                         time); GOOD is removed after each success;
 *                                         prints "made=M refused=R"; exit 0 when DIR/BAD
 *                                         never appeared and some name was made, 3 when
 *                                         BAD appeared, 4 when nothing ever was (the
 *                                         flip is byte by byte, so a name caught half
 *                                         way, e.g. ".bamless_file", is a legitimate
 *                                         success that is not GOOD)
 *
 * Exit: 0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 17 EEXIST, 38 ENOSYS, 99 other, 64 usage.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe-common.h"

static const int extra[] = {EEXIST, ENOSYS, 0};

static int result(long r)
{
	if (r >= 0) {
		printf("OK\n");
		return 0;
	}
	return probe_exit(errno, extra);
}

static char race_path[4096];
static size_t race_off;
static const char *race_names[2];
static atomic_bool race_stop;

static void *flipper(void *arg)
{
	size_t l = strlen(race_names[0]);
	(void)arg;
	while (!atomic_load(&race_stop))
		for (int i = 0; i < 2; i++) {
			/* Byte by byte through a volatile pointer: the compiler may not elide it.
			 */
			volatile char *d = race_path + race_off;
			for (size_t k = 0; k < l; k++)
				d[k] = race_names[i][k];
		}
	return NULL;
}

static int race(const char *dir, const char *good, const char *bad, long n, const char *op)
{
	char goodp[8192], badp[8192], srcp[8192];
	long made = 0, refused = 0;
	pthread_t t;

	if (strlen(good) != strlen(bad) || strlen(dir) + strlen(good) + 2 > sizeof(race_path))
		return 64;
	(void)snprintf(goodp, sizeof(goodp), "%s/%s", dir, good);
	(void)snprintf(badp, sizeof(badp), "%s/%s", dir, bad);
	(void)snprintf(srcp, sizeof(srcp), "%s/.src", dir);
	(void)snprintf(race_path, sizeof(race_path), "%s/%s", dir, good);
	race_off = strlen(dir) + 1;
	race_names[0] = good;
	race_names[1] = bad;
	if (pthread_create(&t, NULL, flipper, NULL) != 0)
		return 99;
	for (long i = 0; i < n; i++) {
		int r;
		if (!strcmp(op, "mkdir"))
			r = mkdir(race_path, 0755);
		else if (!strcmp(op, "symlink"))
			r = symlink(".src", race_path);
		else if (!strcmp(op, "rename")) {
			int fd = open(srcp, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				return 99;
			close(fd);
			r = rename(srcp, race_path);
		} else {
			r = open(race_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (r >= 0)
				close(r);
		}
		if (r >= 0) {
			made++;
			/* Remove it so the next success is a new name again. */
			(void)remove(goodp);
		} else
			refused++;
		if (access(badp, F_OK) == 0)
			break;
	}
	atomic_store(&race_stop, true);
	pthread_join(t, NULL);
	printf("made=%ld refused=%ld\n", made, refused);
	if (access(badp, F_OK) == 0 || faccessat(AT_FDCWD, badp, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 3;
	return made > 0 ? 0 : 4;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 64;
	const char *op = argv[1];
	if (!strcmp(op, "create")) {
		mode_t m = argc > 3 ? (mode_t)strtoul(argv[3], NULL, 8) : 0600;
		int fd = open(argv[2], O_CREAT | O_WRONLY | O_CLOEXEC, m);
		struct stat st;
		if (fd < 0)
			return probe_exit(errno, extra);
		if (fstat(fd, &st) < 0)
			return 99;
		printf("mode=%04o cloexec=%d\n", (unsigned)(st.st_mode & 07777),
		       !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
		return 0;
	}
	if (!strcmp(op, "excl"))
		return result(open(argv[2], O_CREAT | O_EXCL | O_WRONLY, 0644));
	if (!strcmp(op, "mkdir"))
		return result(mkdir(argv[2], 0755));
	if (!strcmp(op, "unlink"))
		return result(unlink(argv[2]));
	if (!strcmp(op, "rmdir"))
		return result(rmdir(argv[2]));
	if (!strcmp(op, "openat2")) {
		struct open_how how = {.flags = O_CREAT | O_WRONLY | O_CLOEXEC, .mode = 0644};
		return result(syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how)));
	}
	if (argc < 4)
		return 64;
	if (!strcmp(op, "symlink"))
		return result(symlink(argv[2], argv[3]));
	if (!strcmp(op, "link"))
		return result(link(argv[2], argv[3]));
	if (!strcmp(op, "rename"))
		return result(rename(argv[2], argv[3]));
	if (!strcmp(op, "exchange"))
		return result(renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE));
	if (!strcmp(op, "tmpfile")) {
		char self[64];
		int fd = open(argv[2], O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return probe_exit(errno, extra);
		if (write(fd, "tmp\n", 4) != 4)
			return 99;
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		return result(linkat(AT_FDCWD, self, AT_FDCWD, argv[3], AT_SYMLINK_FOLLOW));
	}
	if (!strcmp(op, "race") && (argc == 6 || argc == 7))
		return race(argv[2], argv[3], argv[4], strtol(argv[5], NULL, 10),
			    argc == 7 ? argv[6] : "create");
	return 64;
}
