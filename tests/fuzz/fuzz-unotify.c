/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the AF_UNIX mediation's decoding (src/supervisor/unotify.c),
 * everything the supervisor derives from what the agent controls before it touches a
 * task: the seccomp_notif registers (any arch, any syscall number), then the address
 * read from the agent's memory and the path it names. Input: a struct seccomp_notif
 * (zero-padded when short), then up to sizeof(struct sockaddr_storage) address bytes,
 * then the agent's cwd. Invariants checked: only connect, bind and sendto decode, with
 * their arguments from the right registers; a path address's length stays inside
 * sun_path plus the rest of the address; the joined path is absolute when the agent's
 * was or a cwd was given, holds exactly the address's bytes, and fits.
 */
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/macro.h"
#include "sandbox/unotify-proto.h"
#include "supervisor/unotify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN_(a, b) ((a) < (b) ? (a) : (b))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seccomp_notif n = {0};
	struct sockaddr_storage ss;
	struct unotify_call c;
	char cwd[256], out[4096 + sizeof(ss)];

	size_t k = MIN_(size, sizeof(n));
	memcpy(&n, data, k);
	data += k;
	size -= k;
	if (!unotify_decode(&n, &c))
		return 0;
	if (c.op != UNOTIFY_CONNECT && c.op != UNOTIFY_BIND && c.op != UNOTIFY_SENDTO)
		__builtin_trap();
	if (c.fd != (int)n.data.args[0] || c.pid != (pid_t)n.pid)
		__builtin_trap();
	if (c.op == UNOTIFY_SENDTO && (c.addr_ptr != n.data.args[4] || c.len != n.data.args[2]))
		__builtin_trap();
	if (c.op != UNOTIFY_SENDTO && c.addr_ptr != n.data.args[1])
		__builtin_trap();

	/* What handle() reads: addrlen bytes of the agent's address (here: of the input). */
	if (c.addrlen < 0 || (uint64_t)c.addrlen > sizeof(ss))
		return 0;
	size_t al = (size_t)c.addrlen;
	memset(&ss, 0, sizeof(ss));
	k = MIN_(size, al);
	memcpy(&ss, data, k);
	data += k;
	size -= k;
	size_t plen = unotify_sun_path_len(&ss, al);
	if (plen == 0)
		return 0;
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	const char *p = ((const struct sockaddr_un *)&ss)->sun_path;
	if (ss.ss_family != AF_UNIX || plen > al - off || memchr(p, '\0', plen))
		__builtin_trap();

	k = MIN_(size, sizeof(cwd) - 1);
	memcpy(cwd, data, k);
	cwd[k] = '\0';
	bool rel = p[0] != '/';
	int r = unotify_sun_path(rel && k ? cwd : NULL, p, plen, out, sizeof(out));
	if (r < 0)
		__builtin_trap(); /* out is large enough for any cwd and address here */
	size_t ol = strlen(out);
	if (ol < plen || memcmp(out + ol - plen, p, plen) != 0)
		__builtin_trap();
	if (!rel && ol != plen)
		__builtin_trap();
	if (rel && k && cwd[0] == '/' && out[0] != '/')
		__builtin_trap();
	if (unotify_sun_path(NULL, p, plen, out, plen) != -ENAMETOOLONG)
		__builtin_trap();
	return 0;
}
