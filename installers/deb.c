/* SPDX-License-Identifier: MIT */
/* The deb installer: digests, libsolv resolution against dpkg's status and apt's lists, dpkg or apt installs. */
#include "installer.h"
#include "debsig.h"
#include "deb_install.h"
#include "dpkgdb.h"
#include "pkgmeta.h"
#include "resolve.h"
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define MAX_LISTS 256

static const char *const deb_families[] = {"debian", NULL};

static int deb_probe(struct inst_ctx *c)
{
	char *dpkg = pib_find_tool("dpkg");
	char *status = inst_root_path(c->root, "/var/lib/dpkg/status");
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
	/* Package, Version and Architecture of each control file, before anything uses them */
	if ((r = inst_deb_check_control(c)) < 0)
		return r;
	/* with keys: every package's origin signature (debsig-verify); without: nothing to do */
	return inst_deb_debsig_verify(c);
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
	char *dir = inst_root_path(c->root, "/var/lib/apt/lists");
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
		r = resolve_read_index(p, &repos[n].data, &repos[n].len);
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
	char *p = inst_root_path(root, "/var/lib/dpkg/arch");
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
		.installed_filter = dpkg_really_installed,
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
			char *host = inst_root_path(c->root, l);
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
