/* SPDX-License-Identifier: Apache-2.0 */
/* The TOML subset reader and the redaction policy (defaults and [redaction]). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit/redact.h"
#include "base/macro.h"
#include "base/strv.h"
#include "base/toml.h"

static int parse(const char *text, struct toml_doc **doc, struct diag *d)
{
	*d = (struct diag){{0}};
	return toml_parse(text, strlen(text), "config.toml", doc, d);
}

static void test_toml_ok(void **state)
{
	(void)state;
	struct diag d;
	_cleanup_toml_ struct toml_doc *doc = NULL;
	const char *text = "# comment\n"
			   "top = \"x\"\n"
			   "\n"
			   "[ui]\n"
			   "theme = \"frappe\" # trailing comment\n"
			   "[redaction]\r\n"
			   "\"quoted key\" = 'lit\\eral'\n"
			   "flag = true\n"
			   "off=false\n"
			   "list = [\n"
			   "  \"a\\tb\", # inside\n"
			   "  'c',\n"
			   "  \"\\u00e9\\U0001F600\",\n"
			   "]\n"
			   "empty = []\n"
			   "[a.\"b c\"]\n";
	assert_int_equal(parse(text, &doc, &d), 0);
	assert_int_equal(doc->n, 7);
	assert_string_equal(doc->entries[0].table, "");
	assert_string_equal(doc->entries[0].str, "x");
	assert_string_equal(doc->entries[1].table, "ui");
	assert_string_equal(doc->entries[1].str, "frappe");
	assert_int_equal(doc->entries[1].line, 5);
	assert_string_equal(doc->entries[2].key, "quoted key");
	assert_string_equal(doc->entries[2].str, "lit\\eral");
	assert_true(doc->entries[3].b);
	assert_int_equal(doc->entries[4].type, TOML_BOOL);
	assert_false(doc->entries[4].b);
	assert_int_equal(doc->entries[5].type, TOML_ARRAY);
	assert_int_equal(strv_length(doc->entries[5].arr), 3);
	assert_string_equal(doc->entries[5].arr[0], "a\tb");
	assert_string_equal(doc->entries[5].arr[2], "\xc3\xa9\xf0\x9f\x98\x80");
	assert_int_equal(strv_length(doc->entries[6].arr), 0);
	assert_true(strv_contains(doc->tables, "a.b c"));

	/* Integers ([audit] limits). */
	_cleanup_toml_ struct toml_doc *nd = NULL;
	assert_int_equal(parse("n = 1_000\nz = 0 # c\nm = 999999999999999\n", &nd, &d), 0);
	assert_int_equal(nd->entries[0].type, TOML_INTEGER);
	assert_int_equal(nd->entries[0].i, 1000);
	assert_int_equal(nd->entries[1].i, 0);
	assert_int_equal(nd->entries[2].i, 999999999999999LL);
	assert_string_equal(toml_type_name(TOML_INTEGER), "an integer");
}

/* Each bad input fails with the expected line:column. */
static void test_toml_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int line, column;
		const char *msg;
	} cases[] = {
	    {"a = -1\n", 1, 5, "unsupported value"},
	    {"a = 01\n", 1, 5, "leading zero"},
	    {"a = 1x\n", 1, 5, "not an integer"},
	    {"a = 1.5\n", 1, 5, "not an integer"},
	    {"a = 1__0\n", 1, 5, "not an integer"},
	    {"a = 1_\n", 1, 5, "not an integer"},
	    {"a = 1000000000000000\n", 1, 5, "too large"},
	    {"a = \"x\"\na = \"y\"\n", 2, 1, "duplicate key"},
	    {"[t]\n[t]\n", 2, 4, "duplicate table"},
	    {"a = \"unterminated\n", 1, 18, "unterminated"},
	    {"a = \"x\" b\n", 1, 9, "after the value"},
	    {"a.b = \"x\"\n", 1, 2, "dotted keys"},
	    {"a = [\"x\" \"y\"]\n", 1, 10, "expected ','"},
	    {"a = [1]\n", 1, 6, "strings only"},
	    {"a = \"\\q\"\n", 1, 6, "unknown escape"},
	    {"a = \"\\u12\"\n", 1, 10, "hex digits"},
	    {"a = \"\\ud800\"\n", 1, 6, "no valid character"},
	    {"a =\n", 1, 4, "missing value"},
	    {"= \"x\"\n", 1, 1, "expected a key"},
	    {"[[arr]]\n", 1, 2, "arrays of tables"},
	    {"a = \"\"\"x\"\"\"\n", 1, 6, "multi-line"},
	    {"a = {}\n", 1, 5, "unsupported value"},
	    {"a = truex\n", 1, 5, "unsupported value"},
	    {"a = [\n\"x\",\n", 3, 1, "unterminated array"},
	    {"a = \"x\ty\x01\"\n", 1, 9, "control character"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct diag d;
		struct toml_doc *doc = NULL;
		assert_int_equal(parse(cases[i].text, &doc, &d), -EINVAL);
		assert_null(doc);
		if (d.line != cases[i].line || d.column != cases[i].column ||
		    !strstr(d.msg, cases[i].msg))
			fail_msg("case %zu: got %d:%d %s", i, d.line, d.column, d.msg);
		assert_string_equal(d.file, "config.toml");
	}
	struct diag d = {{0}};
	struct toml_doc *doc = NULL;
	assert_int_equal(toml_parse("a = \"x\"\n\0", 9, "c", &doc, &d), -EINVAL);
	assert_int_equal(d.line, 2);
	assert_int_equal(toml_parse_file("/nonexistent/config.toml", &doc, &d), -ENOENT);
}

static char **redact(const struct redact_policy *p, const char *const *argv)
{
	char **out = NULL;
	assert_int_equal(redact_argv(p, (char *const *)argv, &out), 0);
	return out;
}

static void test_redact_defaults(void **state)
{
	(void)state;
	_cleanup_(redact_policy_freep) struct redact_policy *p = NULL;
	assert_int_equal(redact_policy_new(&p), 0);
	static const struct {
		const char *in, *out;
	} single[] = {
	    {"Authorization: Bearer sk-123", "Authorization: [REDACTED]"},
	    {"x-api-key:abc", "x-api-key: [REDACTED]"},
	    {"Cookie: a=b", "Cookie: [REDACTED]"},
	    {"Accept: text/html", "Accept: text/html"},
	    {"https://api.example.com/v1?key=K1&q=x&sig=S#access_token=T",
	     "https://api.example.com/"
	     "v1?key=[REDACTED]&q=x&sig=[REDACTED]#access_token=[REDACTED]"},
	    {"https://user:pa:ss@host.example/p", "https://user:[REDACTED]@host.example/p"},
	    {"https://user@host.example/p?Token=x", "https://user@host.example/p?Token=[REDACTED]"},
	    {"see http://a/?password=p1 and ftp://u:p2@b/",
	     "see http://a/?password=[REDACTED] and ftp://u:[REDACTED]@b/"},
	    {"GITHUB_TOKEN=ghp_x", "GITHUB_TOKEN=[REDACTED]"},
	    {"api_key=1&x=2", "api_key=[REDACTED]&x=2"},
	    {"name=value", "name=value"},
	    {"plain", "plain"},
	    {"", ""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
		_cleanup_free_ char *o = NULL;
		assert_int_equal(redact_text(p, single[i].in, &o), 0);
		assert_string_equal(o, single[i].out);
	}

	const char *argv[] = {"tool",		"--token",    "T1",
			      "--api-key=K2",	"--password", "P3",
			      "--GitHub-Token", "T4",	      "--verbose",
			      "file",		"-H",	      "Authorization: Basic Zm9v",
			      "--secret",	NULL};
	_cleanup_strv_free_ char **out = redact(p, argv);
	const char *want[] = {"tool",
			      "--token",
			      "[REDACTED]",
			      "--api-key=[REDACTED]",
			      "--password",
			      "[REDACTED]",
			      "--GitHub-Token",
			      "[REDACTED]",
			      "--verbose",
			      "file",
			      "-H",
			      "Authorization: [REDACTED]",
			      "--secret",
			      NULL};
	for (size_t i = 0; want[i]; i++)
		assert_string_equal(out[i], want[i]);
	assert_null(out[13]);
	assert_null(redact_policy_diff(p));
}

static void test_redact_config(void **state)
{
	(void)state;
	_cleanup_(redact_policy_freep) struct redact_policy *p = NULL;
	struct diag d = {{0}};
	const char *cfg = "[ui]\ntheme = \"latte\"\n"
			  "[redaction]\n"
			  "extra_flags = [\"--pat\", \"--private-thing\"]\n"
			  "extra_headers = [\"Private-Token\"]\n"
			  "extra_query_keys = [\"X-Custom\"]\n"
			  "unsafe_redaction_overrides = true\n"
			  "allow_unredacted_defaults = [\"state\"]\n";
	assert_int_equal(redact_policy_new(&p), 0);
	assert_int_equal(redact_policy_load_text(p, cfg, strlen(cfg), "config.toml", &d), 0);
	const char *argv[] = {"--pat",
			      "P1",
			      "--private-thing=P2",
			      "Private-Token: P3",
			      "https://h/?x-custom=P4&state=visible",
			      NULL};
	_cleanup_strv_free_ char **out = redact(p, argv);
	assert_string_equal(out[1], "[REDACTED]");
	assert_string_equal(out[2], "--private-thing=[REDACTED]");
	assert_string_equal(out[3], "Private-Token: [REDACTED]");
	assert_string_equal(out[4], "https://h/?x-custom=[REDACTED]&state=visible");
	json_t *diff = redact_policy_diff(p);
	assert_non_null(diff);
	assert_int_equal(json_array_size(json_object_get(diff, "extra_flags")), 2);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(diff, "allow_unredacted_defaults"), 0)),
			    "state");
	json_decref(diff);

	static const struct {
		const char *text;
		int line;
		const char *msg;
	} bad[] = {
	    {"[redaction]\nextra_flagz = []\n", 2, "unknown key"},
	    {"[redaction]\nextra_flags = \"--x\"\n", 2, "array of strings"},
	    {"[redaction]\nextra_flags = [\"nodash\"]\n", 2, "malformed entry 'nodash'"},
	    {"[redaction]\nextra_headers = [\"Bad Header\"]\n", 2, "malformed"},
	    {"[redaction]\nextra_query_keys = [\"a=b\"]\n", 2, "malformed"},
	    {"[redaction]\nallow_unredacted_defaults = [\"token\"]\n", 2,
	     "unsafe_redaction_overrides"},
	    {"[redaction]\nunsafe_redaction_overrides = true\n"
	     "allow_unredacted_defaults = [\"nothing-like-it\"]\n",
	     3, "not a default"},
	    {"[redaction]\nunsafe_redaction_overrides = \"yes\"\n", 2, "true or false"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_(redact_policy_freep) struct redact_policy *q = NULL;
		assert_int_equal(redact_policy_new(&q), 0);
		d = (struct diag){{0}};
		assert_int_equal(
		    redact_policy_load_text(q, bad[i].text, strlen(bad[i].text), "config.toml", &d),
		    -EINVAL);
		if (d.line != bad[i].line || !strstr(d.msg, bad[i].msg))
			fail_msg("case %zu: got %d %s", i, d.line, d.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_toml_ok),
	    cmocka_unit_test(test_toml_errors),
	    cmocka_unit_test(test_redact_defaults),
	    cmocka_unit_test(test_redact_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
