/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Set or replace NAME=VALUE in an environment strv. 0 or -ENOMEM. */
int env_set(char ***env, const char *assignment);
