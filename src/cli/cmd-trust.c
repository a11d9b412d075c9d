/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nono trust keygen | export-key | sign | verify (and, refused for now, init,
 * sign-policy, list). Signing keys: ECDSA P-256, PKCS#8, from any credential reference
 * (env://, file://, op://); keygen writes file:///PATH (0600) and PATH.pub (PEM).
 * One file signs into FILE.bundle beside it; several into ./.nono-trust.bundle with
 * paths relative to the current directory. verify exits 0 only when every file
 * verifies, naming each failure and its reason otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "cli/cli.h"
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
	OPT_T_RECURSIVE = 'r',
	OPT_T_HELP = 'h',
};

/* clang-format off */
const struct cli_option trust_options[] = {
	{"id", 0, required_argument, OPT_T_ID, "NAME", "keygen, export-key: key id in the system keystore (not supported yet)", NULL, false},
	{"key", 0, required_argument, OPT_T_KEY, "KEY_ID", "sign, verify: key id in the system keystore (not supported yet)", NULL, false},
	{"keyref", 0, required_argument, OPT_T_KEYREF, "URI", "the signing key: file:///PATH, env://VAR or op://...", NULL, false},
	{"force", 0, no_argument, OPT_T_FORCE, NULL, "keygen: replace an existing key", NULL, false},
	{"pem", 0, no_argument, OPT_T_PEM, NULL, "export-key: PEM instead of base64 DER", NULL, false},
	{"keyless", 0, no_argument, OPT_T_KEYLESS, NULL, "sign: Sigstore keyless signing (refused: needs Fulcio and Rekor)", NULL, false},
	{"all", 0, no_argument, OPT_T_ALL, NULL, "sign, verify: every instruction file (needs a trust policy)", NULL, false},
	{"policy", 0, required_argument, OPT_T_POLICY, "FILE", "sign, verify: trust policy file (not supported yet)", NULL, false},
	{"public-key-file", 0, required_argument, OPT_T_PUBKEY, "FILE", "verify: the trusted public key (PEM or base64 DER)", NULL, false},
	{"user", 0, no_argument, OPT_T_USER, NULL, "sign-policy: the user-level policy", NULL, false},
	{"json", 0, no_argument, OPT_T_JSON, NULL, "list: JSON output", NULL, false},
	{"recursive", 'r', no_argument, OPT_T_RECURSIVE, NULL, "init: scan subdirectories", NULL, false},
	{"help", 'h', no_argument, OPT_T_HELP, NULL, "show this help", NULL, false},
	{NULL, 0, 0, 0, NULL, NULL, NULL, false},
};
/* clang-format on */

struct trust_args {
	const char *id, *key, *keyref, *policy, *pubkey;
	bool force, pem, keyless, all, user, json, recursive;
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

static int trust_keygen(const struct trust_args *a)
{
	const char *path = a->keyref ? startswith(a->keyref, "file://") : NULL;
	if (!a->keyref) {
		log_error(
		    "the system keystore (service 'nono-trust', key '%s') is not supported by "
		    "this build yet; use --keyref file:///PATH",
		    a->id ? a->id : "default");
		return EXIT_NONO_ERROR;
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

static int trust_sign(const struct trust_args *a)
{
	if (a->keyless) {
		log_error("'--keyless': Sigstore keyless signing needs Fulcio and Rekor (an OIDC "
			  "identity and network access) and is not supported; sign with a key "
			  "(--keyref file:///PATH)");
		return EXIT_NONO_ERROR;
	}
	if (a->all || a->policy) {
		log_error("'%s': trust policies are not supported by this build yet; name the "
			  "files to sign",
			  a->all ? "--all" : "--policy");
		return EXIT_NONO_ERROR;
	}
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
	if (a->n_files == 1) {
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

static int trust_verify(const struct trust_args *a)
{
	_cleanup_trust_key_ struct trust_key *k = NULL;
	struct diag d = {{0}};
	int r;
	if (a->all || a->policy) {
		log_error("'%s': trust policies are not supported by this build yet; name the "
			  "files and the key (--public-key-file or --keyref)",
			  a->all ? "--all" : "--policy");
		return EXIT_NONO_ERROR;
	}
	if (a->n_files == 0) {
		log_error("'nono trust verify' needs the files to verify");
		return EXIT_NONO_ERROR;
	}
	if (a->pubkey) {
		r = trust_key_load_public_file(a->pubkey, &k, &d);
		if (r < 0)
			return report(r, &d, "cannot load the public key");
	} else if (a->keyref || a->key) {
		if (load_signing_key(a, &k) != 0)
			return EXIT_NONO_ERROR;
	} else {
		log_error("no trusted key: give --public-key-file FILE or --keyref URI");
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
	bool takes_files = streq(sub, "sign") || streq(sub, "verify");
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
	if (streq(sub, "init") || streq(sub, "sign-policy") || streq(sub, "list")) {
		log_error("'nono trust %s': trust policies (trust-policy.json) are not supported "
			  "by this build yet",
			  sub);
		return EXIT_NONO_ERROR;
	}
	log_error("unknown trust subcommand '%s': use keygen, export-key, sign or verify", sub);
	return EXIT_NONO_ERROR;
}
