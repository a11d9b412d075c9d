/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Kernel enforcement of a struct sandbox_spec: Landlock, seccomp, mount masks in a
 * private user+mount namespace, capability drop, no_new_privs.
 *
 * Calling sequence (supervised `nono run`):
 *   sandbox_probe()                      once, in the parent
 *   sandbox_prepare(spec, &features, ..) in the parent: opens every rule path,
 *                                        builds the BPF program, decides on masks;
 *                                        all allocation happens here
 *   sandbox_spawn(plan, fn, ...)         fn, in the child: async-signal-safe only,
 *                                        ends in sandbox_child_exec(plan, ...),
 *                                        which never returns; the parent gets
 *                                        the child's report (0 when it exec'd)
 * `nono wrap` calls sandbox_child_exec() in its own process, without fork.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/diag.h"
#include "base/macro.h"
#include "policy/policy.h"
#include "policy/spec.h"

struct sandbox_features {
	int landlock_abi;     /* 0: Landlock unavailable */
	bool seccomp;         /* seccomp filter mode available */
	bool seccomp_notify;  /* SECCOMP_RET_USER_NOTIF + ADDFD */
	bool userns;          /* meaningful only when userns_probed */
	bool userns_probed;   /* false after sandbox_probe(): asked lazily when needed */
	bool is_root;         /* euid 0 (mount namespace without a user namespace) */
};

/* Fill *ret from the running kernel. Never fails: missing features read as 0/false. */
void sandbox_probe(struct sandbox_features *ret);

/* Whether this user can create user namespaces; probed on first use, then cached. */
bool sandbox_userns_available(void);

/* Whether `nono run` gives the command private PID and IPC namespaces (with an init). */
bool sandbox_pidns_available(const struct sandbox_features *f);

/*
 * Inside a sandbox (`why --self`): whether this process runs in a user namespace of
 * its own, and in a PID + IPC namespace whose PID 1 is nono's init. Read live from /proc.
 */
void sandbox_namespaces_self(bool *ret_user, bool *ret_pid_ipc);

/*
 * Whether a launch gets a mount namespace, and with it the read-only root (outside the
 * write grants chmod, chown, utimes and xattr changes fail with EROFS) and the private
 * /tmp: root with CAP_SYS_ADMIN, anyone else where user namespaces work.
 */
bool sandbox_mountns_available(const struct sandbox_features *f);

/* The features policy_resolve decides the placement from (policy_input.features). */
void sandbox_placement_features(const struct sandbox_features *f, struct policy_features *ret);

/*
 * True when a seccomp user-notification listener already exists in this process's
 * filter chain (nono nested inside a nono sandbox): the kernel allows one per chain,
 * so the enclosing supervisor mediates and this one cannot. Forks once to find out,
 * and only when some seccomp filter is in force.
 */
bool sandbox_notify_listener_taken(void);

/* The rights the given ABI handles, for --dry-run -v and `setup`. */
uint64_t sandbox_landlock_fs_rights(int abi);

struct sandbox_plan;

enum sandbox_plan_flags {
	SANDBOX_NETNS = 1 << 0, /* private network namespace with loopback only (proxy mode) */
};

/*
 * Build everything the child needs. Errors a user can fix (a path the kernel
 * cannot protect, a feature the spec needs but the kernel lacks) fill *d.
 * Warnings for explicit downgrades are appended to *ret_warnings (strv, may be NULL).
 */
int sandbox_prepare(const struct sandbox_spec *spec, const struct sandbox_features *f,
		    unsigned flags, struct sandbox_plan **ret, char ***ret_warnings, struct diag *d);
/* The session's own directories mounted on /tmp and /var/tmp where the spec's
 * placement has a private /tmp (var_tmp may be NULL); or, with tmpfs, no directories:
 * the child mounts a fresh tmpfs on each (nono wrap, which leaves no process behind
 * to remove directories, so nothing of its /tmp outlives the command). */
struct sandbox_tmp {
	const char *tmp;
	const char *var_tmp;
	bool tmpfs;
};
/* sandbox_prepare() with the session's private /tmp (tmp may be NULL: none). */
int sandbox_prepare_session(const struct sandbox_spec *spec, const struct sandbox_features *f,
			    unsigned flags, const struct sandbox_tmp *tmp,
			    struct sandbox_plan **ret, char ***ret_warnings, struct diag *d);
struct sandbox_plan *sandbox_plan_free(struct sandbox_plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sandbox_plan *, sandbox_plan_free);

/*
 * Proxy mode: also allow TCP connect to the proxy's port (call before fork, once the
 * port is known when spec->proxy.port was 0). No-op when Landlock does not restrict
 * TCP for this plan. Returns 0 or -errno.
 */
int sandbox_plan_set_proxy_port(struct sandbox_plan *p, uint16_t port);

/*
 * SANDBOX_NETNS: have the child, once inside its network namespace (loopback up,
 * before dropping privileges), create a TCP listener on 127.0.0.1:port there and send
 * it over the AF_UNIX socket unix_fd (SCM_RIGHTS, one byte of data) to whoever holds
 * the other end: this is how the supervisor's proxy gets a listener the child can
 * reach. port must be non-zero; it is also allowed for connect in Landlock (as
 * sandbox_plan_set_proxy_port()). unix_fd must stay open until the child has run;
 * it should be O_CLOEXEC. Returns 0, -EINVAL (no SANDBOX_NETNS, bad port or fd).
 */
int sandbox_plan_set_netns_listener(struct sandbox_plan *p, int unix_fd, uint16_t port);

/* Most ports sandbox_plan_set_netns_forward() takes. */
#define SANDBOX_MAX_FWD_PORTS 32

/*
 * SANDBOX_NETNS, port forwarding: have the child, inside its network namespace and
 * before dropping privileges, create a TCP listener on 127.0.0.1:P for each of PORTS
 * (and one on [::1]:P where the namespace has IPv6), and send them all in one message
 * over the AF_UNIX socket unix_fd (SCM_RIGHTS, one byte 'F' of data; getsockname()
 * tells the ports apart). The message is sent even when n is 0: it then only says
 * that the namespace is set up. Listening inside before the agent runs means its
 * first connect already finds the port. unix_fd: as in set_netns_listener().
 * Returns 0, -EINVAL (no SANDBOX_NETNS, bad fd or port), -E2BIG (n too large).
 */
int sandbox_plan_set_netns_forward(struct sandbox_plan *p, int unix_fd, const uint16_t *ports,
				   size_t n);
/*
 * AF_UNIX mediation (supervised runs; see supervisor/unotify.h). After its other filters
 * the child starts n helpers — this binary exec'd fresh as `nono __unotify-helper`
 * (sandbox_helper_main), siblings under the planning process; in a PID namespace forks
 * of the init, exec'd as `nono __init PID n` — under the agent's namespaces,
 * capabilities and Landlock rules but one Landlock layer above the agent — each serving
 * helper_fds[i] (sandbox/unotify-proto.h),
 * then installs a filter that turns connect(2), bind(2) and sendto(2) with an address
 * into user notifications, and sends the listener over send_fd (SCM_RIGHTS) with the
 * helpers' pids as data (int32_t[UNOTIFY_HELPERS]; 0 in a PID namespace). Builds the
 * helpers' Landlock ruleset from spec. Every fd must be O_CLOEXEC and stay open until
 * the child has run; the caller closes them in the parent after fork.
 * With names, the filter also notifies the calls that create, rename, link or remove
 * a name (O_CREAT opens, mkdir, mknod, symlink, link, rename, unlink, rmdir) and refuses
 * openat2 with ENOSYS: protected names inside write grants (supervisor/unotify.c).
 * Returns 0, -EINVAL (bad fds, n out of 1..UNOTIFY_HELPERS, called twice), -ENOMEM,
 * -errno (opening /proc/self/exe, the helpers' ruleset), or a libseccomp error.
 */
int sandbox_plan_set_unotify(struct sandbox_plan *p, const struct sandbox_spec *spec, int send_fd,
			     const int *helper_fds, size_t n, bool names);

/* Write the seccomp filter built for spec as libseccomp PFC text to fd (tests, -vv). */
int sandbox_seccomp_export_pfc(const struct sandbox_spec *spec, int fd);

/* What a plan enforces, for --dry-run -v, `why --scope` and `setup`. */
struct sandbox_plan_info {
	int landlock_abi;         /* ABI the ruleset targets; 0: no Landlock (best effort) */
	uint64_t handled_fs;      /* Landlock fs rights the ruleset handles */
	bool net_tcp_restricted;  /* Landlock handles TCP bind/connect */
	bool scope_signal;        /* enforced, not merely requested */
	bool scope_abstract_unix;
	bool seccomp;             /* a filter is loaded */
	unsigned seccomp_insns;   /* its length in BPF instructions */
	bool userns, mountns, netns;
	bool pidns, ipcns;        /* private PID namespace (with an init) and IPC namespace */
	size_t n_masks;           /* protected paths masked; see sandbox_plan_mask_path() */
	bool ro_root;             /* read-only outside the write grants */
	bool private_tmp;         /* /tmp and /var/tmp are the session's own directories */
};
void sandbox_plan_get_info(const struct sandbox_plan *p, struct sandbox_plan_info *ret);
/* The i-th masked path (i < n_masks) or NULL; owned by the plan. */
const char *sandbox_plan_mask_path(const struct sandbox_plan *p, size_t i);

/* True when the plan needs mount masks (a grant covers a protected path). */
bool sandbox_plan_uses_masks(const struct sandbox_plan *p);
/* Let FD survive execve in the child (the CLOEXEC sweep spares it). -1: none. */
void sandbox_plan_keep_fd(struct sandbox_plan *p, int fd);
/* After the run: remove the mount points the plan made in the private /tmp directories
 * (the binds back onto them), as far as the command left them empty. Idempotent. */
void sandbox_plan_remove_mountpoints(struct sandbox_plan *p);

/*
 * Steps reported through err_fd when the child fails before execve. The parent turns
 * {step, errno} into one message.
 */
enum sandbox_step {
	STEP_NONE = 0,
	STEP_PDEATHSIG,
	STEP_USERNS,
	STEP_MOUNTNS,
	STEP_MASK,
	STEP_NETNS,
	STEP_CAPS,
	STEP_NO_NEW_PRIVS,
	STEP_LANDLOCK,
	STEP_SECCOMP,
	STEP_CHDIR,
	STEP_EXEC,
	STEP_UNOTIFY, /* AF_UNIX mediation: helpers, notification filter, listener hand-off */
	STEP_PIDNS,   /* PID namespace: /proc mount, the agent's fork, the init's exec */
	_STEP_MAX,
};

struct sandbox_exec_error {
	int step; /* enum sandbox_step */
	int err;  /* positive errno */
	int index; /* which mask/rule failed, or -1 */
};

const char *sandbox_step_to_string(enum sandbox_step s);

/*
 * Apply the plan to the calling process and execve(path, argv, envp). Async-signal-safe.
 * On failure writes a struct sandbox_exec_error to err_fd (if >= 0) and _exit(127).
 * err_fd must be O_CLOEXEC so a successful execve closes it. cwd may be NULL.
 */
/* err_fd for in-place use (nono wrap): failures are printed to stderr and exit 1. */
#define SANDBOX_ERR_STDERR (-2)

_noreturn_ void sandbox_child_exec(const struct sandbox_plan *p, const char *path,
				   char *const argv[], char *const envp[], const char *cwd,
				   int err_fd, int status_fd);

/*
 * Start the sandboxed child without copying this process's memory: fn(arg) runs in a
 * clone that shares it (CLONE_VM | CLONE_VFORK, on a stack of its own; when the plan
 * uses a PID namespace, as PID 1 of new PID and IPC, and its user, namespaces) and must
 * end in sandbox_child_exec() with the write end of a close-on-exec pipe, *err_w. PID 1
 * forks the agent (and without a PID namespace the agent the first mediation helper) the
 * same way. Like glibc's posix_spawn, fn must be async-signal-safe, write nothing but its
 * own stack, and let none of our signal handlers run there: it calls
 * sandbox_child_default_handlers() before it unblocks signals. Other threads may run
 * meanwhile, as long as they leave the plan, argv and envp alone.
 * Returns once every process that shares the memory has exec'd or exited (EOF on err_r;
 * *err_w is closed here): 0 and *ret_pid when the command was exec'd, 1 with *ret_err
 * filled (and *ret_pid) when the set-up failed, -errno (*ret_pid set if the clone was
 * made, and left running).
 */
int sandbox_spawn(const struct sandbox_plan *p, int (*fn)(void *), void *arg, int *err_w, int err_r,
		  pid_t *ret_pid, struct sandbox_exec_error *ret_err);

/* In a clone of sandbox_spawn(): every caught signal back to its default action, so no
 * handler of the parent's runs in the parent's memory. Async-signal-safe. */
void sandbox_child_default_handlers(void);

/* argv[1] of the hidden modes below; main() dispatches them before anything else. */
#define SANDBOX_HELPER_ARG "__unotify-helper"
#define SANDBOX_INIT_ARG   "__init"

/*
 * `nono __unotify-helper [N]`: the AF_UNIX mediation helpers, exec'd fresh (empty
 * environment, nothing of the supervisor's memory) by the sandboxed child, serving the
 * sockets at fds 3..3+N-1 (N 1..UNOTIFY_HELPERS, default 1): one forked process per
 * socket after the first. Not dumpable. Never returns.
 */
_noreturn_ void sandbox_helper_main(int argc, char **argv);

/*
 * `nono __init PID [N]`: PID 1 of the sandbox's PID namespace, exec'd fresh; with N, it
 * also watches the N mediation channels at fds 3.. and forks a helper for each (as
 * `__unotify-helper N` would) when the supervisor first sends on it. Forwards the
 * signals other processes send it to PID, reaps every orphan, and exits with PID's
 * status (128+signal when it was killed); the kernel then kills whatever is left in
 * the namespace. Never returns.
 */
_noreturn_ void sandbox_init_main(int argc, char **argv);

/*
 * Read the child's report from the parent's end of the pipe. Returns 0 when the pipe
 * closed without data (execve succeeded), 1 with *ret filled when the child failed.
 */
int sandbox_read_exec_error(int fd, struct sandbox_exec_error *ret);

/*
 * Remove variables that change how programs load code (LD_*, BASH_ENV, ENV,
 * NODE_OPTIONS, PYTHONSTARTUP, PERL5OPT, ...) and ambient credentials (GITHUB_TOKEN,
 * AWS_SECRET_ACCESS_KEY, VAULT_TOKEN, OP_SESSION_*, ...; see env_secret_patterns in
 * sandbox.c). Returns a new strv.
 */
int sandbox_clean_environ(char *const *envp, char ***ret);

/*
 * The same, except that a credential named in pass (a strv of exact names, may be NULL)
 * stays. ret_removed (may be NULL): the names of the credentials removed, in order, so
 * the caller can say so (loader variables are not listed). Both new strvs.
 */
int sandbox_env_filter(char *const *envp, char *const *pass, char ***ret, char ***ret_removed);

/* NAME (or NAME=value) is a loader/start-up hook variable: always removed, never passed. */
bool sandbox_env_name_unsafe(const char *name);

/* NAME (or NAME=value) matches the ambient-credential list. */
bool sandbox_env_name_secret(const char *name);
