/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restore, safe against the agent that wrote the tree: every parent directory is resolved
 * from the grant root's fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), and every
 * change is made relative to that fd by name, so a symlink or directory planted anywhere on
 * the path can never redirect a write outside the root. Files are written to a temp file
 * in the target directory, checked against their hash, then renamed over the target.
 *
 * Order: (1) remove what the snapshot does not have (or has with another type), walking the
 * current tree; (2) create directories, files and symlinks in path order (parents first);
 * (3) directory modes and times, deepest first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

#define TMP_PREFIX ".nono-restore-"

int rb_open_beneath(int rootfd, const char *rel, uint64_t flags)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC | O_NOFOLLOW,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Split "a/b/c" into the parent's fd (resolved beneath root) and the last name. */
static int open_parent(int rootfd, const char *rel, const char **ret_name)
{
	char buf[PATH_MAX];
	const char *slash = strrchr(rel, '/');
	if (!slash) {
		*ret_name = rel;
		return rb_open_beneath(rootfd, "", O_RDONLY | O_DIRECTORY);
	}
	if ((size_t)(slash - rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, rel, (size_t)(slash - rel));
	buf[slash - rel] = 0;
	*ret_name = slash + 1;
	return rb_open_beneath(rootfd, buf, O_RDONLY | O_DIRECTORY);
}

/* Removes name in dirfd, recursively for a directory; never follows a symlink. */
static int remove_at(int parent, const char *name, unsigned depth)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > RB_MAX_DEPTH)
		return -ELOOP;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -ENOMEM;
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    (r = remove_at(dirfd(d), de->d_name, depth + 1)) < 0)
			break;
	closedir(d);
	if (r < 0)
		return r;
	return unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

/* A file written to its temp name, renamed over the target once all are durable. */
struct pending {
	size_t idx; /* into root->entries */
	char tmp[64];
};

struct ctx {
	struct rb_store *store;
	struct pending *pending;
	size_t n_pending, cap_pending;
	size_t parent_len; /* the directory parent_fd is, as a prefix of the last path */
	const char *parent_of;
	int parent_fd;
	const struct rb_manifest *m;
	const struct rb_root *root;
	int rootfd;
	const char *only; /* relative to the root; "" for all */
	struct rb_stats *stats;
};

static bool in_scope(const struct ctx *c, const char *rel)
{
	size_t l = strlen(c->only);
	return l == 0 || (strncmp(rel, c->only, l) == 0 && (rel[l] == 0 || rel[l] == '/'));
}

/* Is rel (or a prefix of it) the scope? i.e. must we descend into rel to reach the scope. */
static bool leads_to_scope(const struct ctx *c, const char *rel)
{
	size_t l = strlen(rel);
	return strncmp(c->only, rel, l) == 0 && c->only[l] == '/';
}

static bool type_matches(enum rb_type t, mode_t m)
{
	return (t == RB_FILE && S_ISREG(m)) || ((t == RB_DIR || t == RB_EXCLUDED) && S_ISDIR(m)) ||
	       (t == RB_SYMLINK && S_ISLNK(m));
}

/* Pass 1: remove entries the snapshot lacks, and entries whose type changed. */
static int prune_dir(struct ctx *c, int dirfd, const char *rel, unsigned depth)
{
	if (depth > RB_MAX_DEPTH)
		return -ELOOP;
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -ENOMEM;
	}
	_cleanup_strv_free_ char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    strv_extend(&names, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	closedir(d);
	STRV_FOREACH(n, names)
	{
		char path[PATH_MAX];
		struct stat st;
		int l = snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", *n);
		if (l < 0 || (size_t)l >= sizeof(path))
			return -ENAMETOOLONG;
		if (!in_scope(c, path) && !leads_to_scope(c, path))
			continue;
		if (fstatat(dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		const struct rb_entry *e = rb_root_find(c->root, path);
		int r;
		if (e && e->type == RB_EXCLUDED)
			continue;
		if (!e && !startswith(*n, TMP_PREFIX) &&
		    rb_filter_excluded(&c->m->filter, path, *n, S_ISDIR(st.st_mode)))
			continue; /* never snapshotted: not ours to remove */
		if (!e || !type_matches(e->type, st.st_mode)) {
			/* Out of scope stays; but a directory on the way to the scope that a
			 * symlink or file replaced must become a directory again. */
			if (!in_scope(c, path) && !e)
				continue;
			if ((r = remove_at(dirfd, *n, depth)) < 0)
				return r;
			c->stats->removed++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub =
			    openat(dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return -errno;
			if ((r = prune_dir(c, sub, path, depth + 1)) < 0)
				return r;
		}
	}
	return 0;
}

static int same_content(int dirfd, const char *name, const struct rb_entry *e)
{
	char hash[65];
	uint64_t size;
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
		return 0;
	if (rb_copy_hash(fd, -EBADF, hash, &size) < 0)
		return 0;
	return streq(hash, e->hash);
}

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int set_times(int fd, int64_t mtime_ns)
{
	struct timespec ts[2] = {
	    {.tv_nsec = UTIME_OMIT},
	    {.tv_sec = mtime_ns / 1000000000, .tv_nsec = mtime_ns % 1000000000},
	};
	return futimens(fd, ts) < 0 ? -errno : 0;
}

static int restore_file(struct ctx *c, int dirfd, const char *name, const struct rb_entry *e)
{
	char tmp[64], hash[65];
	uint64_t size;
	int r;
	struct stat st;

	int found = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	/* The same inode, untouched since the snapshot: the ctime cannot be set back. */
	if (found && st.st_dev == e->dev && st.st_ino == e->ino &&
	    (uint64_t)st.st_size == e->size && (st.st_mode & 07777) == e->mode &&
	    ts_ns(st.st_mtim) == e->mtime_ns && ts_ns(st.st_ctim) == e->ctime_ns) {
		c->stats->unchanged++;
		return 0;
	}
	/* Same bytes: only mode and times to fix, on this inode, unless it is linked from
	 * elsewhere (an agent's hard link to a file outside): then it is replaced. */
	if (found && st.st_nlink == 1 && same_content(dirfd, name, e)) {
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if ((st.st_mode & 07777) != e->mode && fchmod(fd, e->mode) < 0)
			return -errno;
		c->stats->unchanged++;
		return set_times(fd, e->mtime_ns);
	}
	_cleanup_close_ int obj = -EBADF;
	if ((r = rb_store_open_object(c->store, e->hash, &obj)) < 0)
		return r;
	if ((r = rb_tmp_name(tmp, sizeof(tmp), TMP_PREFIX)) < 0)
		return r;
	_cleanup_close_ int out =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	r = rb_copy_hash(obj, out, hash, &size);
	if (r >= 0 && (!streq(hash, e->hash) || size != e->size))
		r = -EBADMSG; /* corrupt object: the target stays as it is */
	if (r >= 0 && fchmod(out, e->mode) < 0)
		r = -errno;
	if (r >= 0)
		r = set_times(out, e->mtime_ns);
	if (r >= 0 && c->n_pending == c->cap_pending) {
		size_t nc = c->cap_pending ? c->cap_pending * 2 : 256;
		struct pending *np = realloc(c->pending, nc * sizeof(*np));
		if (!np)
			r = -ENOMEM;
		else {
			c->pending = np;
			c->cap_pending = nc;
		}
	}
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	/* Renamed in commit_pending, after one sync for all of them: no fsync each. */
	c->pending[c->n_pending].idx = (size_t)(e - c->root->entries);
	(void)snprintf(c->pending[c->n_pending].tmp, sizeof(c->pending[0].tmp), "%s", tmp);
	c->n_pending++;
	return 0;
}

static int symlink_times(int dirfd, const char *name, int64_t mtime_ns)
{
	struct timespec ts[2] = {
	    {.tv_nsec = UTIME_OMIT},
	    {.tv_sec = mtime_ns / 1000000000, .tv_nsec = mtime_ns % 1000000000},
	};
	return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int restore_symlink(struct ctx *c, int dirfd, const char *name, const struct rb_entry *e)
{
	char tmp[64], cur[PATH_MAX];
	ssize_t l = readlinkat(dirfd, name, cur, sizeof(cur) - 1);
	if (l >= 0) {
		cur[l] = 0;
		if (streq(cur, e->target)) {
			c->stats->unchanged++;
			return symlink_times(dirfd, name, e->mtime_ns);
		}
	}
	int r = rb_tmp_name(tmp, sizeof(tmp), TMP_PREFIX);
	if (r < 0)
		return r;
	if (symlinkat(e->target, dirfd, tmp) < 0)
		return -errno;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		if ((r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST) &&
		    (r = remove_at(dirfd, name, 0)) >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
			r = -errno;
		if (r < 0) {
			(void)unlinkat(dirfd, tmp, 0);
			return r;
		}
	}
	c->stats->written++;
	return symlink_times(dirfd, name, e->mtime_ns);
}

static int restore_dir(struct ctx *c, int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		int r = remove_at(dirfd, name, 0); /* a planted file or symlink */
		if (r < 0)
			return r;
	}
	/* Owner-writable until pass 3 sets the recorded mode. */
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	c->stats->written++;
	return 0;
}

/* The parent of rel, resolved beneath the root, kept while the entries that follow share
 * it (files of one directory come together in path order). Not owned by the caller. */
static int parent_cached(struct ctx *c, const char *rel, const char **ret_name)
{
	const char *slash = strrchr(rel, '/');
	size_t len = slash ? (size_t)(slash - rel) : 0;
	*ret_name = slash ? slash + 1 : rel;
	if (c->parent_fd >= 0 && c->parent_of && len == c->parent_len &&
	    strncmp(rel, c->parent_of, len) == 0)
		return c->parent_fd;
	c->parent_fd = safe_close(c->parent_fd);
	int fd = open_parent(c->rootfd, rel, ret_name);
	if (fd < 0)
		return fd;
	c->parent_fd = fd;
	c->parent_of = rel; /* entries outlive the restore */
	c->parent_len = len;
	return fd;
}

static void parent_drop(struct ctx *c)
{
	c->parent_fd = safe_close(c->parent_fd);
	c->parent_of = NULL;
}

/*
 * The written files, durable first (one syncfs rather than an fsync each: the same
 * guarantee, a crash leaves either the old file or the whole new one, with a temp name
 * the next run removes), then renamed over their targets, each parent resolved again.
 */
static int commit_pending(struct ctx *c)
{
	int r = 0;
	if (c->n_pending && syncfs(c->rootfd) < 0)
		return -errno;
	for (size_t i = 0; i < c->n_pending && r >= 0; i++) {
		const struct rb_entry *e = &c->root->entries[c->pending[i].idx];
		const char *name, *tmp = c->pending[i].tmp;
		int dirfd = parent_cached(c, e->path, &name);
		if (dirfd < 0)
			return dirfd;
		if (renameat(dirfd, tmp, dirfd, name) < 0) {
			r = -errno;
			/* A directory now stands there (raced in): remove it and retry once. */
			if ((r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST) &&
			    (r = remove_at(dirfd, name, 0)) >= 0 &&
			    renameat(dirfd, tmp, dirfd, name) < 0)
				r = -errno;
			if (r < 0)
				(void)unlinkat(dirfd, tmp, 0);
		}
		if (r >= 0)
			c->stats->written++;
	}
	parent_drop(c);
	return r;
}

static int restore_root(struct ctx *c)
{
	int r;
	if ((r = prune_dir(c, c->rootfd, "", 0)) < 0)
		return r;
	for (size_t i = 0; i < c->root->n_entries; i++) {
		const struct rb_entry *e = &c->root->entries[i];
		const char *name;
		if (e->type == RB_EXCLUDED ||
		    !(in_scope(c, e->path) || (e->type == RB_DIR && leads_to_scope(c, e->path))))
			continue;
		int pfd = parent_cached(c, e->path, &name);
		if (pfd < 0)
			return pfd;
		if (e->type == RB_DIR)
			r = restore_dir(c, pfd, name);
		else if (e->type == RB_FILE)
			r = restore_file(c, pfd, name, e);
		else
			r = restore_symlink(c, pfd, name, e);
		if (r < 0)
			return r;
	}
	parent_drop(c);
	if ((r = commit_pending(c)) < 0)
		return r;
	for (size_t i = c->root->n_entries; i-- > 0;) {
		const struct rb_entry *e = &c->root->entries[i];
		if (!in_scope(c, e->path) || e->type != RB_DIR)
			continue;
		_cleanup_close_ int fd =
		    rb_open_beneath(c->rootfd, e->path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return fd;
		if (fchmod(fd, e->mode) < 0)
			return -errno;
		if ((r = set_times(fd, e->mtime_ns)) < 0)
			return r;
	}
	return 0;
}

int rb_restore(struct rb_store *s, const struct rb_manifest *m, const char *only,
	       struct rb_stats *stats)
{
	struct rb_stats dummy = {0};
	bool matched = only == NULL;
	for (size_t i = 0; i < m->n_roots; i++) {
		const struct rb_root *root = &m->roots[i];
		const char *rel = "";
		if (only) {
			const char *p = startswith(only, root->path);
			if (!p || (*p && *p != '/' && !streq(root->path, "/")))
				continue;
			while (*p == '/')
				p++;
			rel = p;
			matched = true;
		}
		_cleanup_close_ int fd =
		    open(root->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		struct ctx c = {.store = s,
				.m = m,
				.root = root,
				.rootfd = fd,
				.only = rel,
				.parent_fd = -EBADF,
				.stats = stats ? stats : &dummy};
		int r = restore_root(&c);
		/* Not committed: the temp files go on the next run (or now). */
		for (size_t k = c.n_pending; r < 0 && k-- > 0;) {
			const char *name;
			int dfd = parent_cached(&c, root->entries[c.pending[k].idx].path, &name);
			if (dfd >= 0)
				(void)unlinkat(dfd, c.pending[k].tmp, 0);
		}
		parent_drop(&c);
		free(c.pending);
		if (r < 0)
			return r;
	}
	return matched ? 0 : -ENOENT;
}
