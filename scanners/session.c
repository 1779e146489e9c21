/* SPDX-License-Identifier: MIT */
/* A scan session: one shared engine, N worker threads, a bounded queue of files and package members, and the results. */
#include "session.h"
#include "filemap.h"
#include "payload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <openssl/evp.h>

#define MAX_QUEUED 64              /* jobs waiting */
#define MAX_QUEUED_FDS 8           /* temporary files of large members waiting */
#define MIN_MEM_BUDGET (32ull << 20) /* bytes of members in memory, queued or being scanned */
#define MAX_DETECTIONS 10000       /* listed in the report; the count goes on */
#define MAX_SKIPPED 10000
#define MAX_DEPTH 256
#define BIG_FILE (4ull << 20)      /* files taken before the others above this size (see pop_locked) */
#define MAX_THREADS 256

/* ---------------------------------------------------------------- small shared helpers */

const char *scan_kind_name(enum scan_kind k)
{
	return k == SCAN_KIND_HEURISTIC ? "heuristic" : k == SCAN_KIND_PUA ? "pua" : "signature";
}

void scan_outcome_free(struct scan_outcome *o)
{
	for (size_t i = 0; i < o->n_hits; i++) {
		free(o->hits[i].signature);
		free(o->hits[i].member);
	}
	for (size_t i = 0; i < o->n_gaps; i++) {
		free(o->gaps[i].member);
		free(o->gaps[i].reason);
	}
	free(o->hits);
	free(o->gaps);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

int scan_outcome_add_hit(struct scan_outcome *o, const char *signature, const char *member,
			 enum scan_kind kind)
{
	for (size_t i = 0; i < o->n_hits; i++)
		if (!strcmp(o->hits[i].signature, signature) &&
		    ((!member && !o->hits[i].member) ||
		     (member && o->hits[i].member && !strcmp(member, o->hits[i].member))))
			return 0;
	struct scan_hit *h = realloc(o->hits, (o->n_hits + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	o->hits = h;
	h += o->n_hits;
	h->signature = strdup(signature);
	h->member = member ? strdup(member) : NULL;
	h->kind = kind;
	if (!h->signature || (member && !h->member)) {
		free(h->signature);
		free(h->member);
		return -ENOMEM;
	}
	o->n_hits++;
	return 0;
}

int scan_outcome_add_gap(struct scan_outcome *o, const char *member, const char *code, const char *reason)
{
	for (size_t i = 0; i < o->n_gaps; i++)
		if (!strcmp(o->gaps[i].code, code) &&
		    ((!member && !o->gaps[i].member) ||
		     (member && o->gaps[i].member && !strcmp(member, o->gaps[i].member))))
			return 0;
	struct scan_gap *g = realloc(o->gaps, (o->n_gaps + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	o->gaps = g;
	g += o->n_gaps;
	g->member = member ? strdup(member) : NULL;
	g->code = code;
	g->reason = strdup(reason);
	if (!g->reason || (member && !g->member)) {
		free(g->member);
		free(g->reason);
		return -ENOMEM;
	}
	o->n_gaps++;
	return 0;
}

int scan_parse_size(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K':
			mul = 1ull << 10;
			break;
		case 'm':
		case 'M':
			mul = 1ull << 20;
			break;
		case 'g':
		case 'G':
			mul = 1ull << 30;
			break;
		default:
			return -EINVAL;
		}
		if (end[1] && !((end[1] == 'i' || end[1] == 'B') && (!end[2] || (end[1] == 'i' && end[2] == 'B' && !end[3]))))
			return -EINVAL;
	}
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*ret = (uint64_t)v * mul;
	return 0;
}

unsigned scan_default_jobs(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

bool scan_is_pseudo_fs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case SECURITYFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case BPF_FS_MAGIC:
	case PSTOREFS_MAGIC:
	case EFIVARFS_MAGIC:
	case HUGETLBFS_MAGIC:
	case BINFMTFS_MAGIC:
	case NSFS_MAGIC:
	case SELINUX_MAGIC:
	case SMACK_MAGIC:
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------- the session */

enum job_kind { J_PATH, J_MEM, J_FD };

struct job {
	struct job *next;
	enum job_kind kind;
	char *host;    /* J_PATH */
	char *path;
	char *member;  /* J_MEM, J_FD: the member's path inside the package */
	char *cabinet; /* J_MEM, J_FD of an MSI: "acme.cab!FileKey" */
	char *package;
	const char *phase;
	unsigned flags;
	void *data;
	int fd;
	uint64_t size; /* J_PATH: as the producer saw it */
};

struct skip {
	char *path, *member, *reason;
	const char *code;
	const char *phase;
};

struct phase_stats {
	const char *name;
	uint64_t files, bytes, identical, identical_bytes;
	bool used;
};

/* (size, SHA-256) of members scanned clean and whole. */
struct clean_entry {
	uint64_t size;
	unsigned char sha[32];
	bool used;
};

struct scan_session {
	const struct scanner *sc;
	struct scan_engine *e;
	pthread_t *threads;
	size_t n_threads;
	char *tmpdir;
	uint64_t mem_max, max_filesize, mem_budget;

	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_space, cv_idle;
	struct job *head, *tail;   /* small files and members in memory */
	struct job *bhead, *btail; /* files larger than BIG_FILE: first */
	size_t queued, inflight_fds;
	uint64_t inflight_bytes;
	unsigned active;
	unsigned waiting_workers;         /* on cv_work */
	bool waiting_space, waiting_idle; /* the producer on cv_space, cv_idle */
	bool stop;
	const char *phase;

	/* results, under mu */
	struct scan_detection *det;
	size_t n_det, n_det_total;
	struct skip *skip;
	size_t n_skip, n_skip_total;
	size_t n_unread; /* skips of files that could not be read whole: error, unreadable, changed */
	struct phase_stats phases[4];
	bool sorted;
	struct clean_entry *clean;
	size_t clean_n, clean_cap;
	uint64_t *sizes; /* open addressing, 0 = empty (size 0 is never recorded) */
	size_t sizes_n, sizes_cap;

	uint64_t done_files, done_bytes; /* atomics, for progress */
};

static __thread bool in_worker;

static struct phase_stats *phase_of(struct scan_session *s, const char *phase)
{
	size_t i;

	for (i = 0; i < 4 && s->phases[i].name; i++)
		if (!strcmp(s->phases[i].name, phase))
			return &s->phases[i];
	if (i == 4)
		return &s->phases[3];
	s->phases[i].name = phase;
	return &s->phases[i];
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->host);
	free(j->path);
	free(j->member);
	free(j->cabinet);
	free(j->package);
	free(j->data);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

/* ---------------------------------------------------------------- the clean set */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static bool size_known(struct scan_session *s, uint64_t size)
{
	if (!s->sizes_cap || size == 0)
		return false;
	for (size_t i = mix(size) & (s->sizes_cap - 1);; i = (i + 1) & (s->sizes_cap - 1)) {
		if (s->sizes[i] == size)
			return true;
		if (s->sizes[i] == 0)
			return false;
	}
}

static int size_add(struct scan_session *s, uint64_t size)
{
	if (size == 0 || size_known(s, size))
		return 0;
	if ((s->sizes_n + 1) * 2 > s->sizes_cap) {
		size_t cap = s->sizes_cap ? s->sizes_cap * 2 : 1024;
		uint64_t *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t k = 0; k < s->sizes_cap; k++) {
			if (!s->sizes[k])
				continue;
			size_t i = mix(s->sizes[k]) & (cap - 1);
			while (n[i])
				i = (i + 1) & (cap - 1);
			n[i] = s->sizes[k];
		}
		free(s->sizes);
		s->sizes = n;
		s->sizes_cap = cap;
	}
	size_t i = mix(size) & (s->sizes_cap - 1);
	while (s->sizes[i])
		i = (i + 1) & (s->sizes_cap - 1);
	s->sizes[i] = size;
	s->sizes_n++;
	return 0;
}

static size_t clean_slot(const struct clean_entry *t, size_t cap, uint64_t size, const unsigned char sha[32])
{
	uint64_t h;

	memcpy(&h, sha, sizeof(h));
	for (size_t i = (h ^ mix(size)) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!t[i].used || (t[i].size == size && !memcmp(t[i].sha, sha, 32)))
			return i;
}

static bool clean_has(struct scan_session *s, uint64_t size, const unsigned char sha[32])
{
	if (!s->clean_cap)
		return false;
	return s->clean[clean_slot(s->clean, s->clean_cap, size, sha)].used;
}

static int clean_add(struct scan_session *s, uint64_t size, const unsigned char sha[32])
{
	if (clean_has(s, size, sha))
		return 0;
	if ((s->clean_n + 1) * 2 > s->clean_cap) {
		size_t cap = s->clean_cap ? s->clean_cap * 2 : 1024;
		struct clean_entry *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t k = 0; k < s->clean_cap; k++)
			if (s->clean[k].used)
				n[clean_slot(n, cap, s->clean[k].size, s->clean[k].sha)] = s->clean[k];
		free(s->clean);
		s->clean = n;
		s->clean_cap = cap;
	}
	struct clean_entry *c = &s->clean[clean_slot(s->clean, s->clean_cap, size, sha)];
	c->used = true;
	c->size = size;
	memcpy(c->sha, sha, 32);
	s->clean_n++;
	return size_add(s, size);
}

static int sha256_fd_raw(int fd, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(1 << 16);
	off_t off = 0;
	int r = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, 1 << 16, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

static void sha256_mem_raw(const void *data, size_t len, unsigned char out[32])
{
	EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL);
}

/* ---------------------------------------------------------------- results */

static char *join_member(const char *prefix, const char *member)
{
	char *j;

	if (!prefix)
		return pib_text_clean(member, false);
	if (!member)
		return pib_text_clean(prefix, false);
	j = pib_asprintf("%s!%s", prefix, member);
	char *t = pib_text_clean(j, false);
	free(j);
	return t;
}

/* Adds a skip entry; s->mu held. */
static void add_skip_locked(struct scan_session *s, const char *path, const char *member, const char *code,
			    const char *reason, const char *phase)
{
	s->n_skip_total++;
	/* not limits (listed, a choice of the run) and not a path that does not exist (its own error) */
	if (!strcmp(code, "error") || !strcmp(code, "unreadable") || !strcmp(code, "changed"))
		s->n_unread++;
	/* an MSI's files that would be installed and were not scanned (msi.not_in_tables: not installed) */
	else if (pib_str_has_prefix(code, "msi.") && strcmp(code, "msi.not_in_tables"))
		s->n_unread++;
	if (s->n_skip >= MAX_SKIPPED)
		return;
	struct skip *n = realloc(s->skip, (s->n_skip + 1) * sizeof(*n));
	if (!n)
		return;
	s->skip = n;
	n += s->n_skip;
	n->path = pib_text_clean(path, false);
	n->member = pib_text_clean(member, false);
	n->reason = pib_text_clean(reason, false);
	n->code = code;
	n->phase = phase;
	if (!n->path || !n->reason || (member && !n->member)) {
		free(n->path);
		free(n->member);
		free(n->reason);
		return;
	}
	s->n_skip++;
	s->sorted = false;
}

/* Records the outcome of one scanned object: path/prefix name it, size is what was read. */
static void record(struct scan_session *s, const char *path, const char *prefix, const char *cabinet,
		   const char *package, const char *phase, const struct scan_outcome *o, uint64_t size)
{
	pthread_mutex_lock(&s->mu);
	struct phase_stats *ps = phase_of(s, phase);
	ps->used = true;
	if (!o->error) {
		ps->files++;
		ps->bytes += size;
	}
	for (size_t i = 0; i < o->n_hits; i++) {
		s->n_det_total++;
		if (s->n_det >= MAX_DETECTIONS)
			continue;
		struct scan_detection *d = realloc(s->det, (s->n_det + 1) * sizeof(*d));
		if (!d)
			continue;
		s->det = d;
		d += s->n_det;
		d->path = pib_text_clean(path, false);
		d->member = join_member(prefix, o->hits[i].member);
		d->cabinet = pib_text_clean(cabinet, false);
		d->package = pib_text_clean(package, false);
		d->signature = pib_text_clean(o->hits[i].signature, false);
		d->phase = phase;
		d->kind = o->hits[i].kind;
		if (!d->path || !d->signature || (cabinet && !d->cabinet)) {
			free(d->path);
			free(d->cabinet);
			free(d->member);
			free(d->package);
			free(d->signature);
			continue;
		}
		s->n_det++;
		s->sorted = false;
	}
	for (size_t i = 0; i < o->n_gaps; i++) {
		char *m = join_member(prefix, o->gaps[i].member);
		add_skip_locked(s, path, m, o->gaps[i].code, o->gaps[i].reason, phase);
		free(m);
	}
	if (o->error) {
		char *reason = pib_asprintf("not scanned: %s", o->error);
		add_skip_locked(s, path, prefix, "error", reason ? reason : "not scanned", phase);
		free(reason);
	}
	pthread_mutex_unlock(&s->mu);
	__atomic_add_fetch(&s->done_files, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->done_bytes, size, __ATOMIC_RELAXED);
}

void scan_session_skip(struct scan_session *s, const char *path, const char *member, const char *code,
		       const char *reason)
{
	pthread_mutex_lock(&s->mu);
	add_skip_locked(s, path, member, code, reason, s->phase);
	phase_of(s, s->phase)->used = true;
	pthread_mutex_unlock(&s->mu);
}

static void skip_errno(struct scan_session *s, const char *path, const char *phase, const char *what, int e)
{
	char reason[300];

	snprintf(reason, sizeof(reason), "not scanned: %s: %s", what, strerror(e));
	pthread_mutex_lock(&s->mu);
	add_skip_locked(s, path, NULL, "error", reason, phase);
	phase_of(s, phase)->used = true;
	pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- scanning one object */

/* Scans a member in memory or in a temporary file, records it, and remembers it when clean. */
/* This worker's buffer for whole small files (see scan_fd_whole), kept from file to file. */
#define TL_BUF_MAX (256u << 10)
static __thread unsigned char *tl_buf;

static int scan_fd_whole(struct scan_session *s, int fd, uint64_t size, const char *name,
			 struct scan_outcome *o, bool *shrank);

static void scan_member(struct scan_session *s, const char *path, const char *member, const char *cabinet,
			const char *package, const char *phase, unsigned flags, const void *data, int fd,
			uint64_t size)
{
	struct scan_outcome o = {0};
	bool shrank = false; /* a temporary file of ours: it cannot, but a view says so if it did */
	int r;

	if (data || fd < 0 || size == 0)
		r = s->sc->scan_mem(s->e, data, (size_t)size, member, &o);
	else
		r = scan_fd_whole(s, fd, size, member, &o, &shrank);
	if (shrank && !o.error)
		o.error = pib_asprintf("its temporary copy shrank while it was scanned");
	if (r < 0 && !o.error)
		o.error = pib_asprintf("%s", strerror(-r));
	if ((flags & SCAN_F_RECORD) && !o.error && o.n_hits == 0 && o.n_gaps == 0 && size > 0) {
		unsigned char sha[32];
		bool ok = true;
		if (data)
			sha256_mem_raw(data, (size_t)size, sha);
		else
			ok = sha256_fd_raw(fd, sha) == 0;
		if (ok) {
			pthread_mutex_lock(&s->mu);
			(void)clean_add(s, size, sha);
			pthread_mutex_unlock(&s->mu);
		}
	}
	record(s, path, member, cabinet, package, phase, &o, size);
	scan_outcome_free(&o);
}

struct pkg_ctx {
	struct scan_session *s;
	const char *path;
	const char *phase;
	unsigned flags;
	bool inline_scan; /* scan members here (a worker), or queue them (the producer) */
};

static int enqueue(struct scan_session *s, struct job *j);

static int pkg_sink(void *ctx, struct payload_member *m)
{
	struct pkg_ctx *c = ctx;

	if (c->inline_scan) {
		scan_member(c->s, c->path, m->name, m->cabinet, m->package, c->phase, c->flags, m->data, m->fd,
			    m->size);
		free(m->name);
		free(m->data);
		if (m->fd >= 0)
			close(m->fd);
		return 0;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		free(m->name);
		free(m->data);
		if (m->fd >= 0)
			close(m->fd);
		return -ENOMEM;
	}
	j->kind = m->data || m->fd < 0 ? J_MEM : J_FD;
	j->path = strdup(c->path);
	j->member = m->name;
	j->package = m->package ? strdup(m->package) : NULL;
	j->cabinet = m->cabinet ? strdup(m->cabinet) : NULL;
	j->phase = c->phase;
	j->flags = c->flags;
	j->data = m->data;
	j->fd = m->fd;
	j->size = m->size;
	if (!j->path || (m->package && !j->package) || (m->cabinet && !j->cabinet)) {
		job_free(j);
		return -ENOMEM;
	}
	return enqueue(c->s, j);
}

static int pkg_gap(void *ctx, const char *package, const char *member, const char *code, const char *reason)
{
	struct pkg_ctx *c = ctx;

	(void)package;
	pthread_mutex_lock(&c->s->mu);
	add_skip_locked(c->s, c->path, member, code, reason, c->phase);
	pthread_mutex_unlock(&c->s->mu);
	return 0;
}

static struct payload_opts pkg_opts(struct scan_session *s, struct pkg_ctx *c)
{
	return (struct payload_opts){
		.label = c->path,
		.mem_max = s->mem_max,
		.max_member = s->max_filesize,
		.tmpdir = s->tmpdir,
		.threads = c->inline_scan ? 1 : (unsigned)s->n_threads,
		.sink = pkg_sink,
		.gap = pkg_gap,
		.ctx = c,
	};
}

/* Reads up to size bytes of fd into buf; returns how many, or a negative errno. */
static int fill_buffer(int fd, unsigned char *buf, uint64_t size)
{
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, (size_t)size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* it shrank meanwhile: what is there is scanned */
		got += (size_t)n;
	}
	return (int)got;
}

/*
 * Scans the first size bytes of fd (size > 0), whole: a small file from this worker's buffer,
 * a larger one through a view of the file (filemap.h: no copy, a few MiB resident whatever
 * the size, several at once), and one that cannot be mapped through libclamav's own map of
 * the descriptor. *shrank says that a view of the file found it cut short while it was scanned.
 */
static int scan_fd_whole(struct scan_session *s, int fd, uint64_t size, const char *name,
			 struct scan_outcome *o, bool *shrank)
{
	*shrank = false;
	if (size <= TL_BUF_MAX) {
		if (!tl_buf)
			tl_buf = malloc(TL_BUF_MAX);
		int got = tl_buf ? fill_buffer(fd, tl_buf, size) : -ENOMEM;
		if (got >= 0) /* shorter than fstat said (a pseudo file, or cut meanwhile): what is there is scanned */
			return s->sc->scan_mem(s->e, tl_buf, (size_t)got, name, o);
	} else if (size <= SIZE_MAX) {
		struct filemap *m;
		if (filemap_open(fd, (size_t)size, &m) == 0) {
			int r = s->sc->scan_mem(s->e, filemap_data(m), (size_t)size, name, o);
			*shrank = filemap_close(m);
			return r;
		}
	}
	return s->sc->scan_fd(s->e, fd, name, o);
}

static void skip_shrank(struct scan_session *s, const char *path, const char *member, const char *phase)
{
	pthread_mutex_lock(&s->mu);
	add_skip_locked(s, path, member, "changed",
			"it shrank while it was scanned: what it holds now may not have been seen; scan it again", phase);
	phase_of(s, phase)->used = true;
	pthread_mutex_unlock(&s->mu);
}

/* A file scanned as it is; one over the maximum file size is listed, not handed to the engine. */
static void scan_whole(struct scan_session *s, int fd, const char *path, const char *package,
		       const char *phase, uint64_t size)
{
	if (s->max_filesize && size > s->max_filesize) {
		char reason[200];
		snprintf(reason, sizeof(reason), "%llu bytes, larger than the maximum file size (%llu bytes): not scanned",
			 (unsigned long long)size, (unsigned long long)s->max_filesize);
		pthread_mutex_lock(&s->mu);
		add_skip_locked(s, path, NULL, "limit.max_filesize", reason, phase);
		phase_of(s, phase)->used = true;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	struct scan_outcome o = {0};
	bool shrank = false;
	int r = size > 0 ? scan_fd_whole(s, fd, size, path, &o, &shrank) : s->sc->scan_fd(s->e, fd, path, &o);
	if (r < 0 && !o.error)
		o.error = pib_asprintf("%s", strerror(-r));
	if (shrank)
		skip_shrank(s, path, NULL, phase);
	record(s, path, NULL, NULL, package, phase, &o, size);
	scan_outcome_free(&o);
}

static void scan_path_job(struct scan_session *s, struct job *j)
{
	int fd = j->fd >= 0 ? j->fd : open(j->host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	j->fd = -1; /* closed here */

	if (fd < 0) {
		if (errno != ELOOP) /* it became a symlink: not followed */
			skip_errno(s, j->path, j->phase, "cannot open it", errno);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	uint64_t size = (uint64_t)st.st_size;
	if ((j->flags & SCAN_F_DEDUP) && size > 0) {
		pthread_mutex_lock(&s->mu);
		bool maybe = size_known(s, size);
		pthread_mutex_unlock(&s->mu);
		unsigned char sha[32];
		if (maybe && sha256_fd_raw(fd, sha) == 0) {
			pthread_mutex_lock(&s->mu);
			bool same = clean_has(s, size, sha);
			if (same) {
				struct phase_stats *ps = phase_of(s, j->phase);
				ps->used = true;
				ps->identical++;
				ps->identical_bytes += size;
			}
			pthread_mutex_unlock(&s->mu);
			if (same) {
				close(fd);
				__atomic_add_fetch(&s->done_files, 1, __ATOMIC_RELAXED);
				__atomic_add_fetch(&s->done_bytes, size, __ATOMIC_RELAXED);
				return;
			}
		}
	}
	if ((j->flags & SCAN_F_PACKAGES) && size >= 24) {
		unsigned char head[24];
		enum payload_format fmt = PAYLOAD_NONE;
		if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head))
			fmt = payload_sniff(head, sizeof(head));
		if (fmt != PAYLOAD_NONE) {
			struct pkg_ctx c = {.s = s, .path = j->path, .phase = j->phase,
					    .flags = j->flags & ~SCAN_F_RECORD, .inline_scan = true};
			struct payload_opts po = pkg_opts(s, &c);
			struct pib_err err = {0};
			int pr = payload_read(fd, fmt, &po, NULL, &err);
			if (pr < 0 && pr != -ENOMSG) { /* -ENOMSG: an OLE file that is no MSI */
				pthread_mutex_lock(&s->mu);
				add_skip_locked(s, j->path, NULL, "unreadable", err.msg, j->phase);
				pthread_mutex_unlock(&s->mu);
			}
			pib_err_clear(&err);
			if (pr < 0) /* what cannot be unpacked is still scanned as it is */
				scan_whole(s, fd, j->path, j->package, j->phase, size);
			close(fd);
			return;
		}
	}
	scan_whole(s, fd, j->path, j->package, j->phase, size);
	close(fd);
}

static void run_job(struct scan_session *s, struct job *j)
{
	if (j->kind == J_PATH)
		scan_path_job(s, j);
	else
		scan_member(s, j->path, j->member, j->cabinet, j->package, j->phase, j->flags, j->data, j->fd,
			    j->size);
}

/*
 * The next job; s->mu held. Files larger than BIG_FILE go first: a large file found late would
 * otherwise be scanned alone at the end while the other threads have nothing left to do.
 */
static struct job *pop_locked(struct scan_session *s)
{
	for (;;) {
		struct job *j = NULL;
		if (s->bhead) {
			j = s->bhead;
			s->bhead = j->next;
			if (!s->bhead)
				s->btail = NULL;
		} else if (s->head) {
			j = s->head;
			s->head = j->next;
			if (!s->head)
				s->tail = NULL;
		}
		if (j) {
			s->queued--;
			return j;
		}
		if (s->stop)
			return NULL;
		s->waiting_workers++;
		pthread_cond_wait(&s->cv_work, &s->mu);
		s->waiting_workers--;
	}
}

static void *worker(void *arg)
{
	struct scan_session *s = arg;

	in_worker = true;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct job *j = pop_locked(s);
		if (!j)
			break;
		s->active++;
		pthread_mutex_unlock(&s->mu);

		run_job(s, j);
		uint64_t bytes = j->kind == J_MEM ? j->size : 0;
		bool fdj = j->kind == J_FD;
		job_free(j);

		pthread_mutex_lock(&s->mu);
		s->inflight_bytes -= bytes;
		if (fdj)
			s->inflight_fds--;
		s->active--;
		/* the producer waits for the queue to drain to half, not for every free place */
		if (s->waiting_space && (s->queued <= MAX_QUEUED / 2 || bytes || fdj)) {
			s->waiting_space = false;
			pthread_cond_broadcast(&s->cv_space);
		}
		if (s->waiting_idle && !s->head && !s->bhead && s->active == 0) {
			s->waiting_idle = false;
			pthread_cond_broadcast(&s->cv_idle);
		}
	}
	pthread_mutex_unlock(&s->mu);
	free(tl_buf);
	tl_buf = NULL;
	return NULL;
}

static int enqueue(struct scan_session *s, struct job *j)
{
	uint64_t bytes = j->kind == J_MEM ? j->size : 0;
	bool fdj = j->kind == J_FD;

	if (in_worker) { /* a worker never waits for its own queue: it does the work itself */
		run_job(s, j);
		job_free(j);
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	while (!s->stop && (s->queued >= MAX_QUEUED ||
			    (bytes && s->inflight_bytes > 0 && s->inflight_bytes + bytes > s->mem_budget) ||
			    (fdj && s->inflight_fds >= MAX_QUEUED_FDS))) {
		s->waiting_space = true;
		pthread_cond_wait(&s->cv_space, &s->mu);
	}
	j->next = NULL;
	if (j->kind != J_MEM && j->size > BIG_FILE) {
		if (s->btail)
			s->btail->next = j;
		else
			s->bhead = j;
		s->btail = j;
	} else {
		if (s->tail)
			s->tail->next = j;
		else
			s->head = j;
		s->tail = j;
	}
	s->queued++;
	s->inflight_bytes += bytes;
	if (fdj)
		s->inflight_fds++;
	if (s->waiting_workers) /* a wake-up only for a worker that sleeps: no system call otherwise */
		pthread_cond_signal(&s->cv_work);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* ---------------------------------------------------------------- public API */

int scan_session_new(const struct scanner *sc, struct scan_engine *e, const struct scan_config *cfg,
		     struct scan_session **ret, struct pib_err *err)
{
	struct scan_session *s = calloc(1, sizeof(*s));
	unsigned jobs = cfg->jobs ? cfg->jobs : scan_default_jobs();
	int r;

	if (!s)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (jobs > MAX_THREADS)
		jobs = MAX_THREADS;
	s->sc = sc;
	s->e = e;
	s->mem_max = cfg->mem_member_max ? cfg->mem_member_max : 16ull << 20;
	s->mem_budget = (uint64_t)jobs * s->mem_max;
	if (s->mem_budget < MIN_MEM_BUDGET)
		s->mem_budget = MIN_MEM_BUDGET;
	s->max_filesize = sc->max_filesize ? sc->max_filesize(e) : 0;
	s->phase = "scan";
	pthread_mutex_init(&s->mu, NULL);
	r = filemap_start();
	if (r < 0) {
		free(s);
		return pib_fail(err, r, PIB_ERR_ENV, "scan.threads", "cannot start scanning threads: %s", strerror(-r));
	}

	pthread_cond_init(&s->cv_work, NULL);
	pthread_cond_init(&s->cv_space, NULL);
	pthread_cond_init(&s->cv_idle, NULL);
	r = pib_mkdtemp("pib-scan", &s->tmpdir);
	if (r < 0) {
		scan_session_free(s);
		return pib_fail(err, r, PIB_ERR_ENV, "agent.tmpdir",
				"cannot create a private temporary directory: %s", strerror(-r));
	}
	s->threads = calloc(jobs, sizeof(*s->threads));
	if (!s->threads) {
		scan_session_free(s);
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	for (unsigned i = 0; i < jobs; i++) {
		int pr = pthread_create(&s->threads[i], NULL, worker, s);
		if (pr != 0) {
			scan_session_free(s);
			return pib_fail(err, -pr, PIB_ERR_ENV, "scan.threads",
					"cannot start scanning threads: %s", strerror(pr));
		}
		s->n_threads++;
	}
	*ret = s;
	return 0;
}

void scan_session_free(struct scan_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv_work);
	pthread_cond_broadcast(&s->cv_space);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < s->n_threads; i++)
		pthread_join(s->threads[i], NULL);
	free(s->threads);
	filemap_stop(); /* scan_session_new started it before any step that can fail */
	for (struct job *l[2] = {s->head, s->bhead}, **p = l; p < l + 2; p++)
		while (*p) {
			struct job *j = *p;
			*p = j->next;
			job_free(j);
		}
	for (size_t i = 0; i < s->n_det; i++) {
		free(s->det[i].path);
		free(s->det[i].member);
		free(s->det[i].cabinet);
		free(s->det[i].package);
		free(s->det[i].signature);
	}
	free(s->det);
	for (size_t i = 0; i < s->n_skip; i++) {
		free(s->skip[i].path);
		free(s->skip[i].member);
		free(s->skip[i].reason);
	}
	free(s->skip);
	free(s->clean);
	free(s->sizes);
	if (s->tmpdir) {
		(void)pib_rm_rf(s->tmpdir);
		free(s->tmpdir);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv_work);
	pthread_cond_destroy(&s->cv_space);
	pthread_cond_destroy(&s->cv_idle);
	free(s);
}

void scan_session_phase(struct scan_session *s, const char *phase)
{
	pthread_mutex_lock(&s->mu);
	s->phase = phase;
	phase_of(s, phase)->used = true;
	pthread_mutex_unlock(&s->mu);
}

/* Queues a file whose size the caller saw (to pick its lane). */
static int queue_path(struct scan_session *s, const char *host, const char *path, const char *package,
		      unsigned flags, uint64_t size)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->kind = J_PATH;
	j->fd = -1;
	j->size = size;
	j->host = strdup(host);
	j->path = strdup(path);
	j->package = package ? strdup(package) : NULL;
	j->phase = s->phase;
	j->flags = flags;
	if (!j->host || !j->path || (package && !j->package)) {
		job_free(j);
		return -ENOMEM;
	}
	return enqueue(s, j);
}

int scan_session_file(struct scan_session *s, const char *host, const char *path, const char *package,
		      unsigned flags)
{
	struct stat st;

	return queue_path(s, host, path, package, flags,
			  lstat(host, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
}

int scan_session_file_fd(struct scan_session *s, int fd, const char *path, const char *package,
			 unsigned flags)
{
	struct job *j = calloc(1, sizeof(*j));
	struct stat st;

	if (!j) {
		close(fd);
		return -ENOMEM;
	}
	j->kind = J_PATH;
	j->fd = fd; /* scan_path_job opens nothing then */
	j->size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	j->path = strdup(path);
	j->package = package ? strdup(package) : NULL;
	j->phase = s->phase;
	j->flags = flags;
	if (!j->path || (package && !j->package)) {
		job_free(j);
		return -ENOMEM;
	}
	return enqueue(s, j);
}

struct walk {
	struct scan_session *s;
	unsigned flags;
	char host[PATH_MAX * 2];
	char path[PATH_MAX * 2];
};

static int walk_dir(struct walk *w, int dfd, size_t hlen, size_t plen, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	struct stat dst;
	int r = 0;

	if (!d) {
		skip_errno(w->s, w->path, w->s->phase, "cannot read the directory", errno);
		close(dfd);
		return 0;
	}
	if (fstat(dirfd(d), &dst) < 0)
		memset(&dst, 0, sizeof(dst));
	while (r == 0 && (errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		size_t nl = strlen(n);
		if (hlen + 1 + nl >= sizeof(w->host) || plen + 1 + nl >= sizeof(w->path)) {
			w->path[plen] = '\0';
			skip_errno(w->s, w->path, w->s->phase, n, ENAMETOOLONG);
			continue;
		}
		w->host[hlen] = '/';
		memcpy(w->host + hlen + 1, n, nl + 1);
		if (plen == 1 && w->path[0] == '/') {
			memcpy(w->path + 1, n, nl + 1);
		} else {
			w->path[plen] = '/';
			memcpy(w->path + plen + 1, n, nl + 1);
		}
		size_t np = plen == 1 && w->path[0] == '/' ? 1 + nl : plen + 1 + nl;
		unsigned char type = de->d_type;
		struct stat st;
		if (type == DT_UNKNOWN || type == DT_REG) {
			if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
		}
		if (type == DT_REG) {
			r = queue_path(w->s, w->host, w->path, NULL, w->flags, (uint64_t)st.st_size);
		} else if (type == DT_DIR) {
			if (depth >= MAX_DEPTH) {
				pthread_mutex_lock(&w->s->mu);
				add_skip_locked(w->s, w->path, NULL, "limit.max_depth",
						"directories nested too deep: not scanned", w->s->phase);
				pthread_mutex_unlock(&w->s->mu);
				continue;
			}
			int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				if (errno != ELOOP && errno != ENOTDIR)
					skip_errno(w->s, w->path, w->s->phase, "cannot open the directory", errno);
				continue;
			}
			struct stat sst;
			if (fstat(sub, &sst) == 0 && sst.st_dev != dst.st_dev && scan_is_pseudo_fs(sub)) {
				close(sub);
				continue;
			}
			r = walk_dir(w, sub, hlen + 1 + nl, np, depth + 1);
		}
		/* symlinks are not followed; devices, fifos and sockets hold no files */
	}
	closedir(d);
	w->host[hlen] = '\0';
	w->path[plen] = '\0';
	return r;
}

int scan_session_tree(struct scan_session *s, const char *host, const char *path, unsigned flags)
{
	struct walk *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->s = s;
	w->flags = flags;
	size_t hl = strlen(host), pl = strlen(path);
	while (hl > 1 && host[hl - 1] == '/')
		hl--;
	while (pl > 1 && path[pl - 1] == '/')
		pl--;
	if (hl >= sizeof(w->host) || pl >= sizeof(w->path)) {
		free(w);
		return -ENAMETOOLONG;
	}
	memcpy(w->host, host, hl);
	memcpy(w->path, path, pl);
	int fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		skip_errno(s, path, s->phase, "cannot open the directory", errno);
		free(w);
		return 0;
	}
	r = walk_dir(w, fd, hl == 1 && host[0] == '/' ? 0 : hl, pl, 0);
	free(w);
	return r;
}

int scan_session_package(struct scan_session *s, const char *host, const char *path, unsigned flags,
			 struct pib_err *err)
{
	int fd = open(host, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	unsigned char head[24];
	struct stat st;
	int r;

	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "scan.package_unreadable", "%s: cannot open it: %s",
				path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "scan.package_unreadable",
				"%s: not a regular file", path);
	}
	enum payload_format fmt = PAYLOAD_NONE;
	if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head))
		fmt = payload_sniff(head, sizeof(head));
	if (fmt == PAYLOAD_NONE) {
		close(fd);
		return scan_session_file(s, host, path, NULL, flags & ~SCAN_F_PACKAGES);
	}
	struct pkg_ctx c = {.s = s, .path = path, .phase = s->phase, .flags = flags,
			    .inline_scan = in_worker};
	struct payload_opts po = pkg_opts(s, &c);
	r = payload_read(fd, fmt, &po, NULL, err);
	close(fd);
	if (r == -ENOMSG) { /* an OLE file that is no MSI: scanned as it is */
		pib_err_clear(err);
		return scan_session_file(s, host, path, NULL, flags & ~SCAN_F_PACKAGES);
	}
	return r;
}

bool scan_session_remember_clean(struct scan_session *s, const char *path, uint64_t size,
				 const char *sha256_hex)
{
	unsigned char sha[32];
	bool ok = pib_is_hex64(sha256_hex) && size > 0;

	for (int i = 0; ok && i < 32; i++) {
		unsigned v = 0;
		ok = sscanf(sha256_hex + 2 * i, "%2x", &v) == 1;
		sha[i] = (unsigned char)v;
	}
	if (!ok)
		return false;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; ok && i < s->n_det; i++)
		ok = strcmp(s->det[i].path, path) != 0;
	for (size_t i = 0; ok && i < s->n_skip; i++)
		ok = strcmp(s->skip[i].path, path) != 0;
	ok = ok && s->n_det_total == s->n_det && s->n_skip_total == s->n_skip && clean_add(s, size, sha) == 0;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void scan_session_wait(struct scan_session *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->head || s->bhead || s->active > 0) {
		s->waiting_idle = true;
		pthread_cond_wait(&s->cv_idle, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
}

void scan_session_progress(const struct scan_session *s, uint64_t *ret_files, uint64_t *ret_bytes)
{
	*ret_files = __atomic_load_n(&s->done_files, __ATOMIC_RELAXED);
	*ret_bytes = __atomic_load_n(&s->done_bytes, __ATOMIC_RELAXED);
}

static int phase_rank(const char *p)
{
	return !strcmp(p, "prescan") ? 0 : !strcmp(p, "postscan") ? 1 : 2;
}

static int cmp_opt(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Results in the order of the report: phase, path, member, then what (signature or code). */
static int cmp_result(const char *phase_a, const char *path_a, const char *member_a, const char *what_a,
		      const char *phase_b, const char *path_b, const char *member_b, const char *what_b)
{
	int c = phase_rank(phase_a) - phase_rank(phase_b);
	if (!c)
		c = strcmp(path_a, path_b);
	if (!c)
		c = cmp_opt(member_a, member_b);
	return c ? c : strcmp(what_a, what_b);
}

static int cmp_det(const void *x, const void *y)
{
	const struct scan_detection *a = x, *b = y;
	return cmp_result(a->phase, a->path, a->member, a->signature, b->phase, b->path, b->member, b->signature);
}

static int cmp_skip(const void *x, const void *y)
{
	const struct skip *a = x, *b = y;
	return cmp_result(a->phase, a->path, a->member, a->code, b->phase, b->path, b->member, b->code);
}

static void sort_results(struct scan_session *s)
{
	if (s->sorted)
		return;
	if (s->n_det)
		qsort(s->det, s->n_det, sizeof(*s->det), cmp_det);
	if (s->n_skip)
		qsort(s->skip, s->n_skip, sizeof(*s->skip), cmp_skip);
	s->sorted = true;
}

size_t scan_session_n_detections(struct scan_session *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n_det_total;
	pthread_mutex_unlock(&s->mu);
	return n;
}

const struct scan_detection *scan_session_detection(struct scan_session *s, size_t i)
{
	pthread_mutex_lock(&s->mu);
	sort_results(s);
	const struct scan_detection *d = i < s->n_det ? &s->det[i] : NULL;
	pthread_mutex_unlock(&s->mu);
	return d;
}

size_t scan_session_n_skipped(struct scan_session *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n_skip_total;
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t scan_session_n_unread(struct scan_session *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n_unread;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void add_opt_string(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *scan_session_json(struct scan_session *s)
{
	cJSON *j = cJSON_CreateObject();
	uint64_t files = 0, bytes = 0;

	cJSON *eng = s->sc->engine_json(s->e);
	cJSON_AddNumberToObject(eng, "jobs", (double)s->n_threads);
	cJSON_AddItemToObject(j, "engine", eng);
	cJSON_AddItemToObject(j, "database", s->sc->database_json(s->e));
	pthread_mutex_lock(&s->mu);
	sort_results(s);
	for (int i = 0; i < 4 && s->phases[i].name; i++) {
		files += s->phases[i].files;
		bytes += s->phases[i].bytes;
	}
	cJSON_AddNumberToObject(j, "files_scanned", (double)files);
	cJSON_AddNumberToObject(j, "bytes_scanned", (double)bytes);
	cJSON *dets = cJSON_AddArrayToObject(j, "detections");
	for (size_t i = 0; i < s->n_det; i++) {
		const struct scan_detection *d = &s->det[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", d->path);
		add_opt_string(o, "member", d->member);
		if (d->cabinet)
			cJSON_AddStringToObject(o, "cabinet", d->cabinet);
		add_opt_string(o, "package", d->package);
		cJSON_AddStringToObject(o, "signature", d->signature);
		cJSON_AddStringToObject(o, "phase", d->phase);
		cJSON_AddStringToObject(o, "kind", scan_kind_name(d->kind));
		cJSON_AddItemToArray(dets, o);
	}
	if (s->n_det_total > s->n_det)
		cJSON_AddNumberToObject(j, "detections_not_listed", (double)(s->n_det_total - s->n_det));
	cJSON *sk = cJSON_AddArrayToObject(j, "skipped");
	for (size_t i = 0; i < s->n_skip; i++) {
		const struct skip *k = &s->skip[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", k->path);
		add_opt_string(o, "member", k->member);
		cJSON_AddStringToObject(o, "code", k->code);
		cJSON_AddStringToObject(o, "reason", k->reason);
		cJSON_AddStringToObject(o, "phase", k->phase);
		cJSON_AddItemToArray(sk, o);
	}
	if (s->n_skip_total > s->n_skip)
		cJSON_AddNumberToObject(j, "skipped_not_listed", (double)(s->n_skip_total - s->n_skip));
	cJSON *ph = cJSON_AddObjectToObject(j, "phases");
	for (int i = 0; i < 4 && s->phases[i].name; i++) {
		const struct phase_stats *p = &s->phases[i];
		if (!p->used)
			continue;
		cJSON *o = cJSON_AddObjectToObject(ph, p->name);
		cJSON_AddNumberToObject(o, "files_scanned", (double)p->files);
		cJSON_AddNumberToObject(o, "bytes_scanned", (double)p->bytes);
		if (!strcmp(p->name, "postscan")) {
			cJSON_AddNumberToObject(o, "files_identical_to_prescanned", (double)p->identical);
			cJSON_AddNumberToObject(o, "bytes_identical_to_prescanned", (double)p->identical_bytes);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return j;
}
