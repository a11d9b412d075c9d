/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manifest index: a binary copy of a manifest's body (filter, roots, entries), named
 * by the SHA-256 of the JSON body it mirrors, under <base>/index/<64 hex>. Decoding it
 * costs a bounds check and one allocation per entry, where parsing the JSON costs seconds
 * on a 100k-file tree. It is a cache: the JSON manifest is the authority, a missing,
 * truncated or corrupt index (bad magic, size or checksum, or an entry the JSON parser
 * would refuse) is ignored and rebuilt from the JSON. Written without fsync: a torn index
 * fails its checksum.
 *
 * Layout (host byte order; the magic carries the version):
 *   header | filter strings [n_filter] | roots [n_roots] | entries [n_entries] | strings
 * All string offsets index the string table and point at NUL-terminated strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/path.h"
#include "base/strv.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

#define IDX_MAGIC  "NONORBX1"
#define IDX_NO_STR UINT64_MAX
#define IDX_MAX	   ((size_t)4 << 30)

struct idx_header {
	char magic[8];
	uint8_t key[32]; /* SHA-256 of the JSON body this mirrors */
	uint8_t sum[32]; /* SHA-256 of everything after the header */
	uint32_t n_roots, n_filter;
	uint64_t n_entries, strtab_len;
	uint32_t all, pad;
};

_Static_assert(sizeof(struct idx_header) == 104, "tests/fuzz/fuzz-rollback-index.c knows it");

struct idx_filter {
	uint32_t kind; /* 0 exclude, 1 include, 2 skip_dirs */
	uint32_t pad;
	uint64_t off;
};

struct idx_root {
	uint64_t path_off, n_entries;
};

struct idx_entry {
	uint64_t path_off, target_off;
	uint32_t type, mode;
	uint64_t size, dev, ino;
	int64_t mtime_ns, ctime_ns;
	uint8_t hash[32];
};

static int sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static int unhex(const char *h, uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = h[2 * i + (size_t)k];
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;
			if (d < 0)
				return -EINVAL;
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A string in the table: in bounds and terminated inside it. */
static const char *str_at(const char *tab, uint64_t len, uint64_t off)
{
	if (off >= len || !memchr(tab + off, 0, len - off))
		return NULL;
	return tab + off;
}

int rb_index_decode(const void *buf, size_t len, const char *key, struct rb_manifest **ret)
{
	struct idx_header h;
	uint8_t sum[32];
	const char *p = buf;
	_cleanup_manifest_ struct rb_manifest *m = NULL;
	int r;

	if (len < sizeof(h) || len > IDX_MAX)
		return -EBADMSG;
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, IDX_MAGIC, 8) != 0 || h.n_roots > 256 || h.n_filter > 3 * 4096 ||
	    h.n_entries > (uint64_t)256 * RB_MAX_ENTRIES || h.all > 1)
		return -EBADMSG;
	if (key) {
		uint8_t k[32];
		if (unhex(key, k) < 0 || memcmp(k, h.key, 32) != 0)
			return -EBADMSG;
	}
	/* Each count is bounded above, so the sum cannot overflow. */
	uint64_t need = sizeof(h) + (uint64_t)h.n_filter * sizeof(struct idx_filter) +
			(uint64_t)h.n_roots * sizeof(struct idx_root) +
			h.n_entries * sizeof(struct idx_entry);
	if (need > len || h.strtab_len != len - need)
		return -EBADMSG;
	if ((r = sha256(p + sizeof(h), len - sizeof(h), sum)) < 0)
		return r;
	if (memcmp(sum, h.sum, 32) != 0)
		return -EBADMSG;
	const char *filt = p + sizeof(h);
	const char *roots = filt + (size_t)h.n_filter * sizeof(struct idx_filter);
	const char *ents = roots + (size_t)h.n_roots * sizeof(struct idx_root);
	const char *tab = p + need;

	if (!(m = calloc(1, sizeof(*m))) || !(m->arena = malloc(h.strtab_len ? h.strtab_len : 1)))
		return -ENOMEM;
	/* One copy of the strings: the entries point into it (no allocation each). */
	if (h.strtab_len)
		memcpy(m->arena, tab, h.strtab_len);
	m->filter.all = h.all;
	for (uint32_t i = 0; i < h.n_filter; i++) {
		struct idx_filter f;
		memcpy(&f, filt + (size_t)i * sizeof(f), sizeof(f));
		const char *s = str_at(tab, h.strtab_len, f.off);
		char ***l = f.kind == 0	  ? &m->filter.exclude
			    : f.kind == 1 ? &m->filter.include
			    : f.kind == 2 ? &m->filter.skip_dirs
					  : NULL;
		if (!l || !s || !s[0] || strlen(s) >= PATH_MAX)
			return -EBADMSG;
		if (strv_extend(l, s) < 0)
			return -ENOMEM;
	}
	if (h.n_roots && !(m->roots = calloc(h.n_roots, sizeof(*m->roots))))
		return -ENOMEM;
	uint64_t next = 0;
	for (uint32_t i = 0; i < h.n_roots; i++) {
		struct idx_root ir;
		struct rb_root *rt = &m->roots[i];
		memcpy(&ir, roots + (size_t)i * sizeof(ir), sizeof(ir));
		m->n_roots = i + 1;
		const char *path = str_at(tab, h.strtab_len, ir.path_off);
		if (!path || path[0] != '/' || strlen(path) >= PATH_MAX ||
		    ir.n_entries > RB_MAX_ENTRIES || ir.n_entries > h.n_entries - next)
			return -EBADMSG;
		if (!(rt->path = strdup(path)))
			return -ENOMEM;
		if (ir.n_entries && !(rt->entries = calloc(ir.n_entries, sizeof(*rt->entries))))
			return -ENOMEM;
		for (uint64_t j = 0; j < ir.n_entries; j++, next++) {
			struct idx_entry ie;
			struct rb_entry *e = &rt->entries[j];
			memcpy(&ie, ents + (size_t)next * sizeof(ie), sizeof(ie));
			const char *ep = str_at(tab, h.strtab_len, ie.path_off);
			const char *tg = ie.target_off == IDX_NO_STR
					     ? NULL
					     : str_at(tab, h.strtab_len, ie.target_off);
			/* The same rules as the JSON parser: the index may not say more. */
			if (!ep || !path_is_plain_relative(ep) || ie.type >= RB_TYPE_MAX ||
			    ie.mode > 07777 || ie.size > INT64_MAX || ie.dev > INT64_MAX ||
			    ie.ino > INT64_MAX || (ie.type == RB_SYMLINK) != (tg != NULL) ||
			    (ie.target_off != IDX_NO_STR && !tg) ||
			    (tg && (!tg[0] || strlen(tg) >= PATH_MAX)))
				return -EBADMSG;
			if (j > 0 && strcmp(rt->entries[j - 1].path, ep) >= 0)
				return -EBADMSG;
			e->type = (enum rb_type)ie.type;
			e->mode = ie.mode;
			e->size = ie.size;
			e->dev = ie.dev;
			e->ino = ie.ino;
			e->mtime_ns = ie.mtime_ns;
			e->ctime_ns = ie.ctime_ns;
			if (e->type == RB_FILE)
				rb_hex(ie.hash, 32, e->hash);
			rt->n_entries = j + 1;
			e->path = m->arena + (ep - tab);
			e->target = tg ? m->arena + (tg - tab) : NULL;
		}
	}
	if (next != h.n_entries)
		return -EBADMSG;
	*ret = TAKE_PTR(m);
	return 0;
}

struct enc {
	char *buf;
	size_t len, cap;
};

static int enc_put(struct enc *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t nc = b->cap ? b->cap : 65536;
		while (nc - b->len < n) {
			if (nc > IDX_MAX)
				return -E2BIG;
			nc *= 2;
		}
		char *x = realloc(b->buf, nc);
		if (!x)
			return -ENOMEM;
		b->buf = x;
		b->cap = nc;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

static int tab_put(struct enc *t, const char *s, uint64_t *ret_off)
{
	*ret_off = t->len;
	return enc_put(t, s, strlen(s) + 1);
}

int rb_index_encode(const struct rb_manifest *m, const char *key, void **ret, size_t *ret_len)
{
	struct enc body = {0}, tab = {0};
	struct idx_header h = {.magic = IDX_MAGIC};
	int r = 0;
	char *const *lists[3] = {m->filter.exclude, m->filter.include, m->filter.skip_dirs};

	if (unhex(key, h.key) < 0 || m->n_roots > 256)
		return -EINVAL;
	h.all = m->filter.all ? 1 : 0;
	for (uint32_t k = 0; k < 3 && r >= 0; k++)
		STRV_FOREACH(s, lists[k])
		{
			struct idx_filter f = {.kind = k};
			if ((r = tab_put(&tab, *s, &f.off)) < 0 ||
			    (r = enc_put(&body, &f, sizeof(f))) < 0)
				break;
			h.n_filter++;
		}
	for (size_t i = 0; i < m->n_roots && r >= 0; i++) {
		struct idx_root ir = {.n_entries = m->roots[i].n_entries};
		if ((r = tab_put(&tab, m->roots[i].path, &ir.path_off)) >= 0)
			r = enc_put(&body, &ir, sizeof(ir));
		h.n_roots++;
	}
	for (size_t i = 0; i < m->n_roots && r >= 0; i++)
		for (size_t j = 0; j < m->roots[i].n_entries && r >= 0; j++) {
			const struct rb_entry *e = &m->roots[i].entries[j];
			struct idx_entry ie = {
			    .target_off = IDX_NO_STR,
			    .type = e->type,
			    .mode = e->mode,
			    .size = e->size,
			    .dev = e->dev,
			    .ino = e->ino,
			    .mtime_ns = e->mtime_ns,
			    .ctime_ns = e->ctime_ns,
			};
			if (e->type == RB_FILE && unhex(e->hash, ie.hash) < 0)
				r = -EINVAL;
			if (r >= 0)
				r = tab_put(&tab, e->path, &ie.path_off);
			if (r >= 0 && e->type == RB_SYMLINK)
				r = tab_put(&tab, e->target, &ie.target_off);
			if (r >= 0)
				r = enc_put(&body, &ie, sizeof(ie));
			h.n_entries++;
		}
	if (r >= 0)
		r = enc_put(&body, tab.buf ? tab.buf : "", tab.len);
	h.strtab_len = tab.len;
	free(tab.buf);
	if (r >= 0)
		r = sha256(body.buf ? body.buf : "", body.len, h.sum);
	_cleanup_free_ char *out = NULL;
	if (r >= 0 && !(out = malloc(sizeof(h) + body.len)))
		r = -ENOMEM;
	if (r < 0) {
		free(body.buf);
		return r;
	}
	memcpy(out, &h, sizeof(h));
	if (body.len)
		memcpy(out + sizeof(h), body.buf, body.len);
	free(body.buf);
	*ret_len = sizeof(h) + body.len;
	*ret = TAKE_PTR(out);
	return 0;
}

int rb_index_load(int index_dirfd, const char *key, struct rb_manifest **ret)
{
	struct stat st;
	if (!rb_hash_valid(key))
		return -EINVAL;
	_cleanup_close_ int fd = openat(index_dirfd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct idx_header) ||
	    (uint64_t)st.st_size > IDX_MAX)
		return -EBADMSG;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	int r = rb_index_decode(p, (size_t)st.st_size, key, ret);
	(void)munmap(p, (size_t)st.st_size);
	return r;
}

int rb_index_store(int index_dirfd, const char *key, const struct rb_manifest *m)
{
	_cleanup_free_ void *buf = NULL;
	size_t len = 0;
	char tmp[64];
	int r;
	if (!rb_hash_valid(key))
		return -EINVAL;
	if ((r = rb_index_encode(m, key, &buf, &len)) < 0 ||
	    (r = rb_tmp_name(tmp, sizeof(tmp), ".tmp-index-")) < 0)
		return r;
	_cleanup_close_ int fd =
	    openat(index_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (char *)buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	/* No fsync: a cache; a torn file fails its checksum and is rebuilt. */
	if (r >= 0 && renameat(index_dirfd, tmp, index_dirfd, key) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(index_dirfd, tmp, 0);
	return r;
}
