/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECDSA P-256 keys through OpenSSL 3 EVP: generation, PKCS#8 / SPKI decoding, key ids,
 * signing and verification, and the file-backed key store (file:///path + path.pub).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "credential/credential.h"
#include "trust/trust.h"

struct trust_key {
	EVP_PKEY *pkey;
	bool has_private;
	char id[TRUST_KEY_ID_LEN + 1];
};

struct trust_key *trust_key_free(struct trust_key *k)
{
	if (k) {
		EVP_PKEY_free(k->pkey);
		free(k);
	}
	return NULL;
}

static int spki_der(EVP_PKEY *pkey, uint8_t **ret, size_t *ret_len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return -EINVAL;
	*ret = der;
	*ret_len = (size_t)n;
	return 0;
}

/* Wrap pkey (taken) after checking it is EC on P-256. */
static int wrap(EVP_PKEY *pkey, bool priv, struct trust_key **ret)
{
	char group[64] = "";
	size_t gl = 0;
	if (!pkey)
		return -EINVAL;
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    &gl) ||
	    (!streq(group, "prime256v1") && !streq(group, "P-256"))) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	struct trust_key *k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	k->has_private = priv;
	uint8_t *der = NULL;
	size_t n = 0;
	uint8_t md[32];
	unsigned mdl = 0;
	if (spki_der(pkey, &der, &n) < 0 || !EVP_Digest(der, n, md, &mdl, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		trust_key_free(k);
		return -EINVAL;
	}
	OPENSSL_free(der);
	trust_hex(md, 32, k->id);
	*ret = k;
	return 0;
}

int trust_key_generate(struct trust_key **ret)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey)
		return -EIO;
	return wrap(pkey, true, ret);
}

int trust_key_from_pkcs8(const uint8_t *der, size_t n, struct trust_key **ret)
{
	const unsigned char *p = der;
	if (n > 65536)
		return -EINVAL;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)n);
	if (!p8)
		return -EINVAL;
	bool whole = p == der + n;
	EVP_PKEY *pkey = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!whole) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	return wrap(pkey, true, ret);
}

int trust_key_from_spki(const uint8_t *der, size_t n, struct trust_key **ret)
{
	const unsigned char *p = der;
	if (n > 65536)
		return -EINVAL;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)n);
	if (pkey && p != der + n) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	return wrap(pkey, false, ret);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int trust_key_from_public_text(const char *text, size_t n, struct trust_key **ret)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----",
			  end[] = "-----END PUBLIC KEY-----";
	const char *s = text, *e = text + n;
	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	size_t len = (size_t)(e - s);
	if (len >= sizeof(begin) - 1 && memcmp(s, begin, sizeof(begin) - 1) == 0) {
		if (len < sizeof(begin) - 1 + sizeof(end) - 1 ||
		    memcmp(e - (sizeof(end) - 1), end, sizeof(end) - 1) != 0)
			return -EINVAL;
		s += sizeof(begin) - 1;
		e -= sizeof(end) - 1;
	}
	/* Base64 with line breaks (PEM) or on one line: drop the white space. */
	_cleanup_free_ char *b = malloc((size_t)(e - s) + 4);
	if (!b)
		return -ENOMEM;
	size_t bl = 0;
	for (const char *c = s; c < e; c++)
		if (!is_space(*c))
			b[bl++] = *c;
	size_t dl = 0;
	int r = trust_b64_decode(b, bl, (uint8_t *)b, &dl);
	if (r < 0 || dl == 0)
		return -EINVAL;
	return trust_key_from_spki((const uint8_t *)b, dl, ret);
}

static int load_text(const char *ref, struct secret *s, struct diag *d)
{
	const char *name = startswith(ref, "keystore://");
	/* A bare key id or keystore://ID: the system keystore, service "nono-trust". */
	if (name || !credential_ref_is_uri(ref))
		return credential_load_keyring_service(TRUST_KEYSTORE_SERVICE, name ? name : ref, s,
						       d);
	return credential_load(ref, s, d);
}

int trust_key_from_secret(struct secret *s, struct trust_key **ret)
{
	const char *b = s->data;
	size_t bl = s->len, dl = 0;
	while (bl && is_space(*b))
		b++, bl--;
	while (bl && is_space(b[bl - 1]))
		bl--;
	int r = trust_b64_decode(b, bl, (uint8_t *)s->data, &dl);
	if (r >= 0)
		r = trust_key_from_pkcs8((const uint8_t *)s->data, dl, ret);
	secret_wipe(s);
	return r;
}

int trust_key_load_secret(const char *ref, struct secret *ret, struct diag *d)
{
	struct secret s = {0}, copy = {0};
	struct trust_key *k = NULL;
	int r = load_text(ref, &s, d);
	if (r < 0)
		return r;
	if ((r = secret_from_buf(s.data, s.len, &copy)) < 0 ||
	    (r = trust_key_from_secret(&copy, &k)) < 0) {
		secret_wipe(&copy);
		secret_wipe(&s);
		if (r != -ENOMEM)
			diag_set(d, NULL, 0, 0,
				 "key '%s': not an ECDSA P-256 private key (base64 PKCS#8 DER "
				 "expected)",
				 ref);
		return r;
	}
	trust_key_free(k);
	*ret = s;
	return 0;
}

int trust_key_load(const char *ref, struct trust_key **ret, struct diag *d)
{
	_cleanup_secret_ struct secret s = {0};
	int r = load_text(ref, &s, d);
	if (r < 0)
		return r;
	/* Decode in place, inside secret memory. */
	const char *b = s.data;
	size_t bl = s.len;
	while (bl && is_space(*b))
		b++, bl--;
	while (bl && is_space(b[bl - 1]))
		bl--;
	size_t dl = 0;
	r = trust_b64_decode(b, bl, (uint8_t *)s.data, &dl);
	if (r >= 0)
		r = trust_key_from_pkcs8((const uint8_t *)s.data, dl, ret);
	if (r < 0)
		diag_set(d, NULL, 0, 0,
			 "key '%s': not an ECDSA P-256 private key (base64 PKCS#8 DER expected)",
			 ref);
	return r;
}

int trust_read_file(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	/* O_NONBLOCK: a FIFO planted as a bundle or policy must not hang nono in open(). */
	_cleanup_close_ int fd =
	    openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	for (;;) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
		if (got > (size_t)st.st_size)
			return -EFBIG; /* grew while we read */
	}
	buf[got] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = got;
	return 0;
}

int trust_key_load_public_file(const char *path, struct trust_key **ret, struct diag *d)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	int r = trust_read_file(AT_FDCWD, path, TRUST_MAX_PUBKEY_FILE, &text, &n);
	if (r < 0) {
		diag_set(d, path, 0, 0, "cannot read the public key: %s", strerror(-r));
		return r;
	}
	r = trust_key_from_public_text(text, n, ret);
	if (r < 0)
		diag_set(d, path, 0, 0,
			 "not an ECDSA P-256 public key (PEM or base64 DER SubjectPublicKeyInfo)");
	return r;
}

bool trust_key_has_private(const struct trust_key *k)
{
	return k->has_private;
}

const char *trust_key_id(const struct trust_key *k)
{
	return k->id;
}

int trust_key_export_public(const struct trust_key *k, bool pem, char **ret)
{
	uint8_t *der = NULL;
	size_t n = 0;
	int r = spki_der(k->pkey, &der, &n);
	if (r < 0)
		return r;
	_cleanup_free_ char *b = trust_b64_encode(der, n);
	OPENSSL_free(der);
	if (!b)
		return -ENOMEM;
	if (!pem) {
		*ret = TAKE_PTR(b);
		return 0;
	}
	size_t bl = strlen(b);
	char *out = malloc(bl + bl / 64 + 64), *o = out;
	if (!out)
		return -ENOMEM;
	o += snprintf(o, 32, "-----BEGIN PUBLIC KEY-----\n");
	for (size_t i = 0; i < bl; i += 64) {
		size_t l = bl - i < 64 ? bl - i : 64;
		memcpy(o, b + i, l);
		o += l;
		*o++ = '\n';
	}
	(void)snprintf(o, 32, "-----END PUBLIC KEY-----\n");
	*ret = out;
	return 0;
}

static int write_new(const char *path, const char *data, size_t n, mode_t mode, bool force)
{
	if (force && unlink(path) < 0 && errno != ENOENT)
		return -errno;
	_cleanup_close_ int fd =
	    open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		return -errno;
	while (n) {
		ssize_t k = write(fd, data, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		data += k;
		n -= (size_t)k;
	}
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int trust_key_export_private(const struct trust_key *k, struct secret *ret)
{
	if (!k->has_private)
		return -EINVAL;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k->pkey);
	if (!p8)
		return -EIO;
	unsigned char *der = NULL;
	int dl = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (dl <= 0)
		return -EIO;
	char *b = trust_b64_encode(der, (size_t)dl);
	OPENSSL_clear_free(der, (size_t)dl);
	if (!b)
		return -ENOMEM;
	size_t bl = strlen(b);
	int r = secret_from_buf(b, bl, ret);
	OPENSSL_cleanse(b, bl);
	free(b);
	return r;
}

int trust_key_write_file(const struct trust_key *k, const char *path, bool force, struct diag *d)
{
	_cleanup_free_ char *pub_path = NULL, *pub = NULL;
	if (!k->has_private)
		return -EINVAL;
	if (asprintf(&pub_path, "%s.pub", path) < 0)
		return -ENOMEM;
	if (!force && (access(path, F_OK) == 0 || access(pub_path, F_OK) == 0 || errno != ENOENT)) {
		diag_set(d, path, 0, 0, "a key already exists here (use --force to replace it)");
		return -EEXIST;
	}
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k->pkey);
	if (!p8)
		return -EIO;
	unsigned char *der = NULL;
	int dl = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (dl <= 0)
		return -EIO;
	char *b = trust_b64_encode(der, (size_t)dl);
	OPENSSL_clear_free(der, (size_t)dl);
	if (!b)
		return -ENOMEM;
	size_t bl = strlen(b);
	struct secret s = {0};
	int r = secret_from_buf(b, bl + 1, &s); /* with the NUL, overwritten below */
	OPENSSL_cleanse(b, bl);
	free(b);
	if (r < 0)
		return r;
	s.data[bl] = '\n';
	r = write_new(path, s.data, bl + 1, 0600, force);
	secret_wipe(&s);
	if (r < 0) {
		diag_set(d, path, 0, 0, "cannot write the private key: %s", strerror(-r));
		return r;
	}
	r = trust_key_export_public(k, true, &pub);
	if (r < 0)
		return r;
	r = write_new(pub_path, pub, strlen(pub), 0644, force);
	if (r < 0) {
		diag_set(d, pub_path, 0, 0, "cannot write the public key: %s", strerror(-r));
		return r;
	}
	return 0;
}

int trust_key_sign(const struct trust_key *k, const void *msg, size_t n, uint8_t **ret,
		   size_t *ret_len)
{
	if (!k->has_private)
		return -EINVAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	size_t sl = 0;
	uint8_t *sig = NULL;
	int r = -EIO;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, NULL, &sl, msg, n) == 1 && (sig = malloc(sl)) &&
	    EVP_DigestSign(ctx, sig, &sl, msg, n) == 1) {
		*ret = TAKE_PTR(sig);
		*ret_len = sl;
		r = 0;
	}
	free(sig);
	EVP_MD_CTX_free(ctx);
	return r;
}

int trust_key_verify(const struct trust_key *k, const void *msg, size_t n, const uint8_t *sig,
		     size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		 EVP_DigestVerify(ctx, sig, sig_len, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}
