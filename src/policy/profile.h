/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Profiles: JSON files (format in doc/design/policy-format.md) naming groups, grants
 * and network settings, possibly extending another profile. This header is what
 * policy_resolve() and the introspection commands (policy profiles/show/diff/validate)
 * use. Everything here is unexpanded: paths still read "~/.claude" or "$WORKDIR".
 *
 * Lookup of NAME: a path when it contains '/' or ends in ".json"; otherwise the user's
 * ~/.config/nono/profiles/NAME.json, which overrides a built-in of the same name, and
 * then the built-in. A user profile that extends its own name extends the built-in.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "policy/groups.h"

#define PROFILE_MAX_SIZE  (1024 * 1024) /* bytes per profile file */
#define PROFILE_MAX_DEPTH 16		/* extends chain length */

struct profile_endpoint {
	char *method;
	char *path;
};

struct profile_credential {
	char *name;
	char *upstream;
	char *credential_key;
	char *inject_header;
	char *credential_format;
	char *env_var;
	char *tls_ca; /* as written: a PEM file of extra CAs for this upstream */
	struct profile_endpoint *rules;
	size_t n_rules;
};

struct profile {
	char *name; /* meta.name, else the name it was looked up by */
	char *file; /* path it was read from, or "builtin:NAME" */
	bool builtin;
	char *text; /* the source (NUL-terminated), kept for line:column diagnostics */
	size_t text_len;

	char *extends;
	char *meta_version, *meta_description, *meta_author;

	char **groups;
	int capability_elevation; /* -1 unset */
	int allow_gpu;		  /* -1 unset */
	int best_effort;	  /* -1 unset */
	int shared_tmp;		  /* -1 unset */
	char *wsl2_proxy_policy;  /* accepted for compatibility, unused on Linux */

	int workdir_access; /* -1 unset, else enum fs_access bits (0: none) */

	char **fs[_FS_LIST_MAX];
	char **suppress_save_prompt;

	char **exclude_groups;
	char **add_deny_access;
	char **override_deny;

	int net_block; /* -1 unset */
	char *network_profile;
	char **allow_domain;
	char **credentials;
	struct profile_credential *custom_credentials;
	size_t n_custom_credentials;
	char *upstream_proxy;
	char **upstream_bypass;
	uint16_t *open_ports;
	size_t n_open_ports;
	uint16_t *listen_ports;
	size_t n_listen_ports;
	int proxy_port; /* -1 unset */

	char **commands_allow;
	char **commands_block;

	char **env_credentials; /* pairs: REF, VAR, REF, VAR, ... */

	char **pass_env; /* "pass_env": ambient credentials kept in the environment */
};

/*
 * Parse one profile from text (at most PROFILE_MAX_SIZE bytes). Strict: unknown keys,
 * wrong types, duplicate keys, unknown group names (when groups is non-NULL),
 * excluding a required group and unknown $VARS are errors with file:line:column.
 * name is the lookup name (used when meta.name is absent); may be NULL.
 */
int profile_parse(const char *text, size_t len, const char *file, const char *name,
		  const struct policy_groups *groups, struct profile **ret, struct diag *d);

/* Look name up (see above) and parse that one file; extends is not followed. */
int profile_load(const char *name, struct profile **ret, struct diag *d);

/*
 * Look name up and follow extends (cycles and chains deeper than PROFILE_MAX_DEPTH are
 * errors), merging child over parent: lists append without duplicates, scalars set in
 * the child win, custom credentials merge by name. The result is still unexpanded; its
 * name, file and text are the leaf's.
 */
int profile_load_merged(const char *name, struct profile **ret, struct diag *d);

struct profile *profile_free(struct profile *p);
void profile_freep(struct profile **p);
#define _cleanup_profile_ __attribute__((cleanup(profile_freep)))

/* "none", "read", "write", "readwrite" for enum fs_access bits. */
const char *workdir_access_to_string(unsigned access);

/* The user profile directory, ~/.config/nono/profiles. */
int profile_user_dir(char **ret);

struct profile_info {
	char *name;
	char *description; /* "" when the file has none or does not parse */
	char *file;	   /* path, or "builtin:NAME" */
	bool builtin;
	bool overrides_builtin; /* a user profile with a built-in's name */
	bool valid;		/* false: the user file did not parse */
};

/* Built-in profiles, then user profiles, each sorted by name. */
int profile_list(struct profile_info **ret, size_t *ret_n);
void profile_info_free(struct profile_info *list, size_t n);
