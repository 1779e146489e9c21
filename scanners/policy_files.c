/* SPDX-License-Identifier: MIT */
/*
 * File modes an image must not carry, and the walker of a root (policy_files.h): one thread
 * reads the directories and judges modes, reader threads open and scan the regular files it
 * hands them (each file named by its open directory and its name, never by a path resolved
 * again), and their findings are merged and sorted at the end.
 */
#include "policy_files.h"
#include "policy_secrets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int add_mode(struct policy_findings *f, const char *id, enum policy_severity sev, const char *title,
		    const char *path, const struct stat *st, const char *remediation)
{
	int r = policy_add(f, id, sev, title, path, 0, remediation, "mode %04o, owner %u:%u, %s",
			   (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, (unsigned)st->st_gid, path);
	return r < 0 ? r : 1;
}

/*
 * The character devices every Linux system leaves writable by all (devtmpfs and udev make them
 * 0666; chroot builders such as mmdebstrap make /dev/console so): judging them would only bury
 * what matters. A FIFO or a socket is guarded by its folder.
 */
static bool chr_open_to_all(const char *path)
{
	static const char *const open_to_all[] = {"/dev/null", "/dev/zero",   "/dev/full", "/dev/random",
						  "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/net/tun",
						  "/dev/fuse", "/dev/kvm", "/dev/console"};
	for (size_t i = 0; i < sizeof(open_to_all) / sizeof(open_to_all[0]); i++)
		if (!strcmp(path, open_to_all[i]))
			return true;
	return false;
}

int policy_file_check(const char *path, const struct stat *st, struct policy_findings *f)
{
	mode_t m = st->st_mode;
	int r, n = 0;

	if (S_ISLNK(m))
		return 0; /* a link's own mode means nothing; its target is judged where it is */
	if (S_ISREG(m) && (m & S_ISUID)) {
		if ((r = add_mode(f, "file.setuid", POLICY_SEV_HIGH, "A set-user-ID file is in the image", path, st,
				  "Remove the set-user-ID bit (chmod u-s) unless the program needs it and is reviewed.")) < 0)
			return r;
		n++;
	}
	if (S_ISREG(m) && (m & S_ISGID)) {
		if ((r = add_mode(f, "file.setgid", POLICY_SEV_MEDIUM, "A set-group-ID file is in the image", path, st,
				  "Remove the set-group-ID bit (chmod g-s) unless the program needs it and is reviewed.")) < 0)
			return r;
		n++;
	}
	if (S_ISDIR(m) && (m & S_IWOTH) && !(m & S_ISVTX)) {
		if ((r = add_mode(f, "file.world_writable_dir", POLICY_SEV_HIGH,
				  "A directory anyone may write, without the sticky bit, is in the image", path, st,
				  "Remove write for others (chmod o-w) or set the sticky bit (chmod +t).")) < 0)
			return r;
		n++;
	} else if ((m & S_IWOTH) && (S_ISREG(m) || S_ISBLK(m) || (S_ISCHR(m) && !chr_open_to_all(path)))) {
		if ((r = add_mode(f, "file.world_writable", POLICY_SEV_HIGH, "A file anyone may write is in the image",
				  path, st, "Remove write for others (chmod o-w).")) < 0)
			return r;
		n++;
	}
	return n;
}

/* An open directory shared by the walker and the queued files in it: closed by its last user. */
struct dref {
	int fd;
	atomic_uint refs;
};

static struct dref *dref_new(int fd)
{
	struct dref *d = malloc(sizeof(*d));

	if (d) {
		d->fd = fd;
		atomic_init(&d->refs, 1);
	}
	return d;
}

static void dref_put(struct dref *d)
{
	if (d && atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1) {
		close(d->fd);
		free(d);
	}
}

/* One regular file to read: path inside the root (owned), its name in dir, what lstat saw. */
struct item {
	char *path;
	size_t name_off;
	struct dref *dir;
	ino_t ino;
	dev_t dev;
};

/* What one thread reading files keeps: its own findings, counts and buffer. */
struct reader {
	struct walk *w;
	pthread_t thread;
	struct policy_findings f;
	struct policy_walk_stats st;
	struct policy_secrets_buf buf;
	int r;
};

#define QUEUE_CAP 256 /* files waiting: also bounds the directories held open for them */

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	struct item v[QUEUE_CAP];
	size_t head, n;
	unsigned waiting; /* readers waiting for an item */
	bool done;        /* the walker has queued its last item */
	atomic_bool fail; /* a reader ran out of memory: the walk stops */
};

struct walk {
	const struct policy_walk_opts *o;
	struct policy_findings f; /* the walking thread's own findings (modes, and secrets with 1 thread) */
	struct policy_walk_stats *st;
	dev_t dev;
	struct pib_buf path; /* the current path inside the root */
	struct queue *q;     /* NULL: the walking thread reads the files itself, with inline */
	struct reader *inline_reader;
};

/* Opens the item's file, checks it is the one lstat'd, scans it. -ENOMEM only stops the walk. */
static int read_item(struct reader *rd, const struct item *it)
{
	const struct policy_walk_opts *o = rd->w->o;
	int fd, r;
	struct stat st;
	bool cut = false;

	/* O_NONBLOCK: a file swapped for a fifo between the stat and the open does not hang the walk */
	fd = openat(it->dir->fd, it->path + it->name_off, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rd->st.errors++;
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != it->ino || st.st_dev != it->dev) {
		close(fd);
		rd->st.errors++;
		return 0;
	}
	if ((uint64_t)st.st_size > 1u << 20) /* large files only: a syscall saved on each small one */
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = policy_secrets_fd_buf(fd, it->path, (uint64_t)st.st_size, o->secret_max_bytes, &rd->buf, &rd->f, &cut);
	close(fd);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		rd->st.errors++;
		return 0;
	}
	rd->st.secret_files++;
	rd->st.secret_cut += cut;
	rd->st.secret_bytes += (uint64_t)st.st_size < o->secret_max_bytes ? (uint64_t)st.st_size : o->secret_max_bytes;
	return 0;
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct queue *q = rd->w->q;

	for (;;) {
		struct item it;

		pthread_mutex_lock(&q->mu);
		while (!q->n && !q->done) {
			q->waiting++;
			pthread_cond_wait(&q->not_empty, &q->mu);
			q->waiting--;
		}
		if (!q->n) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		it = q->v[q->head];
		q->head = (q->head + 1) % QUEUE_CAP;
		if (q->n-- == QUEUE_CAP)
			pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->mu);

		if (!atomic_load_explicit(&q->fail, memory_order_relaxed) && read_item(rd, &it) < 0) {
			rd->r = -ENOMEM;
			atomic_store(&q->fail, true);
		}
		dref_put(it.dir);
		free(it.path);
	}
}

/* Hands one file to the readers (blocks while the queue is full); it.path is theirs either way. */
static int queue_push(struct queue *q, struct item it)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == QUEUE_CAP)
		pthread_cond_wait(&q->not_full, &q->mu);
	q->v[(q->head + q->n) % QUEUE_CAP] = it;
	q->n++;
	if (q->waiting)
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	return atomic_load_explicit(&q->fail, memory_order_relaxed) ? -ENOMEM : 0;
}

static int scan_file(struct walk *w, struct dref *dir, const char *name, const struct stat *lst)
{
	struct item it = {.dir = dir, .ino = lst->st_ino, .dev = lst->st_dev};
	int r;

	if ((uint64_t)lst->st_size > w->o->secret_size_cap) {
		w->st->too_large++;
		return 0;
	}
	it.name_off = w->path.len - strlen(name);
	if (!w->q) {
		it.path = w->path.data;
		return read_item(w->inline_reader, &it);
	}
	if (!(it.path = strdup(w->path.data)))
		return -ENOMEM;
	atomic_fetch_add_explicit(&dir->refs, 1, memory_order_relaxed);
	if ((r = queue_push(w->q, it)) < 0)
		return r;
	return 0;
}

/* Walks the open directory dfd (its path in w->path), at depth; dfd is closed here (or by its last reader). */
static int walk_dir(struct walk *w, int dfd, unsigned depth)
{
	struct dref *dir;
	DIR *d;
	struct dirent *de = NULL;
	size_t base = w->path.len;
	int r = 0, rfd;

	/* the readers' handle on the directory: a second descriptor, as the DIR stream owns its own */
	if ((rfd = fcntl(dfd, F_DUPFD_CLOEXEC, 3)) < 0 || !(d = fdopendir(dfd))) {
		if (rfd >= 0)
			close(rfd);
		close(dfd);
		w->st->errors++;
		return 0;
	}
	if (!(dir = dref_new(rfd))) {
		close(rfd);
		closedir(d);
		return -ENOMEM;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		const char *name = de->d_name;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		w->path.len = base;
		w->path.data[base] = '\0';
		if ((r = pib_buf_printf(&w->path, "%s%s", base > 1 ? "/" : "", name)) < 0)
			break;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			w->st->errors++;
			continue;
		}
		if (S_ISLNK(st.st_mode))
			continue;
		if ((r = policy_file_check(w->path.data, &st, &w->f)) < 0)
			break;
		r = 0;
		if (S_ISREG(st.st_mode)) {
			w->st->files++;
			if (w->o->secrets && (r = scan_file(w, dir, name, &st)) < 0)
				break;
		} else if (S_ISDIR(st.st_mode)) {
			w->st->dirs++;
			if (st.st_dev != w->dev || depth + 1 > w->o->max_depth) {
				w->st->not_entered++;
				continue;
			}
			int cfd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat cst;
			if (cfd < 0 || fstat(cfd, &cst) < 0 || cst.st_ino != st.st_ino || cst.st_dev != st.st_dev) {
				/* gone, or swapped for something else since the stat: not entered */
				if (cfd >= 0)
					close(cfd);
				w->st->errors++;
				continue;
			}
			if ((r = walk_dir(w, cfd, depth + 1)) < 0)
				break;
		} else {
			w->st->other++;
		}
	}
	if (!de && errno && r == 0)
		w->st->errors++;
	w->path.len = base;
	w->path.data[base] = '\0';
	closedir(d);
	dref_put(dir);
	return r;
}

static int strcmp_null(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

/* The walk's order: path, then id, line, evidence (and the rest, so that no two differ by timing). */
static int finding_cmp(const void *pa, const void *pb)
{
	const struct policy_finding *a = pa, *b = pb;
	int c;

	if ((c = strcmp_null(a->path, b->path)) || (c = strcmp(a->id, b->id)))
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if ((c = strcmp_null(a->evidence, b->evidence)) || (c = strcmp_null(a->title, b->title)))
		return c;
	if (a->severity != b->severity)
		return a->severity < b->severity ? -1 : 1;
	return strcmp_null(a->remediation, b->remediation);
}

/* Moves every finding of src to the end of dst (src left empty). -ENOMEM leaves both as they were. */
static int findings_move(struct policy_findings *dst, struct policy_findings *src)
{
	if (!src->n)
		return 0;
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->n + src->n;
		struct policy_finding *v = realloc(dst->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		dst->v = v;
		dst->cap = cap;
	}
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	*src = (struct policy_findings){0};
	return 0;
}

static void stats_add(struct policy_walk_stats *a, const struct policy_walk_stats *b)
{
	a->secret_files += b->secret_files;
	a->secret_cut += b->secret_cut;
	a->secret_bytes += b->secret_bytes;
	a->errors += b->errors;
}

/* The threads to read with: o->threads, or the CPUs this process may run on. */
static unsigned thread_count(unsigned want)
{
	if (!want) {
		cpu_set_t cpus;
		long n = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : sysconf(_SC_NPROCESSORS_ONLN);
		want = n > 0 ? (unsigned)n : 1;
	}
	return want > 64 ? 64 : want;
}

/* Starts the readers, walks, stops them; their findings go to w->f, their counts to w->st. */
static int walk_threaded(struct walk *w, int fd, unsigned nthreads)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct reader *rd = calloc(nthreads, sizeof(*rd));
	unsigned started = 0;
	int r = 0;

	if (!q || !rd) {
		free(q);
		free(rd);
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	atomic_init(&q->fail, false);
	w->q = q;
	for (; started < nthreads; started++) {
		rd[started].w = w;
		if ((r = -pthread_create(&rd[started].thread, NULL, reader_main, &rd[started])) < 0)
			break;
	}
	if (r == 0)
		r = walk_dir(w, fd, 0);
	else
		close(fd);
	pthread_mutex_lock(&q->mu);
	q->done = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(rd[i].thread, NULL);
		if (rd[i].r < 0 && r == 0)
			r = rd[i].r;
		stats_add(w->st, &rd[i].st);
		if (r == 0)
			r = findings_move(&w->f, &rd[i].f);
		policy_findings_free(&rd[i].f);
		policy_secrets_buf_free(&rd[i].buf);
	}
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->not_empty);
	pthread_mutex_destroy(&q->mu);
	free(q);
	free(rd);
	w->q = NULL;
	return r;
}

int policy_walk_root(const char *root, const struct policy_walk_opts *o, struct policy_findings *f,
		     struct policy_walk_stats *stats, struct pib_err *err)
{
	struct policy_walk_opts opts = *o;
	struct walk w = {.o = &opts, .st = stats};
	struct reader self = {.w = &w};
	struct stat st;
	unsigned nthreads;
	int fd, r;

	*stats = (struct policy_walk_stats){0};
	if (!opts.max_depth)
		opts.max_depth = 64;
	if (!opts.secret_size_cap)
		opts.secret_size_cap = 64u << 20;
	if (!opts.secret_max_bytes)
		opts.secret_max_bytes = 8u << 20;
	nthreads = opts.secrets ? thread_count(opts.threads) : 1;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return pib_fail(err, r, PIB_ERR_ENV, "scan.root_unreadable", "%s: cannot open the root: %s", root, strerror(-r));
	}
	w.dev = st.st_dev;
	w.inline_reader = &self;
	/* the root itself is judged too: a world-writable "/" is the worst of them */
	if ((r = pib_buf_append(&w.path, "/", 1)) < 0 || (r = policy_file_check("/", &st, &w.f)) < 0) {
		close(fd);
		goto out;
	}
	if (nthreads > 1) {
		r = walk_threaded(&w, fd, nthreads);
	} else {
		r = walk_dir(&w, fd, 0);
		stats_add(stats, &self.st);
		if (r == 0)
			r = findings_move(&w.f, &self.f);
	}
	if (r == 0) {
		qsort(w.f.v, w.f.n, sizeof(*w.f.v), finding_cmp);
		r = findings_move(f, &w.f);
	}
out:
	policy_findings_free(&self.f);
	policy_secrets_buf_free(&self.buf);
	policy_findings_free(&w.f);
	pib_buf_free(&w.path);
	return r < 0 ? r : 0;
}
