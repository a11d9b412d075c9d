/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-unshare [user|net|mount]   (default user)
 *   unshare(2) with CLONE_NEWUSER (or CLONE_NEWNET / CLONE_NEWNS).
 * Exit: 0 created, 1 EPERM, 22 EINVAL, 28 ENOSPC (user namespaces disabled), 99 other.
 */
#include <sched.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	static const int extra[] = {EINVAL, ENOSPC, 0};
	int fl = CLONE_NEWUSER;

	if (argc == 2 && strcmp(argv[1], "net") == 0)
		fl = CLONE_NEWNET;
	else if (argc == 2 && strcmp(argv[1], "mount") == 0)
		fl = CLONE_NEWNS;
	else if (argc == 2 && strcmp(argv[1], "user") != 0)
		return 64;
	return probe_exit(unshare(fl) < 0 ? errno : 0, extra);
}
