/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws-client: a minimal WebSocket client standing in for an agent (codex's transport)
 * in the reverse-proxy tests. Plain TCP to a loopback http:// URL.
 *
 *   ws-client URL HEADER [MESSAGE...]
 *
 * Sends the handshake (GET, Upgrade: websocket, HEADER as one more header line, and a
 * permessage-deflate offer the proxy must not pass on), prints "STATUS <code>"; then
 * each MESSAGE as one masked text frame, printing every frame that comes back until
 * one with FIN as "RECV <opcode> <fin> <payload>"; at the end a close frame, and
 * "CLOSED <code>" for the answer.
 * Exit: 0 done, 1 usage or I/O failure, 2 handshake not answered with 101,
 *       3 the server closed (a close frame, printed "CLOSE <code>") before the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fd;

static int put(const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int get(void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		ssize_t k = recv(fd, c, n, 0);
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_frame(unsigned op, const char *p, size_t n)
{
	unsigned char h[14], mask[4] = {0x12, 0x34, 0x56, 0x78};
	size_t hl = 2;
	h[0] = (unsigned char)(0x80 | op);
	if (n < 126)
		h[1] = (unsigned char)(0x80 | n);
	else {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	}
	memcpy(h + hl, mask, 4);
	hl += 4;
	char *m = malloc(n + 1);
	if (!m)
		return -1;
	for (size_t i = 0; i < n; i++)
		m[i] = (char)(p[i] ^ mask[i % 4]);
	int r = put(h, hl) < 0 || put(m, n) < 0 ? -1 : 0;
	free(m);
	return r;
}

/* One frame: its opcode, FIN and payload (NUL-terminated, malloc'd). */
static int read_frame(unsigned *op, int *fin, char **pay, size_t *len)
{
	unsigned char h[8];
	if (get(h, 2) < 0)
		return -1;
	*op = h[0] & 0x0f;
	*fin = !!(h[0] & 0x80);
	uint64_t n = h[1] & 0x7f;
	if (h[1] & 0x80)
		return -1; /* a masked server frame */
	if (n == 126) {
		if (get(h, 2) < 0)
			return -1;
		n = (uint64_t)h[0] << 8 | h[1];
	} else if (n == 127) {
		if (get(h, 8) < 0)
			return -1;
		n = 0;
		for (int i = 0; i < 8; i++)
			n = n << 8 | h[i];
	}
	if (n > (1u << 24))
		return -1;
	*pay = malloc(n + 1);
	if (!*pay || get(*pay, n) < 0)
		return -1;
	(*pay)[n] = '\0';
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || strncmp(argv[1], "http://", 7) != 0)
		return 1;
	char host[256];
	const char *a = argv[1] + 7, *path = strchr(a, '/');
	if (!path || (size_t)(path - a) >= sizeof(host))
		return 1;
	memcpy(host, a, (size_t)(path - a));
	host[path - a] = '\0';
	char *colon = strrchr(host, ':');
	if (!colon)
		return 1;
	*colon = '\0';
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10))};
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 1;
	*colon = ':';
	fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 15};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("connect");
		return 1;
	}
	char req[4096];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
			 "Connection: keep-alive, Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
			 "%s\r\n\r\n",
			 path, host, argv[2]);
	if (n <= 0 || (size_t)n >= sizeof(req) || put(req, (size_t)n) < 0)
		return 1;
	/* The response head, byte by byte: frames may follow it at once. */
	char head[8192];
	size_t hl = 0;
	while (hl < 4 || memcmp(head + hl - 4, "\r\n\r\n", 4) != 0) {
		if (hl == sizeof(head) - 1 || get(head + hl, 1) < 0)
			break;
		hl++;
	}
	head[hl] = '\0';
	int status = hl > 12 ? (int)strtol(head + 9, NULL, 10) : 0;
	printf("STATUS %d\n", status);
	if (status != 101) {
		char rest[2048];
		ssize_t k = recv(fd, rest, sizeof(rest) - 1, 0);
		rest[k > 0 ? k : 0] = '\0';
		printf("%s%s\n", head, rest);
		return 2;
	}
	fflush(stdout);
	for (int i = 3; i < argc; i++) {
		if (send_frame(1, argv[i], strlen(argv[i])) < 0)
			return 1;
		for (int fin = 0; !fin;) {
			unsigned op;
			char *pay = NULL;
			size_t len;
			if (read_frame(&op, &fin, &pay, &len) < 0) {
				free(pay);
				printf("EOF\n");
				return 1;
			}
			if (op == 8) {
				printf("CLOSE %u\n", len >= 2
							 ? (unsigned)((unsigned char)pay[0] << 8 |
								      (unsigned char)pay[1])
							 : 0u);
				free(pay);
				return 3;
			}
			printf("RECV %u %d %s\n", op, fin, pay);
			fflush(stdout);
			free(pay);
		}
	}
	const char bye[2] = {0x03, (char)0xe8}; /* 1000 */
	if (send_frame(8, bye, 2) < 0)
		return 1;
	unsigned op;
	int fin;
	char *pay = NULL;
	size_t len;
	if (read_frame(&op, &fin, &pay, &len) < 0 || op != 8) {
		free(pay);
		return 1;
	}
	printf("CLOSED %u\n",
	       len >= 2 ? (unsigned)((unsigned char)pay[0] << 8 | (unsigned char)pay[1]) : 0u);
	free(pay);
	return 0;
}
