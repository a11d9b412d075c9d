/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learn report: which grants the traced command needs.
 *
 * Selection rules, in order:
 *  0. Pseudo-files. "/", /proc and the tracing filesystems (/sys/kernel/tracing,
 *     /sys/kernel/debug/tracing) are never proposed: the sandbox provides /proc itself,
 *     "/" is only ever looked up, and the tracing files are touched by runtimes probing
 *     for them, never needed.
 *  1. Class. EXEC and LIST count as READ; a path is READ, WRITE or READ+WRITE.
 *  2. Failures. Read-only uses that never succeeded are dropped (the tracer already
 *     dropped ENOENT/ENOTDIR probes; what is left is e.g. EACCES). Writes are kept
 *     even when they failed: the command meant to create or change something.
 *     --all keeps failed reads too.
 *  3. Covered. Unless --all, the access bits a covered rule grants are removed (a
 *     file rule covers that path only, a directory rule everything beneath it);
 *     a path left with no bits counts as "already covered".
 *  4. Subsumption. A directory entry covers everything beneath it for its bits:
 *     Landlock directory rules are recursive, and listing a directory already needs
 *     a rule on it.
 *  5. Collapse. When a directory D holds three or more entries (files or directories)
 *     needing the same bit, they are replaced by D with that bit; repeated until
 *     nothing changes, so deep trees fold upwards. Never into "/", a top-level
 *     directory (/etc, /home, /tmp), $HOME or an ancestor of $HOME: those grants
 *     would be far wider than any need. A file whose directory holds fewer than three
 *     entries of its class keeps file granularity; an entry with both bits may
 *     collapse one and keep the other.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "base/path.h"
#include "learn-internal.h"

#define COLLAPSE_MIN   3
#define COLLAPSE_ROUNDS 64

static unsigned access_class(unsigned a)
{
	unsigned c = 0;
	if (a & (LEARN_READ | LEARN_EXEC | LEARN_LIST))
		c |= LEARN_READ;
	if (a & LEARN_WRITE)
		c |= LEARN_WRITE;
	return c;
}

/* Path order in which a directory's descendants directly follow it: '/' sorts first. */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x == y) {
			if (!x)
				return 0;
			continue;
		}
		if (!x || !y)
			return x - y;
		if (x == '/')
			return -1;
		if (y == '/')
			return 1;
		return x - y;
	}
}

static int entry_cmp(const void *a, const void *b)
{
	return path_cmp(((const struct report_entry *)a)->path,
			((const struct report_entry *)b)->path);
}

void report_entries_free(struct report_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].path);
	free(e);
}

struct entries {
	struct report_entry *e;
	size_t n, alloc;
};

static int entries_add(struct entries *l, const char *path, unsigned access, bool is_dir)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		struct report_entry *ne = realloc(l->e, na * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->e = ne;
		l->alloc = na;
	}
	char *c = strdup(path);
	if (!c)
		return -ENOMEM;
	l->e[l->n++] = (struct report_entry){.path = c, .access = access, .is_dir = is_dir};
	return 0;
}

/* Drop entries whose access is gone. */
static void entries_compact(struct entries *l)
{
	size_t o = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->e[i].access)
			l->e[o++] = l->e[i];
		else
			free(l->e[i].path);
	}
	l->n = o;
}

static unsigned covered_access(const char *path, const struct learn_covered *c, size_t n)
{
	unsigned a = 0;
	for (size_t i = 0; i < n; i++) {
		if (!c[i].path)
			continue;
		if (c[i].is_file ? streq(path, c[i].path) : path_is_beneath(path, c[i].path))
			a |= c[i].access & (LEARN_READ | LEARN_WRITE);
	}
	return a;
}

/* Rule 4 on a path_cmp-sorted list. */
static void subsume(struct entries *l)
{
	/* Stack of directory entries that are ancestors of the current one. */
	size_t *stack = malloc((l->n + 1) * sizeof(*stack));
	size_t depth = 0;
	if (!stack)
		return; /* no collapse is still a correct report */
	for (size_t i = 0; i < l->n; i++) {
		struct report_entry *e = &l->e[i];
		while (depth && !path_is_beneath(e->path, l->e[stack[depth - 1]].path))
			depth--;
		unsigned above = 0;
		for (size_t k = 0; k < depth; k++)
			above |= l->e[stack[k]].access;
		unsigned orig = e->access;
		e->access &= ~above;
		if (e->is_dir && orig)
			stack[depth++] = i;
	}
	free(stack);
	entries_compact(l);
}

static bool collapsible(const char *dir, const char *home)
{
	if (streq(dir, "/"))
		return false;
	if (!strchr(dir + 1, '/')) /* top level: /etc, /home, /tmp */
		return false;
	if (home && home[0] == '/' && path_is_beneath(home, dir))
		return false;
	return true;
}

struct member {
	char *parent;
	size_t idx;
};

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->parent, ((const struct member *)b)->parent);
}

/* Rule 5, one round. Returns > 0 when something collapsed. */
static int collapse_round(struct entries *l, const char *home)
{
	size_t n = l->n;
	if (n == 0)
		return 0;
	struct member *m = calloc(n, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = 0, changed = 0;
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(l->e[i].path, '/');
		size_t pl = slash == l->e[i].path ? 1 : (size_t)(slash - l->e[i].path);
		m[i].parent = strndup(l->e[i].path, pl);
		m[i].idx = i;
		if (!m[i].parent) {
			r = -ENOMEM;
			goto out;
		}
	}
	qsort(m, n, sizeof(*m), member_cmp);
	for (size_t s = 0; s < n;) {
		size_t e = s;
		while (e < n && streq(m[e].parent, m[s].parent))
			e++;
		const char *dir = m[s].parent;
		if (e - s >= COLLAPSE_MIN && collapsible(dir, home)) {
			unsigned gained = 0;
			for (unsigned bit = LEARN_READ; bit <= LEARN_WRITE; bit <<= 1) {
				size_t cnt = 0;
				for (size_t k = s; k < e; k++)
					if (l->e[m[k].idx].access & bit)
						cnt++;
				if (cnt < COLLAPSE_MIN)
					continue;
				gained |= bit;
				for (size_t k = s; k < e; k++)
					l->e[m[k].idx].access &= ~bit;
			}
			if (gained) {
				/* Merge into an existing entry for dir, or add one. */
				struct report_entry key = {.path = (char *)dir};
				struct report_entry *hit =
					bsearch(&key, l->e, n, sizeof(*l->e), entry_cmp);
				if (hit) {
					hit->access |= gained;
					hit->is_dir = true;
				} else {
					r = entries_add(l, dir, gained, true);
					if (r < 0)
						goto out;
				}
				changed = 1;
			}
		}
		s = e;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(m[i].parent);
	free(m);
	if (r < 0)
		return r;
	entries_compact(l);
	qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
	return changed;
}

static bool pseudo_path(const char *path)
{
	return streq(path, "/") || path_is_beneath(path, "/proc") ||
	       path_is_beneath(path, "/sys/kernel/tracing") ||
	       path_is_beneath(path, "/sys/kernel/debug/tracing");
}

int report_select(const struct learn_result *r, const struct learn_covered *covered,
		  size_t n_covered, bool all, const char *home, struct report_entry **ret,
		  size_t *ret_n, size_t *ret_covered)
{
	struct entries l = {0};
	size_t n_cov = 0;
	int rr = 0;
	for (size_t i = 0; i < r->n_paths; i++) {
		const struct learn_path *p = &r->paths[i];
		unsigned c = access_class(p->access);
		if (!c || !p->path || pseudo_path(p->path))
			continue;
		if (p->err && !(c & LEARN_WRITE) && !all)
			continue;
		if (!all) {
			unsigned have = covered_access(p->path, covered, n_covered);
			if ((c & ~have) == 0) {
				n_cov++;
				continue;
			}
			c &= ~have;
		}
		rr = entries_add(&l, p->path, c, p->is_dir);
		if (rr < 0)
			goto fail;
	}
	if (l.n > 0) /* qsort of a NULL base is undefined even for 0 elements */
		qsort(l.e, l.n, sizeof(*l.e), entry_cmp);
	for (int round = 0; round < COLLAPSE_ROUNDS; round++) {
		subsume(&l);
		rr = collapse_round(&l, home);
		if (rr < 0)
			goto fail;
		if (rr == 0)
			break;
	}
	subsume(&l);
	*ret = l.e;
	*ret_n = l.n;
	*ret_covered = n_cov;
	return 0;
fail:
	report_entries_free(l.e, l.n);
	return rr;
}

static const char *home_dir(void)
{
	return secure_getenv("HOME");
}

static const char RULE_WIDE[] = "============================================================";
static const char RULE_SHORT[] = "----------------------------------------";

static void print_section(FILE *out, const char *title, const struct report_entry *e, size_t n,
			  unsigned cls)
{
	size_t cnt = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].access == cls)
			cnt++;
	if (!cnt)
		return;
	fprintf(out, "%s (%zu paths)\n%s\n", title, cnt, RULE_SHORT);
	for (size_t i = 0; i < n; i++)
		if (e[i].access == cls)
			fprintf(out, "%s\n", e[i].path);
	fputc('\n', out);
}

static void print_endpoint(FILE *out, const struct learn_endpoint *ep)
{
	bool v6 = strchr(ep->addr, ':') != NULL;
	if (ep->hostname)
		fprintf(out, "%s (%s):%u", ep->hostname, ep->addr, ep->port);
	else if (v6)
		fprintf(out, "[%s]:%u", ep->addr, ep->port);
	else
		fprintf(out, "%s:%u", ep->addr, ep->port);
	fprintf(out, " (%u connections)\n", ep->count);
}

int learn_report_text(const struct learn_result *r, const struct learn_covered *covered,
		      size_t n_covered, bool all, FILE *out)
{
	struct report_entry *e = NULL;
	size_t n = 0, n_cov = 0;
	int rr = report_select(r, covered, n_covered, all, home_dir(), &e, &n, &n_cov);
	if (rr < 0)
		return rr;

	fprintf(out, "%s\nnono learn - Discovered Paths\n%s\n\n", RULE_WIDE, RULE_WIDE);
	print_section(out, "READ", e, n, LEARN_READ);
	print_section(out, "WRITE", e, n, LEARN_WRITE);
	print_section(out, "READ+WRITE", e, n, LEARN_READ | LEARN_WRITE);
	if (n == 0)
		fprintf(out, "No paths needed beyond those already covered.\n\n");
	if (!all && n_cov)
		fprintf(out, "%zu paths already covered by system defaults\n\n", n_cov);
	report_entries_free(e, n);

	if (r->n_outbound) {
		fprintf(out, "OUTBOUND NETWORK (%zu endpoints)\n%s\n", r->n_outbound, RULE_SHORT);
		for (size_t i = 0; i < r->n_outbound; i++)
			print_endpoint(out, &r->outbound[i]);
		fputc('\n', out);
	}
	if (r->n_listening) {
		fprintf(out, "LISTENING PORTS (%zu endpoints)\n%s\n", r->n_listening, RULE_SHORT);
		for (size_t i = 0; i < r->n_listening; i++)
			print_endpoint(out, &r->listening[i]);
		fputc('\n', out);
	}
	size_t nu = 0;
	for (char **s = r->unix_sockets; s && *s; s++)
		nu++;
	if (nu) {
		fprintf(out, "UNIX SOCKETS (%zu paths)\n%s\n", nu, RULE_SHORT);
		for (char **s = r->unix_sockets; s && *s; s++)
			fprintf(out, "%s\n", *s);
		fputc('\n', out);
	}
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}

static json_t *endpoint_json(const struct learn_endpoint *ep, bool with_host)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = json_object_set_new(o, "addr", json_string(ep->addr));
	bad |= json_object_set_new(o, "port", json_integer(ep->port));
	if (with_host)
		bad |= json_object_set_new(o, "hostname",
					   ep->hostname ? json_string(ep->hostname) : json_null());
	bad |= json_object_set_new(o, "count", json_integer(ep->count));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int learn_report_json(const struct learn_result *r, const struct learn_covered *covered,
		      size_t n_covered, bool all, FILE *out)
{
	struct report_entry *e = NULL;
	size_t n = 0, n_cov = 0;
	int rr = report_select(r, covered, n_covered, all, home_dir(), &e, &n, &n_cov);
	if (rr < 0)
		return rr;

	json_auto_t *root = json_object();
	json_t *fs = json_object(), *allow = json_array(), *read = json_array(),
	       *write = json_array(), *net = json_object(), *outb = json_array(),
	       *listen = json_array();
	int bad = !root || !fs || !allow || !read || !write || !net || !outb || !listen;
	if (!bad) {
		bad |= json_object_set_new(fs, "allow", allow);
		bad |= json_object_set_new(fs, "read", read);
		bad |= json_object_set_new(fs, "write", write);
		bad |= json_object_set_new(root, "filesystem", fs);
		bad |= json_object_set_new(net, "outbound", outb);
		bad |= json_object_set_new(net, "listening", listen);
		bad |= json_object_set_new(root, "network", net);
	} else {
		json_decref(fs);
		json_decref(allow);
		json_decref(read);
		json_decref(write);
		json_decref(net);
		json_decref(outb);
		json_decref(listen);
	}
	for (size_t i = 0; !bad && i < n; i++) {
		json_t *arr = e[i].access == (LEARN_READ | LEARN_WRITE) ? allow
			      : e[i].access == LEARN_WRITE          ? write
								    : read;
		bad |= json_array_append_new(arr, json_string(e[i].path));
	}
	report_entries_free(e, n);
	for (size_t i = 0; !bad && i < r->n_outbound; i++) {
		json_t *o = endpoint_json(&r->outbound[i], true);
		bad |= !o || json_array_append_new(outb, o);
	}
	for (size_t i = 0; !bad && i < r->n_listening; i++) {
		json_t *o = endpoint_json(&r->listening[i], false);
		bad |= !o || json_array_append_new(listen, o);
	}
	if (bad)
		return -ENOMEM;
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return -EIO;
	fputc('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
