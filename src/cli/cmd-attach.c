/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono attach ID|NAME: connect this terminal to a detached session's PTY through its
 * control socket (supervisor/session-control.h). The recent output is replayed, then
 * live output follows; the keyboard goes to the command in raw mode. The detach key
 * sequence (`[ui] detach_sequence` in ~/.config/nono/config.toml, default "ctrl-] d")
 * leaves the command running; when the command exits, attach exits with its status.
 * The terminal's modes are restored on every way out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/toml.h"
#include "cli/cli.h"
#include "supervisor/session-control.h"
#include "supervisor/session-state.h"

enum {
	OPT_ATTACH_HELP = 'h',
};

/* clang-format off */
const struct cli_option attach_options[] = {
	{"help", 'h', no_argument, OPT_ATTACH_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

static struct termios saved_modes;
static bool raw_on;

static void restore_terminal(void)
{
	if (raw_on)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_modes);
	raw_on = false;
}

static int raw_terminal(void)
{
	struct termios raw;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_modes) < 0)
		return 0; /* not a terminal: bytes pass as they are */
	raw = saved_modes;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	/* TCSANOW: what was typed ahead while attach connected goes to the command. */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return -errno;
	raw_on = true;
	(void)atexit(restore_terminal);
	return 0;
}

/* [ui] detach_sequence, or the default. Errors name the file, line and value. */
static int load_detach_sequence(uint8_t seq[DETACH_SEQ_MAX], size_t *len)
{
	_cleanup_toml_ struct toml_doc *doc = NULL;
	_cleanup_free_ char *path = NULL;
	struct diag d = {{0}};
	char buf[2048];
	const char *home = getenv("HOME");
	int r = detach_seq_parse(DETACH_SEQ_DEFAULT, seq, len);
	if (r < 0 || !home || home[0] != '/')
		return r;
	if (asprintf(&path, "%s/.config/nono/config.toml", home) < 0)
		return -ENOMEM;
	r = toml_parse_file(path, &doc, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return r;
	}
	for (size_t i = 0; i < doc->n; i++) {
		const struct toml_entry *e = &doc->entries[i];
		if (!streq(e->table, "ui") || !streq(e->key, "detach_sequence"))
			continue;
		if (e->type != TOML_STRING || detach_seq_parse(e->str, seq, len) < 0) {
			log_error("%s:%d:%d: [ui] detach_sequence %s%s%s: expected keys such as "
				  "\"ctrl-] d\" (each ctrl-X or one printable character, 1 to %d, "
				  "separated by spaces)",
				  path, e->line, e->column, e->type == TOML_STRING ? "'" : "",
				  e->type == TOML_STRING ? e->str : "(not a string)",
				  e->type == TOML_STRING ? "'" : "", DETACH_SEQ_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void window_size(uint8_t out[4])
{
	struct winsize ws = {0};
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		(void)ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	ctl_put_winsize(out, ws.ws_row, ws.ws_col);
}

/* Connect and say hello, retrying while the supervisor is not listening yet. */
static int connect_session(int dir_fd, int64_t deadline, int *ret_fd)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char path[64];
	uint8_t ws[4];
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d/" CTL_SOCKET, dir_fd);
	memcpy(a.sun_path, path, strlen(path) + 1);
	for (;;) {
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			window_size(ws);
			/* A refusal may already wait to be read: the answer says why. */
			int r = ctl_send(fd, CTL_HELLO, ws, sizeof(ws));
			if (r < 0 && r != -EPIPE && r != -ECONNRESET)
				return r;
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
		int r = -errno;
		if ((r != -ENOENT && r != -ECONNREFUSED) || now_ms() >= deadline)
			return r;
		(void)poll(NULL, 0, 20);
	}
}

static void write_all(int fd, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

struct attach {
	const struct session_record *s;
	int sock;
	uint8_t seq[DETACH_SEQ_MAX];
	size_t seq_len, matched;
	uint8_t out[CTL_MAX_INPUT + DETACH_SEQ_MAX];
	size_t out_len;
};

static int flush_input(struct attach *at)
{
	for (size_t off = 0; off < at->out_len;) {
		size_t k = at->out_len - off < CTL_MAX_INPUT ? at->out_len - off : CTL_MAX_INPUT;
		int r = ctl_send(at->sock, CTL_INPUT, at->out + off, k);
		if (r < 0)
			return r;
		off += k;
	}
	at->out_len = 0;
	return 0;
}

/* Keyboard bytes: the detach sequence is held back while it may be forming. 1: detach. */
static int keyboard(struct attach *at, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i] == at->seq[at->matched]) {
			if (++at->matched == at->seq_len) {
				at->matched = 0;
				if (flush_input(at) < 0)
					return -EPIPE;
				return 1;
			}
			continue;
		}
		/* Not the sequence after all: what was held goes to the command. */
		memcpy(at->out + at->out_len, at->seq, at->matched);
		at->out_len += at->matched;
		at->matched = 0;
		if (b[i] == at->seq[0])
			at->matched = 1;
		else
			at->out[at->out_len++] = b[i];
		if (at->out_len >= CTL_MAX_INPUT && flush_input(at) < 0)
			return -EPIPE;
	}
	return flush_input(at) < 0 ? -EPIPE : 0;
}

static int relay(struct attach *at)
{
	static uint8_t pkt[CTL_MAX_OUTPUT + 2];
	sigset_t mask;
	bool in_open = true;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -errno;
	for (;;) {
		struct pollfd p[3] = {
		    {at->sock, POLLIN, 0}, {sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
		if (poll(p, in_open ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents) {
			struct ctl_msg m;
			ssize_t n = recv(at->sock, pkt, sizeof(pkt), MSG_TRUNC);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				restore_terminal();
				log_error("session %s (%s): the supervisor went away", at->s->id,
					  at->s->name);
				return EXIT_NONO_ERROR;
			}
			if ((size_t)n > sizeof(pkt) || ctl_msg_parse(pkt, (size_t)n, false, &m) < 0)
				continue;
			if (m.type == CTL_OUTPUT)
				write_all(STDOUT_FILENO, m.data, m.len);
			else if (m.type == CTL_EXIT) {
				restore_terminal();
				return m.code >= 0 && m.code < 256 ? m.code : EXIT_NONO_ERROR;
			}
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					uint8_t ws[4];
					window_size(ws);
					(void)ctl_send(at->sock, CTL_WINSIZE, ws, sizeof(ws));
					continue;
				}
				/* Killed or hung up: detach, the command goes on. */
				(void)ctl_send(at->sock, CTL_DETACH, NULL, 0);
				restore_terminal();
				return 128 + (int)si.ssi_signo;
			}
		}
		if (in_open && p[2].revents) {
			uint8_t b[CTL_MAX_INPUT];
			ssize_t n = read(STDIN_FILENO, b, sizeof(b));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				in_open = false; /* no more input; output still flows */
				continue;
			}
			int r = keyboard(at, b, (size_t)n);
			if (r == 1) {
				(void)ctl_send(at->sock, CTL_DETACH, NULL, 0);
				restore_terminal();
				(void)fprintf(stderr,
					      "\r\n[detached from session %s (%s); reattach with: "
					      "nono attach %s]\n",
					      at->s->id, at->s->name, at->s->name);
				return EXIT_NONO_OK;
			}
		}
	}
}

int cmd_attach(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("attach");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	struct attach at = {.sock = -1};
	int c;

	if (cli_getopt_tables(attach_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		if (c == OPT_ATTACH_HELP) {
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		}
		log_error("unknown option '%s' for 'nono attach' (see 'nono attach --help')",
			  argv[optind - 1]);
		return EXIT_NONO_ERROR;
	}
	if (argc - optind != 1) {
		log_error("'nono attach' takes one session id or name (see 'nono ps')");
		return EXIT_NONO_ERROR;
	}
	if (load_detach_sequence(at.seq, &at.seq_len) < 0)
		return EXIT_NONO_ERROR;
	uint64_t timeout = 1000;
	const char *tv = secure_getenv("NONO_PTY_ATTACH_TIMEOUT");
	if (tv && *tv && parse_u64(tv, 600000, &timeout) < 0) {
		log_error("NONO_PTY_ATTACH_TIMEOUT: '%s' is not a number of milliseconds (0 to "
			  "600000)",
			  tv);
		return EXIT_NONO_ERROR;
	}
	int64_t deadline = now_ms() + (int64_t)timeout;

	const char *key = argv[optind], *home = getenv("HOME");
	struct session_record *v = NULL;
	size_t n = 0;
	int r = session_records_load(home, &v, &n);
	if (r < 0) {
		log_error_errno(r, "cannot read the sessions in $HOME/.nono/sessions");
		return EXIT_NONO_ERROR;
	}
	int ret = EXIT_NONO_ERROR;
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	at.s = session_record_find(v, n, key);
	if (!at.s) {
		log_error("no session '%s' (see 'nono ps --all')", key);
		goto out;
	}
	if (at.s->state != SESSION_RUNNING) {
		log_error("session %s (%s) is not running: %s", at.s->id, at.s->name,
			  session_state_to_string(at.s->state));
		goto out;
	}
	if (asprintf(&dir, "%s/.nono/sessions/%s", home, at.s->id) < 0) {
		dir = NULL;
		log_error_errno(-ENOMEM, "out of memory");
		goto out;
	}
	dir_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0) {
		log_error_errno(-errno, "cannot open '%s'", dir);
		goto out;
	}
	r = connect_session(dir_fd, deadline, &at.sock);
	if (r < 0) {
		log_error("cannot attach to session %s (%s): %s%s", at.s->id, at.s->name,
			  strerror(-r),
			  r == -EACCES	 ? " (another user's session)"
			  : r == -ENOENT ? " (no control socket: not a detached session, or it "
					   "has not started; NONO_PTY_ATTACH_TIMEOUT)"
					 : "");
		goto out;
	}
	/*
	 * The other end must be this session's supervisor under our uid: a socket planted
	 * in a directory someone else can write (root attaching in another user's home)
	 * must not get our keystrokes, nor write to our terminal.
	 */
	{
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		bool ours = getsockopt(at.sock, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 &&
			    cl == sizeof(cr) && cr.pid == at.s->supervisor_pid &&
			    session_pid_start(cr.pid) == at.s->supervisor_start;
		if (!ours) {
			log_error("cannot attach to session %s (%s): the control socket in %s is "
				  "not its supervisor's",
				  at.s->id, at.s->name, dir);
			goto out;
		}
		if (cr.uid != getuid()) { /* the supervisor refuses us too */
			log_error("cannot attach to session %s (%s): permission denied: the "
				  "session belongs to uid %u, not to uid %u",
				  at.s->id, at.s->name, (unsigned)cr.uid, (unsigned)getuid());
			goto out;
		}
	}
	/* The supervisor's answer: ready, or why not. */
	{
		uint8_t b[1100];
		struct ctl_msg m;
		int64_t left = deadline - now_ms();
		struct pollfd p = {at.sock, POLLIN, 0};
		ssize_t k = -1;
		if (poll(&p, 1, left > 0 ? (int)left : 0) > 0)
			k = recv(at.sock, b, sizeof(b), MSG_TRUNC);
		if (k <= 0 || (size_t)k > sizeof(b) || ctl_msg_parse(b, (size_t)k, false, &m) < 0 ||
		    (m.type != CTL_READY && m.type != CTL_REFUSED)) {
			log_error("cannot attach to session %s (%s): no answer from its supervisor "
				  "within %llu ms (NONO_PTY_ATTACH_TIMEOUT)",
				  at.s->id, at.s->name, (unsigned long long)timeout);
			goto out;
		}
		if (m.type == CTL_REFUSED) {
			log_error("cannot attach to session %s (%s): %.*s", at.s->id, at.s->name,
				  (int)m.len, (const char *)m.data);
			goto out;
		}
	}
	r = raw_terminal();
	if (r < 0) {
		log_error_errno(r, "cannot put the terminal in raw mode");
		goto out;
	}
	ret = relay(&at);
	if (ret < 0) {
		restore_terminal();
		log_error_errno(ret, "session %s (%s): attach failed", at.s->id, at.s->name);
		ret = EXIT_NONO_ERROR;
	}
out:
	restore_terminal();
	at.sock = safe_close(at.sock);
	session_records_free(v, n);
	free(v);
	return ret;
}
