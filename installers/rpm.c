/* SPDX-License-Identifier: MIT */
/*
 * The rpm installer: each package's header read and judged (format, source package, OS,
 * architecture by rpm's own compatibility rules, duplicates), signatures checked against the
 * target's keys in a private keyring, libsolv resolution against the root's rpmdb and its own
 * yum/dnf/zypper repositories, and the install with the image's own tools (rpm_install.c).
 */
#include "installer.h"
#include "pkgmeta.h"
#include "pkgname.h"
#include "resolve.h"
#include "rpm_install.h"
#include "rpmhdr.h"
#include "contain.h"
#include "dpkgdb.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REPO_FILES 256
#define MAX_REPO_FILE_BYTES (1u << 20)
#define MAX_REPOMD_BYTES (4u << 20)

static const char *const rpm_families[] = {"rhel", "suse", NULL};

/* The rpmdb of the root: its folder inside the root and its backend, or -ENOENT. */
static int find_rpmdb(const char *root, char **ret_dbpath, const char **ret_backend)
{
	static const char *const dirs[] = {"/var/lib/rpm", "/usr/lib/sysimage/rpm", "/usr/share/rpm", NULL};
	static const struct {
		const char *file, *backend;
	} files[] = {{"rpmdb.sqlite", "sqlite"}, {"Packages.db", "ndb"}, {"Packages", "bdb"}};

	for (int d = 0; dirs[d]; d++) {
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			char *inside = pib_asprintf("%s/%s", dirs[d], files[f].file), *host = NULL;
			struct stat st;
			bool ok = inside && pib_path_in_root(root, inside, true, &host) == 0 &&
				  stat(host, &st) == 0 && S_ISREG(st.st_mode);
			free(inside);
			free(host);
			if (!ok)
				continue;
			/*
			 * rpm --root and libsolv open ROOT + this folder on this machine, following
			 * links as this machine does: the folder must be the same seen from inside the
			 * root (a link of the root to /var/lib/rpm would be this machine's database)
			 */
			char *in_root = NULL, *joined = pib_asprintf("%s%s", strcmp(root, "/") ? root : "", dirs[d]);
			char *real = joined ? realpath(joined, NULL) : NULL;
			bool same = real && pib_path_in_root(root, dirs[d], true, &in_root) == 0 &&
				    !strcmp(real, in_root);
			free(joined);
			free(real);
			free(in_root);
			if (!same)
				return -ELOOP;
			*ret_dbpath = pib_strdup(dirs[d]);
			*ret_backend = files[f].backend;
			return *ret_dbpath ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

int rpm_prepare(struct inst_ctx *c)
{
	struct rpm_priv *pv = c->priv;
	int r;

	if (!pv) {
		if (!(pv = calloc(1, sizeof(*pv))))
			return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		c->priv = pv;
	}
	r = pv->dbpath ? 0 : find_rpmdb(c->root, &pv->dbpath, &pv->backend);
	if (r == -ELOOP)
		return pib_fail(c->err, r, PIB_ERR_FAILED, "os.no_package_db",
				"%s: the rpm database's folder is reached through a link that leads elsewhere from this machine than from inside the root: it is not read",
				c->root);
	if (r < 0)
		return pib_fail(c->err, r, PIB_ERR_FAILED, "os.no_package_db",
				"%s: no rpm database (rpmdb.sqlite, Packages.db or Packages under /var/lib/rpm or /usr/lib/sysimage/rpm): is this an rpm-family root?",
				c->root);
	/* the image's own rpm: on "/" it is this system's; in another root, the root's, contained */
	free(pv->rpm);
	pv->rpm = NULL;
	pv->own_tools = false;
	if (strcmp(c->root, "/")) {
		pv->rpm = pib_find_tool_in_root(c->root, "rpm");
		pv->own_tools = pv->rpm != NULL;
	}
	if (!pv->rpm)
		pv->rpm = pib_find_tool("rpm");
	if (!pv->rpm)
		return pib_fail(c->err, -ENOENT, PIB_ERR_ENV, "tool.missing",
				"rpm is installed neither in %s nor on this machine (needed for rpm targets)",
				c->root);
	if (c->may_install && !strcmp(pv->backend, "bdb") && !pv->own_tools)
		return pib_fail(c->err, -ENOTSUP, PIB_ERR_FAILED, "tool.missing",
				"%s%s/Packages: a Berkeley DB rpm database (RHEL 8, Amazon Linux 2), which this machine's rpm reads but cannot write, and the root has no rpm of its own to install with (--dry-run resolves against it)",
				strcmp(c->root, "/") ? c->root : "", pv->dbpath);
	if (!strcmp(pv->backend, "ndb") && !pv->own_tools)
		return pib_fail(c->err, -ENOTSUP, PIB_ERR_ENV, "tool.missing",
				"%s%s/Packages.db: an ndb rpm database (SUSE), which this machine's rpm cannot read, and the root has no rpm of its own",
				strcmp(c->root, "/") ? c->root : "", pv->dbpath);
	return 0;
}

int rpm_run(struct inst_ctx *c, const char *tool, char *const argv[], bool with_root, bool log,
	    bool network, struct pib_spawn_result *res)
{
	struct rpm_priv *pv = c->priv;
	char **args = NULL;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (pib_strv_push(&args, tool) < 0)
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (with_root && !pv->own_tools && strcmp(c->root, "/")) {
		/* this machine's rpm on another root: that root's database, never this machine's */
		const char *more[] = {"--root", c->root, "--dbpath", pv->dbpath, NULL};
		for (int i = 0; more[i] && r == 0; i++)
			r = pib_strv_push(&args, more[i]);
	}
	if (!strcmp(pv->backend, "bdb") && !pv->own_tools && r == 0)
		r = pib_strv_push(&args, "--define=_db_backend bdb_ro");
	for (int i = 1; argv[i] && r == 0; i++)
		r = pib_strv_push(&args, argv[i]);
	if (r < 0) {
		pib_strv_free(args);
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	struct pib_spawn_opts so = {.env = pv->env, .timeout = c->install_timeout, .stdin_fd = -1};
	if (pv->own_tools || strcmp(c->root, "/")) {
		/* the root's own tools inside it; this machine's on it in the same namespaces (no
		 * network, nothing outliving the tool or the agent), chrooting its scriptlets */
		struct contain_opts co = {.root = c->root, .files = pv->files, .n_files = pv->n_files,
					  .share_network = network, .host_tool = !pv->own_tools};
		r = contain_spawn(args, &co, &so, res, c->err);
	} else {
		r = pib_spawn(args, &so, res);
		if (r < 0)
			r = pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
				     args[0], strerror(-r));
	}
	if (r == 0 && log)
		inst_log_command(c, args, &res->output);
	pib_strv_free(args);
	return r;
}

/* ------------------------------------------------------------------------------ verify */

/* The header of every package of the target, judged before any tool reads it. */
static int check_headers(struct inst_ctx *c, struct rpm_info *infos)
{
	const struct mf_target *t = c->target;

	for (size_t i = 0; i < t->n_packages; i++) {
		const char *file = t->packages[i].file;
		const struct bundle_member *m = bundle_find(c->bundle, file);
		struct rpm_info *in = &infos[i];
		char *why = NULL;
		int r;
		if (!m)
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					"%s: not in the bundle", file);
		if (rpm_info_read(m->path, in, &why) < 0) {
			/* say what it is when it is a package of another system */
			char head[8] = {0};
			FILE *f = fopen(m->path, "rbe");
			size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
			if (f)
				fclose(f);
			bool deb = n == 8 && !memcmp(head, "!<arch>\n", 8);
			bool msi = n == 8 && !memcmp(head, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.invalid", "%s: %s", file,
				     deb   ? "a Debian package (.deb), not an rpm: an rpm target takes .rpm files"
				     : msi ? "a Windows Installer package (.msi), not an rpm: an rpm target takes .rpm files"
					   : why);
			free(why);
			return r;
		}
		if (in->source)
			return pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
					"%s: a source package (%s-%s-%s.src.rpm): a bundle carries binary packages, built for the target",
					file, in->name, in->version, in->release);
		if ((r = inst_pkgmeta_check(c->err, false, file, in->name, in->version, in->arch)) < 0 ||
		    !mf_rpm_release_valid(in->release))
			return r < 0 ? r
				     : pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
						"%s: Release \"%s\" is not a valid rpm release", file,
						in->release);
		if (in->os && strcasecmp(in->os, "linux"))
			return pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
					"%s: %s-%s-%s.%s is built for the OS \"%s\", not Linux", file,
					in->name, in->version, in->release, in->arch, in->os);
		if (!rpm_arch_compatible(c->os->arch, in->arch))
			return pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "package.wrong_arch",
					"%s: %s-%s-%s is built for %s, which this %s image cannot run (rpm's own rules: %s)",
					file, in->name, in->version, in->release, in->arch, c->os->arch,
					!strcmp(c->os->arch, "x86_64")
						? "an x86_64 system runs x86_64, the 32-bit x86 arches i686, i586, i486, i386 and athlon, and noarch"
						: "a system runs its own arch and noarch");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(infos[k].name, in->name) && !strcmp(infos[k].arch, in->arch))
				return pib_fail(c->err, -EEXIST, PIB_ERR_FAILED, "bundle.duplicate_package",
						"%s and %s: both are %s.%s (%s-%s and %s-%s): a target lists each package once",
						t->packages[k].file, file, in->name, in->arch,
						infos[k].version, infos[k].release, in->version, in->release);
	}
	return 0;
}

static int add_sig(struct inst_ctx *c, const char *member, const char *signer)
{
	struct inst_sig *n = realloc(c->sigs, (c->n_sigs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->sigs = n;
	memset(&n[c->n_sigs], 0, sizeof(*n)); /* the fields other backends fill too */
	n[c->n_sigs].member = pib_strdup(member);
	n[c->n_sigs].signer = signer ? pib_strdup(signer) : NULL;
	c->n_sigs++;
	return n[c->n_sigs - 1].member && (!signer || n[c->n_sigs - 1].signer) ? 0 : -ENOMEM;
}

/* this machine's rpmkeys (or rpm -K): the check reads the package only, never the root */
static int run_checksig(struct inst_ctx *c, const char *path, bool signatures, struct pib_spawn_result *res)
{
	struct rpm_priv *pv = c->priv;
	char *tool = pib_find_tool("rpmkeys");
	char **argv = NULL;
	int r = 0;
	const char *args[] = {tool ? tool : pv->rpm, "--dbpath", pv->keyring,
			      signatures ? "--define=_pkgverify_level signature" : "--define=_pkgverify_level digest",
			      "-Kv", signatures ? NULL : "--nosignature", "--", path};

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]) && r == 0; i++)
		if (args[i])
			r = pib_strv_push(&argv, args[i]);
	struct pib_spawn_opts so = {.timeout = 300, .stdin_fd = -1};
	if (r == 0)
		r = pib_spawn(argv, &so, res);
	pib_strv_free(argv);
	free(tool);
	return r;
}

static int rpm_verify_sigs(struct inst_ctx *c, const struct rpm_info *infos)
{
	const struct mf_target *t = c->target;
	struct rpm_priv *pv = c->priv;
	char **fprs = NULL, **owners = NULL; /* every key's fingerprints, and the member of each */
	int r = 0;

	if ((r = pib_mkdtemp("pib-rpmkeys", &pv->keyring)) < 0)
		return pib_fail(c->err, r, PIB_ERR_ENV, "agent.tmpdir", "a private keyring: %s", strerror(-r));
	for (size_t k = 0; t->keys && t->keys[k] && r == 0; k++) {
		const struct bundle_member *m = bundle_find(c->bundle, t->keys[k]);
		char **f = NULL, *why = NULL;
		if (!m) {
			r = pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
				     "%s: not in the bundle", t->keys[k]);
			break;
		}
		if (rpm_key_fingerprints(m->path, &f, &why) < 0) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key", "%s: %s", t->keys[k],
				     why ? why : "unreadable");
			free(why);
			break;
		}
		for (size_t i = 0; f[i] && r == 0; i++)
			if (pib_strv_push(&fprs, f[i]) < 0 || pib_strv_push(&owners, t->keys[k]) < 0)
				r = -ENOMEM;
		pib_strv_free(f);
		/* into the private keyring only: never into the root's rpmdb */
		char *tool = pib_find_tool("rpmkeys");
		char *argv[] = {tool ? tool : pv->rpm, (char *)"--dbpath", pv->keyring, (char *)"--import",
				(char *)"--", m->path, NULL};
		struct pib_spawn_opts so = {.timeout = 120, .stdin_fd = -1};
		struct pib_spawn_result res = {0};
		if (r == 0 && (r = pib_spawn(argv, &so, &res)) == 0 && res.status != 0) {
			r = pib_fail(c->err, -EINVAL, PIB_ERR_FAILED, "bundle.bad_key",
				     "%s: rpm does not accept this key (rpmkeys --import exited with status %d)",
				     t->keys[k], res.status);
			pib_err_detail(c->err, res.output.data, res.output.len);
		} else if (r < 0 && !c->err->set) {
			r = pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing", "rpmkeys: cannot start it: %s",
				     strerror(-r));
		}
		pib_spawn_result_free(&res);
		free(tool);
	}

	for (size_t i = 0; i < t->n_packages && r == 0; i++) {
		const char *file = t->packages[i].file;
		const struct bundle_member *m = bundle_find(c->bundle, file);
		const struct rpm_info *in = &infos[i];
		struct pib_spawn_result res = {0};
		const char *owner = NULL, *fpr = NULL;
		for (size_t k = 0; in->signer && strlen(in->signer) >= 16 && fprs && fprs[k]; k++)
			if (pib_str_has_suffix(fprs[k], in->signer)) {
				fpr = fprs[k];
				owner = owners[k];
			}
		if (!in->signed_ && !t->allow_unsigned) {
			r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.unsigned",
				     "%s: %s-%s-%s.%s is not signed; the target \"%s\" accepts only packages signed by one of its keys (rpmsign --addsign), unless allow_unsigned is true",
				     file, in->name, in->version, in->release, in->arch, t->name);
			break;
		}
		/* a signature that is there must verify; with none (allowed), the digests must */
		if ((r = run_checksig(c, m->path, in->signed_, &res)) < 0) {
			r = pib_fail(c->err, r, PIB_ERR_ENV, "tool.missing", "rpmkeys: cannot start it: %s",
				     strerror(-r));
			break;
		}
		if (res.status != 0) {
			/* which failed: the digests (changed bytes), or only the signature (another key) */
			struct pib_spawn_result dig = {0};
			bool digests_ok = in->signed_ && run_checksig(c, m->path, false, &dig) == 0 && dig.status == 0;
			pib_spawn_result_free(&dig);
			if (!in->signed_ || !digests_ok)
				r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
					     "%s: its digests do not match: the header or the payload was changed after the package was built%s",
					     file, in->signed_ ? " and signed" : "");
			else if (!fpr)
				r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
					     "%s: signed by key %s, which is not one of the target \"%s\"'s keys%s",
					     file, in->signer ? in->signer : "(no issuer named)", t->name,
					     t->keys && t->keys[0] ? "" : " (it lists none)");
			else
				r = pib_fail(c->err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
					     "%s: its signature by key %s (%s) does not verify", file, fpr, owner);
			pib_err_detail(c->err, res.output.data, res.output.len);
		} else if ((r = add_sig(c, file, in->signed_ ? (fpr ? fpr : in->signer) : NULL)) < 0) {
			r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
		}
		pib_spawn_result_free(&res);
	}
	if (r == -ENOMEM && !c->err->set)
		r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	pib_strv_free(fprs);
	pib_strv_free(owners);
	return r;
}

static int rpm_verify(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;
	struct rpm_info *infos;
	int r = inst_verify_digests(c);

	if (r < 0)
		return r;
	if (!(infos = calloc(t->n_packages + 1, sizeof(*infos))))
		return pib_fail(c->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if ((r = check_headers(c, infos)) == 0)
		r = rpm_verify_sigs(c, infos);
	for (size_t i = 0; i < t->n_packages; i++)
		rpm_info_free(&infos[i]);
	free(infos);
	return r;
}

/* ----------------------------------------------------------------------------- resolve */

struct yum_repo {
	char *id, *baseurl, *file;
	bool enabled;
};

static void yum_repos_free(struct yum_repo *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].baseurl);
		free(v[i].file);
	}
	free(v);
}

static bool ini_false(const char *v)
{
	return !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off");
}

/* One .repo file: [id] sections with enabled= and baseurl= (the first URL of a list). */
static int parse_repo_file(const char *name, char *text, struct yum_repo **v, size_t *n)
{
	struct yum_repo *cur = NULL;
	bool in_baseurl = false;

	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		bool cont = l[0] == ' ' || l[0] == '\t';
		while (*l == ' ' || *l == '\t')
			l++;
		size_t len = strlen(l);
		while (len && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t'))
			l[--len] = '\0';
		if (!len || l[0] == '#' || l[0] == ';')
			continue;
		if (l[0] == '[') {
			char *e = strchr(l, ']');
			in_baseurl = false;
			if (!e || !strcmp(l, "[main]")) {
				cur = NULL;
				continue;
			}
			struct yum_repo *nv = realloc(*v, (*n + 1) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			cur = &nv[(*n)++];
			memset(cur, 0, sizeof(*cur));
			cur->enabled = true;
			cur->id = pib_strndup(l + 1, (size_t)(e - l - 1));
			cur->file = pib_strdup(name);
			if (!cur->id || !cur->file)
				return -ENOMEM;
			continue;
		}
		if (!cur)
			continue;
		if (cont && in_baseurl)
			continue; /* further URLs of the list: the first is used */
		char *eq = strchr(l, '=');
		in_baseurl = false;
		if (!eq)
			continue;
		char *k = l, *val = eq + 1;
		*eq = '\0';
		for (char *z = eq - 1; z >= k && (*z == ' ' || *z == '\t'); z--)
			*z = '\0';
		while (*val == ' ' || *val == '\t')
			val++;
		if (!strcmp(k, "enabled")) {
			cur->enabled = !ini_false(val);
		} else if (!strcmp(k, "baseurl")) {
			in_baseurl = true;
			char *sp = val + strcspn(val, " \t,");
			*sp = '\0';
			free(cur->baseurl);
			if (*val && !(cur->baseurl = pib_strdup(val)))
				return -ENOMEM;
		}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .repo file of the root's dnf/yum and zypper folders, in name order. */
static int read_repo_files(struct inst_ctx *c, struct yum_repo **ret, size_t *ret_n)
{
	static const char *const dirs[] = {"/etc/yum.repos.d", "/etc/zypp/repos.d", NULL};
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	for (int d = 0; dirs[d] && r == 0; d++) {
		char *host = NULL, **names = NULL;
		DIR *dir = pib_path_in_root(c->root, dirs[d], true, &host) == 0 ? opendir(host) : NULL;
		struct dirent *de;
		while (dir && (de = readdir(dir)))
			if (pib_str_has_suffix(de->d_name, ".repo") && pib_strv_len(names) < MAX_REPO_FILES &&
			    pib_strv_push(&names, de->d_name) < 0)
				r = -ENOMEM;
		if (dir)
			closedir(dir);
		free(host);
		if (names)
			qsort(names, pib_strv_len(names), sizeof(char *), cmp_str);
		for (size_t i = 0; names && names[i] && r == 0; i++) {
			char *inside = pib_asprintf("%s/%s", dirs[d], names[i]), *p = NULL, *text = NULL;
			size_t len;
			if (inside && pib_path_in_root(c->root, inside, true, &p) == 0 &&
			    pib_read_file(p, MAX_REPO_FILE_BYTES, &text, &len) == 0)
				r = parse_repo_file(inside, text, ret, ret_n);
			free(inside);
			free(p);
			free(text);
		}
		pib_strv_free(names);
	}
	return r;
}

/* A dnf/yum variable the image defines: ROOT/etc/dnf/vars/NAME or ROOT/etc/yum/vars/NAME (first line). */
static char *image_var(const char *root, const char *name)
{
	static const char *const dirs[] = {"/etc/dnf/vars", "/etc/yum/vars", NULL};

	for (int d = 0; dirs[d]; d++) {
		char *inside = pib_asprintf("%s/%s", dirs[d], name), *p = NULL, *text = NULL;
		size_t len;
		if (inside && pib_path_in_root(root, inside, true, &p) == 0 &&
		    pib_read_file(p, 4096, &text, &len) == 0) {
			text[strcspn(text, "\r\n")] = '\0';
			free(inside);
			free(p);
			return text;
		}
		free(inside);
		free(p);
		free(text);
	}
	return NULL;
}

/*
 * dnf's $releasever for this OS: the image's own vars file, else what its system-release
 * package says by the vendor's convention: the major version on RHEL and its rebuilds
 * (redhat-release provides system-release(releasever) = 9), VERSION_ID elsewhere (Fedora 40,
 * Amazon Linux 2023, openSUSE 15.5).
 */
char *rpm_releasever(const char *root, const struct osinfo *os)
{
	static const char *const major_only[] = {"rhel", "centos", "rocky", "almalinux", "ol", NULL};
	char *v = image_var(root, "releasever");

	if (v)
		return v;
	for (int i = 0; major_only[i]; i++)
		if (!strcmp(os->id, major_only[i]))
			return pib_strndup(os->version_id, strcspn(os->version_id, "."));
	return pib_strdup(os->version_id);
}

/*
 * dnf's variables in a URL: $name or ${name}, from the image's vars files, else $releasever,
 * $releasever_major, $basearch and $arch. NULL when one is unknown (or out of memory).
 */
static char *expand_vars(const char *url, const char *root, const struct osinfo *os)
{
	struct pib_buf b = {0};
	char *rel = rpm_releasever(root, os);
	bool ok = rel != NULL;

	for (const char *s = url; ok && *s;) {
		if (*s != '$') {
			ok = pib_buf_append(&b, s++, 1) == 0;
			continue;
		}
		bool brace = s[1] == '{';
		const char *n = s + 1 + brace;
		size_t len = strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (!len || len > 64 || (brace && n[len] != '}')) {
			ok = false;
			break;
		}
		char name[65];
		memcpy(name, n, len);
		name[len] = '\0';
		char *val = image_var(root, name);
		if (!val && !strcmp(name, "releasever"))
			val = pib_strdup(rel);
		else if (!val && !strcmp(name, "releasever_major"))
			val = pib_strndup(rel, strcspn(rel, "."));
		else if (!val && (!strcmp(name, "basearch") || !strcmp(name, "arch")))
			val = pib_strdup(os->arch);
		ok = val && strchr(val, '$') == NULL && pib_buf_printf(&b, "%s", val) >= 0;
		free(val);
		s = n + len + brace;
	}
	free(rel);
	if (ok && !b.data)
		ok = pib_buf_append(&b, "", 0) == 0;
	if (!ok) {
		pib_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The primary index's location in repomd.xml: <data type="primary"> ... <location href="X"/>. */
static char *primary_href(const char *xml)
{
	const char *d = strstr(xml, "<data type=\"primary\"");
	const char *end = d ? strstr(d, "</data>") : NULL;
	const char *loc = d ? strstr(d, "<location") : NULL;
	if (!loc || (end && loc > end))
		return NULL;
	const char *h = strstr(loc, "href=\"");
	if (!h || (end && h > end))
		return NULL;
	h += 6;
	const char *q = strchr(h, '"');
	return q ? pib_strndup(h, (size_t)(q - h)) : NULL;
}

/* Reads each enabled local repository's primary index; others are named in *ret_unread. */
static int load_rpm_repos(struct inst_ctx *c, struct resolve_repo **ret, size_t *ret_n, char **ret_unread)
{
	struct yum_repo *yr = NULL;
	size_t n_yr = 0, n = 0;
	struct resolve_repo *repos = NULL;
	struct pib_buf unread = {0};
	int r = read_repo_files(c, &yr, &n_yr);

	for (size_t i = 0; i < n_yr && r == 0; i++) {
		if (!yr[i].enabled)
			continue;
		char *url = yr[i].baseurl ? expand_vars(yr[i].baseurl, c->root, c->os) : NULL;
		if (!url || !pib_str_has_prefix(url, "file://")) {
			(void)pib_buf_printf(&unread, "repository %s (%s) was not read: %s\n", yr[i].id, yr[i].file,
					     !yr[i].baseurl ? "it has no baseurl (mirrorlist and metalink need the network)"
					     : !url	    ? "its baseurl uses a variable the agent does not know"
							    : "only file:// repositories are read while resolving");
			free(url);
			continue;
		}
		const char *base = url + strlen("file://");
		char *md = pib_asprintf("%s/repodata/repomd.xml", base), *mdp = NULL, *xml = NULL, *href = NULL;
		char *prim = NULL, *primp = NULL;
		size_t len;
		struct stat st;
		const char *problem = NULL;
		if (!md || pib_path_in_root(c->root, md, true, &mdp) < 0 ||
		    pib_read_file(mdp, MAX_REPOMD_BYTES, &xml, &len) < 0)
			problem = "its repodata/repomd.xml cannot be read";
		else if (!(href = primary_href(xml)) || strstr(href, ".."))
			problem = "its repomd.xml names no primary index";
		else if (!(prim = pib_asprintf("%s/%s", base, href)) ||
			 pib_path_in_root(c->root, prim, true, &primp) < 0 || stat(primp, &st) < 0 ||
			 !S_ISREG(st.st_mode))
			problem = "the primary index its repomd.xml names is not a file inside the root";
		if (!problem) {
			struct resolve_repo *nr = realloc(repos, (n + 1) * sizeof(*nr));
			if (!nr) {
				r = -ENOMEM;
			} else {
				repos = nr;
				memset(&repos[n], 0, sizeof(repos[n]));
				if (!(repos[n].path = pib_strdup(primp)) ||
					   !(repos[n].name = pib_strdup(yr[i].id)) ||
					   !(repos[n].base = pib_strdup(base))) {
					free(repos[n].name);
					free(repos[n].path);
					r = -ENOMEM;
				} else {
					n++;
				}
			}
		} else {
			(void)pib_buf_printf(&unread, "repository %s (%s, %s) was not read: %s\n", yr[i].id,
					     yr[i].file, url, problem);
		}
		free(md);
		free(mdp);
		free(xml);
		free(href);
		free(prim);
		free(primp);
		free(url);
	}
	yum_repos_free(yr, n_yr);
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			free(repos[i].name);
			free(repos[i].data);
			free(repos[i].path);
			free(repos[i].base);
		}
		free(repos);
		pib_buf_free(&unread);
		if (r == -ENOMEM && !c->err->set)
			r = pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
		return r;
	}
	*ret = repos;
	*ret_n = n;
	*ret_unread = unread.data;
	return 0;
}

static int rpm_resolve(struct inst_ctx *c)
{
	struct resolve_repo *repos = NULL;
	size_t n_repos = 0;
	char *unread = NULL;
	int r;

	if ((r = load_rpm_repos(c, &repos, &n_repos, &unread)) < 0)
		return r;
	struct resolve_input in = {
		.dist = RESOLVE_RPM,
		.arch = c->os->arch,
		.repos = repos,
		.n_repos = n_repos,
	};
	r = resolve_run(c, &in);
	if (r < 0 && unread && !strcmp(c->err->code, "resolve.unsatisfiable")) {
		/* a dependency may be in a repository the agent could not read: say which */
		char *p = pib_asprintf("%s%s", c->problems ? c->problems : "", unread);
		if (p) {
			free(c->problems);
			c->problems = p;
		}
	}
	for (size_t i = 0; i < n_repos; i++) {
		free(repos[i].name);
		free(repos[i].data);
		free(repos[i].path);
		free(repos[i].base);
	}
	free(repos);
	free(unread);
	return r;
}

/* ----------------------------------------------------------------------- files installed */

static int rpm_files_installed(struct inst_ctx *c)
{
	struct rpm_priv *pv = c->priv;

	if (!pv || !pv->rpm)
		return 0;
	for (size_t i = 0; i < c->n_pkgs; i++) {
		struct inst_pkg *p = &c->pkgs[i];
		/* FILEFLAGS 64 is %ghost: listed, never installed by rpm */
		char *nevra = pib_asprintf("%s-%s.%s", p->name, p->version, p->arch);
		char *argv[] = {pv->rpm, (char *)"-q", (char *)"--qf",
				(char *)"[%{FILEFLAGS}\\t%{FILENAMES}\\n]", (char *)"--", nevra, NULL};
		struct pib_spawn_result res = {0};
		pib_strv_free(p->files);
		p->files = calloc(1, sizeof(char *));
		if (!nevra || !p->files || rpm_run(c, pv->rpm, argv, true, false, false, &res) < 0 ||
		    res.status != 0) {
			free(nevra);
			pib_spawn_result_free(&res);
			continue;
		}
		char *save = NULL;
		for (char *l = res.output.data ? strtok_r(res.output.data, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save)) {
			char *tab = strchr(l, '\t');
			if (!tab || tab[1] != '/' || (strtoul(l, NULL, 10) & 64))
				continue;
			char *host = inst_root_path(c->root, tab + 1);
			struct stat st;
			bool dir = host && lstat(host, &st) == 0 && S_ISDIR(st.st_mode);
			free(host);
			if (!dir && pib_strv_push(&p->files, tab + 1) < 0)
				break;
		}
		free(nevra);
		pib_spawn_result_free(&res);
	}
	return 0;
}

static void rpm_cleanup(struct inst_ctx *c)
{
	struct rpm_priv *pv = c->priv;

	if (!pv)
		return;
	if (pv->keyring)
		(void)pib_rm_rf(pv->keyring);
	for (size_t i = 0; pv->tmp_dirs && pv->tmp_dirs[i]; i++)
		(void)pib_rm_rf(pv->tmp_dirs[i]);
	pib_strv_free(pv->tmp_dirs);
	pib_strv_free(pv->env);
	free(pv->files);
	pib_strv_free(pv->file_names);
	free(pv->keyring);
	free(pv->link_dir);
	for (size_t i = 0; pv->local && i < pv->n_local; i++)
		free(pv->local[i]);
	free(pv->local);
	free(pv->dbpath);
	free(pv->rpm);
	free(pv);
	c->priv = NULL;
}

const struct installer inst_rpm = {
	.name = "rpm",
	.families = rpm_families,
	.probe = rpm_prepare,
	.verify = rpm_verify,
	.resolve = rpm_resolve,
	.install = rpm_install,
	.files_installed = rpm_files_installed,
	.cleanup = rpm_cleanup,
};
