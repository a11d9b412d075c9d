/* SPDX-License-Identifier: Apache-2.0 */
/* c-ares, loaded when first used (lazy.h): only the proxy process resolves names. */
#include "base/lazy.h"

#include <ares.h>

static struct lazy_lib cares = LAZY_LIB("libcares.so.2");
#define L (&cares)

/* clang-format off */
LAZY_FORWARD(L, void, ares_destroy, (ares_channel channel), (channel))
LAZY_FORWARD(L, void, ares_freeaddrinfo, (struct ares_addrinfo *ai), (ai))
LAZY_FORWARD(L, void, ares_getaddrinfo, (ares_channel channel, const char *node, const char *service, const struct ares_addrinfo_hints *hints, ares_addrinfo_callback callback, void *arg), (channel, node, service, hints, callback, arg))
LAZY_FORWARD(L, int, ares_getsock, (ares_channel channel, ares_socket_t *socks, int numsocks), (channel, socks, numsocks))
LAZY_FORWARD(L, int, ares_init_options, (ares_channel *channelptr, struct ares_options *options, int optmask), (channelptr, options, optmask))
LAZY_FORWARD(L, int, ares_library_init, (int flags), (flags))
LAZY_FORWARD(L, void, ares_process_fd, (ares_channel channel, ares_socket_t read_fd, ares_socket_t write_fd), (channel, read_fd, write_fd))
LAZY_FORWARD(L, struct timeval *, ares_timeout, (ares_channel channel, struct timeval *maxtv, struct timeval *tv), (channel, maxtv, tv))
/* clang-format on */
