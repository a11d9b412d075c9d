/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Which user a loopback TCP client is: the owner of the peer's socket, asked from the
 * kernel through NETLINK_SOCK_DIAG (no privilege needed, nothing the peer controls).
 * The proxy uses it to share the slots of unfinished request heads fairly among the
 * users that can reach a listener on the host's loopback.
 */

#include <stdint.h>

/* A NETLINK_SOCK_DIAG socket for peer_uid(); negative errno on failure. */
int peer_uid_open(void);
/* The uid owning the other end of the connected TCP socket fd (both ends local). */
int peer_uid(int diag_fd, int fd, uint32_t *ret);
