/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono stop ID|NAME [--force]: end a running session. Its supervisor gets SIGTERM and
 * ends the sandboxed command as it would on Ctrl-C from another process (the session
 * then finishes normally); --force sends SIGKILL to the supervisor, which takes the
 * whole sandbox with it (the session is then reported as crashed). Only sessions
 * whose supervisor runs under the caller's uid, root included.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "cli/cli.h"
#include "supervisor/session-state.h"

enum {
	OPT_STOP_FORCE = 'f',
	OPT_STOP_HELP = 'h',
};

/* clang-format off */
const struct cli_option stop_options[] = {
	{"force", 'f', no_argument, OPT_STOP_FORCE, NULL, "kill the supervisor and its sandbox at once (SIGKILL)", NULL, false},
	{"help", 'h', no_argument, OPT_STOP_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

int cmd_stop(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("stop");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	bool force = false;
	int c;

	if (cli_getopt_tables(stop_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_STOP_FORCE:
			force = true;
			break;
		case OPT_STOP_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono stop' (see 'nono stop --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (argc - optind != 1) {
		log_error("'nono stop' takes one session id or name (see 'nono ps')");
		return EXIT_NONO_ERROR;
	}
	const char *key = argv[optind];
	struct session_record *v = NULL;
	size_t n = 0;
	int r = session_records_load(getenv("HOME"), &v, &n);
	if (r < 0) {
		log_error_errno(r, "cannot read the sessions in $HOME/.nono/sessions");
		return EXIT_NONO_ERROR;
	}
	int ret = EXIT_NONO_ERROR;
	const struct session_record *s = session_record_find(v, n, key);
	if (!s)
		log_error("no session '%s' (see 'nono ps --all')", key);
	else if (s->state != SESSION_RUNNING)
		log_error("session %s (%s) is not running: %s", s->id, s->name,
			  session_state_to_string(s->state));
	else if ((r = session_signal(getenv("HOME"), s, force ? SIGKILL : SIGTERM)) == -EPERM)
		log_error("session %s (%s) belongs to another user: not stopped", s->id, s->name);
	else if (r == -ESRCH)
		log_error("session %s (%s) is not running", s->id, s->name);
	else if (r < 0)
		log_error_errno(r, "cannot stop session %s (%s)", s->id, s->name);
	else {
		log_info("session %s (%s): %s sent", s->id, s->name, force ? "SIGKILL" : "SIGTERM");
		ret = EXIT_NONO_OK;
	}
	session_records_free(v, n);
	free(v);
	return ret;
}
