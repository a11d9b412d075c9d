/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Skipping a unit test because this machine lacks a kernel feature (Landlock ABI, user
 * namespaces, seccomp user notification): a skip, unless NONO_TESTS_MUST_RUN=1 (CI on a
 * kernel that has them all), where it is a failure, so a test that silently stopped
 * running cannot pass. Include after <cmocka.h>.
 */
#include <stdlib.h>
#include <string.h>

#define skip_feature(what)                                                                         \
	do {                                                                                       \
		const char *must_ = getenv("NONO_TESTS_MUST_RUN");                                 \
		if (must_ && strcmp(must_, "1") == 0)                                              \
			fail_msg("NONO_TESTS_MUST_RUN=1 but this test would skip: %s", (what));    \
		skip();                                                                            \
	} while (0)
