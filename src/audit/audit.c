/* SPDX-License-Identifier: Apache-2.0 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/strbuf.h"

#define SESSION_FILE	  "session.json"
#define EVENTS_FILE	  "audit-events.ndjson"
#define END_FILE	  ".session.json.end"
/* What the end adds to the record set aside at the start: end_time, exit_status and the
 * integrity object (two 64-digit digests) take ~350 bytes indented; rollback's "after". */
#define END_MARGIN	  1024
#define GENESIS_TAG	  "nono-audit-genesis"
#define EMPTY_MERKLE_ROOT "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Shared (MAP_SHARED) between the supervisor and the proxy process only: MADV_DONTFORK
 * keeps it out of every other fork (see audit_fork_share). */
struct audit_chain {
	pthread_mutex_t lock;
	uint64_t count;
	uint64_t lost; /* events that could not be written */
	char head[65];
};

struct audit_log {
	int dir_fd;
	bool give; /* root writing into another user's home: hand what we create to them */
	uid_t uid;
	gid_t gid;
	int events_fd;
	int end_fd;	   /* the end record's file, its space set aside at the start */
	off_t reserved;	   /* bytes allocated to it (beyond its size: FALLOC_FL_KEEP_SIZE) */
	off_t end_blksize; /* its allocation unit (> 0) */
	bool end_filled;   /* no KEEP_SIZE here: the reserve is zeros the record must cut */
	bool integrity;
	char id[80];
	char *dir;
	json_t *session;
	struct audit_chain *chain;
	bool unsynced; /* audit_open wrote without fsync: audit_sync owes it */
};

static void hex(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = 0;
}

/* SHA-256 over prefix (plen bytes, may be 0) then data. */
static int sha256(const void *prefix, size_t plen, const void *data, size_t len,
		  unsigned char md[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		 (plen == 0 || EVP_DigestUpdate(ctx, prefix, plen)) &&
		 EVP_DigestUpdate(ctx, data, len) && EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	return ok && n == 32 ? 0 : -EIO;
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	int r = sha256(NULL, 0, data, len, md);
	if (r >= 0)
		hex(md, 32, out);
	return r;
}

static int genesis(const char *id, char out[65])
{
	unsigned char md[32];
	int r = sha256(GENESIS_TAG, sizeof(GENESIS_TAG), id, strlen(id), md); /* tag + NUL */
	if (r >= 0)
		hex(md, 32, out);
	return r;
}

bool audit_session_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64 || id[0] == '-')
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

int audit_root(const char *home, char **ret)
{
	if (!home || home[0] != '/')
		return -EINVAL;
	return asprintf(ret, "%s/.nono/audit", home) < 0 ? -ENOMEM : 0;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static int give(const struct audit_log *a, int fd)
{
	return a->give && fchown(fd, a->uid, a->gid) < 0 ? -errno : 0;
}

/*
 * openat a directory component without following a symlink, creating it 0700. A
 * directory we create in another user's home (nono run as root) is given to that user,
 * so root's sessions do not lock them out of their own ~/.nono.
 */
static int open_dir_at(const struct audit_log *a, int at, const char *name, bool must_create)
{
	bool made = mkdirat(at, name, 0700) == 0;
	if (!made && (errno != EEXIST || must_create))
		return -errno;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (made && give(a, fd) < 0) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	return fd;
}

/* j as indented JSON and a newline, from offset 0 of fd; its length to *ret_len. */
static int write_json_fd(int fd, json_t *j, size_t *ret_len)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text), off = 0;
	text[len++] = '\n'; /* over the terminating NUL: text is not a string from here */
	while (off < len) {
		ssize_t n = pwrite(fd, text + off, len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* Write json to dir/name atomically (temp file, rename), without fsync: the caller
 * owes one (audit_sync). */
static int write_json_atomic(const struct audit_log *a, const char *name, json_t *j)
{
	int dir_fd = a->dir_fd;
	char tmp[128];
	(void)snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	(void)unlinkat(dir_fd, tmp, 0);
	_cleanup_close_ int fd =
	    openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (give(a, fd) < 0)
		return -errno;
	int r = write_json_fd(fd, j, NULL);
	if (r < 0)
		return r;
	return renameat(dir_fd, tmp, dir_fd, name) < 0 ? -errno : 0;
}

static int set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, v ? json_string(v) : json_null()) < 0 ? -ENOMEM : 0;
}

static int make_session_json(struct audit_log *a, const struct audit_session_info *info)
{
	char start[40];
	json_t *o = json_object(), *cmd = json_array(), *net = json_object();
	a->session = o;
	if (!o || !cmd || !net) {
		json_decref(cmd);
		json_decref(net);
		return -ENOMEM;
	}
	now_rfc3339(start, sizeof(start));
	for (char *const *p = info->argv; p && *p; p++)
		if (json_array_append_new(cmd, json_string(*p)) < 0) {
			json_decref(cmd);
			json_decref(net);
			return -ENOMEM;
		}
	if (set_str(o, "session_id", a->id) < 0 ||
	    set_str(o, "nono_version", info->nono_version) < 0 ||
	    set_str(o, "start_time", start) < 0 || set_str(o, "end_time", NULL) < 0 ||
	    json_object_set_new(o, "exit_status", json_null()) < 0 ||
	    set_str(o, "profile", info->profile) < 0 ||
	    json_object_set_new(o, "command", cmd) < 0 || set_str(o, "cwd", info->cwd) < 0 ||
	    set_str(net, "mode", info->network_mode) < 0 ||
	    set_str(net, "proxy_placement", NULL) < 0 ||
	    json_object_set_new(o, "network", net) < 0 ||
	    json_object_set_new(o, "redaction",
				info->redaction_diff ? json_deep_copy(info->redaction_diff)
						     : json_string("default")) < 0 ||
	    json_object_set_new(o, "audit_integrity", json_boolean(info->integrity)) < 0 ||
	    json_object_set_new(o, "integrity", json_null()) < 0)
		return -ENOMEM;
	return 0;
}

static int random_suffix(char *out)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		return -EIO;
	(void)snprintf(out, 9, "%08x", v);
	return 0;
}

/*
 * Set aside room for the end record: the record as it stands, END_MARGIN more, rounded up
 * to whole blocks. Allocated beyond the file's size (FALLOC_FL_KEEP_SIZE), so the end
 * record is written into blocks it already owns and needs no truncation, which frees
 * blocks (a discard on a discard-mounted disk): the common record fits the one block.
 * Grows when the record does (audit_set_*). A file system without fallocate gets
 * zeros written (posix_fallocate), cut to the record's length at the end.
 */
static int reserve_end(struct audit_log *a)
{
	size_t len = json_dumpb(a->session, NULL, 0, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (len == 0)
		return -ENOMEM;
	off_t blk = a->end_blksize;
	off_t need = ROUND_UP((off_t)len + 1 + END_MARGIN, blk);
	if (need <= a->reserved)
		return 0;
	if (!a->end_filled && fallocate(a->end_fd, FALLOC_FL_KEEP_SIZE, 0, need) < 0) {
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		a->end_filled = true;
	}
	if (a->end_filled) {
		int e = posix_fallocate(a->end_fd, 0, need);
		if (e != 0)
			return -e;
	}
	a->reserved = need;
	return 0;
}

/* After the record grew: more room if it needs it, as far as the disk gives it (what
 * was set aside still holds the record as it was; the end reports a failed write). */
static void grow_reserve(struct audit_log *a)
{
	int r = a->end_fd >= 0 ? reserve_end(a) : 0;
	if (r < 0)
		log_debug("audit: cannot set aside more space for the end record: %s",
			  strerror(-r));
}

int audit_open(const char *home, const struct audit_session_info *info, struct audit_log **ret,
	       struct diag *d)
{
	_cleanup_audit_ struct audit_log *a = calloc(1, sizeof(*a));
	_cleanup_close_ int home_fd = -EBADF, nono_fd = -EBADF, root_fd = -EBADF;
	char rnd[9], ts[32];
	time_t t = time(NULL);
	struct tm tm;
	int r;

	if (!a)
		return -ENOMEM;
	a->dir_fd = a->events_fd = a->end_fd = -EBADF;
	a->integrity = info->integrity;
	if (!home || home[0] != '/') {
		diag_set(d, "$HOME", 0, 0,
			 "cannot record the audit trail: HOME is not an absolute path; set HOME "
			 "or pass --no-audit");
		return -EINVAL;
	}
	if ((r = random_suffix(rnd)) < 0)
		return r;
	(void)gmtime_r(&t, &tm);
	(void)strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
	(void)snprintf(a->id, sizeof(a->id), "%s-%s", ts, rnd);
	if (asprintf(&a->dir, "%s/.nono/audit/%s", home, a->id) < 0)
		return -ENOMEM;

	home_fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0) {
		r = -errno;
		diag_set(d, home, 0, 0, "cannot open the home directory for the audit trail: %s",
			 strerror(-r));
		return r;
	}
	struct stat hst;
	if (fstat(home_fd, &hst) < 0)
		return -errno;
	a->give = geteuid() == 0 && hst.st_uid != 0;
	a->uid = hst.st_uid;
	a->gid = hst.st_gid;
	if ((nono_fd = open_dir_at(a, home_fd, ".nono", false)) < 0 ||
	    (root_fd = open_dir_at(a, nono_fd, "audit", false)) < 0 ||
	    (a->dir_fd = open_dir_at(a, root_fd, a->id, true)) < 0) {
		r = nono_fd < 0 ? nono_fd : root_fd < 0 ? root_fd : a->dir_fd;
		diag_set(d, a->dir, 0, 0,
			 "cannot create the audit directory: %s%s (or pass --no-audit)",
			 strerror(-r),
			 r == -ELOOP || r == -ENOTDIR ? "; a path component is a symbolic link "
							"or not a directory"
						      : "");
		return r;
	}
	/* Held while the session is recorded (this fd lives until audit_free): retention
	 * (audit_prune) leaves a locked session alone. Where the filesystem has no flock,
	 * audit_prune cannot lock it either and leaves every session alone: no error. */
	(void)flock(a->dir_fd, LOCK_EX | LOCK_NB);
	a->events_fd =
	    openat(a->dir_fd, EVENTS_FILE,
		   O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (a->events_fd < 0) {
		r = -errno;
		diag_set(d, a->dir, 0, 0, "cannot create %s: %s", EVENTS_FILE, strerror(-r));
		return r;
	}
	if ((r = give(a, a->events_fd)) < 0)
		return r;

	a->chain = mmap(NULL, sizeof(struct audit_chain), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a->chain == MAP_FAILED) {
		a->chain = NULL;
		return -errno;
	}
	/* Fail closed: without DONTFORK the sandboxed child would inherit it writable. */
	if (madvise(a->chain, sizeof(struct audit_chain), MADV_DONTFORK) < 0)
		return -errno;
	pthread_mutexattr_t ma;
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&a->chain->lock, &ma) != 0)
		return -EIO;
	(void)pthread_mutexattr_destroy(&ma);
	/* head stays "" until the first event: the genesis digest is computed then, by the
	 * appender, so a run without events never pays for OpenSSL's start-up. */

	if ((r = make_session_json(a, info)) < 0)
		return r;
	if ((r = write_json_atomic(a, SESSION_FILE, a->session)) < 0) {
		diag_set(d, a->dir, 0, 0, "cannot write %s: %s", SESSION_FILE, strerror(-r));
		return r;
	}
	a->unsynced = true;
	/* The end record's own file, with room for it: a full disk must not cost it.
	 * audit_close writes it in place and renames it over session.json (one inode per
	 * run fewer than a separate reserve file freed before a new temp file). */
	a->end_fd =
	    openat(a->dir_fd, END_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	r = a->end_fd < 0 || give(a, a->end_fd) < 0 || fstat(a->end_fd, &st) < 0 ? -errno : 0;
	if (r == 0) {
		a->end_blksize = st.st_blksize > 0 ? st.st_blksize : 4096;
		r = reserve_end(a);
	}
	if (r < 0) {
		diag_set(d, a->dir, 0, 0,
			 "cannot set aside space for the audit record: %s (or pass --no-audit)",
			 strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

int audit_sync(struct audit_log *a)
{
	if (!a || !a->unsynced)
		return 0;
	_cleanup_close_ int fd = openat(a->dir_fd, SESSION_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	/* The events file is empty yet: the directory's fsync makes its entry durable. */
	if (fd < 0 || fsync(fd) < 0 || fsync(a->dir_fd) < 0)
		return -errno;
	a->unsynced = false;
	return 0;
}

const char *audit_session_id(const struct audit_log *a)
{
	return a->id;
}

const char *audit_session_dir(const struct audit_log *a)
{
	return a->dir;
}

int audit_set_proxy_placement(struct audit_log *a, const char *placement)
{
	json_t *net = json_object_get(a->session, "network");
	int r = net ? set_str(net, "proxy_placement", placement) : -EINVAL;
	if (r >= 0)
		grow_reserve(a);
	return r;
}

int audit_set_trust(struct audit_log *a, json_t *summary)
{
	if (json_object_set_new(a->session, "trust", summary) < 0)
		return -ENOMEM;
	grow_reserve(a);
	return 0;
}

static int lock_chain(struct audit_chain *c)
{
	int e = pthread_mutex_lock(&c->lock);
	if (e == EOWNERDEAD) /* an appender died mid-write; the head it left is the truth */
		e = pthread_mutex_consistent(&c->lock);
	return -e;
}

int audit_fork_share(struct audit_log *a, bool share)
{
	if (!a || !a->chain)
		return 0;
	if (madvise(a->chain, sizeof(*a->chain), share ? MADV_DOFORK : MADV_DONTFORK) < 0)
		return -errno;
	return 0;
}

int audit_set_session_name(struct audit_log *a, const char *name)
{
	int r = set_str(a->session, "session_name", name);
	if (r >= 0)
		grow_reserve(a);
	return r;
}

/* Chain and write one event object (taken). */
static int append_event(struct audit_log *a, json_t *o);

int audit_append_session(struct audit_log *a, const char *event, int pid, int uid)
{
	char t[40];

	if (!a || a->events_fd < 0)
		return -EBADF;
	now_rfc3339(t, sizeof(t));
	json_t *o = json_object();
	if (!o || set_str(o, "time", t) < 0 || set_str(o, "type", "session") < 0 ||
	    set_str(o, "event", event) < 0 ||
	    (pid > 0 && json_object_set_new(o, "pid", json_integer(pid)) < 0) ||
	    json_object_set_new(o, "uid", json_integer(uid)) < 0) {
		json_decref(o);
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return append_event(a, o);
}

int audit_append_network(struct audit_log *a, const struct audit_network_event *ev)
{
	char t[40];

	if (!a || a->events_fd < 0)
		return -EBADF;
	now_rfc3339(t, sizeof(t));
	json_t *o = json_object();
	if (!o) {
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	if (set_str(o, "time", t) < 0 || set_str(o, "type", "network") < 0 ||
	    json_object_set_new(o, "allow", json_boolean(ev->allow)) < 0 ||
	    set_str(o, "method", ev->method) < 0 || set_str(o, "host", ev->host) < 0 ||
	    json_object_set_new(o, "port", json_integer(ev->port)) < 0 ||
	    set_str(o, "path", ev->path) < 0 || set_str(o, "service", ev->service) < 0 ||
	    set_str(o, "reason", ev->reason) < 0 ||
	    json_object_set_new(o, "status", json_integer(ev->status)) < 0 ||
	    (ev->count > 1 && json_object_set_new(o, "count", json_integer(ev->count)) < 0)) {
		json_decref(o);
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return append_event(a, o);
}

static int append_event(struct audit_log *a, json_t *o)
{
	int r;

	if ((r = lock_chain(a->chain)) < 0) {
		json_decref(o);
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
		return r;
	}
	if (a->integrity && !a->chain->head[0])
		r = genesis(a->id, a->chain->head);
	if (r >= 0 && a->integrity && set_str(o, "prev", a->chain->head) < 0)
		r = -ENOMEM;
	char *line = r < 0 ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!line)
		r = -ENOMEM;
	size_t len = line ? strlen(line) : 0;
	if (r >= 0 && len + 1 > AUDIT_MAX_LINE)
		r = -E2BIG;
	if (r >= 0) {
		/* One write(2) of the whole line: O_APPEND keeps concurrent lines whole. */
		line[len] = '\n';
		ssize_t n = write(a->events_fd, line, len + 1);
		line[len] = 0;
		r = n == (ssize_t)(len + 1) ? 0 : n < 0 ? -errno : -EIO;
	}
	if (r >= 0) {
		a->chain->count++;
		if (a->integrity)
			r = sha256_hex(line, len, a->chain->head);
	} else
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
	(void)pthread_mutex_unlock(&a->chain->lock);
	free(line);
	return r;
}

uint64_t audit_events_lost(const struct audit_log *a)
{
	/* A plain read: the counter only grows, a stale zero is caught on the next call. */
	return a && a->chain ? __atomic_load_n(&a->chain->lost, __ATOMIC_RELAXED) : 0;
}

struct audit_log *audit_free(struct audit_log *a)
{
	if (!a)
		return NULL;
	a->dir_fd = safe_close(a->dir_fd);
	a->events_fd = safe_close(a->events_fd);
	a->end_fd = safe_close(a->end_fd);
	if (a->chain)
		(void)munmap(a->chain, sizeof(*a->chain));
	json_decref(a->session);
	free(a->dir);
	free(a);
	return NULL;
}

void audit_freep(struct audit_log **a)
{
	*a = audit_free(*a);
}

/* ---- reading back ---- */

struct merkle {
	unsigned char (*leaves)[32];
	size_t n, alloc;
};

static int merkle_add(struct merkle *m, const char *line, size_t len)
{
	if (m->n == m->alloc) {
		size_t na = m->alloc ? m->alloc * 2 : 64;
		void *p = reallocarray(m->leaves, na, 32);
		if (!p)
			return -ENOMEM;
		m->leaves = p;
		m->alloc = na;
	}
	static const unsigned char zero = 0;
	return sha256(&zero, 1, line, len, m->leaves[m->n++]);
}

/* RFC 6962 Merkle tree hash over leaves[lo, hi). */
static int merkle_root(const struct merkle *m, size_t lo, size_t hi, unsigned char out[32])
{
	if (hi - lo == 0)
		return sha256(NULL, 0, "", 0, out);
	if (hi - lo == 1) {
		memcpy(out, m->leaves[lo], 32);
		return 0;
	}
	size_t k = 1;
	while (k * 2 < hi - lo)
		k *= 2;
	unsigned char buf[64];
	static const unsigned char one = 1;
	int r = merkle_root(m, lo, lo + k, buf);
	if (r >= 0)
		r = merkle_root(m, lo + k, hi, buf + 32);
	if (r >= 0)
		r = sha256(&one, 1, buf, 64, out);
	return r;
}

/* Walk the events file: count, chain, Merkle leaves. Errors name the line. */
static int walk_events(int dir_fd, const char *dir, const char *id, bool integrity,
		       struct audit_verify_result *res, struct diag *d)
{
	struct merkle m = {0};
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned char root[32];
	int r = 0;
	char fname[600];

	(void)snprintf(fname, sizeof(fname), "%s/%s", dir, EVENTS_FILE);
	int fd = openat(dir_fd, EVENTS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		diag_set(d, fname, 0, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	FILE *f = fdopen(fd, "re");
	if (!f) {
		r = -errno;
		(void)close(fd);
		return r;
	}
	if ((r = genesis(id, res->head)) < 0)
		goto out;
	for (int lineno = 1;; lineno++) {
		ssize_t n = getline(&line, &cap, f);
		if (n < 0)
			break;
		if (n > AUDIT_MAX_LINE) {
			diag_set(d, fname, lineno, 1, "line longer than %d bytes", AUDIT_MAX_LINE);
			r = -EBADMSG;
			goto out;
		}
		if (line[n - 1] != '\n') {
			diag_set(d, fname, lineno, 1, "last line is incomplete (no newline)");
			r = -EBADMSG;
			goto out;
		}
		size_t len = (size_t)n - 1;
		json_error_t je;
		json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(ev)) {
			json_decref(ev);
			diag_set(d, fname, lineno, 1, "not a JSON object");
			r = -EBADMSG;
			goto out;
		}
		if (integrity) {
			const char *prev = json_string_value(json_object_get(ev, "prev"));
			if (!prev || !streq(prev, res->head)) {
				json_decref(ev);
				diag_set(d, fname, lineno, 1,
					 "hash chain broken: this line does not follow the one "
					 "before it (a line was edited, inserted, removed or "
					 "reordered)");
				r = -EBADMSG;
				goto out;
			}
		}
		json_decref(ev);
		if ((integrity && (r = sha256_hex(line, len, res->head)) < 0) ||
		    (r = merkle_add(&m, line, len)) < 0)
			goto out;
		res->events++;
	}
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	if ((r = merkle_root(&m, 0, m.n, root)) < 0)
		goto out;
	hex(root, 32, res->merkle_root);
out:
	free(m.leaves);
	(void)fclose(f);
	return r;
}

static int load_session(int dir_fd, const char *dir, json_t **ret, struct diag *d)
{
	char fname[600];
	(void)snprintf(fname, sizeof(fname), "%s/%s", dir, SESSION_FILE);
	_cleanup_close_ int fd = openat(dir_fd, SESSION_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		diag_set(d, fname, 0, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	json_error_t je;
	json_t *j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		diag_set(d, fname, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0,
			 "not a valid session record: %s", j ? "not an object" : je.text);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

int audit_close(struct audit_log *a, int exit_status, struct diag *d)
{
	struct audit_verify_result res = {0};
	char end[40];
	int r;

	now_rfc3339(end, sizeof(end));
	if (set_str(a->session, "end_time", end) < 0 ||
	    json_object_set_new(a->session, "exit_status", json_integer(exit_status)) < 0) {
		audit_free(a);
		return -ENOMEM;
	}
	/* Every appender has stopped: the shared head is final. The Merkle root is
	 * computed from the file; a file that no longer matches the head is left for
	 * audit verify to report. */
	json_t *integ = json_object();
	if (!integ) {
		audit_free(a);
		return -ENOMEM;
	}
	struct diag ignored = {{0}};
	struct stat st;
	bool consistent;
	if (a->chain->count == 0 && fstat(a->events_fd, &st) == 0 && st.st_size == 0) {
		/* No events: nothing to hash (the RFC 6962 root of no leaves is SHA-256("")). */
		consistent = true;
		memcpy(res.merkle_root, EMPTY_MERKLE_ROOT, sizeof(res.merkle_root));
	} else
		consistent =
		    walk_events(a->dir_fd, a->dir, a->id, a->integrity, &res, &ignored) >= 0 &&
		    res.events == a->chain->count &&
		    (!a->integrity || streq(res.head, a->chain->head));
	(void)json_object_set_new(integ, "events", json_integer((json_int_t)a->chain->count));
	(void)json_object_set_new(integ, "events_lost", json_integer((json_int_t)a->chain->lost));
	if (a->integrity) {
		(void)set_str(integ, "algorithm", "sha256-chain+rfc6962-merkle");
		(void)set_str(integ, "chain_head", a->chain->count ? a->chain->head : NULL);
		(void)set_str(integ, "merkle_root", consistent ? res.merkle_root : NULL);
	}
	(void)json_object_set_new(a->session, "integrity", integ);
	/* Into blocks set aside at the start, beyond the size (KEEP_SIZE): a cut frees
	 * blocks (discards, on such disks), so only for what the record left over: zeros of
	 * a reserve written out, or whole blocks beyond its last. */
	size_t len = 0;
	r = write_json_fd(a->end_fd, a->session, &len);
	off_t used = ROUND_UP((off_t)len, a->end_blksize);
	if (r == 0 && (a->end_filled ? a->reserved > (off_t)len : a->reserved > used) &&
	    ftruncate(a->end_fd, (off_t)len) < 0)
		r = -errno;
	if (r == 0 && fsync(a->end_fd) < 0)
		r = -errno;
	if (r == 0 && renameat(a->dir_fd, END_FILE, a->dir_fd, SESSION_FILE) < 0)
		r = -errno;
	if (r == 0)
		(void)fsync(a->dir_fd);
	if (r < 0)
		diag_set(d, a->dir, 0, 0, "cannot write %s: %s", SESSION_FILE, strerror(-r));
	audit_free(a);
	return r;
}

int audit_verify(const char *session_dir, struct audit_verify_result *ret, struct diag *d)
{
	struct audit_verify_result res = {0};
	_cleanup_close_ int dir_fd =
	    open(session_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	json_t *s = NULL;
	int r;

	if (dir_fd < 0) {
		r = -errno;
		diag_set(d, session_dir, 0, 0, "cannot open the session: %s", strerror(-r));
		return r;
	}
	if ((r = load_session(dir_fd, session_dir, &s, d)) < 0)
		return r;
	const char *id = json_string_value(json_object_get(s, "session_id"));
	const char *base = strrchr(session_dir, '/');
	base = base ? base + 1 : session_dir;
	if (!id || !streq(id, base)) {
		diag_set(d, session_dir, 0, 0,
			 "session.json names session '%s', not this directory", strempty(id));
		r = -EBADMSG;
		goto out;
	}
	json_t *integ = json_object_get(s, "integrity");
	/* Recorded without integrity: only a finished record says so (chain_head absent). */
	res.finished = json_is_object(integ);
	/* Recorded from the start; older records without it: a finished one says by its
	 * "algorithm", an unfinished one is assumed chained. */
	json_t *ai = json_object_get(s, "audit_integrity");
	res.integrity = json_is_boolean(ai) ? json_is_true(ai)
			: res.finished	    ? json_object_get(integ, "algorithm") != NULL
					    : true;
	if ((r = walk_events(dir_fd, session_dir, id, res.integrity, &res, d)) < 0)
		goto out;
	if (res.finished) {
		char fname[600];
		(void)snprintf(fname, sizeof(fname), "%s/%s", session_dir, SESSION_FILE);
		json_t *cnt = json_object_get(integ, "events");
		const char *head = json_string_value(json_object_get(integ, "chain_head"));
		const char *root = json_string_value(json_object_get(integ, "merkle_root"));
		if (!json_is_integer(cnt) || (json_int_t)res.events != json_integer_value(cnt)) {
			diag_set(d, fname, 0, 0,
				 "the session recorded %lld events, the log holds %zu (lines were "
				 "removed or added)",
				 json_is_integer(cnt) ? (long long)json_integer_value(cnt) : -1LL,
				 res.events);
			r = -EBADMSG;
		} else if (res.integrity && res.events > 0 && (!head || !streq(head, res.head))) {
			diag_set(d, fname, 0, 0,
				 "the final chain head does not match the log (its last lines "
				 "were changed or cut)");
			r = -EBADMSG;
		} else if (res.integrity && (!root || !streq(root, res.merkle_root))) {
			diag_set(d, fname, 0, 0, "the Merkle root does not match the log%s",
				 root ? ""
				      : " (none recorded: the log was altered during the session)");
			r = -EBADMSG;
		}
	}
out:
	json_decref(s);
	if (r >= 0)
		*ret = res;
	return r;
}

int audit_set_record(struct audit_log *a, const char *key, json_t *value)
{
	if (!a || !a->session) {
		json_decref(value);
		return -EBADF;
	}
	if (json_object_set_new(a->session, key, value) < 0)
		return -ENOMEM;
	grow_reserve(a);
	return 0;
}

int audit_append_event(struct audit_log *a, const char *type, json_t *fields)
{
	char t[40];
	const char *k;
	json_t *v;
	int r;

	if (!a || a->events_fd < 0) {
		json_decref(fields);
		return -EBADF;
	}
	now_rfc3339(t, sizeof(t));
	json_t *o = json_object();
	if (!o || set_str(o, "time", t) < 0 || set_str(o, "type", type) < 0) {
		json_decref(o);
		json_decref(fields);
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	json_object_foreach(fields, k, v)
	{
		if (streq(k, "time") || streq(k, "type") || streq(k, "prev"))
			continue; /* ours */
		if (json_object_set(o, k, v) < 0) {
			json_decref(o);
			json_decref(fields);
			(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
			return -ENOMEM;
		}
	}
	json_decref(fields);
	if ((r = lock_chain(a->chain)) < 0) {
		json_decref(o);
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
		return r;
	}
	if (a->integrity && !a->chain->head[0])
		r = genesis(a->id, a->chain->head);
	if (r >= 0 && a->integrity && set_str(o, "prev", a->chain->head) < 0)
		r = -ENOMEM;
	char *line = r < 0 ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!line)
		r = r < 0 ? r : -ENOMEM;
	size_t len = line ? strlen(line) : 0;
	if (r >= 0 && len + 1 > AUDIT_MAX_LINE)
		r = -E2BIG;
	if (r >= 0) {
		line[len] = '\n';
		ssize_t n = write(a->events_fd, line, len + 1);
		line[len] = 0;
		r = n == (ssize_t)(len + 1) ? 0 : n < 0 ? -errno : -EIO;
	}
	if (r >= 0) {
		a->chain->count++;
		if (a->integrity)
			r = sha256_hex(line, len, a->chain->head);
	} else
		(void)__atomic_add_fetch(&a->chain->lost, 1, __ATOMIC_RELAXED);
	(void)pthread_mutex_unlock(&a->chain->lock);
	free(line);
	return r;
}
