/* SPDX-License-Identifier: Apache-2.0 */
/* Reverse-proxy path normalisation and endpoint rules: hostile spellings first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "base/macro.h"
#include "proxy/endpoint.h"

static const char *norm(const char *in)
{
	static char out[512];
	int r = endpoint_normalize(in, strlen(in), out, sizeof(out));
	return r < 0 ? NULL : out;
}

static void assert_norm(const char *in, const char *want)
{
	const char *got = norm(in);
	if (!got)
		fail_msg("'%s' refused, wanted '%s'", in, want);
	if (!streq(got, want))
		fail_msg("'%s' -> '%s', wanted '%s'", in, got, want);
}

static void assert_refused(const char *in)
{
	const char *got = norm(in);
	if (got)
		fail_msg("'%s' accepted as '%s'", in, got);
}

static void test_plain_paths(void **state)
{
	(void)state;
	assert_norm("/v1/chat/completions", "/v1/chat/completions");
	assert_norm("/", "/");
	assert_norm("", "/");
	assert_norm("/v1/models/", "/v1/models/");
	assert_norm("/a;b=c/d,e", "/a;b=c/d,e");
}

static void test_dot_segments(void **state)
{
	(void)state;
	assert_norm("/v1/../admin", "/admin");
	assert_norm("/v1/./chat", "/v1/chat");
	assert_norm("/v1/chat/..", "/v1/");
	assert_norm("/v1/chat/.", "/v1/chat/");
	assert_norm("/v1/%2e%2e/admin", "/admin");
	assert_norm("/v1/%2E%2e/admin", "/admin");
	assert_norm("/v1/.%2e/admin", "/admin");
	assert_norm("/v1/%2e/admin", "/v1/admin");
	assert_norm("/a/b/../../c", "/c");
	/* Not dot segments: dots inside a name stay. */
	assert_norm("/v1/..a/b", "/v1/..a/b");
	assert_norm("/v1/a../b", "/v1/a../b");
	assert_norm("/v1/.../b", "/v1/.../b");
}

static void test_above_root(void **state)
{
	(void)state;
	assert_refused("/..");
	assert_refused("/../admin");
	assert_refused("/%2e%2e/admin");
	assert_refused("/v1/../../admin");
	assert_refused("/v1/%2e%2e/%2E%2E/x");
}

static void test_slashes(void **state)
{
	(void)state;
	assert_norm("//v1//chat///completions", "/v1/chat/completions");
	assert_norm("/v1//../admin", "/admin");
	/* An encoded slash stays encoded: one segment, never a separator. */
	assert_norm("/v1/a%2Fb", "/v1/a%2Fb");
	assert_norm("/v1/a%2fb", "/v1/a%2Fb");
	assert_norm("/v1/..%2f..%2fadmin", "/v1/..%2F..%2Fadmin");
	assert_refused("/v1\\..\\admin");
	assert_refused("/v1/a\\b");
	assert_norm("/v1/a%5cb", "/v1/a%5Cb");
}

static void test_escapes(void **state)
{
	(void)state;
	assert_norm("/%76%31/chat", "/v1/chat"); /* unreserved decoded */
	assert_norm("/v1/%7e%5F%2D", "/v1/~_-");
	assert_norm("/v1/a%20b", "/v1/a%20b"); /* reserved kept, hex upper-cased */
	assert_norm("/v1/a%3fb", "/v1/a%3Fb");
	assert_norm("/v1/%c3%a9", "/v1/%C3%A9");
	assert_refused("/v1/%00");
	assert_refused("/v1/a%0");
	assert_refused("/v1/a%");
	assert_refused("/v1/%zz");
	assert_refused("/v1/%g0");
	assert_refused("/v1/a b");
	assert_refused("/v1/a\tb");
	assert_refused("/v1/\x80");
	assert_refused("/v1/a#frag");
	assert_refused("v1/no-leading-slash");
	/* Double encoding is decoded once only: %252e stays literal. */
	assert_norm("/v1/%252e%252e/admin", "/v1/%252e%252e/admin");
}

static void test_out_too_small(void **state)
{
	char out[5];
	(void)state;
	assert_int_equal(endpoint_normalize("/abcdef", 7, out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(endpoint_normalize("/abcd", 5, out, 4), -ENAMETOOLONG);
	/* Decoding shrinks: ten input bytes fit in five. */
	assert_int_equal(endpoint_normalize("/%41%42%43", 10, out, sizeof(out)), 0);
	assert_string_equal(out, "/ABC");
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(endpoint_glob_match("/v1/chat/completions", "/v1/chat/completions"));
	assert_false(endpoint_glob_match("/v1/chat/completions", "/v1/chat/completions/x"));
	assert_false(endpoint_glob_match("/v1/chat/completions", "/v1/chat"));
	assert_true(endpoint_glob_match("/v1/chat/completions", "/v1/chat/completions/"));
	assert_true(endpoint_glob_match("/repos/*/issues", "/repos/me/issues"));
	assert_false(endpoint_glob_match("/repos/*/issues", "/repos/me/x/issues"));
	assert_false(endpoint_glob_match("/repos/*/issues", "/repos/issues"));
	assert_true(endpoint_glob_match("/repos/*/issues/**", "/repos/me/issues"));
	assert_true(endpoint_glob_match("/repos/*/issues/**", "/repos/me/issues/1/comments"));
	assert_true(endpoint_glob_match("/api/**", "/api"));
	assert_true(endpoint_glob_match("/**", "/anything/at/all"));
	assert_true(endpoint_glob_match("/**/comments", "/a/b/comments"));
	assert_true(endpoint_glob_match("/**/comments", "/comments"));
	assert_false(endpoint_glob_match("/**/comments", "/a/b/comments/x"));
	assert_true(endpoint_glob_match("/v1/models/gpt-*", "/v1/models/gpt-4o"));
	assert_false(endpoint_glob_match("/v1/models/gpt-*", "/v1/models/o1"));
	/* %2F is inside one segment: "*" takes it whole, and it is no separator. */
	assert_true(endpoint_glob_match("/repos/*/issues", "/repos/a%2Fb/issues"));
	assert_false(endpoint_glob_match("/repos/a/b/issues", "/repos/a%2Fb/issues"));
	assert_false(endpoint_glob_match("/", "/x"));
	assert_true(endpoint_glob_match("/", "/"));
	/* Pathological globs end (the step budget), and fail closed. */
	assert_false(endpoint_glob_match("/**/**/**/**/**/**/**/**/**/**/z",
					 "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y"));
}

static void test_method(void **state)
{
	(void)state;
	assert_true(endpoint_method_match("*", "DELETE"));
	assert_true(endpoint_method_match("GET", "GET"));
	assert_true(endpoint_method_match("get", "GET"));
	assert_false(endpoint_method_match("GET", "POST"));
	assert_false(endpoint_method_match("GET", "GETX"));
}

static void test_glob_valid(void **state)
{
	(void)state;
	assert_true(endpoint_glob_valid("/v1/**"));
	assert_false(endpoint_glob_valid("v1"));
	assert_false(endpoint_glob_valid("/v1/../admin"));
	assert_false(endpoint_glob_valid("/v1/./x"));
	assert_false(endpoint_glob_valid("/v1?x"));
	assert_false(endpoint_glob_valid("/v1\\x"));
}

/* The property the module exists for: a path that normalises to /admin never matches
 * a rule set allowing only "/v1/" and below, whatever the spelling. */
static void test_no_spelling_escapes(void **state)
{
	static const char *const spellings[] = {
	    "/v1/../admin",   "/v1/%2e%2e/admin",  "/v1/%2E%2E/admin",
	    "/v1/.%2E/admin", "//v1/../admin",	   "/v1//..//admin",
	    "/v1/./../admin", "/v1/x/../../admin", "/%76%31/../admin",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(spellings); i++) {
		const char *n = norm(spellings[i]);
		assert_non_null(n);
		assert_string_equal(n, "/admin");
		assert_false(endpoint_glob_match("/v1/**", n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_paths), cmocka_unit_test(test_dot_segments),
	    cmocka_unit_test(test_above_root),	cmocka_unit_test(test_slashes),
	    cmocka_unit_test(test_escapes),	cmocka_unit_test(test_out_too_small),
	    cmocka_unit_test(test_glob),	cmocka_unit_test(test_method),
	    cmocka_unit_test(test_glob_valid),	cmocka_unit_test(test_no_spelling_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
