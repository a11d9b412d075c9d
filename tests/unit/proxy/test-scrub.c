/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "base/macro.h"
#include "proxy/scrub.h"

static const char KEY[] = "sk-Test/Key+0123456789abcdefXYZ";
static const char PH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static struct scrub *mk(void)
{
	struct scrub *sc = NULL;
	assert_int_equal(scrub_new(KEY, strlen(KEY), PH, strlen(PH), &sc), 0);
	return sc;
}

/* Whole-buffer scrub, as a NUL-terminated string the caller frees. */
static char *all(const struct scrub *sc, const char *s)
{
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(scrub_all(sc, s, strlen(s), &out), 0);
	return strbuf_detach(&out);
}

/* The same through a stream fed step bytes at a time. */
static char *streamed(const struct scrub *sc, const char *s, size_t step)
{
	struct strbuf out = STRBUF_INIT;
	struct scrub_stream st;
	size_t n = strlen(s);
	assert_int_equal(scrub_stream_init(&st, sc), 0);
	for (size_t i = 0; i < n; i += step)
		assert_int_equal(scrub_stream_feed(&st, s + i, MIN(step, n - i), false, &out), 0);
	assert_int_equal(scrub_stream_feed(&st, NULL, 0, true, &out), 0);
	scrub_stream_done(&st);
	return strbuf_detach(&out);
}

static void b64(char *out, const char *in)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

static void test_spellings(void **state)
{
	(void)state;
	struct scrub *sc = mk();
	char in[4096], enc[1024], up[256], hex[256], pct[512], b[512];
	size_t kl = strlen(KEY);

	for (size_t i = 0; i < kl; i++) {
		up[i] = (char)(KEY[i] >= 'a' && KEY[i] <= 'z' ? KEY[i] - 32 : KEY[i]);
		(void)snprintf(hex + 2 * i, 3, "%02x", (unsigned char)KEY[i]);
		(void)snprintf(pct + 3 * i, 4, "%%%02X", (unsigned char)KEY[i]);
	}
	up[kl] = '\0';
	/* Basic "user:key" forms at every alignment of the key. */
	const char *users[] = {"", "a:", "ab:", "abc:", "Bearer "};
	for (size_t u = 0; u < ARRAY_SIZE(users); u++) {
		(void)snprintf(b, sizeof(b), "%s%s", users[u], KEY);
		b64(enc, b);
		(void)snprintf(
		    in, sizeof(in),
		    "x-echo: %s\r\nbody %s %s %s %s|%s|sk-Test\\/Key+0123456789abcdefXYZ end", enc,
		    KEY, up, hex, pct, "sk-Test%2FKey%2B0123456789abcdefXYZ");
		for (size_t step = 1; step <= strlen(in) + 1; step += (step < 8 ? 1 : 13)) {
			char *o = step > strlen(in) ? all(sc, in) : streamed(sc, in, step);
			char dec[4096];
			assert_null(strstr(o, KEY));
			assert_null(strstr(o, up));
			assert_null(strstr(o, hex));
			assert_null(strstr(o, pct));
			assert_null(strstr(o, "0123456789abcdefXYZ"));
			assert_non_null(strstr(o, PH));
			assert_non_null(strstr(o, " end"));
			/* Decoding what is left of the base64 gives no key back. */
			const char *e = o + strlen("x-echo: ");
			size_t el = strcspn(e, "\r");
			memset(dec, 0, sizeof(dec));
			EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)e,
					(int)(el & ~(size_t)3));
			assert_null(memmem(dec, sizeof(dec), "Key+0123456789", 14));
			free(o);
		}
	}
	scrub_free(sc);
}

static void test_plain_text_untouched(void **state)
{
	(void)state;
	struct scrub *sc = mk();
	const char *s = "data: first\n\nsk-Test/Key+0123456789abcdefXY (one short) s s sk";
	char *o = all(sc, s);
	assert_string_equal(o, s);
	free(o);
	o = streamed(sc, s, 3);
	assert_string_equal(o, s);
	free(o);
	scrub_free(sc);
}

static void test_stream_holds_only_prefixes(void **state)
{
	(void)state;
	struct scrub *sc = mk();
	struct strbuf out = STRBUF_INIT;
	struct scrub_stream st;
	assert_int_equal(scrub_stream_init(&st, sc), 0);
	/* An event that cannot begin the key goes out at once... */
	assert_int_equal(scrub_stream_feed(&st, "data: x\n\n", 9, false, &out), 0);
	assert_int_equal(out.len, 9);
	/* ...a possible beginning waits for the next bytes. */
	assert_int_equal(scrub_stream_feed(&st, "ab sk-Te", 8, false, &out), 0);
	assert_int_equal(out.len, 12);
	assert_int_equal(scrub_stream_feed(&st, "st/Key+0123456789abcdefXYZ!", 27, false, &out), 0);
	assert_int_equal(scrub_stream_feed(&st, NULL, 0, true, &out), 0);
	assert_null(strstr(out.buf, KEY));
	assert_non_null(strstr(out.buf, PH));
	assert_int_equal(out.buf[out.len - 1], '!');
	scrub_stream_done(&st);
	strbuf_release(&out);
	scrub_free(sc);
}

static void test_large_random_body(void **state)
{
	(void)state;
	struct scrub *sc = mk();
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	assert_non_null(big);
	srand(7);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(' ' + rand() % 95);
	/* Keys at odd places, one across the 64 KiB slice boundary. */
	size_t at[] = {0, 65536 - 5, 300001, n - strlen(KEY)};
	for (size_t i = 0; i < ARRAY_SIZE(at); i++)
		memcpy(big + at[i], KEY, strlen(KEY));
	big[n] = '\0';
	char *o = streamed(sc, big, 40000);
	assert_null(strstr(o, KEY));
	assert_int_equal(strlen(o), n + ARRAY_SIZE(at) * (strlen(PH) - strlen(KEY)));
	free(o);
	free(big);
	scrub_free(sc);
}

/* A body made of nothing but keys: every one replaced, in linear time. */
static void test_many_matches(void **state)
{
	(void)state;
	struct scrub *sc = mk();
	size_t kl = strlen(KEY), reps = (1 << 20) / kl;
	char *big = malloc(reps * kl + 1);
	assert_non_null(big);
	for (size_t i = 0; i < reps; i++)
		memcpy(big + i * kl, KEY, kl);
	big[reps * kl] = '\0';
	char *o = streamed(sc, big, 65536);
	assert_int_equal(strlen(o), reps * strlen(PH));
	assert_null(strstr(o, KEY));
	free(o);
	free(big);
	scrub_free(sc);
}

static void test_short_key(void **state)
{
	(void)state;
	struct scrub *sc = NULL;
	assert_int_equal(scrub_new("k", 1, PH, strlen(PH), &sc), 0);
	assert_int_equal(scrub_n_patterns(sc), 1); /* derived spellings would hit text */
	char *o = streamed(sc, "a k b", 1);
	assert_non_null(strstr(o, PH));
	assert_null(strchr(o, 'k'));
	free(o);
	scrub_free(sc);
	assert_int_equal(scrub_new("", 0, PH, strlen(PH), &sc), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spellings),
	    cmocka_unit_test(test_plain_text_untouched),
	    cmocka_unit_test(test_stream_holds_only_prefixes),
	    cmocka_unit_test(test_large_random_body),
	    cmocka_unit_test(test_many_matches),
	    cmocka_unit_test(test_short_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
