/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot manifests: JSON, parsed strictly (unknown and duplicate keys, paths that are
 * not plain relative paths, malformed hashes are errors), written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
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
		for (size_t j = 0; j < r->n_entries; j++) {
			free(r->entries[j].path);
			free(r->entries[j].target);
		}
		free(r->entries);
		free(r->path);
	}
	free(m->roots);
	filter_release(&m->filter);
	free(m);
	return NULL;
}

void rb_manifest_freep(struct rb_manifest **m)
{
	*m = rb_manifest_free(*m);
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

static bool relpath_valid(const char *p)
{
	size_t l = strlen(p);
	if (l == 0 || l >= PATH_MAX || p[0] == '/' || p[l - 1] == '/')
		return false;
	for (const char *c = p; c; c = strchr(c, '/'), c = c ? c + 1 : NULL) {
		size_t n = strcspn(c, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return true;
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
	if (!relpath_valid(path) || mode < 0 || mode > 07777 || size < 0 || dev < 0 || ino < 0)
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
	size_t i;
	_cleanup_manifest_ struct rb_manifest *m = NULL;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return -EBADMSG;
	int r = -EBADMSG;
	if (json_unpack_ex(j, &err, JSON_STRICT, "{s:I, s:I, s:I, s?o, s:o}", "version", &version,
			   "number", &number, "timestamp", &ts, "filter", &filter, "roots",
			   &roots) < 0)
		goto out;
	if (version != 1 || number < 0 || number > 999 || !json_is_array(roots) ||
	    json_array_size(roots) > 256)
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

int rb_manifest_load(int dirfd, const char *name, struct rb_manifest **ret)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)4 << 30)
		return -EBADMSG;
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return rb_manifest_parse(buf, got, ret);
}

static json_t *strv_to_json(char *const *l)
{
	json_t *a = json_array();
	STRV_FOREACH(s, l)
	if (a && json_array_append_new(a, json_string(*s)) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *manifest_to_json(const struct rb_manifest *m)
{
	json_t *roots = json_array();
	if (!roots)
		return NULL;
	for (size_t i = 0; i < m->n_roots; i++) {
		json_t *ents = json_array();
		if (!ents ||
		    json_array_append_new(roots, json_pack("{s:s, s:o}", "path", m->roots[i].path,
							   "entries", ents)) < 0)
			goto fail;
		for (size_t j = 0; j < m->roots[i].n_entries; j++) {
			const struct rb_entry *e = &m->roots[i].entries[j];
			json_t *o =
			    json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "path", e->path,
				      "type", type_names[e->type], "mode", (json_int_t)e->mode,
				      "size", (json_int_t)e->size, "mtime_ns",
				      (json_int_t)e->mtime_ns, "ctime_ns", (json_int_t)e->ctime_ns,
				      "dev", (json_int_t)e->dev, "ino", (json_int_t)e->ino);
			if (!o || json_array_append_new(ents, o) < 0)
				goto fail;
			if (e->type == RB_FILE &&
			    json_object_set_new(o, "hash", json_string(e->hash)) < 0)
				goto fail;
			if (e->type == RB_SYMLINK &&
			    json_object_set_new(o, "target", json_string(e->target)) < 0)
				goto fail;
		}
	}
	json_t *filter =
	    json_pack("{s:o, s:o, s:o, s:b}", "exclude", strv_to_json(m->filter.exclude), "include",
		      strv_to_json(m->filter.include), "skip_dirs",
		      strv_to_json(m->filter.skip_dirs), "all", m->filter.all);
	if (!filter)
		goto fail;
	return json_pack("{s:i, s:I, s:I, s:o, s:o}", "version", 1, "number", (json_int_t)m->number,
			 "timestamp", (json_int_t)m->timestamp, "filter", filter, "roots", roots);
fail:
	json_decref(roots);
	return NULL;
}

int rb_manifest_write(int dirfd, const char *name, const struct rb_manifest *m)
{
	char tmp[64];
	json_t *j = manifest_to_json(m);
	if (!j)
		return -ENOMEM;
	int r = rb_tmp_name(tmp, sizeof(tmp), ".tmp-manifest-");
	if (r < 0) {
		json_decref(j);
		return r;
	}
	_cleanup_close_ int fd =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		json_decref(j);
		return -errno;
	}
	/* One buffer, one write: json_dumpfd writes every token on its own (a syscall each). */
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	r = text ? 0 : -ENOMEM;
	for (size_t off = 0, len = text ? strlen(text) : 0; r >= 0 && off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno != EINTR)
			r = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	return fsync(dirfd) < 0 ? -errno : 0;
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
