/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Loopback TCP port forwarding between two network namespaces, for `nono run` in the
 * namespace placement (DESIGN.md, Network): --listen-port carries host connections into
 * the child's namespace, --open-port carries the child's connections out to the host
 * (or the other way round, see doc/design/decisions.md).
 *
 * A forwarder owns listening sockets. Each connection accepted on one is relayed to the
 * rule's port on loopback (127.0.0.1, then [::1] when that is refused) through a socket
 * the rule's factory makes; sockets belong to the network namespace they were created
 * in, so a factory running in another namespace (a helper that joined it) places the
 * outgoing side there. Single-threaded epoll, a pipe per direction and splice() (no
 * copy through user space; 6 fds per relay), half-close passed through, connect and
 * idle timeouts, a cap on live connections.
 *
 * Library code: no logging of its own (cfg->log gets one line per event), no exits.
 */

#include <stddef.h>
#include <stdint.h>

/* Most listening sockets one forwarder takes (ports x address families). */
#define PORTFWD_MAX_LISTENERS 128

struct portfwd_config {
	unsigned max_conns;	     /* 0: 256; connections beyond it are reset at once */
	unsigned connect_timeout_ms; /* 0: 5 s to connect the outgoing side */
	unsigned idle_timeout_ms;    /* 0: 10 min without a byte in either direction */
	size_t buf_size;	     /* 0: 64 KiB (most a pipe takes) per splice() */
	void (*log)(void *ud, const char *line);
	void *log_ud;
};

struct portfwd;

int portfwd_new(const struct portfwd_config *cfg, struct portfwd **ret);
/* Closes every relay and listener. Accepts NULL, returns NULL. */
struct portfwd *portfwd_free(struct portfwd *pf);
void portfwd_freep(struct portfwd **pf);
#define _cleanup_portfwd_ __attribute__((cleanup(portfwd_freep)))

/*
 * Relay connections accepted on LISTEN_FD (a bound, listening TCP socket; taken over,
 * also on failure) to PORT on loopback. The outgoing side comes from
 * MAKE_SOCKET(UD, family): a new SOCK_STREAM socket of that family (AF_INET, AF_INET6),
 * non-blocking and close-on-exec, or -errno; NULL means socket(2) in the calling
 * process's namespace. Returns 0, -EINVAL (bad fd or port), -E2BIG
 * (PORTFWD_MAX_LISTENERS reached), -errno.
 */
int portfwd_add(struct portfwd *pf, int listen_fd, uint16_t port,
		int (*make_socket)(void *ud, int family), void *ud);

/* Run until stop_fd (-1: never) becomes readable. 0, or -errno when epoll fails. */
int portfwd_run(struct portfwd *pf, int stop_fd);

/*
 * Embedding in another loop: poll portfwd_fd() for EPOLLIN, wait at most
 * portfwd_timeout_ms() (-1: nothing pending), then portfwd_dispatch(), which never blocks.
 */
int portfwd_fd(const struct portfwd *pf);
int portfwd_timeout_ms(const struct portfwd *pf);
int portfwd_dispatch(struct portfwd *pf);

/* Live relays (tests). */
unsigned portfwd_n_conns(const struct portfwd *pf);
