/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t strv_length(char *const *l)
{
	size_t n = 0;
	while (l && l[n])
		n++;
	return n;
}

int strv_consume(char ***l, char *s)
{
	size_t n = strv_length(*l);
	char **nl = realloc(*l, (n + 2) * sizeof(char *));
	if (!nl)
		return -ENOMEM;
	nl[n] = s;
	nl[n + 1] = NULL;
	*l = nl;
	return 0;
}

int strv_extend(char ***l, const char *s)
{
	char *c = strdup(s);
	if (!c)
		return -ENOMEM;
	int r = strv_consume(l, c);
	if (r < 0)
		free(c);
	return r;
}

bool strv_contains(char *const *l, const char *s)
{
	STRV_FOREACH(i, l)
	if (strcmp(*i, s) == 0)
		return true;
	return false;
}

int strv_extend_unique(char ***l, const char *s)
{
	if (strv_contains(*l, s))
		return 0;
	return strv_extend(l, s);
}

int strv_split(const char *s, const char *sep, char ***ret)
{
	char **l = NULL;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, sep);
		if (n > 0) {
			char *f = strndup(p, n);
			if (!f || strv_consume(&l, f) < 0) {
				free(f);
				strv_free(l);
				return -ENOMEM;
			}
		}
		p += n;
		if (*p)
			p++;
	}
	if (!l) {
		l = calloc(1, sizeof(char *));
		if (!l)
			return -ENOMEM;
	}
	*ret = l;
	return 0;
}

char **strv_copy(char *const *l)
{
	char **c = calloc(strv_length(l) + 1, sizeof(char *));
	if (!c)
		return NULL;
	for (size_t i = 0; l && l[i]; i++) {
		c[i] = strdup(l[i]);
		if (!c[i])
			return strv_free(c);
	}
	return c;
}

char **strv_free(char **l)
{
	STRV_FOREACH(i, l)
	free(*i);
	free(l);
	return NULL;
}

void strv_freep(char ***l)
{
	*l = strv_free(*l);
}
