/* SPDX-License-Identifier: Apache-2.0 */
/* PTY supervision: see pty.h. */
#include "supervisor/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/macro.h"
#include "supervisor/session-control.h"
#include "base/refusal-scan.h"

int pty_open(struct pty *p)
{
	struct winsize ws;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0) {
		int r = -errno;
		(void)close(m);
		return r;
	}
	/* The peer through the master, not by a path in /dev/pts someone could swap. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int r = -errno;
		(void)close(m);
		return r;
	}
	if (tcgetattr(p->in, &p->saved) == 0)
		(void)tcsetattr(s, TCSANOW, &p->saved);
	if (p->in < 0 || ioctl(p->in, TIOCGWINSZ, &ws) < 0)
		ws = (struct winsize){.ws_row = 24, .ws_col = 80};
	(void)ioctl(s, TIOCSWINSZ, &ws);
	int fl = fcntl(m, F_GETFL);
	if (fl < 0 || fcntl(m, F_SETFL, fl | O_NONBLOCK) < 0) {
		int r = -errno;
		(void)close(m);
		(void)close(s);
		return r;
	}
	p->master = m;
	p->slave = s;
	return 0;
}

int pty_child_setup(const struct pty *p)
{
	if (setsid() < 0 || ioctl(p->slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(p->slave, fd) < 0)
			return -errno;
	if (p->slave > 2)
		(void)close(p->slave);
	(void)close(p->master);
	return 0;
}

/* --startup-timeout: from the fork on, the child has that long to enter the alternate
 * screen. Armed only where output is relayed (and so scanned): a PTY. */
static int pty_arm_startup_timer(struct pty *p)
{
	struct itimerspec its = {.it_value = {.tv_sec = p->startup_timeout_s}};
	if (p->startup_timeout_s <= 0 || p->timer_fd >= 0)
		return 0;
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->timer_fd < 0)
		return -errno;
	if (timerfd_settime(p->timer_fd, 0, &its, NULL) < 0) {
		int r = -errno;
		p->timer_fd = safe_close(p->timer_fd);
		return r;
	}
	return 0;
}

int pty_parent_start(struct pty *p)
{
	struct termios raw;
	p->slave = safe_close(p->slave);
	/* Out of fds or memory the limit is not kept: a convenience, not a boundary. */
	(void)pty_arm_startup_timer(p);
	if (p->in < 0)
		return 0; /* detached: no terminal of the user's */
	if (tcgetattr(p->in, &p->saved) < 0)
		return -errno;
	raw = p->saved;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(p->in, TCSAFLUSH, &raw) < 0)
		return -errno;
	p->raw = true;
	return 0;
}

void pty_resize(const struct pty *p)
{
	struct winsize ws;
	if (p->master >= 0 && p->in >= 0 && ioctl(p->in, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(p->master, TIOCSWINSZ, &ws);
}

int pty_pollfds(const struct pty *p, struct pollfd *fds)
{
	int n = 0;
	if (p->master < 0)
		return 0;
	/* Input waits while the child has not taken the last chunk: POLLOUT on the master. */
	fds[n++] = (struct pollfd){p->master, (short)(POLLIN | (p->len > p->off ? POLLOUT : 0)), 0};
	if (p->timer_fd >= 0)
		fds[n++] = (struct pollfd){p->timer_fd, POLLIN, 0};
	if (p->ctl)
		return n + session_ctl_pollfds(p->ctl, fds + n);
	if (!p->in_eof && p->len == p->off)
		fds[n++] = (struct pollfd){p->in, POLLIN, 0};
	return n;
}

static void write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {fd, POLLOUT, 0};
			(void)poll(&pf, 1, 1000);
			continue;
		}
		if (w <= 0)
			return; /* the user's terminal is gone: output has nowhere to go */
		b += w;
		n -= (size_t)w;
	}
}

/* Master -> the user's terminal. Returns bytes moved, 0 at EOF/EIO, -1 on EAGAIN. */
static ssize_t relay_out(struct pty *p)
{
	char b[65536];
	ssize_t n = read(p->master, b, sizeof(b));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -1 : 0;
	/* Waiting for a TUI: once it enters the alternate screen the timer goes. */
	if (p->timer_fd >= 0 && altscreen_feed(&p->alt, b, (size_t)n))
		p->timer_fd = safe_close(p->timer_fd);
	if (p->ctl)
		session_ctl_output(p->ctl, (const uint8_t *)b, (size_t)n);
	else
		write_all(p->out, b, (size_t)n);
	if (p->scan)
		refusal_scan_feed(p->scan, b, (size_t)n);
	return n;
}

static void flush_in(struct pty *p)
{
	while (p->off < p->len) {
		ssize_t w = write(p->master, p->buf + p->off, p->len - p->off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			p->off = p->len; /* the child's side is gone: drop the input */
			break;
		}
		p->off += (size_t)w;
	}
	p->off = p->len = 0;
}

void pty_relay(struct pty *p, const struct pollfd *fds, int n)
{
	if (p->ctl && n > 1)
		session_ctl_handle(p->ctl, fds + 1, n - 1);
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == p->master) {
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				(void)relay_out(p);
			if (fds[i].revents & POLLOUT)
				flush_in(p);
		} else if (fds[i].fd == p->timer_fd) {
			/* Ran out: the supervisor ends the child (supervisor.c). */
			p->startup_expired = true;
			p->timer_fd = safe_close(p->timer_fd);
		} else if (!p->ctl && fds[i].fd == p->in) {
			ssize_t r = read(p->in, p->buf, sizeof(p->buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				p->in_eof = true; /* the user's terminal hung up */
				continue;
			}
			p->len = (size_t)r;
			p->off = 0;
			flush_in(p);
		}
	}
}

void pty_drain(struct pty *p)
{
	if (p->master < 0)
		return;
	for (;;) {
		struct pollfd pf = {p->master, POLLIN, 0};
		int r = poll(&pf, 1, p->drain_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return; /* a quiet period: done */
		if (relay_out(p) == 0)
			return; /* EIO: no writer is left */
	}
}

void pty_restore(struct pty *p)
{
	if (!p->raw)
		return;
	(void)tcsetattr(p->in, TCSAFLUSH, &p->saved);
	p->raw = false;
}

void pty_close(struct pty *p)
{
	pty_restore(p);
	p->master = safe_close(p->master);
	p->slave = safe_close(p->slave);
	p->timer_fd = safe_close(p->timer_fd);
}
