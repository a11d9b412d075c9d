/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Small macros every component uses: scope-bound cleanup, ownership hand-over,
 * array sizes. Modelled on systemd's macro.h idioms (see STYLE.md), written here.
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* n rounded up to a whole number of units (unit > 0; each argument evaluated twice). */
#define ROUND_UP(n, unit) (((n) + (unit) - 1) / (unit) * (unit))

#define _cleanup_(f)  __attribute__((cleanup(f)))
#define _unused_      __attribute__((unused))
#define _noreturn_    __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))
#define _fallthrough_ __attribute__((fallthrough))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Hand ownership of a pointer (or fd) out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		typeof(p) _p_ = (p);                                                               \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -EBADF;                                                                     \
		_fd_;                                                                              \
	})

/* Turn a libc "-1 and errno" result into a negative errno. */
#define RET_NERRNO(expr)                                                                           \
	({                                                                                         \
		typeof(expr) _r_ = (expr);                                                         \
		_r_ < 0 ? -errno : _r_;                                                            \
	})

/* Define "static inline void funcp(type *p)" that calls func(*p) when non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd)
{
	*fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Wipe then free a heap secret of known length. */
static inline void *erase_and_free(void *p, size_t n)
{
	if (p) {
		explicit_bzero(p, n);
		free(p);
	}
	return NULL;
}

/* Wipe and free a NUL-terminated secret string. */
static inline void erase_and_freep(char **p)
{
	if (*p)
		*p = erase_and_free(*p, strlen(*p));
}
#define _cleanup_erase_ _cleanup_(erase_and_freep)

static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

static inline int streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *startswith(const char *s, const char *prefix)
{
	size_t l = strlen(prefix);
	return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
