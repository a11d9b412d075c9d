/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

/* FNV-1a (64 bits) of a C string: for hash tables and cheap inequality checks, never
 * for anything an attacker must not collide. */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}
