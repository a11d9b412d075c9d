// SPDX-License-Identifier: Apache-2.0
/*
 * connect-storm: many short connections, for connections per second.
 *   connect-storm direct HOST PORT N K
 *   connect-storm proxy  HOST PORT N K [PROXY_URL]
 * Each of K forked workers runs N/K cycles one after another:
 *   direct: connect(HOST:PORT), "GET / HTTP/1.1", read to EOF, close
 *   proxy:  connect(proxy), "CONNECT HOST:PORT" (+ Proxy-Authorization: Basic from the
 *           URL's user:password), expect 200, then the same GET through the tunnel,
 *           read to EOF, close
 * PROXY_URL is http://[user:pass@]host:port; without it $HTTPS_PROXY is used (inside
 * `nono run` that is the sandbox's proxy, token included).
 * Prints "conns/s <rate> ok <n> failed <n> seconds <t>" on stdout; exit 1 if any failed.
 *   connect-storm sink HOST PORT
 * Checks the origin itself: one direct GET /big read to EOF into a 1 MiB buffer (no
 * curl in the way), prints "MB/s <rate> bytes <n>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target, proxy;
static char auth[512]; /* "Proxy-Authorization: Basic ...\r\n" or "" */
static char host_port[300];

static void b64(const char *in, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i;
	const unsigned char *p = (const unsigned char *)in;
	for (i = 0; i + 2 < n; i += 3) {
		*out++ = t[p[i] >> 2];
		*out++ = t[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*out++ = t[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*out++ = t[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*out++ = t[p[i] >> 2];
		*out++ = t[(p[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		*out++ = t[p[i] >> 2];
		*out++ = t[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*out++ = t[(p[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = 0;
}

static int addr(const char *host, const char *port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)atoi(port));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

/* http://[user:pass@]host:port[/] -> proxy address and auth header. */
static int parse_proxy(const char *url)
{
	char buf[512], *p, *at, *colon;
	if (strncmp(url, "http://", 7) != 0 || strlen(url) >= sizeof buf)
		return -1;
	strcpy(buf, url + 7);
	if ((p = strchr(buf, '/')))
		*p = 0;
	p = buf;
	if ((at = strrchr(buf, '@'))) {
		char cred[256];
		*at = 0;
		snprintf(cred, sizeof cred, "%s", buf);
		char enc[400];
		b64(cred, enc);
		snprintf(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", enc);
		p = at + 1;
	}
	if (!(colon = strrchr(p, ':')))
		return -1;
	*colon = 0;
	return addr(p, colon + 1, &proxy);
}

static int dial(const struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (s < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(s, (const struct sockaddr *)a, sizeof *a) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int send_all(int s, const char *b, size_t n)
{
	while (n) {
		ssize_t r = write(s, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read the CONNECT reply head byte-wise-ish: stop exactly at "\r\n\r\n" so no tunnel
 * byte is eaten (the origin says nothing before our GET anyway). */
static int read_connect_reply(int s)
{
	char b[1024];
	size_t n = 0;
	while (n < sizeof b - 1) {
		ssize_t r = read(s, b + n, sizeof b - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		b[n] = 0;
		if (strstr(b, "\r\n\r\n"))
			return strncmp(b, "HTTP/1.1 200", 12) == 0 || strncmp(b, "HTTP/1.0 200", 12) == 0
				       ? 0
				       : -1;
	}
	return -1;
}

static int one_cycle(int use_proxy)
{
	char req[1024], b[4096];
	int s = dial(use_proxy ? &proxy : &target);
	if (s < 0)
		return -1;
	if (use_proxy) {
		int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
				 host_port, host_port, auth);
		if (send_all(s, req, (size_t)n) < 0 || read_connect_reply(s) < 0)
			goto fail;
	}
	int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
			 host_port);
	if (send_all(s, req, (size_t)n) < 0)
		goto fail;
	size_t got = 0;
	for (;;) {
		ssize_t r = read(s, b, sizeof b);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		if (got == 0 && (r < 12 || strncmp(b, "HTTP/1.1 200", 12) != 0))
			goto fail;
		got += (size_t)r;
	}
	close(s);
	return got ? 0 : -1;
fail:
	close(s);
	return -1;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int sink(void)
{
	static char b[1 << 20];
	char req[512];
	int s = dial(&target);
	if (s < 0)
		return 1;
	int n = snprintf(req, sizeof req, "GET /big HTTP/1.1\r\nHost: %s\r\n\r\n", host_port);
	if (send_all(s, req, (size_t)n) < 0)
		return 1;
	double t0 = now();
	long long got = 0;
	ssize_t r;
	while ((r = read(s, b, sizeof b)) > 0)
		got += r;
	double dt = now() - t0;
	close(s);
	printf("MB/s %.0f bytes %lld\n", (double)got / dt / 1e6, got);
	return r < 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "sink") == 0) {
		if (addr(argv[2], argv[3], &target) < 0)
			return 2;
		snprintf(host_port, sizeof host_port, "%s:%s", argv[2], argv[3]);
		return sink();
	}
	if (argc < 6) {
		fprintf(stderr, "usage: connect-storm direct|proxy HOST PORT N K [PROXY_URL]\n");
		return 2;
	}
	int use_proxy = strcmp(argv[1], "proxy") == 0;
	long total = atol(argv[4]);
	int k = atoi(argv[5]);
	if (k < 1 || total < k || addr(argv[2], argv[3], &target) < 0) {
		fprintf(stderr, "connect-storm: bad arguments\n");
		return 2;
	}
	snprintf(host_port, sizeof host_port, "%s:%s", argv[2], argv[3]);
	if (use_proxy) {
		const char *url = argc > 6 ? argv[6] : getenv("HTTPS_PROXY");
		if (!url || parse_proxy(url) < 0) {
			fprintf(stderr, "connect-storm: no usable proxy URL\n");
			return 2;
		}
	}
	/* Per-worker ok/failed counts in shared memory. */
	long *res = mmap(NULL, sizeof(long) * 2 * (size_t)k, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return 2;
	double t0 = now();
	for (int w = 0; w < k; w++) {
		pid_t p = fork();
		if (p < 0)
			return 2;
		if (p == 0) {
			long per = total / k + (w < total % k), ok = 0, bad = 0;
			for (long i = 0; i < per; i++)
				if (one_cycle(use_proxy) == 0)
					ok++;
				else
					bad++;
			res[2 * w] = ok;
			res[2 * w + 1] = bad;
			_exit(0);
		}
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	double dt = now() - t0;
	long ok = 0, bad = 0;
	for (int w = 0; w < k; w++) {
		ok += res[2 * w];
		bad += res[2 * w + 1];
	}
	printf("conns/s %.0f ok %ld failed %ld seconds %.3f\n", (double)ok / dt, ok, bad, dt);
	return bad ? 1 : 0;
}
