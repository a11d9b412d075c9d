/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono why: would this path / host / scope be allowed, and why. Outside a sandbox the
 * capability context comes from the same flags and NONO_* variables `nono run` reads and
 * the same policy_resolve(); with --self it is the sandbox's own sealed state fd.
 *
 * Exit status: 0 whenever an answer was produced, "denied" included (scripts read the
 * status from --json or the first word of the text); 1 when no answer could be given
 * (bad flags, a profile that does not load, --self outside a sandbox).
 */
#include <errno.h>
#include <getopt.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "cli/placement.h"
#include "supervisor/session-proxy.h"
#include "policy/embedded.h"
#include "policy/netmatch.h"
#include "policy/policy.h"
#include "proxy/netpolicy.h"
#include "proxy/resolve.h"
#include "query/query.h"
#include "sandbox/sandbox.h"

enum why_opt {
	WHY_HELP = 'h',
	WHY_ALLOW = 'a',
	WHY_READ = 'r',
	WHY_WRITE = 'w',
	WHY_PROFILE = 'p',
	WHY_PATH = 0x100,
	WHY_OP,
	WHY_HOST,
	WHY_PORT,
	WHY_SCOPE,
	WHY_JSON,
	WHY_SELF,
	WHY_ALLOW_FILE,
	WHY_READ_FILE,
	WHY_WRITE_FILE,
	WHY_BLOCK_NET,
	WHY_ALLOW_NET,
	WHY_WORKDIR,
	_WHY_OPT_MAX,
};

/* clang-format off */
const struct cli_option why_options[] = {
	{"path", 0, required_argument, WHY_PATH, "PATH", "filesystem path to check", NULL, false},
	{"op", 0, required_argument, WHY_OP, "OP", "operation for --path: read, write or readwrite (default read)", NULL, false},
	{"host", 0, required_argument, WHY_HOST, "HOST|URL", "network host or URL to check", NULL, false},
	{"port", 0, required_argument, WHY_PORT, "PORT", "port for --host (default: the URL's, else 443)", NULL, false},
	{"scope", 0, required_argument, WHY_SCOPE, "SCOPE", "Landlock scope to check: signal or abstract-unix-socket", NULL, false},
	{"json", 0, no_argument, WHY_JSON, NULL, "print JSON instead of text", NULL, false},
	{"self", 0, no_argument, WHY_SELF, NULL, "inside a sandbox: query its own capabilities", NULL, false},
	{"allow", 'a', required_argument, WHY_ALLOW, "DIR", "context: read+write access to DIR", "NONO_ALLOW", false},
	{"read", 'r', required_argument, WHY_READ, "DIR", "context: read-only access to DIR", NULL, false},
	{"write", 'w', required_argument, WHY_WRITE, "DIR", "context: write-only access to DIR", NULL, false},
	{"allow-file", 0, required_argument, WHY_ALLOW_FILE, "FILE", "context: read+write access to one file", NULL, false},
	{"read-file", 0, required_argument, WHY_READ_FILE, "FILE", "context: read-only access to one file", NULL, false},
	{"write-file", 0, required_argument, WHY_WRITE_FILE, "FILE", "context: write-only access to one file", NULL, false},
	{"block-net", 0, no_argument, WHY_BLOCK_NET, NULL, "context: block network access", "NONO_BLOCK_NET", false},
	{"allow-net", 0, no_argument, WHY_ALLOW_NET, NULL, "context: force unrestricted network access", "NONO_ALLOW_NET", false},
	{"profile", 'p', required_argument, WHY_PROFILE, "NAME", "context: a built-in or user profile, or a profile file", "NONO_PROFILE", false},
	{"workdir", 0, required_argument, WHY_WORKDIR, "DIR", "context: working directory for $WORKDIR", NULL, false},
	{"help", 'h', no_argument, WHY_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

struct why_args {
	const char *path, *host, *scope, *profile, *workdir;
	unsigned op;
	uint16_t port;
	bool json, self, any_allow, any_context;
	int block_net, allow_net;
	struct input_grant *grants;
	size_t n_grants;
	char **env_allow, **allow_domains;
	const char *network_profile;
};

static void why_args_release(struct why_args *a)
{
	free(a->grants);
	strv_free(a->env_allow);
	strv_free(a->allow_domains);
}

static int add_grant(struct why_args *a, const char *path, unsigned access, bool is_file,
		     enum origin_kind kind, const char *flag)
{
	struct input_grant *g = realloc(a->grants, (a->n_grants + 1) * sizeof(*g));
	if (!g)
		return log_error_errno(-ENOMEM, "out of memory");
	a->grants = g;
	g[a->n_grants++] = (struct input_grant){path, access, is_file, kind, flag};
	return 0;
}

/* Returns >0 to continue, 0 after --help, <0 on error (logged). */
static int parse_why_args(int argc, char **argv, struct why_args *a)
{
	const struct cli_command *cmd = cli_find_command("why");
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	bool op_given = false, port_given = false;
	int r = cli_getopt_tables(why_options, &longopts, &shortopts);
	if (r < 0)
		return log_error_errno(r, "cannot build option table");

	a->op = FS_READ;
	a->block_net = a->allow_net = -1;
	opterr = 0;
	optind = 1;
	for (int c; (c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0;) {
		r = 0;
		switch (c) {
		case WHY_PATH:
			a->path = optarg;
			break;
		case WHY_OP:
			op_given = true;
			if (query_op_from_string(optarg, &a->op) < 0) {
				log_error(
				    "invalid operation '%s' for --op: expected read, write or "
				    "readwrite",
				    optarg);
				return -EINVAL;
			}
			break;
		case WHY_HOST:
			a->host = optarg;
			break;
		case WHY_PORT:
			port_given = true;
			if (parse_port(optarg, &a->port) < 0) {
				log_error(
				    "invalid port '%s' for --port: expected a number from 1 to "
				    "65535",
				    optarg);
				return -EINVAL;
			}
			break;
		case WHY_SCOPE:
			a->scope = optarg;
			break;
		case WHY_JSON:
			a->json = true;
			break;
		case WHY_SELF:
			a->self = true;
			break;
		case WHY_ALLOW:
			a->any_allow = true;
			r = add_grant(a, optarg, FS_RW, false, ORIGIN_CLI, "--allow");
			break;
		case WHY_READ:
			r = add_grant(a, optarg, FS_READ, false, ORIGIN_CLI, "--read");
			break;
		case WHY_WRITE:
			r = add_grant(a, optarg, FS_WRITE, false, ORIGIN_CLI, "--write");
			break;
		case WHY_ALLOW_FILE:
			r = add_grant(a, optarg, FS_RW, true, ORIGIN_CLI, "--allow-file");
			break;
		case WHY_READ_FILE:
			r = add_grant(a, optarg, FS_READ, true, ORIGIN_CLI, "--read-file");
			break;
		case WHY_WRITE_FILE:
			r = add_grant(a, optarg, FS_WRITE, true, ORIGIN_CLI, "--write-file");
			break;
		case WHY_BLOCK_NET:
			a->block_net = 1;
			break;
		case WHY_ALLOW_NET:
			a->allow_net = 1;
			break;
		case WHY_PROFILE:
			a->profile = optarg;
			break;
		case WHY_WORKDIR:
			a->workdir = optarg;
			break;
		case WHY_HELP:
			cli_print_help(cmd, stdout);
			(void)fputs(
			    "\nExactly one of --path, --host, --scope. Exit status 0 whenever an "
			    "answer is printed,\n\"denied\" included; 1 when no answer could be "
			    "given.\n",
			    stdout);
			return 0;
		default: {
			const char *bad = argv[optind - 1];
			if (optopt > 0 && optopt < 0x100 && optopt != '?' &&
			    strchr(shortopts, optopt))
				log_error("option '-%c' needs a value", optopt);
			else if (startswith(bad, "--") && !strchr(bad, '=') &&
				 cli_option_needs_value(why_options, bad + 2))
				log_error("option '%s' needs a value", bad);
			else
				log_error(
				    "unknown option '%s' for 'nono why' (see 'nono why --help')",
				    bad);
			return -EINVAL;
		}
		}
		if (r < 0)
			return r;
		if (c != WHY_PATH && c != WHY_OP && c != WHY_HOST && c != WHY_PORT &&
		    c != WHY_SCOPE && c != WHY_JSON && c != WHY_SELF)
			a->any_context = true;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' for 'nono why' (see 'nono why --help')",
			  argv[optind]);
		return -EINVAL;
	}
	if (!!a->path + !!a->host + !!a->scope != 1) {
		log_error("'nono why' needs exactly one of '--path', '--host' or '--scope'");
		return -EINVAL;
	}
	if (op_given && !a->path) {
		log_error("'--op' only applies to '--path'");
		return -EINVAL;
	}
	if (port_given && !a->host) {
		log_error("'--port' only applies to '--host'");
		return -EINVAL;
	}
	if (a->self && a->any_context) {
		log_error(
		    "'--self' answers from the sandbox's own capabilities: capability flags "
		    "(--allow, --read, --profile, --block-net, ...) cannot be combined with it");
		return -EINVAL;
	}
	if (a->block_net > 0 && a->allow_net > 0) {
		log_error("'--block-net' and '--allow-net' cannot be used together");
		return -EINVAL;
	}
	return 1;
}

/* The NONO_* variables `nono run` reads, so that why answers for the same context. */
static int apply_environment(struct why_args *a)
{
	const char *v;
	bool b;

	if (!a->any_allow && (v = secure_getenv("NONO_ALLOW")) && *v) {
		if (strv_split(v, ",", &a->env_allow) < 0)
			return log_error_errno(-ENOMEM, "out of memory");
		STRV_FOREACH(p, a->env_allow)
		if (add_grant(a, *p, FS_RW, false, ORIGIN_ENV, "NONO_ALLOW") < 0)
			return -ENOMEM;
	}
	if (a->block_net < 0 && a->allow_net < 0) {
		static const char *const names[] = {"NONO_BLOCK_NET", "NONO_ALLOW_NET"};
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			v = secure_getenv(names[i]);
			if (!v || !*v)
				continue;
			if (parse_bool(v, &b) < 0) {
				log_error(
				    "invalid value '%s' in %s: expected true, false, yes, no, 1 "
				    "or 0",
				    v, names[i]);
				return -EINVAL;
			}
			*(i == 0 ? &a->block_net : &a->allow_net) = b;
		}
		if (a->block_net > 0 && a->allow_net > 0) {
			log_error("NONO_BLOCK_NET and NONO_ALLOW_NET cannot both be true");
			return -EINVAL;
		}
	}
	if (!a->profile && (v = secure_getenv("NONO_PROFILE")) && *v)
		a->profile = v;
	if ((v = secure_getenv("NONO_NETWORK_PROFILE")) && *v)
		a->network_profile = v;
	if ((v = secure_getenv("NONO_ALLOW_DOMAIN")) && *v &&
	    strv_split(v, ",", &a->allow_domains) < 0)
		return log_error_errno(-ENOMEM, "out of memory");
	if (a->block_net > 0 && (a->network_profile || a->allow_domains)) {
		log_error("'--block-net' cannot be combined with NONO_NETWORK_PROFILE or "
			  "NONO_ALLOW_DOMAIN");
		return -EINVAL;
	}
	return 0;
}

static int resolve_context(struct why_args *a, struct sandbox_spec **ret)
{
	_cleanup_strv_free_ char **warnings = NULL;
	struct diag d = {{0}};
	char buf[2048];
	struct policy_input in = {
	    .profile = a->profile,
	    .workdir = a->workdir,
	    .grants = a->grants,
	    .n_grants = a->n_grants,
	    .block_net = a->block_net,
	    .allow_net = a->allow_net,
	    .network_profile = a->network_profile,
	    .allow_domains = a->allow_domains,
	    .capability_elevation = -1,
	};
	/* The placement `nono run` would decide here, from the same probe by the same rule. */
	struct sandbox_features f;
	struct policy_features pf;
	sandbox_probe(&f);
	sandbox_placement_features(&f, &pf);
	in.features = &pf;
	int r = policy_resolve(&in, ret, &warnings, &d);
	if (r < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return r;
	}
	STRV_FOREACH(w, warnings)
	log_warning("%s", *w);
	return 0;
}

static int read_self(struct sandbox_spec **ret)
{
	const char *fd = getenv(SANDBOX_STATE_FD_ENV);
	int r = sandbox_state_read(fd, ret);
	switch (r) {
	case 0:
		return 0;
	case -ENOENT:
		log_error("'--self' only works inside a nono sandbox (%s is not set); outside one, "
			  "describe the context with --allow, --read, --profile, ...",
			  SANDBOX_STATE_FD_ENV);
		break;
	case -EBADF:
		log_error("'--self': %s='%s' is not an open file descriptor above 2",
			  SANDBOX_STATE_FD_ENV, fd);
		break;
	case -EPERM:
		log_error("'--self': %s='%s' is not a sealed nono state file; refusing to trust it",
			  SANDBOX_STATE_FD_ENV, fd);
		break;
	default:
		log_error_errno(r, "'--self': cannot read the sandbox state from %s='%s'",
				SANDBOX_STATE_FD_ENV, fd);
	}
	return r;
}

/*
 * A name the allowlist admits is judged by its addresses too, as the proxy judges it:
 * resolved by the proxy's resolver (c-ares: files, then DNS), within WHY_RESOLVE_MS.
 * Unresolvable, the name-only answer stands (the proxy would answer 502).
 */
#define WHY_RESOLVE_MS 3000

static int why_host_resolved(const struct sandbox_spec *spec, const struct why_args *a,
			     struct query_result *q)
{
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	char norm[HOST_NAME_MAX_LEN + 1];
	size_t n = 0;
	bool is_ip;

	if (spec->net != NET_PROXY || q->reason != REASON_DOMAIN_ALLOWED ||
	    host_normalize(q->subject, norm, sizeof(norm), &is_ip) < 0 || is_ip)
		return 0;
	int r = resolve_sync(norm, q->port, WHY_RESOLVE_MS, addrs, RESOLVE_MAX_ADDRS, &n);
	if (r < 0) {
		log_warning("cannot resolve '%s' (%s): the answer covers the name only", norm,
			    r == -ENOENT ? "no such name" : strerror(-r));
		return 0;
	}
	/* As the proxy does: a wildcard-only name must not reach this host's interfaces. */
	_cleanup_free_ struct netmatch_local *local = malloc(sizeof(*local));
	if (!local)
		return -ENOMEM;
	(void)netmatch_local_load(local);
	query_result_release(q);
	return policy_query_host_resolved(spec, a->host, a->port, addrs, n, local, q);
}

int cmd_why(int argc, char **argv)
{
	struct why_args a = {0};
	_cleanup_spec_ struct sandbox_spec *spec = NULL;
	_cleanup_query_result_ struct query_result q = {0};
	_cleanup_free_ char *out = NULL;
	int r, ret = EXIT_NONO_ERROR;

	r = parse_why_args(argc, argv, &a);
	if (r <= 0) {
		ret = r == 0 ? EXIT_NONO_OK : EXIT_NONO_ERROR;
		goto done;
	}
	if (a.self)
		r = read_self(&spec);
	else {
		r = apply_environment(&a);
		if (r >= 0)
			r = resolve_context(&a, &spec);
	}
	if (r < 0)
		goto done;
	/* Outside a sandbox: the placement `nono run` would decide here (policy_resolve
	 * decided it). With --self the state says what the running sandbox got. */
	const char *placement_reason = spec->proxy.placement_reason;

	if (a.path) {
		r = policy_query_path(spec, a.path, a.op, &q);
		if (r < 0) {
			log_error_errno(r, "cannot check path '%s'", a.path);
			goto done;
		}
	} else if (a.host) {
		r = policy_query_host(spec, a.host, a.port, &q);
		if (r >= 0)
			r = why_host_resolved(spec, &a, &q);
		if (r == -EINVAL) {
			log_error("invalid host '%s': expected a host name, an IP address or a URL "
				  "such as 'https://example.com/path'",
				  a.host);
			goto done;
		}
		if (r < 0) {
			log_error_errno(r, "cannot check host '%s'", a.host);
			goto done;
		}
		q.placement_reason = placement_reason;
	} else {
		enum query_scope sc;
		struct sandbox_features f;
		if (query_scope_from_string(a.scope, &sc) < 0) {
			log_error("invalid scope '%s': expected signal or abstract-unix-socket",
				  a.scope);
			goto done;
		}
		sandbox_probe(&f);
		r = policy_query_scope(spec, sc, f.landlock_abi, &q);
		if (r < 0) {
			log_error_errno(r, "cannot check scope '%s'", a.scope);
			goto done;
		}
	}

	r = a.json ? query_result_to_json(&q, &out) : query_result_to_text(&q, &out);
	if (r < 0) {
		log_error_errno(r, "cannot format the answer");
		goto done;
	}
	(void)fputs(out, stdout);
	if (a.json)
		(void)fputc('\n', stdout);
	else if (a.self) {
		/* Read live: what this process runs under, not what a plan said. */
		const char *names[4];
		size_t n = 0;
		bool user, pid_ipc;
		sandbox_namespaces_self(&user, &pid_ipc);
		if (pid_ipc)
			names[n++] = "pid, ipc (PID 1 is nono's init)";
		if (user)
			names[n++] = "user";
		if (spec->proxy.placement == PROXY_PLACEMENT_NETNS)
			names[n++] = "network";
		(void)fputs("Namespaces: ", stdout);
		for (size_t i = 0; i < n; i++)
			(void)printf("%s%s", i ? ", " : "", names[i]);
		(void)puts(n ? "" : "none");
	} else if (a.host && spec->proxy.n_credentials > 0) {
		/* Requests to these go through the reverse proxy, with the key added there. */
		(void)fputs("Credential services (reverse proxy):\n", stdout);
		run_credentials_describe(spec, stdout);
	}
	if (!a.json)
		cli_print_placement(stdout, &spec->placement);
	ret = fflush(stdout) == 0 ? EXIT_NONO_OK : EXIT_NONO_ERROR;
done:
	why_args_release(&a);
	return ret;
}
