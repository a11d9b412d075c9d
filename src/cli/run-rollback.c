/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/run-rollback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/path.h"
#include "base/strv.h"
#include "cli/run-options.h"

static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

int run_rollback_opt(struct run_rollback_opts *o, int opt, const char *arg)
{
	char ***l = NULL;
	switch (opt) {
	case OPT_ROLLBACK:
		o->enabled = true;
		return 1;
	case OPT_NO_ROLLBACK:
		o->disabled = true;
		return 1;
	case OPT_NO_ROLLBACK_PROMPT:
		o->no_prompt = true;
		return 1;
	case OPT_AUDIT_INTEGRITY:
		o->fs_integrity = true;
		return 1;
	case OPT_ROLLBACK_ALL:
		o->filter.all = true;
		return 1;
	case OPT_ROLLBACK_EXCLUDE:
		l = &o->filter.exclude;
		break;
	case OPT_ROLLBACK_INCLUDE:
		l = &o->filter.include;
		break;
	case OPT_SKIP_DIR:
		l = &o->filter.skip_dirs;
		break;
	default:
		return 0;
	}
	if (!arg || !*arg) {
		log_error("empty value for a rollback option");
		return -EINVAL;
	}
	return strv_extend(l, arg) < 0 ? -ENOMEM : 1;
}

void run_rollback_opts_release(struct run_rollback_opts *o)
{
	o->filter.exclude = strv_free(o->filter.exclude);
	o->filter.include = strv_free(o->filter.include);
	o->filter.skip_dirs = strv_free(o->filter.skip_dirs);
}

int run_rollback_base(char **ret)
{
	const char *home = getenv("HOME");
	if (!home || home[0] != '/')
		return -ENOENT;
	return asprintf(ret, "%s/.nono/rollback", home) < 0 ? -ENOMEM : 0;
}

static bool id_valid(const char *id)
{
	size_t l = strlen(id);
	if (l == 0 || l > 64)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

int run_rollback_open_session(const char *base, const char *id, int *ret_fd)
{
	_cleanup_free_ char *p = NULL;
	if (!id_valid(id))
		return -EINVAL;
	if (asprintf(&p, "%s/sessions/%s", base, id) < 0)
		return -ENOMEM;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

/* The user's write grants: flags, environment, profile, working directory. System
 * grants (/tmp, /dev/...) are not the project's state and are private per session. */
static int tracked_roots(const struct sandbox_spec *spec, char ***ret)
{
	_cleanup_strv_free_ char **roots = NULL;
	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		enum origin_kind k = g->origin.kind;
		if (!(g->access & FS_WRITE) || g->is_file || !g->exists ||
		    (k != ORIGIN_CLI && k != ORIGIN_ENV && k != ORIGIN_PROFILE &&
		     k != ORIGIN_WORKDIR))
			continue;
		if (streq(g->path, "/") || startswith(g->path, "/dev/") ||
		    startswith(g->path, "/proc/") || startswith(g->path, "/sys/") ||
		    streq(g->path, "/tmp") || streq(g->path, "/var/tmp"))
			continue;
		if (strv_extend_unique(&roots, g->path) < 0)
			return -ENOMEM;
	}
	/* A root beneath another is covered by it. */
	_cleanup_strv_free_ char **out = NULL;
	STRV_FOREACH(r, roots)
	{
		bool nested = false;
		STRV_FOREACH(o, roots)
		if (o != r && path_is_beneath(*r, *o) && !streq(*r, *o))
			nested = true;
		if (!nested && strv_extend(&out, *r) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* The newest session's last manifest: hashes to reuse for unchanged files. */
static struct rb_manifest *latest_manifest(const char *base, const char *skip_id,
					   struct rb_store *s)
{
	_cleanup_free_ char *p = NULL, *best = NULL;
	if (asprintf(&p, "%s/sessions", base) < 0)
		return NULL;
	DIR *d = opendir(p);
	if (!d)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (id_valid(de->d_name) && !streq(de->d_name, skip_id) &&
		    (!best || strcmp(de->d_name, best) > 0)) {
			free(best);
			best = strdup(de->d_name);
		}
	closedir(d);
	if (!best)
		return NULL;
	_cleanup_close_ int fd = -1;
	struct rb_manifest *m = NULL;
	if (run_rollback_open_session(base, best, &fd) < 0)
		return NULL;
	/* Its index, the body unread: a stat cache, and the body an unchanged snapshot
	 * references is the object itself, checked whenever it is loaded. */
	if (rb_manifest_load_at(fd, "001.json", s, RB_LOAD_TRUST_KEY, &m) < 0)
		(void)rb_manifest_load_at(fd, "000.json", s, RB_LOAD_TRUST_KEY, &m);
	return m;
}

static int write_session_json(struct run_rollback *rb, char *const *cmdv, int exit_code, bool ended)
{
	json_t *argv = json_array(), *roots = json_array();
	STRV_FOREACH(c, cmdv)
	(void)json_array_append_new(argv, json_string(*c));
	STRV_FOREACH(r, rb->roots)
	(void)json_array_append_new(roots, json_string(*r));
	json_t *j = json_pack("{s:s, s:o, s:o, s:I}", "id", rb->id, "command", argv, "roots", roots,
			      "started", (json_int_t)time(NULL));
	if (!j)
		return -ENOMEM;
	if (ended) {
		/* Keep what begin wrote; add the end. */
		_cleanup_close_ int fd =
		    openat(rb->session_fd, "session.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		json_t *old = fd >= 0 ? json_loadfd(fd, 0, NULL) : NULL;
		if (old) {
			json_decref(j);
			j = old;
		}
		(void)json_object_set_new(j, "ended", json_integer(time(NULL)));
		(void)json_object_set_new(j, "exit_code", json_integer(exit_code));
	}
	char tmp[] = ".session.json.tmp";
	_cleanup_close_ int fd = openat(
	    rb->session_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : json_dumpfd(j, fd, JSON_INDENT(2)) < 0 ? -EIO : 0;
	json_decref(j);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(rb->session_fd, tmp, rb->session_fd, "session.json") < 0)
		r = -errno;
	return r;
}

/* Leave the store (and anything else under ~/.nono) out of a root that holds it. */
static int exclude_state(struct rb_filter *f, const char *root)
{
	const char *home = getenv("HOME");
	_cleanup_free_ char *state = NULL;
	if (!home || asprintf(&state, "%s/.nono", home) < 0)
		return home ? -ENOMEM : 0;
	const char *rel = path_is_beneath(state, root) ? state + strlen(root) : NULL;
	while (rel && *rel == '/')
		rel++;
	if (!rel || !*rel || strv_contains(f->exclude, rel))
		return 0;
	/* "/" substring rules need a '/': a top-level name is matched as a component. */
	return strv_extend(&f->exclude, rel) < 0 ? -ENOMEM : 0;
}

/*
 * --audit-integrity (and --rollback, which implies it): the Merkle root of the tracked
 * state, as an event in the chained audit log and in session.json ("fs_integrity"), so
 * that 'nono audit verify' can tell an edited record from the logged one.
 */
static int record_fs_root(struct run_rollback *rb, const struct rb_manifest *m, bool after)
{
	char root[65];
	uint64_t leaves = 0;
	json_t *paths = json_array(), *rec;
	int r;
	if (!rb->audit)
		return 0;
	if ((r = rb_merkle_root(m, root, &leaves)) < 0)
		return r;
	STRV_FOREACH(p, rb->roots)
	(void)json_array_append_new(paths, json_string(*p));
	json_t *ev =
	    json_pack("{s:s, s:s, s:I, s:O}", "phase", after ? "after" : "before", "merkle_root",
		      root, "entries", (json_int_t)leaves, "tracked_paths", paths);
	if (!ev || (r = audit_append_event(rb->audit, "fs_integrity", ev)) < 0) {
		json_decref(paths);
		return r < 0 ? r : -ENOMEM;
	}
	if (!after)
		memcpy(rb->before, root, 65);
	rec = json_pack("{s:s, s:o, s:s, s:s?}", "algorithm", "sha256-merkle", "tracked_paths",
			paths, "before", rb->before, "after", after ? root : NULL);
	return rec ? audit_set_record(rb->audit, "fs_integrity", rec) : -ENOMEM;
}

/* --audit-integrity alone: the state hashed, nothing stored. */
static int begin_hash_only(struct run_rollback *rb, const struct run_rollback_opts *o,
			   const struct sandbox_spec *spec)
{
	struct rb_filter f = o->filter;
	int r;
	if ((r = tracked_roots(spec, &rb->roots)) < 0)
		return r;
	if (!rb->roots) {
		log_warning("--audit-integrity: no write-granted directory to hash");
		return 0;
	}
	f.exclude = strv_copy(o->filter.exclude);
	if (o->filter.exclude && !f.exclude)
		return -ENOMEM;
	STRV_FOREACH(root, rb->roots)
	if ((r = exclude_state(&f, *root)) < 0)
		break;
	if (r >= 0)
		r = rb_snapshot(NULL, rb->roots, &f, NULL, 0, &rb->pre, NULL);
	strv_free(f.exclude);
	if (r >= 0)
		r = record_fs_root(rb, rb->pre, false);
	if (r < 0) {
		log_error_errno(r, "cannot hash the tracked state of '%s' (--audit-integrity)",
				rb->roots[0]);
		return r;
	}
	rb->hash_only = true;
	return 0;
}

bool run_rollback_active(const struct run_rollback_opts *o)
{
	return !o->disabled && (o->enabled || o->fs_integrity);
}

int run_rollback_begin(struct run_rollback *rb, const struct run_rollback_opts *o,
		       const struct sandbox_spec *spec, const char *session_id, char *const *cmdv)
{
	_cleanup_free_ char *base = NULL, *sessions = NULL, *dir = NULL;
	_cleanup_manifest_ struct rb_manifest *prev = NULL;
	struct rb_filter f = {0};
	struct rb_stats st = {0};
	int r;

	if (!run_rollback_active(o))
		return 0;
	if (!o->enabled)
		return begin_hash_only(rb, o, spec);
	if ((r = run_rollback_base(&base)) < 0) {
		log_error("--rollback needs an absolute HOME for ~/.nono/rollback");
		return r;
	}
	{
		_cleanup_free_ char *config = NULL;
		struct diag d = {{0}};
		char buf[1024];
		if (asprintf(&config, "%s/.config/nono/config.toml", getenv("HOME")) < 0)
			goto oom;
		/* Checked now: a bad [rollback] is found before the run, not after it. */
		if ((r = rb_limits_load(config, &rb->limits, &d)) < 0) {
			log_error("%s",
				  d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
			return r;
		}
	}
	if ((r = tracked_roots(spec, &rb->roots)) < 0)
		goto oom;
	if (!rb->roots) {
		log_warning("--rollback: no write-granted directory to snapshot");
		return 0;
	}
	if (session_id)
		rb->id = strdup(session_id);
	else {
		char buf[64];
		time_t now = time(NULL);
		struct tm tm;
		(void)strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", gmtime_r(&now, &tm));
		r = asprintf(&rb->id, "%s-%d", buf, (int)getpid());
		if (r < 0)
			rb->id = NULL;
	}
	if (!rb->id)
		goto oom;
	if ((r = rb_store_open(base, &rb->store)) < 0) {
		log_error_errno(r, "cannot open the rollback store '%s/objects'", base);
		return r;
	}
	if (asprintf(&sessions, "%s/sessions", base) < 0 ||
	    asprintf(&dir, "%s/%s", sessions, rb->id) < 0)
		goto oom;
	(void)mkdir(sessions, 0700);
	if (mkdir(dir, 0700) < 0 ||
	    (r = run_rollback_open_session(base, rb->id, &rb->session_fd)) < 0) {
		r = r < 0 ? r : -errno;
		log_error_errno(r, "cannot create the rollback session '%s'", dir);
		return r;
	}
	/* Held until release: a prune elsewhere leaves a running session alone. */
	if (flock(rb->session_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		log_error_errno(r, "cannot lock the rollback session '%s'", dir);
		return r;
	}
	f = o->filter;
	f.exclude = strv_copy(o->filter.exclude);
	if (o->filter.exclude && !f.exclude)
		goto oom;
	STRV_FOREACH(root, rb->roots)
	if ((r = exclude_state(&f, *root)) < 0) {
		strv_free(f.exclude);
		goto oom;
	}
	prev = latest_manifest(base, rb->id, rb->store);
	/* Shared: no sweep while objects this snapshot stores or reuses are unreferenced. */
	r = rb_store_lock(rb->store, LOCK_SH);
	if (r >= 0)
		r = rb_snapshot(rb->store, rb->roots, &f, prev, 0, &rb->pre, &st);
	strv_free(f.exclude);
	if (r >= 0)
		r = rb_store_sync(rb->store);
	if (r >= 0)
		r = rb_manifest_write_at(rb->session_fd, "000.json", rb->store, rb->pre);
	(void)rb_store_lock(rb->store, LOCK_UN);
	if (r >= 0)
		r = write_session_json(rb, cmdv, 0, false);
	if (r >= 0)
		r = record_fs_root(rb, rb->pre, false);
	if (r < 0) {
		log_error_errno(r, "cannot take the rollback snapshot of '%s'", rb->roots[0]);
		return r;
	}
	log_info("rollback session %s: %llu files (%llu read, %llu unchanged), %llu directories "
		 "(%llu listed), %llu entries excluded",
		 rb->id, (unsigned long long)st.files, (unsigned long long)st.hashed,
		 (unsigned long long)st.reused, (unsigned long long)st.dirs,
		 (unsigned long long)st.dirs_listed, (unsigned long long)st.excluded);
	return 0;
oom:
	log_error_errno(-ENOMEM, "out of memory");
	return -ENOMEM;
}

static int collect(void *ud, const char *root, const struct rb_entry *e, enum rb_change c)
{
	struct rb_summary *s = ud;
	if (s->n[c] < ARRAY_SIZE(s->first[c]) &&
	    asprintf(&s->first[c][s->n[c]], "%s/%s", root, e->path) < 0)
		return -ENOMEM;
	s->n[c]++;
	return 0;
}

int rb_summary_collect(const struct rb_manifest *from, const struct rb_manifest *to,
		       struct rb_summary *s)
{
	return rb_diff(from, to, collect, s);
}

void rb_summary_print(const struct rb_summary *s, FILE *out)
{
	static const char *const what[RB_CHANGE_MAX] = {"created", "modified", "deleted"};
	for (int c = 0; c < RB_CHANGE_MAX; c++) {
		(void)fprintf(out, "  %zu %s\n", s->n[c], what[c]);
		for (size_t i = 0; i < s->n[c] && i < ARRAY_SIZE(s->first[c]); i++)
			(void)fprintf(out, "    %s\n", s->first[c][i]);
		if (s->n[c] > ARRAY_SIZE(s->first[c]))
			(void)fprintf(out, "    ...\n");
	}
}

void rb_summary_release(struct rb_summary *s)
{
	for (int c = 0; c < RB_CHANGE_MAX; c++)
		for (size_t i = 0; i < ARRAY_SIZE(s->first[c]); i++)
			s->first[c][i] = mfree(s->first[c][i]);
}

int run_rollback_end(struct run_rollback *rb, const struct run_rollback_opts *o, int exit_code)
{
	_cleanup_manifest_ struct rb_manifest *post = NULL;
	struct rb_summary sum = {{0}};
	int r;
	if (!rb->pre)
		return 0;
	if (rb->hash_only) {
		/* Incremental against the pre-run state: only what changed is read. */
		r = rb_snapshot(NULL, rb->roots, &rb->pre->filter, rb->pre, 1, &post, NULL);
		if (r >= 0)
			r = record_fs_root(rb, post, true);
		if (r < 0)
			log_error_errno(r, "cannot hash the tracked state after the run "
					   "(--audit-integrity)");
		return r;
	}
	r = rb_store_lock(rb->store, LOCK_SH);
	if (r >= 0)
		r = rb_snapshot(rb->store, rb->roots, &rb->pre->filter, rb->pre, 1, &post, NULL);
	if (r >= 0)
		r = rb_store_sync(rb->store);
	if (r >= 0)
		r = rb_manifest_write_at(rb->session_fd, "001.json", rb->store, post);
	(void)rb_store_lock(rb->store, LOCK_UN);
	if (r >= 0)
		r = write_session_json(rb, NULL, exit_code, true);
	if (r >= 0)
		r = record_fs_root(rb, post, true);
	if (r < 0) {
		log_error_errno(r,
				"cannot take the post-run rollback snapshot (session %s; the "
				"pre-run one is kept)",
				rb->id);
		return r;
	}
	{
		_cleanup_free_ char *base = NULL;
		size_t removed = 0, kept = 0;
		uint64_t objs = 0;
		if (run_rollback_base(&base) >= 0 &&
		    run_rollback_prune(base, &rb->limits, rb->store, rb->id, &removed, &kept,
				       &objs) >= 0 &&
		    removed > 0)
			log_info("rollback retention: %zu old sessions removed ([rollback] "
				 "max_sessions %lld, max_storage_gb %lld)",
				 removed, rb->limits.max_sessions,
				 rb->limits.max_storage_bytes >> 30);
	}
	if (o->no_prompt || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return 0;
	if ((r = rb_summary_collect(rb->pre, post, &sum)) < 0)
		return r;
	if (sum.n[RB_CREATED] + sum.n[RB_MODIFIED] + sum.n[RB_DELETED] == 0) {
		rb_summary_release(&sum);
		return 0;
	}
	(void)fprintf(stderr, "\nrollback session %s: changes made by the command\n", rb->id);
	rb_summary_print(&sum, stderr);
	rb_summary_release(&sum);
	(void)fprintf(stderr, "keep these changes or restore the pre-run state? [K/r] ");
	char line[16];
	if (!fgets(line, sizeof(line), stdin) || (line[0] != 'r' && line[0] != 'R')) {
		(void)fprintf(stderr, "kept (restore later: nono rollback restore %s)\n", rb->id);
		return 0;
	}
	struct rb_stats st = {0};
	r = rb_restore(rb->store, rb->pre, NULL, &st);
	if (r < 0) {
		log_error_errno(r,
				"restore of session %s failed (run 'nono rollback restore %s' "
				"to resume)",
				rb->id, rb->id);
		return r;
	}
	(void)fprintf(stderr, "restored: %llu written, %llu removed\n",
		      (unsigned long long)st.written, (unsigned long long)st.removed);
	return 0;
}

void run_rollback_release(struct run_rollback *rb)
{
	rb->id = mfree(rb->id);
	rb->session_fd = safe_close(rb->session_fd);
	rb->store = rb_store_free(rb->store);
	rb->pre = rb_manifest_free(rb->pre);
	rb->roots = strv_free(rb->roots);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Session ids, oldest first. */
int run_rollback_list(const char *base, char ***ret)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_strv_free_ char **ids = NULL;
	if (asprintf(&p, "%s/sessions", base) < 0)
		return -ENOMEM;
	DIR *d = opendir(p);
	if (!d) {
		*ret = NULL;
		return errno == ENOENT ? 0 : -errno;
	}
	struct dirent *de;
	int fd;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || run_rollback_open_session(base, de->d_name, &fd) < 0)
			continue;
		safe_close(fd);
		if (strv_extend(&ids, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	if (ids)
		qsort(ids, strv_length(ids), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(ids);
	return 0;
}

static int rm_session(const char *base, const char *id)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -EBADF;
	static const char *const files[] = {"000.json", "001.json", "session.json"};
	if (run_rollback_open_session(base, id, &fd) < 0 ||
	    asprintf(&p, "%s/sessions/%s", base, id) < 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		(void)unlinkat(fd, files[i], 0);
	return rmdir(p) < 0 ? -errno : 0;
}

/* A running session holds an exclusive flock on its directory (run_rollback_begin). */
static bool session_live(const char *base, const char *id)
{
	_cleanup_close_ int fd = -EBADF;
	if (run_rollback_open_session(base, id, &fd) < 0)
		return false;
	return flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* The distinct manifests of the sessions ids (one load per body hash). */
struct mset {
	struct rb_manifest **m;
	size_t n;
	char **keys;
};

static void mset_release(struct mset *s)
{
	for (size_t i = 0; i < s->n; i++)
		rb_manifest_free(s->m[i]);
	s->m = mfree(s->m);
	s->keys = strv_free(s->keys);
	s->n = 0;
}

static int mset_add(struct mset *s, const char *base, const char *id, struct rb_store *store,
		    bool skip_loaded, char *const *skip_keys)
{
	static const char *const names[] = {"000.json", "001.json"};
	_cleanup_close_ int fd = -EBADF;
	int r = run_rollback_open_session(base, id, &fd);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char key[65];
		struct rb_manifest *m = NULL;
		bool keyed = rb_manifest_peek_key(fd, names[i], key) >= 0;
		if (keyed &&
		    ((skip_loaded && strv_contains(s->keys, key)) || strv_contains(skip_keys, key)))
			continue;
		r = rb_manifest_load_at(fd, names[i], store, RB_LOAD_TRUST_KEY, &m);
		if (r == -ENOENT)
			continue; /* a run that ended before its snapshot: nothing to keep */
		if (r < 0)
			return r;
		struct rb_manifest **nm = realloc(s->m, (s->n + 1) * sizeof(*nm));
		if (!nm || (keyed && strv_extend(&s->keys, key) < 0)) {
			s->m = nm ? nm : s->m;
			rb_manifest_free(m);
			return -ENOMEM;
		}
		s->m = nm;
		s->m[s->n++] = m;
	}
	return 0;
}

static int hash_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The body hashes the sessions' manifests name in their headers (cheap: no load). */
static int peek_keys(const char *base, char *const *ids, char ***ret)
{
	static const char *const names[] = {"000.json", "001.json"};
	_cleanup_strv_free_ char **keys = NULL;
	STRV_FOREACH(id, ids)
	{
		_cleanup_close_ int fd = -EBADF;
		char key[65];
		if (run_rollback_open_session(base, *id, &fd) < 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (rb_manifest_peek_key(fd, names[i], key) >= 0 &&
			    strv_extend_unique(&keys, key) < 0)
				return -ENOMEM;
	}
	*ret = TAKE_PTR(keys);
	return 0;
}

/*
 * Objects no remaining session references go. full: mark and sweep over the whole store
 * (also what a crashed snapshot left); else only the objects of cand (the manifests of
 * the removed sessions) are candidates. Skipped while a snapshot is being taken (it may
 * be reusing an object only it knows of yet).
 */
static int sweep(const char *base, struct rb_store *store, char *const *kept,
		 const struct mset *cand, bool full, uint64_t *objs)
{
	struct mset keep = {0};
	_cleanup_free_ char **live = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	if (!full && (!cand || cand->n == 0))
		return 0;
	if (rb_store_lock(store, LOCK_EX | LOCK_NB) < 0)
		return 0;
	STRV_FOREACH(id, kept)
	if ((r = mset_add(&keep, base, *id, store, true, NULL)) < 0) {
		/* Unreadable: sweeping now could drop objects it needs. */
		log_error("not removing unreferenced objects: rollback session '%s' is "
			  "unreadable",
			  *id);
		goto out;
	}
	if (full) {
		uint64_t removed = 0;
		r = rb_store_sweep(store, keep.m, keep.n, &removed);
		if (r < 0)
			log_error_errno(r, "cannot remove unreferenced rollback objects");
		else
			*objs += removed;
		goto out;
	}
	for (size_t k = 0; k < keep.n; k++)
		for (size_t i = 0; i < keep.m[k]->n_roots; i++)
			for (size_t j = 0; j < keep.m[k]->roots[i].n_entries; j++) {
				struct rb_entry *e = &keep.m[k]->roots[i].entries[j];
				if (e->type != RB_FILE)
					continue;
				if (n == cap) {
					cap = cap ? cap * 2 : 1024;
					char **nl = realloc(live, cap * sizeof(*nl));
					if (!nl) {
						r = -ENOMEM;
						goto out;
					}
					live = nl;
				}
				live[n++] = e->hash;
			}
	if (n)
		qsort(live, n, sizeof(*live), hash_cmp);
	for (size_t k = 0; k < cand->n; k++) {
		const char *b = cand->m[k]->body_hash;
		if (cand->m[k]->body_stored && !strv_contains(keep.keys, b) &&
		    rb_store_unlink(store, b) == 0)
			(*objs)++;
		for (size_t i = 0; i < cand->m[k]->n_roots; i++)
			for (size_t j = 0; j < cand->m[k]->roots[i].n_entries; j++) {
				const char *h = cand->m[k]->roots[i].entries[j].hash;
				if (cand->m[k]->roots[i].entries[j].type != RB_FILE ||
				    (n && bsearch(&h, live, n, sizeof(*live), hash_cmp)))
					continue;
				if (rb_store_unlink(store, h) == 0)
					(*objs)++;
			}
	}
out:
	(void)rb_store_lock(store, LOCK_UN);
	mset_release(&keep);
	return r;
}

int run_rollback_prune(const char *base, const struct rb_limits *l, struct rb_store *store,
		       const char *keep_id, size_t *ret_removed, size_t *ret_kept,
		       uint64_t *ret_objs)
{
	_cleanup_strv_free_ char **ids = NULL, **kept = NULL, **gone = NULL, **kept_keys = NULL;
	_cleanup_store_ struct rb_store *own = NULL;
	struct mset cand = {0};
	size_t n, removed = 0;
	uint64_t objs = 0, size = 0;
	/* An explicit prune counts and sweeps everything; after a run, only what changed. */
	bool full = !keep_id;
	int r = run_rollback_list(base, &ids);
	if (r >= 0 && !store && (r = rb_store_open(base, &own)) >= 0)
		store = own;
	if (r < 0) {
		log_error_errno(r, "cannot open the rollback store '%s'", base);
		return r;
	}
	n = strv_length(ids);
	/* Oldest first; the session just taken (keep_id) and running ones always stay. */
	for (size_t i = 0; i < n; i++) {
		bool stays = (keep_id && streq(ids[i], keep_id)) || session_live(base, ids[i]);
		if (!stays && n - strv_length(gone) > (size_t)l->max_sessions)
			r = strv_extend(&gone, ids[i]);
		else
			r = strv_extend(&kept, ids[i]);
		if (r < 0)
			return -ENOMEM;
	}
	/* What the removed sessions referenced, read before they go; a manifest body a kept
	 * session shares (an unchanged tree) adds nothing to look at. */
	if (gone && !full) {
		if ((r = peek_keys(base, kept, &kept_keys)) < 0)
			return r;
		STRV_FOREACH(id, gone)
		if (mset_add(&cand, base, *id, store, true, kept_keys) < 0)
			mset_release(&cand); /* unreadable: its objects wait for a full prune */
	}
	STRV_FOREACH(id, gone)
	{
		if ((r = rm_session(base, *id)) < 0) {
			log_error_errno(r, "cannot remove rollback session '%s'", *id);
			goto out;
		}
		removed++;
	}
	if ((removed || full) && (r = sweep(base, store, kept, &cand, full, &objs)) < 0)
		goto out;
	if ((r = rb_store_usage(store, full, &size)) < 0)
		goto out;
	/* Over the size cap: the oldest that may go, one at a time, counted exactly. */
	while ((long long)size > l->max_storage_bytes) {
		size_t i, nk = strv_length(kept);
		for (i = 0; i + 1 < nk; i++) /* never the newest */
			if (!(keep_id && streq(kept[i], keep_id)) && !session_live(base, kept[i]))
				break;
		if (i + 1 >= nk)
			break;
		if ((r = rm_session(base, kept[i])) < 0) {
			log_error_errno(r, "cannot remove rollback session '%s'", kept[i]);
			goto out;
		}
		removed++;
		free(kept[i]);
		memmove(kept + i, kept + i + 1, (nk - i) * sizeof(*kept));
		if ((r = sweep(base, store, kept, NULL, true, &objs)) < 0 ||
		    (r = rb_store_usage(store, true, &size)) < 0)
			goto out;
	}
	*ret_removed = removed;
	*ret_kept = strv_length(kept);
	*ret_objs = objs;
	r = 0;
out:
	mset_release(&cand);
	return r;
}
