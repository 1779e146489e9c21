/* SPDX-License-Identifier: MIT */
/* `pib-agent run`: the build-pipeline mode, from the job to the reports the orchestrator accepted and the cleanup. */
#include "cli.h"
#include "fetch.h"
#include "imds.h"
#include "job.h"
#include "log.h"
#include "pipeline.h"
#include "proc.h"
#include "runstate.h"
#include "scan_steps.h"
#include "sign.h"
#include "spool.h"
#include "vulns.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_DIR_DEFAULT "/var/lib/pib-agent"
#define EARLIER_DELIVERY_SECONDS 60 /* run first sends what earlier runs left spooled, this long at most */
#define CLOUD_INIT_WAIT_SECONDS 600

/* One run of a job. */
struct job_run {
	const struct agent_opts *o;
	const char *state_dir;
	const char *job_source;  /* "imds", or the --job file */
	struct job *job;
	char job_sha256[65];
	struct imds *imds;
	struct runstate *st;
	struct agent_run run;
	char *root_real;
	char *bundle_path;       /* STATE_DIR/BUILD_ID/bundle */
	char *vulns_path;        /* STATE_DIR/BUILD_ID/vulns: the job's vulns.url fetched; NULL without one */
	enum run_stage resumed;  /* the stage an earlier run reached (RS_NEW: a first run) */
	bool refetch;            /* the bundle an earlier run fetched is not there intact: fetch again */
	bool vulns_known;        /* vulns_path holds the job's vulns.sha256: this run fetched or checked it */
};

static void on_alarm(int sig)
{
	pib_interrupted = sig;
}

/* ------------------------------------------------------------------ configure */

/* The job's text: the --job file, or the job part of EC2 user-data over IMDSv2. */
static int read_job_text(struct job_run *jr, char **ret, size_t *ret_len, struct pib_err *err)
{
	const char *src = jr->o->job;
	char *ud = NULL;
	size_t ud_len = 0;
	int r;

	if (strcmp(src, "imds") != 0) {
		r = pib_read_file(src, JOB_MAX, ret, ret_len);
		if (r < 0)
			return pib_fail(err, r, PIB_ERR_USAGE, "job.unreadable", "--job %s: %s", src,
					r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		return 0;
	}
	jr->imds = imds_new();
	if (!jr->imds)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if ((r = imds_user_data(jr->imds, &ud, &ud_len, err)) < 0)
		return r;
	r = job_from_user_data(ud, ud_len, ret, ret_len, err);
	explicit_bzero(ud, ud_len);
	free(ud);
	return r;
}

/* True when an ancestor of the agent is cloud-init: waiting for cloud-init would then wait for ourselves. */
static bool started_by_cloud_init(void)
{
	pid_t pid = getppid();

	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		char path[64], *text = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (pib_read_file(path, 4096, &text, &len) < 0)
			return false;
		/* "PID (comm) S PPID ...": comm, at most 15 bytes, is "cloud-init" for cloud-init's stages */
		char *open_p = strchr(text, '('), *close_p = strrchr(text, ')');
		bool hit = open_p && close_p && close_p - open_p > 10 && !strncmp(open_p + 1, "cloud-init", 10);
		long ppid = 0;
		if (close_p)
			(void)sscanf(close_p + 2, "%*c %ld", &ppid);
		free(text);
		if (hit)
			return true;
		pid = (pid_t)ppid;
	}
	return false;
}

/* Waits (bounded) for cloud-init to finish, unless that cannot end: the configure step's detail. */
static void wait_cloud_init(struct job_run *jr)
{
	struct report *r = jr->run.report;
	char *tool = NULL;

	if (started_by_cloud_init()) {
		report_step_detail(r, "cloud_init",
				   cJSON_CreateString("not waited for: the agent runs as a part of cloud-init, which waits for it"));
		return;
	}
	if (strcmp(jr->run.root, "/") != 0) {
		report_step_detail(r, "cloud_init", cJSON_CreateString("not waited for: --root is not this system"));
		return;
	}
	tool = pib_find_tool("cloud-init");
	if (!tool) {
		report_step_detail(r, "cloud_init", cJSON_CreateString("not present"));
		return;
	}
	char status[] = "status", wait[] = "--wait";
	char *argv[] = {tool, status, wait, NULL};
	struct pib_spawn_opts so = {.timeout = CLOUD_INIT_WAIT_SECONDS, .stdin_fd = -1};
	struct pib_spawn_result res;
	agent_log("waiting for cloud-init to finish (at most %d s)", CLOUD_INIT_WAIT_SECONDS);
	if (pib_spawn(argv, &so, &res) < 0) {
		report_step_detail(r, "cloud_init", cJSON_CreateString("could not be started"));
	} else {
		const char *what = res.timed_out ? "did not finish in time: going on"
				   : res.status == 0 ? "done"
				   : res.status == 2 ? "done with recoverable errors"
						     : "reported an error: going on";
		if (res.status != 0)
			agent_warn("cloud-init status --wait: %s", what);
		report_step_detail(r, "cloud_init", cJSON_CreateString(what));
	}
	pib_spawn_result_free(&res);
	free(tool);
}

/* The signing key: --key wins, else the job's pem (kept in memory) or path. */
static bool load_job_key(struct job_run *jr, struct pib_err *err)
{
	struct agent_run *run = &jr->run;
	const struct job *j = jr->job;

	run->key_loaded = true;
	if (jr->o->key)
		return sign_key_load(jr->o->key, &run->key, err) == 0;
	run->key_given = true;
	if (j->key_pem)
		return sign_key_from_pem(j->key_pem, strlen(j->key_pem), "the job's signing_key.pem", &run->key, err) == 0;
	if (j->key_path)
		return sign_key_load(j->key_path, &run->key, err) == 0;
	pib_fail(err, -ENOKEY, PIB_ERR_USAGE, "job.invalid", "%s: signing_key: missing (run signs every report)",
		 jr->job_source);
	return false;
}

/* -------------------------------------------------------------- delivery */

static struct http_cfg http_for(const struct job *j)
{
	return (struct http_cfg){.ca_bundle = j->ca_bundle, .allow_file = true};
}

/* Spools (unless it is already) and sends one report; 0 once accepted. */
static int deliver_phase(struct job_run *jr, const char *build_id, const char *phase, const char *json,
			 unsigned seconds, struct pib_err *err)
{
	const struct job *j = jr->job;
	int r;

	if (spool_sent(jr->state_dir, build_id, phase))
		return 0;
	if (!spool_pending(jr->state_dir, build_id, phase)) {
		if (!json)
			return pib_fail(err, -ENOENT, PIB_ERR_ENV, "run.state",
					"the %s report of build %s is neither spooled nor sent", phase, build_id);
		r = spool_put(jr->state_dir, build_id, phase, j->report_url, j->report_method, j->ca_bundle, json,
			      strlen(json), err);
		if (r < 0)
			return r;
	}
	char *shown = http_url_redacted(j->report_url);
	agent_log("delivering the %s report to %s (%s)", phase, shown ? shown : "?", j->report_method);
	r = spool_send(jr->state_dir, build_id, phase, pib_now_mono() + seconds, err);
	if (r == 0)
		agent_log("the %s report was accepted", phase);
	free(shown);
	return r;
}

/* A job that cannot be had or cannot run: exit 3 (or 4), and a failed report to its report URL when one could be read. */
static int bad_job(struct job_run *jr, const char *text, size_t len, struct pib_err *jerr)
{
	struct report *r;
	char *json = NULL;
	char id[64];
	struct pib_err e = {0};
	struct sign_key *key = NULL;

	/* exit 3 for a job that is wrong, 4 when the environment failed (no IMDS) */
	int code = jerr->cls == PIB_ERR_ENV ? PIB_EXIT_ENV : PIB_EXIT_USAGE;

	agent_error("configure failed: %s: %s", jerr->code, jerr->msg);
	if (!jr->job || !jr->job->report_url) {
		agent_error("no report URL could be read from the job: nothing is sent");
		return code;
	}
	if (!jr->job->deliver_seconds)
		jr->job->deliver_seconds = 600;
	if (jr->job->build_id) {
		snprintf(id, sizeof(id), "%s", jr->job->build_id);
	} else {
		char sha[65];
		pib_sha256_hex(text, len, sha);
		snprintf(id, sizeof(id), "job-%.16s", sha);
	}
	r = report_new("run");
	if (!r)
		return code;
	report_set(r, "build_id", jr->job->build_id ? cJSON_CreateString(jr->job->build_id) : cJSON_CreateNull());
	report_step_begin(r, "configure");
	report_step_end(r, jerr);
	report_finish(r);
	if (jr->job->key_pem &&
	    sign_key_from_pem(jr->job->key_pem, strlen(jr->job->key_pem), "the job's signing_key.pem", &key, &e) < 0)
		key = NULL;
	else if (!jr->job->key_pem && jr->job->key_path && sign_key_load(jr->job->key_path, &key, &e) < 0)
		key = NULL;
	pib_err_clear(&e);
	if (!key)
		agent_warn("the failed report is UNSIGNED: the job's key cannot be used");
	if (sign_report(r, key, &json, &e) == 0 &&
	    deliver_phase(jr, id, "failed", json, jr->job->deliver_seconds, &e) < 0)
		agent_error("the failed report was not delivered: %s: %s (it stays in the spool)", e.code, e.msg);
	pib_err_clear(&e);
	sign_key_free(key);
	free(json);
	report_free(r);
	return code;
}

/* ------------------------------------------------------------ steps of run */

/* fetch: the bundle into the build's state folder; its digest checked as the bytes arrive. */
static bool step_fetch(struct job_run *jr)
{
	struct agent_run *run = &jr->run;
	struct fetch_result fr = {0};
	struct http_cfg cfg = http_for(jr->job);
	bool progress = !agent_log_is_json() && isatty(2);

	report_step_begin(run->report, "fetch");
	char *shown = http_url_redacted(jr->job->bundle_url);
	report_step_detail(run->report, "url", cJSON_CreateString(shown ? shown : ""));
	agent_log("fetching the bundle from %s", shown ? shown : "?");
	free(shown);
	if (fetch_file(&cfg, jr->job->bundle_url, jr->job->bundle_sha256, jr->job->bundle_bytes, jr->bundle_path,
		       progress, &fr, &run->err) == 0) {
		report_step_detail(run->report, "sha256", cJSON_CreateString(fr.sha256));
		report_step_detail(run->report, "size", cJSON_CreateNumber((double)fr.size));
		report_step_detail(run->report, "requests", cJSON_CreateNumber(fr.attempts));
		report_step_detail(run->report, "resumed", cJSON_CreateNumber(fr.resumes));
		agent_log("fetched %llu bytes, sha256 %s", (unsigned long long)fr.size, fr.sha256);
		/* the job's vulnerability feed, when it is to be fetched (--vulns wins: then it is not) */
		if (jr->vulns_path && !run->opts->vulns) {
			struct fetch_result fv = {0};
			cJSON *d = cJSON_CreateObject();
			char *vu = http_url_redacted(jr->job->vulns_url);
			cJSON_AddStringToObject(d, "url", vu ? vu : "");
			agent_log("fetching the vulnerability feed from %s", vu ? vu : "?");
			free(vu);
			if (fetch_file(&cfg, jr->job->vulns_url, jr->job->vulns_sha256, VULN_MAX_TOTAL_BYTES, jr->vulns_path,
				       progress, &fv, &run->err) == 0) {
				cJSON_AddStringToObject(d, "sha256", fv.sha256);
				cJSON_AddNumberToObject(d, "size", (double)fv.size);
				jr->vulns_known = true; /* its digest checked as the bytes arrived */
				agent_log("fetched the feed: %llu bytes, sha256 %s", (unsigned long long)fv.size, fv.sha256);
			}
			report_step_detail(run->report, "vulns", d);
		}
	}
	return !agent_step_end(run);
}

/* Whether path holds the bytes of that SHA-256 (a file fetched by an earlier run is not fsynced). */
static bool intact(const char *path, const char *sha256)
{
	char sha[65] = "";
	return pib_sha256_file(path, sha, NULL) == 0 && !strcmp(sha, sha256);
}

/* open, plus: the bundle opened must be the job's (a file changed in the state folder is refused). */
static bool step_open_checked(struct job_run *jr)
{
	struct agent_run *run = &jr->run;

	if (!agent_step_open(run, jr->bundle_path))
		return false;
	cJSON *b = report_get(run->report, "bundle");
	cJSON *sha = cJSON_GetObjectItemCaseSensitive(b, "sha256");
	if (cJSON_IsString(sha) && !strcmp(sha->valuestring, jr->job->bundle_sha256)) {
		const char *feed = jr->job->vulns;
		if (jr->vulns_path && !run->opts->vulns) {
			/* fetched by an earlier run and not checked yet (a rerun after the pre-install report):
			 * still the job's? The state folder is the agent's alone, but a file changed there is refused */
			if (!jr->vulns_known && !intact(jr->vulns_path, jr->job->vulns_sha256)) {
				report_step_begin(run->report, "vulns");
				pib_fail(&run->err, -EBADMSG, PIB_ERR_FAILED, "fetch.digest_mismatch",
					 "%s: not the job's vulns.sha256 %s", jr->vulns_path, jr->job->vulns_sha256);
				return !agent_step_end(run);
			}
			feed = jr->vulns_path;
		}
		return agent_vulns_load(run, feed, jr->job->vulns_max_age_days,
					jr->job->vulns_max_age_given); /* --vulns wins */
	}
	report_step_begin(run->report, "open");
	pib_fail(&run->err, -EBADMSG, PIB_ERR_FAILED, "fetch.digest_mismatch",
		 "%s: sha256 %s is not the job's bundle.sha256 %s", jr->bundle_path,
		 cJSON_IsString(sha) ? sha->valuestring : "?", jr->job->bundle_sha256);
	return !agent_step_end(run);
}

/* The transaction as the state keeps it: enough to install it again after a kill. */
static cJSON *transaction_state(const struct inst_ctx *c)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "version", p->version);
		cJSON_AddStringToObject(o, "arch", p->arch);
		if (p->member)
			cJSON_AddStringToObject(o, "member", p->member);
		cJSON_AddStringToObject(o, "sha256", p->sha256);
		cJSON_AddStringToObject(o, "repo", p->repo ? p->repo : "");
		cJSON_AddBoolToObject(o, "reinstall", p->reinstall);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? pib_strdup(v->valuestring) : NULL;
}

/* The saved transaction back into the installer's context (a rerun does not resolve again). */
static int restore_transaction(struct job_run *jr, struct pib_err *err)
{
	struct inst_ctx *c = &jr->run.ictx;
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(jr->st->transaction);

	c->pkgs = n ? calloc(n, sizeof(*c->pkgs)) : NULL;
	if (n && !c->pkgs)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	cJSON_ArrayForEach(it, jr->st->transaction)
	{
		struct inst_pkg *p = &c->pkgs[c->n_pkgs++];
		p->name = json_str(it, "name");
		p->version = json_str(it, "version");
		p->arch = json_str(it, "arch");
		p->member = json_str(it, "member");
		p->repo = json_str(it, "repo");
		char *sha = json_str(it, "sha256");
		snprintf(p->sha256, sizeof(p->sha256), "%s", sha ? sha : "");
		free(sha);
		p->reinstall = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "reinstall"));
		const struct bundle_member *m = p->member ? bundle_find(jr->run.bundle, p->member) : NULL;
		if (m)
			p->path = pib_strdup(m->path);
		if (!p->name || !p->version || !p->arch || !p->repo || (p->member && !p->path))
			return pib_fail(err, -EINVAL, PIB_ERR_ENV, "run.state",
					"%s/state.json: the saved transaction is not usable (package %zu)", jr->st->dir,
					c->n_pkgs);
	}
	return 0;
}

/*
 * A rerun past the pre-install report: the saved report is the run's, and the bundle is opened
 * and verified again (silently, into a scratch report) to have it in memory with its digests
 * checked once more; prescan and resolve are not repeated: the saved transaction is installed.
 */
static bool resume_after_pre_install(struct job_run *jr)
{
	struct agent_run *run = &jr->run;
	struct report *saved = report_from_state(jr->st->report);
	struct report *scratch = run->report;
	bool ok;

	if (!saved) {
		pib_fail(&run->err, -EINVAL, PIB_ERR_ENV, "run.state", "%s/state.json: the saved report is not usable",
			 jr->st->dir);
		report_step_begin(run->report, "open");
		(void)agent_step_end(run);
		return false;
	}
	ok = step_open_checked(jr);
	if (ok) {
		agent_ictx_init(run, jr->job->install_seconds);
		ok = agent_step_verify(run);
	}
	if (!ok) {
		/* what changed since is said in the saved report, whose steps follow */
		report_free(saved);
		return false;
	}
	run->report = saved;
	report_free(scratch);
	if (restore_transaction(jr, &run->err) < 0) {
		report_step_begin(run->report, "install");
		(void)agent_step_end(run);
		return false;
	}
	return true;
}

/* The report as it is now, signed with phase pre-install; the run's report goes on as final. */
static char *pre_install_envelope(struct job_run *jr)
{
	struct report *r = jr->run.report;
	struct pib_err e = {0};
	char *json = NULL;

	report_set(r, "phase", cJSON_CreateString("pre-install"));
	report_finish(r);
	if (sign_report(r, jr->run.key, &json, &e) < 0)
		agent_error("cannot sign the pre-install report: %s: %s", e.code, e.msg);
	pib_err_clear(&e);
	report_set(r, "phase", cJSON_CreateString("final"));
	report_set(r, "status", cJSON_CreateString("incomplete"));
	return json;
}

/* Records a rerun in the report: from which stage, when. */
static void note_resumed(struct job_run *jr)
{
	char now[40];
	cJSON *arr = report_get(jr->run.report, "resumed");

	if (jr->resumed == RS_NEW)
		return;
	if (!cJSON_IsArray(arr)) {
		arr = cJSON_CreateArray();
		report_set(jr->run.report, "resumed", arr);
	}
	pib_now_rfc3339(now);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "at", now);
	cJSON_AddStringToObject(o, "from", runstate_stage_name(jr->resumed));
	cJSON_AddItemToArray(arr, o);
}

/* ------------------------------------------------------------------ cleanup */

static void remove_logged(const char *path, const char *what)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	int r = S_ISDIR(st.st_mode) ? pib_rm_rf(path) : (unlink(path) < 0 ? -errno : 0);
	if (r < 0)
		agent_warn("cleanup: cannot remove %s (%s): %s", path, what, strerror(-r));
	else
		agent_log("cleanup: removed %s (%s)", path, what);
}

/* True when the file holds the text (the build id of the job it carried). */
static bool file_holds(const char *path, const char *needle)
{
	char *text = NULL;
	size_t len = 0;
	bool hit = false;

	if (pib_read_file(path, 1u << 20, &text, &len) == 0)
		hit = memmem(text, len, needle, strlen(needle)) != NULL;
	free(text);
	return hit;
}

/* ROOT/var/lib/cloud/[instances/INST/]NAME as a host path that stays inside the root whatever its links say. */
static char *in_root(struct job_run *jr, const char *inst, const char *name, bool follow_last)
{
	char *inner = inst ? pib_asprintf("/var/lib/cloud/instances/%s/%s", inst, name)
			   : pib_asprintf("/var/lib/cloud/%s", name);
	char *host = NULL;

	if (inner && pib_path_in_root(jr->run.root, inner, follow_last, &host) < 0)
		host = NULL;
	free(inner);
	return host;
}

/* True when the instance folder INST holds the user-data that carried this build's job. */
static bool instance_carried_job(struct job_run *jr, const char *inst, char **ret_ud, char **ret_udi)
{
	char *ud = in_root(jr, inst, "user-data.txt", false);
	char *udi = in_root(jr, inst, "user-data.txt.i", false);
	bool yes = ud && udi && (file_holds(ud, jr->job->build_id) || file_holds(udi, jr->job->build_id));

	if (ret_ud && ret_udi) {
		*ret_ud = ud;
		*ret_udi = udi;
	} else {
		free(ud);
		free(udi);
	}
	return yes;
}

/* agent_run's cleanup_removes: the copies of the job's user-data that cleanup_cloud_init removes. */
static bool run_cleanup_removes(const struct agent_run *run, const char *path)
{
	struct job_run *jr = (struct job_run *)((char *)run - offsetof(struct job_run, run));
	static const char pre[] = "/var/lib/cloud/instances/";
	const char *inst = path, *slash;

	if (!jr->job || !path || strncmp(path, pre, sizeof(pre) - 1))
		return false;
	inst += sizeof(pre) - 1;
	slash = strchr(inst, '/');
	if (!slash || slash == inst || (strcmp(slash + 1, "user-data.txt") && strcmp(slash + 1, "user-data.txt.i")))
		return false;
	char *id = strndup(inst, (size_t)(slash - inst));
	bool yes = id && instance_carried_job(jr, id, NULL, NULL);
	free(id);
	return yes;
}

/* Removes ROOT/var/lib/cloud/instances/INST/scripts/part-*, the script parts of that user-data. */
static void cleanup_script_parts(struct job_run *jr, const char *inst)
{
	char *scripts = in_root(jr, inst, "scripts", true);
	DIR *sd = scripts ? opendir(scripts) : NULL;
	struct dirent *se;

	while (sd && (se = readdir(sd))) {
		if (strncmp(se->d_name, "part-", 5) != 0)
			continue;
		char *p = pib_asprintf("%s/%s", scripts, se->d_name);
		if (p)
			remove_logged(p, "a script part of that user-data");
		free(p);
	}
	if (sd)
		closedir(sd);
	free(scripts);
}

/*
 * cloud-init's copies of the user-data that carried the job, and the scripts it held. The
 * paths are resolved inside the root (seller code ran before this and may have left links).
 */
static void cleanup_cloud_init(struct job_run *jr)
{
	char *base = in_root(jr, NULL, "instances", true);
	DIR *d = base ? opendir(base) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '/'))
			continue;
		char *ud = NULL, *udi = NULL;
		/* only the instance whose user-data carried this job */
		if (instance_carried_job(jr, de->d_name, &ud, &udi)) {
			remove_logged(ud, "cloud-init's copy of the user-data that carried the job");
			remove_logged(udi, "cloud-init's processed copy of that user-data");
			cleanup_script_parts(jr, de->d_name);
		}
		free(ud);
		free(udi);
	}
	if (d)
		closedir(d);
	free(base);
}

/* True when path lies inside dir (both absolute, resolved). */
static bool path_inside(const char *path, const char *dir)
{
	char *p = realpath(path, NULL), *d = realpath(dir, NULL);
	size_t n = d ? strlen(d) : 0;
	bool in = p && d && (!strcmp(d, "/") || (!strncmp(p, d, n) && (p[n] == '/' || !p[n])));

	free(p);
	free(d);
	return in;
}

/* The last step: nothing that must not reach the customer's image stays in it. */
static void cleanup(struct job_run *jr, const char *final_sha)
{
	const struct job *j = jr->job;
	char now[40];

	agent_log("cleanup of build %s", j->build_id);
	if (strcmp(jr->job_source, "imds") != 0 && path_inside(jr->job_source, jr->run.root))
		remove_logged(jr->job_source, "the job file, inside the image");
	if (j->key_path && path_inside(j->key_path, jr->state_dir))
		remove_logged(j->key_path, "the signing key named by the job, under the state folder");
	cleanup_cloud_init(jr);
	(void)spool_forget(jr->state_dir, j->build_id);
	runstate_track_children(NULL);
	remove_logged(jr->st->dir, "the build's state folder: the bundle, the saved reports and transaction");
	pib_now_rfc3339(now);
	char *done = pib_asprintf("{\"build_id\": \"%s\", \"job_sha256\": \"%s\", \"done\": \"%s\", \"final_report_sha256\": \"%s\"}\n",
				  j->build_id, jr->job_sha256, now, final_sha);
	if (!done || runstate_mark_done(jr->state_dir, j->build_id, done) < 0)
		agent_warn("cleanup: cannot record that build %s is done", j->build_id);
	free(done);
}

/* ------------------------------------------------------------------- run */

/* configure: the job read and checked, the key, the root, cloud-init. false: the run ends (exit in *code). */
static bool configure(struct job_run *jr, int *code)
{
	struct agent_run *run = &jr->run;
	struct pib_err e = {0};
	char *text = NULL;
	size_t len = 0;
	struct stat st;

	jr->job_source = jr->o->job;
	if (read_job_text(jr, &text, &len, &e) < 0 || job_parse(jr->job_source, text, len, &jr->job, &e) < 0) {
		*code = bad_job(jr, text ? text : "", len, &e);
		pib_err_clear(&e);
		if (text)
			explicit_bzero(text, len);
		free(text);
		return false;
	}
	pib_sha256_hex(text, len, jr->job_sha256);
	explicit_bzero(text, len);
	free(text);
	report_set(run->report, "build_id", cJSON_CreateString(jr->job->build_id));
	report_step_begin(run->report, "configure");
	report_step_detail(run->report, "job", cJSON_CreateString(strcmp(jr->job_source, "imds") ? jr->job_source
												    : "EC2 user-data (IMDSv2)"));
	report_step_detail(run->report, "job_sha256", cJSON_CreateString(jr->job_sha256));
	/* --root, --db and --state-dir win over the job */
	const char *root = jr->o->root ? jr->o->root : "/";
	jr->root_real = realpath(root, NULL);
	if (!jr->root_real || stat(jr->root_real, &st) < 0 || !S_ISDIR(st.st_mode))
		pib_fail(&run->err, -ENOENT, PIB_ERR_USAGE, "usage.invalid", "--root %s: not an existing directory", root);
	run->root = jr->root_real ? jr->root_real : root;
	run->may_install = true;
	run->run_seconds = jr->job->run_seconds;
	/* --policy FILE wins over the job's policy; one that cannot be used fails configure (exit 3) */
	if (!run->err.set && !agent_load_policy(run, &jr->job->policy, &run->err))
		run->err.cls = run->err.cls == PIB_ERR_ENV ? PIB_ERR_ENV : PIB_ERR_USAGE;
	if (!run->err.set && !load_job_key(jr, &run->err))
		run->err.cls = run->err.cls == PIB_ERR_NONE ? PIB_ERR_USAGE : run->err.cls;
	if (!run->err.set) {
		wait_cloud_init(jr);
		if (jr->imds)
			run->ec2 = imds_identity(jr->imds);
		report_step_detail(run->report, "root", cJSON_CreateString(run->root));
	}
	if (agent_step_end(run)) {
		/* the job was read: its orchestrator gets the failed report (signed when the key could be loaded) */
		char *json = NULL;
		*code = agent_sign_run(run, &json);
		if (json && deliver_phase(jr, jr->job->build_id, "failed", json, jr->job->deliver_seconds, &e) < 0)
			agent_error("the failed report was not delivered: %s: %s (it stays in the spool)", e.code, e.msg);
		pib_err_clear(&e);
		free(json);
		return false;
	}
	return true;
}

/*
 * Where the SBOM goes: report.sbom_url, else report.url for a POST; NULL for a PUT without
 * sbom_url (a pre-signed URL names one object: the SBOM would overwrite the final report).
 */
static const char *sbom_url_of(const struct job *j)
{
	return j->sbom_url ? j->sbom_url : strcmp(j->report_method, "PUT") ? j->report_url : NULL;
}

/* The report's sbom.delivery: where the SBOM is sent, or why it is not. */
static void sbom_delivery(struct job_run *jr)
{
	cJSON *s = report_get(jr->run.report, "sbom");
	const char *how = jr->job->sbom_url ? "report.sbom_url"
			  : sbom_url_of(jr->job) ? "report.url"
						 : "none: report.method is PUT (one object) and the job gives no report.sbom_url";

	if (!sbom_url_of(jr->job))
		agent_warn("the SBOM is not delivered: %s", how + 6);
	if (cJSON_IsObject(s))
		cJSON_AddStringToObject(s, "delivery", how);
}

/* Sends the final report, then cleans up; the exit code (5 while it stays spooled). */
static int finish(struct job_run *jr, const char *json, int code)
{
	struct pib_err e = {0};
	char sha[65] = "";

	if (pib_interrupted == SIGALRM)
		pib_interrupted = 0; /* the run's time is over, not the delivery's */
	if (json) {
		pib_sha256_hex(json, strlen(json), sha);
		if (jr->o->report && pib_write_file(jr->o->report, json, strlen(json), 0644) < 0)
			agent_warn("%s: cannot write a copy of the report", jr->o->report);
	}
	if (deliver_phase(jr, jr->job->build_id, "final", json, jr->job->deliver_seconds, &e) < 0) {
		agent_error("the final report is still in the spool: %s: %s; `pib-agent deliver` sends it later",
			    e.code, e.msg);
		pib_err_clear(&e);
		return PIB_EXIT_SPOOLED;
	}
	/* the SBOM (spooled with the final report, which records its sha256) follows it */
	if (spool_pending(jr->state_dir, jr->job->build_id, "sbom") &&
	    deliver_phase(jr, jr->job->build_id, "sbom", NULL, jr->job->deliver_seconds, &e) < 0) {
		agent_error("the SBOM is still in the spool: %s: %s; `pib-agent deliver` sends it later", e.code, e.msg);
		pib_err_clear(&e);
		code = PIB_EXIT_SPOOLED;
	}
	if (runstate_save(jr->st, RS_DONE, NULL, NULL, &e) < 0) {
		agent_error("%s", e.msg);
		pib_err_clear(&e);
	}
	cleanup(jr, sha);
	return code;
}

static int run_pipeline(struct job_run *jr)
{
	struct agent_run *run = &jr->run;
	struct pib_err e = {0};
	char *json = NULL;
	int code;
	enum run_stage at = jr->refetch ? RS_NEW : jr->resumed;

	if (at < RS_PRE_SPOOLED)
		note_resumed(jr); /* else once the saved report is back */
	if (at >= RS_FINAL_SPOOLED) {
		/* the exit code of the report already made */
		struct report *saved = jr->st->report ? report_from_state(jr->st->report) : NULL;
		code = saved ? report_exit_code(saved) : PIB_EXIT_OK;
		report_free(saved);
		return finish(jr, NULL, code);
	}
	alarm(jr->job->run_seconds);
	/* the job's database for both scans (--db wins), whichever stage this run starts from */
	if (agent_scan_setup(run, jr->job->clamav_db, jr->job->db_max_age_days) < 0)
		goto final;
	if (at >= RS_PRE_SPOOLED) {
		bool resumed = resume_after_pre_install(jr);
		note_resumed(jr);
		if (!resumed)
			goto final;
	} else {
		if (at < RS_FETCHED) {
			if (!step_fetch(jr))
				goto final;
			if (runstate_save(jr->st, RS_FETCHED, report_state(run->report), NULL, &run->err) < 0)
				goto fail_state;
		}
		if (!step_open_checked(jr))
			goto final;
		agent_ictx_init(run, jr->job->install_seconds);
		if (!agent_step_verify(run) || !agent_step_prescan(run) || !agent_step_resolve(run))
			goto final;
		if (run->opts->dry_run) {
			report_step_skip(run->report, "install", "dry run (--dry-run)", true);
			(void)agent_step_vulns(run); /* the transaction as it would be */
			goto final;
		}
		/* the pre-install report: spooled before anything else, then no seller code runs until it is accepted */
		char *pre = pre_install_envelope(jr);
		cJSON *rs = report_state(run->report), *ts = transaction_state(&run->ictx);
		int pr = pre ? spool_put(jr->state_dir, jr->job->build_id, "pre-install", jr->job->report_url,
					 jr->job->report_method, jr->job->ca_bundle, pre, strlen(pre), &e)
			     : -EIO;
		free(pre);
		if (pr == 0)
			pr = runstate_save(jr->st, RS_PRE_SPOOLED, rs, ts, &e);
		cJSON_Delete(rs);
		cJSON_Delete(ts);
		if (pr < 0) {
			agent_error("the pre-install report cannot be spooled: %s: %s", e.code, e.msg);
			pib_err_clear(&e);
			return PIB_EXIT_ENV;
		}
	}
	if (jr->st->stage < RS_PRE_ACCEPTED) {
		if (deliver_phase(jr, jr->job->build_id, "pre-install", NULL, jr->job->deliver_seconds, &e) < 0) {
			agent_error("the pre-install report was not accepted: %s: %s; nothing is installed before it is (it stays in the spool; run again or `pib-agent deliver`)",
				    e.code, e.msg);
			pib_err_clear(&e);
			return PIB_EXIT_SPOOLED;
		}
		if (runstate_save(jr->st, RS_PRE_ACCEPTED, NULL, NULL, &run->err) < 0)
			goto fail_state;
	}
	if (jr->st->stage == RS_INSTALLING)
		agent_warn("an earlier run was stopped during the install: the package tool is recovered and the transaction installed again");
	{
		cJSON *rs = report_state(run->report);
		int sr = runstate_save(jr->st, RS_INSTALLING, rs, NULL, &run->err);
		cJSON_Delete(rs);
		if (sr < 0)
			goto fail_state;
	}
	if (agent_step_install(run)) {
		(void)agent_step_policy(run); /* its findings do not stop the seller's checks */
		(void)agent_step_vulns(run);
		agent_step_checks(run);
	}
	goto final;

fail_state:
	report_step_begin(run->report, "state");
	(void)agent_step_end(run);
final:
	alarm(0);
	if (agent_step_sbom(run, NULL) && run->sbom_json)
		sbom_delivery(jr); /* delivered after the final report, which binds it */
	code = agent_sign_run(run, &json);
	if (!json)
		return code;
	{
		struct pib_err se = {0};
		int pr = spool_put(jr->state_dir, jr->job->build_id, "final", jr->job->report_url, jr->job->report_method,
				   jr->job->ca_bundle, json, strlen(json), &se);
		const char *sbom_url = sbom_url_of(jr->job);
		if (pr == 0 && run->sbom_json && sbom_url)
			pr = spool_put(jr->state_dir, jr->job->build_id, "sbom", sbom_url, jr->job->report_method,
				       jr->job->ca_bundle, run->sbom_json, strlen(run->sbom_json), &se);
		cJSON *rs = report_state(run->report);
		if (pr == 0)
			pr = runstate_save(jr->st, RS_FINAL_SPOOLED, rs, NULL, &se);
		cJSON_Delete(rs);
		if (pr < 0) {
			agent_error("the final report cannot be spooled: %s: %s", se.code, se.msg);
			pib_err_clear(&se);
		}
	}
	agent_log("status: %s (exit %d)", report_status(run->report), code);
	code = finish(jr, json, code);
	free(json);
	return code;
}

/* A build whose final report was accepted: only what is spooled is sent. */
static int build_done(struct job_run *jr, char *done)
{
	unsigned left = 0;
	struct pib_err e = {0};

	size_t n = strlen(done);
	while (n && (done[n - 1] == '\n' || done[n - 1] == ' '))
		done[--n] = '\0';
	agent_log("build %s is done (%s): nothing to run", jr->job->build_id, done);
	if (spool_deliver_all(jr->state_dir, pib_now_mono() + jr->job->deliver_seconds, &left, &e) < 0 && left) {
		agent_error("%u report(s) still in the spool: %s", left, e.msg);
		pib_err_clear(&e);
		return PIB_EXIT_SPOOLED;
	}
	return PIB_EXIT_OK;
}

int agent_cmd_run(const struct agent_opts *o)
{
	struct job_run jr = {.o = o, .state_dir = o->state_dir ? o->state_dir : STATE_DIR_DEFAULT};
	struct pib_err e = {0};
	struct sigaction sa = {.sa_handler = on_alarm};
	unsigned left = 0;
	int code = PIB_EXIT_OK;
	char *done = NULL;

	if (!o->job) {
		agent_error("run: --job FILE or --job imds is required");
		return PIB_EXIT_USAGE;
	}
	if ((code = agent_vulns_options(o)) != 0)
		return code;
	pib_catch_interrupts();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	jr.run.opts = o;
	jr.run.cleanup_removes = run_cleanup_removes;
	jr.run.report = report_new("run");
	if (!jr.run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	/* what earlier runs left spooled goes first */
	if (spool_deliver_all(jr.state_dir, pib_now_mono() + EARLIER_DELIVERY_SECONDS, &left, &e) < 0 && left)
		agent_warn("%u earlier report(s) still in the spool: %s", left, e.msg);
	pib_err_clear(&e);

	if (!configure(&jr, &code))
		goto out;
	if (runstate_done(jr.state_dir, jr.job->build_id, &done)) {
		/* the build id of a finished build names its job: another job under it is refused, not "done" */
		if (!strstr(done, jr.job_sha256)) {
			agent_error("run.state_mismatch: build %s was finished with another job (this one's sha256 is %.12s…): a build id names one job; use a new build id",
				    jr.job->build_id, jr.job_sha256);
			code = PIB_EXIT_USAGE;
		} else {
			code = build_done(&jr, done);
		}
		goto out;
	}
	if (runstate_open(jr.state_dir, jr.job->build_id, jr.job_sha256, &jr.st, &e) < 0) {
		agent_error("%s: %s", e.code, e.msg);
		code = e.cls == PIB_ERR_USAGE ? PIB_EXIT_USAGE : PIB_EXIT_ENV;
		goto out;
	}
	runstate_track_children(jr.st);
	jr.resumed = jr.st->stage;
	if (jr.resumed != RS_NEW)
		agent_log("build %s: continuing from stage %s", jr.job->build_id, runstate_stage_name(jr.resumed));
	jr.bundle_path = pib_asprintf("%s/bundle", jr.st->dir);
	if (jr.job->vulns_url && !(jr.vulns_path = pib_asprintf("%s/vulns", jr.st->dir))) {
		free(jr.bundle_path); /* out of memory: exit 4 below */
		jr.bundle_path = NULL;
	}
	/* what an earlier run fetched is used only if it is still the job's (it is not fsynced) */
	if (jr.resumed == RS_FETCHED && jr.bundle_path &&
	    (!intact(jr.bundle_path, jr.job->bundle_sha256) ||
	     (jr.vulns_path && !o->vulns && !(jr.vulns_known = intact(jr.vulns_path, jr.job->vulns_sha256))))) {
		agent_warn("%s: no longer the job's bundle or feed (a crash before it reached the disk?): fetching again",
			   jr.st->dir);
		(void)unlink(jr.bundle_path);
		if (jr.vulns_path)
			(void)unlink(jr.vulns_path);
		jr.vulns_known = false;
		jr.refetch = true;
	}
	/* the report of an earlier run goes on where it stopped */
	if (jr.st->report && jr.resumed < RS_PRE_SPOOLED && !jr.refetch) {
		struct report *saved = report_from_state(jr.st->report);
		if (saved) {
			report_free(jr.run.report);
			jr.run.report = saved;
		}
	}
	char *snap = pib_asprintf("%s/root-snapshot", jr.st->dir);
	jr.run.snapshot_file = snap;
	code = jr.bundle_path && snap ? run_pipeline(&jr) : PIB_EXIT_ENV;
	jr.run.snapshot_file = NULL;
	free(snap);
out:
	pib_err_clear(&e);
	free(done);
	free(jr.bundle_path);
	free(jr.vulns_path);
	runstate_free(jr.st);
	agent_run_free(&jr.run);
	imds_free(jr.imds);
	job_free(jr.job);
	free(jr.root_real);
	return code;
}
