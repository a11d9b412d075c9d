/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Reverse-proxy paths and endpoint rules: pure functions, no I/O, fuzzed
 * (tests/fuzz/fuzz-endpoint.c).
 *
 * A request path is canonicalised once, the rules (reverse-proxy endpoint rules and
 * the forward proxy's URL rules) are matched against the result and the upstream
 * receives exactly that result, so no spelling of a path can match one way here and
 * mean another upstream. Anything a server, framework or second decoder could read
 * differently is refused rather than guessed at:
 *   - raw: a control byte, space, DEL, non-ASCII byte, '\\', '#' or ';' (a path
 *     parameter: "..;/" is ".." to Tomcat-style servers);
 *   - escaped: a malformed escape, any control or NUL, "%2F" and "%5C" (separators),
 *     "%2E" anywhere (a client never needs to encode an unreserved dot, and some
 *     servers decode it before removing dot segments), "%3B", "%25" followed by a
 *     hex digit (double encoding), and escaped bytes that are not well-formed UTF-8
 *     (overlong "%C0%AE" is '.' to a lax decoder);
 *   - segments: an empty one ("//"), "." or ".."; a trailing slash is kept.
 * What is accepted is rewritten only by decoding escapes of unreserved characters
 * (A-Z a-z 0-9 - _ ~) and upper-casing the hex of the other escapes.
 */

#include <stdbool.h>
#include <stddef.h>

/*
 * Normalise the origin-form path in[0..n) (no query string; must start with '/')
 * into out (size outsz, NUL-terminated). The result is never longer than the input
 * (one byte for an empty input) and normalises to itself. -EINVAL for a refused
 * spelling, -ENAMETOOLONG when out is too small.
 */
int endpoint_normalize(const char *in, size_t n, char *out, size_t outsz);

/*
 * An origin-form request target t[0..n) ("/path[?query]", not NUL-terminated):
 * refuse a fragment ('#') anywhere and a control, space or non-ASCII byte in the
 * query, normalise the path part into out as endpoint_normalize() does, and set
 * *ret_query_off to where the query ('?') starts in t (n when there is none).
 */
int endpoint_canon_target(const char *t, size_t n, char *out, size_t outsz, size_t *ret_query_off);

/*
 * Match a normalised path against a rule glob: "*" matches exactly one segment,
 * "**" zero or more, a '*' inside a segment any run of characters within that
 * segment; everything else is compared byte for byte (the glob is written in normal
 * form). A trailing slash on the path is ignored.
 */
bool endpoint_glob_match(const char *glob, const char *path);

/* Method "*" matches any; otherwise case-insensitive equality ("get" == "GET"). */
bool endpoint_method_match(const char *rule_method, const char *method);

/* True when the rule glob is one endpoint_glob_match understands: starts with '/',
 * printable ASCII, no '?', '#', '\\', "." or ".." segments. */
bool endpoint_glob_valid(const char *glob);
