// SPDX-License-Identifier: Apache-2.0
/*
 * slow-attack: the latency of a well-behaved proxy client while others misbehave.
 *   slow-attack server
 *       A flood origin on 127.0.0.1:0 (port on stdout): every connection is sent
 *       zeros until it stops reading (a forked writer per connection). Lives until
 *       killed.
 *   slow-attack run ORIGIN_PORT FLOOD_PORT N_SLOW N_NOREAD N_REQ [PROXY_URL]
 *       N_REQ sequential cycles of a normal client (connect to the proxy, CONNECT
 *       127.0.0.1:ORIGIN_PORT with the token, "GET / HTTP/1.1", read to EOF, close),
 *       first on a quiet proxy, then while a forked attacker holds N_SLOW connections
 *       that never finish their request head (re-opened as soon as the proxy drops
 *       them) and N_NOREAD tunnels to the flood origin that are never read.
 *       PROXY_URL as in connect-storm (default $HTTPS_PROXY).
 * Prints "quiet p50 <ms> p99 <ms> failed <n> attack p50 <ms> p99 <ms> failed <n>"
 * and exits 1 when a cycle failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in proxy;
static char auth[512];

static void b64(const unsigned char *p, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*out++ = t[v >> 18];
		*out++ = t[(v >> 12) & 63];
		*out++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
		*out++ = i + 2 < n ? t[v & 63] : '=';
	}
	*out = 0;
}

/* http://[user:pass@]127.0.0.1:port[/] */
static int parse_proxy(const char *url)
{
	char buf[512], *p, *at, *colon;
	if (!url || strncmp(url, "http://", 7) != 0 ||
	    snprintf(buf, sizeof buf, "%s", url + 7) >= (int)sizeof buf)
		return -1;
	if ((p = strchr(buf, '/')))
		*p = 0;
	p = buf;
	if ((at = strrchr(buf, '@'))) {
		char enc[400];
		*at = 0;
		if (strlen(buf) > 290)
			return -1;
		b64((const unsigned char *)buf, strlen(buf), enc);
		snprintf(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", enc);
		p = at + 1;
	}
	if (!(colon = strrchr(p, ':')))
		return -1;
	*colon = 0;
	proxy.sin_family = AF_INET;
	proxy.sin_port = htons((unsigned short)strtoul(colon + 1, NULL, 10));
	return inet_pton(AF_INET, p, &proxy.sin_addr) == 1 ? 0 : -1;
}

static int dial(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct timeval tv = {.tv_sec = 10};
	if (s < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(s, (struct sockaddr *)&proxy, sizeof proxy) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* CONNECT 127.0.0.1:port; 0 once the 200 head is read (nothing beyond it). */
static int tunnel(int s, unsigned port)
{
	char b[1024];
	int n = snprintf(b, sizeof b, "CONNECT 127.0.0.1:%u HTTP/1.1\r\n%s\r\n", port, auth);
	size_t got = 0;
	if (write(s, b, (size_t)n) != n)
		return -1;
	while (got < sizeof b - 1) {
		ssize_t r = read(s, b + got, 1); /* stop exactly at the head's end */
		if (r <= 0)
			return -1;
		b[++got] = 0;
		if (got >= 4 && memcmp(b + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(b, "HTTP/1.1 200", 12) == 0)
		return 0;
	fprintf(stderr, "slow-attack: CONNECT refused: %.*s\n", (int)strcspn(b, "\r\n"), b);
	return -1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One normal cycle; its latency in ms, or -1. */
static double cycle(unsigned origin)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char b[4096];
	double t0 = now_ms();
	int s = dial(), ok = 0;
	if (s < 0)
		perror("slow-attack: connect to the proxy");
	if (s >= 0 && tunnel(s, origin) == 0 && write(s, get, sizeof get - 1) > 0) {
		ssize_t r;
		size_t total = 0;
		while ((r = read(s, b, sizeof b)) > 0)
			total += (size_t)r;
		ok = r == 0 && total > 12;
	}
	if (s >= 0)
		close(s);
	return ok ? now_ms() - t0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Runs n cycles; prints "p50 .. p99 .. failed .."; returns the failures. */
static int series(const char *name, unsigned origin, int n)
{
	double *l = calloc((size_t)n, sizeof *l);
	int ok = 0;
	for (int i = 0; l && i < n; i++) {
		double t = cycle(origin);
		if (t >= 0)
			l[ok++] = t;
	}
	if (l && ok)
		qsort(l, (size_t)ok, sizeof *l, cmp);
	printf("%s p50 %.2f p99 %.2f failed %d ", name, ok ? l[ok / 2] : -1.0,
	       ok ? l[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1] : -1.0, n - ok);
	fflush(stdout);
	free(l);
	return n - ok;
}

_Noreturn static void attacker(unsigned flood, int n_slow, int n_noread, int ready)
{
	static const char part[] = "CONNECT 127.0.0.1:1 HTTP/1.1\r\nX-Slow: ";
	struct pollfd *pf = calloc((size_t)n_slow, sizeof *pf);
	if (!pf)
		_exit(1);
	for (int i = 0; i < n_noread; i++) { /* held open, never read */
		int s = dial();
		if (s >= 0 && tunnel(s, flood) < 0)
			close(s);
	}
	for (int i = 0; i < n_slow; i++) {
		pf[i] = (struct pollfd){dial(), POLLIN, 0};
		(void)!write(pf[i].fd, part, sizeof part - 1);
	}
	(void)!write(ready, "x", 1);
	for (;;) {
		if (poll(pf, (nfds_t)n_slow, 1000) <= 0)
			continue;
		for (int i = 0; i < n_slow; i++)
			if (pf[i].revents) { /* dropped by the proxy: straight back */
				if (pf[i].fd >= 0)
					close(pf[i].fd);
				pf[i].fd = dial();
				(void)!write(pf[i].fd, part, sizeof part - 1);
				pf[i].revents = 0;
			}
	}
}

static int flood_server(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	static char zeros[65536];
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 128) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return 1;
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			while (send(c, zeros, sizeof zeros, MSG_NOSIGNAL) > 0)
				;
			_exit(0);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "server") == 0)
		return flood_server();
	if (argc < 7 || parse_proxy(argc > 7 ? argv[7] : getenv("HTTPS_PROXY")) < 0) {
		fprintf(stderr, "usage: slow-attack server | run ORIGIN_PORT FLOOD_PORT N_SLOW "
				"N_NOREAD N_REQ [PROXY_URL]\n");
		return 2;
	}
	unsigned origin = (unsigned)strtoul(argv[2], NULL, 10);
	unsigned flood = (unsigned)strtoul(argv[3], NULL, 10);
	int n_slow = atoi(argv[4]), n_noread = atoi(argv[5]), n_req = atoi(argv[6]);
	struct rlimit rl;
	int p[2];
	char x;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	int failed = series("quiet", origin, n_req);
	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		attacker(flood, n_slow, n_noread, p[1]);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &x, 1) != 1)
		return 1;
	usleep(500 * 1000); /* let the proxy take the whole flood in */
	failed += series("attack", origin, n_req);
	printf("\n");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return failed ? 1 : 0;
}
