/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reverse proxy: the pure helpers (credential slot, header stripping, upstream URLs,
 * message framing), then end to end in this process (so sanitizers see the worker
 * code) against tests/probes/tls-upstream over TLS with a CA made here with the
 * openssl CLI. Loopback only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"
#include "proxy/http1.h"
#include "proxy/proxy.h"
#include "proxy/reverse.h"

#define PHANTOM	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PHANTOM2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define TOKEN	 "aaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccdddd"
#define SECRET	 "sk-test-REAL-KEY-1234"

/* ---- pure helpers ---- */

static void test_slot(void **state)
{
	(void)state;
	assert_true(reverse_slot_matches("Bearer abc", 10, "Bearer abc", 10));
	assert_false(reverse_slot_matches("Bearer abd", 10, "Bearer abc", 10));
	assert_false(reverse_slot_matches("Bearer ab", 9, "Bearer abc", 10));
	assert_false(reverse_slot_matches("Bearer abcd", 11, "Bearer abc", 10));
	assert_false(reverse_slot_matches(NULL, 0, "Bearer abc", 10));
	assert_false(reverse_slot_matches("bearer abc", 10, "Bearer abc", 10));
}

static bool dropped(const char *name, const char *value, const char *conn)
{
	return reverse_header_dropped(name, strlen(name), value, strlen(value), "x-api-key",
				      PHANTOM, TOKEN, conn, conn ? strlen(conn) : 0);
}

static void test_header_rewrite(void **state)
{
	(void)state;
	assert_true(dropped("X-Api-Key", "anything", NULL)); /* the slot, any case */
	assert_true(dropped("Authorization", "Basic Zm9vOmJhcg==", NULL));
	assert_true(dropped("x-nono-token", TOKEN, NULL));
	assert_true(dropped("Proxy-Authorization", "Bearer x", NULL));
	assert_true(dropped("Connection", "keep-alive", NULL));
	assert_true(dropped("Keep-Alive", "timeout=5", NULL));
	assert_true(dropped("TE", "trailers", NULL));
	assert_true(dropped("Upgrade", "h2c", NULL));
	assert_true(dropped("Host", "evil.example", NULL));
	assert_true(dropped("Expect", "100-continue", NULL));
	/* A phantom or the session token anywhere in a value never travels. */
	assert_true(dropped("X-Other", "prefix " PHANTOM " suffix", NULL));
	assert_true(dropped("Cookie", "t=" TOKEN, NULL));
	/* Headers the Connection header names are hop-by-hop too. */
	assert_true(dropped("X-Hop", "1", "keep-alive, X-Hop"));
	assert_false(dropped("X-Hop", "1", "keep-alive, X-Hopper"));
	/* Ordinary headers pass. */
	assert_false(dropped("Content-Type", "application/json", NULL));
	assert_false(dropped("anthropic-version", "2023-06-01", NULL));
	assert_false(dropped("Content-Length", "12", NULL));
	assert_false(dropped("Transfer-Encoding", "chunked", NULL));
}

static void test_format(void **state)
{
	char *s = NULL;
	size_t n = 0;
	(void)state;
	assert_int_equal(reverse_format("Bearer {}", "k1", 2, &s, &n), 0);
	assert_string_equal(s, "Bearer k1");
	assert_int_equal(n, 9);
	free(s);
	assert_int_equal(reverse_format("{}", "k1", 2, &s, &n), 0);
	assert_string_equal(s, "k1");
	free(s);
	assert_int_equal(reverse_format("token={};v=1", "k", 1, &s, &n), 0);
	assert_string_equal(s, "token=k;v=1");
	free(s);
	assert_int_equal(reverse_format("Bearer", "k", 1, &s, &n), -EINVAL);
}

static void test_strip_base(void **state)
{
	(void)state;
	static const struct {
		const char *base, *in, *out;
	} t[] = {
	    {"/v1", "/v1/messages", "/messages"}, /* Claude Code: BASE/v1/messages */
	    {"/v1", "/messages", "/messages"},	  /* the AI SDK: BASE(/v1)/messages */
	    {"/v1", "/v1", "/"},
	    {"/v1", "/v1beta/models", "/v1beta/models"}, /* a segment, not a prefix */
	    {"/v1", "/v1/v1/x", "/v1/x"},		 /* one copy only */
	    {"/v1", "/x/v1/y", "/x/v1/y"},
	    {"", "/v1/messages", "/v1/messages"},
	    {"/api/v4", "/api/v4/projects", "/projects"},
	    {"/api/v4", "/api/projects", "/api/projects"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char buf[64];
		(void)snprintf(buf, sizeof(buf), "%s", t[i].in);
		reverse_strip_base(t[i].base, buf);
		assert_string_equal(buf, t[i].out);
	}
}

static void test_upstream_url(void **state)
{
	struct reverse_upstream u;
	(void)state;
	assert_int_equal(reverse_parse_upstream("https://api.openai.com", &u), 0);
	assert_string_equal(u.host, "api.openai.com");
	assert_int_equal(u.port, 443);
	assert_true(u.tls);
	assert_string_equal(u.base, "");
	assert_int_equal(reverse_parse_upstream("https://Gitlab.Example.com:8443/api/", &u), 0);
	assert_string_equal(u.host, "gitlab.example.com");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.base, "/api");
	assert_int_equal(reverse_parse_upstream("https://[::1]:9/x", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_true(u.is_ip);
	assert_int_equal(reverse_parse_upstream("http://127.0.0.1:8080", &u), 0);
	assert_false(u.tls);
	assert_int_equal(reverse_parse_upstream("http://localhost", &u), 0);
	assert_int_equal(reverse_parse_upstream("http://[::1]:80", &u), 0);
	/* http:// only for loopback; no userinfo, query, fragment; valid ports. */
	assert_int_equal(reverse_parse_upstream("http://api.openai.com", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("http://10.0.0.1", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://user@host", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://host?x=1", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://host/p#f", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://host:0", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://host:70000", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("ftp://host", &u), -EINVAL);
	assert_int_equal(reverse_parse_upstream("https://host/../x", &u), -EINVAL);
}

static bool ws_head(const char *raw)
{
	struct http1_head h;
	assert_true(http1_parse_head(raw, strlen(raw), &h) > 0);
	return reverse_is_websocket(&h);
}

static void test_is_websocket(void **state)
{
	(void)state;
	assert_true(
	    ws_head("GET /r HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
	assert_true(ws_head("GET /r HTTP/1.1\r\nupgrade: WebSocket\r\n"
			    "Connection: keep-alive, upgrade\r\n\r\n"));
	/* Anything else is not carried: the Upgrade is dropped like any hop-by-hop. */
	assert_false(ws_head("GET /r HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"));
	assert_false(
	    ws_head("GET /r HTTP/1.1\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n\r\n"));
	assert_false(ws_head("GET /r HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"));
	assert_false(ws_head("GET /r HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n"));
	assert_false(ws_head("POST /r HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			     "Content-Length: 0\r\n\r\n"));
	assert_false(
	    ws_head("GET /r HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
	assert_false(ws_head("GET /r HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			     "Content-Length: 3\r\n\r\n"));
}

static void test_framer(void **state)
{
	struct http1_framer f;
	(void)state;
	/* A chunked request: the message ends after the last chunk; the rest is next. */
	static const char req[] =
	    "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n";
	http1_framer_init(&f, false, false);
	ssize_t k = http1_framer_feed(&f, req, sizeof(req) - 1);
	assert_true(f.complete);
	assert_int_equal(k, strstr(req, "GET /next") - req);
	/* Content-Length, fed in pieces. */
	static const char r2[] = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
	http1_framer_init(&f, false, false);
	assert_int_equal(http1_framer_feed(&f, r2, 20), 20);
	assert_false(f.complete);
	assert_int_equal(http1_framer_feed(&f, r2 + 20, sizeof(r2) - 1 - 20), sizeof(r2) - 1 - 20);
	assert_true(f.complete);
	/* A response to HEAD has no body whatever it says. */
	static const char r3[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	http1_framer_init(&f, true, true);
	assert_int_equal(http1_framer_feed(&f, r3, sizeof(r3) - 1), sizeof(r3) - 1);
	assert_true(f.complete);
	/* EOF-delimited response. */
	static const char r4[] = "HTTP/1.1 200 OK\r\n\r\nbody";
	http1_framer_init(&f, true, false);
	assert_int_equal(http1_framer_feed(&f, r4, sizeof(r4) - 1), sizeof(r4) - 1);
	assert_true(http1_framer_needs_eof(&f));
	assert_false(f.complete);
	assert_int_equal(http1_framer_feed(&f, r4, 0), 0);
	assert_true(f.complete);
	/* Bad chunk framing. */
	static const char r5[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
	http1_framer_init(&f, true, false);
	assert_int_equal(http1_framer_feed(&f, r5, sizeof(r5) - 1), -EBADMSG);
}

/* ---- end to end ---- */

static char dir[] = "/tmp/nono-test-reverse.XXXXXX";
static pid_t upstream_pid = -1;
static uint16_t upstream_port;
static char logpath[256];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static int setup_upstream(void **state)
{
	char cmd[2048], path[300];
	const char *bin = getenv("NONO_TLS_UPSTREAM");
	(void)state;
	if (!bin || !mkdtemp(dir))
		return -1;
	(void)snprintf(cmd, sizeof(cmd),
		       "(cd %s && printf 'basicConstraints=CA:FALSE\\nsubjectAltName=IP:127.0.0.1,"
		       "DNS:localhost\\n' >ext.cnf && "
		       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		       "-keyout ca.key -out ca.pem -days 2 -subj /CN=t-ca && "
		       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
		       "srv.key -out srv.csr -subj /CN=localhost && openssl x509 -req -in srv.csr "
		       "-CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile "
		       "ext.cnf) >/dev/null 2>&1",
		       dir);
	if (system(cmd) != 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/ca.pem", dir);
	setenv("SSL_CERT_FILE", path, 1);
	(void)snprintf(logpath, sizeof(logpath), "%s/up.log", dir);
	upstream_pid = fork();
	if (upstream_pid == 0) {
		char pf[300], c[300], k[300], g[300];
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)snprintf(pf, sizeof(pf), "%s/port", dir);
		(void)snprintf(c, sizeof(c), "%s/srv.pem", dir);
		(void)snprintf(k, sizeof(k), "%s/srv.key", dir);
		(void)snprintf(g, sizeof(g), "%s/gate", dir);
		execl(bin, bin, "--port-file", pf, "--cert", c, "--key", k, "--log", logpath,
		      "--gate", g, (char *)NULL);
		_exit(127);
	}
	(void)snprintf(path, sizeof(path), "%s/port", dir);
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");
		unsigned p = 0;
		if (f) {
			if (fscanf(f, "%u", &p) == 1)
				upstream_port = (uint16_t)p;
			fclose(f);
		}
		if (upstream_port)
			return 0;
		usleep(20000);
	}
	return -1;
}

static int teardown_upstream(void **state)
{
	char cmd[400];
	(void)state;
	if (upstream_pid > 0) {
		kill(upstream_pid, SIGTERM);
		waitpid(upstream_pid, NULL, 0);
	}
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Events as the audit trail would receive them (the callback is serialised). */
static char events[8192];
static size_t events_len;

static void record_event(void *ud, const struct proxy_event *ev)
{
	(void)ud;
	int n =
	    snprintf(events + events_len, sizeof(events) - events_len, "%s %s %s %s:%u %s %s %d\n",
		     ev->allow ? "ALLOW" : "DENY", ev->method, ev->service ? ev->service : "(none)",
		     ev->host, ev->port, ev->path, ev->reason ? ev->reason : "-", ev->status);
	if (n > 0 && (size_t)n < sizeof(events) - events_len)
		events_len += (size_t)n;
}

struct running {
	struct proxy *px;
	pthread_t th;
	int stop;
	uint16_t port;
};

static void *run_thread(void *arg)
{
	struct running *r = arg;
	(void)proxy_run(r->px, r->stop);
	return NULL;
}

static void start(struct running *r, const struct proxy_endpoint *rules, size_t n_rules,
		  unsigned max_workers, const char *base)
{
	static char upstream[128];
	struct diag d = {{0}};
	(void)snprintf(upstream, sizeof(upstream), "https://127.0.0.1:%u%s", upstream_port,
		       base ? base : "");
	const struct proxy_service svcs[] = {
	    {.name = "svc",
	     .upstream = upstream,
	     .header = "x-api-key",
	     .format = "{}",
	     .phantom = PHANTOM,
	     .secret = SECRET,
	     .secret_len = strlen(SECRET),
	     .rules = rules,
	     .n_rules = n_rules},
	    {.name = "other",
	     .upstream = upstream,
	     .header = "Authorization",
	     .format = "Bearer {}",
	     .phantom = PHANTOM2,
	     .secret = "other-secret",
	     .secret_len = 12},
	};
	struct proxy_config cfg = {
	    .token = TOKEN,
	    .services = svcs,
	    .n_services = ARRAY_SIZE(svcs),
	    .max_workers = max_workers,
	    .head_timeout_ms = 2000,
	    .event = record_event,
	};
	events_len = 0;
	events[0] = '\0';
	if (proxy_new(&cfg, &r->px, &d) < 0)
		fail_msg("proxy_new: %s", d.msg);
	r->port = proxy_port(r->px);
	r->stop = eventfd(0, EFD_CLOEXEC);
	assert_true(r->stop >= 0);
	assert_int_equal(pthread_create(&r->th, NULL, run_thread, r), 0);
}

static void stop(struct running *r)
{
	uint64_t one = 1;
	assert_int_equal(write(r->stop, &one, sizeof(one)), sizeof(one));
	assert_int_equal(pthread_join(r->th, NULL), 0);
	proxy_free(r->px);
	close(r->stop);
}

static int dial(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = 10};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		fail_msg("connect: %m");
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		assert_true(k > 0);
		s += k;
		n -= (size_t)k;
	}
}

/* Read one response: head plus Content-Length or chunked body (our chunks end in 0). */
static int read_response(int fd, char *buf, size_t n)
{
	size_t len = 0;
	char *end = NULL;
	buf[0] = '\0';
	while (len + 1 < n && !(end = strstr(buf, "\r\n\r\n"))) {
		ssize_t k = read(fd, buf + len, n - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		buf[len] = '\0';
	}
	if (!end)
		return -1;
	const char *cl = strcasestr(buf, "Content-Length:");
	if (strcasestr(buf, "Transfer-Encoding: chunked")) {
		while (len + 1 < n && !strstr(end, "\r\n0\r\n\r\n")) {
			ssize_t k = read(fd, buf + len, n - 1 - len);
			if (k <= 0)
				break;
			len += (size_t)k;
			buf[len] = '\0';
		}
		cl = NULL;
	}
	size_t want = (size_t)(end - buf) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
	while (cl && len < want && len + 1 < n) {
		ssize_t k = read(fd, buf + len, n - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		buf[len] = '\0';
	}
	unsigned s = 0;
	return sscanf(buf, "HTTP/1.1 %3u", &s) == 1 ? (int)s : -1;
}

static int one_request(uint16_t port, const char *req, char *resp, size_t n)
{
	int fd = dial(port);
	send_str(fd, req);
	int st = read_response(fd, resp, n);
	close(fd);
	return st;
}

static char *upstream_log(void)
{
	static char buf[65536];
	int fd = open(logpath, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;
	buf[k > 0 ? k : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static void clear_log(void)
{
	(void)unlink(logpath);
}

static void test_injects_key(void **state)
{
	struct running r;
	char resp[8192];
	(void)state;
	int fds0 = count_fds();
	start(&r, NULL, 0, 0, "/base");
	clear_log();
	int st = one_request(r.port,
			     "POST /svc/v1/%63hat/completions?stream=true&a=%2e HTTP/1.1\r\n"
			     "Host: 127.0.0.1\r\nx-api-key: " PHANTOM "\r\n"
			     "Authorization: Bearer sneaky\r\nX-Trace: " PHANTOM2 "\r\n"
			     "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
			     resp, sizeof(resp));
	assert_int_equal(st, 200);
	const char *log = upstream_log();
	/* Normalised path under the base, query unchanged, real key, nothing else. */
	assert_non_null(strstr(log, "POST /base/v1/chat/completions?stream=true&a=%2e HTTP/1.1"));
	assert_non_null(strstr(log, "H x-api-key: " SECRET "\n"));
	assert_non_null(strstr(log, "BODY 5"));
	assert_null(strstr(log, PHANTOM));
	assert_null(strstr(log, PHANTOM2));
	assert_null(strstr(log, "sneaky"));
	assert_null(strstr(log, "other-secret"));
	assert_non_null(strstr(log, "H Host: 127.0.0.1:"));
	assert_null(strstr(resp, SECRET));
	/* The session token works too, in X-Nono-Token. */
	st = one_request(r.port,
			 "GET /svc/v1/models HTTP/1.1\r\nHost: x\r\nX-Nono-Token: " TOKEN
			 "\r\nConnection: close\r\n\r\n",
			 resp, sizeof(resp));
	assert_int_equal(st, 200);
	stop(&r);
	assert_int_equal(count_fds(), fds0);
}

static void test_refusals_never_reach_upstream(void **state)
{
	struct running r;
	char resp[8192];
	static const struct {
		const char *req;
		int status;
	} cases[] = {
	    {"GET /svc/v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 401},
	    {"GET /svc/v1/models HTTP/1.1\r\nx-api-key: wrong\r\n\r\n", 401},
	    {"GET /svc/v1/models HTTP/1.1\r\nx-api-key: " PHANTOM "x\r\n\r\n", 401},
	    /* another service's phantom is not this one's */
	    {"GET /svc/v1/models HTTP/1.1\r\nx-api-key: " PHANTOM2 "\r\n\r\n", 401},
	    /* the right phantom in the wrong slot */
	    {"GET /svc/v1/models HTTP/1.1\r\nAuthorization: Bearer " PHANTOM "\r\n\r\n", 401},
	    /* a wrong session token beats a right phantom */
	    {"GET /svc/v1/models HTTP/1.1\r\nX-Nono-Token: nope\r\nx-api-key: " PHANTOM "\r\n\r\n",
	     401},
	    {"GET /nosuch/v1 HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 404},
	    {"GET /svc/../other/x HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/%00 HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1\\x HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/admin HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 403},
	    {"POST /svc/v1/chat HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 403},
	    /* ambiguous spellings: 400 before any rule (endpoint.h) */
	    {"GET /svc/v1/x/%2e%2e/admin HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/..;/admin HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/%252e%252e/admin HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/..%2fadmin HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1//models HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/models#x HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"GET /svc/v1/models/%c0%ae HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	    {"get /svc/v1/chat HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", 400},
	};
	static const struct proxy_endpoint rules[] = {{"GET", "/v1/chat"}, {"*", "/v1/models"}};
	(void)state;
	start(&r, rules, ARRAY_SIZE(rules), 0, NULL);
	clear_log();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int st = one_request(r.port, cases[i].req, resp, sizeof(resp));
		if (st != cases[i].status)
			fail_msg("case %zu: status %d, wanted %d:\n%s", i, st, cases[i].status,
				 resp);
	}
	assert_string_equal(upstream_log(), "");
	/* One audit event per decision, with the service and the normalised path. */
	char want[128];
	(void)snprintf(want, sizeof(want),
		       "DENY GET svc 127.0.0.1:%u /v1/admin endpoint_denied 403", upstream_port);
	assert_non_null(strstr(events, want));
	(void)snprintf(want, sizeof(want), "DENY GET svc 127.0.0.1:%u /v1/x/%%2e%%2e/admin",
		       upstream_port);
	assert_null(strstr(events, want)); /* the normalised form is reported, not the raw one */
	assert_non_null(strstr(events, "DENY GET svc 127.0.0.1"));
	assert_non_null(strstr(events, " missing_token 401\n"));
	assert_non_null(strstr(events, " bad_token 401\n"));
	assert_non_null(strstr(events, "DENY GET (none) -:0 /nosuch/v1 unknown_service 404\n"));
	/* And the allowed ones do reach it. */
	assert_int_equal(one_request(r.port,
				     "GET /svc/v1/%63hat HTTP/1.1\r\nx-api-key: " PHANTOM
				     "\r\nConnection: close\r\n\r\n",
				     resp, sizeof(resp)),
			 200);
	assert_non_null(strstr(upstream_log(), "GET /v1/chat HTTP/1.1"));
	(void)snprintf(want, sizeof(want), "ALLOW GET svc 127.0.0.1:%u /v1/chat - 200\n",
		       upstream_port);
	assert_non_null(strstr(events, want));
	stop(&r);
}

static void test_keepalive_and_pool(void **state)
{
	struct running r;
	char resp[8192];
	(void)state;
	start(&r, NULL, 0, 0, NULL);
	clear_log();
	int fd = dial(r.port);
	for (int i = 0; i < 3; i++) {
		send_str(fd, "GET /svc/ka HTTP/1.1\r\nHost: x\r\nx-api-key: " PHANTOM "\r\n\r\n");
		assert_int_equal(read_response(fd, resp, sizeof(resp)), 200);
		assert_non_null(strstr(resp, "\"path\":\"/ka\""));
	}
	/* A chunked request body on the same connection. */
	send_str(fd, "POST /svc/up HTTP/1.1\r\nx-api-key: " PHANTOM
		     "\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
	assert_int_equal(read_response(fd, resp, sizeof(resp)), 200);
	close(fd);
	const char *log = upstream_log();
	/* One upstream connection carried all four (one conn id, requests 1..4). */
	unsigned id = 0;
	char want[64];
	assert_int_equal(sscanf(log, "REQ %u 1 GET /ka", &id), 1);
	(void)snprintf(want, sizeof(want), "REQ %u 3 GET /ka", id);
	assert_non_null(strstr(log, want));
	(void)snprintf(want, sizeof(want), "REQ %u 4 POST /up", id);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "BODY 7"));
	stop(&r);
}

static void test_pool_drops_closed_connections(void **state)
{
	struct running r;
	char resp[8192];
	(void)state;
	start(&r, NULL, 0, 0, NULL);
	/* The upstream hangs up on the pooled connection after answering: the next request
	 * must not fail on it. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(one_request(r.port,
					     "GET /svc/drop HTTP/1.1\r\nx-api-key: " PHANTOM
					     "\r\nConnection: close\r\n\r\n",
					     resp, sizeof(resp)),
				 200);
		if (i == 1)
			usleep(100 * 1000); /* once with the FIN already there, once racing it */
		assert_int_equal(one_request(r.port,
					     "GET /svc/after HTTP/1.1\r\nx-api-key: " PHANTOM
					     "\r\nConnection: close\r\n\r\n",
					     resp, sizeof(resp)),
				 200);
	}
	stop(&r);
}

static void test_streaming(void **state)
{
	struct running r;
	char buf[8192] = "", gate[300];
	size_t len = 0;
	(void)state;
	(void)snprintf(gate, sizeof(gate), "%s/gate", dir);
	(void)unlink(gate);
	start(&r, NULL, 0, 0, NULL);
	int fd = dial(r.port);
	send_str(fd, "GET /svc/stream HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n");
	/* The first event arrives while the upstream still holds the last one back. */
	while (!strstr(buf, "data: first")) {
		ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
		assert_true(k > 0);
		len += (size_t)k;
		buf[len] = '\0';
	}
	assert_null(strstr(buf, "data: last"));
	int g = open(gate, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(g >= 0);
	close(g);
	while (!strstr(buf, "0\r\n\r\n")) {
		ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
		assert_true(k > 0);
		len += (size_t)k;
		buf[len] = '\0';
	}
	assert_non_null(strstr(buf, "data: last\n"));
	assert_non_null(strstr(buf, "Transfer-Encoding: chunked"));
	close(fd);
	(void)unlink(gate);
	stop(&r);
}

static void test_worker_limit(void **state)
{
	struct running r;
	char resp[4096];
	(void)state;
	start(&r, NULL, 0, 1, NULL);
	int busy = dial(r.port);
	send_str(busy, "GET /svc/a HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n");
	assert_int_equal(read_response(busy, resp, sizeof(resp)), 200);
	/* busy is kept alive: its worker is taken, the next connection is refused. */
	assert_int_equal(one_request(r.port,
				     "GET /svc/b HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", resp,
				     sizeof(resp)),
			 503);
	close(busy);
	stop(&r);
}

/* Read until EOF (or n - 1 bytes). */
static size_t read_all(int fd, char *buf, size_t n)
{
	size_t len = 0;
	ssize_t k;
	while (len + 1 < n && (k = read(fd, buf + len, n - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = '\0';
	return len;
}

/* The payload of a chunked body after the head in buf, in place. */
static void dechunk(char *buf)
{
	char *p = strstr(buf, "\r\n\r\n"), *o;
	if (!p)
		return;
	o = p += 4;
	for (;;) {
		char *e;
		unsigned long n = strtoul(p, &e, 16);
		if (e == p || strncmp(e, "\r\n", 2) != 0 || n == 0)
			break;
		memmove(o, e + 2, n);
		o += n;
		p = e + 2 + n + 2;
	}
	*o = '\0';
}

static void test_echo_scrubbed(void **state)
{
	struct running r;
	static char resp[65536];
	(void)state;
	start(&r, NULL, 0, 0, NULL);
	/* Keep-alive over re-chunked bodies: chunked, length and close-delimited echoes. */
	int fd = dial(r.port);
	const char *paths[] = {"/svc/echo", "/svc/echo?cl", "/svc/v1/models"};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char req[512];
		(void)snprintf(req, sizeof(req),
			       "GET %s HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n", paths[i]);
		send_str(fd, req);
		assert_int_equal(read_response(fd, resp, sizeof(resp)), 200);
		dechunk(resp);
		assert_null(strstr(resp, SECRET));
		assert_non_null(strstr(resp, "Transfer-Encoding: chunked"));
		assert_null(strcasestr(resp, "Content-Length"));
		if (i < 2) {
			assert_non_null(strstr(resp, "X-Echo-2: x-api-key: " PHANTOM "\r\n"));
			assert_non_null(strstr(resp, "raw x-api-key: " PHANTOM "\n"));
		}
	}
	close(fd);
	/* HTTP/1.0: the body ends with the connection. */
	fd = dial(r.port);
	send_str(fd, "GET /svc/echo?eof HTTP/1.0\r\nx-api-key: " PHANTOM "\r\n\r\n");
	read_all(fd, resp, sizeof(resp));
	close(fd);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "raw x-api-key: " PHANTOM "\n"));
	assert_null(strstr(resp, "chunked"));
	assert_null(strstr(resp, SECRET));
	stop(&r);
}

/* Wait up to ms for want occurrences of needle in the upstream's log. */
static bool log_has(const char *needle, int want, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		int n = 0;
		for (const char *p = upstream_log(); (p = strstr(p, needle)); p++)
			n++;
		if (n >= want)
			return true;
		usleep(20000);
	}
	return false;
}

static void test_hung_upstream(void **state)
{
	struct running r;
	char resp[4096];
	(void)state;
	clear_log();
	start(&r, NULL, 0, 4, NULL); /* 4 workers: 2 per service */
	int h1 = dial(r.port), h2 = dial(r.port);
	send_str(h1, "GET /svc/hang HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n");
	send_str(h2, "GET /svc/hang HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n");
	assert_true(log_has("GET /hang", 2, 3000));
	/* The service's share is taken: 503 at once; another service still answers. */
	assert_int_equal(one_request(r.port,
				     "GET /svc/x HTTP/1.1\r\nx-api-key: " PHANTOM
				     "\r\nConnection: close\r\n\r\n",
				     resp, sizeof(resp)),
			 503);
	assert_non_null(strstr(resp, "busy"));
	assert_int_equal(one_request(r.port,
				     "GET /other/x HTTP/1.1\r\nAuthorization: Bearer " PHANTOM2
				     "\r\nConnection: close\r\n\r\n",
				     resp, sizeof(resp)),
			 200);
	/* Clients that leave free their workers and close the upstream connections. */
	close(h1);
	close(h2);
	assert_true(log_has("GONE", 2, 3000));
	usleep(100000); /* the workers' bookkeeping, right after their close */
	assert_int_equal(one_request(r.port,
				     "GET /svc/x HTTP/1.1\r\nx-api-key: " PHANTOM
				     "\r\nConnection: close\r\n\r\n",
				     resp, sizeof(resp)),
			 200);
	stop(&r);
}

static void test_oversized_head(void **state)
{
	struct running r;
	char resp[4096];
	(void)state;
	start(&r, NULL, 0, 0, NULL);
	int fd = dial(r.port);
	send_str(fd, "GET /svc/a HTTP/1.1\r\nx-api-key: " PHANTOM "\r\n\r\n");
	assert_int_equal(read_response(fd, resp, sizeof(resp)), 200);
	/* The second request on the connection, read by the worker: bounded too. */
	send_str(fd, "GET /svc/b HTTP/1.1\r\nX-Big: ");
	char big[4096];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 5; i++)
		send_str(fd, big);
	assert_int_equal(read_response(fd, resp, sizeof(resp)), 431);
	close(fd);
	stop(&r);
}

int main(void)
{
	/* One group (one TAP plan); the pure cases do not need the upstream. */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slot),
	    cmocka_unit_test(test_header_rewrite),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_strip_base),
	    cmocka_unit_test(test_upstream_url),
	    cmocka_unit_test(test_is_websocket),
	    cmocka_unit_test(test_framer),
	    cmocka_unit_test(test_injects_key),
	    cmocka_unit_test(test_refusals_never_reach_upstream),
	    cmocka_unit_test(test_keepalive_and_pool),
	    cmocka_unit_test(test_pool_drops_closed_connections),
	    cmocka_unit_test(test_streaming),
	    cmocka_unit_test(test_worker_limit),
	    cmocka_unit_test(test_oversized_head),
	    cmocka_unit_test(test_echo_scrubbed),
	    cmocka_unit_test(test_hung_upstream),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_upstream, teardown_upstream);
}
