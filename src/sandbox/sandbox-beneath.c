/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox_make_beneath() (sandbox-internal.h): the plan makes the private /tmp's mount
 * points with it, and the child wrap's tmpfs ones. Built like sandbox-exec.c (no
 * AddressSanitizer: the child runs it on a stack of its own) and allocation-free.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

int sandbox_make_beneath(int dir, const char *rel, bool is_dir,
			 int (*made)(void *ud, size_t n, bool dir), void *ud)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	char buf[PATH_MAX];
	size_t len = strlen(rel);
	int fd = dir, r = 0;

	if (len >= sizeof(buf))
		r = -ENAMETOOLONG;
	else
		memcpy(buf, rel, len + 1);
	for (char *c = buf, *next; r == 0 && c; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = 0;
		if (!*c)
			continue; /* an empty component, as in "a//b" */
		if (streq(c, ".") || streq(c, "..")) {
			r = -EINVAL;
			break;
		}
		bool d = (next && next[strspn(next, "/")]) || is_dir, new = false;
		if (d) {
			new = mkdirat(fd, c, 0700) == 0;
			if (!new &&errno != EEXIST)
				r = -errno;
		} else {
			int f = openat(fd, c, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				       0600);
			new = f >= 0;
			if (f < 0 && errno == EEXIST)
				f = openat(fd, c, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
			if (f < 0)
				r = -errno;
			else
				(void)close(f);
			how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
		}
		if (r == 0 && new &&made)
			r = made(ud, (size_t)(c - buf) + strlen(c), d);
		if (r < 0)
			break;
		int sub = (int)syscall(SYS_openat2, fd, c, &how, sizeof(how));
		if (sub < 0)
			r = -errno;
		(void)close(fd);
		fd = sub;
	}
	if (r < 0 && fd >= 0)
		(void)close(fd);
	return r < 0 ? r : fd;
}
