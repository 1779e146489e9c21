/* SPDX-License-Identifier: MIT */
/* The scan steps of a run (prescan, postscan) and what `pib-agent scan` shares with them. */
#include "scan_steps.h"
#include "log.h"
#include "rootdiff.h"
#include "sysstate.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct agent_scan {
	struct scan_config cfg;
	char *job_db; /* the job's clamav_db, when --db was not given */
	struct scan_engine *engine;
	struct scan_session *session;
	struct rootdiff *snap;
	struct pib_err snap_err;
	struct sys_mounts *mounts; /* before install, or NULL */
	struct sys_procs *procs;   /* before install, or NULL */
};


/* ---------------------------------------------------------------- progress */

struct agent_progress {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, printed;
	struct scan_session *s;
	const char *label;
	double t0;
};

static void *progress_main(void *arg)
{
	struct agent_progress *p = arg;
	struct timespec ts;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (p->stop)
			break;
		double el = pib_now_mono() - p->t0;
		if (el < 1.0)
			continue; /* a scan that takes a moment shows nothing */
		uint64_t files, bytes;
		scan_session_progress(p->s, &files, &bytes);
		fprintf(stderr, "\r\033[Kpib-agent: %s: %llu files, %.1f MB, %.1f MB/s", p->label,
			(unsigned long long)files, (double)bytes / 1e6, (double)bytes / 1e6 / el);
		fflush(stderr);
		p->printed = true;
	}
	if (p->printed) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct agent_progress *agent_progress_start(struct scan_session *s, const char *label)
{
	struct agent_progress *p;

	if (!isatty(STDERR_FILENO) || agent_log_is_json()) /* a log collector wants whole lines */
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->s = s;
	p->label = label;
	p->t0 = pib_now_mono();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->th, NULL, progress_main, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return NULL;
	}
	return p;
}

void agent_progress_stop(struct agent_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* ---------------------------------------------------------------- shared */

void agent_scan_config(const struct agent_opts *o, struct scan_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->db = o->db;
	cfg->jobs = o->jobs > 0 ? (unsigned)o->jobs : 0;
	cfg->limits.max_filesize = o->max_filesize;
	cfg->limits.max_scansize = o->max_scansize;
	cfg->limits.max_recursion = o->max_recursion;
	cfg->limits.max_files = o->max_files;
	cfg->heuristics = o->heuristics;
}

void agent_scan_free(struct agent_scan *as)
{
	if (!as)
		return;
	scan_session_free(as->session);
	if (as->engine)
		scanner_clamav.close(as->engine);
	rootdiff_free(as->snap);
	sysstate_mounts_free(as->mounts);
	sysstate_procs_free(as->procs);
	pib_err_clear(&as->snap_err);
	free(as->job_db);
	free(as);
}

/* "debs/x.deb: usr/bin/x (package x): Sig" for the first detection, and how many there are. */
static void fail_findings(struct agent_run *run, struct scan_session *s, const char *when)
{
	size_t n = scan_session_n_detections(s);
	const struct scan_detection *d = scan_session_detection(s, 0);

	if (!n || !d)
		return;
	pib_fail(&run->err, -EPERM, PIB_ERR_FINDINGS, "scan.malware_found",
		 "malware found %s: %s%s%s%s%s%s: %s (%s); %zu detection%s in all (scan.detections)", when,
		 d->path, d->member ? ": " : "", d->member ? d->member : "", d->package ? " (package " : "",
		 d->package ? d->package : "", d->package ? ")" : "", d->signature, scan_kind_name(d->kind),
		 n, n == 1 ? "" : "s");
}

/*
 * Logs a scan phase. Files it did not scan, or cut short, for a limit or an error are listed in
 * scan.skipped; they make the run incomplete: a scan that did not see everything is never
 * reported as a clean, finished one.
 */
static void summary(struct agent_run *run, struct scan_session *s, const char *phase, double t0)
{
	cJSON *j = scan_session_json(s);
	cJSON *ph = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "phases"), phase);
	double files = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ph, "files_scanned"));
	double bytes = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ph, "bytes_scanned"));
	double same = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ph, "files_identical_to_prescanned"));

	char extra[96] = "";

	if (same == same && same > 0) /* NaN: not a postscan */
		snprintf(extra, sizeof(extra), " (%.0f identical to prescanned members not scanned again)", same);
	agent_log("%s: %.0f files, %.1f MB scanned in %.1f s%s; %zu detection%s, %zu not scanned or cut short", phase,
	    files, bytes / 1e6, pib_now_mono() - t0, extra, scan_session_n_detections(s),
	    scan_session_n_detections(s) == 1 ? "" : "s", scan_session_n_skipped(s));
	if (scan_session_n_skipped(s) > 0) {
		run->report->any_skipped = true;
		report_step_detail(run->report, "incomplete",
				   cJSON_CreateString("files were not scanned or were cut short: see scan.skipped"));
	}
	cJSON_Delete(j);
}

/* ---------------------------------------------------------------- prescan */

static struct agent_scan *scan_state(struct agent_run *run)
{
	if (!run->scan && (run->scan = calloc(1, sizeof(*run->scan))))
		agent_scan_config(run->opts, &run->scan->cfg);
	return run->scan;
}

int agent_scan_setup(struct agent_run *run, const char *job_db, unsigned max_age_days)
{
	struct agent_scan *as = scan_state(run);

	if (!as)
		return pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (!run->opts->db && job_db && *job_db) {
		free(as->job_db);
		as->job_db = strdup(job_db);
		as->cfg.db = as->job_db;
	}
	as->cfg.max_age_days = max_age_days;
	return 0;
}

/* The engine (the database loaded and checked) and the session, once per run. */
static int scan_open(struct agent_run *run, struct pib_err *err)
{
	struct agent_scan *as = scan_state(run);
	int r;

	if (!as)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (!as->engine && (r = scanner_clamav.open(&as->cfg, &as->engine, err)) < 0)
		return r;
	if (!as->session && (r = scan_session_new(&scanner_clamav, as->engine, &as->cfg, &as->session, err)) < 0)
		return r;
	return 0;
}

int agent_scan_prescan(struct agent_run *run)
{
	struct agent_scan *as;
	double t0 = pib_now_mono();
	int r = scan_open(run, &run->err);

	if (r < 0)
		return r;
	as = run->scan;
	struct scan_session *s = as->session;
	scan_session_phase(s, "prescan");
	struct agent_progress *p = agent_progress_start(s, "prescan");
	for (size_t i = 0; i < run->target->n_packages && r == 0; i++) {
		const struct bundle_member *m = bundle_find(run->bundle, run->target->packages[i].file);
		if (!m) {
			r = pib_fail(&run->err, -ENOENT, PIB_ERR_FAILED, "scan.package_unreadable",
				     "%s: not in the bundle", run->target->packages[i].file);
			break;
		}
		r = scan_session_package(s, m->path, m->name, SCAN_F_PACKAGES | SCAN_F_RECORD, &run->err);
	}
	scan_session_wait(s);
	agent_progress_stop(p);
	/* a package scanned whole and clean: its copies in the root (apt's staging) need no second look */
	for (size_t i = 0; r == 0 && i < run->target->n_packages; i++) {
		const struct bundle_member *m = bundle_find(run->bundle, run->target->packages[i].file);
		if (m)
			(void)scan_session_remember_clean(s, m->name, m->size, m->sha256);
	}
	report_set(run->report, "scan", scan_session_json(s));
	summary(run, s, "prescan", t0);
	if (r == 0)
		fail_findings(run, s, "before install (nothing was installed)");
	return run->err.set ? -EPERM : 0;
}

/* ---------------------------------------------------------------- postscan */

const struct rootdiff *agent_scan_snapshot(const struct agent_run *run)
{
	return run->scan ? run->scan->snap : NULL;
}

void agent_scan_before_install(struct agent_run *run)
{
	struct agent_scan *as = run->scan;
	struct pib_err e = {0};

	/* a run continued after its prescan (run's rerun) opens the scanner here; postscan says why it cannot */
	if (!run->opts->no_scan && (!as || !as->session) && scan_open(run, &e) == 0)
		as = run->scan;
	pib_err_clear(&e);
	if (!as || !as->session || as->snap)
		return;
	double t0 = pib_now_mono();
	if (sysstate_mounts(&as->mounts) < 0)
		as->mounts = NULL; /* postscan says so */
	if (sysstate_procs(&as->procs) < 0)
		as->procs = NULL;
	/* run: the snapshot of a first install attempt that the agent did not survive is the one to diff against */
	if (run->snapshot_file && access(run->snapshot_file, F_OK) == 0) {
		int r = rootdiff_load(run->root, run->snapshot_file, &as->snap);
		if (r == 0) {
			agent_log("root snapshot: %zu files, as saved before the first install attempt",
				  rootdiff_files(as->snap));
			return;
		}
		agent_warn("%s: cannot read the saved root snapshot (%s): taking a new one", run->snapshot_file,
			   strerror(-r));
	}
	/* with digests and /etc copies: what the install changed in the image (imagechange.c) */
	if (rootdiff_snapshot_ex(run->root, ROOTDIFF_CONTENTS, &as->snap, &as->snap_err) < 0)
		return;
	agent_log("root snapshot: %zu files (%zu digests) in %.1f s", rootdiff_files(as->snap),
		  rootdiff_digests(as->snap), pib_now_mono() - t0);
	int w = run->snapshot_file ? rootdiff_save(as->snap, run->snapshot_file) : 0;
	if (w < 0)
		agent_warn("%s: cannot save the root snapshot (%s): a rerun after a kill would take a new one",
			   run->snapshot_file, strerror(-w));
}

/* (dev, inode) pairs already queued, so that a file reached by two paths is scanned once. */
struct inode_set {
	struct {
		dev_t dev;
		ino_t ino;
	} *v;
	size_t n, cap;
};

static bool inode_seen(struct inode_set *set, const struct stat *st)
{
	uint64_t h = ((uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)st->st_dev;

	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4096;
		__typeof__(set->v) nv = calloc(cap, sizeof(*nv));
		if (!nv)
			return false;
		for (size_t k = 0; k < set->cap; k++) {
			if (!set->v[k].ino)
				continue;
			uint64_t hk = ((uint64_t)set->v[k].ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)set->v[k].dev;
			size_t i = hk & (cap - 1);
			while (nv[i].ino)
				i = (i + 1) & (cap - 1);
			nv[i] = set->v[k];
		}
		free(set->v);
		set->v = nv;
		set->cap = cap;
	}
	size_t i = h & (set->cap - 1);
	while (set->v[i].ino) {
		if (set->v[i].ino == st->st_ino && set->v[i].dev == st->st_dev)
			return true;
		i = (i + 1) & (set->cap - 1);
	}
	set->v[i].dev = st->st_dev;
	set->v[i].ino = st->st_ino;
	set->n++;
	return false;
}

/* A file of a package's list that cannot be reached is listed in scan.skipped (one that is not there is not). */
static void skip_pkg_file(struct agent_run *run, const char *path, const char *package, int e)
{
	char *reason = pib_asprintf("not scanned: a file of package %s that cannot be reached: %s", package,
				    strerror(e));

	scan_session_skip(run->scan->session, path, NULL, "error", reason ? reason : "not scanned");
	free(reason);
}

/* Queues a file of a package's list (a path inside the root) when it is a regular file not queued yet. */
static int queue_in_root(struct agent_run *run, struct inode_set *seen, const char *path,
			 const char *package, size_t *n)
{
	char *host = NULL;
	struct stat st;
	int r, fd;

	if ((r = pib_path_in_root(run->root, path, false, &host)) < 0) {
		if (r == -ENOMEM)
			return r;
		if (r != -ENOENT && r != -ENAMETOOLONG) /* too long for a path: the walk reaches it by descriptors */
			skip_pkg_file(run, path, package, -r);
		return 0;
	}
	fd = open(host, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	free(host);
	if (fd < 0) {
		/* gone, a symlink, or too long: nothing to scan here (the walk reaches every new file) */
		if (errno != ENOENT && errno != ELOOP && errno != ENAMETOOLONG && errno != ENOTDIR)
			skip_pkg_file(run, path, package, errno);
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || inode_seen(seen, &st)) {
		close(fd);
		return 0;
	}
	r = scan_session_file_fd(run->scan->session, fd, path, package, SCAN_F_PACKAGES | SCAN_F_DEDUP);
	if (r == 0)
		(*n)++;
	return r;
}

/* What the root's walk finds, on its way to the session. */
struct changes {
	struct agent_run *run;
	struct inode_set *seen;
	size_t n;
	cJSON *not_walked;
};

static int change_file(void *ctx, int fd, const char *path, const struct stat *st)
{
	struct changes *c = ctx;

	if (inode_seen(c->seen, st)) {
		close(fd);
		return 0;
	}
	int r = scan_session_file_fd(c->run->scan->session, fd, path, NULL, SCAN_F_PACKAGES | SCAN_F_DEDUP);
	if (r == 0)
		c->n++;
	return r;
}

static void change_skip(void *ctx, const char *path, const char *code, const char *reason)
{
	struct changes *c = ctx;

	scan_session_skip(c->run->scan->session, path, NULL, code, reason);
}

static void change_not_walked(void *ctx, const char *path, const char *fstype)
{
	struct changes *c = ctx;
	cJSON *o = cJSON_CreateObject();
	char *p = pib_text_clean(path, false);

	if (o && p && cJSON_AddStringToObject(o, "path", p) && cJSON_AddStringToObject(o, "fstype", fstype))
		cJSON_AddItemToArray(c->not_walked, o);
	else
		cJSON_Delete(o);
	free(p);
}

/*
 * The mounts that appeared during install under the root: listed (step detail mounts_added),
 * their mount points returned for the walk beneath them. Without a table from before install,
 * a skip says that mounts could not be compared.
 */
static char **mounts_added(struct agent_run *run)
{
	struct agent_scan *as = run->scan;
	struct sys_mounts *now = NULL;
	cJSON *json = NULL;
	char **paths = NULL;

	if (!as->mounts || sysstate_mounts(&now) < 0 ||
	    sysstate_mounts_added(as->mounts, now, run->root, &json, &paths) < 0) {
		scan_session_skip(as->session, "/", NULL, "error",
				  "the mount table (/proc/self/mountinfo) could not be read before and after install: a mount made by the install may hide files");
		sysstate_mounts_free(now);
		return NULL;
	}
	sysstate_mounts_free(now);
	for (size_t i = 0; paths[i]; i++)
		agent_warn("a filesystem was mounted during install on %s: what lies beneath it is scanned too",
			  paths[i]);
	report_step_detail(run->report, "mounts_added", json);
	return paths;
}

/* The processes the install left running: step detail processes_left. */
static void processes_left(struct agent_run *run)
{
	struct agent_scan *as = run->scan;
	cJSON *left = as->procs ? sysstate_procs_left(as->procs, run->root) : NULL;

	if (!left) {
		report_step_detail(run->report, "processes_left", cJSON_CreateNull());
		return;
	}
	if (cJSON_GetArraySize(left) > 0)
		agent_warn("%d process%s started during install %s still running (postscan processes_left)",
			  cJSON_GetArraySize(left), cJSON_GetArraySize(left) == 1 ? "" : "es",
			  cJSON_GetArraySize(left) == 1 ? "is" : "are");
	report_step_detail(run->report, "processes_left", left);
}

int agent_scan_postscan(struct agent_run *run)
{
	struct agent_scan *as = run->scan;
	struct inode_set seen = {0};
	size_t n_pkg = 0;
	struct changes ch = {.run = run, .seen = &seen, .not_walked = cJSON_CreateArray()};
	char **beneath = NULL;
	double t0 = pib_now_mono();
	int r = 0;

	if ((!as || !as->session) && (r = scan_open(run, &run->err)) < 0)
		return r;
	as = run->scan;
	struct scan_session *s = as->session;
	scan_session_phase(s, "postscan");
	struct agent_progress *p = agent_progress_start(s, "postscan");
	processes_left(run);
	const struct inst_ctx *c = &run->ictx;
	for (size_t i = 0; i < c->n_pkgs && r == 0; i++)
		for (size_t k = 0; c->pkgs[i].files && c->pkgs[i].files[k] && r == 0; k++)
			r = queue_in_root(run, &seen, c->pkgs[i].files[k], c->pkgs[i].name, &n_pkg);
	if (r < 0)
		pib_fail(&run->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (r == 0 && !as->snap) {
		pib_fail(&run->err, as->snap_err.set ? -EIO : -EINVAL, PIB_ERR_ENV, "scan.root_unreadable",
			 "cannot tell what maintainer scripts changed: %s",
			 as->snap_err.set ? as->snap_err.msg : "no snapshot of the root before install");
	} else if (r == 0) {
		beneath = mounts_added(run);
		struct rootdiff_sink sink = {.ctx = &ch, .file = change_file, .skip = change_skip,
					     .not_walked = change_not_walked};
		r = rootdiff_walk_changes(as->snap, beneath, &sink, &run->err);
		if (r < 0)
			pib_fail(&run->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	scan_session_wait(s);
	agent_progress_stop(p);
	free(seen.v);
	pib_strv_free(beneath);
	report_step_detail(run->report, "files_from_packages", cJSON_CreateNumber((double)n_pkg));
	report_step_detail(run->report, "files_changed_outside_packages", cJSON_CreateNumber((double)ch.n));
	report_step_detail(run->report, "not_walked", ch.not_walked);
	report_set(run->report, "scan", scan_session_json(s));
	summary(run, s, "postscan", t0);
	fail_findings(run, s, "after install");
	return run->err.set ? -EPERM : 0;
}
