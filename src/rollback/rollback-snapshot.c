/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot: walk each root one component at a time (openat O_NOFOLLOW from the parent's
 * fd, so a symlink is recorded, never followed), store new or changed file contents and
 * record every entry. A file whose (dev, ino, size, mtime_ns, ctime_ns) match the previous
 * manifest keeps its hash without being read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

struct walk {
	struct rb_store *store;
	const struct rb_filter *filter;
	const struct rb_root *prev;
	struct rb_root *root;
	size_t cap;
	struct rb_stats *stats;
};

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int add_entry(struct walk *w, struct rb_entry *e)
{
	if (w->root->n_entries >= RB_MAX_ENTRIES)
		return -E2BIG;
	if (w->root->n_entries == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 256;
		struct rb_entry *n = realloc(w->root->entries, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		w->root->entries = n;
		w->cap = nc;
	}
	w->root->entries[w->root->n_entries++] = *e;
	return 0;
}

static void fill_stat(struct rb_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->size = (uint64_t)st->st_size;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->mtime_ns = ts_ns(st->st_mtim);
	e->ctime_ns = ts_ns(st->st_ctim);
}

static int snap_file(struct walk *w, int dirfd, const char *name, struct rb_entry *e)
{
	const struct rb_entry *p = w->prev ? rb_root_find(w->prev, e->path) : NULL;
	w->stats->files++;
	if (p && p->type == RB_FILE && p->dev == e->dev && p->ino == e->ino && p->size == e->size &&
	    p->mtime_ns == e->mtime_ns && p->ctime_ns == e->ctime_ns) {
		memcpy(e->hash, p->hash, 65);
		w->stats->reused++;
		return 0;
	}
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_ino != e->ino)
		return -ESTALE; /* swapped under us */
	fill_stat(e, &st);
	uint64_t size;
	int r = rb_store_put(w->store, fd, e->hash, &size);
	if (r < 0)
		return r;
	e->size = size;
	w->stats->hashed++;
	w->stats->stored_bytes += size;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns 1, having recorded nothing, for a directory auto-excluded for its size. */
static int walk_dir(struct walk *w, int dirfd, const char *rel, const char *name, unsigned depth)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0, cap = 0;
	if (depth > RB_MAX_DEPTH)
		return -ELOOP;
	int dfd = dup(dirfd);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		safe_close(dfd);
		return -errno;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				closedir(d);
				return -ENOMEM;
			}
			names = nn;
		}
		if (!(names[n++] = strdup(de->d_name))) {
			closedir(d);
			return -ENOMEM;
		}
		names[n] = NULL;
		errno = 0;
	}
	int r = errno ? -errno : 0;
	closedir(d);
	if (r < 0)
		return r;
	/* Spec: any directory with more than 10,000 files is auto-excluded. */
	if (n > RB_BIG_DIR_ENTRIES && name && !w->filter->all &&
	    !strv_contains(w->filter->include, name))
		return 1;
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		struct rb_entry e = {0};
		struct stat st;
		char path[PATH_MAX];
		int l = snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		if (l < 0 || (size_t)l >= sizeof(path))
			return -ENAMETOOLONG;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		fill_stat(&e, &st);
		bool is_dir = S_ISDIR(st.st_mode);
		if (!is_dir && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue; /* sockets, fifos, devices: not snapshotted */
		if (rb_filter_excluded(w->filter, path, names[i], is_dir)) {
			if (!is_dir) {
				w->stats->excluded++;
				continue;
			}
			e.type = RB_EXCLUDED;
		} else if (is_dir)
			e.type = RB_DIR;
		else if (S_ISLNK(st.st_mode))
			e.type = RB_SYMLINK;
		else
			e.type = RB_FILE;
		_cleanup_close_ int sub = -EBADF;
		if (e.type == RB_DIR) {
			sub = openat(dirfd, names[i],
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return -errno;
		}
		if (e.type == RB_EXCLUDED)
			w->stats->excluded++;
		if (!(e.path = strdup(path)))
			return -ENOMEM;
		if (e.type == RB_SYMLINK) {
			char t[PATH_MAX];
			ssize_t tl = readlinkat(dirfd, names[i], t, sizeof(t) - 1);
			if (tl <= 0) {
				free(e.path);
				return tl < 0 ? -errno : -EBADMSG;
			}
			t[tl] = 0;
			if (!(e.target = strdup(t))) {
				free(e.path);
				return -ENOMEM;
			}
		} else if (e.type == RB_FILE && (r = snap_file(w, dirfd, names[i], &e)) < 0) {
			free(e.path);
			return r;
		}
		if ((r = add_entry(w, &e)) < 0) {
			free(e.path);
			free(e.target);
			return r;
		}
		size_t idx = w->root->n_entries - 1;
		r = 0;
		if (e.type == RB_DIR && (r = walk_dir(w, sub, path, names[i], depth + 1)) < 0)
			return r;
		if (r > 0) {
			w->root->entries[idx].type = RB_EXCLUDED;
			w->stats->excluded++;
		}
	}
	return 0;
}

static int copy_filter(const struct rb_filter *f, struct rb_filter *to)
{
	to->all = f->all;
	if ((f->exclude && !(to->exclude = strv_copy(f->exclude))) ||
	    (f->include && !(to->include = strv_copy(f->include))) ||
	    (f->skip_dirs && !(to->skip_dirs = strv_copy(f->skip_dirs))))
		return -ENOMEM;
	return 0;
}

int rb_snapshot(struct rb_store *s, char *const *roots, const struct rb_filter *f,
		const struct rb_manifest *prev, unsigned number, struct rb_manifest **ret,
		struct rb_stats *stats)
{
	static const struct rb_filter none = {0};
	struct rb_stats dummy = {0};
	_cleanup_manifest_ struct rb_manifest *m = calloc(1, sizeof(*m));
	size_t n = strv_length(roots);
	int r;
	if (!m)
		return -ENOMEM;
	if (!f)
		f = &none;
	if (!stats)
		stats = &dummy;
	m->number = number;
	m->timestamp = time(NULL);
	if ((r = copy_filter(f, &m->filter)) < 0)
		return r;
	if (n && !(m->roots = calloc(n, sizeof(*m->roots))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct walk w = {.store = s, .filter = f, .root = &m->roots[i], .stats = stats};
		m->n_roots = i + 1;
		if (roots[i][0] != '/')
			return -EINVAL;
		if (!(m->roots[i].path = strdup(roots[i])))
			return -ENOMEM;
		for (size_t k = 0; prev && k < prev->n_roots; k++)
			if (streq(prev->roots[k].path, roots[i]))
				w.prev = &prev->roots[k];
		_cleanup_close_ int fd = open(roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if ((r = walk_dir(&w, fd, "", NULL, 0)) < 0)
			return r;
		/* Depth-first in name order is not strcmp order ("a/b" vs "a.c"): sort. */
		if (m->roots[i].n_entries)
			qsort(m->roots[i].entries, m->roots[i].n_entries, sizeof(struct rb_entry),
			      rb_entry_cmp);
	}
	*ret = TAKE_PTR(m);
	return 0;
}
