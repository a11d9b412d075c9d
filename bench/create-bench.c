/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create-bench DIR N: create N files in DIR (open O_CREAT|O_EXCL, close), then remove
 * them; prints "create us/op <x> unlink us/op <y>", timing only its own loops.
 * Used by bench/names.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	char path[4096];
	long n;
	double t0, t1, t2;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0)
		return 64;
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", argv[1], i);
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	t1 = now_us();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", argv[1], i);
		if (unlink(path) < 0) {
			perror(path);
			return 1;
		}
	}
	t2 = now_us();
	printf("create us/op %.2f unlink us/op %.2f\n", (t1 - t0) / n, (t2 - t1) / n);
	return 0;
}
