/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `nono why`: answer "would this operation be allowed, and why" from a resolved
 * struct sandbox_spec. The answers follow how the sandbox enforces the spec:
 *   - a non-bypassed deny covering the path wins over every grant (mount masks);
 *   - a file grant matches only that file, a directory grant the path and below;
 *   - Landlock grants add up: the rights on a path are the union of every grant
 *     that covers it.
 * Pure functions: the only I/O is canonicalising the queried path. JSON rendering
 * (stable field names, for scripts and agents) and human rendering live here too,
 * and so does the serialised spec a sandbox can read about itself (`why --self`).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/macro.h"
#include "policy/spec.h"

enum query_kind {
	QUERY_PATH = 0,
	QUERY_HOST,
	QUERY_SCOPE,
	_QUERY_KIND_MAX,
};

enum query_status {
	QUERY_ALLOWED = 0,
	QUERY_DENIED,
	QUERY_NOT_APPLICABLE,
	_QUERY_STATUS_MAX,
};

enum query_reason {
	REASON_GRANTED = 0,	     /* a grant covers the path with every right asked */
	REASON_SENSITIVE_PATH,	     /* a deny group protects it (mask) */
	REASON_BYPASSED,	     /* a deny group covers it but was lifted; a grant allows it */
	REASON_NOT_GRANTED,	     /* no grant covers it */
	REASON_PARTIAL,		     /* grants cover it, but not with every right asked */
	REASON_NETWORK_UNRESTRICTED, /* net mode allow */
	REASON_NETWORK_BLOCKED,	     /* --block-net */
	REASON_OPEN_PORT,	     /* localhost and an --open-port */
	REASON_DOMAIN_ALLOWED,	     /* proxy allowlist entry matches */
	REASON_DOMAIN_NOT_ALLOWED,   /* proxy mode, no entry matches */
	REASON_METADATA_DENIED,	     /* cloud metadata endpoints: always refused by the proxy */
	REASON_SCOPE_ENFORCED,	     /* requested and supported by the kernel */
	REASON_SCOPE_NOT_REQUESTED,
	REASON_SCOPE_UNSUPPORTED, /* requested, Landlock ABI < 6 */
	REASON_LOOPBACK_WILDCARD, /* a name only a wildcard entry allows resolved to loopback */
	REASON_FILE_MODE,	  /* granted, but root runs without capabilities and the
				     file's mode refuses uid 0 */
	_REASON_MAX,
};

enum query_scope {
	SCOPE_SIGNAL = 0,
	SCOPE_ABSTRACT_UNIX_SOCKET,
	_SCOPE_MAX,
};

struct query_result {
	enum query_kind kind;
	enum query_status status;
	enum query_reason reason;
	char *subject;	  /* canonical path, the host (lower case) or the scope name */
	char *url_path;	  /* host query given as a URL: its path, else NULL */
	unsigned op;	  /* path: enum fs_access asked */
	unsigned granted; /* path: union of the rights the covering grants give */
	uint16_t port;	  /* host */
	char *category;	  /* deny category, or NULL */
	char *group;	  /* deny group, or NULL */
	char *rule;	  /* the deciding rule: grant or deny path, allowlist entry, ... */
	char *origin;	  /* where the rule came from: "--allow", "profile claude-code", ... */
	char *suggestion; /* a flag that would change the answer, or NULL */
	bool requested, supported, enforced; /* scope */
	/* host, proxy mode: where the proxy listens (spec->proxy.placement) and why; the
	 * reason is a static string the caller may set, NULL when not known */
	enum proxy_placement placement;
	const char *placement_reason;
	/* host, proxy mode: the address that decided (the first refused one, else the first
	 * the proxy would connect to), canonical; NULL when none was known */
	char *address;
};

void query_result_release(struct query_result *r);
#define _cleanup_query_result_ _cleanup_(query_result_release)

const char *query_status_to_string(enum query_status s);
const char *query_reason_to_string(enum query_reason r);
const char *query_scope_to_string(enum query_scope s);
/* "signal" / "abstract-unix-socket"; -EINVAL otherwise. */
int query_scope_from_string(const char *s, enum query_scope *ret);
/* "read" / "write" / "readwrite" (also "rw"); -EINVAL otherwise. */
int query_op_from_string(const char *s, unsigned *ret);
const char *query_op_to_string(unsigned op);
/* "network-namespace" / "landlock-ports"; NULL when undecided. */
const char *proxy_placement_to_string(enum proxy_placement p);
/* -EINVAL for unknown names. */
int proxy_placement_from_string(const char *s, enum proxy_placement *ret);
/* The same for people: "private network namespace (...)". NULL when undecided. */
const char *proxy_placement_describe(enum proxy_placement p);

/*
 * Is OP (FS_READ, FS_WRITE or FS_RW) on PATH allowed? PATH may be relative (to the
 * current directory) or start with "~/" (to $HOME); it is canonicalised like the
 * policy canonicalises grants. Returns 0 with *ret filled, -errno on failure.
 */
int policy_query_path(const struct sandbox_spec *s, const char *path, unsigned op,
		      struct query_result *ret);

/*
 * Could the sandbox reach HOST_OR_URL ("api.example.com", "10.0.0.1", "[::1]",
 * "https://github.com/org/repo")? PORT 0 means the URL's port, or 443. The host is
 * classified by policy/netmatch.h, as the proxy does: metadata names and addresses in
 * any spelling are refused whatever the allowlist says. A name is judged by its name
 * only; policy_query_host_resolved() also judges the addresses it resolved to.
 */
int policy_query_host(const struct sandbox_spec *s, const char *host_or_url, uint16_t port,
		      struct query_result *ret);

/*
 * policy_query_host(), and when the allowlist admits a name, its ADDRS (N of them, as
 * the proxy's resolver answered) pass the proxy's address rule: an always-denied
 * address refuses it (REASON_METADATA_DENIED), loopback or one of HOST_LOCAL's addresses
 * (NULL: none) through a wildcard entry only too (REASON_LOOPBACK_WILDCARD).
 * ret->address names the deciding address.
 */
struct netmatch_local;
int policy_query_host_resolved(const struct sandbox_spec *s, const char *host_or_url, uint16_t port,
			       const struct sockaddr_storage *addrs, size_t n,
			       const struct netmatch_local *host_local, struct query_result *ret);

/* Scope state: requested by the spec, supported by LANDLOCK_ABI (>= 6), enforced (both). */
int policy_query_scope(const struct sandbox_spec *s, enum query_scope scope, int landlock_abi,
		       struct query_result *ret);

/* Helpers exposed for tests: host pattern ("example.com", "*.example.com") and path glob. */
bool query_host_matches(const char *pattern, const char *host);
bool query_path_glob_matches(const char *glob, const char *path);

/*
 * Rendering. JSON is one object, keys always present (null when not known):
 *   path/host: {"status","reason","category","path"|"host","op"|"port","rule","origin",
 *               "suggestion"}; host also "proxy_placement", "proxy_placement_reason",
 *               "address"
 *   scope:     {"status","reason","scope","requested","supported","enforced"}
 * Human text is a few lines ending in "\n".
 */
int query_result_to_json(const struct query_result *r, char **ret);
int query_result_to_text(const struct query_result *r, char **ret);

/*
 * The spec as JSON, and back. spec_from_json is strict: unknown or duplicate keys,
 * wrong types, relative paths, unknown enum names and oversized input are -EINVAL
 * (-E2BIG for size), never a partial spec.
 */
#define SPEC_JSON_MAX (4u * 1024 * 1024)
int spec_to_json(const struct sandbox_spec *s, char **ret);
int spec_from_json(const char *json, struct sandbox_spec **ret);

/*
 * The sandbox's own state, for `nono why --self`: the supervisor serialises the spec
 * into a memfd sealed against every change (write, grow, shrink, further seals) and
 * hands the child the fd number in NONO_SANDBOX_STATE_FD. *ret_fd is O_CLOEXEC: the
 * caller dup2()s it to the number it passes (or clears FD_CLOEXEC) before exec.
 */
#define SANDBOX_STATE_FD_ENV "NONO_SANDBOX_STATE_FD"
int sandbox_state_publish(const struct sandbox_spec *s, int *ret_fd);
/*
 * Read it back: checks the fd is a memfd carrying all four seals, reads at most
 * SPEC_JSON_MAX bytes from offset 0 (pread: the shared file offset is not moved),
 * parses strictly. -ENOENT when FD_STR is NULL/empty, -EBADF when it is not a number
 * or not open, -EPERM when the seals are missing.
 */
int sandbox_state_read(const char *fd_str, struct sandbox_spec **ret);
