/* SPDX-License-Identifier: MIT */
/* The scan steps of a run (prescan, postscan) and what `pib-agent scan` shares with them. */
#pragma once

#include "pipeline.h"
#include "session.h"

/* The scanner state of one run: engine, session, the root's snapshot. */
struct agent_scan;

/*
 * For `run`: the job's database directory (used when --db is not given: --db wins) and its
 * clamav_db_max_age_days (0: no limit; an older database is scan.db_outdated, exit 4). Call
 * before the prescan; validate needs none of it (its --db and the default apply).
 */
int agent_scan_setup(struct agent_run *run, const char *job_db, unsigned max_age_days);

/*
 * prescan: every package of the target, payload member by member, before anything is
 * installed. Runs inside the step the caller began; errors go to run->err (scan.db_unusable
 * exit 4, scan.malware_found findings, scan.package_unreadable failed).
 */
int agent_scan_prescan(struct agent_run *run);
/* Right before install: snapshots the root, so that postscan finds what maintainer scripts changed. */
void agent_scan_before_install(struct agent_run *run);
/*
 * postscan: every file the transaction installed plus every regular file new or changed in
 * the root since the snapshot; bytes identical to a prescanned member are not scanned again.
 */
int agent_scan_postscan(struct agent_run *run);
void agent_scan_free(struct agent_scan *as);
/* The root's snapshot taken before the install (for the policy step), or NULL (--no-scan). */
const struct rootdiff *agent_scan_snapshot(const struct agent_run *run);

/* The scanner configuration from the command line. */
void agent_scan_config(const struct agent_opts *o, struct scan_config *cfg);

/* Progress on a terminal (stderr) while a session works; nothing when stderr is no terminal. */
struct agent_progress;
struct agent_progress *agent_progress_start(struct scan_session *s, const char *label);
void agent_progress_stop(struct agent_progress *p);
