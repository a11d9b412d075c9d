/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Policy groups: named sets of grants, denies and blocked commands, defined in
 * data/policy.json (embedded; format in doc/design/policy-format.md).
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"

enum platform {
	PLATFORM_ALL = 0,
	PLATFORM_LINUX,
	PLATFORM_MACOS,
	_PLATFORM_MAX,
};

/* The filesystem lists shared by groups and profiles, in JSON key order. */
enum fs_list {
	FS_LIST_ALLOW = 0,
	FS_LIST_READ,
	FS_LIST_WRITE,
	FS_LIST_ALLOW_FILE,
	FS_LIST_READ_FILE,
	FS_LIST_WRITE_FILE,
	_FS_LIST_MAX,
};

/* JSON key ("allow", "read_file", ...), access bits (enum fs_access) and file-ness. */
const char *fs_list_key(enum fs_list l);
unsigned fs_list_access(enum fs_list l);
bool fs_list_is_file(enum fs_list l);

struct group_deny {
	char *path;	/* unexpanded, e.g. "~/.ssh" */
	char *category; /* e.g. "SSH keys and config" (the group description when not given) */
};

struct policy_group {
	char *name;
	char *description;
	enum platform platform;
	bool required;		 /* may not be removed by policy.exclude_groups */
	char **fs[_FS_LIST_MAX]; /* unexpanded paths */
	struct group_deny *denies;
	size_t n_denies;
	char **commands; /* blocked commands */
};

struct policy_groups {
	struct policy_group *groups; /* in file order */
	size_t n;
	unsigned refs; /* owners; policy_groups_free drops one */
};

const char *platform_to_string(enum platform p);
/* True when the group applies on this build's platform (Linux). */
bool policy_group_applies(const struct policy_group *g);

/* Parse a policy.json text. file names it in diagnostics. */
int policy_groups_parse(const char *text, size_t len, const char *file, struct policy_groups **ret,
			struct diag *d);
/*
 * The embedded policy.json, parsed on the first call and shared after it: the result is
 * read-only, and each caller frees its reference with policy_groups_free(). The cache
 * keeps one reference for the life of the process. Not thread-safe.
 */
int policy_groups_load(struct policy_groups **ret, struct diag *d);
const struct policy_group *policy_groups_find(const struct policy_groups *g, const char *name);

struct policy_groups *policy_groups_free(struct policy_groups *g);
void policy_groups_freep(struct policy_groups **g);
