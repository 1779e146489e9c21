/* SPDX-License-Identifier: MIT */
/* The pipeline of one run: each step checked, recorded and reported. */
#pragma once

#include "bundle.h"
#include "installer.h"
#include "osinfo.h"
#include "report.h"
#include "cli.h"

/* Everything one run holds; steps read and fill it in order. */
struct agent_run {
	const struct agent_opts *opts;
	const char *root;     /* where os-release and the package database are read */
	bool may_install;     /* --root given (validate) or run */
	struct report *report;
	struct pib_err err;   /* the error of the step under way */
	struct bundle *bundle;
	struct osinfo os;
	const struct mf_target *target;
	const struct installer *inst;
	struct inst_ctx ictx;
	struct agent_scan *scan; /* the scanner's state (scan_steps.c), or NULL */
	struct sign_key *key;    /* loaded before any step runs; freed by agent_finish_run */
	struct pib_err key_err;  /* why the key given cannot be used */
	bool key_loaded;
};

/*
 * Loads --key before the pipeline, so that an unusable key stops the run before any work
 * (the run then ends in an unsigned report whose report step failed, exit 4). Returns false
 * when the key was given and cannot be used.
 */
bool agent_load_key(struct agent_run *run);

/* Writes the report (to opts->report, or stdout) and prints the summary on stderr; returns the exit code. */
int agent_finish_run(struct agent_run *run);
