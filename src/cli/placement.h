/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include "policy/spec.h"

/*
 * "Placement: userns=.. mountns=.. pidns=.. ro_root=.. masks=.. private_tmp=.. proxy=..
 * (reason)": what policy_resolve decided, the same line for --dry-run, why and setup.
 * Nothing when the placement was not decided.
 */
void cli_print_placement(FILE *out, const struct sandbox_placement *p);
