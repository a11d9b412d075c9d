/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Reverse-proxy paths and endpoint rules: pure functions, no I/O, fuzzed
 * (tests/fuzz/fuzz-endpoint.c).
 *
 * A request path is normalised once, the rules are matched against the result and
 * the upstream receives exactly that result, so no spelling of a path can match one
 * way here and mean another upstream. Normal form:
 *   - percent-escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) are decoded,
 *     every other escape is kept with upper-case hex; "%2F" stays encoded and so
 *     stays inside one segment, like any other escaped reserved character;
 *   - "%00", a malformed escape, a backslash (raw), a control, space, non-ASCII byte
 *     or '#' is refused;
 *   - "." segments are dropped and ".." removes the previous one, after decoding
 *     (so "%2e%2e" is ".."); ".." above the root is refused;
 *   - repeated slashes collapse; a trailing slash is kept.
 */

#include <stdbool.h>
#include <stddef.h>

/*
 * Normalise the origin-form path in[0..n) (no query string; must start with '/')
 * into out (size outsz, NUL-terminated). The result is never longer than the input
 * (one byte for an empty input). -EINVAL for a refused spelling, -ENAMETOOLONG when
 * out is too small.
 */
int endpoint_normalize(const char *in, size_t n, char *out, size_t outsz);

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
