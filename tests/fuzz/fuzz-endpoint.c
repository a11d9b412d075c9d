/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: reverse-proxy path normalisation and endpoint globs.
 * Input: "glob\npath". Invariants checked:
 *  - a normalised path starts with '/', has no "//", no "." or ".." segment, no
 *    backslash, ';' or '#', no "%00", "%2E", "%2F", "%5C", "%3B" or "%25" before a
 *    hex digit, only upper-case hex in escapes, and is never longer than the input;
 *  - normalising it again changes nothing (the upstream gets what was matched);
 *  - matching terminates (step budget) and the glob "/ + **" matches every path.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "proxy/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_normal(const char *p, size_t in_len)
{
	size_t n = strlen(p);
	if (p[0] != '/' || (in_len > 0 && n > in_len) || strstr(p, "//") || strchr(p, '\\') ||
	    strstr(p, "%00") || strchr(p, ';') || strchr(p, '#') || strstr(p, "%2E") ||
	    strstr(p, "%2F") || strstr(p, "%5C") || strstr(p, "%3B"))
		__builtin_trap();
	for (const char *s = p; *s;) {
		s++;
		size_t l = strcspn(s, "/");
		if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			__builtin_trap();
		s += l;
	}
	for (const char *s = strchr(p, '%'); s; s = strchr(s + 1, '%'))
		if (!((s[1] >= '0' && s[1] <= '9') || (s[1] >= 'A' && s[1] <= 'F')) ||
		    !((s[2] >= '0' && s[2] <= '9') || (s[2] >= 'A' && s[2] <= 'F')) ||
		    (s[1] == '2' && s[2] == '5' && isxdigit((unsigned char)s[3])))
			__builtin_trap(); /* and no double encoding */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096], out[4096], again[4096];

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *glob = buf, *path = memchr(buf, '\n', size);
	if (!path)
		return 0;
	*path++ = '\0';
	size_t pl = size - (size_t)(path - buf);

	if (endpoint_normalize(path, pl, out, sizeof(out)) < 0)
		return 0;
	check_normal(out, pl);
	if (endpoint_normalize(out, strlen(out), again, sizeof(again)) < 0 || !streq(out, again))
		__builtin_trap();
	if (!endpoint_glob_match("/**", out))
		__builtin_trap();
	if (endpoint_glob_valid(glob))
		(void)endpoint_glob_match(glob, out);
	(void)endpoint_method_match(glob, "GET");
	return 0;
}
