// SPDX-License-Identifier: Apache-2.0
/*
 * splice-relay: the benchmark's "best possible" CONNECT relay, the ceiling a userspace
 * relay reaches on this machine. Listens on 127.0.0.1:0, prints the port on stdout,
 * then per accepted connection: reads one request head, takes "CONNECT a.b.c.d:port"
 * (IPv4 literal only; no auth, no filtering, no resolver), connects with a blocking
 * socket, answers 200 and relays both ways with blocking splice() through a pipe
 * of PIPE_SZ bytes (argv[1], default the system's pipe-max-size), one thread per
 * direction. No event loop, no timeouts, no limits: nothing a real proxy could skip.
 * Lives until killed.
 * Usage: splice-relay [PIPE_SZ]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int pipe_sz;

struct dir {
	int src, dst;
};

/* src -> pipe -> dst until EOF, then half-close dst. */
static void relay(int src, int dst)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	(void)fcntl(p[1], F_SETPIPE_SZ, pipe_sz);
	for (;;) {
		ssize_t n = splice(src, NULL, p[1], NULL, (size_t)pipe_sz, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (n > 0) {
			ssize_t w = splice(p[0], NULL, dst, NULL, (size_t)n, SPLICE_F_MOVE);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			n -= w;
		}
	}
out:
	shutdown(dst, SHUT_WR);
	close(p[0]);
	close(p[1]);
}

static void *up_thread(void *arg)
{
	struct dir *d = arg;
	relay(d->src, d->dst);
	return NULL;
}

static void *conn_thread(void *arg)
{
	int c = (int)(long)arg, s = -1, one = 1;
	char head[4096], host[64];
	unsigned port;
	size_t n = 0;

	for (;;) {
		ssize_t r = read(c, head + n, sizeof head - 1 - n);
		if (r <= 0)
			goto out;
		n += (size_t)r;
		head[n] = 0;
		if (strstr(head, "\r\n\r\n"))
			break;
		if (n == sizeof head - 1)
			goto out;
	}
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (sscanf(head, "CONNECT %63[0-9.]:%u ", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &a.sin_addr) != 1)
		goto out;
	a.sin_port = htons((unsigned short)port);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		goto out;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	if (write(c, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1))
		goto out;
	struct dir up = {c, s};
	pthread_t t;
	if (pthread_create(&t, NULL, up_thread, &up) != 0)
		goto out;
	relay(s, c);
	pthread_join(t, NULL);
out:
	if (s >= 0)
		close(s);
	close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	pipe_sz = argc > 1 ? atoi(argv[1]) : 0;
	if (pipe_sz <= 0) {
		FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
		if (!f || fscanf(f, "%d", &pipe_sz) != 1)
			pipe_sz = 1 << 20;
		if (f)
			fclose(f);
	}
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0) {
		perror("splice-relay: listen");
		return 1;
	}
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 64 * 1024);
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_t t;
		if (pthread_create(&t, &at, conn_thread, (void *)(long)c) != 0)
			close(c);
	}
}
