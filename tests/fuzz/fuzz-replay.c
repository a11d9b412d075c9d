/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Without libFuzzer: feed every file named on the command line to the target once,
 * so the corpus runs as an ordinary test (TAP, one line per file).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rbe");
		if (!f) {
			printf("not ok %d - %s: %s\n", i, argv[i], strerror(errno));
			continue;
		}
		static uint8_t buf[8u << 20];
		size_t n = fread(buf, 1, sizeof(buf), f);
		(void)fclose(f);
		(void)LLVMFuzzerTestOneInput(buf, n);
		printf("ok %d - %s\n", i, argv[i]);
	}
	return 0;
}
