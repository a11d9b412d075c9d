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

/*
 * codex 0.171 reads neither a base URL nor (in its built-in openai provider) OPENAI_API_KEY
 * from the environment: its key comes from CODEX_API_KEY, its base URL only from the
 * `openai_base_url` config key. With the openai service active nono sets CODEX_API_KEY to
 * the service's phantom token (never to a real key, whatever the caller's environment
 * held), and when the command is codex (argv[0]'s last component) inserts
 * `-c openai_base_url="<the service's base URL>"` before its arguments; under the codex
 * profile also `-c sandbox_mode="danger-full-access"` (codex's own sandbox needs a user
 * namespace nono does not give it; nono is the sandbox). codex applies later -c and its
 * own -s/--sandbox over these, so what the user types wins. *ret: the new argv (strv,
 * owned) or NULL when nothing changes. 0 or -ENOMEM.
 */
int run_agent_argv(const struct sandbox_spec *s, char *const *argv, char ***env, char ***ret);
