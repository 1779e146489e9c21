/* SPDX-License-Identifier: MIT */
/* The report of one run: steps, verdicts and the predicate JSON of design.md. */
#pragma once

#include "util.h"

#include <cjson/cJSON.h>

#define REPORT_PREDICATE_TYPE "https://pib-agent.dev/report/v1"

struct report_subject {
	char *name;
	char sha256[65];
};

struct report {
	cJSON *pred;  /* the predicate object; the sections below are owned by it */
	cJSON *steps; /* array */
	cJSON *cur;   /* the step under way, or NULL */
	double cur_t0;
	bool any_failed, any_findings, any_skipped;
	struct pib_err first; /* the first error of the run */
	struct report_subject *subjects;
	size_t n_subjects;
};

/* A new report for a run of `command` ("validate", "run", "scan"), phase "final". */
struct report *report_new(const char *command);
void report_free(struct report *r);

/* Steps: begin one, then end it with ok (err NULL or unset) or failed (err set). */
void report_step_begin(struct report *r, const char *name);
void report_step_end(struct report *r, const struct pib_err *err);
/* A step recorded as skipped with its reason. incomplete: it makes the run incomplete. */
void report_step_skip(struct report *r, const char *name, const char *reason, bool incomplete);
/* Extra details of the current (or last) step, e.g. the tool's output; takes ownership. */
void report_step_detail(struct report *r, const char *key, cJSON *value);

/* Sets a top-level predicate key (replacing it); takes ownership of value. */
void report_set(struct report *r, const char *key, cJSON *value);
cJSON *report_get(struct report *r, const char *key);
int report_add_subject(struct report *r, const char *name, const char *sha256) PIB_MUST_CHECK;

/* "succeeded", "findings", "failed" or "incomplete", from the steps so far. */
const char *report_status(const struct report *r);
/* The exit code of design.md for this report (without the spool's 5). */
int report_exit_code(const struct report *r);
/* Sets status and error into the predicate; call once at the end. */
void report_finish(struct report *r);

/* The predicate as JSON text (pretty), owned by the caller. */
char *report_predicate_json(struct report *r);

/*
 * The report of a run in progress as JSON (predicate, subjects, verdicts so far), for the run
 * state that a killed agent continues from; and back. NULL when out of memory or malformed.
 */
cJSON *report_state(const struct report *r);
struct report *report_from_state(const cJSON *state);
