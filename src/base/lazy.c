/* SPDX-License-Identifier: Apache-2.0 */
/* Shared libraries loaded on first use: see lazy.h. */
#include "base/lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include "base/macro.h"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

_noreturn_ static void die(const char *what, const char *lib, const char *name)
{
	const char *why = dlerror();
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "nono: error: cannot %s %s%s%s: %s\n", what, lib,
			 name ? ": " : "", name ? name : "", why ? why : "unknown error");
	if (n > 0)
		(void)!write(STDERR_FILENO, msg,
			     (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(127);
}

void *lazy_sym(struct lazy_lib *lib, const char *name)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	if (!h) {
		(void)pthread_mutex_lock(&load_lock);
		h = lib->handle;
		if (!h) {
			h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
			if (!h)
				die("load", lib->soname, NULL);
			__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
		}
		(void)pthread_mutex_unlock(&load_lock);
	}
	void *p = dlsym(h, name);
	if (!p)
		die("find in", lib->soname, name);
	return p;
}
