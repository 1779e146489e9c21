/* SPDX-License-Identifier: MIT */
/* File modes an image must not carry, and the walker of a root (policy_files.h). */
#include "policy_files.h"
#include "policy_secrets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

struct walk {
	const struct policy_walk_opts *o;
	struct policy_findings *f;
	struct policy_walk_stats *st;
	dev_t dev;
	struct pib_buf path; /* the current path inside the root */
};

static int scan_file(struct walk *w, int dfd, const char *name, const struct stat *lst)
{
	int fd, r;
	struct stat st;
	bool cut = false;

	if ((uint64_t)lst->st_size > w->o->secret_size_cap) {
		w->st->too_large++;
		return 0;
	}
	/* O_NONBLOCK: a file swapped for a fifo between the stat and the open does not hang the walk */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		w->st->errors++;
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != lst->st_ino || st.st_dev != lst->st_dev) {
		close(fd);
		w->st->errors++;
		return 0;
	}
	r = policy_secrets_fd(fd, w->path.data, w->o->secret_max_bytes, w->f, &cut);
	close(fd);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		w->st->errors++;
		return 0;
	}
	w->st->secret_files++;
	w->st->secret_cut += cut;
	return 0;
}

/* Walks the open directory dfd (its path in w->path), at depth; dfd is closed here. */
static int walk_dir(struct walk *w, int dfd, unsigned depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	size_t base = w->path.len;
	int r = 0;

	if (!d) {
		close(dfd);
		w->st->errors++;
		return 0;
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
		if ((r = policy_file_check(w->path.data, &st, w->f)) < 0)
			break;
		r = 0;
		if (S_ISREG(st.st_mode)) {
			w->st->files++;
			if (w->o->secrets && (r = scan_file(w, dirfd(d), name, &st)) < 0)
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
	return r;
}

int policy_walk_root(const char *root, const struct policy_walk_opts *o, struct policy_findings *f,
		     struct policy_walk_stats *stats, struct pib_err *err)
{
	struct policy_walk_opts opts = *o;
	struct walk w = {.o = &opts, .f = f, .st = stats};
	struct stat st;
	int fd, r;

	*stats = (struct policy_walk_stats){0};
	if (!opts.max_depth)
		opts.max_depth = 64;
	if (!opts.secret_size_cap)
		opts.secret_size_cap = 64u << 20;
	if (!opts.secret_max_bytes)
		opts.secret_max_bytes = 8u << 20;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return pib_fail(err, r, PIB_ERR_ENV, "scan.root_unreadable", "%s: cannot open the root: %s", root, strerror(-r));
	}
	w.dev = st.st_dev;
	if ((r = pib_buf_append(&w.path, "/", 1)) < 0) {
		close(fd);
		return r;
	}
	/* the root itself is judged too: a world-writable "/" is the worst of them */
	if ((r = policy_file_check("/", &st, f)) < 0) {
		close(fd);
		pib_buf_free(&w.path);
		return r;
	}
	r = walk_dir(&w, fd, 0);
	pib_buf_free(&w.path);
	return r < 0 ? r : 0;
}
