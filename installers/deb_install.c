/* SPDX-License-Identifier: MIT */
/* Installing a resolved deb transaction into a root: apt or dpkg, contained, checked against the transaction. */
#include "deb_install.h"
#include "contain.h"
#include "dpkgdb.h"
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The paths an install takes:
 *  - the root has apt-get: the root's own apt-get installs the transaction (the bundle's files
 *    given as local .debs, the image's packages as name=version), so that apt orders the dpkg
 *    calls (Pre-Depends configured first, triggers run) exactly as the image's own tool would;
 *    packages from the image's repositories are first fetched by `apt-get --download-only`,
 *    which runs no package code;
 *  - no apt-get (then every package comes from the bundle): the root's dpkg, one `--install`
 *    per package in libsolv's order (prerequisites first), then `--configure --pending`.
 * Into a root other than "/", each tool runs contained (base/contain.c): inside the root, in
 * namespaces that end with it. Afterwards `dpkg --audit` must be empty and the packages whose
 * state or version changed must be exactly the transaction.
 */

struct deb_priv {
	struct dpkg_db before;
	int agent_lock;             /* flock of lock-frontend: one agent per root at a time */
	int dpkg_lock;              /* dpkg's own (fcntl) frontend lock, held for the dpkg path */
	char *policy_target;        /* host path of the root's policy-rc.d, bound over (contained) */
	bool placeholder;           /* policy_target is an empty mount point made by an agent */
	dev_t ph_dev;
	ino_t ph_ino;
	struct contain_file *files; /* the bundle's packages, offered under /run/pib-agent */
	char **names;               /* their names there (owned) */
	size_t n_files;
	char *link_dir;             /* on "/": links to them under those names, for apt */
};

#define INSIDE_DIR "/run/pib-agent/"

static double lock_wait(const struct inst_ctx *c)
{
	return c->lock_timeout > 0 ? c->lock_timeout : 120;
}

/* Opens ROOT/var/lib/dpkg/lock-frontend (never through a link). */
static int open_frontend_lock(struct inst_ctx *c, char **ret_path)
{
	char *p = inst_root_path(c->root, "/var/lib/dpkg/lock-frontend");
	int fd;

	*ret_path = p;
	if (!p)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return pib_fail(c->err, -errno, PIB_ERR_FAILED, "install.lock", "%s: %s", p,
				strerror(errno));
	return fd;
}

/*
 * Takes one of the two locks on ROOT/var/lib/dpkg/lock-frontend, waiting a bounded time:
 *  - agents serialise on an flock of it (dpkg_style false): flock and dpkg's fcntl locks do not
 *    conflict, so apt and dpkg inside can still take theirs, while a second agent waits here
 *    before it touches anything of the root;
 *  - the dpkg path also takes dpkg's own fcntl lock (dpkg_style), and tells dpkg with
 *    DPKG_FRONTEND_LOCKED.
 */
static int lock_frontend(struct inst_ctx *c, bool dpkg_style, int *ret_fd)
{
	char *p = NULL;
	double until = pib_now_mono() + lock_wait(c);
	int fd = open_frontend_lock(c, &p), r = 0;

	if (fd < 0) {
		free(p);
		return fd;
	}
	for (;;) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if ((dpkg_style ? fcntl(fd, F_SETLK, &fl) : flock(fd, LOCK_EX | LOCK_NB)) == 0)
			break;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
			r = pib_fail(c->err, -errno, PIB_ERR_FAILED, "install.lock", "%s: %s", p,
				     strerror(errno));
			break;
		}
		if (pib_interrupted || pib_now_mono() > until) {
			r = pib_fail(c->err, -EBUSY, PIB_ERR_FAILED, "install.lock_timeout",
				     "%s: %s holds the lock; gave up after %.0f s", p,
				     dpkg_style ? "another package manager" : "another pib-agent installing into this root",
				     lock_wait(c));
			break;
		}
		usleep(200000);
	}
	free(p);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static bool is_placeholder(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_size == 0 && (st->st_mode & 07777) == 0;
}

/*
 * Contained installs get a policy-rc.d that exits 101, bind-mounted over the image's path for
 * the install's lifetime: the image's own file is never renamed or written. Where the image has
 * none, an empty mode-0000 file is the mount point (invoke-rc.d ignores a file it cannot
 * execute); it is removed afterwards, and one left by a killed agent is recognised and reused.
 */
static int prepare_policy(struct inst_ctx *c, struct deb_priv *pv)
{
	struct stat st;
	char *p = NULL;
	int r = pib_path_in_root(c->root, "/usr/sbin/policy-rc.d", true, &p);

	if (r < 0)
		return pib_fail(c->err, r, PIB_ERR_FAILED, "install.failed",
				"%s/usr/sbin/policy-rc.d: %s", c->root, strerror(-r));
	if (lstat(p, &st) < 0) {
		int fd = errno == ENOENT ? open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0)
					 : -1;
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = pib_fail(c->err, -errno, PIB_ERR_FAILED, "install.failed",
				     "%s: cannot make the mount point of a policy-rc.d that keeps services from starting: %s",
				     p, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(p);
			return r;
		}
		close(fd);
		(void)fchmodat(AT_FDCWD, p, 0, 0);
	} else if (!S_ISREG(st.st_mode)) {
		r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "install.failed",
			     "%s: the image's policy-rc.d is not a regular file", p);
		free(p);
		return r;
	}
	pv->placeholder = is_placeholder(&st);
	pv->ph_dev = st.st_dev;
	pv->ph_ino = st.st_ino;
	pv->policy_target = p;
	return 0;
}

static void remove_placeholder(struct deb_priv *pv)
{
	struct stat st;

	if (pv->placeholder && pv->policy_target && lstat(pv->policy_target, &st) == 0 &&
	    is_placeholder(&st) && st.st_dev == pv->ph_dev && st.st_ino == pv->ph_ino)
		(void)unlink(pv->policy_target);
}

static char **deb_env(bool frontend_locked)
{
	static const char *const base[] = {
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
	char **env = NULL;

	for (int i = 0; base[i]; i++)
		if (pib_strv_push(&env, base[i]) < 0)
			goto oom;
	/* we hold dpkg's frontend lock: without this dpkg would try to take it and fail */
	if (frontend_locked && pib_strv_push(&env, "DPKG_FRONTEND_LOCKED=1") < 0)
		goto oom;
	return env;
oom:
	pib_strv_free(env);
	return NULL;
}

/* The bundle's packages under names of our own (inside the root: /run/pib-agent/NAME). */
static int offer_files(struct inst_ctx *c, struct deb_priv *pv)
{
	pv->files = calloc(c->n_pkgs + 1, sizeof(*pv->files));
	pv->names = calloc(c->n_pkgs + 1, sizeof(char *));
	if (!pv->files || !pv->names)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	for (size_t i = 0; i < c->n_pkgs; i++) {
		if (!c->pkgs[i].member)
			continue;
		/* name, version and arch were checked at verify; ':' of an epoch is the one odd byte */
		char *n = pib_asprintf("%zu-%s_%s_%s.deb", i, c->pkgs[i].name, c->pkgs[i].version,
				       c->pkgs[i].arch);
		if (!n)
			return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		for (char *q = n; *q; q++)
			if (*q == ':' || *q == '/')
				*q = '_';
		pv->names[pv->n_files] = n;
		pv->files[pv->n_files].source = c->pkgs[i].path;
		pv->files[pv->n_files].name = n;
		pv->n_files++;
	}
	return 0;
}

/*
 * On "/" the tool reads our private copies, which the bundle stores under names of ours without
 * a suffix; apt takes a file argument only when it ends in .deb, so each gets a hard link (or
 * a symbolic one) of that name in a private directory beside them.
 */
static int link_files(struct inst_ctx *c, struct deb_priv *pv)
{
	char *dir = pib_asprintf("%s/install", c->bundle->dir);

	if (!dir || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		int r = pib_fail(c->err, dir ? -errno : -ENOMEM, PIB_ERR_ENV, "agent.tmpdir", "%s: %s",
				 dir ? dir : "", strerror(dir ? errno : ENOMEM));
		free(dir);
		return r;
	}
	for (size_t i = 0; i < pv->n_files; i++) {
		char *at = pib_asprintf("%s/%s", dir, pv->names[i]);
		if (!at || (link(pv->files[i].source, at) < 0 && symlink(pv->files[i].source, at) < 0)) {
			int r = pib_fail(c->err, at ? -errno : -ENOMEM, PIB_ERR_ENV, "agent.tmpdir", "%s: %s",
					 at ? at : dir, strerror(at ? errno : ENOMEM));
			free(at);
			free(dir);
			return r;
		}
		free(at);
	}
	pv->link_dir = dir;
	return 0;
}

/* The path the tool gets for bundle package i: inside the root, or a link to our copy on "/". */
static char *pkg_arg(const struct inst_ctx *c, const struct deb_priv *pv, size_t i)
{
	for (size_t k = 0, seen = 0; k < c->n_pkgs; k++) {
		if (!c->pkgs[k].member)
			continue;
		if (k == i)
			return c->contained ? pib_asprintf(INSIDE_DIR "%s", pv->names[seen])
					    : pib_asprintf("%s/%s", pv->link_dir, pv->names[seen]);
		seen++;
	}
	return NULL;
}

/* Runs argv[0] (a path inside the root) contained in a root other than "/", directly on "/". */
static int run_tool(struct inst_ctx *c, struct deb_priv *pv, char **argv, bool frontend_locked,
		    bool network, struct pib_spawn_result *res)
{
	char **env = deb_env(frontend_locked);
	struct pib_spawn_opts so = {.env = env, .timeout = c->install_timeout, .stdin_fd = -1};
	int r;

	if (!env)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (c->contained) {
		struct contain_opts co = {.root = c->root,
					  .files = pv->files,
					  .n_files = pv->n_files,
					  .policy_rc_d = pv->policy_target,
					  .share_network = network};
		r = contain_spawn(argv, &co, &so, res, c->err);
	} else {
		r = pib_spawn(argv, &so, res);
		if (r < 0)
			r = pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
				     argv[0], strerror(-r));
	}
	pib_strv_free(env);
	if (r == 0) {
		c->tool_ran = true;
		inst_log_command(c, argv, &res->output);
	}
	return r;
}

/* Ends a tool's run that did not succeed: timeout, interruption, or its exit status. */
static int tool_failed(struct inst_ctx *c, const char *what, const struct pib_spawn_result *res)
{
	const char *out = res->output.data ? res->output.data : "";
	bool script = strstr(out, "script returned error exit status") ||
		      strstr(out, "script subprocess returned error exit status") ||
		      strstr(out, "unable to execute installed");
	/* dpkg cannot back up or replace a file that is a mount point: it names it in quotes */
	bool policy = strstr(out, "/usr/sbin/policy-rc.d'") &&
		      (strstr(out, "Invalid cross-device link") || strstr(out, "Device or resource busy"));
	int r;

	if (res->interrupted)
		r = pib_fail(c->err, -EINTR, PIB_ERR_FAILED, "install.interrupted",
			     "%s was stopped: the agent received signal %d during the install",
			     what, (int)pib_interrupted);
	else if (res->timed_out)
		r = pib_fail(c->err, -ETIMEDOUT, PIB_ERR_FAILED, "install.timeout",
			     "%s did not finish within %.0f s", what, c->install_timeout);
	else if (policy)
		r = pib_fail(c->err, -EBUSY, PIB_ERR_FAILED, "install.policy_rc_d",
			     "%s failed: a package of the transaction ships /usr/sbin/policy-rc.d, which "
			     "the agent keeps in force (bind-mounted) while it installs into a root",
			     what);
	else
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED,
			     script ? "install.script_failed" : "install.failed",
			     "%s exited with status %d%s", what, res->status,
			     script ? "; a maintainer script failed" : "");
	pib_err_detail(c->err, out, res->output.len);
	return r;
}

/*
 * A dpkg interrupted earlier (a killed or stopped agent) left its journal or half-done packages:
 * finish that work first, as apt would ask a person to (`dpkg --configure -a`).
 */
static int recover(struct inst_ctx *c, struct deb_priv *pv, const char *dpkg)
{
	char *dir = inst_root_path(c->root, "/var/lib/dpkg/updates");
	DIR *d = dir ? opendir(dir) : NULL;
	bool pending = false;
	struct dirent *de;
	int r = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			pending = true;
	if (d)
		closedir(d);
	free(dir);
	/* or packages left half-done by a run that was stopped (dpkg --audit would list them) */
	for (size_t i = 0; i < pv->before.n && !pending; i++) {
		const char *st = pv->before.e[i].status;
		pending = st && !dpkg_really_installed(st) && !pib_str_has_suffix(st, " not-installed") &&
			  !pib_str_has_suffix(st, " config-files");
	}
	if (!pending)
		return 0;
	char *argv[] = {(char *)dpkg, (char *)"--force-confdef", (char *)"--force-confold",
			(char *)"--configure", (char *)"-a", NULL};
	struct pib_spawn_result res = {0};
	r = run_tool(c, pv, argv, false, false, &res);
	if (r == 0 && (res.status != 0 || res.timed_out || res.interrupted))
		r = tool_failed(c, "dpkg --configure -a (finishing an install that was interrupted earlier)",
				&res);
	pib_spawn_result_free(&res);
	return r;
}

static int push_all(char ***argv, const char *const *items)
{
	for (int i = 0; items[i]; i++)
		if (pib_strv_push(argv, items[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* apt-get install with the options every call shares; download_only for the fetch. */
static char **apt_argv(struct inst_ctx *c, struct deb_priv *pv, const char *apt, bool download_only)
{
	char lockopt[64];
	char **argv = NULL;

	snprintf(lockopt, sizeof(lockopt), "DPkg::Lock::Timeout=%d", (int)lock_wait(c));
	const char *const fixed[] = {
		apt, "install", "-y", "--no-install-recommends", "-o", lockopt, "-o",
		"Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o",
		"APT::Get::AllowUnauthenticated=false",
		/* no binary caches written into the image */
		"-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=", NULL};
	if (push_all(&argv, fixed) < 0 || (download_only && pib_strv_push(&argv, "--download-only") < 0))
		goto oom;
	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		char *a = p->member ? pkg_arg(c, pv, i)
			  : !strcmp(p->arch, "all") || !strcmp(p->arch, os_deb_arch(c->os->arch))
			      ? pib_asprintf("%s=%s", p->name, p->version)
			      : pib_asprintf("%s:%s=%s", p->name, p->arch, p->version);
		int pr = a ? pib_strv_push(&argv, a) : -ENOMEM;
		free(a);
		if (pr < 0)
			goto oom;
	}
	return argv;
oom:
	pib_strv_free(argv);
	return NULL;
}

static int install_apt(struct inst_ctx *c, struct deb_priv *pv, const char *apt, bool need_repo)
{
	struct pib_spawn_result res = {0};
	char **argv = NULL;
	int r = 0;

	if (need_repo) {
		/* fetched first, with the network, by apt alone: no package code runs in this call */
		if (!(argv = apt_argv(c, pv, apt, true)))
			return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		r = run_tool(c, pv, argv, false, true, &res);
		if (r == 0 && (res.status != 0 || res.timed_out || res.interrupted)) {
			if (res.interrupted || res.timed_out) {
				r = tool_failed(c, "apt-get --download-only", &res);
			} else {
				r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.download_failed",
					     "apt-get could not fetch the packages the bundle needs from the image's repositories (status %d); nothing was installed",
					     res.status);
				pib_err_detail(c->err, res.output.data, res.output.len);
			}
		}
		pib_spawn_result_free(&res);
		pib_strv_free(argv);
		if (r < 0)
			return r;
	}
	if (!(argv = apt_argv(c, pv, apt, false)))
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	r = run_tool(c, pv, argv, false, false, &res);
	if (r == 0 && (res.status != 0 || res.timed_out || res.interrupted))
		r = tool_failed(c, "apt-get", &res);
	pib_spawn_result_free(&res);
	pib_strv_free(argv);
	return r;
}

/* dpkg alone: one --install per package in libsolv's order (prerequisites first), then --pending. */
static int install_dpkg(struct inst_ctx *c, struct deb_priv *pv, const char *dpkg)
{
	struct pib_spawn_result res = {0};
	int r;

	if ((r = lock_frontend(c, true, &pv->dpkg_lock)) < 0)
		return r;
	for (size_t i = 0; i <= c->n_pkgs && r == 0; i++) {
		char *file = i < c->n_pkgs ? pkg_arg(c, pv, i) : NULL;
		if (i < c->n_pkgs && !file)
			return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		char *install[] = {(char *)dpkg, (char *)"--force-confdef", (char *)"--force-confold",
				   (char *)"--install", file, NULL};
		char *pending[] = {(char *)dpkg, (char *)"--force-confdef", (char *)"--force-confold",
				   (char *)"--configure", (char *)"--pending", NULL};
		r = run_tool(c, pv, file ? install : pending, true, false, &res);
		/* a dependency later in the order (a cycle) is configured by the final --pending */
		bool waits = file && res.status == 1 && res.output.data &&
			     strstr(res.output.data, "dependency problems - leaving unconfigured") &&
			     !strstr(res.output.data, "returned error exit status");
		if (r == 0 && !waits && (res.status != 0 || res.timed_out || res.interrupted))
			r = tool_failed(c, "dpkg", &res);
		pib_spawn_result_free(&res);
		free(file);
	}
	return r;
}

/* dpkg --audit of the root: anything it says (half-installed, triggers pending, ...) is a failure. */
static int audit(struct inst_ctx *c, struct deb_priv *pv, const char *dpkg)
{
	char *argv[] = {(char *)dpkg, (char *)"--audit", NULL};
	struct pib_spawn_result res = {0};
	int r = run_tool(c, pv, argv, false, false, &res);

	if (r == 0 && (res.status != 0 || res.output.len > 0 || res.timed_out || res.interrupted))
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED,
			     res.interrupted ? "install.interrupted" : "install.audit",
			     "dpkg --audit is not empty after the install: packages are left half-done or triggers pending");
	if (r < 0)
		pib_err_detail(c->err, res.output.data, res.output.len);
	pib_spawn_result_free(&res);
	return r;
}

static bool in_transaction(const struct inst_ctx *c, const struct dpkg_entry *e)
{
	for (size_t k = 0; k < c->n_pkgs; k++)
		if (!strcmp(c->pkgs[k].name, e->package) &&
		    (!e->arch || !strcmp(c->pkgs[k].arch, e->arch)))
			return true;
	return false;
}

static int add_extra(struct inst_ctx *c, const struct dpkg_entry *e)
{
	struct inst_pkg *np = realloc(c->pkgs, (c->n_pkgs + 1) * sizeof(*np));

	if (!np)
		return -ENOMEM;
	c->pkgs = np;
	np = &c->pkgs[c->n_pkgs];
	memset(np, 0, sizeof(*np));
	np->name = pib_strdup(e->package);
	np->version = pib_strdup(e->version ? e->version : "");
	np->arch = pib_strdup(e->arch ? e->arch : "");
	np->repo = pib_strdup("not in the transaction");
	c->n_pkgs++;
	return np->name && np->version && np->arch && np->repo ? 0 : -ENOMEM;
}

/*
 * What the root's database says now, against the transaction: every package of it installed at
 * its version (else `unfinished`), and nothing else installed, upgraded or removed (else
 * install.transaction_mismatch; what apt added is appended to c->pkgs so that the report shows
 * it and postscan covers its files).
 */
static int compare(struct inst_ctx *c, struct deb_priv *pv)
{
	struct dpkg_db after = {0};
	struct pib_buf extra = {0};
	size_t n_trans = c->n_pkgs;
	int r = dpkg_db_read(c->root, &after);

	if (r < 0)
		return pib_fail(c->err, r, PIB_ERR_FAILED, "install.failed",
				"cannot read the dpkg database after the install: %s", strerror(-r));
	for (size_t i = 0; i < n_trans; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		const struct dpkg_entry *e = dpkg_db_find(&after, p->name, p->arch);
		if (e && dpkg_really_installed(e->status) && e->version && !strcmp(e->version, p->version))
			continue;
		char *line = pib_asprintf("%s %s %s: %s%s%s", p->name, p->version, p->arch,
					  e && e->status ? e->status : "not installed",
					  e && e->version && strcmp(e->version, p->version) ? ", version " : "",
					  e && e->version && strcmp(e->version, p->version) ? e->version : "");
		if (!line || pib_strv_push(&c->unfinished, line) < 0)
			r = -ENOMEM;
		free(line);
	}
	for (size_t i = 0; r == 0 && i < after.n; i++) {
		const struct dpkg_entry *e = &after.e[i];
		const struct dpkg_entry *b = dpkg_db_find(&pv->before, e->package, e->arch);
		bool now = dpkg_really_installed(e->status);
		bool was = b && dpkg_really_installed(b->status);
		if (!now || (was && b->version && e->version && !strcmp(b->version, e->version)) ||
		    in_transaction(c, e))
			continue;
		(void)pib_buf_printf(&extra, "%s%s %s %s (%s)", extra.len ? ", " : "", e->package,
				     e->version ? e->version : "?", e->arch ? e->arch : "?",
				     was ? "changed" : "added");
		if (add_extra(c, e) < 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < pv->before.n; i++) {
		const struct dpkg_entry *b = &pv->before.e[i];
		const struct dpkg_entry *e = dpkg_db_find(&after, b->package, b->arch);
		if (dpkg_really_installed(b->status) && !(e && dpkg_really_installed(e->status)) &&
		    !in_transaction(c, b))
			(void)pib_buf_printf(&extra, "%s%s %s %s (removed)", extra.len ? ", " : "",
					     b->package, b->version ? b->version : "?",
					     b->arch ? b->arch : "?");
	}
	dpkg_db_free(&after);
	if (r == -ENOMEM)
		r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	else if (c->unfinished && c->unfinished[0]) {
		struct pib_buf b = {0};
		for (size_t i = 0; c->unfinished[i]; i++)
			(void)pib_buf_printf(&b, "%s%s", i ? "; " : "", c->unfinished[i]);
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.half_configured",
			     "packages of the transaction are not installed and configured: %s",
			     b.data ? b.data : "");
		pib_buf_free(&b);
	} else if (extra.len) {
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.transaction_mismatch",
			     "%s changed more than the resolved transaction: %s", c->tool, extra.data);
	}
	pib_buf_free(&extra);
	return r;
}

int deb_install(struct inst_ctx *c)
{
	struct deb_priv *pv = calloc(1, sizeof(*pv));
	bool need_repo = false;
	char *apt = NULL, *dpkg = NULL;
	int r;

	if (!pv)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	pv->agent_lock = pv->dpkg_lock = -1;
	c->priv = pv;
	c->contained = strcmp(c->root, "/") != 0;
	for (size_t i = 0; i < c->n_pkgs; i++)
		if (!c->pkgs[i].member)
			need_repo = true;

	/* the image's own tools: found inside the root (on "/", the root is this system) */
	apt = pib_find_tool_in_root(c->root, "apt-get");
	dpkg = pib_find_tool_in_root(c->root, "dpkg");
	if (!dpkg || (need_repo && !apt)) {
		r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "tool.missing",
			     "%s has no %s%s", c->root, dpkg ? "apt-get" : "dpkg",
			     dpkg ? ", and the bundle needs packages from the image's repositories" : "");
		goto out;
	}
	c->tool = pib_strdup(apt ? "apt-get" : "dpkg");
	c->tool_why = pib_asprintf(
		"%s%s", apt ? "the image has apt-get: apt orders the dpkg calls (Pre-Depends first, triggers) as the image's own tool would"
			    : "the image has no apt-get: dpkg installs one package at a time in the resolved order, then configures what is pending",
		c->contained ? "; run contained inside the root (private mount, PID, IPC, UTS and network namespaces)"
			     : "; run directly on / (the running system, --root /), not contained");
	if ((r = lock_frontend(c, false, &pv->agent_lock)) < 0)
		goto out;
	if ((r = dpkg_db_read(c->root, &pv->before)) < 0) {
		r = pib_fail(c->err, r, PIB_ERR_FAILED, "install.failed", "%s/var/lib/dpkg/status: %s",
			     c->contained ? c->root : "", strerror(-r));
		goto out;
	}
	if ((r = offer_files(c, pv)) < 0 || (c->contained && (r = prepare_policy(c, pv)) < 0) ||
	    (!c->contained && (r = link_files(c, pv)) < 0))
		goto out;
	if ((r = recover(c, pv, dpkg)) < 0)
		goto out;
	r = apt ? install_apt(c, pv, apt, need_repo) : install_dpkg(c, pv, dpkg);
	if (r < 0 && !c->tool_ran)
		goto out;
	/* whatever stopped the install, the database says what is on the image */
	int ar = pib_interrupted ? 0 : audit(c, pv, dpkg);
	int cr = compare(c, pv);
	if (r == 0)
		r = ar < 0 ? ar : cr;
out:
	free(apt);
	free(dpkg);
	return r;
}

void deb_cleanup(struct inst_ctx *c)
{
	struct deb_priv *pv = c->priv;

	if (!pv)
		return;
	remove_placeholder(pv);
	if (pv->dpkg_lock >= 0)
		close(pv->dpkg_lock);
	if (pv->agent_lock >= 0)
		close(pv->agent_lock);
	free(pv->policy_target);
	if (pv->link_dir)
		(void)pib_rm_rf(pv->link_dir);
	free(pv->link_dir);
	pib_strv_free(pv->names);
	free(pv->files);
	dpkg_db_free(&pv->before);
	free(pv);
	c->priv = NULL;
}
