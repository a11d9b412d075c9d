/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/session-portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "proxy/portfwd.h"
#include "supervisor/netns-helper.h"

/* How long the child and the forwarder have for their part of the start. */
#define HANDOFF_MS 10000

static bool listed(const uint16_t *ports, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

bool run_portfwd_uses_port(const struct sandbox_spec *s, uint16_t port)
{
	return listed(s->open_ports, s->n_open_ports, port) ||
	       listed(s->listen_ports, s->n_listen_ports, port);
}

/* Listen on the host's 127.0.0.1:port. Returns the fd or -errno. */
static int host_listener(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* TIME_WAIT leftovers of an earlier run must not keep the port. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int run_portfwd_prepare(struct run_portfwd *pf, const struct sandbox_spec *s, bool netns,
			struct diag *d)
{
	*pf = (struct run_portfwd)RUN_PORTFWD_INIT;
	if (!netns || (s->n_open_ports == 0 && s->n_listen_ports == 0))
		return 0;
	if (s->n_open_ports + s->n_listen_ports > SANDBOX_MAX_FWD_PORTS) {
		diag_set(d, "--open-port", 0, 0,
			 "too many forwarded ports (%zu --open-port and %zu --listen-port): at "
			 "most %d together",
			 s->n_open_ports, s->n_listen_ports, SANDBOX_MAX_FWD_PORTS);
		return -E2BIG;
	}
	pf->active = true;

	/* --listen-port: always host -> child; the host port must be ours. */
	for (size_t i = 0; i < s->n_listen_ports; i++) {
		uint16_t p = s->listen_ports[i];
		if (listed(pf->host_port, pf->n_host, p))
			continue;
		int fd = host_listener(p);
		if (fd < 0) {
			diag_set(d, "--listen-port", 0, 0,
				 "cannot listen on the host's 127.0.0.1:%u for '--listen-port %u': "
				 "%s%s",
				 p, p, strerror(-fd),
				 fd == -EADDRINUSE ? " (another program holds the port)" : "");
			return fd;
		}
		pf->host_fd[pf->n_host] = fd;
		pf->host_port[pf->n_host++] = p;
	}
	/*
	 * --open-port: whoever holds the port on the host keeps it. Taken (a server on the
	 * host, or a sandbox that serves it) -> the child connects out through a listener
	 * inside. Free -> we hold it and forward in, so the child may serve it.
	 */
	for (size_t i = 0; i < s->n_open_ports; i++) {
		uint16_t p = s->open_ports[i];
		if (listed(pf->host_port, pf->n_host, p) ||
		    listed(pf->inside_port, pf->n_inside, p))
			continue;
		int fd = host_listener(p);
		if (fd == -EADDRINUSE || fd == -EACCES) {
			/* EACCES: a privileged port we may not bind; a host service may own it. */
			pf->inside_port[pf->n_inside++] = p;
			log_info("--open-port %u: %s on the host; the sandbox reaches the host's "
				 "127.0.0.1:%u through a listener on its own 127.0.0.1:%u",
				 p, fd == -EADDRINUSE ? "the port is taken" : "we may not bind it",
				 p, p);
			continue;
		}
		if (fd < 0) {
			diag_set(
			    d, "--open-port", 0, 0,
			    "cannot listen on the host's 127.0.0.1:%u for '--open-port %u': %s", p,
			    p, strerror(-fd));
			return fd;
		}
		pf->host_fd[pf->n_host] = fd;
		pf->host_port[pf->n_host++] = p;
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pf->sock[0] = sv[0];
	pf->sock[1] = sv[1];
	for (size_t i = 0; i < pf->n_host; i++)
		log_info("--%s-port %u: host 127.0.0.1:%u is forwarded into the sandbox",
			 listed(s->listen_ports, s->n_listen_ports, pf->host_port[i]) ? "listen"
										      : "open",
			 pf->host_port[i], pf->host_port[i]);
	return 0;
}

int run_portfwd_plan(struct run_portfwd *pf, struct sandbox_plan *plan)
{
	if (!pf->active)
		return 0;
	return sandbox_plan_set_netns_forward(plan, pf->sock[1], pf->inside_port, pf->n_inside);
}

/* The child's 'F' message: up to 2 listeners per inside port. Fills fds, returns count. */
static int receive_listeners(struct run_portfwd *pf, int *fds, size_t max)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 2 * SANDBOX_MAX_FWD_PORTS)];
	} u;
	char byte = 0;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {pf->sock[0], POLLIN, 0};
	int n = 0;

	pf->sock[1] = safe_close(pf->sock[1]);
	int r = poll(&p, 1, HANDOFF_MS);
	if (r <= 0)
		return r < 0 ? -errno : -ETIMEDOUT;
	ssize_t got = recvmsg(pf->sock[0], &mh, MSG_CMSG_CLOEXEC);
	if (got <= 0)
		return -EPIPE; /* the child failed first and reports why on its own pipe */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if ((size_t)n < max)
				fds[n++] = fd;
			else
				safe_close(fd);
		}
	}
	if (byte != 'F' || (mh.msg_flags & MSG_CTRUNC)) {
		for (int i = 0; i < n; i++)
			safe_close(fds[i]);
		return -EBADMSG;
	}
	return n;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static void forward_log(void *ud, const char *line)
{
	(void)ud;
	log_debug("port forward: %s", line);
}

/* The forwarder process. Reports 0 or an errno on ready_fd once it serves. */
_noreturn_ static void forwarder_main(struct run_portfwd *pf, int pidfd, bool join_userns,
				      const int *inside, int n_inside, int ready_fd)
{
	struct netns_helper *h = NULL;
	_cleanup_portfwd_ struct portfwd *fwd = NULL;
	struct portfwd_config cfg = {.log = forward_log};
	sigset_t term;
	int r;

	/* SIGTERM (run_portfwd_release) stops the loop so the helper is reaped here. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	(void)sigprocmask(SIG_SETMASK, &term, NULL);
	/* Ctrl-C and Ctrl-\ are for the agent; we stop when it does */
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGQUIT, SIG_IGN);
	_cleanup_close_ int stop = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);

	/*
	 * 6 fds per relay (two sockets, two pipes): make room for the connection cap, and
	 * lower the cap where the hard limit is tight, so accept() never meets EMFILE
	 * (a pending connection it cannot take would wake the loop forever).
	 */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		if (nofile.rlim_cur < 4096) {
			nofile.rlim_cur = nofile.rlim_max < 4096 ? nofile.rlim_max : 4096;
			(void)setrlimit(RLIMIT_NOFILE, &nofile);
			(void)getrlimit(RLIMIT_NOFILE, &nofile);
		}
		rlim_t room = nofile.rlim_cur > 128 ? (nofile.rlim_cur - 128) / 6 : 1;
		cfg.max_conns = room < 256 ? (unsigned)room : 256;
	}
	r = netns_helper_start(pidfd, join_userns, &h);
	safe_close(pidfd);
	if (r >= 0)
		r = portfwd_new(&cfg, &fwd);
	for (size_t i = 0; r >= 0 && i < pf->n_host; i++) {
		r = portfwd_add(fwd, pf->host_fd[i], pf->host_port[i], netns_helper_socket, h);
		pf->host_fd[i] = -EBADF;
	}
	for (int i = 0; r >= 0 && i < n_inside; i++) {
		uint16_t port = local_port(inside[i]);
		r = portfwd_add(fwd, inside[i], port, NULL, NULL);
	}
	int err = r < 0 ? -r : 0;
	(void)!write(ready_fd, &err, sizeof(err));
	safe_close(ready_fd);
	if (r < 0) {
		netns_helper_free(h);
		_exit(1);
	}
	r = portfwd_run(fwd, stop);
	netns_helper_free(h);
	_exit(r < 0 ? 1 : 0);
}

int run_portfwd_start(struct run_portfwd *pf, pid_t child, bool join_userns, struct diag *d)
{
	int fds[2 * SANDBOX_MAX_FWD_PORTS];
	int n, r, pipefd[2];

	if (!pf->active)
		return 0;
	n = receive_listeners(pf, fds, ARRAY_SIZE(fds));
	if (n == -EPIPE)
		return n;
	if (n < 0) {
		diag_set(d, NULL, 0, 0,
			 "the sandboxed child did not hand over the forwarded ports: %s",
			 strerror(-n));
		return n;
	}
	pf->sock[0] = safe_close(pf->sock[0]);
	/* Our own child, not yet reaped: its pid cannot have been reused. */
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		for (int i = 0; i < n; i++)
			safe_close(fds[i]);
		diag_set(d, NULL, 0, 0, "cannot start the port forwarder: %s", strerror(-r));
		return r;
	}
	(void)fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		safe_close(pipefd[0]);
		forwarder_main(pf, TAKE_FD(pidfd), join_userns, fds, n, pipefd[1]);
	}
	r = pid < 0 ? -errno : 0;
	safe_close(pipefd[1]);
	for (int i = 0; i < n; i++)
		safe_close(fds[i]);
	for (size_t i = 0; i < pf->n_host; i++)
		pf->host_fd[i] = safe_close(pf->host_fd[i]);
	pf->n_host = 0;
	if (r < 0) {
		safe_close(pipefd[0]);
		diag_set(d, NULL, 0, 0, "cannot start the port forwarder: %s", strerror(-r));
		return r;
	}
	pf->pid = pid;

	int err = ETIMEDOUT;
	struct pollfd p = {pipefd[0], POLLIN, 0};
	if (poll(&p, 1, HANDOFF_MS) > 0 && read(pipefd[0], &err, sizeof(err)) != sizeof(err))
		err = EPIPE;
	safe_close(pipefd[0]);
	if (err == ESRCH)
		return -EPIPE; /* the child is gone already (or failed): nothing to forward to */
	if (err) {
		diag_set(
		    d, NULL, 0, 0, "cannot forward ports into the sandbox's network namespace: %s",
		    err == ELOOP ? "the child has no network namespace of its own" : strerror(err));
		return -err;
	}
	return 0;
}

void run_portfwd_release(struct run_portfwd *pf)
{
	if (pf->pid > 0) {
		/* SIGTERM first: the forwarder reaps its helper, so nothing is left behind. */
		_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pf->pid, 0);
		struct pollfd p = {pidfd, POLLIN, 0};
		(void)kill(pf->pid, SIGTERM);
		if (pidfd < 0 || poll(&p, 1, 2000) <= 0)
			(void)kill(pf->pid, SIGKILL);
		while (waitpid(pf->pid, NULL, 0) < 0 && errno == EINTR)
			;
		pf->pid = -1;
	}
	for (size_t i = 0; i < pf->n_host; i++)
		pf->host_fd[i] = safe_close(pf->host_fd[i]);
	pf->n_host = 0;
	pf->sock[0] = safe_close(pf->sock[0]);
	pf->sock[1] = safe_close(pf->sock[1]);
}
