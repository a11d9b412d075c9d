/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/http1.h"

#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <string.h>

#include "base/macro.h"
#include "base/parse.h"

struct ctx {
	struct http1_head *h;
	bool in_value;
	int err; /* negative status */
	bool done;
};

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct ctx *c = p->data;
	if (c->h->target.p)
		c->h->target.n += n; /* contiguous buffer: continuation */
	else
		c->h->target = (struct span){at, n};
	if (c->h->target.n > HTTP1_MAX_TARGET) {
		c->err = -414;
		return 1;
	}
	return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
	struct ctx *c = p->data;
	struct http1_head *h = c->h;

	if (!c->in_value && h->n_headers > 0 && h->headers[h->n_headers - 1].value.p == NULL) {
		h->headers[h->n_headers - 1].name.n += n;
		return 0;
	}
	if (h->n_headers >= HTTP1_MAX_HEADERS) {
		c->err = -431;
		return 1;
	}
	h->headers[h->n_headers++] = (struct http1_header){.name = {at, n}};
	c->in_value = false;
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
	struct ctx *c = p->data;

	if (c->h->n_headers == 0)
		return 1;
	struct http1_header *hd = &c->h->headers[c->h->n_headers - 1];
	if (hd->value.p)
		hd->value.n += n;
	else
		hd->value = (struct span){at, n};
	c->in_value = true;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct ctx *c = p->data;
	c->done = true;
	c->h->has_content_length = p->content_length != ULLONG_MAX;
	if (c->h->has_content_length)
		c->h->content_length = p->content_length;
	c->h->chunked = (p->flags & F_CHUNKED) != 0;
	return 0;
}

static void *find_end(const char *buf, size_t len)
{
	return memmem(buf, len, "\r\n\r\n", 4);
}

static int parse_head(const char *buf, size_t len, struct http1_head *ret, bool response)
{
	static const http_parser_settings settings = {
	    .on_url = on_url,
	    .on_header_field = on_field,
	    .on_header_value = on_value,
	    .on_headers_complete = on_headers_complete,
	};
	const char *end = find_end(buf, len < HTTP1_MAX_HEAD ? len : HTTP1_MAX_HEAD);
	http_parser p;
	struct ctx c = {.h = ret};

	if (!end)
		return len >= HTTP1_MAX_HEAD ? -431 : 0;
	size_t head_len = (size_t)(end - buf) + 4;
	/*
	 * Lines end in CRLF only. http-parser also takes "\r\r" or a bare LF as a line
	 * end, so in "...\r\n\r\r\n\r\n" it would end the head (and count body bytes)
	 * before head_len, and the body we relay would be framed differently from the
	 * head we send (found by fuzz-framing).
	 */
	for (size_t i = 0; i < head_len; i++)
		if ((buf[i] == '\r' && (i + 1 == head_len || buf[i + 1] != '\n')) ||
		    (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')))
			return -400;

	memset(ret, 0, offsetof(struct http1_head, headers));
	ret->n_headers = 0;
	ret->has_content_length = false;
	ret->chunked = false;
	ret->content_length = 0;

	http_parser_init(&p, response ? HTTP_RESPONSE : HTTP_REQUEST);
	p.data = &c;
	size_t k = http_parser_execute(&p, &settings, buf, head_len);
	if (c.err)
		return c.err;
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK || !c.done || (!response && !ret->target.p))
		return -400;
	(void)k;
	/* Every header name must be non-empty; values are spans without the CRLF. */
	for (size_t i = 0; i < ret->n_headers; i++)
		if (ret->headers[i].name.n == 0 || !ret->headers[i].value.p)
			return -400;
	if (response)
		ret->status = p.status_code;
	else {
		ret->method = p.method;
		ret->method_str = http_method_str(p.method);
	}
	ret->http_major = p.http_major;
	ret->http_minor = p.http_minor;
	ret->head_len = head_len;
	return 1;
}

int http1_parse_head(const char *buf, size_t len, struct http1_head *ret)
{
	return parse_head(buf, len, ret, false);
}

int http1_parse_response_head(const char *buf, size_t len, struct http1_head *ret)
{
	return parse_head(buf, len, ret, true);
}

/*
 * A response without a body whatever its headers say: to HEAD, and 1xx, 204 and 304
 * (RFC 9112 6.3). http-parser reads a body after a 204 or 304 that names a length or
 * chunking, where the client reads none (found by fuzz-framing).
 */
static bool fr_no_body(const struct http1_framer *f)
{
	const http_parser *p = &f->p;
	return f->no_body ||
	       (p->type == HTTP_RESPONSE &&
		(p->status_code / 100 == 1 || p->status_code == 204 || p->status_code == 304));
}

static int fr_headers_complete(http_parser *p)
{
	return fr_no_body(p->data) ? 1 : 0; /* 1: skip the body */
}

static int fr_message_complete(http_parser *p)
{
	struct http1_framer *f = p->data;
	f->complete = true;
	http_parser_pause(p, 1); /* stop right here: what follows is the next message */
	return 0;
}

void http1_framer_init(struct http1_framer *f, bool response, bool head_request)
{
	*f = (struct http1_framer){.no_body = response && head_request};
	http_parser_init(&f->p, response ? HTTP_RESPONSE : HTTP_REQUEST);
	f->p.data = f;
}

/*
 * The head (states HEAD_*: up to its CRLFCRLF, which is where http-parser ends it,
 * parse_head() making sure lines end in CRLF only), then, for a chunked body,
 * RFC 9112 section 7.1 strictly: hex size, optional extension, CRLF, data, CRLF, ...,
 * "0" CRLF, trailer lines, CRLF.
 */
enum chunk_state {
	CS_HEAD0,
	CS_HEAD_CR,
	CS_HEAD_CRLF,
	CS_HEAD_CRLFCR,
	CS_NONE, /* not chunked: http-parser's framing alone */
	CS_SIZE,
	CS_EXT,
	CS_SIZE_LF,
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TRAILER_START,
	CS_TRAILER,
	CS_TRAILER_LF,
	CS_END_LF,
	CS_DONE,
};

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool chunked_body(const struct http1_framer *f)
{
	return (f->p.flags & F_CHUNKED) && !fr_no_body(f);
}

static int chunk_check(struct http1_framer *f, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && f->cstate != CS_NONE; i++) {
		unsigned char c = (unsigned char)buf[i];
		int v;
		switch (f->cstate) {
		case CS_HEAD0:
		case CS_HEAD_CRLF:
			if (c != '\r')
				f->cstate = CS_HEAD0;
			else
				f->cstate = f->cstate == CS_HEAD0 ? CS_HEAD_CR : CS_HEAD_CRLFCR;
			break;
		case CS_HEAD_CR:
			f->cstate = c == '\n' ? CS_HEAD_CRLF : c == '\r' ? CS_HEAD_CR : CS_HEAD0;
			break;
		case CS_HEAD_CRLFCR:
			if (c != '\n')
				f->cstate = c == '\r' ? CS_HEAD_CR : CS_HEAD0;
			else
				f->cstate = chunked_body(f) ? CS_SIZE : CS_NONE;
			f->cleft = 0;
			f->cdigits = 0;
			break;
		case CS_SIZE:
			if ((v = hexval(c)) >= 0) {
				if (++f->cdigits > 16)
					return -EBADMSG;
				f->cleft = f->cleft << 4 | (uint64_t)v;
			} else if (f->cdigits && (c == ';' || c == '\r'))
				f->cstate = c == ';' ? CS_EXT : CS_SIZE_LF;
			else
				return -EBADMSG;
			break;
		case CS_EXT:
			if (c == '\r')
				f->cstate = CS_SIZE_LF;
			else if (c < 0x20 && c != '\t')
				return -EBADMSG;
			break;
		case CS_SIZE_LF:
			if (c != '\n')
				return -EBADMSG;
			f->cstate = f->cleft ? CS_DATA : CS_TRAILER_START;
			break;
		case CS_DATA: {
			size_t take = n - i < f->cleft ? n - i : (size_t)f->cleft;
			f->cleft -= take;
			i += take - 1;
			if (f->cleft == 0)
				f->cstate = CS_DATA_CR;
			break;
		}
		case CS_DATA_CR:
		case CS_TRAILER:
			if (c == '\r')
				f->cstate = f->cstate == CS_DATA_CR ? CS_DATA_LF : CS_TRAILER_LF;
			else if (f->cstate == CS_DATA_CR || c == '\n')
				return -EBADMSG;
			break;
		case CS_DATA_LF:
		case CS_TRAILER_LF:
			if (c != '\n')
				return -EBADMSG;
			f->cstate = f->cstate == CS_DATA_LF ? CS_SIZE : CS_TRAILER_START;
			f->cdigits = 0;
			break;
		case CS_TRAILER_START:
			if (c == '\n')
				return -EBADMSG;
			f->cstate = c == '\r' ? CS_END_LF : CS_TRAILER;
			break;
		case CS_END_LF:
			if (c != '\n')
				return -EBADMSG;
			f->cstate = CS_DONE;
			break;
		default: /* CS_DONE: nothing may follow inside this message */
			return -EBADMSG;
		}
	}
	return 0;
}

ssize_t http1_framer_feed(struct http1_framer *f, const char *buf, size_t n)
{
	static const http_parser_settings settings = {
	    .on_headers_complete = fr_headers_complete,
	    .on_message_complete = fr_message_complete,
	};
	if (f->complete)
		return 0;
	size_t k = http_parser_execute(&f->p, &settings, buf, n);
	if (chunk_check(f, buf, k) < 0)
		return -EBADMSG;
	if (f->complete) {
		/* A chunked message ends where the strict reading ends it, too. */
		if (f->cstate >= CS_SIZE && f->cstate != CS_DONE)
			return -EBADMSG;
		return (ssize_t)k;
	}
	if (HTTP_PARSER_ERRNO(&f->p) != HPE_OK)
		return -EBADMSG;
	return (ssize_t)k;
}

bool http1_framer_needs_eof(const struct http1_framer *f)
{
	/* http-parser's own http_message_needs_eof() is not in its public header. */
	const http_parser *p = &f->p;
	if (p->type == HTTP_REQUEST || f->no_body || (p->flags & F_CHUNKED))
		return false;
	if (p->status_code / 100 == 1 || p->status_code == 204 || p->status_code == 304)
		return false;
	return p->content_length == ULLONG_MAX;
}

bool http1_framer_keep_alive(const struct http1_framer *f)
{
	return http_should_keep_alive(&f->p) != 0;
}

struct span http1_header_get(const struct http1_head *h, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < h->n_headers; i++)
		if (h->headers[i].name.n == nl && strncasecmp(h->headers[i].name.p, name, nl) == 0)
			return h->headers[i].value;
	return (struct span){NULL, 0};
}

bool http1_is_connect(const struct http1_head *h)
{
	return h->method == HTTP_CONNECT;
}

static int split_host_port(const char *s, size_t n, char *host, size_t hn, uint16_t *port,
			   bool port_required)
{
	char pbuf[8];
	size_t hl;
	const char *colon;

	if (n == 0)
		return -EINVAL;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return -EINVAL;
		hl = (size_t)(rb - s) - 1;
		if (hl + 1 > hn || hl == 0)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		colon = rb + 1 < s + n ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return -EINVAL;
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - s) : n;
		if (hl == 0 || hl + 1 > hn)
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	if (memchr(host, '\0', hl))
		return -EINVAL;
	if (!colon) {
		if (port_required)
			return -EINVAL;
		*port = 80;
		return 0;
	}
	size_t pl = (size_t)(s + n - colon - 1);
	if (pl == 0 || pl >= sizeof(pbuf))
		return -EINVAL;
	memcpy(pbuf, colon + 1, pl);
	pbuf[pl] = '\0';
	return parse_port(pbuf, port);
}

int http1_parse_authority(struct span t, char *host, size_t n, uint16_t *ret_port)
{
	return split_host_port(t.p, t.n, host, n, ret_port, true);
}

int http1_parse_absolute(struct span t, char *host, size_t n, uint16_t *ret_port,
			 struct span *ret_path)
{
	static const char pre[] = "http://";
	const size_t pl = sizeof(pre) - 1;

	if (t.n <= pl || strncasecmp(t.p, pre, pl) != 0)
		return -EINVAL;
	const char *a = t.p + pl, *e = t.p + t.n;
	const char *slash = a;
	while (slash < e && *slash != '/' && *slash != '?' && *slash != '#')
		slash++;
	if (memchr(a, '@', (size_t)(slash - a)))
		return -EINVAL;
	int r = split_host_port(a, (size_t)(slash - a), host, n, ret_port, false);
	if (r < 0)
		return r;
	if (slash < e && *slash != '/')
		return -EINVAL; /* "http://host?x": refuse rather than invent a path */
	*ret_path = (struct span){slash, (size_t)(e - slash)};
	return 0;
}

const char *http1_reason(int status)
{
	switch (status) {
	case 200:
		return "Connection established";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 403:
		return "Forbidden";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}
