/* SPDX-License-Identifier: MIT */
/*
 * The policy step: the image policy checks (scanners/policy.c) on the root after the install,
 * each finding marked with its origin. The same checks run just before the install; a finding
 * that was already there (same id, file and evidence) is the gold image's (`image`), one that
 * is new is the bundle's (`bundle`). Only bundle findings at or above the failing threshold
 * make the run's status `findings`: a seller is never blamed for the customer's image. The run's
 * policy (manifests/policyfile.h: --policy, the job's, or the default) drops disabled checks, sets
 * severities and the threshold, and allow-lists findings (status `allowed`, with the reason).
 */
#include "imagechange.h"
#include "log.h"
#include "pipeline.h"
#include "policy_step.h"
#include "policy.h"
#include "policy_files.h"
#include "policy_msi.h"
#include "policyfile.h"
#include "policy_secrets.h"
#include "report.h"
#include "rootdiff.h"
#include "scan_steps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_SECRET_SIZE_CAP (64u << 20) /* a changed file larger than this is not read for secrets */
#define POLICY_SECRET_MAX_BYTES (8u << 20) /* of a file read, at most this much is scanned */

#define POLICY_FAIL_ON POLICY_SEV_HIGH /* without a policy (none loaded) */

struct agent_policy {
	char **before; /* the keys of the findings before the install (NULL-terminated), or NULL */
	bool before_known;
	char *before_why; /* why before is not known */
};

static void policy_state_free(struct agent_policy *p)
{
	if (!p)
		return;
	pib_strv_free(p->before);
	free(p->before_why);
	free(p);
}

void agent_policy_free(struct agent_run *run)
{
	policy_state_free(run->policy);
	run->policy = NULL;
}

/* The keys saved beside the root's snapshot, for a run that continues after a kill. */
static char *keys_file(const struct agent_run *run)
{
	return run->snapshot_file ? pib_asprintf("%s.policy", run->snapshot_file) : NULL;
}

static int keys_save(const char *file, char *const *keys)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && keys && keys[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(keys[i]));
	char *text = a ? cJSON_PrintUnformatted(a) : NULL;
	cJSON_Delete(a);
	int r = text ? pib_write_file(file, text, strlen(text), 0600) : -ENOMEM;
	free(text);
	return r;
}

static int keys_load(const char *file, char ***ret)
{
	char *text = NULL;
	size_t len;
	int r = pib_read_file(file, 64u << 20, &text, &len);
	if (r < 0)
		return r;
	cJSON *a = cJSON_ParseWithLength(text, len), *it;
	free(text);
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		return -EBADMSG;
	}
	char **v = calloc(1, sizeof(*v));
	r = v ? 0 : -ENOMEM;
	cJSON_ArrayForEach(it, a)
	{
		if (r == 0 && (!cJSON_IsString(it) || pib_strv_push(&v, it->valuestring) < 0))
			r = cJSON_IsString(it) ? -ENOMEM : -EBADMSG;
	}
	cJSON_Delete(a);
	if (r < 0) {
		pib_strv_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

/* An msi target: its Windows checks are judged from the MSIs' tables, not from a root. */
static bool is_msi(const struct agent_run *run)
{
	return run->target && !strcmp(run->target->installer, "msi");
}

/* The Windows checks (policy_msi.c) on each MSI of the target, read in a child process. */
static int check_msis(struct agent_run *run, struct policy_findings *f)
{
	const struct mf_target *t = run->target;

	for (size_t i = 0; i < t->n_packages; i++) {
		const struct bundle_member *m = bundle_find(run->bundle, t->packages[i].file);
		struct msi_tables tb;
		int r;
		if (!m)
			continue; /* verify refused it already */
		if ((r = msi_tables_read(m->path, t->packages[i].file, &tb, &run->err)) < 0)
			return r;
		r = policy_check_msi_tables(&tb, t->packages[i].file, f, &run->err);
		msi_tables_free(&tb);
		if (r < 0)
			return r;
	}
	return 0;
}

void agent_policy_before(struct agent_run *run)
{
	struct policy_findings f = {0};
	struct pib_err e = {0};
	char *file = keys_file(run);
	struct agent_policy *p = calloc(1, sizeof(*p));

	if (!p) {
		free(file);
		return;
	}
	agent_policy_free(run);
	run->policy = p;
	if (is_msi(run)) { /* the MSIs' own checks: nothing of a root to compare with */
		p->before = calloc(1, sizeof(*p->before));
		p->before_known = p->before != NULL;
		free(file);
		return;
	}
	/* a rerun after a kill during the install: the image as it was before the first attempt */
	if (file && keys_load(file, &p->before) == 0) {
		p->before_known = true;
		free(file);
		return;
	}
	if (policy_check_root(run->root, &f, &e) < 0) {
		p->before_why = pib_asprintf("the checks before the install failed: %s", e.msg);
		pib_err_clear(&e);
	} else {
		p->before = calloc(1, sizeof(*p->before));
		p->before_known = p->before != NULL;
		for (size_t i = 0; p->before_known && i < f.n; i++) {
			char *k = policy_finding_key(&f.v[i]);
			if (!k || pib_strv_push(&p->before, k) < 0)
				p->before_known = false;
			free(k);
		}
		if (!p->before_known)
			p->before_why = pib_strdup("out of memory");
		if (p->before_known && file && keys_save(file, p->before) < 0)
			agent_warn("cannot save the policy findings before the install to %s", file);
	}
	policy_findings_free(&f);
	free(file);
}

static bool was_before(const struct agent_policy *p, const char *key)
{
	for (size_t i = 0; p->before && p->before[i]; i++)
		if (!strcmp(p->before[i], key))
			return true;
	return false;
}

cJSON *agent_policy_finding_json(const struct policy_finding *v, const char *origin, const char *status)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "id", v->id);
	cJSON_AddStringToObject(j, "title", v->title);
	cJSON_AddStringToObject(j, "severity", policy_severity_name(v->severity));
	cJSON_AddStringToObject(j, "origin", origin);
	cJSON_AddStringToObject(j, "status", status);
	if (v->path)
		cJSON_AddStringToObject(j, "path", v->path);
	else
		cJSON_AddNullToObject(j, "path");
	if (v->line)
		cJSON_AddNumberToObject(j, "line", v->line);
	cJSON_AddStringToObject(j, "evidence", v->evidence);
	cJSON_AddStringToObject(j, "message", v->evidence); /* what show prints beside the id */
	if (v->remediation)
		cJSON_AddStringToObject(j, "remediation", v->remediation);
	return j;
}

/* What the policy said of a finding, beside it: the check's own severity when the policy set
 * another, the reason it is allowed, or the allow-list entry that expired. */
void agent_policy_verdict_json(cJSON *j, const struct policy_verdict *pv, enum policy_severity check_sev)
{
	if (pv->severity_changed)
		cJSON_AddStringToObject(j, "check_severity", policy_severity_name(check_sev));
	if (pv->allowed) {
		cJSON_AddStringToObject(j, "allow_reason", pv->allowed->reason);
		/* show prints the message: the reason beside the evidence */
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "evidence");
		char *m = pib_asprintf("%s (allowed: %s)", cJSON_IsString(ev) ? ev->valuestring : "", pv->allowed->reason);
		if (m)
			cJSON_ReplaceItemInObjectCaseSensitive(j, "message", cJSON_CreateString(m));
		free(m);
	}
	if (pv->expired)
		cJSON_AddStringToObject(j, "allow_expired", pv->expired->expires);
}

/*
 * The file rules (setuid, setgid, world-writable) and the secret rules on one file the install
 * made or changed (path inside the root). What cannot be looked at is counted in *skipped.
 */
static int judge_changed_file(const char *root, const char *path, struct policy_findings *f, size_t *skipped,
			      size_t *cut)
{
	char *host = NULL;
	struct stat st, fst;
	int r, fd;

	if ((r = pib_path_in_root(root, path, false, &host)) < 0)
		return r == -ENOMEM ? r : ((*skipped)++, 0);
	if (lstat(host, &st) < 0) {
		free(host);
		(*skipped)++;
		return 0;
	}
	if ((r = policy_file_check(path, &st, f)) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > POLICY_SECRET_SIZE_CAP) {
		free(host);
		if (r == 0 && S_ISREG(st.st_mode))
			(*skipped)++; /* too large to read */
		return r;
	}
	fd = open(host, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	free(host);
	if (fd < 0 || fstat(fd, &fst) < 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) {
		if (fd >= 0)
			close(fd);
		(*skipped)++;
		return 0;
	}
	bool was_cut = false;
	r = policy_secrets_fd(fd, path, POLICY_SECRET_MAX_BYTES, f, &was_cut);
	close(fd);
	*cut += was_cut;
	return r < 0 ? r : 0;
}

/* What the install made or changed, judged file by file: every finding is the bundle's. */
static void judge_changes(struct agent_run *run, struct policy_findings *f)
{
	const struct rootdiff *snap = agent_scan_snapshot(run);
	struct pib_err e = {0};
	char **changed = NULL;
	size_t skipped = 0, cut = 0, n = 0;

	if (!snap) {
		report_step_detail(run->report, "files_not_judged",
				   cJSON_CreateString("no snapshot of the root before the install (--no-scan): the "
						      "files the install made were not judged for modes and secrets"));
		return;
	}
	if (rootdiff_changed(snap, &changed, &e) < 0) {
		report_step_detail(run->report, "files_not_judged", cJSON_CreateString(e.msg));
		pib_err_clear(&e);
		return;
	}
	for (; changed[n]; n++)
		if (judge_changed_file(run->root, changed[n], f, &skipped, &cut) == -ENOMEM) {
			pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			break;
		}
	pib_strv_free(changed);
	report_step_detail(run->report, "files_judged", cJSON_CreateNumber((double)n));
	report_step_detail(run->report, "files_not_read", cJSON_CreateNumber((double)skipped));
	report_step_detail(run->report, "files_read_in_part", cJSON_CreateNumber((double)cut));
}

bool agent_step_policy(struct agent_run *run)
{
	struct policy_findings f = {0};
	struct agent_policy *p = run->policy;
	size_t n_violations = 0, n_bundle = 0, n_disabled = 0, n_allowed = 0, n_dropped = 0;
	const struct policy_finding *first = NULL;
	const struct policy_file *pf = run->policy_file;
	enum policy_severity fail_on = pf ? pf->fail_on : POLICY_FAIL_ON;
	char today[11];

	report_step_begin(run->report, "policy");
	size_t n_image_checks = 0;
	if (is_msi(run)) {
		/* a Wine prefix is no Linux root: each MSI judged by its tables, every finding the bundle's */
		report_step_detail(run->report, "checked",
				   cJSON_CreateString("the Windows checks of each MSI's tables (services, Run keys, custom actions as LocalSystem, files outside the product's folders)"));
		if (check_msis(run, &f) < 0) {
			policy_findings_free(&f);
			return !agent_step_end(run);
		}
	} else {
		if (policy_check_root(run->root, &f, &run->err) < 0) {
			policy_findings_free(&f);
			return !agent_step_end(run);
		}
		n_image_checks = f.n;
		judge_changes(run, &f);
		agent_image_changes(run, &f); /* hardening.*: bundle findings too */
	}
	bool known = p && p->before_known;
	cJSON *arr = cJSON_CreateArray();
	policy_today(today);
	for (size_t i = 0; arr && i < f.n; i++) {
		struct policy_finding *v = &f.v[i];
		struct policy_verdict pv;
		policy_apply(pf, v, today, &pv);
		if (!pv.enabled) {
			n_disabled++;
			continue;
		}
		enum policy_severity check_sev = v->severity;
		v->severity = pv.severity;
		char *key = policy_finding_key(v);
		/* run: what the agent's own cleanup removes after the final report (the job's user-data) */
		if (v->path && run->cleanup_removes && run->cleanup_removes(run, v->path)) {
			char *ev = pib_asprintf("%s; the agent's cleanup removes it once this report is delivered "
						"(it carried this build's job)", v->evidence);
			if (ev) {
				free(f.v[i].evidence);
				f.v[i].evidence = ev;
				f.v[i].severity = POLICY_SEV_INFO;
			}
		}
		/* without the image's findings before the install, none can be put on the seller; a
		   finding of a file the install made or changed is the bundle's */
		const char *origin = i >= n_image_checks ? "bundle"
				     : !known			? "unknown"
				     : key && was_before(p, key) ? "image"
								 : "bundle";
		bool violation = !pv.allowed && !strcmp(origin, "bundle") && v->severity >= fail_on;
		free(key);
		/* an inventory finding (only_new: every account, unit, cron job) of the image is noise */
		if (v->only_new && !strcmp(origin, "image")) {
			n_dropped++;
			continue;
		}
		n_bundle += !strcmp(origin, "bundle");
		n_allowed += pv.allowed != NULL;
		if (violation && n_violations++ == 0)
			first = v;
		cJSON *j = agent_policy_finding_json(v, origin, pv.allowed ? "allowed" : violation ? "violation" : "reported");
		if (j) {
			agent_policy_verdict_json(j, &pv, check_sev);
			cJSON_AddItemToArray(arr, j);
		}
		agent_log("policy: %s %s [%s, %s]%s%s", v->id, v->path ? v->path : "", policy_severity_name(v->severity),
			  origin, violation ? " VIOLATION" : "", pv.allowed ? " allowed" : "");
	}
	if (!arr) {
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	} else {
		report_set(run->report, "policy", arr);
		if (pf)
			report_step_detail(run->report, "policy", policyfile_json(pf, today));
		report_step_detail(run->report, "fail_on", cJSON_CreateString(policy_severity_name(fail_on)));
		report_step_detail(run->report, "findings", cJSON_CreateNumber((double)(f.n - n_disabled - n_dropped)));
		report_step_detail(run->report, "disabled", cJSON_CreateNumber((double)n_disabled));
		report_step_detail(run->report, "allowed", cJSON_CreateNumber((double)n_allowed));
		report_step_detail(run->report, "image_inventory_not_shown", cJSON_CreateNumber((double)n_dropped));
		report_step_detail(run->report, "from_bundle", cJSON_CreateNumber((double)n_bundle));
		if (!known)
			report_step_detail(run->report, "origin_unknown",
					   cJSON_CreateString(p && p->before_why ? p->before_why
							      : "the checks did not run before the install"));
	}
	if (first && !run->err.set)
		pib_fail(&run->err, -EPERM, PIB_ERR_FINDINGS, "policy.violation",
			 "%s: %s (%s%s%s; %zu finding%s the bundle brought at or above %s, see policy[])", first->id,
			 first->title, policy_severity_name(first->severity), first->path ? ", " : "",
			 first->path ? first->path : "", n_violations, n_violations == 1 ? "" : "s",
			 policy_severity_name(fail_on));
	policy_findings_free(&f);
	return !agent_step_end(run);
}
