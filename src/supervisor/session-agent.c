/* SPDX-License-Identifier: Apache-2.0 */
#include "supervisor/session-agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "policy/spec.h"
#include "supervisor/session-environ.h"

static const struct {
	const char *service; /* the credential that redirects the agent */
	const char *var;     /* what names the file */
	const char *name;    /* in the private /tmp */
	const char *content;
	const char *instead; /* what the user can do when the file cannot be used */
} agent_files[] = {
    {"gemini", "GEMINI_CLI_SYSTEM_DEFAULTS_PATH", "nono-gemini-system-defaults.json",
     "{\"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}}}\n",
     "gemini-cli trusts a system settings file only when root owns it and every directory "
     "above it, which a user namespace never shows: put {\"security\": {\"auth\": "
     "{\"selectedType\": \"gemini-api-key\"}}} in ~/.gemini/settings.json "
     "(doc/agents.md)"},
};

static bool has_service(const struct sandbox_spec *s, const char *name)
{
	for (size_t i = 0; i < s->proxy.n_credentials; i++)
		if (streq(s->proxy.credentials[i].name, name))
			return true;
	return false;
}

static bool env_has(char **env, const char *var)
{
	size_t l = strlen(var);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], var, l) == 0 && env[i][l] == '=')
			return true;
	return false;
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Write content as a new file name beneath dirfd, 0444. */
static int write_new(int dirfd, const char *name, const char *content)
{
	size_t n = strlen(content);
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, content, n);
	int r = w < 0 ? -errno : (size_t)w != n ? -EIO : 0;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dirfd, name, 0);
	return r;
}

int run_agent_files_prepare(const struct sandbox_spec *s, const char *tmp_dir, bool root_owned,
			    char ***env)
{
	_cleanup_close_ int dirfd = -1;
	char buf[256];

	if (s->net != NET_PROXY)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(agent_files); i++) {
		if (!has_service(s, agent_files[i].service) || env_has(*env, agent_files[i].var))
			continue;
		if (!tmp_dir || !root_owned) {
			log_info("service '%s': %s", agent_files[i].service,
				 agent_files[i].instead);
			continue;
		}
		if (dirfd < 0 && (dirfd = open_dir(tmp_dir)) < 0) {
			log_warning("cannot open the private /tmp '%s' for the agent settings: %s",
				    tmp_dir, strerror(-dirfd));
			return 0;
		}
		int r = write_new(dirfd, agent_files[i].name, agent_files[i].content);
		if (r < 0) {
			log_warning("cannot write '%s/%s' for service '%s': %s", tmp_dir,
				    agent_files[i].name, agent_files[i].service, strerror(-r));
			continue;
		}
		(void)snprintf(buf, sizeof(buf), "%s=/tmp/%s", agent_files[i].var,
			       agent_files[i].name);
		if (env_set(env, buf) < 0)
			return -ENOMEM;
		log_info("service '%s': %s=/tmp/%s (%s)", agent_files[i].service,
			 agent_files[i].var, agent_files[i].name, "settings of lowest precedence");
	}
	return 0;
}

void run_agent_files_remove(const struct sandbox_spec *s, const char *tmp_dir)
{
	_cleanup_close_ int dirfd = -1;
	struct stat st;

	if (!tmp_dir || s->net != NET_PROXY)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(agent_files); i++) {
		if (!has_service(s, agent_files[i].service))
			continue;
		if (dirfd < 0 && (dirfd = open_dir(tmp_dir)) < 0)
			return;
		/* The command may have replaced it: only what still looks like ours goes. */
		if (fstatat(dirfd, agent_files[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && (size_t)st.st_size == strlen(agent_files[i].content))
			(void)unlinkat(dirfd, agent_files[i].name, 0);
	}
}

/* The value of var in env, or NULL. */
static const char *env_get(char **env, const char *var)
{
	size_t l = strlen(var);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], var, l) == 0 && env[i][l] == '=')
			return env[i] + l + 1;
	return NULL;
}

static const struct credential_spec *find_service(const struct sandbox_spec *s, const char *name)
{
	for (size_t i = 0; i < s->proxy.n_credentials; i++)
		if (streq(s->proxy.credentials[i].name, name))
			return &s->proxy.credentials[i];
	return NULL;
}

static int add_config(char ***argv, const char *key, const char *value)
{
	_cleanup_free_ char *kv = NULL;
	if (strv_extend(argv, "-c") < 0 || asprintf(&kv, "%s=\"%s\"", key, value) < 0)
		return -ENOMEM;
	return strv_extend(argv, kv);
}

int run_agent_argv(const struct sandbox_spec *s, char *const *argv, char ***env, char ***ret)
{
	_cleanup_strv_free_ char **out = NULL;
	const struct credential_spec *openai =
	    s->net == NET_PROXY ? find_service(s, "openai") : NULL;
	const char *phantom = openai && openai->env_var ? env_get(*env, openai->env_var) : NULL;
	const char *base =
	    openai && openai->base_url_var ? env_get(*env, openai->base_url_var) : NULL;
	_cleanup_free_ char *kv = NULL;

	*ret = NULL;
	if (phantom && !streq(openai->env_var, "CODEX_API_KEY")) {
		if (asprintf(&kv, "CODEX_API_KEY=%s", phantom) < 0 || env_set(env, kv) < 0)
			return -ENOMEM;
		explicit_bzero(kv, strlen(kv));
	}
	if (!argv || !argv[0])
		return 0;
	const char *slash = strrchr(argv[0], '/');
	if (!streq(slash ? slash + 1 : argv[0], "codex"))
		return 0;
	bool sandbox = s->profile_name && streq(s->profile_name, "codex");
	/* A value that would need TOML escaping is not ours (nono writes the base URL). */
	if (base && strpbrk(base, "\"\\"))
		base = NULL;
	if (!base && !sandbox)
		return 0;
	if (strv_extend(&out, argv[0]) < 0 ||
	    (base && add_config(&out, "openai_base_url", base) < 0) ||
	    (sandbox && add_config(&out, "sandbox_mode", "danger-full-access") < 0))
		return -ENOMEM;
	for (size_t i = 1; argv[i]; i++)
		if (strv_extend(&out, argv[i]) < 0)
			return -ENOMEM;
	log_info("codex: %s%s%s (doc/agents.md)", base ? "-c openai_base_url=" : "",
		 base ? base : "", sandbox ? " -c sandbox_mode=danger-full-access" : "");
	*ret = TAKE_PTR(out);
	return 0;
}
