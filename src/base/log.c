/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

/* Warnings are visible by default: a security relaxation must never be silent. */
static enum log_level log_level = LOG_LEVEL_WARNING;

void log_set_level(enum log_level l)
{
	log_level = l;
}

static const char *style_error, *style_warning, *style_reset;

void log_set_style(const char *error, const char *warning, const char *reset)
{
	style_error = error;
	style_warning = warning;
	style_reset = reset;
}

enum log_level log_get_level(void)
{
	return log_level;
}

static const char *const prefixes[_LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = "error: ",
	[LOG_LEVEL_WARNING] = "warning: ",
	[LOG_LEVEL_INFO] = "",
	[LOG_LEVEL_DEBUG] = "debug: ",
	[LOG_LEVEL_TRACE] = "trace: ",
};

static void log_vmsg(enum log_level l, int err, const char *fmt, va_list ap) _printf_(3, 0);
static void log_vmsg(enum log_level l, int err, const char *fmt, va_list ap)
{
	if (l > log_level || log_level == LOG_LEVEL_SILENT)
		return;
	char buf[4096];
	const char *on = l == LOG_LEVEL_ERROR	  ? style_error
			 : l == LOG_LEVEL_WARNING ? style_warning
						  : NULL;
	const char *off = on && style_reset ? style_reset : "";
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	if (!on)
		on = "";
	if (err)
		(void)fprintf(stderr, "nono: %s%s%s%s: %s\n", on, prefixes[l], off, buf,
			      strerror(-err));
	else
		(void)fprintf(stderr, "nono: %s%s%s%s\n", on, prefixes[l], off, buf);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(l, 0, fmt, ap);
	va_end(ap);
}

int log_error_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, err, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}
