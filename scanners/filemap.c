/* SPDX-License-Identifier: MIT */
/* Read-only views of whole files with bounded resident memory and a guard against files that shrink (filemap.h). */
#include "filemap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

/* Open views, as the SIGBUS handler sees them: lock-free reads of start and len. */
static struct {
	_Atomic uintptr_t start;
	_Atomic size_t len;
	atomic_bool shrank;
	bool used; /* under mu */
} views[MAX_VIEWS];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* views[].used, live, users, stop */
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
			if (views[i].used && atomic_load(&views[i].len) > TRIM_MIN_LEN)
				(void)madvise((void *)atomic_load(&views[i].start), atomic_load(&views[i].len),
					      MADV_DONTNEED);
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
 * zeros, the view is marked, and the read is done again. A fault anywhere else is not ours: the
 * previous disposition comes back and takes it when the access faults again.
 */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	(void)sig;
	(void)uc;
	for (unsigned i = 0; i < MAX_VIEWS; i++) {
		uintptr_t start = atomic_load(&views[i].start);
		size_t len = atomic_load(&views[i].len);
		if (!start || a < start || a - start >= len)
			continue;
		uintptr_t page = a & ~(uintptr_t)(page_size - 1);
		if (mmap((void *)page, start + len - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED) {
			atomic_store(&views[i].shrank, true);
			errno = saved;
			return;
		}
		break;
	}
	sigaction(SIGBUS, &old_bus, NULL);
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
	pthread_mutex_lock(&mu);
	bool started = users > 0;
	pthread_mutex_unlock(&mu);
	if (size == 0 || !started)
		return -EINVAL;
	size_t len = (size + page_size - 1) & ~(page_size - 1);
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
	if (users == 0 || i == MAX_VIEWS) {
		pthread_mutex_unlock(&mu);
		munmap(p, len);
		free(m);
		return users == 0 ? -EINVAL : -EBUSY;
	}
	views[i].used = true;
	atomic_store(&views[i].shrank, false);
	atomic_store(&views[i].len, len);
	atomic_store(&views[i].start, (uintptr_t)p);
	if (live++ == 0)
		pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
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
	pthread_mutex_lock(&mu);
	atomic_store(&views[m->slot].start, 0);
	atomic_store(&views[m->slot].len, 0);
	bool shrank = atomic_load(&views[m->slot].shrank);
	views[m->slot].used = false;
	live--;
	pthread_mutex_unlock(&mu);
	munmap(m->addr, m->len);
	free(m);
	return shrank;
}
