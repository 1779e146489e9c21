/* SPDX-License-Identifier: MIT */
/* A snapshot of a root's regular files (inode, size, mtime, ctime), and what changed since: for postscan. */
#pragma once

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct rootdiff;

/* Directories nested deeper than this under the root are not walked (a skip, limit.max_depth). */
#define ROOTDIFF_MAX_DEPTH 4096

/*
 * Records every regular file under root. The walk goes by directory descriptors (openat,
 * names relative to their directory: no PATH_MAX limit), never follows a symlink, and does
 * not enter a mount point of a filesystem that holds nothing of the image (proc, sysfs,
 * devpts, cgroup, tmpfs, devtmpfs, ...: decided by the filesystem's type, never by name).
 * What it cannot read here is read again by the diff, which reports it. A root that cannot be
 * opened is scan.root_unreadable.
 */
int rootdiff_snapshot(const char *root, struct rootdiff **ret, struct pib_err *err) PIB_MUST_CHECK;

/* rootdiff_snapshot_ex's flags. */
enum {
	/*
	 * Also each regular file's SHA-256 (files up to ROOTDIFF_DIGEST_CAP) and a copy of each text
	 * file under /etc (no NUL, valid UTF-8, up to ROOTDIFF_TEXT_CAP; ROOTDIFF_TEXT_TOTAL for all
	 * of them): what the install changed in the image can then be said file by file (imagechange.c).
	 */
	ROOTDIFF_CONTENTS = 1,
};
#define ROOTDIFF_DIGEST_CAP (1u << 20)
#define ROOTDIFF_TEXT_CAP (256u << 10)
#define ROOTDIFF_TEXT_TOTAL (64u << 20)

/* rootdiff_snapshot with flags. */
int rootdiff_snapshot_ex(const char *root, unsigned flags, struct rootdiff **ret, struct pib_err *err) PIB_MUST_CHECK;

/* One file as the snapshot recorded it; the pointers live as long as the snapshot. */
struct rootdiff_file {
	const char *path; /* inside the root: "/etc/x" */
	uint64_t dev, ino, size;
	uint32_t mode, uid, gid;
	bool has_sha256; /* ROOTDIFF_CONTENTS, and the file could be read whole */
	unsigned char sha256[32];
	const char *text; /* the copy of an /etc text file, NUL-terminated, or NULL */
	size_t text_len;
};

/* The file recorded at path (ret may be NULL): false when there is none. */
bool rootdiff_get(const struct rootdiff *d, const char *path, struct rootdiff_file *ret);
/* True when path was recorded with this same inode, size, mtime and ctime. */
bool rootdiff_same(const struct rootdiff *d, const char *path, const struct stat *st);
/* Calls fn on every file recorded (in no order); a negative return stops and is returned. */
int rootdiff_each(const struct rootdiff *d, int (*fn)(void *ctx, const struct rootdiff_file *f), void *ctx);
/* The flags the snapshot was taken with (a snapshot loaded from a v1 file: 0). */
unsigned rootdiff_flags(const struct rootdiff *d);
/* Files whose digest was taken. */
size_t rootdiff_digests(const struct rootdiff *d);
/* No NUL and valid UTF-8 (no overlong forms, no surrogates). */
bool rootdiff_is_text(const char *s, size_t n);

/* Where the diff sends what it finds. */
struct rootdiff_sink {
	void *ctx;
	/*
	 * A regular file new or changed (another inode, size, mtime or ctime) since the snapshot:
	 * fd is open read-only on it and belongs to the sink; path is its path inside the root
	 * ("/etc/x"), of any length. A negative return stops the walk with that error.
	 */
	int (*file)(void *ctx, int fd, const char *path, const struct stat *st);
	/*
	 * What the walk could not see: code "error" (a directory that cannot be opened or read, a
	 * file that cannot be opened, what lies beneath a mount that cannot be reached) or
	 * "limit.max_depth"; reason is a sentence.
	 */
	void (*skip)(void *ctx, const char *path, const char *code, const char *reason);
	/* A mount point not entered (may be NULL): fstype names the filesystem ("proc", "tmpfs", ...). */
	void (*not_walked)(void *ctx, const char *path, const char *fstype);
};

/*
 * Walks the root again and sends every regular file new or changed since the snapshot to the
 * sink. beneath (NULL-terminated, may be NULL) lists mount points inside the root (paths
 * inside it) that appeared since the snapshot: what lies under each on the filesystem beneath
 * is walked too, through a private clone of that filesystem's mount (open_tree), so a mount
 * cannot hide a file. Returns 0, or the sink's error, or agent.oom / scan.root_unreadable.
 */
int rootdiff_walk_changes(const struct rootdiff *d, char *const *beneath, const struct rootdiff_sink *sink,
			  struct pib_err *err) PIB_MUST_CHECK;

/*
 * The regular files new or changed since the snapshot, as paths inside the root, sorted, in a
 * NULL-terminated vector owned by the caller (pib_strv_free); what could not be walked is
 * dropped: a convenience for tests and logs, postscan uses rootdiff_walk_changes.
 */
int rootdiff_changed(const struct rootdiff *d, char ***ret, struct pib_err *err) PIB_MUST_CHECK;

/* Files recorded. */
size_t rootdiff_files(const struct rootdiff *d);

/*
 * The snapshot written to file (durably, 0600, format v2 with the modes, owners, digests and
 * copies; v1 files of an older agent are still read, without them) and read back, for a run that continues after
 * the agent was killed during the install: the diff then still starts from the root as it was
 * before the first attempt. A file that is not one is -EBADMSG. Device numbers that changed
 * (another boot) make files look changed: more is scanned, never less.
 */
int rootdiff_save(const struct rootdiff *d, const char *file) PIB_MUST_CHECK;
int rootdiff_load(const char *root, const char *file, struct rootdiff **ret) PIB_MUST_CHECK;

void rootdiff_free(struct rootdiff *d);

/* The directory at path inside the root ("" or "/" for the root itself; rootfd borrowed), no link
 * followed on the way, not even in a parent: an fd, or -errno. */
int rootdiff_open_dir(int rootfd, const char *path);

/* The name of the filesystem open on fd when it holds nothing of an image (see above), else NULL. */
const char *rootdiff_fs_not_walked(int fd);
