/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The introspection code shared by `nono policy` and `nono profile` (cmd-policy.c):
 * one implementation of groups, profiles/list, show, diff and validate.
 */

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"

enum policy_opt {
	POLICY_OPT_HELP = 'h',
	POLICY_OPT_ALL_PLATFORMS = 0x100,
	POLICY_OPT_JSON,
	POLICY_OPT_RAW,
	POLICY_OPT_EXTENDS,
	POLICY_OPT_GROUPS,
	POLICY_OPT_DESCRIPTION,
	POLICY_OPT_FULL,
	POLICY_OPT_OUTPUT,
	POLICY_OPT_FORCE,
	_POLICY_OPT_MAX,
};

struct policy_opts {
	bool all_platforms, json, raw, full, force;
	const char *extends, *groups, *description, *output;
};

/* Parse options for `nono FAMILY` anywhere among the arguments. >0: continue with the
 * positionals (subcommand first) in *ret_args (heap array, strings borrowed from argv),
 * 0 after --help, <0 on error (logged). */
int policy_parse_args(const char *family, const struct cli_option *opts, int argc, char **argv,
		      struct policy_opts *o, char ***ret_args, int *ret_n);

/* Run SUB ("groups", "show", ...; "list" for profile, "profiles" for policy) with n
 * positional args. -EOPNOTSUPP (not logged) when SUB is not one of them; other errors
 * are logged. */
int policy_run_subcommand(const char *family, const char *sub, const struct policy_opts *o, int n,
			  char **args);

/* Print s as a JSON string literal. */
void json_print_string(FILE *f, const char *s);
