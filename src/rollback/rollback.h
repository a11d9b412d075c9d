/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Rollback: a content-addressed object store (SHA-256) under <home>/.nono/rollback/objects,
 * snapshot manifests of the write-granted directories, and a restore that cannot be
 * redirected outside a grant root (every parent resolved with openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS). Library code: no logging, negative errno returns.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"

enum rb_type {
	RB_FILE = 0,
	RB_DIR,
	RB_SYMLINK,
	RB_EXCLUDED, /* a directory left out of the snapshot: restore leaves it alone */
	RB_TYPE_MAX,
};

struct rb_entry {
	char *path; /* relative to the root: no leading '/', no "." or ".." components */
	enum rb_type type;
	uint32_t mode; /* permission bits (07777) */
	uint64_t size, dev, ino;
	int64_t mtime_ns, ctime_ns;
	char *target;  /* RB_SYMLINK */
	char hash[65]; /* RB_FILE: lowercase hex SHA-256 of the content */
};

struct rb_root {
	char *path;		  /* absolute */
	struct rb_entry *entries; /* sorted by path (strcmp): parents before children */
	size_t n_entries;
};

/* Exclusion rules (spec: --rollback-exclude, --rollback-include, --rollback-all, --skip-dir). */
struct rb_filter {
	char *
	    *exclude; /* globs match the name, names with '/' a path substring, else a component */
	char **include;	  /* directory names forced back in despite the auto-excludes */
	char **skip_dirs; /* directory names pruned, like exclude */
	bool all;	  /* no auto-exclusions (names and the >10,000-entry rule) */
};

struct rb_manifest {
	unsigned number;
	int64_t timestamp;
	struct rb_filter filter;
	struct rb_root *roots;
	size_t n_roots;
	/* SHA-256 of the body (filter and roots as JSON). body_stored: it is the store's
	 * object <body_hash> (set by load_at and write_at; rb_snapshot passes it on when
	 * nothing changed, so write_at references it rather than encoding 100k entries). */
	char body_hash[65];
	bool body_stored;
	char *arena; /* decoded from the index: entry paths and targets point into it */
	/* rb_snapshot: entry paths and targets live in these chained blocks (rb_block_*). */
	struct rb_block *blocks;
};

struct rb_stats {
	uint64_t files, hashed, reused, stored_bytes, excluded;
	uint64_t dirs, dirs_listed;	      /* snapshot: directories, those read with getdents */
	uint64_t written, removed, unchanged; /* restore */
};

#define RB_BIG_DIR_ENTRIES 10000
#define RB_MAX_ENTRIES	   (8u * 1024 * 1024)
#define RB_MAX_DEPTH	   512

struct rb_store;
struct rb_manifest *rb_manifest_free(struct rb_manifest *m);
void rb_manifest_freep(struct rb_manifest **m);
#define _cleanup_manifest_ __attribute__((cleanup(rb_manifest_freep)))

/* Strict parse (unknown or duplicate keys, bad paths, bad hashes: -EBADMSG). */
int rb_manifest_parse(const char *buf, size_t len, struct rb_manifest **ret);
int rb_manifest_load(int dirfd, const char *name, struct rb_manifest **ret);
/*
 * A manifest written with a store is a header (version, number, timestamp, body_sha256)
 * whose body (filter, roots) is the store's object <body_sha256>, deduplicated like any
 * content. load_at checks the object against its hash, then decodes the body's index
 * (<base>/index/<hash>) in place of the JSON; a missing or corrupt index is rebuilt from
 * the JSON. RB_LOAD_TRUST_KEY takes the index without reading the object: for a stat
 * cache and the sweep. s NULL: only manifests with the body inline (rb_manifest_write).
 */
#define RB_LOAD_TRUST_KEY (1u << 0)
/* The body hash a manifest we wrote names in its header (read from its first bytes);
 * -EBADMSG for one without. Lets a sweep load each distinct body once. */
int rb_manifest_peek_key(int dirfd, const char *name, char ret_key[65]);
int rb_manifest_load_at(int dirfd, const char *name, struct rb_store *s, unsigned flags,
			struct rb_manifest **ret);
/* Atomic: temp file, fsync, rename, fsync of the directory. Sets m->body_hash; with a
 * store, the body goes to the store (unless m->body_stored) and its index is written. */
int rb_manifest_write(int dirfd, const char *name, struct rb_manifest *m);
int rb_manifest_write_at(int dirfd, const char *name, struct rb_store *s, struct rb_manifest *m);
const struct rb_entry *rb_root_find(const struct rb_root *r, const char *path);

/* True when a path (relative, with its last component name) is left out by the filter. */
bool rb_filter_excluded(const struct rb_filter *f, const char *relpath, const char *name,
			bool is_dir);

struct rb_store;
/* Opens (creating) <base>/objects; base is usually ~/.nono/rollback. */
int rb_store_open(const char *base, struct rb_store **ret);
struct rb_store *rb_store_free(struct rb_store *s);
void rb_store_freep(struct rb_store **s);
#define _cleanup_store_ __attribute__((cleanup(rb_store_freep)))
/* Copies the regular file open at fd into the store; dedup by hash. */
int rb_store_put(struct rb_store *s, int fd, char ret_hash[65], uint64_t *ret_size);
/* Opens an object for reading; -ENOENT when missing. */
int rb_store_open_object(struct rb_store *s, const char *hash, int *ret_fd);
/* <base>/index (the manifest index cache), or < 0. Owned by the store. */
int rb_store_index_fd(const struct rb_store *s);
/* Stores buf as object key (its SHA-256, the caller's), durably: fsync of it and its
 * directory (a manifest that references it is committed next). */
int rb_store_put_buf(struct rb_store *s, const void *buf, size_t len, const char *key);
/* Makes every object written so far durable (syncfs): call before committing a manifest. */
int rb_store_sync(struct rb_store *s);
/* Removes objects no manifest in keep references (mark and sweep). */
int rb_store_sweep(struct rb_store *s, struct rb_manifest *const *keep, size_t n_keep,
		   uint64_t *ret_removed);

/*
 * Snapshot the roots (absolute, existing directories); s NULL: hash only, store nothing
 * (--audit-integrity without --rollback). prev (may be NULL) supplies hashes
 * for files whose (dev, ino, size, mtime_ns, ctime_ns) are unchanged; they are not re-read.
 */
int rb_snapshot(struct rb_store *s, char *const *roots, const struct rb_filter *f,
		const struct rb_manifest *prev, unsigned number, struct rb_manifest **ret,
		struct rb_stats *stats);

/* --audit-integrity: the Merkle root over the files and symlinks of m (rollback-merkle.c)
 * and the number of leaves. */
int rb_merkle_root(const struct rb_manifest *m, char ret[65], uint64_t *ret_leaves);

/* Per-path change between two manifests. */
enum rb_change { RB_CREATED, RB_MODIFIED, RB_DELETED, RB_CHANGE_MAX };
typedef int (*rb_change_fn)(void *userdata, const char *root, const struct rb_entry *e,
			    enum rb_change c);
int rb_diff(const struct rb_manifest *from, const struct rb_manifest *to, rb_change_fn fn,
	    void *userdata);

/*
 * Bring the roots back to the state in m. only (may be NULL): an absolute path, restore
 * only it and what lies beneath. Idempotent: a restore that was interrupted is resumed by
 * running it again (stray temp files are removed, finished files are left as they are).
 * -EBADMSG: a stored object does not match its hash (the target is left untouched).
 */
int rb_restore(struct rb_store *s, const struct rb_manifest *m, const char *only,
	       struct rb_stats *stats);

/* Bytes the objects take (file sizes). */
int rb_store_size(struct rb_store *s, uint64_t *ret);
/* The same from objects/usage plus what this store added (exact: counted, and recorded). */
int rb_store_usage(struct rb_store *s, bool exact, uint64_t *ret);
/* flock on the store: a snapshot holds LOCK_SH until its manifest is written, a sweep
 * takes LOCK_EX (with LOCK_NB: -EWOULDBLOCK while a snapshot runs). */
int rb_store_lock(struct rb_store *s, int how);
int rb_store_unlink(struct rb_store *s, const char *hash);

/* Retention, [rollback] in config.toml. Unset keys keep the defaults. */
#define RB_DEFAULT_MAX_SESSIONS	  10
#define RB_DEFAULT_MAX_STORAGE_GB 5LL
struct rb_limits {
	long long max_sessions;
	long long max_storage_bytes;
};
/* -ENOENT is not an error (defaults); a bad key or value: -EINVAL with d set. */
int rb_limits_load(const char *path, struct rb_limits *ret, struct diag *d);
