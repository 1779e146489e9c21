/* SPDX-License-Identifier: MIT */
/* The file scanner interface: one backend per file (clamav.c) behind one small table of hooks. */
#pragma once

#include "util.h"

#include <cjson/cJSON.h>

#define SCAN_DEFAULT_DB "/var/lib/clamav"

/* Limits of one scan; 0 means the engine's default. */
struct scan_limits {
	uint64_t max_filesize;  /* bytes of one file, or one file inside a container */
	uint64_t max_scansize;  /* bytes scanned inside one top-level file or member */
	uint32_t max_recursion; /* nesting of containers */
	uint32_t max_files;     /* files inside one container */
	uint32_t max_scantime;  /* milliseconds per top-level file or member */
};

/* How to open a scanner. Strings are borrowed for the duration of open only. */
struct scan_config {
	const char *db;          /* database directory or file; NULL: SCAN_DEFAULT_DB */
	unsigned jobs;           /* worker threads; 0: the number of CPUs */
	struct scan_limits limits;
	bool heuristics;         /* heuristic alerts (broken executables, encrypted archives, ...) and PUA */
	unsigned max_age_days;   /* a database older than this is refused; 0: no limit */
	uint64_t mem_member_max; /* package members up to this size are scanned from memory (0: 16 MiB) */
};

/* What a detection is. */
enum scan_kind {
	SCAN_KIND_SIGNATURE, /* a signature matched */
	SCAN_KIND_HEURISTIC, /* Heuristics.*, BC.Heuristics.* */
	SCAN_KIND_PUA,       /* PUA.*: potentially unwanted */
};
const char *scan_kind_name(enum scan_kind k);

/* One signature hit inside one scanned object; member is the path inside it ("a.zip!b.exe") or NULL. */
struct scan_hit {
	char *signature;
	char *member;
	enum scan_kind kind;
};

/*
 * A part of the object that was not scanned, or only partly: member NULL means the object
 * itself (or a part the engine did not name). code is a static, stable word for programs
 * ("limit.max_filesize", "encrypted", "error", ...); reason is a sentence for people.
 */
struct scan_gap {
	char *member;
	const char *code;
	char *reason;
};

/* The outcome of scanning one object. Owned by the caller; free with scan_outcome_free. */
struct scan_outcome {
	struct scan_hit *hits;
	size_t n_hits;
	struct scan_gap *gaps;
	size_t n_gaps;
	char *error; /* the scan failed (the object counts as not scanned): why */
};
void scan_outcome_free(struct scan_outcome *o);
int scan_outcome_add_hit(struct scan_outcome *o, const char *signature, const char *member,
			 enum scan_kind kind) PIB_MUST_CHECK;
int scan_outcome_add_gap(struct scan_outcome *o, const char *member, const char *code,
			 const char *reason) PIB_MUST_CHECK;

struct scan_engine;

/*
 * A scanner backend. open loads and compiles its database once; the scan hooks may then be
 * called from many threads at the same time on the same engine. A failure of open is an
 * environment error (scan.db_unusable, scan.db_outdated): never treated as "clean".
 */
struct scanner {
	const char *name;
	int (*open)(const struct scan_config *cfg, struct scan_engine **ret, struct pib_err *err);
	/* Scans an open regular file; name is used in the hit's member chain only below the top. */
	int (*scan_fd)(struct scan_engine *e, int fd, const char *name, struct scan_outcome *out);
	/* Scans a whole object held in memory. */
	int (*scan_mem)(struct scan_engine *e, const void *data, size_t len, const char *name,
			struct scan_outcome *out);
	/* The report's scan.engine and scan.database objects (new, owned by the caller). */
	cJSON *(*engine_json)(const struct scan_engine *e);
	cJSON *(*database_json)(const struct scan_engine *e);
	/* The largest object the engine scans (bytes); a package member above it is not read. */
	uint64_t (*max_filesize)(const struct scan_engine *e);
	void (*close)(struct scan_engine *e);
};

extern const struct scanner scanner_clamav;

/* Parses a size: digits with an optional K, M or G suffix (powers of 1024). */
int scan_parse_size(const char *s, uint64_t *ret) PIB_MUST_CHECK;
/* The number of CPUs this process may run on (at least 1). */
unsigned scan_default_jobs(void);
