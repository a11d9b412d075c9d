/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/macro.h"
#include "base/parse.h"
#include "base/path.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_is_beneath),
		cmocka_unit_test(test_path_canonicalize_missing),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_strv_and_strbuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
