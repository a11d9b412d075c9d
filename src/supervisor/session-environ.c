/* SPDX-License-Identifier: Apache-2.0 */
/* The child's environment: see session-environ.h. */
#include "supervisor/session-environ.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"

int env_set(char ***env, const char *assignment)
{
	size_t k = strcspn(assignment, "=");
	for (char **e = *env; e && *e; e++)
		if (strncmp(*e, assignment, k) == 0 && (*e)[k] == '=') {
			char *c = strdup(assignment);
			if (!c)
				return -ENOMEM;
			free(*e);
			*e = c;
			return 0;
		}
	return strv_extend(env, assignment);
}
