/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pre-exec scan: find instruction files under the working directory and verify
 * each against the trust policy. The walk uses openat() on directory fds with
 * O_NOFOLLOW (a symlinked directory is not entered; a symlinked instruction file
 * fails, since hashing goes through openat2(RESOLVE_NO_SYMLINKS)).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "trust/trust.h"

#define SCAN_MAX_DEPTH	 64
#define SCAN_MAX_ENTRIES 10000000

const char *const trust_heavy_dirs[] = {
    ".git",	   "node_modules",  "target", ".venv",	 "venv", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".tox",   ".gradle", NULL,
};

struct trust_scan *trust_scan_free(struct trust_scan *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_found; i++) {
		free(s->found[i].path);
		free(s->found[i].reason);
		free(s->found[i].publisher);
	}
	free(s->found);
	free(s);
	return NULL;
}

struct walk {
	const struct trust_policy *p;
	char *const *skip;
	int root_fd;
	struct trust_scan *s;
	bool *include_hit;
	struct trust_bundle *multi; /* root/.nono-trust.bundle, parsed once */
	int multi_err;		    /* 0: not loaded yet; -ENOENT: none; <0: bad */
	char *multi_reason;
	bool multi_verified;
};

static int add_finding(struct trust_scan *s, const char *path, const char *reason,
		       const char *publisher)
{
	struct trust_finding *n = reallocarray(s->found, s->n_found + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->found = n;
	n = &s->found[s->n_found];
	*n = (struct trust_finding){.path = strdup(path),
				    .reason = reason ? strdup(reason) : NULL,
				    .publisher = publisher ? strdup(publisher) : NULL};
	if (!n->path || (reason && !n->reason) || (publisher && !n->publisher)) {
		free(n->path);
		free(n->reason);
		free(n->publisher);
		return -ENOMEM;
	}
	s->n_found++;
	if (reason)
		s->n_failed++;
	return 0;
}

static int fail(struct walk *w, const char *rel, const char *fmt, ...) _printf_(3, 4);
static int fail(struct walk *w, const char *rel, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return add_finding(w->s, rel, msg, NULL);
}

/* The publisher that signed b, after checking the signature; NULL with *why set. */
static const struct trust_publisher *check_signature(struct walk *w, const struct trust_bundle *b,
						     const char *bundle_name, char *why,
						     size_t why_len)
{
	const struct trust_publisher *pub = trust_policy_publisher(w->p, b->hint);
	struct diag d = {{0}};
	char buf[1500];
	if (!pub) {
		(void)snprintf(why, why_len,
			       "%s: signed by key '%.64s', which is not a trusted publisher in the "
			       "trust policy (or is blocklisted)",
			       bundle_name, b->hint);
		return NULL;
	}
	if (trust_bundle_verify(b, pub->key, bundle_name, &d) < 0) {
		(void)snprintf(why, why_len, "%s", diag_format(&d, buf, sizeof(buf)));
		return NULL;
	}
	return pub;
}

static int load_multi(struct walk *w)
{
	_cleanup_free_ char *text = NULL;
	struct diag d = {{0}};
	char buf[1500], why[1500];
	size_t n = 0;
	int r = trust_read_file(w->root_fd, TRUST_MULTI_BUNDLE, TRUST_MAX_BUNDLE_SIZE, &text, &n);
	if (r == -ENOENT) {
		w->multi_err = -ENOENT;
		return 0;
	}
	if (r < 0)
		(void)snprintf(why, sizeof(why), "%s: cannot read: %s", TRUST_MULTI_BUNDLE,
			       strerror(-r));
	else if ((r = trust_bundle_parse(text, n, TRUST_MULTI_BUNDLE, &w->multi, &d)) < 0)
		(void)snprintf(why, sizeof(why), "%s", diag_format(&d, buf, sizeof(buf)));
	else if (!streq(w->multi->predicate_type, TRUST_PRED_MULTI)) {
		(void)snprintf(why, sizeof(why), "%s: not a multi-file bundle", TRUST_MULTI_BUNDLE);
		r = -EBADMSG;
	} else if (!check_signature(w, w->multi, TRUST_MULTI_BUNDLE, why, sizeof(why)))
		r = -EBADMSG;
	if (r < 0) {
		w->multi_err = r;
		w->multi_reason = strdup(why);
		return w->multi_reason ? 0 : -ENOMEM;
	}
	w->multi_err = 1;
	return 0;
}

/* Verify one instruction file rel (beneath dfd = its directory, base = last name). */
static int check_file(struct walk *w, int dfd, const char *rel, const char *base)
{
	uint8_t md[32];
	char why[1500];
	int r = trust_hash_file(dfd, base, md);
	if (r == -ELOOP)
		return fail(w, rel, "is a symbolic link (instruction files must be regular files)");
	if (r < 0)
		return fail(w, rel, "cannot read: %s", strerror(-r));
	if (trust_policy_blocked(w->p, md)) {
		char hex[65];
		trust_hex(md, 32, hex);
		return fail(w, rel, "its digest %s is on the trust policy's blocklist", hex);
	}

	_cleanup_free_ char *sidecar = NULL, *text = NULL;
	_cleanup_trust_bundle_ struct trust_bundle *b = NULL;
	const struct trust_bundle *use;
	const struct trust_publisher *pub;
	const struct trust_subject *sub;
	const char *name, *bundle_name;
	size_t n = 0;
	if (asprintf(&sidecar, "%s.bundle", base) < 0)
		return -ENOMEM;
	r = trust_read_file(dfd, sidecar, TRUST_MAX_BUNDLE_SIZE, &text, &n);
	if (r >= 0) {
		struct diag d = {{0}};
		char buf[1500];
		_cleanup_free_ char *bn = NULL;
		if (asprintf(&bn, "%s.bundle", rel) < 0)
			return -ENOMEM;
		if (trust_bundle_parse(text, n, bn, &b, &d) < 0)
			return fail(w, rel, "%s", diag_format(&d, buf, sizeof(buf)));
		if (!streq(b->predicate_type, TRUST_PRED_INSTRUCTION))
			return fail(w, rel, "%s: not an instruction-file bundle", bn);
		if (!(pub = check_signature(w, b, bn, why, sizeof(why))))
			return fail(w, rel, "%s", why);
		use = b;
		name = base;
		bundle_name = sidecar;
	} else if (r != -ENOENT) {
		return fail(w, rel, "%s.bundle: cannot read: %s", rel, strerror(-r));
	} else {
		if (!w->multi_err && (r = load_multi(w)) < 0)
			return r;
		if (w->multi_err == -ENOENT)
			return fail(w, rel, "not signed (no %s.bundle, not in %s)", rel,
				    TRUST_MULTI_BUNDLE);
		if (w->multi_err < 0)
			return fail(w, rel, "%s", w->multi_reason);
		if (!trust_bundle_find(w->multi, rel))
			return fail(w, rel, "not signed (no %s.bundle, not in %s)", rel,
				    TRUST_MULTI_BUNDLE);
		use = w->multi;
		pub = trust_policy_publisher(w->p, use->hint);
		name = rel;
		bundle_name = TRUST_MULTI_BUNDLE;
	}
	sub = trust_bundle_find(use, name);
	if (!sub)
		return fail(w, rel, "%s does not sign '%s'", bundle_name, name);
	if (memcmp(sub->sha256, md, 32) != 0)
		return fail(w, rel, "digest mismatch: the file changed since it was signed");
	return add_finding(w->s, rel, NULL, pub->name);
}

static bool skipped(const struct walk *w, const char *name)
{
	for (const char *const *h = trust_heavy_dirs; *h; h++)
		if (streq(*h, name))
			return true;
	STRV_FOREACH(s, w->skip)
	if (streq(*s, name))
		return true;
	return false;
}

static int walk_dir(struct walk *w, int dfd, const char *prefix, int depth)
{
	if (depth > SCAN_MAX_DEPTH)
		return -ELOOP;
	int fd = dup(dfd);
	if (fd < 0)
		return -errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	struct dirent *de;
	int r = 0;
	while (r >= 0 && (errno = 0, de = readdir(dir))) {
		const char *nm = de->d_name;
		if (streq(nm, ".") || streq(nm, ".."))
			continue;
		if (++w->s->n_entries > SCAN_MAX_ENTRIES) {
			r = -E2BIG;
			break;
		}
		unsigned char type = de->d_type;
		if (type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
		}
		_cleanup_free_ char *rel = NULL;
		if (asprintf(&rel, "%s%s", prefix, nm) < 0) {
			r = -ENOMEM;
			break;
		}
		if (type == DT_DIR) {
			if (skipped(w, nm))
				continue;
			_cleanup_close_ int sub =
			    openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue; /* unreadable: nothing the agent could read either */
			_cleanup_free_ char *np = NULL;
			if (asprintf(&np, "%s/", rel) < 0) {
				r = -ENOMEM;
				break;
			}
			r = walk_dir(w, sub, np, depth + 1);
			continue;
		}
		if (type != DT_REG && type != DT_LNK)
			continue;
		bool match = false;
		size_t i = 0;
		STRV_FOREACH(g, w->p->includes)
		{
			if (trust_glob_match(*g, rel)) {
				match = true;
				w->include_hit[i] = true;
			}
			i++;
		}
		if (match)
			r = check_file(w, dfd, rel, nm);
	}
	if (r >= 0 && errno)
		r = -errno;
	closedir(dir);
	return r;
}

int trust_scan_tree(const struct trust_policy *p, const char *root, char *const *skip_dirs,
		    struct trust_scan **ret, struct diag *d)
{
	_cleanup_trust_scan_ struct trust_scan *s = calloc(1, sizeof(*s));
	_cleanup_free_ bool *hit = calloc(strv_length(p->includes) + 1, sizeof(bool));
	if (!s || !hit)
		return -ENOMEM;
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		int r = -errno;
		diag_set(d, root, 0, 0, "cannot open the directory to scan: %s", strerror(-r));
		return r;
	}
	struct walk w = {.p = p, .skip = skip_dirs, .root_fd = rfd, .s = s, .include_hit = hit};
	int r = 0;
	if (p->includes)
		r = walk_dir(&w, rfd, "", 0);
	STRV_FOREACH(q, p->required)
	{
		bool found = false;
		size_t i = 0;
		STRV_FOREACH(g, p->includes)
		{
			if (streq(*g, *q) && hit[i])
				found = true;
			i++;
		}
		if (r >= 0 && !found)
			r = fail(&w, *q + (**q == '/'), /* nono's anchored form: show the name */
				 "listed in the trust policy's includes but absent (it could "
				 "appear during the session unverified)");
	}
	/* Explicit files: absolute or ~/ (expanded against HOME). */
	STRV_FOREACH(f, p->files)
	{
		if (r < 0)
			break;
		_cleanup_free_ char *path = NULL, *dir = NULL;
		const char *home = secure_getenv("HOME");
		if (startswith(*f, "~/")) {
			if (!home || home[0] != '/' || asprintf(&path, "%s/%s", home, *f + 2) < 0) {
				r = fail(&w, *f, "cannot expand '~' (HOME unset)");
				continue;
			}
		} else if (!(path = strdup(*f))) {
			r = -ENOMEM;
			break;
		}
		char *slash = strrchr(path, '/');
		if (!(dir = strndup(path, (size_t)(slash - path) + 1))) {
			r = -ENOMEM;
			break;
		}
		_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			r = fail(&w, path, "listed in the trust policy's files but absent");
		else if (faccessat(dfd, slash + 1, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			r = fail(&w, path, "listed in the trust policy's files but absent");
		else
			r = check_file(&w, dfd, path, slash + 1);
	}
	trust_bundle_free(w.multi);
	free(w.multi_reason);
	if (r < 0) {
		diag_set(d, root, 0, 0, "trust scan failed: %s", strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(s);
	return 0;
}
