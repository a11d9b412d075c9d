/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last steps of policy_resolve(), after which the spec is frozen: the network
 * profile expanded into the allowlist and every host pattern compiled by the proxy's
 * own filter, the verified instruction files, the profile's state directories, and the
 * placement decided from the probed features.
 */
#include "policy/freeze.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/path.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "policy/embedded.h"
#include "proxy/filter.h"
#include "proxy/netpolicy.h"

/* patterns must all compile as the proxy compiles them; else an error naming where
 * (and what, when where is a file). */
static int check_patterns(char *const *patterns, const char *where, const char *what,
			  struct diag *d)
{
	_cleanup_filter_ struct filter *f = NULL;
	size_t bad = 0;
	int r = filter_new(patterns, &f, &bad);
	if (r == -EINVAL && what)
		diag_set(d, where, 0, 0, "invalid host pattern '%s' in %s", patterns[bad], what);
	else if (r == -EINVAL)
		diag_set(d, where, 0, 0, "invalid host pattern '%s'", patterns[bad]);
	return r;
}

int freeze_network(struct sandbox_spec *s, const struct policy_input *in, const struct profile *p,
		   struct diag *d)
{
	struct proxy_spec *px = &s->proxy;
	_cleanup_strv_free_ char **hosts = NULL;
	const char *pwhere = p->file ? p->file : strempty(p->name);
	char what[512];
	int r;

	if (s->net != NET_PROXY)
		return 0;
	(void)snprintf(what, sizeof(what), "network.allow_domain of profile '%s'",
		       strempty(p->name));
	if ((r = check_patterns(p->allow_domain, pwhere, what, d)) < 0 ||
	    (r = check_patterns(in->allow_domains, "--allow-domain", NULL, d)) < 0)
		return r;
	(void)snprintf(what, sizeof(what), "network.upstream_bypass of profile '%s'",
		       strempty(p->name));
	if ((r = check_patterns(p->upstream_bypass, pwhere, what, d)) < 0 ||
	    (r = check_patterns(in->upstream_bypass, "--upstream-bypass", NULL, d)) < 0)
		return r;

	if (px->network_profile) {
		const char *where = in->network_profile ? "--network-profile" : pwhere;
		const struct embedded_file *f = embedded_find("network-policy.json");
		_cleanup_net_policy_ struct net_policy *np = NULL;
		_cleanup_strv_free_ char **creds = NULL;
		if (!f) {
			diag_set(d, NULL, 0, 0,
				 "network-policy.json is not embedded in this build");
			return -ENOENT;
		}
		r = net_policy_parse(f->data, f->size, "network-policy.json", &np, d);
		if (r < 0)
			return r;
		r = net_policy_resolve(np, px->network_profile, &hosts, &creds);
		if (r == -ENOENT) {
			_cleanup_strv_free_ char **names = NULL;
			struct strbuf sb = STRBUF_INIT;
			(void)net_policy_profile_names(np, &names);
			STRV_FOREACH(n, names)
			(void)strbuf_addf(&sb, "%s%s", n == names ? "" : ", ", *n);
			diag_set(d, where, 0, 0, "unknown network profile '%s' (available: %s)",
				 px->network_profile, sb.buf ? sb.buf : "none");
			strbuf_release(&sb);
			return r;
		}
		if (r < 0)
			return r;
		(void)snprintf(what, sizeof(what), "network profile '%s'", px->network_profile);
		if ((r = check_patterns(hosts, where, what, d)) < 0)
			return r;
	}
	/* The allowlist the proxy enforces: the network profile's groups, then the domains. */
	STRV_FOREACH(h, px->allow_domains)
	if ((r = strv_extend_unique(&hosts, *h)) < 0)
		return r;
	if (!hosts && !(hosts = calloc(1, sizeof(char *))))
		return -ENOMEM;
	strv_free(px->allow_domains);
	px->allow_domains = TAKE_PTR(hosts);
	return 0;
}

int freeze_readonly_files(struct sandbox_spec *s, char *const *files, struct diag *d)
{
	STRV_FOREACH(v, files)
	{
		char *c = realpath(*v, NULL);
		if (!c) {
			int r = -errno;
			diag_set(d, "trust", 0, 0, "cannot resolve '%s': %s", *v, strerror(-r));
			return r;
		}
		int r = strv_consume(&s->readonly_files, c);
		if (r < 0) {
			free(c);
			return r;
		}
	}
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int note(char ***notes, const char *fmt, ...) _printf_(2, 3);
static int note(char ***notes, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	if (!notes)
		return 0;
	va_start(ap, fmt);
	int r = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (r >= 0)
		r = strv_consume(notes, sb.buf);
	if (r < 0)
		strbuf_release(&sb);
	return r < 0 ? -ENOMEM : 0;
}

/*
 * A profile's own state directories (e.g. ~/.claude) must exist before the sandbox is
 * applied: Landlock attaches rules to existing inodes, so a grant on a missing directory
 * is skipped and the agent could not create it. Create the missing write-granted
 * directories a profile names itself (not the broad runtime groups such as ~/.nvm),
 * under $HOME only, mode 0700, as the invoking user.
 */
int freeze_state_dirs(struct sandbox_spec *s, char ***notes, char ***warnings, struct diag *d)
{
	const char *home = getenv("HOME");
	_cleanup_free_ char *real_home = NULL;
	if (!home || home[0] != '/' || !(real_home = realpath(home, NULL)))
		return 0;
	for (size_t i = 0; i < s->n_grants; i++) {
		struct fs_grant *g = &s->grants[i];
		if (g->exists || g->is_file || !(g->access & FS_WRITE) ||
		    g->origin.kind != ORIGIN_PROFILE || streq(g->path, real_home) ||
		    !path_is_beneath(g->path, real_home))
			continue;
		/* mkdir -p from the first missing component down. */
		for (char *p = g->path + strlen(real_home) + 1;; p++) {
			if (*p != '/' && *p != 0)
				continue;
			char saved = *p;
			*p = 0;
			int r = mkdir(g->path, 0700);
			*p = saved;
			if (r < 0 && errno != EEXIST) {
				r = -errno;
				diag_set(d, NULL, 0, 0, "cannot create '%s' for profile '%s': %s",
					 g->path, strempty(s->profile_name), strerror(-r));
				return r;
			}
			if (!saved)
				break;
		}
		if (note(notes, "created '%s' for profile '%s'", g->path,
			 strempty(s->profile_name)) < 0)
			return -ENOMEM;
		g->exists = true;
	}
	/*
	 * Likewise the missing write-granted files a profile names under $HOME
	 * (~/.claude.json), or the command line names anywhere (--write-file, --allow-file):
	 * created mode 0600 in their existing parent, never through a symlink. A .json file starts
	 * as "{}" (an empty file is not JSON, and its readers refuse it). Names ending in
	 * .lock are left alone: lock "files" are often directories (mkdir locks), and a
	 * regular file there would wedge the lock.
	 */
	for (size_t i = 0; i < s->n_grants; i++) {
		struct fs_grant *g = &s->grants[i];
		bool cli = g->origin.kind == ORIGIN_CLI || g->origin.kind == ORIGIN_ENV;
		if (g->exists || !g->is_file || !(g->access & FS_WRITE) ||
		    (!cli &&
		     (g->origin.kind != ORIGIN_PROFILE || !path_is_beneath(g->path, real_home) ||
		      streq(g->path, real_home) || has_suffix(g->path, ".lock"))))
			continue;
		_cleanup_close_ int fd =
		    open(g->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			int r = -errno;
			if (r == -ENOENT || r == -ENOTDIR)
				continue; /* no parent directory: nothing to create it in */
			if (r == -EEXIST)
				continue; /* appeared meanwhile: left as the sandbox found it */
			if (cli && (r == -EACCES || r == -EPERM || r == -EROFS)) {
				if (note(warnings,
					 "cannot create '%s' for %s: %s; the grant is skipped",
					 g->path, strempty(g->origin.name), strerror(-r)) < 0)
					return -ENOMEM;
				continue;
			}
			diag_set(d, NULL, 0, 0, "cannot create '%s' for profile '%s': %s", g->path,
				 strempty(s->profile_name), strerror(-r));
			return r;
		}
		bool json = has_suffix(g->path, ".json");
		if (json && write(fd, "{}\n", 3) != 3) {
			diag_set(d, NULL, 0, 0, "cannot write '%s' for profile '%s': %s", g->path,
				 strempty(s->profile_name), strerror(EIO));
			return -EIO;
		}
		int r = cli ? note(notes, "created '%s' (%s, mode 0600) for %s", g->path,
				   json ? "\"{}\"" : "empty", strempty(g->origin.name))
			    : note(notes, "created '%s' (%s, mode 0600) for profile '%s'", g->path,
				   json ? "\"{}\"" : "empty", strempty(s->profile_name));
		if (r < 0)
			return r;
		g->exists = true;
	}
	return 0;
}

void policy_decide_placement(const struct policy_features *f, struct sandbox_spec *s)
{
	struct sandbox_placement *pl = &s->placement;
	/* Root makes the namespaces directly, which takes CAP_SYS_ADMIN. */
	bool ns = f->is_root ? f->sys_admin : f->userns;
	const char *why = f->is_root  ? (f->sys_admin ? "running as root"
						      : "running as root without CAP_SYS_ADMIN")
			  : f->userns ? "user namespaces are available"
				      : "user namespaces are unavailable for this user";
	bool root_writable = false;
	for (size_t i = 0; i < s->n_grants; i++)
		root_writable |= s->grants[i].exists && (s->grants[i].access & FS_WRITE) &&
				 streq(s->grants[i].path, "/");
	*pl = (struct sandbox_placement){
	    .decided = true,
	    .userns = ns && !f->is_root,
	    .mountns = ns,
	    .pidns = ns,
	    .ro_root = ns && !root_writable,
	    .masks = ns,
	    .private_tmp = ns && !s->shared_tmp,
	    .proxy = ns ? PROXY_PLACEMENT_NETNS : PROXY_PLACEMENT_LANDLOCK,
	    .reason = why,
	};
	s->proxy.placement = s->net == NET_PROXY ? pl->proxy : PROXY_PLACEMENT_UNDECIDED;
	s->proxy.placement_reason = s->net == NET_PROXY ? why : NULL;
}
