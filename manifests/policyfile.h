/* SPDX-License-Identifier: MIT */
/*
 * The policy file (manifests/policy.schema.json): which image policy checks count, at what
 * severity, from which severity a bundle's finding fails the run, and which findings are
 * allow-listed (each with its reason). The marketplace's default (manifests/default-policy.json)
 * is carried in the binary; `--policy FILE` or a job's inline `policy` replace it whole.
 *
 * The check ids the agent knows are the keys of the default policy's `checks`: an id a policy
 * names that is not among them is an error naming it (tests/unit/test_policyfile.c checks that
 * every id the C sources emit is there).
 *
 * Use (the policy step, `pib-agent policy`):
 *     struct policy_file *pf = NULL;
 *     if (policyfile_load(opts->policy, &pf, &err) < 0)   // NULL: the default
 *             ...;  // err: policy.invalid (class USAGE, exit 3), or agent.oom
 *     char today[11];
 *     policy_today(today);
 *     struct policy_verdict v;
 *     policy_apply(pf, &finding, today, &v);             // one finding, or:
 *     policyfile_apply_all(pf, &findings, today, &verdicts, &n_disabled, &err);
 *     ...
 *     policyfile_free(pf);
 */
#pragma once

#include "policy.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define POLICYFILE_MAX (256u << 10) /* bytes of a policy file */
#define POLICYFILE_MAX_RULES 1000   /* keys of checks */
#define POLICYFILE_MAX_ALLOW 1000   /* entries of allow */

/* One key of `checks`: an id, or a prefix wildcard ("ssh.*"; "*" is every check). */
struct policy_rule {
	char *pattern; /* as written */
	bool prefix;   /* pattern ends with "*": matches ids starting with what is before it */
	int enabled;   /* -1: not said here, else 0 or 1 */
	int severity;  /* -1: not said here, else an enum policy_severity */
};

/* One entry of `allow`. */
struct policy_allow {
	char *id;         /* an exact check id */
	char *path;       /* NULL: any path; else a path or an fnmatch(3) pattern (FNM_PATHNAME) */
	char *reason;     /* never empty */
	char expires[11]; /* "YYYY-MM-DD", the last day it allows; "" when it does not expire */
	size_t index;     /* its place in `allow`, for messages (/allow/INDEX) */
};

struct policy_file {
	char *name;
	const char *source;  /* "default", "file" or "job" */
	char *from;          /* the file's path, the job's source, or "built in" */
	char sha256[65];     /* of its canonical bytes (keys sorted, no white space) */
	enum policy_severity fail_on; /* default high */
	struct policy_rule *rules;
	size_t n_rules;
	struct policy_allow *allow;
	size_t n_allow;
};

/* What a policy says of one finding. */
struct policy_verdict {
	bool enabled;                        /* false: the finding is dropped */
	enum policy_severity severity;       /* the effective severity */
	bool severity_changed;               /* the policy set another than the check's own */
	const struct policy_allow *allowed;  /* the entry that allows it (never an expired one), or NULL */
	const struct policy_allow *expired;  /* when not allowed: an expired entry that matched, or NULL */
};

/*
 * The policy of file, or the built-in default when file is NULL. Errors: policy.invalid (class
 * USAGE: "FILE: /allow/2/reason: must not be empty", the field as a JSON pointer), policy.invalid
 * for an unreadable file too, agent.oom. *ret is set only on success; the caller frees it.
 */
int policyfile_load(const char *file, struct policy_file **ret, struct pib_err *err) PIB_MUST_CHECK;

/*
 * The policy in text (at most POLICYFILE_MAX bytes). source_name names it in messages;
 * source is "default", "file" or "job".
 */
int policyfile_parse(const char *text, size_t len, const char *source_name, const char *source,
		     struct policy_file **ret, struct pib_err *err) PIB_MUST_CHECK;

/*
 * A policy already parsed as JSON, for the job's inline `policy`: messages say
 * "SOURCE_NAME: POINTER/field: ..." (pointer "/policy" for a job). Its source is "job".
 */
int policyfile_from_json(const cJSON *j, const char *source_name, const char *pointer,
			 struct policy_file **ret, struct pib_err *err) PIB_MUST_CHECK;

void policyfile_free(struct policy_file *pf);

/* True when id is a check the agent knows (a key of the default policy's checks; parses the
 * built-in default at each call: not for a loop over findings). */
bool policyfile_known_id(const char *id);

/* Today (UTC) as YYYY-MM-DD, or PIB_POLICY_DATE when it is set to a date (for tests). */
void policy_today(char out[11]);

/*
 * What pf says of finding f at date (YYYY-MM-DD): enabled and severity from the most specific
 * rule that says each (an exact id, then the longest prefix; the check's own when none), the
 * first allow entry whose id is f's, whose path (when it has one) matches f's and which has not
 * expired (date after expires).
 */
void policy_apply(const struct policy_file *pf, const struct policy_finding *f, const char *date,
		  struct policy_verdict *ret);

/*
 * policy_apply on every finding of f: the disabled ones are removed from f (their count in
 * *ret_disabled), the others get their effective severity; *ret_verdicts (the caller frees it)
 * holds one verdict per finding left, in order. 0, or -ENOMEM (agent.oom in err).
 */
int policyfile_apply_all(const struct policy_file *pf, struct policy_findings *f, const char *date,
			 struct policy_verdict **ret_verdicts, size_t *ret_disabled, struct pib_err *err)
	PIB_MUST_CHECK;

/*
 * What the report says of the policy used: {"name", "source", "from", "sha256", "fail_on",
 * "rules", "allow", "allow_expired": [{"id", "path", "expires", "reason"}]} at date. NULL on OOM.
 */
cJSON *policyfile_json(const struct policy_file *pf, const char *date);
