/* SPDX-License-Identifier: Apache-2.0 */
/* Alternate-screen detection: see altscreen.h. */
#include "supervisor/altscreen.h"

#include <string.h>

#include "base/macro.h"

enum {
	S_GROUND = 0,
	S_ESC,	/* ESC */
	S_CSI,	/* ESC [ */
	S_PRIV, /* ESC [ ? and parameters */
};

#define PARAM_CAP 100000u

static bool alt_mode(uint32_t p)
{
	return p == 1049 || p == 1047 || p == 47;
}

bool altscreen_feed(struct altscreen *a, const void *buf, size_t n)
{
	const unsigned char *b = buf;
	for (size_t i = 0; i < n && !a->entered; i++) {
		unsigned char c = b[i];
		switch (a->state) {
		case S_GROUND:
			if (c == 0x1b)
				a->state = S_ESC;
			break;
		case S_ESC:
			a->state = c == '[' ? S_CSI : c == 0x1b ? S_ESC : S_GROUND;
			break;
		case S_CSI:
			if (c == '?') {
				a->state = S_PRIV;
				a->param = 0;
				a->match = false;
			} else
				a->state = c == 0x1b ? S_ESC : S_GROUND;
			break;
		case S_PRIV:
			if (c >= '0' && c <= '9') {
				if (a->param < PARAM_CAP)
					a->param = a->param * 10 + (uint32_t)(c - '0');
			} else if (c == ';') {
				a->match |= alt_mode(a->param);
				a->param = 0;
			} else {
				if (c == 'h' && (a->match || alt_mode(a->param)))
					a->entered = true;
				a->state = c == 0x1b ? S_ESC : S_GROUND;
			}
			break;
		default:
			a->state = S_GROUND;
			break;
		}
	}
	return a->entered;
}

const char *altscreen_profile_hint(const char *path)
{
	static const char *const map[][2] = {
	    {"claude", "claude-code"},
	    {"codex", "codex"},
	    {"opencode", "opencode"},
	    {"gemini", "gemini"},
	};
	const char *s = path ? strrchr(path, '/') : NULL;
	const char *name = s ? s + 1 : path;
	for (size_t i = 0; name && i < ARRAY_SIZE(map); i++)
		if (streq(name, map[i][0]))
			return map[i][1];
	return NULL;
}
