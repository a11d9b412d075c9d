/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Diagnostics to stderr, for cli/ and supervisor/ only (library code does not log).
 * Messages follow git's rules: lowercase, what failed first, values in quotes.
 */

#include "macro.h"

enum log_level {
	LOG_LEVEL_SILENT = 0, /* -s: nothing but the child's output */
	LOG_LEVEL_ERROR,      /* default */
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,  /* -v */
	LOG_LEVEL_DEBUG, /* -vv */
	LOG_LEVEL_TRACE, /* -vvv */
	_LOG_LEVEL_MAX,
};

void log_set_level(enum log_level l);
/* Colour the "error:" and "warning:" prefixes with these escape sequences (cli/theme.c
 * decides when stderr may have them); NULL: plain. The strings must stay valid. */
void log_set_style(const char *error, const char *warning, const char *reset);
enum log_level log_get_level(void);
/* Warnings are shown at the default level too; -s hides everything. */
void log_msg(enum log_level l, const char *fmt, ...) _printf_(2, 3);
/* Logs "nono: error: MSG: strerror(-err)" and returns err (negative). */
int log_error_errno(int err, const char *fmt, ...) _printf_(2, 3);

#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_trace(...)   log_msg(LOG_LEVEL_TRACE, __VA_ARGS__)
