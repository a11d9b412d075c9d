/* SPDX-License-Identifier: Apache-2.0 */
/* Removing ended sessions: see session-prune.h. */
#include "supervisor/session-prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/parse.h"
#include "base/toml.h"

/* How deep a session's tree may go: its /tmp is the agent's, nesting included. */
#define REMOVE_DEPTH_MAX 256

int session_parse_duration(const char *s, int64_t *ret_seconds)
{
	uint64_t v = 0, unit = 1;
	size_t n = 0;
	if (!s)
		return -EINVAL;
	while (s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (uint64_t)(s[n] - '0');
		if (v > (uint64_t)SESSION_DURATION_MAX)
			return -EINVAL;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	switch (s[n]) {
	case 0:
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 24 * 3600;
		break;
	case 'w':
		unit = 7 * 24 * 3600;
		break;
	default:
		return -EINVAL;
	}
	if (s[n] && s[n + 1])
		return -EINVAL;
	if (v > (uint64_t)SESSION_DURATION_MAX / unit)
		return -EINVAL;
	*ret_seconds = (int64_t)(v * unit);
	return 0;
}

int session_prune_limits_load(const char *path, struct session_prune_opts *o, struct diag *d)
{
	_cleanup_toml_ struct toml_doc *doc = NULL;
	struct session_prune_opts r = *o;
	int rr = toml_parse_file(path, &doc, d);
	if (rr == -ENOENT)
		return 0;
	if (rr < 0)
		return rr;
	for (size_t i = 0; i < doc->n; i++) {
		const struct toml_entry *e = &doc->entries[i];
		if (!streq(e->table, "sessions"))
			continue;
		if (streq(e->key, "keep") && e->type == TOML_INTEGER)
			r.keep = (uint64_t)e->i;
		else if (streq(e->key, "older_than") && e->type == TOML_STRING) {
			if (session_parse_duration(e->str, &r.older_than) < 0) {
				diag_set(d, path, e->line, e->column,
					 "[sessions] older_than: '%s' is not a duration (e.g. 30m, "
					 "12h, 7d, 2w)",
					 e->str);
				return -EINVAL;
			}
		} else {
			diag_set(d, path, e->line, e->column,
				 streq(e->key, "keep") || streq(e->key, "older_than")
				     ? "[sessions] %s: wrong type (keep is an integer, older_than "
				       "a string such as \"7d\")"
				     : "[sessions] unknown key '%s' (known: keep, older_than)",
				 e->key);
			return -EINVAL;
		}
	}
	*o = r;
	return 0;
}

size_t session_prune_select(const struct session_record *v, size_t n,
			    const struct session_prune_opts *o, int64_t now, bool *sel)
{
	uint64_t newer_ended = 0;
	size_t count = 0;
	/* Newest first, so --keep counts from the newest ended session. */
	for (size_t k = n; k-- > 0;) {
		const struct session_record *r = &v[k];
		sel[k] = false;
		if (r->state == SESSION_RUNNING)
			continue;
		int64_t when = r->state == SESSION_EXITED && r->ended > 0 ? r->ended : r->started;
		bool kept = newer_ended < o->keep;
		newer_ended++;
		if (kept || (o->older_than > 0 && now - when < o->older_than))
			continue;
		sel[k] = true;
		count++;
	}
	return count;
}

static int open_beneath(int at, const char *path, bool xdev)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS | (xdev ? RESOLVE_NO_XDEV : 0)};
	int fd = (int)syscall(SYS_openat2, at, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Empty the directory fd (on device dev), depth levels down at most. */
static int empty_dir(int fd, dev_t dev, int depth)
{
	if (depth > REMOVE_DEPTH_MAX)
		return -ELOOP;
	/* The agent may have left a directory without write or search permission. */
	(void)fchmod(fd, 0700);
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return -errno;
	DIR *dir = fdopendir(dupfd);
	if (!dir) {
		int r = -errno;
		(void)close(dupfd);
		return r;
	}
	int rr = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		struct stat st;
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rr = -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) {
				rr = -EXDEV; /* a mount point: not ours to empty */
				continue;
			}
			int sub = open_beneath(fd, e->d_name, true);
			int r = sub < 0 ? sub : empty_dir(sub, dev, depth + 1);
			if (sub >= 0)
				(void)close(sub);
			if (r >= 0 && unlinkat(fd, e->d_name, AT_REMOVEDIR) < 0)
				r = -errno;
			if (r < 0)
				rr = r;
		} else if (unlinkat(fd, e->d_name, 0) < 0)
			rr = -errno;
	}
	(void)closedir(dir);
	return rr;
}

int session_remove(const char *home, const char *id)
{
	_cleanup_close_ int home_fd = -EBADF, sessions_fd = -EBADF, fd = -EBADF;
	struct stat st;
	if (!home || home[0] != '/')
		return -EINVAL;
	if (!id[0] || id[0] == '.' || strchr(id, '/'))
		return -EINVAL;
	home_fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0)
		return -errno;
	sessions_fd = open_beneath(home_fd, ".nono/sessions", false);
	if (sessions_fd < 0)
		return sessions_fd;
	fd = open_beneath(sessions_fd, id, true);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	int r = empty_dir(fd, st.st_dev, 0);
	if (r < 0)
		return r;
	if (unlinkat(sessions_fd, id, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}
