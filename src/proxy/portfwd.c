/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/macro.h"

enum tag_kind {
	TAG_LISTEN = 0,
	TAG_END,
	_TAG_MAX,
};

struct tag {
	enum tag_kind kind;
};

struct listener {
	struct tag tag;
	int fd;
	uint16_t port;
	int (*make_socket)(void *ud, int family);
	void *ud;
};

struct conn;

/* One socket of a relay; its tag leads so an epoll pointer finds it. */
struct end {
	struct tag tag;
	struct conn *c;
	int fd;
	bool eof;	 /* read side saw end of stream */
	bool shut;	 /* we shut its write side */
	uint32_t events; /* registered interest */
};

/* One direction: a pipe holding bytes spliced from one end, not yet into the other. */
struct pipebuf {
	int fd[2]; /* read, write end; -EBADF before the relay starts */
	size_t len;
};

struct conn {
	struct conn *next;
	const struct listener *l;
	struct end a; /* accepted */
	struct end b; /* outgoing */
	bool connecting;
	bool tried_v6;
	bool dead;
	struct pipebuf ab, ba;
	uint64_t deadline;
};

struct portfwd {
	struct portfwd_config cfg;
	int epfd;
	struct listener *listeners[PORTFWD_MAX_LISTENERS];
	size_t n_listeners;
	struct conn *conns;
	unsigned n_conns;
};

_printf_(2, 3) static void logf_(const struct portfwd *pf, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	if (!pf->cfg.log)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pf->cfg.log(pf->cfg.log_ud, line);
}

int portfwd_new(const struct portfwd_config *cfg, struct portfwd **ret)
{
	struct portfwd *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	if (cfg)
		pf->cfg = *cfg;
	if (!pf->cfg.max_conns)
		pf->cfg.max_conns = 256;
	if (!pf->cfg.connect_timeout_ms)
		pf->cfg.connect_timeout_ms = 5000;
	if (!pf->cfg.idle_timeout_ms)
		pf->cfg.idle_timeout_ms = 10 * 60 * 1000;
	if (!pf->cfg.buf_size || pf->cfg.buf_size > 64 * 1024)
		pf->cfg.buf_size = 64 * 1024; /* what a pipe holds by default */
	pf->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pf->epfd < 0) {
		int r = -errno;
		free(pf);
		return r;
	}
	*ret = pf;
	return 0;
}

static void conn_close_fds(struct portfwd *pf, struct conn *c, bool reset)
{
	struct end *ends[2] = {&c->a, &c->b};
	for (size_t i = 0; i < 2; i++) {
		struct end *e = ends[i];
		if (e->fd < 0)
			continue;
		if (reset) {
			/* Abort rather than end cleanly: the peer sees a reset, as if refused. */
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			(void)setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		(void)epoll_ctl(pf->epfd, EPOLL_CTL_DEL, e->fd, NULL);
		e->fd = safe_close(e->fd);
	}
}

/* Mark dead now (events for it later in the same batch are skipped), free in sweep(). */
static void conn_kill(struct portfwd *pf, struct conn *c, bool reset)
{
	if (c->dead)
		return;
	conn_close_fds(pf, c, reset);
	c->dead = true;
}

static void conn_free(struct conn *c)
{
	struct pipebuf *bufs[2] = {&c->ab, &c->ba};
	for (size_t i = 0; i < 2; i++) {
		safe_close(bufs[i]->fd[0]);
		safe_close(bufs[i]->fd[1]);
	}
	free(c);
}

static void sweep(struct portfwd *pf)
{
	for (struct conn **p = &pf->conns; *p;) {
		struct conn *c = *p;
		if (!c->dead) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		pf->n_conns--;
		conn_free(c);
	}
}

static int set_interest(struct portfwd *pf, struct end *e, uint32_t events)
{
	if (e->fd < 0 || e->events == events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = &e->tag};
	if (epoll_ctl(pf->epfd, EPOLL_CTL_MOD, e->fd, &ev) < 0)
		return -errno;
	e->events = events;
	return 0;
}

static int add_end(struct portfwd *pf, struct end *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = &e->tag};
	if (epoll_ctl(pf->epfd, EPOLL_CTL_ADD, e->fd, &ev) < 0)
		return -errno;
	e->events = events;
	return 0;
}

/*
 * Move bytes from src to dst through b (splice: no copy through user space) until
 * either would block. End of stream on src becomes a write shutdown on dst once b is
 * drained. Returns 0 or -errno.
 */
static int pump(struct portfwd *pf, struct end *src, struct end *dst, struct pipebuf *b,
		bool *moved)
{
	const unsigned fl = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
	for (;;) {
		if (b->len > 0) {
			ssize_t n = splice(b->fd[0], NULL, dst->fd, NULL, b->len, fl);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -errno;
			b->len -= (size_t)n;
			*moved = true;
			continue;
		}
		if (src->eof) {
			if (!dst->shut) {
				(void)shutdown(dst->fd, SHUT_WR);
				dst->shut = true;
			}
			return 0;
		}
		ssize_t n = splice(src->fd, NULL, b->fd[1], NULL, pf->cfg.buf_size, fl);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		*moved = true;
		if (n == 0) {
			src->eof = true;
			continue;
		}
		b->len = (size_t)n;
	}
}

/* Relay both ways, then register what each end waits for. */
static void relay(struct portfwd *pf, struct conn *c)
{
	bool moved = false;
	int r = pump(pf, &c->a, &c->b, &c->ab, &moved);
	if (r >= 0)
		r = pump(pf, &c->b, &c->a, &c->ba, &moved);
	if (r < 0) {
		conn_kill(pf, c, true);
		return;
	}
	if (c->a.eof && c->b.eof && c->ab.len == 0 && c->ba.len == 0) {
		conn_kill(pf, c, false);
		return;
	}
	if (moved)
		c->deadline = now_ms() + pf->cfg.idle_timeout_ms;
	uint32_t ea = (c->ab.len == 0 && !c->a.eof ? EPOLLIN : 0) | (c->ba.len > 0 ? EPOLLOUT : 0);
	uint32_t eb = (c->ba.len == 0 && !c->b.eof ? EPOLLIN : 0) | (c->ab.len > 0 ? EPOLLOUT : 0);
	if (set_interest(pf, &c->a, ea) < 0 || set_interest(pf, &c->b, eb) < 0)
		conn_kill(pf, c, true);
}

/* Start connecting the outgoing side to 127.0.0.1 (or [::1] once that was refused). */
static int start_connect(struct portfwd *pf, struct conn *c)
{
	const struct listener *l = c->l;
	int family = c->tried_v6 ? AF_INET6 : AF_INET;
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons(l->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(l->port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd;

	if (c->b.fd >= 0) {
		(void)epoll_ctl(pf->epfd, EPOLL_CTL_DEL, c->b.fd, NULL);
		c->b.fd = safe_close(c->b.fd);
	}
	fd = l->make_socket ? l->make_socket(l->ud, family)
			    : socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return l->make_socket ? fd : -errno;
	c->b.fd = fd;
	int r = family == AF_INET ? connect(fd, (struct sockaddr *)&a4, sizeof(a4))
				  : connect(fd, (struct sockaddr *)&a6, sizeof(a6));
	if (r < 0 && errno != EINPROGRESS)
		return -errno;
	c->connecting = r < 0;
	c->deadline =
	    now_ms() + (c->connecting ? pf->cfg.connect_timeout_ms : pf->cfg.idle_timeout_ms);
	r = add_end(pf, &c->b, c->connecting ? EPOLLOUT : EPOLLIN);
	return r;
}

/* The outgoing connect failed with ERR: try [::1] after a refusal on 127.0.0.1. */
static void connect_failed(struct portfwd *pf, struct conn *c, int err)
{
	if (err == -ECONNREFUSED && !c->tried_v6) {
		c->tried_v6 = true;
		int r = start_connect(pf, c);
		if (r >= 0) {
			if (!c->connecting)
				relay(pf, c);
			return;
		}
		err = r;
	}
	logf_(pf, "FORWARD port %u: connect failed: %s", c->l->port, strerror(-err));
	conn_kill(pf, c, true);
}

static void on_accept(struct portfwd *pf, struct listener *l)
{
	/* A bounded batch per wake-up: the rest wait in the backlog. */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				logf_(pf, "FORWARD port %u: accept failed: %s", l->port,
				      strerror(errno));
			return;
		}
		if (pf->n_conns >= pf->cfg.max_conns) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			(void)close(fd);
			logf_(pf, "FORWARD port %u: refused, too many connections (%u)", l->port,
			      pf->cfg.max_conns);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (c) {
			c->ab = c->ba = (struct pipebuf){.fd = {-EBADF, -EBADF}};
			if (pipe2(c->ab.fd, O_NONBLOCK | O_CLOEXEC) < 0 ||
			    pipe2(c->ba.fd, O_NONBLOCK | O_CLOEXEC) < 0) {
				logf_(pf, "FORWARD port %u: %s", l->port, strerror(errno));
				conn_free(c);
				c = NULL;
			}
		}
		if (!c) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			(void)close(fd);
			return;
		}
		c->l = l;
		c->a = (struct end){.tag = {TAG_END}, .c = c, .fd = fd};
		c->b = (struct end){.tag = {TAG_END}, .c = c, .fd = -EBADF};
		c->next = pf->conns;
		pf->conns = c;
		pf->n_conns++;
		/* The accepted side waits (events 0) until the outgoing side is connected. */
		int r = add_end(pf, &c->a, 0);
		if (r >= 0)
			r = start_connect(pf, c);
		if (r < 0)
			connect_failed(pf, c, r);
		else if (!c->connecting)
			relay(pf, c);
	}
}

static void on_end(struct portfwd *pf, struct end *e, uint32_t events)
{
	struct conn *c = e->c;
	if (c->dead)
		return;
	if (c->connecting) {
		if (e != &c->b) {
			/* The client gave up (reset) before we reached the server. */
			if (events & (EPOLLERR | EPOLLHUP))
				conn_kill(pf, c, true);
			return;
		}
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->b.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			connect_failed(pf, c, -err);
			return;
		}
		c->connecting = false;
		c->deadline = now_ms() + pf->cfg.idle_timeout_ms;
		relay(pf, c);
		return;
	}
	relay(pf, c);
	/* Error or both directions of this socket closed: nothing more can move through it. */
	if (!c->dead && (events & (EPOLLERR | EPOLLHUP)))
		conn_kill(pf, c, !!(events & EPOLLERR));
}

static void check_timeouts(struct portfwd *pf)
{
	uint64_t now = now_ms();
	for (struct conn *c = pf->conns; c; c = c->next) {
		if (c->dead || c->deadline > now)
			continue;
		logf_(pf, "FORWARD port %u: %s timed out", c->l->port,
		      c->connecting ? "connect" : "idle connection");
		conn_kill(pf, c, true);
	}
}

int portfwd_timeout_ms(const struct portfwd *pf)
{
	uint64_t next = UINT64_MAX, now = now_ms();
	for (const struct conn *c = pf->conns; c; c = c->next)
		if (!c->dead && c->deadline < next)
			next = c->deadline;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now < 60000 ? next - now : 60000);
}

static int dispatch(struct portfwd *pf, int timeout)
{
	struct epoll_event evs[64];
	int n = epoll_wait(pf->epfd, evs, ARRAY_SIZE(evs), timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct tag *t = evs[i].data.ptr;
		if (t->kind == TAG_LISTEN)
			on_accept(pf, (struct listener *)t);
		else
			on_end(pf, (struct end *)t, evs[i].events);
	}
	check_timeouts(pf);
	sweep(pf);
	return 0;
}

int portfwd_dispatch(struct portfwd *pf)
{
	return dispatch(pf, 0);
}

int portfwd_fd(const struct portfwd *pf)
{
	return pf->epfd;
}

int portfwd_run(struct portfwd *pf, int stop_fd)
{
	for (;;) {
		struct pollfd p[2] = {{pf->epfd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
		int n = poll(p, stop_fd >= 0 ? 2 : 1, portfwd_timeout_ms(pf));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && stop_fd >= 0 && p[1].revents)
			return 0;
		int r = dispatch(pf, 0);
		if (r < 0)
			return r;
	}
}

int portfwd_add(struct portfwd *pf, int listen_fd, uint16_t port,
		int (*make_socket)(void *ud, int family), void *ud)
{
	_cleanup_close_ int fd = listen_fd;
	if (!pf || fd < 0 || port == 0)
		return -EINVAL;
	if (pf->n_listeners >= PORTFWD_MAX_LISTENERS)
		return -E2BIG;
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct listener){
	    .tag = {TAG_LISTEN}, .fd = fd, .port = port, .make_socket = make_socket, .ud = ud};
	/* accept4 must not block: the loop drains the backlog until EAGAIN. */
	int fl = fcntl(fd, F_GETFL);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->tag};
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    epoll_ctl(pf->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;
		free(l);
		return r;
	}
	TAKE_FD(fd);
	pf->listeners[pf->n_listeners++] = l;
	return 0;
}

unsigned portfwd_n_conns(const struct portfwd *pf)
{
	unsigned n = 0;
	for (const struct conn *c = pf->conns; c; c = c->next)
		n += !c->dead;
	return n;
}

struct portfwd *portfwd_free(struct portfwd *pf)
{
	if (!pf)
		return NULL;
	for (struct conn *c = pf->conns; c; c = c->next)
		conn_kill(pf, c, false);
	sweep(pf);
	for (size_t i = 0; i < pf->n_listeners; i++) {
		safe_close(pf->listeners[i]->fd);
		free(pf->listeners[i]);
	}
	safe_close(pf->epfd);
	free(pf);
	return NULL;
}

void portfwd_freep(struct portfwd **pf)
{
	*pf = portfwd_free(*pf);
}
