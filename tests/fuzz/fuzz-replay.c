/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replay for builds without libFuzzer: feeds every file named on the command
 * line (directories: every regular file inside, sorted) to LLVMFuzzerTestOneInput
 * and reports TAP, one line per input. A crash fails the meson test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/path.h"
#include "base/strbuf.h"
#include "base/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

static int read_all(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	if (fd < 0)
		return -errno;
	sb.max = REPLAY_MAX_INPUT;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_release(&sb);
			return -errno;
		}
		if (n == 0)
			break;
		int r = strbuf_add(&sb, buf, (size_t)n);
		if (r < 0) {
			strbuf_release(&sb);
			return r;
		}
	}
	*ret_len = sb.len;
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(const char *arg, char ***files)
{
	struct stat st;
	if (stat(arg, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return strv_extend(files, arg);
	DIR *d = opendir(arg);
	if (!d)
		return -errno;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		char *path = NULL;
		if (de->d_name[0] == '.')
			continue;
		if ((r = path_join(arg, de->d_name, &path)) < 0)
			break;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			r = strv_consume(files, path);
		else
			free(path);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	_cleanup_strv_free_ char **files = NULL;
	for (int i = 1; i < argc; i++) {
		int r = collect(argv[i], &files);
		if (r < 0) {
			fprintf(stderr, "fuzz-replay: cannot read '%s': %s\n", argv[i],
				strerror(-r));
			return 1;
		}
	}
	size_t n = strv_length(files);
	if (n)
		qsort(files, n, sizeof(*files), cmp);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		int r = read_all(files[i], &data, &len);
		if (r < 0) {
			printf("not ok %zu %s # %s\n", i + 1, files[i], strerror(-r));
			continue;
		}
		(void)LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		printf("ok %zu %s\n", i + 1, files[i]);
	}
	return 0;
}
