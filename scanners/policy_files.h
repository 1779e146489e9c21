/* SPDX-License-Identifier: MIT */
/*
 * File modes an image must not carry, and a walker of a whole root that runs them and the secret
 * rules (policy_secrets.h) in one pass.
 *
 * Rules (id: severity), judged from one file's struct stat (symbolic links are never judged):
 *   file.setuid            a regular file with the set-user-ID bit: high
 *   file.setgid            a regular file with the set-group-ID bit: medium
 *   file.world_writable    a regular file or a block device anyone may write, or a character
 *                          device but for the few every system opens to all (/dev/null, ...): high
 *   file.world_writable_dir a directory anyone may write without the sticky bit: high
 * Evidence: the mode (octal), the owner (uid:gid, numbers: the root's own passwd is not read
 * here) and the path.
 */
#pragma once

#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Judges one file: path as seen inside the root, st from lstat. Returns the findings added or -ENOMEM. */
int policy_file_check(const char *path, const struct stat *st, struct policy_findings *f) PIB_MUST_CHECK;

struct policy_walk_opts {
	unsigned max_depth;        /* directories deeper than this are not entered (0: 64) */
	bool secrets;              /* read regular files for the secret rules */
	uint64_t secret_size_cap;  /* files larger than this are not read (0: 64 MiB) */
	size_t secret_max_bytes;   /* of a file read, at most this many bytes are scanned (0: 8 MiB) */
	unsigned threads;          /* threads reading files for secrets (0: the CPUs this process may
				      use, at most 64; 1: the walking thread reads them itself) */
};

struct policy_walk_stats {
	uint64_t files, dirs, other;     /* entries judged */
	uint64_t secret_files;           /* regular files read for secrets */
	uint64_t secret_cut;             /* of those, scanned only in part (secret_max_bytes) */
	uint64_t secret_bytes;           /* bytes of them read and scanned */
	uint64_t too_large;              /* regular files over secret_size_cap, not read */
	uint64_t not_entered;            /* directories on another file system or past max_depth */
	uint64_t errors;                 /* entries that could not be opened or read */
};

/*
 * Walks root (a directory on the host) without following any symbolic link and without crossing
 * into another file system (like find -xdev: a mount point is judged, not entered), judging every
 * entry with policy_file_check and, with o->secrets, scanning regular files for secrets. Paths in
 * the findings are as seen inside root ("/etc/shadow"). An entry that cannot be read is counted
 * in stats->errors and the walk goes on. With o->threads above 1, the calling thread walks and
 * hands the regular files to that many reader threads through a bounded queue; each keeps its own
 * findings. Whatever the thread count and timing, the walk's findings are appended to f sorted
 * by path, then id, line and evidence, and the stats are the same. Returns 0, or a negative
 * errno when root cannot be opened (err says why), memory runs out or a thread cannot start.
 */
int policy_walk_root(const char *root, const struct policy_walk_opts *o, struct policy_findings *f,
		     struct policy_walk_stats *stats, struct pib_err *err) PIB_MUST_CHECK;
