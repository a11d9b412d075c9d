/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small programs for the learn tracer tests to trace. Modes:
 *   threads DIR N     N threads each create DIR/t<i>; a fork()ed child creates DIR/child;
 *                     a posix_spawn()ed (vfork) /bin/true; waits for all.
 *   connect PORT      TCP connect to 127.0.0.1:PORT
 *   listen            TCP bind 127.0.0.1:0 and listen
 *   dns ADDR PORT     UDP query for "svc.learn.test" to ADDR:53, recvfrom() the answer,
 *                     then TCP connect to 127.0.0.1:PORT
 *   unix PATH         connect to the AF_UNIX socket PATH
 * Exit 0 on success, 1 on failure.
 * Not a LeakSanitizer target: it is always run traced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *dir;

static int create_file(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void *thread_main(void *arg)
{
	char name[32];
	snprintf(name, sizeof(name), "t%ld", (long)(intptr_t)arg);
	return (void *)(intptr_t)create_file(name);
}

static int mode_threads(int n)
{
	pthread_t th[64];
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i) != 0)
			return 1;
	pid_t c = fork();
	if (c == 0)
		_exit(create_file("child") < 0);
	pid_t s;
	char *av[] = {(char *)"true", NULL};
	if (posix_spawn(&s, "/bin/true", NULL, NULL, av, environ) != 0)
		return 1;
	int bad = 0, st;
	for (int i = 0; i < n; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		bad |= rv != NULL;
	}
	if (waitpid(c, &st, 0) < 0 || st != 0 || waitpid(s, &st, 0) < 0 || st != 0)
		bad = 1;
	return bad;
}

static int tcp_connect(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r = connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	return r < 0;
}

static int mode_listen(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof(a);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) < 0)
		return 1;
	close(s);
	return 0;
}

static int mode_dns(const char *addr, int port)
{
	static const uint8_t query[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, /* header: RD, 1 question */
		3, 's', 'v', 'c', 5, 'l', 'e', 'a', 'r', 'n', 4, 't', 'e', 's', 't', 0,
		0, 1, 0, 1, /* A IN */
	};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in ns = {.sin_family = AF_INET, .sin_port = htons(53)};
	if (inet_pton(AF_INET, addr, &ns.sin_addr) != 1)
		return 1;
	if (sendto(s, query, sizeof(query), 0, (struct sockaddr *)&ns, sizeof(ns)) < 0)
		return 1;
	uint8_t buf[512];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	if (recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) < 12)
		return 1;
	close(s);
	return tcp_connect(port);
}

static int mode_unix(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int r = connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	return r < 0;
}

static int run(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "threads") == 0) {
		dir = argv[2];
		return mode_threads((int)strtol(argv[3], NULL, 10));
	}
	if (argc >= 3 && strcmp(argv[1], "connect") == 0)
		return tcp_connect((int)strtol(argv[2], NULL, 10));
	if (argc >= 2 && strcmp(argv[1], "listen") == 0)
		return mode_listen();
	if (argc >= 4 && strcmp(argv[1], "dns") == 0)
		return mode_dns(argv[2], (int)strtol(argv[3], NULL, 10));
	if (argc >= 3 && strcmp(argv[1], "unix") == 0)
		return mode_unix(argv[2]);
	fprintf(stderr, "learn-helper: bad usage\n");
	return 1;
}

/* _exit: skips LeakSanitizer's exit-time check, which cannot run under ptrace. */
int main(int argc, char **argv)
{
	fflush(stdout);
	_exit(run(argc, argv));
}
