/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The port forwarder over loopback: relaying with half-close, the [::1] fallback, a
 * refused or failing outgoing side, the connection cap, the idle timeout, fd hygiene.
 * The forwarder runs in this process (portfwd_dispatch); clients and servers run in
 * forked children with blocking sockets, so each side is plain code.
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
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"
#include "proxy/portfwd.h"

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

/* A listener on 127.0.0.1 (or ::1) port 0; *port gets the port. */
static int listener(int family, uint16_t *port)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	if (family == AF_INET)
		assert_int_equal(bind(fd, (struct sockaddr *)&a4, sizeof(a4)), 0);
	else
		assert_int_equal(bind(fd, (struct sockaddr *)&a6, sizeof(a6)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A port nothing listens on (bound and closed again). */
static uint16_t dead_port(void)
{
	uint16_t p;
	int fd = listener(AF_INET, &p);
	close(fd);
	return p;
}

/* Server child: per connection, read to EOF, send it all back, close. HOLD: never close. */
static pid_t echo_server(int lfd, bool hold)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			_exit(1);
		if (hold)
			continue;
		static char buf[1 << 20];
		size_t len = 0;
		ssize_t n;
		while ((n = read(c, buf + len, sizeof(buf) - len)) > 0)
			len += (size_t)n;
		for (size_t off = 0; off < len; off += (size_t)n)
			if ((n = write(c, buf + off, len - off)) <= 0)
				_exit(2);
		close(c);
	}
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

/*
 * Client child: send SIZE patterned bytes to PORT, half-close, expect them back and
 * then EOF. Exit 0 on success, 10 when the connection was reset, other codes otherwise.
 */
static pid_t echo_client(uint16_t port, size_t size)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid)
		return pid;
	int fd = connect_to(port);
	if (fd < 0)
		_exit(3);
	char *out = malloc(size), *in = malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		out[i] = (char)(i * 7 + 3);
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, out + off, size - off);
		if (n <= 0)
			_exit(errno == ECONNRESET || errno == EPIPE ? 10 : 4);
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, in + got, size + 1 - got)) > 0)
		got += (size_t)n;
	if (n < 0)
		_exit(errno == ECONNRESET ? 10 : 5);
	_exit(got == size && memcmp(in, out, size) == 0 ? 0 : 6);
}

/* Drive the forwarder until child exits; returns its exit code. */
static int spin_until_exit(struct portfwd *pf, pid_t child)
{
	for (int i = 0; i < 2000; i++) {
		int status;
		if (waitpid(child, &status, WNOHANG) == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		struct pollfd p = {portfwd_fd(pf), POLLIN, 0};
		(void)poll(&p, 1, 10);
		assert_int_equal(portfwd_dispatch(pf), 0);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	fail_msg("child did not finish");
	return -1;
}

static void spin_ms(struct portfwd *pf, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		struct pollfd p = {portfwd_fd(pf), POLLIN, 0};
		(void)poll(&p, 1, 10);
		assert_int_equal(portfwd_dispatch(pf), 0);
	}
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_relay_half_close(void **state)
{
	(void)state;
	uint16_t sport, fport;
	int base = count_fds();
	int slfd = listener(AF_INET, &sport);
	pid_t srv = echo_server(slfd, false);
	struct portfwd *pf = NULL;
	assert_int_equal(portfwd_new(&(struct portfwd_config){.buf_size = 4096}, &pf), 0);
	assert_int_equal(portfwd_add(pf, listener(AF_INET, &fport), sport, NULL, NULL), 0);

	/* Far more than the buffer: back-pressure through both directions. */
	assert_int_equal(spin_until_exit(pf, echo_client(fport, 300 * 1024)), 0);
	assert_int_equal(spin_until_exit(pf, echo_client(fport, 1)), 0);
	spin_ms(pf, 50);
	assert_int_equal(portfwd_n_conns(pf), 0);

	pf = portfwd_free(pf);
	stop(srv);
	close(slfd);
	assert_int_equal(count_fds(), base);
}

static int g_calls, g_fail_with;
static int counting_socket(void *ud, int family)
{
	assert_ptr_equal(ud, &g_calls);
	g_calls++;
	if (g_fail_with)
		return -g_fail_with;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static void test_v6_fallback_and_factory(void **state)
{
	(void)state;
	uint16_t sport, fport;
	int slfd = listener(AF_INET6, &sport);
	/* Nothing on 127.0.0.1:sport, so the forwarder must go on to [::1]:sport. */
	pid_t srv = echo_server(slfd, false);
	struct portfwd *pf = NULL;
	g_calls = 0;
	g_fail_with = 0;
	assert_int_equal(portfwd_new(NULL, &pf), 0);
	assert_int_equal(
	    portfwd_add(pf, listener(AF_INET, &fport), sport, counting_socket, &g_calls), 0);
	assert_int_equal(spin_until_exit(pf, echo_client(fport, 1000)), 0);
	assert_int_equal(g_calls, 2); /* AF_INET refused, then AF_INET6 */
	portfwd_free(pf);
	stop(srv);
	close(slfd);
}

static void test_refused_and_failing_factory_reset_client(void **state)
{
	(void)state;
	uint16_t fport;
	int base = count_fds();
	struct portfwd *pf = NULL;
	assert_int_equal(portfwd_new(NULL, &pf), 0);
	assert_int_equal(portfwd_add(pf, listener(AF_INET, &fport), dead_port(), NULL, NULL), 0);
	assert_int_equal(spin_until_exit(pf, echo_client(fport, 10)), 10);
	portfwd_free(pf);

	g_calls = 0;
	g_fail_with = EACCES;
	assert_int_equal(portfwd_new(NULL, &pf), 0);
	assert_int_equal(
	    portfwd_add(pf, listener(AF_INET, &fport), dead_port(), counting_socket, &g_calls), 0);
	assert_int_equal(spin_until_exit(pf, echo_client(fport, 10)), 10);
	assert_int_equal(g_calls, 1);
	spin_ms(pf, 20);
	assert_int_equal(portfwd_n_conns(pf), 0);
	portfwd_free(pf);
	g_fail_with = 0;
	assert_int_equal(count_fds(), base);
}

/* Connect N clients that stay open; returns their fds. */
static void open_clients(struct portfwd *pf, uint16_t port, int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = connect_to(port);
		assert_true(fds[i] >= 0);
		spin_ms(pf, 30);
	}
}

/* After the forwarder reset a client, a read sees ECONNRESET (or EOF). */
static bool was_reset(int fd)
{
	char c;
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, 1000) <= 0)
		return false;
	ssize_t n = read(fd, &c, 1);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_connection_cap(void **state)
{
	(void)state;
	uint16_t sport, fport;
	int slfd = listener(AF_INET, &sport), c[3];
	pid_t srv = echo_server(slfd, true);
	struct portfwd *pf = NULL;
	assert_int_equal(portfwd_new(&(struct portfwd_config){.max_conns = 2}, &pf), 0);
	assert_int_equal(portfwd_add(pf, listener(AF_INET, &fport), sport, NULL, NULL), 0);
	open_clients(pf, fport, c, 3);
	assert_int_equal(portfwd_n_conns(pf), 2);
	assert_true(was_reset(c[2]));
	/* The first two are relayed and still open: nothing to read, no reset. */
	struct pollfd p = {c[0], POLLIN, 0};
	assert_int_equal(poll(&p, 1, 50), 0);
	for (int i = 0; i < 3; i++)
		close(c[i]);
	spin_ms(pf, 50);
	portfwd_free(pf);
	stop(srv);
	close(slfd);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	uint16_t sport, fport;
	int slfd = listener(AF_INET, &sport), c;
	pid_t srv = echo_server(slfd, true);
	struct portfwd *pf = NULL;
	assert_int_equal(portfwd_new(&(struct portfwd_config){.idle_timeout_ms = 150}, &pf), 0);
	assert_int_equal(portfwd_add(pf, listener(AF_INET, &fport), sport, NULL, NULL), 0);
	open_clients(pf, fport, &c, 1);
	assert_int_equal(portfwd_n_conns(pf), 1);
	assert_true(portfwd_timeout_ms(pf) >= 0);
	spin_ms(pf, 400);
	assert_int_equal(portfwd_n_conns(pf), 0);
	assert_int_equal(portfwd_timeout_ms(pf), -1);
	assert_true(was_reset(c));
	close(c);
	portfwd_free(pf);
	stop(srv);
	close(slfd);
}

static void test_free_with_live_conns_and_bad_args(void **state)
{
	(void)state;
	uint16_t sport, fport, p2;
	int base = count_fds();
	int slfd = listener(AF_INET, &sport), c[2];
	pid_t srv = echo_server(slfd, true);
	struct portfwd *pf = NULL;
	assert_int_equal(portfwd_new(NULL, &pf), 0);
	assert_int_equal(portfwd_add(pf, listener(AF_INET, &fport), sport, NULL, NULL), 0);
	open_clients(pf, fport, c, 2);
	assert_int_equal(portfwd_n_conns(pf), 2);
	/* Bad arguments: refused, and the fd is taken over (closed) all the same. */
	int l2 = listener(AF_INET, &p2);
	assert_int_equal(portfwd_add(pf, l2, 0, NULL, NULL), -EINVAL);
	assert_int_equal(fcntl(l2, F_GETFD), -1);
	assert_int_equal(portfwd_add(pf, -1, 80, NULL, NULL), -EINVAL);
	assert_null(portfwd_free(pf));
	assert_null(portfwd_free(NULL));
	for (int i = 0; i < 2; i++)
		close(c[i]);
	stop(srv);
	close(slfd);
	assert_int_equal(count_fds(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_half_close),
	    cmocka_unit_test(test_v6_fallback_and_factory),
	    cmocka_unit_test(test_refused_and_failing_factory_reset_client),
	    cmocka_unit_test(test_connection_cap),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_free_with_live_conns_and_bad_args),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
