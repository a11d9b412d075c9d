/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono prune's pieces: durations, which ended sessions a limit selects (a running one
 * never), [sessions] in config.toml, and removal that never follows a symlink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor/session-prune.h"

static void test_duration(void **state)
{
	(void)state;
	int64_t s = -1;
	assert_int_equal(session_parse_duration("0", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(session_parse_duration("45", &s), 0);
	assert_int_equal(s, 45);
	assert_int_equal(session_parse_duration("45s", &s), 0);
	assert_int_equal(s, 45);
	assert_int_equal(session_parse_duration("90m", &s), 0);
	assert_int_equal(s, 5400);
	assert_int_equal(session_parse_duration("12h", &s), 0);
	assert_int_equal(s, 43200);
	assert_int_equal(session_parse_duration("7d", &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(session_parse_duration("2w", &s), 0);
	assert_int_equal(s, 1209600);
	s = 7;
	static const char *const bad[] = {"",	  "d",	 "-1", "+1", "1.5h", "1 d",
					  " 1",	  "1dd", "1y", "1D", "0x10", "99999999999999999999",
					  "5300w"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(session_parse_duration(bad[i], &s), -EINVAL);
	assert_int_equal(s, 7); /* untouched on failure */
	assert_int_equal(session_parse_duration(NULL, &s), -EINVAL);
}

static void test_select(void **state)
{
	(void)state;
	/* Oldest first: started 100, 200, ...; ended ones ended 50 s after starting. */
	struct session_record v[5] = {
	    {.id = (char *)"a", .state = SESSION_EXITED, .started = 100, .ended = 150},
	    {.id = (char *)"b", .state = SESSION_CRASHED, .started = 200},
	    {.id = (char *)"c", .state = SESSION_RUNNING, .started = 300},
	    {.id = (char *)"d", .state = SESSION_EXITED, .started = 400, .ended = 450},
	    {.id = (char *)"e", .state = SESSION_RUNNING, .started = 500},
	};
	bool sel[5];
	struct session_prune_opts o = {0};
	assert_int_equal(session_prune_select(v, 5, &o, 1000, sel), 3);
	assert_true(sel[0] && sel[1] && !sel[2] && sel[3] && !sel[4]);
	o.keep = 1; /* the newest ended (d) stays */
	assert_int_equal(session_prune_select(v, 5, &o, 1000, sel), 2);
	assert_true(sel[0] && sel[1] && !sel[2] && !sel[3] && !sel[4]);
	o.keep = 10;
	assert_int_equal(session_prune_select(v, 5, &o, 1000, sel), 0);
	/* Age from the end (crashed: the start): at 700, older than 400 s are a (150), b (200). */
	o = (struct session_prune_opts){.older_than = 500};
	assert_int_equal(session_prune_select(v, 5, &o, 700, sel), 2);
	assert_true(sel[0] && sel[1] && !sel[3]);
	o.older_than = 550;
	assert_int_equal(session_prune_select(v, 5, &o, 700, sel), 1);
	assert_true(sel[0] && !sel[1]);
	/* Both: keep 2 ended (d, b) and only old ones: a. */
	o = (struct session_prune_opts){.older_than = 1, .keep = 2};
	assert_int_equal(session_prune_select(v, 5, &o, 1000, sel), 1);
	assert_true(sel[0] && !sel[1] && !sel[3]);
	assert_int_equal(session_prune_select(v, 0, &o, 1000, sel), 0);
}

static char *write_config(const char *dir, const char *text)
{
	char *path;
	assert_true(asprintf(&path, "%s/config.toml", dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_limits(void **state)
{
	(void)state;
	char dir[] = "/tmp/nono-prune-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct diag d = {{0}};
	struct session_prune_opts o = {.older_than = 3, .keep = 4};
	char *missing;
	assert_true(asprintf(&missing, "%s/none.toml", dir) > 0);
	assert_int_equal(session_prune_limits_load(missing, &o, &d), 0);
	assert_int_equal(o.older_than, 3);
	free(missing);
	char *p = write_config(dir, "[ui]\ntheme = \"latte\"\n[sessions]\nkeep = 10\n"
				    "older_than = \"7d\"\n");
	assert_int_equal(session_prune_limits_load(p, &o, &d), 0);
	assert_int_equal(o.keep, 10);
	assert_int_equal(o.older_than, 604800);
	unlink(p);
	free(p);
	p = write_config(dir, "[sessions]\nkeep_last = 1\n");
	assert_int_equal(session_prune_limits_load(p, &o, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown key 'keep_last'"));
	assert_int_equal(d.line, 2);
	unlink(p);
	free(p);
	p = write_config(dir, "[sessions]\nolder_than = \"soon\"\n");
	assert_int_equal(session_prune_limits_load(p, &o, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "'soon' is not a duration"));
	unlink(p);
	free(p);
	p = write_config(dir, "[sessions]\nkeep = \"3\"\n");
	assert_int_equal(session_prune_limits_load(p, &o, &d), -EINVAL);
	assert_int_equal(o.keep, 10); /* untouched on failure */
	unlink(p);
	free(p);
	assert_int_equal(rmdir(dir), 0);
}

static void mk(const char *path, mode_t mode)
{
	assert_int_equal(mkdir(path, mode), 0);
}

static void test_remove(void **state)
{
	(void)state;
	char home[] = "/tmp/nono-prune-XXXXXX", p[512], outside[512];
	assert_non_null(mkdtemp(home));
	(void)snprintf(p, sizeof(p), "%s/.nono", home);
	mk(p, 0700);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions", home);
	mk(p, 0700);
	(void)snprintf(outside, sizeof(outside), "%s/outside", home);
	mk(outside, 0700);
	(void)snprintf(p, sizeof(p), "%s/outside/precious", home);
	assert_int_equal(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	/* A session whose /tmp holds a symlink out, a locked directory and nesting. */
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1", home);
	mk(p, 0700);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1/tmp", home);
	mk(p, 0700);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1/tmp/out", home);
	assert_int_equal(symlink(outside, p), 0);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1/tmp/a", home);
	mk(p, 0700);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1/tmp/a/f", home);
	assert_int_equal(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1/tmp/a", home);
	assert_int_equal(chmod(p, 0500), 0);
	/* A session name that is a symlink out. */
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s2", home);
	assert_int_equal(symlink(outside, p), 0);

	assert_int_equal(session_remove(home, "s1"), 0);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s1", home);
	assert_int_equal(access(p, F_OK), -1);
	int r = session_remove(home, "s2");
	assert_true(r == -ELOOP || r == -ENOTDIR);
	assert_int_equal(session_remove(home, "../outside"), -EINVAL);
	assert_int_equal(session_remove(home, ".."), -EINVAL);
	assert_int_equal(session_remove(home, "nope"), -ENOENT);
	(void)snprintf(p, sizeof(p), "%s/outside/precious", home);
	assert_int_equal(access(p, F_OK), 0);

	/* ~/.nono/sessions itself a symlink: refused. */
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions/s2", home);
	assert_int_equal(unlink(p), 0);
	(void)snprintf(p, sizeof(p), "%s/.nono/sessions", home);
	assert_int_equal(rmdir(p), 0);
	(void)snprintf(outside, sizeof(outside), "%s/outside", home);
	assert_int_equal(symlink(outside, p), 0);
	(void)snprintf(p, sizeof(p), "%s/outside/s3", home);
	mk(p, 0700);
	r = session_remove(home, "s3");
	assert_true(r == -ELOOP || r == -ENOTDIR);
	assert_int_equal(access(p, F_OK), 0);

	char cmd[600];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
