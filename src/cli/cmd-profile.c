/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono profile init|list|show|diff|validate|groups|schema|guide. list, show, diff,
 * validate and groups are `nono policy`'s code (cmd-policy.c); init writes a skeleton
 * the strict loader accepts, schema and guide print fixed text.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "cli/cmd-policy.h"
#include "policy/groups.h"
#include "policy/profile.h"

/* clang-format off */
const struct cli_option profile_options[] = {
	{"extends", 0, required_argument, POLICY_OPT_EXTENDS, "NAME", "init: profile to extend", NULL, false},
	{"groups", 0, required_argument, POLICY_OPT_GROUPS, "A,B", "init: security groups to include", NULL, false},
	{"description", 0, required_argument, POLICY_OPT_DESCRIPTION, "TEXT", "init: meta.description", NULL, false},
	{"full", 0, no_argument, POLICY_OPT_FULL, NULL, "init: include every section", NULL, false},
	{"output", 'o', required_argument, POLICY_OPT_OUTPUT, "PATH", "init: write here instead of ~/.config/nono/profiles/NAME.json", NULL, false},
	{"force", 'f', no_argument, POLICY_OPT_FORCE, NULL, "init: overwrite an existing file", NULL, false},
	{"all-platforms", 0, no_argument, POLICY_OPT_ALL_PLATFORMS, NULL, "groups: include groups for other platforms", NULL, false},
	{"json", 0, no_argument, POLICY_OPT_JSON, NULL, "groups, list, show: print JSON", NULL, false},
	{"raw", 0, no_argument, POLICY_OPT_RAW, NULL, "show: print the profile as written, variables unexpanded", NULL, false},
	{"help", 'h', no_argument, POLICY_OPT_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

/* Keys per doc/design/policy-format.md and the strict parser in src/policy/profile.c. */
static const char profile_schema[] =
#include "cli/profile-schema.inc"
    ;

static const char profile_guide[] =
    "Writing a nono profile\n"
    "\n"
    "A profile is a JSON file in ~/.config/nono/profiles/NAME.json (a user profile of a\n"
    "built-in's name overrides it). Start from a skeleton:\n"
    "\n"
    "  nono profile init my-agent --extends default --groups python_runtime\n"
    "\n"
    "Sections (unknown keys are errors, reported with file:line:column):\n"
    "  extends      a profile to build on; lists append, scalars here win\n"
    "  meta         name, version, description, author\n"
    "  security     groups (see 'nono policy groups'), allow_gpu, capability_elevation,\n"
    "               best_effort, shared_tmp\n"
    "  workdir      access: none, read, write or readwrite\n"
    "  filesystem   allow, read, write (directories, recursive); allow_file, read_file,\n"
    "               write_file (single files); suppress_save_prompt\n"
    "  policy       exclude_groups (not required ones), add_deny_access, override_deny\n"
    "               (the path must also be granted)\n"
    "  network      block, network_profile, allow_domain, credentials,\n"
    "               custom_credentials, upstream_proxy, upstream_bypass, open_port,\n"
    "               listen_port, proxy_port\n"
    "  commands     allow, block\n"
    "  env_credentials  keyring names or op:// references mapped to variables\n"
    "\n"
    "Paths may use ~, $HOME, $TMPDIR, $UID and $WORKDIR.\n"
    "\n"
    "Workflow:\n"
    "  nono learn -- COMMAND                 discover the paths and hosts it needs\n"
    "  nono policy show default              see what the base already grants and protects\n"
    "  $EDITOR ~/.config/nono/profiles/my-agent.json\n"
    "  nono policy validate ~/.config/nono/profiles/my-agent.json\n"
    "  nono policy diff default my-agent     review what you added\n"
    "  nono run --profile my-agent -- COMMAND\n"
    "\n"
    "'nono profile schema' prints a JSON Schema for editor validation.\n";

static int add_strv_json(struct strbuf *sb, char *const *l)
{
	int r = strbuf_adds(sb, "[");
	for (size_t i = 0; r >= 0 && l && l[i]; i++)
		r = strbuf_addf(sb, "%s\"%s\"", i ? ", " : "", l[i]);
	return r < 0 ? r : strbuf_adds(sb, "]");
}

/* Only names and descriptions come from the user: refuse what would need escaping. */
static bool json_safe(const char *s)
{
	for (; s && *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

static int build_skeleton(const char *name, const struct policy_opts *o, char *const *groups,
			  char **ret)
{
	struct strbuf sb = {0};
	int r = strbuf_adds(&sb, "{\n");
	if (r >= 0 && o->extends)
		r = strbuf_addf(&sb, "  \"extends\": \"%s\",\n", o->extends);
	if (r >= 0)
		r = strbuf_addf(
		    &sb,
		    "  \"meta\": {\n    \"name\": \"%s\",\n    \"version\": \"1.0.0\",\n"
		    "    \"description\": \"%s\"\n  },\n  \"security\": {\n    \"groups\": ",
		    name, strempty(o->description));
	if (r >= 0)
		r = add_strv_json(&sb, groups);
	if (r >= 0)
		r = strbuf_adds(&sb,
				"\n  },\n  \"workdir\": {\n    \"access\": \"readwrite\"\n  },\n"
				"  \"filesystem\": {\n");
	if (r >= 0 && o->full) {
		for (int l = 0; r >= 0 && l < _FS_LIST_MAX; l++)
			r = strbuf_addf(&sb, "    \"%s\": []%s\n", fs_list_key(l),
					l + 1 < _FS_LIST_MAX ? "," : "");
		if (r >= 0)
			r = strbuf_adds(&sb,
					"  },\n  \"policy\": {\n    \"exclude_groups\": [],\n"
					"    \"add_deny_access\": [],\n    \"override_deny\": []\n"
					"  },\n  \"network\": {\n    \"block\": false,\n"
					"    \"allow_domain\": []\n  },\n  \"commands\": {\n"
					"    \"allow\": [],\n    \"block\": []\n  }\n}\n");
	} else if (r >= 0)
		r = strbuf_adds(&sb, "    \"allow\": [],\n    \"read\": []\n  }\n}\n");
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret = strbuf_detach(&sb);
	return 0;
}

static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

static int do_init(const struct policy_opts *o, int n, char **args)
{
	_cleanup_strv_free_ char **groups = NULL;
	_cleanup_free_ char *text = NULL, *dir = NULL, *path = NULL;
	struct policy_groups *gs = NULL;
	struct profile *p = NULL;
	struct diag d = {0};
	char buf[2048];
	int r;

	if (n != 1) {
		log_error("init takes one profile name");
		return -EINVAL;
	}
	const char *name = args[0];
	if (!*name || strchr(name, '/') || !json_safe(name) || !json_safe(o->description) ||
	    !json_safe(o->extends)) {
		log_error("invalid profile name, --extends or --description '%s'", name);
		return -EINVAL;
	}
	if (o->groups && (r = strv_split(o->groups, ",", &groups)) < 0)
		return log_error_errno(r, "out of memory");

	if ((r = policy_groups_load(&gs, &d)) < 0) {
		log_error("%s", diag_format(&d, buf, sizeof(buf)));
		return r;
	}
	for (char **g = groups; g && *g; g++)
		if (!json_safe(*g) || !policy_groups_find(gs, *g)) {
			log_error("unknown group '%s'; 'nono policy groups' lists them", *g);
			policy_groups_free(gs);
			return -ENOENT;
		}
	if (o->extends) {
		struct profile *base = NULL;
		if ((r = profile_load(o->extends, &base, &d)) < 0) {
			log_error("cannot extend '%s': %s", o->extends, d.msg);
			policy_groups_free(gs);
			return r;
		}
		profile_free(base);
	}

	if ((r = build_skeleton(name, o, groups, &text)) < 0) {
		policy_groups_free(gs);
		return log_error_errno(r, "out of memory");
	}
	if (o->output)
		path = strdup(o->output);
	else if ((r = profile_user_dir(&dir)) >= 0 && asprintf(&path, "%s/%s.json", dir, name) < 0)
		path = NULL;
	if (r < 0 || !path) {
		policy_groups_free(gs);
		return log_error_errno(r < 0 ? r : -ENOMEM, "cannot find the profile directory");
	}

	/* The skeleton must pass the same strict parser `run` uses. */
	r = profile_parse(text, strlen(text), path, name, gs, &p, &d);
	policy_groups_free(gs);
	if (r < 0) {
		log_error("generated profile does not parse: %s",
			  diag_format(&d, buf, sizeof(buf)));
		return r;
	}
	profile_free(p);

	if ((r = mkdir_parents(path)) < 0)
		return log_error_errno(r, "cannot create the directory for '%s'", path);
	_cleanup_close_ int fd =
	    open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (o->force ? O_TRUNC : O_EXCL),
		 0644);
	if (fd < 0 && errno == EEXIST) {
		log_error("'%s' already exists; use --force to overwrite it", path);
		return -EEXIST;
	}
	if (fd < 0)
		return log_error_errno(-errno, "cannot create '%s'", path);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		return log_error_errno(-EIO, "cannot write '%s'", path);
	printf("%s\n", path);
	return 0;
}

int cmd_profile(int argc, char **argv)
{
	struct policy_opts o = {0};
	_cleanup_free_ char **pos = NULL;
	int n;
	int r = policy_parse_args("profile", profile_options, argc, argv, &o, &pos, &n);
	if (r <= 0)
		return r < 0 ? EXIT_NONO_ERROR : EXIT_NONO_OK;
	if (n == 0) {
		cli_print_help(cli_find_command("profile"), stderr);
		return EXIT_NONO_ERROR;
	}
	const char *sub = pos[0];
	char **args = pos + 1;
	n--;

	if (streq(sub, "schema") || streq(sub, "guide")) {
		if (n > 0) {
			log_error("%s takes no arguments", sub);
			return EXIT_NONO_ERROR;
		}
		(void)fputs(streq(sub, "schema") ? profile_schema : profile_guide, stdout);
		return EXIT_NONO_OK;
	}
	if (streq(sub, "init"))
		r = do_init(&o, n, args);
	else
		r = policy_run_subcommand("profile", sub, &o, n, args);
	if (r == -EOPNOTSUPP)
		log_error("unknown profile subcommand '%s'; see 'nono profile --help'", sub);
	return r < 0 ? EXIT_NONO_ERROR : EXIT_NONO_OK;
}
