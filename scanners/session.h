/* SPDX-License-Identifier: MIT */
/* A scan session: one shared engine, N worker threads, a bounded queue of files and package members, and the results. */
#pragma once

#include "scanner.h"

struct scan_session;

enum scan_flags {
	SCAN_F_PACKAGES = 1 << 0, /* a .deb or .rpm (by its first bytes) is scanned by its payload */
	SCAN_F_DEDUP = 1 << 1,    /* skipped when its bytes equal a member recorded by SCAN_F_RECORD */
	SCAN_F_RECORD = 1 << 2,   /* members scanned clean and whole are remembered (size, SHA-256) */
};

/* One detection as the report lists it. */
struct scan_detection {
	char *path;      /* the file as scanned: argument, bundle member, or path inside the root */
	char *member;    /* the path inside it ("usr/bin/x", "a.zip!b.exe", an MSI's "[ProgramFiles64Folder]Acme/a.exe"), or NULL */
	char *cabinet;   /* an MSI's member: its embedded cabinet and File key ("acme.cab!AcmeExe"), or NULL */
	char *package;   /* the package it belongs to, or NULL */
	char *signature;
	const char *phase;
	enum scan_kind kind;
};

/*
 * A session scanning with engine e (borrowed: close it after freeing the session) on
 * cfg->jobs worker threads (0: the number of CPUs). Work is queued by the functions below
 * from one producer thread; results accumulate until scan_session_free.
 */
int scan_session_new(const struct scanner *sc, struct scan_engine *e, const struct scan_config *cfg,
		     struct scan_session **ret, struct pib_err *err) PIB_MUST_CHECK;
void scan_session_free(struct scan_session *s);

/* The phase that work queued from now on belongs to: a static string ("prescan", "postscan", "scan"). */
void scan_session_phase(struct scan_session *s, const char *phase);

/* Queues one file: host is opened (never through a final symlink); path is how the report names it. */
int scan_session_file(struct scan_session *s, const char *host, const char *path, const char *package,
		      unsigned flags) PIB_MUST_CHECK;
/* Queues one file already open (fd, read-only, taken by the session); path is how the report names it. */
int scan_session_file_fd(struct scan_session *s, int fd, const char *path, const char *package,
			 unsigned flags) PIB_MUST_CHECK;
/* Walks a directory (symlinks not followed, /proc-like filesystems not entered) and queues its files. */
int scan_session_tree(struct scan_session *s, const char *host, const char *path, unsigned flags) PIB_MUST_CHECK;
/*
 * A package file: its payload is read here and its members are scanned by the workers (a
 * file that is no .deb or .rpm is queued whole). A payload that cannot be read completely
 * returns scan.package_unreadable in err (nothing is recorded for it: the caller decides).
 */
int scan_session_package(struct scan_session *s, const char *host, const char *path, unsigned flags,
			 struct pib_err *err) PIB_MUST_CHECK;
/* Records something that was not scanned (e.g. an argument that does not exist). */
void scan_session_skip(struct scan_session *s, const char *path, const char *member, const char *code,
		       const char *reason);
/*
 * After scan_session_wait: remembers a whole file (size, SHA-256 hex) as scanned clean for
 * SCAN_F_DEDUP when nothing was detected or skipped under path. Returns whether it did.
 */
bool scan_session_remember_clean(struct scan_session *s, const char *path, uint64_t size,
				 const char *sha256_hex);
/* Waits until everything queued is scanned. */
void scan_session_wait(struct scan_session *s);

/* Progress so far (any thread): files and bytes scanned, or skipped as identical. */
void scan_session_progress(const struct scan_session *s, uint64_t *ret_files, uint64_t *ret_bytes);

/* Results (after scan_session_wait): detections sorted by phase, path, member, signature. */
size_t scan_session_n_detections(struct scan_session *s);
const struct scan_detection *scan_session_detection(struct scan_session *s, size_t i);
size_t scan_session_n_skipped(struct scan_session *s);
/* Of those, files that could not be read whole (codes error, unreadable, changed), also past
 * the ones the report lists: a scan that has any is not clean. */
size_t scan_session_n_unread(struct scan_session *s);
/* The report's scan section: engine, database, totals, detections[], skipped[], phases (new object). */
cJSON *scan_session_json(struct scan_session *s);

/* True when the directory open on fd is on a kernel pseudo filesystem (proc, sysfs, devpts, ...). */
bool scan_is_pseudo_fs(int fd);
