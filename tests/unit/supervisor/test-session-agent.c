/* SPDX-License-Identifier: Apache-2.0 */
/* What nono adds for gemini-cli and codex (supervisor/session-agent.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/strv.h"
#include "policy/spec.h"
#include "supervisor/session-agent.h"
#include "supervisor/session-environ.h"

static struct credential_spec openai = {
    .name = (char *)"openai",
    .env_var = (char *)"OPENAI_API_KEY",
    .base_url_var = (char *)"OPENAI_BASE_URL",
};
static struct credential_spec gemini = {
    .name = (char *)"gemini",
    .env_var = (char *)"GEMINI_API_KEY",
    .base_url_var = (char *)"GOOGLE_GEMINI_BASE_URL",
};

static const char *env_get(char **env, const char *var)
{
	size_t l = strlen(var);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], var, l) == 0 && env[i][l] == '=')
			return env[i] + l + 1;
	return NULL;
}

static char **env_new(void)
{
	char **env = NULL;
	assert_int_equal(strv_extend(&env, "OPENAI_API_KEY=phantom-123"), 0);
	assert_int_equal(strv_extend(&env, "OPENAI_BASE_URL=http://127.0.0.1:1234/openai"), 0);
	assert_int_equal(strv_extend(&env, "CODEX_API_KEY=sk-real-key"), 0);
	return env;
}

static void test_codex_argv(void **state)
{
	(void)state;
	struct sandbox_spec s = {.net = NET_PROXY, .profile_name = (char *)"codex"};
	s.proxy.credentials = &openai;
	s.proxy.n_credentials = 1;
	char *argv[] = {(char *)"/opt/bin/codex", (char *)"exec", (char *)"hi", NULL};
	char **env = env_new(), **out = NULL;

	assert_int_equal(run_agent_argv(&s, argv, &env, &out), 0);
	assert_non_null(out);
	const char *want[] = {"/opt/bin/codex",
			      "-c",
			      "openai_base_url=\"http://127.0.0.1:1234/openai\"",
			      "-c",
			      "sandbox_mode=\"danger-full-access\"",
			      "exec",
			      "hi",
			      NULL};
	for (size_t i = 0; want[i]; i++)
		assert_string_equal(out[i], want[i]);
	assert_null(out[7]);
	/* The phantom replaces whatever CODEX_API_KEY the caller had. */
	assert_string_equal(env_get(env, "CODEX_API_KEY"), "phantom-123");
	out = strv_free(out);

	/* Another command: the key variable still, no arguments. */
	char *other[] = {(char *)"claude", (char *)"-p", NULL};
	assert_int_equal(run_agent_argv(&s, other, &env, &out), 0);
	assert_null(out);

	/* Another profile: the base URL only. */
	s.profile_name = (char *)"default";
	assert_int_equal(run_agent_argv(&s, argv, &env, &out), 0);
	assert_int_equal(strv_length(out), 5);
	assert_string_equal(out[2], "openai_base_url=\"http://127.0.0.1:1234/openai\"");
	assert_string_equal(out[3], "exec");
	out = strv_free(out);

	/* A base URL that would need TOML escaping is not passed. */
	assert_int_equal(env_set(&env, "OPENAI_BASE_URL=http://x/\"]"), 0);
	assert_int_equal(run_agent_argv(&s, argv, &env, &out), 0);
	assert_null(out);

	/* No proxy: no service, only the codex profile's sandbox mode. */
	char **env2 = env_new();
	s.net = NET_ALLOW;
	s.profile_name = (char *)"codex";
	assert_int_equal(run_agent_argv(&s, argv, &env2, &out), 0);
	assert_int_equal(strv_length(out), 5);
	assert_string_equal(out[2], "sandbox_mode=\"danger-full-access\"");
	out = strv_free(out);
	assert_string_equal(env_get(env2, "CODEX_API_KEY"), "sk-real-key");
	s.profile_name = NULL;
	assert_int_equal(run_agent_argv(&s, argv, &env2, &out), 0);
	assert_null(out);
	strv_free(env);
	strv_free(env2);
}

static void test_gemini_file(void **state)
{
	(void)state;
	struct sandbox_spec s = {.net = NET_PROXY};
	s.proxy.credentials = &gemini;
	s.proxy.n_credentials = 1;
	char dir[] = "/tmp/nono-test-agent.XXXXXX", path[256], buf[256];
	char **env = NULL;

	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/nono-gemini-system-defaults.json", dir);

	/* Not root-owned as the agent sees it: nothing written, nothing set. */
	assert_int_equal(run_agent_files_prepare(&s, dir, false, &env), 0);
	assert_null(env_get(env, "GEMINI_CLI_SYSTEM_DEFAULTS_PATH"));
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(run_agent_files_prepare(&s, dir, true, &env), 0);
	assert_string_equal(env_get(env, "GEMINI_CLI_SYSTEM_DEFAULTS_PATH"),
			    "/tmp/nono-gemini-system-defaults.json");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf,
			    "{\"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}}}\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);

	run_agent_files_remove(&s, dir);
	assert_int_equal(access(path, F_OK), -1);
	run_agent_files_remove(&s, dir); /* twice is fine */

	/* The caller's own file wins. */
	char **env2 = NULL;
	assert_int_equal(strv_extend(&env2, "GEMINI_CLI_SYSTEM_DEFAULTS_PATH=/etc/mine.json"), 0);
	assert_int_equal(run_agent_files_prepare(&s, dir, true, &env2), 0);
	assert_string_equal(env_get(env2, "GEMINI_CLI_SYSTEM_DEFAULTS_PATH"), "/etc/mine.json");
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(rmdir(dir), 0);
	strv_free(env);
	strv_free(env2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codex_argv),
	    cmocka_unit_test(test_gemini_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
