/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Destination policy for the proxy: pure functions, no I/O, fuzzed.
 *
 * Host patterns: "host" (exact), "*.suffix" (strict subdomains only, not the suffix
 * itself), an IP literal (compared by value), or a URL "http[s]://host/glob" whose
 * path glob ("*" one segment, "**" zero or more) restricts plain-HTTP requests.
 * Names are ASCII only, compared case-insensitively, one trailing dot ignored.
 *
 * Host and address classification (metadata names and addresses, literal spellings,
 * loopback through wildcards) is policy/netmatch.h's, shared with `nono why`.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "policy/netmatch.h"

enum filter_verdict {
	FILTER_ALLOW = 0,
	FILTER_DENY_NOT_ALLOWED, /* not in the allowlist */
	FILTER_DENY_PATH,	 /* host allowed only for other paths (or CONNECT to such a host) */
	FILTER_DENY_HOST,	 /* a metadata name */
	FILTER_DENY_CIDR,	 /* an always-denied address */
	FILTER_DENY_BAD_HOST,	 /* not a valid ASCII host name or IP literal */
	FILTER_DENY_LOOPBACK,	 /* loopback reached through a wildcard entry only */
	_FILTER_VERDICT_MAX,
};

/* "not_allowed", "path_restricted", "denied_host", "denied_cidr", "bad_host",
 * "denied_loopback". */
const char *filter_verdict_to_string(enum filter_verdict v);

/* Path glob match: "*" one segment, "**" zero or more segments; query string ignored.
 * path is canonicalised first (endpoint_canon_target()): a refused spelling is false. */
bool path_glob_match(const char *glob, const char *path);

struct filter;

/*
 * Compile patterns (NULL-terminated; NULL means empty). A bad pattern is -EINVAL with
 * its index in *ret_bad_index. The filter owns copies.
 */
int filter_new(char *const *patterns, struct filter **ret, size_t *ret_bad_index);
struct filter *filter_free(struct filter *f);
void filter_freep(struct filter **f);
#define _cleanup_filter_ __attribute__((cleanup(filter_freep)))

/*
 * Decide for one destination. path is the origin-form path of a plain-HTTP request,
 * or NULL for CONNECT (then a host allowed only through URL patterns is
 * FILTER_DENY_PATH: the path of a TLS tunnel cannot be checked).
 * The caller still checks every resolved address with filter_check_addrs().
 */
enum filter_verdict filter_check(const struct filter *f, const char *host, const char *path);

/*
 * filter_check(), and on FILTER_ALLOW *ret_via_wildcard (may be NULL) says whether only
 * wildcard entries admitted the host (then loopback addresses are refused).
 */
enum filter_verdict filter_check_how(const struct filter *f, const char *host, const char *path,
				     bool *ret_via_wildcard);

/*
 * The addresses a FILTER_ALLOW destination resolved to (or its literal): FILTER_ALLOW,
 * FILTER_DENY_CIDR (an always-denied address among them) or FILTER_DENY_LOOPBACK
 * (via_wildcard, and loopback or one of local's addresses; local may be NULL).
 */
enum filter_verdict filter_check_addrs(const struct sockaddr_storage *addrs, size_t n,
				       bool via_wildcard, const struct netmatch_local *local);

/* True when host matches any pattern as a host (for upstream bypass lists). */
bool filter_match_host(const struct filter *f, const char *host);
