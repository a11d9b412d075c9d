/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono prune [--older-than DURATION] [--keep N] [--dry-run]: remove the state
 * directories (record, kept /tmp) of this user's ended sessions: exited, or crashed
 * (the supervisor is gone). A running session is never removed. Limits and their
 * defaults ([sessions] in ~/.config/nono/config.toml): supervisor/session-prune.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "cli/theme.h"
#include "supervisor/session-prune.h"

enum {
	OPT_PRUNE_OLDER = 0x100,
	OPT_PRUNE_KEEP,
	OPT_PRUNE_DRY_RUN,
	OPT_PRUNE_HELP = 'h',
};

/* clang-format off */
const struct cli_option prune_options[] = {
	{"older-than", 0, required_argument, OPT_PRUNE_OLDER, "DURATION", "only sessions that ended at least this long ago (e.g. 90m, 12h, 7d, 2w; default: any age, or [sessions] older_than in config.toml)", NULL, false},
	{"keep", 0, required_argument, OPT_PRUNE_KEEP, "N", "keep the N newest ended sessions (default: 0, or [sessions] keep in config.toml)", NULL, false},
	{"dry-run", 0, no_argument, OPT_PRUNE_DRY_RUN, NULL, "list what would be removed, remove nothing", NULL, false},
	{"help", 'h', no_argument, OPT_PRUNE_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

int cmd_prune(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("prune");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL, *config = NULL;
	struct session_prune_opts o = {0};
	const char *older = NULL, *keep = NULL;
	const char *home = getenv("HOME");
	bool dry_run = false;
	struct diag d = {{0}};
	char buf[2048];
	int c, r;

	if (cli_getopt_tables(prune_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_PRUNE_OLDER:
			older = optarg;
			break;
		case OPT_PRUNE_KEEP:
			keep = optarg;
			break;
		case OPT_PRUNE_DRY_RUN:
			dry_run = true;
			break;
		case OPT_PRUNE_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			if (startswith(argv[optind - 1], "--") &&
			    cli_option_needs_value(prune_options, argv[optind - 1] + 2))
				log_error("option '%s' needs a value", argv[optind - 1]);
			else
				log_error("unknown option '%s' for 'nono prune' (see 'nono prune "
					  "--help')",
					  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind < argc) {
		log_error("'nono prune' takes no arguments (got '%s')", argv[optind]);
		return EXIT_NONO_ERROR;
	}
	if (!home || home[0] != '/') {
		log_error("HOME is not an absolute path: cannot find ~/.nono/sessions");
		return EXIT_NONO_ERROR;
	}
	if (asprintf(&config, "%s/.config/nono/config.toml", home) < 0) {
		log_error_errno(-ENOMEM, "out of memory");
		return EXIT_NONO_ERROR;
	}
	r = session_prune_limits_load(config, &o, &d);
	if (r < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	if (older && session_parse_duration(older, &o.older_than) < 0) {
		log_error("'--older-than %s': not a duration (digits and a unit: s, m, h, d or w, "
			  "e.g. 12h or 7d)",
			  older);
		return EXIT_NONO_ERROR;
	}
	if (keep && parse_u64(keep, 1000000, &o.keep) < 0) {
		log_error("'--keep %s': not a number of sessions (0 to 1000000)", keep);
		return EXIT_NONO_ERROR;
	}

	struct session_record *v = NULL;
	size_t n = 0;
	r = session_records_load(home, &v, &n);
	if (r < 0) {
		log_error_errno(r, "cannot read the sessions in %s/.nono/sessions", home);
		return EXIT_NONO_ERROR;
	}
	_cleanup_free_ bool *sel = calloc(n ? n : 1, sizeof(bool));
	int ret = EXIT_NONO_OK;
	size_t removed = 0;
	if (!sel) {
		log_error_errno(-ENOMEM, "out of memory");
		ret = EXIT_NONO_ERROR;
		goto out;
	}
	(void)session_prune_select(v, n, &o, (int64_t)time(NULL), sel);
	for (size_t i = 0; i < n; i++) {
		if (!sel[i])
			continue;
		if (dry_run) {
			(void)printf("would remove %s (%s, %s)\n", v[i].id, v[i].name,
				     session_state_to_string(v[i].state));
			removed++;
			continue;
		}
		r = session_remove(home, v[i].id);
		if (r < 0) {
			log_error_errno(r, "cannot remove session %s (%s) in %s/.nono/sessions",
					v[i].id, v[i].name, home);
			ret = EXIT_NONO_ERROR;
			continue;
		}
		(void)printf("removed %s (%s, %s)\n", v[i].id, v[i].name,
			     session_state_to_string(v[i].state));
		removed++;
	}
	log_info("%zu of %zu sessions %s", removed, n, dry_run ? "would be removed" : "removed");
out:
	session_records_free(v, n);
	free(v);
	return ret;
}
