/* SPDX-License-Identifier: MIT */
/*
 * Installing a resolved rpm transaction with the image's own tools:
 *  - every package from the bundle: one `rpm -U` of the files, in the transaction's order (one
 *    rpm transaction: rpm orders and checks it again, and it is all or nothing up to %post);
 *  - packages from the image's repositories too: dnf (yum on Amazon Linux 2, zypper on SUSE)
 *    with the image's own repositories, given the bundle's files.
 * In a root that has its own rpm, the root's tools run contained (base/contain.c). A root
 * without one (a root being assembled, a test root) gets this machine's rpm with --root and the
 * root's own --dbpath; rpm then runs the scriptlets chrooted into the root.
 * rpm exits 0 after a failed %post or %posttrans: the output is read for "scriptlet failed",
 * and the rpmdb afterwards must hold exactly the transaction's packages. `rpm -V` of them goes
 * into the install's output.
 */
#include "rpm_install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSIDE_DIR "/run/pib-agent/"

/* "name evr arch" of every package in the rpmdb, as libsolv writes evr (epoch: only when set). */
static int rpmdb_list(struct inst_ctx *c, char ***ret)
{
	struct rpm_priv *pv = c->priv;
	char *argv[] = {pv->rpm, (char *)"-qa", (char *)"--qf",
			(char *)"%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH}\\n", NULL};
	struct pib_spawn_result res = {0};
	int r = rpm_run(c, pv->rpm, argv, true, false, false, &res);

	*ret = calloc(1, sizeof(char *));
	if (r == 0 && res.status != 0) {
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed",
			     "rpm -qa cannot read the rpm database of %s (status %d)", c->root, res.status);
		pib_err_detail(c->err, res.output.data, res.output.len);
	}
	char *save = NULL;
	for (char *l = r == 0 && res.output.data ? strtok_r(res.output.data, "\n", &save) : NULL; l && *ret;
	     l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "gpg-pubkey ", 11) && pib_strv_push(ret, l) < 0)
			r = -ENOMEM;
	pib_spawn_result_free(&res);
	if (!*ret && r == 0)
		r = -ENOMEM;
	if (r == -ENOMEM)
		r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	return r;
}

static bool strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Ends a tool's run that did not succeed, or succeeded with a failed scriptlet. */
static int tool_result(struct inst_ctx *c, const char *what, const struct pib_spawn_result *res)
{
	const char *out = res->output.data ? res->output.data : "";
	/* rpm: "error: %prein(x-1-1.noarch) scriptlet failed, exit status 1",
	 * "warning: %post(x-1-1.noarch) scriptlet failed, exit status 1" (and rpm exits 0) */
	const char *script = strstr(out, "scriptlet failed");
	int r = 0;

	if (res->interrupted)
		r = pib_fail(c->err, -EINTR, PIB_ERR_FAILED, "install.interrupted",
			     "%s was stopped: the agent received signal %d during the install", what,
			     (int)pib_interrupted);
	else if (res->timed_out)
		r = pib_fail(c->err, -ETIMEDOUT, PIB_ERR_FAILED, "install.timeout",
			     "%s did not finish within %.0f s", what, c->install_timeout);
	else if (script) {
		/* the line that says which scriptlet of which package */
		const char *ls = script;
		while (ls > out && ls[-1] != '\n')
			ls--;
		const char *le = strchr(script, '\n');
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.script_failed",
			     "%s %s: %.*s", what,
			     res->status ? "failed" : "exited with status 0, but a scriptlet failed",
			     (int)(le ? le - ls : (ptrdiff_t)strlen(ls)), ls);
	} else if (res->status != 0) {
		/* the first line that says why: a file conflict, a failed dependency, an error */
		const char *why = strstr(out, "conflicts with file from package");
		if (!why)
			why = strstr(out, "error: ");
		const char *ls = why, *le = why ? strchr(why, '\n') : NULL;
		while (ls && ls > out && ls[-1] != '\n')
			ls--;
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed", "%s exited with status %d%s%.*s",
			     what, res->status, ls ? ": " : "",
			     ls ? (int)(le ? le - ls : (ptrdiff_t)strlen(ls)) : 0, ls ? ls : "");
	}
	if (r < 0)
		pib_err_detail(c->err, out, res->output.len);
	return r;
}

/* This machine's tools on another root: the root's own tools are not used, and links inside it are not theirs to follow. */
static bool host_mode(const struct inst_ctx *c)
{
	const struct rpm_priv *pv = c->priv;
	return !pv->own_tools && strcmp(c->root, "/") != 0;
}

static int ensure_link_dir(struct rpm_priv *pv)
{
	int r = 0;
	if (!pv->link_dir && (r = pib_mkdtemp("pib-rpms", &pv->link_dir)) == 0)
		r = pib_strv_push(&pv->tmp_dirs, pv->link_dir);
	return r;
}

/*
 * This machine's tools on another root: each package the transaction takes from the root's
 * repositories is copied out of the root (its path resolved inside the root, so no link of the
 * root leads to this machine's files) into a private folder, its SHA-256 checked against the
 * repository's index on the way. The tools then get local files only and never read the
 * root's repositories themselves (they would follow the root's links on this machine).
 */
static int copy_repo_pkgs(struct inst_ctx *c)
{
	struct rpm_priv *pv = c->priv;
	int r = ensure_link_dir(pv);

	if (r < 0)
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "a private folder: %s", strerror(-r));
	free(pv->local);
	if (!(pv->local = calloc(c->n_pkgs + 1, sizeof(char *))))
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	pv->n_local = c->n_pkgs;
	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		char *host = NULL, hex[65];
		if (p->member)
			continue;
		if (!p->path || pib_path_in_root(c->root, p->path, true, &host) < 0) {
			free(host);
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "install.download_failed",
					"%s %s %s of repository %s: its file %s is not inside %s", p->name,
					p->version, p->arch, p->repo, p->path ? p->path : "(unknown)", c->root);
		}
		char *dest = pib_asprintf("%s/%zu-%s-%s.%s.rpm", pv->link_dir, i, p->name, p->version, p->arch);
		int in = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		int out = dest ? open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
		r = in < 0 || out < 0 ? -errno : 0;
		char buf[1 << 16];
		ssize_t n;
		while (r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
			if (n < 0)
				r = -errno;
			else
				r = pib_write_all(out, buf, (size_t)n);
		}
		if (in >= 0)
			close(in);
		if (out >= 0 && close(out) < 0 && r == 0)
			r = -errno;
		if (r == 0)
			r = pib_sha256_file(dest, hex, NULL);
		if (r < 0) {
			r = pib_fail(c->err, r, PIB_ERR_FAILED, "install.download_failed",
				     "%s %s %s of repository %s: %s (inside %s): %s", p->name, p->version, p->arch,
				     p->repo, p->path, c->root, strerror(-r));
		} else if (p->sha256[0] && strcmp(hex, p->sha256)) {
			r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "install.download_failed",
				     "%s %s %s of repository %s: %s has SHA-256 %s, the repository's index says %s",
				     p->name, p->version, p->arch, p->repo, p->path, hex, p->sha256);
		} else {
			pv->local[i] = dest;
			dest = NULL;
		}
		free(dest);
		free(host);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The transaction's packages as the tool sees them: the bundle's files (links to our copies
 * named NAME.rpm, as dnf wants; or offered under /run/pib-agent to a contained tool), and the
 * repositories' packages (copied out of the root in host mode; else by name-version.arch for
 * the image's own front end).
 */
static int package_args(struct inst_ctx *c, char ***argv)
{
	struct rpm_priv *pv = c->priv;

	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		int r = 0;
		if (!p->member) {
			char *spec = pv->local && pv->local[i]
					     ? pib_strdup(pv->local[i])
					     : pib_asprintf("%s-%s.%s", p->name, p->version, p->arch);
			r = spec ? pib_strv_push(argv, spec) : -ENOMEM;
			free(spec);
			if (r < 0)
				return r;
			continue;
		}
		char *name = pib_asprintf("%zu-%s-%s.%s.rpm", i, p->name, p->version, p->arch);
		if (!pv->own_tools) {
			if (r == 0)
				r = ensure_link_dir(pv);
			char *link = name && r == 0 ? pib_asprintf("%s/%s", pv->link_dir, name) : NULL;
			if (!link || symlink(p->path, link) < 0 || pib_strv_push(argv, link) < 0)
				r = -EIO;
			free(link);
			free(name);
			if (r < 0)
				return r;
			continue;
		}
		char *inside = name ? pib_asprintf(INSIDE_DIR "%s", name) : NULL;
		struct contain_file *nf = realloc(pv->files, (pv->n_files + 1) * sizeof(*nf));
		if (!inside || !nf || pib_strv_push(&pv->file_names, name) < 0 || pib_strv_push(argv, inside) < 0) {
			free(name);
			free(inside);
			if (nf)
				pv->files = nf;
			return -ENOMEM;
		}
		pv->files = nf;
		pv->files[pv->n_files++] = (struct contain_file){p->path, pv->file_names[pib_strv_len(pv->file_names) - 1]};
		free(name);
		free(inside);
	}
	return 0;
}

static int install_rpm(struct inst_ctx *c, char **before)
{
	struct rpm_priv *pv = c->priv;
	char **argv = NULL;
	bool reinstall = false;
	struct pib_spawn_result res = {0};
	int r;

	for (size_t i = 0; i < c->n_pkgs; i++) {
		reinstall = reinstall || c->pkgs[i].reinstall;
		/* already in the rpmdb at this version: an earlier run was stopped inside the rpm
		 * transaction (rpm cannot resume one); installing it again runs its scriptlets again,
		 * as dpkg --configure -a finishes a deb */
		char *key = pib_asprintf("%s %s %s", c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch);
		if (key && strv_has(before, key)) {
			reinstall = true;
			(void)pib_buf_printf(&c->log, "%s-%s.%s is already in the rpm database (an earlier run was stopped during the install): installed again\n",
					     c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch);
		}
		free(key);
	}
	/* the keys were checked by verify in a private keyring, never imported into the root:
	 * rpm still checks every digest, and a signature it cannot check is not an error */
	const char *head[] = {pv->rpm, "-U", "-v", "--define=_pkgverify_level digest",
			      reinstall ? "--replacepkgs" : NULL, "--", NULL};
	r = 0;
	for (int i = 0; i < 6 && r == 0; i++)
		if (head[i])
			r = pib_strv_push(&argv, head[i]);
	if (r == 0)
		r = package_args(c, &argv);
	if (r < 0) {
		pib_strv_free(argv);
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	r = rpm_run(c, pv->rpm, argv, true, true, false, &res);
	if (r == 0) {
		c->tool_ran = true;
		r = tool_result(c, "rpm -U", &res);
	}
	pib_spawn_result_free(&res);
	pib_strv_free(argv);
	return r;
}

/* The first component of path (inside the root) that does not exist there, or NULL; -ELOOP when an existing one is a link. */
static int first_missing(const char *root, const char *path, char **ret)
{
	struct pib_buf b = {0};
	int r = 0;

	*ret = NULL;
	for (const char *s = path; *s && r == 0;) {
		const char *e = strchr(s + 1, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		b.len = 0;
		if ((r = pib_buf_printf(&b, "%s%.*s", root, (int)(s - path + n), path)) < 0)
			break;
		struct stat st;
		if (lstat(b.data, &st) < 0) {
			*ret = pib_strndup(path, (size_t)(s - path + n));
			r = *ret ? 0 : -ENOMEM;
			break;
		}
		if (S_ISLNK(st.st_mode))
			r = -ELOOP;
		s += n;
	}
	pib_buf_free(&b);
	return r;
}

/*
 * Whether this machine's dnf may run on the root: the folders it writes inside the root (its
 * history, logs, cache) must hold no link, which it would follow on this machine.
 */
static bool dnf_paths_safe(struct inst_ctx *c, const char *cache, char **ret_created)
{
	static const char *const paths[] = {"/var/lib/dnf", "/var/log", "/var/cache/dnf", "/etc/dnf", NULL};
	char *m = NULL;

	*ret_created = NULL;
	for (int i = 0; paths[i]; i++) {
		if (first_missing(c->root, paths[i], &m) < 0)
			return false;
		free(m);
	}
	if (first_missing(c->root, cache, &m) < 0)
		return false;
	*ret_created = m;
	return true;
}

/*
 * dnf (or yum, or zypper) installs the bundle's files and the repositories' packages. The
 * image's own front end uses the image's own repositories; this machine's dnf on another root
 * gets local files only (copy_repo_pkgs), a private dnf.conf, no plugins and no repository.
 * Returns 1 when this machine's dnf cannot be used safely (rpm -U of the same files then).
 */
static int install_frontend(struct inst_ctx *c, const char *tool)
{
	struct rpm_priv *pv = c->priv;
	char **argv = NULL;
	struct pib_spawn_result res = {0};
	bool zypper = pib_str_has_suffix(tool, "/zypper"), host = host_mode(c);
	char *priv = NULL, *reposdir = NULL, *cache = NULL, *created = NULL, *conf = NULL;
	char *rel = rpm_releasever(c->root, c->os);
	int r = 0;

	if (zypper) {
		const char *a[] = {tool, "--non-interactive", "--no-refresh", "install", "--no-recommends",
				   "--allow-unsigned-rpm", NULL};
		for (int i = 0; a[i] && r == 0; i++)
			r = pib_strv_push(&argv, a[i]);
	} else {
		const char *a[] = {tool, "-y", "--setopt=install_weak_deps=False", "--setopt=keepcache=False", NULL};
		for (int i = 0; a[i] && r == 0; i++)
			r = pib_strv_push(&argv, a[i]);
		if (r == 0 && host) {
			/* the root's rpmdb through HOME/.rpmmacros (Debian's rpm keeps its own under ~);
			 * never the root's dnf.conf (it could name plugins this machine's dnf would load) */
			if ((r = pib_mkdtemp("pib-dnf", &priv)) == 0 && (r = pib_strv_push(&pv->tmp_dirs, priv)) == 0) {
				reposdir = pib_asprintf("%s/repos", priv);
				cache = pib_asprintf("%s/cache", priv);
				conf = pib_asprintf("%s/dnf.conf", priv);
				char *macros = pib_asprintf("%s/.rpmmacros", priv);
				char *mtext = pib_asprintf("%%_dbpath %s\n", pv->dbpath);
				char *home = pib_asprintf("HOME=%s", priv);
				static const char conf_text[] = "[main]\ninstall_weak_deps=False\n";
				if (!reposdir || !cache || !macros || !mtext || !home || !conf || mkdir(reposdir, 0700) < 0 ||
				    mkdir(cache, 0700) < 0 || pib_write_file(macros, mtext, strlen(mtext), 0600) < 0 ||
				    pib_write_file(conf, conf_text, sizeof(conf_text) - 1, 0600) < 0)
					r = -EIO;
				const char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
						     "LANG=C.UTF-8", "LC_ALL=C.UTF-8", home, NULL};
				for (int i = 0; env[i] && r == 0; i++)
					r = pib_strv_push(&pv->env, env[i]);
				free(macros);
				free(mtext);
				free(home);
			}
			if (r == 0 && !dnf_paths_safe(c, cache, &created)) {
				r = 1;
				goto out;
			}
			char *b[] = {r == 0 ? pib_asprintf("--installroot=%s", c->root) : NULL,
				     r == 0 ? pib_asprintf("--config=%s", conf) : NULL,
				     pib_strdup("--noplugins"), pib_strdup("--disablerepo=*"),
				     r == 0 ? pib_asprintf("--setopt=reposdir=%s", reposdir) : NULL,
				     r == 0 ? pib_asprintf("--setopt=cachedir=%s", cache) : NULL,
				     rel ? pib_asprintf("--releasever=%s", rel) : NULL};
			for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
				if (r == 0)
					r = b[i] ? pib_strv_push(&argv, b[i]) : -ENOMEM;
				free(b[i]);
			}
		}
		if (r == 0)
			r = pib_strv_push(&argv, "install");
	}
	if (r == 0 && (r = pib_strv_push(&argv, "--")) == 0)
		r = package_args(c, &argv);
	if (r < 0) {
		r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "preparing %s: %s", tool, strerror(-r));
		goto out;
	}
	/* the image's repositories may need the network; scriptlets then have it too */
	r = rpm_run(c, tool, argv, false, true, !host, &res);
	if (r == 0) {
		c->tool_ran = true;
		const char *base = strrchr(tool, '/');
		r = tool_result(c, base ? base + 1 : tool, &res);
	}
	/* dnf --installroot puts part of its cache under the root: what it made there goes */
	if (created) {
		char *p = pib_asprintf("%s%s", c->root, created);
		if (p)
			(void)pib_rm_rf(p);
		free(p);
	}
out:
	pib_spawn_result_free(&res);
	pib_strv_free(argv);
	pib_strv_free(pv->env);
	pv->env = NULL;
	free(reposdir);
	free(cache);
	free(conf);
	free(created);
	free(rel);
	return r;
}

/* rpm -V of the transaction's packages, into the output: what differs from the packages now. */
static void verify_installed(struct inst_ctx *c)
{
	struct rpm_priv *pv = c->priv;
	char **argv = NULL;
	struct pib_spawn_result res = {0};
	int r = pib_strv_push(&argv, pv->rpm);

	if (r == 0)
		r = pib_strv_push(&argv, "-V");
	if (r == 0)
		r = pib_strv_push(&argv, "--");
	for (size_t i = 0; i < c->n_pkgs && r == 0; i++) {
		char *nevra = pib_asprintf("%s-%s.%s", c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch);
		r = nevra ? pib_strv_push(&argv, nevra) : -ENOMEM;
		free(nevra);
	}
	if (r == 0 && c->n_pkgs) {
		int vr = rpm_run(c, pv->rpm, argv, true, true, false, &res); /* information only */
		(void)vr;
	}
	pib_spawn_result_free(&res);
	pib_strv_free(argv);
}

/* The rpmdb after the install must hold the transaction, and nothing else new. */
static int compare(struct inst_ctx *c, char **before)
{
	char **after = NULL;
	struct pib_buf extra = {0};
	int r = rpmdb_list(c, &after);

	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_pkgs && r == 0; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		char *key = pib_asprintf("%s %s %s", p->name, p->version, p->arch);
		if (!key)
			r = -ENOMEM;
		else if (!strv_has(after, key)) {
			char *u = pib_asprintf("%s %s %s: not installed", p->name, p->version, p->arch);
			if (!u || pib_strv_push(&c->unfinished, u) < 0)
				r = -ENOMEM;
			free(u);
		}
		free(key);
	}
	for (size_t i = 0; after[i] && r == 0; i++) {
		if (strv_has(before, after[i]))
			continue;
		bool ours = false;
		for (size_t k = 0; k < c->n_pkgs && !ours; k++) {
			char *key = pib_asprintf("%s %s %s", c->pkgs[k].name, c->pkgs[k].version, c->pkgs[k].arch);
			ours = key && !strcmp(key, after[i]);
			free(key);
		}
		if (!ours)
			(void)pib_buf_printf(&extra, "%s%s", extra.len ? ", " : "", after[i]);
	}
	pib_strv_free(after);
	if (r == -ENOMEM) {
		pib_buf_free(&extra);
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if (c->unfinished && c->unfinished[0]) {
		struct pib_buf list = {0};
		for (size_t i = 0; c->unfinished[i]; i++)
			(void)pib_buf_printf(&list, "%s%s", i ? "; " : "", c->unfinished[i]);
		if (!c->err->set)
			r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.failed",
				     "the rpm database of %s lacks packages of the transaction after the install: %s",
				     c->root, list.data ? list.data : "");
		else
			r = -EIO;
		pib_buf_free(&list);
	} else if (extra.len && !c->err->set) {
		r = pib_fail(c->err, -EIO, PIB_ERR_FAILED, "install.transaction_mismatch",
			     "the install put packages into %s that resolve did not choose: %s", c->root, extra.data);
	}
	pib_buf_free(&extra);
	return r;
}

int rpm_install(struct inst_ctx *c)
{
	struct rpm_priv *pv;
	bool need_repo = false;
	char **before = NULL, *tool = NULL;
	int r;

	if (!c->priv && (r = rpm_prepare(c)) < 0)
		return r;
	pv = c->priv;
	if (c->n_pkgs == 0) {
		/* every package of the bundle is on the image already, as it is */
		c->tool = pib_strdup("none");
		c->tool_why = pib_strdup("nothing to install: the image already has every package of the bundle, at the same version with the same contents");
		return c->tool && c->tool_why ? 0 : pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	for (size_t i = 0; i < c->n_pkgs; i++)
		if (!c->pkgs[i].member)
			need_repo = true;
	if (need_repo && host_mode(c)) {
		/* this machine's dnf, given local files only; without dnf, rpm -U of the same files */
		tool = pib_find_tool("dnf");
	} else if (need_repo) {
		/* the image's own front end: zypper on SUSE, dnf, else yum (Amazon Linux 2) */
		bool suse = c->os->family && !strcmp(c->os->family, "suse");
		const char *order[] = {suse ? "zypper" : "dnf", suse ? NULL : "yum", NULL};
		for (int i = 0; order[i] && !tool; i++)
			tool = pv->own_tools ? pib_find_tool_in_root(c->root, order[i]) : pib_find_tool(order[i]);
		if (!tool)
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "tool.missing",
					"the bundle needs packages from the image's repositories, and %s %s",
					pv->own_tools ? c->root : "this machine",
					suse ? "has no zypper" : "has neither dnf nor yum");
	}
	const char *base = tool ? strrchr(tool, '/') + 1 : "rpm";
	c->tool = pib_strdup(base);
	c->contained = pv->own_tools;
	c->tool_why = pib_asprintf(
		"%s%s",
		!need_repo ? "every package comes from the bundle: one rpm -U transaction of the files, in the resolved order"
		: host_mode(c)
			? "packages come from the root's repositories too: the agent copied them out of the root (SHA-256 checked against the repository's index), and this machine's dnf --installroot installs them and the bundle's files as local packages, no repository read"
			: "packages come from the image's repositories too: its front end installs the bundle's files and them",
		pv->own_tools ? "; the root's own tools run contained inside it (private mount, PID, IPC, UTS and network namespaces)"
		: strcmp(c->root, "/")
			? "; the root has no rpm of its own: this machine's runs with --root and the root's database in private mount, PID, IPC, UTS and network namespaces (no network, nothing outlives it), and rpm runs the scriptlets chrooted into the root (a chroot, not contained by pivot_root)"
			: "; run directly on / (the running system, --root /), not contained");
	if (!c->tool || !c->tool_why) {
		free(tool);
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if (host_mode(c)) {
		/* this machine's rpm writes each scriptlet into ROOT/var/tmp from here, before it
		 * chroots: no link on that way, which it would follow on this machine */
		char *m = NULL;
		if (first_missing(c->root, "/var/tmp", &m) < 0) {
			free(tool);
			return pib_fail(c->err, -ELOOP, PIB_ERR_FAILED, "install.failed",
					"%s/var/tmp is reached through a link: this machine's rpm would write the scriptlets through it on this machine; the root has no rpm of its own to run contained",
					c->root);
		}
		free(m);
	}
	if ((r = rpmdb_list(c, &before)) < 0) {
		free(tool);
		return r;
	}
	if (need_repo && host_mode(c) && (r = copy_repo_pkgs(c)) < 0) {
		free(tool);
		pib_strv_free(before);
		return r;
	}
	r = !need_repo ? install_rpm(c, before) : tool ? install_frontend(c, tool) : 1;
	if (r == 1) {
		/* rpm -U of the same local files: no dnf here, or the root has links where dnf writes */
		free(c->tool);
		free(c->tool_why);
		c->tool = pib_strdup("rpm");
		c->tool_why = pib_asprintf("%s; this machine's rpm installs them as one rpm -U transaction (%s; rpm runs the scriptlets chrooted into the root, not contained)",
					   "packages come from the root's repositories too: the agent copied them out of the root (SHA-256 checked against the repository's index)",
					   tool ? "the root has links where dnf would write, which it would follow on this machine" : "this machine has no dnf");
		r = install_rpm(c, before);
	}
	free(tool);
	if (!c->tool_ran || pib_interrupted) {
		pib_strv_free(before);
		return r;
	}
	/* whatever the tool said, the database says what is on the image */
	int cr = compare(c, before);
	if (r == 0)
		r = cr;
	verify_installed(c);
	pib_strv_free(before);
	return r;
}
