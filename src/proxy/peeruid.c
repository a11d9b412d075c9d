/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/peeruid.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int peer_uid_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	return fd < 0 ? -errno : fd;
}

static void put_addr(const struct sockaddr_storage *ss, __be16 *port, __be32 addr[4])
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		*port = s4->sin_port;
		memcpy(addr, &s4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		*port = s6->sin6_port;
		memcpy(addr, &s6->sin6_addr, 16);
	}
}

int peer_uid(int diag_fd, int fd, uint32_t *ret)
{
	struct sockaddr_storage local, peer;
	socklen_t ll = sizeof(local), pl = sizeof(peer);
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {0};
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} resp;

	if (getsockname(fd, (struct sockaddr *)&local, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &pl) < 0)
		return -errno;
	if ((local.ss_family != AF_INET && local.ss_family != AF_INET6) ||
	    peer.ss_family != local.ss_family)
		return -EAFNOSUPPORT;
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	static uint32_t seq; /* single-threaded caller (the proxy's loop) */
	req.nh.nlmsg_seq = ++seq;
	req.r.sdiag_family = (__u8)local.ss_family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0U;
	/* The peer's socket: its source is our destination and the other way round. */
	put_addr(&peer, &req.r.id.idiag_sport, req.r.id.idiag_src);
	put_addr(&local, &req.r.id.idiag_dport, req.r.id.idiag_dst);
	req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (send(diag_fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -errno;
	/* The kernel answers an exact lookup while handling the send: no waiting. A stale
	 * answer (an earlier lookup's, never read) is skipped by its sequence number. */
	ssize_t n;
	do {
		n = recv(diag_fd, &resp, sizeof(resp), MSG_DONTWAIT);
		if (n < 0)
			return -errno;
		if ((size_t)n < sizeof(struct nlmsghdr) || !NLMSG_OK(&resp.nh, (size_t)n))
			return -EIO;
	} while (resp.nh.nlmsg_seq != req.nh.nlmsg_seq);
	if (resp.nh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&resp.nh);
		return resp.nh.nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? e->error
										     : -EIO;
	}
	if (resp.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    resp.nh.nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -EIO;
	const struct inet_diag_msg *m = NLMSG_DATA(&resp.nh);
	*ret = m->idiag_uid;
	return 0;
}
