/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content-addressed object store: objects/<2 hex>/<62 hex>, named by the SHA-256 of the
 * bytes. Objects are written to objects/tmp, hashed while copied, then renamed into place
 * (an existing object wins: dedup). Durability is batched: rb_store_sync() syncs the
 * filesystem once before a manifest that references the objects is committed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

struct rb_store {
	int objects_fd;
	int64_t added; /* bytes of objects this store created (less removed), not yet in usage */
	bool dirty;    /* objects created since the last rb_store_sync */
	int index_fd;  /* <base>/index: manifest index cache, -EBADF when unavailable */
};

static int mkdir_p_at(int dirfd, const char *name, int *ret_fd)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int rb_store_open(const char *base, struct rb_store **ret)
{
	_cleanup_close_ int fd = -EBADF, ofd = -EBADF, tfd = -EBADF;
	char buf[4096];
	/* Create each level of base (~/.nono/rollback) with 0700. */
	if (!base || base[0] != '/' || strlen(base) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, base, strlen(base) + 1);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			(void)mkdir(buf, 0700);
			*p = '/';
		}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = mkdir_p_at(fd, "objects", &ofd);
	if (r < 0)
		return r;
	r = mkdir_p_at(ofd, "tmp", &tfd);
	if (r < 0)
		return r;
	int ifd = -EBADF;
	(void)mkdir_p_at(fd, "index", &ifd); /* a cache: without it loads parse the JSON */
	struct rb_store *s = calloc(1, sizeof(*s));
	if (!s) {
		safe_close(ifd);
		return -ENOMEM;
	}
	s->objects_fd = TAKE_FD(ofd);
	s->index_fd = ifd;
	*ret = s;
	return 0;
}

struct rb_store *rb_store_free(struct rb_store *s)
{
	if (s) {
		safe_close(s->objects_fd);
		safe_close(s->index_fd);
		free(s);
	}
	return NULL;
}

void rb_store_freep(struct rb_store **s)
{
	*s = rb_store_free(*s);
}

void rb_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = 0;
}

int rb_tmp_name(char *buf, size_t n, const char *prefix)
{
	unsigned char rnd[8];
	char hex[17];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	rb_hex(rnd, sizeof(rnd), hex);
	int l = snprintf(buf, n, "%s%s", prefix, hex);
	return l < 0 || (size_t)l >= n ? -ENAMETOOLONG : 0;
}

static ssize_t write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int rb_copy_hash(int in, int out, char ret_hash[65], uint64_t *ret_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[32];
	uint64_t total = 0;
	int r = 0;
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			r = -EIO;
			goto out;
		}
		if (out >= 0 && (r = (int)write_all(out, buf, (size_t)n)) < 0)
			goto out;
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		r = -EIO;
		goto out;
	}
	rb_hex(md, sizeof(md), ret_hash);
	if (ret_size)
		*ret_size = total;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

static void object_path(const char *hash, char dir[3], char path[70])
{
	memcpy(dir, hash, 2);
	dir[2] = 0;
	(void)snprintf(path, 70, "%.2s/%s", hash, hash + 2);
}

int rb_store_put(struct rb_store *s, int fd, char ret_hash[65], uint64_t *ret_size)
{
	char tmp[64], hash[65], dir[3], path[70];
	uint64_t size;
	int r = rb_tmp_name(tmp, sizeof(tmp), "tmp/obj-");
	if (r < 0)
		return r;
	_cleanup_close_ int out =
	    openat(s->objects_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
	if (out < 0)
		return -errno;
	r = rb_copy_hash(fd, out, hash, &size);
	if (r >= 0) {
		object_path(hash, dir, path);
		if (mkdirat(s->objects_fd, dir, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r >= 0 && faccessat(s->objects_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		(void)unlinkat(s->objects_fd, tmp, 0); /* dedup: the object is there */
	} else if (r >= 0) {
		if (renameat(s->objects_fd, tmp, s->objects_fd, path) < 0)
			r = -errno;
		else { /* snapshot threads store concurrently */
			(void)__atomic_add_fetch(&s->added, (int64_t)size, __ATOMIC_RELAXED);
			__atomic_store_n(&s->dirty, true, __ATOMIC_RELAXED);
		}
	}
	if (r < 0) {
		(void)unlinkat(s->objects_fd, tmp, 0);
		return r;
	}
	memcpy(ret_hash, hash, 65);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int rb_store_put_buf(struct rb_store *s, const void *buf, size_t len, const char *key)
{
	char tmp[64], dir[3], path[70];
	int r;
	if (!rb_hash_valid(key))
		return -EINVAL;
	object_path(key, dir, path);
	if (faccessat(s->objects_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* dedup */
	if ((r = rb_tmp_name(tmp, sizeof(tmp), "tmp/obj-")) < 0)
		return r;
	_cleanup_close_ int out =
	    openat(s->objects_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
	if (out < 0)
		return -errno;
	r = (int)write_all(out, buf, len);
	if (r >= 0 && fsync(out) < 0)
		r = -errno;
	if (r >= 0 && mkdirat(s->objects_fd, dir, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r >= 0 && renameat(s->objects_fd, tmp, s->objects_fd, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(s->objects_fd, tmp, 0);
		return r;
	}
	s->added += (int64_t)len;
	_cleanup_close_ int dfd =
	    openat(s->objects_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return dfd < 0 ? -errno : fsync(dfd) < 0 ? -errno : 0;
}

int rb_store_open_object(struct rb_store *s, const char *hash, int *ret_fd)
{
	char dir[3], path[70];
	if (!rb_hash_valid(hash))
		return -EINVAL;
	object_path(hash, dir, path);
	int fd = openat(s->objects_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int rb_store_index_fd(const struct rb_store *s)
{
	return s->index_fd;
}

int rb_store_sync(struct rb_store *s)
{
	/* One syncfs for all the objects rather than an fsync each (doc/design/decisions.md);
	 * none when nothing new was stored: on a busy filesystem a syncfs costs seconds. */
	if (!s->dirty)
		return 0;
	if (syncfs(s->objects_fd) < 0)
		return -errno;
	s->dirty = false;
	return 0;
}

bool rb_hash_valid(const char *h)
{
	size_t i;
	for (i = 0; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return i == 64;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rb_store_sweep(struct rb_store *s, struct rb_manifest *const *keep, size_t n_keep,
		   uint64_t *ret_removed)
{
	_cleanup_free_ char **live = NULL;
	size_t n = 0, cap = 0;
	uint64_t removed = 0;
	for (size_t k = 0; k < n_keep; k++) {
		if (keep[k]->body_stored) { /* the manifest's body is an object too */
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				char **nl = realloc(live, cap * sizeof(*nl));
				if (!nl)
					return -ENOMEM;
				live = nl;
			}
			live[n++] = keep[k]->body_hash;
		}
		for (size_t i = 0; i < keep[k]->n_roots; i++)
			for (size_t j = 0; j < keep[k]->roots[i].n_entries; j++) {
				struct rb_entry *e = &keep[k]->roots[i].entries[j];
				if (e->type != RB_FILE)
					continue;
				if (n == cap) {
					cap = cap ? cap * 2 : 1024;
					char **nl = realloc(live, cap * sizeof(*nl));
					if (!nl)
						return -ENOMEM;
					live = nl;
				}
				live[n++] = e->hash;
			}
	}
	if (n)
		qsort(live, n, sizeof(*live), cmp_str);
	for (unsigned b = 0; b < 256; b++) {
		char dir[3], hash[65];
		(void)snprintf(dir, sizeof(dir), "%02x", b);
		int dfd =
		    openat(s->objects_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		DIR *d = fdopendir(dfd);
		if (!d) {
			safe_close(dfd);
			return -ENOMEM;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (strlen(de->d_name) != 62)
				continue;
			memcpy(hash, dir, 2);
			memcpy(hash + 2, de->d_name, 63);
			const char *key = hash;
			if (!rb_hash_valid(hash) ||
			    (n && bsearch(&key, live, n, sizeof(*live), cmp_str)))
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				removed++;
		}
		closedir(d);
	}
	if (ret_removed)
		*ret_removed = removed;
	return 0;
}

int rb_store_size(struct rb_store *s, uint64_t *ret)
{
	uint64_t total = 0;
	for (unsigned b = 0; b < 256; b++) {
		char dir[3];
		(void)snprintf(dir, sizeof(dir), "%02x", b);
		int dfd =
		    openat(s->objects_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		DIR *d = fdopendir(dfd);
		if (!d) {
			safe_close(dfd);
			return -ENOMEM;
		}
		struct dirent *de;
		struct stat st;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' &&
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				total += (uint64_t)st.st_size;
		closedir(d);
	}
	*ret = total;
	return 0;
}

int rb_store_lock(struct rb_store *s, int how)
{
	while (flock(s->objects_fd, how) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int rb_store_unlink(struct rb_store *s, const char *hash)
{
	char dir[3], path[70];
	if (!rb_hash_valid(hash))
		return -EINVAL;
	object_path(hash, dir, path);
	struct stat st;
	if (fstatat(s->objects_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (unlinkat(s->objects_fd, path, 0) < 0)
		return -errno;
	s->added -= (int64_t)st.st_size;
	return 0;
}

/*
 * objects/usage: the bytes the objects took at the last exact count plus what was added
 * since, so that the cap is checked after each run without a stat of every object. A
 * hint that only decides whether to count exactly: concurrent runs may lose an addition,
 * and every prune that removes anything counts again.
 */
int rb_store_usage(struct rb_store *s, bool exact, uint64_t *ret)
{
	_cleanup_close_ int fd =
	    openat(s->objects_fd, "usage", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	char buf[32];
	unsigned long long v = 0;
	int r;
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	bool known = false;
	if (!exact && n > 1 && buf[n - 1] == '\n') {
		char *end;
		buf[n - 1] = 0;
		errno = 0;
		v = strtoull(buf, &end, 10);
		known = !errno && *end == 0 && buf[0] >= '0' && buf[0] <= '9';
	}
	if (known)
		v = s->added < 0 && (uint64_t)-s->added > v ? 0 : v + (uint64_t)s->added;
	else {
		uint64_t t;
		if ((r = rb_store_size(s, &t)) < 0)
			return r;
		v = t;
	}
	s->added = 0;
	int l = snprintf(buf, sizeof(buf), "%llu\n", v);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)l, 0) != l)
		return -errno;
	*ret = v;
	return 0;
}
