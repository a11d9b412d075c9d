/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/macro.h"
#include "base/parse.h"
#include "base/path.h"
#include "base/refusal-scan.h"
#include "base/strbuf.h"
#include "base/strv.h"

static void test_path_normalize(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"/", "/"},         {"//a//b/", "/a/b"},    {"/a/./b", "/a/b"},
		{"/a/../b", "/b"},  {"/../../x", "/x"},     {"/a/b/..", "/a"},
		{"/a/b/../..", "/"}, {"/a/..b/c", "/a/..b/c"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *out = NULL;
		assert_int_equal(path_normalize(cases[i][0], &out), 0);
		assert_string_equal(out, cases[i][1]);
	}
	char *out = NULL;
	assert_int_equal(path_normalize("relative", &out), -EINVAL);
	assert_null(out);
}

static void test_path_is_plain_relative(void **state)
{
	(void)state;
	assert_true(path_is_plain_relative("a"));
	assert_true(path_is_plain_relative("a/b.c/..d"));
	assert_false(path_is_plain_relative(""));
	assert_false(path_is_plain_relative("/a"));
	assert_false(path_is_plain_relative("a/"));
	assert_false(path_is_plain_relative("a//b"));
	assert_false(path_is_plain_relative("./a"));
	assert_false(path_is_plain_relative("a/../b"));
	assert_false(path_is_plain_relative(".."));
	char name[NAME_MAX + 2];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	assert_false(path_is_plain_relative(name)); /* a component longer than NAME_MAX */
	name[NAME_MAX] = 0;
	assert_true(path_is_plain_relative(name));
}

static void test_path_is_beneath(void **state)
{
	(void)state;
	assert_true(path_is_beneath("/home/u/.ssh", "/home/u"));
	assert_true(path_is_beneath("/home/u", "/home/u"));
	assert_false(path_is_beneath("/home/user2", "/home/u"));
	assert_true(path_is_beneath("/x", "/"));
	assert_false(path_is_beneath("/home", "/home/u"));
}

static void test_path_canonicalize_missing(void **state)
{
	(void)state;
	_cleanup_free_ char *out = NULL;
	bool exists = true;
	assert_int_equal(path_canonicalize("/proc/self/../nonexistent-nono/x/../y", NULL, &out,
					   &exists),
			 0);
	assert_false(exists);
	assert_string_equal(out, "/proc/nonexistent-nono/y");

	/* Only "/" exists: the first component must survive whole. */
	_cleanup_free_ char *top = NULL;
	assert_int_equal(path_canonicalize("/nonexistent-nono/x", NULL, &top, &exists), 0);
	assert_string_equal(top, "/nonexistent-nono/x");
}

/* With the memo on, every answer equals the one without it (realpath's). */
static void test_path_canon_memo(void **state)
{
	(void)state;
	char dir[] = "/tmp/nono-test-canon-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *real_dir = realpath(dir, NULL);
	assert_non_null(real_dir);
	char p[PATH_MAX];
	static const char *const mk[] = {"a", "a/b", "a/b/c"};
	for (size_t i = 0; i < ARRAY_SIZE(mk); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, mk[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof(p), "%s/f", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/l", dir);
	assert_int_equal(symlink("a/b", p), 0);
	snprintf(p, sizeof(p), "%s/a/up", dir);
	assert_int_equal(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/dangling", dir);
	assert_int_equal(symlink("nowhere/x", p), 0);

	static const char *const cases[] = {
	    ".",	"a",	    "a/b/c",	  "a/b/c/missing", "a/missing/x/../y",
	    "f",	"f/x",	    "l",	  "l/c",	   "l/c/m",
	    "a/up/l/c", "dangling", "dangling/x", "missing",	   "a/b/../../l",
	};
	char *want[ARRAY_SIZE(cases)] = {0};
	bool want_exists[ARRAY_SIZE(cases)];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(path_canonicalize(cases[i], dir, &want[i], &want_exists[i]), 0);
	snprintf(p, sizeof(p), "%s/a/b/c", real_dir); /* a/up/l/c: a symlink to ".." */
	assert_string_equal(want[10], p);
	assert_true(want_exists[10]);

	path_canon_memo_begin();
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			_cleanup_free_ char *got = NULL;
			bool exists = !want_exists[i];
			assert_int_equal(path_canonicalize(cases[i], dir, &got, &exists), 0);
			assert_string_equal(got, want[i]);
			assert_int_equal(exists, want_exists[i]);
		}
	path_canon_memo_end();

	/* Closed: a directory turned symlink is seen by the next scope. */
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink("/", p), 0);
	path_canon_memo_begin();
	_cleanup_free_ char *c = NULL;
	assert_int_equal(path_canonicalize("a/b/c", dir, &c, NULL), 0);
	assert_string_equal(c, "/");
	path_canon_memo_end();

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		free(want[i]);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_parse(void **state)
{
	(void)state;
	uint16_t port = 0;
	bool b = false;
	assert_int_equal(parse_port("443", &port), 0);
	assert_int_equal(port, 443);
	assert_int_equal(parse_port("0", &port), -ERANGE);
	assert_int_equal(parse_port("65536", &port), -ERANGE);
	assert_int_equal(parse_port("12a", &port), -EINVAL);
	assert_int_equal(parse_port("-1", &port), -EINVAL);
	assert_int_equal(parse_port("", &port), -EINVAL);
	assert_int_equal(parse_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
}

static void test_strv_and_strbuf(void **state)
{
	(void)state;
	_cleanup_strv_free_ char **l = NULL;
	assert_int_equal(strv_split(",a,,b,", ",", &l), 0);
	assert_int_equal(strv_length(l), 2);
	assert_string_equal(l[1], "b");
	assert_int_equal(strv_extend_unique(&l, "a"), 0);
	assert_int_equal(strv_length(l), 2);

	struct strbuf sb = STRBUF_INIT;
	sb.max = 8;
	assert_int_equal(strbuf_addf(&sb, "%d-%s", 12, "ab"), 0);
	assert_string_equal(sb.buf, "12-ab");
	assert_int_equal(strbuf_adds(&sb, "toolong"), -E2BIG);
	assert_string_equal(sb.buf, "12-ab");
	strbuf_release(&sb);
}

static void expect_line(const char *line, enum refusal_kind kind, const char *path)
{
	char got[REFUSAL_PATH_MAX];
	enum refusal_kind k;
	bool ok = refusal_scan_line(line, strlen(line), &k, got, sizeof(got));
	if (!path) {
		assert_false(ok);
		return;
	}
	assert_true(ok);
	assert_int_equal(k, kind);
	assert_string_equal(got, path);
}

static void test_refusal_scan_line(void **state)
{
	(void)state;
	expect_line("cat: /srv/data/x.txt: Permission denied", REFUSAL_EACCES, "/srv/data/x.txt");
	expect_line("touch: cannot touch '/srv/a b': Permission denied", REFUSAL_EACCES, "/srv/a b");
	expect_line("mkdir: cannot create directory \xe2\x80\x98/srv/d\xe2\x80\x99: Permission denied",
		    REFUSAL_EACCES, "/srv/d");
	expect_line("/bin/bash: line 1: /etc/x: Read-only file system", REFUSAL_EROFS, "/etc/x");
	expect_line("sh: 1: cannot create /opt/y: Permission denied", REFUSAL_EACCES, "/opt/y");
	expect_line("Error: EACCES: permission denied, open '/home/u/.cfg'", REFUSAL_EACCES,
		    "/home/u/.cfg");
	expect_line("Error: EPERM: operation not permitted, mkdir '/x'", REFUSAL_EPERM, "/x");
	expect_line("PermissionError: [Errno 13] Permission denied: '/root/k'", REFUSAL_EACCES,
		    "/root/k");
	expect_line("OSError: [Errno 30] Read-only file system: \"/usr/z\"", REFUSAL_EROFS, "/usr/z");
	/* No path, a URL, a relative path, an unterminated quote: nothing. */
	expect_line("Permission denied", 0, NULL);
	expect_line("GET http://h//x: permission denied", 0, NULL);
	expect_line("cat: data/x: Permission denied", 0, NULL);
	expect_line("open '/x: permission denied", 0, NULL);
	expect_line("all good in /srv", 0, NULL);
	/* A control byte, a C1 control in UTF-8 or any other non-ASCII byte: not kept. */
	expect_line("cat: /a\x01" "b: Permission denied", 0, NULL);
	expect_line("cat: /a\xc2\x9b" "2J: Permission denied", 0, NULL);
	expect_line("cat: /caf\xc3\xa9: Permission denied", 0, NULL);
	/* Too long for the caller's buffer: nothing. */
	char small[4];
	enum refusal_kind k;
	assert_false(refusal_scan_line("cat: /abcd: Permission denied", 29, &k, small, sizeof(small)));
}

static void test_refusal_scan_stream(void **state)
{
	(void)state;
	struct refusal_scan s;
	refusal_scan_init(&s);
	/* Split across feeds, in colour, with CR LF, a duplicate and an OSC title. */
	const char *out = "\x1b]0;title\x07\x1b[31mcat: /s/one: Permi";
	refusal_scan_feed(&s, out, strlen(out));
	out = "ssion denied\x1b[0m\r\ncat: /s/one: Permission denied\nok\n";
	refusal_scan_feed(&s, out, strlen(out));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.found[0].path, "/s/one");
	/* The last line has no newline until flush. */
	out = "rm: cannot remove '/s/two': Read-only file system";
	refusal_scan_feed(&s, out, strlen(out));
	assert_int_equal(s.n, 1);
	refusal_scan_flush(&s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.found[1].kind, REFUSAL_EROFS);
	/* Bounded: REFUSAL_MAX paths, the rest counted. */
	char line[64];
	for (int i = 0; i < REFUSAL_MAX + 3; i++) {
		int l = snprintf(line, sizeof(line), "cat: /p/%d: Permission denied\n", i);
		refusal_scan_feed(&s, line, (size_t)l);
	}
	assert_int_equal(s.n, REFUSAL_MAX);
	assert_int_equal(s.dropped, 5);
	/* A line longer than the buffer is skipped whole, the next one scanned. */
	refusal_scan_init(&s);
	char big[REFUSAL_LINE_MAX + 10];
	memset(big, 'a', sizeof(big));
	refusal_scan_feed(&s, big, sizeof(big));
	out = " cat: /q: Permission denied\ncat: /r: Permission denied\n";
	refusal_scan_feed(&s, out, strlen(out));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.found[0].path, "/r");
	assert_string_equal(refusal_kind_to_string(REFUSAL_EPERM), "Operation not permitted");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_is_plain_relative),
		cmocka_unit_test(test_path_is_beneath),
		cmocka_unit_test(test_path_canonicalize_missing),
		cmocka_unit_test(test_path_canon_memo),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_strv_and_strbuf),
		cmocka_unit_test(test_refusal_scan_line),
		cmocka_unit_test(test_refusal_scan_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
