/* SPDX-License-Identifier: MIT */
/* Offline vulnerability matching: OSV records from a file or a folder, matched against packages by the OS's own version rules. */
#pragma once

#include "pkgdb.h"
#include "util.h"

#include <stdint.h>
#include <time.h>

/* Severities, lowest first; VULN_SEV_UNKNOWN when a record gives none that can be read. */
enum vuln_severity {
	VULN_SEV_UNKNOWN = -1,
	VULN_SEV_INFO = 0,
	VULN_SEV_LOW,
	VULN_SEV_MEDIUM,
	VULN_SEV_HIGH,
	VULN_SEV_CRITICAL,
};

/* "info" ... "critical"; NULL for VULN_SEV_UNKNOWN. */
const char *vuln_severity_name(enum vuln_severity s);
/* Parses info, low, medium, high or critical (as --vulns-fail-on takes them). -EINVAL otherwise. */
int vuln_severity_parse(const char *s, enum vuln_severity *ret) PIB_MUST_CHECK;
/*
 * A severity word of a feed: Debian's urgency (unimportant: info; low, medium, high with or
 * without Debian's "**" mark), Red Hat's and GitHub's (moderate: medium, important: high),
 * critical, negligible and none (info). Anything else ("not yet assigned", "end-of-life") is
 * VULN_SEV_UNKNOWN.
 */
enum vuln_severity vuln_severity_of_word(const char *w);
/*
 * The base score of a CVSS v3.0/v3.1 vector ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
 * is 9.8) by the specification's formulas; -1 when the vector is not a complete v3 one.
 */
double vuln_cvss3_score(const char *vector);
/* A CVSS score's rating: 0 info, 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10 critical. */
enum vuln_severity vuln_severity_of_score(double score);

/* Compares two versions by the family's rules (dpkg's or rpm's, libsolv): <0, 0, >0. */
struct vuln_cmp;
struct vuln_cmp *vuln_cmp_new(enum pkgdb_family family);
int vuln_cmp(struct vuln_cmp *c, const char *a, const char *b);
void vuln_cmp_free(struct vuln_cmp *c);

/* Bounds on what a feed may hold (every one of them is an error when passed, naming the file). */
#define VULN_MAX_FILE_BYTES (256u << 20)     /* one file */
#define VULN_MAX_TOTAL_BYTES (4ull << 30)    /* all files together */
#define VULN_MAX_FILES 2000000u              /* *.json files in a folder */
#define VULN_MAX_RECORDS 4000000u            /* records in all */
#define VULN_MAX_ITEMS 100000u               /* affected, ranges, events, versions, aliases of one record */
#define VULN_MAX_STRING 4096u                /* bytes of an id, a name, a version */

struct vuln_db;

/* What a feed held, for the report. */
struct vuln_feed_info {
	size_t files, records, withdrawn;
	size_t records_mine;      /* records with an affected package of the ecosystem asked for */
	size_t ranges_ignored;    /* of those: ranges of a type other than ECOSYSTEM (GIT, SEMVER) */
	time_t newest_modified;   /* the newest `modified` of all records; 0 when there is none */
	char newest_modified_text[40];
	char **ecosystems;        /* the distinct ecosystems named (at most 64 kept), NULL-terminated */
	bool ecosystems_cut;      /* more than 64 */
	char *index_source;       /* read from an index (vulns-index): the feed it was made from; else NULL */
	char index_built[40];     /* and when it was made (RFC 3339, UTC) */
};

/*
 * Reads OSV records from path: one file (a record, or a JSON array of records) or every
 * regular *.json file directly in a folder, in name order. Only records with an affected
 * package of `ecosystem` (pkgdb_osv_ecosystem_matches; NULL: none, the feed is only checked)
 * are kept, their ranges' events sorted by family's version rules; every record is checked.
 * Errors (class usage): vulns.unreadable (the path, a file), vulns.invalid (not JSON, or a
 * field of the wrong shape: "FILE: /3/affected/0/ranges/0/events/1: ..." with the JSON
 * pointer of the field; a bound passed). *ret owns the result.
 */
int vuln_db_load(const char *path, const char *ecosystem, enum pkgdb_family family, struct vuln_db **ret,
		 struct pib_err *err) PIB_MUST_CHECK;
const struct vuln_feed_info *vuln_db_info(const struct vuln_db *db);

/*
 * The index of a feed (pib-agent vulns-index): the records and affected entries of every
 * ecosystem, already checked, in a compact binary form (strings once each, entries in name
 * order) that vuln_db_load reads instead of the feed, giving the same database: made once per
 * feed off the instance, as vulnerability scanners ship their databases. Reads feed as
 * vuln_db_load does (the same errors) and writes out atomically (mode 0644). An index read back
 * is checked again field by field: a damaged or hostile one is vulns.invalid naming the field.
 */
struct vuln_index_stats {
	size_t files, records, records_kept, entries, strings;
	uint64_t bytes;
};
int vuln_index_write(const char *feed, const char *out, struct vuln_index_stats *st, struct pib_err *err)
	PIB_MUST_CHECK;
void vuln_db_free(struct vuln_db *db);

/* A package to match: the names and versions are borrowed. */
struct vuln_pkg {
	const char *name, *version, *arch;
	const char *source, *source_version; /* deb: what Debian's and Ubuntu's records name */
	bool bundle;                         /* the transaction brought or upgraded it */
};

struct vuln_hit {
	const char *id;        /* borrowed from the db */
	char *const *aliases;  /* NULL-terminated, borrowed from the db */
	const char *summary;   /* or NULL; borrowed */
	const char *modified;  /* borrowed */
	const char *ecosystem; /* the affected entry's, borrowed */
	const char *record_name; /* the package name the record gives (deb: the source) */
	size_t pkg;            /* index into the packages matched */
	const char *installed; /* the version compared (deb: the source version), borrowed from the package */
	const char *fixed;     /* the first fixed version above it in the matching range, or NULL; borrowed */
	enum vuln_severity severity;
	const char *severity_from; /* "urgency", "database_specific", "cvss_v3", "ubuntu" or NULL */
	char *severity_text;   /* the feed's own word or vector, owned (NULL when none) */
	const char *why;       /* "range" or "versions" */
};

struct vuln_hits {
	struct vuln_hit *v;
	size_t n;
};

/*
 * Matches pkgs against db: deb packages by their source name and source version (Debian's and
 * Ubuntu's records name source packages), rpm packages by their own name and evr; ECOSYSTEM
 * ranges (introduced, fixed, last_affected, limit) and `versions` lists, compared by db's
 * family's rules. One hit per record and package; sorted: bundle first, then severity (highest
 * first), id, package. 0 or -ENOMEM.
 */
int vuln_match(struct vuln_db *db, const struct vuln_pkg *pkgs, size_t n, struct vuln_hits *ret) PIB_MUST_CHECK;
void vuln_hits_free(struct vuln_hits *h);
