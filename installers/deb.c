/* SPDX-License-Identifier: MIT */
/* The deb installer: digests, libsolv resolution against dpkg's status and apt's lists, dpkg or apt installs. */
#include "installer.h"
#include "debsig.h"
#include "resolve.h"
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define MAX_STATUS_BYTES (256u << 20)
#define MAX_LIST_BYTES (1024u << 20)
#define MAX_LISTS 256

static const char *const deb_families[] = {"debian", NULL};

/* One stanza of dpkg's status file (the fields we use). */
struct dpkg_entry {
	char *package, *arch, *version, *status;
};

struct dpkg_db {
	struct dpkg_entry *e;
	size_t n;
};

struct deb_priv {
	struct dpkg_db before;
	char *policy_rc_d; /* host path of the policy-rc.d we created, removed afterwards */
	char *policy_rc_d_saved; /* the image's own, moved aside, put back afterwards */
	char *stage_dir;   /* host path of ROOT/var/cache/pib-agent/... for apt installs */
};

static char *root_path(const char *root, const char *inside)
{
	return pib_asprintf("%s%s", strcmp(root, "/") ? root : "", inside);
}

static void dpkg_db_free(struct dpkg_db *db)
{
	for (size_t i = 0; i < db->n; i++) {
		free(db->e[i].package);
		free(db->e[i].arch);
		free(db->e[i].version);
		free(db->e[i].status);
	}
	free(db->e);
	memset(db, 0, sizeof(*db));
}

/* Reads ROOT/var/lib/dpkg/status. Returns 0, or -ENOENT when there is none. */
static int dpkg_db_read(const char *root, struct dpkg_db *db)
{
	char *path = root_path(root, "/var/lib/dpkg/status");
	char *data = NULL;
	size_t len = 0;
	int r;

	memset(db, 0, sizeof(*db));
	if (!path)
		return -ENOMEM;
	r = pib_read_file(path, MAX_STATUS_BYTES, &data, &len);
	free(path);
	if (r < 0)
		return r;
	struct dpkg_entry cur = {0};
	char *save = NULL;
	bool eof = false;
	char *line = strtok_r(data, "\n", &save);
	/* strtok_r drops empty lines, so stanzas are cut at each "Package:" instead */
	while (!eof) {
		if (!line || !strncmp(line, "Package:", 8)) {
			if (cur.package) {
				struct dpkg_entry *ne = realloc(db->e, (db->n + 1) * sizeof(*ne));
				if (!ne) {
					r = -ENOMEM;
					break;
				}
				db->e = ne;
				db->e[db->n++] = cur;
			} else {
				free(cur.arch);
				free(cur.version);
				free(cur.status);
			}
			memset(&cur, 0, sizeof(cur));
			if (!line) {
				eof = true;
				continue;
			}
		}
		const char *v;
#define FIELD(name, dst)                                                                               \
	if (!strncmp(line, name ":", sizeof(name)) && !dst) {                                          \
		v = line + sizeof(name);                                                               \
		while (*v == ' ')                                                                      \
			v++;                                                                           \
		dst = strdup(v);                                                                       \
	}
		FIELD("Package", cur.package)
		else FIELD("Architecture", cur.arch)
		else FIELD("Version", cur.version)
		else FIELD("Status", cur.status)
#undef FIELD
		line = strtok_r(NULL, "\n", &save);
	}
	free(cur.package);
	free(cur.arch);
	free(cur.version);
	free(cur.status);
	free(data);
	return r;
}

static const struct dpkg_entry *dpkg_db_find(const struct dpkg_db *db, const char *name,
					     const char *arch)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->e[i].package, name) &&
		    (!arch || !db->e[i].arch || !strcmp(db->e[i].arch, arch)))
			return &db->e[i];
	return NULL;
}

static bool really_installed(const char *status)
{
	return status && pib_str_has_suffix(status, " installed");
}

static int deb_probe(struct inst_ctx *c)
{
	char *dpkg = pib_find_tool("dpkg");
	char *status = root_path(c->root, "/var/lib/dpkg/status");
	int r = 0;

	if (!dpkg)
		r = pib_fail(c->err, -ENOENT, PIB_ERR_ENV, "tool.missing",
			     "dpkg is not installed on this machine (needed for deb targets)");
	else if (access(status, R_OK) != 0)
		r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "os.no_package_db",
			     "%s: no dpkg database: is this a Debian-family root?", status);
	free(dpkg);
	free(status);
	return r;
}

static int deb_verify(struct inst_ctx *c)
{
	int r = inst_verify_digests(c);

	if (r < 0)
		return r;
	/* with keys: every package's origin signature (debsig-verify); without: nothing to do */
	return inst_deb_debsig_verify(c);
}

/* Decompresses one apt list (plain, .lz4, .gz, .xz, .zst) into memory with libarchive's raw reader. */
static int read_list(const char *path, char **ret, size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	struct pib_buf b = {0};
	char buf[1 << 16];
	int r = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		r = -EINVAL;
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			r = -EIO;
			goto out;
		}
		if (b.len + (size_t)n > MAX_LIST_BYTES) {
			r = -EFBIG;
			goto out;
		}
		if ((r = pib_buf_append(&b, buf, (size_t)n)) < 0)
			goto out;
	}
	if (!b.data && (r = pib_buf_append(&b, "", 0)) < 0)
		goto out;
	*ret = b.data;
	*ret_len = b.len;
	b.data = NULL;
out:
	pib_buf_free(&b);
	archive_read_free(a);
	return r;
}

static bool is_packages_list(const char *name)
{
	static const char *const suffixes[] = {"_Packages", "_Packages.lz4", "_Packages.gz",
					       "_Packages.xz", "_Packages.zst", NULL};
	for (int i = 0; suffixes[i]; i++)
		if (pib_str_has_suffix(name, suffixes[i]))
			return true;
	return false;
}

static int load_apt_lists(struct inst_ctx *c, struct resolve_repo **ret, size_t *ret_n)
{
	char *dir = root_path(c->root, "/var/lib/apt/lists");
	struct resolve_repo *repos = NULL;
	size_t n = 0;
	int r = 0;
	DIR *d = dir ? opendir(dir) : NULL;

	*ret = NULL;
	*ret_n = 0;
	if (!d) {
		free(dir);
		return 0; /* no lists: only the bundle and the installed packages */
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_packages_list(de->d_name))
			continue;
		if (n >= MAX_LISTS)
			break;
		/* apt links a file: repository's list to its index, by a path inside the root */
		char *inside = pib_asprintf("/var/lib/apt/lists/%s", de->d_name);
		char *p = NULL;
		struct stat st;
		if (!inside || pib_path_in_root(c->root, inside, true, &p) < 0 || stat(p, &st) < 0 ||
		    !S_ISREG(st.st_mode)) {
			free(inside);
			free(p);
			continue;
		}
		struct resolve_repo *nr = realloc(repos, (n + 1) * sizeof(*nr));
		if (!nr) {
			free(p);
			free(inside);
			r = -ENOMEM;
			break;
		}
		repos = nr;
		memset(&repos[n], 0, sizeof(repos[n]));
		r = read_list(p, &repos[n].data, &repos[n].len);
		if (r < 0) {
			r = pib_fail(c->err, r, PIB_ERR_FAILED, "resolve.error",
				     "%s: cannot read this apt list: %s", p, strerror(-r));
			free(p);
			free(inside);
			break;
		}
		repos[n].name = strdup(de->d_name);
		n++;
		free(p);
		free(inside);
	}
	closedir(d);
	free(dir);
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			free(repos[i].name);
			free(repos[i].data);
		}
		free(repos);
		return r;
	}
	*ret = repos;
	*ret_n = n;
	return 0;
}

static char **foreign_arches(const char *root)
{
	char *p = root_path(root, "/var/lib/dpkg/arch");
	char *data = NULL, *save = NULL;
	char **v = calloc(1, sizeof(char *));
	size_t len;

	if (p && v && pib_read_file(p, 64 * 1024, &data, &len) == 0) {
		for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (*l && pib_strv_push(&v, l) < 0)
				break;
	}
	free(data);
	free(p);
	return v;
}

static int deb_resolve(struct inst_ctx *c)
{
	struct resolve_repo *repos = NULL;
	size_t n_repos = 0;
	int r;

	if ((r = load_apt_lists(c, &repos, &n_repos)) < 0)
		return r;
	struct resolve_input in = {
		.dist = RESOLVE_DEB,
		.arch = os_deb_arch(c->os->arch),
		.foreign_arches = foreign_arches(c->root),
		.repos = repos,
		.n_repos = n_repos,
		.installed_filter = really_installed,
	};
	r = resolve_run(c, &in);
	for (size_t i = 0; i < n_repos; i++) {
		free(repos[i].name);
		free(repos[i].data);
	}
	free(repos);
	pib_strv_free(in.foreign_arches);
	return r;
}

/* Takes dpkg's frontend lock of the root, waiting a bounded time. Returns the fd or -errno. */
static int take_dpkg_lock(struct inst_ctx *c)
{
	char *p = root_path(c->root, "/var/lib/dpkg/lock-frontend");
	double until = pib_now_mono() + (c->lock_timeout > 0 ? c->lock_timeout : 120);
	int fd;

	if (!p)
		return -ENOMEM;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		int r = pib_fail(c->err, -errno, PIB_ERR_FAILED, "install.lock", "%s: %s", p,
				 strerror(errno));
		free(p);
		return r;
	}
	for (;;) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fcntl(fd, F_SETLK, &fl) == 0)
			break;
		if (errno != EACCES && errno != EAGAIN) {
			int r = pib_fail(c->err, -errno, PIB_ERR_FAILED, "install.lock", "%s: %s", p,
					 strerror(errno));
			close(fd);
			free(p);
			return r;
		}
		if (pib_now_mono() > until) {
			int r = pib_fail(c->err, -EBUSY, PIB_ERR_FAILED, "install.lock_timeout",
					 "%s: another package manager holds the lock; gave up after %.0f s",
					 p, c->lock_timeout > 0 ? c->lock_timeout : 120);
			close(fd);
			free(p);
			return r;
		}
		usleep(250000);
	}
	free(p);
	return fd;
}

/*
 * In a root other than "/", no service may start: our policy-rc.d says no for the duration of
 * the install. An image's own one is moved aside and put back afterwards (deb_cleanup).
 */
static int add_policy_rc_d(struct inst_ctx *c, struct deb_priv *pv)
{
	static const char script[] = "#!/bin/sh\n# written by pib-agent for the duration of an install\nexit 101\n";
	char *p = NULL, *saved = NULL;
	struct stat st;
	int fd, r;

	if (!strcmp(c->root, "/"))
		return 0;
	if ((r = pib_path_in_root(c->root, "/usr/sbin/policy-rc.d", false, &p)) < 0)
		return pib_fail(c->err, r, PIB_ERR_FAILED, "install.failed",
				"%s/usr/sbin/policy-rc.d: %s", c->root, strerror(-r));
	if (lstat(p, &st) == 0) {
		saved = pib_asprintf("%s.pib-agent-saved", p);
		if (!saved || rename(p, saved) < 0) {
			r = pib_fail(c->err, -errno, PIB_ERR_FAILED, "install.failed",
				     "%s: cannot move the image's policy-rc.d aside: %s", p, strerror(errno));
			free(saved);
			free(p);
			return r;
		}
		pv->policy_rc_d_saved = saved;
	}
	pv->policy_rc_d = p;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0 || write(fd, script, sizeof(script) - 1) != (ssize_t)(sizeof(script) - 1) ||
	    fchmod(fd, 0755) < 0) {
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed",
			     "%s: cannot write a policy-rc.d that keeps services from starting: %s", p,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	return 0;
}

static char **deb_env(bool frontend_locked)
{
	char **env = NULL;
	const char *const base[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"DEBIAN_FRONTEND=noninteractive",
		"DEBCONF_NONINTERACTIVE_SEEN=true",
		"APT_LISTCHANGES_FRONTEND=none",
		"NEEDRESTART_MODE=l",
		"HOME=/root",
		NULL,
	};
	for (int i = 0; base[i]; i++)
		if (pib_strv_push(&env, base[i]) < 0)
			break;
	/* we hold dpkg's frontend lock: without this dpkg would try to take it and fail */
	if (frontend_locked)
		(void)!pib_strv_push(&env, "DPKG_FRONTEND_LOCKED=1");
	return env;
}

/* Copies a file into a directory of the root, for apt running chrooted there. */
static int copy_into(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out, r = 0;
	char buf[1 << 16];

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				r = -errno;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			r = -EIO;
			break;
		}
	}
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

static bool output_says_script_failed(const char *out)
{
	return out && (strstr(out, "script returned error exit status") ||
		       strstr(out, "script subprocess returned error exit status") ||
		       strstr(out, "unable to execute installed"));
}

static int deb_install(struct inst_ctx *c)
{
	struct deb_priv *pv = calloc(1, sizeof(*pv));
	bool use_apt = false;
	char **argv = NULL, **env = NULL;
	int lock_fd = -1, r = 0;
	struct pib_spawn_result res = {0};
	bool chroot_apt = strcmp(c->root, "/") != 0;

	if (!pv)
		return -ENOMEM;
	c->priv = pv;
	for (size_t i = 0; i < c->n_pkgs; i++)
		if (!c->pkgs[i].member)
			use_apt = true;
	if ((r = dpkg_db_read(c->root, &pv->before)) < 0)
		return pib_fail(c->err, r, PIB_ERR_FAILED, "install.failed",
				"%s/var/lib/dpkg/status: %s", strcmp(c->root, "/") ? c->root : "",
				strerror(-r));
	if ((r = add_policy_rc_d(c, pv)) < 0)
		return r;

	if (!use_apt) {
		char *dpkg = pib_find_tool("dpkg");
		if (!dpkg) {
			r = pib_fail(c->err, -ENOENT, PIB_ERR_ENV, "tool.missing", "dpkg is not installed");
			goto out;
		}
		lock_fd = take_dpkg_lock(c);
		if (lock_fd < 0) {
			free(dpkg);
			r = lock_fd;
			goto out;
		}
		c->tool = strdup("dpkg");
		if (pib_strv_push(&argv, dpkg) < 0)
			goto oom;
		free(dpkg);
		if (strcmp(c->root, "/")) {
			char *opt = pib_asprintf("--root=%s", c->root);
			if (!opt || pib_strv_push(&argv, opt) < 0) {
				free(opt);
				goto oom;
			}
			free(opt);
		}
		const char *const fixed[] = {"--force-confdef", "--force-confold", "--install", NULL};
		for (int i = 0; fixed[i]; i++)
			if (pib_strv_push(&argv, fixed[i]) < 0)
				goto oom;
		for (size_t i = 0; i < c->n_pkgs; i++)
			if (pib_strv_push(&argv, c->pkgs[i].path) < 0)
				goto oom;
		env = deb_env(true);
	} else {
		/* apt inside the root, so that dependencies come from the image's own repositories */
		char *apt = chroot_apt ? pib_find_tool_in_root(c->root, "apt-get") : pib_find_tool("apt-get");
		char *chroot_tool = chroot_apt ? pib_find_tool("chroot") : NULL;
		if (!apt || (chroot_apt && !chroot_tool)) {
			r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "tool.missing",
				     "dependencies come from the image's repositories, but %s has no %s",
				     chroot_apt ? c->root : "this machine", apt ? "chroot" : "apt-get");
			free(apt);
			free(chroot_tool);
			goto out;
		}
		const char *stage_inside = "/var/cache/pib-agent";
		char *stage = NULL;
		if (chroot_apt) {
			char *parent = root_path(c->root, "/var/cache");
			stage = root_path(c->root, stage_inside);
			struct stat st;
			if (!parent || !stage || lstat(parent, &st) < 0 || !S_ISDIR(st.st_mode) ||
			    (mkdir(stage, 0755) < 0 && errno != EEXIST) || lstat(stage, &st) < 0 ||
			    !S_ISDIR(st.st_mode)) {
				r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed",
					     "%s: cannot stage the bundle's packages there", stage ? stage : "");
				free(parent);
				free(stage);
				free(apt);
				free(chroot_tool);
				goto out;
			}
			free(parent);
			pv->stage_dir = stage;
			if (pib_strv_push(&argv, chroot_tool) < 0 || pib_strv_push(&argv, c->root) < 0)
				goto oom;
		}
		free(chroot_tool);
		c->tool = strdup("apt-get");
		if (pib_strv_push(&argv, apt) < 0)
			goto oom;
		free(apt);
		char lockopt[64];
		snprintf(lockopt, sizeof(lockopt), "DPkg::Lock::Timeout=%d",
			 (int)(c->lock_timeout > 0 ? c->lock_timeout : 120));
		const char *const fixed[] = {"install", "-y", "--no-install-recommends", "-o", lockopt,
					     "-o", "Dpkg::Options::=--force-confdef", "-o",
					     "Dpkg::Options::=--force-confold", "-o",
					     "APT::Get::AllowUnauthenticated=false", NULL};
		for (int i = 0; fixed[i]; i++)
			if (pib_strv_push(&argv, fixed[i]) < 0)
				goto oom;
		for (size_t i = 0; i < c->n_pkgs; i++) {
			if (!c->pkgs[i].member)
				continue; /* apt brings the others itself */
			if (chroot_apt) {
				/* our own file name: an epoch's ':' is replaced, nothing else can occur */
				char *base = pib_asprintf("%s/%zu-%s_%s_%s.deb", stage, i, c->pkgs[i].name,
							  c->pkgs[i].version, c->pkgs[i].arch);
				for (char *q = base ? base + strlen(stage) + 1 : NULL; q && *q; q++)
					if (*q == ':' || *q == '/')
						*q = '_';
				char *inside = base ? pib_asprintf("%s%s", stage_inside, base + strlen(stage)) : NULL;
				int cr = base ? copy_into(c->pkgs[i].path, base) : -ENOMEM;
				if (cr < 0 || !inside) {
					r = pib_fail(c->err, cr < 0 ? cr : -ENOMEM, PIB_ERR_FAILED,
						     "install.failed", "%s: %s", base ? base : "",
						     strerror(cr < 0 ? -cr : ENOMEM));
					free(base);
					free(inside);
					goto out;
				}
				r = pib_strv_push(&argv, inside);
				free(base);
				free(inside);
				if (r < 0)
					goto oom;
			} else {
				if (pib_strv_push(&argv, c->pkgs[i].path) < 0)
					goto oom;
			}
		}
		env = deb_env(false);
	}

	struct pib_spawn_opts so = {.env = env, .timeout = c->install_timeout, .stdin_fd = -1};
	r = pib_spawn(argv, &so, &res);
	if (r < 0) {
		r = pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s", argv[0],
			     strerror(-r));
		goto out;
	}
	(void)pib_buf_append(&c->log, res.output.data, res.output.len);

	/* the database decides, not only the exit code */
	struct dpkg_db after = {0};
	int dr = dpkg_db_read(c->root, &after);
	struct pib_buf bad = {0};
	for (size_t i = 0; dr == 0 && i < c->n_pkgs; i++) {
		const struct dpkg_entry *e = dpkg_db_find(&after, c->pkgs[i].name, c->pkgs[i].arch);
		if (!e || !e->status || strcmp(e->status, "install ok installed") ||
		    (e->version && strcmp(e->version, c->pkgs[i].version)))
			(void)pib_buf_printf(&bad, "%s%s %s (%s)", bad.len ? ", " : "", c->pkgs[i].name,
					     c->pkgs[i].version,
					     e && e->status ? e->status : "not installed");
	}
	/* apt may have brought more than libsolv said (or another version): record what is there */
	for (size_t i = 0; dr == 0 && use_apt && i < after.n; i++) {
		const struct dpkg_entry *e = &after.e[i];
		if (!really_installed(e->status))
			continue;
		const struct dpkg_entry *b = dpkg_db_find(&pv->before, e->package, e->arch);
		if (b && really_installed(b->status) && b->version && e->version &&
		    !strcmp(b->version, e->version))
			continue;
		bool known = false;
		for (size_t k = 0; k < c->n_pkgs && !known; k++)
			known = !strcmp(c->pkgs[k].name, e->package) &&
				(!e->arch || !strcmp(c->pkgs[k].arch, e->arch) ||
				 !strcmp(c->pkgs[k].arch, "all"));
		if (known)
			continue;
		struct inst_pkg *np = realloc(c->pkgs, (c->n_pkgs + 1) * sizeof(*np));
		if (!np)
			break;
		c->pkgs = np;
		memset(&np[c->n_pkgs], 0, sizeof(*np));
		np[c->n_pkgs].name = strdup(e->package);
		np[c->n_pkgs].version = strdup(e->version ? e->version : "");
		np[c->n_pkgs].arch = strdup(e->arch ? e->arch : "");
		np[c->n_pkgs].repo = strdup("apt");
		c->n_pkgs++;
	}
	dpkg_db_free(&after);

	if (res.timed_out) {
		r = pib_fail(c->err, -ETIMEDOUT, PIB_ERR_FAILED, "install.timeout",
			     "%s did not finish within %.0f s", c->tool, c->install_timeout);
	} else if (res.status != 0 || bad.len) {
		bool script = output_says_script_failed(res.output.data);
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED,
			     script ? "install.script_failed"
				    : bad.len ? "install.half_configured" : "install.failed",
			     "%s exited with status %d%s%s%s", c->tool, res.status,
			     script ? "; a maintainer script failed" : "",
			     bad.len ? "; left unfinished: " : "", bad.len ? bad.data : "");
		pib_err_detail(c->err, res.output.data, res.output.len);
	} else if (dr < 0) {
		r = pib_fail(c->err, dr, PIB_ERR_FAILED, "install.failed",
			     "cannot read the dpkg database after the install: %s", strerror(-dr));
	}
	pib_buf_free(&bad);
	goto out;
oom:
	r = pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
out:
	pib_spawn_result_free(&res);
	if (lock_fd >= 0)
		close(lock_fd);
	pib_strv_free(argv);
	pib_strv_free(env);
	return r;
}

static int deb_files_installed(struct inst_ctx *c)
{
	for (size_t i = 0; i < c->n_pkgs; i++) {
		struct inst_pkg *p = &c->pkgs[i];
		char *data = NULL, *save = NULL;
		size_t len = 0;
		int rr = -ENOENT;
		/* multiarch "same" packages: name:arch.list; others: name.list */
		char *a = pib_asprintf("%s/var/lib/dpkg/info/%s:%s.list", strcmp(c->root, "/") ? c->root : "",
				       p->name, p->arch);
		char *b = pib_asprintf("%s/var/lib/dpkg/info/%s.list", strcmp(c->root, "/") ? c->root : "",
				       p->name);
		if (a)
			rr = pib_read_file(a, 64u << 20, &data, &len);
		if (rr < 0 && b)
			rr = pib_read_file(b, 64u << 20, &data, &len);
		free(a);
		free(b);
		pib_strv_free(p->files);
		p->files = calloc(1, sizeof(char *));
		if (rr < 0)
			continue;
		for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (l[0] != '/' || !strcmp(l, "/."))
				continue;
			char *host = root_path(c->root, l);
			struct stat st;
			bool dir = host && lstat(host, &st) == 0 && S_ISDIR(st.st_mode);
			free(host);
			if (dir)
				continue; /* directories are shared; files are what a package installs */
			if (pib_strv_push(&p->files, l) < 0)
				break;
		}
		free(data);
	}
	return 0;
}

static void deb_cleanup(struct inst_ctx *c)
{
	struct deb_priv *pv = c->priv;

	if (!pv)
		return;
	if (pv->policy_rc_d) {
		unlink(pv->policy_rc_d);
		if (pv->policy_rc_d_saved)
			(void)!rename(pv->policy_rc_d_saved, pv->policy_rc_d);
	}
	free(pv->policy_rc_d_saved);
	if (pv->stage_dir)
		(void)pib_rm_rf(pv->stage_dir);
	free(pv->policy_rc_d);
	free(pv->stage_dir);
	dpkg_db_free(&pv->before);
	free(pv);
	c->priv = NULL;
}

const struct installer inst_deb = {
	.name = "deb",
	.families = deb_families,
	.probe = deb_probe,
	.verify = deb_verify,
	.resolve = deb_resolve,
	.install = deb_install,
	.files_installed = deb_files_installed,
	.cleanup = deb_cleanup,
};
