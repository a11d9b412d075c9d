/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS answer decoding (RFC 1035 section 4), for naming the addresses a traced command
 * connects to. The message comes from the traced side: every read is bounds-checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "learn-internal.h"

#define DNS_HEADER   12
#define DNS_TYPE_A   1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1
#define DNS_MAX_ANSWERS 64
#define DNS_MAX_JUMPS   32

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Read the name at *off into out (dotted, lowercase kept as sent; NULL: skip only).
 * Advances *off past the name in the message (not past pointer targets).
 */
static int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t out_size)
{
	size_t pos = *off, o = 0, end = 0;
	unsigned jumps = 0;
	for (;;) {
		if (pos >= len)
			return -EBADMSG;
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
				return -EBADMSG;
			if (!end)
				end = pos + 2;
			pos = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG;
		if (l == 0) {
			if (!end)
				end = pos + 1;
			break;
		}
		if (pos + 1 + l > len)
			return -EBADMSG;
		if (out) {
			if (o + l + 2 > out_size)
				return -EBADMSG;
			if (o)
				out[o++] = '.';
			memcpy(out + o, msg + pos + 1, l);
			o += l;
		}
		pos += 1 + (size_t)l;
	}
	if (out) {
		if (o == 0 && out_size > 1)
			out[o++] = '.';
		out[o] = 0;
		/* Refuse names with bytes that would garble the report. */
		for (size_t i = 0; i < o; i++)
			if (out[i] <= ' ' || out[i] >= 0x7f)
				return -EBADMSG;
	}
	*off = end;
	return 0;
}

int dns_decode_answer(const uint8_t *msg, size_t len, struct dns_map *m)
{
	if (len < DNS_HEADER)
		return -EBADMSG;
	if (!(msg[2] & 0x80)) /* QR: not a response */
		return -EBADMSG;
	unsigned qd = get16(msg + 4), an = get16(msg + 6);
	if (qd < 1)
		return -EBADMSG;
	size_t off = DNS_HEADER;
	char qname[256];
	int r = dns_read_name(msg, len, &off, qname, sizeof(qname));
	if (r < 0)
		return r;
	off += 4;
	for (unsigned i = 1; i < qd; i++) {
		r = dns_read_name(msg, len, &off, NULL, 0);
		if (r < 0)
			return r;
		off += 4;
	}
	if (off > len)
		return -EBADMSG;
	int added = 0;
	for (unsigned i = 0; i < an && i < DNS_MAX_ANSWERS; i++) {
		r = dns_read_name(msg, len, &off, NULL, 0);
		if (r < 0)
			return r;
		if (off + 10 > len)
			return -EBADMSG;
		uint16_t type = get16(msg + off), class = get16(msg + off + 2);
		uint16_t rdlen = get16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			return -EBADMSG;
		char addr[46];
		int af = 0;
		if (class == DNS_CLASS_IN && type == DNS_TYPE_A && rdlen == 4)
			af = AF_INET;
		else if (class == DNS_CLASS_IN && type == DNS_TYPE_AAAA && rdlen == 16)
			af = AF_INET6;
		if (af) {
			if (!inet_ntop(af, msg + off, addr, sizeof(addr)))
				return -errno;
			r = dns_map_add(m, addr, qname);
			if (r < 0)
				return r;
			added++;
		}
		off += rdlen;
	}
	return added;
}
