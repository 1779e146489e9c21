/* SPDX-License-Identifier: MIT */
/* Unit tests of file views: the bytes are the file's, resident pages are trimmed, a file that shrinks reads zeros and says so, other faults still kill. */
#include "filemap.h"
#include "scan_fixtures.h"
#include "tap.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define BIG (64u << 20)

/* Resident pages of files mapped by this process (statm's third field), in bytes. */
static long file_resident(void)
{
	long size = 0, res = 0, shared = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld %ld", &size, &res, &shared) != 3)
		shared = -1;
	fclose(f);
	return shared < 0 ? -1 : shared * sysconf(_SC_PAGESIZE);
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&t, &t) < 0)
		;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131u + (i >> 12));
}

int main(void)
{
	char *dir = NULL;

	if (pib_mkdtemp("pib-test-filemap", &dir) < 0)
		return 1;
	char *path = fx_path(dir, "big");
	unsigned char *want = malloc(BIG);
	if (!want)
		return 1;
	for (size_t i = 0; i < BIG; i++)
		want[i] = pattern(i);
	ok(fx_write(path, want, BIG) == 0, "a 64 MiB file");

	struct filemap *m = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ok(filemap_open(fd, BIG, &m) < 0 && !m, "no view before filemap_start");
	ok(filemap_start() == 0 && filemap_start() == 0, "started twice (two users)");
	filemap_stop(); /* one user left: the trimmer runs on */

	/* the bytes are the file's */
	ok(filemap_open(fd, BIG, &m) == 0 && m, "a view of it");
	long before = file_resident();
	const unsigned char *p = filemap_data(m);
	ok(p && memcmp(p, want, BIG) == 0, "the view holds the file's bytes");

	/* resident memory: the trimmer drops the pages read so far (64 MiB without it) */
	long left = -1;
	for (int i = 0; i < 100; i++) {
		left = file_resident() - before;
		if (left < (4l << 20))
			break;
		sleep_ms(10);
	}
	ok(left >= 0 && left < (4l << 20), "after reading 64 MiB, less than 4 MiB of it stays resident: %ld KiB",
	   left / 1024);
	ok(p[BIG - 1] == want[BIG - 1] && p[12345] == want[12345], "trimmed pages read again from the page cache");
	ok(!filemap_close(m), "closed: it did not shrink");
	m = NULL;

	/* a file that shrinks while it is mapped: zeros past the new end, and the view says so */
	ok(filemap_open(fd, BIG, &m) == 0, "a second view");
	p = filemap_data(m);
	ok(truncate(path, BIG / 2) == 0, "the file is cut to 32 MiB");
	size_t nonzero = 0;
	for (size_t i = BIG / 2; i < BIG; i += 4096)
		nonzero += p[i] != 0;
	ok(nonzero == 0, "past the new end it reads zeros, not a crash");
	ok(memcmp(p, want, BIG / 2) == 0, "before it, the file's bytes");
	ok(filemap_close(m), "closed: it says the file shrank");
	m = NULL;

	/* a view of a file that is already shorter than the size asked for */
	ok(filemap_open(fd, BIG, &m) == 0 && ((const unsigned char *)filemap_data(m))[BIG - 1] == 0 &&
		   filemap_close(m),
	   "a view longer than the file: zeros at the end, and it says it shrank");
	m = NULL;

	/* a fault in memory that is not a view still kills (the previous disposition takes it) */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDONLY);
		volatile const unsigned char *q = mmap(NULL, BIG, PROT_READ, MAP_SHARED, cfd, 0);
		if (q == MAP_FAILED)
			_exit(3);
		unsigned char c = q[BIG - 1]; /* past the end of the 32 MiB file */
		_exit(c == 0 ? 0 : 2);
	}
	int st = 0;
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0),
	   "a read past the end of a mapping that is not a view is not swallowed (status %#x)", st);

	/* a SIGBUS sent by somebody (not a fault) is not swallowed either */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		raise(SIGBUS);
		_exit(0);
	}
	st = 0;
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0),
	   "a SIGBUS sent to a process with views is not swallowed (status %#x)", st);

	filemap_stop();
	ok(filemap_open(fd, 4096, &m) < 0, "no view after the last stop");
	close(fd);

	free(want);
	free(path);
	pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
