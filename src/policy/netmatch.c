/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/netmatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "base/macro.h"

static const char *const class_table[_NETMATCH_CLASS_MAX] = {
    [NETMATCH_PUBLIC] = "public",
    [NETMATCH_PRIVATE] = "private",
    [NETMATCH_LOOPBACK] = "loopback",
    [NETMATCH_DENIED] = "denied",
};

static const char *const verdict_table[_NETMATCH_VERDICT_MAX] = {
    [NETMATCH_OK] = "allowed",
    [NETMATCH_DENY_CIDR] = "denied_cidr",
    [NETMATCH_DENY_LOOPBACK] = "denied_loopback",
};

const char *netmatch_class_to_string(enum netmatch_class c)
{
	return c < _NETMATCH_CLASS_MAX ? class_table[c] : "unknown";
}

const char *netmatch_verdict_to_string(enum netmatch_verdict v)
{
	return v < _NETMATCH_VERDICT_MAX ? verdict_table[v] : "unknown";
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
		if (!inet_ntop(AF_INET6, &a6, out, (socklen_t)n))
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
		if (!inet_ntop(AF_INET, &a4, out, (socklen_t)n))
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

int netmatch_literal(const char *s, unsigned short port, struct sockaddr_storage *ret)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	} else
		return -EINVAL;
	*ret = ss;
	return 0;
}

bool netmatch_name_is_metadata(const char *h)
{
	static const char *const names[] = {
	    "metadata",
	    "metadata.google.internal",
	    "metadata.goog",
	    "metadata.azure.internal",
	    "instance-data",
	    "instance-data.ec2.internal",
	    "metadata.tencentyun.com",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(h, names[i]))
			return true;
	return false;
}

/* The cloud metadata endpoints and link-local: never reachable, in any embedding. */
static bool v4_metadata(const uint8_t *a)
{
	return (a[0] == 169 && a[1] == 254) ||				     /* link-local */
	       (a[0] == 100 && a[1] == 100 && a[2] == 100 && a[3] == 200) || /* Alibaba */
	       (a[0] == 192 && a[1] == 0 && a[2] == 0 && a[3] == 192);	     /* Oracle */
}

/* Denied: metadata, and 0.0.0.0/8 (reaches the local host on Linux). */
static bool v4_denied(const uint8_t *a)
{
	return v4_metadata(a) || a[0] == 0;
}

static enum netmatch_class v4_class(const uint8_t *a)
{
	if (v4_denied(a))
		return NETMATCH_DENIED;
	if (a[0] == 127)
		return NETMATCH_LOOPBACK;
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64))
		return NETMATCH_PRIVATE;
	return NETMATCH_PUBLIC;
}

/* 64:ff9b:1::/48 is local use: the operator picks the RFC 6052 prefix length. */
static bool nat64_local_metadata(const uint8_t *a)
{
	static const uint8_t pos[][4] = {{6, 7, 9, 10}, {7, 9, 10, 11}, {9, 10, 11, 12}};
	for (size_t i = 0; i < ARRAY_SIZE(pos); i++) {
		uint8_t v4[4] = {a[pos[i][0]], a[pos[i][1]], a[pos[i][2]], a[pos[i][3]]};
		if (v4_metadata(v4))
			return true;
	}
	return false;
}

static enum netmatch_class v6_class(const uint8_t *a)
{
	static const uint8_t zero[12];

	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */
		return NETMATCH_DENIED;
	if (a[0] == 0xfd && a[1] == 0x00 && a[2] == 0x0e && a[3] == 0xc2) /* fd00:ec2::/32 */
		return NETMATCH_DENIED;
	if (memcmp(a, zero, 12) == 0) { /* ::/96: ::, ::1, IPv4-compatible */
		if (memcmp(a + 12, "\0\0\0\1", 4) == 0)
			return NETMATCH_LOOPBACK; /* ::1 */
		return NETMATCH_DENIED;		  /* :: and ::a.b.c.d (deprecated) */
	}
	if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff) /* ::ffff:a.b.c.d */
		return v4_class(a + 12); /* Linux connects these through IPv4: same class */
	if (memcmp(a, zero, 8) == 0 && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0)
		return v4_denied(a + 12) ? NETMATCH_DENIED : NETMATCH_PUBLIC; /* ::ffff:0:a.b.c.d */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) {   /* NAT64 */
		if (v4_denied(a + 12))
			return NETMATCH_DENIED;
		if (a[4] == 0 && a[5] == 1 && nat64_local_metadata(a))
			return NETMATCH_DENIED;
		return NETMATCH_PUBLIC;
	}
	if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 */
		return v4_denied(a + 2) ? NETMATCH_DENIED : NETMATCH_PUBLIC;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) { /* Teredo: server, ~client */
		uint8_t client[4] = {(uint8_t)~a[12], (uint8_t)~a[13], (uint8_t)~a[14],
				     (uint8_t)~a[15]};
		return v4_denied(a + 4) || v4_denied(client) ? NETMATCH_DENIED : NETMATCH_PUBLIC;
	}
	if ((a[0] & 0xfe) == 0xfc) /* fc00::/7 */
		return NETMATCH_PRIVATE;
	return NETMATCH_PUBLIC;
}

enum netmatch_class netmatch_addr_class(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_class((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return v6_class(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	return NETMATCH_DENIED; /* fail closed on anything unexpected */
}

bool addr_is_denied(const struct sockaddr *sa)
{
	return netmatch_addr_class(sa) == NETMATCH_DENIED;
}

bool netmatch_host_match(const char *entry, bool entry_wildcard, bool entry_is_ip, const char *host,
			 bool host_is_ip)
{
	if (!entry_wildcard)
		return entry_is_ip == host_is_ip && streq(entry, host);
	if (host_is_ip)
		return false;
	size_t hl = strlen(host), sl = strlen(entry);
	return hl > sl + 1 && host[hl - sl - 1] == '.' && streq(host + hl - sl, entry);
}

int netmatch_local_load(struct netmatch_local *ret)
{
	struct ifaddrs *ifa = NULL;

	ret->n = 0;
	ret->incomplete = false;
	if (getifaddrs(&ifa) < 0) {
		ret->incomplete = true;
		return -errno;
	}
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
			continue;
		enum netmatch_class c = netmatch_addr_class(sa);
		if (c == NETMATCH_LOOPBACK || c == NETMATCH_DENIED)
			continue;
		if (ret->n == NETMATCH_MAX_LOCAL) {
			ret->incomplete = true;
			break;
		}
		struct sockaddr_storage *d = &ret->addrs[ret->n++];
		memset(d, 0, sizeof(*d));
		memcpy(d, sa,
		       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifa);
	return ret->incomplete ? -E2BIG : 0;
}

/* The IPv4 address sa stands for (AF_INET, or IPv4-mapped AF_INET6), or NULL. */
static const uint8_t *v4_of(const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (sa->sa_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, 12) == 0)
			return a + 12;
	}
	return NULL;
}

bool netmatch_addr_is_local(const struct netmatch_local *local, const struct sockaddr *sa)
{
	if (!local)
		return false;
	if (local->incomplete)
		return true;
	const uint8_t *v4 = v4_of(sa);
	for (size_t i = 0; i < local->n; i++) {
		const struct sockaddr *l = (const struct sockaddr *)&local->addrs[i];
		const uint8_t *l4 = v4_of(l);
		if (v4 || l4) {
			if (v4 && l4 && memcmp(v4, l4, 4) == 0)
				return true;
			continue;
		}
		if (sa->sa_family == AF_INET6 && l->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
			   &((const struct sockaddr_in6 *)l)->sin6_addr, 16) == 0)
			return true;
	}
	return false;
}

enum netmatch_verdict netmatch_check_addrs(const struct sockaddr_storage *addrs, size_t n,
					   bool via_wildcard, const struct netmatch_local *local,
					   size_t *ret_index)
{
	enum netmatch_verdict v = NETMATCH_OK;
	size_t at = 0;

	/* Denied addresses first: they decide over a loopback one elsewhere in the list. */
	for (size_t i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];
		enum netmatch_class c = netmatch_addr_class(sa);
		if (c == NETMATCH_DENIED) {
			v = NETMATCH_DENY_CIDR;
			at = i;
			break;
		}
		if (via_wildcard && v == NETMATCH_OK &&
		    (c == NETMATCH_LOOPBACK || netmatch_addr_is_local(local, sa))) {
			v = NETMATCH_DENY_LOOPBACK;
			at = i;
		}
	}
	if (ret_index)
		*ret_index = at;
	return v;
}
