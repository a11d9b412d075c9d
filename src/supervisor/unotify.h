/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * AF_UNIX path-socket mediation through seccomp user notification (DESIGN.md "AF_UNIX
 * path grants"; the mechanics and their reasons are in unotify.c), and protected names
 * inside write grants (DESIGN.md "Names as well as inodes") through the same channel.
 *
 * Sequence in `nono run`:
 *   unotify_new(spec, plan, &u)   before fork: socketpairs, the plan learns where they go
 *   fork                          (supervise_run)
 *   unotify_after_fork(u)         in the parent: drop the child's ends
 *   unotify_start(u)              once the child has exec'd: take the listener over
 *   unotify_serve(u, revents)     the supervisor's loop polls unotify_wait_fd(u): the
 *                                 workers start with the first notification (a command
 *                                 that makes no mediated call needs none)
 *   unotify_free(u)               after the child is gone: stop workers, end helpers
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/spec.h"
#include "sandbox/sandbox.h"

enum unotify_access {
	UNOTIFY_ACCESS_CONNECT = 1, /* connect(2), sendto(2) */
	UNOTIFY_ACCESS_BIND,	    /* bind(2): create the socket file */
};

/*
 * The policy, as a pure function of the spec: may the socket file at path (canonical
 * absolute, in the sandbox's view) be connected to or created?
 *   - an --allow-unix-socket* grant: the exact file, any file directly in a -dir grant,
 *     any file beneath a -subtree grant; bind only with the -bind variants;
 *   - network allowed (no --block-net, no proxy): also a socket inside a filesystem
 *     grant the user made (flag, environment, profile, working directory; not a policy
 *     group's, not an implied one) for connect, and any bind Landlock permits;
 * Restricted network modes need an explicit socket grant (spec: "a plain --allow grant
 * no longer implicitly permits socket access"). Returns true or false with *ret_why set
 * to a static reason (either way; never NULL).
 */
bool unotify_path_allowed(const struct sandbox_spec *spec, const char *path,
			  enum unotify_access access, const char **ret_why);

/*
 * Protected names (DESIGN.md "Names as well as inodes"): may the name at path
 * (canonical absolute, in the sandbox's view) be made (replace false: a new file,
 * directory or node) or replaced, removed, moved or made a symlink or hard link
 * (replace true)? A deny path, canonical or as written, that a write grant reaches may
 * not be made, nor anything beneath it; with replace, nor any of its ancestors. The
 * calls that make names are mediated only when some deny path is so reached. *ret_why
 * is set to a static reason either way.
 */
bool unotify_name_allowed(const struct sandbox_spec *spec, const char *path, bool replace,
			  const char **ret_why);
/* Whether a write grant reaches a protected name, so unotify_new() mediates names. */
bool unotify_names_mediated(const struct sandbox_spec *spec);
/*
 * Decoding, pure (no task, no fd; also driven by tests/fuzz/fuzz-unotify.c).
 * unotify_decode maps a notification's registers to the call; false for a syscall we
 * did not ask for (then the answer is ENOSYS). Lengths are as the kernel truncates
 * them (int addrlen).
 */
struct seccomp_notif;
struct sockaddr_storage;
struct unotify_call {
	pid_t pid;
	const char *op_name;
	int op; /* enum unotify_op */
	int fd;
	uint64_t addr_ptr;
	int64_t addrlen;
	uint64_t buf_ptr; /* sendto */
	uint64_t len;
	int flags;
};
bool unotify_decode(const struct seccomp_notif *n, struct unotify_call *ret);
/*
 * The length of the path an address read into ss (addrlen bytes of it) names: 0 when
 * it is no path (not AF_UNIX, unnamed, abstract, or addrlen out of range: the kernel
 * decides those), else the bytes of sun_path before the first NUL within addrlen.
 */
size_t unotify_sun_path_len(const struct sockaddr_storage *ss, size_t addrlen);
/*
 * The absolute path the agent meant: p[0..plen) (no NUL in it), joined to cwd when
 * cwd is not NULL (a relative address). -EINVAL, -ENAMETOOLONG when out is too small.
 */
int unotify_sun_path(const char *cwd, const char *p, size_t plen, char *out, size_t outsz);

struct unotify;

/* Returns 0, -ENOMEM, -errno from socketpair(2), or sandbox_plan_set_unotify()'s error. */
int unotify_new(const struct sandbox_spec *spec, struct sandbox_plan *plan, struct unotify **ret);
void unotify_after_fork(struct unotify *u);
/*
 * Receive the listener the child sent before execve. Returns 0 or -errno (-EPIPE: the
 * child sent nothing). On failure the caller must kill the child: its mediated
 * syscalls would otherwise wait forever.
 */
int unotify_start(struct unotify *u);
/*
 * The fd to poll for POLLIN until the workers run, else -1 (they run, or nothing is
 * left under the filter). unotify_serve() takes the poll's revents for it: on POLLIN
 * the workers start (0 or -errno; on failure kill the child, as above); on a hang-up
 * the fd is done with. revents POLLIN starts them at once (a caller that cannot poll).
 */
int unotify_wait_fd(const struct unotify *u);
int unotify_serve(struct unotify *u, short revents);
/* Accepts NULL; returns NULL. Spec and plan given to unotify_new() must outlive u. */
/* Whether pid is one of u's helpers as the child reported them (u may be NULL). */
bool unotify_is_helper(const struct unotify *u, pid_t pid);

struct unotify *unotify_free(struct unotify *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct unotify *, unotify_free);
