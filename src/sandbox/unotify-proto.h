/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The wire format between the supervisor's AF_UNIX mediation (supervisor/unotify.c)
 * and the helpers the child execs (sandbox-exec.c). One SOCK_SEQPACKET message per
 * request: struct unotify_req, then (sendto only) the data; SCM_RIGHTS carries the
 * child's socket (always) and, for path addresses, the pinned target (UNOTIFY_VIA_FD:
 * an O_PATH fd of the socket file; UNOTIFY_VIA_DIR: the parent directory). The helper
 * answers with one struct unotify_reply.
 *
 * A helper lives inside the sandbox (the agent's Landlock rules, one layer above the
 * agent, namespaces, capabilities, seccomp filter, but not under the notification
 * filter): everything it does is decided by the kernel exactly as for the agent. The supervisor only narrows path addresses.
 */

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#define UNOTIFY_HELPERS	 4	     /* helpers (and supervisor workers) per run */
#define UNOTIFY_DATA_MAX (64 * 1024) /* sendto payload copied per request */

enum unotify_op {
	UNOTIFY_CONNECT = 1,
	UNOTIFY_BIND,
	UNOTIFY_SENDTO,
	/*
	 * Names (protected names inside write grants; supervisor/unotify.c). The data is
	 * struct unotify_fs followed by NUL-terminated strings; fds[0] is the pinned
	 * parent directory of the first name (LINK: the agent's dirfd or cwd the old path
	 * is taken against), fds[1] the parent of the second name.
	 */
	UNOTIFY_OPEN,	 /* openat(fds[0], s1, flags | O_NOFOLLOW, mode); the fd is sent back */
	UNOTIFY_MKDIR,	 /* mkdirat(fds[0], s1, mode) */
	UNOTIFY_MKNOD,	 /* mknodat(fds[0], s1, mode, dev) */
	UNOTIFY_SYMLINK, /* symlinkat(s2, fds[0], s1) */
	UNOTIFY_LINK,	 /* linkat(fds[0], s2, fds[1], s1, flags); s2 "" without AT_EMPTY_PATH:
			  * link "/proc/self/fd/<fds[0]>" (AT_SYMLINK_FOLLOW) */
	UNOTIFY_RENAME,	 /* renameat2(fds[0], s1, fds[1], s2, flags) */
	UNOTIFY_UNLINK,	 /* unlinkat(fds[0], s1, flags) */
	UNOTIFY_REOPEN,	 /* open("/proc/self/fd/<fds[0]>", flags, mode); the fd is sent back */
	_UNOTIFY_OP_MAX,
};

/* Arguments of the name operations; umask, flags and len are in struct unotify_req. */
struct unotify_fs {
	uint64_t dev;  /* mknod */
	uint32_t mode; /* open, mkdir, mknod */
	uint32_t pad;
};

enum unotify_via {
	UNOTIFY_VIA_ADDR = 0, /* use addr as given (not a path address) */
	UNOTIFY_VIA_FD,	      /* sun_path = /proc/self/fd/<second fd> */
	UNOTIFY_VIA_DIR,      /* sun_path = /proc/self/fd/<second fd>/<name> */
};

struct unotify_req {
	uint32_t op;	  /* enum unotify_op */
	uint32_t via;	  /* enum unotify_via */
	uint32_t addrlen; /* bytes of addr in use; 0 with UNOTIFY_VIA_ADDR: NULL address */
	uint32_t umask;	  /* bind: the agent's umask, applied to the new socket file */
	int32_t flags;	  /* sendto flags */
	uint32_t len;	  /* sendto: bytes of data following this struct */
	struct sockaddr_storage addr;
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* VIA_DIR: NUL-terminated */
};

struct unotify_reply {
	int64_t ret; /* the syscall's return value when err == 0 (OPEN: the fd rides along
		      * as SCM_RIGHTS, ret is 0) */
	int32_t err; /* positive errno, 0 on success */
	uint32_t pad;
};
