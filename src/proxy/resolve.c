/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/resolve.h"

#include <ares.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>

#include "base/clock.h"
#include "base/macro.h"

#define RESOLVER_MAX_SOCKS 32

struct resolver {
	ares_channel ch;
	int epfd;
	int tag_kind;
	/* Fixed slots, never freed while the resolver lives: an epoll batch may still hold one. */
	struct resolver_tag tags[RESOLVER_MAX_SOCKS];
};

struct resolve_req {
	resolve_cb cb;
	void *ud;
	uint16_t port;
	bool cancelled;
};

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	size_t slot = RESOLVER_MAX_SOCKS;

	for (size_t i = 0; i < RESOLVER_MAX_SOCKS; i++)
		if (r->tags[i].fd == fd)
			slot = i;
	if (!readable && !writable) {
		if (slot < RESOLVER_MAX_SOCKS) {
			(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
			r->tags[slot].fd = -1;
		}
		return;
	}
	struct epoll_event ev = {.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u)};
	if (slot < RESOLVER_MAX_SOCKS) {
		ev.data.ptr = &r->tags[slot];
		(void)epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev);
		return;
	}
	for (slot = 0; slot < RESOLVER_MAX_SOCKS && r->tags[slot].fd >= 0; slot++)
		;
	if (slot == RESOLVER_MAX_SOCKS)
		return; /* c-ares times the query out: fails closed */
	r->tags[slot].fd = fd;
	ev.data.ptr = &r->tags[slot];
	(void)epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int lib_status = ARES_SUCCESS;

static void lib_init_once(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* Once per process, whichever thread (proxy loop, reverse workers) comes first. */
static int lib_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	(void)pthread_once(&once, lib_init_once);
	return lib_status == ARES_SUCCESS ? 0 : -ENOMEM;
}

int resolver_new(int epfd, int tag_kind, struct resolver **ret)
{
	struct ares_options o = {};
	struct resolver *r;
	int k;

	if (lib_init() < 0)
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->epfd = epfd;
	r->tag_kind = tag_kind;
	for (size_t i = 0; i < RESOLVER_MAX_SOCKS; i++)
		r->tags[i] = (struct resolver_tag){.kind = tag_kind, .fd = -1, .res = r};
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	o.flags = ARES_FLAG_NOSEARCH;
	o.timeout = 2000;
	o.tries = 2;
	o.lookups = (char *)"fb";
	k = ares_init_options(&r->ch, &o,
			      ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
				  ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
	if (k != ARES_SUCCESS) {
		free(r);
		return k == ARES_ENOMEM ? -ENOMEM : -EIO;
	}
	*ret = r;
	return 0;
}

struct resolver *resolver_free(struct resolver *r)
{
	if (!r)
		return NULL;
	ares_destroy(r->ch); /* runs pending callbacks with ARES_EDESTRUCTION */
	free(r);
	return NULL;
}

/* The TCP-usable addresses of an answer, with the port set; at most max. */
static size_t collect(const struct ares_addrinfo *ai, uint16_t port, struct sockaddr_storage *addrs,
		      size_t max)
{
	size_t n = 0;

	for (struct ares_addrinfo_node *nd = ai ? ai->nodes : NULL; nd && n < max;
	     nd = nd->ai_next) {
		if (nd->ai_family == AF_INET && nd->ai_addrlen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in *s = (struct sockaddr_in *)&addrs[n];
			memset(&addrs[n], 0, sizeof(addrs[n]));
			memcpy(s, nd->ai_addr, sizeof(*s));
			s->sin_port = htons(port);
			n++;
		} else if (nd->ai_family == AF_INET6 &&
			   nd->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&addrs[n];
			memset(&addrs[n], 0, sizeof(addrs[n]));
			memcpy(s, nd->ai_addr, sizeof(*s));
			s->sin6_port = htons(port);
			n++;
		}
	}
	return n;
}

static int status_to_errno(int status, size_t n)
{
	return status == ARES_SUCCESS				      ? (n ? 0 : -ENOENT)
	       : (status == ARES_ENOTFOUND || status == ARES_ENODATA) ? -ENOENT
	       : status == ARES_ETIMEOUT			      ? -ETIMEDOUT
								      : -EIO;
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolve_req *q = arg;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t n = 0;
	(void)timeouts;

	if (status == ARES_SUCCESS && ai)
		n = collect(ai, q->port, addrs, RESOLVE_MAX_ADDRS);
	if (ai)
		ares_freeaddrinfo(ai);
	if (!q->cancelled) {
		int err = status_to_errno(status, n);
		q->cb(q->ud, err, addrs, err ? 0 : n);
	}
	free(q);
}

int resolver_query(struct resolver *r, const char *host, uint16_t port, resolve_cb cb, void *ud,
		   struct resolve_req **ret)
{
	struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct resolve_req *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	*q = (struct resolve_req){.cb = cb, .ud = ud, .port = port};
	*ret = q;
	ares_getaddrinfo(r->ch, host, NULL, &hints, on_addrinfo, q);
	return 0;
}

void resolve_req_cancel(struct resolve_req *q)
{
	if (q)
		q->cancelled = true;
}

void resolver_process(struct resolver *r, struct resolver_tag *tag, uint32_t events)
{
	int fd = tag->fd;
	if (fd < 0)
		return; /* slot released earlier in this epoll batch */
	ares_process_fd(r->ch, (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
			(events & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
}

int resolver_timeout_ms(struct resolver *r)
{
	struct timeval tv, *t = ares_timeout(r->ch, NULL, &tv);
	if (!t)
		return -1;
	return (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
}

void resolver_tick(struct resolver *r)
{
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

struct sync_req {
	bool done;
	int err;
	uint16_t port;
	struct sockaddr_storage *addrs;
	size_t max, n;
};

static void on_sync(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct sync_req *q = arg;
	(void)timeouts;

	if (status == ARES_SUCCESS && ai)
		q->n = collect(ai, q->port, q->addrs, q->max);
	if (ai)
		ares_freeaddrinfo(ai);
	q->err = status_to_errno(status, q->n);
	q->done = true;
}

int resolve_sync(const char *host, uint16_t port, int timeout_ms, struct sockaddr_storage *addrs,
		 size_t max, size_t *ret_n)
{
	struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct ares_options o = {};
	struct sync_req q = {.err = -EIO, .port = port, .addrs = addrs, .max = max};
	ares_channel ch;
	uint64_t deadline;

	if (timeout_ms <= 0)
		return -ETIMEDOUT;
	if (lib_init() < 0)
		return -ENOMEM;
	o.flags = ARES_FLAG_NOSEARCH;
	o.timeout = timeout_ms < 2000 ? timeout_ms : 2000;
	o.tries = 2;
	o.lookups = (char *)"fb";
	int k = ares_init_options(
	    &ch, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
	if (k != ARES_SUCCESS)
		return k == ARES_ENOMEM ? -ENOMEM : -EIO;
	deadline = now_ms() + (uint64_t)timeout_ms;
	ares_getaddrinfo(ch, host, NULL, &hints, on_sync, &q);
	while (!q.done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		nfds_t np = 0;
		int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		uint64_t now = now_ms();

		if (now >= deadline)
			break;
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = (short)((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
					   (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
			if (ev)
				pfd[np++] = (struct pollfd){.fd = socks[i], .events = ev};
		}
		struct timeval tv, *t = ares_timeout(ch, NULL, &tv);
		uint64_t wait = deadline - now;
		if (t && (uint64_t)t->tv_sec * 1000 + (uint64_t)(t->tv_usec + 999) / 1000 < wait)
			wait = (uint64_t)t->tv_sec * 1000 + (uint64_t)(t->tv_usec + 999) / 1000;
		int pr = poll(pfd, np, (int)wait);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < np && !q.done; i++)
			if (pfd[i].revents)
				ares_process_fd(ch,
						(pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
						    ? pfd[i].fd
						    : ARES_SOCKET_BAD,
						(pfd[i].revents & POLLOUT) ? pfd[i].fd
									   : ARES_SOCKET_BAD);
	}
	bool done = q.done;
	ares_destroy(ch); /* a pending query ends with ARES_EDESTRUCTION: q stays alive */
	if (!done)
		return -ETIMEDOUT;
	if (q.err < 0)
		return q.err;
	*ret_n = q.n;
	return 0;
}
