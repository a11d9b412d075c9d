/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "proxy/endpoint.h"
#include "proxy/filter.h"
#include "proxy/http1.h"
#include "proxy/peeruid.h"
#include "proxy/resolve.h"
#include "proxy/reverse.h"
#include "proxy/token.h"

/*
 * Tunnel pipes start at the kernel's default size (16 buffers, 64 KiB): most tunnels
 * are short. A direction that shows bulk (one read left PIPE_BULK_AT bytes in the
 * pipe, or the pipe filled up) grows its pipe once to PIPE_BULK, capped by
 * fs.pipe-max-size: a larger pipe moves more per wake-up (figures in
 * doc/design/decisions.md). Pipe pages count against the user's pipe quota
 * (fs.pipe-user-pages-soft, 64 MiB by default; beyond it every new pipe of that user,
 * the agent's included, gets 2 buffers), so at most PROXY_BULK_PIPES_MAX pipes are
 * grown at a time.
 */
#define PIPE_BULK_AT	(32 * 1024)
#define PIPE_BULK	(1024 * 1024)
#define DRAIN_MS	1000
#define DRAIN_MAX_BYTES (64 * 1024)
#define AGG_WINDOW_MS	1000

/* Refusals that come in bursts, reported as one event with a count per window. */
enum agg_kind { AGG_BUSY, AGG_EVICTED, AGG_HEAD_TIMEOUT, AGG_MAX };
static const struct {
	const char *reason;
	int status;
} agg_info[AGG_MAX] = {
    [AGG_BUSY] = {"too_many_connections", 503},
    [AGG_EVICTED] = {"head_evicted", 408},
    [AGG_HEAD_TIMEOUT] = {"timeout", 408},
};

static inline void *mfree_(void *p)
{
	free(p);
	return NULL;
}

enum tag_kind { TAG_LISTEN, TAG_STOP, TAG_RESOLVER, TAG_CLIENT, TAG_SERVER };

struct conn;

struct tag {
	int kind;
	struct conn *c;
};

enum conn_state {
	CS_HEAD,	   /* reading the request head */
	CS_RESOLVE,	   /* waiting for c-ares */
	CS_CONNECT,	   /* non-blocking connect to addrs[i_addr] */
	CS_UPSTREAM_REPLY, /* waiting for the upstream proxy's answer to our CONNECT */
	CS_TUNNEL,	   /* splicing */
	CS_DRAIN,	   /* answer sent, reading and dropping until EOF or DRAIN_MS */
};

/* One direction of a tunnel: src -> pipe -> dst. */
struct pipe_dir {
	int rd, wr;
	size_t n;     /* bytes sitting in the pipe */
	bool eof;     /* src gave EOF or its byte budget is spent */
	bool shut;    /* shutdown(dst, SHUT_WR) done, or not wanted */
	bool full;    /* the pipe refused more while holding data */
	bool limited; /* plain HTTP request body: at most `limit` more bytes */
	bool grown;   /* bulk was seen and growing the pipe tried */
	bool bulk;    /* the pipe was grown: counted in proxy.n_bulk */
	uint64_t limit;
	char *pre; /* owned bytes sent to dst before the pipe's */
	size_t pre_len, pre_off;
};

struct conn {
	struct conn *prev, *next;
	/* The eviction queue, oldest first: unfinished heads, then answered (draining). */
	struct conn *hprev, *hnext;
	bool in_head;
	uint32_t uid; /* the peer's user with fair_by_uid; UINT32_MAX unknown */
	struct proxy *px;
	struct tag ctag, stag;
	int cfd, sfd;
	uint32_t cev, sev; /* registered epoll masks; 0 = not registered */
	enum conn_state st;
	bool dead;

	char *buf; /* request head (HTTP1_MAX_HEAD) or upstream reply */
	size_t len;

	char method[24];
	char host[HOST_NAME_MAX_LEN + 1];
	char logpath[160];
	uint16_t port;
	bool is_connect, via_upstream;
	/* Only wildcard entries admitted host: loopback addresses are refused. */
	bool via_wildcard;
	char *fwd; /* bytes to send to the server before tunnelling */
	size_t fwd_len;
	uint64_t body_left;

	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t n_addrs, i_addr;
	struct resolve_req *rq;

	struct pipe_dir c2s, s2c;
	uint64_t deadline; /* CLOCK_MONOTONIC ms */
	size_t drained;
};

struct proxy {
	int epfd, listen_fd;
	uint16_t port;
	char token[PROXY_TOKEN_LEN + 1];
	struct filter *allow, *bypass;
	char *up_host;
	uint16_t up_port;
	struct resolver *res;
	struct tag listen_tag, stop_tag;
	bool listen_paused;
	uint64_t listen_retry_at; /* also retried when a connection closes */

	struct conn *conns, *dead;
	unsigned n_conns;
	struct conn *heads, *heads_tail; /* connections still sending their head */
	unsigned n_heads, max_heads;
	int diag_fd; /* fair_by_uid: NETLINK_SOCK_DIAG, else -EBADF */
	unsigned agg[AGG_MAX];
	uint64_t agg_flush_at; /* 0: nothing pending */
	unsigned n_bulk; /* pipes grown to bulk size */
	int pipe_bulk;	 /* PIPE_BULK capped by fs.pipe-max-size */
	uint64_t next_deadline;

	bool allow_tokenless;
	unsigned max_conns, head_ms, connect_ms, idle_ms;
	void (*log)(void *ud, const char *line);
	void *log_ud;
	void (*event)(void *ud, const struct proxy_event *ev);
	void *event_ud;
	bool (*event_failed)(void *ud);
	bool audit_failed;
	struct proxy_host_override *hosts;
	size_t n_hosts;
	bool stop;
	/* Reverse proxy workers report through the same callbacks: one at a time. */
	struct reverse *rv;
	pthread_mutex_t cb_lock;
};

static void set_deadline(struct conn *c, unsigned ms)
{
	c->deadline = now_ms() + ms;
	if (c->deadline < c->px->next_deadline)
		c->px->next_deadline = c->deadline;
}

/* Log one decision line; non-printable bytes of peer-supplied text become '?'. */
_printf_(2, 3) static void plog(struct proxy *px, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!px->log)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	pthread_mutex_lock(&px->cb_lock);
	px->log(px->log_ud, line);
	pthread_mutex_unlock(&px->cb_lock);
}

static void reverse_log(void *ud, const char *line)
{
	struct proxy *px = ud;
	if (!px->log)
		return;
	pthread_mutex_lock(&px->cb_lock);
	px->log(px->log_ud, line);
	pthread_mutex_unlock(&px->cb_lock);
}

static void reverse_event(void *ud, const struct proxy_event *ev)
{
	struct proxy *px = ud;
	if (!px->event)
		return;
	pthread_mutex_lock(&px->cb_lock);
	px->event(px->event_ud, ev);
	pthread_mutex_unlock(&px->cb_lock);
}

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void log_decision(struct conn *c, bool allow, const char *reason, int status)
{
	struct proxy *px = c->px;
	if (allow)
		plog(px, "ALLOW %s %s:%u%s", c->method, c->host, c->port, c->logpath);
	else
		plog(px, "DENY %s %s:%u%s reason=%s", c->method[0] ? c->method : "-",
		     c->host[0] ? c->host : "-", c->port, c->logpath, reason);
	if (!px->event)
		return;
	char method[sizeof(c->method)], host[sizeof(c->host)], path[sizeof(c->logpath)];
	(void)snprintf(method, sizeof(method), "%s", c->method[0] ? c->method : "-");
	(void)snprintf(host, sizeof(host), "%s", c->host[0] ? c->host : "-");
	(void)snprintf(path, sizeof(path), "%s", c->logpath);
	printable(method);
	printable(host);
	printable(path);
	struct proxy_event ev = {
	    .allow = allow,
	    .method = method,
	    .host = host,
	    .port = c->port,
	    .path = path,
	    .reason = allow ? NULL : reason,
	    .status = status,
	    .count = 1,
	};
	pthread_mutex_lock(&px->cb_lock);
	px->event(px->event_ud, &ev);
	pthread_mutex_unlock(&px->cb_lock);
}

/* The audit trail could not be written: from then on every decision is a refusal. */
static bool audit_failed(struct proxy *px)
{
	if (!px->audit_failed && px->event_failed) {
		pthread_mutex_lock(&px->cb_lock);
		px->audit_failed = px->event_failed(px->event_ud);
		pthread_mutex_unlock(&px->cb_lock);
	}
	return px->audit_failed;
}

void proxy_flush_events(struct proxy *px)
{
	for (unsigned k = 0; k < AGG_MAX; k++) {
		unsigned n = px->agg[k];
		if (!n)
			continue;
		px->agg[k] = 0;
		plog(px, "DENY - - reason=%s count=%u", agg_info[k].reason, n);
		if (!px->event)
			continue;
		struct proxy_event ev = {
		    .method = "-",
		    .host = "-",
		    .path = "",
		    .reason = agg_info[k].reason,
		    .status = agg_info[k].status,
		    .count = n,
		};
		pthread_mutex_lock(&px->cb_lock);
		px->event(px->event_ud, &ev);
		pthread_mutex_unlock(&px->cb_lock);
	}
	px->agg_flush_at = 0;
}

/* Count one refusal of a burst kind; reported within AGG_WINDOW_MS. */
static void refusal_note(struct proxy *px, enum agg_kind k)
{
	px->agg[k]++;
	if (!px->agg_flush_at) {
		px->agg_flush_at = now_ms() + AGG_WINDOW_MS;
		if (px->agg_flush_at < px->next_deadline)
			px->next_deadline = px->agg_flush_at;
	}
}

static void head_add(struct conn *c)
{
	struct proxy *px = c->px;

	c->in_head = true;
	c->hnext = NULL;
	c->hprev = px->heads_tail;
	if (px->heads_tail)
		px->heads_tail->hnext = c;
	else
		px->heads = c;
	px->heads_tail = c;
	px->n_heads++;
}

/* c leaves the eviction queue: its head is complete, or it is answered or closed. */
static void head_remove(struct conn *c)
{
	struct proxy *px = c->px;

	if (!c->in_head)
		return;
	c->in_head = false;
	if (c->hprev)
		c->hprev->hnext = c->hnext;
	else
		px->heads = c->hnext;
	if (c->hnext)
		c->hnext->hprev = c->hprev;
	else
		px->heads_tail = c->hprev;
	c->hprev = c->hnext = NULL;
	px->n_heads--;
}

/* Register, modify or remove fd so its epoll mask is want (0 removes it). */
static int fd_events(struct proxy *px, int fd, uint32_t *cur, uint32_t want, struct tag *tag)
{
	struct epoll_event ev = {.events = want, .data.ptr = tag};
	int r = 0;

	if (fd < 0 || *cur == want)
		return 0;
	if (want == 0)
		r = epoll_ctl(px->epfd, EPOLL_CTL_DEL, fd, NULL);
	else if (*cur == 0)
		r = epoll_ctl(px->epfd, EPOLL_CTL_ADD, fd, &ev);
	else
		r = epoll_ctl(px->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (r < 0)
		return -errno;
	*cur = want;
	return 0;
}

static void pipe_close(struct proxy *px, struct pipe_dir *d)
{
	if (d->bulk) {
		px->n_bulk--;
		d->bulk = false;
	}
	d->rd = safe_close(d->rd);
	d->wr = safe_close(d->wr);
	d->pre = mfree_(d->pre);
}

static void listen_resume(struct proxy *px);

/* Tear a connection down now; memory is freed after the current epoll batch. */
static void conn_close(struct conn *c)
{
	struct proxy *px = c->px;

	if (c->dead)
		return;
	c->dead = true;
	head_remove(c);
	if (c->rq) {
		resolve_req_cancel(c->rq);
		c->rq = NULL;
	}
	(void)fd_events(px, c->cfd, &c->cev, 0, &c->ctag);
	(void)fd_events(px, c->sfd, &c->sev, 0, &c->stag);
	c->cfd = safe_close(c->cfd);
	c->sfd = safe_close(c->sfd);
	pipe_close(px, &c->c2s);
	pipe_close(px, &c->s2c);
	c->buf = mfree_(c->buf);
	c->fwd = mfree_(c->fwd);

	if (c->prev)
		c->prev->next = c->next;
	else
		px->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = px->dead;
	px->dead = c;
	px->n_conns--;
	listen_resume(px);
}

static void reap(struct proxy *px)
{
	while (px->dead) {
		struct conn *c = px->dead;
		px->dead = c->next;
		free(c);
	}
}

/*
 * Answer the client with status and a one-line body, then drain: shut our write
 * side and read what the client still sends, so the kernel does not reset the
 * connection (and lose the answer) over unread data.
 */
static void conn_respond(struct conn *c, int status, const char *extra, const char *why)
{
	char msg[512];
	int n;

	head_remove(c);
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n%s\r\n%s\n",
		     status, http1_reason(status), strlen(why) + 1, strempty(extra), why);
	if (n > 0)
		(void)send(c->cfd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(c->cfd, SHUT_WR);
	if (c->rq) {
		resolve_req_cancel(c->rq);
		c->rq = NULL;
	}
	(void)fd_events(c->px, c->sfd, &c->sev, 0, &c->stag);
	c->sfd = safe_close(c->sfd);
	c->st = CS_DRAIN;
	c->drained = 0;
	head_add(c); /* answered: evictable like a slow head, and as cheaply */
	if (fd_events(c->px, c->cfd, &c->cev, EPOLLIN, &c->ctag) < 0) {
		conn_close(c);
		return;
	}
	set_deadline(c, DRAIN_MS);
}

static void conn_deny(struct conn *c, int status, const char *reason)
{
	log_decision(c, false, reason, status);
	conn_respond(c, status,
		     status == 407 ? "Proxy-Authenticate: Basic realm=\"nono\"\r\n" : NULL, reason);
}

static void listen_resume(struct proxy *px)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &px->listen_tag};

	if (px->listen_paused && epoll_ctl(px->epfd, EPOLL_CTL_ADD, px->listen_fd, &ev) == 0)
		px->listen_paused = false;
}

static void on_client_head(struct conn *c);

static void evict(struct conn *old)
{
	static const char evicted[] = "HTTP/1.1 408 Request Timeout\r\n"
				      "Content-Length: 13\r\nConnection: close\r\n"
				      "\r\nhead_evicted\n";
	(void)send(old->cfd, evicted, sizeof(evicted) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	refusal_note(old->px, AGG_EVICTED);
	conn_close(old);
}

/* The oldest queued connection of uid, and how many that uid has queued. */
static struct conn *oldest_of(struct proxy *px, uint32_t uid, unsigned *ret_n)
{
	struct conn *first = NULL;
	unsigned n = 0;
	for (struct conn *c = px->heads; c; c = c->hnext)
		if (c->uid == uid) {
			if (!first)
				first = c;
			n++;
		}
	*ret_n = n;
	return first;
}

/*
 * Make room for a new connection from uid, if it is needed: evict the oldest queued
 * connection of uid once uid holds its share (fair_by_uid), else, when the head cap or
 * the connection cap is reached, the oldest of the user holding the most (of anyone
 * without fair_by_uid). A connection past its head is never evicted.
 */
static void make_room(struct proxy *px, uint32_t uid)
{
	if (px->diag_fd >= 0) {
		unsigned mine, share = px->max_heads / 2 ? px->max_heads / 2 : 1;
		struct conn *own = oldest_of(px, uid, &mine);
		if (own && mine >= share) {
			evict(own);
			return;
		}
	}
	if ((px->n_heads < px->max_heads && px->n_conns < px->max_conns) || !px->heads)
		return;
	struct conn *victim = px->heads;
	if (px->diag_fd >= 0) {
		/* One pass; the first few distinct users are told apart, which is all a
		 * host's loopback sees in practice (others count as not the heaviest). */
		struct {
			uint32_t uid;
			unsigned n;
			struct conn *oldest;
		} t[8];
		size_t nt = 0, best = 0;
		for (struct conn *c = px->heads; c; c = c->hnext) {
			size_t k = 0;
			while (k < nt && t[k].uid != c->uid)
				k++;
			if (k == nt) {
				if (nt == ARRAY_SIZE(t))
					continue;
				t[nt++] = (typeof(t[0])){c->uid, 0, c};
			}
			if (++t[k].n > t[best].n)
				best = k;
		}
		victim = t[best].oldest;
	}
	evict(victim);
}

static void on_accept(struct proxy *px)
{
	for (unsigned i = 0; i < 64; i++) {
		int fd = accept4(px->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: stop accepting until a connection closes. */
				(void)epoll_ctl(px->epfd, EPOLL_CTL_DEL, px->listen_fd, NULL);
				px->listen_paused = true;
				px->listen_retry_at = now_ms() + 100;
				if (px->listen_retry_at < px->next_deadline)
					px->next_deadline = px->listen_retry_at;
			}
			return;
		}
		uint32_t uid = UINT32_MAX;
		if (px->diag_fd >= 0)
			(void)peer_uid(px->diag_fd, fd, &uid);
		/* Room is made by an unfinished head (or answered one), never by anything
		 * further on. */
		make_room(px, uid);
		if (px->n_conns >= px->max_conns) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
						   "Content-Length: 21\r\nConnection: close\r\n\r\n"
						   "too_many_connections\n";
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)close(fd);
			plog(px, "DENY - - reason=too_many_connections");
			refusal_note(px, AGG_BUSY);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		char *buf = malloc(HTTP1_MAX_HEAD);
		if (!c || !buf) {
			free(c);
			free(buf);
			(void)close(fd);
			continue;
		}
		*c = (struct conn){.px = px,
				   .uid = uid,
				   .cfd = fd,
				   .sfd = -EBADF,
				   .buf = buf,
				   .st = CS_HEAD,
				   .c2s = {.rd = -EBADF, .wr = -EBADF},
				   .s2c = {.rd = -EBADF, .wr = -EBADF}};
		c->ctag = (struct tag){TAG_CLIENT, c};
		c->stag = (struct tag){TAG_SERVER, c};
		c->next = px->conns;
		if (px->conns)
			px->conns->prev = c;
		px->conns = c;
		px->n_conns++;
		head_add(c);
		if (fd_events(px, fd, &c->cev, EPOLLIN, &c->ctag) < 0) {
			conn_close(c);
			continue;
		}
		/* Under pressure a head gets less time: slots turn over faster. */
		bool pressed = px->n_heads > px->max_heads / 2;
		set_deadline(c, pressed && px->head_ms > PROXY_PRESSURE_HEAD_MS
				    ? PROXY_PRESSURE_HEAD_MS
				    : px->head_ms);
		/* A well-behaved client's head is usually there already: taking it now moves
		 * it out of the eviction queue before more connections can push it out. */
		if (pressed)
			on_client_head(c);
	}
}

static void conn_start_connect(struct conn *c);

/* Every address must pass; one always-denied address refuses the whole name. */
static void conn_addresses(struct conn *c, const struct sockaddr_storage *addrs, size_t n)
{
	if (n == 0) {
		conn_deny(c, 502, "resolve_failed");
		return;
	}
	/* The upstream proxy is the user's own choice: only the always-denied set applies.
	 * A wildcard-only name must not reach this host: its interfaces, read now. */
	bool wildcard = c->via_wildcard && !c->via_upstream;
	struct netmatch_local local;
	if (wildcard)
		(void)netmatch_local_load(&local); /* unreadable: every address counts as local */
	enum filter_verdict v = filter_check_addrs(addrs, n, wildcard, wildcard ? &local : NULL);
	if (v != FILTER_ALLOW) {
		conn_deny(c, 403, filter_verdict_to_string(v));
		return;
	}
	memcpy(c->addrs, addrs, n * sizeof(*addrs));
	c->n_addrs = n;
	c->i_addr = 0;
	if (audit_failed(c->px)) {
		conn_deny(c, 503, "audit_failed");
		return;
	}
	log_decision(c, true, NULL, 0);
	/* The allow itself may be what could not be recorded: then it does not stand. */
	if (audit_failed(c->px)) {
		conn_deny(c, 503, "audit_failed");
		return;
	}
	conn_start_connect(c);
}

static void on_resolved(void *ud, int err, const struct sockaddr_storage *addrs, size_t n)
{
	struct conn *c = ud;

	c->rq = NULL;
	if (err < 0) {
		conn_deny(c, 502, "resolve_failed");
		return;
	}
	conn_addresses(c, addrs, n);
}

static bool literal_addr(const char *s, uint16_t port, struct sockaddr_storage *ss)
{
	return netmatch_literal(s, port, ss) == 0;
}

/* Resolve the next hop (destination or upstream proxy). May finish synchronously. */
static void conn_resolve(struct conn *c)
{
	struct proxy *px = c->px;
	const char *name = c->via_upstream ? px->up_host : c->host;
	uint16_t port = c->via_upstream ? px->up_port : c->port;
	char norm[HOST_NAME_MAX_LEN + 1];
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t n = 0;
	bool is_ip;

	if (host_normalize(name, norm, sizeof(norm), &is_ip) < 0) {
		conn_deny(c, 502, "resolve_failed");
		return;
	}
	if (is_ip) {
		(void)literal_addr(norm, port, &addrs[0]);
		conn_addresses(c, addrs, 1);
		return;
	}
	if (px->n_hosts) {
		for (size_t i = 0; i < px->n_hosts && n < RESOLVE_MAX_ADDRS; i++)
			if (strcasecmp(px->hosts[i].name, norm) == 0 &&
			    literal_addr(px->hosts[i].addr, port, &addrs[n]))
				n++;
		if (n) {
			conn_addresses(c, addrs, n);
			return;
		}
	}
	c->st = CS_RESOLVE;
	(void)fd_events(px, c->cfd, &c->cev, 0, &c->ctag);
	set_deadline(c, px->connect_ms);
	if (resolver_query(px->res, norm, port, on_resolved, c, &c->rq) < 0) {
		c->rq = NULL;
		conn_deny(c, 502, "resolve_failed");
	}
	/* c may be in CS_DRAIN or beyond here: the callback can run synchronously. */
}

static bool header_dropped(const struct http1_header *h)
{
	static const char *const drop[] = {"proxy-authorization",
					   "proxy-connection",
					   "connection",
					   "keep-alive",
					   "host",
					   "te",
					   "upgrade"};
	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		if (h->name.n == strlen(drop[i]) && strncasecmp(h->name.p, drop[i], h->name.n) == 0)
			return true;
	return false;
}

/* The request as the next hop gets it: origin form (absolute for an upstream proxy). */
/* The request for the server: path is the canonical path that was matched, query the
 * raw "?..." after it (possibly empty). */
static int build_forward(struct conn *c, const struct http1_head *h, const char *path,
			 struct span query)
{
	struct strbuf sb = {.max = HTTP1_MAX_HEAD + 1024};
	char auth[HOST_NAME_MAX_LEN + 16];
	int r;

	if (strchr(c->host, ':'))
		(void)snprintf(auth, sizeof(auth), "[%s]", c->host);
	else
		(void)snprintf(auth, sizeof(auth), "%s", c->host);
	if (c->port != 80) {
		size_t l = strlen(auth);
		(void)snprintf(auth + l, sizeof(auth) - l, ":%u", c->port);
	}
	if (c->via_upstream)
		r = strbuf_addf(&sb, "%s http://%s%s%.*s HTTP/1.%u\r\n", h->method_str, auth, path,
				(int)query.n, query.n ? query.p : "", h->http_minor ? 1u : 0u);
	else
		r = strbuf_addf(&sb, "%s %s%.*s HTTP/1.%u\r\n", h->method_str, path, (int)query.n,
				query.n ? query.p : "", h->http_minor ? 1u : 0u);
	if (r >= 0)
		r = strbuf_addf(&sb, "Host: %s\r\n", auth);
	for (size_t i = 0; r >= 0 && i < h->n_headers; i++) {
		if (header_dropped(&h->headers[i]))
			continue;
		r = strbuf_addf(&sb, "%.*s: %.*s\r\n", (int)h->headers[i].name.n,
				h->headers[i].name.p, (int)h->headers[i].value.n,
				h->headers[i].value.p);
	}
	if (r >= 0)
		r = strbuf_adds(&sb, "Connection: close\r\n\r\n");
	/* Body bytes that came with the head, up to Content-Length; the rest is dropped. */
	size_t extra = c->len - h->head_len;
	if (extra > c->body_left)
		extra = (size_t)c->body_left;
	if (r >= 0)
		r = strbuf_add(&sb, c->buf + h->head_len, extra);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	c->body_left -= extra;
	c->fwd_len = sb.len;
	c->fwd = strbuf_detach(&sb);
	return 0;
}

/*
 * An origin-form request ("/service/...") is for the reverse proxy: a worker thread
 * takes the socket and the bytes read so far (reverse.h). Without services, 400.
 */
static void conn_reverse(struct conn *c)
{
	struct proxy *px = c->px;

	if (!px->rv) {
		conn_deny(c, 400, "bad_request");
		return;
	}
	if (audit_failed(px)) {
		conn_deny(c, 503, "audit_failed");
		return;
	}
	(void)fd_events(px, c->cfd, &c->cev, 0, &c->ctag);
	if (reverse_handoff(px->rv, c->cfd, c->buf, c->len) < 0) {
		conn_deny(c, 503, "too_many_connections");
		return;
	}
	c->cfd = -EBADF; /* the worker's now */
	conn_close(c);
}

void proxy_route(const struct filter *allow, const struct http1_head *h, struct proxy_route *ret)
{
	struct span path = {NULL, 0};
	size_t qoff = 0;
	int r;

	*ret = (struct proxy_route){.status = 400, .reason = "bad_request"};
	ret->is_connect = http1_is_connect(h);
	if (!ret->is_connect && h->target.n > 0 && h->target.p[0] == '/') {
		ret->reverse = true;
		ret->status = 0;
		ret->reason = NULL;
		return;
	}
	if (ret->is_connect)
		r = http1_parse_authority(h->target, ret->host, sizeof(ret->host), &ret->port);
	else
		r = http1_parse_absolute(h->target, ret->host, sizeof(ret->host), &ret->port,
					 &path);
	if (r < 0) {
		ret->host[0] = '\0';
		return;
	}
	if (!ret->is_connect) {
		/* One canonical path (endpoint.h): URL rules match it, the server gets it. */
		if (path.n == 0) {
			ret->path[0] = '/';
			ret->path[1] = '\0';
		} else if (endpoint_canon_target(path.p, path.n, ret->path, sizeof(ret->path),
						 &qoff) < 0) {
			const char *qm = memchr(path.p, '?', path.n);
			size_t pl = qm ? (size_t)(qm - path.p) : path.n;
			(void)snprintf(ret->path, sizeof(ret->path), "%.*s", (int)pl, path.p);
			ret->reason = "bad_path";
			return;
		} else
			ret->query = (struct span){path.p + qoff, path.n - qoff};
	}
	ret->verdict = filter_check_how(allow, ret->host, ret->is_connect ? NULL : ret->path,
					&ret->via_wildcard);
	ret->status = 0;
	ret->reason = NULL;
}

/*
 * A complete head is in c->buf. Order: target syntax (400), credentials (407),
 * destination policy (403), then resolve. Origin-form targets go to conn_reverse().
 */
static void conn_request(struct conn *c, const struct http1_head *h)
{
	struct proxy *px = c->px;
	struct proxy_route rt;
	char tokbuf[1024];
	enum filter_verdict v;

	head_remove(c);
	(void)snprintf(c->method, sizeof(c->method), "%s", h->method_str);
	proxy_route(px->allow, h, &rt);
	c->is_connect = rt.is_connect;
	if (rt.reverse) {
		conn_reverse(c);
		return;
	}
	memcpy(c->host, rt.host, sizeof(c->host));
	c->port = rt.port;
	if (!c->is_connect) {
		size_t l = strnlen(rt.path, sizeof(c->logpath) - 1);
		memcpy(c->logpath, rt.path, l);
		c->logpath[l] = '\0';
	}
	if (rt.status) {
		conn_deny(c, rt.status, rt.reason);
		return;
	}
	if (audit_failed(px)) { /* the trail is incomplete: nothing more goes through */
		conn_deny(c, 503, "audit_failed");
		return;
	}

	struct span auth = http1_header_get(h, "Proxy-Authorization");
	enum token_result tr = TOKEN_MISSING;
	if (auth.p) {
		if (auth.n >= sizeof(tokbuf))
			tr = TOKEN_BAD;
		else {
			memcpy(tokbuf, auth.p, auth.n);
			tokbuf[auth.n] = '\0';
			tr = token_check(px->token, tokbuf);
			explicit_bzero(tokbuf, sizeof(tokbuf));
		}
	}
	if (tr == TOKEN_BAD || (tr == TOKEN_MISSING && !px->allow_tokenless)) {
		conn_deny(c, 407, tr == TOKEN_BAD ? "bad_token" : "missing_token");
		return;
	}

	if (!c->is_connect && h->chunked) {
		conn_deny(c, 501, "chunked_request_body");
		return;
	}
	v = rt.verdict;
	c->via_wildcard = rt.via_wildcard;
	if (v != FILTER_ALLOW) {
		conn_deny(c, v == FILTER_DENY_BAD_HOST ? 400 : 403, filter_verdict_to_string(v));
		return;
	}

	c->via_upstream = px->up_host && !filter_match_host(px->bypass, c->host);
	if (c->is_connect) {
		size_t extra = c->len - h->head_len;
		if (extra) {
			c->fwd = malloc(extra);
			if (!c->fwd) {
				conn_close(c);
				return;
			}
			memcpy(c->fwd, c->buf + h->head_len, extra);
			c->fwd_len = extra;
		}
	} else {
		c->body_left = h->has_content_length ? h->content_length : 0;
		if (build_forward(c, h, rt.path, rt.query) < 0) {
			conn_deny(c, 431, "bad_request");
			return;
		}
	}
	conn_resolve(c);
}

static void on_client_head(struct conn *c)
{
	struct http1_head h;
	ssize_t k = read(c->cfd, c->buf + c->len, HTTP1_MAX_HEAD - c->len);

	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (k < 0)
		return;
	c->len += (size_t)k;
	int r = http1_parse_head(c->buf, c->len, &h);
	if (r == 0)
		return;
	if (r < 0) {
		conn_deny(c, -r, "bad_request");
		return;
	}
	conn_request(c, &h);
}

static void conn_tunnel(struct conn *c);

static void conn_connected(struct conn *c)
{
	if (c->via_upstream && c->is_connect) {
		char req[HOST_NAME_MAX_LEN * 2 + 96];
		const char *lb = strchr(c->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
		int n = snprintf(req, sizeof(req),
				 "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n", lb,
				 c->host, rb, c->port, lb, c->host, rb, c->port);
		/* A fresh socket's send buffer takes this whole. */
		if (n <= 0 || send(c->sfd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			conn_deny(c, 502, "upstream_failed");
			return;
		}
		c->len = 0;
		c->st = CS_UPSTREAM_REPLY;
		if (fd_events(c->px, c->sfd, &c->sev, EPOLLIN, &c->stag) < 0)
			conn_close(c);
		return;
	}
	conn_tunnel(c);
}

static void conn_start_connect(struct conn *c)
{
	struct proxy *px = c->px;

	c->st = CS_CONNECT;
	(void)fd_events(px, c->cfd, &c->cev, 0, &c->ctag);
	set_deadline(c, px->connect_ms);
	for (; c->i_addr < c->n_addrs; c->i_addr++) {
		const struct sockaddr_storage *ss = &c->addrs[c->i_addr];
		socklen_t sl = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6);
		/* Checked again right here: nothing reaches connect() unchecked. */
		if (addr_is_denied((const struct sockaddr *)ss))
			continue;
		(void)fd_events(px, c->sfd, &c->sev, 0, &c->stag);
		c->sfd = safe_close(c->sfd);
		c->sfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->sfd < 0)
			continue;
		if (connect(c->sfd, (const struct sockaddr *)ss, sl) == 0) {
			conn_connected(c);
			return;
		}
		if (errno == EINPROGRESS) {
			if (fd_events(px, c->sfd, &c->sev, EPOLLOUT, &c->stag) < 0)
				break;
			return;
		}
	}
	conn_deny(c, 502, c->via_upstream ? "upstream_failed" : "connect_failed");
}

static void on_connect_ready(struct conn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
		c->i_addr++;
		conn_start_connect(c);
		return;
	}
	conn_connected(c);
}

static void on_upstream_reply(struct conn *c)
{
	ssize_t k = read(c->sfd, c->buf + c->len, HTTP1_MAX_HEAD - c->len);
	const char *end;
	unsigned status = 0;

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		conn_deny(c, 502, "upstream_failed");
		return;
	}
	c->len += (size_t)k;
	end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!end) {
		if (c->len == HTTP1_MAX_HEAD)
			conn_deny(c, 502, "upstream_failed");
		return;
	}
	/* "HTTP/1.x NNN": three digits read in place; c->buf is not NUL-terminated, so no
	 * sscanf (it would strlen past the end). */
	for (size_t i = 9; i < 12 && c->len >= 12; i++)
		status = c->buf[i] >= '0' && c->buf[i] <= '9'
			     ? status * 10 + (unsigned)(c->buf[i] - '0')
			     : 1000;
	if (c->len < 13 || memcmp(c->buf, "HTTP/1.", 7) != 0 || c->buf[8] != ' ' ||
	    (c->buf[12] != ' ' && c->buf[12] != '\r') || status / 100 != 2) {
		conn_deny(c, 502, "upstream_failed");
		return;
	}
	/* Anything after the reply head is the destination speaking first: keep it. */
	size_t head = (size_t)(end - c->buf) + 4;
	if (c->len > head) {
		char *extra = malloc(c->len - head);
		if (!extra) {
			conn_close(c);
			return;
		}
		memcpy(extra, c->buf + head, c->len - head);
		c->len -= head;
		free(c->buf);
		c->buf = extra;
	} else
		c->len = 0;
	conn_tunnel(c);
}

/* src has something to give us: not at EOF and the pipe not known to be full. */
static bool dir_wants_read(const struct pipe_dir *d)
{
	return !d->eof && (d->n == 0 || !d->full);
}

/* dst has to take something: the preamble or pipe contents. */
static bool dir_wants_write(const struct pipe_dir *d)
{
	return d->n > 0 || d->pre_off < d->pre_len;
}

/* Events each side needs for the current pipe state. */
static void tunnel_update(struct conn *c)
{
	uint32_t ce = 0, se = 0;

	if (dir_wants_read(&c->c2s))
		ce |= EPOLLIN;
	if (dir_wants_write(&c->s2c))
		ce |= EPOLLOUT;
	if (dir_wants_read(&c->s2c))
		se |= EPOLLIN;
	if (dir_wants_write(&c->c2s))
		se |= EPOLLOUT;
	if (fd_events(c->px, c->cfd, &c->cev, ce, &c->ctag) < 0 ||
	    fd_events(c->px, c->sfd, &c->sev, se, &c->stag) < 0)
		conn_close(c);
}

/* Bulk seen in d: grow its pipe once, within the proxy-wide budget. */
static void pipe_grow(struct proxy *px, struct pipe_dir *d)
{
	d->grown = true;
	if (px->n_bulk >= PROXY_BULK_PIPES_MAX)
		return;
	/* Fails over the user's pipe quota or fs.pipe-max-size: the pipe keeps its size. */
	if (fcntl(d->wr, F_SETPIPE_SZ, px->pipe_bulk) < 0)
		return;
	d->bulk = true;
	px->n_bulk++;
}

/*
 * Move bytes src -> pipe -> dst as far as one read and one write go without blocking;
 * the preamble (request head, early data) goes to dst first. A pipe holds a number
 * of buffers, not bytes, so "full" is learned from EAGAIN while it holds data (an
 * empty pipe is never full, so that EAGAIN means src is empty) and cleared when it
 * drains. One round per wake-up, not a loop until EAGAIN: with a bulk-sized pipe a
 * read takes what the socket holds, and a second read would mostly cost a syscall to
 * learn EAGAIN; other connections get their turn sooner too.
 * Returns <0 on a socket error.
 */
static int pump(struct proxy *px, struct pipe_dir *d, int src, int dst, bool *progress)
{
	const unsigned fl = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

	if (dir_wants_read(d)) {
		size_t want = PIPE_BULK;
		if (d->limited && d->limit < want)
			want = (size_t)d->limit;
		ssize_t k = splice(src, NULL, d->wr, NULL, want, fl);
		if (k > 0) {
			d->n += (size_t)k;
			*progress = true;
			if (d->limited && (d->limit -= (uint64_t)k) == 0)
				d->eof = true;
		} else if (k == 0)
			d->eof = true;
		else if (errno == EAGAIN)
			d->full = d->n > 0;
		else if (errno != EINTR)
			return -errno;
		if (!d->grown && !d->eof && (d->n >= PIPE_BULK_AT || d->full))
			pipe_grow(px, d);
	}
	while (d->pre_off < d->pre_len) {
		ssize_t k = send(dst, d->pre + d->pre_off, d->pre_len - d->pre_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		d->pre_off += (size_t)k;
		*progress = true;
	}
	if (d->n > 0) {
		ssize_t k = splice(d->rd, NULL, dst, NULL, d->n, fl);
		if (k > 0) {
			d->n -= (size_t)k;
			d->full = false;
			*progress = true;
		} else if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	if (d->eof && d->n == 0 && !d->shut) {
		(void)shutdown(dst, SHUT_WR);
		d->shut = true;
	}
	return 0;
}

/* Events that concern a direction on its source and on its destination socket. */
#define EV_SRC (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)
#define EV_DST (EPOLLOUT | EPOLLHUP | EPOLLERR)

/*
 * cev/sev: the events seen on the client/server socket (0 when that one did not
 * report). Only the directions they concern are pumped: a bulk download wakes up
 * for the server's EPOLLIN and would otherwise also try the idle client side, one
 * splice() per wake-up that can only fail with EAGAIN.
 */
static void on_tunnel(struct conn *c, uint32_t cev, uint32_t sev)
{
	struct proxy *px = c->px;
	bool progress = false;

	if (((cev & EV_SRC) || (sev & EV_DST)) &&
	    pump(px, &c->c2s, c->cfd, c->sfd, &progress) < 0) {
		conn_close(c);
		return;
	}
	if (((sev & EV_SRC) || (cev & EV_DST)) &&
	    pump(px, &c->s2c, c->sfd, c->cfd, &progress) < 0) {
		conn_close(c);
		return;
	}
	/* Plain HTTP: the response ends the exchange even if the client keeps the socket. */
	if ((c->c2s.shut && c->s2c.shut) || (!c->is_connect && c->s2c.shut)) {
		conn_close(c);
		return;
	}
	if (progress)
		set_deadline(c, px->idle_ms);
	tunnel_update(c);
}

/* At the kernel's default size: most tunnels are short and never need more. */
static int make_pipe(struct pipe_dir *d)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	d->rd = p[0];
	d->wr = p[1];
	return 0;
}

static void conn_tunnel(struct conn *c)
{
	if (make_pipe(&c->c2s) < 0 || make_pipe(&c->s2c) < 0) {
		conn_deny(c, 503, "no_resources");
		return;
	}
	if (c->is_connect) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		if (send(c->cfd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(ok) - 1)) {
			conn_close(c);
			return;
		}
	} else {
		/* Only the announced body goes up; the server's EOF ends the exchange. */
		c->c2s.limited = true;
		c->c2s.limit = c->body_left;
		c->c2s.eof = c->body_left == 0;
		c->c2s.shut = true; /* never half-close toward an HTTP server */
	}
	/* The preambles: request head / early client data up, upstream's early bytes down. */
	c->c2s.pre = TAKE_PTR(c->fwd);
	c->c2s.pre_len = c->fwd_len;
	if (c->via_upstream && c->is_connect && c->len) {
		c->s2c.pre = TAKE_PTR(c->buf);
		c->s2c.pre_len = c->len;
	}
	c->buf = mfree_(c->buf);
	c->len = 0;
	/* Relay what arrives as it arrives: the endpoints made their own Nagle choice, and a
	 * second Nagle stage here holds each splice's tail until the next ACK. The client
	 * side has it from the listener (accepted sockets inherit it). */
	int one = 1;
	(void)setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->st = CS_TUNNEL;
	set_deadline(c, c->px->idle_ms);
	/* Send the preambles now; what the sockets hold epoll reports once registered (a
	 * read tried here would mostly fail with EAGAIN: two syscalls per connection). */
	on_tunnel(c, c->s2c.pre_len ? EV_DST : 0, c->c2s.pre_len ? EV_DST : 0);
}

static void on_drain(struct conn *c)
{
	char junk[4096];
	ssize_t k = read(c->cfd, junk, sizeof(junk));

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0 || (c->drained += (size_t)k) > DRAIN_MAX_BYTES)
		conn_close(c);
}

static void conn_event(struct conn *c, bool server, uint32_t events)
{
	switch (c->st) {
	case CS_HEAD:
		if (!server)
			on_client_head(c);
		break;
	case CS_RESOLVE:
		break;
	case CS_CONNECT:
		if (server)
			on_connect_ready(c);
		break;
	case CS_UPSTREAM_REPLY:
		if (server)
			on_upstream_reply(c);
		break;
	case CS_TUNNEL:
		on_tunnel(c, server ? 0 : events, server ? events : 0);
		break;
	case CS_DRAIN:
		if (!server)
			on_drain(c);
		break;
	}
}

static void conn_timeout(struct conn *c)
{
	switch (c->st) {
	case CS_HEAD: /* slow heads time out in bursts: one event per second */
		refusal_note(c->px, AGG_HEAD_TIMEOUT);
		conn_respond(c, 408, NULL, "timeout");
		break;
	case CS_RESOLVE:
	case CS_CONNECT:
	case CS_UPSTREAM_REPLY:
		conn_deny(c, 504, "timeout");
		break;
	case CS_TUNNEL:
	case CS_DRAIN:
		conn_close(c);
		break;
	}
}

static void run_timers(struct proxy *px)
{
	uint64_t now = now_ms();

	if (now < px->next_deadline)
		return;
	px->next_deadline = UINT64_MAX;
	if (px->agg_flush_at) {
		if (now >= px->agg_flush_at)
			proxy_flush_events(px);
		else
			px->next_deadline = px->agg_flush_at;
	}
	if (px->listen_paused) {
		if (now >= px->listen_retry_at)
			listen_resume(px);
		else
			px->next_deadline = px->listen_retry_at;
	}
	for (struct conn *c = px->conns, *next; c; c = next) {
		next = c->next;
		if (c->deadline <= now)
			conn_timeout(c); /* sets a later deadline or moves c to the dead list */
		else if (c->deadline < px->next_deadline)
			px->next_deadline = c->deadline;
	}
	/* conn_timeout may have set deadlines through set_deadline already: both paths min. */
	resolver_tick(px->res);
}

int proxy_timeout_ms(const struct proxy *px)
{
	int t = resolver_timeout_ms(px->res);
	if (px->next_deadline != UINT64_MAX) {
		uint64_t now = now_ms();
		int d =
		    px->next_deadline <= now
			? 0
			: (int)(px->next_deadline - now < 60000 ? px->next_deadline - now : 60000);
		if (t < 0 || d < t)
			t = d;
	}
	return t;
}

static int dispatch(struct proxy *px, int timeout)
{
	struct epoll_event evs[64];
	int n = epoll_wait(px->epfd, evs, ARRAY_SIZE(evs), timeout);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct tag *t = evs[i].data.ptr;
		if (t->kind == TAG_LISTEN)
			on_accept(px);
		else if (t->kind == TAG_STOP)
			px->stop = true;
		else if (t->kind == TAG_RESOLVER)
			resolver_process(px->res, (struct resolver_tag *)t, evs[i].events);
		else if (!t->c->dead)
			conn_event(t->c, t->kind == TAG_SERVER, evs[i].events);
	}
	run_timers(px);
	reap(px);
	return 0;
}

int proxy_dispatch(struct proxy *px)
{
	return dispatch(px, 0);
}

int proxy_fd(const struct proxy *px)
{
	return px->epfd;
}

int proxy_run(struct proxy *px, int stop_fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &px->stop_tag};

	if (stop_fd >= 0 && epoll_ctl(px->epfd, EPOLL_CTL_ADD, stop_fd, &ev) < 0)
		return -errno;
	px->stop = false;
	while (!px->stop) {
		int r = dispatch(px, proxy_timeout_ms(px));
		if (r < 0)
			return r;
	}
	if (stop_fd >= 0)
		(void)epoll_ctl(px->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
	proxy_flush_events(px);
	return 0;
}

uint16_t proxy_port(const struct proxy *px)
{
	return px->port;
}

const char *proxy_token(const struct proxy *px)
{
	return px->token;
}

int proxy_env_for(const char *token, const char *host, uint16_t port, char ***ret)
{
	static const char *const names[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
					    "https_proxy"};
	_cleanup_strv_free_ char **l = NULL;
	char buf[256];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		(void)snprintf(buf, sizeof(buf), "%s=http://nono:%s@%s:%u", names[i], token,
			       host ? host : "127.0.0.1", port);
		if ((r = strv_extend(&l, buf)) < 0)
			return r;
	}
	if ((r = strv_extend(&l, "NO_PROXY=localhost,127.0.0.1,::1")) < 0 ||
	    (r = strv_extend(&l, "no_proxy=localhost,127.0.0.1,::1")) < 0 ||
	    (r = strv_extend(&l, "NODE_USE_ENV_PROXY=1")) < 0)
		return r;
	explicit_bzero(buf, sizeof(buf));
	*ret = TAKE_PTR(l);
	return 0;
}

int proxy_child_env(const struct proxy *px, const char *host, uint16_t port, char ***ret)
{
	return proxy_env_for(px->token, host, port ? port : px->port, ret);
}

unsigned proxy_n_conns(const struct proxy *px)
{
	return px->n_conns;
}

struct proxy *proxy_free(struct proxy *px)
{
	if (!px)
		return NULL;
	px->rv = reverse_free(px->rv);
	while (px->conns)
		conn_close(px->conns);
	reap(px);
	px->res = resolver_free(px->res);
	px->listen_fd = safe_close(px->listen_fd);
	px->epfd = safe_close(px->epfd);
	px->diag_fd = safe_close(px->diag_fd);
	filter_free(px->allow);
	filter_free(px->bypass);
	free(px->up_host);
	for (size_t i = 0; i < px->n_hosts; i++) {
		free((char *)px->hosts[i].name);
		free((char *)px->hosts[i].addr);
	}
	free(px->hosts);
	explicit_bzero(px->token, sizeof(px->token));
	pthread_mutex_destroy(&px->cb_lock);
	free(px);
	return NULL;
}

void proxy_freep(struct proxy **px)
{
	*px = proxy_free(*px);
}

static int listen_loopback(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, SOMAXCONN) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int parse_upstream(const char *s, char **ret_host, uint16_t *ret_port)
{
	char host[HOST_NAME_MAX_LEN + 1];
	struct span sp = {s, strlen(s)};
	char norm[HOST_NAME_MAX_LEN + 1];
	bool is_ip;

	if (http1_parse_authority(sp, host, sizeof(host), ret_port) < 0 ||
	    host_normalize(host, norm, sizeof(norm), &is_ip) < 0)
		return -EINVAL;
	*ret_host = strdup(norm);
	return *ret_host ? 0 : -ENOMEM;
}

/* PIPE_BULK, or less where fs.pipe-max-size is lower (F_SETPIPE_SZ refuses more). */
static int pipe_bulk_size(void)
{
	char buf[32] = "";
	uint64_t v;
	_cleanup_close_ int fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (n <= 0)
		return PIPE_BULK;
	buf[strcspn(buf, "\n")] = 0;
	if (parse_u64(buf, UINT32_MAX, &v) < 0 || v < 4096 || v > PIPE_BULK)
		return PIPE_BULK;
	return (int)v;
}

int proxy_new(const struct proxy_config *cfg, struct proxy **ret, struct diag *d)
{
	_cleanup_proxy_ struct proxy *px = NULL;
	_cleanup_close_ int lfd = cfg->use_listen_fd ? cfg->listen_fd : -EBADF;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	size_t bad = 0;
	int r;

	px = calloc(1, sizeof(*px));
	if (!px)
		return -ENOMEM;
	px->epfd = px->listen_fd = px->diag_fd = -EBADF;
	pthread_mutex_init(&px->cb_lock, NULL);
	px->next_deadline = UINT64_MAX;
	px->pipe_bulk = pipe_bulk_size();
	px->listen_tag = (struct tag){TAG_LISTEN, NULL};
	px->stop_tag = (struct tag){TAG_STOP, NULL};
	px->allow_tokenless = cfg->allow_tokenless;
	px->max_conns = cfg->max_conns ? cfg->max_conns : 1024;
	px->max_heads = px->max_conns - px->max_conns / 4;
	/* Where sock_diag is unavailable (a sandbox around us refuses netlink), heads are
	 * shared as in the namespace placement: no uid is told apart. */
	if (cfg->fair_by_uid && (px->diag_fd = peer_uid_open()) < 0)
		px->diag_fd = -EBADF;
	px->head_ms = cfg->head_timeout_ms ? cfg->head_timeout_ms : 10000;
	px->connect_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 15000;
	px->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : 600000;
	px->log = cfg->log;
	px->log_ud = cfg->log_ud;
	px->event = cfg->event;
	px->event_ud = cfg->event_ud;
	px->event_failed = cfg->event_failed;

	if ((r = filter_new(cfg->allow, &px->allow, &bad)) < 0) {
		diag_set(d, "--allow-domain", 0, 0, "invalid host pattern '%s'",
			 r == -EINVAL ? cfg->allow[bad] : "");
		return r;
	}
	if ((r = filter_new(cfg->upstream_bypass, &px->bypass, &bad)) < 0) {
		diag_set(d, "--upstream-bypass", 0, 0, "invalid host pattern '%s'",
			 r == -EINVAL ? cfg->upstream_bypass[bad] : "");
		return r;
	}
	if (cfg->upstream_proxy &&
	    (r = parse_upstream(cfg->upstream_proxy, &px->up_host, &px->up_port)) < 0) {
		diag_set(d, "--upstream-proxy", 0, 0,
			 "invalid upstream proxy '%s', expected host:port", cfg->upstream_proxy);
		return r;
	}
	if (cfg->n_hosts_override) {
		px->hosts = calloc(cfg->n_hosts_override, sizeof(*px->hosts));
		if (!px->hosts)
			return -ENOMEM;
		for (size_t i = 0; i < cfg->n_hosts_override; i++, px->n_hosts++) {
			px->hosts[i].name = strdup(cfg->hosts_override[i].name);
			px->hosts[i].addr = strdup(cfg->hosts_override[i].addr);
			if (!px->hosts[i].name || !px->hosts[i].addr) {
				px->n_hosts++;
				return -ENOMEM;
			}
		}
	}
	if (cfg->token) {
		if (strlen(cfg->token) != PROXY_TOKEN_LEN)
			return -EINVAL;
		memcpy(px->token, cfg->token, PROXY_TOKEN_LEN + 1);
	} else if ((r = token_generate(px->token, sizeof(px->token))) < 0)
		return r;
	if (cfg->n_services) {
		struct reverse_config rc = {
		    .services = cfg->services,
		    .n_services = cfg->n_services,
		    .token = px->token,
		    .max_workers = cfg->max_workers,
		    .head_ms = px->head_ms,
		    .connect_ms = px->connect_ms,
		    .idle_ms = px->idle_ms,
		    .response_ms = cfg->response_timeout_ms,
		    .upstream_proxy_host = px->up_host,
		    .upstream_proxy_port = px->up_port,
		    .upstream_bypass = px->bypass,
		    .event = reverse_event,
		    .log = reverse_log,
		    .ud = px,
		};
		if ((r = reverse_new(&rc, &px->rv, d)) < 0)
			return r;
	}

	if (lfd < 0) {
		lfd = listen_loopback(cfg->port);
		if (lfd < 0) {
			diag_set(d, "--proxy-port", 0, 0, "cannot listen on 127.0.0.1:%u: %s",
				 cfg->port, strerror(-lfd));
			return lfd;
		}
	} else {
		int fl = fcntl(lfd, F_GETFL);
		if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
	}
	if (getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	px->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						  : ((struct sockaddr_in *)&ss)->sin_port);
	px->listen_fd = TAKE_FD(lfd);
	/* Inherited by every accepted socket: see conn_tunnel(). */
	int one = 1;
	(void)setsockopt(px->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	px->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (px->epfd < 0)
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &px->listen_tag};
	if (epoll_ctl(px->epfd, EPOLL_CTL_ADD, px->listen_fd, &ev) < 0)
		return -errno;
	if ((r = resolver_new(px->epfd, TAG_RESOLVER, &px->res)) < 0)
		return r;
	(void)signal(SIGPIPE, SIG_IGN);
	*ret = TAKE_PTR(px);
	return 0;
}
