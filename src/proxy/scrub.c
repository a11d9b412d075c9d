/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/scrub.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "base/macro.h"

#define MAX_PATTERNS 24

struct pattern {
	char *from, *to;
	size_t from_len, to_len;
	uint16_t gram; /* hash of from[m-3..m-1]: the shift table's key */
};

struct scrub {
	struct pattern pats[MAX_PATTERNS];
	size_t n;
	size_t m;      /* shortest pattern */
	size_t maxlen; /* longest pattern */
	bool first[256];
	uint8_t shift[4096]; /* by trigram hash: how far the window may move on */
};

/*
 * Trigrams rather than bigrams (English bigrams hit most keys' bigrams), hashed to
 * 12 bits: the table stays in the L1 cache.
 */
static inline uint16_t h3(const unsigned char *p)
{
	return (uint16_t)((((unsigned)p[0] << 7) ^ ((unsigned)p[1] << 4) ^ p[2]) & 0xfff);
}

static void pattern_wipe(struct pattern *p)
{
	if (p->from)
		OPENSSL_cleanse(p->from, p->from_len);
	if (p->to)
		OPENSSL_cleanse(p->to, p->to_len);
	free(p->from);
	free(p->to);
	*p = (struct pattern){0};
}

struct scrub *scrub_free(struct scrub *sc)
{
	if (!sc)
		return NULL;
	for (size_t i = 0; i < sc->n; i++)
		pattern_wipe(&sc->pats[i]);
	OPENSSL_cleanse(sc, sizeof(*sc));
	free(sc);
	return NULL;
}

size_t scrub_max_len(const struct scrub *sc)
{
	return sc->maxlen;
}

size_t scrub_n_patterns(const struct scrub *sc)
{
	return sc->n;
}

/* One spelling of a byte string: into a new buffer of *ret_len bytes. */
enum spelling {
	SP_RAW,
	SP_UPPER,
	SP_LOWER,
	SP_HEX_LOWER,
	SP_HEX_UPPER,
	SP_PCT_UPPER,
	SP_PCT_LOWER,
	SP_PCT_COMPONENT,
	SP_JSON_SLASH,
	SP_B64_0,
	SP_B64_1,
	SP_B64_2,
	SP_B64URL_0,
	SP_B64URL_1,
	SP_B64URL_2,
	SP_MAX,
};

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static char *spell(enum spelling sp, const char *s, size_t n, size_t *ret_len)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	size_t cap = 3 * n + 8;
	char *o = malloc(cap), *t = NULL;
	size_t k = 0;

	if (!o)
		return NULL;
	switch (sp) {
	case SP_RAW:
	case SP_UPPER:
	case SP_LOWER:
		for (size_t i = 0; i < n; i++) {
			char c = s[i];
			if (sp == SP_UPPER && c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (sp == SP_LOWER && c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			o[k++] = c;
		}
		break;
	case SP_HEX_LOWER:
	case SP_HEX_UPPER:
		for (size_t i = 0; i < n; i++) {
			const char *d = sp == SP_HEX_LOWER ? lo : up;
			o[k++] = d[(unsigned char)s[i] >> 4];
			o[k++] = d[(unsigned char)s[i] & 15];
		}
		break;
	case SP_PCT_UPPER:
	case SP_PCT_LOWER:
	case SP_PCT_COMPONENT:
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (sp == SP_PCT_COMPONENT && unreserved(c)) {
				o[k++] = (char)c;
				continue;
			}
			const char *d = sp == SP_PCT_LOWER ? lo : up;
			o[k++] = '%';
			o[k++] = d[c >> 4];
			o[k++] = d[c & 15];
		}
		break;
	case SP_JSON_SLASH:
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '/')
				o[k++] = '\\';
			o[k++] = s[i];
		}
		break;
	default: {
		/* The characters of base64(a bytes + s) that depend on s alone. */
		size_t a = (size_t)(sp - SP_B64_0) % 3;
		bool url = sp >= SP_B64URL_0;
		size_t in = a + n, outcap = 4 * ((in + 2) / 3) + 1;
		unsigned char *ib = calloc(1, in ? in : 1);
		t = malloc(outcap);
		if (!ib || !t || outcap > cap + n + 8) {
			free(ib);
			goto fail;
		}
		memcpy(ib + a, s, n);
		int el = EVP_EncodeBlock((unsigned char *)t, ib, (int)in);
		OPENSSL_cleanse(ib, in);
		free(ib);
		size_t b = (8 * a + 5) / 6, e = 8 * in / 6;
		if (el < 0 || e > (size_t)el || b >= e)
			goto fail;
		for (size_t i = b; i < e; i++) {
			char c = t[i];
			if (url && c == '+')
				c = '-';
			else if (url && c == '/')
				c = '_';
			o[k++] = c;
		}
		OPENSSL_cleanse(t, outcap);
		free(t);
		t = NULL;
		break;
	}
	}
	*ret_len = k;
	return o;
fail:
	free(t);
	OPENSSL_cleanse(o, cap);
	free(o);
	return NULL;
}

int scrub_new(const char *key, size_t kl, const char *phantom, size_t pl, struct scrub **ret)
{
	if (!key || kl == 0 || !phantom || pl == 0)
		return -EINVAL;
	struct scrub *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	for (int sp = 0; sp < SP_MAX; sp++) {
		struct pattern p = {0};
		p.from = spell((enum spelling)sp, key, kl, &p.from_len);
		p.to = spell((enum spelling)sp, phantom, pl, &p.to_len);
		if (!p.from || !p.to) {
			pattern_wipe(&p);
			if (sp >= SP_B64_0 && (kl < 2 || pl < 2))
				continue; /* too short to have key-only base64 characters */
			scrub_free(sc);
			return -ENOMEM;
		}
		bool dup = sp != SP_RAW && p.from_len < SCRUB_MIN_DERIVED;
		for (size_t i = 0; i < sc->n && !dup; i++)
			dup = sc->pats[i].from_len == p.from_len &&
			      memcmp(sc->pats[i].from, p.from, p.from_len) == 0;
		if (dup || sc->n == MAX_PATTERNS) {
			pattern_wipe(&p);
			continue;
		}
		sc->pats[sc->n++] = p;
	}
	sc->m = SIZE_MAX;
	for (size_t i = 0; i < sc->n; i++) {
		sc->m = MIN(sc->m, sc->pats[i].from_len);
		sc->maxlen = MAX(sc->maxlen, sc->pats[i].from_len);
		sc->first[(unsigned char)sc->pats[i].from[0]] = true;
	}
	/* Shift table over trigrams ending at window offsets 2..m-1 (none for m < 3). */
	size_t dflt = sc->m > 2 ? MIN(sc->m - 2, (size_t)255) : 0;
	memset(sc->shift, (int)dflt, sizeof(sc->shift));
	for (size_t i = 0; i < sc->n && sc->m > 2; i++) {
		const unsigned char *f = (const unsigned char *)sc->pats[i].from;
		for (size_t q = 2; q < sc->m; q++) {
			uint16_t g = h3(f + q - 2);
			size_t s = sc->m - 1 - q;
			if (s < sc->shift[g])
				sc->shift[g] = (uint8_t)s;
		}
		sc->pats[i].gram = h3(f + sc->m - 3);
	}
	*ret = sc;
	return 0;
}

/* The longest pattern matching at buf+at within len, or -1. */
static int match_at(const struct scrub *sc, const char *buf, size_t len, size_t at, uint16_t g)
{
	int best = -1;
	for (size_t i = 0; i < sc->n; i++) {
		const struct pattern *p = &sc->pats[i];
		if ((sc->m > 2 && p->gram != g) || p->from_len > len - at ||
		    (best >= 0 && p->from_len <= sc->pats[best].from_len))
			continue;
		if (memcmp(buf + at, p->from, p->from_len) == 0)
			best = (int)i;
	}
	return best;
}

bool scrub_find(const struct scrub *sc, const char *buf, size_t len, size_t from, size_t *ret_at,
		size_t *ret_len, const char **ret_to, size_t *ret_to_len)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t m = sc->m;
	int best = -1;
	size_t at = 0;

	if (from >= len || len - from < m)
		return false;
	if (m < 3) {
		for (at = from; at < len && best < 0; at++)
			if (sc->first[u[at]])
				best = match_at(sc, buf, len, at, 0);
		at--;
	} else {
		/* i: the last byte of the m-byte window starting at i - m + 1. */
		for (size_t i = from + m - 1; i < len;) {
			uint16_t g = h3(u + i - 2);
			uint8_t s = sc->shift[g];
			if (s) {
				i += s;
				continue;
			}
			at = i - m + 1;
			if ((best = match_at(sc, buf, len, at, g)) >= 0)
				break;
			i++;
		}
	}
	if (best < 0)
		return false;
	*ret_at = at;
	*ret_len = sc->pats[best].from_len;
	*ret_to = sc->pats[best].to;
	*ret_to_len = sc->pats[best].to_len;
	return true;
}

/* Could buf[at..len) (shorter than some pattern) grow into a match? */
static bool is_prefix(const struct scrub *sc, const char *buf, size_t len, size_t at)
{
	size_t n = len - at;
	for (size_t i = 0; i < sc->n; i++) {
		const struct pattern *p = &sc->pats[i];
		if (p->from_len > n && p->from[0] == buf[at] &&
		    (n == 1 || memcmp(p->from + 1, buf + at + 1, n - 1) == 0))
			return true;
	}
	return false;
}

/*
 * Scrub buf[0..len) to emit; with !final the bytes from the first position that
 * could still begin a match on are not decided: *ret_keep is where they start.
 */
static int scrub_some(const struct scrub *sc, const char *buf, size_t len, bool final,
		      scrub_emit_fn emit, void *ud, size_t *ret_keep)
{
	size_t pos = 0, hold = 0;
	int r = 0;
	for (bool fresh = false;;) {
		/* The first undecided byte at or after pos; it stays valid until a match
		 * consumes past it, so a body full of matches does not recompute it each time. */
		if (final)
			hold = len;
		else if (!fresh || pos > hold) {
			size_t j = len > sc->maxlen ? len - sc->maxlen + 1 : 0;
			for (j = MAX(j, pos); j < len; j++)
				if (sc->first[(unsigned char)buf[j]] && is_prefix(sc, buf, len, j))
					break;
			hold = j;
			fresh = true;
		}
		size_t at, ml, tl;
		const char *to;
		if (scrub_find(sc, buf, len, pos, &at, &ml, &to, &tl) && at < hold) {
			if ((at > pos && (r = emit(ud, buf + pos, at - pos)) < 0) ||
			    (r = emit(ud, to, tl)) < 0)
				return r;
			pos = at + ml;
			continue;
		}
		if (hold > pos && (r = emit(ud, buf + pos, hold - pos)) < 0)
			return r;
		*ret_keep = MAX(hold, pos);
		return 0;
	}
}

static int emit_strbuf(void *ud, const char *p, size_t n)
{
	return strbuf_add(ud, p, n);
}

int scrub_all(const struct scrub *sc, const char *buf, size_t len, struct strbuf *out)
{
	size_t keep;
	return len ? scrub_some(sc, buf, len, true, emit_strbuf, out, &keep) : 0;
}

int scrub_stream_init(struct scrub_stream *st, const struct scrub *sc)
{
	*st = (struct scrub_stream){.sc = sc};
	return 0;
}

/* Room for need bytes in the work buffer, the held ones moved to its start. */
static int work_reserve(struct scrub_stream *st, size_t need)
{
	if (need <= st->cap) {
		if (st->off > 0 && st->held > 0)
			memmove(st->work, st->work + st->off, st->held);
		st->off = 0;
		return 0;
	}
	size_t cap = MAX(need, st->sc->maxlen + (size_t)65536);
	char *w = malloc(cap);
	if (!w)
		return -ENOMEM;
	if (st->work) {
		if (st->held)
			memcpy(w, st->work + st->off, st->held);
		OPENSSL_cleanse(st->work, st->cap);
		free(st->work);
	}
	st->work = w;
	st->cap = cap;
	st->off = 0;
	return 0;
}

int scrub_stream_feed_emit(struct scrub_stream *st, const char *buf, size_t n, bool final,
			   scrub_emit_fn emit, void *ud)
{
	const struct scrub *sc = st->sc;
	size_t keep = 0;
	int r;

	if (st->held == 0 && n > 0) {
		/* Nothing held: scan the input where it is, keep only its undecided tail. */
		if ((r = scrub_some(sc, buf, n, final, emit, ud, &keep)) < 0)
			return r;
		if (keep == n)
			return 0;
		if ((r = work_reserve(st, n - keep)) < 0)
			return r;
		memcpy(st->work, buf + keep, n - keep);
		st->held = n - keep;
		return 0;
	}
	if ((r = work_reserve(st, st->held + n)) < 0)
		return r;
	if (n)
		memcpy(st->work + st->held, buf, n);
	size_t len = st->held + n;
	if (len == 0)
		return 0;
	/* What was emitted from the work buffer stays put until the next feed. */
	if ((r = scrub_some(sc, st->work, len, final, emit, ud, &keep)) < 0)
		return r;
	st->off = keep;
	st->held = len - keep;
	return 0;
}

int scrub_stream_feed(struct scrub_stream *st, const char *buf, size_t n, bool final,
		      struct strbuf *out)
{
	return scrub_stream_feed_emit(st, buf, n, final, emit_strbuf, out);
}

bool scrub_stream_holds(const struct scrub_stream *st, const char *p)
{
	return st->work && p >= st->work && p < st->work + st->cap;
}

void scrub_stream_done(struct scrub_stream *st)
{
	if (st->work) {
		OPENSSL_cleanse(st->work, st->cap);
		free(st->work);
	}
	*st = (struct scrub_stream){0};
}
