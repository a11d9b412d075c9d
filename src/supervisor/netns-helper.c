/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/netns-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"

/* How long the helper may take to join, and to answer one request. */
#define HELPER_TIMEOUT_MS 5000

struct netns_helper {
	pid_t pid;
	int sock; /* SOCK_SEQPACKET to the helper */
};

/* Send ERR (0 or positive errno) and, when fd >= 0, the fd with it. */
static int send_reply(int sock, int err, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(u.buf, 0, sizeof(u.buf));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Receive {err, fd}: the fd (0 when !want_fd), -err, -EPIPE, -ETIMEDOUT or -EBADMSG. */
static int recv_reply(int sock, bool want_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	int err = 0, fd = -EBADF;
	struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {sock, POLLIN, 0};
	int n;

	while ((n = poll(&p, 1, HELPER_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	ssize_t got;
	while ((got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (got != (ssize_t)sizeof(err) || (mh.msg_flags & MSG_CTRUNC)) {
		safe_close(fd);
		return got == 0 ? -EPIPE : -EBADMSG;
	}
	if (err) {
		safe_close(fd);
		return -(err > 0 ? err : EIO);
	}
	if (!want_fd) {
		safe_close(fd);
		return 0;
	}
	return fd >= 0 ? fd : -EBADMSG;
}

_noreturn_ static void helper_main(int sock, int pidfd, bool join_userns, pid_t parent)
{
	struct stat before, after;
	int req;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Nothing of the supervisor's may reach the agent's side: only these two fds stay. */
	int lo = sock < pidfd ? sock : pidfd, hi = sock < pidfd ? pidfd : sock;
	(void)syscall(SYS_close_range, 3U, (unsigned)lo - 1, 0U);
	(void)syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0U);
	(void)syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0U);
	(void)prctl(PR_SET_DUMPABLE, 0);

	int err = 0;
	if (stat("/proc/self/ns/net", &before) < 0)
		err = errno;
	if (!err && setns(pidfd, (join_userns ? CLONE_NEWUSER : 0) | CLONE_NEWNET) < 0) {
		/* A command that has ended or is ending (setns() says EPERM then, not ESRCH:
		 * its memory is gone) has nothing to forward to: the caller takes ESRCH as
		 * "gone", not as a failure. Its pidfd turns readable once it has exited. */
		struct pollfd gone = {pidfd, POLLIN, 0};
		err = errno;
		if (err == EPERM && poll(&gone, 1, 500) == 1)
			err = ESRCH;
	}
	if (!err && stat("/proc/self/ns/net", &after) < 0)
		err = errno;
	if (!err && after.st_ino == before.st_ino && after.st_dev == before.st_dev)
		err = ELOOP;
	(void)close(pidfd);
	if (send_reply(sock, err, -1) < 0 || err)
		_exit(1);

	for (;;) {
		ssize_t n = recv(sock, &req, sizeof(req), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(req))
			_exit(0); /* EOF: the forwarder is gone */
		int fd = -EBADF;
		err = 0;
		if (req != AF_INET && req != AF_INET6)
			err = EAFNOSUPPORT;
		else if ((fd = socket(req, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			err = errno;
		int r = send_reply(sock, err, fd);
		safe_close(fd);
		if (r < 0)
			_exit(0);
	}
}

int netns_helper_start(int pidfd, bool join_userns, struct netns_helper **ret)
{
	int sv[2];
	if (pidfd < 0 || !ret)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t parent = getpid();
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		safe_close(sv[0]);
		safe_close(sv[1]);
		return r;
	}
	if (pid == 0) {
		(void)close(sv[0]);
		helper_main(sv[1], pidfd, join_userns, parent);
	}
	safe_close(sv[1]);

	struct netns_helper *h = calloc(1, sizeof(*h));
	if (!h) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		safe_close(sv[0]);
		return -ENOMEM;
	}
	h->pid = pid;
	h->sock = sv[0];
	/* The first reply says whether joining worked. */
	int r = recv_reply(h->sock, false);
	if (r < 0) {
		netns_helper_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

int netns_helper_socket(void *helper, int family)
{
	struct netns_helper *h = helper;
	if (!h || h->sock < 0)
		return -EINVAL;
	while (send(h->sock, &family, sizeof(family), MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return recv_reply(h->sock, true);
}

struct netns_helper *netns_helper_free(struct netns_helper *h)
{
	if (!h)
		return NULL;
	h->sock = safe_close(h->sock);
	if (h->pid > 0) {
		(void)kill(h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(h);
	return NULL;
}
