/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono learn: trace a command (unsandboxed, our own ptrace + seccomp tracer) and report
 * the paths and endpoints it needed that the default policy, or --profile, lacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "learn/learn.h"
#include "policy/policy.h"

enum {
	LOPT_PROFILE = 'p',
	LOPT_VERBOSE = 'v',
	LOPT_HELP = 'h',
	LOPT_JSON = 0x100,
	LOPT_TIMEOUT,
	LOPT_ALL,
	LOPT_TRACE,
	LOPT_NO_RDNS,
};

/* clang-format off */
const struct cli_option learn_options[] = {
	{"profile", 'p', required_argument, LOPT_PROFILE, "NAME", "report only what this profile does not already grant", NULL, false},
	{"json", 0, no_argument, LOPT_JSON, NULL, "print a JSON fragment to paste into a profile", NULL, false},
	{"timeout", 0, required_argument, LOPT_TIMEOUT, "SECS", "stop tracing after SECS seconds (the command is terminated)", NULL, false},
	{"all", 0, no_argument, LOPT_ALL, NULL, "show every accessed path, including those already covered", NULL, false},
	{"no-rdns", 0, no_argument, LOPT_NO_RDNS, NULL, "no reverse DNS lookups for addresses without a seen DNS answer", NULL, false},
	{"trace", 0, no_argument, LOPT_TRACE, NULL, "macOS only: the legacy fs_usage tracer", NULL, false},
	{"verbose", 'v', no_argument, LOPT_VERBOSE, NULL, "more output", NULL, false},
	{"help", 'h', no_argument, LOPT_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

int cmd_learn(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("learn");
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	_cleanup_free_ struct learn_covered *covered = NULL;
	_cleanup_spec_ struct sandbox_spec *spec = NULL;
	struct learn_options lo = {0};
	struct learn_result *res = NULL;
	const char *profile = NULL;
	bool json = false, all = false;
	struct diag d = {{0}};
	char buf[2048];
	int c, r;

	if (cli_getopt_tables(cmd->options, &longopts, &shortopts) < 0)
		return log_error_errno(-ENOMEM, "out of memory"), EXIT_NONO_ERROR;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
		switch (c) {
		case LOPT_PROFILE:
			profile = optarg;
			break;
		case LOPT_JSON:
			json = true;
			break;
		case LOPT_ALL:
			all = true;
			break;
		case LOPT_NO_RDNS:
			lo.no_rdns = true;
			break;
		case LOPT_VERBOSE:
			lo.verbose++;
			break;
		case LOPT_TIMEOUT: {
			uint64_t t;
			if (parse_u64(optarg, 7 * 24 * 3600, &t) < 0 || t == 0) {
				log_error("invalid value '%s' for --timeout: expected seconds (1 or more)",
					  optarg);
				return EXIT_NONO_ERROR;
			}
			lo.timeout_sec = (unsigned)t;
			break;
		}
		case LOPT_TRACE:
			log_error("'--trace' selects the macOS tracer; on Linux nono learn always uses "
				  "its own ptrace tracer");
			return EXIT_NONO_ERROR;
		case LOPT_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono learn' (see 'nono learn --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind >= argc) {
		log_error("no command given: 'nono learn [OPTIONS] -- COMMAND [ARGS...]'");
		return EXIT_NONO_ERROR;
	}

	/* What is already granted: the same resolution nono run uses. */
	struct policy_input in;
	policy_input_init(&in);
	in.profile = profile;
	r = policy_resolve(&in, &spec, NULL, &d);
	if (r < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	covered = calloc(spec->n_grants + 1, sizeof(*covered));
	if (!covered)
		return log_error_errno(-ENOMEM, "out of memory"), EXIT_NONO_ERROR;
	for (size_t i = 0; i < spec->n_grants; i++)
		covered[i] = (struct learn_covered){spec->grants[i].path, spec->grants[i].access,
						    spec->grants[i].is_file};

	lo.argv = argv + optind;
	if (!json)
		log_info("tracing '%s' (not sandboxed)", lo.argv[0]);
	/*
	 * With --json, stdout carries the fragment alone (`nono learn --json -- app >
	 * paths.json`): the traced command's own stdout goes to stderr meanwhile.
	 */
	_cleanup_close_ int saved_stdout = -EBADF;
	if (json) {
		fflush(stdout);
		saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (saved_stdout < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			return log_error_errno(-errno, "cannot redirect the traced command's output"),
			       EXIT_NONO_ERROR;
	}
	r = learn_trace(&lo, &res);
	if (saved_stdout >= 0 && dup2(saved_stdout, STDOUT_FILENO) < 0)
		return log_error_errno(-errno, "cannot restore stdout"), EXIT_NONO_ERROR;
	if (r < 0) {
		log_error_errno(r, "cannot trace '%s'", lo.argv[0]);
		return EXIT_NONO_ERROR;
	}
	r = json ? learn_report_json(res, covered, spec->n_grants, all, stdout)
		 : learn_report_text(res, covered, spec->n_grants, all, stdout);
	if (res->timed_out)
		log_warning("stopped after %u s (--timeout): the report covers what ran until then",
			    lo.timeout_sec);
	int status = res->exit_status;
	learn_result_free(res);
	if (r < 0)
		return log_error_errno(r, "cannot write the report"), EXIT_NONO_ERROR;
	if (status != 0)
		log_info("the traced command exited with status %d", status);
	return EXIT_NONO_OK;
}
