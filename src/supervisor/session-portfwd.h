/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * --open-port / --listen-port in the namespace placement of proxy mode: a forwarder
 * process (src/proxy/portfwd.c) relays exactly those loopback ports between the host
 * and the child's private network namespace.
 *
 *   --listen-port P   host 127.0.0.1:P  ->  child's 127.0.0.1:P (or [::1]:P)
 *   --open-port P     whoever owns P on the host when the sandbox starts keeps it:
 *                     taken on the host (a host server, another sandbox's forwarder)
 *                     -> the child gets a listener on its 127.0.0.1:P / [::1]:P whose
 *                     connections go to the host's 127.0.0.1:P (the child cannot bind
 *                     P, just as on the host); free on the host -> we hold the host's
 *                     127.0.0.1:P and forward into the child, where it may listen.
 * (doc/design/decisions.md, "Port forwarding".)
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/diag.h"
#include "policy/spec.h"
#include "sandbox/sandbox.h"

struct run_portfwd {
	bool active; /* namespace placement with ports to forward */
	pid_t pid;   /* the forwarder process, -1 before it starts */
	int sock[2]; /* [0] ours, [1] the child's end of the listener hand-off */
	int host_fd[SANDBOX_MAX_FWD_PORTS]; /* host listeners: forward into the child */
	uint16_t host_port[SANDBOX_MAX_FWD_PORTS];
	size_t n_host;
	uint16_t inside_port[SANDBOX_MAX_FWD_PORTS]; /* listen inside: forward to the host */
	size_t n_inside;
};

#define RUN_PORTFWD_INIT                                                                           \
	{                                                                                          \
		.pid = -1, .sock = { -EBADF, -EBADF }                                              \
	}

/*
 * Before fork, in the namespace placement (netns true; otherwise a no-op that leaves
 * *pf inactive): decide each port's direction and open the host listeners. A
 * --listen-port already in use on the host is an error naming the flag and port.
 */
int run_portfwd_prepare(struct run_portfwd *pf, const struct sandbox_spec *s, bool netns,
			struct diag *d);
/* Have the plan's child make the inside listeners and hand them over. */
int run_portfwd_plan(struct run_portfwd *pf, struct sandbox_plan *plan);
/*
 * In the supervisor right after fork: take the child's listeners, start the forwarder
 * and wait until it has joined the child's namespace. -EPIPE: the child failed before
 * the hand-off (it reports why itself). JOIN_USERNS: the child has its own user
 * namespace (an unprivileged run).
 */
int run_portfwd_start(struct run_portfwd *pf, pid_t child, bool join_userns, struct diag *d);
/* Stop the forwarder (its helper dies with it), close everything. */
void run_portfwd_release(struct run_portfwd *pf);
/* Whether PORT is one the spec forwards (the proxy's own port must differ). */
bool run_portfwd_uses_port(const struct sandbox_spec *s, uint16_t port);
