/* SPDX-License-Identifier: MIT */
/* The job document (pib-agent/job/v1) and the EC2 user-data that carries it: model and parsers. */
#pragma once

#include "util.h"

struct policy_file;

#define JOB_SCHEMA "pib-agent/job/v1"
#define JOB_MAX (64u << 10)          /* bytes of a job document */
#define JOB_USER_DATA_MAX (16u << 10) /* EC2's limit on user-data, before base64 */
/* The MIME type of the user-data part that holds the job (a cloud-init multipart message). */
#define JOB_MIME_TYPE "application/vnd.pib-agent.job+json"

struct job {
	char *build_id;          /* [A-Za-z0-9._-]{1,128}; NULL when missing or invalid */
	char *bundle_url;        /* https:// or file:// */
	char bundle_sha256[65];
	char *report_url;        /* https:// (file:// for local use); NULL when missing or invalid */
	char *report_method;     /* "POST" (default) or "PUT" */
	char *sbom_url;          /* report.sbom_url: where the SBOM goes; NULL: report_url when POST, nowhere when PUT */
	char *key_pem;           /* signing_key.pem: kept in memory only, wiped by job_free */
	char *key_path;          /* signing_key.path */
	char *clamav_db;         /* NULL: none given */
	char *ca_bundle;         /* NULL: none given */
	char *vulns;             /* OSV records on the instance (a file or a folder); NULL: none given */
	char *vulns_url;         /* or vulns.url: one feed file fetched like the bundle (https:// or file://); NULL: none */
	char vulns_sha256[65];   /* vulns.sha256, lowercase */
	uint64_t bundle_bytes;   /* limits.bundle_bytes; default 4 GiB */
	unsigned db_max_age_days;    /* limits.clamav_db_max_age_days; 0: no limit */
	unsigned vulns_max_age_days; /* limits.vulns_max_age_days; 0: no limit */
	bool vulns_max_age_given;    /* else the agent's default (7 days) */
	unsigned install_seconds;    /* timeouts.install_seconds; default 3600 */
	unsigned run_seconds;        /* timeouts.run_seconds; default 7200 */
	unsigned deliver_seconds;    /* timeouts.deliver_seconds; default 600 */
	struct policy_file *policy;  /* the inline policy (policyfile.h), or NULL: none given */
};

/*
 * Parses and validates a job document with the manifest's discipline: unknown or duplicate
 * keys are errors, every error names the field ("job.json: bundle.sha256: expected 64 hex
 * digits"); `source` names the input in messages. Every error is job.invalid (class USAGE),
 * except a bad inline `policy`: policy.invalid ("job.json: /policy/allow/0/reason: ...").
 * On success returns 0 and *ret owns the job. On failure returns a negative errno and, when
 * the text was a JSON object, *ret still gets a job holding what could be read safely
 * (build_id, report_url/report_method, the key, ca_bundle) so that the caller can deliver a failed
 * report; otherwise *ret is NULL.
 */
int job_parse(const char *source, const char *text, size_t len, struct job **ret, struct pib_err *err);
void job_free(struct job *j);
/* A build id: [A-Za-z0-9._-]{1,128}, not "." or ".." (it names files: state, spool). */
bool job_build_id_valid(const char *s);

/*
 * The job document inside EC2 user-data: the user-data itself when it is a JSON object, or
 * the part of type JOB_MIME_TYPE of a MIME multipart message (cloud-init's format; nested
 * multiparts walked, base64 and quoted-printable transfer encodings decoded, other parts
 * ignored); gzip-compressed user-data is unpacked first (cloud-init accepts it too). At most
 * JOB_USER_DATA_MAX bytes in, JOB_MAX out. Errors: job.not_found (no job part, or two),
 * job.invalid (a malformed message). *ret is a new NUL-terminated copy.
 */
int job_from_user_data(const char *data, size_t len, char **ret, size_t *ret_len, struct pib_err *err);
