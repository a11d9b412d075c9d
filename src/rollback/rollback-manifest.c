/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot manifests: JSON, parsed strictly (unknown and duplicate keys, paths that are
 * not plain relative paths, malformed hashes are errors), written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/path.h"
#include "base/strv.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

static const char *const type_names[RB_TYPE_MAX] = {
    [RB_FILE] = "file", [RB_DIR] = "dir", [RB_SYMLINK] = "symlink", [RB_EXCLUDED] = "excluded"};

static void filter_release(struct rb_filter *f)
{
	strv_free(f->exclude);
	strv_free(f->include);
	strv_free(f->skip_dirs);
}

struct rb_manifest *rb_manifest_free(struct rb_manifest *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_roots; i++) {
		struct rb_root *r = &m->roots[i];
		for (size_t j = 0; !m->arena && !m->blocks && j < r->n_entries; j++) {
			free(r->entries[j].path);
			free(r->entries[j].target);
		}
		free(r->entries);
		free(r->path);
	}
	free(m->roots);
	filter_release(&m->filter);
	free(m->arena);
	(void)rb_block_free(m->blocks);
	free(m);
	return NULL;
}

void rb_manifest_freep(struct rb_manifest **m)
{
	*m = rb_manifest_free(*m);
}

char *rb_block_strndup(struct rb_block **chain, const char *s, size_t len)
{
	struct rb_block *b = *chain;
	if (!b || b->cap - b->used < len + 1) {
		size_t cap = len + 1 > 65536 ? len + 1 : 65536;
		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		*b = (struct rb_block){.next = *chain, .cap = cap};
		*chain = b;
	}
	char *p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = 0;
	b->used += len + 1;
	return p;
}

void rb_block_splice(struct rb_block **to, struct rb_block **from)
{
	struct rb_block *last = *from;
	if (!last)
		return;
	while (last->next)
		last = last->next;
	last->next = *to;
	*to = *from;
	*from = NULL;
}

struct rb_block *rb_block_free(struct rb_block *chain)
{
	while (chain) {
		struct rb_block *n = chain->next;
		free(chain);
		chain = n;
	}
	return NULL;
}

int rb_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rb_entry *)a)->path, ((const struct rb_entry *)b)->path);
}

const struct rb_entry *rb_root_find(const struct rb_root *r, const char *path)
{
	struct rb_entry key = {.path = (char *)path};
	if (!r->n_entries)
		return NULL;
	return bsearch(&key, r->entries, r->n_entries, sizeof(key), rb_entry_cmp);
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Regenerable trees (spec: ".git, target, node_modules, etc."). */
static const char *const auto_excluded[] = {
    ".git",	   ".hg",   ".svn",  "target",	    "node_modules",
    "__pycache__", ".venv", ".tox",  ".mypy_cache", ".pytest_cache",
    ".gradle",	   ".next", ".nuxt", ".cache",	    NULL,
};

bool rb_filter_excluded(const struct rb_filter *f, const char *relpath, const char *name,
			bool is_dir)
{
	STRV_FOREACH(x, f->exclude)
	{
		if (has_glob(*x)) {
			if (fnmatch(*x, name, 0) == 0)
				return true;
		} else if (strchr(*x, '/')) {
			if (strstr(relpath, *x))
				return true;
		} else if (streq(*x, name))
			return true;
	}
	if (!is_dir)
		return false;
	STRV_FOREACH(x, f->skip_dirs)
	if (streq(*x, name))
		return true;
	if (f->all || strv_contains(f->include, name))
		return false;
	for (size_t i = 0; auto_excluded[i]; i++)
		if (streq(auto_excluded[i], name))
			return true;
	return false;
}

static int strv_from_json(json_t *a, char ***ret)
{
	size_t i;
	json_t *v;
	_cleanup_strv_free_ char **l = NULL;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > 4096)
		return -EBADMSG;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= PATH_MAX)
			return -EBADMSG;
		if (strv_extend(&l, json_string_value(v)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int parse_entry(json_t *o, struct rb_entry *e)
{
	const char *path, *type, *hash = NULL, *target = NULL;
	json_int_t mode = 0, size = 0, dev = 0, ino = 0, mtime = 0, ctime = 0;
	json_error_t err;
	if (json_unpack_ex(
		o, &err, JSON_STRICT, "{s:s, s:s, s?I, s?I, s?I, s?I, s?I, s?I, s?s, s?s}", "path",
		&path, "type", &type, "mode", &mode, "size", &size, "mtime_ns", &mtime, "ctime_ns",
		&ctime, "dev", &dev, "ino", &ino, "hash", &hash, "target", &target) < 0)
		return -EBADMSG;
	if (!path_is_plain_relative(path) || mode < 0 || mode > 07777 || size < 0 || dev < 0 || ino < 0)
		return -EBADMSG;
	int t;
	for (t = 0; t < RB_TYPE_MAX; t++)
		if (streq(type, type_names[t]))
			break;
	if (t == RB_TYPE_MAX)
		return -EBADMSG;
	if ((t == RB_FILE) != (hash != NULL) || (t == RB_SYMLINK) != (target != NULL))
		return -EBADMSG;
	if (hash && !rb_hash_valid(hash))
		return -EBADMSG;
	if (target && (target[0] == 0 || strlen(target) >= PATH_MAX))
		return -EBADMSG;
	e->type = (enum rb_type)t;
	e->mode = (uint32_t)mode;
	e->size = (uint64_t)size;
	e->dev = (uint64_t)dev;
	e->ino = (uint64_t)ino;
	e->mtime_ns = mtime;
	e->ctime_ns = ctime;
	if (hash)
		memcpy(e->hash, hash, 65);
	if (!(e->path = strdup(path)) || (target && !(e->target = strdup(target))))
		return -ENOMEM;
	return 0;
}

static int parse_root(json_t *o, struct rb_root *r)
{
	const char *path;
	json_t *entries, *v;
	json_error_t err;
	size_t i;
	if (json_unpack_ex(o, &err, JSON_STRICT, "{s:s, s:o}", "path", &path, "entries", &entries) <
	    0)
		return -EBADMSG;
	if (path[0] != '/' || strlen(path) >= PATH_MAX || !json_is_array(entries) ||
	    json_array_size(entries) > RB_MAX_ENTRIES)
		return -EBADMSG;
	if (!(r->path = strdup(path)))
		return -ENOMEM;
	if (json_array_size(entries) &&
	    !(r->entries = calloc(json_array_size(entries), sizeof(*r->entries))))
		return -ENOMEM;
	json_array_foreach(entries, i, v)
	{
		int ret = parse_entry(v, &r->entries[i]);
		r->n_entries = i + 1;
		if (ret < 0)
			return ret;
		/* Sorted and unique: lookups bsearch, restore relies on parents first. */
		if (i > 0 && strcmp(r->entries[i - 1].path, r->entries[i].path) >= 0)
			return -EBADMSG;
	}
	return 0;
}

int rb_manifest_parse(const char *buf, size_t len, struct rb_manifest **ret)
{
	json_error_t err;
	json_t *roots, *filter = NULL, *v;
	json_int_t version, number, ts;
	const char *body_hash = NULL;
	size_t i;
	_cleanup_manifest_ struct rb_manifest *m = NULL;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return -EBADMSG;
	int r = -EBADMSG;
	if (json_unpack_ex(j, &err, JSON_STRICT, "{s:I, s:I, s:I, s?s, s?o, s:o}", "version",
			   &version, "number", &number, "timestamp", &ts, "body_sha256", &body_hash,
			   "filter", &filter, "roots", &roots) < 0)
		goto out;
	if (version != 1 || number < 0 || number > 999 || !json_is_array(roots) ||
	    json_array_size(roots) > 256 || (body_hash && !rb_hash_valid(body_hash)))
		goto out;
	r = -ENOMEM;
	if (!(m = calloc(1, sizeof(*m))))
		goto out;
	m->number = (unsigned)number;
	m->timestamp = ts;
	r = -EBADMSG;
	if (filter) {
		json_t *ex = NULL, *inc = NULL, *sk = NULL;
		int all = 0;
		if (json_unpack_ex(filter, &err, JSON_STRICT, "{s?o, s?o, s?o, s?b}", "exclude",
				   &ex, "include", &inc, "skip_dirs", &sk, "all", &all) < 0)
			goto out;
		m->filter.all = all;
		if ((r = strv_from_json(ex, &m->filter.exclude)) < 0 ||
		    (r = strv_from_json(inc, &m->filter.include)) < 0 ||
		    (r = strv_from_json(sk, &m->filter.skip_dirs)) < 0)
			goto out;
	}
	if (json_array_size(roots) &&
	    !(m->roots = calloc(json_array_size(roots), sizeof(*m->roots)))) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(roots, i, v)
	{
		r = parse_root(v, &m->roots[i]);
		m->n_roots = i + 1;
		if (r < 0)
			goto out;
	}
	*ret = TAKE_PTR(m);
	r = 0;
out:
	json_decref(j);
	return r;
}

/*
 * The header a manifest we wrote starts with: version, number, timestamp and the SHA-256
 * of the rest (the body: filter and roots). Recognised byte for byte; anything else is
 * left to the JSON parser. Returns the body's offset, or -EBADMSG.
 */
static int parse_header(const char *buf, size_t len, unsigned *ret_number, int64_t *ret_ts,
			char ret_key[65])
{
	static const char p1[] = "{\"version\":1,\"number\":", p2[] = ",\"timestamp\":",
			  p3[] = ",\"body_sha256\":\"";
	size_t i = 0, d;
	unsigned number = 0;
	int64_t ts = 0;
	bool neg = false;
#define LIT(s)                                                                                     \
	do {                                                                                       \
		if (len - i < sizeof(s) - 1 || memcmp(buf + i, s, sizeof(s) - 1) != 0)             \
			return -EBADMSG;                                                           \
		i += sizeof(s) - 1;                                                                \
	} while (0)
	LIT(p1);
	for (d = 0; i < len && buf[i] >= '0' && buf[i] <= '9' && d < 4; i++, d++)
		number = number * 10 + (unsigned)(buf[i] - '0');
	if (d == 0 || d > 3 || (d > 1 && buf[i - d] == '0'))
		return -EBADMSG;
	LIT(p2);
	if (i < len && buf[i] == '-') {
		neg = true;
		i++;
	}
	for (d = 0; i < len && buf[i] >= '0' && buf[i] <= '9' && d < 19; i++, d++)
		ts = ts * 10 + (buf[i] - '0');
	if (d == 0 || d >= 19 || (d > 1 && buf[i - d] == '0'))
		return -EBADMSG;
	LIT(p3);
	if (len - i < 66 || buf[i + 64] != '"' || buf[i + 65] != ',')
		return -EBADMSG;
	memcpy(ret_key, buf + i, 64);
	ret_key[64] = 0;
	if (!rb_hash_valid(ret_key))
		return -EBADMSG;
#undef LIT
	*ret_number = number;
	*ret_ts = neg ? -ts : ts;
	return (int)(i + 66);
}

static int sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned l = sizeof(md);
	if (EVP_Digest(p, n, md, &l, EVP_sha256(), NULL) != 1)
		return -EIO;
	rb_hex(md, sizeof(md), out);
	return 0;
}

struct map {
	void *p;
	size_t len;
};

static void map_release(struct map *m)
{
	if (m->p && m->len)
		(void)munmap(m->p, m->len);
}

/* Mapped, not read: a 100k-entry manifest is tens of MB already in the page cache. */
static int map_file(int dirfd, const char *name, struct map *ret, int *ret_fd)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)1 << 31)
		return -EBADMSG;
	ret->len = (size_t)st.st_size;
	ret->p = NULL;
	if (ret->len) {
		void *p = mmap(NULL, ret->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		ret->p = p;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* What follows the header when the body is an object in the store. */
static const char body_ref[] = "\"body\":\"store\"}";

/* Header and body as one JSON text for the strict parser. */
static int parse_joined(const char *head, size_t hl, const char *body, size_t bl,
			struct rb_manifest **ret)
{
	_cleanup_free_ char *doc = malloc(hl + bl + 1);
	if (!doc)
		return -ENOMEM;
	memcpy(doc, head, hl);
	memcpy(doc + hl, body, bl);
	return rb_manifest_parse(doc, hl + bl, ret);
}

int rb_manifest_load_at(int dirfd, const char *name, struct rb_store *s, unsigned flags,
			struct rb_manifest **ret)
{
	_cleanup_(map_release) struct map map = {0}, bmap = {0};
	_cleanup_manifest_ struct rb_manifest *m = NULL;
	_cleanup_close_ int fd = -EBADF, bfd = -EBADF;
	unsigned number;
	int64_t ts;
	char key[65], sum[65];
	int ifd = s ? rb_store_index_fd(s) : -EBADF;
	int r = map_file(dirfd, name, &map, &fd);
	if (r < 0)
		return r;
	const char *buf = map.p ? map.p : "";
	int off = parse_header(buf, map.len, &number, &ts, key);
	if (off < 0 || map.len - (size_t)off != sizeof(body_ref) - 1 ||
	    memcmp(buf + off, body_ref, sizeof(body_ref) - 1) != 0)
		return rb_manifest_parse(buf, map.len, ret); /* the body inline */
	/* The body is object <key>: its index stands in for it, else it is parsed. */
	if ((flags & RB_LOAD_TRUST_KEY) && ifd >= 0 && rb_index_load(ifd, key, &m) >= 0)
		goto done;
	if (!s)
		return -ENOENT;
	if ((r = rb_store_open_object(s, key, &bfd)) < 0)
		return r == -ENOENT ? -EBADMSG : r; /* a manifest without its body */
	{
		_cleanup_close_ int dfd = -EBADF;
		struct stat st;
		if (fstat(bfd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode) || st.st_size > (off_t)1 << 31)
			return -EBADMSG;
		bmap.len = (size_t)st.st_size;
		if (bmap.len) {
			void *p = mmap(NULL, bmap.len, PROT_READ, MAP_PRIVATE, bfd, 0);
			if (p == MAP_FAILED)
				return -errno;
			bmap.p = p;
		}
	}
	const char *body = bmap.p ? bmap.p : "";
	if ((r = sha256_hex(body, bmap.len, sum)) < 0)
		return r;
	if (!streq(sum, key))
		return -EBADMSG; /* the stored body was altered */
	if (ifd >= 0 && rb_index_load(ifd, key, &m) >= 0)
		goto done;
	if ((r = parse_joined(buf, (size_t)off, body, bmap.len, &m)) < 0)
		return r;
	if (ifd >= 0)
		(void)rb_index_store(ifd, key, m); /* a cache: best effort */
done:
	m->number = number;
	m->timestamp = ts;
	memcpy(m->body_hash, key, 65);
	m->body_stored = true;
	*ret = TAKE_PTR(m);
	return 0;
}

int rb_manifest_peek_key(int dirfd, const char *name, char ret_key[65])
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[256];
	unsigned number;
	int64_t ts;
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	return parse_header(buf, (size_t)n, &number, &ts, ret_key) < 0 ? -EBADMSG : 0;
}

int rb_manifest_load(int dirfd, const char *name, struct rb_manifest **ret)
{
	return rb_manifest_load_at(dirfd, name, NULL, 0, ret);
}

/* A writer for exactly this shape: jansson's object tree costs seconds at 100k entries. */
struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void put(struct out *o, const char *p, size_t n)
{
	if (o->err)
		return;
	if (o->cap - o->len < n) {
		size_t nc = o->cap ? o->cap : 1 << 20;
		while (nc - o->len < n)
			nc *= 2;
		char *x = realloc(o->buf, nc);
		if (!x) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = x;
		o->cap = nc;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_int(struct out *o, const char *key, long long v)
{
	char b[64];
	int l = snprintf(b, sizeof(b), ",\"%s\":%lld", key, v);
	put(o, b, (size_t)l);
}

/* Length of the UTF-8 sequence at s (what jansson accepts), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], n, v;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, v = c & 0x07;
	else
		return 0;
	for (unsigned i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (n == 3 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	return n + 1;
}

static void put_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	put(o, "\"", 1);
	while (*p && !o->err) {
		const unsigned char *start = p;
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		put(o, (const char *)start, (size_t)(p - start));
		if (!*p)
			break;
		if (*p >= 0x80) {
			size_t n = utf8_len(p);
			if (!n) {
				o->err = -EILSEQ; /* JSON holds Unicode text only */
				return;
			}
			put(o, (const char *)p, n);
			p += n;
		} else if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p++};
			put(o, esc, 2);
		} else {
			char esc[8];
			(void)snprintf(esc, sizeof(esc), "\\u%04x", *p++);
			put(o, esc, 6);
		}
	}
	put(o, "\"", 1);
}

static void put_strv(struct out *o, const char *key, char *const *l)
{
	put(o, "\"", 1);
	puts_(o, key);
	put(o, "\":[", 3);
	STRV_FOREACH(s, l)
	{
		if (s != l)
			put(o, ",", 1);
		put_str(o, *s);
	}
	put(o, "]", 1);
}

/* The body: everything after the header, ending the top-level object. */
static int manifest_body(const struct rb_manifest *m, struct out *o)
{
	puts_(o, "\"filter\":{");
	put_strv(o, "exclude", m->filter.exclude);
	put(o, ",", 1);
	put_strv(o, "include", m->filter.include);
	put(o, ",", 1);
	put_strv(o, "skip_dirs", m->filter.skip_dirs);
	puts_(o, m->filter.all ? ",\"all\":true},\"roots\":[" : ",\"all\":false},\"roots\":[");
	for (size_t i = 0; i < m->n_roots && !o->err; i++) {
		puts_(o, i ? ",{\"path\":" : "{\"path\":");
		put_str(o, m->roots[i].path);
		puts_(o, ",\"entries\":[");
		for (size_t j = 0; j < m->roots[i].n_entries && !o->err; j++) {
			const struct rb_entry *e = &m->roots[i].entries[j];
			puts_(o, j ? ",{\"path\":" : "{\"path\":");
			put_str(o, e->path);
			puts_(o, ",\"type\":\"");
			puts_(o, type_names[e->type]);
			put(o, "\"", 1);
			put_int(o, "mode", e->mode);
			put_int(o, "size", (long long)e->size);
			put_int(o, "mtime_ns", e->mtime_ns);
			put_int(o, "ctime_ns", e->ctime_ns);
			put_int(o, "dev", (long long)e->dev);
			put_int(o, "ino", (long long)e->ino);
			if (e->type == RB_FILE) {
				puts_(o, ",\"hash\":\"");
				put(o, e->hash, 64);
				put(o, "\"", 1);
			} else if (e->type == RB_SYMLINK) {
				puts_(o, ",\"target\":");
				put_str(o, e->target);
			}
			put(o, "}", 1);
		}
		puts_(o, "]}");
	}
	puts_(o, "]}");
	return o->err;
}

int rb_manifest_write_at(int dirfd, const char *name, struct rb_store *s, struct rb_manifest *m)
{
	char tmp[64], key[65], head[256];
	struct out o = {0};
	/* Unchanged since a snapshot whose body is stored: referenced, not written again. */
	_cleanup_close_ int have = -EBADF;
	bool stored = s && m->body_stored && rb_hash_valid(m->body_hash) &&
		      rb_store_open_object(s, m->body_hash, &have) >= 0;
	int r = stored ? 0 : manifest_body(m, &o);
	_cleanup_free_ char *body = o.buf;
	if (r < 0)
		return r;
	if (stored)
		memcpy(key, m->body_hash, 65);
	else if ((r = sha256_hex(body, o.len, key)) < 0)
		return r;
	if (s && !stored && (r = rb_store_put_buf(s, body, o.len, key)) < 0)
		return r;
	int hl =
	    snprintf(head, sizeof(head),
		     "{\"version\":1,\"number\":%u,\"timestamp\":%lld,\"body_sha256\":\"%s\",%s",
		     m->number, (long long)m->timestamp, key, s ? body_ref : "");
	if (hl < 0 || (size_t)hl >= sizeof(head))
		return -EINVAL;
	if ((r = rb_tmp_name(tmp, sizeof(tmp), ".tmp-manifest-")) < 0)
		return r;
	_cleanup_close_ int fd =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	struct iovec iov[2] = {{head, (size_t)hl}, {body, s ? 0 : o.len}};
	size_t total = iov[0].iov_len + iov[1].iov_len, done = 0;
	while (r >= 0 && done < total) {
		ssize_t w = writev(fd, iov, 2);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
		for (int k = 0; k < 2; k++) {
			size_t t = (size_t)w < iov[k].iov_len ? (size_t)w : iov[k].iov_len;
			iov[k].iov_base = (char *)iov[k].iov_base + t;
			iov[k].iov_len -= t;
			w -= (ssize_t)t;
		}
	}
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	memcpy(m->body_hash, key, 65);
	m->body_stored = s != NULL;
	/* The next snapshot and any restore read this one through its index. */
	int ifd = s ? rb_store_index_fd(s) : -EBADF;
	if (ifd >= 0 && faccessat(ifd, key, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		(void)rb_index_store(ifd, key, m);
	return 0;
}

int rb_manifest_write(int dirfd, const char *name, struct rb_manifest *m)
{
	return rb_manifest_write_at(dirfd, name, NULL, m);
}

static bool entry_same(const struct rb_entry *a, const struct rb_entry *b)
{
	if (a->type != b->type || a->mode != b->mode)
		return false;
	if (a->type == RB_FILE)
		return streq(a->hash, b->hash);
	if (a->type == RB_SYMLINK)
		return streq(a->target, b->target);
	return true;
}

int rb_diff(const struct rb_manifest *from, const struct rb_manifest *to, rb_change_fn fn,
	    void *userdata)
{
	int r;
	for (size_t i = 0; i < to->n_roots; i++) {
		const struct rb_root *t = &to->roots[i], *f = NULL;
		for (size_t k = 0; k < from->n_roots; k++)
			if (streq(from->roots[k].path, t->path))
				f = &from->roots[k];
		for (size_t j = 0; j < t->n_entries; j++) {
			const struct rb_entry *e = &t->entries[j],
					      *o = f ? rb_root_find(f, e->path) : NULL;
			if (e->type == RB_EXCLUDED || (o && o->type == RB_EXCLUDED))
				continue;
			if (!o)
				r = fn(userdata, t->path, e, RB_CREATED);
			else if (!entry_same(o, e))
				r = fn(userdata, t->path, e, RB_MODIFIED);
			else
				r = 0;
			if (r < 0)
				return r;
		}
		for (size_t j = 0; f && j < f->n_entries; j++) {
			const struct rb_entry *e = &f->entries[j];
			if (e->type != RB_EXCLUDED && !rb_root_find(t, e->path) &&
			    (r = fn(userdata, t->path, e, RB_DELETED)) < 0)
				return r;
		}
	}
	return 0;
}
