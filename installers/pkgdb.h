/* SPDX-License-Identifier: MIT */
/* The installed packages of a root (dpkg's or rpm's database, read by libsolv), and its OSV ecosystem. */
#pragma once

#include "osinfo.h"
#include "util.h"

enum pkgdb_family { PKGDB_DEB, PKGDB_RPM };

/* One installed package. Every string is owned by the pkgdb. */
struct pkgdb_pkg {
	char *name;
	char *version;        /* the evr as the database writes it: "1:2.4.4-1", "2.0-1.el9" */
	char *arch;           /* amd64, all, x86_64, noarch */
	char *source;         /* the source package's name (the binary's own name when none is given) */
	char *source_version; /* deb: the version in Source:'s parentheses, else version;
			       * rpm: the source rpm's evr, else version */
	char *license;        /* rpm's License tag; NULL when the database does not say (deb) */
	enum pkgdb_family family;
};

struct pkgdb {
	enum pkgdb_family family;
	struct pkgdb_pkg *p;
	size_t n;
};

/*
 * The family of a root's package database from its OS family ("debian" deb; "rhel", "suse"
 * rpm). -ENOTSUP for anything else.
 */
int pkgdb_family_of(const char *os_family, enum pkgdb_family *ret) PIB_MUST_CHECK;

/*
 * Reads the packages installed in root (deb: dpkg's status, only packages in an installed
 * state; rpm: the rpm database) with libsolv, sorted by name, arch, version. On failure
 * pkgdb.unreadable (class failed) naming the database, and *ret is empty.
 */
int pkgdb_read(const char *root, enum pkgdb_family family, struct pkgdb *ret, struct pib_err *err)
	PIB_MUST_CHECK;
void pkgdb_free(struct pkgdb *db);

/*
 * OSV's ecosystem of an OS, as osv.dev names its records: "Debian:12", "Ubuntu:22.04",
 * "AlmaLinux:9", "Rocky Linux:9", "Red Hat:enterprise_linux:9", "openSUSE:Leap 15.5",
 * "openSUSE:Tumbleweed", "SUSE:Linux Enterprise Server 15 SP5". NULL (errno ENOENT) for an
 * OS that has no OSV ecosystem (Amazon Linux, Oracle Linux, CentOS, Fedora...), or ENOMEM.
 */
char *pkgdb_osv_ecosystem(const struct osinfo *os);
/*
 * True when a record's ecosystem is mine or a part of it: equal, or mine followed by ":"
 * ("Ubuntu:22.04:LTS", "Red Hat:enterprise_linux:9::appstream").
 */
bool pkgdb_osv_ecosystem_matches(const char *mine, const char *record);
