/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: audit verification (src/audit/audit.c audit_verify: session.json
 * and the NDJSON event log with its hash chain and Merkle root), which reads files
 * anyone who can write the audit directory may have edited. Input: session.json, a
 * NUL byte, then the event log; both are written into a scratch session directory
 * ("$TMPDIR/nono-fuzz-audit-XXXXXX/fuzz-session", removed at exit) and verified.
 * Invariants checked: a verified log never holds more events than lines; a failure
 * is -EBADMSG (or an I/O error) with the diagnostic set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/diag.h"
#include "base/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[256], dir[300], session[340], events[340];

static void cleanup(void)
{
	(void)unlink(session);
	(void)unlink(events);
	(void)rmdir(dir);
	(void)rmdir(top);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	(void)snprintf(top, sizeof(top), "%s/nono-fuzz-audit-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(top))
		abort();
	(void)snprintf(dir, sizeof(dir), "%s/fuzz-session", top);
	(void)snprintf(session, sizeof(session), "%s/session.json", dir);
	(void)snprintf(events, sizeof(events), "%s/audit-events.ndjson", dir);
	if (mkdir(dir, 0700) < 0)
		abort();
	(void)atexit(cleanup);
}

static void put(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k <= 0)
			abort();
		p += k;
		n -= (size_t)k;
	}
	(void)close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_result res = {0};
	struct diag d = {0};

	if (!top[0])
		setup();
	const uint8_t *nul = memchr(data, '\0', size);
	size_t sl = nul ? (size_t)(nul - data) : size;
	const uint8_t *ev = nul ? nul + 1 : data + size;
	size_t el = size - sl - (nul ? 1 : 0);
	put(session, data, sl);
	put(events, ev, el);
	int r = audit_verify(dir, &res, &d);
	if (r == 0) {
		size_t lines = 0;
		for (size_t i = 0; i < el; i++)
			lines += ev[i] == '\n';
		if (res.events > lines)
			__builtin_trap();
	} else if (!d.msg[0] && r != -ENOMEM && r != -EIO)
		__builtin_trap();
	return 0;
}
