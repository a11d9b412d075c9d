/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

/*
 * Lexical normalisation of an absolute path: collapses "//", "." and "..", strips a
 * trailing "/". Does not touch the file system. Returns -EINVAL for a relative path.
 */
int path_normalize(const char *path, char **ret);

/* Join a and b with one "/"; b absolute is returned as is. */
int path_join(const char *a, const char *b, char **ret);

/* Make path absolute against base (cwd when base is NULL), then normalise lexically. */
int path_absolute(const char *path, const char *base, char **ret);

/*
 * Canonicalise: absolute, every symlink resolved, ".." resolved (realpath(3)).
 * When the path does not exist, the longest existing prefix is resolved and the
 * rest appended lexically; *ret_exists tells which (may be NULL).
 */
int path_canonicalize(const char *path, const char *base, char **ret, bool *ret_exists);

/*
 * Between begin and end (nestable), path_canonicalize() remembers the directories it
 * found to exist without symlinks and does not look at them again: for one resolution
 * that canonicalises many paths under the same prefixes. A directory replaced by a
 * symlink inside that window is not seen, as with realpath(3) a moment earlier. Not
 * thread-safe; end frees the memo when the outermost scope closes.
 */
void path_canon_memo_begin(void);
void path_canon_memo_end(void);

/* True when path equals parent or lies beneath it (both normalised absolute). */
bool path_is_beneath(const char *path, const char *parent);

/* A plain relative path: no leading or trailing '/', no empty, "." or ".." component,
 * shorter than PATH_MAX, each component at most NAME_MAX (what rollback stores). */
bool path_is_plain_relative(const char *p);
