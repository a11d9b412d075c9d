/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail: files and modes, events from a forked appender, verification and
 * every kind of tampering it must detect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/macro.h"
#include "base/strbuf.h"
#include "base/strv.h"

static char home[] = "/tmp/nono-audit-test.XXXXXX";

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(home));
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

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void write_all(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
	fclose(f);
}

static const struct audit_network_event ev_allow = {
    true, "CONNECT", "api.example.com", 443, "", NULL, NULL, 0};
static const struct audit_network_event ev_deny = {false, "CONNECT", "169.254.169.254", 80,
						   "",	  NULL,	     "denied_cidr",	403};

/* A finished session with n events, half of them appended by a forked process. */
static char *make_session(int n, bool integrity)
{
	char *const argv[] = {(char *)"agent", (char *)"--token", (char *)"[REDACTED]", NULL};
	struct audit_session_info info = {"9.9.9", "claude-code", argv, "/work",
					  "proxy", integrity,	  NULL};
	struct audit_log *a = NULL;
	struct diag d = {{0}};
	assert_int_equal(audit_open(home, &info, &a, &d), 0);
	assert_int_equal(audit_set_proxy_placement(a, "network-namespace"), 0);
	assert_int_equal(audit_fork_share(a, true), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (audit_fork_share(a, false) < 0)
		_exit(2);
	if (pid == 0) {
		for (int i = 0; i < n / 2; i++)
			if (audit_append_network(a, i % 2 ? &ev_deny : &ev_allow) < 0)
				_exit(1);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = n / 2; i < n; i++)
		assert_int_equal(audit_append_network(a, &ev_deny), 0);
	char *dir = strdup(audit_session_dir(a));
	assert_int_equal(audit_close(a, 7, &d), 0);
	return dir;
}

/* True when this process maps a writable MAP_SHARED anonymous region (/dev/zero). */
static bool maps_shared_anon(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " rw-s ") && strstr(line, "/dev/zero"))
			found = true;
	(void)fclose(f);
	return found;
}

/* Only a fork bracketed by audit_fork_share() carries the chain state. */
static void test_fork_share(void **state)
{
	(void)state;
	char *const argv[] = {(char *)"agent", NULL};
	struct audit_session_info info = {"9.9.9", "x", argv, "/work", "proxy", true, NULL};
	struct audit_log *a = NULL;
	struct diag d = {{0}};
	int st;

	assert_int_equal(audit_open(home, &info, &a, &d), 0);
	assert_true(maps_shared_anon());
	for (int share = 0; share < 2; share++) {
		assert_int_equal(audit_fork_share(a, share), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(maps_shared_anon() ? 1 : 0);
		assert_int_equal(audit_fork_share(a, false), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), share ? 1 : 0);
	}
	assert_int_equal(audit_fork_share(NULL, true), 0);
	assert_int_equal(audit_close(a, 0, &d), 0);
}

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
	(void)snprintf(buf, n, "%s/%s", dir, name);
}

static void test_record(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_session(6, true);
	char p[700], ev[700];
	struct stat st;

	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	path_in(p, sizeof(p), dir, "session.json");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	path_in(ev, sizeof(ev), dir, "audit-events.ndjson");
	assert_int_equal(stat(ev, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	json_error_t je;
	json_t *s = json_load_file(p, 0, &je);
	assert_non_null(s);
	const char *id = json_string_value(json_object_get(s, "session_id"));
	assert_non_null(id);
	assert_non_null(strstr(dir, id));
	assert_string_equal(json_string_value(json_object_get(s, "nono_version")), "9.9.9");
	assert_string_equal(json_string_value(json_object_get(s, "profile")), "claude-code");
	assert_int_equal(json_integer_value(json_object_get(s, "exit_status")), 7);
	assert_non_null(json_string_value(json_object_get(s, "end_time")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(s, "network"), "proxy_placement")),
	    "network-namespace");
	json_t *integ = json_object_get(s, "integrity");
	assert_int_equal(json_integer_value(json_object_get(integ, "events")), 6);
	assert_int_equal(strlen(json_string_value(json_object_get(integ, "merkle_root"))), 64);

	/* Lines are whole JSON objects with the expected fields. */
	_cleanup_free_ char *text = read_all(ev);
	char *line = strtok_r(text, "\n", &(char *){NULL});
	json_t *e = json_loads(line, 0, &je);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "type")), "network");
	assert_true(json_is_true(json_object_get(e, "allow")));
	assert_string_equal(json_string_value(json_object_get(e, "host")), "api.example.com");
	assert_int_equal(json_integer_value(json_object_get(e, "port")), 443);
	assert_true(json_is_null(json_object_get(e, "reason")));
	assert_int_equal(strlen(json_string_value(json_object_get(e, "prev"))), 64);
	json_decref(e);

	struct audit_verify_result res;
	struct diag d = {{0}};
	assert_int_equal(audit_verify(dir, &res, &d), 0);
	assert_int_equal(res.events, 6);
	assert_true(res.finished);
	assert_string_equal(res.head, json_string_value(json_object_get(integ, "chain_head")));
	assert_string_equal(res.merkle_root,
			    json_string_value(json_object_get(integ, "merkle_root")));
	json_decref(s);
}

/* Apply edit to the events file (or session.json) and expect verification to fail. */
static void expect_tamper(const char *dir, const char *file, char *(*edit)(const char *),
			  const char *msg)
{
	char p[700];
	path_in(p, sizeof(p), dir, file);
	_cleanup_free_ char *orig = read_all(p);
	_cleanup_free_ char *changed = edit(orig);
	write_all(p, changed);
	struct audit_verify_result res;
	struct diag d = {{0}};
	assert_int_equal(audit_verify(dir, &res, &d), -EBADMSG);
	if (!strstr(d.msg, msg))
		fail_msg("expected '%s' in: %s", msg, d.msg);
	write_all(p, orig);
	assert_int_equal(audit_verify(dir, &res, &d), 0);
}

static char **split_lines(const char *s)
{
	char **l = NULL;
	assert_int_equal(strv_split(s, "\n", &l), 0);
	return l;
}

static char *join_lines(char **l)
{
	struct strbuf sb = STRBUF_INIT;
	STRV_FOREACH(x, l)
	assert_int_equal(strbuf_addf(&sb, "%s\n", *x), 0);
	strv_free(l);
	return strbuf_detach(&sb);
}

static char *edit_host(const char *s)
{
	char *c = strdup(s);
	char *h = strstr(c, "169.254.169.254");
	h[0] = '9'; /* first deny event: DENY becomes about another host */
	return c;
}

static char *edit_allow(const char *s)
{
	char *c = strdup(s);
	char *h = strstr(c, "\"allow\":false");
	memcpy(h, "\"allow\":true ", 13);
	return c;
}

static char *delete_second(const char *s)
{
	char **l = split_lines(s);
	free(l[1]);
	memmove(l + 1, l + 2, (strv_length(l + 2) + 1) * sizeof(char *));
	return join_lines(l);
}

static char *swap_two(const char *s)
{
	char **l = split_lines(s);
	char *t = l[2];
	l[2] = l[3];
	l[3] = t;
	return join_lines(l);
}

static char *cut_tail(const char *s)
{
	char **l = split_lines(s);
	size_t n = strv_length(l);
	free(l[n - 1]);
	l[n - 1] = NULL;
	return join_lines(l);
}

static char *edit_last(const char *s)
{
	char **l = split_lines(s);
	size_t n = strv_length(l);
	char *h = strstr(l[n - 1], "\"status\":403");
	memcpy(h, "\"status\":200", 12);
	return join_lines(l);
}

static char *no_newline(const char *s)
{
	char *c = strdup(s);
	c[strlen(c) - 1] = 0;
	return c;
}

static char *edit_count(const char *s)
{
	char *c = strdup(s);
	char *h = strstr(c, "\"events\": 6");
	h[10] = '5';
	return c;
}

static void test_tamper(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_session(6, true);
	expect_tamper(dir, "audit-events.ndjson", edit_host, "hash chain broken");
	expect_tamper(dir, "audit-events.ndjson", edit_allow, "hash chain broken");
	expect_tamper(dir, "audit-events.ndjson", delete_second, "hash chain broken");
	expect_tamper(dir, "audit-events.ndjson", swap_two, "hash chain broken");
	expect_tamper(dir, "audit-events.ndjson", cut_tail, "recorded 6 events");
	expect_tamper(dir, "audit-events.ndjson", edit_last, "final chain head");
	expect_tamper(dir, "audit-events.ndjson", no_newline, "incomplete");
	expect_tamper(dir, "session.json", edit_count, "recorded 5 events");
}

static void test_without_integrity(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_session(2, false);
	char p[700];
	path_in(p, sizeof(p), dir, "audit-events.ndjson");
	_cleanup_free_ char *text = read_all(p);
	assert_null(strstr(text, "\"prev\""));
	struct audit_verify_result res;
	struct diag d = {{0}};
	assert_int_equal(audit_verify(dir, &res, &d), 0);
	assert_false(res.integrity);
	assert_int_equal(res.events, 2);
}

/* A session still running (or killed): the chain verifies, the tail is unchecked. */
static void test_unfinished(void **state)
{
	(void)state;
	for (int integrity = 0; integrity < 2; integrity++) {
		char *const argv[] = {(char *)"x", NULL};
		struct audit_session_info info = {"1", NULL, argv, "/", "proxy", integrity, NULL};
		struct audit_log *a = NULL;
		struct diag d = {{0}};
		assert_int_equal(audit_open(home, &info, &a, &d), 0);
		assert_int_equal(audit_append_network(a, &ev_deny), 0);
		assert_int_equal(audit_append_network(a, &ev_allow), 0);
		struct audit_verify_result res;
		assert_int_equal(audit_verify(audit_session_dir(a), &res, &d), 0);
		assert_false(res.finished);
		assert_int_equal(res.integrity, integrity);
		assert_int_equal(res.events, 2);
		audit_free(a);
	}
}

/* No events: nothing hashed at run time; an added line is still caught. */
static void test_empty(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_session(0, true);
	struct audit_verify_result res;
	struct diag d = {{0}};
	assert_int_equal(audit_verify(dir, &res, &d), 0);
	assert_int_equal(res.events, 0);
	assert_string_equal(res.merkle_root,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	char p[700];
	path_in(p, sizeof(p), dir, "audit-events.ndjson");
	write_all(p, "{\"type\":\"network\"}\n");
	assert_int_equal(audit_verify(dir, &res, &d), -EBADMSG);
}

static void test_open_refusals(void **state)
{
	(void)state;
	char *const argv[] = {(char *)"x", NULL};
	struct audit_session_info info = {"1", NULL, argv, "/", "allowed", true, NULL};
	struct audit_log *a = NULL;
	struct diag d = {{0}};
	assert_int_equal(audit_open("relative", &info, &a, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "--no-audit"));
	assert_int_equal(audit_open(NULL, &info, &a, &d), -EINVAL);

	/* A planted symlink at ~/.nono is not followed. */
	char h2[700], link[800], target[800];
	(void)snprintf(h2, sizeof(h2), "%s/h2", home);
	(void)snprintf(link, sizeof(link), "%s/.nono", h2);
	(void)snprintf(target, sizeof(target), "%s/elsewhere", home);
	assert_int_equal(mkdir(h2, 0700), 0);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, link), 0);
	int r = audit_open(h2, &info, &a, &d);
	assert_true(r == -ENOTDIR || r == -ELOOP);
	assert_non_null(strstr(d.msg, "symbolic link"));
	assert_null(a);

	assert_false(audit_session_id_valid("../x"));
	assert_false(audit_session_id_valid(""));
	assert_false(audit_session_id_valid("-rf"));
	assert_true(audit_session_id_valid("20260101-000000-abcdef01"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_without_integrity),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_unfinished),
	    cmocka_unit_test(test_open_refusals),
	    cmocka_unit_test(test_fork_share),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
