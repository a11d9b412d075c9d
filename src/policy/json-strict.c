/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/json-strict.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/macro.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "policy/expand.h"
#include "policy/json-locate.h"

#define JPTR_MAX 512

const char *jptr(char *buf, size_t n, const char *pointer, const char *key)
{
	size_t o = (size_t)snprintf(buf, n, "%s/", pointer);
	for (const char *k = key; *k && o + 3 < n; k++) {
		if (*k == '~' || *k == '/') {
			buf[o++] = '~';
			buf[o++] = *k == '~' ? '0' : '1';
		} else {
			buf[o++] = *k;
		}
	}
	if (o < n)
		buf[o] = 0;
	return buf;
}

const char *json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

int jctx_error(struct jctx *c, int err, const char *pointer, bool at_key, const char *fmt, ...)
{
	int line = 0, column = 0;
	if (c->text && json_locate(c->text, c->len, pointer, at_key, &line, &column) < 0)
		line = column = 0;
	char msg[sizeof(c->d->msg)];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_set(c->d, c->file, line, column, "%s", msg);
	return err;
}

int jctx_load(struct jctx *c, json_t **ret)
{
	json_error_t e;
	json_t *j = json_loadb(c->text, c->len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		diag_set(c->d, c->file, e.line > 0 ? e.line : 0, e.line > 0 ? e.column : 0,
			 "invalid JSON: %s", e.text);
		return -EINVAL;
	}
	if (!json_is_object(j)) {
		int r = jctx_error(c, -EINVAL, "", false,
				   "expected a JSON object at the top, not %s", json_type_name(j));
		json_decref(j);
		return r;
	}
	*ret = j;
	return 0;
}

static const char *where(const char *pointer)
{
	return pointer[0] ? pointer + 1 : "the top level";
}

int jctx_check_keys(struct jctx *c, json_t *obj, const char *pointer, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (streq(*a, key))
				ok = true;
		if (ok)
			continue;
		struct strbuf sb = STRBUF_INIT;
		for (const char *const *a = allowed; *a; a++)
			(void)strbuf_addf(&sb, "%s%s", a == allowed ? "" : ", ", *a);
		char p[JPTR_MAX];
		int r = jctx_error(c, -EINVAL, jptr(p, sizeof(p), pointer, key), true,
				   "unknown key '%s' in %s; expected one of: %s", key,
				   where(pointer), sb.buf ? sb.buf : "(none)");
		strbuf_release(&sb);
		return r;
	}
	return 0;
}

static int wrong_type(struct jctx *c, const char *p, const char *want, json_t *v)
{
	return jctx_error(c, -EINVAL, p, false, "'%s' must be %s, not %s", p + 1, want,
			  json_type_name(v));
}

int jctx_get_object(struct jctx *c, json_t *obj, const char *pointer, const char *key, json_t **ret)
{
	json_t *v = json_object_get(obj, key);
	char p[JPTR_MAX];
	if (!v)
		return 0;
	if (!json_is_object(v))
		return wrong_type(c, jptr(p, sizeof(p), pointer, key), "an object", v);
	*ret = v;
	return 0;
}

int jctx_get_string(struct jctx *c, json_t *obj, const char *pointer, const char *key, char **ret)
{
	json_t *v = json_object_get(obj, key);
	char p[JPTR_MAX];
	if (!v)
		return 0;
	if (!json_is_string(v))
		return wrong_type(c, jptr(p, sizeof(p), pointer, key), "a string", v);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return jctx_error(c, -EINVAL, jptr(p, sizeof(p), pointer, key), false,
				  "'%s' contains a NUL character", p + 1);
	char *s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	free(*ret);
	*ret = s;
	return 0;
}

int jctx_get_bool(struct jctx *c, json_t *obj, const char *pointer, const char *key, int *ret)
{
	json_t *v = json_object_get(obj, key);
	char p[JPTR_MAX];
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return wrong_type(c, jptr(p, sizeof(p), pointer, key), "true or false", v);
	*ret = json_is_true(v);
	return 0;
}

int jctx_get_strv(struct jctx *c, json_t *obj, const char *pointer, const char *key, bool paths,
		  char ***ret)
{
	json_t *v = json_object_get(obj, key), *e;
	char p[JPTR_MAX], ep[JPTR_MAX];
	size_t i;
	if (!v)
		return 0;
	jptr(p, sizeof(p), pointer, key);
	if (!json_is_array(v))
		return wrong_type(c, p, "an array of strings", v);
	json_array_foreach(v, i, e)
	{
		char idx[24];
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		jptr(ep, sizeof(ep), p, idx);
		if (!json_is_string(e))
			return wrong_type(c, ep, "a string", e);
		const char *s = json_string_value(e);
		if (strlen(s) != json_string_length(e) || !s[0])
			return jctx_error(c, -EINVAL, ep, false, "'%s' must be a non-empty string",
					  ep + 1);
		if (paths) {
			size_t off;
			const char *msg;
			if (expand_check(s, &off, &msg) < 0)
				return jctx_error(c, -EINVAL, ep, false,
						  "bad path '%s' in '%s': %s", s, p + 1, msg);
		}
		int r = strv_extend_unique(ret, s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int port_of(struct jctx *c, const char *p, json_t *e, uint16_t *ret)
{
	if (!json_is_integer(e))
		return wrong_type(c, p, "a port number", e);
	json_int_t v = json_integer_value(e);
	if (v < 1 || v > 65535)
		return jctx_error(c, -ERANGE, p, false,
				  "port '%lld' in '%s' is out of range; use 1..65535", (long long)v,
				  p + 1);
	*ret = (uint16_t)v;
	return 0;
}

int jctx_get_ports(struct jctx *c, json_t *obj, const char *pointer, const char *key,
		   uint16_t **ports, size_t *n)
{
	json_t *v = json_object_get(obj, key), *e;
	char p[JPTR_MAX], ep[JPTR_MAX];
	size_t i;
	if (!v)
		return 0;
	jptr(p, sizeof(p), pointer, key);
	if (!json_is_array(v))
		return wrong_type(c, p, "an array of port numbers", v);
	json_array_foreach(v, i, e)
	{
		char idx[24];
		uint16_t port;
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		int r = port_of(c, jptr(ep, sizeof(ep), p, idx), e, &port);
		if (r < 0)
			return r;
		bool dup = false;
		for (size_t k = 0; k < *n; k++)
			dup = dup || (*ports)[k] == port;
		if (dup)
			continue;
		uint16_t *np = reallocarray(*ports, *n + 1, sizeof(**ports));
		if (!np)
			return -ENOMEM;
		np[(*n)++] = port;
		*ports = np;
	}
	return 0;
}

int jctx_get_port(struct jctx *c, json_t *obj, const char *pointer, const char *key, int *ret)
{
	json_t *v = json_object_get(obj, key);
	char p[JPTR_MAX];
	uint16_t port;
	if (!v)
		return 0;
	int r = port_of(c, jptr(p, sizeof(p), pointer, key), v, &port);
	if (r < 0)
		return r;
	*ret = port;
	return 0;
}
