/* SPDX-License-Identifier: Apache-2.0 */
/* The tables the tracer records into, and the result they become. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/macro.h"
#include "base/strv.h"
#include "learn-internal.h"

static int path_table_rehash(struct path_table *t, size_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t s = hash_str(t->items[i].path) & (n_slots - 1);
		while (slots[s])
			s = (s + 1) & (n_slots - 1);
		slots[s] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n_slots;
	return 0;
}

long path_table_find(const struct path_table *t, const char *path)
{
	if (!t->n_slots)
		return -1;
	size_t s = hash_str(path) & (t->n_slots - 1);
	while (t->slots[s]) {
		uint32_t i = t->slots[s] - 1;
		if (streq(t->items[i].path, path))
			return (long)i;
		s = (s + 1) & (t->n_slots - 1);
	}
	return -1;
}

int path_table_add(struct path_table *t, const char *path, unsigned access, bool is_dir, int err)
{
	long i = path_table_find(t, path);
	if (i >= 0) {
		struct learn_path *p = &t->items[i];
		p->access |= access;
		p->is_dir |= is_dir;
		if (err == 0)
			p->err = 0;
		p->count++;
		return 0;
	}
	if (t->n >= LEARN_MAX_PATHS)
		return -E2BIG;
	/* Keep the load factor under 1/2. */
	if ((t->n + 1) * 2 > t->n_slots) {
		int r = path_table_rehash(t, t->n_slots ? t->n_slots * 2 : 1024);
		if (r < 0)
			return r;
	}
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 256;
		struct learn_path *ni = realloc(t->items, na * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		t->items = ni;
		t->alloc = na;
	}
	char *c = strdup(path);
	if (!c)
		return -ENOMEM;
	t->items[t->n] = (struct learn_path){
		.path = c, .access = access, .is_dir = is_dir, .err = err, .count = 1};
	size_t s = hash_str(path) & (t->n_slots - 1);
	while (t->slots[s])
		s = (s + 1) & (t->n_slots - 1);
	t->slots[s] = (uint32_t)(t->n + 1);
	t->n++;
	return 0;
}

void path_table_done(struct path_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->items[i].path);
	free(t->items);
	free(t->slots);
	*t = (struct path_table){0};
}

int endpoint_list_add(struct endpoint_list *l, const char *addr, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].port == port && streq(l->items[i].addr, addr)) {
			l->items[i].count++;
			return 0;
		}
	if (l->n >= LEARN_MAX_ENDPOINTS)
		return -E2BIG;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 16;
		struct learn_endpoint *ni = realloc(l->items, na * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		l->items = ni;
		l->alloc = na;
	}
	struct learn_endpoint *e = &l->items[l->n++];
	*e = (struct learn_endpoint){.port = port, .count = 1};
	(void)snprintf(e->addr, sizeof(e->addr), "%s", addr);
	return 0;
}

void endpoint_list_done(struct endpoint_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].hostname);
	free(l->items);
	*l = (struct endpoint_list){0};
}

int dns_map_add(struct dns_map *m, const char *addr, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (streq(m->items[i].addr, addr)) {
			if (streq(m->items[i].name, name))
				return 0;
			/* The latest answer wins: it is the name the next connect used. */
			char *c = strdup(name);
			if (!c)
				return -ENOMEM;
			free(m->items[i].name);
			m->items[i].name = c;
			return 0;
		}
	if (m->n >= LEARN_MAX_DNS)
		return -E2BIG;
	if (m->n == m->alloc) {
		size_t na = m->alloc ? m->alloc * 2 : 16;
		typeof(m->items) ni = realloc(m->items, na * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		m->items = ni;
		m->alloc = na;
	}
	char *c = strdup(name);
	if (!c)
		return -ENOMEM;
	(void)snprintf(m->items[m->n].addr, sizeof(m->items[m->n].addr), "%s", addr);
	m->items[m->n].name = c;
	m->n++;
	return 0;
}

const char *dns_map_lookup(const struct dns_map *m, const char *addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (streq(m->items[i].addr, addr))
			return m->items[i].name;
	return NULL;
}

void dns_map_done(struct dns_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->items[i].name);
	free(m->items);
	*m = (struct dns_map){0};
}

int sockaddr_format(const struct sockaddr *sa, size_t len, char addr[46], uint16_t *port)
{
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (!inet_ntop(AF_INET, &in->sin_addr, addr, 46))
			return -errno;
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		/* ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket: name it as such so
		 * it matches the A record that produced it. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			if (!inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, addr, 46))
				return -errno;
		} else if (!inet_ntop(AF_INET6, &in6->sin6_addr, addr, 46))
			return -errno;
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

struct learn_result *learn_result_free(struct learn_result *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_paths; i++)
		free(r->paths[i].path);
	free(r->paths);
	for (size_t i = 0; i < r->n_outbound; i++)
		free(r->outbound[i].hostname);
	free(r->outbound);
	for (size_t i = 0; i < r->n_listening; i++)
		free(r->listening[i].hostname);
	free(r->listening);
	strv_free(r->unix_sockets);
	free(r);
	return NULL;
}

void learn_result_freep(struct learn_result **r)
{
	*r = learn_result_free(*r);
}
