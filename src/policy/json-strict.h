/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Strict reading of our JSON documents (profiles, policy.json): every object's keys are
 * checked against a list, every value's type is checked, and every error carries the
 * file:line:column of the offending key or value (found with json_locate()).
 * Internal to policy/.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/diag.h"

struct jctx {
	const char *file; /* for diagnostics */
	const char *text; /* the original bytes, for json_locate() */
	size_t len;
	struct diag *d;
};

/* Parse text (duplicate keys rejected) and require an object at the top. */
int jctx_load(struct jctx *c, json_t **ret);

/* Fill c->d for the value (or key) at pointer; returns err. */
int jctx_error(struct jctx *c, int err, const char *pointer, bool at_key, const char *fmt, ...)
    _printf_(5, 6);

/* Every key of obj (at pointer) must be in allowed (NULL-terminated). */
int jctx_check_keys(struct jctx *c, json_t *obj, const char *pointer, const char *const *allowed);

const char *json_type_name(const json_t *j);

/*
 * Typed getters for obj[key] (obj at pointer). An absent key leaves the output as is
 * and returns 0; a present key of the wrong type is an error. A JSON null counts as
 * absent nowhere: it is the wrong type.
 */
int jctx_get_object(struct jctx *c, json_t *obj, const char *pointer, const char *key,
		    json_t **ret);
int jctx_get_string(struct jctx *c, json_t *obj, const char *pointer, const char *key, char **ret);
int jctx_get_bool(struct jctx *c, json_t *obj, const char *pointer, const char *key, int *ret);
/* Array of strings, appended (deduplicated) to *ret. With paths, each is expand_check()ed. */
int jctx_get_strv(struct jctx *c, json_t *obj, const char *pointer, const char *key, bool paths,
		  char ***ret);
/* Array of TCP ports, appended (deduplicated). */
int jctx_get_ports(struct jctx *c, json_t *obj, const char *pointer, const char *key,
		   uint16_t **ports, size_t *n);
/* A single TCP port; *ret stays as is when absent. */
int jctx_get_port(struct jctx *c, json_t *obj, const char *pointer, const char *key, int *ret);

/* Build "pointer/key" (RFC 6901 escaped) into buf. */
const char *jptr(char *buf, size_t n, const char *pointer, const char *key);
