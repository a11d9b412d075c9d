/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/macro.h"
#include "base/strv.h"
#include "proxy/filter.h"
#include "proxy/netpolicy.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct net_policy *load(void)
{
	const char *src = getenv("NONO_SRC");
	char path[4096];
	size_t len;
	struct diag d = {};
	struct net_policy *p = NULL;

	(void)snprintf(path, sizeof(path), "%s/data/network-policy.json", src ? src : ".");
	_cleanup_free_ char *buf = slurp(path, &len);
	if (net_policy_parse(buf, len, "network-policy.json", &p, &d) < 0)
		fail_msg("%s", d.msg);
	return p;
}

static void test_profiles(void **state)
{
	(void)state;
	_cleanup_net_policy_ struct net_policy *p = load();
	_cleanup_strv_free_ char **names = NULL;
	assert_int_equal(net_policy_profile_names(p, &names), 0);
	static const char *const want[] = {"claude-code", "codex",   "developer",
					   "enterprise",  "minimal", "opencode"};
	assert_int_equal(strv_length(names), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(names[i], want[i]);

	struct {
		const char *profile, *host;
		bool allowed;
		const char *cred;
	} cases[] = {
	    {"minimal", "api.anthropic.com", true, NULL},
	    {"minimal", "registry.npmjs.org", false, NULL},
	    {"developer", "pypi.org", true, NULL},
	    {"developer", "raw.githubusercontent.com", true, NULL},
	    {"developer", "fulcio.sigstore.dev", true, NULL},
	    {"developer", "docs.rs", true, NULL},
	    {"developer", "storage.googleapis.com", false, NULL},
	    {"claude-code", "github.com", true, NULL},
	    {"codex", "crates.io", true, "openai"},
	    {"opencode", "api.openai.com", true, "google-ai"},
	    {"enterprise", "storage.googleapis.com", true, NULL},
	    {"enterprise", "x.openai.azure.com", true, NULL},
	    {"enterprise", "us-east-1.bedrock-runtime.amazonaws.com", true, NULL},
	    {"enterprise", "metadata.google.internal", false, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_strv_free_ char **hosts = NULL, **creds = NULL;
		_cleanup_filter_ struct filter *f = NULL;
		assert_int_equal(net_policy_resolve(p, cases[i].profile, &hosts, &creds), 0);
		assert_int_equal(filter_new(hosts, &f, NULL), 0);
		bool ok = filter_check(f, cases[i].host, NULL) == FILTER_ALLOW;
		if (ok != cases[i].allowed)
			fail_msg("%s / %s", cases[i].profile, cases[i].host);
		if (cases[i].cred)
			assert_true(strv_contains(creds, cases[i].cred));
		else if (!streq(cases[i].profile, "codex") && !streq(cases[i].profile, "opencode"))
			assert_int_equal(strv_length(creds), 0);
	}
	char **h = NULL, **c = NULL;
	assert_int_equal(net_policy_resolve(p, "nope", &h, &c), -ENOENT);
	assert_null(h);
	_cleanup_strv_free_ char **g = NULL;
	assert_int_equal(net_policy_group_hosts(p, "sigstore", &g), 0);
	assert_true(strv_contains(g, "tuf-repo-cdn.sigstore.dev"));
}

static void test_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{",
	    "[]",
	    "{\"groups\":{},\"profiles\":{},\"extra\":1}",
	    "{\"groups\":{}}",
	    "{\"groups\":{\"a\":{\"hosts\":[\"x.com\"],\"bogus\":1}},\"profiles\":{}}",
	    "{\"groups\":{\"a\":{\"hosts\":[\"bad host\"]}},\"profiles\":{}}",
	    "{\"groups\":{\"a\":{\"hosts\":[1]}},\"profiles\":{}}",
	    "{\"groups\":{\"a\":{\"hosts\":[]}},\"profiles\":{\"p\":{\"groups\":[\"b\"]}}}",
	    "{\"groups\":{\"a\":{\"hosts\":[]}},\"profiles\":{\"p\":{\"groups\":[\"a\"],\"x\":1}}}",
	    "{\"groups\":{\"a\":{\"hosts\":[]},\"a\":{\"hosts\":[]}},\"profiles\":{}}",
	    "{\"groups\":{\"a\":{}},\"profiles\":{}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct net_policy *p = NULL;
		struct diag d = {};
		if (net_policy_parse(bad[i], strlen(bad[i]), "t.json", &p, &d) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_null(p);
		assert_true(d.msg[0] != '\0');
	}
	struct diag d = {};
	struct net_policy *p = NULL;
	const char *s = "{\n \"groups\": {,\n}";
	assert_int_equal(net_policy_parse(s, strlen(s), "t.json", &p, &d), -EINVAL);
	assert_int_equal(d.line, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
