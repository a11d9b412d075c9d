/* SPDX-License-Identifier: Apache-2.0 */
#include "toml.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "strbuf.h"
#include "strv.h"

struct parser {
	const char *p, *end, *line_start;
	int line;
	const char *file;
	struct diag *d;
	struct toml_doc *doc;
	char *table; /* current table name */
};

static int fail(struct parser *ps, const char *fmt, ...) _printf_(2, 3);
static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_set(ps->d, ps->file, ps->line, (int)(ps->p - ps->line_start) + 1, "%s", msg);
	return -EINVAL;
}

static bool at_end(const struct parser *ps)
{
	return ps->p >= ps->end;
}

static void skip_ws(struct parser *ps)
{
	while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* Skip a comment to the end of the line (not the newline itself). */
static int skip_comment(struct parser *ps)
{
	if (at_end(ps) || *ps->p != '#')
		return 0;
	for (; !at_end(ps) && *ps->p != '\n'; ps->p++) {
		unsigned char c = (unsigned char)*ps->p;
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return fail(ps, "control character in a comment");
	}
	return 0;
}

/* After a value or header: blanks, an optional comment, then end of line or file. */
static int end_of_line(struct parser *ps)
{
	skip_ws(ps);
	int r = skip_comment(ps);
	if (r < 0)
		return r;
	if (!at_end(ps) && *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	if (at_end(ps))
		return 0;
	if (*ps->p != '\n')
		return fail(ps, "unexpected '%.1s' after the value (one key = value per line)",
			    ps->p);
	ps->p++;
	ps->line++;
	ps->line_start = ps->p;
	return 0;
}

/* Blank lines, comments and newlines (inside arrays and between statements). */
static int skip_blank(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		int r = skip_comment(ps);
		if (r < 0)
			return r;
		if (!at_end(ps) && *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			ps->p++;
		if (at_end(ps) || *ps->p != '\n')
			return 0;
		ps->p++;
		ps->line++;
		ps->line_start = ps->p;
	}
}

static bool bare_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static int put_utf8(struct strbuf *sb, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return strbuf_add(sb, b, n);
}

/* A basic "..." or literal '...' string, single line; ps->p at the opening quote. */
static int parse_string(struct parser *ps, char **ret)
{
	struct strbuf sb = STRBUF_INIT;
	char q = *ps->p++;
	int r = 0;

	if (ps->end - ps->p >= 2 && ps->p[0] == q && ps->p[1] == q)
		return fail(ps, "multi-line strings are not supported");
	for (;;) {
		if (at_end(ps) || *ps->p == '\n') {
			r = fail(ps, "unterminated string");
			break;
		}
		char c = *ps->p;
		if (c == q) {
			ps->p++;
			break;
		}
		if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7f) {
			r = fail(ps, "control character in a string (use an escape)");
			break;
		}
		if (c != '\\' || q == '\'') {
			r = strbuf_add(&sb, &c, 1);
			ps->p++;
			if (r < 0)
				break;
			continue;
		}
		ps->p++;
		if (at_end(ps)) {
			r = fail(ps, "unterminated string");
			break;
		}
		char e = *ps->p++;
		const char *simple = strchr("btnfr\"\\", e);
		if (e && simple) {
			static const char map[] = "\b\t\n\f\r\"\\";
			r = strbuf_add(&sb, &map[simple - "btnfr\"\\"], 1);
		} else if (e == 'u' || e == 'U') {
			const char *esc = ps->p - 2;
			int digits = e == 'u' ? 4 : 8;
			uint32_t cp = 0;
			for (int i = 0; i < digits; i++, ps->p++) {
				char h = at_end(ps) ? 0 : *ps->p;
				int v = h >= '0' && h <= '9'   ? h - '0'
					: h >= 'a' && h <= 'f' ? h - 'a' + 10
					: h >= 'A' && h <= 'F' ? h - 'A' + 10
							       : -1;
				if (v < 0) {
					r = fail(ps, "bad \\%s escape: expected hex digits",
						 e == 'u' ? "u" : "U");
					goto out;
				}
				cp = cp << 4 | (uint32_t)v;
			}
			if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0) {
				ps->p = esc;
				r = fail(ps, "escape names no valid character");
				break;
			}
			r = put_utf8(&sb, cp);
		} else {
			ps->p -= 2; /* point at the backslash */
			r = fail(ps, "unknown escape '\\%.1s'", ps->p + 1);
			break;
		}
		if (r < 0)
			break;
	}
out:
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

static int parse_key(struct parser *ps, char **ret)
{
	if (!at_end(ps) && (*ps->p == '"' || *ps->p == '\'')) {
		int r = parse_string(ps, ret);
		if (r < 0)
			return r;
		if (!(*ret)[0]) {
			free(*ret);
			*ret = NULL;
			return fail(ps, "empty key");
		}
		return 0;
	}
	const char *s = ps->p;
	while (!at_end(ps) && bare_char(*ps->p))
		ps->p++;
	if (ps->p == s)
		return fail(ps, "expected a key, found '%.1s'", at_end(ps) ? "end of file" : ps->p);
	*ret = strndup(s, (size_t)(ps->p - s));
	return *ret ? 0 : -ENOMEM;
}

/* A non-negative decimal integer: digits, '_' only between two digits, no leading 0. */
static int parse_integer(struct parser *ps, long long *ret)
{
	const char *s = ps->p;
	long long v = 0;

	if (*ps->p == '0' && ps->end - ps->p > 1 && (bare_char(ps->p[1]) || ps->p[1] == '.'))
		return fail(ps, "integers take no leading zero, sign, base prefix or fraction");
	for (; !at_end(ps) && (bare_char(*ps->p) || *ps->p == '.'); ps->p++) {
		char c = *ps->p;
		if (c == '_' && ps->p > s && ps->p[-1] != '_' && ps->end - ps->p > 1 &&
		    ps->p[1] >= '0' && ps->p[1] <= '9')
			continue;
		if (c < '0' || c > '9') {
			ps->p = s;
			return fail(ps, "not an integer (only digits, with '_' between them)");
		}
		v = v * 10 + (c - '0');
		if (v > TOML_INT_MAX) {
			ps->p = s;
			return fail(ps, "integer too large (at most %lld)", TOML_INT_MAX);
		}
	}
	*ret = v;
	return 0;
}

static int parse_array(struct parser *ps, char ***ret)
{
	_cleanup_strv_free_ char **arr = calloc(1, sizeof(char *));
	int r;
	if (!arr)
		return -ENOMEM;
	ps->p++; /* [ */
	for (;;) {
		if ((r = skip_blank(ps)) < 0)
			return r;
		if (at_end(ps))
			return fail(ps, "unterminated array");
		if (*ps->p == ']') {
			ps->p++;
			break;
		}
		if (*ps->p != '"' && *ps->p != '\'')
			return fail(ps, "arrays may hold strings only, found '%.1s'", ps->p);
		char *s = NULL;
		if ((r = parse_string(ps, &s)) < 0)
			return r;
		if ((r = strv_consume(&arr, s)) < 0) {
			free(s);
			return r;
		}
		if ((r = skip_blank(ps)) < 0)
			return r;
		if (!at_end(ps) && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (!at_end(ps) && *ps->p == ']') {
			ps->p++;
			break;
		}
		return fail(ps, "expected ',' or ']' in the array, found '%.1s'",
			    at_end(ps) ? "end of file" : ps->p);
	}
	*ret = TAKE_PTR(arr);
	return 0;
}

static void entry_release(struct toml_entry *e)
{
	free(e->table);
	free(e->key);
	free(e->str);
	strv_free(e->arr);
}

static int parse_keyval(struct parser *ps)
{
	struct toml_entry e = {.line = ps->line, .column = (int)(ps->p - ps->line_start) + 1};
	int r;

	if ((r = parse_key(ps, &e.key)) < 0)
		return r;
	skip_ws(ps);
	if (!at_end(ps) && *ps->p == '.') {
		r = fail(ps, "dotted keys are not supported; use a [table]");
		goto fail;
	}
	if (at_end(ps) || *ps->p != '=') {
		r = fail(ps, "expected '=' after key '%s'", e.key);
		goto fail;
	}
	ps->p++;
	skip_ws(ps);
	for (size_t i = 0; i < ps->doc->n; i++)
		if (streq(ps->doc->entries[i].table, ps->table) &&
		    streq(ps->doc->entries[i].key, e.key)) {
			ps->p = ps->line_start + e.column - 1;
			r = fail(ps, "duplicate key '%s'", e.key);
			goto fail;
		}
	if (at_end(ps) || *ps->p == '\n' || *ps->p == '#') {
		r = fail(ps, "missing value for key '%s'", e.key);
		goto fail;
	}
	if (*ps->p == '"' || *ps->p == '\'') {
		e.type = TOML_STRING;
		r = parse_string(ps, &e.str);
	} else if (*ps->p == '[') {
		e.type = TOML_ARRAY;
		r = parse_array(ps, &e.arr);
	} else if (ps->end - ps->p >= 4 && strncmp(ps->p, "true", 4) == 0 &&
		   (ps->end - ps->p == 4 || !bare_char(ps->p[4]))) {
		e.type = TOML_BOOL;
		e.b = true;
		ps->p += 4;
	} else if (ps->end - ps->p >= 5 && strncmp(ps->p, "false", 5) == 0 &&
		   (ps->end - ps->p == 5 || !bare_char(ps->p[5]))) {
		e.type = TOML_BOOL;
		ps->p += 5;
	} else if (*ps->p >= '0' && *ps->p <= '9') {
		e.type = TOML_INTEGER;
		r = parse_integer(ps, &e.i);
	} else
		r = fail(ps,
			 "unsupported value for key '%s': use a \"string\", true/false, a "
			 "non-negative integer or [\"an\", \"array\"]",
			 e.key);
	if (r < 0)
		goto fail;
	if ((r = end_of_line(ps)) < 0)
		goto fail;
	if (!(e.table = strdup(ps->table))) {
		r = -ENOMEM;
		goto fail;
	}
	struct toml_entry *ne =
	    reallocarray(ps->doc->entries, ps->doc->n + 1, sizeof(struct toml_entry));
	if (!ne) {
		r = -ENOMEM;
		goto fail;
	}
	ps->doc->entries = ne;
	ne[ps->doc->n++] = e;
	return 0;
fail:
	entry_release(&e);
	return r;
}

static int parse_header(struct parser *ps)
{
	struct strbuf name = STRBUF_INIT;
	int r = 0;

	ps->p++; /* [ */
	if (!at_end(ps) && *ps->p == '[') {
		return fail(ps, "arrays of tables ([[...]]) are not supported");
	}
	for (;;) {
		_cleanup_free_ char *k = NULL;
		skip_ws(ps);
		if ((r = parse_key(ps, &k)) < 0)
			goto out;
		if ((name.len && (r = strbuf_adds(&name, ".")) < 0) ||
		    (r = strbuf_adds(&name, k)) < 0)
			goto out;
		skip_ws(ps);
		if (!at_end(ps) && *ps->p == '.') {
			ps->p++;
			continue;
		}
		if (!at_end(ps) && *ps->p == ']') {
			ps->p++;
			break;
		}
		r = fail(ps, "expected ']' to close the table header");
		goto out;
	}
	STRV_FOREACH(t, ps->doc->tables)
	if (streq(*t, name.buf)) {
		r = fail(ps, "duplicate table [%s]", name.buf);
		goto out;
	}
	if ((r = strv_extend(&ps->doc->tables, name.buf)) < 0)
		goto out;
	free(ps->table);
	ps->table = strbuf_detach(&name);
	if (!ps->table)
		return -ENOMEM;
	return end_of_line(ps);
out:
	strbuf_release(&name);
	return r;
}

int toml_parse(const char *buf, size_t len, const char *file, struct toml_doc **ret, struct diag *d)
{
	struct parser ps = {
	    .p = buf, .end = buf + len, .line_start = buf, .line = 1, .file = file, .d = d};
	_cleanup_toml_ struct toml_doc *doc = calloc(1, sizeof(*doc));
	int r = 0;

	if (!doc || !(ps.table = strdup("")))
		return -ENOMEM;
	ps.doc = doc;
	if (len > TOML_MAX_SIZE) {
		diag_set(d, file, 0, 0, "larger than %d bytes", TOML_MAX_SIZE);
		return -E2BIG;
	}
	if (memchr(buf, 0, len)) {
		const char *z = memchr(buf, 0, len);
		int line = 1;
		for (const char *c = buf; c < z; c++)
			line += *c == '\n';
		diag_set(d, file, line, 0, "NUL byte in the file");
		free(ps.table);
		return -EINVAL;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3; /* UTF-8 byte order mark */
	for (;;) {
		if ((r = skip_blank(&ps)) < 0 || at_end(&ps))
			break;
		r = *ps.p == '[' ? parse_header(&ps) : parse_keyval(&ps);
		if (r < 0)
			break;
	}
	free(ps.table);
	if (r < 0)
		return r;
	if (!doc->tables && !(doc->tables = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(doc);
	return 0;
}

int toml_parse_file(const char *path, struct toml_doc **ret, struct diag *d)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	char buf[8192];
	int r;

	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			diag_set(d, path, 0, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		diag_set(d, path, 0, 0, "not a regular file");
		return -EINVAL;
	}
	sb.max = TOML_MAX_SIZE;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			diag_set(d, path, 0, 0, "cannot read: %s", strerror(-r));
			strbuf_release(&sb);
			return r;
		}
		if (n == 0)
			break;
		if ((r = strbuf_add(&sb, buf, (size_t)n)) < 0) {
			if (r == -E2BIG)
				diag_set(d, path, 0, 0, "larger than %d bytes", TOML_MAX_SIZE);
			strbuf_release(&sb);
			return r;
		}
	}
	r = toml_parse(sb.buf ? sb.buf : "", sb.len, path, ret, d);
	strbuf_release(&sb);
	return r;
}

struct toml_doc *toml_doc_free(struct toml_doc *doc)
{
	if (!doc)
		return NULL;
	for (size_t i = 0; i < doc->n; i++)
		entry_release(&doc->entries[i]);
	free(doc->entries);
	strv_free(doc->tables);
	free(doc);
	return NULL;
}

void toml_doc_freep(struct toml_doc **doc)
{
	*doc = toml_doc_free(*doc);
}

const char *toml_type_name(enum toml_type t)
{
	static const char *const names[] = {"a string", "a boolean", "an array", "an integer"};
	return t < _TOML_TYPE_MAX ? names[t] : "?";
}
