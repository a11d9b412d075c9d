/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replay driver for builds without libFuzzer: runs LLVMFuzzerTestOneInput on
 * every file given (directories: every regular file inside, one level) and reports
 * TAP, one line per input. A crash fails the meson test.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "re");
	static uint8_t buf[1 << 20];
	size_t n;

	if (!f) {
		printf("not ok %d %s # cannot open\n", ++count, path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, n);
	printf("ok %d %s\n", ++count, path);
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "cannot stat '%s'\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char p[4096];
			if (de->d_name[0] == '.')
				continue;
			(void)snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			bad |= run_file(p);
		}
		if (d)
			closedir(d);
	}
	printf("1..%d\n", count);
	return bad;
}
