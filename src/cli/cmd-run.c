/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono run | shell | wrap: parse flags and NONO_* variables, resolve the policy,
 * then either print it (--dry-run), exec in place (wrap) or supervise the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/path.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "supervisor/session-attest.h"
#include "supervisor/session-detach.h"
#include "supervisor/session-proxy.h"
#include "supervisor/session.h"
#include "cli/placement.h"
#include "cli/run-trust.h"
#include "cli/run-options.h"
#include "cli/theme.h"
#include "credential/credential.h"
#include "cli/run-rollback.h"
#include "policy/policy.h"
#include "query/query.h"
#include "sandbox/sandbox.h"

extern char **environ;

/* --startup-timeout: a day at most. */
#define STARTUP_TIMEOUT_MAX 86400

enum run_mode {
	MODE_RUN = 0,
	MODE_SHELL,
	MODE_WRAP,
};

/* Values as given on the command line; NONO_* variables fill what flags left unset. */
struct run_args {
	struct input_grant *grants;
	size_t n_grants;
	struct input_unix_grant *unix_grants;
	size_t n_unix_grants;
	uint16_t *open_ports, *listen_ports;
	size_t n_open_ports, n_listen_ports;
	char **bypass, **allow_domains, **credentials, **endpoints, **upstream_bypass;
	char **allow_commands, **block_commands, **env_credentials, **env_credential_map;
	char **pass_env;
	char **env_allow; /* owns the strings NONO_ALLOW grants point into */
	const char *profile, *workdir, *network_profile, *upstream_proxy, *shell;
	uint16_t proxy_port;
	int block_net, allow_net, capability_elevation;
	bool allow_cwd, dry_run, no_diagnostics, allow_gpu, shared_tmp, any_allow_flag;
	bool no_audit, no_audit_integrity;
	char **skip_dirs; /* --skip-dir: pruned by the trust scan */
	const char *audit_sign_key;
	const char *name;	     /* --name */
	const char *startup_timeout; /* --startup-timeout, else NONO_STARTUP_TIMEOUT */
	bool detached;
	const char *detach_timeout; /* --detach-timeout SECS */
	bool trust_override;
	int verbose;
	struct run_rollback_opts rollback;
};

static void run_args_release(struct run_args *a)
{
	free(a->grants);
	free(a->unix_grants);
	free(a->open_ports);
	free(a->listen_ports);
	strv_free(a->bypass);
	strv_free(a->allow_domains);
	strv_free(a->credentials);
	strv_free(a->endpoints);
	strv_free(a->upstream_bypass);
	strv_free(a->allow_commands);
	strv_free(a->block_commands);
	strv_free(a->env_credentials);
	strv_free(a->env_credential_map);
	strv_free(a->pass_env);
	strv_free(a->env_allow);
	strv_free(a->skip_dirs);
	run_rollback_opts_release(&a->rollback);
}

static int add_grant(struct run_args *a, const char *path, unsigned access, bool is_file,
		     enum origin_kind kind, const char *flag)
{
	struct input_grant *g = realloc(a->grants, (a->n_grants + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	a->grants = g;
	g[a->n_grants++] = (struct input_grant){path, access, is_file, kind, flag};
	return 0;
}

static int add_unix(struct run_args *a, const char *path, unsigned flags, const char *flag)
{
	struct input_unix_grant *g = realloc(a->unix_grants, (a->n_unix_grants + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	a->unix_grants = g;
	g[a->n_unix_grants++] = (struct input_unix_grant){path, flags, flag};
	return 0;
}

static int add_port(uint16_t **ports, size_t *n, const char *value, const char *flag)
{
	uint16_t p;
	if (parse_port(value, &p) < 0) {
		log_error("invalid port '%s' for %s: expected a number from 1 to 65535", value, flag);
		return -EINVAL;
	}
	uint16_t *np = realloc(*ports, (*n + 1) * sizeof(uint16_t));
	if (!np)
		return -ENOMEM;
	np[(*n)++] = p;
	*ports = np;
	return 0;
}

/* Variables read with secure_getenv: a setuid-context nono must not trust them. */
static int env_bool(const char *name, int *ret)
{
	const char *v = secure_getenv(name);
	bool b;
	if (!v || !*v)
		return 0;
	if (parse_bool(v, &b) < 0) {
		log_error("invalid value '%s' in %s: expected true, false, yes, no, 1 or 0", v, name);
		return -EINVAL;
	}
	*ret = b;
	return 1;
}

static int env_list(const char *name, char ***l)
{
	const char *v = secure_getenv(name);
	if (!v || !*v || *l)
		return 0; /* unset, or the flag was given: flags take precedence */
	return strv_split(v, ",", l);
}

static const char *env_str(const char *name, const char *current)
{
	const char *v = secure_getenv(name);
	return current ? current : (v && *v ? v : NULL);
}

static int refuse_unsupported(const char *flag)
{
	log_error("'%s' is not supported by this build of nono yet", flag);
	return -EOPNOTSUPP;
}

/* Returns >0 to continue, 0 after --help, <0 on error (already logged). */
static int parse_run_args(enum run_mode mode, const struct cli_command *cmd, int argc, char **argv,
			  struct run_args *a)
{
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	int r = cli_getopt_tables(cmd->options, &longopts, &shortopts);
	if (r < 0)
		return log_error_errno(r, "cannot build option table");

	a->block_net = a->allow_net = a->capability_elevation = -1;
	opterr = 0;
	optind = 1;
	for (;;) {
		int c = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (c < 0)
			break;
		switch (c) {
		case OPT_ALLOW:
			a->any_allow_flag = true;
			r = add_grant(a, optarg, FS_RW, false, ORIGIN_CLI, "--allow");
			break;
		case OPT_READ:
			r = add_grant(a, optarg, FS_READ, false, ORIGIN_CLI, "--read");
			break;
		case OPT_WRITE:
			r = add_grant(a, optarg, FS_WRITE, false, ORIGIN_CLI, "--write");
			break;
		case OPT_ALLOW_FILE:
			r = add_grant(a, optarg, FS_RW, true, ORIGIN_CLI, "--allow-file");
			break;
		case OPT_READ_FILE:
			r = add_grant(a, optarg, FS_READ, true, ORIGIN_CLI, "--read-file");
			break;
		case OPT_WRITE_FILE:
			r = add_grant(a, optarg, FS_WRITE, true, ORIGIN_CLI, "--write-file");
			break;
		case OPT_ALLOW_CWD:
			a->allow_cwd = true;
			break;
		case OPT_WORKDIR:
			a->workdir = optarg;
			break;
		case OPT_PROFILE:
			a->profile = optarg;
			break;
		case OPT_OVERRIDE_DENY:
			log_warning("'--override-deny' is deprecated and will be removed in v1.0.0: "
				    "use '--bypass-protection'");
			_fallthrough_;
		case OPT_BYPASS_PROTECTION:
			r = strv_extend(&a->bypass, optarg);
			break;
		case OPT_UNIX_SOCKET:
			r = add_unix(a, optarg, UNIX_CONNECT, "--allow-unix-socket");
			break;
		case OPT_UNIX_SOCKET_BIND:
			r = add_unix(a, optarg, UNIX_CONNECT | UNIX_BIND, "--allow-unix-socket-bind");
			break;
		case OPT_UNIX_SOCKET_DIR:
			r = add_unix(a, optarg, UNIX_CONNECT | UNIX_DIR, "--allow-unix-socket-dir");
			break;
		case OPT_UNIX_SOCKET_DIR_BIND:
			r = add_unix(a, optarg, UNIX_CONNECT | UNIX_BIND | UNIX_DIR,
				     "--allow-unix-socket-dir-bind");
			break;
		case OPT_UNIX_SOCKET_SUBTREE:
			r = add_unix(a, optarg, UNIX_CONNECT | UNIX_SUBTREE,
				     "--allow-unix-socket-subtree");
			break;
		case OPT_UNIX_SOCKET_SUBTREE_BIND:
			r = add_unix(a, optarg, UNIX_CONNECT | UNIX_BIND | UNIX_SUBTREE,
				     "--allow-unix-socket-subtree-bind");
			break;
		case OPT_BLOCK_NET:
			a->block_net = 1;
			break;
		case OPT_ALLOW_NET:
			a->allow_net = 1;
			break;
		case OPT_OPEN_PORT:
			r = add_port(&a->open_ports, &a->n_open_ports, optarg, "--open-port");
			break;
		case OPT_LISTEN_PORT:
			r = add_port(&a->listen_ports, &a->n_listen_ports, optarg, "--listen-port");
			break;
		case OPT_PROXY_PORT:
			if (parse_port(optarg, &a->proxy_port) < 0) {
				log_error("invalid port '%s' for --proxy-port: expected 1 to 65535",
					  optarg);
				r = -EINVAL;
			}
			break;
		case OPT_NETWORK_PROFILE:
			a->network_profile = optarg;
			break;
		case OPT_ALLOW_DOMAIN:
			r = strv_extend(&a->allow_domains, optarg);
			break;
		case OPT_CREDENTIAL:
			r = strv_extend(&a->credentials, optarg);
			break;
		case OPT_ALLOW_ENDPOINT:
			r = strv_extend(&a->endpoints, optarg);
			break;
		case OPT_UPSTREAM_PROXY:
			a->upstream_proxy = optarg;
			break;
		case OPT_UPSTREAM_BYPASS:
			r = strv_extend(&a->upstream_bypass, optarg);
			break;
		case OPT_ALLOW_COMMAND:
			log_warning("'--allow-command' is deprecated: it checks only the directly "
				    "invoked executable and is not a security boundary");
			r = strv_extend(&a->allow_commands, optarg);
			break;
		case OPT_BLOCK_COMMAND:
			log_warning("'--block-command' is deprecated: it checks only the directly "
				    "invoked executable and is not a security boundary");
			r = strv_extend(&a->block_commands, optarg);
			break;
		case OPT_ENV_CREDENTIAL: {
			_cleanup_strv_free_ char **l = NULL;
			r = strv_split(optarg, ",", &l);
			STRV_FOREACH(s, l)
			if (r >= 0)
				r = strv_extend(&a->env_credentials, *s);
			break;
		}
		case OPT_ENV_CREDENTIAL_MAP:
			/* Two values: REF VAR. getopt gave us REF; VAR is the next word. */
			if (optind >= argc || argv[optind][0] == '-') {
				log_error("'--env-credential-map' takes two values: CREDENTIAL_REF "
					  "ENV_VAR");
				return -EINVAL;
			}
			r = strv_extend(&a->env_credential_map, optarg);
			if (r >= 0)
				r = strv_extend(&a->env_credential_map, argv[optind++]);
			break;
		case OPT_PASS_ENV:
			r = strv_extend(&a->pass_env, optarg);
			break;
		case OPT_ALLOW_GPU:
			a->allow_gpu = true;
			break;
		case OPT_SHARED_TMP:
			a->shared_tmp = true;
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_NO_DIAGNOSTICS:
			a->no_diagnostics = true;
			break;
		case OPT_VERBOSE:
			a->verbose++;
			break;
		case OPT_SILENT:
			arg_silent = true;
			break;
		case OPT_THEME:
			arg_theme = optarg;
			break;
		case OPT_SHELL:
			a->shell = optarg;
			break;
		case OPT_CONFIG:
			log_error("'--config': configuration file support is planned for a future "
				  "release");
			return -EOPNOTSUPP;
		case OPT_ALLOW_LAUNCH_SERVICES:
			log_error("'--allow-launch-services' is only supported on macOS");
			return -EOPNOTSUPP;
		case OPT_DETACHED:
			a->detached = true;
			break;
		case OPT_DETACH_TIMEOUT:
			a->detach_timeout = optarg;
			break;
		case OPT_CAPABILITY_ELEVATION:
			/* Fail closed: accepting these silently would promise protection we do not give. */
			return refuse_unsupported(argv[optind - 1]);
		case OPT_NO_AUDIT:
			a->no_audit = true;
			break;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_STARTUP_TIMEOUT:
			a->startup_timeout = optarg;
			break;
		case OPT_SKIP_DIR:
			if (strv_extend(&a->skip_dirs, optarg) < 0)
				return -ENOMEM;
			if (run_rollback_opt(&a->rollback, c, optarg) < 0)
				return -ENOMEM;
			break;
		case OPT_TRUST_OVERRIDE:
			a->trust_override = true;
			break;
		case OPT_AUDIT_SIGN_KEY:
			a->audit_sign_key = optarg;
			break;
		case OPT_NO_AUDIT_INTEGRITY:
			a->no_audit_integrity = true;
			break;
		case OPT_AUDIT_INTEGRITY:
		case OPT_ROLLBACK:
		case OPT_NO_ROLLBACK:
		case OPT_NO_ROLLBACK_PROMPT:
		case OPT_ROLLBACK_ALL:
		case OPT_ROLLBACK_EXCLUDE:
		case OPT_ROLLBACK_INCLUDE:
			if (run_rollback_opt(&a->rollback, c, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_SUPPRESS_SAVE_PROMPT:
		case OPT_IGNORE_DENIED:
			/* Switch off or tune features this build does not run: nothing to relax. */
			break;
		case OPT_HELP:
			cli_print_help(cmd, stdout);
			return 0;
		case '?':
		default: {
			const char *bad = argv[optind - 1];
			if (mode == MODE_WRAP && startswith(bad, "--")) {
				for (const struct cli_option *o = run_options; o->name; o++) {
					size_t l = strlen(o->name);
					if (strncmp(bad + 2, o->name, l) == 0 &&
					    (bad[2 + l] == 0 || bad[2 + l] == '=')) {
						log_error("nono wrap does not support '--%s': it needs "
							  "a supervising parent process; use 'nono run'",
							  o->name);
						return -EINVAL;
					}
				}
			}
			if (optopt > 0 && optopt < 0x100 && strchr(shortopts, optopt) && optopt != '?')
				log_error("option '-%c' needs a value", optopt);
			else if (startswith(bad, "--") && strchr(bad, '=') == NULL &&
				 cli_option_needs_value(cmd->options, bad + 2))
				log_error("option '%s' needs a value", bad);
			else
				log_error("unknown option '%s' for 'nono %s' (see 'nono %s --help')",
					  bad, cmd->name, cmd->name);
			return -EINVAL;
		}
		}
		if (r < 0)
			return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
	}

	return 1;
}

/*
 * NONO_* variables fill what no flag set: flags take precedence. A pair of exclusive
 * settings (--block-net / --allow-net) counts as one: a flag for either side
 * overrides the variables for both. Conflicts are checked on the merged result.
 */
static int apply_environment(struct run_args *a)
{
	int r;

	if (!a->any_allow_flag) {
		r = env_list("NONO_ALLOW", &a->env_allow);
		if (r < 0)
			return log_error_errno(r, "cannot read NONO_ALLOW");
		STRV_FOREACH(p, a->env_allow)
		if (add_grant(a, *p, FS_RW, false, ORIGIN_ENV, "NONO_ALLOW") < 0)
			return log_error_errno(-ENOMEM, "out of memory");
	}
	if (a->block_net < 0 && a->allow_net < 0) {
		if (env_bool("NONO_BLOCK_NET", &a->block_net) < 0 ||
		    env_bool("NONO_ALLOW_NET", &a->allow_net) < 0)
			return -EINVAL;
	}
	if (a->capability_elevation < 0 &&
	    env_bool("NONO_CAPABILITY_ELEVATION", &a->capability_elevation) < 0)
		return -EINVAL;
	if (a->capability_elevation > 0)
		return refuse_unsupported("NONO_CAPABILITY_ELEVATION");
	if (!a->profile)
		a->profile = env_str("NONO_PROFILE", NULL);
	a->network_profile = env_str("NONO_NETWORK_PROFILE", a->network_profile);
	a->upstream_proxy = env_str("NONO_UPSTREAM_PROXY", a->upstream_proxy);
	if (env_list("NONO_ALLOW_DOMAIN", &a->allow_domains) < 0 ||
	    env_list("NONO_CREDENTIAL", &a->credentials) < 0 ||
	    env_list("NONO_ENV_CREDENTIAL", &a->env_credentials) < 0 ||
	    env_list("NONO_PASS_ENV", &a->pass_env) < 0 ||
	    env_list("NONO_UPSTREAM_BYPASS", &a->upstream_bypass) < 0)
		return log_error_errno(-ENOMEM, "out of memory");
	if (!a->startup_timeout)
		a->startup_timeout = env_str("NONO_STARTUP_TIMEOUT", NULL);

	if (a->block_net > 0 && a->allow_net > 0) {
		log_error("'--block-net' and '--allow-net' (or NONO_BLOCK_NET and NONO_ALLOW_NET) "
			  "cannot be used together");
		return -EINVAL;
	}
	bool proxy = a->network_profile || a->allow_domains || a->credentials || a->upstream_proxy;
	if (a->block_net > 0 && proxy) {
		log_error("'--block-net' cannot be combined with proxy flags (--network-profile, "
			  "--allow-domain, --credential, --upstream-proxy)");
		return -EINVAL;
	}
	if (a->upstream_bypass && !a->upstream_proxy) {
		log_error("'--upstream-bypass' requires '--upstream-proxy'");
		return -EINVAL;
	}
	return 0;
}

static void input_from_args(const struct run_args *a, struct policy_input *in)
{
	*in = (struct policy_input){
		.profile = a->profile,
		.workdir = a->workdir,
		.allow_cwd = a->allow_cwd,
		.grants = a->grants,
		.n_grants = a->n_grants,
		.bypass = a->bypass,
		.block_net = a->block_net,
		.allow_net = a->allow_net,
		.open_ports = a->open_ports,
		.n_open_ports = a->n_open_ports,
		.listen_ports = a->listen_ports,
		.n_listen_ports = a->n_listen_ports,
		.unix_grants = a->unix_grants,
		.n_unix_grants = a->n_unix_grants,
		.network_profile = a->network_profile,
		.allow_domains = a->allow_domains,
		.credentials = a->credentials,
		.allow_endpoints = a->endpoints,
		.upstream_proxy = a->upstream_proxy,
		.upstream_bypass = a->upstream_bypass,
		.proxy_port = a->proxy_port,
		.allow_commands = a->allow_commands,
		.block_commands = a->block_commands,
		.env_credentials = a->env_credentials,
		.env_credential_map = a->env_credential_map,
		.pass_env = a->pass_env,
		.allow_gpu = a->allow_gpu,
		.shared_tmp = a->shared_tmp,
		.capability_elevation = a->capability_elevation,
	};
}

/* Find an executable the way execvp would, in the parent (the child may not allocate). */
static int resolve_command(const char *name, char **ret)
{
	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			return -errno;
		return path_absolute(name, NULL, ret);
	}
	const char *pathenv = getenv("PATH");
	_cleanup_strv_free_ char **dirs = NULL;
	int r = strv_split(pathenv && *pathenv ? pathenv : "/usr/local/bin:/usr/bin:/bin", ":",
			   &dirs);
	if (r < 0)
		return r;
	int last = -ENOENT;
	STRV_FOREACH(d, dirs)
	{
		_cleanup_free_ char *p = NULL;
		struct stat st;
		if (path_join(*d, name, &p) < 0)
			return -ENOMEM;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (access(p, X_OK) < 0) {
			last = -errno;
			continue;
		}
		*ret = TAKE_PTR(p);
		return 0;
	}
	return last;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void print_access(FILE *out, unsigned access)
{
	(void)fprintf(out, "[%c%c]", access & FS_READ ? 'r' : '-', access & FS_WRITE ? 'w' : '-');
}

static void print_dry_run(const struct sandbox_spec *s, const struct sandbox_features *f,
			  char *const *argv, int verbose)
{
	FILE *out = stdout;
	(void)fprintf(out, "Capabilities that would be granted:\n");
	for (size_t i = 0; i < s->n_grants; i++) {
		const struct fs_grant *g = &s->grants[i];
		if (!g->exists && verbose < 1)
			continue;
		(void)fputs("  ", out);
		print_access(out, g->access);
		(void)fprintf(out, " %s%s", g->path, g->is_file ? " (file)" : "");
		if (!g->exists)
			(void)fputs(" (missing, skipped)", out);
		if (verbose > 0 && g->origin.name)
			(void)fprintf(out, "  <- %s", g->origin.name);
		(void)fputc('\n', out);
	}
	for (size_t i = 0; i < s->n_unix_grants; i++) {
		const struct unix_grant *u = &s->unix_grants[i];
		(void)fprintf(out, "  [unix%s] %s%s\n", u->flags & UNIX_BIND ? "+bind" : "", u->path,
			      u->flags & UNIX_SUBTREE ? " (subtree)"
			      : u->flags & UNIX_DIR   ? " (directory)"
						      : "");
	}
	switch (s->net) {
	case NET_BLOCK:
		(void)fprintf(out, "  [net] blocked");
		break;
	case NET_PROXY:
		(void)fprintf(out, "  [net] proxy only%s%s", s->proxy.network_profile ? ", profile " : "",
			      strempty(s->proxy.network_profile));
		break;
	default:
		(void)fprintf(out, "  [net] allowed");
		break;
	}
	for (size_t i = 0; i < s->n_open_ports; i++)
		(void)fprintf(out, "%s%u", i ? "," : ", open ports ", s->open_ports[i]);
	for (size_t i = 0; i < s->n_listen_ports; i++)
		(void)fprintf(out, "%s%u", i ? "," : ", listen ports ", s->listen_ports[i]);
	(void)fputc('\n', out);
	STRV_FOREACH(d, s->proxy.allow_domains)
	(void)fprintf(out, "  [host] %s\n", *d);
	run_credentials_describe(s, out);

	bool header = false;
	for (size_t i = 0; i < s->n_denies; i++) {
		const struct fs_deny *d = &s->denies[i];
		if (!d->exists && verbose < 1)
			continue;
		if (!header) {
			(void)fprintf(out, "Protected paths (masked where a grant covers them):\n");
			header = true;
		}
		(void)fprintf(out, "  [--] %s (%s)%s\n", d->path, d->group,
			      d->bypassed ? " BYPASSED" : "");
	}
	if (verbose > 0) {
		(void)fprintf(out, "Landlock ABI: %d%s\n", f->landlock_abi,
			      f->landlock_abi ? "" : " (unavailable)");
		(void)fprintf(out, "Scope signal: requested=%s supported=%s enforced=%s\n",
			      s->scope_signal ? "yes" : "no", f->landlock_abi >= 6 ? "yes" : "no",
			      s->scope_signal && f->landlock_abi >= 6 ? "yes" : "no");
		(void)fprintf(out,
			      "Scope abstract-unix-socket: requested=%s supported=%s enforced=%s\n",
			      s->scope_abstract_unix ? "yes" : "no",
			      f->landlock_abi >= 6 ? "yes" : "no",
			      s->scope_abstract_unix && f->landlock_abi >= 6 ? "yes" : "no");
		(void)fprintf(out, "User namespaces: %s\n", sandbox_userns_available() ? "available" : "unavailable");
		if (s->placement.pidns)
			(void)fprintf(out,
				      "Namespaces: pid, ipc, mount%s%s (PID 1 is nono's init: "
				      "everything the command starts ends with it)\n",
				      s->placement.userns ? ", user" : "",
				      s->proxy.placement == PROXY_PLACEMENT_NETNS ? ", network"
										  : "");
		else
			(void)fprintf(out,
				      "Namespaces: no pid/ipc (needs user namespaces or "
				      "CAP_SYS_ADMIN): the supervisor, a child subreaper, ends "
				      "the command's whole process tree when it exits\n");
		bool mountns = s->placement.mountns;
		(void)fprintf(
		    out, "Read-only outside write grants: %s\n",
		    !mountns		   ? "NO: no mount namespace can be had (user namespaces "
					     "unavailable); Landlock cannot refuse chmod, chown, utimes "
					     "and xattr changes outside the write grants"
		    : s->placement.ro_root ? "yes (mount namespace: chmod, chown, utimes and xattr "
					     "changes fail with EROFS)"
					   : "no (a write grant of /)");
		(void)fprintf(out, "Private /tmp: %s\n",
			      !mountns ? "no (no mount namespace): the host's /tmp is shared"
			      : !s->placement.private_tmp
				  ? "no (--shared-tmp): the host's /tmp is shared"
				  : "yes, kept under ~/.nono/sessions/<id>/tmp");
		if (s->net == NET_PROXY)
			(void)fprintf(out, "Proxy placement: %s (%s)\n",
				      proxy_placement_describe(s->proxy.placement),
				      strempty(s->proxy.placement_reason));
		(void)fprintf(out, "AF_UNIX path sockets: %s\n",
			      f->seccomp_notify ? "mediated by the supervisor under 'nono run' "
						  "(seccomp user notification), not under 'nono wrap'"
						: "not mediated (no seccomp user notification)");
		_cleanup_strv_free_ char **env = NULL, **removed = NULL;
		if (sandbox_env_filter(environ, s->pass_env, &env, &removed) >= 0) {
			(void)fprintf(out, "Ambient credentials removed from the environment:");
			STRV_FOREACH(n, removed)
			(void)fprintf(out, " %s", *n);
			(void)fprintf(out, "%s\n", strv_length(removed) ? "" : " none");
			STRV_FOREACH(n, s->pass_env)
			if (sandbox_env_name_secret(*n))
				(void)fprintf(out, "  passed through (--pass-env): %s\n", *n);
		}
	}
	cli_print_placement(out, &s->placement);
	(void)fprintf(out, "Would execute:");
	for (char *const *p = argv; *p; p++)
		(void)fprintf(out, " %s", *p);
	(void)fputc('\n', out);
}

/* Startup-only command check (deprecated surface; the kernel rules are the boundary). */
static int check_command(const struct sandbox_spec *s, const char *path)
{
	const char *name = base_name(path);
	if (strv_contains(s->allowed_commands, name) || !strv_contains(s->blocked_commands, name))
		return 0;
	log_error("command '%s' is blocked by the dangerous-commands policy; pass "
		  "'--allow-command %s' to run it anyway",
		  name, name);
	return -EPERM;
}

/* The policy's suggestion names a canonical path, which a symlink the command made can
 * steer: printed only when it is printable ASCII. */
static const char *printable_or_null(const char *v)
{
	for (const char *c = v; c && *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			return NULL;
	return v;
}

/*
 * One refused path the command named: which access nono did not grant (EROFS: write;
 * otherwise read, then write), or nothing when nono grants both (the refusal came from
 * elsewhere: the file's mode, another sandbox).
 */
static void footer_path(const struct sandbox_spec *s, const struct refusal *f)
{
	static const unsigned ops[] = {FS_READ, FS_WRITE};
	for (size_t i = f->kind == REFUSAL_EROFS ? 1 : 0; i < ARRAY_SIZE(ops); i++) {
		_cleanup_query_result_ struct query_result q = {0};
		if (policy_query_path(s, f->path, ops[i], &q) < 0 || q.status != QUERY_DENIED)
			continue;
		const char *sug = printable_or_null(q.suggestion);
		(void)fprintf(
		    stderr, "nono: refused: %s %s (%s); ask: nono why --path %s --op %s%s%s%s%s\n",
		    query_op_to_string(ops[i]), f->path, refusal_kind_to_string(f->kind), f->path,
		    query_op_to_string(ops[i]), s->profile_name ? " --profile " : "",
		    strempty(s->profile_name), sug ? "; to allow it: " : "", strempty(sug));
		return;
	}
}

static void footer_host(const struct sandbox_spec *s, const struct run_refused_host *h)
{
	_cleanup_query_result_ struct query_result q = {0};
	bool sug = policy_query_host(s, h->host, h->port, &q) >= 0 &&
		   printable_or_null(q.suggestion);
	(void)fprintf(
	    stderr,
	    "nono: refused: host %s port %u (%s); ask: nono why --host %s --port %u%s%s%s%s\n",
	    h->host, h->port, h->reason, h->host, h->port, s->profile_name ? " --profile " : "",
	    strempty(s->profile_name), sug ? "; to allow it: " : "", sug ? q.suggestion : "");
}

/*
 * What nono knows was refused (paths the command printed on its terminal, hosts the
 * proxy refused), whatever the exit status; then, when the command failed, the summary.
 */
static void print_footer(const struct sandbox_spec *s, int code, const struct session *sess)
{
	const char *private_tmp = session_private_tmp(sess);
	const struct refusal_scan *paths = session_refused_paths(sess);
	struct run_refused_host hosts[RUN_REFUSED_HOSTS_MAX];
	unsigned hosts_dropped = 0;
	size_t n_hosts;

	if (log_get_level() == LOG_LEVEL_SILENT)
		return;
	for (size_t i = 0; paths && i < paths->n; i++)
		footer_path(s, &paths->found[i]);
	if (paths && paths->dropped)
		(void)fprintf(stderr, "nono: refused: %zu more paths not listed\n", paths->dropped);
	n_hosts = session_refused_hosts(sess, hosts, ARRAY_SIZE(hosts), &hosts_dropped);
	for (size_t i = 0; i < n_hosts; i++)
		footer_host(s, &hosts[i]);
	if (hosts_dropped)
		(void)fprintf(stderr, "nono: refused: %u more hosts not listed\n", hosts_dropped);
	if (code == 0)
		return;
	size_t masked = 0;
	for (size_t i = 0; i < s->n_denies; i++)
		masked += s->denies[i].exists && !s->denies[i].bypassed;
	(void)fprintf(stderr,
		      "\n%snono:%s the command exited with status %d inside the sandbox "
		      "(%zu grants, network: %s, %zu protected paths).\n"
		      "nono: if it was refused access, ask: nono why --path PATH --op read|write "
		      "%s%s; '--dry-run' lists every grant.\n",
		      theme_on(stderr, THEME_HEADER), theme_off(stderr), code, s->n_grants,
		      s->net == NET_BLOCK   ? "blocked"
		      : s->net == NET_PROXY ? "proxy only"
					    : "allowed",
		      masked, s->profile_name ? "--profile " : "", strempty(s->profile_name));
	if (private_tmp && run_tmp_used(private_tmp))
		(void)fprintf(stderr, "nono: the command's /tmp is kept in %s\n", private_tmp);
}

static int run_common(enum run_mode mode, const char *verb, int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command(verb);
	struct run_args a = {0};
	_cleanup_spec_ struct sandbox_spec *resolved = NULL;
	_cleanup_strv_free_ char **warnings = NULL, **notes = NULL, **shell_argv = NULL;
	_cleanup_free_ char *exe = NULL;
	_cleanup_strv_free_ char **trusted = NULL; /* verified instruction files */
	_cleanup_secret_ struct secret attest_key = {0}; /* --audit-sign-key */
	struct policy_input in;
	struct sandbox_features f;
	struct policy_features pf;
	struct session sess;
	bool started = false;
	struct diag d = {{0}};
	struct run_rollback rb = RUN_ROLLBACK_INIT;
	char buf[2048];
	int r, ret = EXIT_NONO_ERROR;

	r = parse_run_args(mode, cmd, argc, argv, &a);
	if (r <= 0) {
		ret = r == 0 ? EXIT_NONO_OK : EXIT_NONO_ERROR;
		goto out;
	}
	if (arg_silent)
		log_set_level(LOG_LEVEL_SILENT);
	else if (a.verbose > 0)
		log_set_level(a.verbose >= 3 ? LOG_LEVEL_TRACE : LOG_LEVEL_WARNING + a.verbose);
	theme_select(arg_theme); /* after -s: its warning is nono output too */

	char **cmdv = argv + optind;
	if (mode == MODE_SHELL) {
		if (*cmdv) {
			log_error("'nono shell' takes no command: use 'nono run' to run one");
			goto out;
		}
		const char *sh = a.shell ? a.shell : secure_getenv("SHELL");
		if (!sh || !*sh)
			sh = "/bin/sh";
		if (strv_extend(&shell_argv, sh) < 0)
			goto oom;
		cmdv = shell_argv;
	} else if (!*cmdv) {
		log_error("no command given: 'nono %s [OPTIONS] -- COMMAND [ARGS...]'", verb);
		goto out;
	}

	if (apply_environment(&a) < 0)
		goto out;
	if (mode == MODE_WRAP && (a.network_profile || a.allow_domains || a.credentials ||
				  a.upstream_proxy)) {
		log_error("nono wrap does not support proxy settings (NONO_NETWORK_PROFILE, "
			  "NONO_ALLOW_DOMAIN, NONO_CREDENTIAL, NONO_UPSTREAM_PROXY): use 'nono run'");
		goto out;
	}

	if (a.audit_sign_key && (mode == MODE_WRAP || a.no_audit || a.no_audit_integrity)) {
		log_error("'--audit-sign-key' signs the audit record: it needs 'nono run' or "
			  "'nono shell' with the audit trail and its integrity (no --no-audit, "
			  "--no-audit-integrity)");
		goto out;
	}
	if (a.rollback.fs_integrity && (mode == MODE_WRAP || a.no_audit)) {
		log_error("'--audit-integrity' records hashes of the tracked state in the audit "
			  "trail: it conflicts with --no-audit (and needs 'nono run' or 'nono "
			  "shell')");
		goto out;
	}
	if (a.audit_sign_key && run_attest_load(a.audit_sign_key, &attest_key) < 0)
		goto out;
	/* Pre-exec trust scan: stop on a failed instruction file, grant verified ones read. */
	if (!a.dry_run && run_trust_preexec(a.skip_dirs, a.trust_override, &trusted) < 0)
		goto out;
	STRV_FOREACH(t, trusted)
	if (add_grant(&a, *t, FS_READ, true, ORIGIN_CLI, "trust") < 0)
		goto oom;

	input_from_args(&a, &in);
	/* The spec comes out of policy_resolve complete (placement decided from the probed
	 * features, state directories created, verified files read-only) and frozen. */
	sandbox_probe(&f);
	sandbox_placement_features(&f, &pf);
	in.features = &pf;
	in.readonly_files = trusted;
	in.create_state_dirs = !a.dry_run;
	in.created_notes = &notes;
	r = policy_resolve(&in, &resolved, &warnings, &d);
	if (r < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		goto out;
	}
	const struct sandbox_spec *spec = resolved;
	STRV_FOREACH(n, notes)
	log_info("%s", *n);
	STRV_FOREACH(w, warnings)
	log_warning("%s", *w);
	warnings = strv_free(warnings);
	for (size_t i = 0; i < spec->n_denies; i++)
		if (spec->denies[i].bypassed)
			log_warning("protection bypassed for '%s' (%s)", spec->denies[i].path,
				    spec->denies[i].group);

	/* No parent stays behind under wrap to answer for AF_UNIX connects: see unotify.c. */
	if (mode == MODE_WRAP && spec->n_unix_grants > 0) {
		log_error("nono wrap cannot enforce '%s' (AF_UNIX socket grants need the "
			  "supervising parent): use 'nono run'",
			  strempty(spec->unix_grants[0].origin.name));
		goto out;
	}
	if (mode == MODE_WRAP && unotify_names_mediated(spec))
		log_warning("nono wrap cannot keep protected names inside a write grant from "
			    "being created (a mask covers only what exists): use 'nono run'");

	STRV_FOREACH(n, spec->pass_env)
	if (sandbox_env_name_unsafe(*n)) {
		log_error("cannot pass '%s' (--pass-env or profile pass_env): nono always removes "
			  "loader variables such as LD_* and BASH_ENV",
			  *n);
		goto out;
	}

	if (a.dry_run) {
		/* -s silences everything nono prints: the dry run then only validates. */
		if (log_get_level() != LOG_LEVEL_SILENT)
			print_dry_run(spec, &f, cmdv, a.verbose);
		ret = EXIT_NONO_OK;
		goto out;
	}

	r = resolve_command(cmdv[0], &exe);
	if (r < 0) {
		log_error("command '%s' %s", cmdv[0],
			  r != -ENOENT      ? strerror(-r)
			  : strchr(cmdv[0], '/') ? "does not exist"
						 : "not found in PATH");
		goto out;
	}
	if (check_command(spec, exe) < 0)
		goto out;
	struct session_opts so = {
		.wrap = mode == MODE_WRAP,
		.audit = mode != MODE_WRAP && !a.no_audit,
		.audit_integrity = !a.no_audit_integrity,
		.cmdv = cmdv,
		.exe = exe,
		.attest_key = &attest_key,
		.pty_drain_ms = 100,
		.name = a.name,
		.audit_after_run = run_rollback_active(&a.rollback),
	};
	const char *drain = secure_getenv("NONO_PTY_DRAIN_TIMEOUT");
	uint64_t drain_ms;
	if (drain && *drain) {
		if (parse_u64(drain, 60000, &drain_ms) < 0) {
			log_error("NONO_PTY_DRAIN_TIMEOUT: '%s' is not a number of milliseconds "
				  "(0 to 60000)",
				  drain);
			goto out;
		}
		so.pty_drain_ms = (int)drain_ms;
	}
	uint64_t startup_s = 0;
	if (a.startup_timeout && *a.startup_timeout &&
	    parse_u64(a.startup_timeout, STARTUP_TIMEOUT_MAX, &startup_s) < 0) {
		log_error("'--startup-timeout %s' (or NONO_STARTUP_TIMEOUT): not a number of "
			  "seconds (0 to %d; 0 disables)",
			  a.startup_timeout, STARTUP_TIMEOUT_MAX);
		goto out;
	}
	so.startup_timeout_s = (int)startup_s;
	if (a.detached) {
		/* The caller waits here; the background process goes on as the supervisor. */
		const char *v = env_str("NONO_DETACH_STARTUP_TIMEOUT", a.detach_timeout);
		uint64_t secs = 30;
		if (v && parse_u64(v, 86400, &secs) < 0) {
			const char *what =
			    a.detach_timeout ? "--detach-timeout" : "NONO_DETACH_STARTUP_TIMEOUT";
			log_error("%s: '%s' is not a number of seconds (0 to 86400)", what, v);
			goto out;
		}
		so.detached = true;
		r = session_detach_start((int)secs * 1000, &so.detach_fd, &ret);
		if (r < 0) {
			log_error_errno(r, "cannot start the detached session");
			goto out;
		}
		if (r == 0)
			goto out; /* the caller: ret says how the start went */
	}
	if (so.audit)
		so.trust_summary = run_trust_take_summary();
	session_init(&sess, spec, &f, &so);
	started = true;
	if (session_prepare(&sess) < 0)
		goto out;
	if (mode == MODE_WRAP)
		session_exec(&sess);
	int code = 0;
	/* Pre-run snapshot: the last step before the child exists. */
	rb.audit = sess.audit;
	if (run_rollback_begin(&rb, &a.rollback, spec,
			       sess.audit ? audit_session_id(sess.audit) : NULL, cmdv) < 0)
		goto out;
	if (session_supervise(&sess, &code) < 0)
		goto out;
	if (!a.no_diagnostics)
		print_footer(spec, code, &sess);
	ret = code;
	if (run_rollback_end(&rb, &a.rollback, code) < 0 && ret == EXIT_NONO_OK)
		ret = EXIT_NONO_ERROR;
	goto out;
oom:
	log_error_errno(-ENOMEM, "out of memory");
out:
	run_rollback_release(&rb);
	run_args_release(&a);
	if (started)
		ret = session_finish(&sess, ret);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	return run_common(MODE_RUN, "run", argc, argv);
}

int cmd_shell(int argc, char **argv)
{
	return run_common(MODE_SHELL, "shell", argc, argv);
}

int cmd_wrap(int argc, char **argv)
{
	return run_common(MODE_WRAP, "wrap", argc, argv);
}
