/* SPDX-License-Identifier: Apache-2.0 */
/* The spec's placement, one line, as run, why, setup and --dry-run print it. */
#include "cli/placement.h"

#include "query/query.h"

static const char *onoff(bool v)
{
	return v ? "yes" : "no";
}

void cli_print_placement(FILE *out, const struct sandbox_placement *p)
{
	if (!p->decided)
		return;
	const char *proxy = proxy_placement_to_string(p->proxy);
	(void)fprintf(out,
		      "Placement: userns=%s mountns=%s pidns=%s ro_root=%s masks=%s "
		      "private_tmp=%s proxy=%s%s%s%s\n",
		      onoff(p->userns), onoff(p->mountns), onoff(p->pidns), onoff(p->ro_root),
		      onoff(p->masks), onoff(p->private_tmp), proxy ? proxy : "none",
		      p->reason ? " (" : "", p->reason ? p->reason : "", p->reason ? ")" : "");
}
