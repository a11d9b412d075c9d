/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <pthread.h>
#include <signal.h>

/* Start fn(arg) on a thread that takes none of the process's signals (the supervisor
 * reads its own from a signalfd): every signal is blocked in it from its first
 * instruction. 0 or -errno. */
static inline int thread_start_unsignalled(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = -pthread_create(t, NULL, fn, arg);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
