/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test and benchmark driver for liblearn (the nono CLI is wired elsewhere):
 *   learn-driver [--json] [--all] [--quiet] [--no-rdns] [--timeout SECS] -- CMD [ARGS...]
 * Prints the report on stdout (nothing with --quiet), then "exit=N stops=N" on stderr.
 * Exits with the traced command's status, or 125 when tracing failed.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "base/parse.h"
#include "learn/learn.h"

int main(int argc, char **argv)
{
	bool json = false, all = false, quiet = false, no_rdns = false;
	unsigned timeout = 0;
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},     {"all", no_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},    {"no-rdns", no_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "+jaqnt:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'n': no_rdns = true; break;
		case 't': {
			char *end = NULL;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || !end || *end || v > 86400) {
				fprintf(stderr, "learn-driver: bad --timeout '%s'\n", optarg);
				return 125;
			}
			timeout = (unsigned)v;
			break;
		}
		default:
			return 125;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: learn-driver [--json] [--all] [--quiet] [--timeout S] -- CMD...\n");
		return 125;
	}
	struct learn_options o = {.argv = argv + optind, .timeout_sec = timeout, .no_rdns = no_rdns};
	struct learn_result *r = NULL;
	int rr = learn_trace(&o, &r);
	if (rr < 0) {
		fprintf(stderr, "learn-driver: tracing '%s' failed: %s\n", argv[optind], strerror(-rr));
		return 125;
	}
	if (!quiet) {
		rr = json ? learn_report_json(r, NULL, 0, all, stdout)
			  : learn_report_text(r, NULL, 0, all, stdout);
		if (rr < 0)
			fprintf(stderr, "learn-driver: report failed: %s\n", strerror(-rr));
	}
	fprintf(stderr, "exit=%d stops=%llu timed_out=%d\n", r->exit_status,
		(unsigned long long)r->n_stops, r->timed_out);
	int status = r->exit_status;
	learn_result_free(r);
	return status;
}
