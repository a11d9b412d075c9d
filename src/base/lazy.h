/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Shared libraries loaded on first use (lazy.c). A library the run path does not need
 * costs every exec its mapping, relocation and symbol lookups (OpenSSL ~1.8 ms of CPU,
 * c-ares, http-parser and libseccomp together ~0.2 ms), so nono links none of them:
 * each function it calls is defined by one LAZY_FORWARD line in the library's shim
 * (openssl-lazy.c, cares-lazy.c, http-parser-lazy.c, seccomp-lazy.c), with the
 * prototype from the library's own header (a drifting signature is a compile error),
 * and loads the library on its first call. A function nono starts calling needs its
 * line, or the link fails with "undefined reference to" it.
 *
 * A library that cannot be loaded, or lacks the function, ends the process with the
 * loader's message and status 127, as a missing DT_NEEDED library would have: there is
 * no way to report it through every caller's error path.
 *
 * dlopen() in a child forked from a multithreaded process may deadlock: the processes
 * that use these libraries (the proxy, learn's tracer, a build without precompiled
 * seccomp programs) load them before any thread of theirs runs, or in a process forked
 * before the supervisor starts one.
 */
#include <pthread.h>

struct lazy_lib {
	const char *soname; /* the soname the build linked against */
	void *handle;
};
#define LAZY_LIB(soname)                                                                           \
	{                                                                                          \
		soname, NULL                                                                       \
	}

/* The function name of lib, lib loaded on the first call (RTLD_NOW | RTLD_LOCAL; found
 * by handle, never by global lookup). Never returns NULL: see above. */
void *lazy_sym(struct lazy_lib *lib, const char *name);

/* name(params) forwarding args to the real function, resolved once (racing threads
 * store the same pointer). */
#define LAZY_FORWARD(lib, ret, name, params, args)                                                 \
	ret name params                                                                            \
	{                                                                                          \
		static __typeof__(name) *fp_;                                                      \
		__typeof__(name) *fn_ = __atomic_load_n(&fp_, __ATOMIC_ACQUIRE);                   \
		if (!fn_) {                                                                        \
			fn_ = (__typeof__(name) *)lazy_sym(lib, #name);                            \
			__atomic_store_n(&fp_, fn_, __ATOMIC_RELEASE);                             \
		}                                                                                  \
		return fn_ args;                                                                   \
	}
