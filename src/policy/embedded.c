/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/embedded.h"

#include <string.h>

const struct embedded_file *embedded_find(const char *name)
{
	if (!name)
		return NULL;
	EMBEDDED_FOREACH(f)
	if (strcmp(f->name, name) == 0)
		return f;
	return NULL;
}
