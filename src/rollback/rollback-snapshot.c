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
#include <pthread.h>
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
	size_t cursor; /* into prev: the walk meets entries in (nearly) its order */
	struct rb_stats *stats;
	struct rb_block **blocks; /* where entry paths and targets are allocated */
	struct rb_block *own_blocks;
	/* A directory of prev changed before this (ctime, ns; 0: never) whose stat is
	 * unchanged has the names prev recorded under it: no getdents (names_from_prev). */
	int64_t names_before_ns;
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

/* prev's entry for path: the next one in order, else a binary search. */
static const struct rb_entry *prev_find(struct walk *w, const char *path)
{
	const struct rb_entry *p = NULL;
	if (!w->prev)
		return NULL;
	if (w->cursor < w->prev->n_entries && streq(w->prev->entries[w->cursor].path, path))
		p = &w->prev->entries[w->cursor];
	else
		p = rb_root_find(w->prev, path);
	if (p)
		w->cursor = (size_t)(p - w->prev->entries) + 1;
	return p;
}

static int snap_file(struct walk *w, int dirfd, const char *name, struct rb_entry *e,
		     const struct rb_entry *p)
{
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
	int r = w->store ? rb_store_put(w->store, fd, e->hash, &size)
			 : rb_copy_hash(fd, -EBADF, e->hash, &size);
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

/* A directory's names: one buffer of NUL-terminated names and a sorted index into it
 * (two allocations a directory rather than one per name). */
struct names {
	char *buf;
	char **v; /* NULL-terminated */
	size_t n;
};

static void names_release(struct names *nm)
{
	free(nm->buf);
	free(nm->v);
	*nm = (struct names){0};
}

/* The names in a directory (not "." and ".."), sorted. Reads dirfd from its current
 * offset with getdents64 (no DIR, no dup: each directory fd is read once, fresh). */
static int read_names(int dirfd, struct names *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0, n = 0;
	char d[32768] __attribute__((aligned(8)));
	for (;;) {
		ssize_t got = getdents64(dirfd, d, sizeof(d));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(d + off);
			off += de->d_reclen;
			if (streq(de->d_name, ".") || streq(de->d_name, ".."))
				continue;
			size_t l = strlen(de->d_name) + 1;
			if (cap - len < l) {
				size_t nc = cap ? cap * 2 : 4096;
				while (nc - len < l)
					nc *= 2;
				char *nb = realloc(buf, nc);
				if (!nb)
					return -ENOMEM;
				buf = nb;
				cap = nc;
			}
			memcpy(buf + len, de->d_name, l);
			len += l;
			n++;
		}
	}
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0, off = 0; i < n; i++) {
		v[i] = buf + off;
		off += strlen(v[i]) + 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_name);
	*ret = (struct names){.buf = TAKE_PTR(buf), .v = v, .n = n};
	return 0;
}

/* The most entries below a directory names_from_prev looks through for its children
 * (grandchildren included) before reading the directory instead: no quadratic scan of a
 * deep tree. */
#define PREV_SCAN_MAX 4096

/*
 * The names of directory p (an RB_DIR entry of prev) as prev recorded them: its direct
 * children, in name order, pointing into prev's paths (nm->buf stays NULL). -ENOENT when
 * the scan would be long. Sound only when the directory's (dev, ino, mtime_ns, ctime_ns)
 * are prev's, its last change older than prev's walk, and the filter is prev's: a name
 * created, removed or renamed changes the directory's mtime and ctime, and what prev left
 * out (excluded files, sockets, fifos) the same filter leaves out again.
 */
static int names_from_prev(const struct walk *w, const struct rb_entry *p, struct names *ret)
{
	const struct rb_entry *end = w->prev->entries + w->prev->n_entries;
	size_t pl = strlen(p->path), n = 0, cap = 0, scanned = 0;
	_cleanup_free_ char **v = NULL;
	for (const struct rb_entry *c = p + 1; c < end; c++) {
		if (strncmp(c->path, p->path, pl) != 0 || c->path[pl] != '/')
			break;
		const char *nm = c->path + pl + 1;
		if (strchr(nm, '/')) {
			if (++scanned > PREV_SCAN_MAX)
				return -ENOENT;
			continue;
		}
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			char **nv = realloc(v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			v = nv;
		}
		v[n++] = (char *)nm;
		v[n] = NULL;
	}
	/* Paths sharing the prefix "p/" are in strcmp order of their names. */
	*ret = (struct names){.v = TAKE_PTR(v), .n = n};
	return 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *rel, const char *name, unsigned depth,
		    const struct rb_entry *pdir);

/* One name in dirfd: recorded (and, for a directory, walked) unless left out. */
static int visit(struct walk *w, int dirfd, const char *rel, const char *nm, unsigned depth)
{
	struct rb_entry e = {0};
	struct stat st;
	char path[PATH_MAX];
	int r;
	size_t rl = strlen(rel), nl = strlen(nm);
	if (rl + nl + 2 > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, rel, rl);
	if (rl)
		path[rl++] = '/';
	memcpy(path + rl, nm, nl + 1);
	if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	fill_stat(&e, &st);
	bool is_dir = S_ISDIR(st.st_mode);
	if (!is_dir && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return 0; /* sockets, fifos, devices: not snapshotted */
	if (rb_filter_excluded(w->filter, path, nm, is_dir)) {
		if (!is_dir) {
			w->stats->excluded++;
			return 0;
		}
		e.type = RB_EXCLUDED;
	} else if (is_dir)
		e.type = RB_DIR;
	else if (S_ISLNK(st.st_mode))
		e.type = RB_SYMLINK;
	else
		e.type = RB_FILE;
	_cleanup_close_ int sub = -EBADF;
	const struct rb_entry *pdir = NULL;
	if (e.type == RB_DIR) {
		sub = openat(dirfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return -errno;
		const struct rb_entry *p = w->names_before_ns ? prev_find(w, path) : NULL;
		struct stat ds;
		/* fstat of the fd: the directory opened is the one stat'd, not one renamed
		 * over it in between. */
		if (p && p->type == RB_DIR && p->dev == e.dev && p->ino == e.ino &&
		    p->mtime_ns == e.mtime_ns && p->ctime_ns == e.ctime_ns &&
		    e.ctime_ns < w->names_before_ns && fstat(sub, &ds) == 0 && ds.st_dev == e.dev &&
		    ds.st_ino == e.ino && ts_ns(ds.st_mtim) == e.mtime_ns &&
		    ts_ns(ds.st_ctim) == e.ctime_ns)
			pdir = p;
	}
	if (e.type == RB_EXCLUDED) {
		/* Not ours: its times change with what runs inside (git), and a manifest
		 * that records them never stays the same. */
		e.size = e.dev = e.ino = 0;
		e.mtime_ns = e.ctime_ns = 0;
		w->stats->excluded++;
	}
	if (!(e.path = rb_block_strndup(w->blocks, path, rl + nl)))
		return -ENOMEM;
	if (e.type == RB_SYMLINK) {
		char t[PATH_MAX];
		ssize_t tl = readlinkat(dirfd, nm, t, sizeof(t) - 1);
		if (tl <= 0)
			return tl < 0 ? -errno : -EBADMSG;
		if (!(e.target = rb_block_strndup(w->blocks, t, (size_t)tl)))
			return -ENOMEM;
	} else if (e.type == RB_FILE && (r = snap_file(w, dirfd, nm, &e, prev_find(w, path))) < 0)
		return r;
	if ((r = add_entry(w, &e)) < 0)
		return r;
	size_t idx = w->root->n_entries - 1;
	r = 0;
	if (e.type == RB_DIR && (r = walk_dir(w, sub, path, nm, depth + 1, pdir)) < 0)
		return r;
	if (r > 0) {
		struct rb_entry *x = &w->root->entries[idx];
		x->type = RB_EXCLUDED;
		x->size = x->dev = x->ino = 0;
		x->mtime_ns = x->ctime_ns = 0;
		w->stats->excluded++;
	}
	return 0;
}

/* Returns 1, having recorded nothing, for a directory auto-excluded for its size. */
static int walk_dir(struct walk *w, int dirfd, const char *rel, const char *name, unsigned depth,
		    const struct rb_entry *pdir)
{
	_cleanup_(names_release) struct names nm = {0};
	int r = -ENOENT;
	if (depth > RB_MAX_DEPTH)
		return -ELOOP;
	if (pdir && (r = names_from_prev(w, pdir, &nm)) < 0 && r != -ENOENT)
		return r;
	if (r == -ENOENT) {
		if ((r = read_names(dirfd, &nm)) < 0)
			return r;
		w->stats->dirs_listed++;
	}
	w->stats->dirs++;
	/* Spec: any directory with more than 10,000 files is auto-excluded. */
	if (nm.n > RB_BIG_DIR_ENTRIES && name && !w->filter->all &&
	    !strv_contains(w->filter->include, name))
		return 1;
	for (size_t i = 0; i < nm.n; i++)
		if ((r = visit(w, dirfd, rel, nm.v[i], depth)) < 0)
			return r;
	return 0;
}

/*
 * The root's entries shared among threads (the stat of every file is most of a snapshot,
 * and git's index preload does the same): each top-level name is a job whose entries go
 * to a segment of their own, joined in name order afterwards.
 */
struct par {
	struct walk *segs;
	char **names;
	size_t n, next;
	int rootfd, err;
	pthread_mutex_t lock;
};

static void *par_worker(void *arg)
{
	struct par *p = arg;
	for (;;) {
		size_t i;
		(void)pthread_mutex_lock(&p->lock);
		i = p->err ? p->n : p->next++;
		(void)pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		int r = visit(&p->segs[i], p->rootfd, "", p->names[i], 0);
		if (r < 0) {
			(void)pthread_mutex_lock(&p->lock);
			if (!p->err)
				p->err = r;
			(void)pthread_mutex_unlock(&p->lock);
		}
	}
}

/* The segment's paths are in its blocks, spliced into the manifest's already. */
static void seg_release(struct walk *sg)
{
	if (sg->root)
		free(sg->root->entries);
	free(sg->root);
	free(sg->stats);
}

static int walk_root(struct walk *w, int rootfd)
{
	_cleanup_(names_release) struct names nm = {0};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nt = cpus > 4 ? 4 : cpus > 1 ? (unsigned)cpus : 1;
	int r = read_names(rootfd, &nm);
	if (r < 0)
		return r;
	char **names = nm.v;
	size_t n = nm.n;
	if (nt < 2 || n < 2) {
		for (size_t i = 0; i < n; i++)
			if ((r = visit(w, rootfd, "", names[i], 0)) < 0)
				return r;
		return 0;
	}
	struct par p = {.names = names, .n = n, .rootfd = rootfd};
	if (!(p.segs = calloc(n, sizeof(*p.segs))))
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		p.segs[i] = (struct walk){.store = w->store,
					  .filter = w->filter,
					  .prev = w->prev,
					  .names_before_ns = w->names_before_ns};
		p.segs[i].blocks = &p.segs[i].own_blocks;
		if (!(p.segs[i].root = calloc(1, sizeof(struct rb_root))) ||
		    !(p.segs[i].stats = calloc(1, sizeof(struct rb_stats))))
			r = -ENOMEM;
	}
	pthread_t th[4];
	unsigned started = 0;
	pthread_attr_t attr;
	if (r >= 0 && pthread_mutex_init(&p.lock, NULL) == 0) {
		/* The walk recurses up to RB_MAX_DEPTH with PATH_MAX buffers per level. */
		bool attr_ok = pthread_attr_init(&attr) == 0 &&
			       pthread_attr_setstacksize(&attr, 16u << 20) == 0;
		for (unsigned t = 1; t < nt && attr_ok; t++)
			if (pthread_create(&th[started], &attr, par_worker, &p) == 0)
				started++;
		if (attr_ok)
			(void)pthread_attr_destroy(&attr);
		(void)par_worker(&p); /* this thread works too */
		for (unsigned t = 0; t < started; t++)
			(void)pthread_join(th[t], NULL);
		(void)pthread_mutex_destroy(&p.lock);
		r = p.err;
	} else if (r >= 0)
		r = -ENOMEM;
	/* Join the segments in name order (the walk's own order), in one allocation. */
	size_t total = w->root->n_entries;
	for (size_t i = 0; i < n; i++)
		total += p.segs[i].root ? p.segs[i].root->n_entries : 0;
	if (r >= 0 && total > RB_MAX_ENTRIES)
		r = -E2BIG;
	if (r >= 0 && total > w->cap) {
		struct rb_entry *ne = realloc(w->root->entries, total * sizeof(*ne));
		if (!ne)
			r = -ENOMEM;
		else {
			w->root->entries = ne;
			w->cap = total;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct walk *sg = &p.segs[i];
		rb_block_splice(w->blocks, &sg->own_blocks);
		if (r >= 0 && sg->stats) {
			w->stats->files += sg->stats->files;
			w->stats->hashed += sg->stats->hashed;
			w->stats->reused += sg->stats->reused;
			w->stats->stored_bytes += sg->stats->stored_bytes;
			w->stats->excluded += sg->stats->excluded;
			w->stats->dirs += sg->stats->dirs;
			w->stats->dirs_listed += sg->stats->dirs_listed;
		}
		if (r >= 0 && sg->root && sg->root->n_entries) {
			memcpy(w->root->entries + w->root->n_entries, sg->root->entries,
			       sg->root->n_entries * sizeof(struct rb_entry));
			w->root->n_entries += sg->root->n_entries;
			sg->root->n_entries = 0; /* moved */
		}
		seg_release(sg);
	}
	free(p.segs);
	return r;
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

static bool strv_same(char *const *a, char *const *b)
{
	size_t n = strv_length(a);
	if (n != strv_length(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!streq(a[i], b[i]))
			return false;
	return true;
}

static bool filter_same(const struct rb_filter *a, const struct rb_filter *b)
{
	return a->all == b->all && strv_same(a->exclude, b->exclude) &&
	       strv_same(a->include, b->include) && strv_same(a->skip_dirs, b->skip_dirs);
}

static bool entry_equal(const struct rb_entry *a, const struct rb_entry *b)
{
	return a->type == b->type && a->mode == b->mode && a->size == b->size && a->dev == b->dev &&
	       a->ino == b->ino && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       streq(a->path, b->path) && (a->type != RB_FILE || streq(a->hash, b->hash)) &&
	       (a->type != RB_SYMLINK || streq(a->target, b->target));
}

/* Would m serialise to the very body prev was written with? */
static bool body_equal(const struct rb_manifest *m, const struct rb_manifest *prev)
{
	if (m->n_roots != prev->n_roots || m->filter.all != prev->filter.all ||
	    !strv_same(m->filter.exclude, prev->filter.exclude) ||
	    !strv_same(m->filter.include, prev->filter.include) ||
	    !strv_same(m->filter.skip_dirs, prev->filter.skip_dirs))
		return false;
	for (size_t i = 0; i < m->n_roots; i++) {
		const struct rb_root *a = &m->roots[i], *b = &prev->roots[i];
		if (a->n_entries != b->n_entries || !streq(a->path, b->path))
			return false;
		for (size_t j = 0; j < a->n_entries; j++)
			if (!entry_equal(&a->entries[j], &b->entries[j]))
				return false;
	}
	return true;
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
		struct walk w = {.store = s,
				 .filter = f,
				 .root = &m->roots[i],
				 .stats = stats,
				 .blocks = &m->blocks};
		/* A second short of prev's start: a directory changed in the same clock tick
		 * as prev read it could change again without a new mtime (racy git). */
		if (prev && prev->timestamp > 1 && filter_same(f, &prev->filter))
			w.names_before_ns = (int64_t)(prev->timestamp - 1) * 1000000000;
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
		if ((r = walk_root(&w, fd)) < 0)
			return r;
		/* Depth-first in name order is not strcmp order ("a/b" vs "a.c"): sort,
		 * unless (as without names holding bytes below '/') it already is. */
		bool sorted = true;
		for (size_t j = 1; sorted && j < m->roots[i].n_entries; j++)
			sorted = strcmp(m->roots[i].entries[j - 1].path,
					m->roots[i].entries[j].path) < 0;
		if (!sorted)
			qsort(m->roots[i].entries, m->roots[i].n_entries, sizeof(struct rb_entry),
			      rb_entry_cmp);
	}
	/* Nothing changed: the manifest references prev's stored body, not re-encoded. */
	if (prev && prev->body_stored && rb_hash_valid(prev->body_hash) && body_equal(m, prev)) {
		memcpy(m->body_hash, prev->body_hash, 65);
		m->body_stored = true;
	}
	*ret = TAKE_PTR(m);
	return 0;
}
