/* SPDX-License-Identifier: MIT */
/* Read-only views of whole files with bounded resident memory and a guard against files that shrink (filemap.h). */
#include "filemap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_VIEWS 256
/*
 * How often the trimmer drops the views' pages. A thread scans some 100-200 MB/s of a mapped
 * file and hashes it faster, so a view holds a few MiB at most between two trims: about what
 * libclamav's own map keeps (4 to 8 MiB a file). Each trim is one madvise per open view.
 */
#define TRIM_INTERVAL_NS (5 * 1000 * 1000)
/*
 * Views up to this size are left alone: they hold no more than libclamav's own map would, and
 * each trim is an interrupt to every CPU that runs one of our threads, so on a machine with many
 * CPUs trimming every small view every 5 ms would cost more than it saves.
 */
#define TRIM_MIN_LEN (4u << 20)

struct filemap {
	void *addr;
	size_t len; /* the mapping's length, whole pages */
	unsigned slot;
};

/* Open views, for the trimmer. */
static struct {
	void *start;
	size_t len;
	bool used;
} views[MAX_VIEWS];

/*
 * This thread's open views, for the SIGBUS handler: the fault comes to the thread that made
 * the access, which is the thread that opened the view (a view is never handed to another
 * thread), so the handler reads only memory no other thread writes. A thread has one view
 * open at a time in the scanner; a few are allowed.
 */
#define MAX_THREAD_VIEWS 4
static __thread struct {
	uintptr_t start;
	size_t len;
	volatile sig_atomic_t shrank;
} tl_views[MAX_THREAD_VIEWS];
static __thread volatile sig_atomic_t tl_n;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* views[], live, users, stop */
/* live: open views over TRIM_MIN_LEN, the only ones the trimmer wakes up for */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned live, users;
static bool stop;
static pthread_t trimmer_thread;
static struct sigaction old_bus;
static size_t page_size;

static void *trimmer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stop) {
		if (live == 0) {
			pthread_cond_wait(&cv, &mu);
			continue;
		}
		/*
		 * Under mu, so that no view is unmapped (and its range handed to somebody else's
		 * memory) while it is being trimmed. The pages of a shared file mapping stay in the
		 * page cache: a later read maps them again.
		 */
		for (unsigned i = 0; i < MAX_VIEWS; i++)
			if (views[i].used && views[i].len > TRIM_MIN_LEN)
				(void)madvise(views[i].start, views[i].len, MADV_DONTNEED);
		pthread_mutex_unlock(&mu);
		struct timespec t = {0, TRIM_INTERVAL_NS};
		while (nanosleep(&t, &t) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

/*
 * A read past the end of a file that shrank after it was mapped: the rest of the view becomes
 * zeros, the view is marked, and the read is done again. Any other SIGBUS is not ours: the
 * previous disposition comes back and takes it (a fault happens again when the access is done
 * again; a signal sent by somebody is sent again).
 */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (si->si_code == BUS_ADRERR) {
		uintptr_t a = (uintptr_t)si->si_addr;
		for (int i = 0; i < tl_n; i++) {
			uintptr_t start = tl_views[i].start;
			size_t len = tl_views[i].len;
			if (a < start || a - start >= len)
				continue;
			uintptr_t page = a & ~(uintptr_t)(page_size - 1);
			if (mmap((void *)page, start + len - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) != MAP_FAILED) {
				tl_views[i].shrank = 1;
				errno = saved;
				return;
			}
			break;
		}
	}
	sigaction(SIGBUS, &old_bus, NULL);
	if (si->si_code <= 0) /* sent, not a fault: it would not come again by itself */
		raise(sig);
	errno = saved;
}

int filemap_start(void)
{
	int r = 0;

	pthread_mutex_lock(&mu);
	if (users++ == 0) {
		page_size = (size_t)sysconf(_SC_PAGESIZE);
		struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};
		sigemptyset(&sa.sa_mask);
		stop = false;
		if (sigaction(SIGBUS, &sa, &old_bus) < 0) {
			r = -errno;
		} else if ((r = -pthread_create(&trimmer_thread, NULL, trimmer, NULL)) < 0) {
			sigaction(SIGBUS, &old_bus, NULL);
		}
		if (r < 0)
			users = 0;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

void filemap_stop(void)
{
	pthread_mutex_lock(&mu);
	if (users == 0 || --users > 0) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stop = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(trimmer_thread, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
}

int filemap_open(int fd, size_t size, struct filemap **ret)
{
	if (size == 0)
		return -EINVAL;
	if (tl_n == MAX_THREAD_VIEWS)
		return -EBUSY;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = (size + pg - 1) & ~(pg - 1);
	struct filemap *m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		free(m);
		return -e;
	}
	pthread_mutex_lock(&mu);
	unsigned i = 0;
	while (i < MAX_VIEWS && views[i].used)
		i++;
	if (users == 0 || i == MAX_VIEWS) { /* not started (or stopped), or too many views */
		pthread_mutex_unlock(&mu);
		munmap(p, len);
		free(m);
		return users == 0 ? -EINVAL : -EBUSY;
	}
	views[i].used = true;
	views[i].start = p;
	views[i].len = len;
	if (len > TRIM_MIN_LEN && live++ == 0)
		pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	/* filled before it is counted: the handler never sees a half-made entry */
	tl_views[tl_n].start = (uintptr_t)p;
	tl_views[tl_n].len = len;
	tl_views[tl_n].shrank = 0;
	tl_n = tl_n + 1;
	*m = (struct filemap){.addr = p, .len = len, .slot = i};
	*ret = m;
	return 0;
}

const void *filemap_data(const struct filemap *m)
{
	return m->addr;
}

bool filemap_close(struct filemap *m)
{
	if (!m)
		return false;
	bool shrank = false;
	for (int i = 0; i < tl_n; i++)
		if (tl_views[i].start == (uintptr_t)m->addr) {
			shrank = tl_views[i].shrank;
			tl_views[i] = tl_views[tl_n - 1]; /* no access to the view is under way: no fault */
			tl_n = tl_n - 1;
			break;
		}
	pthread_mutex_lock(&mu); /* not while the trimmer is at it: its range may be reused at once */
	if (views[m->slot].len > TRIM_MIN_LEN)
		live--;
	views[m->slot].used = false;
	views[m->slot].start = NULL;
	views[m->slot].len = 0;
	pthread_mutex_unlock(&mu);
	munmap(m->addr, m->len);
	free(m);
	return shrank;
}
