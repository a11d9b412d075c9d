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
 *   401 neither the service's phantom in its credential slot ("<header>: <format
 *       with the phantom>") nor the session token as X-Nono-Token (constant time);
 *       a wrong X-Nono-Token is 401 even with a right phantom
 *   403 the service has endpoint rules and none matches, or the upstream resolves
 *       to an always-denied address
 *   502/504 resolve, connect, TLS or upstream failure / timeout
 * The upstream gets: the method, the service's base path + the normalised path (the
 * one the rules matched) + the query unchanged, Host rewritten, the real credential
 * in the service's header, and none of: the credential header as sent, X-Nono-Token,
 * Authorization, Proxy-Authorization, hop-by-hop headers (Connection and what it
 * names, Keep-Alive, TE, Trailer, Upgrade, Proxy-Connection), Expect (answered here
 * with 100 Continue), any header whose value carries a phantom or the session token.
 *
 * Each request yields one proxy_event (service set, path normalised, the status the
 * client got) and one log line, serialised with the epoll loop's by the caller's
 * hooks.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "proxy/proxy.h"

#define REVERSE_MAX_RESPONSE_HEAD (32 * 1024) /* larger upstream head -> 502 */
#define REVERSE_POOL_MAX	  4	      /* idle upstream connections per service */
#define REVERSE_POOL_IDLE_MS	  20000	      /* an idle one older than this is closed */
#define REVERSE_KEEPALIVE_MS	  60000	      /* client idle between requests */

struct reverse_config {
	const struct proxy_service *services;
	size_t n_services;
	const char *token; /* session token (64 hex chars) for X-Nono-Token */
	unsigned max_workers, head_ms, connect_ms, idle_ms;
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
