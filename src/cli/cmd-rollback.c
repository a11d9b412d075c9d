/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono rollback list | show SESSION | diff SESSION [PATH] | restore SESSION [--path P] |
 * prune [--keep N]: review and restore the snapshots --rollback took (~/.nono/rollback).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/path.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "cli/run-rollback.h"
#include "rollback/rollback.h"

enum {
	OPT_R_PATH = 0x100,
	OPT_R_KEEP,
	OPT_R_HELP = 'h',
};

/* clang-format off */
const struct cli_option rollback_options[] = {
	{"path", 0, required_argument, OPT_R_PATH, "PATH", "restore: only this path (and what lies beneath it)", NULL, false},
	{"keep", 0, required_argument, OPT_R_KEEP, "N", "prune: keep the N newest sessions (default: [rollback] max_sessions, else 10; max_storage_gb applies too)", NULL, false},
	{"help", 'h', no_argument, OPT_R_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

static int load_session(const char *base, const char *id, struct rb_manifest **pre,
			struct rb_manifest **post)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_store_ struct rb_store *store = NULL;
	int r = run_rollback_open_session(base, id, &fd);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("invalid rollback session id '%s'", id);
		else
			log_error_errno(r, "no rollback session '%s' (see 'nono rollback list')",
					id);
		return r;
	}
	if ((r = rb_store_open(base, &store)) < 0) {
		log_error_errno(r, "cannot open the rollback store '%s/objects'", base);
		return r;
	}
	if ((r = rb_manifest_load_at(fd, "000.json", store, 0, pre)) < 0) {
		log_error("cannot read the pre-run snapshot of session '%s': %s", id,
			  r == -EBADMSG ? "malformed manifest" : strerror(-r));
		return r;
	}
	if (post && (r = rb_manifest_load_at(fd, "001.json", store, 0, post)) < 0) {
		if (r == -ENOENT)
			return 0; /* the run did not finish: nothing after */
		log_error("cannot read the post-run snapshot of session '%s': %s", id,
			  r == -EBADMSG ? "malformed manifest" : strerror(-r));
		return r;
	}
	return 0;
}

static int do_list(const char *base)
{
	_cleanup_strv_free_ char **ids = NULL;
	int r = run_rollback_list(base, &ids);
	if (r < 0) {
		log_error_errno(r, "cannot list '%s/sessions'", base);
		return EXIT_NONO_ERROR;
	}
	if (!ids) {
		(void)printf("no rollback sessions\n");
		return EXIT_NONO_OK;
	}
	STRV_FOREACH(id, ids)
	{
		_cleanup_manifest_ struct rb_manifest *pre = NULL, *post = NULL;
		struct rb_summary s = {{0}};
		if (load_session(base, *id, &pre, &post) < 0)
			continue;
		(void)printf("%s  %zu root(s)", *id, pre->n_roots);
		if (post && rb_summary_collect(pre, post, &s) >= 0)
			(void)printf("  %zu created, %zu modified, %zu deleted", s.n[RB_CREATED],
				     s.n[RB_MODIFIED], s.n[RB_DELETED]);
		else if (!post)
			(void)printf("  (no post-run snapshot)");
		(void)printf("  %s\n", pre->n_roots ? pre->roots[0].path : "");
		rb_summary_release(&s);
	}
	return EXIT_NONO_OK;
}

static int do_show(const char *base, const char *id)
{
	_cleanup_manifest_ struct rb_manifest *pre = NULL, *post = NULL;
	struct rb_summary s = {{0}};
	if (load_session(base, id, &pre, &post) < 0)
		return EXIT_NONO_ERROR;
	(void)printf("session %s\n", id);
	for (size_t i = 0; i < pre->n_roots; i++)
		(void)printf("  root %s (%zu entries)\n", pre->roots[i].path,
			     pre->roots[i].n_entries);
	if (!post) {
		(void)printf("  no post-run snapshot\n");
		return EXIT_NONO_OK;
	}
	if (rb_summary_collect(pre, post, &s) < 0) {
		rb_summary_release(&s);
		log_error_errno(-ENOMEM, "out of memory");
		return EXIT_NONO_ERROR;
	}
	rb_summary_print(&s, stdout);
	rb_summary_release(&s);
	return EXIT_NONO_OK;
}

struct diff_ctx {
	const char *only;
};

static int print_change(void *ud, const char *root, const struct rb_entry *e, enum rb_change c)
{
	const struct diff_ctx *dc = ud;
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", root, e->path) < 0)
		return -ENOMEM;
	if (dc->only && !path_is_beneath(p, dc->only))
		return 0;
	(void)printf("%c %s%s\n",
		     c == RB_CREATED   ? '+'
		     : c == RB_DELETED ? '-'
				       : '~',
		     p, e->type == RB_DIR ? "/" : "");
	return 0;
}

static int do_diff(const char *base, const char *id, const char *path)
{
	_cleanup_manifest_ struct rb_manifest *pre = NULL, *post = NULL;
	_cleanup_free_ char *abs = NULL;
	if (load_session(base, id, &pre, &post) < 0)
		return EXIT_NONO_ERROR;
	if (!post) {
		log_error("session '%s' has no post-run snapshot to compare with", id);
		return EXIT_NONO_ERROR;
	}
	if (path && path_absolute(path, NULL, &abs) < 0) {
		log_error("invalid path '%s'", path);
		return EXIT_NONO_ERROR;
	}
	struct diff_ctx dc = {.only = abs};
	int r = rb_diff(pre, post, print_change, &dc);
	if (r < 0) {
		log_error_errno(r, "cannot compare the snapshots of '%s'", id);
		return EXIT_NONO_ERROR;
	}
	return EXIT_NONO_OK;
}

static int do_restore(const char *base, const char *id, const char *path)
{
	_cleanup_manifest_ struct rb_manifest *pre = NULL;
	_cleanup_store_ struct rb_store *store = NULL;
	_cleanup_free_ char *abs = NULL;
	struct rb_stats st = {0};
	int r;
	if (load_session(base, id, &pre, NULL) < 0)
		return EXIT_NONO_ERROR;
	if (path && path_absolute(path, NULL, &abs) < 0) {
		log_error("invalid path '%s'", path);
		return EXIT_NONO_ERROR;
	}
	if ((r = rb_store_open(base, &store)) < 0) {
		log_error_errno(r, "cannot open the rollback store '%s/objects'", base);
		return EXIT_NONO_ERROR;
	}
	r = rb_restore(store, pre, abs, &st);
	if (r == -ENOENT && abs) {
		log_error("'%s' is not inside a directory session '%s' snapshotted", abs, id);
		return EXIT_NONO_ERROR;
	}
	if (r == -EBADMSG) {
		log_error("a stored object of session '%s' is corrupt (its content does not "
			  "match its SHA-256): the file it holds was not restored",
			  id);
		return EXIT_NONO_ERROR;
	}
	if (r < 0) {
		log_error_errno(r, "restore of session '%s' stopped (run it again to resume)", id);
		return EXIT_NONO_ERROR;
	}
	(void)printf("restored session %s: %llu written, %llu removed, %llu unchanged\n", id,
		     (unsigned long long)st.written, (unsigned long long)st.removed,
		     (unsigned long long)st.unchanged);
	return EXIT_NONO_OK;
}

static int do_prune(const char *base, long keep)
{
	_cleanup_free_ char *config = NULL;
	struct rb_limits l;
	struct diag d = {{0}};
	char buf[1024];
	size_t removed = 0, kept = 0;
	uint64_t objs = 0;
	int r;
	if (asprintf(&config, "%s/.config/nono/config.toml", getenv("HOME")) < 0)
		return EXIT_NONO_ERROR;
	if ((r = rb_limits_load(config, &l, &d)) < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	if (keep >= 0)
		l.max_sessions = keep;
	if (run_rollback_prune(base, &l, NULL, NULL, &removed, &kept, &objs) < 0)
		return EXIT_NONO_ERROR;
	(void)printf("%zu sessions removed, %zu kept, %llu objects removed\n", removed, kept,
		     (unsigned long long)objs);
	return EXIT_NONO_OK;
}

int cmd_rollback(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("rollback");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL, *base = NULL;
	const char *path = NULL;
	long keep = -1;
	int c;

	if (cli_getopt_tables(rollback_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_R_PATH:
			path = optarg;
			break;
		case OPT_R_KEEP: {
			uint64_t v;
			if (parse_u64(optarg, 100000, &v) < 0) {
				log_error("invalid value '%s' for --keep: expected a number of "
					  "sessions",
					  optarg);
				return EXIT_NONO_ERROR;
			}
			keep = (long)v;
			break;
		}
		case OPT_R_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono rollback' (see 'nono rollback "
				  "--help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind >= argc) {
		log_error("'nono rollback' needs a subcommand: list, show SESSION, diff SESSION "
			  "[PATH], restore SESSION [--path P] or prune");
		return EXIT_NONO_ERROR;
	}
	if (run_rollback_base(&base) < 0) {
		log_error("nono rollback needs an absolute HOME (~/.nono/rollback)");
		return EXIT_NONO_ERROR;
	}
	const char *sub = argv[optind++];
	int rest = argc - optind;
	if (streq(sub, "list") && rest == 0)
		return do_list(base);
	if (streq(sub, "show") && rest == 1)
		return do_show(base, argv[optind]);
	if (streq(sub, "diff") && (rest == 1 || rest == 2))
		return do_diff(base, argv[optind], rest == 2 ? argv[optind + 1] : NULL);
	if (streq(sub, "restore") && rest == 1)
		return do_restore(base, argv[optind], path);
	if (streq(sub, "prune") && rest == 0)
		return do_prune(base, keep);
	log_error("usage: %s", cmd->synopsis);
	return EXIT_NONO_ERROR;
}
