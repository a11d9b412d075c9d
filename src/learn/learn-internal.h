/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Pieces of learn/ shared between tracer.c, record.c, dns.c and report.c, and tested. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "learn.h"

/* Bounds on what the traced side can make us keep (STYLE.md rule 7). */
#define LEARN_MAX_PATHS     (1u << 20)
#define LEARN_MAX_ENDPOINTS 4096u
#define LEARN_MAX_DNS       4096u

/*
 * Path table: open addressing on an FNV-1a hash, keyed by path string. Values are
 * struct learn_path records kept in insertion order in a growable array.
 */
struct path_table {
	struct learn_path *items;
	size_t n, alloc;
	uint32_t *slots; /* index + 1; 0 is empty */
	size_t n_slots;
};

/* Merge one use of path into the table (copying path). Returns 0 or -ENOMEM/-E2BIG. */
int path_table_add(struct path_table *t, const char *path, unsigned access, bool is_dir, int err);
/* Index of path or -1. */
long path_table_find(const struct path_table *t, const char *path);
void path_table_done(struct path_table *t);

/* Network endpoints keyed by (addr, port). */
struct endpoint_list {
	struct learn_endpoint *items;
	size_t n, alloc;
};
int endpoint_list_add(struct endpoint_list *l, const char *addr, uint16_t port);
void endpoint_list_done(struct endpoint_list *l);

/* Address -> name, filled from decoded DNS answers. */
struct dns_map {
	struct {
		char addr[46];
		char *name;
	} *items;
	size_t n, alloc;
};
int dns_map_add(struct dns_map *m, const char *addr, const char *name);
const char *dns_map_lookup(const struct dns_map *m, const char *addr);
void dns_map_done(struct dns_map *m);

/*
 * Decode a DNS response message: every A / AAAA answer is added to m under the name
 * of the first question (what the program asked for, not the CNAME target).
 * Returns the number of addresses added, or -EBADMSG for a malformed message.
 * Bounded: at most 64 answers, compression pointers followed at most 32 times.
 */
int dns_decode_answer(const uint8_t *msg, size_t len, struct dns_map *m);

/*
 * Format an AF_INET / AF_INET6 sockaddr to numeric addr and port (a v4-mapped IPv6
 * address as plain IPv4). -EAFNOSUPPORT for other families or a short len.
 */
int sockaddr_format(const struct sockaddr *sa, size_t len, char addr[46], uint16_t *port);

/* Report selection: the paths the report shows, each with its class. */
struct report_entry {
	char *path;
	unsigned access; /* LEARN_READ and/or LEARN_WRITE only */
	bool is_dir;
};

/*
 * Filter and collapse r->paths (rules at the top of report.c). *ret_covered is the
 * number of paths dropped because `covered` already grants them.
 * Entries are sorted by path. Free with report_entries_free().
 */
int report_select(const struct learn_result *r, const struct learn_covered *covered,
		  size_t n_covered, bool all, const char *home, struct report_entry **ret,
		  size_t *ret_n, size_t *ret_covered);
void report_entries_free(struct report_entry *e, size_t n);
