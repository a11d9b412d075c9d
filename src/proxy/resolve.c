/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/resolve.h"

#include <ares.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <sys/epoll.h>

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

int resolver_new(int epfd, int tag_kind, struct resolver **ret)
{
	static int lib_init = 0;
	struct ares_options o = {};
	struct resolver *r;
	int k;

	if (!lib_init) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
			return -ENOMEM;
		lib_init = 1;
	}
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

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolve_req *q = arg;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t n = 0;
	(void)timeouts;

	if (status == ARES_SUCCESS && ai)
		for (struct ares_addrinfo_node *nd = ai->nodes; nd && n < RESOLVE_MAX_ADDRS;
		     nd = nd->ai_next) {
			if (nd->ai_family == AF_INET &&
			    nd->ai_addrlen >= sizeof(struct sockaddr_in)) {
				struct sockaddr_in *s = (struct sockaddr_in *)&addrs[n];
				memset(&addrs[n], 0, sizeof(addrs[n]));
				memcpy(s, nd->ai_addr, sizeof(*s));
				s->sin_port = htons(q->port);
				n++;
			} else if (nd->ai_family == AF_INET6 &&
				   nd->ai_addrlen >= sizeof(struct sockaddr_in6)) {
				struct sockaddr_in6 *s = (struct sockaddr_in6 *)&addrs[n];
				memset(&addrs[n], 0, sizeof(addrs[n]));
				memcpy(s, nd->ai_addr, sizeof(*s));
				s->sin6_port = htons(q->port);
				n++;
			}
		}
	if (ai)
		ares_freeaddrinfo(ai);
	if (!q->cancelled) {
		int err = status == ARES_SUCCESS				 ? (n ? 0 : -ENOENT)
			  : (status == ARES_ENOTFOUND || status == ARES_ENODATA) ? -ENOENT
			  : status == ARES_ETIMEOUT				 ? -ETIMEDOUT
										 : -EIO;
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
