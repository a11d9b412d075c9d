/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reverse-load MODE N K: N small GET requests over K keep-alive connections (K forked
 * workers, N/K each), after 20 unmeasured warm-up requests per connection. Prints
 *   reqs=N secs=S rps=R p50_us=A p99_us=B
 * (latencies of every measured request, all workers).
 * MODE direct: HTTPS straight to 127.0.0.1:$BENCH_UPSTREAM_PORT, verified against
 *              SSL_CERT_FILE (what an agent holding the real key would do);
 * MODE proxy:  plain HTTP to $LOCAL_BASE_URL with "x-api-key: $LOCAL_KEY" (what an
 *              agent does inside `nono run --credential local`).
 * Used by bench/reverse.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 20

static SSL *ssl;
static int fd;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int xwrite(const char *p, size_t n)
{
	while (n) {
		ssize_t k;
		if (ssl) {
			size_t put = 0;
			k = SSL_write_ex(ssl, p, n, &put) == 1 ? (ssize_t)put : -1;
		} else
			k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static ssize_t xread(char *p, size_t n)
{
	if (ssl) {
		size_t got = 0;
		return SSL_read_ex(ssl, p, n, &got) == 1 ? (ssize_t)got : -1;
	}
	return read(fd, p, n);
}

/* One request/response; 0 on a 200. */
static int exchange(const char *req, size_t rl)
{
	char buf[16384];
	size_t len = 0;
	char *end = NULL;
	if (xwrite(req, rl) < 0)
		return -1;
	while (!end) {
		ssize_t k = xread(buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	const char *cl = strcasestr(buf, "content-length:");
	size_t want = (size_t)(end - buf) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
	while (len < want) {
		ssize_t k = xread(buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return -1;
		len += (size_t)k;
	}
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 64;
	bool direct = strcmp(argv[1], "direct") == 0;
	long n = strtol(argv[2], NULL, 10), k = strtol(argv[3], NULL, 10);
	if (n <= 0 || k <= 0 || n % k)
		return 64;
	char req[1024], host[64] = "127.0.0.1";
	unsigned port = 0;
	int rl;
	if (direct) {
		const char *p = getenv("BENCH_UPSTREAM_PORT");
		port = p ? (unsigned)strtoul(p, NULL, 10) : 0;
		rl = snprintf(req, sizeof(req),
			      "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
			      "x-api-key: real-key\r\n\r\n",
			      port);
	} else {
		const char *base = getenv("LOCAL_BASE_URL"), *key = getenv("LOCAL_KEY");
		char svc[64];
		if (!base || !key || sscanf(base, "http://%63[^:]:%u/%63s", host, &port, svc) != 3)
			return 64;
		rl = snprintf(req, sizeof(req),
			      "GET /%s/v1/models HTTP/1.1\r\nHost: %s:%u\r\nx-api-key: %s\r\n\r\n",
			      svc, host, port, key);
	}
	uint32_t *lat = mmap(NULL, (size_t)n * sizeof(*lat), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED)
		return 1;
	uint64_t t0 = 0;
	int *go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ready[2];
	if (pipe(ready) < 0)
		return 1;
	for (long w = 0; w < k; w++) {
		if (fork() != 0)
			continue;
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, host, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			_exit(2);
		if (direct) {
			SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
			SSL_CTX_set_default_verify_paths(ctx);
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, fd);
			SSL_set1_host(ssl, "localhost");
			if (SSL_connect(ssl) != 1)
				_exit(3);
		}
		for (int i = 0; i < WARMUP; i++)
			if (exchange(req, (size_t)rl) < 0)
				_exit(4);
		(void)!write(ready[1], "r", 1);
		while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
			usleep(100);
		long per = n / k;
		for (long i = 0; i < per; i++) {
			uint64_t s = now_us();
			if (exchange(req, (size_t)rl) < 0)
				_exit(5);
			lat[w * per + i] = (uint32_t)(now_us() - s);
		}
		_exit(0);
	}
	close(ready[1]); /* a worker that dies before it is ready gives EOF, not a hang */
	for (long w = 0; w < k; w++) {
		char c;
		if (read(ready[0], &c, 1) != 1)
			return 1;
	}
	t0 = now_us();
	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
	int st, bad = 0;
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	double secs = (double)(now_us() - t0) / 1e6;
	if (bad) {
		fprintf(stderr, "reverse-load: a worker failed\n");
		return 1;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("reqs=%ld secs=%.3f rps=%.0f p50_us=%u p99_us=%u\n", n, secs, (double)n / secs,
	       lat[n / 2], lat[(n * 99) / 100]);
	return 0;
}
