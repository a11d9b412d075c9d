/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The network proxy: a single-threaded epoll server the supervisor runs in its own
 * forked process (or thread). It speaks HTTP/1.1 forward-proxy requests only:
 *
 *   CONNECT host:port  -> token check (407), allowlist (403), resolve with c-ares,
 *                         refuse if ANY address is always-denied (403), connect to the
 *                         checked addresses only (never re-resolving), 200, then a
 *                         splice() tunnel with half-close and an idle timeout.
 *   GET http://host/p  -> same checks plus path globs; forwarded once in origin form
 *                         with Proxy-Authorization/Connection stripped, Host rewritten
 *                         and "Connection: close" (one request per connection).
 *
 * With upstream_proxy set, destinations not matching upstream_bypass are chained:
 * CONNECT is re-issued to the upstream proxy, plain requests are sent to it in
 * absolute form. Metadata names and literals are refused before chaining. The
 * credential services' upstreams are chained the same way (reverse.h).
 *
 * Every decision is reported as one line through cfg->log:
 *   "ALLOW CONNECT api.openai.com:443"
 *   "DENY CONNECT 169.254.169.254:80 reason=denied_cidr"
 *   "ALLOW GET example.com:80/path", "DENY GET example.com:80/x reason=path_restricted"
 * reasons: not_allowed path_restricted denied_host denied_cidr bad_host bad_token
 *          missing_token bad_request resolve_failed connect_failed upstream_failed
 *          timeout too_many_connections head_evicted no_resources audit_failed
 *          denied_loopback (a name only a wildcard entry admits resolved to loopback or
 *          this host's own address; policy/netmatch.h)
 *
 * Fairness: a connection still sending its request head (or already answered and
 * draining) holds a slot of a separate, smaller cap (max_conns - max_conns / 4). When
 * that cap or max_conns is reached, the oldest such connection is evicted (408,
 * head_evicted) to make room, so an
 * established tunnel or a client whose head is complete is never refused because of
 * slow ones. While heads fill half their cap, new ones get at most PROXY_PRESSURE_HEAD_MS.
 * With fair_by_uid each user gets at most half the head slots, and a user over that
 * share only evicts its own.
 * Refusals that come in bursts (too_many_connections, head_evicted, a head's timeout)
 * are reported as one event per reason and second, with a count.
 *
 * Reverse proxy / credential injection: an origin-form request "/<service>/..." to
 * the listener itself is handed, with the bytes read so far, to a worker thread
 * (reverse.h) that forwards it to the service's upstream with the real key injected.
 * Without services such requests get 400.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "proxy/filter.h"
#include "proxy/http1.h"

/* Test-only static resolver entries: name -> address literal, used instead of DNS. */
struct proxy_host_override {
	const char *name;
	const char *addr;
};

/*
 * One allow/deny decision, for the audit trail. Strings are only valid during the
 * callback; peer-supplied ones (host, path) are already made printable.
 */
struct proxy_event {
	bool allow;
	const char *method; /* "CONNECT", "GET", ...; "-" when the head was unreadable */
	const char *host;   /* "-" when unknown */
	uint16_t port;
	const char *path;    /* origin-form path without the query; "" for CONNECT */
	const char *service; /* reverse proxy: the credential service; NULL otherwise */
	const char *reason;  /* deny reason (see above); NULL on allow */
	int status;	     /* status answered to the client; 0 for an allowed tunnel */
	unsigned count;	     /* refusals aggregated into this event; 0 or 1: one */
};

/* An endpoint rule of a reverse-proxy service (see endpoint.h for the glob). */
struct proxy_endpoint {
	const char *method; /* "GET", ... or "*" */
	const char *path;
};

/* A credential service of the reverse proxy (see reverse.h). */
struct proxy_service {
	const char *name;     /* the first path segment: /<name>/... */
	const char *upstream; /* https://host[:port][/base]; http:// for loopback only */
	const char *header;   /* the credential slot, e.g. "Authorization" */
	const char *format;   /* its value, "{}" standing for the key, e.g. "Bearer {}" */
	const char *phantom;  /* what the child holds in place of the key */
	const char *secret;   /* the real key; copied (the caller wipes its own copy) */
	size_t secret_len;
	const struct proxy_endpoint *rules; /* none: every method and path */
	size_t n_rules;
	const char *tls_ca; /* a PEM file of CAs trusted for this upstream only; or NULL */
};

struct proxy_config {
	char *const *allow;	      /* host patterns / URL globs (see filter.h); NULL: none */
	const char *upstream_proxy;   /* "host:port" or NULL */
	char *const *upstream_bypass; /* exact names and "*.suffix" */
	uint16_t port;		      /* 0: OS-assigned; ignored with use_listen_fd */
	bool use_listen_fd;	      /* take over listen_fd (already bound and listening) */
	int listen_fd;
	/* Accept requests WITHOUT credentials (listener in the child's private netns only);
	 * wrong credentials are always 407. */
	bool allow_tokenless;
	/* The listener is on the host's loopback (not in the child's own namespace), so
	 * several users' processes can reach it: unfinished heads are capped per peer uid
	 * too (half the head slots each), and a full queue evicts from the user holding
	 * the most. */
	bool fair_by_uid;
	const char *token;	     /* NULL: generate a fresh 256-bit token */
	unsigned max_conns;	     /* 0: 1024; beyond it new clients get 503 */
	unsigned head_timeout_ms;    /* 0: 10 s to send a complete request head (408) */
	unsigned connect_timeout_ms; /* 0: 15 s for resolve + connect + upstream reply (504) */
	unsigned idle_timeout_ms;    /* 0: 10 min without bytes in either direction */
	void (*log)(void *ud, const char *line);
	void *log_ud;
	/* Every decision also as a structured event (audit trail); NULL: none. */
	void (*event)(void *ud, const struct proxy_event *ev);
	void *event_ud;
	/* Fail closed: when it returns true (the audit trail could not be written), every
	 * later decision is refused (503, audit_failed). NULL: never. Called with event_ud. */
	bool (*event_failed)(void *ud);
	/* Tests only; the CLI leaves it NULL. Overridden addresses are still checked. */
	const struct proxy_host_override *hosts_override;
	size_t n_hosts_override;
	/* Reverse proxy services; none: origin-form requests get 400. */
	const struct proxy_service *services;
	size_t n_services;
	unsigned max_workers;	      /* 0: 64 reverse-proxy connections at once; beyond: 503 */
	unsigned response_timeout_ms; /* 0: 300 s for a credential upstream's response head */
};

struct proxy;

/*
 * Tunnel pipes start at the kernel's default size; one that carries bulk grows to
 * 1 MiB (or fs.pipe-max-size if lower), at most this many at a time, so a busy proxy
 * takes no more than a quarter of the user's default pipe quota.
 */
#define PROXY_BULK_PIPES_MAX 16

/* The head deadline while the slots of unfinished heads are half taken. */
#define PROXY_PRESSURE_HEAD_MS 2000

/*
 * Create the proxy: compile the allowlists (a bad pattern is -EINVAL with the
 * pattern in d), listen on 127.0.0.1 (or take over cfg->listen_fd, also on
 * failure), start the resolver. Strings in cfg are copied. Sets SIGPIPE to
 * SIG_IGN in the calling process (splice to a closed socket would raise it).
 */
int proxy_new(const struct proxy_config *cfg, struct proxy **ret, struct diag *d);
/* Closes every connection and the listener. Accepts NULL, returns NULL. */
struct proxy *proxy_free(struct proxy *px);
void proxy_freep(struct proxy **px);
#define _cleanup_proxy_ __attribute__((cleanup(proxy_freep)))

/*
 * Routing of one parsed forward-proxy request head, without I/O (conn_request() and
 * fuzz-route.c). reverse: origin-form, for the reverse proxy (nothing else set).
 * Otherwise status 400 (reason "bad_request": target syntax, "bad_path": a path
 * endpoint_canon_target() refuses) or 0 with host, port, the canonical path (what
 * the URL rules matched and what the server is sent), the raw query (in h's buffer)
 * and allow's verdict for them. On "bad_path", path holds the raw path for the log.
 * The caller checks the proxy credential before acting on verdict.
 */
struct proxy_route {
	int status;
	const char *reason;
	bool reverse, is_connect;
	char host[HOST_NAME_MAX_LEN + 1];
	uint16_t port;
	struct span query;
	enum filter_verdict verdict;
	bool via_wildcard; /* allowed only by a "*." entry (filter_check_how()) */
	char path[HTTP1_MAX_TARGET + 2];
};
void proxy_route(const struct filter *allow, const struct http1_head *h, struct proxy_route *ret);

uint16_t proxy_port(const struct proxy *px);
/* The session token (64 hex chars), valid while px lives. */
const char *proxy_token(const struct proxy *px);

/*
 * Run until stop_fd (an eventfd or pipe; -1 for never) becomes readable, then report
 * the refusals still being aggregated. Returns 0, or negative errno when epoll itself
 * fails.
 */
int proxy_run(struct proxy *px, int stop_fd);

/*
 * Embedding in another loop: poll proxy_fd() for EPOLLIN, wait at most
 * proxy_timeout_ms() (-1: no timer pending), then call proxy_dispatch(), which never
 * blocks.
 */
int proxy_fd(const struct proxy *px);
int proxy_timeout_ms(const struct proxy *px);
int proxy_dispatch(struct proxy *px);

/*
 * The environment the child needs to use the proxy, as a new strv of "NAME=value":
 * HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy =
 * http://nono:<token>@127.0.0.1:<port>, NO_PROXY/no_proxy = localhost,127.0.0.1,::1,
 * NODE_USE_ENV_PROXY=1. host overrides "127.0.0.1" (e.g. the address the listener
 * has inside the child's namespace); port 0 means proxy_port(). The token is in
 * the strings: free them with strv_free after wiping if you care.
 */
int proxy_child_env(const struct proxy *px, const char *host, uint16_t port, char ***ret);
/* The same, for a token and port decided before the proxy exists (namespace mode). */
int proxy_env_for(const char *token, const char *host, uint16_t port, char ***ret);

/* Live connections (for tests and the benchmark). */
unsigned proxy_n_conns(const struct proxy *px);
/* Report the aggregated refusals now (proxy_run does at its end). */
void proxy_flush_events(struct proxy *px);
