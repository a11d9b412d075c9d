/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libseccomp, loaded when first used (lazy.h). The launch's filters are compiled at
 * build time (seccomp-gen); at run time only learn's tracer and a build without those
 * programs (a cross build) compile one, before they start any thread.
 */
#include "base/lazy.h"

#include <errno.h>
#include <stdarg.h>

#include <seccomp.h>

static struct lazy_lib seccomp_lib = LAZY_LIB("libseccomp.so.2");
#define L (&seccomp_lib)

/* clang-format off */
LAZY_FORWARD(L, int, seccomp_arch_add, (scmp_filter_ctx ctx, uint32_t arch_token), (ctx, arch_token))
LAZY_FORWARD(L, uint32_t, seccomp_arch_native, (void), ())
LAZY_FORWARD(L, int, seccomp_attr_set, (scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value), (ctx, attr, value))
LAZY_FORWARD(L, int, seccomp_export_bpf, (const scmp_filter_ctx ctx, int fd), (ctx, fd))
LAZY_FORWARD(L, int, seccomp_export_pfc, (const scmp_filter_ctx ctx, int fd), (ctx, fd))
LAZY_FORWARD(L, scmp_filter_ctx, seccomp_init, (uint32_t def_action), (def_action))
LAZY_FORWARD(L, void, seccomp_release, (scmp_filter_ctx ctx), (ctx))
LAZY_FORWARD(L, int, seccomp_rule_add_array, (scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array), (ctx, action, syscall, arg_cnt, arg_array))
LAZY_FORWARD(L, int, seccomp_syscall_resolve_name, (const char *name), (name))
LAZY_FORWARD(L, char *, seccomp_syscall_resolve_num_arch, (uint32_t arch_token, int num), (arch_token, num))
/* clang-format on */

/* Variadic: what libseccomp itself does, the comparisons gathered for the array form. */
int seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...)
{
	struct scmp_arg_cmp args[6];
	va_list ap;

	if (arg_cnt > 6)
		return -EINVAL;
	va_start(ap, arg_cnt);
	for (unsigned int i = 0; i < arg_cnt; i++)
		args[i] = va_arg(ap, struct scmp_arg_cmp);
	va_end(ap);
	return seccomp_rule_add_array(ctx, action, syscall, arg_cnt, args);
}
