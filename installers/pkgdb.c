/* SPDX-License-Identifier: MIT */
/* The installed packages of a root (dpkg's or rpm's database, read by libsolv), and its OSV ecosystem. */
#include "pkgdb.h"
#include "dpkgdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/repo_rpmdb.h>

#define MAX_PACKAGES 1000000u

int pkgdb_family_of(const char *os_family, enum pkgdb_family *ret)
{
	if (os_family && !strcmp(os_family, "debian")) {
		*ret = PKGDB_DEB;
		return 0;
	}
	if (os_family && (!strcmp(os_family, "rhel") || !strcmp(os_family, "suse"))) {
		*ret = PKGDB_RPM;
		return 0;
	}
	return -ENOTSUP;
}

static void pkg_free(struct pkgdb_pkg *k)
{
	free(k->name);
	free(k->version);
	free(k->arch);
	free(k->source);
	free(k->source_version);
	free(k->license);
}

void pkgdb_free(struct pkgdb *db)
{
	for (size_t i = 0; i < db->n; i++)
		pkg_free(&db->p[i]);
	free(db->p);
	memset(db, 0, sizeof(*db));
}

static int pkg_cmp(const void *a, const void *b)
{
	const struct pkgdb_pkg *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->arch, y->arch);
	return c ? c : strcmp(x->version, y->version);
}

/*
 * A string of the solvable's key: its own value, or fallback when libsolv stored it as "void"
 * (the same as the binary's: a Source: naming the package itself, a source rpm of the same evr).
 */
static const char *lookup_or(Solvable *s, Id key, const char *fallback)
{
	const char *v = solvable_lookup_str(s, key);
	if (v && *v)
		return v;
	return fallback;
}

/* The version in parentheses of a Source: field ("libonig (6.9.8-1)"), or NULL. */
static char *source_paren_version(const char *field)
{
	const char *o = field ? strchr(field, '(') : NULL;
	const char *c = o ? strchr(o, ')') : NULL;
	if (!o || !c)
		return NULL;
	o++;
	while (o < c && *o == ' ')
		o++;
	while (c > o && c[-1] == ' ')
		c--;
	return c > o ? pib_strndup(o, (size_t)(c - o)) : NULL;
}

/* dpkg's Source: version of name:arch, from the status entries that carry one. */
static const char *deb_source_version(const struct dpkg_entry *const *with, size_t n, const char *name,
				      const char *arch, char **owned)
{
	*owned = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(with[i]->package, name) && (!with[i]->arch || !strcmp(with[i]->arch, arch)))
			return *owned = source_paren_version(with[i]->source);
	return NULL;
}

int pkgdb_read(const char *root, enum pkgdb_family family, struct pkgdb *ret, struct pib_err *err)
{
	struct dpkg_db dpkg = {0};
	const struct dpkg_entry **with_version = NULL;
	size_t n_with = 0;
	Pool *pool = NULL;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	if (family == PKGDB_DEB) {
		/* first, as a size check (libsolv's reader has none) and for Source:'s version,
		 * which libsolv drops */
		r = dpkg_db_read(root, &dpkg);
		if (r < 0) {
			r = pib_fail(err, r, PIB_ERR_FAILED, "pkgdb.unreadable", "%s/var/lib/dpkg/status: %s",
				     strcmp(root, "/") ? root : "", strerror(-r));
			goto out;
		}
		with_version = calloc(dpkg.n ? dpkg.n : 1, sizeof(*with_version));
		if (!with_version) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < dpkg.n; i++)
			if (dpkg.e[i].source && strchr(dpkg.e[i].source, '('))
				with_version[n_with++] = &dpkg.e[i];
	}
	pool = pool_create();
	if (!pool || pool_setdisttype(pool, family == PKGDB_DEB ? DISTTYPE_DEB : DISTTYPE_RPM) < 0) {
		r = pib_fail(err, -ENOTSUP, PIB_ERR_ENV, "pkgdb.unreadable",
			     "this libsolv cannot switch package semantics");
		goto out;
	}
	pool_set_rootdir(pool, root);
	Repo *sys = repo_create(pool, "@System");
	if (family == PKGDB_DEB ? repo_add_debdb(sys, REPO_USE_ROOTDIR) != 0
				: repo_add_rpmdb(sys, NULL, REPO_USE_ROOTDIR) != 0) {
		const char *why = pool_errstr(pool);
		r = pib_fail(err, -EIO, PIB_ERR_FAILED, "pkgdb.unreadable", "%s of %s: %s",
			     family == PKGDB_DEB ? "dpkg's status" : "the rpm database", root,
			     why && *why && strcmp(why, "no error") ? why : "not found or not readable");
		goto out;
	}
	if ((size_t)sys->nsolvables > MAX_PACKAGES) {
		r = pib_fail(err, -EFBIG, PIB_ERR_FAILED, "pkgdb.unreadable",
			     "the package database of %s lists %d packages, over %u", root,
			     sys->nsolvables, MAX_PACKAGES);
		goto out;
	}
	ret->p = calloc(sys->nsolvables ? (size_t)sys->nsolvables : 1, sizeof(*ret->p));
	if (!ret->p) {
		r = -ENOMEM;
		goto out;
	}
	Id p;
	Solvable *s;
	FOR_REPO_SOLVABLES(sys, p, s) {
		if (family == PKGDB_DEB &&
		    !dpkg_really_installed(solvable_lookup_str(s, SOLVABLE_INSTALLSTATUS)))
			continue; /* config-files, half-installed...: not there */
		struct pkgdb_pkg *k = &ret->p[ret->n++];
		const char *name = pool_id2str(pool, s->name), *evr = pool_id2str(pool, s->evr);
		k->family = family;
		k->name = pib_strdup(name);
		k->version = pib_strdup(evr);
		k->arch = pib_strdup(pool_id2str(pool, s->arch));
		k->source = pib_strdup(lookup_or(s, SOLVABLE_SOURCENAME, name));
		if (family == PKGDB_DEB) {
			char *sv = NULL;
			(void)deb_source_version(with_version, n_with, name, k->arch ? k->arch : "", &sv);
			k->source_version = sv ? sv : pib_strdup(evr);
		} else {
			k->source_version = pib_strdup(lookup_or(s, SOLVABLE_SOURCEEVR, evr));
			const char *lic = solvable_lookup_str(s, SOLVABLE_LICENSE);
			k->license = lic ? pib_strdup(lic) : NULL;
			if (lic && !k->license) {
				r = -ENOMEM;
				goto out;
			}
		}
		if (!k->name || !k->version || !k->arch || !k->source || !k->source_version) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (ret->n)
		qsort(ret->p, ret->n, sizeof(*ret->p), pkg_cmp);
out:
	if (r == -ENOMEM)
		(void)pib_fail(err, r, PIB_ERR_ENV, "pkgdb.unreadable", "out of memory reading the packages of %s", root);
	if (r < 0)
		pkgdb_free(ret);
	if (pool)
		pool_free(pool);
	free(with_version);
	dpkg_db_free(&dpkg);
	return r;
}

/* The first dotted component of a version ("9.3" -> "9"). */
static char *major_of(const char *v)
{
	return pib_strndup(v, strcspn(v, "."));
}

char *pkgdb_osv_ecosystem(const struct osinfo *os)
{
	const char *id = os->id ? os->id : "", *v = os->version_id ? os->version_id : "";
	char *m = NULL, *r = NULL;

	if (!*v && strcmp(id, "opensuse-tumbleweed")) {
		errno = ENOENT;
		return NULL;
	}
	if (!strcmp(id, "debian")) {
		if ((m = major_of(v)))
			r = pib_asprintf("Debian:%s", m);
	} else if (!strcmp(id, "ubuntu")) {
		r = pib_asprintf("Ubuntu:%s", v);
	} else if (!strcmp(id, "almalinux")) {
		if ((m = major_of(v)))
			r = pib_asprintf("AlmaLinux:%s", m);
	} else if (!strcmp(id, "rocky")) {
		if ((m = major_of(v)))
			r = pib_asprintf("Rocky Linux:%s", m);
	} else if (!strcmp(id, "rhel")) {
		if ((m = major_of(v)))
			r = pib_asprintf("Red Hat:enterprise_linux:%s", m);
	} else if (!strcmp(id, "opensuse-leap")) {
		r = pib_asprintf("openSUSE:Leap %s", v);
	} else if (!strcmp(id, "opensuse-tumbleweed")) {
		r = pib_strdup("openSUSE:Tumbleweed");
	} else if (!strcmp(id, "sles")) {
		/* VERSION_ID "15.5" is "15 SP5"; "15" is the first release */
		const char *dot = strchr(v, '.');
		if ((m = major_of(v)))
			r = dot && strcmp(dot + 1, "0") ? pib_asprintf("SUSE:Linux Enterprise Server %s SP%s", m, dot + 1)
							: pib_asprintf("SUSE:Linux Enterprise Server %s", m);
	} else {
		free(m);
		errno = ENOENT;
		return NULL;
	}
	free(m);
	if (!r)
		errno = ENOMEM;
	return r;
}

bool pkgdb_osv_ecosystem_matches(const char *mine, const char *record)
{
	size_t n = strlen(mine);
	return !strncmp(mine, record, n) && (record[n] == 0 || record[n] == ':');
}
