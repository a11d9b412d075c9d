/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_UNIX path sockets, for the mediation tests.
 *
 *   probe-unix serve PATH TAG      bind+listen PATH, print "ready" on stdout, then send
 *                                  TAG to every client (runs until killed)
 *   probe-unix dgram-serve PATH    bind a datagram socket at PATH, print "ready", then
 *                                  print every datagram received, one per line
 *   probe-unix connect PATH        connect (stream); print what the server sent
 *   probe-unix connect-nb PATH     the same with a non-blocking socket (poll for the result)
 *   probe-unix bind PATH           bind a stream socket at PATH (the file stays)
 *   probe-unix sendto PATH MSG     send MSG as one datagram to PATH from an unbound socket
 *   probe-unix threads PATH T N    T threads each make N connects to PATH at once;
 *                                  exit 0 when all connected, else the first errno
 *   probe-unix badaddr PATH        connect with addrlen 4096 (expects EINVAL), then with
 *                                  an unmapped address (expects EFAULT); exit 0 when both
 *   probe-unix signals PATH N      N non-blocking connects to PATH while SIGALRM (a handler,
 *                                  SA_RESTART) fires every 50 us; exit 0 unless a
 *                                  connect saw EALREADY or EISCONN (a call repeated after
 *                                  a signal), 3 then
 *   probe-unix race GOOD BAD N     N connects to one sockaddr whose path a second thread
 *                                  keeps flipping between GOOD and BAD; prints
 *                                  "good=G bad=B refused=R"; exit 0 when BAD was never
 *                                  reached (its server's TAG must be "bad"), 3 otherwise
 *   probe-unix serve-full PATH     bind+listen PATH with a backlog of 0, print "ready",
 *                                  never accept (runs until killed)
 *   probe-unix stuck FULL OK N     connect to FULL once (the backlog is then full), start
 *                                  N threads whose connects to FULL block, wait until all
 *                                  N sit in connect, then connect to OK and print what
 *                                  its server sent: exit 0 when that connect completes
 *                                  while the N are still blocked
 *
 * Exit: 0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 98 EADDRINUSE, 111 ECONNREFUSED,
 *       36 ENAMETOOLONG, 99 other, 64 usage.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe-common.h"

static const int extra[] = {EADDRINUSE, ECONNREFUSED, ENAMETOOLONG, 0};

static socklen_t make_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		fprintf(stderr, "path too long\n");
		exit(64);
	}
	memcpy(a->sun_path, path, strlen(path));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int serve(const char *path, const char *tag)
{
	struct sockaddr_un a;
	socklen_t len = make_addr(&a, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 64) < 0)
		return probe_exit(errno, extra);
	(void)chmod(path, 0777);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		(void)!send(c, tag, strlen(tag), MSG_NOSIGNAL);
		close(c);
	}
}

static int dgram_serve(const char *path)
{
	struct sockaddr_un a;
	socklen_t len = make_addr(&a, path);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[512];

	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0)
		return probe_exit(errno, extra);
	(void)chmod(path, 0777);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = 0;
		printf("%s\n", buf);
		fflush(stdout);
	}
}

/* Connect and read the server's tag into buf; returns 0 or an errno. */
static int connect_read(const struct sockaddr_un *a, socklen_t len, bool nonblock, char *buf,
			size_t size)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	ssize_t n;
	int e = 0;

	if (s < 0)
		return errno;
	if (connect(s, (const struct sockaddr *)a, len) < 0) {
		e = errno;
		if (!nonblock || (e != EINPROGRESS && e != EAGAIN)) {
			close(s);
			return e;
		}
		struct pollfd p = {s, POLLOUT, 0};
		socklen_t el = sizeof(e);
		(void)poll(&p, 1, 5000);
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			close(s);
			return e;
		}
	}
	if (nonblock) {
		struct pollfd p = {s, POLLIN, 0};
		(void)poll(&p, 1, 5000);
	}
	n = read(s, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
	close(s);
	return 0;
}

static struct sockaddr_un threads_addr;
static long threads_n;
static atomic_int threads_err;

static void *threads_main(void *arg)
{
	char buf[64];
	(void)arg;
	for (long i = 0; i < threads_n; i++) {
		int e = connect_read(&threads_addr, sizeof(threads_addr), false, buf, sizeof(buf));
		if (e) {
			int zero = 0;
			atomic_compare_exchange_strong(&threads_err, &zero, e);
		}
	}
	return NULL;
}

static int threads(const char *path, long t, long n)
{
	pthread_t th[64];
	if (t < 1 || t > 64)
		return 64;
	(void)make_addr(&threads_addr, path);
	threads_n = n;
	for (long i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, threads_main, NULL) != 0)
			return 99;
	for (long i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	return probe_exit(atomic_load(&threads_err), extra);
}

static int badaddr(const char *path)
{
	static char big[4096];
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un *a = (struct sockaddr_un *)big;

	(void)make_addr(a, path);
	if (connect(s, (struct sockaddr *)big, sizeof(big)) == 0 || errno != EINVAL) {
		fprintf(stderr, "addrlen 4096: %s\n", strerror(errno));
		return 99;
	}
	if (connect(s, (struct sockaddr *)(uintptr_t)8, sizeof(*a)) == 0 || errno != EFAULT) {
		fprintf(stderr, "unmapped address: %s\n", strerror(errno));
		return 99;
	}
	return probe_exit(0, extra);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int signals(const char *path, long n)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct itimerval it = {{0, 50}, {0, 50}};
	struct sockaddr_un a;
	socklen_t len = make_addr(&a, path);
	long ok = 0, intr = 0, repeated = 0, other = 0;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < n; i++) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s < 0) {
			i--;
			continue;
		}
		if (connect(s, (struct sockaddr *)&a, len) == 0 || errno == EAGAIN)
			ok++;
		else if (errno == EINTR)
			intr++;
		else if (errno == EALREADY || errno == EISCONN)
			repeated++;
		else
			other++;
		close(s);
	}
	printf("ok=%ld eintr=%ld repeated=%ld other=%ld\n", ok, intr, repeated, other);
	return repeated ? 3 : other ? 99 : 0;
}

static struct sockaddr_un race_addr;
static const char *race_paths[2];
static atomic_bool race_stop;

static void *flipper(void *arg)
{
	(void)arg;
	size_t l0 = strlen(race_paths[0]), l1 = strlen(race_paths[1]);
	while (!atomic_load(&race_stop)) {
		for (int i = 0; i < 2; i++) {
			const char *p = race_paths[i];
			size_t l = i ? l1 : l0;
			/* Byte by byte through a volatile pointer: the compiler may not elide it.
			 */
			volatile char *d = race_addr.sun_path;
			for (size_t k = 0; k <= l; k++)
				d[k] = p[k];
		}
	}
	return NULL;
}

static int race(const char *good, const char *bad, long n)
{
	pthread_t t;
	long g = 0, b = 0, refused = 0;
	char buf[64];

	race_paths[0] = good;
	race_paths[1] = bad;
	(void)make_addr(&race_addr, strlen(good) > strlen(bad) ? good : bad);
	if (pthread_create(&t, NULL, flipper, NULL) != 0)
		return 99;
	for (long i = 0; i < n; i++) {
		int e = connect_read(&race_addr, sizeof(race_addr), false, buf, sizeof(buf));
		if (e)
			refused++;
		else if (strcmp(buf, "bad") == 0)
			b++;
		else
			g++;
	}
	atomic_store(&race_stop, true);
	pthread_join(t, NULL);
	printf("good=%ld bad=%ld refused=%ld\n", g, b, refused);
	return b ? 3 : 0;
}

static int serve_full(const char *path)
{
	struct sockaddr_un a;
	socklen_t len = make_addr(&a, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || chmod(path, 0777) < 0 ||
	    listen(s, 0) < 0)
		return probe_exit(errno, extra);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

struct stuck_arg {
	struct sockaddr_un a;
	socklen_t len;
	_Atomic pid_t tid;
};

static void *stuck_main(void *arg)
{
	struct stuck_arg *sa = arg;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	atomic_store(&sa->tid, gettid());
	if (s >= 0)
		(void)connect(s, (struct sockaddr *)&sa->a, sa->len); /* blocks: backlog full */
	return NULL;
}

/* True when thread tid is inside connect(2) (x86-64 42, arm64 203). */
static int in_connect(pid_t tid)
{
	char p[64], buf[64] = "";
	snprintf(p, sizeof(p), "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	long nr = strtol(buf, NULL, 10);
	return (nr == 42 || nr == 203) && strchr(buf, ' ');
}

static int stuck(const char *full, const char *ok, long n)
{
	static struct stuck_arg args[16];
	pthread_t t;
	char buf[512];
	if (n < 1 || n > 16)
		return 64;
	struct sockaddr_un a;
	socklen_t len = make_addr(&a, full);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, len) < 0)
		return probe_exit(errno, extra);
	for (long i = 0; i < n; i++) {
		args[i].a = a;
		args[i].len = len;
		if (pthread_create(&t, NULL, stuck_main, &args[i]) != 0)
			return 99;
	}
	for (long i = 0; i < n; i++)
		while (!atomic_load(&args[i].tid) || !in_connect(atomic_load(&args[i].tid)))
			usleep(1000);
	len = make_addr(&a, ok);
	int e = connect_read(&a, len, false, buf, sizeof(buf));
	if (!e)
		printf("%s\n", buf);
	fflush(stdout);
	/* The blocked threads never return: leave without joining them. */
	_exit(probe_exit(e, extra));
}

int main(int argc, char **argv)
{
	struct sockaddr_un a;
	char buf[512];
	int e, s;

	if (argc < 3)
		goto usage;
	const char *cmd = argv[1], *path = argv[2];
	if (strcmp(cmd, "serve") == 0 && argc == 4)
		return serve(path, argv[3]);
	if (strcmp(cmd, "dgram-serve") == 0 && argc == 3)
		return dgram_serve(path);
	if (strcmp(cmd, "threads") == 0 && argc == 5)
		return threads(path, strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	if (strcmp(cmd, "badaddr") == 0 && argc == 3)
		return badaddr(path);
	if (strcmp(cmd, "signals") == 0 && argc == 4)
		return signals(path, strtol(argv[3], NULL, 10));
	if (strcmp(cmd, "serve-full") == 0 && argc == 3)
		return serve_full(path);
	if (strcmp(cmd, "stuck") == 0 && argc == 5)
		return stuck(path, argv[3], strtol(argv[4], NULL, 10));
	if (strcmp(cmd, "race") == 0 && argc == 5)
		return race(path, argv[3], strtol(argv[4], NULL, 10));
	socklen_t len = make_addr(&a, path);
	if ((strcmp(cmd, "connect") == 0 || strcmp(cmd, "connect-nb") == 0) && argc == 3) {
		e = connect_read(&a, len, cmd[7] == '-', buf, sizeof(buf));
		if (!e)
			printf("%s\n", buf);
		return probe_exit(e, extra);
	}
	if (strcmp(cmd, "bind") == 0 && argc == 3) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0)
			return probe_exit(errno, extra);
		return probe_exit(0, extra);
	}
	if (strcmp(cmd, "sendto") == 0 && argc == 4) {
		s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0 || sendto(s, argv[3], strlen(argv[3]), 0, (struct sockaddr *)&a, len) < 0)
			return probe_exit(errno, extra);
		return probe_exit(0, extra);
	}
usage:
	fprintf(stderr,
		"usage: probe-unix "
		"serve|serve-full|dgram-serve|connect|connect-nb|bind|sendto|threads|badaddr|"
		"signals|race|stuck "
		"PATH [ARG...]\n");
	return 64;
}
