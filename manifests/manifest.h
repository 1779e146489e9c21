/* SPDX-License-Identifier: MIT */
/* The bundle manifest (pib-agent/bundle/v1): its model and its parser. */
#pragma once

#include "util.h"

#define MF_BUNDLE_SCHEMA "pib-agent/bundle/v1"
#define MF_MANIFEST_NAME "manifest.json"
#define MF_MANIFEST_MAX (1u << 20) /* bytes */

struct mf_os {
	char *id;
	char **versions; /* NULL-terminated; exact ("12") or ranges (">=22.04,<25") */
};

struct mf_package {
	char *file; /* normalised member name */
	char sha256[65];
};

struct mf_property {
	char *name, *value;
};

struct mf_check {
	char *name;
	char **run;  /* argv, NULL-terminated */
	int timeout; /* seconds, 60 when not given */
	char *user;  /* a user name of the image's /etc/passwd; NULL: root */
};

struct mf_target {
	char *name;
	struct mf_os *os;
	size_t n_os;
	char **arch; /* NULL-terminated: x86_64, aarch64 */
	char *installer;
	struct mf_package *packages;
	size_t n_packages;
	char **keys; /* NULL-terminated member names */
	bool allow_unsigned;
	struct mf_property *properties;
	size_t n_properties;
	struct mf_check *checks;
	size_t n_checks;
	/* NULL-terminated names of the image's packages this target may upgrade, downgrade or
	 * take files from (never Essential, Protected or Priority: required ones); NULL: none */
	char **may_upgrade;
};

struct mf_manifest {
	char *product_name, *product_version, *seller;
	struct mf_target *targets;
	size_t n_targets;
};

/*
 * Parses and validates a manifest. `file` names the input in error messages
 * ("manifest.json: targets[1].packages[0].sha256: expected 64 hex digits"); every error is
 * manifest.invalid. On success *ret owns a new manifest (free with mf_manifest_free).
 */
int mf_manifest_parse(const char *file, const char *json, size_t len, struct mf_manifest **ret,
		      struct pib_err *err) PIB_MUST_CHECK;
void mf_manifest_free(struct mf_manifest *m);

/*
 * Normalises an archive member name: strips "./" and duplicate or trailing slashes. Fails
 * (NULL) for empty names, absolute names, and any ".." component.
 */
char *mf_normalise_member(const char *name, bool *ret_absolute, bool *ret_dotdot);

/* The OS family an os-release id belongs to ("debian", "rhel", "suse", "windows") or NULL. */
const char *mf_family_of_id(const char *id);
/* True when installer ("deb", "rpm", "msi") serves that family. */
bool mf_installer_fits_family(const char *installer, const char *family);
