/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The reverse proxy with credential injection (DESIGN.md, Proxy; decisions.md).
 *
 * The epoll loop reads a request head; when its target is origin-form it hands the
 * client socket and the bytes read so far to reverse_handoff(), and one worker
 * thread serves that connection from then on with blocking-style code and poll()
 * timeouts: HTTP/1.1 keep-alive with the client, TLS to the upstream (OpenSSL,
 * verified against the system store: SSL_CTX_set_default_verify_paths, which honours
 * SSL_CERT_FILE / SSL_CERT_DIR), a small pool of idle upstream connections per
 * service, request and response bodies relayed as they arrive.
 *
 * Per request, in this order:
 *   400 malformed head, CONNECT, bad path spelling (endpoint.h)
 *   404 no service of that name
 *   401 X-Nono-Token present and neither the session token nor the service's bare
 *       phantom (a wrong one is 401 even with a right credential slot); without it,
 *       no phantom in the credential slot ("<header>: <format with the phantom>");
 *       compared in constant time
 *   503 the service already has half the worker limit of requests in flight (an
 *       upstream that hangs holds at most its own share of the workers)
 *   403 the service has endpoint rules and none matches, or the upstream resolves
 *       to an always-denied address
 *   502/504 resolve, connect, TLS or upstream failure / timeout (connect + TLS within
 *       connect_ms, the request head written within connect_ms, the whole response
 *       head within response_ms); 502 encoded_response: the upstream compressed the
 *       body although asked for identity (it could not be scrubbed)
 * While the response head is awaited the client is watched: when it hangs up the
 * upstream connection is closed at once and the worker is free.
 * The upstream gets: the method, the service's base path + the normalised path (the
 * one the rules matched) + the query unchanged, Host rewritten, the real credential
 * in the service's header, and none of: the credential header as sent, X-Nono-Token,
 * Authorization, Proxy-Authorization, hop-by-hop headers (Connection and what it
 * names, Keep-Alive, TE, Trailer, Upgrade, Proxy-Connection), Expect (answered here
 * with 100 Continue), Range and If-Range (a slice of an echo would slip a piece of
 * the key past the scrubber), Accept-Encoding (replaced by "identity"), any header
 * whose value carries a phantom or the session token.
 *
 * Responses are scrubbed (scrub.h): every spelling of the key in the head or body
 * becomes the phantom. The replacement changes lengths, so a body goes to an HTTP/1.1
 * client re-chunked (Content-Length and the upstream's chunking and trailers
 * dropped), to an HTTP/1.0 client delimited by closing the connection.
 *
 * WebSocket (reverse_is_websocket): the handshake is a request like any other (routing,
 * canonical path, credential check, endpoint rules, the real key injected; the
 * client's extension offer dropped so no compressed frame is ever negotiated) on a
 * fresh upstream connection; a 101 head is scrubbed and relayed, and one event with
 * status 101 is emitted. Then both directions are relayed until either side closes or
 * nothing moves for idle_ms; the connection keeps its worker and its share of the
 * service's cap. Client frames pass unchanged. Upstream frames are parsed: each data
 * message (fragments assembled, at most REVERSE_WS_MAX_FRAME) is scrubbed and sent as
 * one frame with its new length; a spelling of the key cut across two messages, a
 * control frame holding one, RSV bits, a masked or oversized frame end the connection
 * with a close frame (1008, 1002, 1009) instead: what the first message carried has
 * gone out by then (decisions.md). Any other Upgrade is dropped: plain HTTP.
 *
 * Each request yields one proxy_event (service set, path normalised, the status the
 * client got) and one log line, serialised with the epoll loop's by the caller's
 * hooks.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "proxy/filter.h"
#include "proxy/http1.h"
#include "proxy/proxy.h"

#define REVERSE_MAX_RESPONSE_HEAD (32 * 1024) /* larger upstream head -> 502 */
#define REVERSE_POOL_MAX	  4	      /* idle upstream connections per service */
#define REVERSE_POOL_IDLE_MS	  20000	      /* an idle one older than this is closed */
#define REVERSE_KEEPALIVE_MS	  60000	      /* client idle between requests */
#define REVERSE_EVICT_REST_MS	  200	      /* evictable at the limit after */
#define REVERSE_MAX_WORKERS	  64	      /* default worker limit (connections) */
#define REVERSE_RESPONSE_MS	  300000      /* default response-head deadline */
#define REVERSE_WRITE_MS	  30000	      /* an upstream that takes no bytes for this long */
#define REVERSE_WS_MAX_FRAME	  (4u << 20)  /* larger upstream WebSocket frame -> close 1009 */

struct reverse_config {
	const struct proxy_service *services;
	size_t n_services;
	const char *token; /* session token (64 hex chars) for X-Nono-Token */
	unsigned max_workers, head_ms, connect_ms, idle_ms;
	/*
	 * 0: REVERSE_RESPONSE_MS for the whole response head, counted from the end of the
	 * request (not per byte: a head trickling in is cut off too) -> 504.
	 */
	unsigned response_ms;
	/*
	 * The upstream proxy (host normalised, or NULL) that carries every upstream
	 * connection as a CONNECT tunnel, except to hosts upstream_bypass matches (may be
	 * NULL; borrowed: it must outlive the reverse proxy). A refused CONNECT is 502.
	 */
	const char *upstream_proxy_host;
	uint16_t upstream_proxy_port;
	const struct filter *upstream_bypass;
	/* Called from worker threads: the caller serialises them with its own calls. */
	void (*event)(void *ud, const struct proxy_event *ev);
	void (*log)(void *ud, const char *line);
	void *ud;
};

/* A parsed upstream URL. */
struct reverse_upstream {
	char host[254]; /* normalised, no brackets */
	uint16_t port;
	bool tls;
	bool is_ip;
	char base[1024]; /* "" or "/prefix" without a trailing slash */
};

/*
 * Parse "https://host[:port][/base]" ("http://" only when host is loopback:
 * 127.0.0.0/8, ::1 or localhost). No userinfo, query or fragment. -EINVAL otherwise.
 */
int reverse_parse_upstream(const char *url, struct reverse_upstream *ret);

/*
 * Copy the services (secrets included; wiped on free) and set up the TLS context.
 * No thread starts here (the proxy forks after proxy_new). Errors name the service.
 */
struct reverse;
int reverse_new(const struct reverse_config *cfg, struct reverse **ret, struct diag *d);
/* Wakes every worker, waits for them, wipes the secrets. Accepts NULL, returns NULL. */
struct reverse *reverse_free(struct reverse *rv);

/*
 * Routing of one parsed request head, without I/O (serve path and fuzz-route.c):
 * target syntax and the canonical path (400), the service (404), then whether the
 * service's endpoint rules allow method and path. status 0: routed, to service
 * index svc, path rest (inside ret, canonical) and the raw query (in h's buffer);
 * the caller still checks the credential before acting on allowed.
 */
struct reverse_route {
	int status; /* 0, 400 or 404 */
	const char *reason;
	size_t svc;
	const char *rest;
	struct span query;
	bool allowed;
	char path[HTTP1_MAX_TARGET + 2];
};
void reverse_route(const struct reverse *rv, const struct http1_head *h, struct reverse_route *ret);

/*
 * Serve the client socket fd from a worker thread; buf[0..len) holds what was read
 * so far, starting with a complete request head. On success fd belongs to the worker.
 * -EBUSY at the worker limit, other -errno when no thread could start: fd stays the
 * caller's, which answers 503.
 */
int reverse_handoff(struct reverse *rv, int fd, const char *buf, size_t len);

/* Connections being served (for tests). */
unsigned reverse_n_workers(struct reverse *rv);

/*
 * Pure helpers, exposed for the unit tests.
 * reverse_header_dropped: true when a client header must not reach the upstream
 * (name/value as received; phantom may be NULL; conn_tokens is the Connection
 * header's value or NULL).
 */
bool reverse_header_dropped(const char *name, size_t nl, const char *value, size_t vl,
			    const char *cred_header, const char *phantom, const char *token,
			    const char *conn_tokens, size_t ctl);
/*
 * A WebSocket handshake the proxy carries: GET, HTTP/1.1, "Upgrade: websocket" (that
 * token alone), "upgrade" among the Connection tokens, no body. Any other Upgrade is
 * dropped like every hop-by-hop header (the request is served as plain HTTP).
 */
bool reverse_is_websocket(const struct http1_head *h);
/* Constant-time check of a credential-slot value against the expected one. */
bool reverse_slot_matches(const char *value, size_t vl, const char *expected, size_t el);
/*
 * A client that repeats the upstream's base path (BASE_URL/v1/messages against an
 * upstream ending in /v1) means the same resource as one that does not: drop that one
 * leading copy from the normalised path, in place ("/v1" alone becomes "/"). Endpoint
 * rules are matched after this, relative to the base.
 */
void reverse_strip_base(const char *base, char *path);

/* "Bearer {}" + key -> "Bearer key" into a new string; -EINVAL without "{}". */
int reverse_format(const char *format, const char *key, size_t key_len, char **ret,
		   size_t *ret_len);
