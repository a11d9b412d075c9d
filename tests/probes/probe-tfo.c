/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-tfo HOST PORT sendto|sendmsg|sendmmsg|fastopen-connect
 *   Tries to open a TCP connection without a plain connect(2): sendto/sendmsg/sendmmsg
 *   with MSG_FASTOPEN on a fresh socket, or setsockopt(TCP_FASTOPEN_CONNECT) followed
 *   by connect(2) and write(2). One byte "x" is sent. HOST is numeric IPv4 or IPv6.
 * Exit: 0 data sent (a connection was opened), 1 EPERM, 13 EACCES, 111 ECONNREFUSED,
 *       107 ENOTCONN, 32 EPIPE, 99 other, 64 usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	static const int extra[] = {ECONNREFUSED, ENOTCONN, EPIPE, 0};
	struct sockaddr_storage ss = {0};
	socklen_t len;
	char *end;
	long port;
	char byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	ssize_t n;
	int s;

	if (argc != 4) {
		fprintf(stderr, "usage: probe-tfo HOST PORT sendto|sendmsg|sendmmsg|"
				"fastopen-connect\n");
		return 64;
	}
	port = strtol(argv[2], &end, 10);
	if (*end || port < 1 || port > 65535)
		return 64;
	if (strchr(argv[1], ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, argv[1], &a->sin6_addr) != 1)
			return 64;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, argv[1], &a->sin_addr) != 1)
			return 64;
		len = sizeof(*a);
	}
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return probe_exit(errno, extra);

	struct msghdr mh = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
	if (strcmp(argv[3], "sendto") == 0)
		n = sendto(s, &byte, 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len);
	else if (strcmp(argv[3], "sendmsg") == 0)
		n = sendmsg(s, &mh, MSG_FASTOPEN);
	else if (strcmp(argv[3], "sendmmsg") == 0) {
		struct mmsghdr mm = {.msg_hdr = mh};
		int k = sendmmsg(s, &mm, 1, MSG_FASTOPEN);
		n = k < 0 ? -1 : k == 1 ? (ssize_t)mm.msg_len : 0;
	} else if (strcmp(argv[3], "fastopen-connect") == 0) {
		int one = 1;
		if (setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)) < 0)
			return probe_exit(errno, extra);
		if (connect(s, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
			return probe_exit(errno, extra);
		n = write(s, &byte, 1);
	} else
		return 64;
	if (n < 0)
		return probe_exit(errno, extra);
	if (n != 1)
		return probe_exit(EIO, extra);
	close(s);
	return probe_exit(0, extra);
}
