/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The control side of a detached session (`nono run --detached`): a socket in the
 * session directory through which `nono attach` reaches the child's terminal, the
 * recent output kept for replay, and the bounded output log `nono logs` reads.
 *
 * Files in HOME/.nono/sessions/<id>/ (the directory is 0700):
 *   control        AF_UNIX SOCK_SEQPACKET socket, 0600, while the session runs. A peer
 *                  is served only when SO_PEERCRED says it runs under the supervisor's
 *                  real uid (root included: no cross-user attach) and it is not the
 *                  sandboxed command or one of its descendants. One client at a time.
 *   output.log     what the command wrote to its terminal; at CTL_LOG_ROTATE bytes it
 *   output.log.1   becomes output.log.1 (the previous one is dropped), so at most
 *                  2 * CTL_LOG_ROTATE bytes are kept.
 *
 * Protocol: one message per packet, a type byte and its payload.
 *   client -> supervisor: 'H' hello (u16 rows, u16 cols, little endian), 'I' input
 *                         bytes (1..CTL_MAX_INPUT), 'W' window size (as hello), 'D' detach
 *   supervisor -> client: 'R' ready (text: "<id> <name>"), 'X' refused (text reason),
 *                         'O' output bytes (1..CTL_MAX_OUTPUT), 'E' exit (i32 code, LE)
 * A client's first message must be hello; anything malformed ends its connection.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#define CTL_SOCKET	   "control"
#define CTL_LOG		   "output.log"
#define CTL_LOG_OLD	   "output.log.1"
#define CTL_LOG_ROTATE	   (4 * 1024 * 1024)
#define CTL_RING	   (256 * 1024)
#define CTL_MAX_INPUT	   4096
#define CTL_MAX_OUTPUT	   65536
#define DETACH_SEQ_MAX	   8
#define DETACH_SEQ_DEFAULT "ctrl-] d"

enum ctl_type {
	CTL_HELLO = 'H',
	CTL_INPUT = 'I',
	CTL_WINSIZE = 'W',
	CTL_DETACH = 'D',
	CTL_READY = 'R',
	CTL_REFUSED = 'X',
	CTL_OUTPUT = 'O',
	CTL_EXIT = 'E',
};

struct ctl_msg {
	enum ctl_type type;
	const uint8_t *data; /* payload (into the parsed buffer) */
	size_t len;
	uint16_t rows, cols; /* hello, window size */
	int32_t code;	     /* exit */
};

/*
 * Parse one packet of n bytes. from_client: only the client's types are accepted,
 * else only the supervisor's. 0 with *ret filled, or -EBADMSG.
 */
int ctl_msg_parse(const uint8_t *buf, size_t n, bool from_client, struct ctl_msg *ret);
/* Send one message (type + payload) on fd; 0 or -errno. */
int ctl_send(int fd, enum ctl_type type, const void *payload, size_t len);
/* Little-endian helpers for the fixed payloads. */
void ctl_put_winsize(uint8_t out[4], uint16_t rows, uint16_t cols);
void ctl_put_code(uint8_t out[4], int32_t code);

/*
 * Parse a detach key sequence in the notation of `[ui] detach_sequence`: keys
 * separated by spaces, each either "ctrl-X" (X a letter or one of @ [ \ ] ^ _ ?,
 * "ctrl-?" being DEL) or one printable character. 1 to DETACH_SEQ_MAX keys.
 * 0 with the bytes in out and their count in *ret_len, or -EINVAL.
 */
int detach_seq_parse(const char *s, uint8_t out[DETACH_SEQ_MAX], size_t *ret_len);

struct audit_log;

struct session_ctl {
	int dir_fd;    /* the session directory (borrowed) */
	int listen_fd; /* -1: not listening */
	int client_fd; /* -1: nobody attached */
	int master;    /* the child's PTY (borrowed) */
	pid_t supervisor, child;
	uid_t owner;
	const char *id, *name;
	struct audit_log *audit; /* attach/detach events; may be NULL */
	int log_fd;
	size_t log_size;
	uint8_t *ring; /* CTL_RING bytes */
	size_t ring_head, ring_len;
	uint8_t in[CTL_MAX_INPUT + 1]; /* one client packet */
};

/*
 * Listen on CTL_SOCKET in dir_fd and open CTL_LOG there. Called once the child has
 * exec'd (so no fork of ours inherits the socket). 0 or -errno.
 */
int session_ctl_open(struct session_ctl *c, int dir_fd, int master, pid_t child, const char *id,
		     const char *name, struct audit_log *audit);
/* Poll set-up: up to 2 pollfds (listener, client); returns how many. */
int session_ctl_pollfds(const struct session_ctl *c, struct pollfd *fds);
/*
 * Handle those pollfds' revents. Input from the client goes to the master, written
 * fully with a bounded wait (the child reads its terminal: 1 s at most per packet).
 */
void session_ctl_handle(struct session_ctl *c, const struct pollfd *fds, int n);
/* The command's output: into the ring, the log and to the attached client. */
void session_ctl_output(struct session_ctl *c, const uint8_t *b, size_t n);
/* Tell the attached client the exit code, remove the socket, release. Idempotent. */
void session_ctl_close(struct session_ctl *c, int code);
