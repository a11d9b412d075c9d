/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Path variables in profiles, groups and flags: $HOME, $WORKDIR, $TMPDIR, $UID (also
 * ${NAME}) anywhere, and "~" or "~/..." at the start. Nothing else is expanded: an
 * unknown $NAME is an error, so a typo never silently becomes a literal path.
 */

#include <stdbool.h>
#include <stddef.h>

struct expand_vars {
	char *home;    /* $HOME, else the passwd entry */
	char *workdir; /* canonical working directory */
	char *tmpdir;  /* $TMPDIR, else /tmp */
	char uid[24];
};

/* Fill vars for workdir (may be NULL: $WORKDIR then is an error when used). */
int expand_vars_init(struct expand_vars *v, const char *workdir);
void expand_vars_done(struct expand_vars *v);

/*
 * Check s without expanding it. On a bad reference returns -EINVAL and sets *ret_offset
 * to its byte offset in s and *ret_msg to a static description.
 */
int expand_check(const char *s, size_t *ret_offset, const char **ret_msg);

/*
 * Expand s. Returns -EINVAL for an unknown or malformed variable (*ret_bad, if non-NULL,
 * gets a copy of the offending reference, e.g. "$FOO"), -ENOENT when the variable has
 * no value (e.g. $WORKDIR without a workdir).
 */
int expand_path(const char *s, const struct expand_vars *v, char **ret, char **ret_bad);
