/* SPDX-License-Identifier: MIT */
/*
 * Read-only views of whole files for the scanner, with two guarantees libclamav's own map of a
 * descriptor gives and a plain mmap does not:
 *  - bounded memory: while views are open, a trimmer thread drops the pages of every view over
 *    4 MiB from the process every few milliseconds (they stay in the page cache, and come back
 *    on the next read), so a view costs at most a few MiB of resident memory whatever the
 *    file's size;
 *  - no crash when a file shrinks under the scan: a read past the new end of the file (SIGBUS)
 *    reads zeros instead, and filemap_close says the view went short.
 * Unlike libclamav's map (anonymous pages filled by pread and aged out one by one, each unmapping
 * an interrupt to every other CPU of the process), the pages are the page cache's own: no copy,
 * and one interrupt per trim, not per page.
 */
#ifndef PIB_FILEMAP_H
#define PIB_FILEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct filemap;

/* Starts (first caller) the trimmer and the SIGBUS guard; every start needs one stop. */
int filemap_start(void);
void filemap_stop(void);

/*
 * A view of the first size bytes of fd (size > 0); *ret is set and 0 returned, or a negative
 * errno (a file system without mmap, for one: the caller then reads the file another way).
 * Needs filemap_start. A view is read and closed by the thread that opened it (the guard
 * against a shrinking file is per thread); a thread has at most 4 open at once.
 */
int filemap_open(int fd, size_t size, struct filemap **ret);
const void *filemap_data(const struct filemap *m);
/* Unmaps the view; true when a read went past the file's end (it shrank while mapped). */
bool filemap_close(struct filemap *m);

#endif
