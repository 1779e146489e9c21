/* SPDX-License-Identifier: MIT */
/* A snapshot of a root's regular files (inode, size, mtime, ctime), and what changed since: for postscan. */
#pragma once

#include "util.h"

struct rootdiff;

/*
 * Records every regular file under root (symlinks not followed; /proc, /sys, /dev and other
 * kernel pseudo filesystems mounted inside it are not entered). Directories that cannot be
 * read are counted, not fatal; a root that cannot be opened is scan.root_unreadable.
 */
int rootdiff_snapshot(const char *root, struct rootdiff **ret, struct pib_err *err) PIB_MUST_CHECK;

/*
 * The regular files under the snapshot's root that are new or changed (another inode, size,
 * mtime or ctime) since the snapshot, as paths inside the root ("/etc/x"), sorted. *ret is a
 * NULL-terminated vector owned by the caller (pib_strv_free).
 */
int rootdiff_changed(const struct rootdiff *d, char ***ret, struct pib_err *err) PIB_MUST_CHECK;

/* Files recorded, and directories that could not be read. */
size_t rootdiff_files(const struct rootdiff *d);
size_t rootdiff_unreadable(const struct rootdiff *d);

void rootdiff_free(struct rootdiff *d);
