/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * struct sandbox_spec: the resolved, immutable policy. policy/ builds it from
 * profiles, groups, flags and environment; sandbox/, supervisor/, proxy/ and learn/
 * consume it and never see JSON. Every path in it is absolute and canonical
 * (symlinks resolved), every list is plain C.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fs_access {
	FS_READ = 1 << 0,
	FS_WRITE = 1 << 1,
	FS_RW = FS_READ | FS_WRITE,
};

/* Where a rule came from, for `why`, --dry-run and diagnostics. */
enum origin_kind {
	ORIGIN_CLI = 0,  /* a flag: origin.name is the flag, e.g. "--allow" */
	ORIGIN_ENV,      /* an environment variable, e.g. "NONO_ALLOW" */
	ORIGIN_PROFILE,  /* a profile field: origin.name is the profile name */
	ORIGIN_GROUP,    /* a policy group: origin.name is the group name */
	ORIGIN_WORKDIR,  /* the working directory (--allow-cwd / workdir.access) */
	ORIGIN_IMPLIED,  /* implied by another grant (e.g. unix-socket bind parent dir) */
	_ORIGIN_KIND_MAX,
};

struct origin {
	enum origin_kind kind;
	char *name;
};

struct fs_grant {
	char *path;      /* canonical absolute */
	unsigned access; /* enum fs_access */
	bool is_file;    /* a single-file grant: never widened to its directory */
	bool exists;     /* false: path did not exist when resolved (rule skipped) */
	struct origin origin;
};

/*
 * A protected path from a deny group (or policy.add_deny_access). Enforced inside
 * granted trees by a mount mask (see DESIGN.md). `bypassed` is set when
 * --bypass-protection / policy.override_deny lifted it (only with a matching grant).
 */
struct fs_deny {
	char *path;     /* canonical absolute */
	char *group;    /* e.g. "deny_credentials" or "add_deny_access" */
	char *category; /* human description, e.g. "SSH keys and config" */
	/* The name as written (expanded, absolute, normalised, symlinks kept) when it
	 * differs from path: a symlink on the way that must not be re-pointed. Else NULL. */
	char *name;
	bool exists;
	bool is_dir;
	bool bypassed;
};

enum net_mode {
	NET_ALLOW = 0, /* default: unrestricted */
	NET_BLOCK,     /* --block-net */
	NET_PROXY,     /* domain filtering through the supervisor's proxy */
	_NET_MODE_MAX,
};

enum unix_grant_flags {
	UNIX_CONNECT = 1 << 0,
	UNIX_BIND = 1 << 1,
	UNIX_DIR = 1 << 2,     /* any socket directly within path */
	UNIX_SUBTREE = 1 << 3, /* any socket anywhere beneath path */
};

struct unix_grant {
	char *path; /* canonical absolute */
	unsigned flags;
	struct origin origin;
};

struct endpoint_rule {
	char *service;
	char *method; /* "GET", ... or "*" */
	char *path;   /* glob: "*" one segment, "**" zero or more */
};

/* A credential service routed through the reverse proxy. */
struct credential_spec {
	char *name;            /* service, e.g. "openai" */
	char *upstream;        /* https://... */
	char *credential_key;  /* keyring account or source URI (env://, file://, op://) */
	char *inject_header;   /* default "Authorization" */
	char *format;          /* default "Bearer {}" */
	char *env_var;         /* where the phantom token goes, e.g. OPENAI_API_KEY */
	char *base_url_var;    /* e.g. OPENAI_BASE_URL */
	bool optional; /* bundled by the network profile: dropped when its key does not load */
	char *tls_ca;	       /* PEM CA file this upstream may also chain to, canonical; or NULL */
};

/* Where the proxy listens, as seen from the child (DESIGN.md, Network). */
enum proxy_placement {
	PROXY_PLACEMENT_UNDECIDED = 0, /* not decided: no run (why, --dry-run) */
	PROXY_PLACEMENT_NETNS,	       /* inside the child's private network namespace */
	PROXY_PLACEMENT_LANDLOCK,      /* host loopback; Landlock port rules confine the child */
	_PROXY_PLACEMENT_MAX,
};

struct proxy_spec {
	char *network_profile;      /* NULL when none */
	char **allow_domains;       /* resolved host patterns and URL globs (profile + groups + flags) */
	struct credential_spec *credentials;
	size_t n_credentials;
	struct endpoint_rule *endpoints;
	size_t n_endpoints;
	char *upstream_proxy;       /* host:port or NULL */
	char **upstream_bypass;
	uint16_t port;              /* 0: OS-assigned */
	/* Decided by policy_resolve from the probed features (UNDECIDED without them, or
	 * outside proxy mode); placement_reason says why, in words (static, may be NULL). */
	enum proxy_placement placement;
	const char *placement_reason;
};

/*
 * Which namespaces the child gets and what follows from them, decided once by
 * policy_resolve from the probed features (policy_input.features); run obeys it and
 * why, setup and --dry-run print it. decided is false when no features were given.
 */
struct sandbox_placement {
	bool decided;
	bool userns;	  /* a user namespace of its own (not root) */
	bool mountns;	  /* a mount namespace: read-only root, masks by mount, private /tmp */
	bool pidns;	  /* private PID and IPC namespaces, PID 1 nono's init */
	bool ro_root;	  /* read-only outside the write grants (no write grant of "/") */
	bool masks;	  /* protected paths inside grants masked by mounts */
	bool private_tmp; /* the session's own /tmp and /var/tmp (not --shared-tmp) */
	enum proxy_placement proxy; /* where a proxy goes (proxy.placement in proxy mode) */
	const char *reason;	    /* why there is or is not a mount namespace (static) */
};

/* Environment credentials loaded into the child's environment (--env-credential[-map]). */
struct env_credential {
	char *ref;     /* keyring account or URI */
	char *env_var; /* destination variable */
};

struct sandbox_spec {
	char *profile_name; /* NULL when no profile */
	char *workdir;      /* canonical */

	struct fs_grant *grants;
	size_t n_grants;
	struct fs_deny *denies;
	size_t n_denies;
	/* Files bound read-only onto themselves for the session where a write grant reaches
	 * them (verified instruction files: policy_input.readonly_files). Canonical. */
	char **readonly_files;

	enum net_mode net;
	uint16_t *open_ports; /* connect+bind on localhost */
	size_t n_open_ports;
	uint16_t *listen_ports; /* bind only (proxy mode) */
	size_t n_listen_ports;
	struct unix_grant *unix_grants;
	size_t n_unix_grants;

	/* Landlock scopes (ABI 6): refuse signals / abstract unix sockets leaving the sandbox. */
	bool scope_signal;
	bool scope_abstract_unix;

	/* Startup-only command checks (deprecated surface, not a boundary). */
	char **blocked_commands;
	char **allowed_commands;

	struct proxy_spec proxy;
	struct env_credential *env_credentials;
	size_t n_env_credentials;
	/* ambient credentials (GITHUB_TOKEN, ...) kept in the child's environment by name
	 * (--pass-env, profile "pass_env"); everything else on the list is removed */
	char **pass_env;

	bool allow_gpu;
	bool capability_elevation;
	/* Profile opted into running with fewer kernel features than it asks for. */
	bool best_effort;
	/* --shared-tmp / security.shared_tmp: the host's /tmp instead of a private one. */
	bool shared_tmp;
	struct sandbox_placement placement;

	/* filesystem.suppress_save_prompt: canonical paths the post-run save prompt skips
	 * (not grants). Added by policy/; NULL when none. */
	char **suppress_save_prompt;
};

/* Frees everything; accepts NULL; returns NULL. */
struct sandbox_spec *sandbox_spec_free(struct sandbox_spec *s);

/* Remove credential service i and the endpoint rules naming it. */
void sandbox_spec_drop_credential(struct sandbox_spec *s, size_t i);
void sandbox_spec_freep(struct sandbox_spec **s);
#define _cleanup_spec_ __attribute__((cleanup(sandbox_spec_freep)))

const char *net_mode_to_string(enum net_mode m);
const char *origin_kind_to_string(enum origin_kind k);
