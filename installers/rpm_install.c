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

/* The bundle's files as the tool sees them: host paths, or offered under /run/pib-agent. */
static int package_args(struct inst_ctx *c, char ***argv)
{
	struct rpm_priv *pv = c->priv;

	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		if (!p->member)
			continue;
		char *name = pib_asprintf("%zu-%s-%s.%s.rpm", i, p->name, p->version, p->arch);
		if (!pv->own_tools) {
			/* dnf takes a local package only by a name ending in .rpm: a link to our copy */
			int r = 0;
			if (!pv->link_dir && (r = pib_mkdtemp("pib-rpms", &pv->link_dir)) == 0)
				r = pib_strv_push(&pv->tmp_dirs, pv->link_dir);
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

/* A host-side copy of the root's repository files, file:// URLs pointed into the root. */
static int host_reposdir(struct inst_ctx *c, const char *dir)
{
	static const char *const dirs[] = {"/etc/yum.repos.d", NULL};
	int r = 0;

	for (int d = 0; dirs[d] && r == 0; d++) {
		char *host = NULL;
		if (pib_path_in_root(c->root, dirs[d], true, &host) < 0) {
			free(host);
			continue;
		}
		char **names = NULL;
		DIR *dp = opendir(host);
		struct dirent *de;
		while (dp && (de = readdir(dp)))
			if (pib_str_has_suffix(de->d_name, ".repo") && pib_strv_push(&names, de->d_name) < 0)
				r = -ENOMEM;
		if (dp)
			closedir(dp);
		for (size_t i = 0; names && names[i] && r == 0; i++) {
			char *inside = pib_asprintf("%s/%s", dirs[d], names[i]), *p = NULL, *text = NULL;
			size_t len;
			struct pib_buf out = {0};
			if (!inside || pib_path_in_root(c->root, inside, true, &p) < 0 ||
			    pib_read_file(p, 1u << 20, &text, &len) < 0) {
				free(inside);
				free(p);
				continue;
			}
			for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				char *u = strstr(l, "file:///");
				if (u)
					(void)pib_buf_printf(&out, "%.*sfile://%s%s\n", (int)(u - l), l, c->root,
							     u + strlen("file://"));
				else
					(void)pib_buf_printf(&out, "%s\n", l);
			}
			char *dest = pib_asprintf("%s/%s", dir, names[i]);
			if (!dest || !out.data || pib_write_file(dest, out.data, out.len, 0644) < 0)
				r = -EIO;
			free(dest);
			pib_buf_free(&out);
			free(inside);
			free(p);
			free(text);
		}
		pib_strv_free(names);
		free(host);
	}
	return r;
}

/* dnf (or yum, or zypper) with the image's repositories, given the bundle's files. */
static int install_frontend(struct inst_ctx *c, const char *tool)
{
	struct rpm_priv *pv = c->priv;
	char **argv = NULL;
	struct pib_spawn_result res = {0};
	bool zypper = pib_str_has_suffix(tool, "/zypper");
	char *priv = NULL, *reposdir = NULL, *cache = NULL, *opt_repos = NULL, *opt_cache = NULL;
	char *installroot = NULL, *release = NULL, *conf = NULL, *opt_conf = NULL;
	int r = 0;

	if (zypper) {
		const char *a[] = {tool, "--non-interactive", "--no-refresh", "install", "--no-recommends",
				   "--allow-unsigned-rpm", NULL};
		for (int i = 0; a[i] && r == 0; i++)
			r = pib_strv_push(&argv, a[i]);
		if (r == 0 && !pv->own_tools && strcmp(c->root, "/"))
			r = pib_strv_push(&argv, "--root") < 0 ? -ENOMEM : pib_strv_push(&argv, c->root);
	} else {
		const char *a[] = {tool, "-y", "--setopt=install_weak_deps=False", "--setopt=keepcache=False",
				   NULL};
		for (int i = 0; a[i] && r == 0; i++)
			r = pib_strv_push(&argv, a[i]);
		if (r == 0 && !pv->own_tools && strcmp(c->root, "/")) {
			/* this machine's dnf on the root: its repositories, a private cache, the root's
			 * rpmdb (HOME/.rpmmacros: Debian's rpm keeps its own database under ~) */
			if ((r = pib_mkdtemp("pib-dnf", &priv)) == 0 && (r = pib_strv_push(&pv->tmp_dirs, priv)) == 0) {
				reposdir = pib_asprintf("%s/repos", priv);
				cache = pib_asprintf("%s/cache", priv);
				char *macros = pib_asprintf("%s/.rpmmacros", priv);
				char *mtext = pib_asprintf("%%_dbpath %s\n", pv->dbpath);
				char *home = pib_asprintf("HOME=%s", priv);
				conf = pib_asprintf("%s/dnf.conf", priv);
				/* never the root's dnf.conf: it could name plugins or paths this machine's
				 * dnf would load as root; a plain one, no plugins */
				static const char conf_text[] = "[main]\ninstall_weak_deps=False\n";
				if (!reposdir || !cache || !macros || !mtext || !home || !conf || mkdir(reposdir, 0700) < 0 ||
				    mkdir(cache, 0700) < 0 || pib_write_file(macros, mtext, strlen(mtext), 0600) < 0 ||
				    pib_write_file(conf, conf_text, sizeof(conf_text) - 1, 0600) < 0 ||
				    host_reposdir(c, reposdir) < 0)
					r = -EIO;
				const char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
						     "LANG=C.UTF-8", "LC_ALL=C.UTF-8", home, NULL};
				for (int i = 0; env[i] && r == 0; i++)
					r = pib_strv_push(&pv->env, env[i]);
				free(macros);
				free(mtext);
				free(home);
			}
			opt_repos = reposdir ? pib_asprintf("--setopt=reposdir=%s", reposdir) : NULL;
			opt_cache = cache ? pib_asprintf("--setopt=cachedir=%s", cache) : NULL;
			installroot = pib_asprintf("--installroot=%s", c->root);
			release = pib_asprintf("--releasever=%s", c->os->version_id);
			opt_conf = conf ? pib_asprintf("--config=%s", conf) : NULL;
			const char *b[] = {installroot, opt_conf, "--noplugins", opt_repos, opt_cache, release, NULL};
			for (int i = 0; i < 6 && r == 0; i++)
				r = b[i] ? pib_strv_push(&argv, b[i]) : -ENOMEM;
		}
		if (r == 0)
			r = pib_strv_push(&argv, "install");
	}
	if (r == 0 && (r = pib_strv_push(&argv, "--")) == 0)
		r = package_args(c, &argv);
	/* the image's packages of the transaction by name-version.arch: what resolve chose */
	for (size_t i = 0; i < c->n_pkgs && r == 0; i++) {
		if (c->pkgs[i].member)
			continue;
		char *spec = pib_asprintf("%s-%s.%s", c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch);
		r = spec ? pib_strv_push(&argv, spec) : -ENOMEM;
		free(spec);
	}
	if (r < 0) {
		r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "preparing %s: %s", tool, strerror(-r));
		goto out;
	}
	/* the repositories may need the network; scriptlets then have it too (say so in the path) */
	r = rpm_run(c, tool, argv, false, true, true, &res);
	if (r == 0) {
		c->tool_ran = true;
		const char *base = strrchr(tool, '/');
		r = tool_result(c, base ? base + 1 : tool, &res);
	}
out:
	pib_spawn_result_free(&res);
	pib_strv_free(argv);
	pib_strv_free(pv->env);
	pv->env = NULL;
	free(reposdir);
	free(cache);
	free(opt_repos);
	free(opt_cache);
	free(installroot);
	free(release);
	free(conf);
	free(opt_conf);
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
	if (need_repo) {
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
		tool ? "packages come from the image's repositories too: its front end installs the bundle's files and them"
		     : "every package comes from the bundle: one rpm -U transaction of the files, in the resolved order",
		pv->own_tools ? "; the root's own tools run contained inside it (private mount, PID, IPC, UTS and network namespaces)"
		: strcmp(c->root, "/")
			? "; the root has no rpm of its own: this machine's runs with --root and the root's database, and rpm runs the scriptlets chrooted into the root (not contained)"
			: "; run directly on / (the running system, --root /), not contained");
	if (!c->tool || !c->tool_why) {
		free(tool);
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if ((r = rpmdb_list(c, &before)) < 0) {
		free(tool);
		return r;
	}
	r = tool ? install_frontend(c, tool) : install_rpm(c, before);
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
