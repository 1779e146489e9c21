/* SPDX-License-Identifier: MIT */
/*
 * Image policy findings: what the marketplace's rules say of a root, with evidence.
 * The checks (policy_*.c) each add findings to one list; the policy step later marks each
 * finding's origin (bundle or image) from the pre-install snapshot and applies the policy's
 * severities, allow-list and failing threshold. A finding never holds a secret's value: a key
 * is named by its type, path and fingerprint.
 */
#pragma once

#include "util.h"

#include <stdarg.h>

enum policy_severity {
	POLICY_SEV_INFO,
	POLICY_SEV_LOW,
	POLICY_SEV_MEDIUM,
	POLICY_SEV_HIGH,
	POLICY_SEV_CRITICAL,
};
/* "info", "low", "medium", "high", "critical" */
const char *policy_severity_name(enum policy_severity s);
/* -1 when name is none of them */
int policy_severity_parse(const char *name);

struct policy_finding {
	char *id;          /* stable, dotted: "ssh.password_auth", "secret.aws_access_key" */
	char *title;       /* one line for people */
	enum policy_severity severity;
	char *path;        /* the file as seen inside the root ("/etc/ssh/sshd_config"), or NULL */
	unsigned line;     /* 1-based line of path, 0 when none */
	char *evidence;    /* what was found, one line or a few; never a secret's value */
	char *remediation; /* one sentence */
	/*
	 * Reported only when the install brought it: an inventory finding (every account, enabled
	 * unit, cron job of a root; policy_added.h) is noise for the gold image, so the policy step
	 * drops it when its origin is `image` and keeps it when the origin is bundle or unknown.
	 * policy_add leaves it false; the check that wants it sets it on the finding it just added.
	 */
	bool only_new;
};

struct policy_findings {
	struct policy_finding *v;
	size_t n, cap;
};

/*
 * Adds one finding; every string is copied (path and remediation may be NULL). Returns 0 or
 * -ENOMEM.
 */
int policy_add(struct policy_findings *f, const char *id, enum policy_severity sev, const char *title,
	       const char *path, unsigned line, const char *remediation, const char *evidence_fmt, ...)
	PIB_PRINTF(8, 9) PIB_MUST_CHECK;
void policy_findings_free(struct policy_findings *f);

/*
 * The checks that judge a whole root (sshd, accounts, sudoers, cloud-init, ...), in a fixed
 * order. Each adds its findings to f; a root without what a check looks at adds nothing. A
 * negative return (only for what stops the agent: out of memory) has its error in err; what a
 * check cannot read of the root is a finding of its own or said in evidence, never silence.
 */
int policy_check_root(const char *root, struct policy_findings *f, struct pib_err *err) PIB_MUST_CHECK;

/*
 * os.end_of_life / os.eol_unknown: the root's os-release against manifests/os-eol.json (carried
 * in the binary), judged at today's date (PIB_POLICY_DATE=YYYY-MM-DD sets another, for tests).
 */
int policy_check_os_eol(const char *root, struct policy_findings *f, struct pib_err *err) PIB_MUST_CHECK;

/* cloud.user_data_left: /var/lib/cloud/instances/ID/user-data* left in the image (policy.c). */
int policy_check_cloud(const char *root, struct policy_findings *f, struct pib_err *err) PIB_MUST_CHECK;

/*
 * A finding's identity across two runs of the checks (before and after the install): id,
 * path and evidence, not the line (a line moves when a file is edited above it). NULL on OOM.
 */
char *policy_finding_key(const struct policy_finding *p);
