/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/session-credentials.h"
#include "policy/spec.h"
#include "proxy/proxy.h"
#include "sandbox/sandbox.h"

struct run_proxy {
	bool netns;         /* the proxy listener lives in the child's network namespace */
	pid_t pid;          /* the proxy process, -1 before it starts */
	uint16_t port;      /* the port the child connects to */
	char token[65];     /* 256-bit session token, hex */
	int sock[2];        /* namespace mode: [0] ours, [1] the child's end of the hand-off */
	char **allow;       /* compiled allowlist, owned */
	struct run_credentials *creds; /* reverse-proxy services, owned; NULL: none */
	struct proxy_config cfg;
	struct audit_log *audit; /* set before prepare: every decision is appended; borrowed */
	int stop_fd;             /* written to ask the proxy process to stop */
	/* Hosts the proxy refused, written by the proxy process into a shared page that
	 * no other fork inherits (run_proxy_refused_hosts()); NULL: none mapped. */
	struct run_refused_hosts *refused;
};

#define RUN_REFUSED_HOSTS_MAX 8
struct run_refused_host {
	char host[256]; /* printable, NUL-terminated */
	uint16_t port;
	char reason[32]; /* the proxy's deny reason (proxy.h) */
};
struct run_refused_hosts {
	unsigned n;	  /* entries published (atomic, release) */
	unsigned dropped; /* further distinct hosts */
	struct run_refused_host h[RUN_REFUSED_HOSTS_MAX];
};

/*
 * Take the placement from the spec (-EINVAL when undecided), build the allowlist,
 * generate the token, load the credentials of the reverse-proxy services (wiped in
 * this process as soon as the proxy process is forked). In Landlock mode the proxy
 * starts here; in namespace mode it starts in run_proxy_receive_listener() once the
 * child hands the listener over.
 */
int run_proxy_prepare(struct run_proxy *rp, const struct sandbox_spec *s,
		      const struct sandbox_features *f, struct diag *d);
/* Fork the proxy process serving *px; *px is freed in the caller either way. */
int run_proxy_start(struct run_proxy *rp, struct proxy **px);
/* Namespace mode, in the parent after fork: receive the listener and start the proxy. */
int run_proxy_receive_listener(struct run_proxy *rp, struct diag *d);
/* HTTP(S)_PROXY (both cases) with the token, NO_PROXY for loopback, NODE_USE_ENV_PROXY. */
int run_proxy_environ(const struct run_proxy *rp, char ***env);
/* Stop the proxy process (it reports the refusals it was aggregating first): its last
 * audit events are written. The refused hosts stay readable. */
void run_proxy_stop(struct run_proxy *rp);
/* Stop the proxy process, close everything, wipe the token. */
void run_proxy_release(struct run_proxy *rp);

/*
 * The distinct hosts the proxy refused so far for a reason a flag can change
 * (not_allowed, path_restricted), copied out checked (the proxy process faces the
 * network: its page is read as untrusted). Returns how many were written to ret (at most
 * max) and the number left out in *ret_dropped.
 */
size_t run_proxy_refused_hosts(const struct run_proxy *rp, struct run_refused_host *ret, size_t max,
			       unsigned *ret_dropped);

/* The proxy's allowlist: the spec's allow_domains (the network profile expanded). */
int run_proxy_allowlist(const struct sandbox_spec *s, char ***ret, struct diag *d);
