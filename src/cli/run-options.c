/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/run-options.h"

/* clang-format off */
#define RUN_OPTIONS_COMMON \
	{"allow", 'a', required_argument, OPT_ALLOW, "DIR", "grant read+write access to DIR (recursive)", "NONO_ALLOW", false}, \
	{"read", 'r', required_argument, OPT_READ, "DIR", "grant read-only access to DIR (recursive)", NULL, false}, \
	{"write", 'w', required_argument, OPT_WRITE, "DIR", "grant write-only access to DIR (recursive)", NULL, false}, \
	{"allow-file", 0, required_argument, OPT_ALLOW_FILE, "FILE", "grant read+write access to one file", NULL, false}, \
	{"read-file", 0, required_argument, OPT_READ_FILE, "FILE", "grant read-only access to one file", NULL, false}, \
	{"write-file", 0, required_argument, OPT_WRITE_FILE, "FILE", "grant write-only access to one file", NULL, false}, \
	{"allow-cwd", 0, no_argument, OPT_ALLOW_CWD, NULL, "grant the working directory (profile workdir.access, default read-only)", NULL, false}, \
	{"workdir", 0, required_argument, OPT_WORKDIR, "DIR", "working directory for $WORKDIR (default: current directory)", NULL, false}, \
	{"profile", 'p', required_argument, OPT_PROFILE, "NAME", "use a built-in or user profile, or a profile file path", "NONO_PROFILE", false}, \
	{"bypass-protection", 0, required_argument, OPT_BYPASS_PROTECTION, "PATH", "lift one deny-group rule for PATH (needs a matching grant)", NULL, false}, \
	{"override-deny", 0, required_argument, OPT_OVERRIDE_DENY, "PATH", "deprecated alias of --bypass-protection", NULL, true}, \
	{"allow-unix-socket", 0, required_argument, OPT_UNIX_SOCKET, "PATH", "allow connect(2) to the AF_UNIX socket PATH", NULL, false}, \
	{"allow-unix-socket-bind", 0, required_argument, OPT_UNIX_SOCKET_BIND, "PATH", "allow connect(2) and bind(2) on the AF_UNIX socket PATH", NULL, false}, \
	{"allow-unix-socket-dir", 0, required_argument, OPT_UNIX_SOCKET_DIR, "DIR", "allow connect(2) to sockets directly within DIR", NULL, false}, \
	{"allow-unix-socket-dir-bind", 0, required_argument, OPT_UNIX_SOCKET_DIR_BIND, "DIR", "allow connect(2) and bind(2) on sockets directly within DIR", NULL, false}, \
	{"allow-unix-socket-subtree", 0, required_argument, OPT_UNIX_SOCKET_SUBTREE, "DIR", "allow connect(2) to sockets anywhere beneath DIR", NULL, false}, \
	{"allow-unix-socket-subtree-bind", 0, required_argument, OPT_UNIX_SOCKET_SUBTREE_BIND, "DIR", "allow connect(2) and bind(2) on sockets anywhere beneath DIR", NULL, false}, \
	{"block-net", 0, no_argument, OPT_BLOCK_NET, NULL, "block all network access", "NONO_BLOCK_NET", false}, \
	{"allow-net", 0, no_argument, OPT_ALLOW_NET, NULL, "force unrestricted network access (overrides the profile)", "NONO_ALLOW_NET", false}, \
	{"open-port", 0, required_argument, OPT_OPEN_PORT, "PORT", "allow localhost TCP connect and listen on PORT", NULL, false}, \
	{"allow-command", 0, required_argument, OPT_ALLOW_COMMAND, "CMD", "deprecated: allow a blocked startup command (not a security boundary)", NULL, false}, \
	{"block-command", 0, required_argument, OPT_BLOCK_COMMAND, "CMD", "deprecated: block a startup command (not a security boundary)", NULL, false}, \
	{"suppress-save-prompt", 0, required_argument, OPT_SUPPRESS_SAVE_PROMPT, "PATH", "do not offer PATH as a profile addition after a denial", NULL, false}, \
	{"ignore-denied", 0, required_argument, OPT_IGNORE_DENIED, "PATH", "alias of --suppress-save-prompt", NULL, true}, \
	{"env-credential", 0, required_argument, OPT_ENV_CREDENTIAL, "NAMES", "load credentials into the environment (comma-separated names or op://...=VAR)", "NONO_ENV_CREDENTIAL", false}, \
	{"env-credential-map", 0, required_argument, OPT_ENV_CREDENTIAL_MAP, "REF VAR", "load credential REF into environment variable VAR (two arguments)", NULL, false}, \
	{"pass-env", 0, required_argument, OPT_PASS_ENV, "NAME", "keep ambient credential NAME (e.g. GITHUB_TOKEN) in the environment", "NONO_PASS_ENV", false}, \
	{"allow-launch-services", 0, no_argument, OPT_ALLOW_LAUNCH_SERVICES, NULL, "macOS only: allow LaunchServices opens", NULL, false}, \
	{"allow-gpu", 0, no_argument, OPT_ALLOW_GPU, NULL, "allow GPU compute devices", NULL, false}, \
	{"shared-tmp", 0, no_argument, OPT_SHARED_TMP, NULL, "share the host's /tmp and /var/tmp instead of the session's own", NULL, false}, \
	{"no-diagnostics", 0, no_argument, OPT_NO_DIAGNOSTICS, NULL, "no diagnostic footer (what nono refused; the summary when the command fails)", NULL, false}, \
	{"dry-run", 0, no_argument, OPT_DRY_RUN, NULL, "print the capabilities that would be granted, run nothing", NULL, false}, \
	{"verbose", 'v', no_argument, OPT_VERBOSE, NULL, "more output (-v info, -vv debug, -vvv trace)", NULL, false}, \
	{"silent", 's', no_argument, OPT_SILENT, NULL, "no nono output, only the command's", NULL, false}, \
	{"theme", 0, required_argument, OPT_THEME, "NAME", "colour theme (mocha latte frappe macchiato tokyo-night minimal)", "NONO_THEME", false}, \
	{"trust-override", 0, no_argument, OPT_TRUST_OVERRIDE, NULL, "skip instruction-file trust verification", NULL, false}, \
	{"config", 'c', required_argument, OPT_CONFIG, "FILE", "configuration file (planned; currently refused)", NULL, false}, \
	{"help", 'h', no_argument, OPT_HELP, NULL, "show this help", NULL, false}

#define RUN_OPTIONS_SUPERVISED \
	{"network-profile", 0, required_argument, OPT_NETWORK_PROFILE, "NAME", "filter outbound traffic through the proxy with a network profile", "NONO_NETWORK_PROFILE", false}, \
	{"allow-domain", 0, required_argument, OPT_ALLOW_DOMAIN, "HOST|URL", "add a host (or URL with path glob) to the proxy allowlist", "NONO_ALLOW_DOMAIN", false}, \
	{"credential", 0, required_argument, OPT_CREDENTIAL, "SERVICE[=SOURCE]", "inject a service's credential through the reverse proxy (SOURCE: env://VAR, file://PATH, op://REF or a keyring name)", "NONO_CREDENTIAL", false}, \
	{"allow-endpoint", 0, required_argument, OPT_ALLOW_ENDPOINT, "SVC:METHOD:PATH", "restrict a credential service to matching requests", NULL, false}, \
	{"upstream-proxy", 0, required_argument, OPT_UPSTREAM_PROXY, "HOST:PORT", "chain outbound connections (credential upstreams included) through an upstream proxy", "NONO_UPSTREAM_PROXY", false}, \
	{"upstream-bypass", 0, required_argument, OPT_UPSTREAM_BYPASS, "HOST", "connect directly to HOST (exact or *.suffix) instead of the upstream proxy", "NONO_UPSTREAM_BYPASS", false}, \
	{"proxy-port", 0, required_argument, OPT_PROXY_PORT, "PORT", "fixed port for the proxy (default: OS-assigned)", NULL, false}, \
	{"listen-port", 0, required_argument, OPT_LISTEN_PORT, "PORT", "allow listening on TCP PORT in proxy mode", NULL, false}, \
	{"detached", 0, no_argument, OPT_DETACHED, NULL, "start in the background; print the session id and the attach command", NULL, false}, \
	{"detach-timeout", 0, required_argument, OPT_DETACH_TIMEOUT, "SECS", "how long a detached start may take to be ready (default 30)", "NONO_DETACH_STARTUP_TIMEOUT", false}, \
	{"name", 0, required_argument, OPT_NAME, "NAME", "session name", NULL, false}, \
	{"rollback", 0, no_argument, OPT_ROLLBACK, NULL, "snapshot the write-granted directories for review and restore", NULL, false}, \
	{"no-rollback-prompt", 0, no_argument, OPT_NO_ROLLBACK_PROMPT, NULL, "no post-exit rollback review", NULL, false}, \
	{"no-rollback", 0, no_argument, OPT_NO_ROLLBACK, NULL, "disable rollback for this session", NULL, false}, \
	{"no-audit", 0, no_argument, OPT_NO_AUDIT, NULL, "disable the audit trail for this session", NULL, false}, \
	{"audit-integrity", 0, no_argument, OPT_AUDIT_INTEGRITY, NULL, "hash the tracked writable state before and after (Merkle roots in the audit record; --rollback implies it)", NULL, false}, \
	{"no-audit-integrity", 0, no_argument, OPT_NO_AUDIT_INTEGRITY, NULL, "no hash chain over audit events", NULL, false}, \
	{"audit-sign-key", 0, required_argument, OPT_AUDIT_SIGN_KEY, "KEYREF", "sign the session audit record (Merkle root, context) with this key when it ends", NULL, false}, \
	{"rollback-exclude", 0, required_argument, OPT_ROLLBACK_EXCLUDE, "PATTERN", "exclude from rollback snapshots", NULL, false}, \
	{"rollback-include", 0, required_argument, OPT_ROLLBACK_INCLUDE, "DIR", "force-include in rollback snapshots", NULL, false}, \
	{"rollback-all", 0, no_argument, OPT_ROLLBACK_ALL, NULL, "no rollback auto-exclusions", NULL, false}, \
	{"skip-dir", 0, required_argument, OPT_SKIP_DIR, "NAME", "skip a directory name in trust scanning and rollback preflight", NULL, false}, \
	{"startup-timeout", 0, required_argument, OPT_STARTUP_TIMEOUT, "SECS", "end the command (SIGKILL) if it has not entered the alternate screen within SECS; terminal runs only; 0: off (default)", "NONO_STARTUP_TIMEOUT", false}, \
	{"capability-elevation", 0, no_argument, OPT_CAPABILITY_ELEVATION, NULL, "runtime capability elevation (not supported yet)", "NONO_CAPABILITY_ELEVATION", false}

const struct cli_option run_options[] = {
	RUN_OPTIONS_COMMON,
	RUN_OPTIONS_SUPERVISED,
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};

const struct cli_option shell_options[] = {
	RUN_OPTIONS_COMMON,
	RUN_OPTIONS_SUPERVISED,
	{"shell", 0, required_argument, OPT_SHELL, "PATH", "shell to start (default: $SHELL, then /bin/sh)", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};

/* wrap execs in place: nothing that needs a supervisor is offered. */
const struct cli_option wrap_options[] = {
	RUN_OPTIONS_COMMON,
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */
