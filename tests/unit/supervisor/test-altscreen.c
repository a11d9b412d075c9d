/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The alternate-screen scanner (--startup-timeout): the three sequences, as one of
 * several parameters, split at every byte boundary, and what must not count (leaving,
 * other modes, a sequence broken by another byte, a parameter that overflows).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "supervisor/altscreen.h"

static bool scan(const char *s)
{
	struct altscreen a = ALTSCREEN_INIT;
	return altscreen_feed(&a, s, strlen(s));
}

/* Every way of cutting s in two, and byte by byte, gives the same answer as whole. */
static void assert_split(const char *s, bool want)
{
	size_t n = strlen(s);
	for (size_t cut = 0; cut <= n; cut++) {
		struct altscreen a = ALTSCREEN_INIT;
		(void)altscreen_feed(&a, s, cut);
		assert_int_equal(altscreen_feed(&a, s + cut, n - cut), want);
	}
	struct altscreen a = ALTSCREEN_INIT;
	bool got = false;
	for (size_t i = 0; i < n; i++)
		got = altscreen_feed(&a, s + i, 1);
	assert_int_equal(got, want);
	assert_int_equal(scan(s), want);
}

static void test_enters(void **state)
{
	(void)state;
	assert_split("\033[?1049h", true);
	assert_split("\033[?1047h", true);
	assert_split("\033[?47h", true);
	assert_split("banner line\r\n\033[?25l\033[?1049h\033[H", true);
	assert_split("\033[?25;1049h", true);
	assert_split("\033[?1049;25h", true);
	assert_split("\033\033[?1049h", true); /* a stray ESC first */
	assert_split("\033[?;1049h", true);
}

static void test_does_not_enter(void **state)
{
	(void)state;
	assert_split("", false);
	assert_split("plain output\n", false);
	assert_split("\033[?1049l", false); /* leaving */
	assert_split("\033[?25h", false);
	assert_split("\033[?1048h", false);
	assert_split("\033[?10490h", false);
	assert_split("\033[?4294968345h", false); /* 1049 modulo 2^32: saturates instead */
	assert_split("\033[1049h", false);	  /* not a private mode */
	assert_split("\033?1049h", false);
	assert_split("\033[?10x49h", false);
	assert_split("[?1049h", false);
	assert_split("\033[?1049", false); /* not finished yet */
}

static void test_sticky(void **state)
{
	(void)state;
	struct altscreen a = ALTSCREEN_INIT;
	assert_true(altscreen_feed(&a, "\033[?1049h", 8));
	assert_true(altscreen_feed(&a, "\033[?1049l", 8));
	assert_true(altscreen_feed(&a, NULL, 0));
}

static void test_profile_hint(void **state)
{
	(void)state;
	assert_string_equal(altscreen_profile_hint("/usr/local/bin/claude"), "claude-code");
	assert_string_equal(altscreen_profile_hint("codex"), "codex");
	assert_string_equal(altscreen_profile_hint("/x/opencode"), "opencode");
	assert_string_equal(altscreen_profile_hint("/x/gemini"), "gemini");
	assert_null(altscreen_profile_hint("/bin/sh"));
	assert_null(altscreen_profile_hint("/x/claude/"));
	assert_null(altscreen_profile_hint(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enters),
	    cmocka_unit_test(test_does_not_enter),
	    cmocka_unit_test(test_sticky),
	    cmocka_unit_test(test_profile_hint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
