/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/path.h"
#include "base/strv.h"
#include "policy/embedded.h"
#include "policy/expand.h"
#include "policy/groups.h"
#include "policy/json-locate.h"
#include "policy/presets.h"
#include "policy/policy.h"
#include "policy/profile.h"
#include "policy/spec.h"

/* Every test runs with HOME, TMPDIR and the cwd inside a fresh temp dir. */
static char tmproot[256];
static char home[300];
static char work[300];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *path)
{
	char buf[1024];
	(void)snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			(void)mkdir(buf, 0755);
			*p = '/';
		}
	(void)mkdir(buf, 0755);
}

/* Write HOME/.config/nono/profiles/NAME.json */
static void user_profile(const char *name, const char *text)
{
	char path[1024];
	(void)snprintf(path, sizeof(path), "%s/.config/nono/profiles", home);
	mkdirs(path);
	(void)snprintf(path, sizeof(path), "%s/.config/nono/profiles/%s.json", home, name);
	write_file(path, text);
}

static int setup(void **state)
{
	(void)state;
	(void)snprintf(tmproot, sizeof(tmproot), "/tmp/nono-policy-test.XXXXXX");
	if (!mkdtemp(tmproot))
		return -1;
	/* canonical: /tmp might be a symlink */
	char *real = realpath(tmproot, NULL);
	if (!real)
		return -1;
	(void)snprintf(tmproot, sizeof(tmproot), "%s", real);
	free(real);
	(void)snprintf(home, sizeof(home), "%s/home", tmproot);
	(void)snprintf(work, sizeof(work), "%s/work", tmproot);
	mkdirs(home);
	mkdirs(work);
	setenv("HOME", home, 1);
	unsetenv("TMPDIR");
	return chdir(work);
}

static int teardown(void **state)
{
	(void)state;
	if (chdir("/") < 0)
		return -1;
	return nftw(tmproot, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static struct policy_input input_default(void)
{
	struct policy_input in;
	policy_input_init(&in);
	return in;
}

static bool has_grant(const struct sandbox_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_grants; i++)
		if (streq(s->grants[i].path, path))
			return true;
	return false;
}

/* The grant for path; fails the test when there is none. */
static const struct fs_grant *find_grant(const struct sandbox_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_grants; i++)
		if (streq(s->grants[i].path, path))
			return &s->grants[i];
	fail_msg("no grant for '%s'", path);
	abort();
}

static bool has_deny(const struct sandbox_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_denies; i++)
		if (streq(s->denies[i].path, path))
			return true;
	return false;
}

static const struct fs_deny *find_deny(const struct sandbox_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_denies; i++)
		if (streq(s->denies[i].path, path))
			return &s->denies[i];
	fail_msg("no deny for '%s'", path);
	abort();
}

static int parse_text(const char *text, struct profile **ret, struct diag *d)
{
	_cleanup_(policy_groups_freep) struct policy_groups *g = NULL;
	assert_int_equal(policy_groups_load(&g, d), 0);
	return profile_parse(text, strlen(text), "t.json", "t", g, ret, d);
}

/* Parse text expecting failure at line:column with msg containing what. */
static void expect_parse_error(const char *text, int line, int column, const char *what)
{
	_cleanup_profile_ struct profile *p = NULL;
	struct diag d = {0};
	char buf[2048];
	assert_int_not_equal(parse_text(text, &p, &d), 0);
	assert_null(p);
	diag_format(&d, buf, sizeof(buf));
	if (d.line != line || d.column != column || !strstr(d.msg, what))
		fail_msg("got \"%s\", want %d:%d with \"%s\"", buf, line, column, what);
	assert_string_equal(d.file, "t.json");
}

/* ---- embedded data and groups ---- */

static void test_embedded(void **state)
{
	(void)state;
	size_t n = 0;
	EMBEDDED_FOREACH(f)
	n++;
	assert_true(n >= 11);
	const struct embedded_file *f = embedded_find("profiles/default.json");
	assert_non_null(f);
	assert_int_equal(strlen(f->data), f->size);
	assert_null(embedded_find("profiles/nope.json"));
	assert_null(embedded_find(NULL));
}

static void test_groups(void **state)
{
	(void)state;
	_cleanup_(policy_groups_freep) struct policy_groups *g = NULL;
	struct diag d = {0};
	assert_int_equal(policy_groups_load(&g, &d), 0);
	const struct policy_group *cred = policy_groups_find(g, "deny_credentials");
	assert_non_null(cred);
	assert_true(cred->required);
	bool ssh = false;
	for (size_t i = 0; i < cred->n_denies; i++)
		ssh = ssh || streq(cred->denies[i].path, "~/.ssh");
	assert_true(ssh);
	const struct policy_group *sys = policy_groups_find(g, "system_read_linux");
	assert_non_null(sys);
	assert_int_equal(sys->platform, PLATFORM_LINUX);
	assert_true(strv_contains(sys->fs[FS_LIST_READ], "/usr"));
	const struct policy_group *mac = policy_groups_find(g, "deny_keychains_macos");
	assert_non_null(mac);
	assert_false(policy_group_applies(mac));
	assert_false(policy_groups_find(g, "deny_shell_configs")->required);
	const struct policy_group *dc = policy_groups_find(g, "dangerous_commands");
	assert_true(strv_contains(dc->commands, "rm"));
}

/* The embedded groups are parsed once and shared: each reference frees on its own. */
static void test_groups_load_shared(void **state)
{
	(void)state;
	struct policy_groups *a = NULL, *b = NULL;
	struct diag d = {0};
	assert_int_equal(policy_groups_load(&a, &d), 0);
	assert_int_equal(policy_groups_load(&b, &d), 0);
	assert_ptr_equal(a, b);
	a = policy_groups_free(a);
	assert_non_null(policy_groups_find(b, "deny_credentials"));
	b = policy_groups_free(b);
	assert_int_equal(policy_groups_load(&a, &d), 0);
	assert_non_null(policy_groups_find(a, "deny_credentials"));
	policy_groups_free(a);
}

static void assert_strv_same(char **a, char **b)
{
	assert_true((a == NULL) == (b == NULL));
	for (size_t i = 0; a && (a[i] || b[i]); i++) {
		assert_non_null(a[i]);
		assert_non_null(b[i]);
		assert_string_equal(a[i], b[i]);
	}
}

/* What policy_groups_load() hands out (build-time data, policy-gen.c) equals a fresh
 * parse of the embedded policy.json, field by field. */
static void test_groups_load_equals_parse(void **state)
{
	(void)state;
	_cleanup_(policy_groups_freep) struct policy_groups *built = NULL, *parsed = NULL;
	struct diag d = {0};
	const struct embedded_file *f = embedded_find("policy.json");
	assert_non_null(f);
	assert_int_equal(policy_groups_load(&built, &d), 0);
	assert_int_equal(policy_groups_parse(f->data, f->size, "policy.json", &parsed, &d), 0);
	assert_int_equal(built->n, parsed->n);
	assert_true(parsed->n > 0);
	for (size_t i = 0; i < parsed->n; i++) {
		const struct policy_group *a = &built->groups[i], *b = &parsed->groups[i];
		assert_string_equal(a->name, b->name);
		assert_string_equal(a->description, b->description);
		assert_int_equal(a->platform, b->platform);
		assert_int_equal(a->required, b->required);
		for (unsigned l = 0; l < _FS_LIST_MAX; l++)
			assert_strv_same(a->fs[l], b->fs[l]);
		assert_strv_same(a->commands, b->commands);
		assert_true((a->denies == NULL) == (b->denies == NULL));
		assert_int_equal(a->n_denies, b->n_denies);
		for (size_t k = 0; k < b->n_denies; k++) {
			assert_string_equal(a->denies[k].path, b->denies[k].path);
			assert_string_equal(a->denies[k].category, b->denies[k].category);
		}
	}
}

static void test_groups_bad(void **state)
{
	(void)state;
	struct policy_groups *g = NULL;
	struct diag d = {0};
	static const char text[] = "{\"version\": 1, \"groups\": {\n"
				   "  \"x\": {\"description\": \"d\", \"platform\": \"beos\"}}}";
	assert_int_equal(policy_groups_parse(text, strlen(text), "p.json", &g, &d), -EINVAL);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.column, 41);
	assert_non_null(strstr(d.msg, "unknown platform 'beos'"));
	static const char text2[] = "{\"version\": 2}";
	assert_int_equal(policy_groups_parse(text2, strlen(text2), "p.json", &g, &d), -EINVAL);
	assert_null(g);
}

/* ---- locator ---- */

static void test_locate(void **state)
{
	(void)state;
	static const char text[] = "{\n"
				   "  \"a\": [1, {\"b~/c\": \"x\"}],\n"
				   "  \"\\u00e9t\\u00e9\": \"\xc3\xa9\xc3\xa9\", \"n\": true\n"
				   "}";
	int line, col;
	assert_int_equal(json_locate(text, strlen(text), "", false, &line, &col), 0);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	assert_int_equal(json_locate(text, strlen(text), "/a", true, &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 3);
	assert_int_equal(json_locate(text, strlen(text), "/a/1/b~0~1c", false, &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 21);
	assert_int_equal(json_locate(text, strlen(text), "/a/1/b~0~1c", true, &line, &col), 0);
	assert_int_equal(col, 13);
	/* escaped key matches its decoded form; columns count characters, not bytes */
	assert_int_equal(json_locate(text, strlen(text), "/\xc3\xa9t\xc3\xa9", false, &line, &col),
			 0);
	assert_int_equal(line, 3);
	assert_int_equal(col, 20);
	assert_int_equal(json_locate(text, strlen(text), "/n", true, &line, &col), 0);
	assert_int_equal(col, 26);
	assert_int_equal(json_locate(text, strlen(text), "/missing", false, &line, &col), -ENOENT);
	assert_int_equal(json_locate(text, strlen(text), "/a/7", false, &line, &col), -ENOENT);
	assert_int_equal(json_locate(text, strlen(text), "/a/x", false, &line, &col), -ENOENT);
	assert_int_equal(json_locate("{\"a\": [", 7, "/a/0", false, &line, &col), -EINVAL);
	assert_int_equal(json_locate(text, strlen(text), "a", false, &line, &col), -EINVAL);
}

/* ---- parsing ---- */

static void test_parse_good(void **state)
{
	(void)state;
	static const char text[] =
	    "{\"extends\": \"default\",\n"
	    " \"meta\": {\"name\": \"my-agent\", \"version\": \"1.0.0\", \"description\": \"d\"},\n"
	    " \"security\": {\"groups\": [\"python_runtime\"], \"allow_gpu\": true},\n"
	    " \"workdir\": {\"access\": \"readwrite\"},\n"
	    " \"filesystem\": {\"allow\": [\"~/.local/share/my-agent\"], \"read\": "
	    "[\"$HOME/.cfg\"],\n"
	    "                \"write_file\": [\"${TMPDIR}/x\"]},\n"
	    " \"policy\": {\"exclude_groups\": [\"deny_shell_configs\"], \"override_deny\": "
	    "[\"~/.bashrc\"]},\n"
	    " \"network\": {\"network_profile\": \"developer\", \"allow_domain\": "
	    "[\"a.example\"],\n"
	    "   \"open_port\": [3000, 3000], \"proxy_port\": 19999,\n"
	    "   \"custom_credentials\": {\"gitlab\": {\"upstream\": "
	    "\"https://gitlab.example.com\",\n"
	    "     \"credential_key\": \"gitlab_token\",\n"
	    "     \"endpoint_rules\": [{\"method\": \"GET\", \"path\": \"/api/v4/**\"}]}}},\n"
	    " \"commands\": {\"allow\": [\"rm\"]},\n"
	    " \"env_credentials\": {\"openai_api_key\": \"OPENAI_API_KEY\"}\n"
	    "}";
	_cleanup_profile_ struct profile *p = NULL;
	struct diag d = {0};
	assert_int_equal(parse_text(text, &p, &d), 0);
	assert_string_equal(p->name, "my-agent");
	assert_string_equal(p->extends, "default");
	assert_int_equal(p->allow_gpu, 1);
	assert_int_equal(p->capability_elevation, -1);
	assert_int_equal(p->workdir_access, FS_RW);
	assert_string_equal(p->fs[FS_LIST_ALLOW][0], "~/.local/share/my-agent");
	assert_string_equal(p->fs[FS_LIST_WRITE_FILE][0], "${TMPDIR}/x");
	assert_int_equal(p->n_open_ports, 1);
	assert_int_equal(p->proxy_port, 19999);
	assert_int_equal(p->n_custom_credentials, 1);
	assert_string_equal(p->custom_credentials[0].rules[0].path, "/api/v4/**");
	assert_string_equal(p->env_credentials[1], "OPENAI_API_KEY");

	/* list form of env_credentials */
	_cleanup_profile_ struct profile *q = NULL;
	assert_int_equal(
	    parse_text("{\"env_credentials\": [\"openai_api_key\", \"op://v/i=TOK\"]}", &q, &d), 0);
	assert_string_equal(q->env_credentials[1], "OPENAI_API_KEY");
	assert_string_equal(q->env_credentials[2], "op://v/i");
	assert_string_equal(q->env_credentials[3], "TOK");
	assert_string_equal(q->name, "t");
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("{\n  \"meta\": {\"name\": \"x\"},\n  \"filesystem\": {\n    \"alow\": "
			   "[\"/tmp\"]\n  }\n}",
			   4, 5, "unknown key 'alow' in filesystem; expected one of: allow, read");
	expect_parse_error("{\"network\": {\n  \"block\": \"yes\"}}", 2, 12,
			   "'network/block' must be true or false, not a string");
	expect_parse_error("{\"filesystem\": {\"read\": [\"/a\",\n 7]}}", 2, 2,
			   "'filesystem/read/1' must be a string, not an integer");
	expect_parse_error("{\"filesystem\": []}", 1, 16,
			   "'filesystem' must be an object, not an array");
	expect_parse_error("{\"meta\": {\"name\": \"a\"},\n \"meta\": {}}", 2, 7,
			   "duplicate object key");
	expect_parse_error("{\"meta\": {\"name\": \"a\",}}", 1, 23, "invalid JSON");
	expect_parse_error("[1]", 1, 1, "expected a JSON object at the top, not an array");
	expect_parse_error("{\"bogus\": 1}", 1, 2, "unknown key 'bogus' in the top level");
	expect_parse_error("{\"security\": {\"groups\": [\"deny_credentials\", \"nope\"]}}", 1, 46,
			   "unknown policy group 'nope'");
	expect_parse_error("{\"policy\": {\n  \"exclude_groups\": [\"deny_credentials\"]}}", 2, 22,
			   "group 'deny_credentials' is required and cannot be excluded");
	expect_parse_error("{\"filesystem\": {\"read\": [\n  \"$HOME/ok\", \"$FOO/x\"]}}", 2, 15,
			   "bad path '$FOO/x' in 'filesystem/read': unknown variable");
	expect_parse_error("{\"filesystem\": {\"read\": [\"~bob/x\"]}}", 1, 26,
			   "'~user' is not supported");
	expect_parse_error("{\"workdir\": {\"access\": \"all\"}}", 1, 24,
			   "bad workdir access 'all'");
	expect_parse_error("{\"network\": {\"open_port\": [0]}}", 1, 28, "port '0'");
	expect_parse_error(
	    "{\"network\": {\"custom_credentials\": {\"x\": {\"upstream\": \"http://a\", "
	    "\"credential_key\": \"k\"}}}}",
	    1, 55, "must be an https://host[:port][/path] URL");
	expect_parse_error(
	    "{\"network\": {\"custom_credentials\": {\"x\": {\"upstream\": \"https://a\", "
	    "\"credential_key\": \"k\", \"endpoint_rules\": [{\"method\": \"GET\", \"path\": "
	    "\"/a/../b\"}]}}}}",
	    1, 136, "bad endpoint path '/a/../b'");
	expect_parse_error(
	    "{\"network\": {\"custom_credentials\": {\"x\": {\"upstream\": \"https://a\", "
	    "\"credential_key\": \"k\", \"inject_header\": \"a b\"}}}}",
	    1, 108, "bad HTTP header name 'a b'");
	expect_parse_error(
	    "{\"network\": {\"custom_credentials\": {\"x\": {\"upstream\": \"https://a\", "
	    "\"credential_key\": \"k\", \"endpoint_rules\": [{\"method\": \"get\", \"path\": "
	    "\"/\"}]}}}}",
	    1, 121, "bad HTTP method 'get'");
	expect_parse_error("{\"env_credentials\": 3}", 1, 21,
			   "must be an object {REF: VAR} or an array");
	expect_parse_error("{\"extends\": \"\"}", 1, 13, "'extends' must not be empty");
}

static void test_parse_size_bound(void **state)
{
	(void)state;
	size_t n = PROFILE_MAX_SIZE + 1;
	_cleanup_free_ char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = 0;
	struct profile *p = NULL;
	struct diag d = {0};
	assert_int_equal(profile_parse(big, n, "big.json", NULL, NULL, &p, &d), -EFBIG);
	/* and through the file loader */
	char path[512];
	(void)snprintf(path, sizeof(path), "%s/big.json", work);
	write_file(path, big);
	assert_int_equal(profile_load(path, &p, &d), -EFBIG);
	assert_non_null(strstr(d.msg, "larger than"));
}

/* ---- lookup and extends ---- */

static void test_extends_chain(void **state)
{
	(void)state;
	user_profile("base",
		     "{\"extends\": \"default\", \"filesystem\": {\"read\": [\"/a\"]},"
		     " \"network\": {\"block\": true}, \"workdir\": {\"access\": \"write\"}}");
	user_profile(
	    "leaf",
	    "{\"extends\": \"base\", \"meta\": {\"name\": \"leaf\"},"
	    " \"filesystem\": {\"read\": [\"/b\", \"/a\"]}, \"network\": {\"block\": false}}");
	_cleanup_profile_ struct profile *p = NULL;
	struct diag d = {0};
	assert_int_equal(profile_load_merged("leaf", &p, &d), 0);
	assert_string_equal(p->name, "leaf");
	assert_int_equal(strv_length(p->fs[FS_LIST_READ]), 2);
	assert_string_equal(p->fs[FS_LIST_READ][0], "/a");
	assert_string_equal(p->fs[FS_LIST_READ][1], "/b");
	assert_int_equal(p->net_block, 0);
	assert_int_equal(p->workdir_access, FS_WRITE);
	assert_true(strv_contains(p->groups, "deny_credentials"));
	assert_false(p->builtin);

	/* a path works too, relative extends is against the file's directory */
	char path[512];
	(void)snprintf(path, sizeof(path), "%s/p1.json", work);
	write_file(path, "{\"extends\": \"./p2.json\"}");
	(void)snprintf(path, sizeof(path), "%s/p2.json", work);
	write_file(path, "{\"meta\": {\"name\": \"p2\"}, \"filesystem\": {\"allow\": [\"/x\"]}}");
	_cleanup_profile_ struct profile *q = NULL;
	assert_int_equal(profile_load_merged("p1.json", &q, &d), 0);
	assert_string_equal(q->fs[FS_LIST_ALLOW][0], "/x");
	assert_string_equal(q->name, "p1");

	_cleanup_profile_ struct profile *r = NULL;
	user_profile("orphan", "{\n\"extends\": \"missing-one\"}");
	assert_int_equal(profile_load_merged("orphan", &r, &d), -ENOENT);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.column, 12);
	assert_non_null(strstr(d.msg, "extends 'missing-one', which is not found"));
	assert_int_equal(profile_load_merged("no-such-profile", &r, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "profile 'no-such-profile' not found"));
	assert_int_equal(profile_load_merged("../etc", &r, &d), -ENOENT);
	assert_int_equal(profile_load_merged("bad name", &r, &d), -EINVAL);
}

static void test_extends_cycle_depth(void **state)
{
	(void)state;
	user_profile("a", "{\"extends\": \"b\"}");
	user_profile("b", "{\"extends\": \"c\"}");
	user_profile("c", "{\"extends\": \"a\"}");
	_cleanup_profile_ struct profile *p = NULL;
	struct diag d = {0};
	assert_int_equal(profile_load_merged("a", &p, &d), -ELOOP);
	assert_non_null(strstr(d.msg, "cycle: 'a' -> 'b' -> 'c' -> 'a'"));
	assert_int_equal(d.line, 1);
	assert_int_equal(d.column, 13);

	/* 17 profiles: d0 extends d1 ... d16 */
	for (int i = 0; i <= PROFILE_MAX_DEPTH; i++) {
		char name[16], text[64];
		(void)snprintf(name, sizeof(name), "d%d", i);
		if (i < PROFILE_MAX_DEPTH)
			(void)snprintf(text, sizeof(text), "{\"extends\": \"d%d\"}", i + 1);
		else
			(void)snprintf(text, sizeof(text), "{}");
		user_profile(name, text);
	}
	assert_int_equal(profile_load_merged("d0", &p, &d), -ELOOP);
	assert_non_null(strstr(d.msg, "deeper than 16 levels"));
	/* 16 is fine */
	assert_int_equal(profile_load_merged("d1", &p, &d), 0);
}

static void test_user_overrides_builtin(void **state)
{
	(void)state;
	user_profile("codex", "{\"meta\": {\"name\": \"codex\", \"description\": \"mine\"}}");
	user_profile("default",
		     "{\"extends\": \"default\", \"filesystem\": {\"read\": [\"/mine\"]}}");
	_cleanup_profile_ struct profile *p = NULL, *q = NULL;
	struct diag d = {0};
	assert_int_equal(profile_load_merged("codex", &p, &d), 0);
	assert_string_equal(p->meta_description, "mine");
	assert_null(p->groups);
	/* a user profile extending its own name gets the built-in */
	assert_int_equal(profile_load_merged("default", &q, &d), 0);
	assert_true(strv_contains(q->groups, "deny_credentials"));
	assert_true(strv_contains(q->fs[FS_LIST_READ], "/mine"));

	struct profile_info *list = NULL;
	size_t n = 0;
	assert_int_equal(profile_list(&list, &n), 0);
	bool builtin_codex = false, user_codex = false;
	for (size_t i = 0; i < n; i++) {
		if (streq(list[i].name, "codex") && list[i].builtin)
			builtin_codex = streq(list[i].description, "OpenAI Codex CLI agent");
		if (streq(list[i].name, "codex") && !list[i].builtin)
			user_codex = list[i].overrides_builtin && list[i].valid;
	}
	assert_true(builtin_codex);
	assert_true(user_codex);
	profile_info_free(list, n);
}

/* ---- expansion ---- */

static void test_expand(void **state)
{
	(void)state;
	struct expand_vars v;
	setenv("TMPDIR", "/var/tmp", 1);
	assert_int_equal(expand_vars_init(&v, "/w"), 0);
	static const char *const cases[][2] = {
	    {"~", "HOME"},
	    {"~/x", "HOME/x"},
	    {"$HOME/.a", "HOME/.a"},
	    {"${HOME}x", "HOMEx"},
	    {"$WORKDIR/src", "/w/src"},
	    {"$TMPDIR/t-$UID", "/var/tmp/t-UID"},
	    {"/plain/~x", "/plain/~x"},
	};
	char uid[24];
	(void)snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *out = NULL;
		char want[1024] = "";
		const char *c = cases[i][1];
		/* substitute HOME / UID placeholders */
		for (size_t o = 0; *c;) {
			if (startswith(c, "HOME")) {
				o += (size_t)snprintf(want + o, sizeof(want) - o, "%s", home);
				c += 4;
			} else if (startswith(c, "UID")) {
				o += (size_t)snprintf(want + o, sizeof(want) - o, "%s", uid);
				c += 3;
			} else {
				want[o++] = *c++;
				want[o] = 0;
			}
		}
		assert_int_equal(expand_path(cases[i][0], &v, &out, NULL), 0);
		assert_string_equal(out, want);
	}
	_cleanup_free_ char *out = NULL, *bad = NULL, *bad2 = NULL;
	assert_int_equal(expand_path("$HOME/$FOO/x", &v, &out, &bad), -EINVAL);
	assert_string_equal(bad, "$FOO");
	assert_int_equal(expand_path("a$", &v, &out, NULL), -EINVAL);
	assert_int_equal(expand_path("${HOME", &v, &out, NULL), -EINVAL);
	assert_int_equal(expand_path("~bob", &v, &out, &bad2), -EINVAL);
	assert_string_equal(bad2, "~bob");
	assert_null(out);
	expand_vars_done(&v);

	unsetenv("TMPDIR");
	assert_int_equal(expand_vars_init(&v, NULL), 0);
	assert_string_equal(v.tmpdir, "/tmp");
	assert_int_equal(expand_path("$WORKDIR", &v, &out, NULL), -ENOENT);
	expand_vars_done(&v);

	size_t off;
	const char *msg;
	assert_int_equal(expand_check("$HOME/${UID}/x", &off, &msg), 0);
	assert_int_equal(expand_check("/a/$NOPE", &off, &msg), -EINVAL);
	assert_int_equal(off, 3);
}

/* ---- resolve ---- */

static void test_resolve_default(void **state)
{
	(void)state;
	char ssh[512];
	(void)snprintf(ssh, sizeof(ssh), "%s/.ssh", home);
	mkdirs(ssh);
	struct policy_input in = input_default();
	in.allow_cwd = true;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	_cleanup_strv_free_ char **warnings = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, &warnings, &d), 0);
	assert_null(s->profile_name);
	assert_string_equal(s->workdir, work);
	const struct fs_grant *g = find_grant(s, work);
	assert_non_null(g);
	assert_int_equal(g->access, FS_READ); /* default workdir access is read-only */
	assert_int_equal(g->origin.kind, ORIGIN_WORKDIR);
	g = find_grant(s, "/usr");
	assert_non_null(g);
	assert_int_equal(g->origin.kind, ORIGIN_GROUP);
	assert_string_equal(g->origin.name, "system_read_linux");
	assert_true(g->exists);
	const struct fs_deny *x = find_deny(s, ssh);
	assert_non_null(x);
	assert_true(x->exists);
	assert_true(x->is_dir);
	assert_false(x->bypassed);
	assert_string_equal(x->group, "deny_credentials");
	assert_string_equal(x->category, "SSH keys and config");
	char aws[512];
	(void)snprintf(aws, sizeof(aws), "%s/.aws", home);
	x = find_deny(s, aws);
	assert_non_null(x);
	assert_false(x->exists);
	assert_true(strv_contains(s->blocked_commands, "rm"));
	assert_true(strv_contains(s->blocked_commands, "apt-get"));
	assert_false(strv_contains(s->blocked_commands, "brew"));
	assert_int_equal(s->net, NET_ALLOW);
	assert_true(s->scope_signal);
	assert_true(s->scope_abstract_unix);
	assert_string_equal(net_mode_to_string(s->net), "allow");
	assert_string_equal(origin_kind_to_string(ORIGIN_IMPLIED), "implied");
	assert_null(net_mode_to_string(_NET_MODE_MAX));
}

/* A deny path reached through a symlink keeps its name as written (protected names). */
static void test_resolve_deny_name(void **state)
{
	(void)state;
	char target[512], link[512], ssh[512];
	(void)snprintf(target, sizeof(target), "%s/dot/gnupg", home);
	(void)snprintf(link, sizeof(link), "%s/.gnupg", home);
	(void)snprintf(ssh, sizeof(ssh), "%s/.ssh", home);
	mkdirs(target);
	assert_int_equal(symlink("dot/gnupg", link), 0);
	struct policy_input in = input_default();
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	_cleanup_strv_free_ char **warnings = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, &warnings, &d), 0);
	const struct fs_deny *x = find_deny(s, target);
	assert_non_null(x);
	assert_string_equal(x->name, link);
	x = find_deny(s, ssh);
	assert_non_null(x);
	assert_null(x->name); /* no symlink on the way */
}

static void test_resolve_builtin_profiles(void **state)
{
	(void)state;
	size_t n = 0;
	EMBEDDED_FOREACH(f)
	{
		const char *rest = startswith(f->name, "profiles/");
		if (!rest)
			continue;
		char name[128];
		(void)snprintf(name, sizeof(name), "%.*s", (int)(strlen(rest) - 5), rest);
		struct policy_input in = input_default();
		in.profile = name;
		in.allow_cwd = true;
		_cleanup_spec_ struct sandbox_spec *s = NULL;
		_cleanup_strv_free_ char **warnings = NULL;
		struct diag d = {0};
		char buf[2048];
		if (policy_resolve(&in, &s, &warnings, &d) < 0)
			fail_msg("profile %s: %s", name, diag_format(&d, buf, sizeof(buf)));
		assert_string_equal(s->profile_name, name);
		assert_true(has_grant(s, "/usr"));
		assert_true(s->n_denies > 20);
		assert_true(has_grant(s, work));
		n++;
	}
	assert_int_equal(n, 11); /* the ten of the spec plus gemini */

	struct policy_input in = input_default();
	in.profile = "claude-code";
	in.allow_cwd = true;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(find_grant(s, work)->access, FS_RW);
	assert_int_equal(s->net, NET_PROXY);
	assert_string_equal(s->proxy.network_profile, "claude-code");
	char claude[512];
	(void)snprintf(claude, sizeof(claude), "%s/.claude.json", home);
	const struct fs_grant *g = find_grant(s, claude);
	assert_non_null(g);
	assert_true(g->is_file);
	assert_false(g->exists);
	assert_int_equal(g->origin.kind, ORIGIN_PROFILE);
	assert_string_equal(g->origin.name, "claude-code");
}

static void test_resolve_cli_paths(void **state)
{
	(void)state;
	mkdirs("sub/dir");
	assert_int_equal(symlink("sub/dir", "link"), 0);
	write_file("sub/file.txt", "x");
	struct input_grant grants[] = {
	    {"link", FS_READ, false, ORIGIN_CLI, "--read"},
	    {"./sub/file.txt", FS_RW, false, ORIGIN_CLI, "--allow"},
	    {"$WORKDIR/sub/new.log", FS_WRITE, true, ORIGIN_ENV, "NONO_WRITE_FILE"},
	};
	struct policy_input in = input_default();
	in.grants = grants;
	in.n_grants = ARRAY_SIZE(grants);
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	_cleanup_strv_free_ char **warnings = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, &warnings, &d), 0);
	char want[512];
	(void)snprintf(want, sizeof(want), "%s/sub/dir", work);
	const struct fs_grant *g = find_grant(s, want);
	assert_non_null(g);
	assert_string_equal(g->origin.name, "--read");
	assert_false(g->is_file);
	(void)snprintf(want, sizeof(want), "%s/sub/file.txt", work);
	g = find_grant(s, want);
	assert_non_null(g);
	assert_true(g->is_file); /* a directory flag on a file grants just the file */
	(void)snprintf(want, sizeof(want), "%s/sub/new.log", work);
	g = find_grant(s, want);
	assert_non_null(g);
	assert_false(g->exists);
	assert_int_equal(g->origin.kind, ORIGIN_ENV);
	assert_non_null(warnings);
	assert_non_null(strstr(warnings[0], "does not exist yet"));

	/* a missing path is an error naming the flag and the path */
	struct input_grant missing[] = {{"./nope", FS_READ, false, ORIGIN_CLI, "--read"}};
	in.grants = missing;
	in.n_grants = 1;
	_cleanup_spec_ struct sandbox_spec *s2 = NULL;
	char buf[2048];
	assert_int_equal(policy_resolve(&in, &s2, NULL, &d), -ENOENT);
	assert_string_equal(
	    diag_format(&d, buf, sizeof(buf)),
	    "--read: path './nope' does not exist; create it first or fix the path");
	struct input_grant isdir[] = {{"sub", FS_READ, true, ORIGIN_CLI, "--read-file"}};
	in.grants = isdir;
	assert_int_equal(policy_resolve(&in, &s2, NULL, &d), -EISDIR);
	struct input_grant badvar[] = {{"$NOPE/x", FS_READ, false, ORIGIN_CLI, "--read"}};
	in.grants = badvar;
	assert_int_equal(policy_resolve(&in, &s2, NULL, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown variable '$NOPE'"));
	assert_string_equal(d.file, "--read");
	assert_null(s2);
}

static void test_resolve_bypass(void **state)
{
	(void)state;
	char aws[512];
	(void)snprintf(aws, sizeof(aws), "%s/.aws", home);
	mkdirs(aws);
	char *bypass[] = {(char *)"~/.aws", NULL};
	struct policy_input in = input_default();
	in.bypass = bypass;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	_cleanup_strv_free_ char **warnings = NULL;
	struct diag d = {0};
	char buf[2048];
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EPERM);
	assert_string_equal(
	    diag_format(&d, buf, sizeof(buf)),
	    "--bypass-protection: --bypass-protection '~/.aws' needs a matching grant "
	    "(--allow, --read, --write or a --*-file flag)");

	struct input_grant grants[] = {{"~/.aws", FS_READ, false, ORIGIN_CLI, "--read"}};
	in.grants = grants;
	in.n_grants = 1;
	assert_int_equal(policy_resolve(&in, &s, &warnings, &d), 0);
	const struct fs_deny *x = find_deny(s, aws);
	assert_non_null(x);
	assert_true(x->bypassed);
	char ssh[512];
	(void)snprintf(ssh, sizeof(ssh), "%s/.ssh", home);
	assert_false(find_deny(s, ssh)->bypassed);
	assert_non_null(strstr(warnings[0], "bypassed by --bypass-protection"));

	/* a path inside a protected directory cannot be bypassed alone */
	char *inner[] = {(char *)"~/.aws/config", NULL};
	in.bypass = inner;
	_cleanup_spec_ struct sandbox_spec *s3 = NULL;
	assert_int_equal(policy_resolve(&in, &s3, NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "inside protected"));

	/* an explicit grant of a path a group also grants can back a bypass */
	char cargo[512];
	(void)snprintf(cargo, sizeof(cargo), "%s/.cargo", home);
	mkdirs(cargo);
	user_profile("rs", "{\"extends\": \"rust-dev\"}");
	struct input_grant cg[] = {{"~/.cargo", FS_READ, false, ORIGIN_CLI, "--read"}};
	char *cb[] = {(char *)"~/.cargo/credentials.toml", NULL};
	struct policy_input in3 = input_default();
	in3.profile = "rs";
	in3.grants = cg;
	in3.n_grants = 1;
	in3.bypass = cb;
	assert_int_equal(policy_resolve(&in3, &s3, NULL, &d), 0);
	assert_int_equal(find_grant(s3, cargo)->origin.kind, ORIGIN_CLI);
	assert_int_equal(find_grant(s3, cargo)->access, FS_RW);
	(void)snprintf(cargo, sizeof(cargo), "%s/.cargo/credentials.toml", home);
	assert_true(find_deny(s3, cargo)->bypassed);

	/* the profile form: override_deny needs a grant in the profile */
	user_profile(
	    "od", "{\"extends\": \"default\", \"policy\": {\"override_deny\": [\"~/.bashrc\"]}}");
	struct policy_input in2 = input_default();
	in2.profile = "od";
	_cleanup_spec_ struct sandbox_spec *s2 = NULL;
	assert_int_equal(policy_resolve(&in2, &s2, NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "override_deny '~/.bashrc' needs a matching grant"));
	user_profile("od",
		     "{\"extends\": \"default\", \"policy\": {\"override_deny\": [\"~/.bashrc\"]},"
		     " \"filesystem\": {\"read_file\": [\"~/.bashrc\"]}}");
	assert_int_equal(policy_resolve(&in2, &s2, NULL, &d), 0);
	char rc[512];
	(void)snprintf(rc, sizeof(rc), "%s/.bashrc", home);
	assert_true(find_deny(s2, rc)->bypassed);
}

static void test_resolve_exclude_and_deny(void **state)
{
	(void)state;
	user_profile(
	    "ex",
	    "{\"extends\": \"default\", \"policy\": {\"exclude_groups\": [\"deny_shell_configs\","
	    " \"dangerous_commands\"], \"add_deny_access\": [\"$WORKDIR/secret\"]},"
	    " \"commands\": {\"block\": [\"curl\"]},"
	    " \"filesystem\": {\"suppress_save_prompt\": [\"~/.copilot/settings.json\"]}}");
	struct policy_input in = input_default();
	in.profile = "ex";
	char *allow_cmd[] = {(char *)"apt", NULL};
	in.allow_commands = allow_cmd;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	char rc[512];
	(void)snprintf(rc, sizeof(rc), "%s/.bashrc", home);
	assert_false(has_deny(s, rc));
	(void)snprintf(rc, sizeof(rc), "%s/secret", work);
	const struct fs_deny *x = find_deny(s, rc);
	assert_non_null(x);
	assert_string_equal(x->group, "add_deny_access");
	assert_false(strv_contains(s->blocked_commands, "rm"));
	assert_false(strv_contains(s->blocked_commands, "apt"));
	assert_true(strv_contains(s->blocked_commands, "curl"));
	assert_true(strv_contains(s->blocked_commands, "apt-get"));
	assert_true(strv_contains(s->allowed_commands, "apt"));
	char sp[512];
	(void)snprintf(sp, sizeof(sp), "%s/.copilot/settings.json", home);
	assert_true(strv_contains(s->suppress_save_prompt, sp));
}

static void test_resolve_network(void **state)
{
	(void)state;
	struct policy_input in = input_default();
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	in.block_net = 1;
	in.allow_net = 1;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "conflict"));

	in = input_default();
	char *domains[] = {(char *)"api.example.com", NULL};
	char *creds[] = {(char *)"openai", NULL};
	char *eps[] = {(char *)"openai:POST:/v1/chat/completions", NULL};
	in.allow_domains = domains;
	in.credentials = creds;
	in.allow_endpoints = eps;
	in.proxy_port = 19999;
	uint16_t open[] = {3000};
	in.open_ports = open;
	in.n_open_ports = 1;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->net, NET_PROXY);
	assert_string_equal(s->proxy.allow_domains[0], "api.example.com");
	assert_int_equal(s->proxy.n_credentials, 1);
	assert_string_equal(s->proxy.credentials[0].env_var, "OPENAI_API_KEY");
	assert_string_equal(s->proxy.credentials[0].base_url_var, "OPENAI_BASE_URL");
	assert_int_equal(s->proxy.n_endpoints, 1);
	assert_string_equal(s->proxy.endpoints[0].method, "POST");
	assert_string_equal(s->proxy.endpoints[0].path, "/v1/chat/completions");
	assert_int_equal(s->proxy.port, 19999);
	assert_int_equal(s->n_open_ports, 1);
	s = sandbox_spec_free(s);

	in.block_net = 1;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	in.block_net = -1;
	char *bad_creds[] = {(char *)"nosuch", NULL};
	in.credentials = bad_creds;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "unknown credential service 'nosuch'"));
	in.credentials = NULL;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "names service 'openai', which is not enabled"));

	/* profile: custom credential with endpoint rules; block from a profile */
	user_profile(
	    "gl",
	    "{\"network\": {\"credentials\": [\"gitlab\"], \"custom_credentials\": {\"gitlab\":"
	    " {\"upstream\": \"https://gitlab.example.com\", \"credential_key\": \"gitlab_token\","
	    " \"endpoint_rules\": [{\"method\": \"GET\", \"path\": \"/api/**\"}]}}}}");
	in = input_default();
	in.profile = "gl";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->net, NET_PROXY);
	/* Named like the preset: what it leaves unset comes from the preset. */
	assert_string_equal(s->proxy.credentials[0].env_var, "GITLAB_TOKEN");
	assert_string_equal(s->proxy.credentials[0].inject_header, "PRIVATE-TOKEN");
	assert_string_equal(s->proxy.endpoints[0].service, "gitlab");
	s = sandbox_spec_free(s);
	in.allow_net = 1;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->net, NET_ALLOW);
	s = sandbox_spec_free(s);
	user_profile("blk", "{\"network\": {\"block\": true}}");
	in = input_default();
	in.profile = "blk";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->net, NET_BLOCK);
}

/*
 * The spec comes out of policy_resolve complete: the network profile expanded into the
 * allowlist the proxy enforces, every host pattern compiled by the proxy's filter, the
 * verified files canonical, the placement decided from the features.
 */
static void test_resolve_frozen(void **state)
{
	(void)state;
	struct policy_input in = input_default();
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	const struct policy_features root = {.is_root = true, .sys_admin = true};
	const struct policy_features user_ns = {.userns = true};
	const struct policy_features user_no_ns = {0};
	const struct policy_features root_no_cap = {.is_root = true};
	char *domains[] = {(char *)"api.example.com", NULL};
	char path[1024];

	in.network_profile = "minimal";
	in.allow_domains = domains;
	in.features = &root;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_true(strv_contains(s->proxy.allow_domains, "api.openai.com"));
	assert_true(strv_contains(s->proxy.allow_domains, "api.example.com"));
	/* The profile's groups first, then the domains: the proxy's order. */
	assert_string_equal(s->proxy.allow_domains[0], "api.openai.com");
	assert_true(s->placement.decided);
	assert_true(s->placement.mountns && s->placement.pidns && s->placement.ro_root &&
		    s->placement.masks && s->placement.private_tmp);
	assert_false(s->placement.userns);
	assert_int_equal(s->placement.proxy, PROXY_PLACEMENT_NETNS);
	assert_int_equal(s->proxy.placement, PROXY_PLACEMENT_NETNS);
	assert_string_equal(s->proxy.placement_reason, "running as root");
	s = sandbox_spec_free(s);

	in.features = &user_ns;
	in.shared_tmp = true;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_true(s->placement.userns && s->placement.mountns && s->placement.pidns);
	assert_false(s->placement.private_tmp);
	assert_int_equal(s->proxy.placement, PROXY_PLACEMENT_NETNS);
	s = sandbox_spec_free(s);
	in.shared_tmp = false;

	for (int k = 0; k < 2; k++) {
		in.features = k == 0 ? &user_no_ns : &root_no_cap;
		assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
		assert_true(s->placement.decided);
		assert_false(s->placement.mountns || s->placement.pidns || s->placement.ro_root ||
			     s->placement.masks || s->placement.private_tmp ||
			     s->placement.userns);
		assert_int_equal(s->proxy.placement, PROXY_PLACEMENT_LANDLOCK);
		assert_string_equal(s->proxy.placement_reason,
				    k == 0 ? "user namespaces are unavailable for this user"
					   : "running as root without CAP_SYS_ADMIN");
		s = sandbox_spec_free(s);
	}

	/* Without features (policy show, learn): nothing decided; still expanded. */
	in.features = NULL;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_false(s->placement.decided);
	assert_int_equal(s->proxy.placement, PROXY_PLACEMENT_UNDECIDED);
	assert_true(strv_contains(s->proxy.allow_domains, "api.anthropic.com"));
	s = sandbox_spec_free(s);

	/* Not proxy mode: the placement is decided, the proxy's is not. */
	in = input_default();
	in.features = &root;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->placement.proxy, PROXY_PLACEMENT_NETNS);
	assert_int_equal(s->proxy.placement, PROXY_PLACEMENT_UNDECIDED);
	s = sandbox_spec_free(s);

	/* A write grant of / leaves nothing read-only. */
	struct input_grant g = {.path = "/", .access = FS_RW, .kind = ORIGIN_CLI, .flag = "--allow"};
	in.grants = &g;
	in.n_grants = 1;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_true(s->placement.mountns);
	assert_false(s->placement.ro_root);
	s = sandbox_spec_free(s);

	/* Verified instruction files come out canonical. */
	in = input_default();
	(void)snprintf(path, sizeof(path), "%s/AGENTS.md", home);
	write_file(path, "x");
	(void)snprintf(path, sizeof(path), "%s/./AGENTS.md", home);
	char *ro[] = {path, NULL};
	in.readonly_files = ro;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(strv_length(s->readonly_files), 1);
	assert_null(strstr(s->readonly_files[0], "/./"));
	s = sandbox_spec_free(s);

	/* Bad host patterns: refused by resolve, naming where, with the proxy's verdict. */
	in = input_default();
	user_profile("badhost", "{\"network\": {\"allow_domain\": [\"ok.example.com\", "
				"\"exa mple.com\"]}}");
	in.profile = "badhost";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	assert_string_equal(d.msg,
			    "invalid host pattern 'exa mple.com' in network.allow_domain of "
			    "profile 'badhost'");
	assert_non_null(strstr(d.file, "badhost.json"));
	in = input_default();
	char *bad[] = {(char *)"good.example", (char *)"*.*.example", NULL};
	in.allow_domains = bad;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	assert_string_equal(d.file, "--allow-domain");
	assert_string_equal(d.msg, "invalid host pattern '*.*.example'");
	in = input_default();
	in.network_profile = "nosuch";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -ENOENT);
	assert_string_equal(d.file, "--network-profile");
	assert_non_null(strstr(d.msg, "unknown network profile 'nosuch' (available: "));
}

/* The preset table against what the clients read (see resolve.c). */
static void test_resolve_presets(void **state)
{
	(void)state;
	static const struct {
		const char *name, *upstream, *header, *format, *env, *base;
	} want[] = {
	    {"openai", "https://api.openai.com/v1", "Authorization", "Bearer {}", "OPENAI_API_KEY",
	     "OPENAI_BASE_URL"},
	    {"anthropic", "https://api.anthropic.com/v1", "x-api-key", "{}", "ANTHROPIC_API_KEY",
	     "ANTHROPIC_BASE_URL"},
	    {"gemini", "https://generativelanguage.googleapis.com", "x-goog-api-key", "{}",
	     "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"},
	    {"google-ai", "https://generativelanguage.googleapis.com", "x-goog-api-key", "{}",
	     "GOOGLE_API_KEY", "GOOGLE_AI_BASE_URL"},
	    {"github", "https://api.github.com", "Authorization", "Bearer {}", "GITHUB_TOKEN",
	     "GITHUB_BASE_URL"},
	    {"gitlab", "https://gitlab.com", "PRIVATE-TOKEN", "{}", "GITLAB_TOKEN",
	     "GITLAB_BASE_URL"},
	};
	struct diag d = {0};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_spec_ struct sandbox_spec *s = NULL;
		struct policy_input in = input_default();
		char *creds[] = {(char *)want[i].name, NULL};
		in.credentials = creds;
		assert_true(policy_credential_is_preset(want[i].name));
		assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
		assert_int_equal(s->proxy.n_credentials, 1);
		const struct credential_spec *c = &s->proxy.credentials[0];
		assert_string_equal(c->upstream, want[i].upstream);
		assert_string_equal(c->inject_header, want[i].header);
		assert_string_equal(c->format, want[i].format);
		assert_string_equal(c->env_var, want[i].env);
		assert_string_equal(c->base_url_var, want[i].base);
	}
	assert_false(policy_credential_is_preset("nosuch"));
}

/* --credential SERVICE=SOURCE, in profiles too; a custom entry named like a preset. */
static void test_resolve_credential_source(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	struct policy_input in = input_default();
	char *c1[] = {(char *)"anthropic=env://MY_KEY", (char *)"openai=file:///k",
		      (char *)"github=my-gh-account", NULL};
	in.credentials = c1;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->proxy.n_credentials, 3);
	assert_string_equal(s->proxy.credentials[0].name, "anthropic");
	assert_string_equal(s->proxy.credentials[0].credential_key, "env://MY_KEY");
	assert_string_equal(s->proxy.credentials[0].inject_header, "x-api-key");
	assert_string_equal(s->proxy.credentials[1].credential_key, "file:///k");
	assert_string_equal(s->proxy.credentials[2].credential_key, "my-gh-account");
	s = sandbox_spec_free(s);

	/* Malformed: empty service or source, blanks. */
	static const char *const bad[] = {"=env://X", "anthropic=", "anthropic=a b",
					  "anthropic=a\tb"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *cb[] = {(char *)bad[i], NULL};
		in.credentials = cb;
		assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
		assert_non_null(strstr(d.msg, "use SERVICE or SERVICE=SOURCE"));
	}
	char *unk[] = {(char *)"nosuch=env://X", NULL};
	in.credentials = unk;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -ENOENT);

	/* The command line overrides the source of a service the profile enabled, in either
	 * form; the profile's own NAME=SOURCE works too. */
	user_profile("src", "{\"network\": {\"credentials\": [\"anthropic\", "
			    "\"gemini=op://v/i/f\"]}}");
	in = input_default();
	in.profile = "src";
	char *c2[] = {(char *)"anthropic=env://CLI_KEY", (char *)"gemini", NULL};
	in.credentials = c2;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->proxy.n_credentials, 2);
	assert_string_equal(s->proxy.credentials[0].credential_key, "env://CLI_KEY");
	assert_string_equal(s->proxy.credentials[1].credential_key, "op://v/i/f");
	s = sandbox_spec_free(s);

	/* A custom entry named like a preset keeps the preset's header, format, variables. */
	user_profile("inh", "{\"network\": {\"credentials\": [\"anthropic\"], "
			    "\"custom_credentials\": {\"anthropic\": {\"upstream\": "
			    "\"https://llm.corp.example/anthropic\"}}}}");
	in = input_default();
	in.profile = "inh";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	const struct credential_spec *c = &s->proxy.credentials[0];
	assert_string_equal(c->upstream, "https://llm.corp.example/anthropic");
	assert_string_equal(c->credential_key, "anthropic_api_key");
	assert_string_equal(c->inject_header, "x-api-key");
	assert_string_equal(c->format, "{}");
	assert_string_equal(c->env_var, "ANTHROPIC_API_KEY");
	assert_string_equal(c->base_url_var, "ANTHROPIC_BASE_URL");
	s = sandbox_spec_free(s);
	user_profile("inh2", "{\"network\": {\"credentials\": [\"openai\"], "
			     "\"custom_credentials\": {\"openai\": {\"credential_key\": "
			     "\"env://K\", \"inject_header\": \"api-key\", "
			     "\"credential_format\": \"{}\"}}}}");
	in.profile = "inh2";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	c = &s->proxy.credentials[0];
	assert_string_equal(c->upstream, "https://api.openai.com/v1");
	assert_string_equal(c->credential_key, "env://K");
	assert_string_equal(c->inject_header, "api-key");
	assert_string_equal(c->env_var, "OPENAI_API_KEY");
	s = sandbox_spec_free(s);
	/* A network profile's bundled credential is enabled, optional; named on the command
	 * line it is not optional. */
	in = input_default();
	in.network_profile = "codex";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->proxy.n_credentials, 1);
	assert_string_equal(s->proxy.credentials[0].name, "openai");
	assert_true(s->proxy.credentials[0].optional);
	sandbox_spec_drop_credential(s, 0);
	assert_int_equal(s->proxy.n_credentials, 0);
	s = sandbox_spec_free(s);
	char *c3[] = {(char *)"openai=env://K", NULL};
	in.credentials = c3;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->proxy.n_credentials, 1);
	assert_false(s->proxy.credentials[0].optional);
	assert_string_equal(s->proxy.credentials[0].credential_key, "env://K");
	s = sandbox_spec_free(s);
	in = input_default();
	in.network_profile = "developer";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->proxy.n_credentials, 0);
	s = sandbox_spec_free(s);

	/* A non-preset entry still needs both. */
	user_profile("noup", "{\"network\": {\"custom_credentials\": {\"mine\": "
			     "{\"credential_key\": \"env://K\"}}}}");
	in.profile = "noup";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "has no 'upstream'"));
}

static void test_resolve_unix_and_env(void **state)
{
	(void)state;
	mkdirs("sockdir");
	struct input_unix_grant ug[] = {
	    {"./sockdir/app.sock", UNIX_BIND, "--allow-unix-socket-bind"},
	    {"sockdir", UNIX_DIR, "--allow-unix-socket-dir"},
	};
	struct policy_input in = input_default();
	in.unix_grants = ug;
	in.n_unix_grants = ARRAY_SIZE(ug);
	char *envc[] = {(char *)"openai_api_key,op://a/b=TOKEN", NULL};
	char *envmap[] = {(char *)"env://GITHUB_TOKEN", (char *)"GH_TOKEN", NULL};
	in.env_credentials = envc;
	in.env_credential_map = envmap;
	in.capability_elevation = 1;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(s->n_unix_grants, 2);
	char want[512];
	(void)snprintf(want, sizeof(want), "%s/sockdir/app.sock", work);
	assert_string_equal(s->unix_grants[0].path, want);
	assert_int_equal(s->unix_grants[0].flags, UNIX_BIND | UNIX_CONNECT);
	(void)snprintf(want, sizeof(want), "%s/sockdir", work);
	const struct fs_grant *g = find_grant(s, want);
	assert_non_null(g);
	assert_int_equal(g->origin.kind, ORIGIN_IMPLIED);
	assert_int_equal(g->access, FS_RW);
	assert_int_equal(s->n_env_credentials, 3);
	assert_string_equal(s->env_credentials[0].env_var, "OPENAI_API_KEY");
	assert_string_equal(s->env_credentials[1].ref, "op://a/b");
	assert_string_equal(s->env_credentials[1].env_var, "TOKEN");
	assert_string_equal(s->env_credentials[2].env_var, "GH_TOKEN");
	assert_true(s->capability_elevation);

	struct input_unix_grant missing[] = {
	    {"./nodir/x.sock", UNIX_CONNECT, "--allow-unix-socket"}};
	in.unix_grants = missing;
	in.n_unix_grants = 1;
	_cleanup_spec_ struct sandbox_spec *s2 = NULL;
	assert_int_equal(policy_resolve(&in, &s2, NULL, &d), -ENOENT);
	assert_string_equal(d.file, "--allow-unix-socket");
}

/* pass_env: names only, from the profile and from --pass-env (comma lists). */
static void test_pass_env(void **state)
{
	(void)state;
	_cleanup_profile_ struct profile *p = NULL;
	struct diag d = {0};
	assert_int_equal(parse_text("{\"pass_env\": [\"GH_TOKEN\", \"VAULT_TOKEN\"]}", &p, &d), 0);
	assert_int_equal(strv_length(p->pass_env), 2);
	assert_string_equal(p->pass_env[1], "VAULT_TOKEN");
	expect_parse_error("{\"pass_env\": [\"1BAD\"]}", 1, 14, "bad environment variable name");

	struct policy_input in = input_default();
	char *pass[] = {(char *)"GITHUB_TOKEN,NPM_TOKEN", (char *)"GITHUB_TOKEN", NULL};
	in.pass_env = pass;
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), 0);
	assert_int_equal(strv_length(s->pass_env), 2);
	assert_true(strv_contains(s->pass_env, "NPM_TOKEN"));

	char *bad[] = {(char *)"OK_NAME,A-B", NULL};
	in.pass_env = bad;
	_cleanup_spec_ struct sandbox_spec *s2 = NULL;
	assert_int_equal(policy_resolve(&in, &s2, NULL, &d), -EINVAL);
	assert_string_equal(d.file, "--pass-env");
}

static void test_resolve_profile_errors(void **state)
{
	(void)state;
	struct policy_input in = input_default();
	in.profile = "nope";
	_cleanup_spec_ struct sandbox_spec *s = NULL;
	struct diag d = {0};
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -ENOENT);
	user_profile("broken", "{\n  \"filesystem\": {\"read\": 1}}");
	in.profile = "broken";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -EINVAL);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.column, 26);
	assert_non_null(strstr(d.file, "broken.json"));
	in.profile = NULL;
	in.workdir = "/nonexistent/dir";
	assert_int_equal(policy_resolve(&in, &s, NULL, &d), -ENOENT);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_embedded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_groups_load_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_groups_load_equals_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_groups_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_size_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extends_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extends_cycle_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_overrides_builtin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_deny_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_builtin_profiles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_cli_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_bypass, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_exclude_and_deny, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_frozen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_presets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_credential_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_unix_and_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_profile_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pass_env, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
