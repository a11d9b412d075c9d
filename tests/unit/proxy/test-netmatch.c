/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One table, two deciders: the proxy's verdict (filter_check_how() on the host, then
 * filter_check_addrs() on what the resolver answered, as proxy.c runs them) and
 * `nono why --host` (policy_query_host_resolved() with the same answer). Both must give
 * the table's answer, so they cannot disagree again. Names get a fake resolver answer;
 * literals need none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "base/strv.h"
#include "policy/netmatch.h"
#include "policy/spec.h"
#include "proxy/filter.h"
#include "query/query.h"

#define MAX_ENTRIES 4
#define MAX_ADDRS   3

struct row {
	const char *allow[MAX_ENTRIES]; /* NULL-terminated */
	const char *host;
	const char *addrs[MAX_ADDRS]; /* the resolver's answer for a name */
	bool allowed;
	const char *local[MAX_ADDRS]; /* the host's own interface addresses */
};

static const struct row rows[] = {
    /* Metadata literals in every spelling, even when listed explicitly. */
    {{"169.254.169.254"}, "169.254.169.254", {}, false},
    {{"169.254.169.254"}, "2852039166", {}, false},
    {{"0xa9fea9fe"}, "0251.0376.0251.0376", {}, false},
    {{"169.254.170.2"}, "169.254.170.2", {}, false},
    {{"fd00:ec2::254"}, "fd00:ec2::254", {}, false},
    {{"[fd00:ec2::254]"}, "[fd00:0ec2:0:0:0:0:0:254]", {}, false},
    {{"100.100.100.200"}, "100.100.100.200", {}, false},
    {{"0x646464c8"}, "1684301000", {}, false},
    {{"100.100.100.200"}, "[::ffff:100.100.100.200]", {}, false},
    {{"[64:ff9b::6464:64c8]"}, "[64:ff9b::100.100.100.200]", {}, false},
    {{"[64:ff9b:1:a9fe:a9:fe00::]"}, "[64:ff9b:1:a9fe:a9:fe00::]", {}, false},
    {{"[2002:a9fe:a9fe::1]"}, "[2002:a9fe:a9fe::1]", {}, false},
    {{"[::169.254.169.254]"}, "[::169.254.169.254]", {}, false},
    {{"[fe80::1]"}, "[fe80::1]", {}, false},
    {{"0.0.0.0"}, "0.0.0.0", {}, false},
    {{"[::]"}, "[::]", {}, false},
    /* Metadata names, listed or not. */
    {{"metadata.google.internal"}, "metadata.google.internal", {"8.8.8.8"}, false},
    {{"*.google.internal"}, "METADATA.Google.Internal.", {"8.8.8.8"}, false},
    {{"metadata"}, "metadata", {"8.8.8.8"}, false},
    {{"instance-data"}, "instance-data", {"8.8.8.8"}, false},
    {{"*.ec2.internal"}, "instance-data.ec2.internal", {"8.8.8.8"}, false},
    {{"metadata.azure.internal"}, "metadata.azure.internal", {"8.8.8.8"}, false},
    /* Listed names resolving to metadata addresses, alone or in a mix. */
    {{"aws6.test"}, "aws6.test", {"fd00:ec2::254"}, false},
    {{"ali.test"}, "ali.test", {"100.100.100.200"}, false},
    {{"*.rebind.test"}, "a.rebind.test", {"93.184.216.34", "169.254.169.254"}, false},
    {{"mapped.test"}, "mapped.test", {"::ffff:169.254.169.254"}, false},
    {{"nat64.test"}, "nat64.test", {"64:ff9b::a9fe:a9fe"}, false},
    /* Loopback: through a wildcard never, through an exact entry yes. */
    {{"*.wild.test"}, "x.wild.test", {"127.0.0.1"}, false},
    {{"*.wild.test"}, "x.wild.test", {"127.8.9.10"}, false},
    {{"*.wild.test"}, "x.wild.test", {"::1"}, false},
    {{"*.wild.test"}, "x.wild.test", {"::ffff:127.0.0.1"}, false},
    {{"*.wild.test"}, "x.wild.test", {"93.184.216.34", "127.0.0.1"}, false},
    {{"*.wild.test", "x.wild.test"}, "x.wild.test", {"127.0.0.1"}, true},
    {{"x.wild.test", "*.wild.test"}, "x.wild.test", {"127.0.0.1"}, true},
    {{"web.test"}, "web.test", {"127.0.0.1"}, true},
    {{"localhost"}, "localhost", {"127.0.0.1", "::1"}, true},
    {{"127.0.0.1"}, "127.0.0.1", {}, true},
    {{"127.0.0.1"}, "0x7f000001", {}, true},
    {{"[::1]"}, "::1", {}, true},
    {{"*.wild.test"}, "127.0.0.1", {}, false}, /* wildcards never match literals */
    /* Ordinary and private destinations (documented: private stays reachable). */
    {{"*.wild.test"}, "x.wild.test", {"93.184.216.34", "2606:2800:220:1::"}, true},
    {{"*.corp.test"}, "git.corp.test", {"10.1.2.3"}, true},
    {{"*.corp.test"}, "git.corp.test", {"fd12:3456::1"}, true},
    {{"*.corp.test"}, "git.corp.test", {"100.64.0.1"}, true},
    {{"10.0.0.1"}, "10.0.0.1", {}, true},
    {{"example.com"}, "example.com", {"93.184.216.34"}, true},
    {{"example.com"}, "Example.COM.", {"93.184.216.34"}, true},
    {{"example.com"}, "www.example.com", {"93.184.216.34"}, false},
    {{"*.example.com"}, "example.com", {"93.184.216.34"}, false},
    {{"192.0.0.192"}, "192.0.0.192", {}, false},
    {{"[64:ff9b::808:808]"}, "[64:ff9b::808:808]", {}, true},
    /* The host's own interface addresses count as loopback for wildcard-only names. */
    {{"*.wild.test"}, "y.wild.test", {"10.9.9.9"}, false, {"10.9.9.9"}},
    {{"*.wild.test"}, "y.wild.test", {"::ffff:10.9.9.9"}, false, {"10.9.9.9"}},
    {{"*.wild.test"}, "y.wild.test", {"2001:db8::5"}, false, {"10.9.9.9", "2001:db8::5"}},
    {{"*.wild.test"}, "y.wild.test", {"10.9.9.8"}, true, {"10.9.9.9"}},
    {{"y.wild.test"}, "y.wild.test", {"10.9.9.9"}, true, {"10.9.9.9"}},
    {{"10.9.9.9"}, "10.9.9.9", {}, true, {"10.9.9.9"}},
};

static size_t fake_resolve(const struct row *r, struct sockaddr_storage *addrs)
{
	size_t n = 0;
	for (; n < MAX_ADDRS && r->addrs[n]; n++)
		assert_int_equal(netmatch_literal(r->addrs[n], 443, &addrs[n]), 0);
	return n;
}

static void fake_local(const struct row *r, struct netmatch_local *l)
{
	l->n = 0;
	l->incomplete = false;
	for (; l->n < MAX_ADDRS && r->local[l->n]; l->n++)
		assert_int_equal(netmatch_literal(r->local[l->n], 0, &l->addrs[l->n]), 0);
}

/* The proxy: host filter first, then every address of the answer (or the literal). */
static bool proxy_allows(const struct row *r)
{
	_cleanup_filter_ struct filter *f = NULL;
	struct sockaddr_storage addrs[MAX_ADDRS];
	char norm[HOST_NAME_MAX_LEN + 1];
	bool wildcard = false, is_ip;
	size_t n;

	assert_int_equal(filter_new((char *const *)r->allow, &f, NULL), 0);
	if (filter_check_how(f, r->host, NULL, &wildcard) != FILTER_ALLOW)
		return false;
	assert_int_equal(host_normalize(r->host, norm, sizeof(norm), &is_ip), 0);
	if (is_ip) {
		assert_int_equal(netmatch_literal(norm, 443, &addrs[0]), 0);
		n = 1;
	} else
		n = fake_resolve(r, addrs);
	_cleanup_free_ struct netmatch_local *local = malloc(sizeof(*local));
	assert_non_null(local);
	fake_local(r, local);
	return filter_check_addrs(addrs, n, wildcard, local) == FILTER_ALLOW;
}

/* `nono why --host`, given the same resolver answer. */
static bool why_allows(const struct row *r, struct query_result *q)
{
	_cleanup_spec_ struct sandbox_spec *s = calloc(1, sizeof(*s));
	struct sockaddr_storage addrs[MAX_ADDRS];

	assert_non_null(s);
	s->net = NET_PROXY;
	for (size_t i = 0; i < MAX_ENTRIES && r->allow[i]; i++)
		assert_int_equal(strv_extend(&s->proxy.allow_domains, r->allow[i]), 0);
	size_t n = fake_resolve(r, addrs);
	_cleanup_free_ struct netmatch_local *local = malloc(sizeof(*local));
	assert_non_null(local);
	fake_local(r, local);
	assert_int_equal(policy_query_host_resolved(s, r->host, 443, addrs, n, local, q), 0);
	return q->status == QUERY_ALLOWED;
}

static void test_proxy_and_why_agree(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_query_result_ struct query_result q = {0};
		bool p = proxy_allows(&rows[i]), w = why_allows(&rows[i], &q);
		if (p != rows[i].allowed || w != rows[i].allowed)
			fail_msg("row %zu '%s' (allow '%s'): proxy %s, why %s (%s), expected %s", i,
				 rows[i].host, rows[i].allow[0], p ? "allows" : "denies",
				 w ? "allows" : "denies", query_reason_to_string(q.reason),
				 rows[i].allowed ? "allowed" : "denied");
	}
}

static void test_why_names_the_deciding_address(void **state)
{
	(void)state;
	_cleanup_query_result_ struct query_result q = {0};
	const struct row mix = {
	    {"*.rebind.test"}, "a.rebind.test", {"93.184.216.34", "::1"}, false};

	assert_false(why_allows(&mix, &q));
	assert_int_equal(q.reason, REASON_LOOPBACK_WILDCARD);
	assert_string_equal(q.address, "::1");
	assert_string_equal(q.rule, "*.rebind.test");
	query_result_release(&q);

	const struct row meta = {{"ali.test"}, "ali.test", {"8.8.8.8", "100.100.100.200"}, false};
	assert_false(why_allows(&meta, &q));
	assert_int_equal(q.reason, REASON_METADATA_DENIED);
	assert_string_equal(q.address, "100.100.100.200");
}

static void test_classes(void **state)
{
	(void)state;
	static const struct {
		const char *addr;
		enum netmatch_class c;
	} cases[] = {
	    {"169.254.170.2", NETMATCH_DENIED},
	    {"fd00:ec2::254", NETMATCH_DENIED},
	    {"fd00:ec2::23", NETMATCH_DENIED},
	    {"100.100.100.200", NETMATCH_DENIED},
	    {"100.100.100.201", NETMATCH_PRIVATE},
	    {"127.0.0.1", NETMATCH_LOOPBACK},
	    {"::ffff:127.1.2.3", NETMATCH_LOOPBACK},
	    {"::1", NETMATCH_LOOPBACK},
	    {"::127.0.0.1", NETMATCH_DENIED},
	    {"0.0.0.0", NETMATCH_DENIED},
	    {"10.0.0.1", NETMATCH_PRIVATE},
	    {"172.31.255.255", NETMATCH_PRIVATE},
	    {"172.32.0.1", NETMATCH_PUBLIC},
	    {"fc00::1", NETMATCH_PRIVATE},
	    {"8.8.8.8", NETMATCH_PUBLIC},
	    {"64:ff9b:1::a9fe:a9fe", NETMATCH_DENIED},
	    {"64:ff9b:1:a9fe:a9:fe00::", NETMATCH_DENIED}, /* /48 position */
	    {"64:ff9b:1::808:808", NETMATCH_PUBLIC},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage ss;
		assert_int_equal(netmatch_literal(cases[i].addr, 0, &ss), 0);
		enum netmatch_class c = netmatch_addr_class((struct sockaddr *)&ss);
		if (c != cases[i].c)
			fail_msg("%s: %s, expected %s", cases[i].addr, netmatch_class_to_string(c),
				 netmatch_class_to_string(cases[i].c));
	}
}

static void test_local_addresses(void **state)
{
	(void)state;
	_cleanup_free_ struct netmatch_local *l = malloc(sizeof(*l));
	struct sockaddr_storage ss;

	assert_non_null(l);
	assert_int_equal(netmatch_local_load(l), 0);
	assert_false(l->incomplete);
	for (size_t i = 0; i < l->n; i++)
		assert_int_not_equal(netmatch_addr_class((struct sockaddr *)&l->addrs[i]),
				     NETMATCH_LOOPBACK);
	/* Unreadable or too many: every address counts as local (fail closed). */
	l->incomplete = true;
	assert_int_equal(netmatch_literal("93.184.216.34", 443, &ss), 0);
	assert_int_equal(netmatch_check_addrs(&ss, 1, true, l, NULL), NETMATCH_DENY_LOOPBACK);
	assert_int_equal(netmatch_check_addrs(&ss, 1, false, l, NULL), NETMATCH_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proxy_and_why_agree),
	    cmocka_unit_test(test_why_names_the_deciding_address),
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_local_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
