/* SPDX-License-Identifier: MIT */
/* `pib-agent scan PATH...`: the ClamAV scanner alone on files, directories and .deb/.rpm packages. */
#include "log.h"
#include "scan_steps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Queues one argument: a directory (walked), a package (by payload) or a file. */
static void scan_arg(const struct agent_run *run, struct scan_session *s, const char *arg, size_t *n_missing)
{
	char *host = NULL;
	struct stat st;
	char reason[600];

	if (run->opts->root) {
		char *inside = arg[0] == '/' ? strdup(arg) : pib_asprintf("/%s", arg);
		int r = inside ? pib_path_in_root(run->root, inside, true, &host) : -ENOMEM;
		free(inside);
		if (r < 0) {
			snprintf(reason, sizeof(reason), "not scanned: cannot resolve it inside %s: %s", run->root,
				 strerror(-r));
			scan_session_skip(s, arg, NULL, "missing", reason);
			(*n_missing)++;
			return;
		}
	} else {
		struct stat lst;
		/* the file a symlink given on the command line points to, as clamscan does */
		host = lstat(arg, &lst) == 0 && S_ISLNK(lst.st_mode) ? realpath(arg, NULL) : strdup(arg);
		if (!host) {
			snprintf(reason, sizeof(reason), "not scanned: %s", strerror(errno));
			scan_session_skip(s, arg, NULL, "missing", reason);
			(*n_missing)++;
			return;
		}
	}
	/* a symlink given on the command line is followed (those found in directories are not) */
	if (stat(host, &st) < 0) {
		snprintf(reason, sizeof(reason), "not scanned: %s", strerror(errno));
		scan_session_skip(s, arg, NULL, "missing", reason);
		(*n_missing)++;
	} else if (S_ISDIR(st.st_mode)) {
		if (scan_session_tree(s, host, arg, SCAN_F_PACKAGES) < 0)
			scan_session_skip(s, arg, NULL, "error", "not scanned: out of memory");
	} else if (S_ISREG(st.st_mode)) {
		struct pib_err perr = {0};
		if (scan_session_package(s, host, arg, SCAN_F_PACKAGES, &perr) < 0) {
			/* listed as not read completely, and still scanned as it is */
			scan_session_skip(s, arg, NULL, "unreadable", perr.msg);
			if (scan_session_file(s, host, arg, NULL, 0) < 0)
				scan_session_skip(s, arg, NULL, "error", "not scanned: out of memory");
		}
		pib_err_clear(&perr);
	} else {
		scan_session_skip(s, arg, NULL, "special",
					"not scanned: neither a regular file nor a directory");
	}
	free(host);
}

int agent_cmd_scan(const struct agent_opts *o)
{
	struct agent_run run = {.opts = o};
	struct scan_config cfg;
	struct scan_engine *engine = NULL;
	struct scan_session *s = NULL;
	struct stat st;
	size_t n_missing = 0;
	int code;

	if (o->root && (o->root[0] != '/' || stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode))) {
		agent_error("--root %s: not an existing directory given as an absolute path", o->root);
		return PIB_EXIT_USAGE;
	}
	run.root = o->root ? o->root : "/";
	run.report = report_new("scan");
	if (!run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	report_step_begin(run.report, "scan");
	cJSON *paths = cJSON_CreateArray();
	for (int i = 0; i < o->n_args; i++)
		cJSON_AddItemToArray(paths, cJSON_CreateString(o->args[i]));
	report_step_detail(run.report, "paths", paths);

	agent_scan_config(o, &cfg);
	double t0 = pib_now_mono();
	if (scanner_clamav.open(&cfg, &engine, &run.err) == 0 &&
	    scan_session_new(&scanner_clamav, engine, &cfg, &s, &run.err) == 0) {
		scan_session_phase(s, "scan");
		struct agent_progress *p = agent_progress_start(s, "scan");
		for (int i = 0; i < o->n_args; i++)
			scan_arg(&run, s, o->args[i], &n_missing);
		scan_session_wait(s);
		agent_progress_stop(p);
		report_set(run.report, "scan", scan_session_json(s));

		size_t n = scan_session_n_detections(s);
		cJSON *sj = report_get(run.report, "scan");
		/* a file that could not be read whole is not clean: the run is incomplete (limits are listed only) */
		if (scan_session_n_unread(s) > 0)
			run.report->any_skipped = true;
		agent_log("scan: %.0f files, %.1f MB scanned in %.1f s; %zu detection%s, %zu not scanned or cut short",
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sj, "files_scanned")),
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sj, "bytes_scanned")) / 1e6,
			pib_now_mono() - t0, n, n == 1 ? "" : "s", scan_session_n_skipped(s));
		for (size_t i = 0; i < n; i++) {
			const struct scan_detection *d = scan_session_detection(s, i);
			if (!d)
				break;
			agent_warn("%s%s%s: %s FOUND (%s)", d->path, d->member ? "!" : "",
				d->member ? d->member : "", d->signature, scan_kind_name(d->kind));
		}
		const struct scan_detection *d = scan_session_detection(s, 0);
		if (n && d)
			pib_fail(&run.err, -EPERM, PIB_ERR_FINDINGS, "scan.malware_found",
				 "malware found: %s%s%s: %s; %zu detection%s in all (scan.detections)", d->path,
				 d->member ? ": " : "", d->member ? d->member : "", d->signature, n,
				 n == 1 ? "" : "s");
		else if (n_missing)
			pib_fail(&run.err, -ENOENT, PIB_ERR_USAGE, "scan.path_missing",
				 "%zu of the paths given cannot be scanned (see scan.skipped)", n_missing);
	}
	if (run.err.set)
		agent_error("scan failed: %s: %s", run.err.code, run.err.msg);
	report_step_end(run.report, &run.err);
	pib_err_clear(&run.err);
	code = agent_finish_run(&run);
	scan_session_free(s);
	if (engine)
		scanner_clamav.close(engine);
	report_free(run.report);
	return code;
}
