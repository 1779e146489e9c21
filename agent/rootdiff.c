/* SPDX-License-Identifier: MIT */
/* A snapshot of a root's regular files (inode, size, mtime, ctime), and what changed since: for postscan. */
#include "rootdiff.h"
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 256

struct rd_entry {
	char *path; /* inside the root; NULL: empty slot */
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

struct rootdiff {
	char *root;
	struct rd_entry *tab;
	size_t n, cap;
	size_t unreadable;
};

/* What the walk does with each regular file. */
struct walker {
	struct rootdiff *d;
	const struct rootdiff *before; /* diff: compare against this */
	char ***out;
	size_t n_out;
	int rc;
	size_t unreadable;
	char path[PATH_MAX];
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static size_t slot(const struct rd_entry *t, size_t cap, const char *path)
{
	for (size_t i = hash_str(path) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!t[i].path || !strcmp(t[i].path, path))
			return i;
}

static const struct rd_entry *find(const struct rootdiff *d, const char *path)
{
	if (!d->cap)
		return NULL;
	const struct rd_entry *e = &d->tab[slot(d->tab, d->cap, path)];
	return e->path ? e : NULL;
}

static int insert(struct rootdiff *d, const char *path, const struct stat *st)
{
	if ((d->n + 1) * 2 > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4096;
		struct rd_entry *t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (size_t k = 0; k < d->cap; k++)
			if (d->tab[k].path)
				t[slot(t, cap, d->tab[k].path)] = d->tab[k];
		free(d->tab);
		d->tab = t;
		d->cap = cap;
	}
	struct rd_entry *e = &d->tab[slot(d->tab, d->cap, path)];
	if (!e->path) {
		e->path = strdup(path);
		if (!e->path)
			return -ENOMEM;
		d->n++;
	}
	e->dev = (uint64_t)st->st_dev;
	e->ino = (uint64_t)st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtime_s = (int64_t)st->st_mtim.tv_sec;
	e->mtime_ns = (int64_t)st->st_mtim.tv_nsec;
	e->ctime_s = (int64_t)st->st_ctim.tv_sec;
	e->ctime_ns = (int64_t)st->st_ctim.tv_nsec;
	return 0;
}

static bool same(const struct rd_entry *e, const struct stat *st)
{
	return e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino &&
	       e->size == (uint64_t)st->st_size && e->mtime_s == (int64_t)st->st_mtim.tv_sec &&
	       e->mtime_ns == (int64_t)st->st_mtim.tv_nsec && e->ctime_s == (int64_t)st->st_ctim.tv_sec &&
	       e->ctime_ns == (int64_t)st->st_ctim.tv_nsec;
}

static void visit(struct walker *w, const struct stat *st)
{
	if (w->before) {
		const struct rd_entry *e = find(w->before, w->path);
		if (e && same(e, st))
			return;
		char **v = realloc(*w->out, (w->n_out + 2) * sizeof(*v));
		if (!v || !(v[w->n_out] = strdup(w->path))) {
			if (v)
				*w->out = v;
			w->rc = -ENOMEM;
			return;
		}
		v[++w->n_out] = NULL;
		*w->out = v;
	} else if (insert(w->d, w->path, st) < 0) {
		w->rc = -ENOMEM;
	}
}

/* The top-level directories that hold no files of the image. */
static bool pseudo_top(const char *name)
{
	return !strcmp(name, "proc") || !strcmp(name, "sys") || !strcmp(name, "dev");
}

static void walk(struct walker *w, int dfd, size_t plen, int depth, dev_t dev)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *de;

	if (!dir) {
		close(dfd);
		w->unreadable++;
		return;
	}
	while (w->rc == 0 && (de = readdir(dir))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (depth == 0 && pseudo_top(n))
			continue;
		size_t nl = strlen(n);
		if (plen + 1 + nl >= sizeof(w->path)) {
			w->unreadable++;
			continue;
		}
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, n, nl + 1);
		if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG && de->d_type != DT_DIR)
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			visit(w, &st);
		} else if (S_ISDIR(st.st_mode)) {
			if (depth >= MAX_DEPTH) {
				w->unreadable++;
				continue;
			}
			int sub = openat(dirfd(dir), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				w->unreadable++;
				continue;
			}
			if (st.st_dev != dev && scan_is_pseudo_fs(sub)) {
				close(sub);
				continue;
			}
			walk(w, sub, plen + 1 + nl, depth + 1, st.st_dev);
		}
	}
	closedir(dir);
	w->path[plen] = '\0';
}

static int walk_root(struct walker *w, const char *root, struct pib_err *err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return pib_fail(err, -e, PIB_ERR_ENV, "scan.root_unreadable", "%s: cannot read the root: %s",
				root, strerror(e));
	}
	w->path[0] = '\0';
	walk(w, fd, 0, 0, st.st_dev);
	if (w->rc < 0)
		return pib_fail(err, w->rc, PIB_ERR_ENV, "agent.oom", "out of memory");
	return 0;
}

int rootdiff_snapshot(const char *root, struct rootdiff **ret, struct pib_err *err)
{
	struct rootdiff *d = calloc(1, sizeof(*d));
	struct walker *w = calloc(1, sizeof(*w));
	int r;

	if (!d || !w || !(d->root = strdup(root))) {
		free(w);
		rootdiff_free(d);
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	w->d = d;
	r = walk_root(w, root, err);
	d->unreadable = w->unreadable;
	free(w);
	if (r < 0) {
		rootdiff_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rootdiff_changed(const struct rootdiff *d, char ***ret, struct pib_err *err)
{
	struct walker *w = calloc(1, sizeof(*w));
	char **out = calloc(1, sizeof(*out));
	int r;

	if (!w || !out) {
		free(w);
		free(out);
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	w->before = d;
	w->out = &out;
	r = walk_root(w, d->root, err);
	size_t n = w->n_out;
	free(w);
	if (r < 0) {
		pib_strv_free(out);
		return r;
	}
	if (n > 1)
		qsort(out, n, sizeof(*out), cmp_str);
	*ret = out;
	return 0;
}

size_t rootdiff_files(const struct rootdiff *d)
{
	return d->n;
}

size_t rootdiff_unreadable(const struct rootdiff *d)
{
	return d->unreadable;
}

void rootdiff_free(struct rootdiff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cap; i++)
		free(d->tab[i].path);
	free(d->tab);
	free(d->root);
	free(d);
}
