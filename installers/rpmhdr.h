/* SPDX-License-Identifier: MIT */
/* What an .rpm file says about itself: its lead, signature header and header, read with bounds before any tool sees it. */
#pragma once

#include "util.h"

struct rpm_info {
	char *name, *version, *release, *arch, *os;
	char *epoch;        /* decimal, or NULL when the package has none */
	bool source;        /* a source package (lead type 1, or no SOURCERPM tag) */
	bool signed_;       /* the signature header carries an OpenPGP signature */
	char *signer;       /* the issuer of the first signature: fingerprint (40 hex) or key id (16 hex); NULL when none is named */
	char *payload_compressor; /* "gzip", "xz", "zstd", "bzip2", ... or NULL */
};

/*
 * Reads the lead, the signature header and the header of the .rpm at path. Fails with a
 * message in why (owned by the caller) that says which part is wrong: not an rpm (no lead
 * magic), truncated, a header whose index or store is out of bounds, a required tag missing.
 */
int rpm_info_read(const char *path, struct rpm_info *ret, char **why) PIB_MUST_CHECK;
void rpm_info_free(struct rpm_info *i);

/*
 * May a package of architecture pkg_arch run on a machine of architecture machine, by rpm's
 * own compatibility table (rpmrc's arch_compat: x86_64 takes i686..i386 and athlon, every
 * machine takes noarch)? machine is the kernel's name (x86_64, aarch64, ppc64le, s390x, i686).
 */
bool rpm_arch_compatible(const char *machine, const char *pkg_arch);

/*
 * The fingerprints (40 hex for v4 keys, 64 for v5/v6) of every primary key and subkey in an
 * ASCII-armored OpenPGP public key file, NULL-terminated in *ret. Fails with why when the file
 * holds no armored public key block or no key packet.
 */
int rpm_key_fingerprints(const char *path, char ***ret, char **why) PIB_MUST_CHECK;
