/* SPDX-License-Identifier: MIT */
/*
 * The end-of-life table of the OS versions targets may name (manifests/os-eol.json: each entry
 * its vendor's dates and the source page) and the check of a root's OS against it:
 *   os.end_of_life   high: the OS is past its end of life on the date given
 *   os.eol_unknown   info: the table does not know the OS version
 * Dates are "YYYY-MM-DD" strings (UTC): the caller gives the date to judge at, so tests never
 * depend on today.
 */
#pragma once

#include "osinfo.h"
#include "policy.h"

#include <stdbool.h>
#include <stddef.h>

struct oseol_entry {
	char *id, *version, **aliases; /* os-release ID; VERSION_ID or its leading part; other names */
	char *name;
	char full_support_end[11];     /* "" when the vendor has no such phase */
	char standard_end[11];
	char extended_end[11];         /* "" when none */
	char *extended_name;           /* NULL when none */
	bool extended_paid;
	char *source;                  /* the vendor's source page, from the table's sources */
	char *unsure;                  /* what of the entry is not certain, or NULL */
};

struct oseol_table {
	char compiled[11];
	struct oseol_entry *v;
	size_t n;
};

/*
 * Parses the table (text of os-eol.json, source names it in messages). 0, or -EINVAL (error code
 * agent.io: the table is the agent's own data) or -ENOMEM.
 */
int oseol_parse(const char *text, size_t len, const char *source, struct oseol_table *ret, struct pib_err *err)
	PIB_MUST_CHECK;
/* Reads and parses the table at path. */
int oseol_load(const char *path, struct oseol_table *ret, struct pib_err *err) PIB_MUST_CHECK;
void oseol_free(struct oseol_table *t);

enum oseol_status {
	OSEOL_UNKNOWN,   /* not in the table, or no valid date given */
	OSEOL_SUPPORTED,
	OSEOL_EOL,
};

struct oseol_answer {
	enum oseol_status status;
	const struct oseol_entry *e; /* NULL when unknown */
	const char *end;             /* the date that counts: the last supported day */
	const char *basis;           /* what that date ends: "standard support" or e.g. "Debian LTS" */
};

/*
 * Looks id and version up (an exact version or alias first, else the longest entry version
 * that is a leading part of it: "9" for "9.4", never "1" for "12") and judges them at date
 * (YYYY-MM-DD): end of life when date is after the end that counts, which is standard_end, or
 * extended_end when that extension is free or with_paid_extended.
 */
enum oseol_status oseol_lookup(const struct oseol_table *t, const char *id, const char *version, const char *date,
			       bool with_paid_extended, struct oseol_answer *ret);

/*
 * Adds os.end_of_life (high: os-release's PRETTY_NAME, the end date and its basis, the source
 * page) or os.eol_unknown (info) for the OS of a root at date; nothing when it is supported.
 * Returns 0 or -ENOMEM.
 */
int oseol_check(const struct oseol_table *t, const struct osinfo *os, const char *date,
		struct policy_findings *f) PIB_MUST_CHECK;
