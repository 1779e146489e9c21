/* SPDX-License-Identifier: MIT */
/* A snapshot of a root's regular files (inode, size, mtime, ctime), and what changed since: for postscan. */
#include "rootdiff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Frames up to this depth keep their directory open while a child is walked; deeper ones are reopened through "..". */
#define FD_KEEP 64

struct rd_entry {
	char *path; /* inside the root; NULL: empty slot */
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	uint32_t mode, uid, gid;
	bool has_sha256, has_text;
	unsigned char sha256[32];
	char *text; /* a copy of a text file under /etc (has_text), NUL-terminated */
	size_t text_len;
};

struct rootdiff {
	char *root;
	struct rd_entry *tab;
	size_t n, cap;
	unsigned flags;    /* ROOTDIFF_CONTENTS: digests and copies taken */
	size_t text_total; /* bytes of the copies kept */
	size_t n_digests;
};

/* One directory under way: its entries read at once, its descriptor (or -1 while a deeper one is walked). */
struct frame {
	int fd;
	dev_t dev;
	ino_t ino;
	size_t plen;  /* its path's length in walker.path */
	char *names;  /* d_type byte + name + NUL, one after another */
	size_t len, off;
};

struct walker {
	struct rootdiff *d;             /* snapshot: record into */
	const struct rootdiff *before;  /* diff: compare against */
	const struct rootdiff_sink *sink;
	int rc;
	char *path; /* the current path inside the root, "" for the root */
	size_t cap;
	struct frame *st;
	size_t n_st, cap_st;
	char *buf; /* snapshot with ROOTDIFF_CONTENTS: ROOTDIFF_DIGEST_CAP + 1 bytes */
};

/* ---------------------------------------------------------------- the table */

static size_t slot(const struct rd_entry *t, size_t cap, const char *path)
{
	for (size_t i = pib_fnv1a_str(path) & (cap - 1);; i = (i + 1) & (cap - 1))
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
	e->mode = (uint32_t)st->st_mode;
	e->uid = (uint32_t)st->st_uid;
	e->gid = (uint32_t)st->st_gid;
	return 0;
}

static bool same(const struct rd_entry *e, const struct stat *st)
{
	return e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino &&
	       e->size == (uint64_t)st->st_size && e->mtime_s == (int64_t)st->st_mtim.tv_sec &&
	       e->mtime_ns == (int64_t)st->st_mtim.tv_nsec && e->ctime_s == (int64_t)st->st_ctim.tv_sec &&
	       e->ctime_ns == (int64_t)st->st_ctim.tv_nsec;
}

/* ---------------------------------------------------------------- filesystems */

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570
#endif
#ifndef FUSECTL_SUPER_MAGIC
#define FUSECTL_SUPER_MAGIC 0x65735543
#endif
#ifndef RPC_PIPEFS_MAGIC
#define RPC_PIPEFS_MAGIC 0x67596969
#endif

const char *rootdiff_fs_not_walked(int fd)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {
		{PROC_SUPER_MAGIC, "proc"}, {SYSFS_MAGIC, "sysfs"}, {DEVPTS_SUPER_MAGIC, "devpts"},
		{TMPFS_MAGIC, "tmpfs"}, /* devtmpfs too */
		{RAMFS_MAGIC, "ramfs"}, {CGROUP_SUPER_MAGIC, "cgroup"}, {CGROUP2_SUPER_MAGIC, "cgroup2"},
		{SECURITYFS_MAGIC, "securityfs"}, {DEBUGFS_MAGIC, "debugfs"}, {TRACEFS_MAGIC, "tracefs"},
		{BPF_FS_MAGIC, "bpf"}, {PSTOREFS_MAGIC, "pstore"}, {EFIVARFS_MAGIC, "efivarfs"},
		{HUGETLBFS_MAGIC, "hugetlbfs"}, {BINFMTFS_MAGIC, "binfmt_misc"}, {NSFS_MAGIC, "nsfs"},
		{SELINUX_MAGIC, "selinuxfs"}, {SMACK_MAGIC, "smackfs"}, {MQUEUE_MAGIC, "mqueue"},
		{CONFIGFS_MAGIC, "configfs"}, {FUSECTL_SUPER_MAGIC, "fusectl"}, {AUTOFS_SUPER_MAGIC, "autofs"},
		{RPC_PIPEFS_MAGIC, "rpc_pipefs"},
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return NULL;
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((unsigned long)sf.f_type == fs[i].magic)
			return fs[i].name;
	return NULL;
}

/* ---------------------------------------------------------------- the walk */

/* Makes w->path the first plen bytes of it, then "/name"; returns the new length or -ENOMEM. */
static ssize_t path_push(struct walker *w, size_t plen, const char *name)
{
	size_t nl = strlen(name), need = plen + 1 + nl + 1;

	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < need)
			cap *= 2;
		char *p = realloc(w->path, cap);
		if (!p)
			return -ENOMEM;
		w->path = p;
		w->cap = cap;
	}
	w->path[plen] = '/';
	memcpy(w->path + plen + 1, name, nl + 1);
	return (ssize_t)(plen + 1 + nl);
}

/* Tells the sink what could not be seen at w->path: "what: the errno's text" (e > 0), or "what". */
static void skip(struct walker *w, const char *code, const char *what, int e)
{
	if (!w->before || !w->sink || !w->sink->skip)
		return; /* a snapshot reads again in the diff what it missed */
	char reason[400];
	snprintf(reason, sizeof(reason), "%s%s%s", what, e > 0 ? ": " : "", e > 0 ? strerror(e) : "");
	w->sink->skip(w->sink->ctx, w->path[0] ? w->path : "/", code, reason);
}

/* Makes w->path the path prefix ("" for the root, else "/a/b"); 0 or -ENOMEM. */
static int path_set(struct walker *w, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n + 1 > w->cap) {
		char *p = realloc(w->path, n + 256);
		if (!p)
			return -ENOMEM;
		w->path = p;
		w->cap = n + 256;
	}
	memcpy(w->path, prefix, n + 1);
	return 0;
}

/* Reads the entries of the directory open on fd (its offset untouched: a new open of "."). */
static int read_names(int fd, char **ret, size_t *ret_len)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct pib_buf b = {0};
	struct dirent *de;
	int r = 0;

	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		unsigned char t = de->d_type;
		if (pib_buf_append(&b, &t, 1) < 0 || pib_buf_append(&b, de->d_name, strlen(de->d_name) + 1) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	if (r < 0) {
		pib_buf_free(&b);
		return r;
	}
	*ret = b.data;
	*ret_len = b.len;
	return 0;
}

static int push(struct walker *w, int fd, const struct stat *st, size_t plen, char *names, size_t len)
{
	if (w->n_st == w->cap_st) {
		size_t cap = w->cap_st ? w->cap_st * 2 : 32;
		struct frame *f = realloc(w->st, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		w->st = f;
		w->cap_st = cap;
	}
	w->st[w->n_st++] = (struct frame){.fd = fd, .dev = st->st_dev, .ino = st->st_ino, .plen = plen,
					  .names = names, .len = len};
	return 0;
}

bool rootdiff_is_text(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len;
		uint32_t cp;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			unsigned char cc = (unsigned char)s[i + k];
			if ((cc & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (cc & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/*
 * ROOTDIFF_CONTENTS: the SHA-256 of a regular file up to ROOTDIFF_DIGEST_CAP, and a copy of a
 * text file under /etc up to ROOTDIFF_TEXT_CAP (while the copies stay under ROOTDIFF_TEXT_TOTAL).
 * What cannot be read is only recorded without them: the diff says "before digest not taken".
 */
static void take_contents(struct walker *w, int dfd, const char *name, const struct stat *st)
{
	struct rd_entry *e = &w->d->tab[slot(w->d->tab, w->d->cap, w->path)];
	char *buf = w->buf;
	struct stat fst;
	size_t len = 0;

	if ((uint64_t)st->st_size > ROOTDIFF_DIGEST_CAP)
		return;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &fst) < 0 || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
		close(fd);
		return;
	}
	while (len < ROOTDIFF_DIGEST_CAP + 1) {
		ssize_t n = read(fd, buf + len, ROOTDIFF_DIGEST_CAP + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > ROOTDIFF_DIGEST_CAP || len != (size_t)st->st_size)
		return; /* it grew or shrank while it was read: not what the stat says */
	unsigned int mdlen = 0;
	if (EVP_Digest(buf, len, e->sha256, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return;
	e->has_sha256 = true;
	w->d->n_digests++;
	if (strncmp(w->path, "/etc/", 5) || len > ROOTDIFF_TEXT_CAP || w->d->text_total + len > ROOTDIFF_TEXT_TOTAL ||
	    !rootdiff_is_text(buf, len))
		return;
	e->text = malloc(len + 1);
	if (!e->text)
		return; /* only the copy is missing */
	memcpy(e->text, buf, len);
	e->text[len] = '\0';
	e->text_len = len;
	e->has_text = true;
	w->d->text_total += len;
}

/* A regular file: recorded (snapshot) or, when new or changed, opened and sent to the sink (diff). */
static void visit(struct walker *w, int dfd, const char *name, const struct stat *st)
{
	if (!w->before) {
		if (insert(w->d, w->path, st) < 0)
			w->rc = -ENOMEM;
		else if (w->d->flags & ROOTDIFF_CONTENTS)
			take_contents(w, dfd, name, st);
		return;
	}
	const struct rd_entry *e = find(w->before, w->path);
	if (e && same(e, st))
		return;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat fst;
	if (fd < 0) {
		if (errno != ENOENT && errno != ELOOP) /* gone, or now a symlink: nothing to scan */
			skip(w, "error", "not scanned: cannot open it", errno);
		return;
	}
	if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode)) {
		close(fd);
		return;
	}
	int r = w->sink->file(w->sink->ctx, fd, w->path, &fst);
	if (r < 0)
		w->rc = r;
}

/* Leaves the top frame; its parent, closed while it was walked, is opened again through "..". */
static void pop(struct walker *w)
{
	struct frame *f = &w->st[w->n_st - 1];

	if (w->n_st > 1 && f[-1].fd < 0) {
		struct frame *p = &f[-1];
		int pfd = openat(f->fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		w->path[p->plen] = '\0';
		if (pfd >= 0 && fstat(pfd, &st) == 0 && st.st_dev == p->dev && st.st_ino == p->ino) {
			p->fd = pfd;
		} else {
			if (pfd >= 0)
				close(pfd);
			skip(w, "error", "the rest of this directory was not walked: it moved while it was walked", 0);
			p->off = p->len; /* nothing more of it can be reached safely */
		}
	}
	if (f->fd >= 0)
		close(f->fd);
	free(f->names);
	w->n_st--;
}

/* A directory entry of the top frame that is a directory: entered unless it cannot be or should not be. */
static void enter(struct walker *w, const char *name, size_t plen)
{
	struct frame *f = &w->st[w->n_st - 1];
	char *names = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (w->n_st > ROOTDIFF_MAX_DEPTH) {
		skip(w, "limit.max_depth", "not walked: directories nested deeper than 4096 levels", 0);
		return;
	}
	int sub = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0) {
		if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR) /* gone, or no longer a directory */
			skip(w, "error", "not walked: cannot open the directory", errno);
		return;
	}
	if (fstat(sub, &st) < 0) {
		skip(w, "error", "not walked: cannot read the directory", errno);
		close(sub);
		return;
	}
	if (st.st_dev != f->dev) {
		const char *fstype = rootdiff_fs_not_walked(sub);
		if (fstype) {
			if (w->before && w->sink && w->sink->not_walked)
				w->sink->not_walked(w->sink->ctx, w->path, fstype);
			close(sub);
			return;
		}
	}
	if ((r = read_names(sub, &names, &len)) < 0) {
		if (r == -ENOMEM)
			w->rc = r;
		else
			skip(w, "error", "not walked: cannot read the directory", -r);
		close(sub);
		return;
	}
	if ((r = push(w, sub, &st, plen, names, len)) < 0) {
		w->rc = r;
		free(names);
		close(sub);
		return;
	}
	f = &w->st[w->n_st - 2];
	if (w->n_st - 1 > FD_KEEP) { /* deep: only the directory under way stays open */
		close(f->fd);
		f->fd = -1;
	}
}

/* Walks the tree under the directory open on fd (taken), whose path inside the root is prefix ("" for the root). */
static void walk_tree(struct walker *w, int fd, const char *prefix)
{
	char *names = NULL;
	size_t len = 0, plen = strlen(prefix);
	struct stat st;
	int r = 0;

	if (path_set(w, prefix) < 0) {
		close(fd);
		w->rc = -ENOMEM;
		return;
	}
	if (fstat(fd, &st) < 0 || (r = read_names(fd, &names, &len)) < 0) {
		if (r == -ENOMEM)
			w->rc = r;
		else
			skip(w, "error", "not walked: cannot read the directory", r < 0 ? -r : errno);
		close(fd);
		return;
	}
	if (push(w, fd, &st, plen, names, len) < 0) {
		free(names);
		close(fd);
		w->rc = -ENOMEM;
		return;
	}
	while (w->n_st > 0) {
		struct frame *f = &w->st[w->n_st - 1];
		if (w->rc < 0 || f->off >= f->len) {
			pop(w);
			continue;
		}
		unsigned char type = (unsigned char)f->names[f->off];
		const char *name = f->names + f->off + 1;
		f->off += 2 + strlen(name);
		if (type != DT_UNKNOWN && type != DT_REG && type != DT_DIR)
			continue; /* symlinks are not followed; devices, fifos and sockets hold no files */
		ssize_t np = path_push(w, f->plen, name);
		if (np < 0) {
			w->rc = -ENOMEM;
			continue;
		}
		if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				skip(w, "error", "not scanned: cannot read it", errno);
		} else if (S_ISREG(st.st_mode)) {
			visit(w, f->fd, name, &st);
		} else if (S_ISDIR(st.st_mode)) {
			enter(w, name, (size_t)np);
		}
	}
}

int rootdiff_open_dir(int rootfd, const char *path)
{
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *copy = strdup(path), *save = NULL;

	if (fd < 0 || !copy) {
		int e = fd < 0 ? errno : ENOMEM;
		if (fd >= 0)
			close(fd);
		free(copy);
		return -e;
	}
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int sub = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (sub < 0) {
			free(copy);
			return -e;
		}
		fd = sub;
	}
	free(copy);
	return fd;
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

/*
 * What lies under the mount point mp (a path inside the root), on the filesystem beneath it: its
 * parent directory's mount is cloned without the mounts on top of it (open_tree), and the entry
 * is read there.
 */
static void walk_beneath(struct walker *w, int rootfd, const char *mp)
{
	const char *slash = strrchr(mp, '/');
	char *parent = slash ? pib_strndup(mp, (size_t)(slash - mp)) : NULL;
	const char *name = slash ? slash + 1 : "";
	int pfd = -1, clone = -1, r;
	struct stat st;

	if (path_set(w, mp) < 0 || !parent) {
		free(parent);
		w->rc = -ENOMEM;
		return;
	}
	if (!*name) {
		skip(w, "error", "a filesystem was mounted over the root itself during install: what lies beneath was not scanned",
		     0);
		free(parent);
		return;
	}
	if ((r = pfd = rootdiff_open_dir(rootfd, parent)) < 0) {
		skip(w, "error", "what lies beneath this mount was not scanned: its parent directory cannot be opened", -r);
		free(parent);
		return;
	}
	free(parent);
	clone = (int)syscall(SYS_open_tree, pfd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | O_CLOEXEC);
	close(pfd);
	if (clone < 0) {
		skip(w, "error", "what lies beneath this mount was not scanned: its filesystem cannot be cloned (open_tree)",
		     errno);
		return;
	}
	if (fstatat(clone, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			skip(w, "error", "what lies beneath this mount was not scanned", errno);
	} else if (S_ISREG(st.st_mode)) {
		visit(w, clone, name, &st);
	} else if (S_ISDIR(st.st_mode)) {
		int fd = openat(clone, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			skip(w, "error", "what lies beneath this mount was not scanned", errno);
		else
			walk_tree(w, fd, mp);
	}
	close(clone);
}

static int open_root(const char *root, struct pib_err *err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	int e = errno;

	if (fd < 0)
		return pib_fail(err, -e, PIB_ERR_ENV, "scan.root_unreadable", "%s: cannot read the root: %s", root,
				strerror(e));
	return fd;
}

static void walker_done(struct walker *w)
{
	while (w->n_st > 0)
		pop(w);
	free(w->st);
	free(w->path);
}

int rootdiff_snapshot(const char *root, struct rootdiff **ret, struct pib_err *err)
{
	return rootdiff_snapshot_ex(root, 0, ret, err);
}

int rootdiff_snapshot_ex(const char *root, unsigned flags, struct rootdiff **ret, struct pib_err *err)
{
	struct rootdiff *d = calloc(1, sizeof(*d));
	struct walker w = {.d = d};
	int fd;

	if (d)
		d->flags = flags;
	if (!d || !(d->root = strdup(root)) ||
	    ((flags & ROOTDIFF_CONTENTS) && !(w.buf = malloc(ROOTDIFF_DIGEST_CAP + 1)))) {
		rootdiff_free(d);
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if ((fd = open_root(root, err)) < 0) {
		free(w.buf);
		rootdiff_free(d);
		return fd;
	}
	walk_tree(&w, fd, "");
	walker_done(&w);
	free(w.buf);
	if (w.rc < 0) {
		rootdiff_free(d);
		return pib_fail(err, w.rc, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	*ret = d;
	return 0;
}

int rootdiff_walk_changes(const struct rootdiff *d, char *const *beneath, const struct rootdiff_sink *sink,
			  struct pib_err *err)
{
	struct walker w = {.before = d, .sink = sink};
	int fd = open_root(d->root, err);

	if (fd < 0)
		return fd;
	for (size_t i = 0; beneath && beneath[i] && w.rc == 0; i++)
		walk_beneath(&w, fd, beneath[i]);
	if (w.rc == 0)
		walk_tree(&w, fd, ""); /* takes fd */
	else
		close(fd);
	walker_done(&w);
	if (w.rc == -ENOMEM)
		return pib_fail(err, w.rc, PIB_ERR_ENV, "agent.oom", "out of memory");
	return w.rc;
}

static int list_file(void *ctx, int fd, const char *path, const struct stat *st)
{
	(void)st;
	close(fd);
	return pib_strv_push(ctx, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rootdiff_changed(const struct rootdiff *d, char ***ret, struct pib_err *err)
{
	char **out = calloc(1, sizeof(*out));
	struct rootdiff_sink sink = {.ctx = &out, .file = list_file};
	int r;

	if (!out)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if ((r = rootdiff_walk_changes(d, NULL, &sink, err)) < 0) {
		pib_strv_free(out);
		return r == -ENOMEM ? r : pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	size_t n = pib_strv_len(out);
	if (n > 1)
		qsort(out, n, sizeof(*out), cmp_str);
	*ret = out;
	return 0;
}

size_t rootdiff_files(const struct rootdiff *d)
{
	return d->n;
}

static void file_of(const struct rd_entry *e, struct rootdiff_file *f)
{
	*f = (struct rootdiff_file){.path = e->path, .dev = e->dev, .ino = e->ino, .size = e->size, .mode = e->mode,
				    .uid = e->uid, .gid = e->gid, .has_sha256 = e->has_sha256,
				    .text = e->has_text ? e->text : NULL, .text_len = e->text_len};
	memcpy(f->sha256, e->sha256, sizeof(f->sha256));
}

bool rootdiff_get(const struct rootdiff *d, const char *path, struct rootdiff_file *ret)
{
	const struct rd_entry *e = find(d, path);

	if (e && ret)
		file_of(e, ret);
	return e != NULL;
}

bool rootdiff_same(const struct rootdiff *d, const char *path, const struct stat *st)
{
	const struct rd_entry *e = find(d, path);

	return e && same(e, st);
}

int rootdiff_each(const struct rootdiff *d, int (*fn)(void *ctx, const struct rootdiff_file *f), void *ctx)
{
	struct rootdiff_file f;

	for (size_t i = 0; i < d->cap; i++) {
		if (!d->tab[i].path)
			continue;
		file_of(&d->tab[i], &f);
		int r = fn(ctx, &f);
		if (r < 0)
			return r;
	}
	return 0;
}

unsigned rootdiff_flags(const struct rootdiff *d)
{
	return d->flags;
}

size_t rootdiff_digests(const struct rootdiff *d)
{
	return d->n_digests;
}

/* ---------------------------------------------------------------- saved to a file */

/*
 * v1: each file's path length (uint32), struct rd_record, path. v2 (ROOTDIFF_CONTENTS kept): the
 * flags (uint32) after the magic; each file's path length, struct rd_record2, path, then its copy
 * (text_len bytes). Both are read; a v1 file loads without digests or copies.
 */
#define RD_MAGIC "pib-agent rootdiff v1\n"
#define RD_MAGIC2 "pib-agent rootdiff v2\n"

struct rd_record { /* follows the path's length (uint32) and precedes its bytes */
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

struct rd_record2 {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	uint32_t mode, uid, gid, bits; /* bits: 1 has_sha256, 2 has_text */
	unsigned char sha256[32];
	uint64_t text_len;
};

int rootdiff_save(const struct rootdiff *d, const char *file)
{
	struct pib_buf b = {0};
	uint32_t flags = d->flags;
	int r = pib_buf_append(&b, RD_MAGIC2, strlen(RD_MAGIC2));

	if (r == 0)
		r = pib_buf_append(&b, &flags, sizeof(flags));
	for (size_t i = 0; r == 0 && i < d->cap; i++) {
		const struct rd_entry *e = &d->tab[i];
		if (!e->path)
			continue;
		uint32_t len = (uint32_t)strlen(e->path);
		struct rd_record2 rec;
		memset(&rec, 0, sizeof(rec));
		rec = (struct rd_record2){e->dev, e->ino, e->size, e->mtime_s, e->mtime_ns, e->ctime_s, e->ctime_ns,
					  e->mode, e->uid, e->gid,
					  (e->has_sha256 ? 1u : 0u) | (e->has_text ? 2u : 0u), {0},
					  e->has_text ? e->text_len : 0};
		memcpy(rec.sha256, e->sha256, sizeof(rec.sha256));
		if ((r = pib_buf_append(&b, &len, sizeof(len))) == 0 && (r = pib_buf_append(&b, &rec, sizeof(rec))) == 0)
			r = pib_buf_append(&b, e->path, len);
		if (r == 0 && e->has_text)
			r = pib_buf_append(&b, e->text, e->text_len);
	}
	if (r == 0)
		r = pib_write_file(file, b.data, b.len, 0600);
	pib_buf_free(&b);
	return r;
}

int rootdiff_load(const char *root, const char *file, struct rootdiff **ret)
{
	struct rootdiff *d = calloc(1, sizeof(*d));
	char *data = NULL;
	size_t len = 0, off = strlen(RD_MAGIC);
	int r = d ? pib_read_file(file, (size_t)1 << 30, &data, &len) : -ENOMEM;
	bool v2 = false;

	*ret = NULL;
	if (r == 0 && len >= off && !memcmp(data, RD_MAGIC2, off)) {
		uint32_t flags;
		v2 = true;
		if (len - off < sizeof(flags)) {
			r = -EBADMSG;
		} else {
			memcpy(&flags, data + off, sizeof(flags));
			d->flags = flags & ROOTDIFF_CONTENTS;
			off += sizeof(flags);
		}
	} else if (r == 0 && (len < off || memcmp(data, RD_MAGIC, off))) {
		r = -EBADMSG;
	}
	if (r == 0 && !(d->root = strdup(root)))
		r = -ENOMEM;
	while (r == 0 && off < len) {
		uint32_t plen;
		struct rd_record2 rec = {0};
		size_t rlen = v2 ? sizeof(struct rd_record2) : sizeof(struct rd_record);
		if (len - off < sizeof(plen) + rlen) {
			r = -EBADMSG;
			break;
		}
		memcpy(&plen, data + off, sizeof(plen));
		memcpy(&rec, data + off + sizeof(plen), rlen); /* rd_record is rd_record2's start */
		off += sizeof(plen) + rlen;
		if (plen == 0 || plen > len - off || memchr(data + off, '\0', plen) ||
		    (v2 && (rec.text_len > ROOTDIFF_TEXT_CAP || rec.text_len > len - off - plen))) {
			r = -EBADMSG;
			break;
		}
		char *path = strndup(data + off, plen);
		struct stat st = {.st_dev = (dev_t)rec.dev, .st_ino = (ino_t)rec.ino, .st_size = (off_t)rec.size,
				  .st_mode = (mode_t)rec.mode, .st_uid = (uid_t)rec.uid, .st_gid = (gid_t)rec.gid};
		st.st_mtim.tv_sec = (time_t)rec.mtime_s;
		st.st_mtim.tv_nsec = (long)rec.mtime_ns;
		st.st_ctim.tv_sec = (time_t)rec.ctime_s;
		st.st_ctim.tv_nsec = (long)rec.ctime_ns;
		r = path ? insert(d, path, &st) : -ENOMEM;
		off += plen;
		if (r == 0 && v2) {
			struct rd_entry *e = &d->tab[slot(d->tab, d->cap, path)];
			if (rec.bits & 1) {
				e->has_sha256 = true;
				memcpy(e->sha256, rec.sha256, sizeof(e->sha256));
				d->n_digests++;
			}
			if (rec.bits & 2) {
				free(e->text);
				e->text = pib_strndup(data + off, (size_t)rec.text_len);
				e->has_text = e->text != NULL;
				e->text_len = e->has_text ? (size_t)rec.text_len : 0;
				if (!e->text)
					r = -ENOMEM;
			}
			off += (size_t)rec.text_len;
		}
		free(path);
	}
	free(data);
	if (r < 0) {
		rootdiff_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void rootdiff_free(struct rootdiff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cap; i++) {
		free(d->tab[i].path);
		free(d->tab[i].text);
	}
	free(d->tab);
	free(d->root);
	free(d);
}
