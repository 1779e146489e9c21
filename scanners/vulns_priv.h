/* SPDX-License-Identifier: MIT */
/* What a vulnerability database holds in memory: shared by the feed reader (vulns.c) and its index (vulns_index.c). */
#pragma once

#include "vulns.h"

#include <stdint.h>

enum ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED, EV_LIMIT };

struct ev {
	enum ev_kind kind;
	char *v; /* "0" for introduced: all versions */
};

struct range {
	struct ev *ev;
	size_t n;
};

struct rec {
	char *id, *summary, *modified;
	char **aliases;         /* NULL-terminated, never NULL */
	enum vuln_severity sev; /* of the record: database_specific, severity[] */
	const char *sev_from;   /* one of vuln_sev_froms[] */
	char *sev_text;
	size_t unit;            /* the file (or zip member) it came from, in feed order */
};

struct aff {
	size_t rec;        /* index into db->recs */
	char *name, *ecosystem;
	char **versions;   /* NULL-terminated, or NULL */
	struct range *ranges;
	size_t n_ranges;
	size_t ignored;    /* ranges of another type than ECOSYSTEM (not kept) */
	enum vuln_severity sev; /* of the entry: urgency, database_specific, severity[] */
	const char *sev_from;
	char *sev_text;
	bool sorted;            /* its ranges' events are in version order */
};

/*
 * A database read from a feed owns every string and array of its records and entries; one read
 * from an index (vulns_index.c) borrows its strings from the index's bytes (`blob`) and keeps
 * its arrays in four blocks.
 */
struct vuln_db {
	enum pkgdb_family family;
	struct vuln_cmp *cmp;
	const char *ecosystem;
	char *ecosystem_owned;
	bool keep_all;           /* keep the entries of every ecosystem (to write an index) */
	struct rec *recs;
	size_t n_recs, cap_recs;
	struct aff *affs;
	size_t n_affs, cap_affs;
	struct vuln_feed_info info;
	uint64_t total_bytes;
	size_t unit;             /* the unit being read */
	/* read from an index: */
	char *blob;
	struct range *ix_ranges;
	struct ev *ix_evs;
	char **ix_ptrs;
};

/* The sources of a severity, as struct rec's and struct aff's sev_from point at them (NULL: none). */
extern const char *const vuln_sev_froms[5];

/* Reads an index (vuln_index_write) from fd into db (whose ecosystem and family are set). */
int vuln_index_load(struct vuln_db *db, int fd, const char *path, struct pib_err *err) PIB_MUST_CHECK;
/* Whether the first bytes of a file are an index's. */
bool vuln_index_magic(const unsigned char *head, size_t n);
/* Reads a feed keeping the affected entries of every ecosystem (for vuln_index_write); never an index. */
int vuln_db_load_all(const char *path, struct vuln_db **ret, struct pib_err *err) PIB_MUST_CHECK;
