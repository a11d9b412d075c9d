/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "query/query.h"

/* A home-like tree in a fresh directory; spec paths must be canonical, so it is real. */
static char root[64];

static char *at(const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s%s%s", root, *rel ? "/" : "", rel) > 0);
	return p;
}

static void mkdir_at(const char *rel)
{
	_cleanup_free_ char *p = at(rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void touch_at(const char *rel)
{
	_cleanup_free_ char *p = at(rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static int setup_tree(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/nono-query.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkdir_at("home");
	mkdir_at("home/.ssh");
	touch_at("home/.ssh/id_rsa");
	mkdir_at("home/.aws");
	touch_at("home/.aws/credentials");
	mkdir_at("home/project");
	mkdir_at("home/project/ro");
	mkdir_at("ro");
	touch_at("home/.gitconfig");
	touch_at("home/.gitconfigx");
	return 0;
}

static int teardown_tree(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void add_grant(struct sandbox_spec *s, const char *rel, unsigned access, bool is_file,
		      enum origin_kind kind, const char *name)
{
	s->grants = realloc(s->grants, (s->n_grants + 1) * sizeof(*s->grants));
	assert_non_null(s->grants);
	s->grants[s->n_grants++] = (struct fs_grant){
	    .path = at(rel),
	    .access = access,
	    .is_file = is_file,
	    .exists = true,
	    .origin = {kind, name ? strdup(name) : NULL},
	};
}

static void add_deny(struct sandbox_spec *s, const char *rel, const char *group,
		     const char *category, bool bypassed)
{
	s->denies = realloc(s->denies, (s->n_denies + 1) * sizeof(*s->denies));
	assert_non_null(s->denies);
	s->denies[s->n_denies++] = (struct fs_deny){
	    .path = at(rel),
	    .group = strdup(group),
	    .category = strdup(category),
	    .exists = true,
	    .is_dir = true,
	    .bypassed = bypassed,
	};
}

static struct sandbox_spec *fs_spec(void)
{
	struct sandbox_spec *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	add_grant(s, "home", FS_RW, false, ORIGIN_CLI, "--allow");
	add_grant(s, "home/project/ro", FS_READ, false, ORIGIN_PROFILE, "dev");
	add_grant(s, "ro", FS_READ, false, ORIGIN_CLI, "--read");
	add_grant(s, "home/.gitconfig", FS_READ, true, ORIGIN_CLI, "--read-file");
	add_deny(s, "home/.ssh", "deny_credentials", "SSH keys and config", false);
	add_deny(s, "home/.aws", "deny_credentials", "AWS credentials", true);
	return s;
}

#define QUERY_PATH_OK(s, rel, op, q)                                                               \
	do {                                                                                       \
		_cleanup_free_ char *_p = at(rel);                                                 \
		assert_int_equal(policy_query_path(s, _p, op, q), 0);                              \
	} while (0)

static void test_path_sensitive(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = fs_spec();
	_cleanup_query_result_ struct query_result q = {0};
	_cleanup_free_ char *ssh = at("home/.ssh"), *key = at("home/.ssh/id_rsa");
	_cleanup_free_ char *sugg = NULL;

	/* Deny wins over --allow of the whole home, for the directory and inside it. */
	QUERY_PATH_OK(s, "home/.ssh/id_rsa", FS_READ, &q);
	assert_int_equal(q.status, QUERY_DENIED);
	assert_int_equal(q.reason, REASON_SENSITIVE_PATH);
	assert_string_equal(q.category, "SSH keys and config");
	assert_string_equal(q.group, "deny_credentials");
	assert_string_equal(q.rule, ssh);
	assert_string_equal(q.subject, key);
	assert_true(asprintf(&sugg, "--bypass-protection %s", ssh) > 0);
	assert_string_equal(q.suggestion, sugg);
	query_result_release(&q);

	QUERY_PATH_OK(s, "home/.ssh", FS_WRITE, &q);
	assert_int_equal(q.reason, REASON_SENSITIVE_PATH);
	query_result_release(&q);

	/* Not granted at all: the suggestion needs a grant too. */
	s->grants[0].exists = false; /* drop --allow home */
	QUERY_PATH_OK(s, "home/.ssh", FS_READ, &q);
	assert_int_equal(q.reason, REASON_SENSITIVE_PATH);
	assert_non_null(strstr(q.suggestion, "--read "));
	assert_non_null(strstr(q.suggestion, "--bypass-protection "));
}

static void test_path_granted(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = fs_spec();
	_cleanup_query_result_ struct query_result q = {0};
	_cleanup_free_ char *home = at("home"), *ro = at("home/project/ro");

	QUERY_PATH_OK(s, "home/project/new-file", FS_RW, &q);
	assert_int_equal(q.status, QUERY_ALLOWED);
	assert_int_equal(q.reason, REASON_GRANTED);
	assert_string_equal(q.rule, home);
	assert_string_equal(q.origin, "--allow");
	assert_null(q.suggestion);
	assert_int_equal(q.granted, FS_RW);
	query_result_release(&q);

	/* The most specific grant giving the right is named. */
	QUERY_PATH_OK(s, "home/project/ro/x", FS_READ, &q);
	assert_string_equal(q.rule, ro);
	assert_string_equal(q.origin, "profile dev");
	query_result_release(&q);
	/* Grants add up: the read-only subtree is writable through --allow of home. */
	QUERY_PATH_OK(s, "home/project/ro/x", FS_WRITE, &q);
	assert_int_equal(q.status, QUERY_ALLOWED);
	assert_string_equal(q.rule, home);
	query_result_release(&q);

	/* Bypassed protection: allowed, and it says so. */
	QUERY_PATH_OK(s, "home/.aws/credentials", FS_READ, &q);
	assert_int_equal(q.status, QUERY_ALLOWED);
	assert_int_equal(q.reason, REASON_BYPASSED);
	assert_string_equal(q.category, "AWS credentials");
}

static void test_path_not_granted_partial(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = fs_spec();
	_cleanup_query_result_ struct query_result q = {0};
	_cleanup_free_ char *ro = at("ro"), *expect = NULL;

	assert_int_equal(policy_query_path(s, "/nonexistent-nono/x", FS_READ, &q), 0);
	assert_int_equal(q.status, QUERY_DENIED);
	assert_int_equal(q.reason, REASON_NOT_GRANTED);
	assert_string_equal(q.suggestion, "--read /nonexistent-nono/x");
	assert_null(q.rule);
	query_result_release(&q);

	QUERY_PATH_OK(s, "ro", FS_WRITE, &q);
	assert_int_equal(q.status, QUERY_DENIED);
	assert_int_equal(q.reason, REASON_PARTIAL);
	assert_int_equal(q.granted, FS_READ);
	assert_string_equal(q.rule, ro);
	assert_true(asprintf(&expect, "--write %s", ro) > 0);
	assert_string_equal(q.suggestion, expect);
	query_result_release(&q);

	QUERY_PATH_OK(s, "ro/sub", FS_RW, &q);
	assert_int_equal(q.reason, REASON_PARTIAL);
	query_result_release(&q);

	/* A grant that did not exist at resolve time is no rule. */
	s->grants[2].exists = false;
	QUERY_PATH_OK(s, "ro", FS_READ, &q);
	assert_int_equal(q.reason, REASON_NOT_GRANTED);
	query_result_release(&q);

	assert_int_equal(policy_query_path(s, "/x", 0, &q), -EINVAL);
	assert_int_equal(policy_query_path(s, "/x", 4, &q), -EINVAL);
	assert_int_equal(policy_query_path(s, "", FS_READ, &q), -EINVAL);
}

static void test_path_file_grant(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = fs_spec();
	_cleanup_query_result_ struct query_result q = {0};

	s->grants[0].exists = false; /* drop --allow home */
	QUERY_PATH_OK(s, "home/.gitconfig", FS_READ, &q);
	assert_int_equal(q.status, QUERY_ALLOWED);
	assert_string_equal(q.origin, "--read-file");
	query_result_release(&q);
	/* Only the exact file: not a sibling sharing the prefix, not the directory. */
	QUERY_PATH_OK(s, "home/.gitconfigx", FS_READ, &q);
	assert_int_equal(q.reason, REASON_NOT_GRANTED);
	query_result_release(&q);
	QUERY_PATH_OK(s, "home", FS_READ, &q);
	assert_int_equal(q.reason, REASON_NOT_GRANTED);
	query_result_release(&q);
	QUERY_PATH_OK(s, "home/.gitconfig/x", FS_READ, &q);
	assert_int_equal(q.reason, REASON_NOT_GRANTED);
}

static void test_path_relative_and_home(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = fs_spec();
	_cleanup_query_result_ struct query_result q = {0};
	_cleanup_free_ char *home = at("home"), *proj = at("home/project"), *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	assert_int_equal(chdir(home), 0);
	assert_int_equal(policy_query_path(s, "./project/../project", FS_READ, &q), 0);
	assert_string_equal(q.subject, proj);
	query_result_release(&q);

	setenv("HOME", home, 1);
	assert_int_equal(policy_query_path(s, "~/.ssh", FS_READ, &q), 0);
	assert_int_equal(q.reason, REASON_SENSITIVE_PATH);
	query_result_release(&q);

	/* A symlink into a protected directory is judged by its target. */
	_cleanup_free_ char *link = at("home/project/key-link"), *key = at("home/.ssh/id_rsa");
	assert_int_equal(symlink(key, link), 0);
	assert_int_equal(policy_query_path(s, link, FS_READ, &q), 0);
	assert_int_equal(q.reason, REASON_SENSITIVE_PATH);
	assert_string_equal(q.subject, key);

	if (old_home)
		setenv("HOME", old_home, 1);
	assert_int_equal(chdir(cwd), 0);
}

static struct sandbox_spec *net_spec(enum net_mode m)
{
	struct sandbox_spec *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->net = m;
	s->open_ports = calloc(1, sizeof(uint16_t));
	s->open_ports[0] = 8080;
	s->n_open_ports = 1;
	assert_int_equal(strv_extend(&s->proxy.allow_domains, "api.openai.com"), 0);
	assert_int_equal(strv_extend(&s->proxy.allow_domains, "*.github.com"), 0);
	assert_int_equal(
	    strv_extend(&s->proxy.allow_domains, "https://example.org/repos/*/issues/**"), 0);
	assert_int_equal(strv_extend(&s->proxy.allow_domains, "169.254.169.254"), 0);
	return s;
}

static void expect_host(const struct sandbox_spec *s, const char *host, uint16_t port,
			enum query_status status, enum query_reason reason)
{
	_cleanup_query_result_ struct query_result q = {0};
	assert_int_equal(policy_query_host(s, host, port, &q), 0);
	if (q.status != status || q.reason != reason)
		fail_msg("host '%s': got %s/%s", host, query_status_to_string(q.status),
			 query_reason_to_string(q.reason));
}

static void test_host_modes(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *allow = net_spec(NET_ALLOW);
	_cleanup_spec_ struct sandbox_spec *block = net_spec(NET_BLOCK);
	_cleanup_query_result_ struct query_result q = {0};

	expect_host(allow, "example.com", 0, QUERY_ALLOWED, REASON_NETWORK_UNRESTRICTED);
	expect_host(block, "example.com", 0, QUERY_DENIED, REASON_NETWORK_BLOCKED);
	expect_host(block, "localhost", 8080, QUERY_ALLOWED, REASON_OPEN_PORT);
	expect_host(block, "127.0.0.1:8080", 0, QUERY_ALLOWED, REASON_OPEN_PORT);
	expect_host(block, "[::1]:8080", 0, QUERY_ALLOWED, REASON_OPEN_PORT);
	expect_host(block, "localhost", 3000, QUERY_DENIED, REASON_NETWORK_BLOCKED);
	/* An open port is for localhost only. */
	expect_host(block, "example.com", 8080, QUERY_DENIED, REASON_NETWORK_BLOCKED);

	assert_int_equal(policy_query_host(block, "localhost", 3000, &q), 0);
	assert_string_equal(q.suggestion, "--open-port 3000");
	query_result_release(&q);
	assert_int_equal(policy_query_host(block, "example.com", 0, &q), 0);
	assert_string_equal(q.suggestion, "--allow-net");
	assert_int_equal(q.port, 443);
	query_result_release(&q);
	assert_int_equal(policy_query_host(block, "http://example.com/x?y#z", 0, &q), 0);
	assert_int_equal(q.port, 80);
	assert_string_equal(q.url_path, "/x");
	query_result_release(&q);
	assert_int_equal(policy_query_host(block, "https://user@Example.COM.:8443/", 0, &q), 0);
	assert_int_equal(q.port, 8443);
	assert_string_equal(q.subject, "example.com");
	query_result_release(&q);

	assert_int_equal(policy_query_host(block, "a b", 0, &q), -EINVAL);
	assert_int_equal(policy_query_host(block, "", 0, &q), -EINVAL);
	assert_int_equal(policy_query_host(block, "host/path", 0, &q), -EINVAL);
	assert_int_equal(policy_query_host(block, "host:99999", 0, &q), -EINVAL);
	assert_int_equal(policy_query_host(block, "[::1", 0, &q), -EINVAL);
}

static void test_host_proxy(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = net_spec(NET_PROXY);
	_cleanup_query_result_ struct query_result q = {0};

	expect_host(s, "API.OpenAI.com", 0, QUERY_ALLOWED, REASON_DOMAIN_ALLOWED);
	expect_host(s, "raw.github.com", 0, QUERY_ALLOWED, REASON_DOMAIN_ALLOWED);
	expect_host(s, "github.com", 0, QUERY_DENIED, REASON_DOMAIN_NOT_ALLOWED);
	expect_host(s, "evilgithub.com", 0, QUERY_DENIED, REASON_DOMAIN_NOT_ALLOWED);
	expect_host(s, "https://example.org/repos/nono/issues/12/comments", 0, QUERY_ALLOWED,
		    REASON_DOMAIN_ALLOWED);
	expect_host(s, "https://example.org/repos/nono/issues", 0, QUERY_ALLOWED,
		    REASON_DOMAIN_ALLOWED);
	expect_host(s, "https://example.org/repos/nono/pulls", 0, QUERY_DENIED,
		    REASON_DOMAIN_NOT_ALLOWED);
	expect_host(s, "http://example.org/repos/nono/issues", 0, QUERY_DENIED,
		    REASON_DOMAIN_NOT_ALLOWED);
	expect_host(s, "example.org", 0, QUERY_ALLOWED, REASON_DOMAIN_ALLOWED);
	expect_host(s, "localhost", 8080, QUERY_ALLOWED, REASON_OPEN_PORT);
	/* Metadata endpoints are refused even when an allowlist entry names them. */
	expect_host(s, "169.254.169.254", 80, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "169.254.1.1", 0, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "metadata.google.internal.", 0, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "METADATA.AZURE.INTERNAL", 0, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "[fe80::1]", 0, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "febf::1", 0, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "::ffff:169.254.169.254", 0, QUERY_DENIED, REASON_METADATA_DENIED);
	expect_host(s, "fec0::1", 0, QUERY_DENIED, REASON_DOMAIN_NOT_ALLOWED);

	assert_int_equal(policy_query_host(s, "github.com", 0, &q), 0);
	assert_string_equal(q.suggestion, "--allow-domain github.com");
	query_result_release(&q);
	assert_int_equal(policy_query_host(s, "x.github.com", 0, &q), 0);
	assert_string_equal(q.rule, "*.github.com");
}

static void test_matchers(void **state)
{
	(void)state;
	assert_true(query_host_matches("a.b", "A.B"));
	assert_true(query_host_matches("a.b.", "a.b"));
	assert_false(query_host_matches("a.b", "x.a.b"));
	assert_true(query_host_matches("*.a.b", "x.y.a.b"));
	assert_false(query_host_matches("*.a.b", "a.b"));
	assert_false(query_host_matches("*.a.b", "xa.b"));

	assert_true(query_path_glob_matches("/a/*/c", "/a/b/c"));
	assert_false(query_path_glob_matches("/a/*/c", "/a/b/x/c"));
	assert_true(query_path_glob_matches("/a/**/c", "/a/c"));
	assert_true(query_path_glob_matches("/a/**/c", "/a/b/x/c"));
	assert_true(query_path_glob_matches("/a/**", "/a"));
	assert_true(query_path_glob_matches("/v1/chat*", "/v1/chat-completions"));
	assert_false(query_path_glob_matches("/v1/chat*", "/v1/models"));
	assert_false(query_path_glob_matches("/a", "/a/b"));
	assert_true(query_path_glob_matches("/**", "/"));
	assert_true(query_path_glob_matches("/a/**/b/**/c", "/a/x/b/y/b/z/c"));
	assert_false(query_path_glob_matches("/a/**/b/**/c", "/a/x/c/b"));
	assert_true(query_path_glob_matches("/x*y*z", "/xaybz"));
	assert_false(query_path_glob_matches("/x*y*z", "/xaybza"));
	/* Patterns that make backtracking matchers exponential finish at once. */
	assert_false(query_path_glob_matches(
	    "/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/x",
	    "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y"));
	assert_false(query_path_glob_matches(
	    "/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
	    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

	/* Odd spellings meet the proxy's normal form (policy/netmatch). */
	assert_true(query_host_matches("0x7f000001", "127.0.0.1"));
	assert_true(query_host_matches("[::1]", "0:0::1"));
	assert_false(query_host_matches("*.0.0.1", "127.0.0.1"));
}

static void test_scope(void **state)
{
	(void)state;
	struct sandbox_spec s = {.scope_signal = true};
	_cleanup_query_result_ struct query_result q = {0};
	enum query_scope sc;

	assert_int_equal(policy_query_scope(&s, SCOPE_SIGNAL, 7, &q), 0);
	assert_true(q.requested && q.supported && q.enforced);
	assert_int_equal(q.status, QUERY_DENIED);
	assert_int_equal(q.reason, REASON_SCOPE_ENFORCED);
	assert_string_equal(q.subject, "signal");
	query_result_release(&q);

	assert_int_equal(policy_query_scope(&s, SCOPE_SIGNAL, 5, &q), 0);
	assert_true(q.requested && !q.supported && !q.enforced);
	assert_int_equal(q.reason, REASON_SCOPE_UNSUPPORTED);
	query_result_release(&q);

	assert_int_equal(policy_query_scope(&s, SCOPE_ABSTRACT_UNIX_SOCKET, 7, &q), 0);
	assert_true(!q.requested && q.supported && !q.enforced);
	assert_int_equal(q.status, QUERY_ALLOWED);
	assert_int_equal(q.reason, REASON_SCOPE_NOT_REQUESTED);

	assert_int_equal(query_scope_from_string("abstract-unix-socket", &sc), 0);
	assert_int_equal(sc, SCOPE_ABSTRACT_UNIX_SOCKET);
	assert_int_equal(query_scope_from_string("signals", &sc), -EINVAL);
}

static void test_render(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = fs_spec();
	_cleanup_query_result_ struct query_result q = {0};
	_cleanup_free_ char *json = NULL, *text = NULL, *expect = NULL, *ssh = at("home/.ssh");

	QUERY_PATH_OK(s, "home/.ssh", FS_READ, &q);
	assert_int_equal(query_result_to_json(&q, &json), 0);
	assert_true(asprintf(&expect,
			     "{\"status\":\"denied\",\"reason\":\"sensitive_path\","
			     "\"category\":\"SSH keys and config\",\"group\":\"deny_credentials\","
			     "\"path\":\"%s\",\"op\":\"read\",\"granted\":\"readwrite\","
			     "\"rule\":\"%s\",\"origin\":null,"
			     "\"suggestion\":\"--bypass-protection %s\"}",
			     ssh, ssh, ssh) > 0);
	assert_string_equal(json, expect);
	assert_int_equal(query_result_to_text(&q, &text), 0);
	assert_non_null(strstr(text, "denied: read "));
	assert_non_null(strstr(text, "SSH keys and config"));
	query_result_release(&q);
	free(json);
	json = NULL;

	struct sandbox_spec sc = {.scope_abstract_unix = true};
	assert_int_equal(policy_query_scope(&sc, SCOPE_ABSTRACT_UNIX_SOCKET, 6, &q), 0);
	assert_int_equal(query_result_to_json(&q, &json), 0);
	assert_string_equal(json, "{\"status\":\"denied\",\"reason\":\"scope_enforced\","
				  "\"scope\":\"abstract-unix-socket\",\"requested\":true,"
				  "\"supported\":true,\"enforced\":true}");
	query_result_release(&q);
	free(json);
	json = NULL;

	_cleanup_spec_ struct sandbox_spec *n = net_spec(NET_BLOCK);
	assert_int_equal(policy_query_host(n, "example.com", 0, &q), 0);
	assert_int_equal(query_result_to_json(&q, &json), 0);
	assert_string_equal(json, "{\"status\":\"denied\",\"reason\":\"network_blocked\","
				  "\"category\":null,\"host\":\"example.com\",\"port\":443,"
				  "\"url_path\":null,\"rule\":null,\"origin\":null,"
				  "\"suggestion\":\"--allow-net\",\"proxy_placement\":null,"
				  "\"proxy_placement_reason\":null,\"address\":null}");
	query_result_release(&q);
	free(json);
	json = NULL;

	/* Proxy mode: the placement the spec records, and the reason the caller gives. */
	_cleanup_spec_ struct sandbox_spec *px = net_spec(NET_PROXY);
	px->proxy.placement = PROXY_PLACEMENT_LANDLOCK;
	assert_int_equal(policy_query_host(px, "example.com", 0, &q), 0);
	assert_int_equal(q.placement, PROXY_PLACEMENT_LANDLOCK);
	q.placement_reason = "user namespaces are unavailable for this user";
	assert_int_equal(query_result_to_json(&q, &json), 0);
	assert_non_null(strstr(json, "\"proxy_placement\":\"landlock-ports\","
				     "\"proxy_placement_reason\":\"user namespaces are "
				     "unavailable for this user\","));
	_cleanup_free_ char *ptext = NULL;
	assert_int_equal(query_result_to_text(&q, &ptext), 0);
	assert_non_null(strstr(ptext, "  proxy placement: host loopback with Landlock port rules"));
	assert_non_null(strstr(ptext, "(user namespaces are unavailable for this user)\n"));
	query_result_release(&q);
	/* Outside proxy mode there is no placement, whatever the field says. */
	n->proxy.placement = PROXY_PLACEMENT_NETNS;
	assert_int_equal(policy_query_host(n, "example.com", 0, &q), 0);
	assert_int_equal(q.placement, PROXY_PLACEMENT_UNDECIDED);
}

static struct sandbox_spec *full_spec(void)
{
	struct sandbox_spec *s = fs_spec();
	s->profile_name = strdup("claude-code");
	s->workdir = at("home/project");
	s->net = NET_PROXY;
	s->listen_ports = calloc(2, sizeof(uint16_t));
	s->listen_ports[0] = 3000;
	s->listen_ports[1] = 3001;
	s->n_listen_ports = 2;
	s->unix_grants = calloc(1, sizeof(*s->unix_grants));
	s->unix_grants[0] = (struct unix_grant){at("home/sock"),
						UNIX_CONNECT | UNIX_DIR,
						{ORIGIN_CLI, strdup("--allow-unix-socket-dir")}};
	s->n_unix_grants = 1;
	s->scope_signal = true;
	assert_int_equal(strv_extend(&s->blocked_commands, "rm"), 0);
	s->proxy.network_profile = strdup("developer");
	assert_int_equal(strv_extend(&s->proxy.allow_domains, "*.github.com"), 0);
	s->proxy.credentials = calloc(1, sizeof(*s->proxy.credentials));
	s->proxy.credentials[0] = (struct credential_spec){
	    .name = strdup("openai"),
	    .upstream = strdup("https://api.openai.com"),
	    .credential_key = strdup("op://vault/openai"),
	    .env_var = strdup("OPENAI_API_KEY"),
	};
	s->proxy.n_credentials = 1;
	s->proxy.endpoints = calloc(1, sizeof(*s->proxy.endpoints));
	s->proxy.endpoints[0] =
	    (struct endpoint_rule){strdup("openai"), strdup("POST"), strdup("/v1/**")};
	s->proxy.n_endpoints = 1;
	s->proxy.port = 9999;
	s->proxy.placement = PROXY_PLACEMENT_NETNS;
	s->placement = (struct sandbox_placement){.decided = true,
						  .userns = true,
						  .mountns = true,
						  .pidns = true,
						  .private_tmp = true,
						  .proxy = PROXY_PLACEMENT_NETNS};
	s->best_effort = true;
	return s;
}

static void test_spec_json_roundtrip(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = full_spec(), *back = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;

	assert_int_equal(spec_to_json(s, &a), 0);
	/* Where the secret lives is not part of the state a sandbox can read. */
	assert_null(strstr(a, "op://vault"));
	assert_int_equal(spec_from_json(a, &back), 0);
	assert_int_equal(spec_to_json(back, &b), 0);
	assert_string_equal(a, b);
	assert_int_equal(back->n_grants, 4);
	assert_string_equal(back->grants[1].origin.name, "dev");
	assert_int_equal(back->grants[1].origin.kind, ORIGIN_PROFILE);
	assert_true(back->denies[1].bypassed);
	assert_int_equal(back->net, NET_PROXY);
	assert_int_equal(back->listen_ports[1], 3001);
	assert_null(back->proxy.credentials[0].credential_key);
	assert_int_equal(back->proxy.placement, PROXY_PLACEMENT_NETNS);
	/* The namespace placement travels too: why --self prints what the run got. */
	assert_true(back->placement.decided && back->placement.userns && back->placement.mountns &&
		    back->placement.pidns && back->placement.private_tmp);
	assert_false(back->placement.ro_root || back->placement.masks);
	assert_int_equal(back->placement.proxy, PROXY_PLACEMENT_NETNS);

	/* An empty spec round-trips too. */
	struct sandbox_spec empty = {0};
	_cleanup_free_ char *e = NULL;
	_cleanup_spec_ struct sandbox_spec *eb = NULL;
	assert_int_equal(spec_to_json(&empty, &e), 0);
	assert_int_equal(spec_from_json(e, &eb), 0);
	assert_int_equal(eb->n_grants, 0);
}

/* Replace the first occurrence of from with to in a copy of s. */
static char *replaced(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out = NULL;
	assert_non_null(p);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from)) > 0);
	return out;
}

static void test_spec_json_strict(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = full_spec();
	_cleanup_free_ char *good = NULL;
	struct sandbox_spec *out = NULL;
	static const char *const edits[][2] = {
	    {"\"version\":1", "\"version\":2"},
	    {"\"version\":1,", "\"version\":1,\"extra\":0,"},
	    {"\"version\":1,", "\"version\":1,\"version\":1,"},
	    {"\"best_effort\":true", "\"best_effort\":1"},
	    {"\"net\":\"proxy\"", "\"net\":\"open\""},
	    {"\"access\":\"readwrite\"", "\"access\":\"all\""},
	    {"\"kind\":\"cli\"", "\"kind\":\"CLI\""},
	    {"\"path\":\"/", "\"path\":\""},
	    {"\"listen_ports\":[3000", "\"listen_ports\":[0"},
	    {"\"listen_ports\":[3000", "\"listen_ports\":[65536"},
	    {"\"flags\":5", "\"flags\":64"},
	    {"\"is_file\":false,", ""},
	    {"\"group\":\"deny_credentials\"", "\"group\":\"a\\u0000b\""},
	    {"\"best_effort\":true}", "\"best_effort\":true} x"},
	    {"\"proxy\":{", "\"proxy\":{\"a\":1,"},
	    {"\"placement\":\"network-namespace\"", "\"placement\":\"host\""},
	    {"\"placement\":\"network-namespace\"", "\"placement\":1"},
	    {",\"placement\":\"network-namespace\"", ""},
	    {"\"decided\":true,", ""},
	    {"\"ro_root\":false", "\"ro_root\":0"},
	    {"\"private_tmp\":true,\"proxy\":\"network-namespace\"",
	     "\"private_tmp\":true,\"proxy\":\"elsewhere\""},
	};

	assert_int_equal(spec_to_json(s, &good), 0);
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		_cleanup_free_ char *bad = replaced(good, edits[i][0], edits[i][1]);
		int r = spec_from_json(bad, &out);
		if (r != -EINVAL)
			fail_msg("edit %zu ('%s'): got %d", i, edits[i][1], r);
		assert_null(out);
	}
	assert_int_equal(spec_from_json("", &out), -EINVAL);
	assert_int_equal(spec_from_json("[]", &out), -EINVAL);
	assert_int_equal(spec_from_json("null", &out), -EINVAL);
}

static void test_state_fd(void **state)
{
	(void)state;
	_cleanup_spec_ struct sandbox_spec *s = full_spec(), *back = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;
	_cleanup_close_ int fd = -EBADF, plain = -EBADF;
	char num[16];
	int pipefd[2];

	assert_int_equal(sandbox_state_publish(s, &fd), 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(fcntl(fd, F_GET_SEALS),
			 F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	/* Readable, not changeable: every write path is sealed. */
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	/* Reopening it read-write through /proc gains nothing: the seals hold. */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	_cleanup_close_ int rw = open(proc, O_RDWR | O_CLOEXEC);
	if (rw >= 0) {
		assert_int_equal(write(rw, "x", 1), -1);
		assert_int_equal(errno, EPERM);
		assert_int_equal(ftruncate(rw, 0), -1);
	}
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, 0), -1);
	assert_null(mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? NULL
										  : "mapped");

	snprintf(num, sizeof(num), "%d", fd);
	assert_int_equal(sandbox_state_read(num, &back), 0);
	assert_int_equal(spec_to_json(s, &a), 0);
	assert_int_equal(spec_to_json(back, &b), 0);
	assert_string_equal(a, b);

	sandbox_spec_freep(&back);
	assert_int_equal(sandbox_state_read(NULL, &back), -ENOENT);
	assert_int_equal(sandbox_state_read("", &back), -ENOENT);
	assert_int_equal(sandbox_state_read("x1", &back), -EBADF);
	assert_int_equal(sandbox_state_read("1", &back), -EBADF);
	assert_int_equal(sandbox_state_read("99999", &back), -EBADF);

	/* An unsealed memfd or a pipe could be forged: refused. */
	plain = memfd_create("forged", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(plain >= 0);
	assert_int_equal(write(plain, a, strlen(a)), (ssize_t)strlen(a));
	snprintf(num, sizeof(num), "%d", plain);
	assert_int_equal(sandbox_state_read(num, &back), -EPERM);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	snprintf(num, sizeof(num), "%d", pipefd[0]);
	assert_int_equal(sandbox_state_read(num, &back), -EPERM);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_null(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_sensitive),
	    cmocka_unit_test(test_path_granted),
	    cmocka_unit_test(test_path_not_granted_partial),
	    cmocka_unit_test(test_path_file_grant),
	    cmocka_unit_test(test_path_relative_and_home),
	    cmocka_unit_test(test_host_modes),
	    cmocka_unit_test(test_host_proxy),
	    cmocka_unit_test(test_matchers),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_spec_json_roundtrip),
	    cmocka_unit_test(test_spec_json_strict),
	    cmocka_unit_test(test_state_fd),
	};
	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
