/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono trust keygen | export-key | sign | verify (and, refused for now, init,
 * sign-policy, list). Signing keys: ECDSA P-256, PKCS#8, from any credential reference
 * (env://, file://, op://); keygen writes file:///PATH (0600) and PATH.pub (PEM).
 * One file signs into FILE.bundle beside it; several into ./.nono-trust.bundle with
 * paths relative to the current directory. verify exits 0 only when every file
 * verifies, naming each failure and its reason otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strv.h"
#include "cli/cli.h"
#include "cli/run-trust.h"
#include "credential/credential.h"
#include <jansson.h>
#include "trust/trust.h"

enum {
	OPT_T_ID = 0x100,
	OPT_T_KEY,
	OPT_T_KEYREF,
	OPT_T_FORCE,
	OPT_T_PEM,
	OPT_T_KEYLESS,
	OPT_T_ALL,
	OPT_T_POLICY,
	OPT_T_PUBKEY,
	OPT_T_USER,
	OPT_T_JSON,
	OPT_T_EXCLUDE_DIRS,
	OPT_T_RECURSIVE = 'r',
	OPT_T_HELP = 'h',
};

/* clang-format off */
const struct cli_option trust_options[] = {
	{"id", 0, required_argument, OPT_T_ID, "NAME", "keygen, export-key: key id in the system keystore (service nono-trust)", NULL, false},
	{"key", 0, required_argument, OPT_T_KEY, "KEY_ID", "sign, sign-policy, init: key id in the system keystore (default: default)", NULL, false},
	{"keyref", 0, required_argument, OPT_T_KEYREF, "URI", "the signing key: file:///PATH, env://VAR or op://...", NULL, false},
	{"force", 0, no_argument, OPT_T_FORCE, NULL, "keygen: replace an existing key", NULL, false},
	{"pem", 0, no_argument, OPT_T_PEM, NULL, "export-key: PEM instead of base64 DER", NULL, false},
	{"keyless", 0, no_argument, OPT_T_KEYLESS, NULL, "sign: Sigstore keyless signing (refused: needs Fulcio and Rekor)", NULL, false},
	{"all", 0, no_argument, OPT_T_ALL, NULL, "sign, verify: every instruction file (needs a trust policy)", NULL, false},
	{"policy", 0, required_argument, OPT_T_POLICY, "FILE", "sign, verify: trust policy file (not supported yet)", NULL, false},
	{"public-key-file", 0, required_argument, OPT_T_PUBKEY, "FILE", "verify: the trusted public key (PEM or base64 DER)", NULL, false},
	{"user", 0, no_argument, OPT_T_USER, NULL, "sign-policy: the user-level policy", NULL, false},
	{"json", 0, no_argument, OPT_T_JSON, NULL, "list: JSON output", NULL, false},
	{"exclude-dirs", 0, no_argument, OPT_T_EXCLUDE_DIRS, NULL, "init: the operands are more directory names to skip", NULL, false},
	{"recursive", 'r', no_argument, OPT_T_RECURSIVE, NULL, "init: scan subdirectories", NULL, false},
	{"help", 'h', no_argument, OPT_T_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

struct trust_args {
	const char *id, *key, *keyref, *policy, *pubkey;
	bool force, pem, keyless, all, user, json, recursive, exclude_dirs;
	bool multi; /* sign: into .nono-trust.bundle even for one file (--all) */
	char **files;
	int n_files;
};

static int report(int r, const struct diag *d, const char *what)
{
	char buf[2048];
	if (d->msg[0])
		log_error("%s", diag_format(d, buf, sizeof(buf)));
	else
		log_error_errno(r, "%s", what);
	return EXIT_NONO_ERROR;
}

/* The private key named by --keyref, --key or --id (default "default"). */
static int load_signing_key(const struct trust_args *a, struct trust_key **ret)
{
	struct diag d = {{0}};
	const char *ref = a->keyref ? a->keyref : a->key ? a->key : a->id ? a->id : "default";
	int r = trust_key_load(ref, ret, &d);
	if (r < 0)
		return report(r, &d, "cannot load the signing key");
	return 0;
}

/* keygen into the system keystore: service "nono-trust", account = the key's name. */
static int keygen_keystore(const struct trust_args *a, const char *name)
{
	_cleanup_trust_key_ struct trust_key *k = NULL, *old = NULL;
	_cleanup_secret_ struct secret s = {0};
	struct diag d = {{0}};
	char label[320];
	int r;
	if (!a->force) {
		r = trust_key_load(name, &old, &d);
		if (r >= 0) {
			log_error("key '%s' already exists in the system keystore (service "
				  "'nono-trust'; use --force to replace it)",
				  name);
			return EXIT_NONO_ERROR;
		}
		if (r != -ENOENT)
			return report(r, &d, "cannot read the system keystore");
	}
	if ((r = trust_key_generate(&k)) < 0 || (r = trust_key_export_private(k, &s)) < 0)
		return log_error_errno(r, "cannot generate an ECDSA P-256 key"), EXIT_NONO_ERROR;
	(void)snprintf(label, sizeof(label), "nono trust signing key '%s'", name);
	memset(&d, 0, sizeof(d));
	r = credential_keyring_store(TRUST_KEYSTORE_SERVICE, name, label, &s, &d);
	if (r < 0)
		return report(r, &d, "cannot store the key");
	log_info("generated ECDSA P-256 key '%s' in the system keystore (service 'nono-trust')",
		 name);
	(void)printf("%s\n", trust_key_id(k));
	return EXIT_NONO_OK;
}

static int trust_keygen(const struct trust_args *a)
{
	const char *path = a->keyref ? startswith(a->keyref, "file://") : NULL;
	const char *ks = a->keyref ? startswith(a->keyref, "keystore://") : NULL;
	if (!a->keyref || ks) {
		const char *name = ks ? ks : a->id ? a->id : "default";
		if (!*name || strlen(name) > 256) {
			log_error("bad key name '%.64s'", name);
			return EXIT_NONO_ERROR;
		}
		return keygen_keystore(a, name);
	}
	if (!path || path[0] != '/') {
		log_error("'--keyref %s': keygen can write only file:///ABSOLUTE/PATH keys",
			  a->keyref);
		return EXIT_NONO_ERROR;
	}
	_cleanup_trust_key_ struct trust_key *k = NULL;
	struct diag d = {{0}};
	int r = trust_key_generate(&k);
	if (r < 0)
		return log_error_errno(r, "cannot generate an ECDSA P-256 key"), EXIT_NONO_ERROR;
	r = trust_key_write_file(k, path, a->force, &d);
	if (r < 0)
		return report(r, &d, "cannot write the key");
	log_info("generated ECDSA P-256 key '%s' (public key in %s.pub)", path, path);
	(void)printf("%s\n", trust_key_id(k));
	return EXIT_NONO_OK;
}

static int trust_export_key(const struct trust_args *a)
{
	_cleanup_trust_key_ struct trust_key *k = NULL;
	_cleanup_free_ char *out = NULL;
	if (load_signing_key(a, &k) != 0)
		return EXIT_NONO_ERROR;
	int r = trust_key_export_public(k, a->pem, &out);
	if (r < 0)
		return log_error_errno(r, "cannot export the public key"), EXIT_NONO_ERROR;
	(void)fputs(out, stdout);
	if (!a->pem)
		(void)putchar('\n');
	return EXIT_NONO_OK;
}

/* Atomically (temp file, fsync, rename) write text to path. */
static int write_atomic(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd =
	    open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	int r = 0;
	for (const char *p = text; n && r == 0;) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno != EINTR)
			r = -errno;
		else if (k > 0)
			p += k, n -= (size_t)k;
	}
	if (r == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* Split path into an O_PATH fd of its directory and its last component. */
static int open_parent(const char *path, int *ret_fd, char **ret_base)
{
	_cleanup_free_ char *c1 = strdup(path), *c2 = strdup(path);
	if (!c1 || !c2)
		return -ENOMEM;
	const char *dir = dirname(c1), *base = basename(c2);
	if (!*base || streq(base, "/") || streq(base, ".") || streq(base, ".."))
		return -EINVAL;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *b = strdup(base);
	if (!b) {
		(void)close(fd);
		return -ENOMEM;
	}
	*ret_fd = fd;
	*ret_base = b;
	return 0;
}

static const char *skip_dot_slash(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	return p;
}

static int trust_sign(const struct trust_args *a);
static int load_policy(const struct trust_args *a, struct trust_policy **ret);

/* sign --all: every file the policy's includes select, into .nono-trust.bundle. */
static int sign_all(const struct trust_args *a)
{
	_cleanup_trust_policy_ struct trust_policy *p = NULL;
	_cleanup_trust_scan_ struct trust_scan *s = NULL;
	_cleanup_strv_free_ char **names = NULL;
	struct diag d = {{0}};
	char buf[2048];
	if (a->n_files) {
		log_error("'--all' excludes naming files");
		return EXIT_NONO_ERROR;
	}
	if (load_policy(a, &p) < 0)
		return EXIT_NONO_ERROR;
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd || trust_scan_tree(p, cwd, NULL, &s, &d) < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : "cannot scan");
		return EXIT_NONO_ERROR;
	}
	for (size_t i = 0; i < s->n_found; i++) {
		const char *f = s->found[i].path;
		struct stat st;
		/* Absent literal includes and policy 'files' outside the tree are not ours. */
		if (f[0] != '/' && lstat(f, &st) == 0 && S_ISREG(st.st_mode) &&
		    strv_extend(&names, f) < 0)
			return EXIT_NONO_ERROR;
	}
	if (!names) {
		log_error("no file in this directory matches the trust policy's includes");
		return EXIT_NONO_ERROR;
	}
	struct trust_args b = *a;
	b.all = false;
	b.files = names;
	b.n_files = (int)strv_length(names);
	b.multi = true; /* --all always writes the multi-file bundle */
	return trust_sign(&b);
}

static int trust_sign(const struct trust_args *a)
{
	if (a->keyless) {
		log_error("'--keyless': Sigstore keyless signing needs Fulcio and Rekor (an OIDC "
			  "identity and network access) and is not supported; sign with a key "
			  "(--keyref file:///PATH)");
		return EXIT_NONO_ERROR;
	}
	if (a->all)
		return sign_all(a);
	if (a->n_files == 0) {
		log_error("'nono trust sign' needs the files to sign");
		return EXIT_NONO_ERROR;
	}
	if (a->n_files > TRUST_MAX_SUBJECTS) {
		log_error("too many files (%d): a bundle holds at most %d", a->n_files,
			  TRUST_MAX_SUBJECTS);
		return EXIT_NONO_ERROR;
	}
	_cleanup_trust_key_ struct trust_key *k = NULL;
	if (load_signing_key(a, &k) != 0)
		return EXIT_NONO_ERROR;
	_cleanup_free_ struct trust_subject *subs = calloc((size_t)a->n_files, sizeof(*subs));
	if (!subs)
		return EXIT_NONO_ERROR;
	_cleanup_free_ char *json = NULL, *base = NULL, *out_path = NULL;
	int r;
	if (a->n_files == 1 && !a->multi) {
		_cleanup_close_ int dfd = -EBADF;
		r = open_parent(a->files[0], &dfd, &base);
		if (r >= 0)
			r = trust_hash_file(dfd, base, subs[0].sha256);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s'", a->files[0]), EXIT_NONO_ERROR;
		subs[0].name = base;
		if (asprintf(&out_path, "%s.bundle", a->files[0]) < 0)
			return EXIT_NONO_ERROR;
		r = trust_bundle_sign(k, TRUST_PRED_INSTRUCTION, subs, 1, &json);
	} else {
		for (int i = 0; i < a->n_files; i++) {
			const char *name = skip_dot_slash(a->files[i]);
			if (!trust_path_valid(name)) {
				log_error(
				    "'%s': files signed together must be relative paths below "
				    "the current directory, without '..'",
				    a->files[i]);
				return EXIT_NONO_ERROR;
			}
			for (int j = 0; j < i; j++)
				if (streq(subs[j].name, name)) {
					log_error("'%s' is named twice", a->files[i]);
					return EXIT_NONO_ERROR;
				}
			r = trust_hash_file(AT_FDCWD, name, subs[i].sha256);
			if (r == -ELOOP || r == -EXDEV)
				return log_error("'%s': a symbolic link or '..' leads out of the "
						 "current directory; refusing to sign it",
						 a->files[i]),
				       EXIT_NONO_ERROR;
			if (r < 0)
				return log_error_errno(r, "cannot read '%s'", a->files[i]),
				       EXIT_NONO_ERROR;
			subs[i].name = (char *)name;
		}
		if (!(out_path = strdup(TRUST_MULTI_BUNDLE)))
			return EXIT_NONO_ERROR;
		r = trust_bundle_sign(k, TRUST_PRED_MULTI, subs, (size_t)a->n_files, &json);
	}
	if (r < 0)
		return log_error_errno(r, "cannot sign"), EXIT_NONO_ERROR;
	r = write_atomic(out_path, json);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s'", out_path), EXIT_NONO_ERROR;
	log_info("signed %d file%s with key %s into '%s'", a->n_files, a->n_files == 1 ? "" : "s",
		 trust_key_id(k), out_path);
	return EXIT_NONO_OK;
}

static int load_bundle(const char *path, struct trust_bundle **ret, struct diag *d)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	int r = trust_read_file(AT_FDCWD, path, TRUST_MAX_BUNDLE_SIZE, &text, &n);
	if (r < 0) {
		diag_set(d, path, 0, 0, "cannot read the bundle: %s", strerror(-r));
		return r;
	}
	return trust_bundle_parse(text, n, path, ret, d);
}

/* Verify one file with k; *multi caches ./.nono-trust.bundle (NULL until loaded). */
static int verify_one(const char *file, const struct trust_key *k, struct trust_bundle **multi,
		      int *multi_err, struct diag *multi_diag)
{
	char buf[2048];
	struct diag d = {{0}};
	_cleanup_free_ char *sidecar = NULL, *base = NULL;
	_cleanup_trust_bundle_ struct trust_bundle *b = NULL;
	_cleanup_close_ int dfd = -EBADF;
	const struct trust_subject *s;
	struct stat st;
	uint8_t md[32];
	int r;

	if (asprintf(&sidecar, "%s.bundle", file) < 0)
		return -ENOMEM;
	if (lstat(sidecar, &st) == 0) {
		r = load_bundle(sidecar, &b, &d);
		if (r >= 0)
			r = trust_bundle_verify(b, k, sidecar, &d);
		if (r < 0)
			goto fail;
		r = open_parent(file, &dfd, &base);
		if (r < 0)
			goto fail_errno;
		if (!streq(b->predicate_type, TRUST_PRED_INSTRUCTION) ||
		    !(s = trust_bundle_find(b, base))) {
			diag_set(&d, sidecar, 0, 0, "the bundle does not sign '%s'", base);
			r = -EBADMSG;
			goto fail;
		}
		r = trust_hash_file(dfd, base, md);
	} else {
		const char *name = skip_dot_slash(file);
		if (!*multi && !*multi_err) {
			if (lstat(TRUST_MULTI_BUNDLE, &st) < 0)
				*multi_err = -ENOENT;
			else if ((*multi_err =
				      load_bundle(TRUST_MULTI_BUNDLE, multi, multi_diag)) >= 0)
				*multi_err =
				    trust_bundle_verify(*multi, k, TRUST_MULTI_BUNDLE, multi_diag);
			if (*multi_err >= 0 && !streq((*multi)->predicate_type, TRUST_PRED_MULTI)) {
				diag_set(multi_diag, TRUST_MULTI_BUNDLE, 0, 0,
					 "not a multi-file bundle");
				*multi_err = -EBADMSG;
			}
		}
		if (*multi_err == -ENOENT || (!*multi_err && !trust_bundle_find(*multi, name))) {
			log_error("%s: not signed (no '%s', and not in ./%s)", file, sidecar,
				  TRUST_MULTI_BUNDLE);
			return -ENOENT;
		}
		if (*multi_err < 0) {
			d = *multi_diag;
			r = *multi_err;
			goto fail;
		}
		s = trust_bundle_find(*multi, name);
		r = trust_hash_file(AT_FDCWD, name, md);
		if (r == -ELOOP || r == -EXDEV) {
			log_error("%s: a symbolic link or '..' leads out of the current directory",
				  file);
			return r;
		}
	}
	if (r < 0)
		goto fail_errno;
	if (memcmp(md, s->sha256, 32) != 0) {
		char want[65], got[65];
		trust_hex(s->sha256, 32, want);
		trust_hex(md, 32, got);
		log_error("%s: digest mismatch: the file changed since it was signed (sha256 %s, "
			  "signed %s)",
			  file, got, want);
		return -EBADMSG;
	}
	(void)printf("verified: %s (key %s)\n", file, trust_key_id(k));
	return 0;
fail_errno:
	log_error("%s: %s", file, strerror(-r));
	return r;
fail:
	if (d.msg[0])
		log_error("%s: %s", file, diag_format(&d, buf, sizeof(buf)));
	else
		log_error("%s: %s", file, strerror(-r));
	return r;
}

/* Report a scan: 'list' prints every file, 'verify' only failures and a summary. */
static int print_scan(const struct trust_scan *s, bool json, bool list)
{
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < s->n_found; i++) {
			const struct trust_finding *f = &s->found[i];
			json_t *o = json_pack("{s:s, s:s}", "path", f->path, "status",
					      f->reason ? "failed" : "verified");
			if (o && f->reason)
				(void)json_object_set_new(o, "reason", json_string(f->reason));
			if (o && f->publisher)
				(void)json_object_set_new(o, "publisher",
							  json_string(f->publisher));
			(void)json_array_append_new(arr, o);
		}
		char *out = arr ? json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		json_decref(arr);
		if (!out)
			return EXIT_NONO_ERROR;
		(void)puts(out);
		free(out);
	} else
		for (size_t i = 0; i < s->n_found; i++) {
			const struct trust_finding *f = &s->found[i];
			if (f->reason && !list)
				log_error("%s: %s", f->path, f->reason);
			else if (f->reason)
				(void)printf("failed    %s: %s\n", f->path, f->reason);
			else
				(void)printf("verified  %s (publisher '%s')\n", f->path,
					     f->publisher);
		}
	if (list)
		return EXIT_NONO_OK;
	if (s->n_failed) {
		log_error("%zu of %zu file%s failed verification", s->n_failed, s->n_found,
			  s->n_found == 1 ? "" : "s");
		return EXIT_NONO_ERROR;
	}
	return EXIT_NONO_OK;
}

/* Load a policy: --policy FILE, or the merged user + project policies. */
static int load_policy(const struct trust_args *a, struct trust_policy **ret)
{
	struct diag d = {{0}};
	char buf[2048];
	if (a->policy) {
		int r = trust_policy_load_file(a->policy, ret, &d);
		if (r == -ENOENT)
			return log_error("'%s': no such trust policy", a->policy), -1;
		if (r < 0)
			return log_error("%s", diag_format(&d, buf, sizeof(buf))), -1;
		return 0;
	}
	if (run_trust_load_policy(ret) < 0)
		return -1;
	if (!*ret)
		return log_error("no trust policy (./%s or ~/.config/nono/%s): see 'nono trust "
				 "init', or give --public-key-file / --keyref",
				 TRUST_POLICY_FILE, TRUST_POLICY_FILE),
		       -1;
	return 0;
}

/* Scan the current directory with the policy; with files, only those (anchored). */
static int policy_scan(const struct trust_args *a, bool list)
{
	_cleanup_trust_policy_ struct trust_policy *p = NULL;
	_cleanup_trust_scan_ struct trust_scan *s = NULL;
	struct diag d = {{0}};
	char buf[2048];
	if (load_policy(a, &p) < 0)
		return EXIT_NONO_ERROR;
	if (a->n_files) {
		p->includes = strv_free(p->includes);
		p->required = strv_free(p->required);
		p->files = strv_free(p->files);
		for (int i = 0; i < a->n_files; i++) {
			const char *name = skip_dot_slash(a->files[i]);
			_cleanup_free_ char *pat = malloc(2 * strlen(name) + 2);
			if (!trust_path_valid(name)) {
				log_error(
				    "'%s': give paths relative to the current directory, without "
				    "'..'",
				    a->files[i]);
				return EXIT_NONO_ERROR;
			}
			if (!pat)
				return EXIT_NONO_ERROR;
			char *o = pat;
			*o++ = '/'; /* anchored at the top of the tree */
			for (const char *c = name; *c; c++) {
				if (strchr("*?[\\", *c))
					*o++ = '\\';
				*o++ = *c;
			}
			*o = 0;
			/* Named, so required: an absent one fails. */
			if (strv_extend(&p->includes, pat) < 0 ||
			    strv_extend(&p->required, pat) < 0)
				return EXIT_NONO_ERROR;
		}
	}
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd || trust_scan_tree(p, cwd, NULL, &s, &d) < 0) {
		log_error("%s", d.msg[0] ? diag_format(&d, buf, sizeof(buf)) : "cannot scan");
		return EXIT_NONO_ERROR;
	}
	return print_scan(s, a->json, list);
}

static int trust_sign_policy(const struct trust_args *a)
{
	_cleanup_free_ char *path = NULL, *json = NULL, *base = NULL, *out = NULL;
	_cleanup_trust_policy_ struct trust_policy *p = NULL;
	_cleanup_trust_key_ struct trust_key *k = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct diag d = {{0}};
	char buf[2048];
	struct trust_subject sub = {0};
	int r;
	if (a->n_files > 1) {
		log_error("'nono trust sign-policy' signs one policy file");
		return EXIT_NONO_ERROR;
	}
	if (a->n_files == 1)
		path = strdup(a->files[0]);
	else if (a->user) {
		const char *home = secure_getenv("HOME");
		if (!home || home[0] != '/')
			return log_error("HOME is not an absolute path"), EXIT_NONO_ERROR;
		if (asprintf(&path, "%s/.config/nono/%s", home, TRUST_POLICY_FILE) < 0)
			path = NULL;
	} else
		path = strdup(TRUST_POLICY_FILE);
	if (!path)
		return EXIT_NONO_ERROR;
	/* Only a policy that parses is worth a signature. */
	r = trust_policy_load_file(path, &p, &d);
	if (r == -ENOENT)
		return log_error("'%s': no such trust policy", path), EXIT_NONO_ERROR;
	if (r < 0)
		return log_error("%s", diag_format(&d, buf, sizeof(buf))), EXIT_NONO_ERROR;
	if (load_signing_key(a, &k) != 0)
		return EXIT_NONO_ERROR;
	r = open_parent(path, &dfd, &base);
	if (r >= 0)
		r = trust_hash_file(dfd, base, sub.sha256);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s'", path), EXIT_NONO_ERROR;
	sub.name = base;
	r = trust_bundle_sign(k, TRUST_PRED_POLICY, &sub, 1, &json);
	if (r < 0 || asprintf(&out, "%s.bundle", path) < 0)
		return log_error_errno(r, "cannot sign"), EXIT_NONO_ERROR;
	r = write_atomic(out, json);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s'", out), EXIT_NONO_ERROR;
	log_info("signed '%s' with key %s into '%s'", path, trust_key_id(k), out);
	return EXIT_NONO_OK;
}

/* The patterns init proposes, kept when they match a file. */
static const char *const init_patterns[] = {
    "CLAUDE.md", "CLAUDE.local.md", "AGENTS.md",       "AGENT.md",
    "SKILLS*",	 "GEMINI.md",	    ".claude/**/*.md", NULL};

static int init_walk(int dfd, const char *prefix, bool recursive, char *const *exclude, bool *hit,
		     int depth)
{
	int fd = dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!dir) {
		if (fd >= 0)
			(void)close(fd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		_cleanup_free_ char *rel = NULL;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (asprintf(&rel, "%s%s", prefix, de->d_name) < 0)
			break;
		if (de->d_type == DT_DIR) {
			bool skip = depth > 32 || strv_contains(exclude, de->d_name);
			for (const char *const *h = trust_heavy_dirs; *h && !skip; h++)
				skip = streq(*h, de->d_name);
			/* .claude/ is always looked into: its patterns need it. */
			if (skip ||
			    (!recursive && !streq(rel, ".claude") && !startswith(rel, ".claude/")))
				continue;
			_cleanup_close_ int sub = openat(
			    dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_free_ char *np = NULL;
			if (sub >= 0 && asprintf(&np, "%s/", rel) >= 0)
				(void)init_walk(sub, np, recursive, exclude, hit, depth + 1);
			continue;
		}
		if (de->d_type != DT_REG)
			continue;
		for (size_t i = 0; init_patterns[i]; i++)
			if (trust_glob_match(init_patterns[i], rel))
				hit[i] = true;
	}
	closedir(dir);
	return 0;
}

static int trust_init(const struct trust_args *a, char *const *exclude)
{
	_cleanup_trust_key_ struct trust_key *k = NULL;
	_cleanup_free_ char *pub = NULL, *out = NULL;
	bool hit[ARRAY_SIZE(init_patterns)] = {false};
	struct stat st;
	if (!a->force && lstat(TRUST_POLICY_FILE, &st) == 0) {
		log_error("'%s' already exists (use --force to replace it)", TRUST_POLICY_FILE);
		return EXIT_NONO_ERROR;
	}
	if (load_signing_key(a, &k) != 0)
		return EXIT_NONO_ERROR;
	if (trust_key_export_public(k, false, &pub) < 0)
		return EXIT_NONO_ERROR;
	_cleanup_close_ int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || init_walk(dfd, "", a->recursive, exclude, hit, 0) < 0)
		return log_error_errno(-errno, "cannot read the current directory"),
		       EXIT_NONO_ERROR;
	json_t *inc = json_array();
	for (size_t i = 0; inc && init_patterns[i]; i++)
		if (hit[i])
			(void)json_array_append_new(inc, json_string(init_patterns[i]));
	json_t *doc = json_pack("{s:i, s:o, s:[{s:s, s:s, s:s}], s:s}", "version", 1, "includes",
				inc, "publishers", "name", a->key ? a->key : "default", "key_id",
				trust_key_id(k), "public_key", pub, "enforcement", "deny");
	out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!out || write_atomic(TRUST_POLICY_FILE, out) < 0)
		return log_error_errno(-errno, "cannot write '%s'", TRUST_POLICY_FILE),
		       EXIT_NONO_ERROR;
	log_info("wrote '%s' (%zu include pattern%s)", TRUST_POLICY_FILE, json_array_size(inc),
		 json_array_size(inc) == 1 ? "" : "s");
	return EXIT_NONO_OK;
}

static int trust_verify(const struct trust_args *a)
{
	_cleanup_trust_key_ struct trust_key *k = NULL;
	struct diag d = {{0}};
	int r;
	if (a->all && a->n_files) {
		log_error("'--all' excludes naming files");
		return EXIT_NONO_ERROR;
	}
	if (!a->all && a->n_files == 0) {
		log_error("'nono trust verify' needs the files to verify, or --all");
		return EXIT_NONO_ERROR;
	}
	if (a->all || a->policy || (!a->pubkey && !a->keyref && !a->key))
		return policy_scan(a, false);
	if (a->pubkey) {
		r = trust_key_load_public_file(a->pubkey, &k, &d);
		if (r < 0)
			return report(r, &d, "cannot load the public key");
	} else if (a->keyref || a->key) {
		if (load_signing_key(a, &k) != 0)
			return EXIT_NONO_ERROR;
	}
	_cleanup_trust_bundle_ struct trust_bundle *multi = NULL;
	int multi_err = 0, failed = 0;
	struct diag md = {{0}};
	for (int i = 0; i < a->n_files; i++)
		if (verify_one(a->files[i], k, &multi, &multi_err, &md) < 0)
			failed++;
	if (failed) {
		log_error("%d of %d file%s failed verification", failed, a->n_files,
			  a->n_files == 1 ? "" : "s");
		return EXIT_NONO_ERROR;
	}
	return EXIT_NONO_OK;
}

int cmd_trust(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find_command("trust");
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *so = NULL;
	struct trust_args a = {0};
	int c;

	if (cli_getopt_tables(trust_options, &lo, &so) < 0)
		return EXIT_NONO_ERROR;
	/* Options may come anywhere (GNU permutation), as in 'nono audit'. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, so + 1, lo, NULL)) >= 0) {
		switch (c) {
		case OPT_T_ID:
			a.id = optarg;
			break;
		case OPT_T_KEY:
			a.key = optarg;
			break;
		case OPT_T_KEYREF:
			a.keyref = optarg;
			break;
		case OPT_T_FORCE:
			a.force = true;
			break;
		case OPT_T_PEM:
			a.pem = true;
			break;
		case OPT_T_KEYLESS:
			a.keyless = true;
			break;
		case OPT_T_ALL:
			a.all = true;
			break;
		case OPT_T_POLICY:
			a.policy = optarg;
			break;
		case OPT_T_PUBKEY:
			a.pubkey = optarg;
			break;
		case OPT_T_USER:
			a.user = true;
			break;
		case OPT_T_JSON:
			a.json = true;
			break;
		case OPT_T_EXCLUDE_DIRS:
			a.exclude_dirs = true;
			break;
		case OPT_T_RECURSIVE:
			a.recursive = true;
			break;
		case OPT_T_HELP:
			cli_print_help(cmd, stdout);
			return EXIT_NONO_OK;
		default:
			log_error("unknown option '%s' for 'nono trust' (see 'nono trust --help')",
				  argv[optind - 1]);
			return EXIT_NONO_ERROR;
		}
	}
	if (optind >= argc) {
		log_error("'nono trust' needs a subcommand: keygen, export-key, sign, verify");
		return EXIT_NONO_ERROR;
	}
	const char *sub = argv[optind++];
	a.files = argv + optind;
	a.n_files = argc - optind;
	if ((a.id != NULL) + (a.key != NULL) + (a.keyref != NULL) > 1) {
		log_error("'--id', '--key' and '--keyref' exclude each other");
		return EXIT_NONO_ERROR;
	}
	if (a.keyless && (a.keyref || a.key)) {
		log_error("'--keyless' excludes '--key' and '--keyref'");
		return EXIT_NONO_ERROR;
	}
	bool takes_files = streq(sub, "sign") || streq(sub, "verify") ||
			   streq(sub, "sign-policy") || streq(sub, "init");
	if (!takes_files && a.n_files) {
		log_error("'nono trust %s' takes no file arguments", sub);
		return EXIT_NONO_ERROR;
	}
	if (streq(sub, "keygen"))
		return trust_keygen(&a);
	if (streq(sub, "export-key"))
		return trust_export_key(&a);
	if (streq(sub, "sign"))
		return trust_sign(&a);
	if (streq(sub, "verify"))
		return trust_verify(&a);
	if (streq(sub, "sign-policy"))
		return trust_sign_policy(&a);
	if (streq(sub, "list"))
		return policy_scan(&a, true);
	if (streq(sub, "init")) /* the operands are --exclude-dirs names */
		return (a.n_files && !a.exclude_dirs)
			   ? (log_error("'nono trust init' takes no file arguments"),
			      EXIT_NONO_ERROR)
			   : trust_init(&a, a.files);
	log_error("unknown trust subcommand '%s': use init, sign, sign-policy, verify, list, "
		  "keygen or export-key",
		  sub);
	return EXIT_NONO_ERROR;
}
