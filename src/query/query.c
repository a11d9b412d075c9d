/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path, host and scope queries over a resolved spec (see query.h for the rules).
 */
#include "query/query.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/path.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "policy/netmatch.h"

static const char *const status_names[_QUERY_STATUS_MAX] = {
    [QUERY_ALLOWED] = "allowed",
    [QUERY_DENIED] = "denied",
    [QUERY_NOT_APPLICABLE] = "not_applicable",
};

static const char *const reason_names[_REASON_MAX] = {
    [REASON_GRANTED] = "granted",
    [REASON_SENSITIVE_PATH] = "sensitive_path",
    [REASON_BYPASSED] = "bypassed",
    [REASON_NOT_GRANTED] = "not_granted",
    [REASON_PARTIAL] = "partial",
    [REASON_NETWORK_UNRESTRICTED] = "network_unrestricted",
    [REASON_NETWORK_BLOCKED] = "network_blocked",
    [REASON_OPEN_PORT] = "open_port",
    [REASON_DOMAIN_ALLOWED] = "domain_allowed",
    [REASON_DOMAIN_NOT_ALLOWED] = "domain_not_allowed",
    [REASON_METADATA_DENIED] = "metadata_denied",
    [REASON_SCOPE_ENFORCED] = "scope_enforced",
    [REASON_SCOPE_NOT_REQUESTED] = "scope_not_requested",
    [REASON_SCOPE_UNSUPPORTED] = "scope_unsupported",
    [REASON_LOOPBACK_WILDCARD] = "loopback_via_wildcard",
    [REASON_FILE_MODE] = "file_mode",
};

static const char *const scope_names[_SCOPE_MAX] = {
    [SCOPE_SIGNAL] = "signal",
    [SCOPE_ABSTRACT_UNIX_SOCKET] = "abstract-unix-socket",
};

const char *query_status_to_string(enum query_status s)
{
	return s >= 0 && s < _QUERY_STATUS_MAX ? status_names[s] : NULL;
}

const char *query_reason_to_string(enum query_reason r)
{
	return r >= 0 && r < _REASON_MAX ? reason_names[r] : NULL;
}

const char *query_scope_to_string(enum query_scope s)
{
	return s >= 0 && s < _SCOPE_MAX ? scope_names[s] : NULL;
}

int query_scope_from_string(const char *s, enum query_scope *ret)
{
	for (int i = 0; i < _SCOPE_MAX; i++)
		if (streq(s, scope_names[i])) {
			*ret = i;
			return 0;
		}
	return -EINVAL;
}

int query_op_from_string(const char *s, unsigned *ret)
{
	if (streq(s, "read"))
		*ret = FS_READ;
	else if (streq(s, "write"))
		*ret = FS_WRITE;
	else if (streq(s, "readwrite") || streq(s, "rw"))
		*ret = FS_RW;
	else
		return -EINVAL;
	return 0;
}

static const char *const placement_names[_PROXY_PLACEMENT_MAX] = {
    [PROXY_PLACEMENT_NETNS] = "network-namespace",
    [PROXY_PLACEMENT_LANDLOCK] = "landlock-ports",
};

const char *proxy_placement_to_string(enum proxy_placement p)
{
	return (int)p >= 0 && p < _PROXY_PLACEMENT_MAX ? placement_names[p] : NULL;
}

int proxy_placement_from_string(const char *s, enum proxy_placement *ret)
{
	for (int i = 0; s && i < _PROXY_PLACEMENT_MAX; i++)
		if (placement_names[i] && streq(placement_names[i], s)) {
			*ret = (enum proxy_placement)i;
			return 0;
		}
	return -EINVAL;
}

const char *proxy_placement_describe(enum proxy_placement p)
{
	switch (p) {
	case PROXY_PLACEMENT_NETNS:
		return "private network namespace: only the proxy and forwarded ports are "
		       "reachable";
	case PROXY_PLACEMENT_LANDLOCK:
		return "host loopback with Landlock port rules: the proxy port is reachable on "
		       "any address";
	default:
		return NULL;
	}
}

const char *query_op_to_string(unsigned op)
{
	switch (op) {
	case FS_READ:
		return "read";
	case FS_WRITE:
		return "write";
	case FS_RW:
		return "readwrite";
	default:
		return NULL;
	}
}

void query_result_release(struct query_result *r)
{
	if (!r)
		return;
	free(r->subject);
	free(r->url_path);
	free(r->category);
	free(r->group);
	free(r->rule);
	free(r->origin);
	free(r->suggestion);
	free(r->address);
	*r = (struct query_result){0};
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int xasprintf(char **ret, const char *fmt, ...) _printf_(2, 3);
static int xasprintf(char **ret, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int r = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret = strbuf_detach(&sb);
	return 0;
}

/* "--allow", "profile claude-code", "group deny_credentials", "workdir", ... */
static int origin_text(const struct origin *o, char **ret)
{
	const char *n = o->name;
	switch (o->kind) {
	case ORIGIN_CLI:
	case ORIGIN_ENV:
		return dup_opt(n ? n : o->kind == ORIGIN_CLI ? "command line" : "environment", ret);
	case ORIGIN_PROFILE:
		return n ? xasprintf(ret, "profile %s", n) : dup_opt("profile", ret);
	case ORIGIN_GROUP:
		return n ? xasprintf(ret, "group %s", n) : dup_opt("group", ret);
	case ORIGIN_WORKDIR:
		return n ? xasprintf(ret, "workdir (%s)", n) : dup_opt("workdir", ret);
	case ORIGIN_IMPLIED:
		return n ? xasprintf(ret, "implied by %s", n) : dup_opt("implied", ret);
	default:
		return dup_opt(n, ret);
	}
}

static const char *grant_flag(unsigned access)
{
	return access == FS_READ ? "--read" : access == FS_WRITE ? "--write" : "--allow";
}

/*
 * The flag that grants op on path and works as typed. The plain flags take an existing
 * file or directory, and a missing path only in its file form with write: nono then
 * creates the file (mode 0600) in its existing directory. Reading a file that does not
 * exist is ENOENT, not a refusal, so a missing path gets write in its suggestion.
 */
static const char *grant_flag_for(const char *path, unsigned access)
{
	struct stat st;
	if (stat(path, &st) == 0 || errno != ENOENT)
		return grant_flag(access);
	_cleanup_free_ char *parent = strdup(path);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (!slash || slash == parent)
		return grant_flag(access);
	*slash = '\0';
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
		return grant_flag(access); /* nothing to create it in: "create it first" */
	return access & FS_READ ? "--allow-file" : "--write-file";
}

/* "~" and "~/x" against $HOME, the way a shell would have expanded them. */
static int expand_home(const char *path, char **ret)
{
	const char *home = secure_getenv("HOME");
	if ((streq(path, "~") || startswith(path, "~/")) && home && *home)
		return path_join(home, path[1] ? path + 2 : "", ret);
	return dup_opt(path, ret);
}

static bool deny_covers(const struct fs_deny *d, const char *path)
{
	/* A deny that does not exist yet covers whatever might be created beneath it. */
	if (d->is_dir || !d->exists)
		return path_is_beneath(path, d->path);
	return streq(path, d->path);
}

static bool grant_covers(const struct fs_grant *g, const char *path)
{
	if (!g->exists)
		return false; /* skipped by the sandbox: no rule */
	return g->is_file ? streq(path, g->path) : path_is_beneath(path, g->path);
}

/*
 * As root the sandboxed command holds no capability: uid 0 gets only what the mode
 * gives it as owner, group member or other. True when that refuses op on path (an
 * existing path; creating a file is the parent directory's business).
 */
static bool root_mode_refuses(const char *path, unsigned op)
{
	struct stat st;
	unsigned need = ((op & FS_READ) ? 4 : 0) | ((op & FS_WRITE) ? 2 : 0);

	if (geteuid() != 0 || stat(path, &st) < 0)
		return false;
	unsigned bits = st.st_mode & 07;
	if (st.st_uid == 0)
		bits = (st.st_mode >> 6) & 07;
	else {
		gid_t groups[256];
		int n = getgroups(ARRAY_SIZE(groups), groups);
		bool in = st.st_gid == getegid();
		for (int i = 0; i < n && !in; i++)
			in = groups[i] == st.st_gid;
		if (in)
			bits = (st.st_mode >> 3) & 07;
	}
	return (bits & need) != need;
}

int policy_query_path(const struct sandbox_spec *s, const char *path, unsigned op,
		      struct query_result *ret)
{
	_cleanup_query_result_ struct query_result q = {.kind = QUERY_PATH, .op = op};
	_cleanup_free_ char *expanded = NULL;
	const struct fs_deny *deny = NULL, *lifted = NULL;
	const struct fs_grant *best = NULL, *any = NULL;
	int r;

	if (!s || !path || !*path || !ret || op == 0 || (op & ~(unsigned)FS_RW))
		return -EINVAL;
	r = expand_home(path, &expanded);
	if (r < 0)
		return r;
	r = path_canonicalize(expanded, NULL, &q.subject, NULL);
	/* Inside a sandbox (--self) a parent may not be searchable: judge the lexical path. */
	if (r == -EACCES)
		r = path_absolute(expanded, NULL, &q.subject);
	if (r < 0)
		return r;

	/* The most specific deny decides the category shown. */
	for (size_t i = 0; i < s->n_denies; i++) {
		const struct fs_deny *d = &s->denies[i];
		if (!d->path || !deny_covers(d, q.subject))
			continue;
		const struct fs_deny **slot = d->bypassed ? &lifted : &deny;
		if (!*slot || strlen(d->path) > strlen((*slot)->path))
			*slot = d;
	}
	for (size_t i = 0; i < s->n_grants; i++) {
		const struct fs_grant *g = &s->grants[i];
		if (!g->path || !grant_covers(g, q.subject))
			continue;
		q.granted |= g->access & FS_RW;
		if (!any || strlen(g->path) > strlen(any->path))
			any = g;
		if ((g->access & op) && (!best || strlen(g->path) > strlen(best->path)))
			best = g;
	}

	if (deny) {
		q.status = QUERY_DENIED;
		q.reason = REASON_SENSITIVE_PATH;
		if (dup_opt(deny->category, &q.category) < 0 ||
		    dup_opt(deny->group, &q.group) < 0 || dup_opt(deny->path, &q.rule) < 0)
			return -ENOMEM;
		if ((q.granted & op) == op)
			r = xasprintf(&q.suggestion, "--bypass-protection %s", deny->path);
		else
			r = xasprintf(&q.suggestion, "%s %s --bypass-protection %s",
				      grant_flag_for(q.subject, op), q.subject, deny->path);
	} else if ((q.granted & op) == op && root_mode_refuses(q.subject, op)) {
		q.status = QUERY_DENIED;
		q.reason = REASON_FILE_MODE;
		if (dup_opt(best->path, &q.rule) < 0)
			return -ENOMEM;
		r = origin_text(&best->origin, &q.origin);
	} else if ((q.granted & op) == op) {
		q.status = QUERY_ALLOWED;
		q.reason = lifted ? REASON_BYPASSED : REASON_GRANTED;
		if (lifted && (dup_opt(lifted->category, &q.category) < 0 ||
			       dup_opt(lifted->group, &q.group) < 0))
			return -ENOMEM;
		/* With several grants adding up, name the most specific one that gives a right. */
		if (dup_opt(best->path, &q.rule) < 0)
			return -ENOMEM;
		r = origin_text(&best->origin, &q.origin);
	} else if (q.granted) {
		q.status = QUERY_DENIED;
		q.reason = REASON_PARTIAL;
		if (dup_opt(any->path, &q.rule) < 0 || origin_text(&any->origin, &q.origin) < 0)
			return -ENOMEM;
		r = xasprintf(&q.suggestion, "%s %s", grant_flag_for(q.subject, op & ~q.granted),
			      q.subject);
	} else {
		q.status = QUERY_DENIED;
		q.reason = REASON_NOT_GRANTED;
		r = xasprintf(&q.suggestion, "%s %s", grant_flag_for(q.subject, op), q.subject);
	}
	if (r < 0)
		return r;
	*ret = q;
	q = (struct query_result){0};
	return 0;
}

/* ---- hosts ---- */

struct host_ref {
	char *scheme;  /* lower case, NULL for a bare host */
	char *host;    /* lower case, no brackets, no trailing dot */
	char *path;    /* URL path without query or fragment; NULL for a bare host */
	uint16_t port; /* 0 when not given */
};

static void host_ref_release(struct host_ref *h)
{
	free(h->scheme);
	free(h->host);
	free(h->path);
}

static bool host_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' || c == ':' ||
	       c == '*';
}

static int parse_port_n(const char *s, size_t n, uint16_t *ret)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* "host", "host:port", "[v6]", "[v6]:port", "v6", or "scheme://[user@]host[:port][/path][?q][#f]".
 */
static int host_ref_parse(const char *in, struct host_ref *ret)
{
	struct host_ref h = {0};
	const char *auth = in, *sep = strstr(in, "://");
	size_t alen;
	int r = -EINVAL;

	if (sep) {
		h.scheme = strndup(in, (size_t)(sep - in));
		if (!h.scheme)
			return -ENOMEM;
		for (char *c = h.scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		auth = sep + 3;
	}
	alen = strcspn(auth, sep ? "/?#" : "/");
	if (!sep && auth[alen])
		goto fail; /* a bare host has no path */
	if (sep) {
		const char *p = auth + alen;
		size_t plen = strcspn(p, "?#");
		h.path = plen ? strndup(p, plen) : strdup("/");
		if (!h.path) {
			r = -ENOMEM;
			goto fail;
		}
		const char *at = memrchr(auth, '@', alen);
		if (at) {
			alen -= (size_t)(at + 1 - auth);
			auth = at + 1;
		}
	}
	const char *host = auth, *port = NULL;
	size_t hlen = alen;
	if (alen && auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		if (!close)
			goto fail;
		host = auth + 1;
		hlen = (size_t)(close - host);
		if (close + 1 < auth + alen) {
			if (close[1] != ':')
				goto fail;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(auth, ':', alen);
		/* More than one colon without brackets: a bare IPv6 address, no port. */
		if (colon && !memchr(colon + 1, ':', (size_t)(auth + alen - colon - 1))) {
			hlen = (size_t)(colon - auth);
			port = colon + 1;
		}
	}
	if (port && parse_port_n(port, (size_t)(auth + alen - port), &h.port) < 0)
		goto fail;
	if (hlen && host[hlen - 1] == '.')
		hlen--;
	if (hlen == 0 || hlen > 253)
		goto fail;
	for (size_t i = 0; i < hlen; i++)
		if (!host_char_ok(host[i]))
			goto fail;
	h.host = strndup(host, hlen);
	if (!h.host) {
		r = -ENOMEM;
		goto fail;
	}
	for (char *c = h.host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*ret = h;
	return 0;
fail:
	host_ref_release(&h);
	return r;
}

/*
 * One allowlist host (a pattern: "name", "*.suffix", an IP literal in any spelling)
 * against a normalised host, by netmatch's rule. *ret_wildcard: the pattern is "*.".
 */
static bool entry_host_matches(const char *pattern, const char *host, bool host_is_ip,
			       bool *ret_wildcard)
{
	char norm[HOST_NAME_MAX_LEN + 1];
	const char *suffix = startswith(pattern, "*.");
	bool is_ip;

	if (host_normalize(suffix ? suffix : pattern, norm, sizeof(norm), &is_ip) < 0 ||
	    (suffix && is_ip))
		return false; /* an entry the proxy refuses grants nothing */
	*ret_wildcard = suffix != NULL;
	return netmatch_host_match(norm, suffix != NULL, is_ip, host, host_is_ip);
}

bool query_host_matches(const char *pattern, const char *host)
{
	char norm[HOST_NAME_MAX_LEN + 1];
	bool is_ip, wildcard;

	if (!pattern || !host || host_normalize(host, norm, sizeof(norm), &is_ip) < 0)
		return false;
	return entry_host_matches(pattern, norm, is_ip, &wildcard);
}

/*
 * Wildcard matching without recursion: on a mismatch, only the most recent star is
 * widened by one. Linear in practice and never exponential, whatever the pattern
 * ("*****" or "**" / "**" / ...), since a profile or flag can hold any pattern.
 */

/* One segment: '*' matches any run of characters. */
static bool segment_matches(const char *g, const char *p)
{
	const char *star = NULL, *resume = NULL;
	while (*p) {
		if (*g == '*') {
			star = g++;
			resume = p;
		} else if (*g == *p) {
			g++;
			p++;
		} else if (star) {
			g = star + 1;
			p = ++resume;
		} else
			return false;
	}
	while (*g == '*')
		g++;
	return !*g;
}

/* Segments: "**" matches any run of whole segments (zero included). */
static bool segments_match(char *const *g, char *const *p)
{
	char *const *star = NULL, *const *resume = NULL;
	while (*p) {
		if (*g && streq(*g, "**")) {
			star = g++;
			resume = p;
		} else if (*g && segment_matches(*g, *p)) {
			g++;
			p++;
		} else if (star) {
			g = star + 1;
			p = ++resume;
		} else
			return false;
	}
	while (*g && streq(*g, "**"))
		g++;
	return !*g;
}

bool query_path_glob_matches(const char *glob, const char *path)
{
	_cleanup_strv_free_ char **g = NULL, **p = NULL;
	if (!glob || !path)
		return false;
	/* Fail closed: an allocation failure is "no match". */
	if (strv_split(glob, "/", &g) < 0 || strv_split(path, "/", &p) < 0)
		return false;
	return segments_match(g ? g : (char *[]){NULL}, p ? p : (char *[]){NULL});
}

/* A normalised host: the loopback names, or a literal netmatch classes as loopback. */
static bool host_is_localhost(const char *host, bool is_ip)
{
	struct sockaddr_storage ss;
	if (!is_ip)
		return streq(host, "localhost") || streq(host, "ip6-localhost");
	return netmatch_literal(host, 0, &ss) == 0 &&
	       netmatch_addr_class((const struct sockaddr *)&ss) == NETMATCH_LOOPBACK;
}

static bool port_listed(const uint16_t *ports, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static uint16_t default_port(const char *scheme)
{
	return scheme && (streq(scheme, "http") || streq(scheme, "ws")) ? 80 : 443;
}

/* One allowlist entry against the query: host pattern, then (URL entries) port and path. */
static bool allow_entry_matches(const char *entry, const struct host_ref *q, bool host_is_ip,
				uint16_t port, bool *ret_wildcard)
{
	if (!strstr(entry, "://"))
		return entry_host_matches(entry, q->host, host_is_ip, ret_wildcard);

	struct host_ref e = {0};
	bool m = false;
	if (host_ref_parse(entry, &e) < 0)
		return false; /* an entry we cannot read grants nothing */
	m = entry_host_matches(e.host, q->host, host_is_ip, ret_wildcard);
	if (m && e.port)
		m = e.port == port;
	if (m && q->scheme)
		m = streq(e.scheme, q->scheme);
	/* A path glob narrows URL queries; "/" or none is the whole host. */
	if (m && q->path && e.path && !streq(e.path, "/"))
		m = query_path_glob_matches(e.path, q->path);
	host_ref_release(&e);
	return m;
}

static int addr_text(const struct sockaddr_storage *ss, char **ret)
{
	char buf[INET6_ADDRSTRLEN];
	const void *a = ss->ss_family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, buf, sizeof(buf)))
		return -EAFNOSUPPORT;
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

int policy_query_host_resolved(const struct sandbox_spec *s, const char *host_or_url, uint16_t port,
			       const struct sockaddr_storage *addrs, size_t n,
			       const struct netmatch_local *host_local, struct query_result *ret)
{
	_cleanup_query_result_ struct query_result q = {.kind = QUERY_HOST};
	struct host_ref h = {0};
	char norm[HOST_NAME_MAX_LEN + 1];
	struct sockaddr_storage lit;
	bool is_ip;
	int r;

	if (!s || !host_or_url || !ret || (n && !addrs))
		return -EINVAL;
	r = host_ref_parse(host_or_url, &h);
	if (r < 0)
		return r;
	/* The proxy's normal form: "2852039166" is 169.254.169.254, "[::1]" is ::1. */
	if (host_normalize(h.host, norm, sizeof(norm), &is_ip) < 0) {
		host_ref_release(&h);
		return -EINVAL;
	}
	free(h.host);
	h.host = strdup(norm);
	if (!h.host) {
		host_ref_release(&h);
		return -ENOMEM;
	}
	q.port = port ? port : h.port ? h.port : default_port(h.scheme);
	q.subject = TAKE_PTR(h.host);
	q.url_path = TAKE_PTR(h.path);
	h.host = q.subject; /* borrowed for matching below */
	h.path = q.url_path;

	bool local = host_is_localhost(q.subject, is_ip);
	q.placement = s->net == NET_PROXY ? s->proxy.placement : PROXY_PLACEMENT_UNDECIDED;
	r = 0;
	switch (s->net) {
	case NET_ALLOW:
		q.status = QUERY_ALLOWED;
		q.reason = REASON_NETWORK_UNRESTRICTED;
		break;
	case NET_BLOCK:
	case NET_PROXY:
		if (local && port_listed(s->open_ports, s->n_open_ports, q.port)) {
			q.status = QUERY_ALLOWED;
			q.reason = REASON_OPEN_PORT;
			r = xasprintf(&q.rule, "--open-port %u", q.port);
			break;
		}
		q.status = QUERY_DENIED;
		if (s->net == NET_BLOCK) {
			q.reason = REASON_NETWORK_BLOCKED;
			if (local)
				r = xasprintf(&q.suggestion, "--open-port %u", q.port);
			else
				r = dup_opt("--allow-net", &q.suggestion);
			break;
		}
		if (is_ip ? netmatch_literal(q.subject, q.port, &lit) < 0 ||
				addr_is_denied((const struct sockaddr *)&lit)
			  : netmatch_name_is_metadata(q.subject)) {
			q.reason = REASON_METADATA_DENIED;
			r = dup_opt(q.subject, &q.rule);
			if (r >= 0 && is_ip)
				r = dup_opt(q.subject, &q.address);
			break;
		}
		/* An exact entry decides over wildcards, as in the proxy's filter. */
		const char *match = NULL;
		bool via_wildcard = false;
		STRV_FOREACH(e, s->proxy.allow_domains)
		{
			bool wildcard = false;
			if (!allow_entry_matches(*e, &h, is_ip, q.port, &wildcard))
				continue;
			if (!match || (via_wildcard && !wildcard)) {
				match = *e;
				via_wildcard = wildcard;
			}
			if (!wildcard)
				break;
		}
		if (!match) {
			q.reason = REASON_DOMAIN_NOT_ALLOWED;
			r = xasprintf(&q.suggestion, "--allow-domain %s", q.subject);
			break;
		}
		size_t at = 0;
		enum netmatch_verdict v =
		    is_ip ? NETMATCH_OK
			  : netmatch_check_addrs(addrs, n, via_wildcard, host_local, &at);
		if (n && !is_ip)
			r = addr_text(&addrs[at], &q.address);
		else if (is_ip)
			r = dup_opt(q.subject, &q.address);
		if (r < 0)
			break;
		if (v == NETMATCH_DENY_CIDR) {
			q.reason = REASON_METADATA_DENIED;
			r = dup_opt(match, &q.rule);
			break;
		}
		if (v == NETMATCH_DENY_LOOPBACK) {
			q.reason = REASON_LOOPBACK_WILDCARD;
			if (dup_opt(match, &q.rule) < 0 ||
			    xasprintf(&q.suggestion, "--allow-domain %s", q.subject) < 0)
				r = -ENOMEM;
			break;
		}
		q.status = QUERY_ALLOWED;
		q.reason = REASON_DOMAIN_ALLOWED;
		if (dup_opt(match, &q.rule) < 0 ||
		    (s->proxy.network_profile &&
		     xasprintf(&q.origin, "network profile %s", s->proxy.network_profile) < 0))
			r = -ENOMEM;
		break;
	default:
		r = -EINVAL;
	}
	h.host = h.path = NULL;
	host_ref_release(&h);
	if (r < 0)
		return r;
	*ret = q;
	q = (struct query_result){0};
	return 0;
}

int policy_query_host(const struct sandbox_spec *s, const char *host_or_url, uint16_t port,
		      struct query_result *ret)
{
	return policy_query_host_resolved(s, host_or_url, port, NULL, 0, NULL, ret);
}

int policy_query_scope(const struct sandbox_spec *s, enum query_scope scope, int landlock_abi,
		       struct query_result *ret)
{
	struct query_result q = {.kind = QUERY_SCOPE};
	if (!s || !ret || scope < 0 || scope >= _SCOPE_MAX)
		return -EINVAL;
	q.requested = scope == SCOPE_SIGNAL ? s->scope_signal : s->scope_abstract_unix;
	q.supported = landlock_abi >= 6;
	q.enforced = q.requested && q.supported;
	/* The question is "may this leave the sandbox": an enforced scope says no. */
	q.status = q.enforced ? QUERY_DENIED : QUERY_ALLOWED;
	q.reason = q.enforced	 ? REASON_SCOPE_ENFORCED
		   : q.requested ? REASON_SCOPE_UNSUPPORTED
				 : REASON_SCOPE_NOT_REQUESTED;
	if (dup_opt(scope_names[scope], &q.subject) < 0)
		return -ENOMEM;
	*ret = q;
	return 0;
}
