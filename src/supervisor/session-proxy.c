/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Proxy mode for `nono run`: start the filtering proxy in its own unsandboxed process
 * and point the child at it.
 *
 * Two placements (DESIGN.md, Network):
 *  - namespace mode (user namespaces work, or root): the child gets a private network
 *    namespace with only loopback. It creates the proxy's listening socket inside that
 *    namespace before it drops privileges and hands it to us over SCM_RIGHTS; the proxy
 *    accepts there and connects upstream from the host namespace. Nothing but the proxy
 *    is reachable, on any address or port.
 *    --open-port/--listen-port are forwarded between the host and that namespace
 *    (session-portfwd.c).
 *  - Landlock mode (fallback): the proxy listens on the host's 127.0.0.1 and Landlock
 *    lets the child connect to that port only.
 * policy_resolve() decides (spec->proxy.placement); why and setup print the same answer.
 */
#include "supervisor/session-proxy.h"
#include "supervisor/session-environ.h"
#include "supervisor/session-portfwd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strv.h"
#include "proxy/token.h"

/* How long the child has to hand over the listener (it is the child's first act). */
#define LISTENER_HANDOFF_MS 10000
/* How long the proxy has to wind down when asked before it is killed. */
#define PROXY_STOP_MS 1000

static void proxy_log(void *ud, const char *line)
{
	(void)ud;
	log_debug("proxy: %s", line);
}

/* In the proxy process: every allow/deny decision goes to the audit trail. */
static void proxy_audit_event(void *ud, const struct proxy_event *ev)
{
	const struct audit_network_event ae = {
		.allow = ev->allow,
		.method = ev->method,
		.host = ev->host,
		.port = ev->port,
		.path = ev->path,
		.service = ev->service,
		.reason = ev->reason,
		.status = ev->status,
		.count = ev->count,
	};
	(void)audit_append_network(ud, &ae); /* a lost event is counted in the record */
}

/* In the proxy process: a refusal a flag could lift, for the run's footer. */
static void refused_add(struct run_refused_hosts *rh, const struct proxy_event *ev)
{
	if (!rh || ev->allow || !ev->reason || !ev->host || streq(ev->host, "-") ||
	    (!streq(ev->reason, "not_allowed") && !streq(ev->reason, "path_restricted")))
		return;
	unsigned n = __atomic_load_n(&rh->n, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n && i < RUN_REFUSED_HOSTS_MAX; i++)
		if (rh->h[i].port == ev->port && streq(rh->h[i].host, ev->host))
			return;
	if (n >= RUN_REFUSED_HOSTS_MAX || strlen(ev->host) >= sizeof(rh->h[0].host)) {
		rh->dropped++;
		return;
	}
	struct run_refused_host *h = &rh->h[n];
	memcpy(h->host, ev->host, strlen(ev->host) + 1);
	h->port = ev->port;
	(void)snprintf(h->reason, sizeof(h->reason), "%s", ev->reason);
	__atomic_store_n(&rh->n, n + 1, __ATOMIC_RELEASE);
}

/* In the proxy process: every decision goes to the audit trail, refusals to the footer. */
static void proxy_event(void *ud, const struct proxy_event *ev)
{
	struct run_proxy *rp = ud;
	if (rp->audit)
		proxy_audit_event(rp->audit, ev);
	refused_add(rp->refused, ev);
}

/* The proxy fails closed once an event could not be written (in any process). */
static bool proxy_audit_failed(void *ud)
{
	const struct run_proxy *rp = ud;
	return audit_events_lost(rp->audit) > 0;
}

size_t run_proxy_refused_hosts(const struct run_proxy *rp, struct run_refused_host *ret, size_t max,
			       unsigned *ret_dropped)
{
	const struct run_refused_hosts *rh = rp->refused;
	size_t k = 0;
	*ret_dropped = 0;
	if (!rh)
		return 0;
	unsigned n = __atomic_load_n(&rh->n, __ATOMIC_ACQUIRE);
	if (n > RUN_REFUSED_HOSTS_MAX)
		n = RUN_REFUSED_HOSTS_MAX;
	for (unsigned i = 0; i < n && k < max; i++) {
		struct run_refused_host h = rh->h[i];
		bool ok = strnlen(h.host, sizeof(h.host)) < sizeof(h.host) && h.host[0] &&
			  strnlen(h.reason, sizeof(h.reason)) < sizeof(h.reason);
		for (const char *c = h.host; ok && *c; c++)
			ok = (unsigned char)*c > ' ' && (unsigned char)*c < 0x7f;
		if (ok)
			ret[k++] = h;
	}
	*ret_dropped = __atomic_load_n(&rh->dropped, __ATOMIC_RELAXED) + (unsigned)(n - k);
	return k;
}

/* Host patterns: policy_resolve expanded the network profile into allow_domains. */
int run_proxy_allowlist(const struct sandbox_spec *s, char ***ret, struct diag *d)
{
	_cleanup_strv_free_ char **hosts = NULL;
	(void)d;
	STRV_FOREACH(h, s->proxy.allow_domains)
	if (strv_extend(&hosts, *h) < 0)
		return -ENOMEM;
	if (!hosts && !(hosts = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(hosts);
	return 0;
}

static uint16_t random_port(void)
{
	uint16_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint16_t)getpid(); /* only a port number: predictability costs nothing */
	/* Any port is free in a brand-new namespace; stay clear of the well-known range. */
	return (uint16_t)(20000 + v % 40000);
}

/*
 * A credential-proxy deadline in whole seconds from the environment (1 to 86400);
 * unset or empty leaves *ret_ms (0: the proxy's default).
 */
static int env_seconds(const char *name, unsigned *ret_ms, struct diag *d)
{
	const char *v = secure_getenv(name);
	uint64_t n;
	if (!v || !*v)
		return 0;
	if (parse_u64(v, 86400, &n) < 0 || n == 0) {
		diag_set(d, name, 0, 0, "invalid %s '%s': expected seconds, 1 to 86400", name, v);
		return -EINVAL;
	}
	*ret_ms = (unsigned)n * 1000;
	return 0;
}

int run_proxy_prepare(struct run_proxy *rp, const struct sandbox_spec *s,
		      const struct sandbox_features *f, struct diag *d)
{
	int r;

	struct audit_log *audit = rp->audit;
	*rp = (struct run_proxy){
	    .pid = -1, .sock = {-EBADF, -EBADF}, .stop_fd = -EBADF, .audit = audit};
	r = run_proxy_allowlist(s, &rp->allow, d);
	if (r < 0)
		return r;
	/* Shared with the proxy process only: kept out of every other fork. */
	void *m = mmap(NULL, sizeof(*rp->refused), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED && madvise(m, sizeof(*rp->refused), MADV_DONTFORK) == 0)
		rp->refused = m;
	else if (m != MAP_FAILED)
		(void)munmap(m, sizeof(*rp->refused));
	r = token_generate(rp->token, sizeof(rp->token));
	if (r < 0)
		return r;
	r = run_credentials_load(s, &rp->creds, d);
	if (r < 0)
		return r;

	/* As the spec's placement says: policy_resolve decided it from the probed features.
	 * --open-port/--listen-port are forwarded in the namespace placement
	 * (session-portfwd.c). */
	(void)f;
	if (s->proxy.placement == PROXY_PLACEMENT_UNDECIDED) {
		diag_set(d, NULL, 0, 0, "the proxy placement was not decided (no probed features)");
		return -EINVAL;
	}
	rp->netns = s->proxy.placement == PROXY_PLACEMENT_NETNS;
	rp->cfg = (struct proxy_config){
		.allow = rp->allow,
		.event = proxy_event,
		.event_ud = rp,
		.event_failed = audit ? proxy_audit_failed : NULL,
		.upstream_proxy = s->proxy.upstream_proxy,
		.upstream_bypass = s->proxy.upstream_bypass,
		.port = s->proxy.port,
		.token = rp->token,
		.allow_tokenless = rp->netns,
		.fair_by_uid = !rp->netns, /* host loopback: other users can connect too */
		.log = proxy_log,
		.services = rp->creds ? rp->creds->services : NULL,
		.n_services = rp->creds ? rp->creds->n : 0,
	};
	/* Deadlines towards credential upstreams (decisions.md). */
	if ((r = env_seconds("NONO_PROXY_CONNECT_TIMEOUT", &rp->cfg.connect_timeout_ms, d)) < 0 ||
	    (r = env_seconds("NONO_PROXY_RESPONSE_TIMEOUT", &rp->cfg.response_timeout_ms, d)) < 0)
		return r;

	if (rp->netns) {
		if (s->proxy.port && run_portfwd_uses_port(s, s->proxy.port)) {
			diag_set(d, "--proxy-port", 0, 0,
				 "proxy port %u is also an --open-port or --listen-port",
				 s->proxy.port);
			return -EINVAL;
		}
		rp->port = s->proxy.port;
		while (!rp->port || run_portfwd_uses_port(s, rp->port))
			rp->port = random_port(); /* the namespace is new: only ours are taken */
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		rp->sock[0] = sv[0];
		rp->sock[1] = sv[1];
		return 0;
	}

	/* Landlock mode: listen on the host now so the port is known before the fork. */
	_cleanup_proxy_ struct proxy *px = NULL;
	r = proxy_new(&rp->cfg, &px, d);
	if (r < 0)
		return r;
	rp->port = proxy_port(px);
	return run_proxy_start(rp, &px);
}

static void unblock_all_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
}

static int creds_fork_keep(const struct run_credentials *c, bool keep)
{
	int r = 0;
	for (size_t i = 0; c && i < c->n; i++) {
		int k = secret_fork_keep(&c->secrets[i], keep);
		if (k < 0 && r >= 0)
			r = k;
	}
	return r;
}

int run_proxy_start(struct run_proxy *rp, struct proxy **px)
{
	int stop[2];
	if (pipe2(stop, O_CLOEXEC) < 0)
		return -errno;
	/* The proxy appends to the audit chain and injects the credentials: the one fork
	 * that gets the chain's shared state and the secrets' pages (zeroed in others). */
	int r = audit_fork_share(rp->audit, true);
	if (r >= 0)
		r = creds_fork_keep(rp->creds, true);
	if (r < 0) {
		(void)audit_fork_share(rp->audit, false);
		(void)creds_fork_keep(rp->creds, false);
		(void)close(stop[0]);
		(void)close(stop[1]);
		return r;
	}
	if (rp->refused && madvise(rp->refused, sizeof(*rp->refused), MADV_DOFORK) < 0)
		r = -errno;
	fflush(NULL);
	pid_t pid = r < 0 ? -1 : fork();
	int e = r < 0 ? -r : errno;
	if (rp->refused)
		(void)madvise(rp->refused, sizeof(*rp->refused), MADV_DONTFORK);
	/* Off again on both sides, so nothing either process forks later inherits them. */
	r = audit_fork_share(rp->audit, false);
	int r2 = creds_fork_keep(rp->creds, false);
	if (r >= 0)
		r = r2;
	if (r < 0 && pid == 0)
		_exit(1);
	if (pid < 0 || r < 0) {
		(void)close(stop[0]);
		(void)close(stop[1]);
	}
	if (pid < 0)
		return -e;
	if (r < 0) {
		rp->pid = pid; /* run_proxy_release reaps it */
		(void)kill(pid, SIGKILL);
		return r;
	}
	if (pid == 0) {
		/* The proxy process: dies with the supervisor, serves until told to stop
		 * (then reports the refusals it was still aggregating) or killed. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		unblock_all_signals();
		(void)signal(SIGINT, SIG_IGN); /* Ctrl-C is for the agent; we stop when it does */
		(void)close(stop[1]);
		_exit(proxy_run(*px, stop[0]) < 0 ? 1 : 0);
	}
	(void)close(stop[0]);
	rp->stop_fd = stop[1];
	rp->pid = pid;
	*px = proxy_free(*px); /* the process has its own copy */
	run_credentials_wipe_secrets(rp->creds);
	return 0;
}

int run_proxy_receive_listener(struct run_proxy *rp, struct diag *d)
{
	char byte;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct pollfd p = {rp->sock[0], POLLIN, 0};

	rp->sock[1] = safe_close(rp->sock[1]);
	int n = poll(&p, 1, LISTENER_HANDOFF_MS);
	if (n <= 0) {
		diag_set(d, NULL, 0, 0, "the sandboxed child did not hand over the proxy listener");
		return n < 0 ? -errno : -ETIMEDOUT;
	}
	ssize_t got = recvmsg(rp->sock[0], &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = got > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
		/* EOF: the child failed before the hand-off and reports why on its own pipe. */
		return -EPIPE;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	rp->sock[0] = safe_close(rp->sock[0]);

	rp->cfg.use_listen_fd = true;
	rp->cfg.listen_fd = fd;
	_cleanup_proxy_ struct proxy *px = NULL;
	int r = proxy_new(&rp->cfg, &px, d); /* takes fd over, also on failure */
	if (r < 0)
		return r;
	return run_proxy_start(rp, &px);
}

int run_proxy_environ(const struct run_proxy *rp, char ***env)
{
	_cleanup_strv_free_ char **vars = NULL;
	int r = proxy_env_for(rp->token, NULL, rp->port, &vars);
	STRV_FOREACH(v, vars)
	if (r >= 0)
		r = env_set(env, *v);
	if (r >= 0)
		r = run_credentials_environ(rp->creds, rp->port, env);
	STRV_FOREACH(v, vars)
	explicit_bzero(*v, strlen(*v));
	return r;
}

void run_proxy_stop(struct run_proxy *rp)
{
	if (rp->pid > 0) {
		/* Ask first, so aggregated refusals reach the audit trail; then insist. */
		bool gone = false;
		int pfd = (int)syscall(SYS_pidfd_open, rp->pid, 0);
		if (pfd >= 0 && rp->stop_fd >= 0 && write(rp->stop_fd, "x", 1) == 1) {
			struct pollfd p = {pfd, POLLIN, 0};
			gone = poll(&p, 1, PROXY_STOP_MS) == 1;
			if (gone)
				while (waitpid(rp->pid, NULL, 0) < 0 && errno == EINTR)
					;
		}
		if (pfd >= 0)
			(void)close(pfd);
		if (!gone) {
			(void)kill(rp->pid, SIGKILL);
			while (waitpid(rp->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		rp->pid = -1;
		rp->stop_fd = safe_close(rp->stop_fd); /* set together with pid */
	}
}

void run_proxy_release(struct run_proxy *rp)
{
	run_proxy_stop(rp);
	rp->sock[0] = safe_close(rp->sock[0]);
	rp->sock[1] = safe_close(rp->sock[1]);
	rp->allow = strv_free(rp->allow);
	rp->creds = run_credentials_free(rp->creds);
	explicit_bzero(rp->token, sizeof(rp->token));
	if (rp->refused)
		(void)munmap(rp->refused, sizeof(*rp->refused));
	rp->refused = NULL;
}
