/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Spotting a full-screen TUI in the child's output: the private mode sequences that
 * enter the alternate screen, ESC [ ? 1049 h, ESC [ ? 1047 h and ESC [ ? 47 h, also
 * as one parameter among several (ESC [ ? 25 ; 1049 h) and split across any number of
 * reads. The bytes are the sandboxed command's: the scanner keeps a few bytes of state,
 * never buffers, and takes any input. 8-bit C1 CSI (0x9b) is not recognised: in UTF-8
 * output that byte is a continuation byte.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct altscreen {
	uint8_t state;	/* where in a sequence the last byte left us */
	bool match;	/* a parameter so far named an alternate-screen mode */
	bool entered;	/* sticky: seen once */
	uint32_t param; /* the parameter being read (saturates) */
};

#define ALTSCREEN_INIT                                                                             \
	{                                                                                          \
		0, false, false, 0                                                                 \
	}

/* Scan n bytes; true once the alternate screen has been entered (in these bytes or
 * before). */
bool altscreen_feed(struct altscreen *a, const void *buf, size_t n);

/* The built-in profile to suggest for a known agent's executable (by base name:
 * claude, codex, opencode, gemini), or NULL. */
const char *altscreen_profile_hint(const char *path);
