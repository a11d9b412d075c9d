/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The built-in credential services (presets.c): one table, read by resolve and profile. */

#include <stdbool.h>

struct credential_preset {
	const char *name;     /* openai, anthropic, ... */
	const char *upstream; /* with the path prefix the SDKs' base URLs carry */
	const char *key;      /* the keyring account its key is loaded from by default */
	const char *header;   /* where the key goes upstream */
	const char *format;   /* the header's value, {} for the key */
	const char *env;      /* the variable the child gets the phantom in */
	const char *base;     /* the variable the child gets the proxy's base URL in */
};

/* The preset named name, or NULL. */
const struct credential_preset *policy_credential_preset(const char *name);
/* True if name is a built-in credential service (openai, anthropic, gemini, ...). */
bool policy_credential_is_preset(const char *name);
