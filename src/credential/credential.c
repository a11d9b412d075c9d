/* SPDX-License-Identifier: Apache-2.0 */
#include "credential/credential.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strv.h"
#include "credential/credential-keyring.h"

extern char **environ;

static unsigned op_timeout_ms = CREDENTIAL_OP_TIMEOUT_MS;

void credential_set_op_timeout(unsigned ms)
{
	op_timeout_ms = ms ? ms : CREDENTIAL_OP_TIMEOUT_MS;
}

bool credential_ref_is_uri(const char *ref)
{
	return startswith(ref, "env://") || startswith(ref, "file://") ||
	       startswith(ref, "op://") || startswith(ref, "apple-password://");
}

bool credential_env_name_valid(const char *s)
{
	return env_name_valid(s);
}

/* A scratch buffer of CREDENTIAL_MAX_SIZE + 1 bytes in secret memory. */
struct scratch {
	char *p;
	size_t len;
};

static void scratch_free(struct scratch *s)
{
	secret_buf_free(s->p, CREDENTIAL_MAX_SIZE + 1);
	s->p = NULL;
}

/* Shared tail of every source: one trailing newline off, one printable line, copy. */
static int finish(const char *ref, const char *what, const char *buf, size_t len,
		  struct secret *ret, struct diag *d)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0) {
		diag_set(d, NULL, 0, 0, "credential '%s': %s is empty", ref, what);
		return -ENODATA;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] == 0 || buf[i] == '\n' || buf[i] == '\r') {
			diag_set(d, NULL, 0, 0,
				 "credential '%s': %s contains a line break or NUL byte; a "
				 "credential must be a single line",
				 ref, what);
			return -EINVAL;
		}
	return secret_from_buf(buf, len, ret);
}

/*
 * env:// values already scrubbed from nono's environment, kept (in secret memory) for a
 * second reference to the same variable: two services may share one key.
 */
static struct {
	char name[128];
	struct secret s;
} env_seen[16];

static const struct secret *env_seen_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_seen); i++)
		if (env_seen[i].s.data && streq(env_seen[i].name, name))
			return &env_seen[i].s;
	return NULL;
}

static void env_seen_add(const char *name, const struct secret *s)
{
	if (strlen(name) >= sizeof(env_seen[0].name))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(env_seen); i++)
		if (!env_seen[i].s.data) {
			if (secret_from_buf(s->data, s->len, &env_seen[i].s) >= 0)
				memcpy(env_seen[i].name, name, strlen(name) + 1);
			return;
		}
}

static int load_env(const char *ref, struct secret *ret, struct diag *d)
{
	const char *name = ref + strlen("env://");
	if (!credential_env_name_valid(name)) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': '%s' is not a valid environment variable name", ref,
			 name);
		return -EINVAL;
	}
	const char *v = secure_getenv(name);
	const struct secret *seen = v ? NULL : env_seen_find(name);
	if (seen)
		return secret_from_buf(seen->data, seen->len, ret);
	if (!v || !*v) {
		diag_set(d, NULL, 0, 0, "credential '%s': variable %s is %s", ref, name,
			 v ? "empty" : "not set");
		return -ENOENT;
	}
	size_t n = strlen(v);
	if (n > CREDENTIAL_MAX_SIZE) {
		diag_set(d, NULL, 0, 0, "credential '%s': value is larger than %d bytes", ref,
			 CREDENTIAL_MAX_SIZE);
		return -E2BIG;
	}
	int r = finish(ref, "the variable", v, n, ret, d);
	if (r < 0)
		return r;
	env_seen_add(name, ret);
	/* The secret now lives in secret memory only: overwrite the bytes in nono's
	 * environment (getenv points into it) and drop the variable, so the child forked
	 * later and /proc/<nono>/environ hold no copy. */
	explicit_bzero((char *)v, n);
	(void)unsetenv(name);
	return 0;
}

/* Read all of fd (at most CREDENTIAL_MAX_SIZE + 1 bytes) into s. */
static int read_bounded(int fd, struct scratch *s)
{
	while (s->len <= CREDENTIAL_MAX_SIZE) {
		ssize_t n = read(fd, s->p + s->len, CREDENTIAL_MAX_SIZE + 1 - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		s->len += (size_t)n;
	}
	return -E2BIG;
}

static int load_file(const char *ref, struct secret *ret, struct diag *d)
{
	const char *p = ref + strlen("file://");
	_cleanup_free_ char *path = NULL;
	_cleanup_(scratch_free) struct scratch s = {0};
	struct stat st;
	int r;

	if (startswith(p, "~/")) {
		const char *home = secure_getenv("HOME");
		if (!home || home[0] != '/') {
			diag_set(d, NULL, 0, 0, "credential '%s': $HOME is not an absolute path",
				 ref);
			return -EINVAL;
		}
		if (asprintf(&path, "%s/%s", home, p + 2) < 0)
			return -ENOMEM;
	} else if (p[0] == '/') {
		if (!(path = strdup(p)))
			return -ENOMEM;
	} else {
		diag_set(
		    d, NULL, 0, 0,
		    "credential '%s': the path must be absolute (file:///path or file://~/path)",
		    ref);
		return -EINVAL;
	}

	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it. */
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			diag_set(d, NULL, 0, 0,
				 "credential '%s': '%s' is a symbolic link; name the file itself",
				 ref, path);
		else
			diag_set(d, NULL, 0, 0, "credential '%s': cannot open '%s': %s", ref, path,
				 strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		diag_set(d, NULL, 0, 0, "credential '%s': '%s' is not a regular file", ref, path);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (st.st_mode & S_IWOTH) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': '%s' is writable by every user; chmod o-w it first", ref,
			 path);
		return -EPERM;
	}
	if (st.st_size > CREDENTIAL_MAX_SIZE) {
		diag_set(d, NULL, 0, 0, "credential '%s': '%s' is larger than %d bytes", ref, path,
			 CREDENTIAL_MAX_SIZE);
		return -E2BIG;
	}
	if (!(s.p = secret_buf_alloc(CREDENTIAL_MAX_SIZE + 1)))
		return -ENOMEM;
	r = read_bounded(fd, &s);
	if (r < 0) {
		diag_set(d, NULL, 0, 0, "credential '%s': cannot read '%s': %s", ref, path,
			 r == -E2BIG ? "larger than the size limit" : strerror(-r));
		return r;
	}
	return finish(ref, "the file", s.p, s.len, ret, d);
}

/* The first executable `name` on $PATH, or -ENOENT. */
static int find_in_path(const char *name, char **ret)
{
	const char *pathenv = getenv("PATH");
	_cleanup_strv_free_ char **dirs = NULL;
	int r =
	    strv_split(pathenv && *pathenv ? pathenv : "/usr/local/bin:/usr/bin:/bin", ":", &dirs);
	if (r < 0)
		return r;
	STRV_FOREACH(dir, dirs)
	{
		_cleanup_free_ char *p = NULL;
		struct stat st;
		if ((*dir)[0] != '/')
			continue; /* a relative PATH entry would depend on the cwd */
		if (asprintf(&p, "%s/%s", *dir, name) < 0)
			return -ENOMEM;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	return -ENOENT;
}

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static int load_op(const char *ref, struct secret *ret, struct diag *d)
{
	_cleanup_free_ char *op = NULL;
	_cleanup_(scratch_free) struct scratch s = {0};
	int pfd[2], r;

	if (strlen(ref) <= strlen("op://")) {
		diag_set(d, NULL, 0, 0, "credential '%s': use op://vault/item/field", ref);
		return -EINVAL;
	}
	r = find_in_path("op", &op);
	if (r == -ENOENT) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': the 1Password CLI 'op' is not installed (not found "
			 "in PATH)",
			 ref);
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	if (!(s.p = secret_buf_alloc(CREDENTIAL_MAX_SIZE + 1)))
		return -ENOMEM;
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	_cleanup_close_ int rd = pfd[0];
	char *const argv[] = {(char *)"op", (char *)"read", (char *)ref, NULL};

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		(void)close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		/* Async-signal-safe only from here. */
		if (dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(devnull, 2) < 0)
			_exit(127);
		(void)syscall(__NR_close_range, 3U, ~0U, 0U);
		execve(op, argv, environ);
		_exit(127);
	}
	(void)close(pfd[1]);

	long long deadline = (long long)now_ms() + op_timeout_ms;
	bool timed_out = false, too_big = false;
	for (;;) {
		long long left = deadline - (long long)now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p = {rd, POLLIN, 0};
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			continue;
		if (s.len > CREDENTIAL_MAX_SIZE) {
			too_big = true;
			break;
		}
		ssize_t got = read(rd, s.p + s.len, CREDENTIAL_MAX_SIZE + 1 - s.len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (got == 0)
			break;
		s.len += (size_t)got;
	}
	int status = 0;
	if (timed_out || too_big || r < 0)
		(void)kill(pid, SIGKILL);
	reap(pid, &status);
	if (timed_out) {
		diag_set(d, NULL, 0, 0, "credential '%s': 'op read' did not finish within %u s",
			 ref, (op_timeout_ms + 999) / 1000);
		return -ETIMEDOUT;
	}
	if (too_big) {
		diag_set(d, NULL, 0, 0, "credential '%s': 'op read' returned more than %d bytes",
			 ref, CREDENTIAL_MAX_SIZE);
		return -E2BIG;
	}
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Its stderr went to /dev/null: it may quote secrets or session tokens. */
		if (WIFEXITED(status))
			diag_set(d, NULL, 0, 0,
				 "credential '%s': 'op read' failed with exit status %d (is the "
				 "reference right and are you signed in? try 'op read' yourself)",
				 ref, WEXITSTATUS(status));
		else
			diag_set(d, NULL, 0, 0,
				 "credential '%s': 'op read' was killed by signal %d", ref,
				 WTERMSIG(status));
		return -EIO;
	}
	return finish(ref, "the output of 'op read'", s.p, s.len, ret, d);
}

static int load_keyring(const char *ref, struct secret *ret, struct diag *d)
{
	if (strstr(ref, "://")) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': unknown source; use a keyring account name, env://, "
			 "file://, op:// or apple-password://",
			 ref);
		return -EINVAL;
	}
	if (!ref[0] || strlen(ref) > 256) {
		diag_set(d, NULL, 0, 0, "credential '%.64s': bad keyring account name", ref);
		return -EINVAL;
	}
	for (const char *c = ref; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			diag_set(d, NULL, 0, 0,
				 "bad keyring account name: it contains a control character");
			return -EINVAL;
		}
	char *value = NULL;
	size_t len = 0;
	int r = credential_keyring_lookup(ref, &value, &len, d);
	if (r < 0)
		return r;
	r = finish(ref, "the keyring item", value, len, ret, d);
	credential_keyring_free(value, len);
	return r;
}

int credential_load_keyring_service(const char *service, const char *account, struct secret *ret,
				    struct diag *d)
{
	*ret = (struct secret){0};
	if (!account[0] || strlen(account) > 256) {
		diag_set(d, NULL, 0, 0, "key '%.64s': bad keyring account name", account);
		return -EINVAL;
	}
	for (const char *c = account; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			diag_set(d, NULL, 0, 0,
				 "bad keyring account name: it contains a control character");
			return -EINVAL;
		}
	char *value = NULL;
	size_t len = 0;
	int r = credential_keyring_lookup_in(service, account, &value, &len, d);
	if (r < 0)
		return r;
	r = finish(account, "the keyring item", value, len, ret, d);
	credential_keyring_free(value, len);
	return r;
}

int credential_load(const char *ref, struct secret *ret, struct diag *d)
{
	struct secret s = {0};
	int r;

	*ret = (struct secret){0};
	if (startswith(ref, "env://"))
		r = load_env(ref, &s, d);
	else if (startswith(ref, "file://"))
		r = load_file(ref, &s, d);
	else if (startswith(ref, "op://"))
		r = load_op(ref, &s, d);
	else if (startswith(ref, "apple-password://")) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': apple-password:// needs the macOS Passwords app and "
			 "is not available on Linux; use a keyring account, env://, file:// or "
			 "op://",
			 ref);
		r = -EOPNOTSUPP;
	} else
		r = load_keyring(ref, &s, d);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}
