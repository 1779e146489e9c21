/* SPDX-License-Identifier: MIT */
/* The SBOM: a CycloneDX 1.5 JSON document of a transaction and of an image's own packages, signed beside the report. */
#pragma once

#include "osinfo.h"
#include "report.h"
#include "sign.h"
#include "util.h"

#include <cjson/cJSON.h>

/* in-toto's predicate type for a CycloneDX BOM (the attestation framework's vetted predicates). */
#define SBOM_PREDICATE_TYPE SIGN_SBOM_PREDICATE_TYPE
/* A Debian copyright file read at most, for its License: fields. */
#define SBOM_MAX_COPYRIGHT ((size_t)1 << 20)

/* One package as the SBOM lists it; every string is the caller's. */
struct sbom_pkg {
	const char *name, *version, *arch; /* version as the database writes it: "1:2.4-1", "2.0-1.el9" */
	const char *sha256;                /* the package file's SHA-256, or NULL (not known) */
	const char *source;                /* transaction: "bundle" or "image" (the image's repositories); NULL: the image's own */
	const char *repo;                  /* the repository it came from, or NULL */
	const char *license;               /* as the package states it (rpm's License tag); NULL: Debian's copyright file is read */
	char *const *files;                /* transaction: the paths it installed, inside the root (NULL-terminated), or NULL */
};

/* What the document describes. */
struct sbom_in {
	const char *root;           /* installed files and copyright files are read inside it */
	const struct osinfo *os;    /* purl namespace (ID) and the distro qualifier (ID-VERSION_ID) */
	bool rpm;                   /* purl type rpm (epoch as a qualifier), else deb */
	const char *subject_type;   /* metadata.component: "application" (a bundle), "operating-system" (a root) */
	const char *subject_name, *subject_version, *subject_sha256; /* version and sha256 may be NULL */
	const struct sbom_pkg *txn; /* the transaction (pib:origin bundle) */
	size_t n_txn;
	const struct sbom_pkg *image; /* the image's own packages (pib:origin image) */
	size_t n_image;
};

/* What a document holds, for the report's `sbom` object and the log. */
struct sbom_counts {
	size_t transaction, image, files, licensed;
};

/*
 * The purl of a package: pkg:deb/ID/NAME@VERSION?arch=A&distro=ID-VERSION_ID, or
 * pkg:rpm/ID/NAME@VERSION-RELEASE?arch=A&distro=ID-VERSION_ID&epoch=N (the epoch taken out
 * of the version), each part percent-encoded as the purl specification says (alphanumerics,
 * ".-_~" and ":" kept; "+" is %2B), qualifiers sorted by key. NULL when out of memory.
 */
char *sbom_purl(bool rpm, const char *os_id, const char *os_version, const char *name, const char *version,
		const char *arch);

/*
 * Builds the CycloneDX 1.5 document (*ret, the caller's): metadata (timestamp, tool, the
 * subject), one component of type library per package (purl, hashes, licences, properties
 * pib:origin, pib:source, pib:repository) with the files it installed as nested components
 * of type file (SHA-256 of each regular file as it is in the root; a symbolic link with its
 * target), and dependencies: the subject on the transaction. Files are opened inside the root
 * without following a last link. Errors: agent.oom.
 */
int sbom_build(const struct sbom_in *in, cJSON **ret, struct sbom_counts *counts, struct pib_err *e) PIB_MUST_CHECK;

/*
 * The in-toto Statement (subjects, predicateType SBOM_PREDICATE_TYPE, the document as
 * predicate) in its own DSSE envelope, signed with k (NULL: unsigned): *ret the envelope
 * text, payload_sha256 the SHA-256 of the signed payload bytes, which the report records.
 */
int sbom_envelope(const cJSON *bom, const struct report_subject *subjects, size_t n_subjects,
		  const struct sign_key *k, char **ret, char payload_sha256[65], struct pib_err *e) PIB_MUST_CHECK;

/* The report's `sbom` object for an envelope made from this document. NULL when out of memory. */
cJSON *sbom_summary(const cJSON *bom, const struct sbom_counts *c, const char *payload_sha256, size_t envelope_len,
		    const char *file);
