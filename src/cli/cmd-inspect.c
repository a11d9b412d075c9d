/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono inspect ID|NAME [--json]: one session of this user's home in full: what its
 * record holds (supervisor/session-state.h, written once at start by session.c and
 * rewritten at the fork and at the end): state, exit status, times, the supervisor's
 * and the command's pids, profile, network mode, the sandbox's placement and its
 * grants. Credentials appear by service name only. Read only.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/macro.h"
#include "cli/cli.h"
#include "cli/theme.h"
#include "supervisor/session-state.h"

enum {
	OPT_INSPECT_JSON = 0x100,
	OPT_INSPECT_HELP = 'h',
};

/* clang-format off */
const struct cli_option inspect_options[] = {
	{"json", 0, no_argument, OPT_INSPECT_JSON, NULL, "print the session record as JSON", NULL, false},
	{"help", 'h', no_argument, OPT_INSPECT_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? theme_printable(s) : "-";
}

static void label(const char *l)
{
	(void)printf("%s%-12s%s", theme_on(stdout, THEME_ACCENT), l, theme_off(stdout));
}

static void print_text(const struct session_record *r)
{
	char t[32];
	json_t *d = r->detail, *net = json_object_get(d, "network"),
	       *pl = json_object_get(d, "placement"), *grants = json_object_get(d, "grants");
	enum theme_role sr = r->state == SESSION_RUNNING   ? THEME_OK
			     : r->state == SESSION_CRASHED ? THEME_ERROR
							   : THEME_DIM;
	label("ID");
	(void)printf("%s\n", theme_printable(r->id));
	label("NAME");
	(void)printf("%s\n", theme_printable(r->name));
	label("STATE");
	(void)printf("%s%s%s", theme_on(stdout, sr), session_state_to_string(r->state),
		     theme_off(stdout));
	if (r->state == SESSION_EXITED)
		(void)printf(" (exit status %d)", r->exit_code);
	(void)printf("\n");
	label("COMMAND");
	(void)printf("%s\n", theme_printable(r->command));
	label("PROFILE");
	(void)printf("%s\n", str(d, "profile"));
	cli_format_time(r->started, t, sizeof(t));
	label("STARTED");
	(void)printf("%s\n", t);
	cli_format_time(r->state == SESSION_EXITED ? r->ended : 0, t, sizeof(t));
	label("ENDED");
	(void)printf("%s\n", t);
	label("SUPERVISOR");
	(void)printf("pid %d\n", (int)r->supervisor_pid);
	label("CHILD");
	if (r->child_pid > 0)
		(void)printf("pid %d\n", (int)r->child_pid);
	else
		(void)printf("-\n");
	label("NETWORK");
	(void)printf("%s", str(net, "mode"));
	if (json_object_get(net, "proxy_port")) {
		(void)printf(" (proxy on 127.0.0.1:%lld, %s",
			     (long long)json_integer_value(json_object_get(net, "proxy_port")),
			     str(net, "proxy_placement"));
		if (json_object_get(net, "network_profile"))
			(void)printf(", network profile %s", str(net, "network_profile"));
		(void)printf(")");
	}
	(void)printf("\n");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(net, "credentials"), i, v)
	{
		label(i == 0 ? "CREDENTIALS" : "");
		(void)printf("%s\n",
			     json_string_value(v) ? theme_printable(json_string_value(v)) : "?");
	}
	json_array_foreach(json_object_get(net, "allow_domains"), i, v)
	{
		label(i == 0 ? "HOSTS" : "");
		(void)printf("%s\n",
			     json_string_value(v) ? theme_printable(json_string_value(v)) : "?");
	}
	label("PLACEMENT");
	if (!json_is_object(pl))
		(void)printf("-\n");
	else {
		static const char *const ns[][2] = {
		    {"user_namespace", "user"},	      {"mount_namespace", "mount"},
		    {"network_namespace", "network"}, {"pid_namespace", "pid"},
		    {"ipc_namespace", "ipc"},
		};
		bool any = false;
		(void)printf("namespaces:");
		for (size_t k = 0; k < ARRAY_SIZE(ns); k++)
			if (json_is_true(json_object_get(pl, ns[k][0]))) {
				(void)printf(" %s", ns[k][1]);
				any = true;
			}
		(void)printf("%s\n", any ? "" : " none");
		label("");
		(void)printf("read-only root: %s\n",
			     json_is_true(json_object_get(pl, "read_only_root")) ? "yes" : "no");
		label("");
		(void)printf("private /tmp: %s\n", str(pl, "private_tmp"));
		label("");
		(void)printf("landlock ABI: %lld\n",
			     (long long)json_integer_value(json_object_get(pl, "landlock_abi")));
	}
	label("GRANTS");
	if (json_array_size(grants) == 0)
		(void)printf("-\n");
	json_array_foreach(grants, i, v)
	{
		if (i > 0)
			label("");
		(void)printf("%-10s %s%s\n", str(v, "access"), str(v, "path"),
			     json_is_true(json_object_get(v, "file")) ? " (file)" : "");
	}
}

static int print_json(const struct session_record *r)
{
	json_t *o = json_deep_copy(r->detail);
	/* The state worked out now (crashed is never written), not the one recorded. */
	if (!o ||
	    json_object_set_new(o, "state", json_string(session_state_to_string(r->state))) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	(void)json_object_del(o, "supervisor_start"); /* internal: the pid's identity */
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	(void)printf("%s\n", text);
	free(text);
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("inspect");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	bool as_json = false;
	int c;

	if (cli_getopt_tables(inspect_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_INSPECT_JSON:
			as_json = true;
			break;
		case OPT_INSPECT_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error(
			    "unknown option '%s' for 'nono inspect' (see 'nono inspect --help')",
			    argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (argc - optind != 1) {
		log_error("'nono inspect' takes one session id or name (see 'nono ps --all')");
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
	int ret = EXIT_NONO_OK;
	const struct session_record *s = session_record_find(v, n, key);
	if (!s) {
		log_error("no session '%s' (see 'nono ps --all')", key);
		ret = EXIT_NONO_ERROR;
	} else if (as_json) {
		if ((r = print_json(s)) < 0) {
			log_error_errno(r, "out of memory");
			ret = EXIT_NONO_ERROR;
		}
	} else
		print_text(s);
	session_records_free(v, n);
	free(v);
	return ret;
}
