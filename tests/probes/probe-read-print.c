/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-read-print PATH
 *   A file: copies its content to stdout. A directory: prints each entry except "."
 *   and ".." on its own line.
 * Exit: 0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 30 EROFS, 99 other, 64 usage.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	char buf[4096];
	struct stat st;
	ssize_t n;
	int fd;

	if (argc != 2)
		return 64;
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return probe_exit(errno, NULL);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = fdopendir(fd);
		struct dirent *e;
		if (!d)
			return probe_exit(errno, NULL);
		errno = 0;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				printf("%s\n", e->d_name);
		return probe_exit(errno, NULL);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return probe_exit(EIO, NULL);
	fflush(stdout);
	return probe_exit(n < 0 ? errno : 0, NULL);
}
