/* SPDX-License-Identifier: Apache-2.0 */
/* Rollback library: snapshot and restore round trip, incremental snapshots, dedup, a
 * planted symlink cannot redirect restore, corrupt objects, strict manifest parsing,
 * exclusion rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "rollback/rollback-internal.h"
#include "rollback/rollback.h"

static char top[] = "/tmp/nono-rollback-test.XXXXXX";
static char base[300], tree[300], outside[300];

_printf_(1, 2) static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	sh("rm -rf '%s'; mkdir -p '%s/store' '%s/tree' '%s/outside'", top, top, top, top);
	(void)snprintf(base, sizeof(base), "%s/store/.nono/rollback", top);
	(void)snprintf(tree, sizeof(tree), "%s/tree", top);
	(void)snprintf(outside, sizeof(outside), "%s/outside", top);
	sh("cd '%s' && mkdir -p a/b empty && echo one > a/f && echo two > a/b/g && : > zero && "
	   "head -c 300000 /dev/urandom > big && chmod 0751 a/b && chmod 0600 a/f && "
	   "ln -s a/f link && echo same > d1 && echo same > d2",
	   tree);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("rm -rf '%s'", top);
	return 0;
}

static int setup_all(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(top));
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	sh("rm -rf '%s'", top);
	return 0;
}

static struct rb_manifest *snap(struct rb_store *s, const struct rb_manifest *prev,
				struct rb_stats *st)
{
	char *roots[] = {tree, NULL};
	struct rb_manifest *m = NULL;
	assert_int_equal(rb_snapshot(s, roots, NULL, prev, prev ? prev->number + 1 : 0, &m, st), 0);
	return m;
}

/* Same paths, types, modes, contents and symlink targets. */
static void assert_same(const struct rb_manifest *a, const struct rb_manifest *b)
{
	assert_int_equal(a->n_roots, b->n_roots);
	const struct rb_root *x = &a->roots[0], *y = &b->roots[0];
	assert_int_equal(x->n_entries, y->n_entries);
	for (size_t i = 0; i < x->n_entries; i++) {
		assert_string_equal(x->entries[i].path, y->entries[i].path);
		assert_int_equal(x->entries[i].type, y->entries[i].type);
		assert_int_equal(x->entries[i].mode, y->entries[i].mode);
		if (x->entries[i].mtime_ns != y->entries[i].mtime_ns)
			print_message("mtime differs: %s\n", x->entries[i].path);
		assert_int_equal(x->entries[i].mtime_ns, y->entries[i].mtime_ns);
		if (x->entries[i].type == RB_FILE)
			assert_string_equal(x->entries[i].hash, y->entries[i].hash);
		if (x->entries[i].type == RB_SYMLINK)
			assert_string_equal(x->entries[i].target, y->entries[i].target);
	}
}

static void test_roundtrip(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *pre = NULL, *post = NULL;
	struct rb_stats st = {0};
	assert_int_equal(rb_store_open(base, &s), 0);
	pre = snap(s, NULL, &st);
	assert_int_equal(st.files, 6);
	sh("cd '%s' && echo changed > a/f && rm a/b/g && mkdir -p new/deep && echo x > "
	   "new/deep/y && chmod 0700 a/b && rm link && ln -s elsewhere link && rm -r empty && "
	   "echo file > empty && mv big big2 && chmod 0755 zero",
	   tree);
	struct rb_stats rs = {0};
	assert_int_equal(rb_restore(s, pre, NULL, &rs), 0);
	post = snap(s, NULL, NULL);
	assert_same(pre, post);
	/* Idempotent: a second run (a resumed restore) writes nothing. */
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(rb_restore(s, pre, NULL, &rs), 0);
	assert_int_equal(rs.written, 0);
	assert_int_equal(rs.removed, 0);
}

static void test_incremental_and_dedup(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *m0 = NULL, *m1 = NULL;
	struct rb_stats st = {0};
	assert_int_equal(rb_store_open(base, &s), 0);
	m0 = snap(s, NULL, &st);
	assert_int_equal(st.hashed, 6);
	memset(&st, 0, sizeof(st));
	m1 = snap(s, m0, &st);
	assert_int_equal(st.hashed, 0);
	assert_int_equal(st.reused, 6);
	/* d1 and d2 hold the same bytes: one object. */
	const struct rb_entry *d1 = rb_root_find(&m1->roots[0], "d1"),
			      *d2 = rb_root_find(&m1->roots[0], "d2");
	assert_non_null(d1);
	assert_non_null(d2);
	assert_string_equal(d1->hash, d2->hash);
	char cmd[600];
	(void)snprintf(
	    cmd, sizeof(cmd),
	    "test $(find '%s/objects' -type f -not -path '*/objects/tmp/*' | wc -l) -eq 5", base);
	if (system(cmd) != 0) {
		(void)snprintf(cmd, sizeof(cmd), "find '%s/objects' >&2", base);
		assert_int_equal(system(cmd), 0);
		fail();
	}
}

/* The index is a cache: damaged, it is rebuilt from the stored body; the body is the
 * authority, checked against its hash; an unchanged snapshot references the same body. */
static void test_index_cache(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *m = NULL, *a = NULL, *b = NULL, *c = NULL,
					      *m2 = NULL;
	char sess[400], idx[500], obj[500];
	struct stat st;
	assert_int_equal(rb_store_open(base, &s), 0);
	m = snap(s, NULL, NULL);
	(void)snprintf(sess, sizeof(sess), "%s/sess", top);
	sh("mkdir -p '%s'", sess);
	_cleanup_close_ int sfd = open(sess, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sfd >= 0);
	assert_int_equal(rb_manifest_write_at(sfd, "000.json", s, m), 0);
	assert_true(m->body_stored);
	(void)snprintf(idx, sizeof(idx), "%s/index/%s", base, m->body_hash);
	(void)snprintf(obj, sizeof(obj), "%s/objects/%.2s/%s", base, m->body_hash,
		       m->body_hash + 2);
	assert_int_equal(stat(idx, &st), 0);
	sh("cp '%s' '%s/idx.orig'", idx, top);
	assert_int_equal(rb_manifest_load_at(sfd, "000.json", s, 0, &a), 0);
	assert_same(m, a);
	/* Truncated: rebuilt. */
	sh("truncate -s 50 '%s'", idx);
	assert_int_equal(rb_manifest_load_at(sfd, "000.json", s, 0, &b), 0);
	assert_same(m, b);
	sh("cmp '%s' '%s/idx.orig'", idx, top);
	/* One byte changed (an entry's mode): the checksum fails, rebuilt. */
	sh("printf '\\377' | dd of='%s' bs=1 seek=300 conv=notrunc status=none", idx);
	assert_int_equal(rb_manifest_load_at(sfd, "000.json", s, RB_LOAD_TRUST_KEY, &c), 0);
	assert_same(m, c);
	sh("cmp '%s' '%s/idx.orig'", idx, top);
	/* Unchanged: the next manifest names the same body and is a header only. */
	m2 = snap(s, c, NULL);
	assert_true(m2->body_stored);
	assert_string_equal(m2->body_hash, m->body_hash);
	assert_int_equal(rb_manifest_write_at(sfd, "001.json", s, m2), 0);
	assert_int_equal(fstatat(sfd, "001.json", &st, 0), 0);
	assert_true(st.st_size < 300);
	/* The stored body altered: refused, whatever the index says. */
	rb_manifest_freep(&a);
	sh("chmod u+w '%s' && printf ' ' >> '%s'", obj, obj);
	assert_int_equal(rb_manifest_load_at(sfd, "001.json", s, 0, &a), -EBADMSG);
}

static void test_planted_symlink(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *pre = NULL;
	assert_int_equal(rb_store_open(base, &s), 0);
	pre = snap(s, NULL, NULL);
	/* The agent swaps a/b for a symlink to a directory outside the grant. */
	sh("cd '%s' && rm -r a/b && ln -s '%s' a/b", tree, outside);
	assert_int_equal(rb_restore(s, pre, NULL, NULL), 0);
	sh("test -z \"$(ls -A '%s')\"", outside);
	sh("test -d '%s/a/b' && ! test -L '%s/a/b' && grep -q two '%s/a/b/g'", tree, tree, tree);
}

static void test_hardlink_outside(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *pre = NULL;
	assert_int_equal(rb_store_open(base, &s), 0);
	pre = snap(s, NULL, NULL);
	/* The agent links a file from outside, same bytes, other mode, in place of a/f. */
	sh("echo one > '%s/victim' && chmod 0644 '%s/victim' && rm '%s/a/f' && "
	   "ln '%s/victim' '%s/a/f'",
	   outside, outside, tree, outside, tree);
	assert_int_equal(rb_restore(s, pre, NULL, NULL), 0);
	sh("test \"$(stat -c %%a '%s/victim')\" = 644 && test \"$(stat -c %%h '%s/victim')\" = 1",
	   outside, outside);
	sh("test \"$(stat -c %%a '%s/a/f')\" = 600 && grep -qx one '%s/a/f'", tree, tree);
}

static void test_corrupt_object(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *pre = NULL;
	assert_int_equal(rb_store_open(base, &s), 0);
	pre = snap(s, NULL, NULL);
	const struct rb_entry *f = rb_root_find(&pre->roots[0], "a/f");
	sh("chmod u+w '%s/objects/%.2s/%s' && echo evil > '%s/objects/%.2s/%s'", base, f->hash,
	   f->hash + 2, base, f->hash, f->hash + 2);
	sh("echo mine > '%s/a/f'", tree);
	assert_int_equal(rb_restore(s, pre, NULL, NULL), -EBADMSG);
	sh("grep -q mine '%s/a/f'", tree);
	sh("test -z \"$(find '%s' -name '.nono-restore-*')\"", tree);
}

static void test_only_path(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *pre = NULL;
	char only[400];
	assert_int_equal(rb_store_open(base, &s), 0);
	pre = snap(s, NULL, NULL);
	sh("cd '%s' && echo x > a/f && echo y > d1 && echo z > a/new", tree);
	(void)snprintf(only, sizeof(only), "%s/a", tree);
	assert_int_equal(rb_restore(s, pre, only, NULL), 0);
	sh("cd '%s' && grep -q one a/f && grep -q y d1 && ! test -e a/new", tree);
	assert_int_equal(rb_restore(s, pre, "/nonexistent", NULL), -ENOENT);
}

/* Drops entry path from m (a prev that does not know it). */
static void drop_entry(struct rb_manifest *m, const char *path)
{
	struct rb_root *r = &m->roots[0];
	const struct rb_entry *e = rb_root_find(r, path);
	assert_non_null(e);
	size_t i = (size_t)(e - r->entries);
	memmove(&r->entries[i], &r->entries[i + 1], (r->n_entries - i - 1) * sizeof(*e));
	r->n_entries--;
}

/*
 * A directory whose stat is prev's, last changed a second before prev's walk began, with
 * prev's filter, is not read again: its names are prev's. Changed directories are read;
 * a directory changed too close to prev's walk (same clock tick) or a different filter
 * is read too.
 */
static void test_dir_names_from_prev(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *m0 = NULL, *m1 = NULL, *m2 = NULL, *m3 = NULL,
					      *m4 = NULL, *m5 = NULL;
	char *roots[] = {tree, NULL};
	char skip[] = "nothing-here";
	struct rb_filter g = {.skip_dirs = (char *[]){skip, NULL}};
	struct stat ab;
	char p[400];
	assert_int_equal(rb_store_open(base, &s), 0);
	m0 = snap(s, NULL, NULL);
	/* a/b changed within a second of m0's walk (the same tick, for all we know): read. */
	drop_entry(m0, "a/b/g");
	(void)snprintf(p, sizeof(p), "%s/a/b", tree);
	assert_int_equal(stat(p, &ab), 0);
	m0->timestamp = ab.st_ctim.tv_sec;
	m1 = snap(s, m0, NULL);
	assert_non_null(rb_root_find(&m1->roots[0], "a/b/g"));
	/* Taken as if long after: a/b's names are m0's (it never lists g again). */
	m0->timestamp = time(NULL) + 100;
	m2 = snap(s, m0, NULL);
	assert_null(rb_root_find(&m2->roots[0], "a/b/g"));
	assert_non_null(rb_root_find(&m2->roots[0], "a/f"));
	/* Another filter: read. */
	assert_int_equal(rb_snapshot(s, roots, &g, m0, 1, &m3, NULL), 0);
	assert_non_null(rb_root_find(&m3->roots[0], "a/b/g"));
	/* Names created, removed and renamed change the directory: read. */
	m1->timestamp = time(NULL) + 100;
	sh("cd '%s' && echo n > a/b/new && rm a/f && mv a/b/g a/b/h && mkdir a/c && echo c > a/c/x",
	   tree);
	m4 = snap(s, m1, NULL);
	m5 = snap(s, NULL, NULL);
	assert_same(m4, m5);
	assert_non_null(rb_root_find(&m4->roots[0], "a/b/new"));
	assert_non_null(rb_root_find(&m4->roots[0], "a/c/x"));
	assert_null(rb_root_find(&m4->roots[0], "a/f"));
}

static void test_manifest_parse(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *m = NULL, *back = NULL;
	struct rb_manifest *bad = NULL;
	assert_int_equal(rb_store_open(base, &s), 0);
	m = snap(s, NULL, NULL);
	_cleanup_close_ int dfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(rb_manifest_write(dfd, "m.json", m), 0);
	assert_int_equal(rb_manifest_load(dfd, "m.json", &back), 0);
	assert_same(m, back);

	static const char *const bads[] = {
	    "{}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[],\"extra\":1}",
	    "{\"version\":1,\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[]}",
	    "{\"version\":2,\"number\":0,\"timestamp\":0,\"roots\":[]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"rel\",\"entries\":["
	    "]}]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"/r\",\"entries\":"
	    "[{\"path\":\"../x\",\"type\":\"dir\"}]}]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"/r\",\"entries\":"
	    "[{\"path\":\"a//b\",\"type\":\"dir\"}]}]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"/r\",\"entries\":"
	    "[{\"path\":\"x\",\"type\":\"file\",\"hash\":\"00\"}]}]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"/r\",\"entries\":"
	    "[{\"path\":\"x\",\"type\":\"file\"}]}]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"/r\",\"entries\":"
	    "[{\"path\":\"b\",\"type\":\"dir\"},{\"path\":\"a\",\"type\":\"dir\"}]}]}",
	    "{\"version\":1,\"number\":0,\"timestamp\":0,\"roots\":[{\"path\":\"/r\",\"entries\":"
	    "[{\"path\":\"a\",\"type\":\"dir\",\"mode\":70000}]}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		assert_int_equal(rb_manifest_parse(bads[i], strlen(bads[i]), &bad), -EBADMSG);
		assert_null(bad);
	}
}

static void test_filter(void **state)
{
	(void)state;
	static char v[] = "vendor", l[] = "*.log", go[] = "gen/out", t[] = "target",
		    db[] = "docs-build";
	char *ex[] = {v, l, go, NULL};
	char *inc[] = {t, NULL};
	char *skip[] = {db, NULL};
	struct rb_filter f = {.exclude = ex, .include = inc, .skip_dirs = skip};
	assert_true(rb_filter_excluded(&f, "x/vendor", "vendor", true));
	assert_true(rb_filter_excluded(&f, "a.log", "a.log", false));
	assert_true(rb_filter_excluded(&f, "src/gen/out", "out", true));
	assert_true(rb_filter_excluded(&f, "node_modules", "node_modules", true));
	assert_true(rb_filter_excluded(&f, "x/.git", ".git", true));
	assert_true(rb_filter_excluded(&f, "docs-build", "docs-build", true));
	assert_false(rb_filter_excluded(&f, "target", "target", true));
	assert_false(rb_filter_excluded(&f, "node_modules", "node_modules", false));
	assert_false(rb_filter_excluded(&f, "src/main.c", "main.c", false));
	f.all = true;
	assert_false(rb_filter_excluded(&f, "node_modules", "node_modules", true));
	assert_true(rb_filter_excluded(&f, "x/vendor", "vendor", true));

	/* Excluded trees are recorded as such and left alone by restore. */
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *m = NULL;
	char *roots[] = {tree, NULL};
	struct rb_filter g = {0};
	sh("cd '%s' && mkdir -p node_modules/p && echo 1 > node_modules/p/i", tree);
	assert_int_equal(rb_store_open(base, &s), 0);
	assert_int_equal(rb_snapshot(s, roots, &g, NULL, 0, &m, NULL), 0);
	const struct rb_entry *e = rb_root_find(&m->roots[0], "node_modules");
	assert_non_null(e);
	assert_int_equal(e->type, RB_EXCLUDED);
	assert_null(rb_root_find(&m->roots[0], "node_modules/p/i"));
	sh("cd '%s' && echo 2 > node_modules/p/i && mkdir .git", tree);
	assert_int_equal(rb_restore(s, m, NULL, NULL), 0);
	sh("cd '%s' && grep -q 2 node_modules/p/i && test -d .git", tree);
}

static void test_big_dir(void **state)
{
	(void)state;
	_cleanup_store_ struct rb_store *s = NULL;
	_cleanup_manifest_ struct rb_manifest *m = NULL;
	char *roots[] = {tree, NULL};
	struct rb_stats st = {0};
	sh("mkdir '%s/huge' && cd '%s/huge' && seq 1 10001 | xargs touch", tree, tree);
	assert_int_equal(rb_store_open(base, &s), 0);
	assert_int_equal(rb_snapshot(s, roots, NULL, NULL, 0, &m, &st), 0);
	const struct rb_entry *e = rb_root_find(&m->roots[0], "huge");
	assert_non_null(e);
	assert_int_equal(e->type, RB_EXCLUDED);
	assert_int_equal(st.files, 6);
}

/* The primitive restore resolves every parent with: no symlink, no escape. */
static void test_open_beneath(void **state)
{
	(void)state;
	_cleanup_close_ int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	sh("cd '%s' && ln -s '%s' out && ln -s a via", tree, outside);
	int fd = rb_open_beneath(root, "a/b", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	safe_close(fd);
	assert_int_equal(rb_open_beneath(root, "via/b", O_RDONLY | O_DIRECTORY), -ELOOP);
	assert_true(rb_open_beneath(root, "out", O_RDONLY | O_DIRECTORY) < 0);
	assert_int_equal(rb_open_beneath(root, "out/x", O_RDONLY | O_DIRECTORY), -ELOOP);
	assert_int_equal(rb_open_beneath(root, "../outside", O_RDONLY | O_DIRECTORY), -EXDEV);
	assert_int_equal(rb_open_beneath(root, "a/../../outside", O_RDONLY | O_DIRECTORY), -EXDEV);
}

static void test_limits(void **state)
{
	(void)state;
	char cfg[400];
	struct rb_limits l;
	struct diag d = {{0}};
	(void)snprintf(cfg, sizeof(cfg), "%s/config.toml", top);
	assert_int_equal(rb_limits_load(cfg, &l, &d), 0);
	assert_int_equal(l.max_sessions, RB_DEFAULT_MAX_SESSIONS);
	assert_int_equal(l.max_storage_bytes, RB_DEFAULT_MAX_STORAGE_GB << 30);
	sh("printf '[audit]\\nmax_sessions = 1\\n[rollback]\\nmax_sessions = 3\\n"
	   "max_storage_gb = 2\\n' > '%s'",
	   cfg);
	assert_int_equal(rb_limits_load(cfg, &l, &d), 0);
	assert_int_equal(l.max_sessions, 3);
	assert_int_equal(l.max_storage_bytes, 2LL << 30);
	sh("printf '[rollback]\\nmax_sessions = 0\\n' > '%s'", cfg);
	assert_int_equal(rb_limits_load(cfg, &l, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "positive integer"));
	sh("printf '[rollback]\\nmax_storage_gb = \"1\"\\n' > '%s'", cfg);
	assert_int_equal(rb_limits_load(cfg, &l, &d), -EINVAL);
	sh("printf '[rollback]\\nkeep = 1\\n' > '%s'", cfg);
	assert_int_equal(rb_limits_load(cfg, &l, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incremental_and_dedup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_planted_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hardlink_outside, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_names_from_prev, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_manifest_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_beneath, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
