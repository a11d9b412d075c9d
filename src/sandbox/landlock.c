/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Landlock ruleset construction. Everything happens in the parent: the ruleset fd
 * (O_CLOEXEC from the kernel) is created and filled here, the child only calls
 * landlock_restrict_self() on it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/strv.h"
#include "sandbox/landlock-compat.h"
#include "sandbox/sandbox-internal.h"

#define LL_READ_RIGHTS (LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_EXECUTE)
#define LL_WRITE_RIGHTS                                                                            \
	(LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR |               \
	 LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK |  \
	 LL_FS_MAKE_SYM | LL_FS_REFER | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

/* The newest ABI we know; a newer kernel is treated as this one. */
#define LL_ABI_KNOWN 7

int sandbox_landlock_abi(void)
{
	int abi = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_VERSION);
	if (abi < 0)
		return 0;
	return abi > LL_ABI_KNOWN ? LL_ABI_KNOWN : abi;
}

uint64_t sandbox_landlock_fs_rights(int abi)
{
	uint64_t r;

	if (abi <= 0)
		return 0;
	r = LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_REMOVE_DIR |
	    LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR | LL_FS_MAKE_REG |
	    LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM;
	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

static int add_port_rule(int fd, uint64_t access, uint16_t port)
{
	struct ll_net_port_attr a = {.allowed_access = access, .port = port};

	return RET_NERRNO(ll_add_rule(fd, LL_RULE_NET_PORT, &a, 0));
}

int sandbox_plan_set_proxy_port(struct sandbox_plan *p, uint16_t port)
{
	if (!p || port == 0)
		return -EINVAL;
	if (p->ruleset_fd < 0 || !p->net_handled)
		return 0; /* nothing to open: TCP is not restricted by Landlock */
	p->proxy_port = port;
	if (p->helper_ruleset_fd >= 0) {
		int r = add_port_rule(p->helper_ruleset_fd, LL_NET_CONNECT_TCP, port);
		if (r < 0)
			return r;
	}
	return add_port_rule(p->ruleset_fd, LL_NET_CONNECT_TCP, port);
}

/* Fail closed unless the profile opted into best effort; then record a warning. */
static int downgrade(const struct sandbox_spec *spec, char ***warnings, struct diag *d,
		     const char *what, int need, int have)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s needs Landlock ABI %d, the kernel has %d", what, need, have);
	if (!spec->best_effort) {
		diag_set(d, "landlock", 0, 0, "%s; upgrade the kernel or set best_effort", buf);
		return -EOPNOTSUPP;
	}
	if (warnings) {
		int r = strv_extend(warnings, buf);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Path rules for every grant and port rules for the spec, into ruleset fd. */
static int add_rules(int fd, struct sandbox_plan *p, const struct sandbox_spec *spec, bool record,
		     struct diag *d)
{
	int r;

	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		struct ll_path_beneath_attr pb = {0};
		_cleanup_close_ int pfd = -EBADF;
		struct stat st;
		uint64_t access = 0;

		if (!g->exists || !g->path)
			continue;
		if (g->access & FS_READ)
			access |= LL_READ_RIGHTS;
		if (g->access & FS_WRITE)
			access |= LL_WRITE_RIGHTS;
		access &= p->handled_fs;
		if (access == 0)
			continue;

		pfd = open(g->path, O_PATH | O_CLOEXEC);
		if (pfd < 0) {
			if (errno == ENOENT)
				continue; /* vanished since resolution: skipped like any missing
					     path */
			r = -errno;
			diag_set(d, g->path, 0, 0, "opening grant '%s' failed: %s", g->path,
				 strerror(-r));
			return r;
		}
		if (fstat(pfd, &st) < 0) {
			r = -errno;
			diag_set(d, g->path, 0, 0, "stat of grant '%s' failed: %s", g->path,
				 strerror(-r));
			return r;
		}
		/* A file grant (or any non-directory) never widens to its directory. */
		if (g->is_file || !S_ISDIR(st.st_mode))
			access &= LL_FS_FILE_RIGHTS;
		if (access == 0)
			continue;

		/* The child mounts a fresh /proc over this one: it re-adds these there. */
		if ((streq(g->path, "/proc") || startswith(g->path, "/proc/")) &&
		    strlen(g->path) < sizeof(p->proc_rules[0].path) &&
		    p->n_proc_rules < ARRAY_SIZE(p->proc_rules) && record) {
			size_t k = p->n_proc_rules++;
			memcpy(p->proc_rules[k].path, g->path, strlen(g->path) + 1);
			p->proc_rules[k].access = access;
		}
		pb.allowed_access = access;
		pb.parent_fd = pfd;
		if (ll_add_rule(fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			r = -errno;
			diag_set(d, g->path, 0, 0, "adding Landlock rule for '%s' failed: %s",
				 g->path, strerror(-r));
			return r;
		}
	}

	if (p->net_handled) {
		for (size_t i = 0; i < spec->n_open_ports; i++) {
			r = add_port_rule(fd, LL_NET_CONNECT_TCP | LL_NET_BIND_TCP,
					  spec->open_ports[i]);
			if (r < 0) {
				diag_set(d, "--open-port", 0, 0,
					 "adding Landlock rule for port %u failed: %s",
					 spec->open_ports[i], strerror(-r));
				return r;
			}
		}
		if (spec->net == NET_PROXY) {
			for (size_t i = 0; i < spec->n_listen_ports; i++) {
				r = add_port_rule(fd, LL_NET_BIND_TCP, spec->listen_ports[i]);
				if (r < 0) {
					diag_set(d, "--listen-port", 0, 0,
						 "adding Landlock rule for port %u failed: %s",
						 spec->listen_ports[i], strerror(-r));
					return r;
				}
			}
			if (spec->proxy.port != 0) {
				r = add_port_rule(fd, LL_NET_CONNECT_TCP, spec->proxy.port);
				if (r < 0) {
					diag_set(
					    d, "proxy", 0, 0,
					    "adding Landlock rule for proxy port %u failed: %s",
					    spec->proxy.port, strerror(-r));
					return r;
				}
			}
		}
	}

	return 0;
}

int landlock_build(struct sandbox_plan *p, const struct sandbox_spec *spec,
		   const struct sandbox_features *f, char ***warnings, struct diag *d)
{
	struct ll_ruleset_attr attr = {0};
	int abi = f->landlock_abi > LL_ABI_KNOWN ? LL_ABI_KNOWN : f->landlock_abi;
	bool want_net = spec->net == NET_BLOCK || spec->net == NET_PROXY;
	bool want_scope = spec->scope_signal || spec->scope_abstract_unix;
	_cleanup_close_ int fd = -EBADF;
	int r;

	p->ruleset_fd = -1;
	p->landlock_abi = abi;

	if (abi < 1) {
		r = downgrade(spec, warnings, d, "file system restriction", 1, 0);
		return r;
	}

	attr.handled_access_fs = sandbox_landlock_fs_rights(abi);
	if (want_net) {
		if (abi >= 4) {
			attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
			p->net_handled = true;
		} else {
			r = downgrade(spec, warnings, d, "blocking TCP connect/bind", 4, abi);
			if (r < 0)
				return r;
		}
	}
	if (want_scope) {
		if (abi >= 6) {
			if (spec->scope_signal)
				attr.scoped |= LL_SCOPE_SIGNAL;
			if (spec->scope_abstract_unix)
				attr.scoped |= LL_SCOPE_ABSTRACT_UNIX_SOCKET;
		} else {
			r = downgrade(spec, warnings, d, "signal / abstract unix socket scoping", 6,
				      abi);
			if (r < 0)
				return r;
		}
	}
	if (abi < 3 && warnings) {
		/* Not requested by the spec but a real gap: report it. */
		r = strv_extend(warnings, "Landlock ABI < 3: truncate(2) is not restricted");
		if (r < 0)
			return r;
	}

	fd = ll_create_ruleset(&attr, ll_ruleset_attr_size(abi), 0);
	if (fd < 0) {
		r = -errno;
		diag_set(d, "landlock", 0, 0, "creating the Landlock ruleset failed: %s",
			 strerror(-r));
		return r;
	}

	p->handled_fs = attr.handled_access_fs;
	r = add_rules(fd, p, spec, true, d);
	if (r < 0)
		return r;

	/*
	 * ABI 7 audit logging: the kernel documentation asks sandbox launchers to turn off
	 * logging for their own remaining steps (SAME_EXEC_OFF) and leaves logging after
	 * execve off by default; we keep it off, since agents probe denied paths all the
	 * time and would flood the audit log.
	 */
	p->restrict_flags = abi >= 7 ? LL_RESTRICT_SELF_LOG_SAME_EXEC_OFF : 0;
	p->scoped = attr.scoped;
	p->ruleset_fd = TAKE_FD(fd);
	return 0;
}

/* Read and execute of one file (the binary, its interpreter, a library) in ruleset fd. */
static int add_exec_rule(int fd, const struct sandbox_plan *p, int file_fd)
{
	struct ll_path_beneath_attr pb = {
	    .allowed_access = (LL_FS_READ_FILE | LL_FS_EXECUTE) & p->handled_fs,
	    .parent_fd = file_fd,
	};
	struct stat st;

	if (fstat(file_fd, &st) < 0 || !S_ISREG(st.st_mode) || pb.allowed_access == 0)
		return 0;
	return RET_NERRNO(ll_add_rule(fd, LL_RULE_PATH_BENEATH, &pb, 0));
}

static void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

int landlock_build_helper(struct sandbox_plan *p, const struct sandbox_spec *spec)
{
	struct ll_ruleset_attr attr = {
	    .handled_access_fs = p->handled_fs,
	    .handled_access_net = p->net_handled ? LL_NET_BIND_TCP | LL_NET_CONNECT_TCP : 0,
	    .scoped = p->scoped,
	};
	_cleanup_close_ int fd = -EBADF;
	_cleanup_(fclosep) FILE *maps = NULL;
	struct diag d = {0};
	char line[4096];
	int r;

	if (p->ruleset_fd < 0 || p->helper_ruleset_fd >= 0)
		return 0;
	fd = ll_create_ruleset(&attr, ll_ruleset_attr_size(p->landlock_abi), 0);
	if (fd < 0)
		return -errno;
	r = add_rules(fd, p, spec, false, &d);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_dir_rules; i++) {
		struct ll_path_beneath_attr pb = {.allowed_access = p->dir_rule_access[i],
						  .parent_fd = p->dir_rule_fds[i]};
		if (ll_add_rule(fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
			return -errno;
	}
	if (p->proxy_port != 0 && p->net_handled) {
		r = add_port_rule(fd, LL_NET_CONNECT_TCP, p->proxy_port);
		if (r < 0)
			return r;
	}
	if (p->exe_fd >= 0) {
		r = add_exec_rule(fd, p, p->exe_fd);
		if (r < 0)
			return r;
	}
	/*
	 * The dynamic loader and every library this binary maps: the helpers exec the same
	 * binary, which needs them whether or not the agent's grants cover them.
	 */
	maps = fopen("/proc/self/maps", "re");
	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps)) {
		char *path = strchr(line, '/');
		char *perms = strchr(line, ' ');
		_cleanup_close_ int ffd = -EBADF;

		if (!path || !perms || perms[1] == 0 || perms[3] != 'x')
			continue;
		path[strcspn(path, "\n")] = 0;
		ffd = open(path, O_PATH | O_CLOEXEC);
		if (ffd < 0)
			continue; /* "(deleted)" and the like: nothing to grant */
		r = add_exec_rule(fd, p, ffd);
		if (r < 0)
			return r;
	}
	/* The loader's cache: without it the loader still searches the system directories. */
	_cleanup_close_ int cache = open("/etc/ld.so.cache", O_PATH | O_CLOEXEC);
	if (cache >= 0) {
		struct ll_path_beneath_attr pb = {.allowed_access = LL_FS_READ_FILE & p->handled_fs,
						  .parent_fd = cache};
		if (pb.allowed_access && ll_add_rule(fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
			return -errno;
	}
	/* /proc read: runtimes (sanitizers) read /proc/self/maps before main. In a PID
	 * namespace the child grants its fresh /proc instead (sandbox-exec.c). */
	_cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc >= 0) {
		struct ll_path_beneath_attr pb = {
		    .allowed_access = (LL_FS_READ_FILE | LL_FS_READ_DIR) & p->handled_fs,
		    .parent_fd = proc};
		if (pb.allowed_access && ll_add_rule(fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
			return -errno;
	}
	p->helper_ruleset_fd = TAKE_FD(fd);
	return 0;
}

uint64_t landlock_fs_rights_of(unsigned fs_access)
{
	return ((fs_access & FS_READ) ? LL_READ_RIGHTS : 0) |
	       ((fs_access & FS_WRITE) ? LL_WRITE_RIGHTS : 0);
}

int landlock_add_dir_rule(struct sandbox_plan *p, int dir_fd, unsigned fs_access)
{
	struct ll_path_beneath_attr pb = {0};
	uint64_t access = landlock_fs_rights_of(fs_access);

	if (p->ruleset_fd < 0)
		return 0;
	access &= p->handled_fs;
	if (access == 0)
		return 0;
	if (p->n_dir_rules >= ARRAY_SIZE(p->dir_rule_fds))
		return -E2BIG;
	pb.allowed_access = access;
	pb.parent_fd = dir_fd;
	if (ll_add_rule(p->ruleset_fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	if (p->helper_ruleset_fd >= 0 &&
	    ll_add_rule(p->helper_ruleset_fd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	/* For a helpers' layer built later (landlock_build_helper). */
	int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	p->dir_rule_fds[p->n_dir_rules] = fd;
	p->dir_rule_access[p->n_dir_rules++] = access;
	return 0;
}
