/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System keyring: the freedesktop Secret Service through libsecret (optional at build
 * time, meson feature 'libsecret'). Items are found by the attributes
 * service="nono", account=<name>; items that upstream nono stored with
 * username=<name> are found as a fallback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/macro.h"
#include "credential/credential.h"
#include "credential/credential-internal.h"

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>

bool credential_have_keyring(void)
{
	return true;
}

/*
 * libsecret would otherwise try to autolaunch a bus (dbus-launch, X11), which can
 * hang or spawn daemons: require a session bus that is already there.
 */
static bool session_bus_present(void)
{
	const char *addr = secure_getenv("DBUS_SESSION_BUS_ADDRESS");
	if (addr && *addr)
		return true;
	const char *rt = secure_getenv("XDG_RUNTIME_DIR");
	if (!rt || rt[0] != '/')
		return false;
	_cleanup_free_ char *p = NULL;
	struct stat st;
	if (asprintf(&p, "%s/bus", rt) < 0)
		return false;
	return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

static const SecretSchema nono_schema = {
    .name = "org.freedesktop.Secret.Generic",
    .flags = SECRET_SCHEMA_DONT_MATCH_NAME,
    .attributes =
	{
	    {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {"account", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {"username", SECRET_SCHEMA_ATTRIBUTE_STRING},
	},
};

int credential_keyring_lookup(const char *account, char **ret, size_t *ret_len, struct diag *d)
{
	GError *err = NULL;
	gchar *v;

	if (!session_bus_present()) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is "
			 "unset), so the system keyring (Secret Service) cannot be asked; store "
			 "it in a running keyring or use env://, file:// or op://",
			 account);
		return -EOPNOTSUPP;
	}
	v = secret_password_lookup_sync(&nono_schema, NULL, &err, "service", "nono", "account",
					account, NULL);
	if (!v && !err)
		v = secret_password_lookup_sync(&nono_schema, NULL, &err, "service", "nono",
						"username", account, NULL);
	if (err) {
		/* The message names the bus or service problem, never a secret. */
		diag_set(d, NULL, 0, 0,
			 "credential '%s': the system keyring (Secret Service) is not available: "
			 "%s",
			 account, err->message);
		g_error_free(err);
		if (v)
			secret_password_free(v);
		return -EOPNOTSUPP;
	}
	if (!v) {
		diag_set(d, NULL, 0, 0,
			 "credential '%s': no keyring item with service 'nono' and account '%s' "
			 "(store one with: secret-tool store --label=nono service nono account %s)",
			 account, account, account);
		return -ENOENT;
	}
	*ret = v;
	*ret_len = strlen(v);
	return 0;
}

void credential_keyring_free(char *value, size_t len)
{
	(void)len;
	secret_password_free(value); /* wipes before freeing */
}

#else

bool credential_have_keyring(void)
{
	return false;
}

int credential_keyring_lookup(const char *account, char **ret, size_t *ret_len, struct diag *d)
{
	(void)ret;
	(void)ret_len;
	diag_set(d, NULL, 0, 0,
		 "credential '%s': this build of nono has no system keyring support (built "
		 "without libsecret); use env://, file:// or op://",
		 account);
	return -EOPNOTSUPP;
}

void credential_keyring_free(char *value, size_t len)
{
	(void)erase_and_free(value, len);
}

#endif
