/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-meta chmod|utimes|chown|setxattr PATH
 *   A metadata change Landlock has no right for: chmod(PATH, 0600), utimensat to now,
 *   chown to the caller's own uid and gid, setxattr "user.nono" = "1".
 * Exit: 0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 30 EROFS, 95 EOPNOTSUPP, 99 other, 64 usage.
 * The errno name goes to stderr.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	static const int extra[] = {EOPNOTSUPP, 0};
	const char *op, *path;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: probe-meta chmod|utimes|chown|setxattr PATH\n");
		return 64;
	}
	op = argv[1];
	path = argv[2];
	if (strcmp(op, "chmod") == 0)
		r = chmod(path, 0600);
	else if (strcmp(op, "utimes") == 0)
		r = utimensat(AT_FDCWD, path, NULL, 0);
	else if (strcmp(op, "chown") == 0)
		r = chown(path, geteuid(), getegid());
	else if (strcmp(op, "setxattr") == 0)
		r = setxattr(path, "user.nono", "1", 1, 0);
	else {
		fprintf(stderr, "usage: probe-meta chmod|utimes|chown|setxattr PATH\n");
		return 64;
	}
	return probe_exit(r < 0 ? errno : 0, extra);
}
