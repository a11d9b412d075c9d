/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono: global options, the command table, dispatch. Nothing else lives here.
 */
#include <getopt.h>

#include "base/log.h"
#include "base/macro.h"
#include "cli/cli.h"
#include "cli/run-options.h"
#include "cli/theme.h"
#include "sandbox/sandbox.h"

#ifndef NONO_VERSION
#define NONO_VERSION "0.0.0"
#endif

bool arg_silent;
const char *arg_theme;

/* clang-format off */
const struct cli_command cli_commands[] = {
	{"run", cmd_run, "nono run [OPTIONS] -- COMMAND [ARGS...]",
	 "Run a command inside the sandbox, supervised by nono.", run_options},
	{"shell", cmd_shell, "nono shell [OPTIONS]",
	 "Start an interactive shell inside the sandbox.", shell_options},
	{"wrap", cmd_wrap, "nono wrap [OPTIONS] -- COMMAND [ARGS...]",
	 "Apply the sandbox and exec the command in place: no nono process stays behind.",
	 wrap_options},
	{"why", cmd_why, "nono why (--path PATH [--op read|write|readwrite] | --host HOST|URL [--port PORT] | --scope SCOPE) [--json] [--self] [CONTEXT OPTIONS]",
	 "Explain whether a path, host or scope would be allowed or denied, and why.", why_options},
	{"learn", cmd_learn, "nono learn [OPTIONS] -- COMMAND [ARGS...]",
	 "Trace a command and report the paths and network endpoints it needs.", learn_options},
	{"setup", cmd_setup, "nono setup [--check-only] [--profiles] [--shell-integration] [-v]",
	 "Check what this system lets nono enforce; write example profiles, show shell integration.",
	 setup_options},
	{"policy", cmd_policy, "nono policy groups [NAME] [--all-platforms] [--json] | profiles [--json] | show NAME [--raw] [--json] | diff A B | validate FILE",
	 "Inspect policy groups and profiles: list, show resolved, diff, validate.", policy_options},
	{"profile", cmd_profile, "nono profile init NAME [--extends X] [--groups A,B] [--description D] [--full] [--output PATH] [--force] | list | show NAME | diff A B | validate FILE | groups [NAME] | schema | guide",
	 "Create, inspect and compare profiles; print the profile schema and authoring guide.",
	 profile_options},
	{"audit", cmd_audit,
	 "nono audit list | show SESSION [--json] | verify SESSION [--public-key-file F] | prune [--dry-run]",
	 "List, show, verify and prune the audit trail of past sessions (~/.nono/audit).",
	 audit_options},
	{"rollback", cmd_rollback,
	 "nono rollback list | show SESSION | diff SESSION [PATH] | restore SESSION [--path P] | prune [--keep N]",
	 "Review and restore the snapshots taken by 'nono run --rollback' (~/.nono/rollback).",
	 rollback_options},
	{"trust", cmd_trust, "nono trust keygen [--keyref URI] [--force] | export-key [--keyref URI] [--pem] | sign FILES... [--keyref URI] | verify FILES... (--public-key-file F | --keyref URI)",
	 "Sign and verify instruction files (CLAUDE.md, AGENTS.md, ...) with ECDSA P-256 keys.",
	 trust_options},
	{"ps", cmd_ps, "nono ps [--all] [--json]",
	 "List the supervised sessions of this user: running, or with --all also ended and crashed.",
	 ps_options},
	{"stop", cmd_stop, "nono stop ID|NAME [--force]",
	 "Stop a running session of this user (SIGTERM to its supervisor; --force: SIGKILL).",
	 stop_options},
	{"inspect", cmd_inspect, "nono inspect ID|NAME [--json]",
	 "Show one session of this user: state, times, pids, profile, network, placement, grants.",
	 inspect_options},
	{"prune", cmd_prune, "nono prune [--older-than DURATION] [--keep N] [--dry-run]",
	 "Remove the state directories of this user's ended (exited or crashed) sessions.",
	 prune_options},
	{"attach", cmd_attach, "nono attach ID|NAME",
	 "Attach this terminal to a detached session (detach: ctrl-] d, or [ui] detach_sequence).",
	 attach_options},
	{"logs", cmd_logs, "nono logs ID|NAME [-f]",
	 "Print a detached session's output log; -f follows it until the session ends.", logs_options},
	{"__generate", cmd_generate, "nono __generate bash|zsh|fish|man [COMMAND]",
	 "Print shell completions or a man page generated from the option tables.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

const struct cli_command *cli_find_command(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (streq(c->name, name))
			return c;
	return NULL;
}

static void usage(FILE *out)
{
	(void)fprintf(out, "nono %s: capability-based sandbox for AI agents and any command\n\n"
			   "Usage: nono [-s] [--theme NAME] COMMAND [OPTIONS]\n\nCommands:\n",
		      NONO_VERSION);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (!startswith(c->name, "__"))
			(void)fprintf(out, "  %-10s %s\n", c->name, c->summary);
	(void)fprintf(out, "\nGlobal options:\n"
			   "  -s, --silent        no nono output, only the command's\n"
			   "      --theme NAME    colour theme [env: NONO_THEME]\n"
			   "  -h, --help          show this help\n"
			   "  -V, --version       show the version\n"
			   "\nRun 'nono COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"silent", no_argument, NULL, 's'},
		{"theme", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* Hidden modes exec'd by the sandbox itself: before anything else runs. */
	if (argc >= 2 && streq(argv[1], SANDBOX_HELPER_ARG))
		sandbox_helper_main(argc, argv);
	if (argc >= 2 && streq(argv[1], SANDBOX_INIT_ARG))
		sandbox_init_main(argc, argv);

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+shV", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			arg_silent = true;
			break;
		case 't':
			arg_theme = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_NONO_OK;
		case 'V':
			(void)printf("nono %s\n", NONO_VERSION);
			return EXIT_NONO_OK;
		default:
			log_error("unknown global option '%s' (see 'nono --help')", argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (arg_silent)
		log_set_level(LOG_LEVEL_SILENT);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_NONO_ERROR;
	}
	const char *verb = argv[optind];
	const struct cli_command *cmd = cli_find_command(verb);
	/* run, shell and wrap take --theme too: they select once their flags are read. */
	if (!cmd || !(streq(verb, "run") || streq(verb, "shell") || streq(verb, "wrap")))
		theme_select(arg_theme);
	if (!cmd) {
		log_error("unknown command '%s' (see 'nono --help')", verb);
		return EXIT_NONO_ERROR;
	}
	/* The command sees argv starting at its own name, as getopt expects. */
	return cmd->fn(argc - optind, argv + optind);
}
