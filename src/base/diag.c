/* SPDX-License-Identifier: Apache-2.0 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

void diag_set(struct diag *d, const char *file, int line, int column, const char *fmt, ...)
{
	if (!d)
		return;
	(void)snprintf(d->file, sizeof(d->file), "%s", strempty(file));
	d->line = line;
	d->column = column;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

const char *diag_format(const struct diag *d, char *buf, size_t n)
{
	if (!d->file[0])
		(void)snprintf(buf, n, "%s", d->msg);
	else if (d->line > 0)
		(void)snprintf(buf, n, "%s:%d:%d: %s", d->file, d->line, d->column, d->msg);
	else
		(void)snprintf(buf, n, "%s: %s", d->file, d->msg);
	return buf;
}
