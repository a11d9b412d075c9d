/* SPDX-License-Identifier: Apache-2.0 */
/*
 * learn/: the tracer against real programs (sh, python3, learn-helper), the DNS
 * decoder, the report's selection and collapse rules, the text layout and the JSON
 * fragment. Network use is 127.0.0.0/8 only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "base/macro.h"
#include "learn/learn-internal.h"
#include "learn/learn.h"

static const char *helper(void)
{
	const char *h = getenv("LEARN_HELPER");
	assert_non_null(h);
	return h;
}

static const struct learn_path *find_path(const struct learn_result *r, const char *path)
{
	for (size_t i = 0; i < r->n_paths; i++)
		if (streq(r->paths[i].path, path))
			return &r->paths[i];
	return NULL;
}

/* Like find_path, but the path must be there (abort() tells the compiler so). */
static const struct learn_path *need_path(const struct learn_result *r, const char *path)
{
	const struct learn_path *p = find_path(r, path);
	if (!p) {
		fail_msg("path '%s' not recorded", path);
		abort();
	}
	return p;
}

static struct learn_result *trace(char **argv, unsigned timeout)
{
	struct learn_options o = {.argv = argv, .timeout_sec = timeout, .no_rdns = true};
	struct learn_result *r = NULL;
	assert_int_equal(learn_trace(&o, &r), 0);
	assert_non_null(r);
	return r;
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/nono-learn-test-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *real = realpath(tmpl, NULL);
	assert_non_null(real);
	return real;
}

static void rm_rf(const char *d)
{
	char *argv[] = {(char *)"rm", (char *)"-rf", (char *)d, NULL};
	pid_t p = fork();
	if (p == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	(void)waitpid(p, NULL, 0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- tracer ---- */

static void test_shell_redirect(void **state)
{
	(void)state;
	_cleanup_free_ char *d = make_tmpdir();
	char cmd[2048], out[512];
	snprintf(out, sizeof(out), "%s/x", d);
	char keep[512];
	snprintf(keep, sizeof(keep), "%s/existing", d);
	FILE *fp = fopen(keep, "we");
	assert_non_null(fp);
	fclose(fp);
	struct timespec pause = {0, 20 * 1000 * 1000}; /* keep its birth time before the run */
	nanosleep(&pause, NULL);
	snprintf(cmd, sizeof(cmd), "cat /etc/hostname > %s; echo hi >> %s", out, keep);
	char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	_cleanup_free_ char *hostname = realpath("/etc/hostname", NULL);
	const struct learn_path *p = need_path(r, hostname);
	assert_true(p->access & LEARN_READ);
	assert_false(p->access & LEARN_WRITE);
	assert_int_equal(p->err, 0);
	/* x did not exist before: a rule for it would be skipped, so its directory is needed. */
	assert_null(find_path(r, out));
	p = need_path(r, d);
	assert_true(p->access & LEARN_WRITE);
	assert_true(p->is_dir);
	/* A file that was there before keeps file granularity. */
	p = need_path(r, keep);
	assert_int_equal(p->access, LEARN_WRITE);
	assert_false(p->is_dir);
	/* cat was exec'd from $PATH; the failed candidates are not recorded. */
	_cleanup_free_ char *cat = realpath("/bin/cat", NULL);
	p = need_path(r, cat);
	assert_true(p->access & LEARN_EXEC);
	assert_null(find_path(r, "/usr/local/sbin/cat"));
	assert_true(r->n_stops > 0);
	rm_rf(d);
}

static void test_create_remove(void **state)
{
	(void)state;
	_cleanup_free_ char *d = make_tmpdir();
	char cmd[2048], sub[512];
	snprintf(sub, sizeof(sub), "%s/a", d);
	/* mkdir -p on existing parents (EEXIST) and rm -f of a missing file need nothing. */
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/a/b && rm -f %s/missing && rmdir %s/a/b", d, d, d);
	char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	/* Creating a, and creating then removing b, need write on their parents. */
	const struct learn_path *p = need_path(r, d);
	assert_true(p->access & LEARN_WRITE);
	assert_true(p->is_dir);
	p = need_path(r, sub);
	assert_true(p->access & LEARN_WRITE);
	/* mkdir -p tried to create /tmp (EEXIST): no write recorded on /tmp. */
	p = find_path(r, "/tmp");
	assert_true(!p || !(p->access & LEARN_WRITE));
	rm_rf(d);
}

/* A file created directly in $HOME stays a file: never widened to $HOME. */
static void test_created_file_in_home(void **state)
{
	(void)state;
	_cleanup_free_ char *d = make_tmpdir();
	char cmd[2048], sub[600], inhome[600];
	snprintf(sub, sizeof(sub), "%s/sub", d);
	snprintf(inhome, sizeof(inhome), "%s/.state.json", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(cmd, sizeof(cmd), "echo x > %s/new && echo y > %s", sub, inhome);
	_cleanup_free_ char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", d, 1);
	char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	assert_int_equal(r->exit_status, 0);
	/* Below $HOME: the directory, as before. */
	const struct learn_path *p = need_path(r, sub);
	assert_true(p->access & LEARN_WRITE);
	assert_true(p->is_dir);
	/* In $HOME itself: the file, and no write on $HOME. */
	p = need_path(r, inhome);
	assert_true(p->access & LEARN_WRITE);
	assert_false(p->is_dir);
	p = find_path(r, d);
	assert_true(!p || !(p->access & LEARN_WRITE));
	rm_rf(d);
}

static void test_script_interpreter(void **state)
{
	(void)state;
	_cleanup_free_ char *d = make_tmpdir();
	char script[512];
	snprintf(script, sizeof(script), "%s/run.sh", d);
	FILE *fp = fopen(script, "we");
	assert_non_null(fp);
	fputs("#!/bin/sh\nexit 7\n", fp);
	fclose(fp);
	assert_int_equal(chmod(script, 0755), 0);
	char *argv[] = {script, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 7);
	/* The script and the #! interpreter the kernel opened for it. */
	assert_true(need_path(r, script)->access & LEARN_EXEC);
	_cleanup_free_ char *sh = realpath("/bin/sh", NULL);
	assert_true(need_path(r, sh)->access & LEARN_EXEC);
	rm_rf(d);
}

static void test_threads_and_forks(void **state)
{
	(void)state;
	_cleanup_free_ char *d = make_tmpdir();
	char *argv[] = {(char *)helper(), (char *)"threads", d, (char *)"8", NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	/* Every thread's and the child's file was seen: d holds nine new files. */
	const struct learn_path *lp = need_path(r, d);
	assert_true(lp->access & LEARN_WRITE);
	assert_int_equal(lp->count, 9);
	_cleanup_free_ char *tru = realpath("/bin/true", NULL);
	lp = need_path(r, tru);
	assert_true(lp->access & LEARN_EXEC);
	rm_rf(d);
}

static void test_python_reads_file(void **state)
{
	(void)state;
	if (system("python3 -c pass >/dev/null 2>&1") != 0)
		skip();
	_cleanup_free_ char *d = make_tmpdir();
	char f[512], code[2048];
	snprintf(f, sizeof(f), "%s/data.txt", d);
	FILE *fp = fopen(f, "we");
	assert_non_null(fp);
	fputs("hello\n", fp);
	fclose(fp);
	snprintf(code, sizeof(code), "open('%s').read(); open('%s/nope.txt', 'a').close()", f, d);
	char *argv[] = {(char *)"python3", (char *)"-c", code, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	const struct learn_path *p = need_path(r, f);
	assert_int_equal(p->access & (LEARN_READ | LEARN_WRITE), LEARN_READ);
	/* nope.txt was created by the run: reported as its directory. */
	p = need_path(r, d);
	assert_true(p->access & LEARN_WRITE);
	/* Python probes many optional files: failed read-only opens are not recorded. */
	for (size_t i = 0; i < r->n_paths; i++)
		if (r->paths[i].err)
			assert_true(r->paths[i].access & LEARN_WRITE);
	rm_rf(d);
}

static int listen_tcp(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 16), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static void test_tcp_connect(void **state)
{
	(void)state;
	uint16_t port;
	_cleanup_close_ int s = listen_tcp(&port);
	assert_true(s >= 0);
	char ps[16];
	snprintf(ps, sizeof(ps), "%u", port);
	char *argv[] = {(char *)helper(), (char *)"connect", ps, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	assert_int_equal(r->n_outbound, 1);
	assert_string_equal(r->outbound[0].addr, "127.0.0.1");
	assert_int_equal(r->outbound[0].port, port);
	assert_int_equal(r->outbound[0].count, 1);
	assert_null(r->outbound[0].hostname); /* no DNS seen, --no-rdns */
}

static void test_tcp_connect_rdns(void **state)
{
	(void)state;
	/* Without DNS traffic the name comes from reverse lookup (here /etc/hosts). */
	struct sockaddr_in lo = {.sin_family = AF_INET};
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char want[NI_MAXHOST];
	if (getnameinfo((struct sockaddr *)&lo, sizeof(lo), want, sizeof(want), NULL, 0,
			NI_NAMEREQD) != 0)
		skip();
	uint16_t port;
	_cleanup_close_ int s = listen_tcp(&port);
	assert_true(s >= 0);
	char ps[16];
	snprintf(ps, sizeof(ps), "%u", port);
	char *argv[] = {(char *)helper(), (char *)"connect", ps, NULL};
	struct learn_options o = {.argv = argv};
	_cleanup_learn_result_ struct learn_result *r = NULL;
	assert_int_equal(learn_trace(&o, &r), 0);
	assert_int_equal(r->n_outbound, 1);
	assert_non_null(r->outbound[0].hostname);
	assert_string_equal(r->outbound[0].hostname, want);
}

static void test_tcp_listen(void **state)
{
	(void)state;
	char *argv[] = {(char *)helper(), (char *)"listen", NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	assert_int_equal(r->n_listening, 1);
	assert_string_equal(r->listening[0].addr, "127.0.0.1");
	assert_int_not_equal(r->listening[0].port, 0); /* the port the kernel picked */
}

static void test_unix_socket(void **state)
{
	(void)state;
	_cleanup_free_ char *d = make_tmpdir();
	char path[100];
	snprintf(path, sizeof(path), "%.90s/sock", d);
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 1), 0);
	char *argv[] = {(char *)helper(), (char *)"unix", path, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 0);
	assert_non_null(r->unix_sockets);
	assert_string_equal(r->unix_sockets[0], path);
	rm_rf(d);
}

/* A one-shot DNS server on ADDR:53 answering svc.learn.test with a CNAME and 127.0.0.1. */
struct dns_server {
	int fd;
};

static void *dns_server_main(void *arg)
{
	struct dns_server *srv = arg;
	uint8_t q[512];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(srv->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 12)
		return NULL;
	uint8_t a[512];
	memcpy(a, q, (size_t)n);
	a[2] = 0x81; /* QR, RD */
	a[3] = 0x80; /* RA */
	a[7] = 2;    /* ANCOUNT = 2 */
	size_t o = (size_t)n;
	static const uint8_t cname[] = {
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, /* svc.learn.test CNAME, rdlen 6 */
		3, 'c', 'd', 'n', 0xc0, 16,              /* cdn.learn.test */
	};
	memcpy(a + o, cname, sizeof(cname));
	size_t cdn_off = o + 12;
	o += sizeof(cname);
	uint8_t arec[] = {0xc0, (uint8_t)cdn_off, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
	memcpy(a + o, arec, sizeof(arec));
	o += sizeof(arec);
	(void)sendto(srv->fd, a, o, 0, (struct sockaddr *)&from, fl);
	return NULL;
}

static void test_dns_names_connection(void **state)
{
	(void)state;
	struct dns_server srv = {.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
	struct sockaddr_in ns = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "127.0.0.77", &ns.sin_addr);
	if (bind(srv.fd, (struct sockaddr *)&ns, sizeof(ns)) < 0) {
		close(srv.fd);
		skip(); /* port 53 needs root / CAP_NET_BIND_SERVICE */
	}
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, dns_server_main, &srv), 0);
	uint16_t port;
	_cleanup_close_ int s = listen_tcp(&port);
	assert_true(s >= 0);
	char ps[16];
	snprintf(ps, sizeof(ps), "%u", port);
	char *argv[] = {(char *)helper(), (char *)"dns", (char *)"127.0.0.77", ps, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 5);
	pthread_join(th, NULL);
	close(srv.fd);
	assert_int_equal(r->exit_status, 0);
	assert_int_equal(r->n_outbound, 1); /* the UDP query is not an outbound TCP grant */
	assert_string_equal(r->outbound[0].addr, "127.0.0.1");
	/* Named after the question, not the CNAME target. */
	assert_string_equal(r->outbound[0].hostname, "svc.learn.test");

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(learn_report_text(r, NULL, 0, false, f), 0);
	fclose(f);
	char line[128];
	snprintf(line, sizeof(line),
		 "OUTBOUND NETWORK (1 endpoints)\n----------------------------------------\n"
		 "svc.learn.test (127.0.0.1):%u (1 connections)\n",
		 port);
	assert_non_null(strstr(buf, line));
	free(buf);
}

static void test_killed_mid_run(void **state)
{
	(void)state;
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"cat /etc/hostname >/dev/null; kill -9 $$; echo never", NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	assert_int_equal(r->exit_status, 128 + SIGKILL);
	_cleanup_free_ char *hostname = realpath("/etc/hostname", NULL);
	assert_non_null(find_path(r, hostname));
}

static void test_timeout(void **state)
{
	(void)state;
	/* The shell and its sleep ignore SIGTERM: the SIGKILL 1 s later must end them. */
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"trap '' TERM; cat /etc/hostname >/dev/null; sleep 30; :",
			NULL};
	uint64_t t0 = now_ms();
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 1);
	uint64_t dt = now_ms() - t0;
	assert_true(r->timed_out);
	assert_int_equal(r->exit_status, 128 + SIGKILL);
	assert_true(dt >= 1000 && dt < 5000);
	_cleanup_free_ char *hostname = realpath("/etc/hostname", NULL);
	assert_non_null(find_path(r, hostname)); /* what was seen is kept */
}

static void test_signal_forwarded(void **state)
{
	(void)state;
	/* In a child: SIGTERM to the tracer must reach the traced tree and end it. */
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		char *argv[] = {(char *)"sleep", (char *)"30", NULL};
		struct learn_options o = {.argv = argv, .no_rdns = true};
		struct learn_result *r = NULL;
		if (learn_trace(&o, &r) < 0)
			_exit(10);
		int ok = r->interrupted && r->exit_status == 128 + SIGTERM;
		learn_result_free(r);
		_exit(ok ? 0 : 11);
	}
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	uint64_t t0 = now_ms();
	assert_int_equal(kill(p, SIGTERM), 0);
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(now_ms() - t0 < 3000);
}

static void test_unprivileged(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	/* As nobody the filter needs no_new_privs: the child falls back to setting it. */
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		/* Changing uid cleared "dumpable", which would make our child unattachable. */
		if (prctl(PR_SET_DUMPABLE, 1) < 0)
			_exit(10);
		char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"cat /etc/hostname >/dev/null", NULL};
		struct learn_options o = {.argv = argv, .no_rdns = true};
		struct learn_result *r = NULL;
		if (learn_trace(&o, &r) < 0)
			_exit(11);
		char *hostname = realpath("/etc/hostname", NULL);
		int ok = r->exit_status == 0 && hostname && find_path(r, hostname);
		free(hostname);
		learn_result_free(r);
		_exit(ok ? 0 : 12);
	}
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = calloc(1, 4096);
	if (buf)
		(void)!fread(buf, 1, 4095, f);
	fclose(f);
	return buf;
}

static void test_setuid_exec_as_root(void **state)
{
	(void)state;
	/*
	 * Traced by root, the filter goes in without no_new_privs, so a setuid binary
	 * still gains its privilege: passwd -S shows /etc/shadow data only as root.
	 * Compared with the same run untraced, and with no_new_privs (which must differ,
	 * or this system cannot tell the two apart and the test skips).
	 */
	if (geteuid() != 0 || system("command -v setpriv >/dev/null") != 0)
		skip();
	struct stat st;
	if (stat("/usr/bin/passwd", &st) < 0 || !(st.st_mode & S_ISUID))
		skip();
	_cleanup_free_ char *d = make_tmpdir();
	char cmd[2048], f_plain[512], f_nnp[512], f_traced[512];
	snprintf(f_plain, sizeof(f_plain), "%s/plain", d);
	snprintf(f_nnp, sizeof(f_nnp), "%s/nnp", d);
	snprintf(f_traced, sizeof(f_traced), "%s/traced", d);
	static const char drop[] = "setpriv --reuid=65534 --regid=65534 --clear-groups";
	snprintf(cmd, sizeof(cmd), "%s /usr/bin/passwd -S nobody >%s 2>&1", drop, f_plain);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s --no-new-privs /usr/bin/passwd -S nobody >%s 2>&1", drop,
		 f_nnp);
	(void)!system(cmd);
	_cleanup_free_ char *plain = slurp(f_plain), *nnp = slurp(f_nnp);
	assert_non_null(plain);
	assert_non_null(nnp);
	if (streq(plain, nnp)) {
		rm_rf(d);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "%s /usr/bin/passwd -S nobody >%s 2>&1", drop, f_traced);
	char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 10);
	assert_int_equal(r->exit_status, 0);
	assert_true(need_path(r, "/usr/bin/passwd")->access & LEARN_EXEC);
	_cleanup_free_ char *traced = slurp(f_traced);
	assert_non_null(traced);
	assert_string_equal(traced, plain);
	rm_rf(d);
}

static void test_exec_missing(void **state)
{
	(void)state;
	char *argv[] = {(char *)"/nonexistent/nono-learn-cmd", NULL};
	struct learn_options o = {.argv = argv};
	struct learn_result *r = NULL;
	assert_int_equal(learn_trace(&o, &r), -ENOENT);
	assert_null(r);
	char *argv2[] = {(char *)"nono-learn-no-such-command", NULL};
	o.argv = argv2;
	assert_int_equal(learn_trace(&o, &r), -ENOENT);
}

/* ---- DNS decoder ---- */

static void test_dns_decode(void **state)
{
	(void)state;
	static const uint8_t msg[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
		3, 'a', 'p', 'i', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		/* CNAME to edge.example.com */
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7, 4, 'e', 'd', 'g', 'e', 0xc0, 16,
		/* edge A 192.0.2.7 */
		0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7,
		/* edge AAAA 2001:db8::7 */
		0xc0, 45, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 7,
	};
	struct dns_map m = {0};
	assert_int_equal(dns_decode_answer(msg, sizeof(msg), &m), 2);
	assert_string_equal(dns_map_lookup(&m, "192.0.2.7"), "api.example.com");
	assert_string_equal(dns_map_lookup(&m, "2001:db8::7"), "api.example.com");
	assert_null(dns_map_lookup(&m, "192.0.2.8"));

	/* Truncated, a query (QR clear), and a compression pointer loop are refused. */
	assert_int_equal(dns_decode_answer(msg, sizeof(msg) - 3, &m), -EBADMSG);
	uint8_t q[sizeof(msg)];
	memcpy(q, msg, sizeof(msg));
	q[2] = 0x01;
	assert_int_equal(dns_decode_answer(q, sizeof(q), &m), -EBADMSG);
	static const uint8_t loop[] = {0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12};
	assert_int_equal(dns_decode_answer(loop, sizeof(loop), &m), -EBADMSG);
	assert_int_equal(dns_decode_answer(msg, 5, &m), -EBADMSG);
	dns_map_done(&m);
}

static void test_sockaddr_format(void **state)
{
	(void)state;
	char addr[46];
	uint16_t port = 0;
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &in6.sin6_addr);
	assert_int_equal(sockaddr_format((struct sockaddr *)&in6, sizeof(in6), addr, &port), 0);
	assert_string_equal(addr, "192.0.2.9");
	assert_int_equal(port, 443);
	inet_pton(AF_INET6, "2001:db8::9", &in6.sin6_addr);
	assert_int_equal(sockaddr_format((struct sockaddr *)&in6, sizeof(in6), addr, &port), 0);
	assert_string_equal(addr, "2001:db8::9");
	/* A length shorter than the family's sockaddr is refused. */
	assert_int_equal(sockaddr_format((struct sockaddr *)&in6, 8, addr, &port), -EAFNOSUPPORT);
}

static void test_dns_decode_mutated(void **state)
{
	(void)state;
	/* Random corruption of a valid answer must never read out of bounds (run under ASan). */
	static const uint8_t base[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		3, 'a', 'p', 'i', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7, 4, 'e', 'd', 'g', 'e', 0xc0, 16,
		0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7,
	};
	uint8_t m[sizeof(base)];
	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		memcpy(m, base, sizeof(m));
		int flips = 1 + (int)(rand_r(&seed) % 4);
		for (int k = 0; k < flips; k++)
			m[rand_r(&seed) % sizeof(m)] = (uint8_t)rand_r(&seed);
		size_t len = (size_t)rand_r(&seed) % (sizeof(m) + 1);
		/* Copy to an exact-size heap buffer so ASan sees any overread. */
		uint8_t *h = malloc(len ? len : 1);
		memcpy(h, m, len);
		struct dns_map map = {0};
		int r = dns_decode_answer(h, len, &map);
		assert_true(r >= 0 || r == -EBADMSG);
		dns_map_done(&map);
		free(h);
	}
}

/* ---- report ---- */

static struct learn_result *fake_result(void)
{
	static const struct {
		const char *path;
		unsigned access;
		bool is_dir;
		int err;
	} paths[] = {
		/* three reads in one directory collapse to it */
		{"/srv/app/conf/a.toml", LEARN_READ, false, 0},
		{"/srv/app/conf/b.toml", LEARN_READ, false, 0},
		{"/srv/app/conf/c.toml", LEARN_READ, false, 0},
		/* a lone write keeps file granularity */
		{"/srv/app/out.log", LEARN_WRITE, false, 0},
		/* deep trees fold upwards: q, r, s collapse, then /data/p */
		{"/data/p/q/1", LEARN_READ, false, 0},
		{"/data/p/q/2", LEARN_READ, false, 0},
		{"/data/p/q/3", LEARN_READ, false, 0},
		{"/data/p/r/1", LEARN_READ, false, 0},
		{"/data/p/r/2", LEARN_READ, false, 0},
		{"/data/p/r/3", LEARN_READ, false, 0},
		{"/data/p/s/1", LEARN_READ, false, 0},
		{"/data/p/s/2", LEARN_READ, false, 0},
		{"/data/p/s/3", LEARN_READ, false, 0},
		/* never collapsed into $HOME or a top-level directory */
		{"/home/u/.a", LEARN_READ, false, 0},
		{"/home/u/.b", LEARN_READ, false, 0},
		{"/home/u/.c", LEARN_READ, false, 0},
		{"/opt/x1", LEARN_READ | LEARN_WRITE, false, 0},
		{"/opt/x2", LEARN_READ | LEARN_WRITE, false, 0},
		{"/opt/x3", LEARN_READ | LEARN_WRITE, false, 0},
		/* a listed directory subsumes what is read beneath it */
		{"/home/u/proj", LEARN_READ | LEARN_LIST, true, 0},
		{"/home/u/proj/src/main.c", LEARN_READ, false, 0},
		{"/home/u/proj/build/out", LEARN_WRITE | LEARN_READ, false, 0},
		/* covered by the rules below */
		{"/usr/lib/libc.so.6", LEARN_READ | LEARN_EXEC, false, 0},
		{"/etc/hosts", LEARN_READ, false, 0},
		{"/dev/null", LEARN_READ | LEARN_WRITE, false, 0},
		/* read covered, write is not: only the write is reported */
		{"/etc/app.conf", LEARN_READ | LEARN_WRITE, false, 0},
		/* pseudo-files the sandbox handles are never proposed (rule 0) */
		{"/", LEARN_READ | LEARN_WRITE, true, 0},
		{"/proc", LEARN_READ | LEARN_WRITE, true, 0},
		{"/proc/self/status", LEARN_READ, false, 0},
		{"/sys/kernel/debug/tracing", LEARN_READ | LEARN_WRITE, true, 0},
		{"/sys/kernel/tracing/trace_marker", LEARN_WRITE, false, 0},
		/* a read that failed (EACCES) is dropped, a failed write is kept */
		{"/var/secret", LEARN_READ, false, EACCES},
		{"/var/spool/new", LEARN_WRITE, false, ENOENT},
	};
	struct learn_result *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->paths = calloc(ARRAY_SIZE(paths), sizeof(*r->paths));
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		r->paths[i] = (struct learn_path){.path = strdup(paths[i].path),
						  .access = paths[i].access,
						  .is_dir = paths[i].is_dir,
						  .err = paths[i].err,
						  .count = 1};
	r->n_paths = ARRAY_SIZE(paths);
	r->outbound = calloc(2, sizeof(*r->outbound));
	snprintf(r->outbound[0].addr, sizeof(r->outbound[0].addr), "104.18.7.192");
	r->outbound[0].port = 443;
	r->outbound[0].hostname = strdup("api.openai.com");
	r->outbound[0].count = 12;
	snprintf(r->outbound[1].addr, sizeof(r->outbound[1].addr), "2001:db8::1");
	r->outbound[1].port = 80;
	r->outbound[1].count = 1;
	r->n_outbound = 2;
	r->listening = calloc(1, sizeof(*r->listening));
	snprintf(r->listening[0].addr, sizeof(r->listening[0].addr), "127.0.0.1");
	r->listening[0].port = 8080;
	r->listening[0].count = 1;
	r->n_listening = 1;
	return r;
}

static const struct learn_covered covered[] = {
	{"/usr", LEARN_READ, false},
	{"/etc", LEARN_READ, false},
	{"/dev/null", LEARN_READ | LEARN_WRITE, true},
};

static void test_report_text(void **state)
{
	(void)state;
	setenv("HOME", "/home/u", 1);
	_cleanup_learn_result_ struct learn_result *r = fake_result();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(learn_report_text(r, covered, ARRAY_SIZE(covered), false, f), 0);
	fclose(f);
	static const char expected[] =
		"============================================================\n"
		"nono learn - Discovered Paths\n"
		"============================================================\n"
		"\n"
		"READ (6 paths)\n"
		"----------------------------------------\n"
		"/data/p\n"
		"/home/u/.a\n"
		"/home/u/.b\n"
		"/home/u/.c\n"
		"/home/u/proj\n"
		"/srv/app/conf\n"
		"\n"
		"WRITE (4 paths)\n"
		"----------------------------------------\n"
		"/etc/app.conf\n"
		"/home/u/proj/build/out\n"
		"/srv/app/out.log\n"
		"/var/spool/new\n"
		"\n"
		"READ+WRITE (3 paths)\n"
		"----------------------------------------\n"
		"/opt/x1\n"
		"/opt/x2\n"
		"/opt/x3\n"
		"\n"
		"3 paths already covered by system defaults\n"
		"\n"
		"OUTBOUND NETWORK (2 endpoints)\n"
		"----------------------------------------\n"
		"api.openai.com (104.18.7.192):443 (12 connections)\n"
		"[2001:db8::1]:80 (1 connections)\n"
		"\n"
		"LISTENING PORTS (1 endpoints)\n"
		"----------------------------------------\n"
		"127.0.0.1:8080 (1 connections)\n"
		"\n";
	assert_string_equal(buf, expected);
	free(buf);
}

static void test_report_all(void **state)
{
	(void)state;
	setenv("HOME", "/home/u", 1);
	_cleanup_learn_result_ struct learn_result *r = fake_result();
	struct report_entry *e = NULL;
	size_t n = 0, ncov = 99;
	assert_int_equal(report_select(r, covered, ARRAY_SIZE(covered), true, "/home/u", &e, &n,
				       &ncov),
			 0);
	assert_int_equal(ncov, 0);
	bool libc = false, secret = false;
	for (size_t i = 0; i < n; i++) {
		libc |= streq(e[i].path, "/usr/lib/libc.so.6");
		secret |= streq(e[i].path, "/var/secret");
	}
	assert_true(libc);   /* covered paths are shown with --all */
	assert_true(secret); /* and failed reads */
	report_entries_free(e, n);
}

static void test_report_json(void **state)
{
	(void)state;
	setenv("HOME", "/home/u", 1);
	_cleanup_learn_result_ struct learn_result *r = fake_result();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(learn_report_json(r, covered, ARRAY_SIZE(covered), false, f), 0);
	fclose(f);
	json_error_t jerr;
	json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(j);
	json_t *allow, *read, *write, *outb, *listen;
	assert_int_equal(json_unpack_ex(j, &jerr, JSON_STRICT,
					"{s:{s:o,s:o,s:o},s:{s:o,s:o}}", "filesystem", "allow",
					&allow, "read", &read, "write", &write, "network",
					"outbound", &outb, "listening", &listen),
			 0);
	assert_int_equal(json_array_size(allow), 3);
	assert_int_equal(json_array_size(read), 6);
	assert_int_equal(json_array_size(write), 4);
	assert_string_equal(json_string_value(json_array_get(read, 0)), "/data/p");
	assert_string_equal(json_string_value(json_array_get(allow, 0)), "/opt/x1");
	assert_int_equal(json_array_size(outb), 2);
	const char *addr, *host;
	json_int_t port, count;
	assert_int_equal(json_unpack_ex(json_array_get(outb, 0), &jerr, JSON_STRICT,
					"{s:s,s:I,s:s,s:I}", "addr", &addr, "port", &port,
					"hostname", &host, "count", &count),
			 0);
	assert_string_equal(addr, "104.18.7.192");
	assert_int_equal(port, 443);
	assert_string_equal(host, "api.openai.com");
	assert_int_equal(count, 12);
	assert_true(json_is_null(json_object_get(json_array_get(outb, 1), "hostname")));
	assert_int_equal(json_array_size(listen), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(listen, 0), "port")),
			 8080);
	json_decref(j);
	free(buf);
}

static void test_report_traced_fragment(void **state)
{
	(void)state;
	/* End to end: the fragment for a real run names the written file. */
	_cleanup_free_ char *d = make_tmpdir();
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cat /etc/hostname > %s/out", d);
	char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};
	_cleanup_learn_result_ struct learn_result *r = trace(argv, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const struct learn_covered sys[] = {{"/usr", LEARN_READ, false},
						   {"/etc", LEARN_READ, false},
						   {"/dev", LEARN_READ | LEARN_WRITE, false},
						   {"/proc", LEARN_READ, false}};
	assert_int_equal(learn_report_json(r, sys, ARRAY_SIZE(sys), false, f), 0);
	fclose(f);
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	json_t *write = json_object_get(json_object_get(j, "filesystem"), "write");
	assert_int_equal(json_array_size(write), 1);
	assert_string_equal(json_string_value(json_array_get(write, 0)), d);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "filesystem"), "read")),
			 0);
	json_decref(j);
	free(buf);
	rm_rf(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_redirect),
		cmocka_unit_test(test_create_remove),
		cmocka_unit_test(test_created_file_in_home),
		cmocka_unit_test(test_script_interpreter),
		cmocka_unit_test(test_threads_and_forks),
		cmocka_unit_test(test_python_reads_file),
		cmocka_unit_test(test_tcp_connect),
		cmocka_unit_test(test_tcp_connect_rdns),
		cmocka_unit_test(test_tcp_listen),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_dns_names_connection),
		cmocka_unit_test(test_killed_mid_run),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_signal_forwarded),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_setuid_exec_as_root),
		cmocka_unit_test(test_exec_missing),
		cmocka_unit_test(test_dns_decode),
		cmocka_unit_test(test_dns_decode_mutated),
		cmocka_unit_test(test_sockaddr_format),
		cmocka_unit_test(test_report_text),
		cmocka_unit_test(test_report_all),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_report_traced_fragment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
