/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rendering query results: JSON with stable field names, and short human text.
 */
#include <errno.h>
#include <jansson.h>

#include "base/strbuf.h"
#include "query/query.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int query_result_to_json(const struct query_result *r, char **ret)
{
	if (!r || !ret)
		return -EINVAL;
	json_t *o = json_object();
	int fail = !o;

	/* json_object_set_new steals the value even on failure; a NULL value fails. */
	fail = fail ||
	       json_object_set_new(o, "status", json_string(query_status_to_string(r->status)));
	fail = fail ||
	       json_object_set_new(o, "reason", json_string(query_reason_to_string(r->reason)));
	switch (r->kind) {
	case QUERY_PATH:
		fail = fail || json_object_set_new(o, "category", str_or_null(r->category));
		fail = fail || json_object_set_new(o, "group", str_or_null(r->group));
		fail = fail || json_object_set_new(o, "path", str_or_null(r->subject));
		fail = fail || json_object_set_new(o, "op", str_or_null(query_op_to_string(r->op)));
		fail = fail || json_object_set_new(o, "granted",
						   str_or_null(query_op_to_string(r->granted)));
		break;
	case QUERY_HOST:
		fail = fail || json_object_set_new(o, "category", json_null());
		fail = fail || json_object_set_new(o, "host", str_or_null(r->subject));
		fail = fail || json_object_set_new(o, "port", json_integer(r->port));
		fail = fail || json_object_set_new(o, "url_path", str_or_null(r->url_path));
		break;
	case QUERY_SCOPE:
		fail = fail || json_object_set_new(o, "scope", str_or_null(r->subject));
		fail = fail || json_object_set_new(o, "requested", json_boolean(r->requested));
		fail = fail || json_object_set_new(o, "supported", json_boolean(r->supported));
		fail = fail || json_object_set_new(o, "enforced", json_boolean(r->enforced));
		break;
	default:
		fail = 1;
	}
	if (r->kind != QUERY_SCOPE) {
		fail = fail || json_object_set_new(o, "rule", str_or_null(r->rule));
		fail = fail || json_object_set_new(o, "origin", str_or_null(r->origin));
		fail = fail || json_object_set_new(o, "suggestion", str_or_null(r->suggestion));
	}
	if (r->kind == QUERY_HOST) {
		fail = fail || json_object_set_new(o, "proxy_placement",
						   str_or_null(proxy_placement_to_string(r->placement)));
		fail = fail || json_object_set_new(o, "proxy_placement_reason",
						   str_or_null(r->placement_reason));
		fail = fail || json_object_set_new(o, "address", str_or_null(r->address));
	}
	if (!o)
		return -ENOMEM;
	/* A value jansson refused is a string that is not UTF-8 (a path can be anything). */
	char *s = fail ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return fail ? -EILSEQ : -ENOMEM;
	*ret = s;
	return 0;
}

static int path_explanation(struct strbuf *sb, const struct query_result *r)
{
	const char *op = query_op_to_string(r->op);
	switch (r->reason) {
	case REASON_GRANTED:
		return strbuf_addf(sb, "  %s is granted by '%s' (%s)\n", op, r->rule,
				   r->origin ? r->origin : "unknown origin");
	case REASON_BYPASSED:
		return strbuf_addf(sb,
				   "  protected by %s (%s), but the protection was bypassed;\n"
				   "  %s is granted by '%s' (%s)\n",
				   r->group ? r->group : "a deny group",
				   r->category ? r->category : "sensitive path", op, r->rule,
				   r->origin ? r->origin : "unknown origin");
	case REASON_SENSITIVE_PATH:
		return strbuf_addf(sb,
				   "  sensitive path: %s (group %s, protects '%s');\n"
				   "  protected paths are hidden even inside granted directories\n",
				   r->category ? r->category : "protected",
				   r->group ? r->group : "?", r->rule);
	case REASON_PARTIAL:
		return strbuf_addf(sb, "  only %s is granted, by '%s' (%s)\n",
				   query_op_to_string(r->granted), r->rule,
				   r->origin ? r->origin : "unknown origin");
	case REASON_NOT_GRANTED:
		return strbuf_adds(sb, "  no grant covers this path\n");
	case REASON_FILE_MODE:
		return strbuf_addf(sb,
				   "  %s is granted by '%s' (%s), but the sandboxed command runs "
				   "as root\n  without capabilities, and the file's mode refuses "
				   "uid 0\n",
				   op, r->rule, r->origin ? r->origin : "unknown origin");
	default:
		return strbuf_addf(sb, "  %s\n", query_reason_to_string(r->reason));
	}
}

static const char *host_explanation(enum query_reason reason)
{
	switch (reason) {
	case REASON_NETWORK_UNRESTRICTED:
		return "network access is unrestricted";
	case REASON_NETWORK_BLOCKED:
		return "network access is blocked (--block-net)";
	case REASON_OPEN_PORT:
		return "localhost port opened with --open-port";
	case REASON_DOMAIN_ALLOWED:
		return "the proxy allowlist permits it";
	case REASON_DOMAIN_NOT_ALLOWED:
		return "the proxy allowlist has no matching entry";
	case REASON_METADATA_DENIED:
		return "cloud metadata and link-local addresses are always refused";
	case REASON_LOOPBACK_WILDCARD:
		return "only a wildcard entry allows it, and it resolves to loopback";
	default:
		return query_reason_to_string(reason);
	}
}

int query_result_to_text(const struct query_result *r, char **ret)
{
	struct strbuf sb = STRBUF_INIT;
	int e;

	if (!r || !ret)
		return -EINVAL;
	const char *status = query_status_to_string(r->status);
	switch (r->kind) {
	case QUERY_PATH:
		e = strbuf_addf(&sb, "%s: %s %s\n", status, query_op_to_string(r->op), r->subject);
		if (e >= 0)
			e = path_explanation(&sb, r);
		break;
	case QUERY_HOST:
		e = strbuf_addf(&sb, "%s: %s port %u%s%s\n  %s", status, r->subject, r->port,
				r->url_path ? " path " : "", r->url_path ? r->url_path : "",
				host_explanation(r->reason));
		if (e >= 0 && r->rule)
			e = strbuf_addf(&sb, " ('%s'%s%s)", r->rule, r->origin ? ", " : "",
					r->origin ? r->origin : "");
		if (e >= 0)
			e = strbuf_adds(&sb, "\n");
		if (e >= 0 && r->address)
			e = strbuf_addf(&sb, "  decided by address %s\n", r->address);
		if (e >= 0 && proxy_placement_describe(r->placement))
			e = strbuf_addf(
			    &sb, "  proxy placement: %s%s%s%s\n",
			    proxy_placement_describe(r->placement), r->placement_reason ? " (" : "",
			    strempty(r->placement_reason), r->placement_reason ? ")" : "");
		break;
	case QUERY_SCOPE:
		e = strbuf_addf(
		    &sb, "scope %s: %s\n  requested: %s\n  supported: %s\n  enforced: %s\n",
		    r->subject,
		    r->enforced	   ? "enforced"
		    : r->requested ? "requested, not enforced"
				   : "not requested",
		    r->requested ? "yes" : "no", r->supported ? "yes" : "no (needs Landlock ABI 6)",
		    r->enforced ? "yes" : "no");
		break;
	default:
		e = -EINVAL;
	}
	if (e >= 0 && r->suggestion)
		e = strbuf_addf(&sb, "  to allow it: %s\n", r->suggestion);
	if (e < 0) {
		strbuf_release(&sb);
		return e;
	}
	*ret = strbuf_detach(&sb);
	return 0;
}
