/* SPDX-License-Identifier: MIT */
/* The state of one build under STATE_DIR/builds/BUILD_ID: how far it got, written atomically after each step. */
#pragma once

#include "util.h"

#include <cjson/cJSON.h>

/* How far a build got; a rerun continues from there. In order. */
enum run_stage {
	RS_NEW = 0,
	RS_FETCHED,      /* the bundle is at DIR/bundle, its digest checked */
	RS_PRE_SPOOLED,  /* the pre-install report is in the spool; `report` and `transaction` saved */
	RS_PRE_ACCEPTED, /* the orchestrator accepted it (2xx): seller code may run */
	RS_INSTALLING,   /* the install was started: a rerun recovers the package tool and installs again */
	RS_FINAL_SPOOLED,/* the final report is in the spool */
	RS_DONE,         /* the final report was accepted */
};

struct runstate {
	char *state_dir;     /* STATE_DIR */
	char *dir;           /* STATE_DIR/builds/BUILD_ID (0700) */
	char *build_id;
	char job_sha256[65]; /* of the job that started the build */
	enum run_stage stage;
	cJSON *report;       /* report_state() saved with the stage, or NULL */
	cJSON *transaction;  /* the resolved transaction saved at RS_PRE_SPOOLED, or NULL */
	int lock_fd;         /* flock on DIR/lock: one agent per build */
};

const char *runstate_stage_name(enum run_stage s);

/*
 * Opens (creating STATE_DIR, STATE_DIR/builds and STATE_DIR/builds/BUILD_ID, 0700, refusing symlinks) the state of a
 * build and takes its lock (run.busy when another agent holds it). A state written by another
 * job (another job_sha256) is run.state_mismatch. Process groups recorded by a killed earlier
 * run that are still alive are killed first. Errors: run.state (cannot create or read),
 * run.busy, run.state_mismatch.
 */
int runstate_open(const char *state_dir, const char *build_id, const char *job_sha256,
		  struct runstate **ret, struct pib_err *err) PIB_MUST_CHECK;
/* Records stage (with report, transaction: copies, either may be NULL to keep the saved one); durable. */
int runstate_save(struct runstate *s, enum run_stage stage, const cJSON *report, const cJSON *transaction,
		  struct pib_err *err) PIB_MUST_CHECK;
/* Records each child's process group as it starts and forgets it once reaped (pib_child_hook). */
void runstate_track_children(struct runstate *s);
void runstate_free(struct runstate *s);

/* STATE_DIR/done/BUILD_ID exists: the build's final report was accepted and it was cleaned up. */
bool runstate_done(const char *state_dir, const char *build_id, char **ret_text);
/* Writes STATE_DIR/done/BUILD_ID (when, the final report's digest) durably. */
int runstate_mark_done(const char *state_dir, const char *build_id, const char *text);
