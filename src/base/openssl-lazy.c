/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL, loaded when first used (lazy.h). libcrypto and libssl are most of what the
 * dynamic loader would do when nono starts: mapping them and resolving their symbols
 * cost about 1.8 ms of CPU per exec, and a plain `nono run` never calls them (the audit
 * trail hashes only when there are events; the proxy, rollback and trust are opt-in).
 * The one forked process that uses OpenSSL, the proxy, is forked before the supervisor
 * starts any thread, and loads it itself, in parallel with the command's start.
 */
#include "base/lazy.h"
#include "base/macro.h"

#include <stdarg.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

/* The sonames the build linked against (OpenSSL 3 keeps them stable). */
static struct lazy_lib libcrypto = LAZY_LIB("libcrypto.so.3"), libssl = LAZY_LIB("libssl.so.3");
#define C	(&libcrypto)
#define S	(&libssl)
#define FORWARD LAZY_FORWARD

/* clang-format off */
FORWARD(C, void, CRYPTO_clear_free, (void *ptr, size_t num, const char *file, int line), (ptr, num, file, line))
FORWARD(C, void, CRYPTO_free, (void *ptr, const char *file, int line), (ptr, file, line))
FORWARD(C, int, CRYPTO_memcmp, (const void *a, const void *b, size_t len), (a, b, len))
FORWARD(C, void, ERR_clear_error, (void), ())
FORWARD(C, int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
FORWARD(C, int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
FORWARD(C, int, EVP_Digest, (const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type, ENGINE *impl), (data, count, md, size, type, impl))
FORWARD(C, int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl), (ctx, type, impl))
FORWARD(C, int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), (ctx, d, cnt))
FORWARD(C, int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s))
FORWARD(C, int, EVP_DigestSignInit, (EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey), (ctx, pctx, type, e, pkey))
FORWARD(C, int, EVP_DigestSign, (EVP_MD_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs, size_t tbslen), (ctx, sig, siglen, tbs, tbslen))
FORWARD(C, int, EVP_DigestVerifyInit, (EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey), (ctx, pctx, type, e, pkey))
FORWARD(C, int, EVP_DigestVerify, (EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs, size_t tbslen), (ctx, sig, siglen, tbs, tbslen))
FORWARD(C, void, EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx))
FORWARD(C, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
FORWARD(C, EVP_PKEY *, EVP_PKCS82PKEY, (const PKCS8_PRIV_KEY_INFO *p8), (p8))
FORWARD(C, PKCS8_PRIV_KEY_INFO *, EVP_PKEY2PKCS8, (const EVP_PKEY *pkey), (pkey))
FORWARD(C, void, EVP_PKEY_free, (EVP_PKEY *pkey), (pkey))
FORWARD(C, int, EVP_PKEY_get_utf8_string_param, (const EVP_PKEY *pkey, const char *key_name, char *str, size_t max_buf_sz, size_t *out_sz), (pkey, key_name, str, max_buf_sz, out_sz))
FORWARD(C, int, EVP_PKEY_is_a, (const EVP_PKEY *pkey, const char *name), (pkey, name))
FORWARD(C, const EVP_MD *, EVP_sha256, (void), ())
FORWARD(C, void, OPENSSL_cleanse, (void *ptr, size_t len), (ptr, len))
FORWARD(C, int, RAND_bytes, (unsigned char *buf, int num), (buf, num))
FORWARD(C, int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM *param, const char *ipasc), (param, ipasc))
FORWARD(C, const char *, X509_verify_cert_error_string, (long n), (n))
FORWARD(C, void, PKCS8_PRIV_KEY_INFO_free, (PKCS8_PRIV_KEY_INFO *a), (a))
FORWARD(C, PKCS8_PRIV_KEY_INFO *, d2i_PKCS8_PRIV_KEY_INFO, (PKCS8_PRIV_KEY_INFO **a, const unsigned char **in, long len), (a, in, len))
FORWARD(C, int, i2d_PKCS8_PRIV_KEY_INFO, (const PKCS8_PRIV_KEY_INFO *a, unsigned char **out), (a, out))
FORWARD(C, EVP_PKEY *, d2i_PUBKEY, (EVP_PKEY **a, const unsigned char **pp, long length), (a, pp, length))
FORWARD(C, int, i2d_PUBKEY, (const EVP_PKEY *a, unsigned char **pp), (a, pp))
FORWARD(S, long, SSL_CTX_ctrl, (SSL_CTX *ctx, int cmd, long larg, void *parg), (ctx, cmd, larg, parg))
FORWARD(S, void, SSL_CTX_free, (SSL_CTX *ctx), (ctx))
FORWARD(S, int, SSL_CTX_load_verify_locations, (SSL_CTX *ctx, const char *CAfile, const char *CApath), (ctx, CAfile, CApath))
FORWARD(S, SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *meth), (meth))
FORWARD(S, int, SSL_CTX_set_default_verify_paths, (SSL_CTX *ctx), (ctx))
FORWARD(S, void, SSL_CTX_set_verify, (SSL_CTX *ctx, int mode, SSL_verify_cb callback), (ctx, mode, callback))
FORWARD(S, int, SSL_connect, (SSL *ssl), (ssl))
FORWARD(S, long, SSL_ctrl, (SSL *ssl, int cmd, long larg, void *parg), (ssl, cmd, larg, parg))
FORWARD(S, void, SSL_free, (SSL *ssl), (ssl))
FORWARD(S, X509_VERIFY_PARAM *, SSL_get0_param, (SSL *ssl), (ssl))
FORWARD(S, int, SSL_get_error, (const SSL *s, int ret_code), (s, ret_code))
FORWARD(S, long, SSL_get_verify_result, (const SSL *ssl), (ssl))
FORWARD(S, SSL *, SSL_new, (SSL_CTX *ctx), (ctx))
FORWARD(S, int, SSL_pending, (const SSL *s), (s))
FORWARD(S, int, SSL_read_ex, (SSL *ssl, void *buf, size_t num, size_t *readbytes), (ssl, buf, num, readbytes))
FORWARD(S, int, SSL_set1_host, (SSL *s, const char *hostname), (s, hostname))
FORWARD(S, int, SSL_set_fd, (SSL *s, int fd), (s, fd))
FORWARD(S, int, SSL_write_ex, (SSL *s, const void *buf, size_t num, size_t *written), (s, buf, num, written))
FORWARD(S, const SSL_METHOD *, TLS_client_method, (void), ())
/* Not called yet, but the obvious next ones (digests, errors, TLS teardown): so work in
 * flight that starts calling them links without touching this file. */
FORWARD(C, unsigned long, ERR_get_error, (void), ())
FORWARD(C, void, ERR_error_string_n, (unsigned long e, char *buf, size_t len), (e, buf, len))
FORWARD(C, int, EVP_DigestInit, (EVP_MD_CTX *ctx, const EVP_MD *type), (ctx, type))
FORWARD(C, int, EVP_DigestFinal, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s))
FORWARD(C, int, EVP_MD_CTX_reset, (EVP_MD_CTX *ctx), (ctx))
FORWARD(C, int, EVP_MD_CTX_copy_ex, (EVP_MD_CTX *out, const EVP_MD_CTX *in), (out, in))
FORWARD(C, const EVP_MD *, EVP_sha512, (void), ())
FORWARD(C, const EVP_MD *, EVP_sha1, (void), ())
FORWARD(C, int, RAND_priv_bytes, (unsigned char *buf, int num), (buf, num))
FORWARD(C, unsigned char *, HMAC, (const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data, size_t data_len, unsigned char *md, unsigned int *md_len), (evp_md, key, key_len, data, data_len, md, md_len))
FORWARD(C, void, X509_free, (X509 *a), (a))
FORWARD(S, int, SSL_shutdown, (SSL *s), (s))
FORWARD(S, uint64_t, SSL_CTX_set_options, (SSL_CTX *ctx, uint64_t op), (ctx, op))
FORWARD(S, X509 *, SSL_get1_peer_certificate, (const SSL *s), (s))
/* clang-format on */

/* Variadic: the one form nono uses, EVP_EC_gen(curve) = (NULL, NULL, "EC", curve). */
EVP_PKEY *EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	__typeof__(EVP_PKEY_Q_keygen) *f =
	    (__typeof__(EVP_PKEY_Q_keygen) *)lazy_sym(C, "EVP_PKEY_Q_keygen");
	va_list ap;
	EVP_PKEY *k;

	if (!type || !streq(type, "EC"))
		return NULL;
	va_start(ap, type);
	k = f(libctx, propq, type, va_arg(ap, char *));
	va_end(ap);
	return k;
}
