/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * nono learn: run a command under our own ptrace + seccomp tracer and report the
 * file system paths and network endpoints it needs (DESIGN.md, "learn").
 *
 * The seccomp filter stops only on syscalls whose outcome the sandbox governs: the
 * open family, execve(at), create (mkdir/mknod/symlink/link), remove (unlink/rmdir),
 * rename, truncate, connect, bind, plus recvfrom() calls that ask for the sender
 * address (how resolvers read DNS answers). stat/access/readlink/chdir are never
 * stopped on. Everything else runs at full speed.
 *
 * This library depends on base/ only: the caller turns its resolved policy into a
 * plain list of struct learn_covered rules for the "already covered" filter.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Access bits. LEARN_READ and LEARN_WRITE have the values of FS_READ and FS_WRITE in
 * policy/spec.h so a grant's access can be copied into struct learn_covered as is.
 * EXEC and LIST are kinds of read: they need a read grant.
 */
enum learn_access {
	LEARN_READ = 1 << 0,
	LEARN_WRITE = 1 << 1,
	LEARN_EXEC = 1 << 2,
	LEARN_LIST = 1 << 3,
	_LEARN_ACCESS_MAX = 1 << 4,
};

struct learn_options {
	char **argv;          /* command and arguments; argv[0] is looked up in $PATH */
	unsigned timeout_sec; /* 0: none. On expiry: SIGTERM to the tree, SIGKILL 1 s later */
	bool no_rdns;         /* skip reverse DNS for addresses no observed DNS answer named */
	int verbose;          /* reserved: the library never prints */
};

/* One path the command used, canonical (symlinks resolved) and absolute. */
struct learn_path {
	char *path;
	unsigned access; /* enum learn_access, union over every use */
	bool is_dir;
	int err;         /* 0 when at least one use succeeded, else the first errno */
	unsigned count;  /* number of uses */
};

struct learn_endpoint {
	char addr[46];  /* numeric IPv4 / IPv6 */
	uint16_t port;
	char *hostname; /* from a DNS answer the command received, reverse DNS, or NULL */
	unsigned count; /* connect() / bind() calls */
};

struct learn_result {
	struct learn_path *paths;
	size_t n_paths;
	struct learn_endpoint *outbound;  /* TCP connect() */
	size_t n_outbound;
	struct learn_endpoint *listening; /* TCP bind() */
	size_t n_listening;
	char **unix_sockets;              /* AF_UNIX path sockets connected to or bound */

	int exit_status;  /* shell convention: exit code, or 128 + signal number */
	bool timed_out;   /* --timeout expired and the tree was killed */
	bool interrupted; /* SIGINT/SIGTERM/SIGHUP reached us and was forwarded */
	uint64_t n_stops; /* ptrace stops taken, for -v and the benchmark */
};

/*
 * A rule that already grants access: the caller fills these from a resolved
 * sandbox_spec (system defaults, or --profile NAME). path is canonical absolute;
 * access is LEARN_READ|LEARN_WRITE bits; is_file: the rule covers that path only,
 * otherwise everything beneath it.
 */
struct learn_covered {
	const char *path;
	unsigned access;
	bool is_file;
};

/*
 * Run opts->argv to completion (or timeout / signal) under the tracer; the command
 * inherits our stdio, environment, cwd and process group.
 * SIGINT, SIGTERM and SIGHUP are blocked in the calling thread for the duration and
 * taken by a watcher thread: one sent to us with kill() is forwarded to the traced
 * processes and the tree is SIGKILLed 2 s later if still running; terminal-generated
 * ones already reached the command (same process group), so only the third ends the
 * tree. The tree is killed if we die (PTRACE_O_EXITKILL). We wait for every traced
 * process, including daemons the command leaves behind (use timeout_sec for those).
 * Call it from a single-threaded process with no other children: it waits on any
 * child (waitpid(-1)) and would reap them. A command that itself uses ptrace (gdb,
 * strace) cannot attach to its children while traced.
 * Returns 0 and *ret on success (whatever the command's exit status);
 * -ENOENT/-EACCES when argv[0] cannot be executed; -ENOMEM / -E2BIG (more than
 * LEARN_MAX_PATHS paths) and other -errno on tracer failure.
 */
int learn_trace(const struct learn_options *opts, struct learn_result **ret);

struct learn_result *learn_result_free(struct learn_result *r);
void learn_result_freep(struct learn_result **r);
#define _cleanup_learn_result_ __attribute__((cleanup(learn_result_freep)))

/*
 * Print the report in the layout of the learn guide: READ / WRITE / READ+WRITE path
 * sections after filtering and collapsing (rules in report.c), the number of paths
 * already covered by `covered`, OUTBOUND NETWORK and LISTENING PORTS. all: do not
 * filter covered paths (and keep failed reads). Returns 0 or -errno (write error).
 */
int learn_report_text(const struct learn_result *r, const struct learn_covered *covered,
		      size_t n_covered, bool all, FILE *out);

/*
 * Print the profile fragment
 * {"filesystem":{"allow":[],"read":[],"write":[]},
 *  "network":{"outbound":[{"addr","port","hostname","count"}],"listening":[{"addr","port","count"}]}}
 * with the same path selection as the text report. Returns 0 or -errno.
 */
int learn_report_json(const struct learn_result *r, const struct learn_covered *covered,
		      size_t n_covered, bool all, FILE *out);
