/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono-helper: the processes nono execs inside the sandbox, and nothing else. The same
 * hidden modes as nono's own (`nono __init PID`, `nono __unotify-helper N`; argv[0] is
 * ignored), in a binary that needs only libc, so the two execs of every launch map one
 * library instead of seven (sandbox.c, sandbox_open_helper_exe()).
 */
#include <stdio.h>

#include "sandbox/sandbox.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && streq(argv[1], SANDBOX_HELPER_ARG))
		sandbox_helper_main(argc, argv);
	if (argc >= 2 && streq(argv[1], SANDBOX_INIT_ARG))
		sandbox_init_main(argc, argv);
	(void)fputs("nono-helper: started by nono inside a sandbox, not by hand\n", stderr);
	return 2;
}
