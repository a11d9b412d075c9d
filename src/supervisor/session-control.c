/* SPDX-License-Identifier: Apache-2.0 */
/* The control socket, replay ring and output log of a detached session: see session-control.h. */
#include "supervisor/session-control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/macro.h"

static inline size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* How long a slow peer may hold the supervisor up (per packet) before it is dropped. */
#define CTL_STALL_MS 1000

int ctl_msg_parse(const uint8_t *buf, size_t n, bool from_client, struct ctl_msg *ret)
{
	struct ctl_msg m = {0};
	if (n < 1)
		return -EBADMSG;
	m.type = (enum ctl_type)buf[0];
	m.data = buf + 1;
	m.len = n - 1;
	switch (m.type) {
	case CTL_HELLO:
	case CTL_WINSIZE:
		if (!from_client || m.len != 4)
			return -EBADMSG;
		m.rows = (uint16_t)(m.data[0] | (m.data[1] << 8));
		m.cols = (uint16_t)(m.data[2] | (m.data[3] << 8));
		break;
	case CTL_INPUT:
		if (!from_client || m.len < 1 || m.len > CTL_MAX_INPUT)
			return -EBADMSG;
		break;
	case CTL_DETACH:
		if (!from_client || m.len != 0)
			return -EBADMSG;
		break;
	case CTL_READY:
	case CTL_REFUSED:
		if (from_client || m.len > 1024)
			return -EBADMSG;
		break;
	case CTL_OUTPUT:
		if (from_client || m.len < 1 || m.len > CTL_MAX_OUTPUT)
			return -EBADMSG;
		break;
	case CTL_EXIT:
		if (from_client || m.len != 4)
			return -EBADMSG;
		m.code = (int32_t)((uint32_t)m.data[0] | ((uint32_t)m.data[1] << 8) |
				   ((uint32_t)m.data[2] << 16) | ((uint32_t)m.data[3] << 24));
		break;
	default:
		return -EBADMSG;
	}
	*ret = m;
	return 0;
}

void ctl_put_winsize(uint8_t out[4], uint16_t rows, uint16_t cols)
{
	out[0] = (uint8_t)rows;
	out[1] = (uint8_t)(rows >> 8);
	out[2] = (uint8_t)cols;
	out[3] = (uint8_t)(cols >> 8);
}

void ctl_put_code(uint8_t out[4], int32_t code)
{
	uint32_t v = (uint32_t)code;
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {fd, ev, 0};
	for (;;) {
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		return r == 0 ? -ETIMEDOUT : 0;
	}
}

int ctl_send(int fd, enum ctl_type type, const void *payload, size_t len)
{
	uint8_t t = (uint8_t)type;
	struct iovec iov[2] = {{&t, 1}, {(void *)payload, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	for (;;) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int r = wait_fd(fd, POLLOUT, CTL_STALL_MS);
		if (r < 0)
			return r;
	}
}

static int seq_key(const char *tok, size_t len, uint8_t *ret)
{
	if (len == 1 && tok[0] > ' ' && tok[0] < 0x7f) {
		*ret = (uint8_t)tok[0];
		return 0;
	}
	if (len == 6 && strncasecmp(tok, "ctrl-", 5) == 0) {
		char c = tok[5];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == '?')
			*ret = 0x7f;
		else if (c >= '@' && c <= '_')
			*ret = (uint8_t)(c & 0x1f);
		else
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

int detach_seq_parse(const char *s, uint8_t out[DETACH_SEQ_MAX], size_t *ret_len)
{
	uint8_t b[DETACH_SEQ_MAX];
	size_t n = 0;
	const char *p = s;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, " ");
		if (n == DETACH_SEQ_MAX || seq_key(p, l, &b[n]) < 0)
			return -EINVAL;
		n++;
		p += l;
	}
	if (n == 0)
		return -EINVAL;
	memcpy(out, b, n);
	*ret_len = n;
	return 0;
}

/* ---- the supervisor's side ---- */

static int open_log(int dir_fd)
{
	return openat(dir_fd, CTL_LOG,
		      O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int session_ctl_open(struct session_ctl *c, int dir_fd, int master, pid_t child, const char *id,
		     const char *name, struct audit_log *audit)
{
	char path[64];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	*c = (struct session_ctl){.dir_fd = dir_fd,
				  .listen_fd = -1,
				  .client_fd = -1,
				  .master = master,
				  .supervisor = getpid(),
				  .child = child,
				  .owner = getuid(),
				  .id = id,
				  .name = name,
				  .audit = audit,
				  .log_fd = -1};
	c->ring = malloc(CTL_RING);
	if (!c->ring)
		return -ENOMEM;
	c->log_fd = open_log(dir_fd);
	if (c->log_fd < 0)
		return -errno;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Through the directory's fd: no path length limit, no symlink swapped in above. */
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d/" CTL_SOCKET, dir_fd);
	memcpy(a.sun_path, path, strlen(path) + 1);
	(void)unlinkat(dir_fd, CTL_SOCKET, 0);
	/* 0600 from birth (no chmod by name after the fact, which follows symlinks). */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	(void)umask(old);
	if (r >= 0 && listen(fd, 4) < 0)
		r = -errno;
	if (r < 0) {
		(void)close(fd);
		return r;
	}
	c->listen_fd = fd;
	return 0;
}

int session_ctl_pollfds(const struct session_ctl *c, struct pollfd *fds)
{
	int n = 0;
	if (c->listen_fd >= 0)
		fds[n++] = (struct pollfd){c->listen_fd, POLLIN, 0};
	if (c->client_fd >= 0)
		fds[n++] = (struct pollfd){c->client_fd, POLLIN, 0};
	return n;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	int ppid;
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/*
 * The sandboxed command and everything it starts descend from this process: orphans
 * are adopted by us (subreaper) or by the PID namespace's init, our child. A peer
 * whose ancestry reaches us, or cannot be traced, is refused.
 */
static bool peer_is_ours(pid_t pid, pid_t supervisor)
{
	for (int i = 0; i < 4096 && pid > 1; i++) {
		if (pid == supervisor)
			return true;
		pid = parent_of(pid);
		if (pid < 0)
			return true;
	}
	return pid == supervisor;
}

static void refuse(int fd, const char *why)
{
	(void)ctl_send(fd, CTL_REFUSED, why, strlen(why));
	(void)close(fd);
}

static void audit_event(struct session_ctl *c, const char *what, pid_t pid)
{
	if (c->audit)
		(void)audit_append_session(c->audit, what, (int)pid, (int)c->owner);
}

static void drop_client(struct session_ctl *c)
{
	if (c->client_fd < 0)
		return;
	c->client_fd = safe_close(c->client_fd);
	audit_event(c, "detach", 0);
}

static void send_ring(struct session_ctl *c)
{
	size_t start = (c->ring_head + CTL_RING - c->ring_len) % CTL_RING, left = c->ring_len;
	while (left > 0 && c->client_fd >= 0) {
		size_t k = min_sz(left, CTL_RING - start);
		k = min_sz(k, (size_t)CTL_MAX_OUTPUT);
		if (ctl_send(c->client_fd, CTL_OUTPUT, c->ring + start, k) < 0) {
			drop_client(c);
			return;
		}
		start = (start + k) % CTL_RING;
		left -= k;
	}
}

static void accept_client(struct session_ctl *c)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	char why[160];
	uint8_t b[8];
	struct ctl_msg m;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/*
	 * The hello first (a client that stalls is dropped): closing a socket with its
	 * packet unread would reset the connection before the client reads why.
	 */
	ssize_t n = -1;
	if (wait_fd(fd, POLLIN, CTL_STALL_MS) == 0)
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC);
	if (n <= 0 || (size_t)n > sizeof(b) || ctl_msg_parse(b, (size_t)n, true, &m) < 0 ||
	    m.type != CTL_HELLO) {
		refuse(fd, "protocol error: expected hello");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cl != sizeof(cr)) {
		refuse(fd, "cannot identify the peer");
		return;
	}
	if (cr.uid != c->owner) {
		(void)snprintf(why, sizeof(why),
			       "permission denied: the session belongs to uid %u, not to uid %u",
			       (unsigned)c->owner, (unsigned)cr.uid);
		refuse(fd, why);
		return;
	}
	if (cr.pid <= 0 || peer_is_ours(cr.pid, c->supervisor)) {
		refuse(fd, "permission denied: the peer runs inside the session");
		return;
	}
	if (c->client_fd >= 0) {
		refuse(fd, "another client is attached to this session");
		return;
	}
	char ready[256];
	int rl = snprintf(ready, sizeof(ready), "%s %s", c->id, c->name);
	if (ctl_send(fd, CTL_READY, ready, min_sz((size_t)rl, sizeof(ready) - 1)) < 0) {
		(void)close(fd);
		return;
	}
	c->client_fd = fd;
	audit_event(c, "attach", cr.pid);
	send_ring(c);
	if (m.rows > 0 && m.cols > 0) {
		struct winsize ws = {.ws_row = m.rows, .ws_col = m.cols};
		(void)ioctl(c->master, TIOCSWINSZ, &ws);
	}
}

static int write_master(struct session_ctl *c, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->master, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (wait_fd(c->master, POLLOUT, CTL_STALL_MS) < 0)
				return -EAGAIN;
			continue;
		}
		if (w <= 0)
			return -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void client_input(struct session_ctl *c)
{
	struct ctl_msg m;
	ssize_t n = recv(c->client_fd, c->in, sizeof(c->in), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (size_t)n > sizeof(c->in) || ctl_msg_parse(c->in, (size_t)n, true, &m) < 0) {
		drop_client(c); /* gone, or not speaking the protocol */
		return;
	}
	switch (m.type) {
	case CTL_INPUT:
		(void)write_master(c, m.data, m.len); /* a child that stopped reading drops it */
		break;
	case CTL_WINSIZE:
		if (m.rows > 0 && m.cols > 0) {
			struct winsize ws = {.ws_row = m.rows, .ws_col = m.cols};
			(void)ioctl(c->master, TIOCSWINSZ, &ws);
		}
		break;
	case CTL_DETACH:
	default:
		drop_client(c);
		break;
	}
}

void session_ctl_handle(struct session_ctl *c, const struct pollfd *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == c->listen_fd)
			accept_client(c);
		else if (fds[i].fd == c->client_fd)
			client_input(c);
	}
}

static void log_write(struct session_ctl *c, const uint8_t *b, size_t n)
{
	if (c->log_fd < 0)
		return;
	if (c->log_size + n > CTL_LOG_ROTATE && c->log_size > 0) {
		/* Keep the previous part: the log holds 2 * CTL_LOG_ROTATE at most. */
		c->log_fd = safe_close(c->log_fd);
		if (renameat(c->dir_fd, CTL_LOG, c->dir_fd, CTL_LOG_OLD) < 0)
			return;
		c->log_fd = open_log(c->dir_fd);
		c->log_size = 0;
		if (c->log_fd < 0)
			return;
	}
	while (n > 0) {
		ssize_t w = write(c->log_fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full disk costs the log, not the session */
		c->log_size += (size_t)w;
		b += w;
		n -= (size_t)w;
	}
}

void session_ctl_output(struct session_ctl *c, const uint8_t *b, size_t n)
{
	if (n == 0)
		return;
	if (c->client_fd >= 0) {
		for (size_t off = 0; off < n && c->client_fd >= 0;) {
			size_t k = min_sz(n - off, (size_t)CTL_MAX_OUTPUT);
			if (ctl_send(c->client_fd, CTL_OUTPUT, b + off, k) < 0)
				drop_client(c); /* gone, or stalled past CTL_STALL_MS */
			off += k;
		}
	}
	log_write(c, b, n);
	if (!c->ring)
		return;
	const uint8_t *p = b;
	size_t k = n;
	if (k > CTL_RING) {
		p += k - CTL_RING;
		k = CTL_RING;
	}
	size_t first = min_sz(k, CTL_RING - c->ring_head);
	memcpy(c->ring + c->ring_head, p, first);
	memcpy(c->ring, p + first, k - first);
	c->ring_head = (c->ring_head + k) % CTL_RING;
	c->ring_len = min_sz(c->ring_len + k, (size_t)CTL_RING);
}

void session_ctl_close(struct session_ctl *c, int code)
{
	if (c->client_fd >= 0) {
		uint8_t b[4];
		ctl_put_code(b, code);
		(void)ctl_send(c->client_fd, CTL_EXIT, b, sizeof(b));
		drop_client(c);
	}
	if (c->listen_fd >= 0) {
		(void)unlinkat(c->dir_fd, CTL_SOCKET, 0);
		c->listen_fd = safe_close(c->listen_fd);
	}
	c->log_fd = safe_close(c->log_fd);
	free(c->ring);
	c->ring = NULL;
}
