/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono audit list | show SESSION [--json] | verify SESSION | prune [--dry-run]
 * Reads ~/.nono/audit/ ($HOME honoured). verify exits 0 when the event log is intact,
 * 1 when it was tampered with or cannot be checked. prune applies the [audit] limits
 * of ~/.config/nono/config.toml (audit/retention.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/retention.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "supervisor/session-attest.h"

enum {
	OPT_A_JSON = 0x100,
	OPT_A_PUBKEY,
	OPT_A_DRY_RUN,
	OPT_A_HELP = 'h',
};

/* clang-format off */
const struct cli_option audit_options[] = {
	{"json", 0, no_argument, OPT_A_JSON, NULL, "show: print the session record and events as JSON", NULL, false},
	{"dry-run", 'n', no_argument, OPT_A_DRY_RUN, NULL, "prune: list what would be removed, remove nothing", NULL, false},
	{"public-key-file", 0, required_argument, OPT_A_PUBKEY, "FILE", "verify: check the attestation's signature with this public key (PEM or base64 DER)", NULL, false},
	{"help", 'h', no_argument, OPT_A_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

static int session_dir(const char *id, char **ret)
{
	_cleanup_free_ char *root = NULL;
	if (!audit_session_id_valid(id)) {
		log_error("invalid session id '%s' (see 'nono audit list')", id);
		return -EINVAL;
	}
	if (audit_root(getenv("HOME"), &root) < 0) {
		log_error("HOME is not an absolute path: cannot find the audit trail");
		return -EINVAL;
	}
	if (asprintf(ret, "%s/%s", root, id) < 0)
		return -ENOMEM;
	if (access(*ret, F_OK) < 0) {
		log_error("no audit session '%s' in '%s' (see 'nono audit list')", id, root);
		return -ENOENT;
	}
	return 0;
}

static json_t *load_json(const char *path)
{
	json_error_t je;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? NULL : json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int audit_list(void)
{
	_cleanup_free_ char *root = NULL;
	_cleanup_strv_free_ char **ids = NULL;
	if (audit_root(getenv("HOME"), &root) < 0) {
		log_error("HOME is not an absolute path: cannot find the audit trail");
		return EXIT_NONO_ERROR;
	}
	DIR *dir = opendir(root);
	if (!dir) {
		if (errno == ENOENT)
			return EXIT_NONO_OK; /* no sessions yet */
		log_error_errno(-errno, "cannot read '%s'", root);
		return EXIT_NONO_ERROR;
	}
	struct dirent *de;
	while ((de = readdir(dir)))
		if (audit_session_id_valid(de->d_name) && strv_extend(&ids, de->d_name) < 0) {
			closedir(dir);
			log_error_errno(-ENOMEM, "out of memory");
			return EXIT_NONO_ERROR;
		}
	closedir(dir);
	if (ids)
		qsort(ids, strv_length(ids), sizeof(char *), strcmp_p);
	STRV_FOREACH(id, ids)
	{
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s/%s/session.json", root, *id) < 0)
			return EXIT_NONO_ERROR;
		json_t *s = load_json(p);
		json_t *st = json_object_get(s, "exit_status");
		json_t *cmd = json_object_get(s, "command");
		char status[32];
		if (json_is_integer(st))
			(void)snprintf(status, sizeof(status), "exit %lld",
				       (long long)json_integer_value(st));
		else
			(void)snprintf(status, sizeof(status), "%s",
				       s ? "unfinished" : "unreadable");
		(void)printf("%s  %s  %-10s", *id,
			     strempty(json_string_value(json_object_get(s, "start_time"))), status);
		size_t i;
		json_t *a;
		json_array_foreach(cmd, i, a)(void)
		    printf("%s%s", i ? " " : "  ", strempty(json_string_value(a)));
		(void)putchar('\n');
		json_decref(s);
	}
	return EXIT_NONO_OK;
}

static int audit_show(const char *id, bool as_json)
{
	_cleanup_free_ char *dir = NULL, *sp = NULL, *ep = NULL;
	if (session_dir(id, &dir) < 0 || asprintf(&sp, "%s/session.json", dir) < 0 ||
	    asprintf(&ep, "%s/audit-events.ndjson", dir) < 0)
		return EXIT_NONO_ERROR;
	json_t *s = load_json(sp);
	if (!s) {
		log_error("cannot read '%s'", sp);
		return EXIT_NONO_ERROR;
	}
	json_t *events = json_array();
	FILE *f = fopen(ep, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (f && (n = getline(&line, &cap, f)) > 0 && n <= AUDIT_MAX_LINE) {
		json_error_t je;
		json_t *ev = json_loadb(line, (size_t)n, 0, &je);
		if (ev)
			(void)json_array_append_new(events, ev);
	}
	if (f)
		(void)fclose(f);
	if (as_json) {
		json_t *o = json_pack("{s:O,s:O}", "session", s, "events", events);
		char *t = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (t)
			(void)printf("%s\n", t);
		free(t);
		json_decref(o);
	} else {
		char *t = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (t)
			(void)printf("%s\n", t);
		free(t);
		size_t i;
		json_t *ev;
		(void)printf("%zu network events:\n", json_array_size(events));
		json_array_foreach(events, i, ev)
		{
			const char *type = json_string_value(json_object_get(ev, "type"));
			if (type && streq(type, "session")) { /* attach, detach */
				const char *when = json_string_value(json_object_get(ev, "time"));
				const char *what = json_string_value(json_object_get(ev, "event"));
				json_int_t uid = json_integer_value(json_object_get(ev, "uid"));
				(void)printf("  %s SESSION %s uid=%lld\n", strempty(when),
					     strempty(what), (long long)uid);
				continue;
			}
			const char *reason = json_string_value(json_object_get(ev, "reason"));
			json_int_t count = json_integer_value(json_object_get(ev, "count"));
			char times[32] = "";
			if (count > 1) /* a burst of refusals recorded as one event */
				(void)snprintf(times, sizeof(times), " count=%lld",
					       (long long)count);
			(void)printf("  %s %s %s %s:%lld%s%s%s%s\n",
				     strempty(json_string_value(json_object_get(ev, "time"))),
				     json_is_true(json_object_get(ev, "allow")) ? "ALLOW" : "DENY",
				     strempty(json_string_value(json_object_get(ev, "method"))),
				     strempty(json_string_value(json_object_get(ev, "host"))),
				     (long long)json_integer_value(json_object_get(ev, "port")),
				     strempty(json_string_value(json_object_get(ev, "path"))),
				     reason ? " reason=" : "", strempty(reason), times);
		}
	}
	json_decref(s);
	json_decref(events);
	return EXIT_NONO_OK;
}

/*
 * --audit-integrity: the filesystem Merkle roots session.json records ("fs_integrity")
 * must be the ones the chained log holds (its "fs_integrity" events, which audit_verify
 * has just checked). Returns -EBADMSG, having printed which one differs.
 */
static int verify_fs_integrity(const char *dir, const char *id, bool finished)
{
	static const char *const phases[] = {"before", "after"};
	char path[4200], *line = NULL;
	size_t cap = 0;
	const char *logged[2] = {NULL, NULL};
	json_t *evs[2] = {NULL, NULL};
	int r = 0;
	(void)snprintf(path, sizeof(path), "%s/audit-events.ndjson", dir);
	FILE *f = fopen(path, "re");
	while (f && getline(&line, &cap, f) > 0) {
		json_t *ev = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		const char *ph = json_string_value(json_object_get(ev, "phase"));
		const char *root = json_string_value(json_object_get(ev, "merkle_root"));
		int k = !ph ? -1 : streq(ph, "before") ? 0 : streq(ph, "after") ? 1 : -1;
		if (ev &&
		    streq(strempty(json_string_value(json_object_get(ev, "type"))),
			  "fs_integrity") &&
		    k >= 0 && root && !evs[k]) {
			evs[k] = ev;
			logged[k] = root;
		} else
			json_decref(ev);
	}
	free(line);
	if (f)
		(void)fclose(f);
	(void)snprintf(path, sizeof(path), "%s/session.json", dir);
	json_t *s = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	json_t *rec = json_object_get(s, "fs_integrity");
	for (int k = 0; k < 2 && r >= 0 && (finished || rec); k++) {
		json_t *v = json_object_get(rec, phases[k]);
		const char *recorded = json_string_value(v);
		if (logged[k] && !streq(strempty(recorded), logged[k])) {
			log_error(
			    "audit session '%s' FAILED verification: %s: the filesystem Merkle "
			    "root '%s' in session.json does not match the audit log (%s)",
			    id, path, phases[k], logged[k]);
			r = -EBADMSG;
		} else if (!logged[k] && recorded) {
			log_error(
			    "audit session '%s' FAILED verification: %s: session.json records "
			    "a filesystem Merkle root '%s' the audit log does not hold",
			    id, path, phases[k]);
			r = -EBADMSG;
		}
	}
	if (r >= 0 && logged[0])
		(void)printf("session %s: filesystem state before %s, after %s\n", id, logged[0],
			     logged[1] ? logged[1] : "(not recorded)");
	json_decref(s);
	json_decref(evs[0]);
	json_decref(evs[1]);
	return r;
}

static int audit_verify_cmd(const char *id, const char *pubkey)
{
	_cleanup_free_ char *dir = NULL;
	struct audit_verify_result res;
	struct diag d = {{0}};
	char buf[2048];
	if (session_dir(id, &dir) < 0)
		return EXIT_NONO_ERROR;
	int r = audit_verify(dir, &res, &d);
	if (r < 0) {
		log_error("audit session '%s' FAILED verification: %s", id,
			  d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	if (!res.integrity) {
		(void)printf("session %s: %zu events, recorded without integrity "
			     "(--no-audit-integrity): nothing to verify\n",
			     id, res.events);
		return audit_attest_verify(dir, pubkey) < 0 ? EXIT_NONO_ERROR : EXIT_NONO_OK;
	}
	if (verify_fs_integrity(dir, id, res.finished) < 0)
		return EXIT_NONO_ERROR;
	(void)printf("session %s: OK, %zu events, chain head %s, Merkle root %s%s\n", id,
		     res.events, res.head, res.merkle_root,
		     res.finished ? ""
				  : " (session not finished: a cut tail cannot be detected yet)");
	return audit_attest_verify(dir, pubkey) < 0 ? EXIT_NONO_ERROR : EXIT_NONO_OK;
}

static void print_pruned(void *ud, const struct audit_prune_item *it)
{
	(void)printf("%s %s (%s, %llu bytes)\n", *(bool *)ud ? "would remove" : "removed", it->id,
		     it->why, (unsigned long long)it->bytes);
}

static int audit_prune_cmd(bool dry_run)
{
	_cleanup_free_ char *config = NULL;
	const char *home = getenv("HOME");
	struct audit_limits l;
	struct diag d = {{0}};
	size_t kept = 0;
	char buf[2048];
	int r;

	if (!home || home[0] != '/') {
		log_error("HOME is not an absolute path: cannot find the audit trail");
		return EXIT_NONO_ERROR;
	}
	if (asprintf(&config, "%s/.config/nono/config.toml", home) < 0)
		return EXIT_NONO_ERROR;
	if ((r = audit_limits_load(config, &l, &d)) < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	if (!audit_limits_any(&l)) {
		(void)printf("no [audit] limits in %s: nothing to prune (set max_sessions, "
			     "max_age_days or max_size_mb)\n",
			     config);
		return EXIT_NONO_OK;
	}
	if ((r = audit_prune(home, &l, dry_run, print_pruned, &dry_run, &kept, &d)) < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	(void)printf("%zu sessions kept\n", kept);
	return EXIT_NONO_OK;
}

int cmd_audit(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("audit");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	bool as_json = false, dry_run = false;
	const char *pubkey = NULL;
	int c;

	if (cli_getopt_tables(audit_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	if (argc < 2) {
		log_error(
		    "'nono audit' needs a subcommand: list, show SESSION, verify SESSION or prune");
		return EXIT_NONO_ERROR;
	}
	/* Options may come anywhere: optind = 0 re-initialises GNU getopt, which then
	 * moves the subcommand and the session id to the end (no "+" in so + 1). */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_A_JSON:
			as_json = true;
			break;
		case OPT_A_DRY_RUN:
			dry_run = true;
			break;
		case OPT_A_PUBKEY:
			pubkey = optarg;
			break;
		case OPT_A_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono audit' (see 'nono audit --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind >= argc) {
		log_error(
		    "'nono audit' needs a subcommand: list, show SESSION, verify SESSION or prune");
		return EXIT_NONO_ERROR;
	}
	const char *sub = argv[optind++];
	int rest = argc - optind;
	if (streq(sub, "list")) {
		if (rest != 0) {
			log_error("'nono audit list' takes no arguments");
			return EXIT_NONO_ERROR;
		}
		return audit_list();
	}
	if (streq(sub, "prune")) {
		if (rest != 0) {
			log_error("'nono audit prune' takes no arguments (limits: [audit] in "
				  "~/.config/nono/config.toml)");
			return EXIT_NONO_ERROR;
		}
		return audit_prune_cmd(dry_run);
	}
	if (streq(sub, "show") || streq(sub, "verify")) {
		if (rest != 1) {
			log_error("'nono audit %s' takes one session id (see 'nono audit list')",
				  sub);
			return EXIT_NONO_ERROR;
		}
		return streq(sub, "show") ? audit_show(argv[optind], as_json)
					  : audit_verify_cmd(argv[optind], pubkey);
	}
	log_error("unknown audit subcommand '%s': use list, show, verify or prune", sub);
	return EXIT_NONO_ERROR;
}
