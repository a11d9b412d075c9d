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
 * Always denied, whatever the allowlist says: the cloud metadata names, and these
 * addresses (checked on literals and on every resolved address):
 *   169.254.0.0/16 (link-local, metadata), fe80::/10 (link-local),
 *   0.0.0.0/8 and :: (the unspecified address reaches the local host on Linux),
 *   and any IPv6 form that embeds a denied IPv4 address: IPv4-mapped ::ffff:0:0/96,
 *   IPv4-compatible ::/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and
 *   64:ff9b:1::/48, 6to4 2002::/16 and Teredo 2001::/32.
 * RFC 1918 and loopback are not denied (enterprise hosts; local test servers).
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#define HOST_NAME_MAX_LEN 253

enum filter_verdict {
	FILTER_ALLOW = 0,
	FILTER_DENY_NOT_ALLOWED, /* not in the allowlist */
	FILTER_DENY_PATH,	 /* host allowed only for other paths (or CONNECT to such a host) */
	FILTER_DENY_HOST,	 /* a metadata name */
	FILTER_DENY_CIDR,	 /* an always-denied address */
	FILTER_DENY_BAD_HOST,	 /* not a valid ASCII host name or IP literal */
	_FILTER_VERDICT_MAX,
};

/* "not_allowed", "path_restricted", "denied_host", "denied_cidr", "bad_host". */
const char *filter_verdict_to_string(enum filter_verdict v);

/*
 * Validate and normalise a host into out (size >= HOST_NAME_MAX_LEN + 1): lowercase,
 * one trailing dot removed, IPv6 brackets removed, and an IP literal in any spelling
 * inet_aton() accepts (decimal, hex, octal, short forms) rewritten in canonical form.
 * Sets *ret_is_ip when the host is an IP literal. -EINVAL for anything else.
 */
int host_normalize(const char *host, char *out, size_t n, bool *ret_is_ip);

/* True for the always-denied addresses above. Accepts AF_INET and AF_INET6. */
bool addr_is_denied(const struct sockaddr *sa);

/* True when a normalised host is one of the metadata names. */
bool host_is_denied_name(const char *normalized);

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
 * The caller still checks every resolved address with addr_is_denied().
 */
enum filter_verdict filter_check(const struct filter *f, const char *host, const char *path);

/* True when host matches any pattern as a host (for upstream bypass lists). */
bool filter_match_host(const struct filter *f, const char *host);
