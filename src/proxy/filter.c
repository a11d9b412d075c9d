/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/filter.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/macro.h"
#include "proxy/endpoint.h"

static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

struct rule {
	char *host;    /* normalised; for wildcards the suffix without "*." */
	bool wildcard; /* "*.suffix" */
	bool is_ip;
	char *path_glob; /* NULL: every path */
};

struct filter {
	struct rule *rules;
	size_t n_rules;
};

static const char *const verdict_table[_FILTER_VERDICT_MAX] = {
    [FILTER_ALLOW] = "allowed",
    [FILTER_DENY_NOT_ALLOWED] = "not_allowed",
    [FILTER_DENY_PATH] = "path_restricted",
    [FILTER_DENY_HOST] = "denied_host",
    [FILTER_DENY_CIDR] = "denied_cidr",
    [FILTER_DENY_BAD_HOST] = "bad_host",
    [FILTER_DENY_LOOPBACK] = "denied_loopback",
};

const char *filter_verdict_to_string(enum filter_verdict v)
{
	return v < _FILTER_VERDICT_MAX ? verdict_table[v] : "unknown";
}

bool path_glob_match(const char *glob, const char *path)
{
	char buf[8192];
	size_t qoff;

	if (glob[0] != '/')
		return false;
	/* The one canonical form (endpoint.h); a spelling it refuses matches nothing. */
	if (endpoint_canon_target(path, strlen(path), buf, sizeof(buf), &qoff) < 0)
		return false;
	/* One glob (endpoint.c): linear per segment and bounded in steps, where the
	 * recursive matcher that was here took minutes on a pattern of many '*'. */
	return endpoint_glob_match(glob, buf);
}

static int rule_parse(const char *pat, struct rule *r)
{
	char host[HOST_NAME_MAX_LEN + 2], norm[HOST_NAME_MAX_LEN + 1];
	const char *rest = NULL, *h = pat;
	bool is_ip;

	*r = (struct rule){};
	if ((rest = startswith(pat, "https://")) || (rest = startswith(pat, "http://"))) {
		size_t hl = strcspn(rest, "/");
		if (hl == 0 || hl >= sizeof(host) || memchr(rest, '@', hl))
			return -EINVAL;
		memcpy(host, rest, hl);
		host[hl] = '\0';
		if (host[0] != '[' && strchr(host, ':'))
			return -EINVAL; /* ports in URL patterns are not supported */
		h = host;
		if (rest[hl] == '/' && !streq(rest + hl, "/**")) {
			r->path_glob = strdup(rest + hl);
			if (!r->path_glob)
				return -ENOMEM;
		}
	} else if (strstr(pat, "://"))
		return -EINVAL;

	if (h[0] == '*') {
		if (h[1] != '.') {
			r->path_glob = mfree(r->path_glob);
			return -EINVAL;
		}
		r->wildcard = true;
		h += 2;
	}
	int k = host_normalize(h, norm, sizeof(norm), &is_ip);
	if (k < 0 || (is_ip && r->wildcard)) {
		r->path_glob = mfree(r->path_glob);
		return -EINVAL;
	}
	r->is_ip = is_ip;
	r->host = strdup(norm);
	if (!r->host) {
		r->path_glob = mfree(r->path_glob);
		return -ENOMEM;
	}
	return 0;
}

struct filter *filter_free(struct filter *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n_rules; i++) {
		free(f->rules[i].host);
		free(f->rules[i].path_glob);
	}
	free(f->rules);
	free(f);
	return NULL;
}

void filter_freep(struct filter **f)
{
	*f = filter_free(*f);
}

int filter_new(char *const *patterns, struct filter **ret, size_t *ret_bad_index)
{
	_cleanup_filter_ struct filter *f = calloc(1, sizeof(*f));
	size_t n = 0;

	if (!f)
		return -ENOMEM;
	while (patterns && patterns[n])
		n++;
	if (n) {
		f->rules = calloc(n, sizeof(*f->rules));
		if (!f->rules)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int r = rule_parse(patterns[i], &f->rules[i]);
		if (r < 0) {
			if (ret_bad_index)
				*ret_bad_index = i;
			return r;
		}
		f->n_rules++;
	}
	*ret = TAKE_PTR(f);
	return 0;
}

static bool rule_host_match(const struct rule *r, const char *host, bool is_ip)
{
	return netmatch_host_match(r->host, r->wildcard, r->is_ip, host, is_ip);
}

bool filter_match_host(const struct filter *f, const char *host)
{
	char norm[HOST_NAME_MAX_LEN + 1];
	bool is_ip;

	if (!f || host_normalize(host, norm, sizeof(norm), &is_ip) < 0)
		return false;
	for (size_t i = 0; i < f->n_rules; i++)
		if (rule_host_match(&f->rules[i], norm, is_ip))
			return true;
	return false;
}

enum filter_verdict filter_check_how(const struct filter *f, const char *host, const char *path,
				     bool *ret_via_wildcard)
{
	char norm[HOST_NAME_MAX_LEN + 1];
	bool is_ip, path_restricted = false, by_wildcard = false;

	if (host_normalize(host, norm, sizeof(norm), &is_ip) < 0)
		return FILTER_DENY_BAD_HOST;
	if (!is_ip && netmatch_name_is_metadata(norm))
		return FILTER_DENY_HOST;
	if (is_ip) {
		struct sockaddr_storage ss;
		if (netmatch_literal(norm, 0, &ss) < 0 || addr_is_denied((struct sockaddr *)&ss))
			return FILTER_DENY_CIDR;
	}
	for (size_t i = 0; f && i < f->n_rules; i++) {
		const struct rule *r = &f->rules[i];
		if (!rule_host_match(r, norm, is_ip))
			continue;
		if (r->path_glob) {
			path_restricted = true;
			if (!path || !path_glob_match(r->path_glob, path))
				continue;
		}
		if (!r->wildcard) {
			if (ret_via_wildcard)
				*ret_via_wildcard = false;
			return FILTER_ALLOW;
		}
		by_wildcard = true; /* an exact entry further on may still admit it */
	}
	if (by_wildcard) {
		if (ret_via_wildcard)
			*ret_via_wildcard = true;
		return FILTER_ALLOW;
	}
	return path_restricted ? FILTER_DENY_PATH : FILTER_DENY_NOT_ALLOWED;
}

enum filter_verdict filter_check(const struct filter *f, const char *host, const char *path)
{
	return filter_check_how(f, host, path, NULL);
}

enum filter_verdict filter_check_addrs(const struct sockaddr_storage *addrs, size_t n,
				       bool via_wildcard, const struct netmatch_local *local)
{
	switch (netmatch_check_addrs(addrs, n, via_wildcard, local, NULL)) {
	case NETMATCH_OK:
		return FILTER_ALLOW;
	case NETMATCH_DENY_LOOPBACK:
		return FILTER_DENY_LOOPBACK;
	default:
		return FILTER_DENY_CIDR;
	}
}
