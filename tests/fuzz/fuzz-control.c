/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a detached session's supervisor and `nono attach` parse
 * (src/supervisor/session-control.c): one control packet, read as the client's and as
 * the supervisor's, and the [ui] detach_sequence notation. Invariants checked: a
 * parsed message's payload lies inside the packet and within its type's bound, fixed
 * payloads have their exact size, and a parsed sequence has 1..DETACH_SEQ_MAX keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/session-control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg m;
	for (int side = 0; side < 2; side++) {
		if (ctl_msg_parse(data, size, side == 0, &m) < 0)
			continue;
		if (m.data != data + 1 || m.len != size - 1)
			abort();
		switch (m.type) {
		case CTL_HELLO:
		case CTL_WINSIZE:
		case CTL_EXIT:
			if (m.len != 4)
				abort();
			break;
		case CTL_INPUT:
			if (side != 0 || m.len < 1 || m.len > CTL_MAX_INPUT)
				abort();
			break;
		case CTL_OUTPUT:
			if (side != 1 || m.len < 1 || m.len > CTL_MAX_OUTPUT)
				abort();
			break;
		case CTL_DETACH:
			if (m.len != 0)
				abort();
			break;
		case CTL_READY:
		case CTL_REFUSED:
			if (side != 1 || m.len > 1024)
				abort();
			break;
		default:
			abort();
		}
	}
	/* The same bytes as a detach_sequence value (a C string: up to the first NUL). */
	char *s = malloc(size + 1);
	uint8_t seq[DETACH_SEQ_MAX];
	size_t n = 0;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (detach_seq_parse(s, seq, &n) == 0 && (n < 1 || n > DETACH_SEQ_MAX))
		abort();
	free(s);
	return 0;
}
