/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parent side: feature probe, plan construction (all allocation and every decision),
 * the child's error report, environment cleaning.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/parse.h"
#include "base/path.h"
#include "base/strv.h"
#include "sandbox/landlock-compat.h"
#include "sandbox/sandbox-internal.h"

#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

/*
 * Can this user create a user + mount namespace? Tried once, in a throwaway child, and
 * only when a launch needs the answer (masks, or the proxy's private network
 * namespace): a fork per launch is a measurable share of nono's start-up.
 */
static bool probe_userns(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? 1 : 0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void sandbox_probe(struct sandbox_features *ret)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;

	*ret = (struct sandbox_features){0};
	ret->landlock_abi = sandbox_landlock_abi();
	ret->seccomp =
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
	    syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &(uint32_t){SECCOMP_RET_ERRNO}) == 0;
	ret->seccomp_notify = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
	ret->is_root = geteuid() == 0;
	ret->userns = false; /* see sandbox_userns_available() */
}

/* True when this process already runs under a seccomp filter: reads /proc/self/status. */
static bool under_seccomp_filter(void)
{
	char line[256];
	bool under = false;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (startswith(line, "Seccomp_filters:")) {
			under = strtoul(line + 16, NULL, 10) > 0;
			break;
		}
	(void)fclose(f);
	return under;
}

bool sandbox_notify_listener_taken(void)
{
	/* One listener per filter chain: the kernel refuses a second with EBUSY. */
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = 1, .filter = &allow};
	int status;

	if (!under_seccomp_filter())
		return false;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		_exit(fd < 0 && errno == EBUSY ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

bool sandbox_userns_available(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = probe_userns();
	return cached;
}

/* The caller's answer when it has one (tests force "unavailable"), else the probe. */
static bool userns_ok(const struct sandbox_features *f)
{
	return f->userns_probed ? f->userns : sandbox_userns_available();
}

#ifndef NONO_HELPER_DIR
#define NONO_HELPER_DIR "/usr/local/libexec/nono"
#endif

/* Owned by root or by the owner of the running nono, and writable by no one else: what
 * we require of the helper binary and of the directory it is found in. */
static bool owned_safely(int fd, const struct stat *self, struct stat *ret)
{
	return fstat(fd, ret) == 0 && !(ret->st_mode & 022) &&
	       (ret->st_uid == 0 || ret->st_uid == self->st_uid);
}

/*
 * The file the namespace's init and the mediation helpers are exec'd from, as an O_PATH
 * fd pinned for the plan's life: `nono-helper` beside this binary (the build tree) or in
 * NONO_HELPER_DIR (installed): a regular executable file, not a symlink, in a directory,
 * both owned_safely(); else this binary itself, which has the same hidden modes.
 * nono-helper needs only libc: an exec of it costs a fraction of an exec of nono with
 * its libraries (decisions.md, "Launch speed").
 */
int sandbox_open_helper_exe(void)
{
	char self[PATH_MAX];
	const char *dirs[2] = {self, NONO_HELPER_DIR};
	struct stat me, st;
	int exe = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	ssize_t n;
	char *slash;

	if (exe < 0)
		return -errno;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || fstat(exe, &me) < 0 || secure_getenv("NONO_NO_HELPER_BINARY"))
		return exe;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return exe;
	*slash = 0;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int dir = open(dirs[i][0] ? dirs[i] : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		int fd = -1;

		if (dir >= 0 && owned_safely(dir, &me, &st))
			fd = openat(dir, "nono-helper", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (dir >= 0)
			(void)close(dir);
		if (fd < 0)
			continue;
		if (owned_safely(fd, &me, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
			(void)close(exe);
			return fd;
		}
		(void)close(fd);
	}
	return exe;
}

const char *sandbox_step_to_string(enum sandbox_step s)
{
	static const char *const names[_STEP_MAX] = {
	    [STEP_NONE] = "none",
	    [STEP_PDEATHSIG] = "parent-death signal",
	    [STEP_USERNS] = "user namespace",
	    [STEP_MOUNTNS] = "mount namespace",
	    [STEP_MASK] = "mount mask",
	    [STEP_NETNS] = "network namespace",
	    [STEP_CAPS] = "capability drop",
	    [STEP_NO_NEW_PRIVS] = "no_new_privs",
	    [STEP_LANDLOCK] = "landlock",
	    [STEP_SECCOMP] = "seccomp",
	    [STEP_CHDIR] = "chdir",
	    [STEP_EXEC] = "execve",
	    [STEP_UNOTIFY] = "AF_UNIX mediation",
	    [STEP_PIDNS] = "PID namespace",
	};
	if ((int)s < 0 || s >= _STEP_MAX)
		return "unknown";
	return names[s];
}

struct sandbox_plan *sandbox_plan_free(struct sandbox_plan *p)
{
	if (!p)
		return NULL;
	safe_close(p->ruleset_fd);
	safe_close(p->helper_ruleset_fd);
	safe_close(p->exe_fd);
	safe_close(p->parent_pidfd);
	free(p->filter);
	free(p->notify_filter);
	for (size_t i = 0; i < p->n_masks; i++)
		free(p->masks[i].path);
	free(p->masks);
	for (size_t i = 0; i < p->n_binds; i++) {
		free(p->binds[i].src);
		free(p->binds[i].dst);
	}
	free(p->binds);
	for (size_t i = 0; i < p->n_made; i++) {
		free(p->made[i].base);
		free(p->made[i].rel);
	}
	free(p->made);
	for (size_t i = 0; i < p->n_dir_rules; i++)
		safe_close(p->dir_rule_fds[i]);
	free(p);
	return NULL;
}

int sandbox_plan_set_unotify(struct sandbox_plan *p, const struct sandbox_spec *spec, int send_fd,
			     const int *helper_fds, size_t n, bool names)
{
	int r;

	if (!p || !spec || send_fd < 0 || !helper_fds || n == 0 || n > UNOTIFY_HELPERS ||
	    p->notify_send_fd >= 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (helper_fds[i] < 0)
			return -EINVAL;
	/* The helpers are exec'd fresh from this binary: pin it now, before any mask. */
	if (p->exe_fd < 0) {
		p->exe_fd = sandbox_open_helper_exe();
		if (p->exe_fd < 0)
			return p->exe_fd;
	}
	r = landlock_build_helper(p, spec);
	if (r < 0)
		return r;
	r = seccomp_build_notify(names, &p->notify_filter, &p->notify_filter_len);
	if (r < 0)
		return r;
	p->notify_send_fd = send_fd;
	memcpy(p->helper_fds, helper_fds, n * sizeof(int));
	p->n_helpers = n;
	return 0;
}

bool sandbox_plan_uses_masks(const struct sandbox_plan *p)
{
	return p && p->n_masks > 0;
}

void sandbox_plan_get_info(const struct sandbox_plan *p, struct sandbox_plan_info *ret)
{
	*ret = (struct sandbox_plan_info){0};
	if (!p)
		return;
	ret->landlock_abi = p->ruleset_fd >= 0 ? p->landlock_abi : 0;
	ret->handled_fs = p->ruleset_fd >= 0 ? p->handled_fs : 0;
	ret->net_tcp_restricted = p->net_handled;
	ret->scope_signal = !!(p->scoped & LL_SCOPE_SIGNAL);
	ret->scope_abstract_unix = !!(p->scoped & LL_SCOPE_ABSTRACT_UNIX_SOCKET);
	ret->seccomp = p->filter != NULL;
	ret->seccomp_insns = p->filter_len;
	ret->userns = p->use_userns;
	ret->mountns = p->use_mountns;
	ret->netns = !!(p->flags & SANDBOX_NETNS);
	ret->pidns = p->use_pidns;
	ret->ipcns = p->use_pidns;
	ret->n_masks = p->n_masks;
	ret->ro_root = p->ro_root;
	ret->private_tmp = p->private_tmp;
}

int sandbox_plan_set_netns_listener(struct sandbox_plan *p, int unix_fd, uint16_t port)
{
	int r;

	if (!p || !(p->flags & SANDBOX_NETNS) || unix_fd < 0 || port == 0)
		return -EINVAL;
	r = sandbox_plan_set_proxy_port(p, port);
	if (r < 0)
		return r;
	p->listener_unix_fd = unix_fd;
	p->listener_port = port;
	return 0;
}

int sandbox_plan_set_netns_forward(struct sandbox_plan *p, int unix_fd, const uint16_t *ports,
				   size_t n)
{
	if (!p || !(p->flags & SANDBOX_NETNS) || unix_fd < 0 || (n > 0 && !ports))
		return -EINVAL;
	if (n > SANDBOX_MAX_FWD_PORTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		if (ports[i] == 0)
			return -EINVAL;
		p->fwd_ports[i] = ports[i];
	}
	p->n_fwd_ports = n;
	p->fwd_unix_fd = unix_fd;
	return 0;
}

const char *sandbox_plan_mask_path(const struct sandbox_plan *p, size_t i)
{
	return p && i < p->n_masks ? p->masks[i].path : NULL;
}

/* A deny path is masked when a grant reaches it: the grant covers it or lies inside it. */
static const struct fs_grant *grant_reaching(const struct sandbox_spec *spec, const char *deny)
{
	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		if (!g->exists || !g->path || g->access == 0)
			continue;
		if (path_is_beneath(deny, g->path) || path_is_beneath(g->path, deny))
			return g;
	}
	return NULL;
}

/*
 * The child holds no capability (root included) and runs with nono's credentials, so
 * what the kernel refuses nono without its capabilities it refuses the child: a path
 * nono cannot read, write or search (faccessat with the effective ids; as root with
 * CAP_DAC_OVERRIDE it always can, so root's masks stay) needs no mask, nor a user
 * namespace to make one (/etc/shadow for an ordinary user). Except a path we own whose
 * owner bits are all clear: the child could chmod it. (Under a user namespace that maps
 * only our uid, a root-owned file shows our overflow uid; the kernel still compares the
 * real owner, which the access check gets right.)
 */
static bool dac_unreachable(const char *path, const struct stat *st)
{
	if (st->st_uid == geteuid() && (st->st_mode & S_IRWXU) == 0)
		return false;
	for (int mode = R_OK; mode; mode >>= 1)
		if (faccessat(AT_FDCWD, path, mode, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != EACCES)
			return false;
	return true;
}

/*
 * An empty regular file or directory on a read-only mount holds nothing to protect and
 * takes no writes: what a mask looks like from inside an enclosing sandbox, where a
 * nested nono (root without CAP_SYS_ADMIN there) could not mount a second one.
 */
static bool already_masked(const char *path, const struct stat *st)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) < 0 || !(vfs.f_flag & ST_RDONLY))
		return false;
	if (S_ISREG(st->st_mode))
		return st->st_size == 0;
	if (!S_ISDIR(st->st_mode))
		return false;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	DIR *d = fdopendir(fd);
	if (!d)
		return false;
	fd = -EBADF; /* owned by d now */
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)))
		empty = streq(de->d_name, ".") || streq(de->d_name, "..");
	(void)closedir(d);
	return empty;
}

static bool write_granted(const struct sandbox_spec *spec, const char *path)
{
	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		if (g->exists && g->path && (g->access & FS_WRITE) &&
		    path_is_beneath(path, g->path))
			return true;
	}
	return false;
}

static int add_pin(struct sandbox_plan *p, const char *dir, struct diag *d)
{
	struct stat st;
	for (size_t i = 0; i < p->n_masks; i++)
		if (p->masks[i].pin && streq(p->masks[i].path, dir))
			return 0;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		diag_set(d, dir, 0, 0, "directory '%s' changed since the trust scan", dir);
		return -ESTALE;
	}
	struct sandbox_mask *n = reallocarray(p->masks, p->n_masks + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->masks = n;
	n = &p->masks[p->n_masks];
	*n = (struct sandbox_mask){.pin = true, .is_dir = true, .dev = st.st_dev, .ino = st.st_ino};
	if (!(n->path = strdup(dir)))
		return -ENOMEM;
	p->n_masks++;
	return 0;
}

/*
 * spec->readonly_files that a write grant reaches: read-only binds onto themselves. And
 * each directory on the way whose parent is writable is pinned (bound onto itself), or
 * the agent could rename .claude/ away and put a new, unverified .claude/x.md in its
 * place. Pins come first: a file bind made before a pin above it would be hidden.
 */
static int plan_readonly(struct sandbox_plan *p, const struct sandbox_spec *spec,
			 const struct sandbox_features *f, struct diag *d)
{
	for (char **ro = spec->readonly_files; ro && *ro; ro++) {
		char dir[PATH_MAX];
		if (!write_granted(spec, *ro) || strlen(*ro) >= sizeof(dir))
			continue;
		if (!f->is_root && !userns_ok(f))
			continue; /* refused with a message below */
		/* Outermost first: collect the chain, then add from the top down. */
		size_t start = p->n_masks;
		(void)snprintf(dir, sizeof(dir), "%s", *ro);
		for (char *s = strrchr(dir, '/'); s && s != dir; s = strrchr(dir, '/')) {
			*s = 0; /* dir is now the parent */
			char parent[PATH_MAX];
			(void)snprintf(parent, sizeof(parent), "%s", dir);
			char *ps = strrchr(parent, '/');
			if (!ps)
				break;
			if (ps == parent)
				ps[1] = 0;
			else
				*ps = 0;
			if (!write_granted(spec, parent))
				break;
			int r = add_pin(p, dir, d);
			if (r < 0)
				return r;
		}
		/* Reverse what this file added: the top of the chain goes first. */
		for (size_t a = start, b = p->n_masks; b > a + 1; a++, b--) {
			struct sandbox_mask t = p->masks[a];
			p->masks[a] = p->masks[b - 1];
			p->masks[b - 1] = t;
		}
	}
	for (char **ro = spec->readonly_files; ro && *ro; ro++) {
		bool writable = write_granted(spec, *ro);
		struct stat st;
		if (!writable)
			continue;
		if (lstat(*ro, &st) < 0 || !S_ISREG(st.st_mode)) {
			diag_set(d, *ro, 0, 0, "verified file '%s' is no longer a regular file",
				 *ro);
			return -ESTALE;
		}
		if (!f->is_root && !userns_ok(f)) {
			diag_set(d, *ro, 0, 0,
				 "verified instruction file '%s' is inside a write grant, and user "
				 "namespaces are unavailable to keep it read-only",
				 *ro);
			return -EPERM;
		}
		struct sandbox_mask *n = reallocarray(p->masks, p->n_masks + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->masks = n;
		n = &p->masks[p->n_masks];
		*n = (struct sandbox_mask){.ro_bind = true, .dev = st.st_dev, .ino = st.st_ino};
		if (!(n->path = strdup(*ro)))
			return -ENOMEM;
		p->n_masks++;
	}
	return 0;
}

static int plan_masks(struct sandbox_plan *p, const struct sandbox_spec *spec,
		      const struct sandbox_features *f, struct diag *d)
{
	for (size_t i = 0; i < spec->n_denies; i++) {
		const struct fs_deny *dn = &spec->denies[i];
		const struct fs_grant *g;
		struct stat st;

		if (!dn->path || dn->bypassed)
			continue;
		g = grant_reaching(spec, dn->path);
		if (!g)
			continue;
		if (lstat(dn->path, &st) < 0) {
			if (errno == ENOENT)
				continue; /* nothing there to protect (yet): the agent may only
					     create its own */
			int r = -errno;
			diag_set(d, dn->path, 0, 0, "cannot inspect protected path '%s': %s",
				 dn->path, strerror(-r));
			return r;
		}
		if (!S_ISLNK(st.st_mode) &&
		    (dac_unreachable(dn->path, &st) || already_masked(dn->path, &st)))
			continue;
		/* As the spec's placement says (decided from the same features), else probed. */
		if (spec->placement.decided ? !spec->placement.masks
					    : !f->is_root && !userns_ok(f)) {
			diag_set(d, g->path, 0, 0,
				 "grant '%s' covers protected path '%s' (%s), and %s to mask it; "
				 "narrow the grant or use --bypass-protection",
				 g->path, dn->path, strempty(dn->category),
				 f->is_root ? "no mount namespace can be had (no CAP_SYS_ADMIN)"
					    : "user namespaces are unavailable");
			return -EPERM;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			diag_set(
			    d, dn->path, 0, 0,
			    "protected path '%s' is neither a directory nor a regular file and "
			    "cannot be masked inside grant '%s'",
			    dn->path, g->path);
			return -EINVAL;
		}

		struct sandbox_mask *n = reallocarray(p->masks, p->n_masks + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->masks = n;
		n = &p->masks[p->n_masks];
		*n = (struct sandbox_mask){
		    .is_dir = S_ISDIR(st.st_mode), .dev = st.st_dev, .ino = st.st_ino};
		n->path = strdup(dn->path);
		if (!n->path)
			return -ENOMEM;
		p->n_masks++;
	}
	return plan_readonly(p, spec, f, d);
}

/* Root may make namespaces only with CAP_SYS_ADMIN (not in every container). */
static bool have_sys_admin(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct c[2] = {{0}};

	if (syscall(SYS_capget, &h, c) < 0)
		return false;
	return c[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));
}

bool sandbox_mountns_available(const struct sandbox_features *f)
{
	return f->is_root ? have_sys_admin() : userns_ok(f);
}

void sandbox_placement_features(const struct sandbox_features *f, struct policy_features *ret)
{
	*ret = (struct policy_features){
	    .is_root = f->is_root,
	    .sys_admin = f->is_root && have_sys_admin(),
	    .userns = !f->is_root && userns_ok(f),
	};
}

/* Note that base/rel[0..n) was made by make_mountpoint(). */
static int note_made(struct sandbox_plan *p, const char *base, const char *rel, size_t n,
		     bool is_dir)
{
	struct sandbox_made *m = reallocarray(p->made, p->n_made + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	p->made = m;
	m = &p->made[p->n_made];
	*m = (struct sandbox_made){.base = strdup(base), .rel = strndup(rel, n), .is_dir = is_dir};
	if (!m->base || !m->rel) {
		free(m->base);
		free(m->rel);
		return -ENOMEM;
	}
	p->n_made++;
	return 0;
}

struct made_note {
	struct sandbox_plan *p;
	const char *base, *rel;
};

static int note_made_cb(void *ud, size_t n, bool is_dir)
{
	const struct made_note *m = ud;
	return note_made(m->p, m->base, m->rel, n, is_dir);
}

/*
 * Make the mount point rel (a path relative to the directory base, no "." or "..")
 * inside the session's private tmp directory (sandbox_make_beneath()). Its identity
 * goes to *ret; what did not exist before is noted in p.
 */
static int make_mountpoint(struct sandbox_plan *p, const char *base, const char *rel, bool is_dir,
			   struct stat *ret)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	struct made_note m = {p, base, rel};
	int dir = (int)syscall(SYS_openat2, AT_FDCWD, base, &how, sizeof(how));

	if (dir < 0)
		return -errno;
	_cleanup_close_ int fd = sandbox_make_beneath(dir, rel, is_dir, note_made_cb, &m);
	if (fd < 0)
		return fd;
	return fstat(fd, ret) < 0 ? -errno : 0;
}

void sandbox_plan_remove_mountpoints(struct sandbox_plan *p)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	if (!p)
		return;
	/* Newest first: a directory after what was made inside it. Nothing the command left
	 * in one is removed: rmdir fails on a directory that is not empty, and a file mount
	 * point goes only while it is still an empty regular file. */
	for (size_t i = p->n_made; i-- > 0;) {
		const struct sandbox_made *m = &p->made[i];
		_cleanup_close_ int bfd =
		    (int)syscall(SYS_openat2, AT_FDCWD, m->base, &how, sizeof(how));
		_cleanup_close_ int dfd = -EBADF;
		const char *slash = strrchr(m->rel, '/'), *name = slash ? slash + 1 : m->rel;
		struct stat st;
		if (bfd < 0)
			continue;
		if (slash) {
			_cleanup_free_ char *dir = strndup(m->rel, (size_t)(slash - m->rel));
			struct open_how sub = how;
			sub.resolve |= RESOLVE_BENEATH;
			if (!dir ||
			    (dfd = (int)syscall(SYS_openat2, bfd, dir, &sub, sizeof(sub))) < 0)
				continue;
		}
		int at = slash ? dfd : bfd;
		if (m->is_dir)
			(void)unlinkat(at, name, AT_REMOVEDIR);
		else if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			 st.st_size == 0)
			(void)unlinkat(at, name, 0);
	}
	for (size_t i = 0; i < p->n_made; i++) {
		free(p->made[i].base);
		free(p->made[i].rel);
	}
	free(p->made);
	p->made = NULL;
	p->n_made = 0;
}

/* Append b to the plan's binds, with copies of src and dst. */
static int push_bind(struct sandbox_plan *p, struct sandbox_bind b, const char *src,
		     const char *dst, struct diag *d)
{
	struct sandbox_bind *v;

	if (p->n_binds >= SANDBOX_MAX_BINDS) {
		diag_set(d, dst, 0, 0,
			 "more than %d write grants need a writable mount; merge some of them "
			 "(e.g. grant their common parent)",
			 SANDBOX_MAX_BINDS);
		return -E2BIG;
	}
	v = reallocarray(p->binds, p->n_binds + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->binds = v;
	b.src = strdup(src);
	b.dst = strdup(dst);
	if (!b.src || !b.dst) {
		free(b.src);
		free(b.dst);
		return -ENOMEM;
	}
	p->binds[p->n_binds++] = b;
	return 0;
}

/* Add a bind of src at dst. tmp_dst: dst lies beneath that private mount point, whose
 * source directory tmp_src gets the mount point made. */
static int add_bind(struct sandbox_plan *p, const char *src, const char *dst, bool writable,
		    const char *tmp_dst, const char *tmp_src, struct diag *d)
{
	struct stat ss, ds;
	int r;

	if (lstat(src, &ss) < 0)
		return errno == ENOENT ? 0 : -errno; /* gone since resolve: stays read-only */
	/* I/O on devices, FIFOs and sockets ignores a read-only mount: nothing to bind,
	 * except a socket that would be hidden under the private /tmp. Devices must not be
	 * bound: the ptmx driver looks for its devpts beside /dev/ptmx on the same mount. */
	if (!S_ISDIR(ss.st_mode) && !S_ISREG(ss.st_mode) && !(tmp_dst && S_ISSOCK(ss.st_mode)))
		return 0;
	if (tmp_dst && !tmp_src)
		/* Bound back on a tmpfs the child makes: so is its mount point, in there. */
		ds = (struct stat){.st_mode = ss.st_mode};
	else if (tmp_dst) {
		/* Bound back on the private /tmp: its mount point must exist in there. */
		r = make_mountpoint(p, tmp_src, dst + strlen(tmp_dst) + 1, S_ISDIR(ss.st_mode),
				    &ds);
		if (r < 0)
			return r;
	} else if (lstat(dst, &ds) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(ss.st_mode) != S_ISDIR(ds.st_mode))
		return -ENOTDIR;
	return push_bind(p,
			 (struct sandbox_bind){.is_dir = S_ISDIR(ss.st_mode),
					       .writable = writable,
					       .in_tmpfs = tmp_dst && !tmp_src,
					       .src_dev = ss.st_dev,
					       .src_ino = ss.st_ino,
					       .dst_dev = ds.st_dev,
					       .dst_ino = ds.st_ino},
			 src, dst, d);
}

/* Which private tmp directory (index into tmp_dst) path lies strictly beneath; -1: none. */
static int tmp_region(const char *path, const char *const tmp_dst[2])
{
	for (int k = 0; k < 2; k++)
		if (tmp_dst[k] && path_is_beneath(path, tmp_dst[k]) && !streq(path, tmp_dst[k]))
			return k;
	return -1;
}

/* Grant i needs no bind of its own: a write grant's writable clone already holds it. */
static bool bind_covered(const struct sandbox_spec *spec, size_t i, const char *const tmp_dst[2])
{
	const struct fs_grant *g = &spec->grants[i];
	int k = tmp_region(g->path, tmp_dst);

	for (size_t j = 0; j < spec->n_grants; j++) {
		const struct fs_grant *a = &spec->grants[j];
		if (j == i || !a->exists || !a->path || !(a->access & FS_WRITE) ||
		    !path_is_beneath(g->path, a->path) || tmp_region(a->path, tmp_dst) != k ||
		    (tmp_dst[0] && streq(a->path, tmp_dst[0])) ||
		    (tmp_dst[1] && streq(a->path, tmp_dst[1])))
			continue;
		if (!streq(g->path, a->path) || !(g->access & FS_WRITE) || j < i)
			return true;
	}
	return false;
}

/* The access the existing grants of exactly path give (FS_READ | FS_WRITE). */
static unsigned grants_of(const struct sandbox_spec *spec, const char *path)
{
	unsigned access = 0;
	for (size_t i = 0; i < spec->n_grants; i++)
		if (spec->grants[i].exists && spec->grants[i].path &&
		    streq(spec->grants[i].path, path))
			access |= spec->grants[i].access;
	return access;
}

/*
 * The private directory just bound for dst gets the Landlock rights of the grants of
 * dst itself (grants of its ancestors still apply through the walk up); it is opened
 * without following symlinks and must be the inode the bind will mount.
 */
static int private_tmp_rule(struct sandbox_plan *p, const struct sandbox_spec *spec,
			    const char *dst)
{
	const struct sandbox_bind *b = p->n_binds > 0 ? &p->binds[p->n_binds - 1] : NULL;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd = -EBADF;
	unsigned access;
	struct stat st;

	if (!b || !streq(b->dst, dst))
		return -ENOENT; /* add_bind() skipped it: the source vanished */
	access = grants_of(spec, dst);
	if (access == 0)
		return 0;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, b->src, &how, sizeof(how));
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (st.st_dev != b->src_dev || st.st_ino != b->src_ino)
		return -ESTALE;
	return landlock_add_dir_rule(p, fd, access);
}

/* A fresh tmpfs at dst (wrap's private /tmp), with the Landlock rights of the grants
 * of dst itself, which the child adds once it exists. */
static int add_tmpfs(struct sandbox_plan *p, const struct sandbox_spec *spec, const char *dst,
		     struct diag *d)
{
	struct sandbox_bind b = {.is_dir = true, .writable = true, .required = true, .tmpfs = true};
	struct stat ds;

	if (lstat(dst, &ds) < 0)
		return -errno;
	b.dst_dev = ds.st_dev;
	b.dst_ino = ds.st_ino;
	b.tmpfs_access = landlock_fs_rights_of(grants_of(spec, dst));
	return push_bind(p, b, "tmpfs", dst, d);
}

static int bind_cmp(const void *x, const void *y)
{
	return strcmp(((const struct sandbox_bind *)x)->dst, ((const struct sandbox_bind *)y)->dst);
}

/*
 * The binds of the read-only root: every existing write grant (directories and regular
 * files) not already inside another one's clone, and with a private /tmp the session's
 * directories on /tmp and /var/tmp plus every grant beneath them bound back on top, so
 * an explicit grant under /tmp still sees the real path. A write grant of "/" leaves the
 * root writable.
 */
static int plan_binds(struct sandbox_plan *p, const struct sandbox_spec *spec,
		      const struct sandbox_tmp *tmp, struct diag *d)
{
	const char *tmp_dst[2] = {NULL, NULL};
	const char *tmp_src[2] = {tmp ? tmp->tmp : NULL, tmp ? tmp->var_tmp : NULL};
	bool private_tmp =
	    spec->placement.decided ? spec->placement.private_tmp : !spec->shared_tmp;
	bool tmpfs = tmp && tmp->tmpfs;
	struct stat st;
	int r;

	p->ro_root = true;
	if (private_tmp && (tmp_src[0] || tmpfs)) {
		if (lstat("/tmp", &st) == 0 && S_ISDIR(st.st_mode))
			tmp_dst[0] = "/tmp";
		if ((tmp_src[1] || tmpfs) && lstat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode))
			tmp_dst[1] = "/var/tmp";
	}
	for (size_t i = 0; i < spec->n_grants; i++) {
		const struct fs_grant *g = &spec->grants[i];
		bool write = g->access & FS_WRITE;

		if (!g->exists || !g->path || g->access == 0)
			continue;
		if (write && streq(g->path, "/"))
			p->ro_root = false;
		if ((tmp_dst[0] && streq(g->path, tmp_dst[0])) ||
		    (tmp_dst[1] && streq(g->path, tmp_dst[1])))
			continue; /* replaced by the private directory */
		int k = tmp_region(g->path, tmp_dst);
		if ((!write && k < 0) || bind_covered(spec, i, tmp_dst))
			continue;
		r = add_bind(p, g->path, g->path, write, k < 0 ? NULL : tmp_dst[k],
			     k < 0 ? NULL : tmp_src[k], d);
		if (r < 0)
			goto fail;
	}
	/* AF_UNIX grants under a private /tmp (e.g. /tmp/.X11-unix) are bound back too. */
	for (size_t i = 0; i < spec->n_unix_grants; i++) {
		const char *up = spec->unix_grants[i].path;
		int k = up ? tmp_region(up, tmp_dst) : -1;
		bool covered = false;

		if (k < 0)
			continue;
		for (size_t j = 0; j < spec->n_grants && !covered; j++) {
			const struct fs_grant *g = &spec->grants[j];
			covered = g->exists && g->path && g->access != 0 &&
				  path_is_beneath(up, g->path) && tmp_region(g->path, tmp_dst) == k;
		}
		if (covered)
			continue;
		r = add_bind(p, up, up, spec->unix_grants[i].flags & UNIX_BIND, tmp_dst[k],
			     tmp_src[k], d);
		if (r < 0)
			goto fail;
	}
	/* A working directory beneath a private /tmp stays where the command starts, with
	 * the rights the grants of /tmp itself give (the host /tmp was reachable so). */
	char cwd[PATH_MAX];
	int ck = getcwd(cwd, sizeof(cwd)) ? tmp_region(cwd, tmp_dst) : -1;
	if (ck >= 0) {
		unsigned access = 0;
		bool covered = false;
		for (size_t j = 0; j < spec->n_grants; j++) {
			const struct fs_grant *g = &spec->grants[j];
			if (!g->exists || !g->path || g->access == 0)
				continue;
			if (streq(g->path, tmp_dst[ck]))
				access |= g->access;
			else if (path_is_beneath(cwd, g->path) && tmp_region(g->path, tmp_dst) == ck)
				covered = true;
		}
		if (access != 0 && !covered) {
			r = add_bind(p, cwd, cwd, access & FS_WRITE, tmp_dst[ck], tmp_src[ck], d);
			if (r < 0)
				goto fail;
		}
	}
	for (int k = 0; k < 2; k++) {
		if (!tmp_dst[k])
			continue;
		if (tmpfs)
			r = add_tmpfs(p, spec, tmp_dst[k], d);
		else {
			r = add_bind(p, tmp_src[k], tmp_dst[k], true, NULL, NULL, d);
			if (r >= 0)
				r = private_tmp_rule(p, spec, tmp_dst[k]);
		}
		if (r < 0)
			goto fail;
		p->binds[p->n_binds - 1].required = true; /* never the host's /tmp instead */
		p->private_tmp = true;
	}
	if (p->n_binds > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(p->binds, p->n_binds, sizeof(*p->binds), bind_cmp);
	return 0;
fail:
	if (!d->msg[0])
		diag_set(d, p->n_binds < SANDBOX_MAX_BINDS ? "mount namespace" : "grants", 0, 0,
			 "cannot plan the read-only root: %s", strerror(-r));
	return r;
}

static int read_cap_last(void)
{
	char buf[32] = {0};
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	long v;
	char *end;

	if (fd < 0)
		return CAP_LAST_CAP;
	n = read(fd, buf, sizeof(buf) - 1);
	safe_close(fd);
	if (n <= 0)
		return CAP_LAST_CAP;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v < 0 || v > 63)
		return CAP_LAST_CAP;
	return (int)v;
}

/*
 * Root gives up every capability: bounding, permitted, effective, inheritable and
 * ambient sets all end empty (and with no_new_privs and an empty bounding set, execve
 * cannot hand any back, setuid binaries included). The sandboxed command keeps uid 0
 * and with it only an owner's rights: files root owns, nothing else by DAC. Landlock
 * decides which paths are reachable; a capability left in place would be a way past
 * Landlock, seccomp or the masks (CAP_DAC_READ_SEARCH for open_by_handle_at,
 * CAP_SYS_ADMIN, CAP_SYS_PTRACE), a lever on the host (CAP_SYS_NICE, CAP_SYS_TIME,
 * CAP_KILL, CAP_CHOWN of files outside the grants' reach through fds it was given) or
 * on other users' files (CAP_DAC_OVERRIDE, CAP_FOWNER).
 */
static int plan_caps(struct sandbox_plan *p)
{
	p->cap_last = read_cap_last();
	memset(p->caps, 0, sizeof(p->caps));
	if (!p->is_root) {
		/* In a user namespace we hold every cap there: drop them all. Otherwise we
		 * have none to drop from the bounding set (and lack CAP_SETPCAP to try). */
		p->bset_drop = p->use_userns ? ~0ULL : 0;
		return 0;
	}
	/* Only what the bounding set still holds: root nested in a sandbox has an empty one
	 * and no CAP_SETPCAP to drop with. */
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct cur[2] = {{0}};
	if (syscall(SYS_capget, &h, cur) < 0)
		return -errno;
	p->bset_drop = 0;
	for (int c = 0; c <= p->cap_last && c < 64; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
			p->bset_drop |= 1ULL << c;
	p->lock_securebits = cur[CAP_SETPCAP / 32].effective & (1U << (CAP_SETPCAP % 32));
	return 0;
}

/* The same condition as a mount namespace: root with CAP_SYS_ADMIN, or user namespaces. */
bool sandbox_pidns_available(const struct sandbox_features *f)
{
	return f && sandbox_mountns_available(f);
}

/* Whether file holds exactly the len bytes of want (at its start, up to len). */
static bool file_starts_with(const char *path, const char *want, size_t len)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	(void)close(fd);
	return n >= (ssize_t)len && memcmp(buf, want, len) == 0;
}

void sandbox_namespaces_self(bool *ret_user, bool *ret_pid_ipc)
{
	static const char init_argv[] = "nono\0" SANDBOX_INIT_ARG "\0";
	static const char full_map[] = "         0          0 4294967295";

	/* The initial user namespace maps every id; ours maps one. */
	*ret_user = !file_starts_with("/proc/self/uid_map", full_map, sizeof(full_map) - 1);
	/* Our PID 1 is nono's init only in a PID namespace of ours (with its IPC one). */
	*ret_pid_ipc =
	    getpid() != 1 && file_starts_with("/proc/1/cmdline", init_argv, sizeof(init_argv) - 1);
}

int sandbox_prepare(const struct sandbox_spec *spec, const struct sandbox_features *f,
		    unsigned flags, struct sandbox_plan **ret, char ***ret_warnings, struct diag *d)
{
	return sandbox_prepare_session(spec, f, flags, NULL, ret, ret_warnings, d);
}

int sandbox_prepare_session(const struct sandbox_spec *spec, const struct sandbox_features *f,
			    unsigned flags, const struct sandbox_tmp *tmp,
			    struct sandbox_plan **ret, char ***ret_warnings, struct diag *d)
{
	_cleanup_(sandbox_plan_freep) struct sandbox_plan *p = NULL;
	int r;

	if (!spec || !f || !ret || !d)
		return -EINVAL;
	if (flags & ~(unsigned)SANDBOX_NETNS)
		return -EINVAL;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->keep_fd = -1;
	p->ruleset_fd = -1;
	p->helper_ruleset_fd = -1;
	p->exe_fd = -1;
	p->parent_pidfd = -1;
	p->listener_unix_fd = -1;
	p->fwd_unix_fd = -1;
	p->notify_send_fd = -1;
	p->flags = flags;
	p->is_root = f->is_root;
	p->parent_pid = getpid();

	if (f->seccomp) {
		r = seccomp_build(spec, &p->filter, &p->filter_len);
		if (r < 0) {
			diag_set(d, "seccomp", 0, 0, "building the seccomp filter failed: %s",
				 strerror(-r));
			return r;
		}
	} else if (!spec->best_effort) {
		diag_set(d, "seccomp", 0, 0,
			 "the kernel has no seccomp filter mode; it is required unless best_effort "
			 "is set");
		return -EOPNOTSUPP;
	} else if (ret_warnings) {
		r = strv_extend(ret_warnings, "seccomp unavailable: syscall filter not applied");
		if (r < 0)
			return r;
	}

	r = landlock_build(p, spec, f, ret_warnings, d);
	if (r < 0)
		return r;

	r = plan_masks(p, spec, f, d);
	if (r < 0)
		return r;

	/* Read-only root and private /tmp wherever a mount namespace can be had: as the
	 * spec's placement says (decided from the same features), else as probed. */
	bool mountns =
	    spec->placement.decided ? spec->placement.mountns : sandbox_mountns_available(f);
	if (mountns) {
		r = plan_binds(p, spec, tmp, d);
		if (r < 0)
			return r;
	}
	if (p->n_masks > 0 || mountns || (flags & SANDBOX_NETNS)) {
		if (f->is_root)
			p->use_mountns = p->n_masks > 0 || mountns;
		else if (userns_ok(f)) {
			p->use_userns = true;
			p->use_mountns = p->n_masks > 0 || mountns;
		} else {
			diag_set(d, "network", 0, 0,
				 "a private network namespace needs user namespaces, which are "
				 "unavailable for this user");
			return -EOPNOTSUPP;
		}
	}
	/*
	 * PID and IPC namespaces whenever they can be had: the agent sees only its own
	 * processes and SysV objects, and everything it starts dies with it (the PID
	 * namespace's init). They need a mount namespace too, for a /proc of their own.
	 */
	if (spec->placement.decided ? spec->placement.pidns : sandbox_pidns_available(f)) {
		p->use_pidns = true;
		p->use_mountns = true;
		if (!f->is_root)
			p->use_userns = true;
		p->exe_fd = sandbox_open_helper_exe();
		if (p->exe_fd < 0)
			errno = -p->exe_fd;
		p->parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		if (p->exe_fd < 0 || p->parent_pidfd < 0) {
			r = -errno;
			diag_set(d, "pid namespace", 0, 0,
				 "cannot prepare the namespace's init: %s", strerror(-r));
			return r;
		}
	}
	snprintf(p->uid_map, sizeof(p->uid_map), "%u %u 1\n", (unsigned)getuid(),
		 (unsigned)getuid());
	snprintf(p->gid_map, sizeof(p->gid_map), "%u %u 1\n", (unsigned)getgid(),
		 (unsigned)getgid());

	r = plan_caps(p);
	if (r < 0) {
		diag_set(d, "capabilities", 0, 0, "reading capabilities failed: %s", strerror(-r));
		return r;
	}

	*ret = TAKE_PTR(p);
	return 0;
}

int sandbox_read_exec_error(int fd, struct sandbox_exec_error *ret)
{
	struct sandbox_exec_error e;
	size_t done = 0;

	while (done < sizeof(e)) {
		ssize_t n = read(fd, (char *)&e + done, sizeof(e) - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	if (done == 0)
		return 0;
	if (done != sizeof(e))
		return -EIO;
	*ret = e;
	return 1;
}

/*
 * Variables that make a program load or run code it was not asked to run. The list
 * follows glibc's own AT_SECURE list (LD_*, GCONV_PATH, LOCPATH, MALLOC_*,
 * GLIBC_TUNABLES, HOSTALIASES, RES_OPTIONS is harmless and kept) plus the start-up
 * hooks of common interpreters. Search paths a developer sets on purpose (PYTHONPATH,
 * NODE_PATH, PERL5LIB, RUBYLIB, CLASSPATH) stay: they name code the user chose, and
 * stripping them breaks ordinary project setups.
 */
static const char *const env_strip_exact[] = {
    "BASH_ENV",		"ENV",	   "NODE_OPTIONS",	"PYTHONSTARTUP", "PERL5OPT",
    "PERL5DB",		"RUBYOPT", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
    "GCONV_PATH",	"LOCPATH", "GLIBC_TUNABLES",	"HOSTALIASES",	 "NLSPATH",
    "PYTHONBREAKPOINT", NULL,
};
static const char *const env_strip_prefix[] = {
    "LD_",	  /* dynamic loader: preload, audit, library path, ... */
    "MALLOC_",	  /* glibc malloc debugging hooks (MALLOC_CHECK_, MALLOC_TRACE) */
    "BASH_FUNC_", /* exported bash functions run as code in every bash child */
    NULL,
};

/*
 * Ambient credentials: tokens that an inherited environment hands to every program,
 * which an agent would otherwise read and use (push to a repository, reach a cloud
 * account, open a secret store). Removed from the child's environment unless passed
 * through by name (--pass-env NAME, profile "pass_env"). One '*' in a pattern stands
 * for one or more characters (OP_SESSION_*, CARGO_REGISTRIES_*_TOKEN). Model API keys
 * (OPENAI_API_KEY, ANTHROPIC_API_KEY, *_API_KEY in general) are NOT on the list: they
 * are what an agent runs on, and --credential keeps them out of the child altogether
 * for those who want that.
 */
static const char *const env_secret_patterns[] = {
    /* source forges */
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITLAB_TOKEN",
    "GL_TOKEN",
    "GITLAB_PRIVATE_TOKEN",
    "CI_JOB_TOKEN",
    "BITBUCKET_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    /* clouds */
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AZURE_CLIENT_SECRET",
    "ARM_CLIENT_SECRET",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "CLOUDSDK_AUTH_ACCESS_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "DIGITALOCEAN_TOKEN",
    "CLOUDFLARE_API_TOKEN",
    "HCLOUD_TOKEN",
    "LINODE_TOKEN",
    "FLY_API_TOKEN",
    "HEROKU_API_KEY",
    "VERCEL_TOKEN",
    "NETLIFY_AUTH_TOKEN",
    /* secret stores */
    "OP_SERVICE_ACCOUNT_TOKEN",
    "OP_CONNECT_TOKEN",
    "OP_SESSION_*",
    "VAULT_TOKEN",
    "BW_SESSION",
    "DOPPLER_TOKEN",
    /* package registries */
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    "YARN_NPM_AUTH_TOKEN",
    "CARGO_REGISTRY_TOKEN",
    "CARGO_REGISTRIES_*_TOKEN",
    "PYPI_TOKEN",
    "TWINE_PASSWORD",
    "UV_PUBLISH_TOKEN",
    "POETRY_PYPI_TOKEN_*",
    "POETRY_HTTP_BASIC_*_PASSWORD",
    "GEM_HOST_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "DOCKER_PASSWORD",
    "DOCKER_AUTH_CONFIG",
    "DOCKERHUB_TOKEN",
    /* chat / deploy */
    "SLACK_TOKEN",
    "SLACK_BOT_TOKEN",
    "SENTRY_AUTH_TOKEN",
    "TF_TOKEN_*",
    NULL,
};

/* Length of the name in "NAME=value" (or of a bare name). */
static size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool name_is(const char *kv, size_t len, const char *name)
{
	return strlen(name) == len && strncmp(kv, name, len) == 0;
}

static bool env_stripped(const char *kv)
{
	size_t len = env_name_len(kv);

	for (const char *const *s = env_strip_prefix; *s; s++)
		if (startswith(kv, *s))
			return true;
	for (const char *const *s = env_strip_exact; *s; s++)
		if (name_is(kv, len, *s))
			return true;
	return false;
}

bool sandbox_env_name_unsafe(const char *name)
{
	return env_stripped(name);
}

bool sandbox_env_name_secret(const char *name)
{
	size_t len = env_name_len(name);

	for (const char *const *s = env_secret_patterns; *s; s++) {
		const char *star = strchr(*s, '*');
		if (!star) {
			if (name_is(name, len, *s))
				return true;
			continue;
		}
		size_t pre = (size_t)(star - *s), suf = strlen(star + 1);
		if (len > pre + suf && strncmp(name, *s, pre) == 0 &&
		    strncmp(name + len - suf, star + 1, suf) == 0)
			return true;
	}
	return false;
}

int sandbox_env_filter(char *const *envp, char *const *pass, char ***ret, char ***ret_removed)
{
	_cleanup_strv_free_ char **out = NULL, **removed = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	out = calloc(1, sizeof(char *));
	removed = calloc(1, sizeof(char *));
	if (!out || !removed)
		return -ENOMEM;
	STRV_FOREACH(e, envp)
	{
		size_t len = env_name_len(*e);
		if (env_stripped(*e))
			continue;
		if (sandbox_env_name_secret(*e)) {
			bool passed = false;
			STRV_FOREACH(p, pass)
			if (name_is(*e, len, *p))
				passed = true;
			if (!passed) {
				_cleanup_free_ char *name = strndup(*e, len);
				if (!name)
					return -ENOMEM;
				r = strv_extend(&removed, name);
				if (r < 0)
					return r;
				continue;
			}
		}
		r = strv_extend(&out, *e);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(out);
	if (ret_removed)
		*ret_removed = TAKE_PTR(removed);
	return 0;
}

int sandbox_clean_environ(char *const *envp, char ***ret)
{
	return sandbox_env_filter(envp, NULL, ret, NULL);
}
