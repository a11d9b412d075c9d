/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* true/false/yes/no/1/0/on/off, case-insensitive. -EINVAL otherwise. */
int parse_bool(const char *s, bool *ret);
/* Decimal, no sign, no spaces, no trailing junk; -ERANGE above max. */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
/* A TCP port 1..65535. */
int parse_port(const char *s, uint16_t *ret);
/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. NULL is not one. */
bool env_name_valid(const char *s);
