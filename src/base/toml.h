/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A strict reader for the TOML subset ~/.config/nono/config.toml uses (Debian has no
 * C TOML library; DESIGN.md, Data on disk):
 *   - comments (# to end of line), blank lines
 *   - table headers [name] / [a.b] of bare (A-Za-z0-9_-) or "quoted" keys
 *   - key = value, keys bare or "quoted" (no dotted keys)
 *   - values: basic strings "..." (escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX),
 *     literal strings '...', booleans true/false, arrays of strings (multi-line,
 *     trailing comma, comments inside), non-negative decimal integers (digits with
 *     single '_' between them, no leading zero, at most TOML_INT_MAX)
 * Anything else (signs, floats, hex, dates, inline tables, multi-line strings, duplicate keys or
 * tables) is an error with file:line:column. The result is a flat list of entries.
 */

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define TOML_MAX_SIZE (1024 * 1024)
#define TOML_INT_MAX  999999999999999LL

enum toml_type {
	TOML_STRING = 0,
	TOML_BOOL,
	TOML_ARRAY, /* of strings */
	TOML_INTEGER,
	_TOML_TYPE_MAX,
};

struct toml_entry {
	char *table; /* "" for the root table; "a.b" for [a.b] */
	char *key;
	enum toml_type type;
	char *str;	  /* TOML_STRING */
	bool b;		  /* TOML_BOOL */
	char **arr;	  /* TOML_ARRAY: NULL-terminated, never NULL */
	long long i;	  /* TOML_INTEGER */
	int line, column; /* of the key */
};

struct toml_doc {
	struct toml_entry *entries;
	size_t n;
	char **tables; /* every [table] header seen, in order */
};

/* Parse buf (len bytes, NUL bytes refused). file names the source in errors. */
int toml_parse(const char *buf, size_t len, const char *file, struct toml_doc **ret,
	       struct diag *d);
/* Read and parse a file (at most TOML_MAX_SIZE). -ENOENT when it does not exist. */
int toml_parse_file(const char *path, struct toml_doc **ret, struct diag *d);
struct toml_doc *toml_doc_free(struct toml_doc *doc);
void toml_doc_freep(struct toml_doc **doc);
#define _cleanup_toml_ __attribute__((cleanup(toml_doc_freep)))

const char *toml_type_name(enum toml_type t);
