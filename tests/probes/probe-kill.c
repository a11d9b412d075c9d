/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-kill PID [SIGNAL]   (default signal 0: permission check only)
 * Exit: 0 delivered, 1 EPERM (e.g. Landlock signal scope), 3 ESRCH, 99 other, 64 usage.
 */
#include <signal.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	static const int extra[] = {ESRCH, 0};
	long pid, sig = 0;
	char *end;

	if (argc < 2 || argc > 3)
		return 64;
	pid = strtol(argv[1], &end, 10);
	if (*end || argv[1][0] == '\0')
		return 64;
	if (argc == 3) {
		sig = strtol(argv[2], &end, 10);
		if (*end || sig < 0 || sig > 64)
			return 64;
	}
	return probe_exit(kill((pid_t)pid, (int)sig) < 0 ? errno : 0, extra);
}
