/* SPDX-License-Identifier: Apache-2.0 */
#include "credential/credential.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"

/* Skeleton: env:// only. The full set of sources lands with the credential work. */

bool credential_ref_is_uri(const char *ref)
{
	return startswith(ref, "env://") || startswith(ref, "file://") ||
	       startswith(ref, "op://") || startswith(ref, "apple-password://");
}

void secret_wipe(struct secret *s)
{
	if (!s || !s->data)
		return;
	explicit_bzero(s->data, s->len);
	free(s->data);
	*s = (struct secret){0};
}

int credential_load(const char *ref, struct secret *ret, struct diag *d)
{
	*ret = (struct secret){0};
	if (!startswith(ref, "env://")) {
		diag_set(d, NULL, 0, 0, "credential source of '%s' is not supported yet", ref);
		return -EOPNOTSUPP;
	}
	const char *v = getenv(ref + 6);
	if (!v || !*v) {
		diag_set(d, NULL, 0, 0, "credential '%s': variable %s is not set", ref, ref + 6);
		return -ENOENT;
	}
	ret->len = strlen(v);
	ret->data = strdup(v);
	return ret->data ? 0 : -ENOMEM;
}
