/* SPDX-License-Identifier: MIT */
/* Package names, versions and architectures checked against Debian policy and rpm's rules before any use. */
#pragma once

#include "installer.h"

#include <stdbool.h>

/* The longest name, version, release or architecture accepted (bytes). */
#define INST_PKGMETA_MAX 200

/* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ (two characters at least). */
bool inst_deb_name_valid(const char *s);
/*
 * Debian policy 5.6.12: [epoch:]upstream[-revision]. epoch: digits; upstream: starts with a
 * digit, alphanumerics and . + ~ (- only when there is a revision, : only after an epoch);
 * revision: alphanumerics and . + ~, not empty. Never '/', whitespace or a control character.
 */
bool inst_deb_version_valid(const char *s);
/* Lowercase letters, digits and '-', starting with a letter or digit (amd64, all, musl-linux-arm64). */
bool inst_deb_arch_valid(const char *s);

/* rpm's rules (rpmbuild's checks): a letter, digit or '_' first, then alphanumerics and . _ + - % { }; no "..". */
bool inst_rpm_name_valid(const char *s);
/* Version and release: alphanumerics and . _ + ~ ^ % { }, a letter, digit or '_' first; no '-', no "..". */
bool inst_rpm_version_valid(const char *s);
bool inst_rpm_release_valid(const char *s);
/* Letters, digits and '_' (x86_64, noarch, i686, aarch64). */
bool inst_rpm_arch_valid(const char *s);
/* libsolv's rpm evr: [epoch:]version[-release], each part as above. */
bool inst_rpm_evr_valid(const char *s);

/*
 * Reads the control file of every package of c->target (the private copies of c->bundle) with
 * libarchive (ar, then control.tar[.gz|.xz|.zst], then ./control), all sizes bounded, and checks
 * its Package, Version and Architecture. A package whose control cannot be read, or lacks one of
 * them, has one twice or a value that is not valid, is package.invalid; the message names the
 * bundle member and the field, the value escaped.
 */
int inst_deb_check_control(struct inst_ctx *c) PIB_MUST_CHECK;

/*
 * package.invalid when name, version (evr) or arch of a package is not valid for its packaging
 * system (deb: true for Debian, false for rpm); `where` names the package's origin in the
 * message (a bundle member, or a repository index).
 */
int inst_pkgmeta_check(struct pib_err *err, bool deb, const char *where, const char *name,
		       const char *version, const char *arch) PIB_MUST_CHECK;
