/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trust-policy.json: strict parsing (policy/json-strict, errors at file:line:column),
 * merging of the user-level and project-level documents, publisher and blocklist
 * lookups, and the include globs.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>

#include "base/macro.h"
#include "base/strv.h"
#include "policy/json-strict.h"
#include "trust/trust.h"

struct trust_policy *trust_policy_free(struct trust_policy *p)
{
	if (!p)
		return NULL;
	strv_free(p->includes);
	strv_free(p->required);
	strv_free(p->files);
	for (size_t i = 0; i < p->n_publishers; i++) {
		free(p->publishers[i].name);
		free(p->publishers[i].key_id);
		trust_key_free(p->publishers[i].key);
	}
	free(p->publishers);
	free(p->blocked);
	strv_free(p->blocked_publishers);
	free(p);
	return NULL;
}

const char *trust_enforcement_name(enum trust_enforcement e)
{
	static const char *const names[] = {"audit", "warn", "deny"};
	return e < _TRUST_ENFORCE_MAX ? names[e] : "?";
}

static bool is_hex64(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++) {
		char c = s[i];
		int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (x < 0)
			return false;
		if (out)
			out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | x : x);
	}
	return true;
}

static int add_publisher(struct trust_policy *p, const char *name, const char *key_id,
			 struct trust_key *key)
{
	struct trust_publisher *n = reallocarray(p->publishers, p->n_publishers + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->publishers = n;
	n = &p->publishers[p->n_publishers];
	*n = (struct trust_publisher){.name = strdup(name), .key_id = strdup(key_id), .key = key};
	if (!n->name || !n->key_id) {
		free(n->name);
		free(n->key_id);
		return -ENOMEM;
	}
	p->n_publishers++;
	return 0;
}

static int parse_publishers(struct jctx *c, json_t *root, struct trust_policy *p)
{
	static const char *const keys[] = {
	    "name",	"key_id",	    "public_key",  "issuer", "repository",
	    "workflow", "build_signer_uri", "ref_pattern", NULL};
	json_t *arr = json_object_get(root, "publishers"), *e;
	size_t i;
	char ep[256], kp[256];
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return jctx_error(c, -EINVAL, "/publishers", false,
				  "'publishers' must be an array, not %s", json_type_name(arr));
	if (json_array_size(arr) > TRUST_MAX_PUBLISHERS)
		return jctx_error(c, -E2BIG, "/publishers", false,
				  "'publishers' has more than %d entries", TRUST_MAX_PUBLISHERS);
	json_array_foreach(arr, i, e)
	{
		char idx[24];
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		jptr(ep, sizeof(ep), "/publishers", idx);
		if (!json_is_object(e))
			return jctx_error(c, -EINVAL, ep, false, "a publisher must be an object");
		int r = jctx_check_keys(c, e, ep, keys);
		if (r < 0)
			return r;
		_cleanup_free_ char *name = NULL, *key_id = NULL, *pub = NULL, *issuer = NULL;
		if ((r = jctx_get_string(c, e, ep, "name", &name)) < 0 ||
		    (r = jctx_get_string(c, e, ep, "key_id", &key_id)) < 0 ||
		    (r = jctx_get_string(c, e, ep, "public_key", &pub)) < 0 ||
		    (r = jctx_get_string(c, e, ep, "issuer", &issuer)) < 0)
			return r;
		if (!name)
			return jctx_error(c, -EINVAL, ep, false, "a publisher needs a 'name'");
		if (issuer || json_object_get(e, "repository") || json_object_get(e, "workflow"))
			return jctx_error(c, -EOPNOTSUPP, ep, false,
					  "keyless (Sigstore OIDC) publishers are not supported; "
					  "give 'public_key'");
		if (!pub)
			return jctx_error(c, -EINVAL, ep, false,
					  "publisher '%s' needs 'public_key' (base64 DER, see "
					  "'nono trust export-key')",
					  name);
		struct trust_key *k = NULL;
		r = trust_key_from_public_text(pub, strlen(pub), &k);
		if (r < 0)
			return jctx_error(c, -EINVAL, jptr(kp, sizeof(kp), ep, "public_key"), false,
					  "not an ECDSA P-256 public key (base64 DER SPKI)");
		if (key_id && !streq(key_id, trust_key_id(k))) {
			trust_key_free(k);
			return jctx_error(c, -EINVAL, jptr(kp, sizeof(kp), ep, "key_id"), false,
					  "key_id does not match public_key (its id is computed "
					  "from the key)");
		}
		r = add_publisher(p, name, trust_key_id(k), k);
		if (r < 0) {
			trust_key_free(k);
			return r;
		}
	}
	return 0;
}

static int parse_blocklist(struct jctx *c, json_t *root, struct trust_policy *p)
{
	static const char *const keys[] = {"digests", "publishers", NULL};
	static const char *const dkeys[] = {"sha256", "description", "added", NULL};
	json_t *bl = NULL, *arr, *e;
	size_t i;
	char ep[256];
	int r = jctx_get_object(c, root, "", "blocklist", &bl);
	if (r < 0 || !bl)
		return r;
	if ((r = jctx_check_keys(c, bl, "/blocklist", keys)) < 0 ||
	    (r = jctx_get_strv(c, bl, "/blocklist", "publishers", false, &p->blocked_publishers)) <
		0)
		return r;
	arr = json_object_get(bl, "digests");
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > TRUST_MAX_BLOCKED)
		return jctx_error(c, -EINVAL, "/blocklist/digests", false,
				  "'blocklist.digests' must be an array of at most %d entries",
				  TRUST_MAX_BLOCKED);
	json_array_foreach(arr, i, e)
	{
		char idx[24];
		_cleanup_free_ char *hex = NULL, *desc = NULL, *added = NULL;
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		jptr(ep, sizeof(ep), "/blocklist/digests", idx);
		if (!json_is_object(e))
			return jctx_error(c, -EINVAL, ep, false,
					  "a blocklist entry must be an object");
		if ((r = jctx_check_keys(c, e, ep, dkeys)) < 0 ||
		    (r = jctx_get_string(c, e, ep, "sha256", &hex)) < 0 ||
		    (r = jctx_get_string(c, e, ep, "description", &desc)) < 0 ||
		    (r = jctx_get_string(c, e, ep, "added", &added)) < 0)
			return r;
		uint8_t md[32];
		if (!hex || !is_hex64(hex, md))
			return jctx_error(
			    c, -EINVAL, ep, false,
			    "a blocklist entry needs 'sha256': 64 lowercase hex digits");
		uint8_t(*n)[32] = reallocarray(p->blocked, p->n_blocked + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->blocked = n;
		memcpy(p->blocked[p->n_blocked++], md, 32);
	}
	return 0;
}

int trust_policy_parse(const char *text, size_t n, const char *file, struct trust_policy **ret,
		       struct diag *d)
{
	static const char *const keys[] = {"version",	  "includes",	"instruction_patterns",
					   "files",	  "publishers", "blocklist",
					   "enforcement", "predicate",	NULL};
	struct jctx c = {.file = file, .text = text, .len = n, .d = d};
	json_t *root = NULL;
	int r;

	if (n > TRUST_MAX_POLICY_SIZE) {
		diag_set(d, file, 0, 0, "trust policy larger than %d bytes", TRUST_MAX_POLICY_SIZE);
		return -EFBIG;
	}
	r = jctx_load(&c, &root);
	if (r < 0)
		return r;
	_cleanup_trust_policy_ struct trust_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(root);
		return -ENOMEM;
	}
	p->enforcement = TRUST_ENFORCE_DENY;
	json_t *v = json_object_get(root, "version");
	_cleanup_free_ char *enf = NULL, *pred = NULL;
	if ((r = jctx_check_keys(&c, root, "", keys)) < 0)
		goto out;
	if (!v || !json_is_integer(v) || json_integer_value(v) != 1) {
		r = jctx_error(&c, -EINVAL, v ? "/version" : "", false, "'version' must be 1");
		goto out;
	}
	if ((r = jctx_get_strv(&c, root, "", "includes", false, &p->includes)) < 0 ||
	    (r = jctx_get_strv(&c, root, "", "instruction_patterns", false, &p->includes)) < 0 ||
	    (r = jctx_get_strv(&c, root, "", "files", false, &p->files)) < 0 ||
	    (r = jctx_get_string(&c, root, "", "enforcement", &enf)) < 0 ||
	    (r = jctx_get_string(&c, root, "", "predicate", &pred)) < 0 ||
	    (r = parse_publishers(&c, root, p)) < 0 || (r = parse_blocklist(&c, root, p)) < 0)
		goto out;
	if (strv_length(p->includes) > TRUST_MAX_INCLUDES) {
		r = jctx_error(&c, -E2BIG, "/includes", false, "more than %d include patterns",
			       TRUST_MAX_INCLUDES);
		goto out;
	}
	if (strv_length(p->files) > TRUST_MAX_FILES) {
		r = jctx_error(&c, -E2BIG, "/files", false, "more than %d files", TRUST_MAX_FILES);
		goto out;
	}
	STRV_FOREACH(f, p->files)
	if ((*f)[0] != '/' && !startswith(*f, "~/")) {
		r = jctx_error(&c, -EINVAL, "/files", false,
			       "'%s' in 'files' must be an absolute or ~/ path", *f);
		goto out;
	}
	STRV_FOREACH(g, p->includes)
	{
		size_t stars = 0;
		for (const char *x = *g; *x; x++)
			stars += *x == '*';
		if ((*g)[0] == '/' || strstr(*g, "..") || strlen(*g) > 1024) {
			r = jctx_error(&c, -EINVAL, "/includes", false,
				       "include pattern '%s' must be relative to the tree, without "
				       "'..'",
				       *g);
			goto out;
		}
		/* Backtracking matchers: a project policy must not make the scan exponential. */
		if (stars > TRUST_MAX_GLOB_STARS) {
			r = jctx_error(&c, -EINVAL, "/includes", false,
				       "include pattern '%.64s' has more than %d '*'", *g,
				       TRUST_MAX_GLOB_STARS);
			goto out;
		}
	}
	STRV_FOREACH(g, p->includes)
	if (!strpbrk(*g, "*?[") && (r = strv_extend(&p->required, *g)) < 0)
		goto out;
	if (enf) {
		p->enforcement_set = true;
		if (streq(enf, "deny"))
			p->enforcement = TRUST_ENFORCE_DENY;
		else if (streq(enf, "warn"))
			p->enforcement = TRUST_ENFORCE_WARN;
		else if (streq(enf, "audit"))
			p->enforcement = TRUST_ENFORCE_AUDIT;
		else {
			r = jctx_error(&c, -EINVAL, "/enforcement", false,
				       "'enforcement' must be deny, warn or audit, not '%s'", enf);
			goto out;
		}
	}
	*ret = TAKE_PTR(p);
	r = 0;
out:
	json_decref(root);
	return r;
}

int trust_policy_load_file(const char *path, struct trust_policy **ret, struct diag *d)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	int r = trust_read_file(AT_FDCWD, path, TRUST_MAX_POLICY_SIZE, &text, &n);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		diag_set(d, path, 0, 0, "cannot read the trust policy: %s", strerror(-r));
		return r;
	}
	return trust_policy_parse(text, n, path, ret, d);
}

int trust_policy_merge(struct trust_policy *dst, const struct trust_policy *src,
		       bool with_publishers)
{
	int r;
	STRV_FOREACH(s, src->includes)
	if ((r = strv_extend_unique(&dst->includes, *s)) < 0)
		return r;
	STRV_FOREACH(s, src->required)
	if ((r = strv_extend_unique(&dst->required, *s)) < 0)
		return r;
	STRV_FOREACH(s, src->files)
	if ((r = strv_extend_unique(&dst->files, *s)) < 0)
		return r;
	STRV_FOREACH(s, src->blocked_publishers)
	if ((r = strv_extend_unique(&dst->blocked_publishers, *s)) < 0)
		return r;
	if (src->n_blocked) {
		uint8_t(*n)[32] =
		    reallocarray(dst->blocked, dst->n_blocked + src->n_blocked, sizeof(*n));
		if (!n)
			return -ENOMEM;
		dst->blocked = n;
		memcpy(dst->blocked[dst->n_blocked], src->blocked, src->n_blocked * 32);
		dst->n_blocked += src->n_blocked;
	}
	if (src->enforcement_set &&
	    (!dst->enforcement_set || src->enforcement > dst->enforcement)) {
		dst->enforcement = src->enforcement;
		dst->enforcement_set = true;
	}
	for (size_t i = 0; with_publishers && i < src->n_publishers; i++) {
		const struct trust_publisher *sp = &src->publishers[i];
		if (trust_policy_publisher(dst, sp->key_id))
			continue;
		_cleanup_free_ char *b64 = NULL;
		struct trust_key *k = NULL;
		if ((r = trust_key_export_public(sp->key, false, &b64)) < 0 ||
		    (r = trust_key_from_public_text(b64, strlen(b64), &k)) < 0)
			return r;
		if ((r = add_publisher(dst, sp->name, sp->key_id, k)) < 0) {
			trust_key_free(k);
			return r;
		}
	}
	return 0;
}

const struct trust_publisher *trust_policy_publisher(const struct trust_policy *p,
						     const char *key_id)
{
	STRV_FOREACH(b, p->blocked_publishers)
	if (streq(*b, key_id))
		return NULL;
	for (size_t i = 0; i < p->n_publishers; i++)
		if (streq(p->publishers[i].key_id, key_id)) {
			STRV_FOREACH(b, p->blocked_publishers)
			if (streq(*b, p->publishers[i].name))
				return NULL;
			return &p->publishers[i];
		}
	return NULL;
}

bool trust_policy_blocked(const struct trust_policy *p, const uint8_t sha256[32])
{
	for (size_t i = 0; i < p->n_blocked; i++)
		if (memcmp(p->blocked[i], sha256, 32) == 0)
			return true;
	return false;
}

/* Work one match may do: a policy a cloned repository brings must not stall the scan. */
#define GLOB_MAX_STEPS 100000

/*
 * pat and s: component lists ending at NUL; '**' matches zero or more components.
 * Past *budget steps the answer is "matches": an include that matches makes a file one
 * that must verify, so running out fails closed.
 */
static bool match_components(const char *pat, const char *s, unsigned *budget)
{
	for (;;) {
		if (*budget == 0)
			return true;
		--*budget;
		const char *pe = strchrnul(pat, '/'), *se = strchrnul(s, '/');
		size_t pl = (size_t)(pe - pat);
		if (pl == 2 && pat[0] == '*' && pat[1] == '*') {
			const char *rest = *pe ? pe + 1 : pe;
			if (!*rest)
				return true;
			for (const char *t = s;; t = strchrnul(t, '/') + 1) {
				if (match_components(rest, t, budget))
					return true;
				if (*budget == 0)
					return true;
				if (!*strchrnul(t, '/'))
					return false;
			}
		}
		char pc[1024], sc[1024];
		size_t sl = (size_t)(se - s);
		if (pl >= sizeof(pc) || sl >= sizeof(sc))
			return false;
		memcpy(pc, pat, pl);
		pc[pl] = 0;
		memcpy(sc, s, sl);
		sc[sl] = 0;
		if (fnmatch(pc, sc, 0) != 0)
			return false;
		if (!*pe || !*se)
			return !*pe && !*se;
		pat = pe + 1;
		s = se + 1;
	}
}

bool trust_glob_match(const char *pattern, const char *rel)
{
	unsigned budget = GLOB_MAX_STEPS;

	if (pattern[0] == '/')
		return match_components(pattern + 1, rel, &budget);
	if (!strchr(pattern, '/')) {
		const char *base = strrchr(rel, '/');
		return fnmatch(pattern, base ? base + 1 : rel, 0) == 0;
	}
	return match_components(pattern, rel, &budget);
}
