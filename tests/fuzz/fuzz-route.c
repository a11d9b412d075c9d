/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: whole requests through routing, no sockets. The input is a raw
 * request, copied into a buffer of exactly its size (no terminating NUL, as in the
 * proxies' head buffers, so a C-string function on a span is an ASan report). It is
 * parsed as the proxies parse it, then routed by the reverse proxy (origin-form:
 * service, canonical path, endpoint rules) or the forward proxy (absolute and
 * authority form: URL rules). Invariants checked:
 *  - whatever is routed carries a canonical path (normalising it changes nothing);
 *  - the endpoint rule GET /allowed/(**) and the URL rule http://h.example/allowed/(**)
 *    only let through paths at or under /allowed, and no other method;
 *  - the query handed on lies inside the request buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/macro.h"
#include "proxy/endpoint.h"
#include "proxy/filter.h"
#include "proxy/http1.h"
#include "proxy/proxy.h"
#include "proxy/reverse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PHANTOM "nono-phantom-0123456789abcdef0123456789abcdef"

static struct reverse *rv;
static struct filter *allow;

static void setup(void)
{
	static const struct proxy_endpoint rules[] = {{"GET", "/allowed/**"}};
	static const struct proxy_service svcs[] = {
	    {.name = "svc",
	     .upstream = "https://127.0.0.1:9/base",
	     .header = "x-api-key",
	     .format = "{}",
	     .phantom = PHANTOM,
	     .secret = "secret",
	     .secret_len = 6,
	     .rules = rules,
	     .n_rules = 1},
	    {.name = "open",
	     .upstream = "https://127.0.0.1:9",
	     .header = "Authorization",
	     .format = "Bearer {}",
	     .phantom = PHANTOM "x",
	     .secret = "secret",
	     .secret_len = 6},
	};
	static const struct reverse_config cfg = {
	    .services = svcs,
	    .n_services = ARRAY_SIZE(svcs),
	    .token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	char *pats[] = {(char *)"http://h.example/allowed/**", (char *)"*.com", NULL};
	if (reverse_new(&cfg, &rv, NULL) < 0 || filter_new(pats, &allow, NULL) < 0)
		abort();
}

static bool under_allowed(const char *p)
{
	return strncmp(p, "/allowed", 8) == 0 && (p[8] == '\0' || p[8] == '/');
}

static void check_canonical(const char *p)
{
	char again[HTTP1_MAX_TARGET + 2];
	if (endpoint_normalize(p, strlen(p), again, sizeof(again)) < 0 || !streq(p, again))
		__builtin_trap();
}

static void check_query(struct span q, const char *buf, size_t size)
{
	if (q.n && (q.p < buf || q.p + q.n > buf + size || q.p[0] != '?'))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_head h;

	if (!rv)
		setup();
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (http1_parse_head(buf, size, &h) != 1)
		goto out;

	struct proxy_route *pr = malloc(sizeof(*pr));
	if (!pr)
		goto out;
	proxy_route(allow, &h, pr);
	if (pr->reverse) {
		struct reverse_route *rt = malloc(sizeof(*rt));
		if (rt) {
			reverse_route(rv, &h, rt);
			if (rt->status == 0) {
				check_canonical(rt->path);
				check_canonical(rt->rest);
				check_query(rt->query, buf, size);
				if (rt->svc == 0 && rt->allowed &&
				    (!under_allowed(rt->rest) || !streq(h.method_str, "GET")))
					__builtin_trap();
			}
			free(rt);
		}
	} else if (pr->status == 0) {
		check_query(pr->query, buf, size);
		if (!pr->is_connect) {
			check_canonical(pr->path);
			if (pr->verdict == FILTER_ALLOW && streq(pr->host, "h.example") &&
			    !under_allowed(pr->path))
				__builtin_trap();
		} else if (pr->verdict == FILTER_ALLOW && streq(pr->host, "h.example"))
			__builtin_trap(); /* a path-restricted host cannot be tunnelled */
	}
	free(pr);
out:
	free(buf);
	return 0;
}
