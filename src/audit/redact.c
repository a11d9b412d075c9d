/* SPDX-License-Identifier: Apache-2.0 */
#include "audit/redact.h"

#include <errno.h>
#include <strings.h>

#include "base/macro.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "base/toml.h"

static const char *const default_flags[] = {
    "--token",	    "--api-key", "--apikey",	    "--password",
    "--passwd",	    "--secret",	 "--client-secret", "--access-token",
    "--auth-token", "--bearer",	 "--private-key",   "--auth",
    NULL,
};
/* A --long-flag, assignment key or query key containing one of these is secret. */
static const char *const default_words[] = {
    "token",   "secret",     "password",    "passwd",	   "apikey", "api-key",
    "api_key", "credential", "private-key", "private_key", NULL,
};
static const char *const default_headers[] = {
    "Authorization", "Proxy-Authorization", "X-Api-Key",    "Api-Key",	      "Cookie",
    "Set-Cookie",    "X-Auth-Token",	    "X-Nono-Token", "X-Goog-Api-Key", NULL,
};
static const char *const default_query_keys[] = {
    "key",	"api_key",	 "apikey", "token",	"access_token", "refresh_token",
    "id_token", "auth",		 "sig",	   "signature", "password",	"passwd",
    "secret",	"client_secret", "code",   "state",	NULL,
};

struct redact_policy {
	char **flags, **words, **headers, **query_keys; /* in force */
	char **extra_flags, **extra_headers, **extra_query_keys, **allowed_defaults;
};

static int copy_list(const char *const *src, char ***dst)
{
	for (; *src; src++) {
		int r = strv_extend(dst, *src);
		if (r < 0)
			return r;
	}
	return 0;
}

int redact_policy_new(struct redact_policy **ret)
{
	struct redact_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (copy_list(default_flags, &p->flags) < 0 || copy_list(default_words, &p->words) < 0 ||
	    copy_list(default_headers, &p->headers) < 0 ||
	    copy_list(default_query_keys, &p->query_keys) < 0) {
		redact_policy_free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

struct redact_policy *redact_policy_free(struct redact_policy *p)
{
	if (!p)
		return NULL;
	strv_free(p->flags);
	strv_free(p->words);
	strv_free(p->headers);
	strv_free(p->query_keys);
	strv_free(p->extra_flags);
	strv_free(p->extra_headers);
	strv_free(p->extra_query_keys);
	strv_free(p->allowed_defaults);
	free(p);
	return NULL;
}

void redact_policy_freep(struct redact_policy **p)
{
	*p = redact_policy_free(*p);
}

static bool in_list_ci(char *const *l, const char *s, size_t n)
{
	STRV_FOREACH(x, l)
	if (strlen(*x) == n && strncasecmp(*x, s, n) == 0)
		return true;
	return false;
}

static bool contains_word_ci(char *const *words, const char *s, size_t n)
{
	STRV_FOREACH(w, words)
	{
		size_t wl = strlen(*w);
		for (size_t i = 0; wl <= n && i + wl <= n; i++)
			if (strncasecmp(s + i, *w, wl) == 0)
				return true;
	}
	return false;
}

static bool secret_key(const struct redact_policy *p, const char *k, size_t n)
{
	return n > 0 && (in_list_ci(p->query_keys, k, n) || contains_word_ci(p->words, k, n));
}

/* k=v pairs separated by '&' or ';' in s[0..n): secret values replaced. */
static int redact_params(const struct redact_policy *p, const char *s, size_t n, struct strbuf *out)
{
	size_t i = 0;
	int r = 0;
	while (i < n && r >= 0) {
		size_t j = i;
		while (j < n && s[j] != '&' && s[j] != ';')
			j++;
		const char *eq = memchr(s + i, '=', j - i);
		if (eq && secret_key(p, s + i, (size_t)(eq - (s + i)))) {
			r = strbuf_add(out, s + i, (size_t)(eq - (s + i)) + 1);
			if (r >= 0)
				r = strbuf_adds(out, REDACTED);
		} else
			r = strbuf_add(out, s + i, j - i);
		if (r >= 0 && j < n)
			r = strbuf_add(out, s + j, 1);
		i = j + 1;
	}
	return r;
}

static bool url_end(char c)
{
	return c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '<' ||
	       c == '>';
}

/* Every URL inside s: userinfo password and secret query/fragment values. */
static int redact_urls(const struct redact_policy *p, const char *s, struct strbuf *out)
{
	int r = 0;
	for (;;) {
		const char *m = strstr(s, "://");
		if (!m)
			return strbuf_adds(out, s);
		if ((r = strbuf_add(out, s, (size_t)(m + 3 - s))) < 0)
			return r;
		const char *a = m + 3, *e = a;
		while (!url_end(*e) && !strchr("/?#", *e))
			e++;
		const char *at = NULL;
		for (const char *c = a; c < e; c++)
			if (*c == '@')
				at = c;
		const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
		if (colon) {
			if ((r = strbuf_add(out, a, (size_t)(colon + 1 - a))) < 0 ||
			    (r = strbuf_adds(out, REDACTED)) < 0 ||
			    (r = strbuf_add(out, at, (size_t)(e - at))) < 0)
				return r;
		} else if ((r = strbuf_add(out, a, (size_t)(e - a))) < 0)
			return r;
		/* Path, then ?query and #fragment parameters. */
		const char *c = e;
		while (!url_end(*c) && *c != '?' && *c != '#')
			c++;
		if ((r = strbuf_add(out, e, (size_t)(c - e))) < 0)
			return r;
		while (*c == '?' || *c == '#') {
			const char *q = c + 1, *qe = q;
			while (!url_end(*qe) && *qe != '#')
				qe++;
			if ((r = strbuf_add(out, c, 1)) < 0 ||
			    (r = redact_params(p, q, (size_t)(qe - q), out)) < 0)
				return r;
			c = qe;
		}
		s = c;
	}
}

int redact_text(const struct redact_policy *p, const char *arg, char **ret)
{
	struct strbuf out = STRBUF_INIT;
	int r;

	/* Header-like: "Name: value". */
	const char *c = arg;
	while (*c == ' ' || *c == '\t')
		c++;
	const char *ns = c;
	while ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
	       *c == '-' || *c == '_')
		c++;
	const char *ne = c;
	while (*c == ' ' || *c == '\t')
		c++;
	if (*c == ':' && ne > ns && in_list_ci(p->headers, ns, (size_t)(ne - ns))) {
		r = strbuf_add(&out, arg, (size_t)(c + 1 - arg));
		if (r >= 0)
			r = strbuf_adds(&out, " " REDACTED);
	} else if (strstr(arg, "://"))
		r = redact_urls(p, arg, &out);
	else if (arg[0] != '-' && strchr(arg, '='))
		r = redact_params(p, arg, strlen(arg), &out);
	else
		r = strbuf_adds(&out, arg);
	if (r < 0) {
		strbuf_release(&out);
		return r;
	}
	*ret = strbuf_detach(&out);
	return *ret ? 0 : -ENOMEM;
}

/* "--flag" or "--flag=value": is the flag (up to '=') secret-bearing? */
static bool secret_flag(const struct redact_policy *p, const char *arg, size_t n)
{
	if (in_list_ci(p->flags, arg, n))
		return true;
	return n > 2 && startswith(arg, "--") && contains_word_ci(p->words, arg + 2, n - 2);
}

int redact_argv(const struct redact_policy *p, char *const *argv, char ***ret)
{
	_cleanup_strv_free_ char **out = calloc(1, sizeof(char *));
	bool value_next = false;
	int r;

	if (!out)
		return -ENOMEM;
	STRV_FOREACH(a, argv)
	{
		char *x = NULL;
		if (value_next) {
			value_next = false;
			r = strv_extend(&out, REDACTED);
			if (r < 0)
				return r;
			continue;
		}
		if ((*a)[0] == '-' && (*a)[1]) {
			const char *eq = strchr(*a, '=');
			size_t n = eq ? (size_t)(eq - *a) : strlen(*a);
			if (secret_flag(p, *a, n)) {
				if (eq) {
					if (asprintf(&x, "%.*s=%s", (int)n, *a, REDACTED) < 0)
						return -ENOMEM;
				} else {
					value_next = true;
					if (!(x = strdup(*a)))
						return -ENOMEM;
				}
			}
		}
		if (!x && (r = redact_text(p, *a, &x)) < 0)
			return r;
		if ((r = strv_consume(&out, x)) < 0) {
			free(x);
			return r;
		}
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- [redaction] in config.toml ---- */

static bool valid_flag(const char *s)
{
	if (s[0] != '-' || !s[1])
		return false;
	for (const char *c = s; *c; c++)
		if (*c == '=' || *c == ' ' || (unsigned char)*c < 0x21 || *c == 0x7f)
			return false;
	return true;
}

static bool valid_header(const char *s)
{
	if (!s[0])
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

static bool valid_query_key(const char *s)
{
	if (!s[0])
		return false;
	for (const char *c = s; *c; c++)
		if (strchr("&;=#?", *c) || (unsigned char)*c < 0x21 || *c == 0x7f)
			return false;
	return true;
}

static int entry_error(struct diag *d, const char *file, const struct toml_entry *e,
		       const char *msg, const char *what)
{
	diag_set(d, file, e->line, e->column, "[redaction] %s: %s%s%s%s", e->key, msg,
		 what ? " '" : "", strempty(what), what ? "'" : "");
	return -EINVAL;
}

static bool is_default(const char *name)
{
	const char *const *lists[] = {default_flags, default_words, default_headers,
				      default_query_keys};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		for (const char *const *x = lists[i]; *x; x++)
			if (strcasecmp(*x, name) == 0)
				return true;
	return false;
}

static void remove_ci(char **l, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; l && l[i]; i++) {
		if (strcasecmp(l[i], name) == 0)
			free(l[i]);
		else
			l[k++] = l[i];
	}
	if (l)
		l[k] = NULL;
}

static int apply_doc(struct redact_policy *p, const struct toml_doc *doc, const char *file,
		     struct diag *d)
{
	const struct toml_entry *allow = NULL;
	bool unsafe = false;
	int r;

	for (size_t i = 0; i < doc->n; i++) {
		const struct toml_entry *e = &doc->entries[i];
		char ***extra = NULL, ***live = NULL;
		bool (*valid)(const char *) = NULL;
		if (!streq(e->table, "redaction"))
			continue;
		if (streq(e->key, "extra_flags"))
			extra = &p->extra_flags, live = &p->flags, valid = valid_flag;
		else if (streq(e->key, "extra_headers"))
			extra = &p->extra_headers, live = &p->headers, valid = valid_header;
		else if (streq(e->key, "extra_query_keys"))
			extra = &p->extra_query_keys, live = &p->query_keys,
			valid = valid_query_key;
		else if (streq(e->key, "unsafe_redaction_overrides")) {
			if (e->type != TOML_BOOL)
				return entry_error(d, file, e, "must be true or false, not",
						   toml_type_name(e->type));
			unsafe = e->b;
			continue;
		} else if (streq(e->key, "allow_unredacted_defaults")) {
			if (e->type != TOML_ARRAY)
				return entry_error(d, file, e, "must be an array of strings, not",
						   toml_type_name(e->type));
			allow = e;
			continue;
		} else
			return entry_error(
			    d, file, e,
			    "unknown key (known: extra_flags, extra_headers, extra_query_keys, "
			    "unsafe_redaction_overrides, allow_unredacted_defaults)",
			    NULL);
		if (e->type != TOML_ARRAY)
			return entry_error(d, file, e, "must be an array of strings, not",
					   toml_type_name(e->type));
		STRV_FOREACH(x, e->arr)
		{
			if (!valid(*x))
				return entry_error(d, file, e, "malformed entry", *x);
			if ((r = strv_extend_unique(extra, *x)) < 0 ||
			    (r = strv_extend_unique(live, *x)) < 0)
				return r;
		}
	}
	if (allow) {
		if (!unsafe)
			return entry_error(
			    d, file, allow,
			    "needs 'unsafe_redaction_overrides = true' in [redaction]", NULL);
		STRV_FOREACH(x, allow->arr)
		{
			if (!is_default(*x))
				return entry_error(d, file, allow,
						   "is not a default redaction rule", *x);
			remove_ci(p->flags, *x);
			remove_ci(p->words, *x);
			remove_ci(p->headers, *x);
			remove_ci(p->query_keys, *x);
			if ((r = strv_extend_unique(&p->allowed_defaults, *x)) < 0)
				return r;
		}
	}
	return 0;
}

int redact_policy_load_text(struct redact_policy *p, const char *buf, size_t len, const char *file,
			    struct diag *d)
{
	_cleanup_toml_ struct toml_doc *doc = NULL;
	int r = toml_parse(buf, len, file, &doc, d);
	if (r < 0)
		return r;
	return apply_doc(p, doc, file, d);
}

int redact_policy_load_config(struct redact_policy *p, const char *path, struct diag *d)
{
	_cleanup_toml_ struct toml_doc *doc = NULL;
	int r = toml_parse_file(path, &doc, d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return apply_doc(p, doc, path, d);
}

static int add_list(json_t *o, const char *key, char **l)
{
	if (!l || !l[0])
		return 0;
	json_t *a = json_array();
	if (!a)
		return -ENOMEM;
	STRV_FOREACH(x, l)
	if (json_array_append_new(a, json_string(*x)) < 0) {
		json_decref(a);
		return -ENOMEM;
	}
	return json_object_set_new(o, key, a) < 0 ? -ENOMEM : 0;
}

json_t *redact_policy_diff(const struct redact_policy *p)
{
	if (!p->extra_flags && !p->extra_headers && !p->extra_query_keys && !p->allowed_defaults)
		return NULL;
	json_t *o = json_object();
	if (!o || add_list(o, "extra_flags", p->extra_flags) < 0 ||
	    add_list(o, "extra_headers", p->extra_headers) < 0 ||
	    add_list(o, "extra_query_keys", p->extra_query_keys) < 0 ||
	    add_list(o, "allow_unredacted_defaults", p->allowed_defaults) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
