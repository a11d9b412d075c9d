/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "base/macro.h"
#include "proxy/token.h"

static void basic(char *out, size_t n, const char *userpass)
{
	int k = snprintf(out, n, "Basic ");
	EVP_EncodeBlock((unsigned char *)out + k, (const unsigned char *)userpass,
			(int)strlen(userpass));
}

static void test_generate(void **state)
{
	(void)state;
	char a[PROXY_TOKEN_LEN + 1], b[PROXY_TOKEN_LEN + 1];
	assert_int_equal(token_generate(a, sizeof(a)), 0);
	assert_int_equal(token_generate(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
	assert_int_equal(token_generate(a, 64), -EINVAL);
}

static void test_check(void **state)
{
	(void)state;
	char tok[PROXY_TOKEN_LEN + 1], hdr[512], up[256];
	assert_int_equal(token_generate(tok, sizeof(tok)), 0);

	assert_int_equal(token_check(tok, NULL), TOKEN_MISSING);
	(void)snprintf(up, sizeof(up), "nono:%s", tok);
	basic(hdr, sizeof(hdr), up);
	assert_int_equal(token_check(tok, hdr), TOKEN_OK);
	(void)snprintf(up, sizeof(up), "anyone:%s", tok);
	basic(hdr, sizeof(hdr), up);
	assert_int_equal(token_check(tok, hdr), TOKEN_OK);
	(void)snprintf(up, sizeof(up), ":%s", tok); /* empty user */
	basic(hdr, sizeof(hdr), up);
	assert_int_equal(token_check(tok, hdr), TOKEN_OK);
	hdr[0] = 'b'; /* scheme is case-insensitive */
	assert_int_equal(token_check(tok, hdr), TOKEN_OK);

	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	assert_int_equal(token_check(tok, hdr), TOKEN_OK);
	(void)snprintf(hdr, sizeof(hdr), "BEARER   %s  ", tok);
	assert_int_equal(token_check(tok, hdr), TOKEN_OK);

	/* Wrong: other token, truncated, extended, no colon, other schemes, junk. */
	char other[PROXY_TOKEN_LEN + 1];
	memcpy(other, tok, sizeof(other));
	other[10] = other[10] == 'a' ? 'b' : 'a';
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", other);
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	(void)snprintf(hdr, sizeof(hdr), "Bearer %.63s", tok);
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s0", tok);
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s extra", tok);
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	(void)snprintf(up, sizeof(up), "nono:%s", other);
	basic(hdr, sizeof(hdr), up);
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	basic(hdr, sizeof(hdr), tok); /* no user:pass separator */
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	(void)snprintf(up, sizeof(up), "nono:%s\n", tok);
	basic(hdr, sizeof(hdr), up);
	assert_int_equal(token_check(tok, hdr), TOKEN_BAD);
	static const char *const junk[] = {
	    "",		"Basic",  "Basic ",  "Basic !!!!",    "Basic abc",	"Basic ====",
	    "Digest x", "Bearer", "Bearer ", "Negotiate abc", "Basic bm9ubzo=",
	};
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
		if (token_check(tok, junk[i]) != TOKEN_BAD)
			fail_msg("'%s' accepted", junk[i]);
	/* A long header does not overflow the decoder. */
	char big[2048];
	memset(big, 'A', sizeof(big));
	memcpy(big, "Basic ", 6);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(token_check(tok, big), TOKEN_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
