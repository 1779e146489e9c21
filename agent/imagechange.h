/* SPDX-License-Identifier: MIT */
/*
 * What the install changed in the customer's image: every file of the image (recorded by the
 * root's snapshot before the install, rootdiff with ROOTDIFF_CONTENTS) that the install
 * modified, replaced or removed, or whose mode or owner it changed, with its SHA-256, mode and
 * owner before and after and, for a text file under /etc, a unified diff. Files the installed
 * packages ship are theirs, not the image's; files the package manager always rewrites (the
 * table in imagechange.c) are not changes. A change to the image's hardening (sshd, sudoers,
 * PAM, login.defs, sysctl, auditd, limits, nsswitch, /etc/hosts), a new file there included, is
 * a policy finding hardening.*.
 */
#pragma once

#include "policy.h"
#include "rootdiff.h"
#include "util.h"

#include <cjson/cJSON.h>

#define IMAGECHANGE_DIFF_MAX (64u << 10) /* bytes of one diff's text, then cut */
#define IMAGECHANGE_DIFF_CONTEXT 3
#define IMAGECHANGE_DIFF_MAX_EDITS 4000 /* beyond: the changed middle as one hunk, all removed and all added */

struct imagechange_state {
	bool present;
	const char *type; /* "file", "symlink", "directory", "other" */
	bool has_sha256;
	char sha256[65];
	uint32_t mode, uid, gid;
	uint64_t size;
};

struct imagechange_item {
	char *path;         /* inside the root */
	const char *change; /* "modified", "replaced", "removed", "mode", "owner", "added" (hardening places only) */
	struct imagechange_state before, after;
	char *diff;         /* unified diff, or NULL (diff_note says why) */
	bool diff_cut;
	const char *diff_note;
	const char *area; /* hardening area ("sshd", "pam", ...) or NULL */
};

struct imagechange {
	struct imagechange_item *v;
	size_t n, cap;
	size_t excluded_own;   /* changed files of the installed packages */
	size_t excluded_pm;    /* changed files the package manager always rewrites */
	size_t not_read;       /* files that could not be looked at after the install */
	size_t checked;        /* files of the image looked at */
};

/*
 * Compares the root now with the snapshot taken before the install. own: the files the
 * installed packages ship (paths inside the root as their package database says, NULL-terminated,
 * may be NULL). Returns 0 or -ENOMEM (err set); what cannot be read is counted in not_read.
 */
int imagechange_compute(const char *root, const struct rootdiff *before, char *const *own, struct imagechange *ic,
			struct pib_err *err) PIB_MUST_CHECK;
/* The report's image_changes array (NULL when out of memory). */
cJSON *imagechange_json(const struct imagechange *ic);
/* A finding hardening.AREA for each change in a hardening place. 0 or -ENOMEM. */
int imagechange_findings(const struct imagechange *ic, struct policy_findings *f) PIB_MUST_CHECK;
void imagechange_free(struct imagechange *ic);

/* The hardening area of a path inside the root ("sshd", "sudoers", "pam", ...), or NULL. */
const char *imagechange_area(const char *path);
/* The package manager's own bookkeeping (the exclusions table), which is not an image change. */
bool imagechange_pm_owned(const char *path);

/*
 * A unified diff (3 lines of context) of text a into text b, labelled "--- la" and "+++ lb";
 * at most max bytes of text (then *cut, ending at a whole line). "" when they are equal.
 * Returns 0 or -ENOMEM.
 */
int imagechange_diff(const char *a, size_t alen, const char *b, size_t blen, const char *la, const char *lb,
		     size_t max, char **ret, bool *cut) PIB_MUST_CHECK;

struct agent_run;
/*
 * The policy step's part (policy_step.c calls it after the checks): the image changes of the
 * run's snapshot into the report's image_changes and step details, their hardening findings
 * added to f (they are the bundle's).
 */
void agent_image_changes(struct agent_run *run, struct policy_findings *f);
