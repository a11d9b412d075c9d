/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Growable NUL-terminated byte buffer with a hard cap (curl's dynbuf idea): every
 * buffer the sandboxed side can fill has a limit, and hitting it is -E2BIG.
 */

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max; /* 0 means 64 MiB */
};

#define STRBUF_INIT {NULL, 0, 0, 0}

int strbuf_add(struct strbuf *sb, const void *data, size_t n);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);
/* Returns the buffer (never NULL on success: "" for empty) and resets sb. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
