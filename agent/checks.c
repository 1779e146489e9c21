/* SPDX-License-Identifier: MIT */
/*
 * The seller's checks (a target's `checks`): each command runs inside the installed root, as
 * the user it names (root by default), with its argv as written (no shell made by the agent),
 * stdin closed, no network (a new network namespace: only a down loopback), its timeout on
 * the whole PID namespace it runs in (everything it started dies with it), and the end of its
 * output kept. A non-zero exit, a timeout or a command that cannot start is a finding.
 */
#include "contain.h"
#include "log.h"
#include "pipeline.h"
#include "policy_accounts.h"
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_OUTPUT_MAX (64 * 1024) /* bytes of a check's output kept in the report: the end */

struct check_user {
	uid_t uid;
	gid_t gid;
	char *home;
};

/*
 * Finds name in ROOT/etc/passwd with the policy checks' reader (scanners/policy_accounts.c: resolved
 * inside the root, bounded). 0, -ENOENT (no such user), -EIO (passwd cannot be read), -ENOMEM.
 */
static int find_user(const char *root, const char *name, struct check_user *u)
{
	struct policy_findings unread = {0};
	struct policy_user *users = NULL;
	size_t n = 0;
	int r = policy_users_read(root, &unread, &users, &n);

	if (r == 0) {
		r = -ENOENT;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(users[i].name, name)) {
				u->uid = (uid_t)users[i].uid;
				u->gid = (gid_t)users[i].gid;
				u->home = pib_strdup(users[i].home && users[i].home[0] == '/' ? users[i].home : "/");
				r = u->home ? 0 : -ENOMEM;
				break;
			}
		/* passwd unreadable (a policy.unread about it): not "no such user" */
		for (size_t i = 0; r == -ENOENT && i < unread.n; i++)
			if (unread.v[i].path && !strcmp(unread.v[i].path, "/etc/passwd"))
				r = -EIO;
	}
	policy_users_free(users, n);
	policy_findings_free(&unread);
	return r;
}

/* The output as report text: invalid UTF-8, NULs and control characters escaped (\xNN). */
static char *clean_output(const struct pib_buf *b)
{
	struct pib_buf o = {0};
	size_t at = 0;

	while (b->data && at < b->len) {
		size_t n = strnlen(b->data + at, b->len - at);
		char *piece = pib_text_clean(b->data + at, true);
		if (!piece || pib_buf_append(&o, piece, strlen(piece)) < 0) {
			free(piece);
			pib_buf_free(&o);
			return NULL;
		}
		free(piece);
		at += n;
		if (at < b->len) { /* a NUL */
			if (pib_buf_append(&o, "\\x00", 4) < 0) {
				pib_buf_free(&o);
				return NULL;
			}
			at++;
		}
	}
	return o.data ? o.data : pib_strdup("");
}

/* Runs one check; fills its report entry. Returns true when it passed. */
static bool run_check(struct agent_run *run, const struct mf_check *ck, cJSON *j, const char **finding)
{
	const char *user = ck->user ? ck->user : "root";
	struct check_user u = {0};
	struct pib_spawn_result res = {0};
	struct pib_err e = {0};
	char *env[6] = {0};
	bool passed = false;
	int r;

	cJSON *argv = cJSON_AddArrayToObject(j, "run");
	for (size_t i = 0; ck->run[i]; i++)
		cJSON_AddItemToArray(argv, cJSON_CreateString(ck->run[i]));
	cJSON_AddStringToObject(j, "user", user);
	cJSON_AddNumberToObject(j, "timeout", ck->timeout);

	r = find_user(run->root, user, &u);
	if (r < 0) {
		*finding = "check.failed";
		cJSON_AddStringToObject(j, "status", "failed");
		cJSON_AddStringToObject(j, "finding", *finding);
		char *m = r == -ENOENT ? pib_asprintf("the user %s is not in the image's /etc/passwd", user)
				       : pib_asprintf("the image's /etc/passwd cannot be read: %s", strerror(-r));
		cJSON_AddStringToObject(j, "message", m ? m : "the user cannot be found");
		free(m);
		return false;
	}
	env[0] = (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	env[1] = (char *)"LANG=C.UTF-8";
	env[2] = pib_asprintf("HOME=%s", u.home);
	env[3] = pib_asprintf("USER=%s", user);
	env[4] = pib_asprintf("LOGNAME=%s", user);
	struct contain_opts co = {.root = run->root,
				  .host_tool = !strcmp(run->root, "/"),
				  .set_user = true,
				  .uid = u.uid,
				  .gid = u.gid};
	struct pib_spawn_opts so = {.env = env, .cwd = NULL, .timeout = ck->timeout,
				    .max_output = CHECK_OUTPUT_MAX, .stdin_fd = -1, .merge_output = true};
	double t0 = pib_now_mono();
	if (!env[2] || !env[3] || !env[4])
		r = pib_fail(&e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	else
		r = contain_spawn(ck->run, &co, &so, &res, &e);
	cJSON_AddNumberToObject(j, "duration_ms", (double)(long long)((pib_now_mono() - t0) * 1000.0));
	if (r < 0) {
		*finding = "check.failed";
		cJSON_AddStringToObject(j, "status", "failed");
		cJSON_AddStringToObject(j, "finding", *finding);
		char *m = pib_asprintf("cannot start: %s: %s", e.code, e.msg);
		cJSON_AddStringToObject(j, "message", m ? m : e.msg);
		free(m);
		goto out;
	}
	char *out = clean_output(&res.output);
	cJSON_AddNumberToObject(j, "exit_code", res.timed_out ? -1 : res.status);
	cJSON_AddBoolToObject(j, "timed_out", res.timed_out);
	cJSON_AddStringToObject(j, "output", out ? out : "");
	cJSON_AddNumberToObject(j, "output_bytes", (double)(res.output.len + res.output_dropped));
	cJSON_AddBoolToObject(j, "output_truncated", res.output_dropped > 0);
	free(out);
	char *m = NULL;
	if (res.interrupted) {
		*finding = "check.failed";
		m = pib_asprintf("stopped: the agent was interrupted");
	} else if (res.timed_out) {
		*finding = "check.timeout";
		m = pib_asprintf("still running after its timeout of %d s: killed with everything it started",
				 ck->timeout);
	} else if (res.status != 0) {
		*finding = "check.failed";
		m = res.status > 128 ? pib_asprintf("killed by signal %d", res.status - 128)
				     : pib_asprintf("exited %d", res.status);
	} else {
		passed = true;
		m = pib_asprintf("exited 0");
	}
	cJSON_AddStringToObject(j, "status", passed ? "passed" : "failed");
	if (!passed)
		cJSON_AddStringToObject(j, "finding", *finding);
	cJSON_AddStringToObject(j, "message", m ? m : "");
	free(m);
out:
	for (int i = 2; i < 5; i++)
		free(env[i]);
	free(u.home);
	pib_err_clear(&e);
	pib_spawn_result_free(&res);
	return passed;
}

void agent_step_checks(struct agent_run *run)
{
	const struct mf_target *t = run->target;
	size_t failed = 0;
	const char *first = NULL, *first_finding = NULL;

	if (!t || t->n_checks == 0)
		return;
	if (run->target && !strcmp(run->target->installer, "msi")) {
		report_step_skip(run->report, "checks",
				 "not supported yet: the checks of an msi target run on the installed Windows image, and a Wine prefix is not one",
				 true);
		return;
	}
	if (!run->installed) {
		report_step_skip(run->report, "checks",
				 "nothing was installed (no --root, or --dry-run): the checks run on the installed image",
				 true);
		return;
	}
	report_step_begin(run->report, "checks");
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < t->n_checks && arr; i++) {
		const struct mf_check *ck = &t->checks[i];
		const char *finding = NULL;
		cJSON *j = cJSON_CreateObject();
		if (!j)
			break;
		cJSON_AddStringToObject(j, "name", ck->name);
		cJSON_AddItemToArray(arr, j);
		if (pib_interrupted) {
			cJSON_AddStringToObject(j, "status", "skipped");
			cJSON_AddStringToObject(j, "message", "not run: the agent was interrupted");
			continue;
		}
		bool ok = run_check(run, ck, j, &finding);
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
		agent_log("check \"%s\": %s%s%s", ck->name, ok ? "passed" : "FAILED", msg ? ": " : "", msg ? msg : "");
		if (!ok && failed++ == 0) {
			first = ck->name;
			first_finding = finding;
		}
	}
	if (!arr)
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	else
		report_set(run->report, "checks", arr);
	if (failed && !run->err.set)
		pib_fail(&run->err, -EPERM, PIB_ERR_FINDINGS, first_finding,
			 "the seller's check \"%s\" failed%s (%zu of %zu failed; see checks[])", first,
			 !strcmp(first_finding, "check.timeout") ? " by its timeout" : "", failed, t->n_checks);
	(void)agent_step_end(run);
}
