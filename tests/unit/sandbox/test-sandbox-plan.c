/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parent-side sandbox code only (plan building, environment cleaning, filter export),
 * linked against libsandbox as built, so that sanitizer builds check it for leaks and
 * memory errors. Nothing here restricts the test process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox-internal.h"
#include "../must-run.h"

static struct sandbox_features F;

static void test_prepare_free_variants(void **state)
{
	static char home[] = "/tmp";
	static char etc[] = "/etc/hostname";
	static char missing[] = "/nonexistent/nono";
	struct fs_grant g[] = {
	    {.path = home, .access = FS_RW, .exists = true},
	    {.path = etc, .access = FS_READ, .is_file = true, .exists = true},
	    {.path = missing, .access = FS_READ, .exists = false},
	};
	uint16_t ports[] = {3000, 5000};
	const enum net_mode modes[] = {NET_ALLOW, NET_BLOCK, NET_PROXY};
	(void)state;
	if (F.landlock_abi < 1)
		skip_feature("Landlock");

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
		_cleanup_strv_free_ char **w = NULL;
		struct sandbox_spec s = {.grants = g,
					 .n_grants = ARRAY_SIZE(g),
					 .net = modes[i],
					 .open_ports = ports,
					 .n_open_ports = 2,
					 .listen_ports = ports,
					 .n_listen_ports = 1,
					 .scope_signal = true,
					 .scope_abstract_unix = true};
		struct diag d = {0};
		struct sandbox_plan_info info;

		s.proxy.port = modes[i] == NET_PROXY ? 3128 : 0;
		assert_int_equal(sandbox_prepare(&s, &F, 0, &p, &w, &d), 0);
		sandbox_plan_get_info(p, &info);
		assert_int_equal(info.net_tcp_restricted,
				 modes[i] != NET_ALLOW && F.landlock_abi >= 4);
		assert_false(sandbox_plan_uses_masks(p));
	}
	assert_null(sandbox_plan_free(NULL));
}

static void test_prepare_errors_do_not_leak(void **state)
{
	static char tmp[] = "/tmp";
	static char deny[] = "/tmp/.nono-plan-test-deny";
	struct fs_grant g[] = {{.path = tmp, .access = FS_RW, .exists = true}};
	struct fs_deny dn[] = {{.path = deny, .exists = true, .is_dir = true}};
	struct sandbox_spec s = {.grants = g, .n_grants = 1, .denies = dn, .n_denies = 1};
	struct sandbox_features f = F;
	struct sandbox_plan *p = NULL;
	struct diag d = {0};
	(void)state;
	if (F.landlock_abi < 1)
		skip_feature("Landlock");

	(void)rmdir(deny);
	assert_int_equal(mkdir(deny, 0700), 0);
	f.userns = false;
	f.userns_probed = true;
	f.is_root = false;
	assert_int_equal(sandbox_prepare(&s, &f, 0, &p, NULL, &d), -EPERM);
	assert_null(p);
	assert_int_equal(sandbox_prepare(&s, &f, SANDBOX_NETNS, &p, NULL, &d), -EPERM);
	assert_int_equal(sandbox_prepare(&s, &f, 1U << 7, &p, NULL, &d), -EINVAL);
	f.landlock_abi = 0;
	assert_int_equal(sandbox_prepare(&s, &f, 0, &p, NULL, &d), -EOPNOTSUPP);
	assert_null(p);
	assert_int_equal(rmdir(deny), 0);
}

/* PID/IPC namespaces follow the features; mediation builds the helpers' layer, leak-free. */
static void test_pidns_and_helpers(void **state)
{
	static char tmp[] = "/tmp";
	static char proc[] = "/proc";
	struct fs_grant g[] = {{.path = tmp, .access = FS_RW, .exists = true},
			       {.path = proc, .access = FS_READ, .exists = true}};
	struct sandbox_spec s = {.grants = g, .n_grants = 2, .scope_signal = true};
	(void)state;
	if (F.landlock_abi < 1)
		skip();

	for (int userns = 0; userns <= 1; userns++) {
		_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
		struct sandbox_features f = F;
		struct sandbox_plan_info info;
		struct diag d = {0};
		int sv[2], h[4];

		f.is_root = false;
		f.userns = userns;
		f.userns_probed = true;
		assert_int_equal(sandbox_prepare(&s, &f, 0, &p, NULL, &d), 0);
		sandbox_plan_get_info(p, &info);
		assert_int_equal(info.pidns, userns);
		assert_int_equal(info.ipcns, userns);
		assert_int_equal(info.userns, userns);
		assert_int_equal(info.mountns, userns);
		assert_int_equal(sandbox_pidns_available(&f), userns);

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		for (size_t i = 0; i < ARRAY_SIZE(h); i++)
			h[i] = sv[1];
		assert_int_equal(sandbox_plan_set_unotify(p, NULL, sv[0], h, 4, false), -EINVAL);
		assert_int_equal(sandbox_plan_set_unotify(p, &s, sv[0], h, 4, false), 0);
		assert_int_equal(sandbox_plan_set_unotify(p, &s, sv[0], h, 4, false), -EINVAL);
		(void)close(sv[0]);
		(void)close(sv[1]);
	}
}

/* The read-only root and the private /tmp: planned where a mount namespace can be had. */
static void test_ro_root_plan(void **state)
{
	static char tmp[] = "/tmp";
	static char root[] = "/";
	char dir[] = "/var/lib/nono-plan-test.XXXXXX";
	struct fs_grant g[] = {{.path = tmp, .access = FS_RW, .exists = true},
			       {.path = root, .access = FS_READ, .exists = true}};
	struct sandbox_spec s = {.grants = g, .n_grants = ARRAY_SIZE(g)};
	struct sandbox_features f = F;
	struct sandbox_plan_info info;
	struct diag d = {0};
	(void)state;
	/* Not from a directory under /tmp: that one would be bound back into the plan. */
	assert_int_equal(chdir("/"), 0);
	if (F.landlock_abi < 1)
		skip();

	/* No user namespace, not root: an explicit downgrade, not an error. */
	f.userns = false;
	f.userns_probed = true;
	f.is_root = false;
	{
		_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
		assert_int_equal(sandbox_prepare(&s, &f, 0, &p, NULL, &d), 0);
		sandbox_plan_get_info(p, &info);
		assert_false(info.mountns);
		assert_false(info.ro_root);
		assert_false(info.private_tmp);
	}
	if (!sandbox_mountns_available(&F))
		return;
	assert_non_null(mkdtemp(dir));
	const struct sandbox_tmp priv = {dir, NULL};
	{
		_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
		assert_int_equal(sandbox_prepare_session(&s, &F, 0, &priv, &p, NULL, &d), 0);
		sandbox_plan_get_info(p, &info);
		assert_true(info.mountns);
		assert_true(info.ro_root);
		assert_true(info.private_tmp);
	}
	/* --shared-tmp; and a write grant of "/" leaves nothing to make read-only. */
	s.shared_tmp = true;
	g[1].access = FS_RW;
	{
		_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
		assert_int_equal(sandbox_prepare_session(&s, &F, 0, &priv, &p, NULL, &d), 0);
		sandbox_plan_get_info(p, &info);
		assert_false(info.ro_root);
		assert_false(info.private_tmp);
	}
	assert_int_equal(rmdir(dir), 0);
}

static void test_clean_environ_empty(void **state)
{
	_cleanup_strv_free_ char **out = NULL;
	(void)state;
	assert_int_equal(sandbox_clean_environ(NULL, &out), 0);
	assert_non_null(out);
	assert_int_equal(strv_length(out), 0);
}

static void test_pfc_export(void **state)
{
	struct sandbox_spec s = {.net = NET_PROXY};
	_cleanup_close_ int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sandbox_seccomp_export_pfc(&s, fd), 0);
}

/* The programs a launch copies (built at build time) are the ones libseccomp compiles
 * now, for every mode: a stale or truncated table would weaken or break the filter. */
static void expect_same_prog(struct sock_filter *a, unsigned short na, struct sock_filter *b,
			     unsigned short nb)
{
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(*a));
	free(a);
	free(b);
}

static void test_seccomp_precompiled_matches(void **state)
{
	static const enum net_mode modes[] = {NET_ALLOW, NET_BLOCK, NET_PROXY};
	struct sock_filter *a, *b;
	unsigned short na, nb;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		struct sandbox_spec s = {.net = modes[i]};
		assert_int_equal(seccomp_build(&s, &a, &na), 0);
		assert_int_equal(seccomp_compile(modes[i] != NET_ALLOW, &b, &nb), 0);
		expect_same_prog(a, na, b, nb);
	}
	for (int names = 0; names < 2; names++) {
		assert_int_equal(seccomp_build_notify(names, &a, &na), 0);
		assert_int_equal(seccomp_compile_notify(names, &b, &nb), 0);
		expect_same_prog(a, na, b, nb);
	}
}

static void test_read_exec_error(void **state)
{
	struct sandbox_exec_error in = {.step = STEP_MASK, .err = EROFS, .index = 2}, out;
	int sp[2];
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(write(sp[1], &in, 5), 5); /* short report: an error, not success */
	close(sp[1]);
	assert_int_equal(sandbox_read_exec_error(sp[0], &out), -EIO);
	close(sp[0]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(write(sp[1], &in, sizeof(in)), (ssize_t)sizeof(in));
	close(sp[1]);
	assert_int_equal(sandbox_read_exec_error(sp[0], &out), 1);
	assert_int_equal(out.step, STEP_MASK);
	assert_int_equal(out.err, EROFS);
	assert_int_equal(out.index, 2);
	close(sp[0]);
}

static int setup(void **state)
{
	(void)state;
	sandbox_probe(&F);
	F.userns = sandbox_userns_available();
	F.userns_probed = true;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prepare_free_variants),
	    cmocka_unit_test(test_prepare_errors_do_not_leak),
	    cmocka_unit_test(test_pidns_and_helpers),
	    cmocka_unit_test(test_ro_root_plan),
	    cmocka_unit_test(test_clean_environ_empty),
	    cmocka_unit_test(test_pfc_export),
	    cmocka_unit_test(test_seccomp_precompiled_matches),
	    cmocka_unit_test(test_read_exec_error),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
