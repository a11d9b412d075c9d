/* SPDX-License-Identifier: Apache-2.0 */
#include "audit/retention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/macro.h"
#include "base/toml.h"

#define DAY_S (24LL * 3600)
#define MIB   (1024LL * 1024)

bool audit_limits_any(const struct audit_limits *l)
{
	return l->max_sessions >= 0 || l->max_age_s >= 0 || l->max_bytes >= 0;
}

int audit_limits_load(const char *path, struct audit_limits *ret, struct diag *d)
{
	struct audit_limits l = {-1, -1, -1};
	_cleanup_toml_ struct toml_doc *doc = NULL;
	int r = toml_parse_file(path, &doc, d);

	if (r == -ENOENT) {
		*ret = l;
		return 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < doc->n; i++) {
		const struct toml_entry *e = &doc->entries[i];
		long long *dst = NULL, unit = 1;
		if (!streq(e->table, "audit"))
			continue;
		if (streq(e->key, "max_sessions"))
			dst = &l.max_sessions;
		else if (streq(e->key, "max_age_days"))
			dst = &l.max_age_s, unit = DAY_S;
		else if (streq(e->key, "max_size_mb"))
			dst = &l.max_bytes, unit = MIB;
		else {
			diag_set(d, path, e->line, e->column,
				 "[audit] %s: unknown key (known: max_sessions, max_age_days, "
				 "max_size_mb)",
				 e->key);
			return -EINVAL;
		}
		if (e->type != TOML_INTEGER) {
			diag_set(d, path, e->line, e->column,
				 "[audit] %s: expected a non-negative integer, found %s", e->key,
				 toml_type_name(e->type));
			return -EINVAL;
		}
		*dst = e->i * unit; /* TOML_INT_MAX * MIB still fits */
	}
	*ret = l;
	return 0;
}

struct session {
	char id[NAME_MAX + 1];
	int fd; /* the directory, locked by us unless live */
	bool live;
	long long start;
	uint64_t bytes;
};

/* "YYYYMMDD-HHMMSS-..." (audit_open's ids) -> seconds since the epoch, UTC. */
static long long id_time(const char *id, long long fallback)
{
	struct tm tm = {0};
	const char *end = strptime(id, "%Y%m%d-%H%M%S", &tm);
	if (!end || (*end && *end != '-'))
		return fallback;
	return (long long)timegm(&tm);
}

/* Bytes of the regular files in a session directory (it has no subdirectories). */
static int dir_bytes(int fd, uint64_t *ret)
{
	int dfd = dup(fd);
	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		int r = -errno;
		(void)close(dfd);
		return r;
	}
	rewinddir(dir); /* dup() shares the offset: start from the top */
	uint64_t sum = 0;
	struct dirent *de;
	struct stat st;
	while ((de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (uint64_t)st.st_size;
	(void)closedir(dir);
	*ret = sum;
	return 0;
}

/* Remove the files of a session directory, then the directory. */
static int remove_session(int root_fd, const struct session *s)
{
	int dfd = dup(s->fd);
	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		int r = -errno;
		(void)close(dfd);
		return r;
	}
	rewinddir(dir); /* dup() shares the offset: start from the top */
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    unlinkat(s->fd, de->d_name, 0) < 0 && r == 0)
			r = -errno; /* e.g. a directory planted inside: left, reported */
	(void)closedir(dir);
	if (unlinkat(root_fd, s->id, AT_REMOVEDIR) < 0 && r == 0)
		r = -errno;
	return r;
}

static int newest_first(const void *a, const void *b)
{
	return strcmp(((const struct session *)b)->id, ((const struct session *)a)->id);
}

static int open_root(const char *home, int *ret, struct diag *d)
{
	_cleanup_close_ int hfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int nfd = -EBADF;
	int fd;

	if (hfd < 0 ||
	    (nfd = openat(hfd, ".nono", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (fd = openat(nfd, "audit", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int r = -errno;
		if (r != -ENOENT)
			diag_set(d, home, 0, 0, "cannot open the audit root .nono/audit: %s",
				 strerror(-r));
		return r;
	}
	*ret = fd;
	return 0;
}

int audit_prune(const char *home, const struct audit_limits *l, bool dry_run,
		void (*cb)(void *ud, const struct audit_prune_item *it), void *ud, size_t *ret_kept,
		struct diag *d)
{
	_cleanup_close_ int root_fd = -EBADF;
	struct session *ss = NULL;
	size_t n = 0, cap = 0, kept = 0;
	long long now = (long long)time(NULL);
	int r;

	if (!home || home[0] != '/')
		return -EINVAL;
	r = open_root(home, &root_fd, d);
	if (r == -ENOENT) {
		if (ret_kept)
			*ret_kept = 0;
		return 0;
	}
	if (r < 0)
		return r;
	int dfd = dup(root_fd);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		r = -errno;
		if (dfd >= 0)
			(void)close(dfd);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!audit_session_id_valid(de->d_name))
			continue;
		int fd =
		    openat(root_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue; /* not a directory, or a symlink: not a session */
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = reallocarray(ss, nc, sizeof(*ss));
			if (!p) {
				(void)close(fd);
				r = -ENOMEM;
				break;
			}
			ss = p;
			cap = nc;
		}
		struct session *s = &ss[n++];
		*s = (struct session){.fd = fd};
		(void)snprintf(s->id, sizeof(s->id), "%s", de->d_name);
		/* The recording nono holds LOCK_EX for the session's life: busy means live,
		 * and so does any other failure (no flock here): never remove what might be. */
		s->live = flock(fd, LOCK_EX | LOCK_NB) < 0;
		struct stat st;
		s->start = id_time(s->id, fstat(fd, &st) == 0 ? (long long)st.st_mtime : now);
		(void)dir_bytes(fd, &s->bytes);
	}
	(void)closedir(dir);
	if (r >= 0 && n)
		qsort(ss, n, sizeof(*ss), newest_first);

	uint64_t kept_bytes = 0;
	int listed = r;
	for (size_t i = 0; listed >= 0 && i < n; i++) {
		struct session *s = &ss[i];
		const char *why = NULL;
		if (!s->live) {
			if (l->max_sessions >= 0 && (long long)kept >= l->max_sessions)
				why = "max_sessions";
			else if (l->max_age_s >= 0 && now - s->start > l->max_age_s)
				why = "max_age_days";
			else if (l->max_bytes >= 0 &&
				 kept_bytes + s->bytes > (uint64_t)l->max_bytes)
				why = "max_size_mb";
		}
		if (!why) {
			kept++;
			kept_bytes += s->bytes;
			continue;
		}
		if (!dry_run) {
			int k = remove_session(root_fd, s);
			if (k < 0) { /* reported; the others are still pruned */
				if (r >= 0)
					diag_set(d, home, 0, 0,
						 "cannot remove audit session '%s': %s", s->id,
						 strerror(-k));
				r = k;
				kept++;
				kept_bytes += s->bytes;
				continue;
			}
		}
		if (cb)
			cb(ud, &(struct audit_prune_item){s->id, why, s->bytes});
	}
	for (size_t i = 0; i < n; i++)
		(void)close(ss[i].fd);
	free(ss);
	if (r >= 0 && ret_kept)
		*ret_kept = kept;
	return r;
}
