/* SPDX-License-Identifier: Apache-2.0 */
/* The session's record: see session-state.h. */
#include "supervisor/session-state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/macro.h"

#define RECORD	   "session.json"
#define RECORD_TMP ".session.json.tmp"
#define RECORD_MAX (64 * 1024)

bool session_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SESSION_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

uint64_t session_pid_start(pid_t pid)
{
	char path[64], buf[1024];
	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: fields follow the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* A zombie has ended: a detached supervisor's parent may never reap it. */
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	/* starttime is field 22; after ')' comes field 3. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

const char *session_state_to_string(enum session_state s)
{
	switch (s) {
	case SESSION_RUNNING:
		return "running";
	case SESSION_EXITED:
		return "exited";
	case SESSION_CRASHED:
		return "crashed";
	}
	return "unknown";
}

/* r as the indented JSON text of session.json (malloc'd), or NULL. */
static char *record_text(const struct session_record *r)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", r->id, "name", r->name,
			      "command", r->command, "state", session_state_to_string(r->state),
			      "supervisor_pid", (json_int_t)r->supervisor_pid, "supervisor_start",
			      (json_int_t)r->supervisor_start, "started", (json_int_t)r->started);
	if (!j)
		return NULL;
	if ((r->child_pid > 0 &&
	     json_object_set_new(j, "child_pid", json_integer(r->child_pid)) < 0) ||
	    (r->detail && json_object_update_missing(j, r->detail) < 0) ||
	    (r->state == SESSION_EXITED &&
	     (json_object_set_new(j, "ended", json_integer(r->ended)) < 0 ||
	      json_object_set_new(j, "exit_code", json_integer(r->exit_code)) < 0))) {
		json_decref(j);
		return NULL;
	}
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return text;
}

int session_record_reserve(int dirfd, const struct session_record *r)
{
	char *text = record_text(r);
	if (!text)
		return -ENOMEM;
	/* What the fork adds: the child's pid ("child_pid": N, a line of its own). */
	off_t need = ROUND_UP((off_t)strlen(text) + 64, 4096);
	free(text);
	(void)unlinkat(dirfd, RECORD_TMP, 0);
	int fd =
	    openat(dirfd, RECORD_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r2 = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, need) < 0 ? -errno : 0;
	(void)close(fd);
	/* Without fallocate the write simply takes its chance, as it did. */
	return r2 == -EOPNOTSUPP || r2 == -ENOSYS ? 0 : r2;
}

int session_record_write(int dirfd, const struct session_record *r, bool give, uid_t owner,
			 gid_t group)
{
	char *text = record_text(r);
	if (!text)
		return -ENOMEM;
	/* Into the file session_record_reserve set aside, when it did (else a new one). */
	int fd = openat(dirfd, RECORD_TMP, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rr = 0;
	if (fd < 0)
		rr = -errno;
	else {
		size_t len = strlen(text);
		struct stat st;
		text[len++] = '\n'; /* over the terminating NUL: text is not a string from here */
		if (pwrite(fd, text, len, 0) != (ssize_t)len)
			rr = -EIO;
		else if (fstat(fd, &st) < 0 || (st.st_size > (off_t)len && ftruncate(fd, (off_t)len) < 0))
			rr = -errno;
		else if (give && fchown(fd, owner, group) < 0)
			rr = -errno;
		if (close(fd) < 0 && rr == 0)
			rr = -errno;
		if (rr == 0 && renameat(dirfd, RECORD_TMP, dirfd, RECORD) < 0)
			rr = -errno;
		if (rr < 0)
			(void)unlinkat(dirfd, RECORD_TMP, 0);
	}
	free(text);
	return rr;
}

void session_record_remove(int dirfd)
{
	(void)unlinkat(dirfd, RECORD, 0);
}

static char *dup_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return strdup(s ? s : "");
}

static int load_one(int sessions_fd, const char *id, struct session_record *r)
{
	/* Neither the session directory nor the record may be a symlink: one planted in
	 * ~/.nono/sessions would have ps, inspect and prune act on what it points at. */
	int dfd = openat(sessions_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int fd = openat(dfd, RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	(void)close(dfd);
	if (fd < 0)
		return -errno;
	struct stat st;
	char *buf = NULL;
	int rr = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECORD_MAX)
		rr = -EINVAL;
	else if (!(buf = calloc(1, (size_t)st.st_size + 1)))
		rr = -ENOMEM;
	else if (read(fd, buf, (size_t)st.st_size) != st.st_size)
		rr = -EIO;
	(void)close(fd);
	json_t *j = rr == 0 ? json_loads(buf, 0, NULL) : NULL;
	free(buf);
	if (rr < 0)
		return rr;
	if (!json_is_object(j)) {
		json_decref(j);
		return -EINVAL;
	}
	*r = (struct session_record){
	    .id = dup_str(j, "id"),
	    .name = dup_str(j, "name"),
	    .command = dup_str(j, "command"),
	    .supervisor_pid = (pid_t)json_integer_value(json_object_get(j, "supervisor_pid")),
	    .supervisor_start =
		(uint64_t)json_integer_value(json_object_get(j, "supervisor_start")),
	    .started = json_integer_value(json_object_get(j, "started")),
	    .ended = json_integer_value(json_object_get(j, "ended")),
	    .exit_code = (int)json_integer_value(json_object_get(j, "exit_code")),
	    .child_pid = (pid_t)json_integer_value(json_object_get(j, "child_pid")),
	};
	const char *state = json_string_value(json_object_get(j, "state"));
	bool exited = state && streq(state, "exited");
	r->detail = j; /* the whole record, for inspect */
	if (!r->id || !r->name || !r->command) {
		session_records_free(r, 1);
		return -ENOMEM;
	}
	if (!streq(r->id, id)) {
		session_records_free(r, 1); /* a record must be the one of its directory */
		return -EINVAL;
	}
	if (exited)
		r->state = SESSION_EXITED;
	else if (r->supervisor_pid > 0 && r->supervisor_start != 0 &&
		 session_pid_start(r->supervisor_pid) == r->supervisor_start)
		r->state = SESSION_RUNNING;
	else
		r->state = SESSION_CRASHED;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct session_record *x = a, *y = b;
	if (x->started != y->started)
		return x->started < y->started ? -1 : 1;
	return strcmp(x->id, y->id);
}

int session_records_load(const char *home, struct session_record **ret, size_t *ret_n)
{
	char path[4096];
	*ret = NULL;
	*ret_n = 0;
	if (!home || home[0] != '/')
		return -EINVAL;
	(void)snprintf(path, sizeof(path), "%s/.nono/sessions", home);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	struct session_record *v = NULL;
	size_t n = 0;
	struct dirent *e;
	int rr = 0;
	while ((e = readdir(dir))) {
		struct session_record r;
		if (e->d_name[0] == '.')
			continue;
		if (load_one(dirfd(dir), e->d_name, &r) < 0)
			continue; /* no record (yet), or not one we can read */
		struct session_record *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			session_records_free(&r, 1);
			rr = -ENOMEM;
			break;
		}
		v = nv;
		v[n++] = r;
	}
	(void)closedir(dir);
	if (rr < 0) {
		session_records_free(v, n);
		free(v);
		return rr;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_start);
	*ret = v;
	*ret_n = n;
	return 0;
}

void session_records_free(struct session_record *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].id);
		free(r[i].name);
		free(r[i].command);
		r[i].id = r[i].name = r[i].command = NULL;
		json_decref(r[i].detail);
		r[i].detail = NULL;
	}
}

const struct session_record *session_record_find(const struct session_record *v, size_t n,
						 const char *key)
{
	const struct session_record *by_name = NULL;
	for (size_t i = 0; i < n; i++) {
		if (streq(v[i].id, key))
			return &v[i];
		if (streq(v[i].name, key) && (!by_name || by_name->state != SESSION_RUNNING ||
					      v[i].state == SESSION_RUNNING))
			by_name = &v[i]; /* oldest first: the last match is the newest */
	}
	return by_name;
}

/* The real uid in /proc/PID/status, or (uid_t)-1. */
static uid_t pid_uid(pid_t pid)
{
	char path[64], buf[4096];
	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (uid_t)-1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return (uid_t)-1;
	buf[n] = 0;
	const char *u = strstr(buf, "\nUid:");
	if (!u)
		return (uid_t)-1;
	return (uid_t)strtoul(u + 5, NULL, 10);
}

/* Whether pid holds an fd open on the directory with st's device and inode: the
 * supervisor keeps its session directory open for the whole session. */
static bool holds_dir(pid_t pid, const struct stat *dst)
{
	char path[64];
	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	bool found = false;
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		found = fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode) &&
			st.st_dev == dst->st_dev && st.st_ino == dst->st_ino;
	}
	(void)closedir(d);
	return found;
}

int session_signal(const char *home, const struct session_record *r, int sig)
{
	char dir[4096];
	struct stat dst;
	if (r->state != SESSION_RUNNING || r->supervisor_pid <= 0)
		return -ESRCH;
	if (!home || home[0] != '/')
		return -EINVAL;
	(void)snprintf(dir, sizeof(dir), "%s/.nono/sessions/%s", home, r->id);
	if (lstat(dir, &dst) < 0 || !S_ISDIR(dst.st_mode))
		return -ESRCH;
	int pidfd = (int)syscall(SYS_pidfd_open, r->supervisor_pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	/*
	 * Held open, the pid stays this process's: check it, then signal through the fd.
	 * A record is the user's own file: the process must be the one it names (start
	 * time), ours (real uid), and the supervisor of this very session (it holds the
	 * session directory open), so a forged record cannot aim our signal elsewhere.
	 */
	int rr = 0;
	if (session_pid_start(r->supervisor_pid) != r->supervisor_start)
		rr = -ESRCH;
	else if (pid_uid(r->supervisor_pid) != getuid())
		rr = -EPERM;
	else if (!holds_dir(r->supervisor_pid, &dst))
		rr = -ESRCH;
	else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		rr = -errno;
	(void)close(pidfd);
	return rr;
}
