/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-socket FAMILY TYPE [PROTO]
 *   FAMILY: inet inet6 unix netlink packet vsock (or a number)
 *   TYPE:   stream dgram raw seqpacket (or a number)
 *   PROTO:  tcp udp sctp mptcp icmp (or a number), default 0
 * Exit: 0 created, 1 EPERM, 13 EACCES, 97 EAFNOSUPPORT, 93 EPROTONOSUPPORT,
 *       94 ESOCKTNOSUPPORT, 22 EINVAL, 99 other, 64 usage.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe-common.h"

struct name {
	const char *n;
	int v;
};

static int lookup(const struct name *t, const char *s, int *ret)
{
	char *end;
	long v;

	for (; t->n; t++)
		if (strcmp(t->n, s) == 0)
			return *ret = t->v, 0;
	v = strtol(s, &end, 0);
	if (*s == '\0' || *end)
		return -1;
	*ret = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const int extra[] = {EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EINVAL, 0};
	static const struct name fams[] = {{"inet", AF_INET},
					   {"inet6", AF_INET6},
					   {"unix", AF_UNIX},
					   {"netlink", AF_NETLINK},
					   {"packet", AF_PACKET},
					   {"vsock", AF_VSOCK},
					   {0}};
	static const struct name types[] = {{"stream", SOCK_STREAM},
					    {"dgram", SOCK_DGRAM},
					    {"raw", SOCK_RAW},
					    {"seqpacket", SOCK_SEQPACKET},
					    {0}};
	static const struct name protos[] = {{"tcp", IPPROTO_TCP},   {"udp", IPPROTO_UDP},
					     {"sctp", IPPROTO_SCTP}, {"mptcp", 262},
					     {"icmp", IPPROTO_ICMP}, {0}};
	int fam, type, proto = 0, s;

	if (argc < 3 || argc > 4 || lookup(fams, argv[1], &fam) < 0 ||
	    lookup(types, argv[2], &type) < 0 ||
	    (argc == 4 && lookup(protos, argv[3], &proto) < 0)) {
		fprintf(stderr, "usage: probe-socket FAMILY TYPE [PROTO]\n");
		return 64;
	}
	s = socket(fam, type | SOCK_CLOEXEC, proto);
	if (s < 0)
		return probe_exit(errno, extra);
	close(s);
	return probe_exit(0, extra);
}
