/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/reverse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strbuf.h"
#include "proxy/endpoint.h"
#include "proxy/filter.h"
#include "proxy/http1.h"
#include "proxy/resolve.h"
#include "proxy/scrub.h"

#define IO_BUF	    (64 * 1024)
#define DRAIN_MS    1000
#define DRAIN_BYTES (64 * 1024)

struct upconn {
	int fd;
	SSL *ssl; /* NULL: plain HTTP (loopback upstreams only) */
	uint64_t idle_since;
};

struct svc {
	char *name;
	size_t name_len;
	struct reverse_upstream up;
	char authority[300]; /* the Host header */
	char *header;
	char *phantom; /* bare phantom, for spotting it in any header */
	char *slot;    /* the credential header value the child must send */
	size_t slot_len;
	char *inject; /* the value the upstream gets: secret */
	size_t inject_len;
	struct proxy_endpoint *rules; /* owned copies */
	size_t n_rules;
	struct upconn *idle[REVERSE_POOL_MAX];
	size_t n_idle;
	struct scrub *scrub; /* the key's spellings -> the phantom's, for responses */
	unsigned busy;	     /* requests in flight upstream; under rv->lock */
	SSL_CTX *ctx;	     /* its own, when it has a tls_ca; else NULL (the shared one) */
};

struct worker {
	struct worker *prev, *next;
	struct reverse *rv;
	int cfd;
	int up_fd; /* the upstream socket in use, for reverse_free to wake; under rv->lock */
	char *buf; /* client bytes not consumed yet */
	size_t len;
	/* Between requests with nothing read yet (a keep-alive connection at rest), since
	 * waiting_since; evicted once reverse_handoff has shut it down to free its slot.
	 * Both under rv->lock. */
	bool waiting, evicted;
	uint64_t waiting_since;
};

struct reverse {
	struct svc *svcs;
	size_t n_svcs;
	char token[65];
	SSL_CTX *ctx;
	pthread_mutex_t lock;
	pthread_cond_t idle_cond;
	struct worker *workers;
	unsigned n_workers, max_workers;
	unsigned n_evicted; /* workers shut down by eviction that have not exited yet */
	bool stopping;
	unsigned head_ms, connect_ms, idle_ms, response_ms;
	unsigned svc_cap; /* requests in flight per service */
	void (*event)(void *ud, const struct proxy_event *ev);
	void (*log)(void *ud, const char *line);
	void *ud;
	char *via_host; /* the upstream proxy, or NULL */
	uint16_t via_port;
	const struct filter *via_bypass;
};

static int remaining(uint64_t deadline)
{
	uint64_t n = now_ms();
	return n >= deadline ? 0 : (int)(deadline - n > 600000 ? 600000 : deadline - n);
}

/* ---- pure helpers ---------------------------------------------------------------- */

static bool is_loopback_host(const char *h, bool is_ip)
{
	if (!is_ip)
		return streq(h, "localhost");
	struct in_addr a4;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return streq(h, "::1");
}

int reverse_parse_upstream(const char *url, struct reverse_upstream *ret)
{
	struct reverse_upstream u = {0};
	const char *a;
	char host[300];

	if ((a = startswith(url, "https://")))
		u.tls = true;
	else if (!(a = startswith(url, "http://")))
		return -EINVAL;
	size_t al = strcspn(a, "/?#");
	if (al == 0 || al >= sizeof(host) || memchr(a, '@', al) || a[al] == '?' || a[al] == '#')
		return -EINVAL;
	const char *path = a + al;
	if (strpbrk(path, "?#\\ ") || strlen(path) >= sizeof(u.base))
		return -EINVAL;
	memcpy(host, a, al);
	host[al] = '\0';
	char *port = NULL;
	if (host[0] == '[') {
		char *rb = strchr(host, ']');
		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		*rb = '\0';
		port = rb[1] ? rb + 2 : NULL;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else if ((port = strchr(host, ':')))
		*port++ = '\0';
	if (port) {
		if (parse_port(port, &u.port) < 0)
			return -EINVAL;
	} else
		u.port = u.tls ? 443 : 80;
	if (host_normalize(host, u.host, sizeof(u.host), &u.is_ip) < 0)
		return -EINVAL;
	if (!u.tls && !is_loopback_host(u.host, u.is_ip))
		return -EINVAL;
	/* The base path in normal form, without a trailing slash. */
	if (*path) {
		char norm[sizeof(u.base)];
		if (endpoint_normalize(path, strlen(path), norm, sizeof(norm)) < 0)
			return -EINVAL;
		size_t nl = strlen(norm);
		while (nl > 0 && norm[nl - 1] == '/')
			norm[--nl] = '\0';
		memcpy(u.base, norm, nl + 1);
	}
	*ret = u;
	return 0;
}

void reverse_strip_base(const char *base, char *path)
{
	size_t bl = strlen(base);
	if (bl == 0 || strncmp(path, base, bl) != 0 || (path[bl] != '/' && path[bl] != '\0'))
		return;
	if (path[bl] == '\0')
		path[0] = '/', path[1] = '\0';
	else
		memmove(path, path + bl, strlen(path + bl) + 1);
}

int reverse_format(const char *format, const char *key, size_t key_len, char **ret, size_t *ret_len)
{
	const char *ph = strstr(format, "{}");
	if (!ph)
		return -EINVAL;
	size_t pre = (size_t)(ph - format), post = strlen(ph + 2);
	size_t n = pre + key_len + post;
	char *s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, format, pre);
	memcpy(s + pre, key, key_len);
	memcpy(s + pre + key_len, ph + 2, post + 1);
	*ret = s;
	*ret_len = n;
	return 0;
}

bool reverse_slot_matches(const char *value, size_t vl, const char *expected, size_t el)
{
	/* The length of the expected value is no secret (the format is public). */
	return value && vl == el && CRYPTO_memcmp(value, expected, el) == 0;
}

static bool name_is(const char *name, size_t nl, const char *want)
{
	return nl == strlen(want) && strncasecmp(name, want, nl) == 0;
}

/* Is name one of the comma-separated tokens in list? */
static bool in_token_list(const char *name, size_t nl, const char *list, size_t ll)
{
	size_t i = 0;
	while (i < ll) {
		while (i < ll && (list[i] == ',' || list[i] == ' ' || list[i] == '\t'))
			i++;
		size_t s = i;
		while (i < ll && list[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e - s == nl && strncasecmp(list + s, name, nl) == 0)
			return true;
	}
	return false;
}

bool reverse_header_dropped(const char *name, size_t nl, const char *value, size_t vl,
			    const char *cred_header, const char *phantom, const char *token,
			    const char *conn_tokens, size_t ctl)
{
	static const char *const drop[] = {
	    "x-nono-token",
	    "authorization",
	    "proxy-authorization",
	    "proxy-connection",
	    "connection",
	    "keep-alive",
	    "te",
	    "trailer",
	    "upgrade",
	    "host",
	    "expect",
	    "accept-encoding", /* replaced by identity: compressed bodies cannot be scrubbed */
	    "range",	       /* a slice of an echo would carry a piece of the key */
	    "if-range",
	};
	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		if (name_is(name, nl, drop[i]))
			return true;
	if (cred_header && name_is(name, nl, cred_header))
		return true;
	if (conn_tokens && in_token_list(name, nl, conn_tokens, ctl))
		return true;
	if (phantom && *phantom && memmem(value, vl, phantom, strlen(phantom)))
		return true;
	if (token && *token && memmem(value, vl, token, strlen(token)))
		return true;
	return false;
}

bool reverse_is_websocket(const struct http1_head *h)
{
	struct span up = http1_header_get(h, "Upgrade");
	struct span conn = http1_header_get(h, "Connection");
	if (h->method != HTTP_GET || h->http_major != 1 || h->http_minor < 1 || !up.p || !conn.p)
		return false;
	if (h->chunked || (h->has_content_length && h->content_length > 0))
		return false;
	size_t n = up.n;
	while (n > 0 && (up.p[n - 1] == ' ' || up.p[n - 1] == '\t'))
		n--;
	return n == 9 && strncasecmp(up.p, "websocket", 9) == 0 &&
	       in_token_list("upgrade", 7, conn.p, conn.n);
}

/* ---- events ---------------------------------------------------------------------- */

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void copy_trunc(char *dst, size_t n, const char *src, size_t l)
{
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

struct req_info {
	char method[24];
	const struct svc *s;
	char path[512]; /* normalised path, or the raw one made printable */
};

static void emit(struct reverse *rv, const struct req_info *ri, bool allow, const char *reason,
		 int status)
{
	char line[1400];
	const char *host = ri->s ? ri->s->up.host : "-";
	uint16_t port = ri->s ? ri->s->up.port : 0;
	const char *svc = ri->s ? ri->s->name : "-";

	if (rv->log) {
		if (allow)
			(void)snprintf(line, sizeof(line), "ALLOW %s %s %s:%u%s status=%d",
				       ri->method, svc, host, port, ri->path, status);
		else
			(void)snprintf(line, sizeof(line), "DENY %s %s %s:%u%s reason=%s status=%d",
				       ri->method, svc, host, port, ri->path, reason, status);
		printable(line);
		rv->log(rv->ud, line);
	}
	if (rv->event) {
		struct proxy_event ev = {
		    .allow = allow,
		    .method = ri->method,
		    .host = host,
		    .port = port,
		    .path = ri->path,
		    .service = ri->s ? ri->s->name : NULL,
		    .reason = allow ? NULL : reason,
		    .status = status,
		};
		rv->event(rv->ud, &ev);
	}
}

/* ---- client and upstream I/O with poll() deadlines -------------------------------- */

/*
 * Wait for ev on fd; with watch >= 0 (the client, while the upstream is awaited) its
 * hang-up ends the wait with -ECONNRESET: a client that gave up frees its worker and
 * the upstream connection at once. Only POLLRDHUP is asked of the client, so a
 * pipelined next request does not wake this up.
 */
static int wait_fd_watch(int fd, short ev, int ms, int watch)
{
	struct pollfd p[2] = {{fd, ev, 0}, {watch, POLLRDHUP, 0}};
	for (;;) {
		int n = poll(p, watch >= 0 ? 2 : 1, ms);
		if (n > 0 && watch >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return -ECONNRESET;
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {fd, ev, 0};
	for (;;) {
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int client_write(int fd, const char *p, size_t n, unsigned ms)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN)
			return -errno;
		int r = wait_fd(fd, POLLOUT, (int)ms);
		if (r < 0)
			return r;
	}
	return 0;
}

/* > 0 bytes, 0 EOF, < 0 error, -ETIMEDOUT, or -ECONNRESET when watch hung up. */
static ssize_t read_watch(int fd, char *p, size_t n, int ms, int watch)
{
	for (;;) {
		ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int r = wait_fd_watch(fd, POLLIN, ms, watch);
		if (r < 0)
			return r;
	}
}

/* > 0 bytes, 0 EOF, < 0 error or -ETIMEDOUT. */
static ssize_t client_read(int fd, char *p, size_t n, int ms)
{
	return read_watch(fd, p, n, ms, -EBADF);
}

/*
 * Drive one SSL call: 2 call again, 0 clean EOF (reads), < 0 error (-ETIMEDOUT,
 * -ECONNRESET when the watched client hung up).
 */
static int ssl_wait(SSL *ssl, int fd, int ret, int ms, int watch)
{
	int r;
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		r = wait_fd_watch(fd, POLLIN, ms, watch);
		return r == -ECONNRESET ? r : r < 0 ? -ETIMEDOUT : 2;
	case SSL_ERROR_WANT_WRITE:
		r = wait_fd_watch(fd, POLLOUT, ms, watch);
		return r == -ECONNRESET ? r : r < 0 ? -ETIMEDOUT : 2;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

/* A read from the upstream; watch: the client fd whose hang-up ends it, or -EBADF. */
static ssize_t up_read(struct upconn *u, char *p, size_t n, int ms, int watch)
{
	if (!u->ssl)
		return read_watch(u->fd, p, n, ms, watch);
	for (;;) {
		size_t got = 0;
		int ret = SSL_read_ex(u->ssl, p, n, &got);
		if (ret == 1)
			return (ssize_t)got;
		int r = ssl_wait(u->ssl, u->fd, ret, ms, watch);
		if (r != 2)
			return r;
	}
}

static int up_write(struct upconn *u, const char *p, size_t n, int ms)
{
	if (!u->ssl)
		return client_write(u->fd, p, n, (unsigned)ms);
	while (n > 0) {
		size_t put = 0;
		int ret = SSL_write_ex(u->ssl, p, n, &put);
		if (ret == 1) {
			p += put;
			n -= put;
			continue;
		}
		int r = ssl_wait(u->ssl, u->fd, ret, ms, -EBADF);
		if (r != 2)
			return r < 0 ? r : -EPIPE;
	}
	return 0;
}

static void upconn_free(struct upconn *u)
{
	if (!u)
		return;
	SSL_free(u->ssl);
	(void)safe_close(u->fd);
	free(u);
}

/* An idle pooled connection is usable when nothing (but TLS housekeeping) arrived. */
static bool upconn_alive(struct upconn *u)
{
	char b;
	if (!u->ssl) {
		ssize_t k = recv(u->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		return k < 0 && errno == EAGAIN;
	}
	size_t got = 0;
	int ret = SSL_read_ex(u->ssl, &b, 1, &got);
	if (ret == 1)
		return false; /* unsolicited data: not a state we reuse */
	int e = SSL_get_error(u->ssl, ret);
	ERR_clear_error();
	return e == SSL_ERROR_WANT_READ;
}

static void set_up_fd(struct worker *w, int fd)
{
	pthread_mutex_lock(&w->rv->lock);
	w->up_fd = fd;
	pthread_mutex_unlock(&w->rv->lock);
}

static struct upconn *pool_get(struct reverse *rv, struct svc *s)
{
	struct upconn *u = NULL;
	pthread_mutex_lock(&rv->lock);
	while (s->n_idle > 0 && !u) {
		struct upconn *c = s->idle[--s->n_idle];
		if (now_ms() - c->idle_since < REVERSE_POOL_IDLE_MS && upconn_alive(c))
			u = c;
		else
			upconn_free(c);
	}
	pthread_mutex_unlock(&rv->lock);
	return u;
}

static void pool_put(struct reverse *rv, struct svc *s, struct upconn *u)
{
	pthread_mutex_lock(&rv->lock);
	if (!rv->stopping && s->n_idle < REVERSE_POOL_MAX) {
		u->idle_since = now_ms();
		s->idle[s->n_idle++] = u;
		u = NULL;
	}
	pthread_mutex_unlock(&rv->lock);
	upconn_free(u);
}

/*
 * Resolve host (every address checked), connect to a checked address within deadline.
 * On failure, status and reason say what the client gets.
 */
static int tcp_connect(struct worker *w, const char *host, uint16_t port, uint64_t deadline,
		       int *ret_fd, int *status, const char **reason)
{
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t n = 0;
	_cleanup_close_ int fd = -EBADF;

	/* The proxy's resolver and classifier, inside the connect deadline. */
	if (netmatch_literal(host, port, &addrs[0]) == 0)
		n = 1;
	else if (netmatch_name_is_metadata(host)) {
		*status = 403;
		*reason = "denied_host";
		return -EPERM;
	} else {
		int r = resolve_sync(host, port, remaining(deadline), addrs, RESOLVE_MAX_ADDRS, &n);
		if (r < 0) {
			*status = r == -ETIMEDOUT ? 504 : 502;
			*reason = r == -ETIMEDOUT ? "timeout" : "resolve_failed";
			return r;
		}
	}
	/* A configured upstream (or upstream proxy) is an exact entry: the always-denied
	 * set applies. */
	enum netmatch_verdict nv = netmatch_check_addrs(addrs, n, false, NULL, NULL);
	if (nv != NETMATCH_OK) {
		*status = 403;
		*reason = netmatch_verdict_to_string(nv);
		return -EPERM;
	}
	for (size_t i = 0; i < n && fd < 0; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];
		socklen_t sl = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6);
		if (addr_is_denied(sa))
			continue; /* checked again right before connect() */
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		set_up_fd(w, fd);
		if (connect(fd, sa, sl) < 0 && errno != EINPROGRESS) {
			set_up_fd(w, -EBADF);
			fd = safe_close(fd);
			continue;
		}
		int err = 0;
		socklen_t l = sizeof(err);
		if (wait_fd_watch(fd, POLLOUT, remaining(deadline), w->cfd) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
			set_up_fd(w, -EBADF);
			fd = safe_close(fd);
		}
	}
	if (fd < 0) {
		*status = remaining(deadline) == 0 ? 504 : 502;
		*reason = remaining(deadline) == 0 ? "timeout" : "connect_failed";
		return -ECONNREFUSED;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * Through the upstream proxy: CONNECT to the service's upstream, a 2xx reply head and
 * nothing after it (neither TLS nor HTTP lets the server speak first).
 */
static int via_connect(struct reverse *rv, struct worker *w, int fd, const struct svc *s,
		       uint64_t deadline)
{
	char req[700], buf[4096];
	const char *lb = strchr(s->up.host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	int n = snprintf(req, sizeof(req), "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n",
			 lb, s->up.host, rb, s->up.port, lb, s->up.host, rb, s->up.port);
	if (n <= 0 || (size_t)n >= sizeof(req))
		return -EINVAL;
	int r = client_write(fd, req, (size_t)n, (unsigned)remaining(deadline));
	if (r < 0)
		return r;
	size_t len = 0;
	struct http1_head rh;
	for (;;) {
		int pr = http1_parse_response_head(buf, len, &rh);
		if (pr > 0)
			break;
		if (pr < 0 || len == sizeof(buf))
			return -EPROTO;
		int left = remaining(deadline);
		ssize_t k = left == 0 ? -ETIMEDOUT
				      : read_watch(fd, buf + len, sizeof(buf) - len, left, w->cfd);
		if (k == 0)
			return -EPROTO;
		if (k < 0)
			return (int)k;
		len += (size_t)k;
	}
	if (rh.status / 100 != 2 || rh.head_len != len) {
		if (rv->log) {
			char line[400];
			(void)snprintf(line, sizeof(line),
				       "upstream proxy %s:%u refused CONNECT %s:%u: status %u",
				       rv->via_host, rv->via_port, s->up.host, s->up.port,
				       rh.status);
			rv->log(rv->ud, line);
		}
		return -EPROTO;
	}
	return 0;
}

/*
 * Connect to the service's upstream, directly or through the upstream proxy (unless
 * the bypass list names it), then TLS with verification. On failure, status and
 * reason say what the client gets.
 */
static int up_connect(struct reverse *rv, struct worker *w, const struct svc *s,
		      struct upconn **ret, int *status, const char **reason)
{
	uint64_t deadline = now_ms() + rv->connect_ms;
	_cleanup_close_ int fd = -EBADF;
	bool via = rv->via_host && !filter_match_host(rv->via_bypass, s->up.host);
	int r;

	if (via) {
		/* What the proxy will reach is still checked where it can be here: a
		 * metadata name or an always-denied literal never leaves. */
		struct sockaddr_storage a;
		if (netmatch_name_is_metadata(s->up.host) ||
		    (s->up.is_ip &&
		     (netmatch_literal(s->up.host, s->up.port, &a) < 0 ||
		      netmatch_check_addrs(&a, 1, false, NULL, NULL) != NETMATCH_OK))) {
			*status = 403;
			*reason = "denied_host";
			return -EPERM;
		}
		if ((r = tcp_connect(w, rv->via_host, rv->via_port, deadline, &fd, status,
				     reason)) < 0)
			return r;
		if ((r = via_connect(rv, w, fd, s, deadline)) < 0) {
			set_up_fd(w, -EBADF);
			*status = r == -ETIMEDOUT ? 504 : 502;
			*reason = r == -ETIMEDOUT ? "timeout" : "upstream_failed";
			return r == -ECONNRESET ? r : -EIO;
		}
	} else if ((r = tcp_connect(w, s->up.host, s->up.port, deadline, &fd, status, reason)) < 0)
		return r;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	struct upconn *u = calloc(1, sizeof(*u));
	if (!u) {
		set_up_fd(w, -EBADF);
		*status = 503;
		*reason = "no_resources";
		return -ENOMEM;
	}
	u->fd = TAKE_FD(fd);
	if (s->up.tls) {
		u->ssl = SSL_new(s->ctx ? s->ctx : rv->ctx);
		int ok = u->ssl && SSL_set_fd(u->ssl, u->fd) == 1;
		if (ok && !s->up.is_ip)
			ok = SSL_set_tlsext_host_name(u->ssl, s->up.host) == 1 &&
			     SSL_set1_host(u->ssl, s->up.host) == 1;
		else if (ok)
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(u->ssl), s->up.host) == 1;
		r = -EIO;
		while (ok) {
			int cr = SSL_connect(u->ssl);
			if (cr == 1) {
				r = 0;
				break;
			}
			r = ssl_wait(u->ssl, u->fd, cr, remaining(deadline), w->cfd);
			if (r != 2) {
				r = r == 0 ? -EIO : r;
				break;
			}
		}
		if (r < 0 || !ok) {
			long vr = u->ssl ? SSL_get_verify_result(u->ssl) : X509_V_OK;
			if (rv->log && vr != X509_V_OK) {
				char line[300];
				(void)snprintf(line, sizeof(line), "TLS to %s:%u not verified: %s",
					       s->up.host, s->up.port,
					       X509_verify_cert_error_string(vr));
				rv->log(rv->ud, line);
			}
			ERR_clear_error();
			set_up_fd(w, -EBADF);
			upconn_free(u);
			*status = r == -ETIMEDOUT ? 504 : 502;
			*reason = r == -ETIMEDOUT ? "timeout" : "tls_failed";
			return -EIO;
		}
	}
	*ret = u;
	return 0;
}

/* ---- one request ------------------------------------------------------------------ */

/* Answer with a short body and close (after draining what the client still sends). */
static void respond_close(struct worker *w, int status, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n%s\n",
			 status, http1_reason(status), strlen(why) + 1,
			 status == 401 ? "WWW-Authenticate: Bearer realm=\"nono\"\r\n" : "", why);
	if (n > 0 && (size_t)n < sizeof(msg))
		(void)client_write(w->cfd, msg, (size_t)n, 2000);
	(void)shutdown(w->cfd, SHUT_WR);
	uint64_t deadline = now_ms() + DRAIN_MS;
	size_t drained = 0;
	char junk[4096];
	while (drained < DRAIN_BYTES) {
		ssize_t k = client_read(w->cfd, junk, sizeof(junk), remaining(deadline));
		if (k <= 0)
			break;
		drained += (size_t)k;
	}
}

static const struct svc *find_svc(const struct reverse *rv, const char *p, size_t n)
{
	for (size_t i = 0; i < rv->n_svcs; i++)
		if (rv->svcs[i].name_len == n && memcmp(rv->svcs[i].name, p, n) == 0)
			return &rv->svcs[i];
	return NULL;
}

static bool rules_allow(const struct svc *s, const char *method, const char *path)
{
	if (s->n_rules == 0)
		return true;
	for (size_t i = 0; i < s->n_rules; i++)
		if (endpoint_method_match(s->rules[i].method, method) &&
		    endpoint_glob_match(s->rules[i].path, path))
			return true;
	/* A rule may also name the path with the upstream's base in front (/v1/...). */
	if (s->up.base[0]) {
		size_t bl = strlen(s->up.base), pl = strlen(path);
		_cleanup_free_ char *full = malloc(bl + pl + 1);
		if (!full)
			return false;
		memcpy(full, s->up.base, bl);
		memcpy(full + bl, path, pl + 1);
		for (size_t i = 0; i < s->n_rules; i++)
			if (endpoint_method_match(s->rules[i].method, method) &&
			    endpoint_glob_match(s->rules[i].path, full))
				return true;
	}
	return false;
}

void reverse_route(const struct reverse *rv, const struct http1_head *h, struct reverse_route *ret)
{
	size_t qoff = 0;

	*ret = (struct reverse_route){.status = 400, .reason = "bad_request"};
	if (http1_is_connect(h) || h->target.n == 0 || h->target.p[0] != '/')
		return;
	/* One canonical path (endpoint.h), before any service or rule is matched. */
	if (endpoint_canon_target(h->target.p, h->target.n, ret->path, sizeof(ret->path), &qoff) <
	    0) {
		ret->reason = "bad_path";
		return;
	}
	ret->query = (struct span){h->target.p + qoff, h->target.n - qoff};
	/* "/<service>[/rest]" */
	const char *sp = ret->path + 1;
	size_t sl = strcspn(sp, "/");
	const struct svc *s = find_svc(rv, sp, sl);
	if (!s) {
		ret->status = 404;
		ret->reason = "unknown_service";
		return;
	}
	ret->svc = (size_t)(s - rv->svcs);
	/* The normalised rest is what the rules see and what the upstream gets. */
	ret->rest = sp[sl] ? sp + sl : "/";
	/* A client that repeats the upstream's base path (/v1) has one copy dropped. */
	if (sp[sl])
		reverse_strip_base(s->up.base, ret->path + 1 + sl);
	ret->allowed = rules_allow(s, h->method_str, ret->rest);
	ret->status = 0;
	ret->reason = NULL;
}

/*
 * The head the upstream gets, in *ret (exactly sized, so no reallocation leaves a copy
 * of the secret behind): the caller wipes it with erase_and_free().
 */
static int build_upstream_head(const struct reverse *rv, const struct svc *s,
			       const struct http1_head *h, const char *path, struct span query,
			       bool ws, char **ret, size_t *ret_len)
{
	struct strbuf sbuf = {.max = HTTP1_MAX_HEAD + 4096}, *sb = &sbuf;
	struct span conn = http1_header_get(h, "Connection");
	int r = strbuf_addf(sb, "%s %s%s%.*s HTTP/1.1\r\nHost: %s\r\n", h->method_str, s->up.base,
			    path, (int)query.n, query.p ? query.p : "", s->authority);
	if (r >= 0)
		r = strbuf_adds(sb, "Accept-Encoding: identity\r\n");
	/* The hop-by-hop pair a WebSocket handshake needs, and no extension offer: a
	 * compressed frame (permessage-deflate) could not be scrubbed. */
	if (r >= 0 && ws)
		r = strbuf_adds(sb, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
	for (size_t i = 0; r >= 0 && i < h->n_headers; i++) {
		const struct http1_header *x = &h->headers[i];
		if (reverse_header_dropped(x->name.p, x->name.n, x->value.p, x->value.n, s->header,
					   s->phantom, rv->token, conn.p, conn.n))
			continue;
		if (name_is(x->name.p, x->name.n, "sec-websocket-extensions"))
			continue;
		/* Other services' phantoms never travel either. */
		bool other = false;
		for (size_t k = 0; k < rv->n_svcs && !other; k++)
			other = memmem(x->value.p, x->value.n, rv->svcs[k].phantom,
				       strlen(rv->svcs[k].phantom)) != NULL;
		if (other)
			continue;
		r = strbuf_addf(sb, "%.*s: %.*s\r\n", (int)x->name.n, x->name.p, (int)x->value.n,
				x->value.p);
	}
	if (r < 0) {
		strbuf_release(sb);
		return r;
	}
	size_t hl = strlen(s->header), n = sb->len + hl + 2 + s->inject_len + 4;
	char *out = malloc(n);
	if (!out) {
		strbuf_release(sb);
		return -ENOMEM;
	}
	memcpy(out, sb->buf, sb->len);
	memcpy(out + sb->len, s->header, hl);
	memcpy(out + sb->len + hl, ": ", 2);
	memcpy(out + sb->len + hl + 2, s->inject, s->inject_len);
	memcpy(out + n - 4, "\r\n\r\n", 4);
	strbuf_release(sb);
	*ret = out;
	*ret_len = n;
	return 0;
}

enum outcome { KEEP, CLOSE };

/*
 * Relay the request body (already-read bytes in w->buf after the head, then the
 * client) to u. Bytes past the end of this request stay in w->buf. <0: the client
 * (-EPROTO framing, or I/O) or the upstream (-EPIPE) failed.
 */
static int relay_request_body(struct worker *w, struct upconn *u, const struct http1_head *h,
			      struct http1_framer *f, char *scratch)
{
	struct reverse *rv = w->rv;
	if (http1_framer_feed(f, w->buf, h->head_len) < 0)
		return -EPROTO;
	memmove(w->buf, w->buf + h->head_len, w->len - h->head_len);
	w->len -= h->head_len;
	while (!f->complete) {
		const char *p;
		size_t n;
		if (w->len > 0) {
			p = w->buf;
			n = w->len;
		} else {
			ssize_t k = client_read(w->cfd, scratch, IO_BUF, (int)rv->idle_ms);
			if (k <= 0)
				return k == 0 ? -EPROTO : (int)k;
			p = scratch;
			n = (size_t)k;
		}
		ssize_t used = http1_framer_feed(f, p, n);
		if (used < 0)
			return -EPROTO;
		if (used > 0 && up_write(u, p, (size_t)used, REVERSE_WRITE_MS) < 0)
			return -EPIPE;
		if (p == w->buf) {
			memmove(w->buf, w->buf + used, w->len - (size_t)used);
			w->len -= (size_t)used;
		} else if ((size_t)used < n) {
			/* The next pipelined request: keep it (w->buf is empty here). */
			memcpy(w->buf, p + used, n - (size_t)used);
			w->len = n - (size_t)used;
		}
	}
	return 0;
}

/*
 * Copy the response head for the client, minus hop-by-hop headers; with body, minus
 * the upstream's framing (Content-Length, Transfer-Encoding, Trailer): the scrubbed
 * body is re-framed, chunked when chunked.
 */
static int build_client_head(const char *raw, const struct http1_head *rh, bool close_client,
			     bool body, bool chunked, bool upgrade, struct strbuf *sb)
{
	struct span conn = http1_header_get(rh, "Connection");
	const char *cr = memchr(raw, '\r', rh->head_len);
	size_t line = cr ? (size_t)(cr - raw) : 0;
	int r = strbuf_add(sb, raw, line);
	if (r >= 0)
		r = strbuf_adds(sb, "\r\n");
	for (size_t i = 0; r >= 0 && i < rh->n_headers; i++) {
		const struct http1_header *x = &rh->headers[i];
		if (name_is(x->name.p, x->name.n, "connection") ||
		    name_is(x->name.p, x->name.n, "keep-alive") ||
		    name_is(x->name.p, x->name.n, "proxy-connection") ||
		    name_is(x->name.p, x->name.n, "upgrade") ||
		    (conn.p && in_token_list(x->name.p, x->name.n, conn.p, conn.n)))
			continue;
		if (body && (name_is(x->name.p, x->name.n, "content-length") ||
			     name_is(x->name.p, x->name.n, "transfer-encoding") ||
			     name_is(x->name.p, x->name.n, "trailer")))
			continue;
		r = strbuf_addf(sb, "%.*s: %.*s\r\n", (int)x->name.n, x->name.p, (int)x->value.n,
				x->value.p);
	}
	if (r >= 0 && chunked)
		r = strbuf_adds(sb, "Transfer-Encoding: chunked\r\n");
	if (r >= 0 && upgrade)
		r = strbuf_adds(sb, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
	if (r >= 0)
		r = strbuf_adds(sb, close_client ? "Connection: close\r\n\r\n" : "\r\n");
	return r;
}

/* A service's share of the workers: false when it has its cap in flight. */
static bool svc_enter(struct reverse *rv, struct svc *s)
{
	pthread_mutex_lock(&rv->lock);
	bool ok = s->busy < rv->svc_cap;
	if (ok)
		s->busy++;
	pthread_mutex_unlock(&rv->lock);
	return ok;
}

static void svc_leave(struct reverse *rv, struct svc *s)
{
	pthread_mutex_lock(&rv->lock);
	s->busy--;
	pthread_mutex_unlock(&rv->lock);
}

static enum outcome relay_one(struct worker *w, const struct http1_head *h, const struct svc *s,
			      const struct req_info *ri, bool ws, char *head, size_t head_len,
			      char *scratch);

/*
 * Serve one request whose head is at the start of w->buf. Returns KEEP when the
 * client connection can carry another request.
 */
static enum outcome serve_one(struct worker *w, const struct http1_head *h, char *scratch)
{
	struct reverse *rv = w->rv;
	struct req_info ri = {0};

	(void)snprintf(ri.method, sizeof(ri.method), "%s", h->method_str);
	const char *qm = memchr(h->target.p, '?', h->target.n);
	copy_trunc(ri.path, sizeof(ri.path), h->target.p,
		   qm ? (size_t)(qm - h->target.p) : h->target.n);
	printable(ri.path);

	struct reverse_route rt;
	reverse_route(rv, h, &rt);
	if (rt.status) {
		emit(rv, &ri, false, rt.reason, rt.status);
		respond_close(w, rt.status, rt.reason);
		return CLOSE;
	}
	struct span query = rt.query;
	const struct svc *s = &rv->svcs[rt.svc];
	ri.s = s;

	/* Credentials: X-Nono-Token (the spec's form) or the phantom in the slot. */
	struct span xt = http1_header_get(h, "X-Nono-Token");
	struct span slot = http1_header_get(h, s->header);
	bool ok;
	const char *why;
	if (xt.p) {
		/* Both compared, in constant time: users hold the phantom, not the token. */
		bool tok = reverse_slot_matches(xt.p, xt.n, rv->token, strlen(rv->token));
		bool ph = reverse_slot_matches(xt.p, xt.n, s->phantom, strlen(s->phantom));
		ok = tok | ph;
		why = "bad_token";
	} else {
		ok = reverse_slot_matches(slot.p, slot.n, s->slot, s->slot_len);
		why = slot.p ? "bad_token" : "missing_token";
	}
	if (!ok) {
		emit(rv, &ri, false, why, 401);
		respond_close(w, 401, why);
		return CLOSE;
	}

	const char *rest = rt.rest;
	copy_trunc(ri.path, sizeof(ri.path), rest, strlen(rest));
	if (!rt.allowed) {
		emit(rv, &ri, false, "endpoint_denied", 403);
		respond_close(w, 403, "endpoint_denied");
		return CLOSE;
	}

	char *head = NULL;
	size_t head_len = 0;
	bool ws = reverse_is_websocket(h);
	if (build_upstream_head(rv, s, h, rest, query, ws, &head, &head_len) < 0) {
		emit(rv, &ri, false, "bad_request", 431);
		respond_close(w, 431, "bad_request");
		return CLOSE;
	}
	if (!svc_enter(rv, (struct svc *)s)) {
		head = erase_and_free(head, head_len);
		emit(rv, &ri, false, "busy", 503);
		respond_close(w, 503, "busy");
		return CLOSE;
	}
	/* A WebSocket holds its worker and its share of the service for its life. */
	enum outcome o = relay_one(w, h, s, &ri, ws, head, head_len, scratch);
	svc_leave(rv, (struct svc *)s);
	return o;
}

/* Write every byte of iov[0..n) (the array is consumed). */
static int client_writev(int fd, struct iovec *iov, size_t n, unsigned ms)
{
	while (n > 0) {
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN)
			return -errno;
		if (k < 0) {
			int r = wait_fd(fd, POLLOUT, (int)ms);
			if (r < 0)
				return r;
			continue;
		}
		size_t left = (size_t)k;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/*
 * The response body as the client gets it: the upstream's framing parsed off (its
 * chunking, trailers, length), the payload scrubbed, and re-framed in chunks (or,
 * for an HTTP/1.0 client, delimited by the connection's end). The scrubbed payload is
 * sent as segments of the read buffer and the replacements, with no copy. The framer
 * comes first: http-parser hands its callbacks the framer, which is this.
 */
#define BR_SEGS 64
struct body_relay {
	struct http1_framer f;
	struct scrub_stream ss;
	struct worker *w;
	struct strbuf *head; /* the scrubbed response head until it is sent */
	bool chunked, finished;
	bool from_work; /* a pending segment points into the stream's buffer */
	struct iovec seg[BR_SEGS];
	size_t n_seg, seg_len;
	int err;
};

/* Send the head (once), the pending segments as one chunk, and with last the end. */
static int br_flush(struct body_relay *br, bool last)
{
	struct iovec iov[BR_SEGS + 4];
	size_t n = 0;
	char hdr[24];

	if (br->head->len > 0)
		iov[n++] = (struct iovec){br->head->buf, br->head->len};
	if (br->chunked && br->seg_len > 0) {
		int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", br->seg_len);
		iov[n++] = (struct iovec){hdr, (size_t)hl};
	}
	memcpy(iov + n, br->seg, br->n_seg * sizeof(*iov));
	n += br->n_seg;
	if (br->chunked && br->seg_len > 0)
		iov[n++] = (struct iovec){(char *)"\r\n", 2};
	if (br->chunked && last)
		iov[n++] = (struct iovec){(char *)"0\r\n\r\n", 5};
	int r = client_writev(br->w->cfd, iov, n, br->w->rv->idle_ms);
	br->head->len = 0;
	br->n_seg = br->seg_len = 0;
	br->from_work = false;
	return r < 0 ? -EPIPE : 0;
}

static int br_emit(void *ud, const char *p, size_t n)
{
	struct body_relay *br = ud;
	struct iovec *last = br->n_seg ? &br->seg[br->n_seg - 1] : NULL;
	if (last && (const char *)last->iov_base + last->iov_len == p)
		last->iov_len += n; /* contiguous with the previous one */
	else {
		if (br->n_seg == BR_SEGS) {
			int r = br_flush(br, false);
			if (r < 0)
				return r;
		}
		br->seg[br->n_seg++] = (struct iovec){(char *)p, n};
	}
	br->seg_len += n;
	br->from_work |= scrub_stream_holds(&br->ss, p);
	return 0;
}

static int br_on_body(http_parser *p, const char *at, size_t n)
{
	struct body_relay *br = p->data;
	int r = 0;
	/* The stream's buffer is reused by this feed: what points into it goes first. */
	if (br->from_work)
		r = br_flush(br, false);
	if (r >= 0)
		r = scrub_stream_feed_emit(&br->ss, at, n, false, br_emit, br);
	if (r < 0) {
		br->err = r;
		return -1;
	}
	return 0;
}

static int br_message_complete(http_parser *p)
{
	struct body_relay *br = p->data;
	br->f.complete = true;
	http_parser_pause(p, 1); /* what follows is not this response */
	return 0;
}

/*
 * Feed upstream bytes (n == 0: EOF) after the head; the scrubbed payload is queued
 * as segments (sent by br_flush, which the caller calls before the next read).
 * Returns how many of buf[0..n) belong to the response, or < 0 (-EPIPE: the client).
 */
static ssize_t body_relay_feed(struct body_relay *br, const char *buf, size_t n)
{
	static const http_parser_settings settings = {
	    .on_body = br_on_body,
	    .on_message_complete = br_message_complete,
	};
	int r;

	size_t k = br->f.complete ? 0 : http_parser_execute(&br->f.p, &settings, buf, n);
	if (br->err < 0)
		return br->err;
	if (!br->f.complete && HTTP_PARSER_ERRNO(&br->f.p) != HPE_OK)
		return -EBADMSG;
	if (br->f.complete && !br->finished) {
		br->finished = true;
		if (br->from_work && (r = br_flush(br, false)) < 0)
			return r;
		if ((r = scrub_stream_feed_emit(&br->ss, NULL, 0, true, br_emit, br)) < 0)
			return r;
	}
	return (ssize_t)k;
}

/* Is the Content-Encoding one the scrubber can read (none, or identity)? */
static bool identity_encoded(const struct http1_head *rh)
{
	for (size_t i = 0; i < rh->n_headers; i++) {
		const struct http1_header *x = &rh->headers[i];
		if (!name_is(x->name.p, x->name.n, "content-encoding"))
			continue;
		size_t n = x->value.n;
		const char *v = x->value.p;
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n > 0 && !(n == 8 && strncasecmp(v, "identity", 8) == 0))
			return false;
	}
	return true;
}

/* ---- WebSocket relay ----------------------------------------------------------------- */

/*
 * After a 101 both directions are relayed as they arrive. Client -> upstream bytes go
 * unchanged (they carry no secret: the child has only phantoms). Upstream -> client
 * frames are parsed (RFC 6455 5.2): a data message (its fragments assembled, at most
 * REVERSE_WS_MAX_FRAME bytes) is scrubbed like a body and sent as one frame with the
 * new length and the message's opcode. A spelling of the key that starts in one
 * message and ends in the next cannot be rewritten: the connection is closed (1008)
 * before the second part reaches the client (the first has gone out; the last
 * tail_max bytes of each message are kept to see this). Control frames (at most 125
 * bytes) with a match, RSV bits (an extension nobody offered: compressed payloads
 * cannot be scanned), a masked server frame or an oversized message close the
 * connection too (1008, 1002, 1009).
 */
struct ws_down {
	const struct scrub *sc;
	char *buf; /* a frame being assembled */
	size_t len, cap;
	char tail[2048]; /* the last payload bytes of the previous data frame */
	size_t tail_len, tail_max;
	struct strbuf out;
	struct strbuf msg; /* a fragmented message being assembled */
	uint8_t msg_op;
	bool in_msg;
	uint16_t close_code; /* set when the relay must end with a close frame */
};

static size_t ws_header(char *h, uint8_t b0, uint64_t n)
{
	h[0] = (char)b0;
	if (n < 126) {
		h[1] = (char)n;
		return 2;
	}
	if (n <= 0xffff) {
		h[1] = 126;
		h[2] = (char)(n >> 8);
		h[3] = (char)n;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (char)(n >> (56 - 8 * i));
	return 10;
}

/* Does a spelling of the key start in the tail and end in p? */
static bool ws_straddles(const struct ws_down *d, const char *p, size_t n)
{
	char cat[4096];
	size_t take = n < sizeof(cat) - d->tail_len ? n : sizeof(cat) - d->tail_len;
	if (d->tail_len == 0)
		return false;
	memcpy(cat, d->tail, d->tail_len);
	memcpy(cat + d->tail_len, p, take);
	size_t at, ml, tl;
	const char *to;
	for (size_t from = 0; from < d->tail_len &&
			      scrub_find(d->sc, cat, d->tail_len + take, from, &at, &ml, &to, &tl);
	     from = at + 1)
		if (at < d->tail_len && at + ml > d->tail_len) {
			explicit_bzero(cat, sizeof(cat));
			return true;
		}
	explicit_bzero(cat, sizeof(cat));
	return false;
}

static void ws_keep_tail(struct ws_down *d, const char *p, size_t n)
{
	if (n >= d->tail_max) {
		memcpy(d->tail, p + n - d->tail_max, d->tail_max);
		d->tail_len = d->tail_max;
		return;
	}
	size_t keep = d->tail_len + n > d->tail_max ? d->tail_max - n : d->tail_len;
	memmove(d->tail, d->tail + d->tail_len - keep, keep);
	memcpy(d->tail + keep, p, n);
	d->tail_len = keep + n;
}

/* One whole data message to the client, scrubbed and framed again. */
static int ws_down_data(struct ws_down *d, struct worker *w, uint8_t b0, const char *pay, size_t pl)
{
	if (ws_straddles(d, pay, pl)) {
		d->close_code = 1008;
		return 0;
	}
	strbuf_reset(&d->out);
	int r = scrub_all(d->sc, pay, pl, &d->out);
	if (r < 0)
		return r;
	ws_keep_tail(d, pay, pl);
	char h[10];
	size_t hn = ws_header(h, b0, d->out.len);
	struct iovec iov[2] = {{h, hn}, {d->out.buf, d->out.len}};
	return client_writev(w->cfd, iov, d->out.len ? 2 : 1, w->rv->idle_ms) < 0 ? -EPIPE : 0;
}

/* Send every complete frame in d->buf on to the client, scrubbed. */
static int ws_down_frames(struct ws_down *d, struct worker *w)
{
	size_t off = 0;
	int r = 0;
	for (;;) {
		const unsigned char *f = (const unsigned char *)d->buf + off;
		size_t avail = d->len - off;
		if (avail < 2)
			break;
		uint8_t b0 = f[0], op = f[0] & 0x0f;
		uint64_t pl = f[1] & 0x7f;
		size_t hl = 2;
		if (f[1] & 0x80) {
			d->close_code = 1002; /* a server never masks */
			break;
		}
		if (b0 & 0x70) {
			d->close_code = 1008; /* an extension's frame: unscannable */
			break;
		}
		if (pl == 126) {
			if (avail < 4)
				break;
			pl = (uint64_t)f[2] << 8 | f[3];
			hl = 4;
		} else if (pl == 127) {
			if (avail < 10)
				break;
			pl = 0;
			for (int i = 0; i < 8; i++)
				pl = pl << 8 | f[2 + i];
			hl = 10;
		}
		if (pl > REVERSE_WS_MAX_FRAME) {
			d->close_code = 1009;
			break;
		}
		if (avail < hl + pl)
			break;
		const char *pay = (const char *)f + hl;
		if (op >= 8) {
			size_t at, ml, tl;
			const char *to;
			if (pl > 125 || !(b0 & 0x80)) {
				d->close_code = 1002;
				break;
			}
			if (scrub_find(d->sc, pay, (size_t)pl, 0, &at, &ml, &to, &tl)) {
				d->close_code = 1008;
				break;
			}
			if (client_write(w->cfd, (const char *)f, hl + (size_t)pl, w->rv->idle_ms) <
			    0) {
				r = -EPIPE;
				break;
			}
		} else if ((op == 0) != d->in_msg || (op != 0 && op != 1 && op != 2)) {
			d->close_code = 1002; /* a continuation out of place, or unknown */
			break;
		} else if (!(b0 & 0x80) || d->in_msg) {
			/* A fragment: the message is assembled and goes out whole, so a key
			 * cut across fragments is rewritten like any other. */
			if (!d->in_msg)
				d->msg_op = op;
			d->in_msg = true;
			if (d->msg.len + pl > REVERSE_WS_MAX_FRAME) {
				d->close_code = 1009;
				break;
			}
			if ((r = strbuf_add(&d->msg, pay, (size_t)pl)) < 0)
				break;
			if (b0 & 0x80) {
				d->in_msg = false;
				r = ws_down_data(d, w, (uint8_t)(0x80 | d->msg_op), d->msg.buf,
						 d->msg.len);
				explicit_bzero(d->msg.buf, d->msg.len);
				strbuf_reset(&d->msg);
				if (r < 0 || d->close_code)
					break;
			}
		} else if ((r = ws_down_data(d, w, b0, pay, (size_t)pl)) < 0 || d->close_code)
			break;
		off += hl + (size_t)pl;
	}
	explicit_bzero(d->buf, off);
	memmove(d->buf, d->buf + off, d->len - off);
	d->len -= off;
	return r;
}

/*
 * Take upstream bytes; every complete frame goes to the client, scrubbed. < 0: the
 * client failed (-EPIPE) or memory; 0 with d->close_code set: the relay must end.
 */
static int ws_down_feed(struct ws_down *d, struct worker *w, const char *p, size_t n)
{
	const size_t cap_max = REVERSE_WS_MAX_FRAME + 14;
	while (n > 0) {
		/* A partial frame is never larger than cap_max (its header is checked
		 * first), so there is always room for more of it. */
		size_t take = n < cap_max - d->len ? n : cap_max - d->len;
		if (d->len + take > d->cap) {
			size_t cap = d->cap ? d->cap : 4096;
			while (cap < d->len + take)
				cap *= 2;
			if (cap > cap_max)
				cap = cap_max;
			char *nb = malloc(cap);
			if (!nb)
				return -ENOMEM;
			if (d->buf) {
				memcpy(nb, d->buf, d->len);
				explicit_bzero(d->buf, d->cap);
				free(d->buf);
			}
			d->buf = nb;
			d->cap = cap;
		}
		memcpy(d->buf + d->len, p, take);
		d->len += take;
		p += take;
		n -= take;
		int r = ws_down_frames(d, w);
		if (r < 0 || d->close_code)
			return r;
	}
	return 0;
}

/* A non-blocking upstream read: > 0 bytes, 0 EOF, -EAGAIN nothing yet, < 0 error. */
static ssize_t up_read_nb(struct upconn *u, char *p, size_t n)
{
	if (!u->ssl) {
		ssize_t k = recv(u->fd, p, n, MSG_DONTWAIT);
		return k >= 0 ? k : errno == EINTR ? -EAGAIN : -errno;
	}
	size_t got = 0;
	int ret = SSL_read_ex(u->ssl, p, n, &got);
	if (ret == 1)
		return (ssize_t)got;
	switch (SSL_get_error(u->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(u->fd, POLLOUT, REVERSE_WRITE_MS) < 0 ? -ETIMEDOUT : -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

/*
 * The upgraded connection: the 101 head (in scratch, rh) goes to the client scrubbed
 * with what followed it, then both directions until either side closes, an idle
 * period of idle_ms passes, or a frame cannot be passed on. One event, at the 101.
 */
static enum outcome ws_relay(struct worker *w, const struct svc *s, const struct req_info *ri,
			     struct upconn *up, const struct http1_head *rh, char *scratch,
			     size_t rlen)
{
	struct reverse *rv = w->rv;
	struct strbuf ch = {.max = REVERSE_MAX_RESPONSE_HEAD + 64};
	struct strbuf out = {0};
	struct span uh = http1_header_get(rh, "Upgrade");
	size_t un = uh.n;
	while (un > 0 && (uh.p[un - 1] == ' ' || uh.p[un - 1] == '\t'))
		un--;
	bool ok = uh.p && un == 9 && strncasecmp(uh.p, "websocket", 9) == 0 &&
		  !http1_header_get(rh, "Sec-WebSocket-Extensions").p;
	if (!ok || build_client_head(scratch, rh, false, false, false, true, &ch) < 0 ||
	    scrub_all(s->scrub, ch.buf, ch.len, &out) < 0) {
		strbuf_release(&ch);
		strbuf_release(&out);
		set_up_fd(w, -EBADF);
		upconn_free(up);
		emit(rv, ri, false, "upstream_failed", 502);
		respond_close(w, 502, "upstream_failed");
		return CLOSE;
	}
	strbuf_release(&ch);
	emit(rv, ri, true, NULL, 101);
	int r = client_write(w->cfd, out.buf, out.len, rv->idle_ms);
	strbuf_release(&out);

	struct ws_down d = {.sc = s->scrub,
			    .out = {.max = REVERSE_WS_MAX_FRAME * 4 + 64},
			    .msg = {.max = REVERSE_WS_MAX_FRAME + 1}};
	d.tail_max = scrub_max_len(s->scrub) - 1;
	if (d.tail_max > sizeof(d.tail))
		d.tail_max = sizeof(d.tail);
	/* What came with the 101, and what the client sent after its handshake. */
	if (r >= 0 && rlen > rh->head_len)
		r = ws_down_feed(&d, w, scratch + rh->head_len, rlen - rh->head_len);
	if (r >= 0 && w->len > 0 && up_write(up, w->buf, w->len, REVERSE_WRITE_MS) < 0)
		r = -EPIPE;
	w->len = 0;
	while (r == 0 && d.close_code == 0) {
		bool pend = up->ssl && SSL_pending(up->ssl) > 0;
		struct pollfd p[2] = {{w->cfd, POLLIN, 0}, {up->fd, POLLIN, 0}};
		int n = poll(p, 2, pend ? 0 : (int)rv->idle_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n == 0 && !pend))
			break; /* idle for idle_ms: both sides go */
		if (p[0].revents) {
			ssize_t k = recv(w->cfd, scratch, IO_BUF, MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
				break; /* the client is gone: so is the upstream connection */
			if (k > 0 && up_write(up, scratch, (size_t)k, REVERSE_WRITE_MS) < 0)
				break;
		}
		if (pend || p[1].revents) {
			ssize_t k = up_read_nb(up, scratch, IO_BUF);
			if (k == 0 || (k < 0 && k != -EAGAIN))
				break;
			if (k > 0)
				r = ws_down_feed(&d, w, scratch, (size_t)k);
		}
	}
	if (r == 0 && d.close_code) {
		char cf[4] = {(char)0x88, 2, (char)(d.close_code >> 8), (char)d.close_code};
		(void)client_write(w->cfd, cf, sizeof(cf), 2000);
		/* No reset that could discard the close frame before the client reads it. */
		(void)shutdown(w->cfd, SHUT_WR);
		uint64_t deadline = now_ms() + DRAIN_MS;
		for (size_t drained = 0; drained < DRAIN_BYTES;) {
			ssize_t k = client_read(w->cfd, scratch, IO_BUF, remaining(deadline));
			if (k <= 0)
				break;
			drained += (size_t)k;
		}
		if (rv->log) {
			char line[700];
			(void)snprintf(line, sizeof(line), "CLOSE websocket %s %s status=%u",
				       s->name, ri->path, d.close_code);
			printable(line);
			rv->log(rv->ud, line);
		}
	}
	if (d.buf)
		explicit_bzero(d.buf, d.cap);
	free(d.buf);
	explicit_bzero(d.tail, sizeof(d.tail));
	strbuf_release(&d.out);
	if (d.msg.buf)
		explicit_bzero(d.msg.buf, d.msg.len);
	strbuf_release(&d.msg);
	set_up_fd(w, -EBADF);
	upconn_free(up);
	return CLOSE;
}

/*
 * Send the request (head: owned, wiped here) upstream, relay its body, and the
 * response back, scrubbed. Returns KEEP when the client connection can carry
 * another request.
 */
static enum outcome relay_one(struct worker *w, const struct http1_head *h, const struct svc *s,
			      const struct req_info *ri, bool ws, char *head, size_t head_len,
			      char *scratch)
{
	struct reverse *rv = w->rv;
	struct upconn *up = NULL;
	int status = 502;
	const char *reason = "upstream_failed";
	struct span expect = http1_header_get(h, "Expect");
	bool has_body = h->chunked || (h->has_content_length && h->content_length > 0);
	bool reused = false;
	struct http1_framer rqf;
	http1_framer_init(&rqf, false, false);

	bool retried = false, body_done = false, client_keep = false;
again:
	for (int attempt = 0;; attempt++) {
		/* A WebSocket gets a connection of its own: it never goes back to the pool. */
		up = ws ? NULL : pool_get(rv, (struct svc *)s);
		reused = up != NULL;
		if (up)
			set_up_fd(w, up->fd);
		else if (up_connect(rv, w, s, &up, &status, &reason) < 0)
			goto fail;
		if (up_write(up, head, head_len, (int)rv->connect_ms) == 0)
			break;
		/* A pooled connection the upstream had closed: once more on a fresh one. */
		set_up_fd(w, -EBADF);
		upconn_free(up);
		up = NULL;
		if (!reused || attempt > 0 || retried) {
			reason = "upstream_failed";
			goto fail;
		}
	}

	int r = 0;
	if (!body_done) {
		if (expect.p && expect.n == 12 && strncasecmp(expect.p, "100-continue", 12) == 0 &&
		    has_body)
			(void)client_write(w->cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25,
					   rv->idle_ms);
		r = relay_request_body(w, up, h, &rqf, scratch);
		if (r == -EPIPE) {
			reason = "upstream_failed";
			goto fail;
		}
		if (r < 0) {
			head = erase_and_free(head, head_len);
			set_up_fd(w, -EBADF);
			upconn_free(up);
			emit(rv, ri, false, "bad_request", 400);
			respond_close(w, 400, "bad_request");
			return CLOSE;
		}
		body_done = true;
		client_keep = http1_framer_keep_alive(&rqf);
	}

	/*
	 * The response head (1xx interim answers skipped: Expect was answered here), whole
	 * within response_ms, while the client is watched: one that leaves ends the wait.
	 */
	uint64_t head_deadline = now_ms() + rv->response_ms;
	size_t rlen = 0;
	struct http1_head rh;
	for (;;) {
		int pr = http1_parse_response_head(scratch, rlen, &rh);
		if (pr > 0 && ws && rh.status == 101)
			break;
		if (pr > 0 && rh.status >= 100 && rh.status < 200) {
			memmove(scratch, scratch + rh.head_len, rlen - rh.head_len);
			rlen -= rh.head_len;
			continue;
		}
		if (pr > 0)
			break;
		if (pr < 0 || rlen >= REVERSE_MAX_RESPONSE_HEAD) {
			reason = "upstream_failed";
			goto fail;
		}
		int left = remaining(head_deadline);
		ssize_t k = left == 0 ? -ETIMEDOUT
				      : up_read(up, scratch + rlen,
						REVERSE_MAX_RESPONSE_HEAD - rlen, left, w->cfd);
		if (k == -ECONNRESET) {
			/* The client gave up: nobody to answer; the upstream goes at once. */
			head = erase_and_free(head, head_len);
			set_up_fd(w, -EBADF);
			upconn_free(up);
			emit(rv, ri, false, "client_gone", 499);
			return CLOSE;
		}
		if (k <= 0 && k != -ETIMEDOUT && rlen == 0 && reused && !has_body && !retried) {
			/* A pooled connection the upstream closed just as we reused it: a
			 * bodiless request is safe to send once more on a fresh one. */
			set_up_fd(w, -EBADF);
			upconn_free(up);
			up = NULL;
			retried = true;
			goto again;
		}
		if (k <= 0) {
			status = k == -ETIMEDOUT ? 504 : 502;
			reason = k == -ETIMEDOUT ? "timeout" : "upstream_failed";
			goto fail;
		}
		rlen += (size_t)k;
	}
	head = erase_and_free(head, head_len);
	if (ws && rh.status == 101)
		return ws_relay(w, s, ri, up, &rh, scratch, rlen);

	struct body_relay br = {.w = w};
	http1_framer_init(&br.f, true, h->method == HTTP_HEAD);
	if (http1_framer_feed(&br.f, scratch, rh.head_len) < 0) {
		reason = "upstream_failed";
		goto fail;
	}
	bool body = !br.f.complete;
	if (body && !identity_encoded(&rh)) {
		reason = "encoded_response";
		goto fail;
	}
	/* HTTP/1.1 clients get chunks; to 1.0 ones, the body ends with the connection. */
	bool chunked = body && (h->http_major > 1 || (h->http_major == 1 && h->http_minor >= 1));
	bool up_keep = http1_framer_keep_alive(&br.f) && !http1_framer_needs_eof(&br.f);
	/* A refused upgrade is answered, then the connection ends (the client may have
	 * sent frames after its handshake). */
	bool close_client = !client_keep || (body && !chunked) || ws;
	struct strbuf ch = {.max = REVERSE_MAX_RESPONSE_HEAD + 64};
	struct strbuf out = {0};
	if (build_client_head(scratch, &rh, close_client, body, chunked, false, &ch) < 0 ||
	    scrub_all(s->scrub, ch.buf, ch.len, &out) < 0) {
		strbuf_release(&ch);
		strbuf_release(&out);
		reason = "upstream_failed";
		goto fail;
	}
	strbuf_release(&ch);
	emit(rv, ri, true, NULL, (int)rh.status);
	(void)scrub_stream_init(&br.ss, s->scrub);
	br.head = &out;
	br.chunked = chunked;

	/* The body, as it arrives; what came with the head goes out with it. */
	size_t off = rh.head_len;
	r = 0;
	for (;;) {
		if (body && (off < rlen || br.f.complete)) {
			ssize_t used = body_relay_feed(&br, scratch + off, rlen - off);
			if (used < 0) {
				r = used == -EPIPE ? -EPIPE : -EPROTO;
				break; /* what went out still goes; the connection closes */
			}
			off += (size_t)used;
		}
		if (br_flush(&br, body && br.f.complete) < 0) {
			r = -EPIPE;
			break;
		}
		if (!body || br.f.complete)
			break;
		ssize_t k = up_read(up, scratch, IO_BUF, (int)rv->idle_ms, w->cfd);
		if (k == 0) {
			/* EOF: completes a body the connection's end delimits, else truncated. */
			up_keep = false;
			if (body_relay_feed(&br, scratch, 0) < 0 || !br.f.complete) {
				r = -EPROTO; /* the client must not take it as whole */
				break;
			}
			rlen = off = 0;
			continue;
		}
		if (k < 0) {
			r = (int)k;
			break;
		}
		off = 0;
		rlen = (size_t)k;
	}
	if (off < rlen)
		up_keep = false; /* bytes past the response: not reusable */
	scrub_stream_done(&br.ss);
	strbuf_release(&out);
	set_up_fd(w, -EBADF);
	if (r >= 0 && up_keep && br.f.complete)
		pool_put(rv, (struct svc *)s, up);
	else
		upconn_free(up);
	return r >= 0 && !close_client ? KEEP : CLOSE;

fail:
	head = erase_and_free(head, head_len);
	set_up_fd(w, -EBADF);
	upconn_free(up);
	emit(rv, ri, false, reason, status);
	respond_close(w, status, reason);
	return CLOSE;
}

/* ---- workers ----------------------------------------------------------------------- */

/* Read until w->buf starts with a complete head: 1, 0 on a quiet close, < 0 status. */
static int read_head(struct worker *w, struct http1_head *h, bool first)
{
	struct reverse *rv = w->rv;
	uint64_t deadline = now_ms() + (first || w->len ? rv->head_ms : REVERSE_KEEPALIVE_MS);

	for (;;) {
		int r = http1_parse_head(w->buf, w->len, h);
		if (r != 0)
			return r;
		if (w->len >= HTTP1_MAX_HEAD)
			return -431;
		bool at_rest = !first && w->len == 0;
		if (at_rest) {
			pthread_mutex_lock(&rv->lock);
			w->waiting = true;
			w->waiting_since = now_ms();
			pthread_mutex_unlock(&rv->lock);
		}
		ssize_t k = client_read(w->cfd, w->buf + w->len, HTTP1_MAX_HEAD - w->len,
					remaining(deadline));
		if (at_rest) {
			pthread_mutex_lock(&rv->lock);
			w->waiting = false;
			bool evicted = w->evicted;
			pthread_mutex_unlock(&rv->lock);
			if (evicted)
				return 0; /* its slot went to a new connection */
		}
		if (k == 0 || (k < 0 && w->len == 0))
			return 0; /* closed, or idle between requests */
		if (k == -ETIMEDOUT)
			return -408;
		if (k < 0)
			return 0;
		if (w->len == 0)
			deadline = now_ms() + rv->head_ms; /* a new request started */
		w->len += (size_t)k;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct reverse *rv = w->rv;
	char *scratch =
	    malloc(IO_BUF > REVERSE_MAX_RESPONSE_HEAD ? IO_BUF : REVERSE_MAX_RESPONSE_HEAD);

	for (bool first = true; scratch; first = false) {
		struct http1_head h;
		int r = read_head(w, &h, first);
		if (r == 0)
			break;
		if (r < 0) {
			struct req_info ri = {.method = "-"};
			emit(rv, &ri, false, r == -408 ? "timeout" : "bad_request", -r);
			respond_close(w, -r, r == -408 ? "timeout" : "bad_request");
			break;
		}
		if (serve_one(w, &h, scratch) != KEEP)
			break;
	}
	free(scratch);

	pthread_mutex_lock(&rv->lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		rv->workers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->cfd = safe_close(w->cfd);
	rv->n_workers--;
	if (w->evicted)
		rv->n_evicted--;
	pthread_cond_broadcast(&rv->idle_cond);
	pthread_mutex_unlock(&rv->lock);
	free(w->buf);
	free(w);
	ERR_clear_error();
	return NULL;
}

/*
 * At the worker limit, a keep-alive connection at rest gives its slot to a new one:
 * the one that has rested longest (at least REVERSE_EVICT_REST_MS) is shut down, as
 * a server closing an idle connection may (RFC 9112, 9.5), and its worker exits.
 * Without this, a client holding max_workers idle connections starves every later
 * one for REVERSE_KEEPALIVE_MS. Under rv->lock.
 */
static void evict_one_at_rest(struct reverse *rv)
{
	struct worker *oldest = NULL;
	uint64_t now = now_ms();
	for (struct worker *w = rv->workers; w; w = w->next)
		if (w->waiting && !w->evicted && now - w->waiting_since >= REVERSE_EVICT_REST_MS &&
		    (!oldest || w->waiting_since < oldest->waiting_since))
			oldest = w;
	if (!oldest)
		return;
	oldest->evicted = true;
	rv->n_evicted++;
	(void)shutdown(oldest->cfd, SHUT_RDWR);
}

int reverse_handoff(struct reverse *rv, int fd, const char *buf, size_t len)
{
	if (len > HTTP1_MAX_HEAD)
		return -EINVAL;
	struct worker *w = calloc(1, sizeof(*w));
	char *b = malloc(IO_BUF);
	if (!w || !b) {
		free(w);
		free(b);
		return -ENOMEM;
	}
	memcpy(b, buf, len);
	*w = (struct worker){.rv = rv, .cfd = fd, .up_fd = -EBADF, .buf = b, .len = len};

	pthread_mutex_lock(&rv->lock);
	if (!rv->stopping && rv->n_workers - rv->n_evicted >= rv->max_workers)
		evict_one_at_rest(rv);
	if (rv->stopping || rv->n_workers - rv->n_evicted >= rv->max_workers) {
		pthread_mutex_unlock(&rv->lock);
		free(b);
		free(w);
		return -EBUSY;
	}
	pthread_attr_t attr;
	pthread_t th;
	int r = pthread_attr_init(&attr);
	if (r == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		(void)pthread_attr_setstacksize(&attr, 512 * 1024);
		w->next = rv->workers;
		if (rv->workers)
			rv->workers->prev = w;
		rv->workers = w;
		rv->n_workers++;
		r = pthread_create(&th, &attr, worker_main, w);
		(void)pthread_attr_destroy(&attr);
		if (r != 0) {
			rv->workers = w->next;
			if (w->next)
				w->next->prev = NULL;
			rv->n_workers--;
		}
	}
	pthread_mutex_unlock(&rv->lock);
	if (r != 0) {
		free(b);
		free(w);
		return -r;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

unsigned reverse_n_workers(struct reverse *rv)
{
	pthread_mutex_lock(&rv->lock);
	unsigned n = rv->n_workers;
	pthread_mutex_unlock(&rv->lock);
	return n;
}

/* ---- set-up ------------------------------------------------------------------------- */

static void svc_done(struct svc *s)
{
	free(s->name);
	free(s->header);
	free(s->phantom);
	free(s->slot);
	s->inject = erase_and_free(s->inject, s->inject_len);
	s->scrub = scrub_free(s->scrub);
	for (size_t i = 0; i < s->n_rules; i++) {
		free((char *)s->rules[i].method);
		free((char *)s->rules[i].path);
	}
	free(s->rules);
	for (size_t i = 0; i < s->n_idle; i++)
		upconn_free(s->idle[i]);
	SSL_CTX_free(s->ctx);
	*s = (struct svc){0};
}

static bool header_name_ok(const char *n)
{
	if (!*n)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	return true;
}

static bool value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

static int svc_init(struct svc *s, const struct proxy_service *ps, struct diag *d)
{
	int r;

	if (!ps->name || !*ps->name || strchr(ps->name, '/') || strlen(ps->name) > 64) {
		diag_set(d, NULL, 0, 0, "invalid credential service name '%s'", strempty(ps->name));
		return -EINVAL;
	}
	if (!ps->upstream || reverse_parse_upstream(ps->upstream, &s->up) < 0) {
		diag_set(
		    d, NULL, 0, 0,
		    "credential service '%s': invalid upstream '%s' (https://host[:port][/path]; "
		    "http:// only for loopback)",
		    ps->name, strempty(ps->upstream));
		return -EINVAL;
	}
	if (!ps->header || !header_name_ok(ps->header)) {
		diag_set(d, NULL, 0, 0, "credential service '%s': invalid header name '%s'",
			 ps->name, strempty(ps->header));
		return -EINVAL;
	}
	if (!ps->format || !strstr(ps->format, "{}") || !value_ok(ps->format, strlen(ps->format))) {
		diag_set(d, NULL, 0, 0,
			 "credential service '%s': credential format '%s' needs one '{}' and no "
			 "control characters",
			 ps->name, strempty(ps->format));
		return -EINVAL;
	}
	if (!ps->phantom || strlen(ps->phantom) < 32 ||
	    !value_ok(ps->phantom, strlen(ps->phantom))) {
		diag_set(d, NULL, 0, 0, "credential service '%s': phantom token missing", ps->name);
		return -EINVAL;
	}
	if (!ps->secret || ps->secret_len == 0 || !value_ok(ps->secret, ps->secret_len)) {
		/* Never print the value: it is the secret. */
		diag_set(d, NULL, 0, 0,
			 "credential service '%s': the credential is empty or holds control "
			 "characters (a newline?), which cannot go in an HTTP header",
			 ps->name);
		return -EINVAL;
	}
	bool v6 = strchr(s->up.host, ':') != NULL;
	bool dflt = s->up.port == (s->up.tls ? 443 : 80);
	if (dflt)
		(void)snprintf(s->authority, sizeof(s->authority), "%s%s%s", v6 ? "[" : "",
			       s->up.host, v6 ? "]" : "");
	else
		(void)snprintf(s->authority, sizeof(s->authority), "%s%s%s:%u", v6 ? "[" : "",
			       s->up.host, v6 ? "]" : "", s->up.port);
	s->name = strdup(ps->name);
	s->name_len = strlen(ps->name);
	s->header = strdup(ps->header);
	s->phantom = strdup(ps->phantom);
	if (!s->name || !s->header || !s->phantom)
		return -ENOMEM;
	if ((r = reverse_format(ps->format, ps->phantom, strlen(ps->phantom), &s->slot,
				&s->slot_len)) < 0 ||
	    (r = reverse_format(ps->format, ps->secret, ps->secret_len, &s->inject,
				&s->inject_len)) < 0 ||
	    (r = scrub_new(ps->secret, ps->secret_len, ps->phantom, strlen(ps->phantom),
			   &s->scrub)) < 0)
		return r;
	if (ps->n_rules) {
		s->rules = calloc(ps->n_rules, sizeof(*s->rules));
		if (!s->rules)
			return -ENOMEM;
		for (size_t i = 0; i < ps->n_rules; i++, s->n_rules++) {
			const struct proxy_endpoint *e = &ps->rules[i];
			if (!e->method || !e->path || !endpoint_glob_valid(e->path)) {
				diag_set(d, "--allow-endpoint", 0, 0,
					 "credential service '%s': invalid endpoint path '%s'",
					 ps->name, e->path ? e->path : "");
				return -EINVAL;
			}
			s->rules[i].method = strdup(e->method);
			s->rules[i].path = strdup(e->path);
			if (!s->rules[i].method || !s->rules[i].path) {
				s->n_rules++;
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/* The upstream TLS context: the system store, plus the PEM file ca when given. */
static int tls_ctx_new(const char *ca, SSL_CTX **ret, struct diag *d)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		diag_set(d, NULL, 0, 0, "cannot set up TLS for the credential proxy");
		return -EIO;
	}
	if (ca && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		diag_set(d, NULL, 0, 0, "cannot load the CA certificates in tls_ca '%s'", ca);
		return -EINVAL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	(void)SSL_CTX_set_mode(ctx,
			       SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	*ret = ctx;
	return 0;
}

int reverse_new(const struct reverse_config *cfg, struct reverse **ret, struct diag *d)
{
	struct reverse *rv = calloc(1, sizeof(*rv));
	int r;

	if (!rv)
		return -ENOMEM;
	pthread_mutex_init(&rv->lock, NULL);
	pthread_cond_init(&rv->idle_cond, NULL);
	rv->max_workers = cfg->max_workers ? cfg->max_workers : REVERSE_MAX_WORKERS;
	rv->svc_cap = rv->max_workers / 2 ? rv->max_workers / 2 : 1;
	rv->response_ms = cfg->response_ms ? cfg->response_ms : REVERSE_RESPONSE_MS;
	rv->head_ms = cfg->head_ms ? cfg->head_ms : 10000;
	rv->connect_ms = cfg->connect_ms ? cfg->connect_ms : 15000;
	rv->idle_ms = cfg->idle_ms ? cfg->idle_ms : 600000;
	rv->event = cfg->event;
	rv->log = cfg->log;
	rv->ud = cfg->ud;
	rv->via_port = cfg->upstream_proxy_port;
	rv->via_bypass = cfg->upstream_bypass;
	if (cfg->upstream_proxy_host && !(rv->via_host = strdup(cfg->upstream_proxy_host))) {
		r = -ENOMEM;
		goto fail;
	}
	if (!cfg->token || strlen(cfg->token) != 64) {
		r = -EINVAL;
		goto fail;
	}
	memcpy(rv->token, cfg->token, 65);
	rv->svcs = calloc(cfg->n_services, sizeof(*rv->svcs));
	if (!rv->svcs) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_services; i++) {
		for (size_t k = 0; k < i; k++)
			if (streq(cfg->services[k].name, cfg->services[i].name)) {
				diag_set(d, NULL, 0, 0, "credential service '%s' is given twice",
					 cfg->services[i].name);
				r = -EINVAL;
				goto fail;
			}
		r = svc_init(&rv->svcs[rv->n_svcs++], &cfg->services[i], d);
		if (r < 0)
			goto fail;
	}
	if ((r = tls_ctx_new(NULL, &rv->ctx, d)) < 0)
		goto fail;
	/* A service's private CA goes into its own context only: no other upstream
	 * chains to it. */
	for (size_t i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].tls_ca &&
		    (r = tls_ctx_new(cfg->services[i].tls_ca, &rv->svcs[i].ctx, d)) < 0)
			goto fail;
	*ret = rv;
	return 0;
fail:
	reverse_free(rv);
	return r;
}

struct reverse *reverse_free(struct reverse *rv)
{
	if (!rv)
		return NULL;
	pthread_mutex_lock(&rv->lock);
	rv->stopping = true;
	for (struct worker *w = rv->workers; w; w = w->next) {
		(void)shutdown(w->cfd, SHUT_RDWR);
		if (w->up_fd >= 0)
			(void)shutdown(w->up_fd, SHUT_RDWR);
	}
	while (rv->n_workers > 0)
		pthread_cond_wait(&rv->idle_cond, &rv->lock);
	pthread_mutex_unlock(&rv->lock);
	for (size_t i = 0; i < rv->n_svcs; i++)
		svc_done(&rv->svcs[i]);
	free(rv->svcs);
	SSL_CTX_free(rv->ctx);
	free(rv->via_host);
	explicit_bzero(rv->token, sizeof(rv->token));
	pthread_mutex_destroy(&rv->lock);
	pthread_cond_destroy(&rv->idle_cond);
	free(rv);
	return NULL;
}
