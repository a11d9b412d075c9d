/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A detached session's control side (supervisor/session-control.h): the detach key
 * sequence notation of [ui] detach_sequence, and the control protocol's parser (each
 * side accepts only the other's message types, with exact payload sizes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "supervisor/session-control.h"

static void seq_ok(const char *s, const char *want, size_t want_len)
{
	uint8_t b[DETACH_SEQ_MAX];
	size_t n = 99;
	assert_int_equal(detach_seq_parse(s, b, &n), 0);
	assert_int_equal(n, want_len);
	assert_memory_equal(b, want, want_len);
}

static void seq_bad(const char *s)
{
	uint8_t b[DETACH_SEQ_MAX] = {0};
	size_t n = 99;
	assert_int_equal(detach_seq_parse(s, b, &n), -EINVAL);
	assert_int_equal(n, 99); /* untouched on failure */
}

static void test_detach_sequence(void **state)
{
	(void)state;
	seq_ok(DETACH_SEQ_DEFAULT,
	       "\x1d"
	       "d",
	       2);
	seq_ok("ctrl-a x", "\x01x", 2);
	seq_ok("CTRL-A", "\x01", 1);
	seq_ok("ctrl-@ ctrl-_ ctrl-? ctrl-[", "\x00\x1f\x7f\x1b", 4);
	seq_ok("  ctrl-b   q  ", "\x02q", 2);
	seq_ok("~ .", "~.", 2);
	seq_ok("a b c d e f g h", "abcdefgh", 8);
	seq_bad("");
	seq_bad("   ");
	seq_bad("a b c d e f g h i"); /* more than DETACH_SEQ_MAX keys */
	seq_bad("ctrl-]d");	      /* one key per token */
	seq_bad("dd");
	seq_bad("ctrl-1");
	seq_bad("ctrl-");
	seq_bad("ctrl-]]");
	seq_bad("alt-x");
	seq_bad("\x01");
	seq_bad("\t");
	seq_bad("\xc3\xa9"); /* not ASCII */
}

static int parse(const char *b, size_t n, bool from_client, struct ctl_msg *m)
{
	return ctl_msg_parse((const uint8_t *)b, n, from_client, m);
}

static void test_protocol(void **state)
{
	struct ctl_msg m;
	uint8_t ws[4], code[4];
	(void)state;
	ctl_put_winsize(ws, 300, 1000);
	char hello[5] = {'H'};
	memcpy(hello + 1, ws, 4);
	assert_int_equal(parse(hello, 5, true, &m), 0);
	assert_int_equal(m.type, CTL_HELLO);
	assert_int_equal(m.rows, 300);
	assert_int_equal(m.cols, 1000);
	assert_int_equal(parse(hello, 5, false, &m), -EBADMSG); /* the client's type */
	assert_int_equal(parse(hello, 4, true, &m), -EBADMSG);	/* short */
	hello[0] = 'W';
	assert_int_equal(parse(hello, 5, true, &m), 0);
	assert_int_equal(m.type, CTL_WINSIZE);

	assert_int_equal(parse("Iabc", 4, true, &m), 0);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.data, "abc", 3);
	assert_int_equal(parse("I", 1, true, &m), -EBADMSG); /* empty input */
	static char big[CTL_MAX_OUTPUT + 2];
	big[0] = 'I';
	assert_int_equal(parse(big, CTL_MAX_INPUT + 1, true, &m), 0);
	assert_int_equal(parse(big, CTL_MAX_INPUT + 2, true, &m), -EBADMSG);
	big[0] = 'O';
	assert_int_equal(parse(big, CTL_MAX_OUTPUT + 1, false, &m), 0);
	assert_int_equal(parse(big, CTL_MAX_OUTPUT + 2, false, &m), -EBADMSG);
	assert_int_equal(parse(big, 10, true, &m), -EBADMSG); /* output from a client */

	assert_int_equal(parse("D", 1, true, &m), 0);
	assert_int_equal(parse("Dx", 2, true, &m), -EBADMSG);
	assert_int_equal(parse("D", 1, false, &m), -EBADMSG);

	ctl_put_code(code, -2);
	char ex[5] = {'E'};
	memcpy(ex + 1, code, 4);
	assert_int_equal(parse(ex, 5, false, &m), 0);
	assert_int_equal(m.code, -2);
	ctl_put_code(code, 143);
	memcpy(ex + 1, code, 4);
	assert_int_equal(parse(ex, 5, false, &m), 0);
	assert_int_equal(m.code, 143);
	assert_int_equal(parse(ex, 5, true, &m), -EBADMSG);

	assert_int_equal(parse("Rid name", 8, false, &m), 0);
	assert_int_equal(parse("Xno", 3, false, &m), 0);
	assert_int_equal(parse("Rx", 2, true, &m), -EBADMSG);
	assert_int_equal(parse("", 0, true, &m), -EBADMSG);
	assert_int_equal(parse("Z", 1, true, &m), -EBADMSG);
	assert_int_equal(parse("Z", 1, false, &m), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detach_sequence),
	    cmocka_unit_test(test_protocol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
