/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Defense-in-depth seccomp filter, built with libseccomp in the parent and exported
 * as classic BPF, so the child only has to call prctl(PR_SET_SECCOMP).
 *
 * Default action ALLOW; listed syscalls fail with EPERM (or ENOSYS where callers are
 * expected to fall back). Every argument compared is an int or unsigned int in the
 * kernel, so comparisons mask the low 32 bits: a caller cannot dodge a rule by
 * setting the upper half of a register the kernel ignores.
 *
 * Network modes (block, proxy): Landlock owns TCP ports; seccomp makes sure TCP is the
 * only inet protocol a socket can speak:
 *   - socket(): only AF_UNIX, AF_INET, AF_INET6, AF_NETLINK families;
 *   - AF_INET/AF_INET6: type (low 4 bits) must be SOCK_STREAM, protocol 0 or
 *     IPPROTO_TCP (which also refuses MPTCP and SCTP-over-stream);
 *   - on i386, socketcall(2) multiplexes socket() behind a pointer seccomp cannot read,
 *     so it is refused outright in these modes (i386 binaries lose networking there:
 *     fail closed);
 *   - AF_NETLINK stays (getaddrinfo, ip addr): changing routes needs CAP_NET_ADMIN,
 *     which the child does not hold;
 *   - TCP Fast Open opens a connection without connect(2), the only call Landlock's
 *     LANDLOCK_ACCESS_NET_CONNECT_TCP hooks: sendto/sendmsg/sendmmsg with MSG_FASTOPEN
 *     in their flags argument, and setsockopt(IPPROTO_TCP, TCP_FASTOPEN_CONNECT) (which
 *     makes a later write(2) connect) fail with EPERM. msghdr.msg_flags is ignored on
 *     send, so the flags argument is the whole story. MPTCP (IPPROTO_MPTCP) and SCTP
 *     sockets, whose sendmsg can also connect implicitly, never get created (protocol
 *     rule above).
 *
 * Deliberately allowed: ptrace(2) and process_vm_*(2). Debuggers and test runners
 * need them on their own children, and Landlock already refuses tracing any process
 * outside the sandbox's domain (and, with the root capability drop, CAP_SYS_PTRACE
 * is gone too).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sandbox/sandbox-internal.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#define LOW32 0xffffffffULL

static void ctx_releasep(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}

/* Add a rule; a syscall unknown to libseccomp or to an arch is not an error. */
static int rule(scmp_filter_ctx c, uint32_t action, const char *name, unsigned n,
		const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	r = seccomp_rule_add_array(c, action, nr, n, args);
	if (r == -EDOM || r == -EOPNOTSUPP)
		return 0;
	return r;
}

static int deny(scmp_filter_ctx c, const char *name)
{
	return rule(c, SCMP_ACT_ERRNO(EPERM), name, 0, NULL);
}

static const char *const denied_syscalls[] = {
    /* kernel keyring: shared across the user, holds other sessions' secrets */
    "keyctl",
    "add_key",
    "request_key",
    /* kernel attack surface / tracing of others */
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "lookup_dcookie",
    "syslog",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    /* mount family: the masks must stay; Landlock also forbids these once restricted */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    /* namespaces of others */
    "setns",
    /* file handles resolve without a path, so they would bypass path masks */
    "open_by_handle_at",
    "name_to_handle_at",
    /* host administration */
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "uselib",
    NULL,
};

/* io_uring requests are not seen by seccomp; ENOSYS so runtimes fall back to syscalls. */
static const char *const enosys_syscalls[] = {
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    /* clone3 passes flags in memory: ENOSYS makes glibc fall back to clone(2) */
    "clone3",
    NULL,
};

static int add_base_rules(scmp_filter_ctx c)
{
	int r;

	for (const char *const *s = denied_syscalls; *s; s++)
		if ((r = deny(c, *s)) < 0)
			return r;
	for (const char *const *s = enosys_syscalls; *s; s++)
		if ((r = rule(c, SCMP_ACT_ERRNO(ENOSYS), *s, 0, NULL)) < 0)
			return r;

	/* Terminal injection: push characters into the controlling terminal's input. */
	const unsigned long tioc[] = {TIOCSTI, TIOCLINUX};
	for (size_t i = 0; i < ARRAY_SIZE(tioc); i++) {
		struct scmp_arg_cmp a[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, LOW32, tioc[i])};
		if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, a)) < 0)
			return r;
	}

	/* No new user namespace from inside (it would regain every capability there). */
	{
		struct scmp_arg_cmp a[] = {
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)};
		if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "unshare", 1, a)) < 0)
			return r;
		/* clone(2) flags: first argument on every arch we build for (not s390). */
		if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "clone", 1, a)) < 0)
			return r;
	}

	/*
	 * personality(2): refuse the flags that weaken memory protection of the next exec
	 * (READ_IMPLIES_EXEC, MMAP_PAGE_ZERO) while keeping the query form
	 * personality(0xffffffff) and ADDR_NO_RANDOMIZE, which gdb uses. Each rule may
	 * test the argument once, so:
	 *   - bit 31 set and any other bit clear: refused (no real persona sets bit 31;
	 *     only the all-ones query survives);
	 *   - FLAG set and bit 31 clear: refused.
	 * Together: FLAG is refused in every value except the query.
	 */
	for (int b = 0; b < 31; b++) {
		struct scmp_arg_cmp a[] = {
		    SCMP_A0(SCMP_CMP_MASKED_EQ, (1ULL << 31) | (1ULL << b), 1ULL << 31)};
		if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "personality", 1, a)) < 0)
			return r;
	}
	const uint64_t pers[] = {READ_IMPLIES_EXEC, MMAP_PAGE_ZERO};
	for (size_t i = 0; i < ARRAY_SIZE(pers); i++) {
		struct scmp_arg_cmp a[] = {
		    SCMP_A0(SCMP_CMP_MASKED_EQ, pers[i] | (1ULL << 31), pers[i])};
		if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "personality", 1, a)) < 0)
			return r;
	}
	return 0;
}

/* See the header comment: TCP Fast Open connects without connect(2). */
static int add_fastopen_rules(scmp_filter_ctx c)
{
	static const struct {
		const char *name;
		unsigned flags_arg;
	} sends[] = {{"sendto", 3}, {"sendmsg", 2}, {"sendmmsg", 3}};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(sends); i++) {
		struct scmp_arg_cmp a[] = {{.arg = sends[i].flags_arg,
					    .op = SCMP_CMP_MASKED_EQ,
					    .datum_a = MSG_FASTOPEN,
					    .datum_b = MSG_FASTOPEN}};
		if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), sends[i].name, 1, a)) < 0)
			return r;
	}
	struct scmp_arg_cmp a[] = {
	    SCMP_A1(SCMP_CMP_MASKED_EQ, LOW32, IPPROTO_TCP),
	    SCMP_A2(SCMP_CMP_MASKED_EQ, LOW32, TCP_FASTOPEN_CONNECT),
	};
	return rule(c, SCMP_ACT_ERRNO(EPERM), "setsockopt", 2, a);
}

static int add_net_rules(scmp_filter_ctx c)
{
	const int inet[] = {AF_INET, AF_INET6};
	int r;

	/* Families 0..63 except the four we keep. */
	for (int fam = 0; fam < 64; fam++) {
		if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK)
			continue;
		struct scmp_arg_cmp a[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)fam)};
		if ((r = rule(c, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, a)) < 0)
			return r;
	}
	/* Any family >= 64: some bit 6..31 set. */
	for (int b = 6; b < 32; b++) {
		struct scmp_arg_cmp a[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 1ULL << b, 1ULL << b)};
		if ((r = rule(c, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, a)) < 0)
			return r;
	}

	for (size_t i = 0; i < ARRAY_SIZE(inet); i++) {
		/* type & SOCK_TYPE_MASK (0xf) must be SOCK_STREAM. */
		for (int t = 0; t < 16; t++) {
			if (t == SOCK_STREAM)
				continue;
			struct scmp_arg_cmp a[] = {
			    SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)inet[i]),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (uint64_t)t),
			};
			if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "socket", 2, a)) < 0)
				return r;
		}
		/*
		 * protocol must be 0 or IPPROTO_TCP (6 = 0b110): refuse any bit outside
		 * {1, 2} in the low 32 bits, then the two remaining values 2 and 4.
		 */
		for (int b = 0; b < 32; b++) {
			if (b == 1 || b == 2)
				continue;
			struct scmp_arg_cmp a[] = {
			    SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)inet[i]),
			    SCMP_A2(SCMP_CMP_MASKED_EQ, 1ULL << b, 1ULL << b),
			};
			if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "socket", 2, a)) < 0)
				return r;
		}
		const uint64_t bad[] = {2, 4};
		for (size_t j = 0; j < ARRAY_SIZE(bad); j++) {
			struct scmp_arg_cmp a[] = {
			    SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)inet[i]),
			    SCMP_A2(SCMP_CMP_MASKED_EQ, 0x6, bad[j]),
			};
			if ((r = rule(c, SCMP_ACT_ERRNO(EPERM), "socket", 2, a)) < 0)
				return r;
		}
	}
	return add_fastopen_rules(c);
}

/* The multiplexer only exists on some arches (i386 here); elsewhere this is a no-op. */
static int add_socketcall_rule(scmp_filter_ctx c)
{
	return rule(c, SCMP_ACT_ERRNO(EPERM), "socketcall", 0, NULL);
}

/*
 * An allow-by-default context for every arch this CPU runs natively, so a 32-bit binary
 * gets the same rules. We set no_new_privs ourselves, at the step we choose.
 */
static int new_ctx(scmp_filter_ctx *ret)
{
	scmp_filter_ctx c _cleanup_(ctx_releasep) = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!c)
		return -ENOMEM;
	r = seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return r;
	/* Syscall numbers as a binary tree (libseccomp >= 2.5), not a linear chain: the
	 * kernel runs the whole program for each syscall number at attach (its action
	 * cache) and for every syscall the cache does not answer. */
	r = seccomp_attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		return r;
#if defined(__x86_64__)
	r = seccomp_arch_add(c, SCMP_ARCH_X86);
	if (r < 0 && r != -EEXIST)
		return r;
	r = seccomp_arch_add(c, SCMP_ARCH_X32);
	if (r < 0 && r != -EEXIST)
		return r;
#elif defined(__aarch64__)
	r = seccomp_arch_add(c, SCMP_ARCH_ARM);
	if (r < 0 && r != -EEXIST)
		return r;
#endif
	*ret = TAKE_PTR(c);
	return 0;
}

static int build_ctx(const struct sandbox_spec *spec, scmp_filter_ctx *ret)
{
	scmp_filter_ctx c _cleanup_(ctx_releasep) = NULL;
	int r;

	r = new_ctx(&c);
	if (r < 0)
		return r;

	r = add_base_rules(c);
	if (r < 0)
		return r;
	if (spec->net == NET_BLOCK || spec->net == NET_PROXY) {
		r = add_net_rules(c);
		if (r < 0)
			return r;
		r = add_socketcall_rule(c);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

static int export_bpf(scmp_filter_ctx c, struct sock_filter **ret, unsigned short *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ struct sock_filter *buf = NULL;
	struct stat st;
	size_t done = 0;
	int r;

	fd = memfd_create("nono-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(c, fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -E2BIG;

	buf = malloc(st.st_size);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, (char *)buf + done, st.st_size - done, done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += n;
	}
	*ret_len = st.st_size / sizeof(struct sock_filter);
	*ret = TAKE_PTR(buf);
	return 0;
}

int seccomp_compile(bool net, struct sock_filter **ret, unsigned short *ret_len)
{
	scmp_filter_ctx c _cleanup_(ctx_releasep) = NULL;
	struct sandbox_spec spec = {.net = net ? NET_BLOCK : NET_ALLOW};
	int r;

	r = build_ctx(&spec, &c);
	if (r < 0)
		return r;
	return export_bpf(c, ret, ret_len);
}

#ifdef NONO_SECCOMP_PRECOMPILED
/* seccomp_pre_{main,main_net,notify,notify_names}: seccomp_compile*() run at build time. */
#include "seccomp-precompiled.h"

static int copy_prog(const struct sock_filter *prog, size_t len, struct sock_filter **ret,
		     unsigned short *ret_len)
{
	struct sock_filter *buf = malloc(len * sizeof(*prog));
	if (!buf)
		return -ENOMEM;
	memcpy(buf, prog, len * sizeof(*prog));
	*ret = buf;
	*ret_len = (unsigned short)len;
	return 0;
}
#endif

int seccomp_build(const struct sandbox_spec *spec, struct sock_filter **ret,
		  unsigned short *ret_len)
{
	bool net = spec->net == NET_BLOCK || spec->net == NET_PROXY;
#ifdef NONO_SECCOMP_PRECOMPILED
	if (net)
		return copy_prog(seccomp_pre_main_net, ARRAY_SIZE(seccomp_pre_main_net), ret,
				 ret_len);
	return copy_prog(seccomp_pre_main, ARRAY_SIZE(seccomp_pre_main), ret, ret_len);
#else
	return seccomp_compile(net, ret, ret_len);
#endif
}

/*
 * Calls that make, replace or remove a name (supervisor/unotify.c refuses protected ones
 * and performs the rest). open/openat only with O_CREAT: without it no name is made and
 * nothing the agent can rewrite matters. openat2 hides its flags behind a pointer the
 * filter cannot read, so it is refused with ENOSYS, which callers take as "use openat".
 */
static int add_name_rules(scmp_filter_ctx c)
{
	static const char *const notified[] = {
	    "creat",   "mkdir",	    "mkdirat",	 "mknod",    "mknodat",
	    "rename",  "renameat",  "renameat2", "link",     "linkat",
	    "symlink", "symlinkat", "unlink",	 "unlinkat", "rmdir",
	};
	struct scmp_arg_cmp a1[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT)};
	struct scmp_arg_cmp a2[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT)};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(notified); i++)
		if ((r = rule(c, SCMP_ACT_NOTIFY, notified[i], 0, NULL)) < 0)
			return r;
	if ((r = rule(c, SCMP_ACT_NOTIFY, "open", 1, a1)) < 0 ||
	    (r = rule(c, SCMP_ACT_NOTIFY, "openat", 1, a2)) < 0)
		return r;
	return rule(c, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, NULL);
}

/*
 * The AF_UNIX mediation filter (see supervisor/unotify.c), installed last with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER: connect(2), bind(2) and sendto(2) with a destination
 * go to the supervisor. sendto with a NULL destination is a plain send and stays in the
 * kernel. sendmsg/sendmmsg are not notified: msg_name lies in memory BPF cannot read,
 * and notifying every sendmsg would put the supervisor on the write path of every
 * program that uses it for stream I/O (see doc/design/decisions.md for what that leaves).
 * socketcall(2) (i386) hides all of these behind a pointer: refused.
 */
static int build_notify_ctx(bool names, scmp_filter_ctx *ret)
{
	scmp_filter_ctx c _cleanup_(ctx_releasep) = NULL;
	static const char *const notified[] = {"connect", "bind"};
	int r;

	r = new_ctx(&c);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(notified); i++)
		if ((r = rule(c, SCMP_ACT_NOTIFY, notified[i], 0, NULL)) < 0)
			return r;
	if (names && (r = add_name_rules(c)) < 0)
		return r;
	{
		struct scmp_arg_cmp a[] = {SCMP_A4(SCMP_CMP_NE, 0)};
		if ((r = rule(c, SCMP_ACT_NOTIFY, "sendto", 1, a)) < 0)
			return r;
	}
	r = add_socketcall_rule(c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int seccomp_compile_notify(bool names, struct sock_filter **ret, unsigned short *ret_len)
{
	scmp_filter_ctx c _cleanup_(ctx_releasep) = NULL;
	int r = build_notify_ctx(names, &c);
	if (r < 0)
		return r;
	return export_bpf(c, ret, ret_len);
}

int seccomp_build_notify(bool names, struct sock_filter **ret, unsigned short *ret_len)
{
#ifdef NONO_SECCOMP_PRECOMPILED
	if (names)
		return copy_prog(seccomp_pre_notify_names, ARRAY_SIZE(seccomp_pre_notify_names),
				 ret, ret_len);
	return copy_prog(seccomp_pre_notify, ARRAY_SIZE(seccomp_pre_notify), ret, ret_len);
#else
	return seccomp_compile_notify(names, ret, ret_len);
#endif
}

int sandbox_seccomp_export_pfc(const struct sandbox_spec *spec, int fd)
{
	scmp_filter_ctx c _cleanup_(ctx_releasep) = NULL;
	int r;

	r = build_ctx(spec, &c);
	if (r < 0)
		return r;
	return seccomp_export_pfc(c, fd);
}
