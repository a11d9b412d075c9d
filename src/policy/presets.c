/* SPDX-License-Identifier: Apache-2.0 */
#include "policy/presets.h"

#include <stddef.h>

#include "base/macro.h"

/*
 * The built-in services, checked against what the clients read (claude-code 2.1, codex
 * 0.171, opencode 1.18, gemini-cli 0.61 and the SDKs they bundle). Upstreams carry the
 * path prefix the SDKs put in their default base URL (/v1 for OpenAI and Anthropic):
 * the reverse proxy drops that prefix when a client repeats it, so a base URL without
 * /v1 (Claude Code: BASE/v1/messages) and one that must end in /v1 (the AI SDK in
 * opencode: BASE/messages) both reach /v1/messages. Gemini's clients (@google/genai,
 * gemini-cli) read GOOGLE_GEMINI_BASE_URL; nothing reads GEMINI_BASE_URL.
 */
static const struct credential_preset presets[] = {
    {"openai", "https://api.openai.com/v1", "openai_api_key", "Authorization", "Bearer {}",
     "OPENAI_API_KEY", "OPENAI_BASE_URL"},
    {"anthropic", "https://api.anthropic.com/v1", "anthropic_api_key", "x-api-key", "{}",
     "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"},
    {"gemini", "https://generativelanguage.googleapis.com", "gemini_api_key", "x-goog-api-key",
     "{}", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"},
    {"google-ai", "https://generativelanguage.googleapis.com", "google_api_key", "x-goog-api-key",
     "{}", "GOOGLE_API_KEY", "GOOGLE_AI_BASE_URL"},
    /* gh reads GH_TOKEN first, then GITHUB_TOKEN; GITHUB_TOKEN is the one Actions, gh
     * and most GitHub tooling all honour, so the phantom goes there. */
    {"github", "https://api.github.com", "github_token", "Authorization", "Bearer {}",
     "GITHUB_TOKEN", "GITHUB_BASE_URL"},
    {"gitlab", "https://gitlab.com", "gitlab_token", "PRIVATE-TOKEN", "{}", "GITLAB_TOKEN",
     "GITLAB_BASE_URL"},
};

const struct credential_preset *policy_credential_preset(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(presets); i++)
		if (streq(presets[i].name, name))
			return &presets[i];
	return NULL;
}

bool policy_credential_is_preset(const char *name)
{
	return policy_credential_preset(name) != NULL;
}
