/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NULL-terminated vectors of owned strings. A NULL strv is the empty vector. */

#include <stdbool.h>
#include <stddef.h>

size_t strv_length(char *const *l);
/* Append a copy of s. Returns 0 or -ENOMEM; *l is unchanged on failure. */
int strv_extend(char ***l, const char *s);
/* Append s itself, taking ownership of it on success only. */
int strv_consume(char ***l, char *s);
/* Append a copy unless an equal string is already present. */
int strv_extend_unique(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
/* Split s at every char of sep; empty fields are dropped. */
int strv_split(const char *s, const char *sep, char ***ret);
char **strv_copy(char *const *l);
char **strv_free(char **l);
void strv_freep(char ***l);
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))
#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
