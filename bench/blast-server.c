// SPDX-License-Identifier: Apache-2.0
/*
 * blast-server: the benchmark's origin. Listens on 127.0.0.1:0, prints the port on
 * stdout, then answers every HTTP/1.1 request head with 200 and a body:
 *   GET /big    -> SIZE bytes (argv[1], default 1 GiB) of zeros, sent with sendfile()
 *                  from a sparse temp file (no disk, straight from the page cache)
 *   anything else -> "ok\n"
 * One request per connection ("Connection: close"). Runs NWORK forked workers
 * (argv[2], default 4) all blocking in accept() on the same socket, so neither a slow
 * client nor a 1 GiB transfer holds up the others. Lives until killed.
 * Usage: blast-server [SIZE [NWORK]]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int zero_fd;
static long long big_size;

static void serve(int c)
{
	char buf[4096];
	size_t n = 0;
	/* Read until the end of the head (requests here are tiny and carry no body). */
	for (;;) {
		ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = 0;
		if (strstr(buf, "\r\n\r\n") || n == sizeof buf - 1)
			break;
	}
	int big = strncmp(buf, "GET /big ", 9) == 0;
	char head[256];
	long long len = big ? big_size : 3;
	int hl = snprintf(head, sizeof head,
			  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			  "Content-Length: %lld\r\nConnection: close\r\n\r\n%s",
			  len, big ? "" : "ok\n");
	if (write(c, head, (size_t)hl) != hl)
		return;
	if (big) {
		off_t off = 0;
		while (off < big_size) {
			ssize_t r = sendfile(c, zero_fd, &off, (size_t)(big_size - off));
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				return;
			}
		}
	}
	/* Half-close, then drain so the close does not RST away unread data. */
	shutdown(c, SHUT_WR);
	while (read(c, buf, sizeof buf) > 0)
		;
}

int main(int argc, char **argv)
{
	big_size = argc > 1 ? atoll(argv[1]) : 1LL << 30;
	int nwork = argc > 2 ? atoi(argv[2]) : 4;
	char tmpl[] = "/tmp/blast-zero.XXXXXX";
	zero_fd = mkstemp(tmpl);
	if (zero_fd < 0 || ftruncate(zero_fd, big_size) < 0) {
		perror("blast-server: temp file");
		return 1;
	}
	unlink(tmpl);

	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4096) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0) {
		perror("blast-server: listen");
		return 1;
	}
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);

	for (int i = 0; i < nwork; i++) {
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;) {
				int c = accept(s, NULL, NULL);
				if (c < 0)
					continue;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				serve(c);
				close(c);
			}
		}
	}
	/* The parent just waits; the workers die with it (PR_SET_PDEATHSIG). */
	for (;;)
		pause();
}
