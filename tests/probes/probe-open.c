/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-open PATH r|w
 *   r: open(PATH, O_RDONLY); w: open(PATH, O_WRONLY|O_CREAT, 0644) (creates if missing).
 * Exit: 0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 30 EROFS, 21 EISDIR, 99 other, 64 usage.
 * The errno name goes to stderr.
 */
#include <fcntl.h>
#include <unistd.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	static const int extra[] = {EISDIR, 0};
	int fd;

	if (argc != 3 || (strcmp(argv[2], "r") != 0 && strcmp(argv[2], "w") != 0)) {
		fprintf(stderr, "usage: probe-open PATH r|w\n");
		return 64;
	}
	if (argv[2][0] == 'r')
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	else
		fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	return probe_exit(fd < 0 ? errno : 0, extra);
}
