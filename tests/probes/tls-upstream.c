/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls-upstream: a local HTTPS (or plain HTTP) server standing in for an API upstream
 * in the reverse-proxy tests and the benchmark. Runs on the host, not in a sandbox.
 *
 *   tls-upstream --port-file FILE [--cert PEM --key PEM] [--log FILE] [--gate FILE]
 *
 * Listens on 127.0.0.1 (port 0: the kernel picks; written to FILE once listening),
 * TLS when --cert/--key are given. One forked process per connection, keep-alive.
 * Each request is appended to --log as one block:
 *   REQ <conn-id> <n-on-conn> <request line>
 *   H <header line>            (each header, as received)
 *   BODY <bytes>
 * Answers by path:
 *   .../stream   text/event-stream, chunked: "data: first", then waits until the
 *                --gate file exists (at most 10 s), then "data: last" (or
 *                "data: last-after-timeout" when the gate never came) and ends
 *   .../status/N status N with a short body
 *   .../eof      a body delimited by closing the connection
 *   .../drop     a 200 with a length, no "Connection: close", then the connection closes
 *   .../echo     every request header reflected, as "X-Echo-N: <line>" response headers
 *                and in the body: raw, base64 of the value and of "user:<value>", every
 *                byte %XX, hex; the body in 7-byte chunks (keys cross chunk boundaries),
 *                or with ?cl a Content-Length, or with ?eof delimited by the close
 *   .../hang     reads the request and never answers; logs "GONE <conn-id>" when the
 *                client side closes the connection
 *   .../slowhead a response head sent one byte a second
 *   .../bulk/N   N bytes of JSON-ish text with a Content-Length (the benchmark)
 *   .../gzip     "Content-Encoding: gzip" whatever was asked (bytes not really gzip)
 *   .../ws       a WebSocket (426 without "Upgrade: websocket"): logs "WS <payload>" for
 *                each client frame and answers it: "key" with a text frame
 *                "key=<value of the x-api-key or Authorization header received>",
 *                "split" with that text in two fragments cut inside the value,
 *                "split2" the same as two messages, "silent" with nothing, "big"
 *                with a frame of 70000 bytes, anything else echoed; a close with a close;
 *                logs "WSGONE <conn-id>" when the client side closes the connection
 *   anything     200 application/json {"ok":true,"path":"<path>"}
 * Exit: 0 on SIGTERM, 64 usage, 1 set-up failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <poll.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static SSL_CTX *ctx;
static const char *log_path, *gate_path;

struct io {
	int fd;
	SSL *ssl;
	char buf[65536];
	size_t len;
};

static ssize_t io_read(struct io *c, char *p, size_t n)
{
	if (c->ssl) {
		size_t got = 0;
		return SSL_read_ex(c->ssl, p, n, &got) == 1 ? (ssize_t)got : 0;
	}
	return read(c->fd, p, n);
}

static int io_write(struct io *c, const char *p, size_t n)
{
	while (n > 0) {
		if (c->ssl) {
			size_t put = 0;
			if (SSL_write_ex(c->ssl, p, n, &put) != 1)
				return -1;
			p += put;
			n -= put;
		} else {
			ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
			if (k <= 0)
				return -1;
			p += k;
			n -= (size_t)k;
		}
	}
	return 0;
}

/* Make sure buf holds at least want bytes; false on EOF. */
static bool fill(struct io *c, size_t want)
{
	while (c->len < want) {
		if (c->len == sizeof(c->buf))
			return false;
		ssize_t k = io_read(c, c->buf + c->len, sizeof(c->buf) - c->len);
		if (k <= 0)
			return false;
		c->len += (size_t)k;
	}
	return true;
}

static void consume(struct io *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void log_block(const char *s, size_t n)
{
	if (!log_path)
		return;
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, s, n);
		close(fd);
	}
}

static bool gate_open(void)
{
	struct stat st;
	return gate_path && stat(gate_path, &st) == 0;
}

static int send_chunk(struct io *c, const char *data)
{
	char hdr[32];
	int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", strlen(data));
	return io_write(c, hdr, (size_t)n) < 0 || io_write(c, data, strlen(data)) < 0 ||
		       io_write(c, "\r\n", 2) < 0
		   ? -1
		   : 0;
}

static void add(char *b, size_t *n, size_t cap, const char *s, size_t l)
{
	if (*n + l < cap) {
		memcpy(b + *n, s, l);
		*n += l;
	}
}

/* The reflections of one header line's value (after "name: ") in the body. */
static void reflect(char *b, size_t *n, size_t cap, const char *line)
{
	const char *v = strchr(line, ':');
	char t[4096], u[2048];
	if (!v)
		return;
	v++;
	while (*v == ' ')
		v++;
	size_t vl = strlen(v);
	if (vl > 512)
		return;
	int k = snprintf(t, sizeof(t), "raw %s\n", line);
	add(b, n, cap, t, (size_t)k);
	k = EVP_EncodeBlock((unsigned char *)u, (const unsigned char *)v, (int)vl);
	k = snprintf(t, sizeof(t), "b64 %.*s\n", k, u);
	add(b, n, cap, t, (size_t)k);
	char up[600];
	int ul = snprintf(up, sizeof(up), "user:%s", v);
	k = EVP_EncodeBlock((unsigned char *)u, (const unsigned char *)up, ul);
	k = snprintf(t, sizeof(t), "basic %.*s\n", k, u);
	add(b, n, cap, t, (size_t)k);
	add(b, n, cap, "pct ", 4);
	for (size_t i = 0; i < vl; i++) {
		k = snprintf(t, sizeof(t), "%%%02X", (unsigned char)v[i]);
		add(b, n, cap, t, (size_t)k);
	}
	add(b, n, cap, "\nhex ", 5);
	for (size_t i = 0; i < vl; i++) {
		k = snprintf(t, sizeof(t), "%02x", (unsigned char)v[i]);
		add(b, n, cap, t, (size_t)k);
	}
	add(b, n, cap, "\n", 1);
}

/* /echo: the request's headers back, in the response head and body. */
static int echo(struct io *c, const char *hdrs, size_t hl, const char *query)
{
	static char head[20000], body[60000];
	size_t h = 0, b = 0;
	int k = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
	h = (size_t)k;
	unsigned i = 0;
	for (size_t o = 0; o < hl; o += strlen(hdrs + o) + 1, i++) {
		k = snprintf(head + h, sizeof(head) - h, "X-Echo-%u: %s\r\n", i, hdrs + o);
		if (k > 0 && (size_t)k < sizeof(head) - h)
			h += (size_t)k;
		reflect(body, &b, sizeof(body), hdrs + o);
	}
	bool chunked = strcmp(query, "cl") != 0 && strcmp(query, "eof") != 0;
	if (strcmp(query, "cl") == 0)
		k = snprintf(head + h, sizeof(head) - h, "Content-Length: %zu\r\n\r\n", b);
	else if (chunked)
		k = snprintf(head + h, sizeof(head) - h, "Transfer-Encoding: chunked\r\n\r\n");
	else
		k = snprintf(head + h, sizeof(head) - h, "Connection: close\r\n\r\n");
	h += (size_t)k;
	if (io_write(c, head, h) < 0)
		return -1;
	if (!chunked)
		return io_write(c, body, b);
	/* 7-byte chunks, each its own write: keys cross chunk and record boundaries. */
	for (size_t o = 0; o < b; o += 7) {
		char piece[8];
		size_t pl = b - o < 7 ? b - o : 7;
		memcpy(piece, body + o, pl);
		piece[pl] = '\0';
		if (send_chunk(c, piece) < 0)
			return -1;
	}
	return io_write(c, "0\r\n\r\n", 5);
}

/* The value of the first header line named name (hdrs: NUL-separated lines), or "". */
static const char *hdr_value(const char *hdrs, size_t hl, const char *name)
{
	size_t nl = strlen(name);
	for (size_t o = 0; o < hl; o += strlen(hdrs + o) + 1)
		if (strncasecmp(hdrs + o, name, nl) == 0 && hdrs[o + nl] == ':') {
			const char *v = hdrs + o + nl + 1;
			while (*v == ' ')
				v++;
			return v;
		}
	return "";
}

static int ws_send(struct io *c, unsigned b0, const char *p, size_t n)
{
	unsigned char h[10];
	size_t hl = 2;
	h[0] = (unsigned char)b0;
	if (n < 126)
		h[1] = (unsigned char)n;
	else if (n < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	return io_write(c, (const char *)h, hl) < 0 || io_write(c, p, n) < 0 ? -1 : 0;
}

/* /ws: the handshake, then frames until the client closes. */
static bool websocket(struct io *c, const char *hdrs, size_t hl, unsigned conn_id)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	const char *key = hdr_value(hdrs, hl, "Sec-WebSocket-Key");
	if (strcasecmp(hdr_value(hdrs, hl, "Upgrade"), "websocket") != 0 || !*key) {
		static const char no[] = "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 11\r\n"
					 "Connection: close\r\n\r\nno upgrade\n";
		(void)io_write(c, no, sizeof(no) - 1);
		return false;
	}
	char cat[256], acc[64], resp[512];
	unsigned char md[20];
	unsigned mdl = 0;
	int n = snprintf(cat, sizeof(cat), "%s%s", key, guid);
	if (n <= 0 || (size_t)n >= sizeof(cat) ||
	    EVP_Digest(cat, (size_t)n, md, &mdl, EVP_sha1(), NULL) != 1)
		return false;
	EVP_EncodeBlock((unsigned char *)acc, md, 20);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		     acc);
	if (io_write(c, resp, (size_t)n) < 0)
		return false;
	const char *cred = hdr_value(hdrs, hl, "x-api-key");
	if (!*cred)
		cred = hdr_value(hdrs, hl, "Authorization");
	for (;;) {
		if (!fill(c, 2)) {
			n = snprintf(resp, sizeof(resp), "WSGONE %u\n", conn_id);
			log_block(resp, (size_t)n);
			return false;
		}
		unsigned op = (unsigned char)c->buf[0] & 0x0f;
		size_t len = (unsigned char)c->buf[1] & 0x7f, hlen = 2;
		if (!((unsigned char)c->buf[1] & 0x80))
			return false; /* a client always masks */
		if (len == 126) {
			if (!fill(c, 4))
				return false;
			len = (size_t)((unsigned char)c->buf[2] << 8 | (unsigned char)c->buf[3]);
			hlen = 4;
		} else if (len == 127)
			return false;
		if (len > 8192 || !fill(c, hlen + 4 + len))
			return false;
		char pay[8200];
		const unsigned char *mask = (const unsigned char *)c->buf + hlen;
		for (size_t i = 0; i < len; i++)
			pay[i] = (char)(c->buf[hlen + 4 + i] ^ mask[i % 4]);
		pay[len] = '\0';
		consume(c, hlen + 4 + len);
		char line[8300];
		n = snprintf(line, sizeof(line), "WS %u %s\n", op, pay);
		log_block(line, (size_t)n);
		if (op == 8) {
			(void)ws_send(c, 0x88, pay, len);
			return false;
		}
		int r;
		if (strcmp(pay, "key") == 0) {
			n = snprintf(line, sizeof(line), "key=%s", cred);
			r = ws_send(c, 0x81, line, (size_t)n);
		} else if (strcmp(pay, "split") == 0) {
			n = snprintf(line, sizeof(line), "key=%s", cred);
			size_t half = 4 + strlen(cred) / 2;
			r = ws_send(c, 0x01, line, half) < 0 ||
				    ws_send(c, 0x80, line + half, (size_t)n - half) < 0
				? -1
				: 0;
		} else if (strcmp(pay, "split2") == 0) {
			n = snprintf(line, sizeof(line), "key=%s", cred);
			size_t half = 4 + strlen(cred) / 2;
			r = ws_send(c, 0x81, line, half) < 0 ||
				    ws_send(c, 0x81, line + half, (size_t)n - half) < 0
				? -1
				: 0;
		} else if (strcmp(pay, "silent") == 0) {
			r = 0;
		} else if (strcmp(pay, "big") == 0) {
			static char big[70000];
			memset(big, 'b', sizeof(big));
			r = ws_send(c, 0x82, big, sizeof(big));
		} else
			r = ws_send(c, 0x80 | op, pay, len);
		if (r < 0)
			return false;
	}
}

/* One request; false when the connection is done. */
static bool serve(struct io *c, unsigned conn_id, unsigned nth)
{
	char *end;
	for (;;) {
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end)
			break;
		if (!fill(c, c->len + 1))
			return false;
	}
	size_t head = (size_t)(end - c->buf) + 4;
	char logbuf[70000];
	size_t ll = 0;
	char path[4096] = "/", query[64] = "";
	static char hdrs[16384];
	size_t hl = 0;
	long long clen = 0;
	bool chunked = false, close_after = false;

	/* Request line and headers, logged as they are. */
	char *line = c->buf, *eol;
	bool first = true;
	while ((eol = memmem(line, (size_t)(c->buf + head - line), "\r\n", 2)) && eol > line) {
		*eol = '\0';
		if (first) {
			ll += (size_t)snprintf(logbuf + ll, sizeof(logbuf) - ll, "REQ %u %u %s\n",
					       conn_id, nth, line);
			char *sp = strchr(line, ' ');
			if (sp) {
				size_t pl = strcspn(sp + 1, " ?");
				if (pl >= sizeof(path))
					pl = sizeof(path) - 1;
				memcpy(path, sp + 1, pl);
				path[pl] = '\0';
				if (sp[1 + pl] == '?')
					(void)snprintf(query, sizeof(query), "%.*s",
						       (int)strcspn(sp + 2 + pl, " "), sp + 2 + pl);
			}
			first = false;
		} else {
			if (ll < sizeof(logbuf) - 100)
				ll += (size_t)snprintf(logbuf + ll, sizeof(logbuf) - ll, "H %s\n",
						       line);
			if (hl + strlen(line) + 2 < sizeof(hdrs)) {
				memcpy(hdrs + hl, line, strlen(line) + 1);
				hl += strlen(line) + 1;
			}
			if (strncasecmp(line, "content-length:", 15) == 0)
				clen = strtoll(line + 15, NULL, 10);
			if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
			    strcasestr(line, "chunked"))
				chunked = true;
			if (strncasecmp(line, "connection:", 11) == 0 && strcasestr(line, "close"))
				close_after = true;
		}
		line = eol + 2;
	}
	consume(c, head);

	/* The body: counted, not kept. */
	long long got = 0;
	if (chunked) {
		for (;;) {
			char *e;
			while (!(e = memmem(c->buf, c->len, "\r\n", 2)))
				if (!fill(c, c->len + 1))
					return false;
			long long sz = strtoll(c->buf, NULL, 16);
			consume(c, (size_t)(e - c->buf) + 2);
			if (sz == 0) {
				/* trailers, then the blank line */
				while (!(e = memmem(c->buf, c->len, "\r\n", 2)))
					if (!fill(c, c->len + 1))
						return false;
				size_t tl = (size_t)(e - c->buf);
				consume(c, tl + 2);
				if (tl == 0)
					break;
				continue;
			}
			while (sz > 0) {
				if (c->len == 0 && !fill(c, 1))
					return false;
				size_t take = c->len < (size_t)sz ? c->len : (size_t)sz;
				consume(c, take);
				sz -= (long long)take;
				got += (long long)take;
			}
			if (!fill(c, 2))
				return false;
			consume(c, 2);
		}
	} else {
		while (got < clen) {
			if (c->len == 0 && !fill(c, 1))
				return false;
			size_t take = c->len < (size_t)(clen - got) ? c->len : (size_t)(clen - got);
			consume(c, take);
			got += (long long)take;
		}
	}
	ll += (size_t)snprintf(logbuf + ll, sizeof(logbuf) - ll, "BODY %lld\n", got);
	log_block(logbuf, ll);

	char resp[8192];
	int n;
	const char *st;
	size_t plen = strlen(path);
	if (plen >= 7 && strcmp(path + plen - 7, "/stream") == 0) {
		static const char h[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
					"Transfer-Encoding: chunked\r\n\r\n";
		if (io_write(c, h, sizeof(h) - 1) < 0 || send_chunk(c, "data: first\n\n") < 0)
			return false;
		bool opened = false;
		for (int i = 0; i < 200 && !(opened = gate_open()); i++)
			usleep(50000);
		if (send_chunk(c, opened ? "data: last\n\n" : "data: last-after-timeout\n\n") < 0 ||
		    io_write(c, "0\r\n\r\n", 5) < 0)
			return false;
		return !close_after;
	}
	if (plen >= 4 && strcmp(path + plen - 4, "/eof") == 0) {
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-eof\n");
		(void)io_write(c, resp, (size_t)n);
		return false;
	}
	if (plen >= 5 && strcmp(path + plen - 5, "/drop") == 0) {
		/* Keep-alive as far as the headers say, then hang up (an idle timeout). */
		static const char d[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ndrop\n";
		(void)io_write(c, d, sizeof(d) - 1);
		return false;
	}
	if (plen >= 3 && strcmp(path + plen - 3, "/ws") == 0)
		return websocket(c, hdrs, hl, conn_id);
	if (plen >= 5 && strcmp(path + plen - 5, "/echo") == 0)
		return echo(c, hdrs, hl, query) == 0 && !close_after && strcmp(query, "eof") != 0;
	if (plen >= 5 && strcmp(path + plen - 5, "/hang") == 0) {
		/* Never answer; note when the other side goes away. */
		struct pollfd p = {c->fd, POLLIN | POLLRDHUP, 0};
		char b[256];
		while (poll(&p, 1, -1) >= 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP)))
			if ((p.revents & (POLLRDHUP | POLLHUP)) || read(c->fd, b, sizeof(b)) <= 0)
				break;
		n = snprintf(resp, sizeof(resp), "GONE %u\n", conn_id);
		log_block(resp, (size_t)n);
		return false;
	}
	if (plen >= 9 && strcmp(path + plen - 9, "/slowhead") == 0) {
		static const char sh[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
					 "Content-Length: 5\r\n\r\nslow\n";
		for (size_t i = 0; i < sizeof(sh) - 1; i++) {
			if (io_write(c, sh + i, 1) < 0)
				return false;
			sleep(1);
		}
		return false;
	}
	if (plen >= 5 && strcmp(path + plen - 5, "/gzip") == 0) {
		static const char gz[] = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
					 "Content-Length: 6\r\n\r\nzipped";
		return io_write(c, gz, sizeof(gz) - 1) == 0 && !close_after;
	}
	if ((st = strstr(path, "/bulk/"))) {
		static char blk[65536];
		static const char text[] =
		    "data: {\"choices\":[{\"delta\":{\"content\":\"lorem ipsum dolor sit\"}}]}\n";
		for (size_t i = 0; i < sizeof(blk); i++)
			blk[i] = text[i % (sizeof(text) - 1)];
		long long total = strtoll(st + 6, NULL, 10);
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %lld\r\n\r\n",
			     total);
		if (io_write(c, resp, (size_t)n) < 0)
			return false;
		for (long long sent = 0; sent < total;) {
			size_t k = total - sent < (long long)sizeof(blk) ? (size_t)(total - sent)
									 : sizeof(blk);
			if (io_write(c, blk, k) < 0)
				return false;
			sent += (long long)k;
		}
		return !close_after;
	}
	if ((st = strstr(path, "/status/"))) {
		int code = (int)strtol(st + 8, NULL, 10);
		n = snprintf(
		    resp, sizeof(resp),
		    "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n"
		    "status\n",
		    code);
	} else {
		char body[4200];
		int bl = snprintf(body, sizeof(body), "{\"ok\":true,\"path\":\"%s\"}\n", path);
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			     "Content-Length: %d\r\n%s\r\n%s",
			     bl, close_after ? "Connection: close\r\n" : "", body);
	}
	if (io_write(c, resp, (size_t)n) < 0)
		return false;
	return !close_after;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *cert = NULL, *key = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--cert") == 0)
			cert = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[i + 1];
		else if (strcmp(argv[i], "--log") == 0)
			log_path = argv[i + 1];
		else if (strcmp(argv[i], "--gate") == 0)
			gate_path = argv[i + 1];
		else
			return 64;
	}
	if (!port_file || (!cert) != (!key))
		return 64;
	if (cert) {
		ctx = SSL_CTX_new(TLS_server_method());
		if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	(void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(ls, 512) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl) < 0)
		return 1;
	char tmp[4200];
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return 1;
	fprintf(f, "%u\n", ntohs(sin.sin_port));
	fclose(f);
	if (rename(tmp, port_file) < 0)
		return 1;

	for (unsigned conn_id = 1;; conn_id++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pid_t pid = fork();
		if (pid != 0) {
			close(fd);
			continue;
		}
		close(ls);
		signal(SIGTERM, SIG_DFL);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		static struct io c;
		c.fd = fd;
		if (ctx) {
			c.ssl = SSL_new(ctx);
			if (!c.ssl || SSL_set_fd(c.ssl, fd) != 1 || SSL_accept(c.ssl) != 1)
				_exit(0);
		}
		for (unsigned nth = 1; serve(&c, conn_id, nth); nth++)
			;
		if (c.ssl)
			(void)SSL_shutdown(c.ssl);
		_exit(0);
	}
}
