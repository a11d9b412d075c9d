/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "base/macro.h"
#include "base/strbuf.h"
#include "proxy/http1.h"

static int parse(const char *s, struct http1_head *h)
{
	return http1_parse_head(s, strlen(s), h);
}

static void test_connect(void **state)
{
	(void)state;
	struct http1_head h;
	const char *req = "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n"
			  "Proxy-Authorization: Bearer x\r\n\r\n\x16\x03\x01";
	assert_int_equal(parse(req, &h), 1);
	assert_true(http1_is_connect(&h));
	assert_int_equal(h.head_len, strlen(req) - 3);
	assert_int_equal(h.n_headers, 2);
	struct span v = http1_header_get(&h, "proxy-AUTHORIZATION");
	assert_int_equal(v.n, 8);
	assert_memory_equal(v.p, "Bearer x", 8);
	assert_null(http1_header_get(&h, "Cookie").p);

	char host[256];
	uint16_t port;
	assert_int_equal(http1_parse_authority(h.target, host, sizeof(host), &port), 0);
	assert_string_equal(host, "api.openai.com");
	assert_int_equal(port, 443);

	static const char *const bad[] = {"host",     "host:", ":443",	   "host:0", "host:65536",
					  "host:44x", "[::1]", "[::1]x:1", "[]:1",   "host:1:2"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct span s = {bad[i], strlen(bad[i])};
		if (http1_parse_authority(s, host, sizeof(host), &port) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
	struct span s6 = {"[fe80::1]:80", 12};
	assert_int_equal(http1_parse_authority(s6, host, sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 80);
}

static void test_absolute(void **state)
{
	(void)state;
	struct http1_head h;
	char host[256];
	uint16_t port;
	struct span path;

	assert_int_equal(parse("GET http://Example.com:8080/a/b?c=d HTTP/1.1\r\nHost: x\r\n"
			       "Content-Length: 5\r\n\r\n",
			       &h),
			 1);
	assert_false(http1_is_connect(&h));
	assert_true(h.has_content_length);
	assert_int_equal(h.content_length, 5);
	assert_int_equal(http1_parse_absolute(h.target, host, sizeof(host), &port, &path), 0);
	assert_string_equal(host, "Example.com");
	assert_int_equal(port, 8080);
	assert_int_equal(path.n, 8);
	assert_memory_equal(path.p, "/a/b?c=d", 8);

	struct span t = {"http://h", 8};
	assert_int_equal(http1_parse_absolute(t, host, sizeof(host), &port, &path), 0);
	assert_int_equal(port, 80);
	assert_int_equal(path.n, 0);
	static const char *const bad[] = {"/relative",	 "https://h/", "http://u@h/", "http://",
					  "http://:80/", "http://h?x", "ftp://h/"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct span s = {bad[i], strlen(bad[i])};
		if (http1_parse_absolute(s, host, sizeof(host), &port, &path) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
}

static void test_incomplete_and_malformed(void **state)
{
	(void)state;
	struct http1_head h;
	assert_int_equal(parse("CONNECT a:1 HTTP/1.1\r\nHost: a", &h), 0);
	assert_int_equal(parse("", &h), 0);
	assert_true(parse("GARBAGE\r\n\r\n", &h) < 0);
	assert_int_equal(parse("GET\r\n\r\n", &h), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nNo colon\r\n\r\n", &h), -400);
	assert_int_equal(
	    parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			       "Content-Length: 2\r\n\r\n",
			       &h),
			 -400);
	assert_int_equal(parse("GET http://a/\x01 HTTP/1.1\r\n\r\n", &h), -400);
	assert_int_equal(parse("BREW / HTTP/1.1\r\n\r\n", &h) < 0, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h), 1);
	assert_true(h.chunked);
	/* Only CRLF ends a line: http-parser would end this head at "\r\r", three bytes
	 * before the blank line, and take them as body (fuzz-framing). */
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\r\n\r\nhello", &h), -400);
	assert_int_equal(parse("GET / HTTP/1.1\nContent-Length: 5\r\n\r\nhello", &h), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", &h), -400);
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\r\n\r\nhello";
	assert_int_equal(http1_parse_response_head(resp, sizeof(resp) - 1, &h), -400);
}

/* Feed msg one byte at a time, then whole: both give the same verdict. */
static ssize_t frame(const char *msg, size_t n, bool response, bool bytewise)
{
	struct http1_framer f;
	size_t used = 0;
	http1_framer_init(&f, response, false);
	if (!bytewise) {
		ssize_t k = http1_framer_feed(&f, msg, n);
		return k < 0 ? k : f.complete ? k : -EAGAIN;
	}
	while (used < n && !f.complete) {
		ssize_t k = http1_framer_feed(&f, msg + used, 1);
		if (k < 0)
			return k;
		used += (size_t)k;
	}
	return f.complete ? (ssize_t)used : -EAGAIN;
}

/* Chunk framing is read strictly: http-parser (built lenient) takes any two bytes after
 * chunk data and any byte for some LFs, so a peer reading strictly would find the
 * message's end elsewhere (fuzz-framing). */
static void test_framer_chunks(void **state)
{
	static const char *const good[] = {
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n0123456789\r\n"
	    "0\r\nX-T: 1\r\n\r\n",
	};
	static const char *const bad[] = {
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\xb4",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\n\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\rXhello\r\n0\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		for (int b = 0; b < 2; b++)
			assert_int_equal(frame(good[i], strlen(good[i]), true, b),
					 (ssize_t)strlen(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		for (int b = 0; b < 2; b++)
			assert_int_equal(frame(bad[i], strlen(bad[i]), true, b), -EBADMSG);
	/* A request body the same way; what follows the message is not taken. */
	static const char req[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	assert_int_equal(frame(req, sizeof(req) - 1, false, false), sizeof(req) - 1 - 18);
	assert_int_equal(frame(req, sizeof(req) - 1, false, true), sizeof(req) - 1 - 18);
}

/* 1xx, 204 and 304 responses end with their head, whatever length or chunking they
 * name: the client reads no body there, so neither may the relay. */
static void test_framer_no_body_statuses(void **state)
{
	static const char *const heads[] = {
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	    "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
	    "HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(heads); i++) {
		char msg[256];
		int n = snprintf(msg, sizeof(msg), "%sHTTP/1.1 200 OK\r\n\r\n", heads[i]);
		for (int b = 0; b < 2; b++)
			assert_int_equal(frame(msg, (size_t)n, true, b), (ssize_t)strlen(heads[i]));
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct http1_head h;
	struct strbuf sb = STRBUF_INIT;

	/* Exactly 100 headers pass, 101 are 431. */
	assert_int_equal(strbuf_adds(&sb, "CONNECT a:1 HTTP/1.1\r\n"), 0);
	for (int i = 0; i < HTTP1_MAX_HEADERS; i++)
		assert_int_equal(strbuf_addf(&sb, "X-%d: v\r\n", i), 0);
	assert_int_equal(strbuf_adds(&sb, "\r\n"), 0);
	assert_int_equal(http1_parse_head(sb.buf, sb.len, &h), 1);
	assert_int_equal(h.n_headers, HTTP1_MAX_HEADERS);
	sb.len -= 2;
	assert_int_equal(strbuf_adds(&sb, "X-last: v\r\n\r\n"), 0);
	assert_int_equal(http1_parse_head(sb.buf, sb.len, &h), -431);
	strbuf_release(&sb);

	/* A head that does not end within 16 KiB is 431, even if the end comes later. */
	char *big = malloc(HTTP1_MAX_HEAD + 64);
	assert_non_null(big);
	int k = snprintf(big, 64, "GET http://a/ HTTP/1.1\r\nX: ");
	memset(big + k, 'a', HTTP1_MAX_HEAD + 64 - (size_t)k);
	assert_int_equal(http1_parse_head(big, HTTP1_MAX_HEAD - 1, &h), 0);
	assert_int_equal(http1_parse_head(big, HTTP1_MAX_HEAD, &h), -431);
	memcpy(big + HTTP1_MAX_HEAD + 10, "\r\n\r\n", 4);
	assert_int_equal(http1_parse_head(big, HTTP1_MAX_HEAD + 14, &h), -431);

	/* Target longer than 8 KiB is 414. */
	k = snprintf(big, 64, "GET http://a/");
	memset(big + k, 'b', HTTP1_MAX_TARGET);
	k += HTTP1_MAX_TARGET;
	k += snprintf(big + k, 64, " HTTP/1.1\r\n\r\n");
	assert_int_equal(http1_parse_head(big, (size_t)k, &h), -414);
	free(big);
	assert_string_equal(http1_reason(407), "Proxy Authentication Required");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_absolute),
	    cmocka_unit_test(test_incomplete_and_malformed),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_framer_chunks),
	    cmocka_unit_test(test_framer_no_body_statuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
