/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Per-agent configuration that only a file can carry, for the services nono redirects.
 * gemini-cli 0.61 picks its "gateway" auth type whenever GOOGLE_GEMINI_BASE_URL is set
 * (which nono sets for the gemini service) and its non-interactive mode rejects that type;
 * no variable selects the API-key type, but GEMINI_CLI_SYSTEM_DEFAULTS_PATH names a
 * settings file of the lowest precedence (the user's own settings still win). nono writes
 * that file, read-only, into the session's private /tmp and points the variable at it.
 * gemini-cli skips the file unless it and every directory above it are owned by uid 0 and
 * not writable by group or others, as the agent sees them: only a run as root without a
 * user namespace qualifies (in a user namespace the host's root appears as the overflow
 * uid, so no path can pass); elsewhere -v says what to set in ~/.gemini/settings.json.
 */

#include <stdbool.h>

struct sandbox_spec;

/*
 * For every agent file the credentials of s call for: write it into tmp_dir (the host
 * path of the private /tmp, NULL when there is none) and set VAR=/tmp/NAME in *env,
 * unless *env already names its own file. root_owned: the agent runs as root and sees the
 * host's owners (no user namespace). When the file could not be used nothing is written
 * and -v says what the user can set instead. 0 or -ENOMEM (a file that cannot be written
 * is reported and skipped, never fatal).
 */
int run_agent_files_prepare(const struct sandbox_spec *s, const char *tmp_dir, bool root_owned,
			    char ***env);

/* Remove the files prepare wrote (still regular files of the size written), so an
 * otherwise empty /tmp is not kept. Safe to call twice, and with tmp_dir NULL. */
void run_agent_files_remove(const struct sandbox_spec *s, const char *tmp_dir);
