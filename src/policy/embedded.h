/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Data files compiled into the binary (tools/embed.py, run by meson): data/policy.json
 * as "policy.json" and data/profiles/NAME.json as "profiles/NAME.json". The bytes are
 * NUL-terminated (not counted in size), so data is also a C string.
 */

#include <stddef.h>

struct embedded_file {
	const char *name;
	const char *data;
	size_t size;
};

/* Terminated by an entry whose name is NULL; sorted by name. */
extern const struct embedded_file embedded_files[];

/* The file called name, or NULL. */
const struct embedded_file *embedded_find(const char *name);

#define EMBEDDED_FOREACH(f) for (const struct embedded_file *f = embedded_files; f->name; f++)
