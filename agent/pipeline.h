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
	bool key_given;           /* a key came from elsewhere than --key (run: the job) */
	unsigned run_seconds;     /* run: timeouts.run_seconds, for the message of run.timeout */
	cJSON *ec2;               /* run: host.ec2, the instance identity document, or NULL */
	const char *snapshot_file;/* run: where the root's snapshot before install is kept for a rerun */
	bool installed;           /* the install step ran and succeeded: the seller's checks may run */
	struct agent_policy *policy; /* the image's policy findings before the install (policy_step.c) */
	char *sbom_json;          /* the SBOM's envelope once agent_step_sbom made it (cmd_sbom.c) */
	/*
	 * run: true when the agent's own cleanup removes this path (inside the root) once the final
	 * report is delivered (cloud-init's copies of the user-data that carried the job), or NULL.
	 */
	bool (*cleanup_removes)(const struct agent_run *run, const char *path);
	struct policy_file *policy_file; /* the policy judged by (--policy, the job's, or the default); owned */
	struct agent_vulns *vulns;   /* the vulnerability feed given, read (vulns_step.c), or NULL */
};

/*
 * Loads --key before the pipeline, so that an unusable key stops the run before any work
 * (the run then ends in an unsigned report whose report step failed, exit 4). Returns false
 * when the key was given and cannot be used.
 */
bool agent_load_key(struct agent_run *run);

/*
 * The policy of the run, before any step: --policy FILE, else job_policy (taken over; NULL: none),
 * else the built-in default. Returns false with the error (policy.invalid, exit 3) in err.
 */
bool agent_load_policy(struct agent_run *run, struct policy_file **job_policy, struct pib_err *err);

/*
 * Ends the run's report: the report step, status and error, signed with the key (or unsigned,
 * said on stderr). *ret_json gets the envelope (NULL when it cannot be made). Returns the exit code.
 */
int agent_sign_run(struct agent_run *run, char **ret_json);
/* agent_sign_run, then writes the report (to opts->report, or stdout) and prints the summary on stderr. */
int agent_finish_run(struct agent_run *run);
void agent_run_free(struct agent_run *run);

/*
 * The steps shared by validate and run, in order; each records itself in run->report and
 * returns false when it failed (the run then goes to its report).
 */
/* Ends the step under way with run->err (or the interruption that stopped it); true when it failed. */
bool agent_step_end(struct agent_run *run);
bool agent_step_open(struct agent_run *run, const char *bundle_path); /* the bundle, the OS, the target */
void agent_ictx_init(struct agent_run *run, double install_timeout);  /* after open */
bool agent_step_verify(struct agent_run *run);
bool agent_step_prescan(struct agent_run *run); /* skipped with --no-scan */
bool agent_step_resolve(struct agent_run *run);
/* install, then postscan (also after a failed install that ran); false when either failed */
bool agent_step_install(struct agent_run *run);
/*
 * The image policy (policy_step.c): agent_policy_before runs the checks on the root just
 * before the install (agent_step_install calls it), agent_step_policy after postscan, marking
 * each finding's origin; false when the bundle brought a finding at or above the threshold.
 */
void agent_policy_before(struct agent_run *run);
bool agent_step_policy(struct agent_run *run);
void agent_policy_free(struct agent_run *run);
/*
 * The seller's checks (checks.c), after install and postscan: each in the root, contained, as
 * its user, no network; skipped when nothing was installed. A failed one is a finding.
 */
void agent_step_checks(struct agent_run *run);
/*
 * Vulnerabilities (vulns_step.c). agent_vulns_options checks --vulns-fail-on and --vulns-max-age
 * (0, or exit 3 said on stderr). agent_vulns_load reads the feed (--vulns wins over path, the
 * job's; neither: nothing to do) after open and before anything is installed; false when it
 * cannot be read (a failed vulns step, vulns.invalid or vulns.unreadable). agent_step_vulns
 * matches it against the root's packages and the transaction's; false when the bundle brought a
 * vulnerability at or above --vulns-fail-on (vulns.found).
 */
int agent_vulns_options(const struct agent_opts *o);
bool agent_vulns_load(struct agent_run *run, const char *path, unsigned job_max_age, bool job_max_age_given);
bool agent_step_vulns(struct agent_run *run);
void agent_vulns_free(struct agent_run *run);
/* The report's host: the OS of the root (after open). */
cJSON *agent_host_json(const struct agent_run *run);
/*
 * The SBOM (cmd_sbom.c): the transaction so far and the root's other packages, signed with the
 * run's key in its own envelope (run->sbom_json), bound to the report by its `sbom` object;
 * written to file when not NULL. false when it could not be made.
 */
bool agent_step_sbom(struct agent_run *run, const char *file);
/* The resolve step's `transaction`: name, version, arch, source of each package, in order. */
cJSON *agent_transaction_json(const struct inst_ctx *c);
