/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Shared by the probes: report an errno by name on stderr and turn it into the exit
 * code each probe documents. The common mapping:
 *   0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 30 EROFS, 99 anything else;
 * probes add codes of their own (listed in their header comment).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *probe_errno_name(int e)
{
	switch (e) {
	case 0:
		return "OK";
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case EIO:
		return "EIO";
	case EACCES:
		return "EACCES";
	case EINVAL:
		return "EINVAL";
	case ENOTTY:
		return "ENOTTY";
	case ENOSPC:
		return "ENOSPC";
	case EROFS:
		return "EROFS";
	case ENOSYS:
		return "ENOSYS";
	case EPROTONOSUPPORT:
		return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT:
		return "ESOCKTNOSUPPORT";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EADDRINUSE:
		return "EADDRINUSE";
	default:
		return "OTHER";
	}
}

/* Print the errno name and exit with the code from the table (extra: probe-specific). */
static inline int probe_exit(int e, const int *extra)
{
	fprintf(stderr, "%s\n", probe_errno_name(e));
	if (e == 0 || e == EPERM || e == ENOENT || e == EACCES || e == EROFS)
		exit(e);
	for (; extra && *extra; extra++)
		if (*extra == e)
			exit(e);
	if (e != 0)
		fprintf(stderr, "errno %d: %s\n", e, strerror(e));
	exit(99);
}
