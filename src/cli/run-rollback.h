/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * --rollback for nono run / shell: a snapshot of the write-granted directories before the
 * child starts (~/.nono/rollback/sessions/<id>/000.json) and after it ends (001.json), then
 * a review on a terminal. Built so the session owner can call begin/end around its run.
 */
#include <stdbool.h>

#include "audit/audit.h"
#include "policy/policy.h"
#include "rollback/rollback.h"

struct run_rollback_opts {
	bool enabled, disabled, no_prompt;
	bool fs_integrity;	 /* --audit-integrity: Merkle roots of the tracked state, audited */
	struct rb_filter filter; /* exclude, include, skip_dirs, all */
};

struct run_rollback {
	char *id;
	int session_fd; /* ~/.nono/rollback/sessions/<id> */
	struct rb_store *store;
	struct rb_manifest *pre;
	char **roots;
	struct rb_limits limits; /* [rollback] in config.toml, applied after the run */
	struct audit_log *audit; /* borrowed, NULL: no audit; set before begin */
	bool hash_only;		 /* --audit-integrity without --rollback: no store */
	char before[65];	 /* the pre-run Merkle root, "" when not taken */
};
#define RUN_ROLLBACK_INIT                                                                          \
	{                                                                                          \
		.session_fd = -1                                                                   \
	}

/* Takes one of the OPT_*ROLLBACK* / OPT_SKIP_DIR options; 1 when it was one. */
int run_rollback_opt(struct run_rollback_opts *o, int opt, const char *arg);
void run_rollback_opts_release(struct run_rollback_opts *o);

/* Whether begin and end do anything (--rollback or --audit-integrity, not disabled):
 * then end writes to the audit record after the command. */
bool run_rollback_active(const struct run_rollback_opts *o);
/* Snapshot before the child starts; a no-op unless --rollback. Prints its errors. */
int run_rollback_begin(struct run_rollback *rb, const struct run_rollback_opts *o,
		       const struct sandbox_spec *spec, const char *session_id, char *const *cmdv);
/* Snapshot after the child ended, record the exit code, review on a terminal. */
int run_rollback_end(struct run_rollback *rb, const struct run_rollback_opts *o, int exit_code);
void run_rollback_release(struct run_rollback *rb);

/* ~/.nono/rollback (malloc'd); -ENOENT without an absolute HOME. */
int run_rollback_base(char **ret);
/* Opens ~/.nono/rollback/sessions/<id> (id checked: [A-Za-z0-9_-], at most 64). */
int run_rollback_open_session(const char *base, const char *id, int *ret_fd);

struct rb_summary {
	size_t n[RB_CHANGE_MAX];
	char *first[RB_CHANGE_MAX][5];
};
int rb_summary_collect(const struct rb_manifest *from, const struct rb_manifest *to,
		       struct rb_summary *s);
void rb_summary_print(const struct rb_summary *s, FILE *out);
void rb_summary_release(struct rb_summary *s);

/* Session ids in ~/.nono/rollback/sessions, oldest first (NULL when none). */
int run_rollback_list(const char *base, char ***ret);
/* Remove the oldest sessions beyond l->max_sessions, then more while the objects exceed
 * l->max_storage_bytes (never keep_id, never a running one, never the newest), and the
 * objects no remaining session references. store: the caller's (NULL: opened here);
 * keep_id NULL (an explicit prune) counts and sweeps the whole store. Prints its errors. */
int run_rollback_prune(const char *base, const struct rb_limits *l, struct rb_store *store,
		       const char *keep_id, size_t *ret_removed, size_t *ret_kept,
		       uint64_t *ret_objs);
