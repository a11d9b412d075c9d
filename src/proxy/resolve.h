/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Non-blocking DNS through c-ares, driven by the proxy's epoll loop. No search
 * domains (an allowlisted name is what gets resolved). The caller checks every
 * address it gets; this module only resolves.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RESOLVE_MAX_ADDRS 16

struct resolver;
struct resolve_req;

/* err is 0 or negative errno (-ENOENT: no such name); addrs carry the port. */
typedef void (*resolve_cb)(void *ud, int err, const struct sockaddr_storage *addrs, size_t n);

/* Epoll tag owners: the resolver adds its sockets to epfd with data.ptr = tag. */
struct resolver_tag {
	int kind; /* set by the proxy, opaque here */
	int fd;
	struct resolver *res;
};

int resolver_new(int epfd, int tag_kind, struct resolver **ret);
struct resolver *resolver_free(struct resolver *r);

/*
 * Start a lookup. *ret is written before any callback can run (c-ares may answer
 * synchronously, in which case cb runs before this returns and *ret is already
 * stale: the callback must clear whatever it was stored in).
 */
int resolver_query(struct resolver *r, const char *host, uint16_t port, resolve_cb cb, void *ud,
		   struct resolve_req **ret);
/* The callback will not be called; the request is freed by the resolver. */
void resolve_req_cancel(struct resolve_req *q);

void resolver_process(struct resolver *r, struct resolver_tag *tag, uint32_t events);
/* Milliseconds until c-ares wants resolver_tick(), or -1. */
int resolver_timeout_ms(struct resolver *r);
void resolver_tick(struct resolver *r);

/*
 * Resolve host without an event loop, for threads and one-shot commands (reverse proxy
 * upstreams, `nono why`): the same c-ares configuration (files, then DNS; no search
 * domains), never longer than timeout_ms (-ETIMEDOUT). At most max addresses, each
 * with port set; *ret_n only on success. -ENOENT: no such name.
 */
int resolve_sync(const char *host, uint16_t port, int timeout_ms, struct sockaddr_storage *addrs,
		 size_t max, size_t *ret_n);
