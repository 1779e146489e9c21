/* SPDX-License-Identifier: MIT */
/* The OS of a root: os-release (ID, ID_LIKE, VERSION_ID), family and architecture. */
#pragma once

#include "util.h"

struct osinfo {
	char *id;          /* "debian" */
	char **id_like;    /* NULL-terminated words of ID_LIKE */
	char *version_id;  /* "12" */
	char *pretty_name;
	char *version_codename;
	char *arch;        /* "x86_64", "aarch64" (ELF machine of ROOT/bin/sh, else the host's) */
	const char *family; /* "debian", "rhel", "suse", "windows" or NULL */
	bool overridden;   /* from --os */
	char *source;      /* the file read, or "--os" */
};

/*
 * Reads ROOT/etc/os-release (or ROOT/usr/lib/os-release) and the root's architecture. With
 * override ("ID:VERSION", from --os) the file is not needed; the arch still comes from root.
 */
int os_detect(const char *root, const char *override, struct osinfo *ret, struct pib_err *err)
	PIB_MUST_CHECK;
void os_free(struct osinfo *os);

/* Compares dotted versions numerically ("22.04" < "22.10" < "24.04"; "8" < "8.9" < "9"). */
int os_version_cmp(const char *a, const char *b);
/* True when version matches spec: exact ("12") or comma-separated ranges (">=22.04,<25"). */
bool os_version_matches(const char *version, const char *spec);
/* Debian's name of an arch ("x86_64" -> "amd64", "aarch64" -> "arm64"). */
const char *os_deb_arch(const char *arch);
