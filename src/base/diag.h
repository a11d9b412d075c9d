/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"

/*
 * What a user-fixable error is about: the file (or flag), line:column where known,
 * and a message. Library code fills it and returns -errno; cli/ prints it once as
 *   FILE:LINE:COL: MESSAGE     or     FILE: MESSAGE
 */
struct diag {
	char file[512];
	int line;   /* 0 when unknown */
	int column; /* 0 when unknown */
	char msg[1024];
};

void diag_set(struct diag *d, const char *file, int line, int column, const char *fmt, ...)
	_printf_(5, 6);
/* Format into buf as "file:line:col: msg" (omitting unknown parts). */
const char *diag_format(const struct diag *d, char *buf, size_t n);
