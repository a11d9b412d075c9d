/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The command table and option tables: one source for parsing, --help, shell
 * completions and man pages.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes (spec: Exit Codes). The child's own status is passed through otherwise. */
enum {
	EXIT_NONO_OK = 0,
	EXIT_NONO_ERROR = 1,
};

struct cli_option {
	const char *name;  /* long name without "--" */
	int short_name;    /* 0 when none */
	int has_arg;       /* no_argument / required_argument */
	int id;            /* value getopt returns */
	const char *arg;   /* argument placeholder for help, e.g. "DIR" */
	const char *help;  /* one line */
	const char *env;   /* NONO_* variable that sets it, or NULL */
	bool hidden;       /* deprecated aliases: parsed, not listed */
};

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
	const char *summary;
	const struct cli_option *options; /* NULL-name terminated */
};

extern const struct cli_command cli_commands[];
const struct cli_command *cli_find_command(const char *name);

/* Build getopt tables from an option table. Returns a heap array; *optstring heap too. */
int cli_getopt_tables(const struct cli_option *opts, struct option **ret_long, char **ret_short);
void cli_print_help(const struct cli_command *c, FILE *out);
/* True when the long option NAME exists in opts and takes a value. */
bool cli_option_needs_value(const struct cli_option *opts, const char *name);

/* Global options (before the verb). */
extern bool arg_silent;
extern const char *arg_theme;

int cmd_run(int argc, char **argv);
int cmd_shell(int argc, char **argv);
int cmd_wrap(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_why(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_audit(int argc, char **argv);
extern const struct cli_option audit_options[];
int cmd_trust(int argc, char **argv);
int cmd_ps(int argc, char **argv);
extern const struct cli_option ps_options[];
int cmd_stop(int argc, char **argv);
extern const struct cli_option stop_options[];
int cmd_inspect(int argc, char **argv);
extern const struct cli_option inspect_options[];
int cmd_prune(int argc, char **argv);
extern const struct cli_option prune_options[];
int cmd_attach(int argc, char **argv);
extern const struct cli_option attach_options[];
int cmd_logs(int argc, char **argv);
extern const struct cli_option logs_options[];
extern const struct cli_option trust_options[];
int cmd_rollback(int argc, char **argv);
extern const struct cli_option rollback_options[];
/* Hidden (names starting "__" are left out of usage, completions and man pages). */
int cmd_generate(int argc, char **argv);

extern const struct cli_option learn_options[];
extern const struct cli_option why_options[];
extern const struct cli_option setup_options[];
extern const struct cli_option policy_options[];
extern const struct cli_option profile_options[];

/* A session time (seconds since the epoch) as UTC RFC 3339 in buf, "-" for none (t <= 0). */
void cli_format_time(int64_t t, char *buf, size_t n);
