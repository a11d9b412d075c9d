/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's view of its own spec: a sealed memfd written by the supervisor,
 * read by `nono why --self` inside the sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/parse.h"
#include "query/query.h"

#define STATE_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

int sandbox_state_publish(const struct sandbox_spec *s, int *ret_fd)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!s || !ret_fd)
		return -EINVAL;
	r = spec_to_json(s, &json);
	if (r < 0)
		return r;
	size_t len = strlen(json);
	if (len > SPEC_JSON_MAX)
		return -E2BIG;
	fd = memfd_create("nono-sandbox-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, json + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, STATE_SEALS) < 0)
		return -errno;
	/*
	 * Hand out a read-only description: the seals already forbid every change, this
	 * keeps even the access mode honest. Without /proc the sealed fd itself will do.
	 */
	char proc[64];
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int ro = open(proc, O_RDONLY | O_CLOEXEC);
	if (ro >= 0) {
		safe_close(fd);
		fd = ro;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int sandbox_state_read(const char *fd_str, struct sandbox_spec **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	uint64_t v;

	if (!ret)
		return -EINVAL;
	if (!fd_str || !*fd_str)
		return -ENOENT;
	if (parse_u64(fd_str, INT_MAX, &v) < 0 || v <= 2)
		return -EBADF;
	int fd = (int)v;
	/* Only a memfd nobody can change any more: anything else could be forged. */
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return errno == EBADF ? -EBADF : -EPERM;
	if ((seals & STATE_SEALS) != STATE_SEALS)
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0)
		return -EPERM;
	if ((uint64_t)st.st_size > SPEC_JSON_MAX)
		return -E2BIG;
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; off < len;) {
		ssize_t n = pread(fd, buf + off, len - off, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* cannot shrink: sealed */
		off += (size_t)n;
	}
	buf[len] = 0;
	if (strlen(buf) != len)
		return -EINVAL;
	return spec_from_json(buf, ret);
}
