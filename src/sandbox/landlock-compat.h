/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Landlock UAPI beyond what Debian 12's linux-libc-dev (6.1, ABI 2) declares. Values
 * follow Documentation/userspace-api/landlock.rst; each block names the ABI that
 * introduced it. We define our own struct names so a newer <linux/landlock.h> never
 * clashes with ours.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

/* ABI 1 */
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH	  1

#define LL_FS_EXECUTE	  (1ULL << 0)
#define LL_FS_WRITE_FILE  (1ULL << 1)
#define LL_FS_READ_FILE	  (1ULL << 2)
#define LL_FS_READ_DIR	  (1ULL << 3)
#define LL_FS_REMOVE_DIR  (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR	  (1ULL << 6)
#define LL_FS_MAKE_DIR	  (1ULL << 7)
#define LL_FS_MAKE_REG	  (1ULL << 8)
#define LL_FS_MAKE_SOCK	  (1ULL << 9)
#define LL_FS_MAKE_FIFO	  (1ULL << 10)
#define LL_FS_MAKE_BLOCK  (1ULL << 11)
#define LL_FS_MAKE_SYM	  (1ULL << 12)
/* ABI 2 */
#define LL_FS_REFER (1ULL << 13)
/* ABI 3 */
#define LL_FS_TRUNCATE (1ULL << 14)
/* ABI 5 */
#define LL_FS_IOCTL_DEV (1ULL << 15)

/* ABI 4: TCP port rules. */
#define LL_RULE_NET_PORT   2
#define LL_NET_BIND_TCP	   (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)

/* ABI 6: scopes. */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL		      (1ULL << 1)

/* ABI 7: audit logging control for landlock_restrict_self(). */
#define LL_RESTRICT_SELF_LOG_SAME_EXEC_OFF  (1U << 0)
#define LL_RESTRICT_SELF_LOG_NEW_EXEC_ON    (1U << 1)
#define LL_RESTRICT_SELF_LOG_SUBDOMAINS_OFF (1U << 2)

/* Rights that apply to a non-directory; the kernel refuses others on a file rule. */
#define LL_FS_FILE_RIGHTS                                                                          \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

/*
 * The kernel reads only the fields its ABI knows from a shorter size; we always pass
 * the size matching the ABI we target (see ll_ruleset_attr_size()).
 */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port; /* host endianness */
};

static inline size_t ll_ruleset_attr_size(int abi)
{
	if (abi >= 6)
		return sizeof(struct ll_ruleset_attr);
	if (abi >= 4)
		return offsetof(struct ll_ruleset_attr, scoped);
	return offsetof(struct ll_ruleset_attr, handled_access_net);
}

static inline int ll_create_ruleset(const struct ll_ruleset_attr *attr, size_t size, uint32_t flags)
{
	return (int)syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static inline int ll_add_rule(int ruleset_fd, int rule_type, const void *rule_attr, uint32_t flags)
{
	return (int)syscall(__NR_landlock_add_rule, ruleset_fd, rule_type, rule_attr, flags);
}

/* Async-signal-safe: a raw syscall. */
static inline int ll_restrict_self(int ruleset_fd, uint32_t flags)
{
	return (int)syscall(__NR_landlock_restrict_self, ruleset_fd, flags);
}
