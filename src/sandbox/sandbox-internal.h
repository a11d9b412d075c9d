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
	uint64_t scoped; /* LL_SCOPE_* enforced */

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

/* landlock.c */
int sandbox_landlock_abi(void);
int landlock_build(struct sandbox_plan *p, const struct sandbox_spec *spec,
		   const struct sandbox_features *f, char ***warnings, struct diag *d);

/* seccomp.c */
/* Build the filter; on success the program (malloc'd) and its length are returned. */
int seccomp_build(const struct sandbox_spec *spec, struct sock_filter **ret,
		  unsigned short *ret_len);
/* The AF_UNIX mediation filter (connect, bind, sendto with an address: USER_NOTIF); with
 * names also the calls that make, replace or remove a name (sandbox_plan_set_unotify()). */
int seccomp_build_notify(bool names, struct sock_filter **ret, unsigned short *ret_len);
/* Render the same filter as PFC text to fd (for tests and --dry-run -vv). */
int sandbox_seccomp_export_pfc(const struct sandbox_spec *spec, int fd);
