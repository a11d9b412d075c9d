/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A detached session's control socket, tried from inside the sandbox
 * (src/supervisor/session-control.h).
 *
 *   probe-ctl connect PATH   connect a SOCK_SEQPACKET socket to PATH; when that works,
 *                            send the hello and read the supervisor's answer
 *   probe-ctl fds            look for an inherited AF_UNIX socket among the open fds
 *
 * Exit: 0 connected and accepted ('R'), 4 connected and refused ('X', the reason on
 *       stderr), 5 connected but no answer; connect errors as errnos: 1 EPERM, 2 ENOENT,
 *       13 EACCES, 111 ECONNREFUSED, 99 other. fds: 0 none, 3 one found (its number on
 *       stderr). 64 usage.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe-common.h"

static const int extra[] = {ECONNREFUSED, 0};

static int try_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	unsigned char b[1100];
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "path too long\n");
		return 64;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return probe_exit(errno, extra);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return probe_exit(errno, extra);
	unsigned char hello[5] = {'H', 24, 0, 80, 0};
	/* A refusal may come (and the peer close) before the hello is sent: read anyway. */
	(void)send(fd, hello, sizeof(hello), MSG_NOSIGNAL);
	ssize_t n = recv(fd, b, sizeof(b) - 1, 0);
	if (n <= 0)
		return 5;
	b[n] = 0;
	fprintf(stderr, "%c %s\n", b[0], (const char *)b + 1);
	return b[0] == 'R' ? 0 : b[0] == 'X' ? 4 : 5;
}

static int scan_fds(void)
{
	for (int fd = 3; fd < 4096; fd++) {
		int dom = 0;
		socklen_t l = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) == 0 && dom == AF_UNIX) {
			fprintf(stderr, "fd %d is an AF_UNIX socket\n", fd);
			return 3;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "connect") == 0)
		return try_connect(argv[2]);
	if (argc == 2 && strcmp(argv[1], "fds") == 0)
		return scan_fds();
	fprintf(stderr, "usage: probe-ctl connect PATH | fds\n");
	return 64;
}
