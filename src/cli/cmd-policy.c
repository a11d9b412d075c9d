/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono policy groups|profiles|show|diff|validate: read-only introspection of policy
 * groups and profiles. `nono profile list|show|diff|validate|groups` run the same code
 * (policy_run_subcommand); cmd-profile.c adds init, schema and guide.
 *
 * Exit status: 0 when the answer was printed (a diff with differences included), 1 on
 * any error (unknown profile or group, invalid file, bad flags).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "cli/cmd-policy.h"
#include "policy/groups.h"
#include "policy/policy.h"
#include "policy/profile.h"
#include "query/query.h"

/* clang-format off */
const struct cli_option policy_options[] = {
	{"all-platforms", 0, no_argument, POLICY_OPT_ALL_PLATFORMS, NULL, "groups: include groups for other platforms", NULL, false},
	{"json", 0, no_argument, POLICY_OPT_JSON, NULL, "groups, profiles, show: print JSON", NULL, false},
	{"raw", 0, no_argument, POLICY_OPT_RAW, NULL, "show: print the profile as written, variables unexpanded", NULL, false},
	{"help", 'h', no_argument, POLICY_OPT_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

void json_print_string(FILE *f, const char *s)
{
	(void)fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)strempty(s); *p; p++) {
		if (*p == '"' || *p == '\\')
			(void)fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			(void)fputs("\\n", f);
		else if (*p < 0x20)
			(void)fprintf(f, "\\u%04x", *p);
		else
			(void)fputc(*p, f);
	}
	(void)fputc('"', f);
}

static void log_diag(int r, const struct diag *d)
{
	char buf[2048];
	log_error("%s", d->msg[0] ? diag_format(d, buf, sizeof(buf)) : strerror(-r));
}

static const char *access_tag(unsigned access)
{
	switch (access & FS_RW) {
	case FS_RW:
		return "rw";
	case FS_READ:
		return "r";
	case FS_WRITE:
		return "w";
	default:
		return "-";
	}
}

static int resolve_profile(const char *name, struct sandbox_spec **ret)
{
	struct policy_input in;
	struct diag d = {0};
	char **warnings = NULL;

	policy_input_init(&in);
	in.profile = name;
	int r = policy_resolve(&in, ret, &warnings, &d);
	strv_free(warnings); /* missing optional paths show as "(missing)" instead */
	if (r < 0)
		log_diag(r, &d);
	return r;
}

static int load_groups(struct policy_groups **ret)
{
	struct diag d = {0};
	int r = policy_groups_load(ret, &d);
	if (r < 0)
		log_diag(r, &d);
	return r;
}

static void print_group(const struct policy_group *g)
{
	printf("%s: %s\n", g->name, strempty(g->description));
	printf("platform: %s\nrequired: %s\n", platform_to_string(g->platform),
	       g->required ? "yes" : "no");
	for (int l = 0; l < _FS_LIST_MAX; l++) {
		if (strv_length(g->fs[l]) == 0)
			continue;
		printf("%s:\n", fs_list_key(l));
		for (char **p = g->fs[l]; *p; p++)
			printf("  %s\n", *p);
	}
	if (g->n_denies > 0)
		printf("deny:\n");
	for (size_t i = 0; i < g->n_denies; i++)
		printf("  %s  (%s)\n", g->denies[i].path, strempty(g->denies[i].category));
	if (strv_length(g->commands) > 0) {
		printf("blocked commands:\n");
		for (char **c = g->commands; *c; c++)
			printf("  %s\n", *c);
	}
}

static int do_groups(const struct policy_opts *o, int n, char **args)
{
	struct policy_groups *gs = NULL;
	int r;

	if (n > 1) {
		log_error("groups takes at most one group name");
		return -EINVAL;
	}
	if ((r = load_groups(&gs)) < 0)
		return r;
	if (n == 1) {
		const struct policy_group *g = policy_groups_find(gs, args[0]);
		if (!g) {
			log_error("unknown group '%s'; 'nono policy groups' lists them", args[0]);
			r = -ENOENT;
		} else
			print_group(g);
		policy_groups_free(gs);
		return r;
	}
	if (o->json)
		printf("[");
	bool first = true;
	for (size_t i = 0; i < gs->n; i++) {
		const struct policy_group *g = &gs->groups[i];
		if (!o->all_platforms && !policy_group_applies(g))
			continue;
		if (o->json) {
			printf("%s\n  {\"name\": ", first ? "" : ",");
			json_print_string(stdout, g->name);
			printf(", \"platform\": ");
			json_print_string(stdout, platform_to_string(g->platform));
			printf(", \"required\": %s, \"description\": ",
			       g->required ? "true" : "false");
			json_print_string(stdout, g->description);
			printf("}");
		} else
			printf("%-28s %-6s %-9s %s\n", g->name, platform_to_string(g->platform),
			       g->required ? "required" : "-", strempty(g->description));
		first = false;
	}
	if (o->json)
		printf("\n]\n");
	policy_groups_free(gs);
	return 0;
}

static int do_profiles(const struct policy_opts *o, int n, char **args)
{
	struct profile_info *list = NULL;
	size_t count = 0;

	(void)args;
	if (n > 0) {
		log_error("profiles takes no arguments");
		return -EINVAL;
	}
	int r = profile_list(&list, &count);
	if (r < 0)
		return log_error_errno(r, "cannot list profiles");
	if (o->json)
		printf("[");
	for (size_t i = 0; i < count; i++) {
		const struct profile_info *p = &list[i];
		if (o->json) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_print_string(stdout, p->name);
			printf(", \"source\": \"%s\", \"valid\": %s, \"file\": ",
			       p->builtin ? "builtin" : "user", p->valid ? "true" : "false");
			json_print_string(stdout, p->file);
			printf(", \"description\": ");
			json_print_string(stdout, p->description);
			printf("}");
		} else
			printf("%-16s %-8s %s%s\n", p->name, p->builtin ? "builtin" : "user",
			       p->valid ? strempty(p->description) : "(does not parse)",
			       p->overrides_builtin ? " (overrides built-in)" : "");
	}
	if (o->json)
		printf("%s]\n", count ? "\n" : "");
	profile_info_free(list, count);
	return 0;
}

static void print_spec(const struct sandbox_spec *s)
{
	printf("profile: %s\n", strempty(s->profile_name));
	printf("filesystem:\n");
	for (size_t i = 0; i < s->n_grants; i++) {
		const struct fs_grant *g = &s->grants[i];
		printf("  [%s] %s%s%s  <- %s:%s\n", access_tag(g->access), g->path,
		       g->is_file ? " (file)" : "", g->exists ? "" : " (missing)",
		       origin_kind_to_string(g->origin.kind), strempty(g->origin.name));
	}
	printf("protected:\n");
	for (size_t i = 0; i < s->n_denies; i++) {
		const struct fs_deny *d = &s->denies[i];
		printf("  %s  %s: %s%s\n", d->path, strempty(d->group), strempty(d->category),
		       d->bypassed ? " (bypassed)" : "");
	}
	printf("network: %s\n", net_mode_to_string(s->net));
	if (s->proxy.network_profile)
		printf("  network profile: %s\n", s->proxy.network_profile);
	for (char **h = s->proxy.allow_domains; h && *h; h++)
		printf("  allow domain: %s\n", *h);
	for (size_t i = 0; i < s->proxy.n_credentials; i++)
		printf("  credential: %s\n", s->proxy.credentials[i].name);
	if (strv_length(s->blocked_commands) > 0) {
		printf("blocked commands:");
		for (char **c = s->blocked_commands; *c; c++)
			printf(" %s", *c);
		printf("\n");
	}
}

static int do_show(const struct policy_opts *o, int n, char **args)
{
	if (n != 1) {
		log_error("show takes one profile name or file");
		return -EINVAL;
	}
	if (o->raw) {
		struct profile *p = NULL;
		struct diag d = {0};
		int r = profile_load(args[0], &p, &d);
		if (r < 0) {
			log_diag(r, &d);
			return r;
		}
		(void)fwrite(p->text, 1, p->text_len, stdout);
		if (p->text_len > 0 && p->text[p->text_len - 1] != '\n')
			(void)fputc('\n', stdout);
		profile_free(p);
		return 0;
	}

	_cleanup_spec_ struct sandbox_spec *s = NULL;
	int r = resolve_profile(args[0], &s);
	if (r < 0)
		return r;
	if (!o->json) {
		print_spec(s);
		return 0;
	}
	_cleanup_free_ char *json = NULL;
	r = spec_to_json(s, &json);
	if (r < 0)
		return log_error_errno(r, "cannot format the policy as JSON");
	printf("%s\n", json);
	return 0;
}

static int add_line(char ***l, const char *fmt, ...) _printf_(2, 3);
static int add_line(char ***l, const char *fmt, ...)
{
	char *line;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : strv_consume(l, line);
}

/* The comparable facts of a resolved policy, one line each, origins left out. */
static int spec_lines(const struct sandbox_spec *s, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < s->n_grants; i++)
		r = add_line(&l, "[%s] %s%s", access_tag(s->grants[i].access), s->grants[i].path,
			     s->grants[i].is_file ? " (file)" : "");
	for (size_t i = 0; r >= 0 && i < s->n_denies; i++)
		r = add_line(&l, "protected %s  %s", s->denies[i].path,
			     strempty(s->denies[i].group));
	if (r >= 0)
		r = add_line(&l, "network: %s", net_mode_to_string(s->net));
	if (r >= 0 && s->proxy.network_profile)
		r = add_line(&l, "network profile: %s", s->proxy.network_profile);
	for (char **h = s->proxy.allow_domains; r >= 0 && h && *h; h++)
		r = add_line(&l, "allow domain: %s", *h);
	for (char **c = s->blocked_commands; r >= 0 && c && *c; c++)
		r = add_line(&l, "blocked command: %s", *c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

static int do_diff(const struct policy_opts *o, int n, char **args)
{
	_cleanup_spec_ struct sandbox_spec *a = NULL, *b = NULL;
	_cleanup_strv_free_ char **la = NULL, **lb = NULL;
	int r;

	(void)o;
	if (n != 2) {
		log_error("diff takes two profile names or files");
		return -EINVAL;
	}
	if ((r = resolve_profile(args[0], &a)) < 0 || (r = resolve_profile(args[1], &b)) < 0)
		return r;
	if ((r = spec_lines(a, &la)) < 0 || (r = spec_lines(b, &lb)) < 0)
		return log_error_errno(r, "out of memory");
	printf("--- %s\n+++ %s\n", args[0], args[1]);
	for (char **l = la; l && *l; l++)
		if (!strv_contains(lb, *l))
			printf("- %s\n", *l);
	for (char **l = lb; l && *l; l++)
		if (!strv_contains(la, *l))
			printf("+ %s\n", *l);
	return 0;
}

static int do_validate(const struct policy_opts *o, int n, char **args)
{
	struct profile *p = NULL;
	struct diag d = {0};

	(void)o;
	if (n != 1) {
		log_error("validate takes one profile file or name");
		return -EINVAL;
	}
	/* The merged load checks the extends chain; resolving checks groups and variables. */
	int r = profile_load_merged(args[0], &p, &d);
	if (r < 0) {
		log_diag(r, &d);
		return r;
	}
	profile_free(p);
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	if ((r = resolve_profile(args[0], &s)) < 0)
		return r;
	printf("%s: valid\n", args[0]);
	return 0;
}

static const struct {
	const char *policy_name, *profile_name;
	int (*fn)(const struct policy_opts *o, int n, char **args);
} subcommands[] = {
    {"groups", "groups", do_groups},
    {"profiles", "list", do_profiles},
    {"show", "show", do_show},
    {"diff", "diff", do_diff},
    {"validate", "validate", do_validate},
};

int policy_run_subcommand(const char *family, const char *sub, const struct policy_opts *o, int n,
			  char **args)
{
	bool profile = streq(family, "profile");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (streq(sub, profile ? subcommands[i].profile_name : subcommands[i].policy_name))
			return subcommands[i].fn(o, n, args);
	return -EOPNOTSUPP;
}

int policy_parse_args(const char *family, const struct cli_option *opts, int argc, char **argv,
		      struct policy_opts *o, char ***ret_args, int *ret_n)
{
	/* The option tables stop at the first non-option ("+"); options may follow the
	 * subcommand and its arguments, so collect positionals and carry on. */
	_cleanup_free_ char **pos = calloc(argc + 1, sizeof(char *));
	int n = 0;
	if (!pos)
		return log_error_errno(-ENOMEM, "out of memory");
	const struct cli_command *cmd = cli_find_command(family);
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	int r = cli_getopt_tables(opts, &longopts, &shortopts);
	if (r < 0)
		return log_error_errno(r, "cannot build option table");

	opterr = 0;
	optind = 1;
	for (int c;;) {
		c = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (c < 0) {
			if (optind >= argc)
				break;
			if (streq(argv[optind - 1], "--")) {
				while (optind < argc)
					pos[n++] = argv[optind++];
				break;
			}
			pos[n++] = argv[optind++];
			continue;
		}
		switch (c) {
		case POLICY_OPT_HELP:
			cli_print_help(cmd, stdout);
			return 0;
		case POLICY_OPT_ALL_PLATFORMS:
			o->all_platforms = true;
			break;
		case POLICY_OPT_JSON:
			o->json = true;
			break;
		case POLICY_OPT_RAW:
			o->raw = true;
			break;
		case POLICY_OPT_EXTENDS:
			o->extends = optarg;
			break;
		case POLICY_OPT_GROUPS:
			o->groups = optarg;
			break;
		case POLICY_OPT_DESCRIPTION:
			o->description = optarg;
			break;
		case POLICY_OPT_FULL:
			o->full = true;
			break;
		case POLICY_OPT_OUTPUT:
			o->output = optarg;
			break;
		case POLICY_OPT_FORCE:
			o->force = true;
			break;
		default: {
			const char *bad = argv[optind - 1];
			if (startswith(bad, "--") && !strchr(bad, '=') &&
			    cli_option_needs_value(opts, bad + 2))
				log_error("option '%s' needs a value", bad);
			else
				log_error(
				    "unknown option '%s' for 'nono %s' (see 'nono %s --help')", bad,
				    family, family);
			return -EINVAL;
		}
		}
	}
	*ret_args = TAKE_PTR(pos);
	*ret_n = n;
	return 1;
}

int cmd_policy(int argc, char **argv)
{
	struct policy_opts o = {0};
	_cleanup_free_ char **args = NULL;
	int n;
	int r = policy_parse_args("policy", policy_options, argc, argv, &o, &args, &n);
	if (r <= 0)
		return r < 0 ? EXIT_NONO_ERROR : EXIT_NONO_OK;
	if (n == 0) {
		cli_print_help(cli_find_command("policy"), stderr);
		return EXIT_NONO_ERROR;
	}
	r = policy_run_subcommand("policy", args[0], &o, n - 1, args + 1);
	if (r == -EOPNOTSUPP)
		log_error("unknown policy subcommand '%s'; see 'nono policy --help'", args[0]);
	return r < 0 ? EXIT_NONO_ERROR : EXIT_NONO_OK;
}
