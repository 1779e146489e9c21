/* SPDX-License-Identifier: MIT */
/* Resolving a bundle's packages with libsolv against the root's database and repositories. */
#pragma once

#include "installer.h"

enum resolve_dist { RESOLVE_DEB, RESOLVE_RPM };

struct resolve_repo {
	char *name;   /* e.g. the apt list file name */
	char *data;   /* the uncompressed index (Packages / primary.xml) */
	size_t len;
	char *path;   /* instead of data: the index's file on this machine, read as a stream
		       * (plain, .gz, .xz, .zst, .bz2: by its suffix) */
	char *base;   /* rpm: the repository's folder as seen inside the root, or NULL; a package of
		       * it gets inst_pkg.path = base/location (a path inside the root) */
};

struct resolve_input {
	enum resolve_dist dist;
	const char *arch;             /* the package system's name: amd64, x86_64 */
	char **foreign_arches;        /* deb multiarch: extra architectures of the root */
	struct resolve_repo *repos;   /* the image's own repositories */
	size_t n_repos;
	/* which installed packages count (deb: "install ok installed" only) */
	bool (*installed_filter)(const char *installstatus);
};

/*
 * Resolves the target's bundle packages (c->target, c->bundle) against the root's installed
 * packages, the bundle and in->repos. On success c->pkgs is the transaction in install order
 * (packages the image has in that version, with the same dependencies, are left out; a same
 * version that differs is a reinstall, marked). When it does not resolve:
 * resolve.unsatisfiable, every problem explained in c->problems and the message.
 * The image's packages are protected: a transaction package that upgrades, downgrades or
 * reinstalls one, obsoletes it, or names it in Replaces (deb) is resolve.image_package, every
 * case in c->problems, unless the target's may_upgrade names the image's package and it is not
 * Essential, Protected or Priority: required (read from dpkg's status); what is allowed is
 * recorded in c->pkgs[].replaced.
 */
int resolve_run(struct inst_ctx *c, const struct resolve_input *in) PIB_MUST_CHECK;

/*
 * Reads one repository index (plain, .gz, .xz, .zst, .bz2, .lz4: libarchive's raw reader)
 * into memory, at most 1 GiB. 0, or -EINVAL (not readable), -EIO, -EFBIG, -ENOMEM.
 */
int resolve_read_index(const char *path, char **ret, size_t *ret_len) PIB_MUST_CHECK;
