/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Finds the paths a command says it was refused, in its terminal output, for the
 * footer of `nono run`: lines with "Permission denied", "Operation not permitted" or
 * "Read-only file system" (any case) and an absolute path, quoted or bare, as coreutils,
 * shells, Node ("EACCES: permission denied, open '/x'") and Python print them.
 * The output is untrusted (the sandboxed command writes it): memory is fixed (one line
 * buffer, REFUSAL_MAX paths), a longer line or path is skipped, terminal escape
 * sequences and control bytes are dropped, and a path kept holds printable ASCII only
 * (a path with other bytes is not named).
 * Nothing here allocates, blocks or fails.
 */

#include <stdbool.h>
#include <stddef.h>

#define REFUSAL_MAX	 8    /* paths kept; later ones are only counted */
#define REFUSAL_LINE_MAX 2048 /* a longer line is not scanned */
#define REFUSAL_PATH_MAX 1024 /* a longer path is not kept */

enum refusal_kind {
	REFUSAL_EACCES = 0, /* Permission denied */
	REFUSAL_EPERM,	    /* Operation not permitted */
	REFUSAL_EROFS,	    /* Read-only file system */
	_REFUSAL_KIND_MAX,
};

struct refusal {
	enum refusal_kind kind;
	char path[REFUSAL_PATH_MAX];
};

struct refusal_scan {
	char line[REFUSAL_LINE_MAX];
	size_t len;
	bool overflow; /* the current line outgrew line[]: skipped to its end */
	unsigned esc;  /* escape-sequence state */
	struct refusal found[REFUSAL_MAX];
	size_t n;
	size_t dropped; /* further distinct paths beyond REFUSAL_MAX */
};

void refusal_scan_init(struct refusal_scan *s);
/* Scan n more bytes of output (any split: lines may span calls). */
void refusal_scan_feed(struct refusal_scan *s, const char *buf, size_t n);
/* The output ended: scan what is left of the last line. */
void refusal_scan_flush(struct refusal_scan *s);

/*
 * One line (n bytes, no line break, NULs allowed and never part of a path): true when it
 * names a refusal, with its kind and the path, NUL-terminated in ret_path (size bytes,
 * at least 2). The path is the last absolute path before the message, else the first
 * after it.
 */
bool refusal_scan_line(const char *line, size_t n, enum refusal_kind *ret_kind, char *ret_path,
		       size_t size);

/* "Permission denied", ... */
const char *refusal_kind_to_string(enum refusal_kind k);
