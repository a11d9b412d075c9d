/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Sockets inside the sandboxed child's network namespace, for the port forwarder.
 *
 * Without CAP_SYS_ADMIN in its own user namespace the supervisor cannot setns() into
 * the child's network namespace (EPERM), but a forked helper can join the child's user
 * namespace (it has the same owner) and then its network namespace (DESIGN.md,
 * Network). Such a helper cannot come back, so it stays there and makes sockets on
 * request, handing each over with SCM_RIGHTS; a socket keeps belonging to the
 * namespace it was created in, so the forwarder connects it from the host side.
 *
 * The helper does nothing but socket(2); it is not dumpable, dies with its parent
 * (PR_SET_PDEATHSIG) and exits when the request socket closes.
 */

#include <stdbool.h>

struct netns_helper;

/*
 * Fork the helper and have it join the namespaces of the process PIDFD refers to:
 * its user namespace first when JOIN_USERNS (an unprivileged user), then its network
 * namespace. Fails with -ELOOP when that network namespace is the caller's own (the
 * child has not unshared it: forwarding there would loop back to the host), -errno
 * from setns(2) otherwise, -ETIMEDOUT when the helper does not answer.
 */
int netns_helper_start(int pidfd, bool join_userns, struct netns_helper **ret);

/*
 * A new SOCK_STREAM socket of FAMILY (AF_INET, AF_INET6) in the joined namespace,
 * non-blocking and close-on-exec, or -errno. HELPER is a struct netns_helper * (void *
 * so it fits portfwd_add()'s socket factory).
 */
int netns_helper_socket(void *helper, int family);

/* Stop and reap the helper, close its socket. Accepts NULL, returns NULL. */
struct netns_helper *netns_helper_free(struct netns_helper *h);
