/* SPDX-License-Identifier: MIT */
/* What the install changed in the customer's image: files modified, replaced, removed; hardening findings. */
#include "imagechange.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "scan_steps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the tables */

/*
 * The hardening places: a path equal to `path`, or under it when it ends with '/'. The first
 * match wins (limits before the rest of /etc/security).
 */
static const struct {
	const char *path;
	const char *area, *id, *what;
	enum policy_severity sev;
} areas[] = {
	{"/etc/ssh/sshd_config", "sshd", "hardening.sshd", "sshd configuration", POLICY_SEV_HIGH},
	{"/etc/ssh/sshd_config.d/", "sshd", "hardening.sshd", "sshd configuration", POLICY_SEV_HIGH},
	{"/etc/sudoers", "sudoers", "hardening.sudoers", "sudo rules", POLICY_SEV_HIGH},
	{"/etc/sudoers.d/", "sudoers", "hardening.sudoers", "sudo rules", POLICY_SEV_HIGH},
	{"/etc/security/limits.conf", "limits", "hardening.limits", "resource limits", POLICY_SEV_MEDIUM},
	{"/etc/security/limits.d/", "limits", "hardening.limits", "resource limits", POLICY_SEV_MEDIUM},
	{"/etc/pam.conf", "pam", "hardening.pam", "PAM configuration", POLICY_SEV_HIGH},
	{"/etc/pam.d/", "pam", "hardening.pam", "PAM configuration", POLICY_SEV_HIGH},
	{"/etc/security/", "pam", "hardening.pam", "PAM configuration", POLICY_SEV_HIGH},
	{"/etc/login.defs", "login_defs", "hardening.login_defs", "login.defs (password aging, umask)",
	 POLICY_SEV_MEDIUM},
	{"/etc/sysctl.conf", "sysctl", "hardening.sysctl", "kernel settings (sysctl)", POLICY_SEV_MEDIUM},
	{"/etc/sysctl.d/", "sysctl", "hardening.sysctl", "kernel settings (sysctl)", POLICY_SEV_MEDIUM},
	{"/etc/audit/", "audit", "hardening.audit", "audit rules", POLICY_SEV_MEDIUM},
	{"/etc/nsswitch.conf", "nsswitch", "hardening.nsswitch", "name service switch (nsswitch.conf)",
	 POLICY_SEV_MEDIUM},
	{"/etc/hosts", "hosts", "hardening.hosts", "/etc/hosts", POLICY_SEV_MEDIUM},
};

/* Directories where a new file is a hardening change too, walked this deep. */
static const char *const added_dirs[] = {
	"/etc/ssh/sshd_config.d", "/etc/sudoers.d", "/etc/pam.d", "/etc/security", "/etc/sysctl.d", "/etc/audit",
};
#define ADDED_DEPTH 4
#define ADDED_MAX 10000 /* entries looked at under added_dirs */

/*
 * What the package manager rewrites on every install: its own bookkeeping, not the image's.
 * A path equal to one of these, or under it when it ends with '/'. Keep README's table in step.
 */
static const char *const pm_owned[] = {
	"/var/lib/dpkg/",    /* dpkg: status, available, info/, triggers/, alternatives/, diversions */
	"/var/lib/apt/",     /* apt: lists, extended_states, periodic */
	"/var/cache/",       /* apt, dnf, man-db, debconf caches */
	"/var/log/",         /* dpkg.log, apt/, dnf logs, alternatives.log */
	"/var/lib/rpm/",     /* rpm database */
	"/usr/lib/sysimage/rpm/", /* rpm database (newer layout) */
	"/var/lib/dnf/",     /* dnf history */
	"/var/lib/yum/",     /* yum history */
	"/etc/ld.so.cache",  /* ldconfig, run by the libc trigger */
	"/var/lib/ucf/",     /* ucf's registry of the conffiles it manages */
	"/usr/share/info/dir", /* install-info's index */
	"/var/lib/systemd/deb-systemd-helper-enabled/", /* debhelper's record of enabled units */
	"/var/lib/systemd/deb-systemd-helper-masked/",
};

static bool under(const char *path, const char *p)
{
	size_t n = strlen(p);

	if (p[n - 1] == '/')
		return !strncmp(path, p, n) && path[n];
	return !strcmp(path, p);
}

const char *imagechange_area(const char *path)
{
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (under(path, areas[i].path))
			return areas[i].area;
	return NULL;
}

static size_t area_index(const char *area)
{
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (!strcmp(areas[i].area, area))
			return i;
	return 0;
}

bool imagechange_pm_owned(const char *path)
{
	for (size_t i = 0; i < sizeof(pm_owned) / sizeof(pm_owned[0]); i++)
		if (under(path, pm_owned[i]))
			return true;
	return false;
}

/* ---------------------------------------------------------------- the diff */

struct line {
	const char *p;
	size_t len; /* with its newline, when it has one */
	uint64_t h;
};

static int split_lines(const char *s, size_t n, struct line **ret, size_t *ret_n)
{
	size_t cap = 16, k = 0;
	struct line *v = malloc(cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (s + i)) + 1 : n - i;
		if (k == cap) {
			struct line *nv = realloc(v, cap * 2 * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[k++] = (struct line){s + i, len, pib_fnv1a(s + i, len)};
		i += len;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->h == b->h && a->len == b->len && !memcmp(a->p, b->p, a->len);
}

/*
 * Myers' O(ND) shortest edit script of a[0..n) into b[0..m), as 'E' (same), 'D' (a line of a
 * removed), 'I' (a line of b added) into ops (room for n + m). More than max_d edits: all of a
 * removed, then all of b added. Returns the number of ops or -ENOMEM.
 */
static ssize_t myers(const struct line *a, size_t n, const struct line *b, size_t m, size_t max_d, char *ops)
{
	size_t maxd = n + m < max_d ? n + m : max_d;
	ssize_t off = (ssize_t)maxd + 1;
	ssize_t *v = calloc(2 * maxd + 3, sizeof(*v));
	ssize_t *trace = NULL;
	size_t tcap = 0;
	ssize_t dfound = -1;
	size_t k_ops = 0;

	if (!v)
		return -ENOMEM;
	for (ssize_t d = 0; d <= (ssize_t)maxd && dfound < 0; d++) {
		for (ssize_t k = -d; k <= d; k += 2) {
			ssize_t x = (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1]
											: v[off + k - 1] + 1;
			ssize_t y = x - k;
			while (x < (ssize_t)n && y < (ssize_t)m && line_eq(&a[x], &b[y]))
				x++, y++;
			v[off + k] = x;
			if (x >= (ssize_t)n && y >= (ssize_t)m)
				dfound = d;
		}
		size_t need = (size_t)(d + 1) * (size_t)(d + 1);
		if (need > tcap) {
			size_t cap = tcap ? tcap * 2 : 64;
			while (cap < need)
				cap *= 2;
			ssize_t *t = realloc(trace, cap * sizeof(*t));
			if (!t) {
				free(trace);
				free(v);
				return -ENOMEM;
			}
			trace = t;
			tcap = cap;
		}
		memcpy(trace + (size_t)d * (size_t)d, v + off - d, (size_t)(2 * d + 1) * sizeof(*v));
	}
	free(v);
	if (dfound < 0) {
		free(trace);
		memset(ops, 'D', n);
		memset(ops + n, 'I', m);
		return (ssize_t)(n + m);
	}
	/* back from (n, m): the ops in reverse order, turned around at the end */
	ssize_t x = (ssize_t)n, y = (ssize_t)m;
	for (ssize_t d = dfound; d > 0; d--) {
		const ssize_t *vp = trace + (size_t)(d - 1) * (size_t)(d - 1) + (d - 1); /* vp[k], k in [-(d-1), d-1] */
		ssize_t k = x - y;
		bool down = k == -d || (k != d && vp[k - 1] < vp[k + 1]);
		ssize_t pk = down ? k + 1 : k - 1;
		ssize_t px = vp[pk], py = px - pk;
		ssize_t mx = down ? px : px + 1, my = mx - k;
		while (x > mx && y > my) {
			ops[k_ops++] = 'E';
			x--, y--;
		}
		ops[k_ops++] = down ? 'I' : 'D';
		x = px, y = py;
	}
	while (x > 0 && y > 0) {
		ops[k_ops++] = 'E';
		x--, y--;
	}
	free(trace);
	for (size_t i = 0; i < k_ops / 2; i++) {
		char t = ops[i];
		ops[i] = ops[k_ops - 1 - i];
		ops[k_ops - 1 - i] = t;
	}
	return (ssize_t)k_ops;
}

/* "-l,s" as diff -u writes it: the count left out when 1, the line before when 0. */
static void range(char *out, size_t size, size_t start, size_t count)
{
	if (count == 1)
		snprintf(out, size, "%zu", start + 1);
	else
		snprintf(out, size, "%zu,%zu", count ? start + 1 : start, count);
}

/* Appends s when it fits in max (else *cut); false once cut. */
static bool put(struct pib_buf *o, size_t max, bool *cut, const char *s, size_t n, int *r)
{
	if (*cut)
		return false;
	if (o->len + n > max) {
		*cut = true;
		return false;
	}
	if (pib_buf_append(o, s, n) < 0) {
		*r = -ENOMEM;
		return false;
	}
	return true;
}

static bool put_line(struct pib_buf *o, size_t max, bool *cut, char sign, const struct line *l, int *r)
{
	bool nl = l->len && l->p[l->len - 1] == '\n';
	const char *tail = "\n\\ No newline at end of file\n";
	size_t need = 1 + l->len + (nl ? 0 : strlen(tail));
	char *tmp = malloc(need);

	if (!tmp) {
		*r = -ENOMEM;
		return false;
	}
	tmp[0] = sign;
	memcpy(tmp + 1, l->p, l->len);
	if (!nl)
		memcpy(tmp + 1 + l->len, tail, strlen(tail));
	bool ok = put(o, max, cut, tmp, need, r);
	free(tmp);
	return ok;
}

int imagechange_diff(const char *a, size_t alen, const char *b, size_t blen, const char *la, const char *lb,
		     size_t max, char **ret, bool *cut)
{
	struct line *al = NULL, *bl = NULL;
	size_t an = 0, bn = 0, pre = 0, suf = 0;
	struct pib_buf o = {0};
	char *ops = NULL;
	int r = 0;

	*cut = false;
	*ret = NULL;
	if (split_lines(a, alen, &al, &an) < 0 || split_lines(b, blen, &bl, &bn) < 0) {
		free(al);
		return -ENOMEM;
	}
	while (pre < an && pre < bn && line_eq(&al[pre], &bl[pre]))
		pre++;
	while (suf < an - pre && suf < bn - pre && line_eq(&al[an - 1 - suf], &bl[bn - 1 - suf]))
		suf++;
	size_t L = an + bn - pre - suf; /* at most: every op of the middle, and the E's around it */
	ops = malloc(L + 1);
	if (!ops) {
		r = -ENOMEM;
		goto out;
	}
	memset(ops, 'E', pre);
	ssize_t mid = myers(al + pre, an - pre - suf, bl + pre, bn - pre - suf, IMAGECHANGE_DIFF_MAX_EDITS, ops + pre);
	if (mid < 0) {
		r = (int)mid;
		goto out;
	}
	memset(ops + pre + (size_t)mid, 'E', suf);
	L = pre + (size_t)mid + suf;
	if (an == bn && pre == an) { /* the same */
		*ret = strdup("");
		r = *ret ? 0 : -ENOMEM;
		goto out;
	}
	char hdr[64 + 2 * PATH_MAX];
	int hn = snprintf(hdr, sizeof(hdr), "--- %s\n+++ %s\n", la, lb);
	if (hn < 0 || (size_t)hn >= sizeof(hdr) || !put(&o, max, cut, hdr, (size_t)hn, &r))
		goto done;
	size_t ai = 0, bi = 0; /* the lines before ops[i] */
	for (size_t i = 0; i < L;) {
		if (ops[i] == 'E') {
			ai++, bi++, i++;
			continue;
		}
		size_t start = i, sa = ai, sb = bi, back = 0;
		while (back < IMAGECHANGE_DIFF_CONTEXT && start > 0 && ops[start - 1] == 'E' && sa > 0)
			start--, sa--, sb--, back++;
		/* the end: past the last change whose next one is more than 2 contexts away */
		size_t j = i;
		while (j < L) {
			if (ops[j] != 'E') {
				j++;
				continue;
			}
			size_t run = 0;
			while (j + run < L && ops[j + run] == 'E')
				run++;
			if (j + run < L && run <= 2 * IMAGECHANGE_DIFF_CONTEXT)
				j += run;
			else
				break;
		}
		size_t end = j, fwd = 0;
		while (fwd < IMAGECHANGE_DIFF_CONTEXT && end < L && ops[end] == 'E')
			end++, fwd++;
		size_t ca = 0, cb = 0;
		for (size_t t = start; t < end; t++) {
			ca += ops[t] != 'I';
			cb += ops[t] != 'D';
		}
		char ra[48], rb[48], h[120];
		range(ra, sizeof(ra), sa, ca);
		range(rb, sizeof(rb), sb, cb);
		hn = snprintf(h, sizeof(h), "@@ -%s +%s @@\n", ra, rb);
		if (!put(&o, max, cut, h, (size_t)hn, &r))
			goto done;
		size_t xa = sa, xb = sb;
		for (size_t t = start; t < end; t++) {
			bool ok = ops[t] == 'E' ? put_line(&o, max, cut, ' ', &al[xa], &r)
				  : ops[t] == 'D' ? put_line(&o, max, cut, '-', &al[xa], &r)
						  : put_line(&o, max, cut, '+', &bl[xb], &r);
			if (!ok)
				goto done;
			xa += ops[t] != 'I';
			xb += ops[t] != 'D';
		}
		ai = xa, bi = xb, i = end;
	}
done:
	if (r == 0) {
		if (pib_buf_append(&o, "", 1) < 0) {
			r = -ENOMEM;
		} else {
			*ret = o.data;
			o.data = NULL;
		}
	}
out:
	pib_buf_free(&o);
	free(ops);
	free(al);
	free(bl);
	return r;
}

/* ---------------------------------------------------------------- the comparison */

static int add_item(struct imagechange *ic, struct imagechange_item **ret)
{
	if (ic->n == ic->cap) {
		size_t cap = ic->cap ? ic->cap * 2 : 16;
		struct imagechange_item *v = realloc(ic->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ic->v = v;
		ic->cap = cap;
	}
	*ret = &ic->v[ic->n++];
	memset(*ret, 0, sizeof(**ret));
	return 0;
}

static void state_of_stat(struct imagechange_state *s, const struct stat *st)
{
	s->present = true;
	s->type = S_ISREG(st->st_mode) ? "file" : S_ISLNK(st->st_mode) ? "symlink" : S_ISDIR(st->st_mode) ? "directory" : "other";
	s->mode = (uint32_t)st->st_mode;
	s->uid = (uint32_t)st->st_uid;
	s->gid = (uint32_t)st->st_gid;
	s->size = (uint64_t)st->st_size;
}

static void state_of_before(struct imagechange_state *s, const struct rootdiff_file *f)
{
	s->present = true;
	s->type = "file";
	s->mode = f->mode;
	s->uid = f->uid;
	s->gid = f->gid;
	s->size = f->size;
	s->has_sha256 = f->has_sha256;
	if (f->has_sha256)
		pib_hex(f->sha256, 32, s->sha256);
}

/*
 * A regular file now: its digest into s, and its text (when it is text of at most
 * ROOTDIFF_TEXT_CAP) into *text. Returns 0, -ENOMEM, or another error (not read).
 */
static int read_after(int dfd, const char *name, const struct stat *st, struct imagechange_state *s, char **text,
		      size_t *text_len)
{
	struct stat fst;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int r = 0;

	*text = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &fst) < 0 || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
		close(fd);
		return -ESTALE;
	}
	if ((uint64_t)fst.st_size <= ROOTDIFF_TEXT_CAP) {
		char *buf = malloc(ROOTDIFF_TEXT_CAP + 2);
		size_t len = 0;
		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		while (len < ROOTDIFF_TEXT_CAP + 1) {
			ssize_t n = read(fd, buf + len, ROOTDIFF_TEXT_CAP + 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		if (r == 0 && len <= ROOTDIFF_TEXT_CAP) {
			pib_sha256_hex(buf, len, s->sha256);
			s->has_sha256 = true;
			s->size = len;
			buf[len] = '\0';
			if (rootdiff_is_text(buf, len)) {
				*text = buf;
				*text_len = len;
				buf = NULL;
			}
			free(buf);
			close(fd);
			return 0;
		}
		free(buf);
		if (r < 0) {
			close(fd);
			return r;
		}
		if (lseek(fd, 0, SEEK_SET) < 0) { /* it grew while it was read */
			close(fd);
			return -errno;
		}
	}
	uint64_t size = 0;
	r = pib_sha256_fd(fd, s->sha256, &size);
	close(fd);
	if (r == 0) {
		s->has_sha256 = true;
		s->size = size;
	}
	return r;
}

static bool is_shadow(const char *path)
{
	static const char *const v[] = {"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(path, v[i]))
			return true;
	return false;
}

/*
 * The item's diff from the text before (bt, or NULL) and after (at, or NULL), as far as the
 * rules allow: text under /etc, never a file that may hold secrets.
 */
static int make_diff(struct imagechange_item *it, const char *bt, size_t bl, const char *at, size_t al)
{
	const char *p = it->path;
	bool sudoers = it->area && !strcmp(it->area, "sudoers"); /* 0440, rules, no secrets */

	if (strncmp(p, "/etc/", 5)) {
		it->diff_note = "not under /etc: no diff";
		return 0;
	}
	if (is_shadow(p)) {
		it->diff_note = "holds password hashes: no diff";
		return 0;
	}
	if (!sudoers && ((it->before.present && !(it->before.mode & 0004)) || (it->after.present && !(it->after.mode & 0004)))) {
		it->diff_note = "not readable by all: may hold secrets, no diff";
		return 0;
	}
	if (it->before.present && !bt) {
		it->diff_note = it->before.size > ROOTDIFF_TEXT_CAP ? "larger than 256 KiB before the install: no diff"
				: !it->before.has_sha256	       ? "not read before the install: no diff"
							       : "binary (NUL bytes or not UTF-8) before the install: no diff";
		return 0;
	}
	if (it->after.present && !at) {
		it->diff_note = strcmp(it->after.type, "file") ? "not a regular file after the install: no diff"
				: it->after.size > ROOTDIFF_TEXT_CAP ? "larger than 256 KiB after the install: no diff"
								     : "binary (NUL bytes or not UTF-8) after the install: no diff";
		return 0;
	}
	char *la = it->before.present ? pib_asprintf("a%s", p) : strdup("/dev/null");
	char *lb = it->after.present ? pib_asprintf("b%s", p) : strdup("/dev/null");
	int r = la && lb ? imagechange_diff(bt ? bt : "", bt ? bl : 0, at ? at : "", at ? al : 0, la, lb,
					    IMAGECHANGE_DIFF_MAX, &it->diff, &it->diff_cut)
			 : -ENOMEM;
	free(la);
	free(lb);
	return r;
}

struct cmp {
	const char *root;
	int rootfd;
	const struct rootdiff *before;
	char **own; /* sorted */
	size_t n_own;
	struct imagechange *ic;
	/* the parent directory open for the file under way */
	char *dir;
	int dfd; /* -errno when it cannot be opened */
	const struct rootdiff_file **files;
	size_t n_files, cap_files;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_own(const struct cmp *c, const char *path)
{
	return c->n_own && bsearch(&path, c->own, c->n_own, sizeof(char *), cmp_str);
}


/* Makes c->dfd the directory of path; its name in *name. */
static int parent_of(struct cmp *c, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t dl = (size_t)(slash - path);

	*name = slash + 1;
	if (c->dir && strlen(c->dir) == dl && !strncmp(c->dir, path, dl))
		return c->dfd;
	if (c->dfd >= 0)
		close(c->dfd);
	free(c->dir);
	c->dir = pib_strndup(path, dl);
	if (!c->dir) {
		c->dfd = -ENOMEM;
		return -ENOMEM;
	}
	c->dfd = rootdiff_open_dir(c->rootfd, c->dir);
	return c->dfd;
}

static int collect(void *ctx, const struct rootdiff_file *f)
{
	struct cmp *c = ctx;

	if (c->n_files == c->cap_files) {
		size_t cap = c->cap_files ? c->cap_files * 2 : 1024;
		const struct rootdiff_file **v = realloc(c->files, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->files = v;
		c->cap_files = cap;
	}
	struct rootdiff_file *copy = malloc(sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	*copy = *f;
	c->files[c->n_files++] = copy;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp((*(const struct rootdiff_file *const *)a)->path, (*(const struct rootdiff_file *const *)b)->path);
}

/* One file of the image as it was: changed, and not the packages' or the package manager's? */
static int compare_one(struct cmp *c, const struct rootdiff_file *f)
{
	struct imagechange_item *it;
	const char *name;
	struct stat st;
	int dfd = parent_of(c, f->path, &name), r;
	bool gone = false;

	if (dfd == -ENOMEM)
		return -ENOMEM;
	c->ic->checked++;
	if (dfd < 0) {
		if (dfd != -ENOENT && dfd != -ENOTDIR && dfd != -ELOOP) {
			c->ic->not_read++;
			return 0;
		}
		gone = true; /* its directory is gone, or is no longer one */
	} else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			c->ic->not_read++;
			return 0;
		}
		gone = true;
	}
	if (!gone && S_ISREG(st.st_mode) && rootdiff_same(c->before, f->path, &st))
		return 0;
	if (is_own(c, f->path)) {
		c->ic->excluded_own++;
		return 0;
	}
	if (imagechange_pm_owned(f->path)) {
		c->ic->excluded_pm++;
		return 0;
	}
	struct imagechange_state after = {0};
	char *at = NULL;
	size_t al = 0;
	if (!gone) {
		state_of_stat(&after, &st);
		if (S_ISREG(st.st_mode) && (r = read_after(dfd, name, &st, &after, &at, &al)) < 0) {
			if (r == -ENOMEM)
				return r;
			c->ic->not_read++;
			return 0;
		}
	}
	struct imagechange_state before = {0};
	state_of_before(&before, f);
	const char *change;
	if (gone) {
		change = "removed";
	} else if (!S_ISREG(st.st_mode)) {
		change = "replaced";
	} else {
		bool content_same = before.has_sha256 && after.has_sha256 && !strcmp(before.sha256, after.sha256);
		bool mode_same = (before.mode & 07777) == (after.mode & 07777);
		bool owner_same = before.uid == after.uid && before.gid == after.gid;
		bool inode_same = f->dev == (uint64_t)st.st_dev && f->ino == (uint64_t)st.st_ino;
		if (content_same && mode_same && owner_same) {
			free(at); /* only its times, or its inode with the same bytes, mode and owner */
			return 0;
		}
		change = !content_same ? (inode_same ? "modified" : "replaced") : !mode_same ? "mode" : "owner";
	}
	if ((r = add_item(c->ic, &it)) < 0 || !(it->path = strdup(f->path))) {
		free(at);
		return -ENOMEM;
	}
	it->change = change;
	it->before = before;
	it->after = after;
	it->area = imagechange_area(f->path);
	if (!strcmp(change, "mode") || !strcmp(change, "owner"))
		it->diff_note = "the same bytes: no diff";
	else
		r = make_diff(it, f->text, f->text_len, at, al);
	free(at);
	return r;
}

static bool listed(const struct imagechange *ic, const char *path)
{
	for (size_t i = 0; i < ic->n; i++)
		if (!strcmp(ic->v[i].path, path))
			return true;
	return false;
}

/* A file in a hardening place that was not there before the install (nor is the packages'). */
static int added_one(struct cmp *c, int dfd, const char *path, const char *name)
{
	struct imagechange_item *it;
	struct stat st;
	char *at = NULL;
	size_t al = 0;
	int r;

	if (!imagechange_area(path) || rootdiff_get(c->before, path, NULL) || is_own(c, path) || listed(c->ic, path))
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0; /* the snapshot records regular files only: a link or a directory is not said to be new */
	struct imagechange_state after = {0};
	state_of_stat(&after, &st);
	if ((r = read_after(dfd, name, &st, &after, &at, &al)) < 0) {
		if (r == -ENOMEM)
			return r;
		c->ic->not_read++;
		return 0;
	}
	if ((r = add_item(c->ic, &it)) < 0 || !(it->path = strdup(path))) {
		free(at);
		return -ENOMEM;
	}
	it->change = "added";
	it->after = after;
	it->area = imagechange_area(path);
	r = make_diff(it, NULL, 0, at, al);
	free(at);
	return r;
}

static int added_dir(struct cmp *c, int dfd, const char *path, unsigned depth, size_t *budget)
{
	int r = 0;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (r == 0 && *budget > 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		(*budget)--;
		char *p = pib_asprintf("%s/%s", path, de->d_name);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISREG(st.st_mode)) {
				r = added_one(c, dfd, p, de->d_name);
			} else if (S_ISDIR(st.st_mode) && depth < ADDED_DEPTH) {
				int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					r = added_dir(c, sub, p, depth + 1, budget);
					close(sub);
				}
			}
		}
		free(p);
	}
	closedir(d);
	return r;
}

static int find_added(struct cmp *c)
{
	size_t budget = ADDED_MAX;
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(added_dirs) / sizeof(added_dirs[0]); i++) {
		int fd = rootdiff_open_dir(c->rootfd, added_dirs[i]);
		if (fd == -ENOMEM)
			return fd;
		if (fd < 0)
			continue;
		r = added_dir(c, fd, added_dirs[i], 1, &budget);
		close(fd);
	}
	for (size_t i = 0; r == 0 && i < sizeof(areas) / sizeof(areas[0]); i++) {
		const char *p = areas[i].path, *name;
		if (p[strlen(p) - 1] == '/')
			continue;
		int dfd = parent_of(c, p, &name);
		if (dfd == -ENOMEM)
			return dfd;
		if (dfd >= 0)
			r = added_one(c, dfd, p, name);
	}
	return r;
}

/* A package's file as the walk names it: its directory resolved inside the root (/bin -> /usr/bin). */
static char *canonical(const char *root, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? pib_strndup(path, (size_t)(slash - path)) : NULL, *host = NULL, *out = NULL;

	if (!dir)
		return NULL;
	if (pib_path_in_root(root, *dir ? dir : "/", true, &host) == 0) {
		const char *inside = strcmp(root, "/") ? host + strlen(root) : host;
		if (!strcmp(inside, "/"))
			inside = "";
		out = pib_asprintf("%s/%s", inside, slash + 1);
	}
	free(dir);
	free(host);
	return out;
}

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct imagechange_item *)a)->path, ((const struct imagechange_item *)b)->path);
}

int imagechange_compute(const char *root, const struct rootdiff *before, char *const *own, struct imagechange *ic,
			struct pib_err *err)
{
	struct cmp c = {.root = root, .before = before, .ic = ic, .dfd = -1};
	int r = 0;

	memset(ic, 0, sizeof(*ic));
	c.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "scan.root_unreadable", "%s: cannot read the root: %s", root,
				strerror(errno));
	c.own = calloc(1, sizeof(char *));
	if (!c.own)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && own && own[i]; i++) {
		char *k = canonical(root, own[i]);
		if ((r = pib_strv_push(&c.own, own[i])) == 0 && k && strcmp(k, own[i]))
			r = pib_strv_push(&c.own, k);
		free(k);
	}
	c.n_own = c.own ? pib_strv_len(c.own) : 0;
	if (c.n_own > 1)
		qsort(c.own, c.n_own, sizeof(char *), cmp_str);
	if (r == 0)
		r = rootdiff_each(before, collect, &c);
	if (r == 0 && c.n_files > 1)
		qsort(c.files, c.n_files, sizeof(*c.files), cmp_file);
	for (size_t i = 0; r == 0 && i < c.n_files; i++)
		r = compare_one(&c, c.files[i]);
	if (r == 0)
		r = find_added(&c);
	if (r == 0 && ic->n > 1)
		qsort(ic->v, ic->n, sizeof(*ic->v), cmp_item);
	for (size_t i = 0; i < c.n_files; i++)
		free((void *)c.files[i]);
	free(c.files);
	pib_strv_free(c.own);
	free(c.dir);
	if (c.dfd >= 0)
		close(c.dfd);
	close(c.rootfd);
	if (r < 0) {
		imagechange_free(ic);
		return pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	return 0;
}

void imagechange_free(struct imagechange *ic)
{
	if (!ic)
		return;
	for (size_t i = 0; i < ic->n; i++) {
		free(ic->v[i].path);
		free(ic->v[i].diff);
	}
	free(ic->v);
	memset(ic, 0, sizeof(*ic));
}

/* ---------------------------------------------------------------- the report */

static cJSON *state_json(const struct imagechange_state *s)
{
	if (!s->present)
		return cJSON_CreateNull();
	cJSON *j = cJSON_CreateObject();
	char mode[16], owner[32];
	if (!j)
		return NULL;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(s->mode & 07777));
	snprintf(owner, sizeof(owner), "%u:%u", (unsigned)s->uid, (unsigned)s->gid);
	cJSON_AddStringToObject(j, "type", s->type);
	if (s->has_sha256)
		cJSON_AddStringToObject(j, "sha256", s->sha256);
	else
		cJSON_AddNullToObject(j, "sha256");
	cJSON_AddStringToObject(j, "mode", mode);
	cJSON_AddStringToObject(j, "owner", owner);
	cJSON_AddNumberToObject(j, "size", (double)s->size);
	return j;
}

cJSON *imagechange_json(const struct imagechange *ic)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < ic->n; i++) {
		const struct imagechange_item *it = &ic->v[i];
		cJSON *j = cJSON_CreateObject();
		char *path = pib_text_clean(it->path, false);
		char *diff = it->diff ? pib_text_clean(it->diff, true) : NULL;
		if (!j || !path || (it->diff && !diff)) {
			cJSON_Delete(j);
			cJSON_Delete(a);
			free(path);
			free(diff);
			return NULL;
		}
		cJSON_AddStringToObject(j, "path", path);
		cJSON_AddStringToObject(j, "change", it->change);
		cJSON_AddItemToObject(j, "before", state_json(&it->before));
		cJSON_AddItemToObject(j, "after", state_json(&it->after));
		if (diff)
			cJSON_AddStringToObject(j, "diff", diff);
		else
			cJSON_AddNullToObject(j, "diff");
		cJSON_AddBoolToObject(j, "diff_cut", it->diff_cut);
		if (it->diff_note)
			cJSON_AddStringToObject(j, "diff_note", it->diff_note);
		if (it->area)
			cJSON_AddStringToObject(j, "hardening", it->area);
		else
			cJSON_AddNullToObject(j, "hardening");
		free(path);
		free(diff);
		cJSON_AddItemToArray(a, j);
	}
	return a;
}

int imagechange_findings(const struct imagechange *ic, struct policy_findings *f)
{
	for (size_t i = 0; i < ic->n; i++) {
		const struct imagechange_item *it = &ic->v[i];
		if (!it->area)
			continue;
		size_t k = area_index(it->area);
		const char *b = !it->before.present ? "none" : it->before.has_sha256 ? it->before.sha256 : "not taken";
		const char *a = !it->after.present ? "none" : it->after.has_sha256 ? it->after.sha256 : "not a file";
		char mode_b[8] = "-", mode_a[8] = "-";
		if (it->before.present)
			snprintf(mode_b, sizeof(mode_b), "%04o", (unsigned)(it->before.mode & 07777));
		if (it->after.present)
			snprintf(mode_a, sizeof(mode_a), "%04o", (unsigned)(it->after.mode & 07777));
		char *title = pib_asprintf("The install changed the image's %s", areas[k].what);
		char *rem = pib_asprintf("Leave the image's %s as the customer made it: ship what the product needs as "
					 "files of its own package and document any change the customer must make",
					 areas[k].what);
		char *path = pib_text_clean(it->path, false);
		int r = title && rem && path
				? policy_add(f, areas[k].id, areas[k].sev, title, path, 0, rem,
					     "%s %s (sha256 %s -> %s, mode %s -> %s); see image_changes", path, it->change,
					     b, a, mode_b, mode_a)
				: -ENOMEM;
		free(title);
		free(rem);
		free(path);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---------------------------------------------------------------- the policy step's part */

/*
 * The files ucf manages for the installed packages (/var/lib/ucf/registry: "PACKAGE \t PATH" a
 * line): a package's configuration that its maintainer script writes from a template it ships
 * (openssh-server's sshd_config) is the package's own, like a conffile. 0 or -ENOMEM.
 */
static int ucf_files(const struct agent_run *run, char ***own)
{
	char *host = NULL, *data = NULL, *save = NULL;
	size_t len = 0;
	int r = pib_path_in_root(run->root, "/var/lib/ucf/registry", false, &host);

	if (r == -ENOMEM)
		return r;
	if (r < 0 || pib_read_file(host, 16u << 20, &data, &len) < 0) {
		free(host);
		return 0;
	}
	free(host);
	for (char *l = strtok_r(data, "\n", &save); l && r >= 0; l = strtok_r(NULL, "\n", &save)) {
		/* ucfr writes "PACKAGE \t PATH" */
		char *end = l + strcspn(l, " \t");
		if (!*end)
			continue;
		*end = '\0';
		char *path = end + 1 + strspn(end + 1, " \t");
		char *colon = strchr(l, ':'); /* name:arch */
		if (*path != '/')
			continue;
		if (colon)
			*colon = '\0';
		for (size_t i = 0; i < run->ictx.n_pkgs; i++)
			if (run->ictx.pkgs[i].name && !strcmp(run->ictx.pkgs[i].name, l)) {
				r = pib_strv_push(own, path);
				break;
			}
	}
	free(data);
	return r < 0 ? r : 0;
}

void agent_image_changes(struct agent_run *run, struct policy_findings *f)
{
	const struct rootdiff *snap = agent_scan_snapshot(run);
	struct imagechange ic = {0};
	struct pib_err e = {0};
	char **own = NULL;
	double t0 = pib_now_mono();

	if (!snap) {
		report_step_detail(run->report, "image_changes_unknown",
				   cJSON_CreateString("no snapshot of the root before the install (--no-scan): what the "
						      "install changed in the image is not known"));
		return;
	}
	if (!(rootdiff_flags(snap) & ROOTDIFF_CONTENTS)) {
		report_step_detail(run->report, "image_changes_unknown",
				   cJSON_CreateString("the snapshot before the install has no digests (saved by an older "
						      "agent): what the install changed in the image is not known"));
		return;
	}
	own = calloc(1, sizeof(*own));
	for (size_t i = 0; own && i < run->ictx.n_pkgs; i++)
		for (char **p = run->ictx.pkgs[i].files; p && *p; p++)
			if (pib_strv_push(&own, *p) < 0) {
				pib_strv_free(own);
				own = NULL;
				break;
			}
	if (own && ucf_files(run, &own) < 0) {
		pib_strv_free(own);
		own = NULL;
	}
	if (!own || imagechange_compute(run->root, snap, own, &ic, &e) < 0) {
		pib_strv_free(own);
		report_step_detail(run->report, "image_changes_unknown",
				   cJSON_CreateString(e.set ? e.msg : "out of memory"));
		pib_err_clear(&e);
		return;
	}
	pib_strv_free(own);
	cJSON *arr = imagechange_json(&ic);
	if (!arr || imagechange_findings(&ic, f) < 0) {
		cJSON_Delete(arr);
		imagechange_free(&ic);
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return;
	}
	report_set(run->report, "image_changes", arr);
	cJSON *d = cJSON_CreateObject();
	if (d) {
		cJSON_AddNumberToObject(d, "changes", (double)ic.n);
		cJSON_AddNumberToObject(d, "files_checked", (double)ic.checked);
		cJSON_AddNumberToObject(d, "digests_before", (double)rootdiff_digests(snap));
		cJSON_AddNumberToObject(d, "excluded_package_files", (double)ic.excluded_own);
		cJSON_AddNumberToObject(d, "excluded_package_manager", (double)ic.excluded_pm);
		cJSON_AddNumberToObject(d, "not_read", (double)ic.not_read);
		cJSON_AddNumberToObject(d, "seconds", pib_now_mono() - t0);
		report_step_detail(run->report, "image_changes", d);
	}
	for (size_t i = 0; i < ic.n; i++)
		agent_log("image change: %s %s%s%s%s", ic.v[i].path, ic.v[i].change, ic.v[i].area ? " [hardening: " : "",
			  ic.v[i].area ? ic.v[i].area : "", ic.v[i].area ? "]" : "");
	imagechange_free(&ic);
}
