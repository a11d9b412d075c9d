/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "base/macro.h"
#include "base/strbuf.h"

int cli_getopt_tables(const struct cli_option *opts, struct option **ret_long, char **ret_short)
{
	size_t n = 0;
	while (opts[n].name)
		n++;
	_cleanup_free_ struct option *lo = calloc(n + 1, sizeof(struct option));
	struct strbuf sb = STRBUF_INIT;
	/* '+': stop at the first non-option so the command's own flags are left alone. */
	int r = strbuf_adds(&sb, "+");
	if (!lo)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		lo[i] = (struct option){opts[i].name, opts[i].has_arg, NULL, opts[i].id};
		if (opts[i].short_name)
			r = strbuf_addf(&sb, "%c%s", opts[i].short_name,
					opts[i].has_arg == required_argument ? ":" : "");
	}
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret_long = TAKE_PTR(lo);
	*ret_short = strbuf_detach(&sb);
	return 0;
}

bool cli_option_needs_value(const struct cli_option *opts, const char *name)
{
	for (; opts && opts->name; opts++)
		if (streq(opts->name, name))
			return opts->has_arg == required_argument;
	return false;
}

void cli_print_help(const struct cli_command *c, FILE *out)
{
	(void)fprintf(out, "%s\n\nUsage: %s\n", c->summary, c->synopsis);
	if (!c->options)
		return;
	(void)fprintf(out, "\nOptions:\n");
	for (const struct cli_option *o = c->options; o->name; o++) {
		char left[64];
		if (o->hidden)
			continue;
		(void)snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->short_name ? "-" : "",
			       o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ",
			       o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		(void)fprintf(out, "  %-36s %s", left, o->help);
		if (o->env)
			(void)fprintf(out, " [env: %s]", o->env);
		(void)fputc('\n', out);
	}
}

void cli_format_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, n, "-");
}
