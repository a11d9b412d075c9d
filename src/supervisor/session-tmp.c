/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/session-tmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/macro.h"

/*
 * Open directory name beneath at, creating it 0700 first (must_create: it must be new).
 * No symlink is followed. An existing directory must belong to one of the two owners.
 */
static int dir_at(int at, const char *name, bool must_create, uid_t owner, gid_t group, bool give)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	bool made = mkdirat(at, name, 0700) == 0;
	struct stat st;
	int fd, r;

	if (!made && (errno != EEXIST || must_create))
		return -errno;
	fd = (int)syscall(SYS_openat2, at, name, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (made) {
		if ((give && fchown(fd, owner, group) < 0) || fchmod(fd, 0700) < 0) {
			r = -errno;
			goto fail;
		}
	} else if ((st.st_uid != owner && st.st_uid != geteuid()) || (st.st_mode & 0022)) {
		r = -EPERM; /* someone else's, or writable by others: not ours to use */
		goto fail;
	}
	return fd;
fail:
	(void)close(fd);
	return r;
}

static int fresh_id(char **ret)
{
	char *id;
	uint32_t v;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		return -EIO;
	(void)gmtime_r(&t, &tm);
	(void)strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
	if (asprintf(&id, "%s-%08x", ts, v) < 0)
		return -ENOMEM;
	*ret = id;
	return 0;
}

int run_tmp_create(const char *home, const char *id, struct run_tmp *t, struct diag *d)
{
	_cleanup_close_ int home_fd = -EBADF, nono_fd = -EBADF, tmp_fd = -EBADF, var_fd = -EBADF;
	_cleanup_free_ char *real_home = NULL;
	char *path;
	const char *what = ".nono";
	struct stat hst;
	bool give;
	int r;

	if (!home || home[0] != '/') {
		diag_set(d, "$HOME", 0, 0,
			 "cannot create the session's private /tmp: HOME is not an absolute path; "
			 "set HOME or pass --shared-tmp");
		return -EINVAL;
	}
	r = id ? ((t->id = strdup(id)) ? 0 : -ENOMEM) : fresh_id(&t->id);
	if (r < 0)
		return r;
	/* Canonical: the child opens these paths without following any symlink. */
	real_home = realpath(home, NULL);
	if (!real_home) {
		r = -errno;
		what = home;
		goto fail;
	}
	/* asprintf leaves its pointer undefined on failure: never hand that to free(). */
	if (asprintf(&path, "%s/.nono/sessions/%s/tmp", real_home, t->id) < 0)
		return -ENOMEM;
	t->tmp = TAKE_PTR(path);
	if (asprintf(&path, "%s/.nono/sessions/%s/var-tmp", real_home, t->id) < 0)
		return -ENOMEM;
	t->var_tmp = TAKE_PTR(path);
	home_fd = open(real_home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0 || fstat(home_fd, &hst) < 0) {
		r = -errno;
		what = home;
		goto fail;
	}
	/* As root in another user's home: the shared directories are theirs. */
	give = geteuid() == 0 && hst.st_uid != 0;
	if ((nono_fd = dir_at(home_fd, ".nono", false, hst.st_uid, hst.st_gid, give)) < 0) {
		r = nono_fd;
		goto fail;
	}
	what = "sessions";
	if ((t->sessions_fd = dir_at(nono_fd, "sessions", false, hst.st_uid, hst.st_gid, give)) <
	    0) {
		r = t->sessions_fd;
		goto fail;
	}
	what = t->id;
	if ((t->session_fd = dir_at(t->sessions_fd, t->id, true, hst.st_uid, hst.st_gid, give)) <
	    0) {
		r = t->session_fd;
		goto fail;
	}
	what = "tmp";
	if ((tmp_fd = dir_at(t->session_fd, "tmp", true, geteuid(), getegid(), false)) < 0) {
		r = tmp_fd;
		goto fail;
	}
	what = "var-tmp";
	if ((var_fd = dir_at(t->session_fd, "var-tmp", true, geteuid(), getegid(), false)) < 0) {
		r = var_fd;
		goto fail;
	}
	return 0;
fail:
	diag_set(d, home, 0, 0,
		 "cannot create the session's private /tmp ('%s' under '%s/.nono/sessions'): "
		 "%s%s; or pass --shared-tmp",
		 what, home, strerror(-r),
		 r == -ELOOP || r == -ENOTDIR ? " (a path component is a symbolic link or not a "
						"directory)"
		 : r == -EPERM		      ? " (owned by another user or writable by others)"
					      : "");
	return r;
}

bool run_tmp_used(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	bool used = false;

	if (!dir)
		return false;
	while (!used && (e = readdir(dir)))
		used = !streq(e->d_name, ".") && !streq(e->d_name, "..");
	(void)closedir(dir);
	return used;
}

void run_tmp_finish(struct run_tmp *t)
{
	if (t->session_fd >= 0) {
		(void)unlinkat(t->session_fd, "tmp", AT_REMOVEDIR);
		(void)unlinkat(t->session_fd, "var-tmp", AT_REMOVEDIR);
		if (t->sessions_fd >= 0)
			(void)unlinkat(t->sessions_fd, t->id, AT_REMOVEDIR);
	}
	t->session_fd = safe_close(t->session_fd);
	t->sessions_fd = safe_close(t->sessions_fd);
	free(t->tmp);
	free(t->var_tmp);
	free(t->id);
	t->tmp = t->var_tmp = t->id = NULL;
}
