/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Themes: the six names, the fallback to mocha, no colour off a terminal or with
 * NO_COLOR, and record text made printable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/theme.h"

static void test_lookup(void **state)
{
	(void)state;
	static const char *const names[] = {"mocha",	 "latte",	"frappe",
					    "macchiato", "tokyo-night", "minimal"};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(theme_lookup(names[i]), (int)i);
	assert_int_equal(theme_lookup("Mocha"), -1);
	assert_int_equal(theme_lookup(""), -1);
	assert_int_equal(theme_lookup(NULL), -1);
}

static void test_select(void **state)
{
	(void)state;
	assert_int_equal(setenv("HOME", "/nonexistent-home", 1), 0);
	assert_int_equal(unsetenv("NONO_THEME"), 0);
	theme_select(NULL);
	assert_string_equal(theme_name(), "mocha");
	theme_select("latte");
	assert_string_equal(theme_name(), "latte");
	assert_int_equal(setenv("NONO_THEME", "frappe", 1), 0);
	theme_select(NULL);
	assert_string_equal(theme_name(), "frappe");
	theme_select("tokyo-night"); /* the flag wins */
	assert_string_equal(theme_name(), "tokyo-night");
	theme_select("neon"); /* unknown: mocha */
	assert_string_equal(theme_name(), "mocha");
}

static void test_no_color(void **state)
{
	(void)state;
	FILE *f = tmpfile(); /* not a terminal */
	assert_non_null(f);
	assert_false(theme_color(f));
	assert_string_equal(theme_on(f, THEME_HEADER), "");
	assert_string_equal(theme_off(f), "");
	(void)fclose(f);
	assert_int_equal(setenv("NO_COLOR", "1", 1), 0);
	assert_false(theme_color(stdout));
	assert_string_equal(theme_on(stdout, THEME_ERROR), "");
	assert_int_equal(unsetenv("NO_COLOR"), 0);
}

static void test_printable(void **state)
{
	(void)state;
	assert_string_equal(theme_printable("plain-name_1.x"), "plain-name_1.x");
	assert_string_equal(theme_printable("a\033[2Jb\x07\x7f\n"), "a?[2Jb???");
	assert_string_equal(theme_printable("caf\xc3\xa9"), "caf\xc3\xa9"); /* UTF-8 kept */
	assert_string_equal(theme_printable(NULL), "");
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(strlen(theme_printable(big)), 4095);
	/* Four at a time stay valid. */
	const char *a = theme_printable("1"), *b = theme_printable("2"), *c = theme_printable("3"),
		   *d = theme_printable("4");
	assert_string_equal(a, "1");
	assert_string_equal(b, "2");
	assert_string_equal(c, "3");
	assert_string_equal(d, "4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_no_color),
	    cmocka_unit_test(test_printable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
