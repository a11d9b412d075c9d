/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Turning profiles, policy groups, flags and environment into a struct sandbox_spec.
 * The one code path shared by run, shell, wrap, why, policy show, and learn --profile.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/diag.h"
#include "policy/spec.h"

/* One filesystem grant as given on the command line or in NONO_* variables. */
struct input_grant {
	const char *path;  /* as typed: relative, ~, $VARS allowed */
	unsigned access;   /* enum fs_access */
	bool is_file;
	enum origin_kind kind; /* ORIGIN_CLI or ORIGIN_ENV */
	const char *flag;  /* "--allow", "--read-file", "NONO_ALLOW", ... */
};

struct input_unix_grant {
	const char *path;
	unsigned flags; /* enum unix_grant_flags */
	const char *flag;
};

/*
 * What the kernel lets this process do, as far as the placement depends on it
 * (sandbox_placement_features() fills it from the probe).
 */
struct policy_features {
	bool is_root;	/* euid 0: namespaces without a user namespace */
	bool sys_admin; /* root holding CAP_SYS_ADMIN */
	bool userns;	/* not root: a user + mount namespace can be made */
};

/* Everything the CLI learnt from flags and NONO_* environment, already merged by precedence. */
struct policy_input {
	const char *profile; /* name (built-in or ~/.config/nono/profiles/NAME.json) or a path */
	const char *workdir; /* NULL: current directory */
	bool allow_cwd;      /* grant the workdir at the profile's workdir.access (default read) */

	struct input_grant *grants;
	size_t n_grants;
	char **bypass; /* --bypass-protection paths, as typed */

	int block_net; /* -1 unset, 0, 1 */
	int allow_net; /* -1 unset, 0, 1: force unrestricted network */
	uint16_t *open_ports;
	size_t n_open_ports;
	uint16_t *listen_ports;
	size_t n_listen_ports;
	struct input_unix_grant *unix_grants;
	size_t n_unix_grants;

	const char *network_profile;
	char **allow_domains;
	char **credentials;
	char **allow_endpoints; /* SERVICE:METHOD:PATH */
	const char *upstream_proxy;
	char **upstream_bypass;
	uint16_t proxy_port;

	char **allow_commands;
	char **block_commands;
	char **env_credentials;           /* keyring names, or "op://...=VAR" */
	char **env_credential_map;        /* pairs: REF, VAR, REF, VAR, ... */
	char **pass_env;                  /* --pass-env NAME[,NAME] */

	bool allow_gpu;
	bool shared_tmp;	  /* --shared-tmp */
	int capability_elevation; /* -1 unset */

	/* Verified instruction files (the trust scan): bound read-only where a write grant
	 * reaches them; canonicalised by resolve. */
	char **readonly_files;
	/* Create the missing state directories and files the profile (or a --write-file)
	 * names before the spec is frozen, so their grants exist; what was created is
	 * described in *created_notes when non-NULL. */
	bool create_state_dirs;
	char ***created_notes;
	/* The probed features: resolve decides the placement from them. NULL: undecided
	 * (policy show, learn). */
	const struct policy_features *features;
};

/*
 * The placement rule (resolve applies it; setup asks it for other users too): a mount
 * namespace, and with it PID/IPC namespaces, the read-only root, masks and a private
 * /tmp, for root holding CAP_SYS_ADMIN or anyone else with user namespaces; the proxy
 * in the child's network namespace under the same condition, else on host loopback.
 */
void policy_decide_placement(const struct policy_features *f, struct sandbox_spec *s);

/* Initialise in to "nothing given": all tri-states -1, everything else zero/NULL. */
void policy_input_init(struct policy_input *in);

/*
 * Resolve: load the profile chain (extends), expand $HOME $WORKDIR $TMPDIR $UID and ~,
 * apply groups and policy patches, add the input's grants, canonicalise every path,
 * expand the network profile into proxy.allow_domains and validate every host pattern
 * with the proxy's compiler, decide the placement. The result is complete: nothing
 * writes to it afterwards (everything downstream takes a const spec).
 * On a user-fixable error returns -errno and fills *d with file:line:column or flag.
 * Warnings (a missing optional path, a deprecated flag) go to *ret_warnings if non-NULL.
 */
int policy_resolve(const struct policy_input *in, struct sandbox_spec **ret, char ***ret_warnings,
		   struct diag *d);
