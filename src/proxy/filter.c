/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/filter.h"

#include <arpa/inet.h>
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
};

const char *filter_verdict_to_string(enum filter_verdict v)
{
	return v < _FILTER_VERDICT_MAX ? verdict_table[v] : "unknown";
}

static bool valid_name(const char *s)
{
	size_t label = 0, total = 0;

	for (; *s; s++, total++) {
		char ch = *s;
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return total > 0 && label > 0 && total <= HOST_NAME_MAX_LEN;
}

int host_normalize(const char *host, char *out, size_t n, bool *ret_is_ip)
{
	char buf[HOST_NAME_MAX_LEN + 2];
	size_t len = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (n < HOST_NAME_MAX_LEN + 1 || len == 0 || len > HOST_NAME_MAX_LEN + 1)
		return -EINVAL;

	/* IPv6 literal, bracketed or not. No zone ids. */
	if (host[0] == '[' || strchr(host, ':')) {
		if (host[0] == '[') {
			if (len < 3 || host[len - 1] != ']')
				return -EINVAL;
			memcpy(buf, host + 1, len - 2);
			buf[len - 2] = '\0';
		} else
			memcpy(buf, host, len + 1);
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return -EINVAL;
		if (!inet_ntop(AF_INET6, &a6, out, n))
			return -EINVAL;
		*ret_is_ip = true;
		return 0;
	}

	for (size_t i = 0; i <= len; i++)
		buf[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	if (!valid_name(buf))
		return -EINVAL;

	/*
	 * Whatever inet_aton() accepts (it is what a client library would connect to) is
	 * an address: "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518".
	 * valid_name() already excluded the whitespace inet_aton() would stop at.
	 */
	if (inet_aton(buf, &a4)) {
		if (!inet_ntop(AF_INET, &a4, out, n))
			return -EINVAL;
		*ret_is_ip = true;
		return 0;
	}
	/* A last label of digits only (or 0x...) that inet_aton refused is garbage, not a name. */
	const char *last = strrchr(buf, '.');
	last = last ? last + 1 : buf;
	if (strspn(last, "0123456789") == strlen(last) || (last[0] == '0' && last[1] == 'x'))
		return -EINVAL;

	memcpy(out, buf, len + 1);
	*ret_is_ip = false;
	return 0;
}

static bool v4_denied(const uint8_t *a)
{
	return (a[0] == 169 && a[1] == 254) || a[0] == 0;
}

bool addr_is_denied(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_denied((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family != AF_INET6)
		return true; /* fail closed on anything unexpected */

	const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t zero[12];

	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */
		return true;
	if (memcmp(a, zero, 12) == 0) { /* ::/96: ::, ::1, IPv4-compatible */
		if (memcmp(a + 12, "\0\0\0\1", 4) == 0)
			return false; /* ::1 loopback */
		return true;	      /* :: and ::a.b.c.d (deprecated, never legitimate) */
	}
	if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff) /* ::ffff:a.b.c.d */
		return v4_denied(a + 12);
	if (memcmp(a, zero, 8) == 0 && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0)
		return v4_denied(a + 12); /* ::ffff:0:a.b.c.d */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff &&
	    a[3] == 0x9b) /* 64:ff9b::/96, 64:ff9b:1::/48 */
		return v4_denied(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 */
		return v4_denied(a + 2);
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) { /* Teredo: server, ~client */
		uint8_t client[4] = {(uint8_t)~a[12], (uint8_t)~a[13], (uint8_t)~a[14],
				     (uint8_t)~a[15]};
		return v4_denied(a + 4) || v4_denied(client);
	}
	return false;
}

bool host_is_denied_name(const char *h)
{
	return streq(h, "metadata.google.internal") || streq(h, "metadata.azure.internal") ||
	       streq(h, "169.254.169.254");
}

/* Match one segment [g, gend) against [p, pend) with "*" inside a segment. */
static bool seg_match(const char *g, const char *gend, const char *p, const char *pend)
{
	while (g < gend) {
		if (*g == '*') {
			g++;
			if (g == gend)
				return true;
			for (const char *q = p; q <= pend; q++)
				if (seg_match(g, gend, q, pend))
					return true;
			return false;
		}
		if (p == pend || *g != *p)
			return false;
		g++, p++;
	}
	return p == pend;
}

static bool glob_rec(const char *g, const char *p, unsigned depth)
{
	if (depth > 64)
		return false;
	for (;;) {
		if (*g == '\0')
			return *p == '\0';
		const char *gend = strchrnul(g, '/');
		if (gend - g == 2 && g[0] == '*' && g[1] == '*') {
			const char *rest = *gend ? gend + 1 : gend;
			/* zero or more segments */
			for (const char *q = p;;) {
				if (glob_rec(rest, q, depth + 1))
					return true;
				const char *slash = strchr(q, '/');
				if (!slash) {
					if (*rest == '\0')
						return true; /* "**" at the end swallows the last
								segment */
					return false;
				}
				q = slash + 1;
			}
		}
		if (*p == '\0' && gend != g)
			return false;
		const char *pend = strchrnul(p, '/');
		if (!seg_match(g, gend, p, pend))
			return false;
		if (*gend == '\0')
			return *pend == '\0';
		if (*pend == '\0')
			return glob_rec(gend + 1, pend, depth + 1); /* only "**" matches nothing */
		g = gend + 1;
		p = pend + 1;
	}
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
	return glob_rec(glob + 1, buf + 1, 0);
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
	if (!r->wildcard)
		return r->is_ip == is_ip && streq(r->host, host);
	if (is_ip)
		return false;
	size_t hl = strlen(host), sl = strlen(r->host);
	return hl > sl + 1 && host[hl - sl - 1] == '.' && streq(host + hl - sl, r->host);
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

enum filter_verdict filter_check(const struct filter *f, const char *host, const char *path)
{
	char norm[HOST_NAME_MAX_LEN + 1];
	bool is_ip, path_restricted = false;

	if (host_normalize(host, norm, sizeof(norm), &is_ip) < 0)
		return FILTER_DENY_BAD_HOST;
	if (!is_ip && host_is_denied_name(norm))
		return FILTER_DENY_HOST;
	if (is_ip) {
		struct sockaddr_storage ss = {};
		if (inet_pton(AF_INET, norm, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, norm, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		if (addr_is_denied((struct sockaddr *)&ss))
			return FILTER_DENY_CIDR;
	}
	for (size_t i = 0; f && i < f->n_rules; i++) {
		const struct rule *r = &f->rules[i];
		if (!rule_host_match(r, norm, is_ip))
			continue;
		if (!r->path_glob)
			return FILTER_ALLOW;
		path_restricted = true;
		if (path && path_glob_match(r->path_glob, path))
			return FILTER_ALLOW;
	}
	return path_restricted ? FILTER_DENY_PATH : FILTER_DENY_NOT_ALLOWED;
}
