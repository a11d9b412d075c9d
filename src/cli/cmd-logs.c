/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono logs ID|NAME [-f]: print a detached session's output log (output.log.1, then
 * output.log; see supervisor/session-control.h for the size cap). -f follows the log
 * until the session ends (its supervisor is gone), across rotations.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "cli/cli.h"
#include "supervisor/session-control.h"
#include "supervisor/session-state.h"

enum {
	OPT_LOGS_FOLLOW = 'f',
	OPT_LOGS_HELP = 'h',
};

/* clang-format off */
const struct cli_option logs_options[] = {
	{"follow", 'f', no_argument, OPT_LOGS_FOLLOW, NULL, "keep printing new output until the session ends", NULL, false},
	{"help", 'h', no_argument, OPT_LOGS_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

/* Copy what fd holds from its offset on to stdout. -errno on a write error. */
static int copy_out(int fd)
{
	char b[65536];
	for (;;) {
		ssize_t n = read(fd, b, sizeof(b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(STDOUT_FILENO, b + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -errno;
			off += w;
		}
	}
}

static int open_log(int dir_fd, const char *name)
{
	return openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

static bool same_file(int fd, int dir_fd, const char *name)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && fstatat(dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool running(const struct session_record *s)
{
	return s->state == SESSION_RUNNING &&
	       session_pid_start(s->supervisor_pid) == s->supervisor_start;
}

static int print_log(const struct session_record *s, int dir_fd, bool follow)
{
	_cleanup_close_ int old = open_log(dir_fd, CTL_LOG_OLD);
	_cleanup_close_ int fd = open_log(dir_fd, CTL_LOG);
	int r;
	if (fd < 0 && errno == ENOENT && old < 0 && !follow) {
		log_error("session %s (%s) has no output log (only detached sessions keep one)",
			  s->id, s->name);
		return -ENOENT;
	}
	if (old >= 0 && (r = copy_out(old)) < 0)
		return r;
	for (;;) {
		if (fd >= 0 && (r = copy_out(fd)) < 0)
			return r;
		if (!follow)
			return 0;
		bool alive = running(s);
		/* Rotated (or created): finish the old file, go on with the new one. */
		if (fd < 0 || !same_file(fd, dir_fd, CTL_LOG)) {
			int nfd = open_log(dir_fd, CTL_LOG);
			if (nfd >= 0) {
				if (fd >= 0 && (r = copy_out(fd)) < 0) {
					(void)close(nfd);
					return r;
				}
				safe_close(fd);
				fd = nfd;
				continue;
			}
		}
		if (!alive)
			return fd >= 0 ? copy_out(fd) : 0; /* the last words, then done */
		(void)poll(NULL, 0, 50);
	}
}

int cmd_logs(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("logs");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	bool follow = false;
	int c;

	if (cli_getopt_tables(logs_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_LOGS_FOLLOW:
			follow = true;
			break;
		case OPT_LOGS_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono logs' (see 'nono logs --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (argc - optind != 1) {
		log_error("'nono logs' takes one session id or name (see 'nono ps --all')");
		return EXIT_NONO_ERROR;
	}
	const char *key = argv[optind], *home = getenv("HOME");
	struct session_record *v = NULL;
	size_t n = 0;
	int r = session_records_load(home, &v, &n);
	if (r < 0) {
		log_error_errno(r, "cannot read the sessions in $HOME/.nono/sessions");
		return EXIT_NONO_ERROR;
	}
	int ret = EXIT_NONO_ERROR;
	const struct session_record *s = session_record_find(v, n, key);
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dir_fd = -EBADF;
	if (!s)
		log_error("no session '%s' (see 'nono ps --all')", key);
	else if (asprintf(&dir, "%s/.nono/sessions/%s", home, s->id) < 0) {
		dir = NULL;
		log_error_errno(-ENOMEM, "out of memory");
	} else if ((dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		log_error_errno(-errno, "cannot open '%s'", dir);
	else if ((r = print_log(s, dir_fd, follow)) == 0)
		ret = EXIT_NONO_OK;
	else if (r != -ENOENT)
		log_error_errno(r, "cannot print the output log of session %s (%s)", s->id,
				s->name);
	session_records_free(v, n);
	free(v);
	return ret;
}
