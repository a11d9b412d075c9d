/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The session's record in its state directory (~/.nono/sessions/<id>/session.json,
 * 0600, beside the private tmp of session-tmp.c): id, name, state, the supervisor's pid
 * and start time (so a reused pid is not taken for it), times, the command's name.
 * Written when the session starts and rewritten when it ends; a record that says
 * "running" whose supervisor is gone is a crashed session.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SESSION_NAME_MAX 64

struct json_t;

enum session_state {
	SESSION_RUNNING,
	SESSION_EXITED,
	SESSION_CRASHED, /* read only: "running" but the supervisor is gone */
};

struct session_record {
	char *id;
	char *name;
	char *command; /* the executable's base name (arguments may hold secrets) */
	enum session_state state;
	pid_t supervisor_pid;
	uint64_t supervisor_start; /* /proc/PID/stat starttime, clock ticks since boot */
	int64_t started, ended;	   /* unix seconds; ended 0 while running */
	int exit_code;		   /* when exited */
	pid_t child_pid;	   /* the sandboxed command's (host) pid; 0 before the fork */
	/* What `nono inspect` shows beyond the fields above (grants, network, placement,
	 * profile: see session.c), a JSON object written with the record; owned. Loaded
	 * records hold the whole record object here. Never a secret: credentials by
	 * service name only. */
	struct json_t *detail;
};

/* A name users may give (--name): 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool session_name_valid(const char *name);
/* /proc/PID/stat starttime of pid, or 0 (also for a zombie: it has ended). */
uint64_t session_pid_start(pid_t pid);
const char *session_state_to_string(enum session_state s);

/* Before the fork: set aside, in the session directory dirfd, the space r will take
 * once the fork adds the child's pid, so that writing it then cannot fail for space (a
 * command that fills the disk at once must not stop its own run through its record).
 * 0 or -errno. */
int session_record_reserve(int dirfd, const struct session_record *r);
/* Write r as session.json in the open session directory dirfd (atomically, 0600;
 * given to owner:group when give). 0 or -errno. */
int session_record_write(int dirfd, const struct session_record *r, bool give, uid_t owner,
			 gid_t group);
/* Remove the record (the session leaves nothing else behind). */
void session_record_remove(int dirfd);

/* Every record under HOME/.nono/sessions, oldest first, with the crashed state worked
 * out. *ret empty when there is no such directory. 0 or -errno. */
int session_records_load(const char *home, struct session_record **ret, size_t *ret_n);
void session_records_free(struct session_record *r, size_t n);

/* The record of KEY (an id, or the name of a running session; else the newest with
 * that name) among v. NULL when none. */
const struct session_record *session_record_find(const struct session_record *v, size_t n,
						 const char *key);
/*
 * Send sig to r's supervisor (r loaded from HOME), if it is still the process the
 * record names (pid and start time, checked through a pidfd so the pid cannot be
 * reused in between), its real uid is ours (root too may signal only its own
 * sessions) and it holds r's session directory open (a forged record cannot point at
 * another process). 0; -ESRCH: not that session's running supervisor; -EPERM: another
 * user's; other -errno.
 */
int session_signal(const char *home, const struct session_record *r, int sig);
