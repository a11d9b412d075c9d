/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The session's private /tmp and /var/tmp: HOME/.nono/sessions/<id>/tmp and .../var-tmp,
 * mounted over /tmp and /var/tmp in the child's mount namespace (sandbox/sandbox.h).
 * Kept after the run, so nothing the command left there is lost; removed when empty.
 */

#include <stdbool.h>

#include "base/diag.h"

struct run_tmp {
	char *tmp;     /* HOME/.nono/sessions/<id>/tmp */
	char *var_tmp; /* HOME/.nono/sessions/<id>/var-tmp */
	char *id;
	int sessions_fd; /* HOME/.nono/sessions, for the clean-up */
	int session_fd;	 /* .../<id> */
};
#define RUN_TMP_INIT                                                                               \
	{                                                                                          \
		.sessions_fd = -1, .session_fd = -1                                                \
	}

/*
 * Create the directories for session id (NULL: a fresh id). Every component is made
 * or opened beneath its parent's fd without following symlinks (an agent may have
 * planted some where it could write); the session directory must be new. Directories
 * are 0700; those nono creates in another user's home (run as root) are given to that
 * user, as the audit trail's are, while tmp and var-tmp belong to the sandboxed user.
 */
int run_tmp_create(const char *home, const char *id, struct run_tmp *t, struct diag *d);

/* Remove what stayed empty and release t. Safe on RUN_TMP_INIT. */
void run_tmp_finish(struct run_tmp *t);

/* True when the directory at path holds anything. */
bool run_tmp_used(const char *path);
