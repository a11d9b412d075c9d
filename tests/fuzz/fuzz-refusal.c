/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the scanner of the sandboxed command's terminal output for refused
 * paths (base/refusal-scan.h). The input is fed whole to refusal_scan_line(), then as a
 * stream split at a point chosen by its first byte. Invariants: at most REFUSAL_MAX paths
 * kept, each absolute, NUL-terminated inside its buffer, printable ASCII only, and
 * distinct.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/refusal-scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p, size_t size)
{
	size_t l = strnlen(p, size);
	if (l == size || l == 0 || p[0] != '/')
		__builtin_trap();
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct refusal_scan s;
	char path[64];
	enum refusal_kind k;

	if (size > 65536)
		return 0;
	if (refusal_scan_line((const char *)data, size, &k, path, sizeof(path))) {
		check_path(path, sizeof(path));
		if (k < 0 || k >= _REFUSAL_KIND_MAX)
			__builtin_trap();
	}
	refusal_scan_init(&s);
	size_t cut = size ? data[0] % (size + 1) : 0;
	refusal_scan_feed(&s, (const char *)data, cut);
	refusal_scan_feed(&s, (const char *)data + cut, size - cut);
	refusal_scan_flush(&s);
	if (s.n > REFUSAL_MAX || (s.dropped && s.n != REFUSAL_MAX))
		__builtin_trap();
	for (size_t i = 0; i < s.n; i++) {
		check_path(s.found[i].path, sizeof(s.found[i].path));
		for (size_t j = 0; j < i; j++)
			if (strcmp(s.found[i].path, s.found[j].path) == 0)
				__builtin_trap();
	}
	return 0;
}
