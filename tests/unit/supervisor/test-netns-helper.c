/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netns helper: it refuses a target that shares our network namespace (forwarding
 * there would loop back to the host), and the sockets it makes for a target with its
 * own namespace live there: a port bound on our loopback is free on theirs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/netns-helper.h"

/* A child that (optionally) unshares its network namespace, says so, then sleeps. */
static pid_t target(bool own_netns, bool *ret_userns)
{
	int p[2];
	char ok = 0;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char r = 'S';
		if (own_netns) {
			r = 'R';
			if (geteuid() != 0) {
				r = 'U';
				if (unshare(CLONE_NEWUSER) < 0)
					_exit(1);
			}
			if (unshare(CLONE_NEWNET) < 0)
				_exit(1);
		}
		(void)!write(p[1], &r, 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ok, 1), 1);
	close(p[0]);
	*ret_userns = ok == 'U';
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_same_namespace_is_refused(void **state)
{
	(void)state;
	bool userns;
	struct netns_helper *h = NULL;
	pid_t pid = target(false, &userns);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	/* As root setns succeeds into our own namespace, and the check must catch it. */
	int r = netns_helper_start(pidfd, false, &h);
	assert_true(r == -ELOOP || r == -EPERM || r == -EINVAL);
	assert_null(h);
	close(pidfd);
	stop(pid);
}

static void test_sockets_live_in_the_target_namespace(void **state)
{
	(void)state;
	bool userns;
	struct netns_helper *h = NULL;
	pid_t pid = target(true, &userns);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	assert_int_equal(netns_helper_start(pidfd, userns, &h), 0);
	close(pidfd);

	/* Hold a port on our loopback... */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int ours = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(ours, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ours, 1), 0);
	assert_int_equal(getsockname(ours, (struct sockaddr *)&a, &len), 0);

	/* ... a socket from the helper binds the same one: another namespace. Its loopback
	 * is down (nobody brought it up), which bind to 127.0.0.1 does not mind. */
	int theirs = netns_helper_socket(h, AF_INET);
	assert_true(theirs >= 0);
	assert_true(fcntl(theirs, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(theirs, F_GETFD) & FD_CLOEXEC);
	int r = bind(theirs, (struct sockaddr *)&a, sizeof(a));
	if (r < 0)
		assert_int_not_equal(errno, EADDRINUSE);
	close(theirs);
	/* The same check through IPv6 family, and a bad family. */
	theirs = netns_helper_socket(h, AF_INET6);
	assert_true(theirs >= 0 || theirs == -EAFNOSUPPORT);
	if (theirs >= 0)
		close(theirs);
	assert_int_equal(netns_helper_socket(h, AF_UNIX), -EAFNOSUPPORT);

	assert_null(netns_helper_free(h));
	assert_null(netns_helper_free(NULL));
	close(ours);
	stop(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_namespace_is_refused),
	    cmocka_unit_test(test_sockets_live_in_the_target_namespace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
