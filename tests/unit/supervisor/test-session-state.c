/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session record: names users may give, a record that round-trips, and the state
 * worked out from the supervisor's pid and start time (running, crashed when it is
 * gone or the pid now belongs to another process, exited once rewritten).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/session-state.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(session_name_valid("work"));
	assert_true(session_name_valid("a.b_c-9"));
	assert_false(session_name_valid(""));
	assert_false(session_name_valid("-x"));
	assert_false(session_name_valid(".x"));
	assert_false(session_name_valid("../x"));
	assert_false(session_name_valid("a b"));
	assert_false(session_name_valid("a/b"));
	char long_name[SESSION_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[SESSION_NAME_MAX + 1] = 0;
	assert_false(session_name_valid(long_name));
	long_name[SESSION_NAME_MAX] = 0;
	assert_true(session_name_valid(long_name));
}

static int session_dir(const char *home, const char *id)
{
	char path[512];
	(void)snprintf(path, sizeof(path), "%s/.nono", home);
	(void)mkdir(path, 0700);
	(void)snprintf(path, sizeof(path), "%s/.nono/sessions", home);
	(void)mkdir(path, 0700);
	(void)snprintf(path, sizeof(path), "%s/.nono/sessions/%s", home, id);
	assert_int_equal(mkdir(path, 0700), 0);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_states(void **state)
{
	(void)state;
	char home[] = "/tmp/nono-test-session-XXXXXX";
	assert_non_null(mkdtemp(home));

	/* A live supervisor (us), a dead one (a reaped child), and an ended session. */
	pid_t dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	uint64_t dead_start = session_pid_start(dead);
	assert_int_equal(waitpid(dead, NULL, 0), dead);

	char id1[] = "20260101-000000-00000001";
	char id2[] = "20260101-000000-00000002";
	char id3[] = "20260101-000000-00000003";
	char id4[] = "20260101-000000-00000004";
	char n1[] = "live";
	char n2[] = "gone";
	char n3[] = "reused";
	char n4[] = "done";
	char sh[] = "sh";
	struct session_record r = {.id = id1,
				   .name = n1,
				   .command = sh,
				   .state = SESSION_RUNNING,
				   .supervisor_pid = getpid(),
				   .supervisor_start = session_pid_start(getpid()),
				   .started = 100};
	assert_true(r.supervisor_start != 0);
	int fd1 = session_dir(home, r.id);
	assert_int_equal(session_record_write(fd1, &r, false, 0, 0), 0);

	r.id = id2;
	r.name = n2;
	r.supervisor_pid = dead;
	r.supervisor_start = dead_start;
	r.started = 200;
	int fd2 = session_dir(home, r.id);
	assert_int_equal(session_record_write(fd2, &r, false, 0, 0), 0);

	/* Our own pid but another start time: a reused pid is not the supervisor. */
	r.id = id3;
	r.name = n3;
	r.supervisor_pid = getpid();
	r.supervisor_start = session_pid_start(getpid()) + 1;
	r.started = 300;
	int fd3 = session_dir(home, r.id);
	assert_int_equal(session_record_write(fd3, &r, false, 0, 0), 0);

	r.id = id4;
	r.name = n4;
	r.state = SESSION_EXITED;
	r.ended = 450;
	r.exit_code = 4;
	r.started = 400;
	int fd4 = session_dir(home, r.id);
	assert_int_equal(session_record_write(fd4, &r, false, 0, 0), 0);
	struct stat st;
	assert_int_equal(fstatat(fd4, "session.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	struct session_record *v = NULL;
	size_t n = 0;
	assert_int_equal(session_records_load(home, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].name, "live");
	assert_int_equal(v[0].state, SESSION_RUNNING);
	assert_string_equal(v[1].name, "gone");
	assert_int_equal(v[1].state, SESSION_CRASHED);
	assert_string_equal(v[2].name, "reused");
	assert_int_equal(v[2].state, SESSION_CRASHED);
	assert_string_equal(v[3].name, "done");
	assert_int_equal(v[3].state, SESSION_EXITED);
	assert_int_equal(v[3].exit_code, 4);
	assert_int_equal(v[3].ended, 450);
	assert_string_equal(v[3].command, "sh");
	session_records_free(v, n);
	free(v);

	/* Removed records are not listed; no sessions directory at all is no error. */
	session_record_remove(fd1);
	session_record_remove(fd2);
	session_record_remove(fd3);
	session_record_remove(fd4);
	assert_int_equal(session_records_load(home, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(session_records_load("/nonexistent-nono-home", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(session_records_load("relative", &v, &n), -EINVAL);

	close(fd1);
	close(fd2);
	close(fd3);
	close(fd4);
	char cmd[256];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
