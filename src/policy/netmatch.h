/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The one host and address classifier: used by the proxy (CONNECT, plain HTTP), the
 * reverse proxy's upstream connect and `nono why --host`, so they cannot disagree.
 * Pure functions; the only I/O is netmatch_local_load().
 *
 * Always denied, whatever the allowlist says:
 *   - metadata names: metadata, metadata.google.internal, metadata.goog,
 *     metadata.azure.internal, instance-data, instance-data.ec2.internal,
 *     metadata.tencentyun.com;
 *   - addresses: 169.254.0.0/16 (link-local; AWS/GCP/Azure/OCI 169.254.169.254, ECS
 *     169.254.170.2), 100.100.100.200 (Alibaba), 192.0.0.192 (Oracle classic),
 *     fd00:ec2::/32 (AWS IPv6 metadata fd00:ec2::254, DNS, NTP), fe80::/10, the
 *     unspecified addresses 0.0.0.0/8 and :: (they reach the local host on Linux), the
 *     deprecated IPv4-compatible ::/96 (except ::1), and every IPv6 form that embeds a
 *     denied IPv4 address: IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96,
 *     NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (every RFC 6052 position), 6to4 2002::/16,
 *     Teredo 2001::/32 (server and obfuscated client).
 *   IPv4 literals in every spelling inet_aton() accepts (decimal, hex, octal, short
 *   forms) are normalised first, so they meet the same table.
 *
 * Loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) is reached only through an exact
 * allowlist entry (an IP literal, "localhost", or an exact name): a name that only a
 * wildcard ("*.example.com") allows never connects to loopback, since whoever controls
 * that zone's DNS could otherwise point it at the host's own services (DNS rebinding).
 * The same holds for the addresses of the host's own interfaces (a connection to the
 * host's LAN address reaches services bound to 0.0.0.0 just as 127.0.0.1 does).
 *
 * Private ranges (RFC 1918, 100.64.0.0/10, fc00::/7) stay reachable for wildcard names
 * too: "*.corp.example" resolving to 10.x is the enterprise case the allowlist exists
 * for, and the proxy already reaches them for exact names. They are classified so
 * `why` can say so.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HOST_NAME_MAX_LEN 253

enum netmatch_class {
	NETMATCH_PUBLIC = 0,
	NETMATCH_PRIVATE,  /* RFC 1918, 100.64/10, fc00::/7: allowed */
	NETMATCH_LOOPBACK, /* allowed through exact entries only */
	NETMATCH_DENIED,   /* metadata, link-local, unspecified, odd embeddings */
	_NETMATCH_CLASS_MAX,
};

enum netmatch_verdict {
	NETMATCH_OK = 0,
	NETMATCH_DENY_CIDR,	/* an always-denied address */
	NETMATCH_DENY_LOOPBACK, /* loopback or a local address through a wildcard entry */
	_NETMATCH_VERDICT_MAX,
};

/* "public", "private", "loopback", "denied". */
const char *netmatch_class_to_string(enum netmatch_class c);
/* "allowed", "denied_cidr", "denied_loopback" (the proxy's deny reasons). */
const char *netmatch_verdict_to_string(enum netmatch_verdict v);

/*
 * Validate and normalise a host into out (size >= HOST_NAME_MAX_LEN + 1): lowercase,
 * one trailing dot removed, IPv6 brackets removed, and an IP literal in any spelling
 * inet_aton() accepts (decimal, hex, octal, short forms) rewritten in canonical form.
 * Sets *ret_is_ip when the host is an IP literal. -EINVAL for anything else.
 */
int host_normalize(const char *host, char *out, size_t n, bool *ret_is_ip);

/* A canonical IP literal (from host_normalize) as a socket address with port. -EINVAL. */
int netmatch_literal(const char *normalized, unsigned short port, struct sockaddr_storage *ret);

/* True when a normalised host name is one of the metadata names. */
bool netmatch_name_is_metadata(const char *normalized);

/* The class of one address (AF_INET / AF_INET6; anything else is NETMATCH_DENIED). */
enum netmatch_class netmatch_addr_class(const struct sockaddr *sa);

/* True for the always-denied addresses (netmatch_addr_class() == NETMATCH_DENIED). */
bool addr_is_denied(const struct sockaddr *sa);

/*
 * One allowlist host against one destination host, both normalised: exact entries
 * compare by value (IP literals only with IP literals), "*.suffix" entries (wildcard,
 * suffix without "*.") match strict subdomains of names only.
 */
bool netmatch_host_match(const char *entry, bool entry_wildcard, bool entry_is_ip, const char *host,
			 bool host_is_ip);

/* The host's own interface addresses (loopback and link-local left out: covered above). */
#define NETMATCH_MAX_LOCAL 128
struct netmatch_local {
	size_t n;
	bool incomplete; /* more than NETMATCH_MAX_LOCAL, or unreadable: fail closed */
	struct sockaddr_storage addrs[NETMATCH_MAX_LOCAL];
};

/*
 * Read the addresses of the interfaces in the caller's network namespace (getifaddrs).
 * Always fills *ret; on failure it is marked incomplete (then every address counts as
 * local) and -errno is returned.
 */
int netmatch_local_load(struct netmatch_local *ret);

/* True when sa (IPv4-mapped forms too) is one of local's addresses, or local is incomplete. */
bool netmatch_addr_is_local(const struct netmatch_local *local, const struct sockaddr *sa);

/*
 * The address rule for a destination the allowlist admitted: every address must pass
 * (one bad address refuses the whole name, against rebinding mixes). via_wildcard is
 * true when only wildcard entries admitted the host; then loopback and local's
 * addresses (local may be NULL: none) are refused. *ret_index (may be NULL) is the
 * address that decided: the first refused one, else 0.
 */
enum netmatch_verdict netmatch_check_addrs(const struct sockaddr_storage *addrs, size_t n,
					   bool via_wildcard, const struct netmatch_local *local,
					   size_t *ret_index);
