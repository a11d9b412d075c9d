/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the alternate-screen scanner (src/supervisor/altscreen.c) reads the
 * sandboxed command's output. Input: one byte that picks where to cut, then the
 * output. Invariants: fed whole, fed in two pieces at that cut and fed byte by byte
 * the answer is the same (reads split sequences anywhere), once true it stays true,
 * and it is true only if the bytes hold "ESC [ ?" and an 'h'.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/altscreen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = data[0];
	data++;
	size--;
	if (cut > size)
		cut = size;

	struct altscreen whole = ALTSCREEN_INIT, two = ALTSCREEN_INIT, bytes = ALTSCREEN_INIT;
	bool w = altscreen_feed(&whole, data, size);
	bool first = altscreen_feed(&two, data, cut);
	bool t = altscreen_feed(&two, data + cut, size - cut);
	bool b = false, was = false;
	for (size_t i = 0; i < size; i++) {
		b = altscreen_feed(&bytes, data + i, 1);
		if (was && !b)
			abort(); /* sticky */
		was = b;
	}
	if (w != t || w != b || (first && !t))
		abort();
	if (w && (!memmem(data, size, "\033[?", 3) || !memchr(data, 'h', size)))
		abort();
	return 0;
}
