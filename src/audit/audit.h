/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The audit trail of one supervised session, under $HOME/.nono/audit/<session-id>/
 * (directories 0700, files 0600, no symlink followed below $HOME):
 *
 *   session.json         session id, nono version, start/end time, exit status,
 *                        profile, redacted command, cwd, network mode and proxy
 *                        placement, redaction policy diff, integrity summary.
 *                        Written atomically (temp file, fsync, rename) at start and end.
 *   audit-events.ndjson  one JSON object per line, appended with O_APPEND:
 *                        {"time","type":"network","allow","method","host","port",
 *                         "path","service","reason","status",["count",]"prev"}
 *                        "count" (> 1) when a burst of refusals is one event.
 *
 * Tamper evidence (unless integrity is off): "prev" is the SHA-256 (hex) of the
 * previous line's bytes without its newline; the first line's prev is the genesis
 * SHA-256("nono-audit-genesis\0" || session id). At the end session.json records the
 * event count, the chain head (SHA-256 of the last line) and an RFC 6962 Merkle root
 * over the lines, so editing, reordering, inserting or deleting any line — including
 * cutting the tail — is detected by audit_verify(). Someone who can rewrite both files
 * can rewrite the whole chain: that needs a signature (--audit-sign-key, not built).
 *
 * The events file and the chain state live in memory shared across fork(), so the
 * proxy process (forked after audit_open) appends events and the supervisor still
 * learns the final head. Appenders serialise on a process-shared mutex.
 *
 * That shared mapping is writable, so it must reach no process the agent can touch
 * (the sandboxed child, helpers it forks, the port forwarder, the netns helper): it is
 * MADV_DONTFORK, left out of every fork except the proxy's, which brackets its fork()
 * with audit_fork_share(a, true) ... audit_fork_share(a, false).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/diag.h"

#define AUDIT_MAX_LINE (64 * 1024)

struct audit_session_info {
	const char *nono_version;
	const char *profile; /* NULL when none */
	char *const *argv;   /* the command, ALREADY redacted */
	const char *cwd;
	const char *network_mode; /* "allowed", "blocked", "proxy" */
	bool integrity;		  /* hash chain over events (--no-audit-integrity: false) */
	json_t *redaction_diff;	  /* borrowed; NULL for the default policy */
};

struct audit_network_event {
	bool allow;
	const char *method;
	const char *host;
	uint16_t port;
	const char *path;
	const char *service; /* NULL: none */
	const char *reason;  /* NULL on allow */
	int status;
	unsigned count; /* refusals aggregated into this event; 0 or 1: one */
};

struct audit_log;

/*
 * Create the session directory under home and write the first session.json, without
 * waiting for the disk: call audit_sync() once the command has started, so the fsyncs
 * are off its path. A failure to create or write still stops the run here.
 */
int audit_open(const char *home, const struct audit_session_info *info, struct audit_log **ret,
	       struct diag *d);
/* Make what audit_open() wrote durable (session.json and the directory's entries).
 * 0 or -errno; again after success: nothing to do. */
int audit_sync(struct audit_log *a);
const char *audit_session_id(const struct audit_log *a);
const char *audit_session_dir(const struct audit_log *a);
/* "network-namespace" or "host-loopback"; recorded at the end. */
int audit_set_proxy_placement(struct audit_log *a, const char *placement);

/* The pre-exec trust scan's summary (taken, even on error), recorded as "trust". */
int audit_set_trust(struct audit_log *a, json_t *summary);

/* Append one event. Safe from any process that inherited a over fork(). */
/*
 * share: the next fork() copies the chain state into the child (MADV_DOFORK); !share:
 * it does not (MADV_DONTFORK, the state after audit_open). Call with false in both
 * parent and child right after the fork. NULL a: nothing to do, 0.
 */
int audit_fork_share(struct audit_log *a, bool share);

int audit_append_network(struct audit_log *a, const struct audit_network_event *ev);
/* A session event ("attach", "detach"): {"time","type":"session","event",["pid",]"uid","prev"}. */
int audit_append_session(struct audit_log *a, const char *event, int pid, int uid);
/* The session's name (sessions: --name or generated), recorded as "session_name". */
int audit_set_session_name(struct audit_log *a, const char *name);
/* Append an event {"time", "type": type, fields..., "prev"} (fields taken, may be an
 * empty object). Same chain and rules as audit_append_network. */
int audit_append_event(struct audit_log *a, const char *type, json_t *fields);
/* Set a top-level key of session.json (value taken), written at audit_close. */
int audit_set_record(struct audit_log *a, const char *key, json_t *value);
/*
 * Events that could not be written so far (disk full, I/O error), in any process.
 * Once it is non-zero the trail is incomplete: callers fail closed.
 */
uint64_t audit_events_lost(const struct audit_log *a);

/*
 * Record the end (exit status, time, integrity summary with events_lost) in
 * session.json, atomically. Space for it is set aside at audit_open (a reserve file
 * released here), so a disk that filled during the session still gets the end
 * record where the reserve suffices. Call once every other appender has stopped.
 * Frees a.
 */
int audit_close(struct audit_log *a, int exit_status, struct diag *d);
/* Release without writing the end (a forked process's copy, error paths). NULL ok. */
struct audit_log *audit_free(struct audit_log *a);
void audit_freep(struct audit_log **a);
#define _cleanup_audit_ __attribute__((cleanup(audit_freep)))

struct audit_verify_result {
	size_t events;
	bool finished;	/* session.json has the end summary (else the tail is unchecked) */
	bool integrity; /* the session was recorded with the hash chain */
	char head[65];
	char merkle_root[65];
};

/*
 * Check a session directory: every line's prev, the count, head and Merkle root
 * against session.json. -EBADMSG (details in d, naming file and line) on tampering.
 */
int audit_verify(const char *session_dir, struct audit_verify_result *ret, struct diag *d);

/* The audit root for a home: HOME/.nono/audit (allocated). */
int audit_root(const char *home, char **ret);
/* Session ids are [A-Za-z0-9_-]{1,64}: safe as a single path component. */
bool audit_session_id_valid(const char *id);
