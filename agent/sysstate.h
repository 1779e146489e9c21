/* SPDX-License-Identifier: MIT */
/* Mounts and processes of the running system before and after an install: what the install left behind. */
#pragma once

#include "util.h"

#include <cjson/cJSON.h>

/* The mount table (/proc/self/mountinfo) at one moment. */
struct sys_mounts;
int sysstate_mounts(struct sys_mounts **ret) PIB_MUST_CHECK;
void sysstate_mounts_free(struct sys_mounts *m);

/*
 * The mounts of after that were not in before (by mount id) whose mount point is root or
 * under it: a JSON array of {"mount_point" (inside the root), "fstype", "source"} and the
 * mount points inside the root, NULL-terminated, without duplicates (for rootdiff's walk
 * beneath). Both owned by the caller. 0 or -ENOMEM.
 */
int sysstate_mounts_added(const struct sys_mounts *before, const struct sys_mounts *after, const char *root,
			  cJSON **ret_json, char ***ret_paths) PIB_MUST_CHECK;

/* The processes running at one moment (pid and start time, so that a reused pid is new). */
struct sys_procs;
int sysstate_procs(struct sys_procs **ret) PIB_MUST_CHECK;
void sysstate_procs_free(struct sys_procs *p);

/*
 * The processes running now that were not in before, except kernel threads, zombies and this
 * process; for a root other than "/", only those whose root directory is that root. A JSON
 * array of {"pid", "exe" (inside the root, or null), "package" (whose dpkg file list in the
 * root names exe, or null), "cmdline" (arguments separated by spaces, escaped)}, sorted by
 * pid; NULL when out of memory.
 */
cJSON *sysstate_procs_left(const struct sys_procs *before, const char *root);
