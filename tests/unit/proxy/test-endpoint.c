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
	assert_norm("/a=b/d,e:f@g!$&'()*+", "/a=b/d,e:f@g!$&'()*+");
	/* Dots inside a name are no dot segments. */
	assert_norm("/v1/..a/b", "/v1/..a/b");
	assert_norm("/v1/a../b", "/v1/a../b");
	assert_norm("/v1/.../b", "/v1/.../b");
	assert_norm("/v1/.well-known/x", "/v1/.well-known/x");
}

/* Every entry is refused: the canonical-path table of endpoint.h. */
static const char *const refused[] = {
    /* dot segments, raw: refused rather than resolved */
    "/..",
    "/../admin",
    "/v1/../admin",
    "/v1/./chat",
    "/v1/chat/..",
    "/v1/chat/.",
    "/allowed/./..",
    "/a/b/../../c",
    /* encoded dots, any case, anywhere */
    "/v1/%2e%2e/admin",
    "/v1/%2E%2e/admin",
    "/v1/.%2e/admin",
    "/v1/%2e/admin",
    "/allowed/%2E%2E%2Fsecret%2Fx",
    "/v1/a%2eb",
    /* encoded separators */
    "/allowed/..%2fsecret/x",
    "/v1/a%2Fb",
    "/v1/a%2fb",
    "/v1/a%5cb",
    "/v1/a%5Cb",
    /* double encoding */
    "/allowed/%252e%252e/secret/x",
    "/v1/%252f",
    "/v1/%25%32%65",
    "/v1/%25A",
    /* path parameters */
    "/allowed/..;/secret/x",
    "/a;b=c/d",
    "/v1;",
    "/v1/%3b",
    "/v1/%3B..",
    /* empty segments */
    "//",
    "//v1",
    "/v1//chat",
    "/v1/chat//",
    /* backslash, raw */
    "/v1\\..\\admin",
    "/v1/a\\b",
    /* NUL, controls, space, DEL, raw non-ASCII */
    "/v1/%00",
    "/v1/x%00",
    "/v1/%0a",
    "/v1/%0D%0A",
    "/v1/%1f",
    "/v1/%7F",
    "/v1/a b",
    "/v1/a\tb",
    "/v1/\x80",
    "/v1/\x7f",
    "/v1/\xc3\xa9",
    /* fragment */
    "/v1/a#frag",
    "/v1/#",
    /* malformed escapes */
    "/v1/a%0",
    "/v1/a%",
    "/v1/%zz",
    "/v1/%g0",
    "/v1/%%41",
    /* escaped bytes that are not UTF-8: overlong, surrogate, out of range, cut */
    "/allowed/%c0%ae%c0%ae/secret",
    "/v1/%C0%AF",
    "/v1/%c1%81",
    "/v1/%e0%80%ae",
    "/v1/%f0%80%80%ae",
    "/v1/%ed%a0%80",
    "/v1/%f4%90%80%80",
    "/v1/%f5%80%80%80",
    "/v1/%ff",
    "/v1/%80",
    "/v1/%c3",
    "/v1/%c3a",
    "/v1/%e2%82",
    /* not origin-form */
    "v1/no-leading-slash",
    "*",
};

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		assert_refused(refused[i]);
}

static void test_escapes(void **state)
{
	(void)state;
	assert_norm("/%76%31/chat", "/v1/chat"); /* unreserved decoded */
	assert_norm("/v1/%7e%5F%2D", "/v1/~_-");
	assert_norm("/v1/a%20b", "/v1/a%20b"); /* reserved kept, hex upper-cased */
	assert_norm("/v1/a%3fb", "/v1/a%3Fb");
	assert_norm("/v1/a%23b", "/v1/a%23b");
	assert_norm("/v1/a%3a%40", "/v1/a%3A%40");
	assert_norm("/v1/%c3%a9", "/v1/%C3%A9"); /* well-formed UTF-8 */
	assert_norm("/v1/%e2%82%ac%F0%9F%98%80", "/v1/%E2%82%AC%F0%9F%98%80");
	assert_norm("/v1/100%25", "/v1/100%25"); /* a percent sign, once */
	assert_norm("/v1/%25zz", "/v1/%25zz");
}

static void test_canon_target(void **state)
{
	char out[64];
	size_t q = 99;
	(void)state;
	assert_int_equal(endpoint_canon_target("/a/b?x=1&y=%2e%2e", 17, out, sizeof(out), &q), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(q, 4);
	assert_int_equal(endpoint_canon_target("/%61", 4, out, sizeof(out), &q), 0);
	assert_string_equal(out, "/a");
	assert_int_equal(q, 4);
	/* The span is not NUL-terminated: nothing past n is read. */
	assert_int_equal(endpoint_canon_target("/a?b#c", 2, out, sizeof(out), &q), 0);
	assert_string_equal(out, "/a");
	assert_int_equal(q, 2);
	assert_int_equal(endpoint_canon_target("/a?b#c", 6, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(endpoint_canon_target("/a#c", 4, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(endpoint_canon_target("/a?b c", 6, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(endpoint_canon_target("/a?\x01", 4, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(endpoint_canon_target("/a?\xc3\xa9", 5, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(endpoint_canon_target("?x", 2, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(endpoint_canon_target("/../a?x", 7, out, sizeof(out), &q), -EINVAL);
	assert_int_equal(q, 2); /* untouched on failure */
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

/* The property the module exists for: no spelling of a path outside "/v1/" is both
 * accepted and matched by a rule allowing only "/v1/" and below. */
static void test_no_spelling_escapes(void **state)
{
	static const char *const spellings[] = {
	    "/v1/../admin",	      "/v1/%2e%2e/admin",     "/v1/%2E%2E/admin",
	    "/v1/.%2E/admin",	      "//v1/../admin",	      "/v1//..//admin",
	    "/v1/./../admin",	      "/v1/x/../../admin",    "/%76%31/../admin",
	    "/v1/..;/admin",	      "/v1/%252e%252e/admin", "/v1/..%2fadmin",
	    "/v1/%c0%ae%c0%ae/admin", "/v1/..\\admin",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(spellings); i++) {
		const char *n = norm(spellings[i]);
		if (n)
			fail_msg("'%s' accepted as '%s'", spellings[i], n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_paths),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_canon_target),
	    cmocka_unit_test(test_out_too_small),
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_method),
	    cmocka_unit_test(test_glob_valid),
	    cmocka_unit_test(test_no_spelling_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
