/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System keyring: the freedesktop Secret Service through libsecret (optional at build
 * time, meson feature 'libsecret'). Items are found by the attributes
 * service="nono", account=<name>; items that upstream nono stored with
 * username=<name> are found as a fallback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/macro.h"
#include "credential/credential-keyring.h"

#ifdef HAVE_LIBSECRET
#include <fcntl.h>
#include <dlfcn.h>
#include <libsecret/secret.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYRING_TIMEOUT_MS 30000

bool credential_have_keyring(void)
{
	return true;
}

/*
 * libsecret would otherwise try to autolaunch a bus (dbus-launch, X11), which can
 * hang or spawn daemons: require a session bus that is already there.
 */
static bool session_bus_present(void)
{
	const char *addr = secure_getenv("DBUS_SESSION_BUS_ADDRESS");
	if (addr && *addr)
		return true;
	const char *rt = secure_getenv("XDG_RUNTIME_DIR");
	if (!rt || rt[0] != '/')
		return false;
	_cleanup_free_ char *p = NULL;
	struct stat st;
	if (asprintf(&p, "%s/bus", rt) < 0)
		return false;
	return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

static const SecretSchema nono_schema = {
    .name = "org.freedesktop.Secret.Generic",
    .flags = SECRET_SCHEMA_DONT_MATCH_NAME,
    .attributes =
	{
	    {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {"account", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {"username", SECRET_SCHEMA_ATTRIBUTE_STRING},
	},
};

/*
 * libsecret and GLib (some fifteen libraries) are loaded only in the helper process
 * that does a keyring lookup, never linked into nono: every other run would pay for
 * mapping and relocating them at start-up (measured: several milliseconds per launch).
 */
static struct {
	gchar *(*lookup)(const SecretSchema *, GCancellable *, GError **, ...);
	void (*password_free)(gchar *);
	void (*error_free)(GError *);
	gboolean (*store)(const SecretSchema *, const gchar *, const gchar *, const gchar *,
			  GCancellable *, GError **, ...); /* only `nono trust keygen` needs it */
} ls;

#define LIBSECRET_SONAME "libsecret-1.so.0"

static int load_libsecret(const char *account, struct diag *d)
{
	void *h = dlopen(LIBSECRET_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (h) {
		ls.lookup = (gchar * (*)(const SecretSchema *, GCancellable *, GError **, ...))
		    dlsym(h, "secret_password_lookup_sync");
		ls.password_free = (void (*)(gchar *))dlsym(h, "secret_password_free");
		ls.error_free = (void (*)(GError *))dlsym(h, "g_error_free");
		ls.store = (gboolean(*)(const SecretSchema *, const gchar *, const gchar *,
					const gchar *, GCancellable *, GError **,
					...))dlsym(h, "secret_password_store_sync");
	}
	if (!h || !ls.lookup || !ls.password_free || !ls.error_free) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': the system keyring needs %s (Debian package "
			 "libsecret-1-0), which cannot be loaded: %s",
			 account, LIBSECRET_SONAME, dlerror());
		return -EOPNOTSUPP;
	}
	return 0;
}

static int lookup_here(const char *service, const char *account, gchar **ret, struct diag *d)
{
	GError *err = NULL;
	gchar *v;
	int r = load_libsecret(account, d);
	if (r < 0)
		return r;

	v = ls.lookup(&nono_schema, NULL, &err, "service", service, "account", account, NULL);
	if (!v && !err && streq(service, "nono"))
		v = ls.lookup(&nono_schema, NULL, &err, "service", "nono", "username", account,
			      NULL);
	if (err) {
		/* The message names the bus or service problem, never a secret. */
		diag_set(d, NULL, 0, 0,
			 "credential '%s': the system keyring (Secret Service) is not available: "
			 "%s",
			 account, err->message);
		ls.error_free(err);
		if (v)
			ls.password_free(v);
		return -EOPNOTSUPP;
	}
	if (!v) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': no keyring item with service '%s' and account '%s' "
			 "(store one with: secret-tool store --label=nono service %s account %s)",
			 account, service, account, service, account);
		return -ENOENT;
	}
	*ret = v;
	return 0;
}

/* What the helper sends back: the result, a message, then len bytes of secret. */
struct reply {
	int32_t r;
	uint32_t len;
	char msg[sizeof(((struct diag *)0)->msg)];
};

static int read_full(int fd, void *buf, size_t n, long long deadline)
{
	size_t got = 0;
	while (got < n) {
		long long left = deadline - (long long)now_ms();
		struct pollfd p = {fd, POLLIN, 0};
		int k = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
		ssize_t m = read(fd, (char *)buf + got, n - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			return -errno;
		if (m == 0)
			return -EPIPE;
		got += (size_t)m;
	}
	return 0;
}

static void write_full(int fd, const void *buf, size_t n)
{
	while (n > 0) {
		ssize_t m = write(fd, buf, n);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			_exit(1);
		buf = (const char *)buf + m;
		n -= (size_t)m;
	}
}

/*
 * What a job in the helper process does: set rep->r (and rep->msg through d on
 * failure) and, for a lookup, hand back the secret in *payload (freed with
 * ls.password_free, which wipes it).
 */
typedef int (*keyring_job_fn)(void *arg, gchar **payload, struct diag *d);

/*
 * libsecret runs GLib's D-Bus worker thread, and that thread would stay in the
 * supervisor, which later forks the sandboxed child and the proxy. Every keyring
 * call runs in a short-lived helper process instead, so nono itself stays
 * single-threaded; the result (and a looked-up secret) comes back over a pipe.
 * carry, when set, is a secret the helper needs (a store): it crosses the fork
 * through secret_fork_keep() and is wiped from nothing else. With ret set, the
 * payload is read into a secret buffer. what/account name the call in errors.
 */
static int keyring_helper(keyring_job_fn job, void *arg, const struct secret *carry, char **ret,
			  size_t *ret_len, const char *what, const char *account, struct diag *d)
{
	int pfd[2], r;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	if (carry)
		(void)secret_fork_keep(carry, true);
	pid_t pid = fork();
	if (carry && pid != 0)
		(void)secret_fork_keep(carry, false);
	if (pid < 0) {
		r = -errno;
		(void)close(pfd[0]);
		(void)close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		struct reply rep = {0};
		struct diag cd = {{0}};
		gchar *v = NULL;
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)close(pfd[0]);
		if (carry)
			(void)secret_fork_keep(carry, false);
		rep.r = job(arg, &v, &cd);
		rep.len = v ? (uint32_t)strlen(v) : 0;
		if (rep.r >= 0 && rep.len > CREDENTIAL_MAX_SIZE) {
			rep.r = -E2BIG;
			rep.len = 0;
			(void)snprintf(cd.msg, sizeof(cd.msg),
				       "credential '%s': the keyring item is larger than %d bytes",
				       account, CREDENTIAL_MAX_SIZE);
		}
		memcpy(rep.msg, cd.msg, sizeof(rep.msg));
		write_full(pfd[1], &rep, sizeof(rep));
		if (rep.r >= 0 && v)
			write_full(pfd[1], v, rep.len);
		if (v)
			ls.password_free(v); /* wipes before freeing */
		_exit(0);
	}
	(void)close(pfd[1]);
	_cleanup_close_ int rd = pfd[0];
	long long deadline = (long long)now_ms() + KEYRING_TIMEOUT_MS;
	struct reply rep;
	char *v = NULL;
	r = read_full(rd, &rep, sizeof(rep), deadline);
	if (r >= 0 && rep.r >= 0 && ret) {
		if (rep.len > CREDENTIAL_MAX_SIZE)
			r = -EPROTO;
		else if (!(v = secret_buf_alloc(rep.len)))
			r = -ENOMEM;
		else {
			r = read_full(rd, v, rep.len, deadline);
			v[rep.len] = 0;
		}
	}
	if (r < 0)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r < 0) {
		if (v)
			secret_buf_free(v, rep.len);
		diag_set(d, NULL, 0, 0, "%s: the keyring %s %s", account, what,
			 r == -ETIMEDOUT ? "did not finish within 30 s" : "failed");
		return r;
	}
	if (rep.r < 0) {
		rep.msg[sizeof(rep.msg) - 1] = 0;
		diag_set(d, NULL, 0, 0, "%s", rep.msg);
		return rep.r;
	}
	if (ret) {
		*ret = v;
		*ret_len = rep.len;
	}
	return 0;
}

struct lookup_job {
	const char *service, *account;
};

static int lookup_job(void *arg, gchar **payload, struct diag *d)
{
	const struct lookup_job *j = arg;
	return lookup_here(j->service, j->account, payload, d);
}

int credential_keyring_lookup(const char *account, char **ret, size_t *ret_len, struct diag *d)
{
	return credential_keyring_lookup_in("nono", account, ret, ret_len, d);
}

int credential_keyring_lookup_in(const char *service, const char *account, char **ret,
				 size_t *ret_len, struct diag *d)
{
	if (!session_bus_present()) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is "
			 "unset), so the system keyring (Secret Service) cannot be asked; store "
			 "it in a running keyring or use env://, file:// or op://",
			 account);
		return -EOPNOTSUPP;
	}
	_cleanup_free_ char *who = NULL;
	if (asprintf(&who, "credential '%s'", account) < 0)
		return -ENOMEM;
	struct lookup_job j = {service, account};
	return keyring_helper(lookup_job, &j, NULL, ret, ret_len, "lookup", who, d);
}

void credential_keyring_free(char *value, size_t len)
{
	secret_buf_free(value, len);
}

struct store_job {
	const char *service, *account, *label;
	const struct secret *value;
};

static int store_job(void *arg, gchar **payload, struct diag *d)
{
	const struct store_job *j = arg;
	GError *err = NULL;
	(void)payload;
	int r = load_libsecret(j->account, d);
	if (r < 0)
		return r;
	if (!ls.store) {
		diag_set(d, NULL, 0, 0, "keyring '%s': libsecret lacks secret_password_store_sync",
			 j->account);
		return -EOPNOTSUPP;
	}
	if (!ls.store(&nono_schema, SECRET_COLLECTION_DEFAULT, j->label, j->value->data, NULL, &err,
		      "service", j->service, "account", j->account, NULL)) {
		diag_set(d, NULL, 0, 0,
			 "keyring '%s': the system keyring (Secret Service) did not store it: %s",
			 j->account, err ? err->message : "unknown error");
		if (err)
			ls.error_free(err);
		return -EIO;
	}
	return 0;
}

/*
 * Store value under service/account in the default collection, replacing an item
 * with the same attributes, in the same kind of helper process as a lookup.
 */
int credential_keyring_store(const char *service, const char *account, const char *label,
			     const struct secret *value, struct diag *d)
{
	if (!session_bus_present()) {
		diag_set(d, NULL, 0, 0,
			 "keyring '%s': no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), "
			 "so the system keyring (Secret Service) cannot be written",
			 account);
		return -EOPNOTSUPP;
	}
	_cleanup_free_ char *who = NULL;
	if (asprintf(&who, "keyring '%s'", account) < 0)
		return -ENOMEM;
	struct store_job j = {service, account, label, value};
	return keyring_helper(store_job, &j, value, NULL, NULL, "store", who, d);
}

#else

bool credential_have_keyring(void)
{
	return false;
}

int credential_keyring_lookup(const char *account, char **ret, size_t *ret_len, struct diag *d)
{
	return credential_keyring_lookup_in("nono", account, ret, ret_len, d);
}

int credential_keyring_lookup_in(const char *service, const char *account, char **ret,
				 size_t *ret_len, struct diag *d)
{
	(void)service;
	(void)ret;
	(void)ret_len;
	diag_set(d, NULL, 0, 0,
		 "credential '%s': this build of nono has no system keyring support (built "
		 "without libsecret); use env://, file:// or op://",
		 account);
	return -EOPNOTSUPP;
}

void credential_keyring_free(char *value, size_t len)
{
	secret_buf_free(value, len);
}

int credential_keyring_store(const char *service, const char *account, const char *label,
			     const struct secret *value, struct diag *d)
{
	(void)service;
	(void)label;
	(void)value;
	diag_set(d, NULL, 0, 0,
		 "keyring '%s': this build of nono has no system keyring support (built "
		 "without libsecret); use file://",
		 account);
	return -EOPNOTSUPP;
}

#endif
