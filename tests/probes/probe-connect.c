/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-connect HOST PORT [tcp|udp]   (HOST numeric IPv4 or IPv6; default tcp)
 *   Creates the socket and connects (for udp, connect() then send() one byte).
 * Exit: 0 connected, 1 EPERM, 13 EACCES, 97 EAFNOSUPPORT, 93 EPROTONOSUPPORT,
 *       111 ECONNREFUSED, 101 ENETUNREACH, 110 ETIMEDOUT, 99 other, 64 usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe-common.h"

int main(int argc, char **argv)
{
	static const int extra[] = {EAFNOSUPPORT, EPROTONOSUPPORT, ECONNREFUSED,
				    ENETUNREACH,  ETIMEDOUT,	   0};
	struct sockaddr_storage ss = {0};
	socklen_t len;
	bool udp = argc == 4 && strcmp(argv[3], "udp") == 0;
	char *end;
	long port;
	int s;

	if (argc < 3 || argc > 4 || (argc == 4 && !udp && strcmp(argv[3], "tcp") != 0)) {
		fprintf(stderr, "usage: probe-connect HOST PORT [tcp|udp]\n");
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
	s = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (s < 0)
		return probe_exit(errno, extra);
	if (connect(s, (struct sockaddr *)&ss, len) < 0)
		return probe_exit(errno, extra);
	if (udp && send(s, "x", 1, 0) < 0)
		return probe_exit(errno, extra);
	close(s);
	return probe_exit(0, extra);
}
