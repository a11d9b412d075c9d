// SPDX-License-Identifier: Apache-2.0
/*
 * connect-bench: the cost of connect(2), for the AF_UNIX mediation benchmark.
 *   connect-bench listen-tcp           listen on 127.0.0.1:0, print the port, accept+close
 *   connect-bench listen-unix PATH     the same on a path socket
 *   connect-bench tcp PORT N           N x (socket, connect 127.0.0.1:PORT, close)
 *   connect-bench unix PATH N          N x (socket, connect PATH, close)
 * The client times its own loop (start-up excluded) and prints
 * "connects/s <rate> us/connect <mean>"; exit 1 on any failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void serve(int s)
{
	if (listen(s, 4096) < 0) {
		perror("listen");
		exit(1);
	}
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int family;

	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "listen-tcp") == 0 || strcmp(argv[1], "tcp") == 0) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = argc > 2 ? htons((uint16_t)atoi(argv[2])) : 0;
		len = sizeof(*a);
	} else if ((strcmp(argv[1], "listen-unix") == 0 || strcmp(argv[1], "unix") == 0) &&
		   argc > 2 && strlen(argv[2]) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		struct sockaddr_un *a = (struct sockaddr_un *)&ss;
		a->sun_family = family = AF_UNIX;
		strcpy(a->sun_path, argv[2]);
		len = sizeof(*a);
	} else
		goto usage;

	if (strncmp(argv[1], "listen-", 7) == 0) {
		int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
		(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (s < 0 || bind(s, (struct sockaddr *)&ss, len) < 0) {
			perror("bind");
			return 1;
		}
		if (family == AF_INET) {
			socklen_t l = len;
			getsockname(s, (struct sockaddr *)&ss, &l);
			printf("%u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
		} else
			printf("ready\n");
		fflush(stdout);
		serve(s);
	}
	if (argc != 4)
		goto usage;
	long n = atol(argv[3]);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&ss, len) < 0) {
			perror("connect");
			return 1;
		}
		close(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("connects/s %.0f us/connect %.2f\n", (double)n / sec, sec * 1e6 / (double)n);
	return 0;
usage:
	fprintf(stderr,
		"usage: connect-bench listen-tcp | listen-unix PATH | tcp PORT N | unix PATH N\n");
	return 64;
}
