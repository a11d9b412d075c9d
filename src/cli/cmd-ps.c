/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono ps [--all] [--json]: the sessions of this user's home (~/.nono/sessions/ID/session.json,
 * see supervisor/session-state.h): running ones, and with --all those
 * that ended and kept their /tmp and those whose supervisor died (crashed).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/macro.h"
#include "cli/cli.h"
#include "cli/theme.h"
#include "supervisor/session-state.h"

enum {
	OPT_PS_ALL = 'a',
	OPT_PS_JSON = 0x100,
	OPT_PS_HELP = 'h',
};

/* clang-format off */
const struct cli_option ps_options[] = {
	{"all", 'a', no_argument, OPT_PS_ALL, NULL, "also list ended and crashed sessions", NULL, false},
	{"json", 0, no_argument, OPT_PS_JSON, NULL, "print the sessions as a JSON array", NULL, false},
	{"help", 'h', no_argument, OPT_PS_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

static int print_json(const struct session_record *v, size_t n, bool all)
{
	json_t *a = json_array();
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!all && v[i].state != SESSION_RUNNING)
			continue;
		json_t *o = json_pack(
		    "{s:s, s:s, s:s, s:s, s:I, s:I}", "id", v[i].id, "name", v[i].name, "state",
		    session_state_to_string(v[i].state), "command", v[i].command, "supervisor_pid",
		    (json_int_t)v[i].supervisor_pid, "started", (json_int_t)v[i].started);
		if (o && v[i].state == SESSION_EXITED &&
		    (json_object_set_new(o, "ended", json_integer(v[i].ended)) < 0 ||
		     json_object_set_new(o, "exit_code", json_integer(v[i].exit_code)) < 0)) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return -ENOMEM;
		}
	}
	char *text = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (!text)
		return -ENOMEM;
	(void)printf("%s\n", text);
	free(text);
	return 0;
}

static void print_table(const struct session_record *v, size_t n, bool all)
{
	(void)printf("%s%-26s %-24s %-10s %-8s %-21s %s%s\n", theme_on(stdout, THEME_HEADER), "ID",
		     "NAME", "STATE", "PID", "STARTED", "COMMAND", theme_off(stdout));
	for (size_t i = 0; i < n; i++) {
		char started[32], state[32];
		if (!all && v[i].state != SESSION_RUNNING)
			continue;
		cli_format_time(v[i].started, started, sizeof(started));
		if (v[i].state == SESSION_EXITED)
			(void)snprintf(state, sizeof(state), "exited(%d)", v[i].exit_code);
		else
			(void)snprintf(state, sizeof(state), "%s",
				       session_state_to_string(v[i].state));
		enum theme_role role = v[i].state == SESSION_RUNNING   ? THEME_OK
				       : v[i].state == SESSION_CRASHED ? THEME_ERROR
								       : THEME_DIM;
		/* The colour wraps the padded field, so the columns stay aligned. */
		(void)printf("%-26s %-24s %s%-10s%s %-8d %-21s %s\n", theme_printable(v[i].id),
			     theme_printable(v[i].name), theme_on(stdout, role), state,
			     theme_off(stdout), (int)v[i].supervisor_pid, started,
			     theme_printable(v[i].command));
	}
}

int cmd_ps(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("ps");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	bool all = false, as_json = false;
	int c;

	if (cli_getopt_tables(ps_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_PS_ALL:
			all = true;
			break;
		case OPT_PS_JSON:
			as_json = true;
			break;
		case OPT_PS_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono ps' (see 'nono ps --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind < argc) {
		log_error("'nono ps' takes no arguments (got '%s')", argv[optind]);
		return EXIT_NONO_ERROR;
	}
	struct session_record *v = NULL;
	size_t n = 0;
	int r = session_records_load(getenv("HOME"), &v, &n);
	if (r < 0) {
		log_error_errno(r, "cannot read the sessions in $HOME/.nono/sessions");
		return EXIT_NONO_ERROR;
	}
	if (as_json)
		r = print_json(v, n, all);
	else
		print_table(v, n, all);
	session_records_free(v, n);
	free(v);
	if (r < 0) {
		log_error_errno(r, "out of memory");
		return EXIT_NONO_ERROR;
	}
	return EXIT_NONO_OK;
}
