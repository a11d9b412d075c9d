/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Force-included into every translation unit (meson: -include). Pulls in the libc
 * headers that declare the banned functions first, so banned.h can then turn any
 * later call into a compile error without breaking the declarations themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banned.h"
