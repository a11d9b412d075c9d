/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono setup: what this kernel lets nono enforce, what would be degraded, and (on
 * request) example profiles and shell integration. The checks are live: a forked
 * child really restricts itself with Landlock and really creates a user namespace,
 * because a feature that probes as present can still be switched off by policy
 * (sysctls, AppArmor, a container's seccomp profile).
 *
 * Exit status: 0 when nono can sandbox on this system (degradations are reported as
 * warnings), 1 when it cannot (no Landlock, no seccomp) or a file could not be written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/landlock.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/path.h"
#include "cli/cli.h"
#include "cli/placement.h"
#include "policy/policy.h"
#include "query/query.h"
#include "sandbox/sandbox.h"

#ifndef NONO_VERSION
#define NONO_VERSION "0.0.0"
#endif

enum setup_opt {
	SETUP_HELP = 'h',
	SETUP_VERBOSE = 'v',
	SETUP_CHECK_ONLY = 0x100,
	SETUP_PROFILES,
	SETUP_SHELL_INTEGRATION,
	_SETUP_OPT_MAX,
};

/* clang-format off */
const struct cli_option setup_options[] = {
	{"check-only", 0, no_argument, SETUP_CHECK_ONLY, NULL, "only verify sandbox support; write no files", NULL, false},
	{"profiles", 0, no_argument, SETUP_PROFILES, NULL, "write example user profiles to ~/.config/nono/profiles/ (never overwrites)", NULL, false},
	{"shell-integration", 0, no_argument, SETUP_SHELL_INTEGRATION, NULL, "show shell aliases and completion set-up", NULL, false},
	{"verbose", 'v', no_argument, SETUP_VERBOSE, NULL, "more detail (repeat for more)", NULL, false},
	{"help", 'h', no_argument, SETUP_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

/* What each Landlock ABI adds, in the order the kernel added it. */
static const struct {
	int abi;
	const char *what;
} landlock_features[] = {
    {1, "filesystem access rights (read, write, execute, make, remove)"},
    {2, "REFER: rename and link across directories"},
    {3, "TRUNCATE: truncate(2) and O_TRUNC"},
    {4, "TCP bind/connect port rules (--block-net, --open-port)"},
    {5, "IOCTL_DEV: ioctl(2) on device files"},
    {6, "scopes: signals and abstract unix sockets leaving the sandbox"},
    {7, "audit logging controls for denials"},
};

/* Run fn in a forked child; returns its exit status (0: worked) or -errno on fork failure. */
static int in_child(int (*fn)(void))
{
	int status;
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(fn());
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Child: a ruleset handling READ_FILE with no rule must make /etc/passwd unreadable. */
static int child_landlock(void)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 2;
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return 3;
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		return 4;
	int f = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	return f < 0 && errno == EACCES ? 0 : 5;
}

static int child_userns(void)
{
	return unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? 1 : 0;
}

/* Child, as root: become uid/gid 65534 first, so the answer is for ordinary users. */
static int child_userns_unprivileged(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 2;
	return child_userns();
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

struct example_profile {
	const char *file;
	const char *text;
};

static const struct example_profile examples[] = {
    {"example-agent.json",
     "{\n"
     "  \"extends\": \"default\",\n"
     "  \"meta\": {\"name\": \"example-agent\", \"version\": \"1.0.0\",\n"
     "           \"description\": \"An agent that edits the working directory\"},\n"
     "  \"security\": {\"groups\": []},\n"
     "  \"workdir\": {\"access\": \"readwrite\"},\n"
     "  \"filesystem\": {\"allow\": [], \"read\": [\"~/.gitconfig\"]},\n"
     "  \"network\": {\"block\": false}\n"
     "}\n"},
    {"example-offline.json",
     "{\n"
     "  \"extends\": \"default\",\n"
     "  \"meta\": {\"name\": \"example-offline\", \"version\": \"1.0.0\",\n"
     "           \"description\": \"Read the working directory, no network\"},\n"
     "  \"security\": {\"groups\": []},\n"
     "  \"workdir\": {\"access\": \"read\"},\n"
     "  \"filesystem\": {\"allow\": [], \"read\": []},\n"
     "  \"network\": {\"block\": true}\n"
     "}\n"},
};

static int mkdir_parents(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_profiles(void)
{
	const char *home = secure_getenv("HOME");
	_cleanup_free_ char *dir = NULL;
	int r, failed = 0;

	if (!home || home[0] != '/') {
		log_error("cannot write example profiles: HOME is not set to an absolute path");
		return -EINVAL;
	}
	/* Where policy looks for user profiles: ~/.config/nono/profiles/NAME.json. */
	r = path_join(home, ".config/nono/profiles", &dir);
	if (r < 0)
		return log_error_errno(r, "out of memory");
	r = mkdir_parents(dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s'", dir);

	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		_cleanup_free_ char *p = NULL;
		if (path_join(dir, examples[i].file, &p) < 0)
			return log_error_errno(-ENOMEM, "out of memory");
		/* O_EXCL|O_NOFOLLOW: an existing file (or a planted symlink) is left alone. */
		_cleanup_close_ int fd =
		    open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST) {
			(void)printf("  kept     %s (already exists)\n", p);
			continue;
		}
		if (fd < 0) {
			log_error_errno(-errno, "cannot create '%s'", p);
			failed = 1;
			continue;
		}
		size_t len = strlen(examples[i].text);
		if (write(fd, examples[i].text, len) != (ssize_t)len) {
			log_error_errno(errno ? -errno : -EIO, "cannot write '%s'", p);
			(void)unlink(p);
			failed = 1;
			continue;
		}
		(void)printf("  created  %s\n", p);
	}
	if (!failed)
		(void)printf("  use one with: nono run --profile example-agent -- COMMAND\n");
	return failed ? -EIO : 0;
}

/* Which binary runs, and whether `nono` on PATH is this one (not an older copy). */
static void print_installation(void)
{
	_cleanup_free_ char *self = realpath("/proc/self/exe", NULL), *found = NULL;
	const char *path = getenv("PATH");
	_cleanup_free_ char *dirs = path ? strdup(path) : NULL;
	char *save = NULL;

	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = NULL;
		if (*d != '/' || path_join(d, "nono", &p) < 0 || access(p, X_OK) < 0)
			continue;
		found = realpath(p, NULL);
	}
	(void)printf("Binary:           %s", self ? self : "(unknown)");
	if (!found)
		(void)printf(" (no 'nono' on PATH)\n");
	else if (self && streq(found, self))
		(void)printf(" (the 'nono' on PATH)\n");
	else
		(void)printf(" (PATH finds another: %s)\n", found);
}

static void print_shell_integration(void)
{
	(void)fputs(
	    "Shell integration\n"
	    "\n"
	    "Completions (generated from nono's own option tables):\n"
	    "  bash:  echo 'source <(nono __generate bash)' >> ~/.bashrc\n"
	    "  zsh:   nono __generate zsh > \"${fpath[1]}/_nono\"   # then: autoload -U compinit; "
	    "compinit\n"
	    "  fish:  nono __generate fish > ~/.config/fish/completions/nono.fish\n"
	    "\n"
	    "Man pages:\n"
	    "  nono __generate man run > nono-run.1 && man ./nono-run.1\n"
	    "\n"
	    "Aliases (add to your shell's rc file):\n"
	    "  alias nr='nono run --allow-cwd --'          # current directory, nothing else\n"
	    "  alias nro='nono run --allow-cwd --block-net --'  # ... and no network\n"
	    "  alias nwhy='nono why --json'                # ask why something was refused\n",
	    stdout);
}

int cmd_setup(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("setup");
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	bool check_only = false, profiles = false, shell = false;
	int verbose = 0, r;

	r = cli_getopt_tables(setup_options, &longopts, &shortopts);
	if (r < 0) {
		log_error_errno(r, "cannot build option table");
		return EXIT_NONO_ERROR;
	}
	opterr = 0;
	optind = 1;
	for (int c; (c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0;) {
		switch (c) {
		case SETUP_CHECK_ONLY:
			check_only = true;
			break;
		case SETUP_PROFILES:
			profiles = true;
			break;
		case SETUP_SHELL_INTEGRATION:
			shell = true;
			break;
		case SETUP_VERBOSE:
			verbose++;
			break;
		case SETUP_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono setup' (see 'nono setup --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' for 'nono setup'", argv[optind]);
		return EXIT_NONO_ERROR;
	}
	if (check_only && profiles) {
		log_error("'--check-only' writes nothing: it cannot be combined with '--profiles'");
		return EXIT_NONO_ERROR;
	}

	struct sandbox_features f;
	struct utsname u;
	sandbox_probe(&f);
	bool landlock_works = f.landlock_abi > 0 && in_child(child_landlock) == 0;
	bool userns_self = in_child(child_userns) == 0;
	int userns_unpriv = f.is_root ? in_child(child_userns_unprivileged) : -1;

	(void)printf("nono %s system check\n\n", NONO_VERSION);
	if (uname(&u) == 0)
		(void)printf("Kernel:           %s %s (%s)\n", u.sysname, u.release, u.machine);
	(void)printf("Running as root:  %s\n", yes_no(f.is_root));
	print_installation();
	if (f.landlock_abi > 0)
		(void)printf("Landlock:         ABI %d, live restriction test %s\n", f.landlock_abi,
			     landlock_works ? "passed" : "FAILED");
	else
		(void)printf(
		    "Landlock:         unavailable (is 'landlock' in the lsm= boot list?)\n");
	for (size_t i = 0; i < ARRAY_SIZE(landlock_features); i++)
		(void)printf("  [%c] ABI %d  %s\n",
			     f.landlock_abi >= landlock_features[i].abi ? 'x' : ' ',
			     landlock_features[i].abi, landlock_features[i].what);
	if (verbose > 0 && f.landlock_abi > 0)
		(void)printf("  filesystem rights handled: 0x%llx\n",
			     (unsigned long long)sandbox_landlock_fs_rights(f.landlock_abi));
	(void)printf("seccomp:          filter %s, user notification %s\n", yes_no(f.seccomp),
		     yes_no(f.seccomp_notify));
	(void)printf("User namespaces:  %s for this user",
		     userns_self ? "available" : "unavailable");
	if (userns_unpriv >= 0)
		(void)printf(", %s for unprivileged users",
			     userns_unpriv == 0 ? "available" : "unavailable");
	(void)printf("\n");
	if (verbose > 0)
		(void)printf("  (probed: unshare(CLONE_NEWUSER|CLONE_NEWNS) in a forked child%s)\n",
			     f.is_root ? "; also as uid 65534" : "");
	/* The placement every launch gets here: what policy_resolve decides for a run of
	 * the default profile from this probe (the rule is policy_decide_placement's). */
	_cleanup_spec_ struct sandbox_spec *spec = NULL;
	struct policy_features pf;
	struct policy_input in;
	struct diag d = {{0}};
	char buf[2048];
	sandbox_placement_features(&f, &pf);
	policy_input_init(&in);
	in.workdir = "/";
	in.features = &pf;
	r = policy_resolve(&in, &spec, NULL, &d);
	if (r < 0) {
		log_error("cannot resolve the default profile: %s",
			  d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : strerror(-r));
		return EXIT_NONO_ERROR;
	}
	const struct sandbox_placement *pl = &spec->placement;
	bool mountns = pl->mountns;
	(void)printf("Mount namespace:  %s\n",
		     mountns ? "yes: read-only outside the write grants, private /tmp, masks"
			     : "NO (see Degraded)");
	if (userns_unpriv >= 0)
		(void)printf("  for unprivileged users: %s\n",
			     userns_unpriv == 0 ? "yes" : "NO (no user namespaces)");
	/* PID and IPC namespaces come with the mount namespace (sandbox_pidns_available). */
	(void)printf("Process tree:     %s\n",
		     mountns ? "yes: private PID and IPC namespaces, PID 1 is nono's init, "
			       "everything the command starts ends with it"
			     : "partly: no PID/IPC namespace (the host's processes and SysV IPC "
			       "are visible); the supervisor, a child subreaper, ends the "
			       "command's tree when it exits");
	if (userns_unpriv >= 0)
		(void)printf("  for unprivileged users: %s\n",
			     userns_unpriv == 0 ? "yes" : "partly (no user namespaces)");
	/* Proxy mode (--allow-domain, --network-profile, ...): the rule `nono run` follows. */
	enum proxy_placement placement = pl->proxy;
	(void)printf("Proxy placement:  %s (%s)\n", proxy_placement_describe(placement),
		     strempty(pl->reason));
	if (userns_unpriv >= 0) {
		struct sandbox_spec other = {0};
		policy_decide_placement(
		    &(const struct policy_features){.userns = userns_unpriv == 0}, &other);
		(void)printf("  for unprivileged users: %s (%s)\n",
			     proxy_placement_describe(other.placement.proxy),
			     strempty(other.placement.reason));
	}
	cli_print_placement(stdout, pl);

	/* Degradations: what a user would lose, in their words (stdout: part of the report). */
	const char *lost[10];
	size_t degraded = 0;
	char abi_msg[2][160];
	if (!userns_self && !f.is_root)
		lost[degraded++] =
		    "no user namespaces: a grant that covers a protected path (e.g. "
		    "--allow ~ over ~/.ssh) is refused, because the path cannot be masked";
	if (!mountns)
		lost[degraded++] =
		    "no mount namespace: outside the write grants chmod, chown, utimes and "
		    "xattr changes are not refused (Landlock has no right for them), and /tmp "
		    "is the host's, shared with every other process";
	if (f.landlock_abi > 0 && f.landlock_abi < 4) {
		(void)snprintf(abi_msg[0], sizeof(abi_msg[0]),
			       "Landlock ABI %d < 4: TCP is not restricted by Landlock, so "
			       "--block-net cannot be enforced for TCP",
			       f.landlock_abi);
		lost[degraded++] = abi_msg[0];
	}
	if (f.landlock_abi > 0 && f.landlock_abi < 6) {
		(void)snprintf(
		    abi_msg[1], sizeof(abi_msg[1]),
		    "Landlock ABI %d < 6: signal and abstract-unix-socket scopes are not "
		    "enforced",
		    f.landlock_abi);
		lost[degraded++] = abi_msg[1];
	}
	if (placement == PROXY_PLACEMENT_LANDLOCK)
		lost[degraded++] =
		    "proxy mode without a private network namespace: Landlock rules are per "
		    "port, so the child may reach any address on the proxy port";
	if (f.seccomp && !f.seccomp_notify)
		lost[degraded++] =
		    "no seccomp user notification: AF_UNIX socket grants and runtime "
		    "elevation are unavailable";
	(void)printf("\nDegraded:         %s\n", degraded ? "" : "nothing");
	for (size_t i = 0; i < degraded; i++)
		(void)printf("  ! %s\n", lost[i]);
	(void)printf("\n");
	(void)fflush(stdout);
	bool usable = f.landlock_abi > 0 && landlock_works && f.seccomp;
	if (!usable)
		log_error("this system cannot run nono sandboxes: %s",
			  f.landlock_abi <= 0 ? "Landlock is unavailable"
			  : !landlock_works   ? "Landlock did not restrict a test process"
					      : "seccomp filters are unavailable");
	else
		(void)printf("Status: nono can sandbox on this system%s.\n",
			     degraded ? " (with the degradations above)"
				      : ", every feature enforced");

	r = 0;
	if (profiles) {
		(void)printf("\nExample profiles:\n");
		r = write_profiles();
	}
	if (shell) {
		(void)printf("\n");
		print_shell_integration();
	}
	if (!check_only && !profiles && !shell && usable)
		(void)printf("\nNext: 'nono setup --profiles' writes example profiles; "
			     "'nono setup --shell-integration' shows completions and aliases.\n");
	return usable && r >= 0 ? EXIT_NONO_OK : EXIT_NONO_ERROR;
}
