/* SPDX-License-Identifier: MIT */
/* The state of one build under STATE_DIR/builds/BUILD_ID: how far it got, written atomically after each step. */
#include "runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

#define STATE_FILE "state.json"
#define CHILDREN_FILE "children"
#define MAX_CHILDREN 64

static const char *const stage_names[] = {"new", "fetched", "pre-install-spooled", "pre-install-accepted",
					  "installing", "final-spooled", "done"};

const char *runstate_stage_name(enum run_stage s)
{
	return (unsigned)s < sizeof(stage_names) / sizeof(stage_names[0]) ? stage_names[s] : "?";
}

/* A folder of ours: created 0700 when missing; a symlink, another owner or group/other write is refused. */
static int own_dir(const char *path, struct pib_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return pib_fail(err, -errno, PIB_ERR_ENV, "run.state", "%s: cannot create: %s", path,
				strerror(errno));
	if (lstat(path, &st) < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "run.state", "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return pib_fail(err, -EPERM, PIB_ERR_ENV, "run.state",
				"%s: not a folder of the agent's own (a symlink, another owner, or writable by others): refusing to keep state there",
				path);
	return 0;
}

/* The start time of a process (field 22 of /proc/PID/stat), 0 when it is gone. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], *text = NULL;
	size_t len = 0;
	unsigned long long t = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pib_read_file(path, 4096, &text, &len) < 0)
		return 0;
	char *p = strrchr(text, ')');
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime cutime cstime priority nice threads itrealvalue starttime(22) */
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (p)
		t = strtoull(p, NULL, 10);
	free(text);
	return t;
}

/* Kills the process groups a killed earlier run left (recorded with their start times). */
static void kill_leftovers(const char *dir)
{
	char *path = pib_asprintf("%s/%s", dir, CHILDREN_FILE), *text = NULL, *save = NULL;
	size_t len = 0;

	if (!path || pib_read_file(path, 64 * MAX_CHILDREN, &text, &len) < 0) {
		free(path);
		return;
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		long pid = 0;
		unsigned long long start = 0;
		if (sscanf(l, "%ld %llu", &pid, &start) != 2 || pid <= 1 || start == 0)
			continue;
		if (proc_start((pid_t)pid) != start)
			continue; /* gone, or the number was reused */
		kill(-(pid_t)pid, SIGKILL);
		kill((pid_t)pid, SIGKILL);
		for (int i = 0; i < 500 && proc_start((pid_t)pid) == start; i++)
			usleep(20000); /* bounded: 10 s */
	}
	free(text);
	unlink(path);
	free(path);
}

static struct runstate *tracked;
static pid_t kids[MAX_CHILDREN];
static unsigned long long kid_start[MAX_CHILDREN];

static void write_children(void)
{
	struct pib_buf b = {0};

	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (kids[i])
			(void)pib_buf_printf(&b, "%d %llu\n", (int)kids[i], kid_start[i]);
	char *path = pib_asprintf("%s/%s", tracked->dir, CHILDREN_FILE);
	if (path)
		(void)!pib_write_file(path, b.data ? b.data : "", b.len, 0600);
	free(path);
	pib_buf_free(&b);
}

static void child_hook(pid_t pid, bool started)
{
	if (!tracked)
		return;
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (started && !kids[i]) {
			kids[i] = pid;
			kid_start[i] = proc_start(pid);
			break;
		}
		if (!started && kids[i] == pid) {
			kids[i] = 0;
			break;
		}
	}
	write_children();
}

void runstate_track_children(struct runstate *s)
{
	tracked = s;
	pib_child_hook = s ? child_hook : NULL;
}

static int load(struct runstate *s, const char *job_sha256, struct pib_err *err)
{
	char *path = pib_asprintf("%s/%s", s->dir, STATE_FILE), *text = NULL;
	size_t len = 0;
	int r = path ? pib_read_file(path, 256u << 20, &text, &len) : -ENOMEM;

	if (r == -ENOENT) {
		free(path);
		snprintf(s->job_sha256, sizeof(s->job_sha256), "%s", job_sha256);
		return 0;
	}
	if (r < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "run.state", "%s: %s", path ? path : s->dir, strerror(-r));
		goto out;
	}
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stage");
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(j, "job_sha256");
	int stage = -1;
	for (size_t i = 0; cJSON_IsString(st) && i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
		if (!strcmp(st->valuestring, stage_names[i]))
			stage = (int)i;
	if (!j || stage < 0 || !cJSON_IsString(js) || !pib_is_hex64(js->valuestring)) {
		r = pib_fail(err, -EINVAL, PIB_ERR_ENV, "run.state",
			     "%s: not a state file of this agent (no valid stage or job_sha256): remove the folder %s to start the build again",
			     path, s->dir);
	} else if (strcmp(js->valuestring, job_sha256)) {
		r = pib_fail(err, -EEXIST, PIB_ERR_USAGE, "run.state_mismatch",
			     "build %s was started with another job (sha256 %.12s…, this one %.12s…): a build id names one job; use a new build id",
			     s->build_id, js->valuestring, job_sha256);
	} else {
		snprintf(s->job_sha256, sizeof(s->job_sha256), "%s", js->valuestring);
		s->stage = (enum run_stage)stage;
		s->report = cJSON_DetachItemFromObjectCaseSensitive(j, "report");
		s->transaction = cJSON_DetachItemFromObjectCaseSensitive(j, "transaction");
	}
	cJSON_Delete(j);
out:
	free(text);
	free(path);
	return r;
}

int runstate_open(const char *state_dir, const char *build_id, const char *job_sha256,
		  struct runstate **ret, struct pib_err *err)
{
	struct runstate *s = calloc(1, sizeof(*s));
	int r;

	*ret = NULL;
	if (!s)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	s->lock_fd = -1;
	s->state_dir = pib_strdup(state_dir);
	s->build_id = pib_strdup(build_id);
	s->dir = pib_asprintf("%s/builds/%s", state_dir, build_id);
	if (!s->state_dir || !s->build_id || !s->dir) {
		runstate_free(s);
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	char *builds = pib_asprintf("%s/builds", state_dir);
	r = !builds ? pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory")
		    : own_dir(state_dir, err) < 0 ? -EPERM : own_dir(builds, err);
	free(builds);
	if (r < 0 || (r = own_dir(s->dir, err)) < 0) {
		runstate_free(s);
		return r;
	}
	char *lock = pib_asprintf("%s/lock", s->dir);
	s->lock_fd = lock ? open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	free(lock);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = pib_fail(err, -EBUSY, PIB_ERR_ENV, "run.busy",
			     "%s: another pib-agent is working on build %s (its lock is held)", s->dir, build_id);
		runstate_free(s);
		return r;
	}
	if ((r = load(s, job_sha256, err)) < 0) {
		runstate_free(s);
		return r;
	}
	kill_leftovers(s->dir);
	*ret = s;
	return 0;
}

int runstate_save(struct runstate *s, enum run_stage stage, const cJSON *report, const cJSON *transaction,
		  struct pib_err *err)
{
	cJSON *j = cJSON_CreateObject();
	char *path = pib_asprintf("%s/%s", s->dir, STATE_FILE), *text = NULL;
	char now[40];
	int r = -ENOMEM;

	if (report) {
		cJSON_Delete(s->report);
		s->report = cJSON_Duplicate(report, true);
	}
	if (transaction) {
		cJSON_Delete(s->transaction);
		s->transaction = cJSON_Duplicate(transaction, true);
	}
	pib_now_rfc3339(now);
	if (j && path) {
		cJSON_AddStringToObject(j, "build_id", s->build_id);
		cJSON_AddStringToObject(j, "job_sha256", s->job_sha256);
		cJSON_AddStringToObject(j, "stage", runstate_stage_name(stage));
		cJSON_AddStringToObject(j, "saved", now);
		if (s->report)
			cJSON_AddItemToObject(j, "report", cJSON_Duplicate(s->report, true));
		if (s->transaction)
			cJSON_AddItemToObject(j, "transaction", cJSON_Duplicate(s->transaction, true));
		text = cJSON_PrintUnformatted(j);
	}
	if (text)
		r = pib_write_file(path, text, strlen(text), 0600);
	if (r < 0)
		r = pib_fail(err, r, PIB_ERR_ENV, "run.state", "%s: cannot record stage %s: %s",
			     path ? path : s->dir, runstate_stage_name(stage), strerror(-r));
	else
		s->stage = stage;
	cJSON_Delete(j);
	free(text);
	free(path);
	return r;
}

void runstate_free(struct runstate *s)
{
	if (!s)
		return;
	if (tracked == s)
		runstate_track_children(NULL);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	cJSON_Delete(s->report);
	cJSON_Delete(s->transaction);
	free(s->state_dir);
	free(s->dir);
	free(s->build_id);
	free(s);
}

bool runstate_done(const char *state_dir, const char *build_id, char **ret_text)
{
	char *path = pib_asprintf("%s/done/%s", state_dir, build_id), *text = NULL;
	size_t len = 0;
	bool done = path && pib_read_file(path, 4096, &text, &len) == 0;

	free(path);
	if (ret_text)
		*ret_text = text;
	else
		free(text);
	return done;
}

int runstate_mark_done(const char *state_dir, const char *build_id, const char *text)
{
	struct pib_err e = {0};
	char *dir = pib_asprintf("%s/done", state_dir);
	char *path = pib_asprintf("%s/done/%s", state_dir, build_id);
	int r = dir && path ? own_dir(dir, &e) : -ENOMEM;

	if (r == 0)
		r = pib_write_file(path, text, strlen(text), 0600);
	pib_err_clear(&e);
	free(dir);
	free(path);
	return r;
}
