/* SPDX-License-Identifier: MIT */
/* Package names, versions and architectures checked against Debian policy and rpm's rules before any use. */
#pragma once

#include "installer.h"
#include "pkgname.h"

#include <stdbool.h>

/*
 * Reads the control file of every package of c->target (the private copies of c->bundle) with
 * libarchive (ar, then control.tar[.gz|.xz|.zst], then ./control), all sizes bounded, and checks
 * its Package, Version and Architecture. A package whose control cannot be read, or lacks one of
 * them, has one twice or a value that is not valid, is package.invalid; the message names the
 * bundle member and the field, the value escaped.
 */
int inst_deb_check_control(struct inst_ctx *c) PIB_MUST_CHECK;

/*
 * The control file of the .deb at path (ar, then its one control.tar[.gz|.xz|.zst], then its one
 * ./control, a regular file), all sizes bounded: 32 MiB of control.tar, 1 MiB of control, 64 MiB
 * read past before it, 10000 entries. On success *ret (owned by the caller, NUL-terminated;
 * *ret_len bytes without the NUL, which may hold NUL bytes of the file). On failure one message
 * in err naming `member` (the bundle member the file is the copy of): package.invalid when it
 * cannot be read or is not such a .deb, agent.oom.
 */
int inst_deb_read_control(const char *path, const char *member, char **ret, size_t *ret_len,
			  struct pib_err *err) PIB_MUST_CHECK;

/*
 * package.invalid when name, version (evr) or arch of a package is not valid for its packaging
 * system (deb: true for Debian, false for rpm); `where` names the package's origin in the
 * message (a bundle member, or a repository index).
 */
int inst_pkgmeta_check(struct pib_err *err, bool deb, const char *where, const char *name,
		       const char *version, const char *arch) PIB_MUST_CHECK;
