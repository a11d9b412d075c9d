/* SPDX-License-Identifier: Apache-2.0 */
/* Retention of the audit trail: [audit] limits, what is removed and what never is (a
 * live session, anything reached through a symlink, entries that are not sessions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/retention.h"
#include "base/macro.h"
#include "base/strv.h"

static char home[] = "/tmp/nono-retention-test.XXXXXX";
static char root[256], cfg[256];

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(home));
	(void)snprintf(root, sizeof(root), "%s/.nono/audit", home);
	(void)snprintf(cfg, sizeof(cfg), "%s/config.toml", home);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	(void)fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A finished session directory of `bytes` bytes of events. */
static void session(const char *id, size_t bytes)
{
	sh("mkdir -p '%s/%s' && echo '{}' >'%s/%s/session.json' && head -c %zu /dev/zero "
	   ">'%s/%s/audit-events.ndjson'",
	   root, id, root, id, bytes, root, id);
}

static bool exists(const char *id)
{
	char p[600];
	(void)snprintf(p, sizeof(p), "%s/%s", root, id);
	return access(p, F_OK) == 0;
}

struct seen {
	char **ids;
};

static void collect(void *ud, const struct audit_prune_item *it)
{
	char buf[200];
	(void)snprintf(buf, sizeof(buf), "%s:%s", it->id, it->why);
	assert_int_equal(strv_extend(&((struct seen *)ud)->ids, buf), 0);
}

static void test_limits_config(void **state)
{
	(void)state;
	struct audit_limits l;
	struct diag d = {{0}};

	assert_int_equal(audit_limits_load("/nonexistent/config.toml", &l, &d), 0);
	assert_false(audit_limits_any(&l));
	write_file(cfg, "[redaction]\nextra_flags = [\"--x\"]\n[audit]\nmax_sessions = 3\n"
			"max_age_days = 2\nmax_size_mb = 1\n");
	assert_int_equal(audit_limits_load(cfg, &l, &d), 0);
	assert_int_equal(l.max_sessions, 3);
	assert_int_equal(l.max_age_s, 2 * 86400);
	assert_int_equal(l.max_bytes, 1024 * 1024);
	write_file(cfg, "[audit]\nmax_sesions = 3\n");
	assert_int_equal(audit_limits_load(cfg, &l, &d), -EINVAL);
	assert_int_equal(d.line, 2);
	assert_non_null(strstr(d.msg, "unknown key"));
	write_file(cfg, "[audit]\nmax_age_days = true\n");
	assert_int_equal(audit_limits_load(cfg, &l, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "found a boolean"));
}

static void test_prune(void **state)
{
	(void)state;
	struct audit_limits l = {.max_sessions = 2, .max_age_s = -1, .max_bytes = -1};
	struct diag d = {{0}};
	struct seen s = {0};
	size_t kept = 99;

	/* Nothing recorded yet: nothing to do. */
	assert_int_equal(audit_prune(home, &l, false, collect, &s, &kept, &d), 0);
	assert_int_equal(kept, 0);

	session("20200101-000000-00000001", 10);
	session("20200102-000000-00000002", 10);
	session("20200103-000000-00000003", 10);
	session("20200104-000000-00000004", 10);
	/* Not sessions: an invalid name, a plain file, a symlink to a session elsewhere. */
	sh("mkdir -p '%s/.hidden' '%s/elsewhere/20190101-000000-0000000a' && touch "
	   "'%s/20180101-000000-0000000f' && ln -s '%s/elsewhere/20190101-000000-0000000a' "
	   "'%s/20190101-000000-0000000a'",
	   root, home, root, home, root);
	/* The newest is live: its recorder holds the lock. */
	char p[600];
	(void)snprintf(p, sizeof(p), "%s/20200104-000000-00000004", root);
	int live = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(live >= 0);
	assert_int_equal(flock(live, LOCK_EX), 0);

	/* Dry run: reported, nothing removed. */
	assert_int_equal(audit_prune(home, &l, true, collect, &s, &kept, &d), 0);
	assert_int_equal(kept, 2);
	assert_int_equal(strv_length(s.ids), 2);
	assert_string_equal(s.ids[0], "20200102-000000-00000002:max_sessions");
	assert_string_equal(s.ids[1], "20200101-000000-00000001:max_sessions");
	assert_true(exists("20200101-000000-00000001"));
	s.ids = strv_free(s.ids);

	/* For real, with the live one counted as kept. */
	l.max_sessions = 1;
	assert_int_equal(audit_prune(home, &l, false, collect, &s, &kept, &d), 0);
	assert_int_equal(kept, 1);
	assert_int_equal(strv_length(s.ids), 3);
	assert_true(exists("20200104-000000-00000004"));
	assert_false(exists("20200103-000000-00000003"));
	assert_false(exists("20200101-000000-00000001"));
	assert_true(exists(".hidden"));
	assert_true(exists("20180101-000000-0000000f"));
	assert_true(exists("20190101-000000-0000000a"));
	(void)snprintf(p, sizeof(p), "%s/elsewhere/20190101-000000-0000000a", home);
	assert_int_equal(access(p, F_OK), 0);
	s.ids = strv_free(s.ids);

	/* Even "keep none" leaves the live session. */
	l.max_sessions = 0;
	assert_int_equal(audit_prune(home, &l, false, collect, &s, &kept, &d), 0);
	assert_int_equal(kept, 1);
	assert_null(s.ids);
	close(live);

	/* By size and age; a session that cannot be removed whole is reported, the others
	 * are still pruned. */
	session("20200105-000000-00000005", 3000);
	session("20200106-000000-00000006", 3000);
	session("20200107-000000-00000007", 3000);
	sh("mkdir '%s/20200105-000000-00000005/planted'", root);
	l = (struct audit_limits){.max_sessions = -1, .max_age_s = -1, .max_bytes = 7000};
	assert_int_equal(audit_prune(home, &l, false, collect, &s, &kept, &d), -EISDIR);
	assert_non_null(strstr(d.msg, "20200105-000000-00000005"));
	assert_false(exists("20200104-000000-00000004"));
	assert_true(exists("20200105-000000-00000005"));
	assert_true(exists("20200106-000000-00000006"));
	assert_true(exists("20200107-000000-00000007"));
	s.ids = strv_free(s.ids);
	sh("rmdir '%s/20200105-000000-00000005/planted'", root);
	l = (struct audit_limits){.max_sessions = -1, .max_age_s = 86400, .max_bytes = -1};
	assert_int_equal(audit_prune(home, &l, false, collect, &s, &kept, &d), 0);
	assert_int_equal(kept, 0);
	assert_false(exists("20200107-000000-00000007"));
	s.ids = strv_free(s.ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits_config),
	    cmocka_unit_test(test_prune),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
