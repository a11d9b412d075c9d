/* SPDX-License-Identifier: Apache-2.0 */
#include "credential/secret.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/macro.h"

/* Secret memory: its own anonymous mapping, locked where RLIMIT_MEMLOCK allows, left
 * out of core dumps and zeroed in forked children (kernel 4.14+: a kernel without
 * MADV_WIPEONFORK is refused, a secret must not reach the sandbox through a fork).
 * The mapping's size follows from len (secure_size). */
static size_t secure_size(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return ROUND_UP(len + 1, page);
}

static void *secure_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, n, MADV_WIPEONFORK) < 0) {
		(void)munmap(p, n);
		return NULL;
	}
	(void)madvise(p, n, MADV_DONTDUMP);
	(void)mlock(p, n); /* best effort: a low RLIMIT_MEMLOCK must not stop nono */
	return p;
}

static void secure_free(void *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	(void)munlock(p, n);
	(void)munmap(p, n);
}

char *secret_buf_alloc(size_t len)
{
	return secure_alloc(secure_size(len));
}

void secret_buf_free(char *p, size_t len)
{
	secure_free(p, secure_size(len));
}

void secret_wipe(struct secret *s)
{
	if (!s || !s->data)
		return;
	secure_free(s->data, secure_size(s->len));
	*s = (struct secret){0};
}

int secret_fork_keep(const struct secret *s, bool keep)
{
	if (!s || !s->data)
		return 0;
	if (madvise(s->data, secure_size(s->len), keep ? MADV_KEEPONFORK : MADV_WIPEONFORK) < 0)
		return -errno;
	return 0;
}

int secret_from_buf(const void *buf, size_t len, struct secret *ret)
{
	char *p = secure_alloc(secure_size(len));
	if (!p)
		return -ENOMEM;
	if (len)
		memcpy(p, buf, len);
	p[len] = 0;
	*ret = (struct secret){p, len};
	return 0;
}
