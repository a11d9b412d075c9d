/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The plan: everything sandbox_child_exec() needs, built before fork. */

#include <linux/capability.h>
#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"
#include "sandbox/unotify-proto.h"

struct sandbox_mask {
	char *path;  /* canonical absolute protected path */
	bool is_dir; /* directory mask (empty dir) or file mask (empty file) */
	dev_t dev;   /* identity seen at prepare time; the child re-checks it */
	ino_t ino;
	/* Not masks (trust): ro_bind, the file itself bound read-only onto itself; pin, the
	 * directory (and its mounts) bound onto itself, so its name cannot be renamed or
	 * removed (EBUSY) while writes inside are unchanged. */
	bool ro_bind;
	bool pin;
};

/*
 * One bind mount of the read-only root (sandbox.c plan_binds): src is cloned before the
 * root turns read-only and attached at dst afterwards, so a write grant keeps a writable
 * mount and a private /tmp replaces the host's. Both paths are canonical; the child
 * opens them without following symlinks and checks the identities seen at prepare.
 */
struct sandbox_bind {
	char *src;
	char *dst;
	bool is_dir;
	bool writable; /* false: the clone is made read-only (a read grant under a private /tmp) */
	bool required; /* the private /tmp itself: a vanished source fails the launch */
	bool tmpfs;    /* no src: a fresh tmpfs the child makes (wrap's private /tmp) */
	bool in_tmpfs; /* dst lies in such a tmpfs: the child makes its mount point there */
	uint64_t tmpfs_access; /* tmpfs: Landlock rights of the grants of dst itself */
	dev_t src_dev;
	ino_t src_ino;
	dev_t dst_dev;
	ino_t dst_ino;
};

/* Most binds a plan holds (write grants, private /tmp and what is bound back on it). */
#define SANDBOX_MAX_BINDS 256

struct sandbox_plan {
	unsigned flags;	  /* enum sandbox_plan_flags */
	pid_t parent_pid; /* the process that built the plan */
	bool is_root;
	int keep_fd; /* survives execve (the sealed state fd), -1: none */

	/* Landlock: ruleset fully populated in the parent; child only restricts. */
	int landlock_abi;
	int ruleset_fd; /* -1: no Landlock (best effort) */
	uint32_t restrict_flags;
	bool net_handled; /* ruleset handles TCP bind/connect */
	uint64_t handled_fs;
	uint64_t scoped;     /* LL_SCOPE_* enforced */
	uint16_t proxy_port; /* sandbox_plan_set_proxy_port(), 0: none */
	/*
	 * The helpers' layer (mediation only): the agent's rules plus read/execute of the
	 * nono binary and the libraries it maps, so they can be exec'd under it. The agent
	 * then stacks ruleset_fd on top: one layer deeper, scoped away from the helpers.
	 */
	int helper_ruleset_fd; /* -1: none */
	/* Grants on /proc or beneath it, re-added in the child for its fresh /proc mount. */
	struct {
		char path[128];
		uint64_t access;
	} proc_rules[8];
	size_t n_proc_rules;

	/* seccomp */
	struct sock_filter *filter;
	unsigned short filter_len;

	/* Mount masks */
	struct sandbox_mask *masks;
	size_t n_masks;
	bool use_userns; /* unprivileged: new user ns with identity map */
	bool use_mountns;
	char uid_map[64];
	char gid_map[64];
	/*
	 * Private PID + IPC namespaces (user namespaces available, or root): the supervisor
	 * clones the child into them (sandbox_spawn()); the child, PID 1, mounts a fresh
	 * /proc, forks the agent and execs itself as the init (sandbox_init_main()).
	 */
	bool use_pidns;
	int exe_fd;	  /* O_PATH of /proc/self/exe (helpers, init), -1: none */
	int parent_pidfd; /* pidfd of parent_pid: its death is checked across the PID ns */
	/* Read-only root: everything but the binds (sorted by dst, parents first) */
	bool ro_root;
	bool private_tmp; /* /tmp and /var/tmp are the session's own directories */
	struct sandbox_bind *binds;
	size_t n_binds;
	/* Mount points made in the private /tmp directories for the binds back onto them,
	 * in the order they were made: removed after the run (sandbox_plan_remove_mountpoints),
	 * so an untouched private /tmp is still empty. */
	struct sandbox_made {
		char *base; /* the private directory (trusted: nono made it) */
		char *rel;  /* beneath it */
		bool is_dir;
	} *made;
	size_t n_made;
	/* Directory rules added after planning (landlock_add_dir_rule: the private /tmp),
	 * kept so the helpers' layer, built later, grants them too: the agent runs under
	 * both layers, and a rule missing from either takes the directory away from it. */
	int dir_rule_fds[4];
	uint64_t dir_rule_access[4];
	size_t n_dir_rules;

	/* SANDBOX_NETNS: listener made inside the namespace, handed out over this socket */
	int listener_unix_fd; /* -1: none */
	uint16_t listener_port;
	/* ... and listeners for forwarded ports (sandbox_plan_set_netns_forward) */
	int fwd_unix_fd; /* -1: none */
	uint16_t fwd_ports[SANDBOX_MAX_FWD_PORTS];
	size_t n_fwd_ports;

	/* AF_UNIX mediation: helpers forked after seccomp, then the notification filter */
	struct sock_filter *notify_filter;
	unsigned short notify_filter_len;
	int notify_send_fd; /* the listener goes out over this socket; -1: no mediation */
	int helper_fds[UNOTIFY_HELPERS];
	size_t n_helpers;

	/* Capabilities */
	int cap_last;			       /* highest capability number the kernel knows */
	uint64_t bset_drop;		       /* capabilities to drop from the bounding set */
	bool lock_securebits;		       /* root holding CAP_SETPCAP: lock SECBIT_NOROOT... */
	struct __user_cap_data_struct caps[2]; /* target effective/permitted/inheritable */
};

/* sandbox-helper.c: send fd over the AF_UNIX socket sock (SCM_RIGHTS) with len bytes of
 * data. 0 or an errno. Async-signal-safe. */
int sandbox_send_fd(int sock, int fd, const void *data, size_t len);
/* sandbox-helper.c: in the init (`nono __init PID N`): a forked helper process serving
 * the channel fd (at fd 3 in it; not dumpable, like the init). 0 or -errno; the caller
 * closes its fd either way. */
int sandbox_helper_fork(int fd);
/*
 * sandbox-beneath.c: make rel (relative; "." and ".." refused) beneath the directory fd dir,
 * which it takes over: missing directories 0700, the last component a directory
 * (is_dir) or an empty file (0600), never through a symlink. made(ud, n, dir), when
 * given, is told of each component it created (rel's first n bytes); a negative return
 * stops it. Allocates nothing: the child uses it too. O_PATH fd on rel, or -errno.
 */
int sandbox_make_beneath(int dir, const char *rel, bool is_dir,
			 int (*made)(void *ud, size_t n, bool dir), void *ud);
/* sandbox.c: O_PATH fd of the binary the init and the helpers are exec'd from, or -errno. */
int sandbox_open_helper_exe(void);

/* landlock.c */
int sandbox_landlock_abi(void);
/* The helpers' ruleset (helper_ruleset_fd); 0 or -errno. */
int landlock_build_helper(struct sandbox_plan *p, const struct sandbox_spec *spec);
int landlock_build(struct sandbox_plan *p, const struct sandbox_spec *spec,
		   const struct sandbox_features *f, char ***warnings, struct diag *d);
/*
 * Grant the directory dir_fd the Landlock rights of fs_access (enum fs_access) in the
 * plan's ruleset: the private /tmp, which Landlock does not see through the rule on the
 * host's /tmp it is mounted over (a mount point's own rule is skipped on the walk up).
 */
int landlock_add_dir_rule(struct sandbox_plan *p, int dir_fd, unsigned fs_access);
/* The Landlock rights of FS_READ/FS_WRITE (not yet limited to what a ruleset handles). */
uint64_t landlock_fs_rights_of(unsigned fs_access);

/* seccomp.c */
/* Build the filter; on success the program (malloc'd) and its length are returned. The
 * programs are fixed by the network mode (and, for the notify filter, names), so the
 * build compiles them once (seccomp-gen.c): these copy the result. The seccomp_compile*
 * functions are the libseccomp path itself, for the generator, tests and cross builds. */
int seccomp_build(const struct sandbox_spec *spec, struct sock_filter **ret,
		  unsigned short *ret_len);
/* net: the rules of --block-net and proxy mode (non-TCP inet sockets refused). */
int seccomp_compile(bool net, struct sock_filter **ret, unsigned short *ret_len);
int seccomp_compile_notify(bool names, struct sock_filter **ret, unsigned short *ret_len);
/* The AF_UNIX mediation filter (connect, bind, sendto with an address: USER_NOTIF); with
 * names also the calls that make, replace or remove a name (sandbox_plan_set_unotify()). */
int seccomp_build_notify(bool names, struct sock_filter **ret, unsigned short *ret_len);
/* Render the same filter as PFC text to fd (for tests and --dry-run -vv). */
int sandbox_seccomp_export_pfc(const struct sandbox_spec *spec, int fd);
