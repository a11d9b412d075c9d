/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_UNIX mediation: the grant-matching policy (unotify_path_allowed) for each of the
 * six --allow-unix-socket* flags and each network mode, and the supervisor-side set-up
 * and tear-down without a child (fds and memory, under the sanitizers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "base/macro.h"
#include "supervisor/unotify.h"
#include "../must-run.h"

#define CONNECT UNOTIFY_ACCESS_CONNECT
#define BIND	UNOTIFY_ACCESS_BIND

static bool allowed(const struct sandbox_spec *s, const char *path, enum unotify_access a)
{
	const char *why = NULL;
	bool r = unotify_path_allowed(s, path, a, &why);
	assert_non_null(why);
	return r;
}

static struct sandbox_spec spec_with(struct unix_grant *g, size_t n, enum net_mode net)
{
	return (struct sandbox_spec){.unix_grants = g, .n_unix_grants = n, .net = net};
}

static void test_exact(void **state)
{
	char p[] = "/run/pg/.s.PGSQL.5432";
	struct unix_grant g[] = {{.path = p, .flags = UNIX_CONNECT}};
	struct sandbox_spec s = spec_with(g, 1, NET_BLOCK);
	(void)state;
	assert_true(allowed(&s, "/run/pg/.s.PGSQL.5432", CONNECT));
	assert_false(allowed(&s, "/run/pg/.s.PGSQL.5432", BIND));
	assert_false(allowed(&s, "/run/pg/other", CONNECT));
	assert_false(allowed(&s, "/run/pg/.s.PGSQL.5432/x", CONNECT));
	assert_false(allowed(&s, "/run/pg/.s.PGSQL.543", CONNECT));
	assert_false(allowed(&s, "/run/pg", CONNECT));
	g[0].flags |= UNIX_BIND;
	assert_true(allowed(&s, "/run/pg/.s.PGSQL.5432", BIND));
	assert_false(allowed(&s, "/run/pg/other", BIND));
}

static void test_dir(void **state)
{
	char p[] = "/run/user/1000";
	struct unix_grant g[] = {{.path = p, .flags = UNIX_CONNECT | UNIX_DIR}};
	struct sandbox_spec s = spec_with(g, 1, NET_PROXY);
	(void)state;
	assert_true(allowed(&s, "/run/user/1000/bus", CONNECT));
	assert_false(allowed(&s, "/run/user/1000/sub/bus", CONNECT)); /* not recursive */
	assert_false(allowed(&s, "/run/user/1000", CONNECT));
	assert_false(allowed(&s, "/run/user/10000/bus", CONNECT)); /* prefix, not parent */
	assert_false(allowed(&s, "/run/user/1000/bus", BIND));
	g[0].flags |= UNIX_BIND;
	assert_true(allowed(&s, "/run/user/1000/x.pipe", BIND));
	assert_false(allowed(&s, "/run/user/1000/a/x.pipe", BIND));
}

static void test_subtree(void **state)
{
	char p[] = "/tmp/nx";
	struct unix_grant g[] = {{.path = p, .flags = UNIX_CONNECT | UNIX_SUBTREE}};
	struct sandbox_spec s = spec_with(g, 1, NET_BLOCK);
	(void)state;
	assert_true(allowed(&s, "/tmp/nx/a", CONNECT));
	assert_true(allowed(&s, "/tmp/nx/a/b/c", CONNECT));
	assert_false(allowed(&s, "/tmp/nx", CONNECT));
	assert_false(allowed(&s, "/tmp/nxx/a", CONNECT));
	assert_false(allowed(&s, "/tmp/nx/a", BIND));
	g[0].flags |= UNIX_BIND;
	assert_true(allowed(&s, "/tmp/nx/a/b/c", BIND));
	assert_false(allowed(&s, "/tmp/a", BIND));
}

static void test_root_dir_grant(void **state)
{
	char p[] = "/";
	struct unix_grant g[] = {{.path = p, .flags = UNIX_CONNECT | UNIX_DIR}};
	struct sandbox_spec s = spec_with(g, 1, NET_BLOCK);
	(void)state;
	assert_true(allowed(&s, "/sock", CONNECT));
	assert_false(allowed(&s, "/run/sock", CONNECT));
}

static void test_several_grants(void **state)
{
	char a[] = "/a", b[] = "/b";
	struct unix_grant g[] = {{.path = a, .flags = UNIX_CONNECT | UNIX_DIR},
				 {.path = b, .flags = UNIX_CONNECT | UNIX_BIND | UNIX_DIR}};
	struct sandbox_spec s = spec_with(g, 2, NET_BLOCK);
	(void)state;
	assert_false(allowed(&s, "/a/s", BIND));
	assert_true(allowed(&s, "/b/s", BIND));
	assert_true(allowed(&s, "/a/s", CONNECT));
}

static void test_network_modes(void **state)
{
	char proj[] = "/home/u/project", tmp[] = "/tmp", file[] = "/var/run/x.sock";
	struct fs_grant fs[] = {
	    {.path = proj, .access = FS_RW, .origin = {ORIGIN_WORKDIR, NULL}},
	    {.path = tmp, .access = FS_RW, .origin = {ORIGIN_GROUP, NULL}},
	    {.path = file, .access = FS_READ, .is_file = true, .origin = {ORIGIN_CLI, NULL}},
	};
	struct sandbox_spec s = {.grants = fs, .n_grants = ARRAY_SIZE(fs), .net = NET_ALLOW};
	(void)state;
	/* Network allowed: the user's own grants cover sockets, a group's do not. */
	assert_true(allowed(&s, "/home/u/project/.dev.sock", CONNECT));
	assert_true(allowed(&s, "/var/run/x.sock", CONNECT));
	assert_false(allowed(&s, "/var/run/y.sock", CONNECT));
	assert_false(allowed(&s, "/tmp/tmux-0/default", CONNECT));
	assert_false(allowed(&s, "/run/docker.sock", CONNECT));
	assert_true(allowed(&s, "/tmp/x.sock", BIND)); /* Landlock decides */
	/* Restricted: only socket grants. */
	for (enum net_mode m = NET_BLOCK; m <= NET_PROXY; m++) {
		s.net = m;
		assert_false(allowed(&s, "/home/u/project/.dev.sock", CONNECT));
		assert_false(allowed(&s, "/var/run/x.sock", CONNECT));
		assert_false(allowed(&s, "/home/u/project/x", BIND));
	}
}

static void test_bad_input(void **state)
{
	char p[] = "/a";
	struct unix_grant g[] = {{.path = p, .flags = UNIX_CONNECT | UNIX_SUBTREE}};
	struct sandbox_spec s = spec_with(g, 1, NET_ALLOW);
	const char *why = NULL;
	(void)state;
	assert_false(allowed(&s, "a/b", CONNECT));
	assert_false(allowed(&s, "", CONNECT));
	assert_false(unotify_path_allowed(NULL, "/a/b", CONNECT, &why));
	assert_false(unotify_path_allowed(&s, NULL, CONNECT, &why));
}

/* Set-up and tear-down without a child: no fd left open, nothing leaked. */
static void test_lifecycle(void **state)
{
	struct sandbox_features f;
	struct sandbox_spec s = {.net = NET_ALLOW};
	(void)state;
	sandbox_probe(&f);
	if (!f.seccomp_notify)
		skip_feature("seccomp user notification");
	int before = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(before >= 0);
	close(before);

	for (int i = 0; i < 3; i++) {
		struct sandbox_plan *plan = NULL;
		char **warnings = NULL;
		struct diag d = {{0}};
		struct unotify *u = NULL;
		assert_int_equal(sandbox_prepare(&s, &f, 0, &plan, &warnings, &d), 0);
		assert_int_equal(unotify_new(&s, plan, &u), 0);
		/* A second mediation on one plan is refused. */
		struct unotify *u2 = NULL;
		assert_int_equal(unotify_new(&s, plan, &u2), -EINVAL);
		assert_null(u2);
		if (i == 1)
			unotify_after_fork(u);
		/* No child sent a listener: start must fail, not block. */
		if (i == 2)
			assert_int_equal(unotify_start(u), -EPIPE);
		u = unotify_free(u);
		assert_null(u);
		sandbox_plan_free(plan);
		for (char **w = warnings; w && *w; w++)
			free(*w);
		free(warnings);
	}
	int after = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(after, before);
	close(after);
	assert_null(unotify_free(NULL));
}

static bool name_ok(const struct sandbox_spec *s, const char *path, bool replace)
{
	const char *why = NULL;
	bool r = unotify_name_allowed(s, path, replace, &why);
	assert_non_null(why);
	return r;
}

/* Protected names: a deny path a write grant reaches, canonical and as written. */
static void test_names(void **state)
{
	char home[] = "/h", ro[] = "/usr", gp[] = "/h/dot/gnupg", gname[] = "/h/.gnupg",
	     nono[] = "/h/.config/nono", rc[] = "/h/.bashrc", lib[] = "/usr/lib/x";
	struct fs_grant g[] = {{.path = home, .access = FS_RW, .exists = true},
			       {.path = ro, .access = FS_READ, .exists = true}};
	struct fs_deny d[] = {{.path = gp, .name = gname},
			      {.path = nono},
			      {.path = rc, .bypassed = true},
			      {.path = lib}};
	struct sandbox_spec s = {.grants = g, .n_grants = 2, .denies = d, .n_denies = 4};
	(void)state;
	/* made: not the name, nor anything beneath it */
	assert_false(name_ok(&s, "/h/.config/nono", false));
	assert_false(name_ok(&s, "/h/.config/nono/profiles", false));
	assert_true(name_ok(&s, "/h/.config", false));
	assert_true(name_ok(&s, "/h/.config/nonot", false));
	/* replaced, moved, linked: not an ancestor either */
	assert_false(name_ok(&s, "/h/.config", true));
	assert_false(name_ok(&s, "/h/dot", true));
	assert_true(name_ok(&s, "/h/.config/other", true));
	/* the symlink as written and its target */
	assert_false(name_ok(&s, "/h/.gnupg", true));
	assert_false(name_ok(&s, "/h/.gnupg", false));
	assert_false(name_ok(&s, "/h/dot/gnupg", false));
	/* bypassed, or reached by a read grant only: not guarded */
	assert_true(name_ok(&s, "/h/.bashrc", true));
	assert_true(name_ok(&s, "/usr/lib/x", true));
	assert_false(name_ok(&s, "relative", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),	   cmocka_unit_test(test_dir),
	    cmocka_unit_test(test_subtree),	   cmocka_unit_test(test_root_dir_grant),
	    cmocka_unit_test(test_several_grants), cmocka_unit_test(test_network_modes),
	    cmocka_unit_test(test_bad_input),	   cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
