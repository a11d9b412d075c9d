/* SPDX-License-Identifier: Apache-2.0 */
/* Credential sources: env://, file://, op:// (a fake `op` on PATH), apple-password://,
 * the keyring without a D-Bus session, and secret memory hygiene. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"
#include "credential/credential.h"

static char dir[] = "/tmp/nono-cred-test.XXXXXX";
static char *saved_path;

static void write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char p[512];
	(void)snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *ref_for(const char *name)
{
	static char buf[600];
	(void)snprintf(buf, sizeof(buf), "file://%s/%s", dir, name);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	const char *p = getenv("PATH");
	saved_path = strdup(p ? p : "/usr/bin:/bin");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(saved_path);
	return 0;
}

static void test_env(void **state)
{
	(void)state;
	struct secret s = {0};
	struct diag d = {{0}};
	setenv("NONO_TEST_CRED", "sk-env-value", 1);
	/* glibc keeps setenv's strings for the life of the process: readable after unset */
	const char *raw = getenv("NONO_TEST_CRED");
	assert_int_equal(credential_load("env://NONO_TEST_CRED", &s, &d), 0);
	assert_string_equal(s.data, "sk-env-value");
	assert_int_equal(s.len, 12);
	/* Scrubbed from nono's environment as soon as it was read: unset, bytes zeroed. */
	assert_null(getenv("NONO_TEST_CRED"));
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(raw[i], 0);
	secret_wipe(&s);
	assert_null(s.data);
	assert_int_equal(s.len, 0);
	secret_wipe(&s); /* twice is harmless */
	/* A second reference to the same variable (two services, one key) still loads. */
	assert_int_equal(credential_load("env://NONO_TEST_CRED", &s, &d), 0);
	assert_string_equal(s.data, "sk-env-value");
	secret_wipe(&s);

	unsetenv("NONO_TEST_CRED2");
	assert_int_equal(credential_load("env://NONO_TEST_CRED2", &s, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "NONO_TEST_CRED2"));
	assert_non_null(strstr(d.msg, "not set"));
	setenv("NONO_TEST_CRED2", "", 1);
	assert_int_equal(credential_load("env://NONO_TEST_CRED2", &s, &d), -ENOENT);
	setenv("NONO_TEST_CRED2", "two\nlines", 1);
	assert_int_equal(credential_load("env://NONO_TEST_CRED2", &s, &d), -EINVAL);
	assert_non_null(getenv("NONO_TEST_CRED2")); /* not taken: left alone */
	assert_null(strstr(d.msg, "two"));
	assert_int_equal(credential_load("env://1BAD", &s, &d), -EINVAL);
	assert_int_equal(credential_load("env://", &s, &d), -EINVAL);
	assert_int_equal(credential_load("env://A-B", &s, &d), -EINVAL);
	assert_null(s.data);
}

static void test_file(void **state)
{
	(void)state;
	struct secret s = {0};
	struct diag d = {{0}};

	write_file("ok", "file-secret\n\n", 13, 0600);
	/* Exactly one trailing newline is dropped; a second one makes it two lines. */
	assert_int_equal(credential_load(ref_for("ok"), &s, &d), -EINVAL);
	write_file("ok", "file-secret\n", 12, 0600);
	assert_int_equal(credential_load(ref_for("ok"), &s, &d), 0);
	assert_string_equal(s.data, "file-secret");
	secret_wipe(&s);
	write_file("nonl", "abc", 3, 0644);
	assert_int_equal(credential_load(ref_for("nonl"), &s, &d), 0);
	assert_string_equal(s.data, "abc");
	secret_wipe(&s);

	/* file://~/ is $HOME. */
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", dir, 1);
	assert_int_equal(credential_load("file://~/ok", &s, &d), 0);
	assert_string_equal(s.data, "file-secret");
	secret_wipe(&s);
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

static void test_file_hostile(void **state)
{
	(void)state;
	struct secret s = {0};
	struct diag d = {{0}};
	char p[600], target[600];

	assert_int_equal(credential_load("file://relative/path", &s, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "absolute"));
	assert_int_equal(credential_load(ref_for("missing"), &s, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "missing"));

	write_file("empty", "", 0, 0600);
	assert_int_equal(credential_load(ref_for("empty"), &s, &d), -ENODATA);
	assert_non_null(strstr(d.msg, "empty"));
	write_file("nl", "\n", 1, 0600);
	assert_int_equal(credential_load(ref_for("nl"), &s, &d), -ENODATA);

	/* A symlink in the last component is refused, even to a good file. */
	(void)snprintf(p, sizeof(p), "%s/link", dir);
	(void)snprintf(target, sizeof(target), "%s/ok", dir);
	write_file("ok", "x\n", 2, 0600);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(credential_load(ref_for("link"), &s, &d), -ELOOP);
	assert_non_null(strstr(d.msg, "symbolic link"));

	(void)snprintf(p, sizeof(p), "%s/adir", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(credential_load(ref_for("adir"), &s, &d), -EISDIR);
	assert_non_null(strstr(d.msg, "not a regular file"));

	/* A FIFO must neither hang nor be read. */
	(void)snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(credential_load(ref_for("fifo"), &s, &d), -EINVAL);

	_cleanup_free_ char *big = malloc(CREDENTIAL_MAX_SIZE + 1);
	memset(big, 'A', CREDENTIAL_MAX_SIZE + 1);
	write_file("big", big, CREDENTIAL_MAX_SIZE + 1, 0600);
	assert_int_equal(credential_load(ref_for("big"), &s, &d), -E2BIG);
	write_file("max", big, CREDENTIAL_MAX_SIZE, 0600);
	assert_int_equal(credential_load(ref_for("max"), &s, &d), 0);
	assert_int_equal(s.len, CREDENTIAL_MAX_SIZE);
	secret_wipe(&s);

	write_file("ww", "secret-ww\n", 10, 0666);
	assert_int_equal(credential_load(ref_for("ww"), &s, &d), -EPERM);
	assert_non_null(strstr(d.msg, "writable"));

	write_file("multi", "line1\nline2\n", 12, 0600);
	assert_int_equal(credential_load(ref_for("multi"), &s, &d), -EINVAL);
	assert_null(strstr(d.msg, "line1"));
	write_file("nul", "ab\0cd", 5, 0600);
	assert_int_equal(credential_load(ref_for("nul"), &s, &d), -EINVAL);
	assert_null(s.data);
}

/* A fake `op` in dir/opbin, first on PATH. */
static void fake_op(const char *script)
{
	char p[600], bin[600];
	(void)snprintf(bin, sizeof(bin), "%s/opbin", dir);
	(void)mkdir(bin, 0700);
	(void)snprintf(p, sizeof(p), "opbin/op");
	write_file(p, script, strlen(script), 0700);
	char path[2048];
	(void)snprintf(path, sizeof(path), "%s:%s", bin, saved_path);
	setenv("PATH", path, 1);
}

static void test_op(void **state)
{
	(void)state;
	struct secret s = {0};
	struct diag d = {{0}};

	/* The fake checks it was called as `op read REF` and prints the secret. */
	fake_op("#!/bin/sh\n[ \"$1\" = read ] && [ \"$2\" = op://Dev/OpenAI/credential ] "
		"&& [ $# -eq 2 ] || exit 3\necho op-secret-value\n");
	assert_int_equal(credential_load("op://Dev/OpenAI/credential", &s, &d), 0);
	assert_string_equal(s.data, "op-secret-value");
	secret_wipe(&s);

	/* Failure: exit status named, its output (stdout and stderr) never echoed. */
	fake_op("#!/bin/sh\necho LEAKED-STDOUT\necho LEAKED-STDERR >&2\nexit 1\n");
	assert_int_equal(credential_load("op://Dev/x/y", &s, &d), -EIO);
	assert_non_null(strstr(d.msg, "exit status 1"));
	assert_non_null(strstr(d.msg, "op://Dev/x/y"));
	assert_null(strstr(d.msg, "LEAKED"));

	/* Hangs: killed after the timeout. */
	fake_op("#!/bin/sh\nexec sleep 30\n");
	credential_set_op_timeout(300);
	assert_int_equal(credential_load("op://Dev/x/y", &s, &d), -ETIMEDOUT);
	credential_set_op_timeout(0);

	/* Floods: bounded. */
	fake_op("#!/bin/sh\nexec cat /dev/zero\n");
	assert_int_equal(credential_load("op://Dev/x/y", &s, &d), -E2BIG);
	fake_op("#!/bin/sh\nexit 0\n");
	assert_int_equal(credential_load("op://Dev/x/y", &s, &d), -ENODATA);

	/* Not installed. */
	setenv("PATH", "/nonexistent-dir", 1);
	assert_int_equal(credential_load("op://Dev/x/y", &s, &d), -EOPNOTSUPP);
	assert_non_null(strstr(d.msg, "not installed"));
	setenv("PATH", saved_path, 1);
	assert_int_equal(credential_load("op://", &s, &d), -EINVAL);
	assert_null(s.data);
}

static void test_apple_and_unknown(void **state)
{
	(void)state;
	struct secret s = {0};
	struct diag d = {{0}};
	assert_int_equal(credential_load("apple-password://github.com/alice@example.com", &s, &d),
			 -EOPNOTSUPP);
	assert_non_null(strstr(d.msg, "not available on Linux"));
	assert_int_equal(credential_load("vault://x", &s, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown source"));
	assert_true(credential_ref_is_uri("op://a/b/c"));
	assert_false(credential_ref_is_uri("openai_api_key"));
}

static void test_keyring_without_dbus(void **state)
{
	(void)state;
	struct secret s = {0};
	struct diag d = {{0}};
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	setenv("XDG_RUNTIME_DIR", dir, 1); /* no "bus" socket inside */
	assert_int_equal(credential_load("openai_api_key", &s, &d), -EOPNOTSUPP);
	assert_non_null(strstr(d.msg, "openai_api_key"));
	if (credential_have_keyring())
		assert_non_null(strstr(d.msg, "D-Bus"));
	else
		assert_non_null(strstr(d.msg, "without libsecret"));
	assert_null(s.data);
	char bad[4] = {'a', 1, 'b', 0};
	assert_int_equal(credential_load(bad, &s, &d), -EINVAL);
}

/* The secret's mapping is excluded from core dumps ("dd" in smaps VmFlags). */
static void test_secret_memory(void **state)
{
	(void)state;
	struct secret s = {0};
	assert_int_equal(secret_from_buf("abc", 3, &s), 0);
	assert_string_equal(s.data, "abc");
	FILE *f = fopen("/proc/self/smaps", "re");
	assert_non_null(f);
	char line[512];
	bool in = false, dd = false, wf = false;
	uintptr_t a = (uintptr_t)s.data;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && startswith(line, "VmFlags:")) {
			dd = strstr(line, " dd") != NULL;
			wf = strstr(line, " wf") != NULL;
		}
	}
	fclose(f);
	assert_true(dd);
	assert_true(wf);
	/* A child forked later sees zeros; only a fork bracketed by secret_fork_keep gets
	 * the value (the proxy process). */
	for (int keep = 0; keep < 2; keep++) {
		int st;
		assert_int_equal(secret_fork_keep(&s, keep), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(memcmp(s.data, "abc", 3) == 0 ? 1 : s.data[0] == 0 ? 0 : 2);
		assert_int_equal(secret_fork_keep(&s, false), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), keep ? 1 : 0);
	}
	assert_string_equal(s.data, "abc");
	secret_wipe(&s);
	assert_null(s.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_file_hostile),
	    cmocka_unit_test(test_op),
	    cmocka_unit_test(test_apple_and_unknown),
	    cmocka_unit_test(test_keyring_without_dbus),
	    cmocka_unit_test(test_secret_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
