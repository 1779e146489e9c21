/* SPDX-License-Identifier: MIT */
/*
 * The vulns step: the OSV feed given (--vulns, the job's `vulns`) matched against the image's
 * installed packages and the transaction's, each hit marked with its origin: `bundle` when
 * the transaction brought or upgraded the package, `image` when the gold image had it. Only
 * bundle hits at or above the threshold (--vulns-fail-on, default high) make the run
 * `findings`. A feed that is too old, or that names none of the image's ecosystem, is said
 * in the step and makes the run `incomplete`: never a silent "no vulnerabilities".
 * Also `pib-agent vulns`: the same match on a root alone, for an audit.
 */
#include "log.h"
#include "pipeline.h"
#include "policyfile.h"
#include "pkgdb.h"
#include "pkgmeta.h"
#include "report.h"
#include "vulns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define VULNS_DEFAULT_MAX_AGE_DAYS 7u

struct agent_vulns {
	struct vuln_db *db;
	char *path;
	char *ecosystem;          /* the image's OSV ecosystem, or NULL when it has none */
	enum pkgdb_family family;
	bool no_db;               /* the OS has no dpkg or rpm database (windows) */
	unsigned max_age_days;    /* 0: no limit */
	bool audit;               /* pib-agent vulns: every package is judged */
};

void agent_vulns_free(struct agent_run *run)
{
	struct agent_vulns *v = run->vulns;
	if (!v)
		return;
	vuln_db_free(v->db);
	free(v->path);
	free(v->ecosystem);
	free(v);
	run->vulns = NULL;
}

/*
 * The one threshold of the bundle's vulnerabilities: --vulns-fail-on, else the image policy's
 * fail_on (--policy, the job's policy, or the default's high), the same as the policy step's.
 */
static enum vuln_severity fail_on(const struct agent_run *run)
{
	const struct agent_opts *o = run->opts;
	enum vuln_severity s = VULN_SEV_HIGH;
	const char *name = o->vulns_fail_on ? o->vulns_fail_on
			   : run->policy_file ? policy_severity_name(run->policy_file->fail_on)
					      : NULL;
	if (name && vuln_severity_parse(name, &s) < 0) /* --vulns-fail-on: refused by agent_vulns_options */
		s = VULN_SEV_HIGH;
	return s;
}

int agent_vulns_options(const struct agent_opts *o)
{
	enum vuln_severity s;
	if (o->vulns_fail_on && vuln_severity_parse(o->vulns_fail_on, &s) < 0) {
		agent_error("--vulns-fail-on: expected info, low, medium, high or critical, got \"%s\"", o->vulns_fail_on);
		return PIB_EXIT_USAGE;
	}
	if (o->vulns_max_age) {
		char *end = NULL;
		unsigned long d = strtoul(o->vulns_max_age, &end, 10);
		if (!*o->vulns_max_age || *end || d > 3650 || o->vulns_max_age[0] == '-') {
			agent_error("--vulns-max-age: expected a number of days from 0 (no limit) to 3650, got \"%s\"",
				    o->vulns_max_age);
			return PIB_EXIT_USAGE;
		}
	}
	if ((o->vulns_fail_on || o->vulns_max_age) && !o->vulns && strcmp(o->command, "run")) {
		agent_error("--vulns-fail-on and --vulns-max-age need --vulns FILE|DIR");
		return PIB_EXIT_USAGE;
	}
	return 0;
}

static unsigned max_age(const struct agent_opts *o, unsigned job_days, bool job_given)
{
	if (o->vulns_max_age)
		return (unsigned)strtoul(o->vulns_max_age, NULL, 10);
	return job_given ? job_days : VULNS_DEFAULT_MAX_AGE_DAYS;
}

bool agent_vulns_load(struct agent_run *run, const char *path, unsigned job_max_age, bool job_max_age_given)
{
	const struct agent_opts *o = run->opts;
	struct agent_vulns *v;

	if (o->vulns)
		path = o->vulns;
	if (!path)
		return true;
	if (!(v = calloc(1, sizeof(*v))) || !(v->path = strdup(path))) {
		free(v);
		report_step_begin(run->report, "vulns");
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return !agent_step_end(run);
	}
	run->vulns = v;
	v->max_age_days = max_age(o, job_max_age, job_max_age_given);
	if (pkgdb_family_of(run->os.family, &v->family) < 0) {
		v->no_db = true; /* said by the step */
		return true;
	}
	v->ecosystem = pkgdb_osv_ecosystem(&run->os);
	if (!v->ecosystem && errno == ENOMEM) {
		report_step_begin(run->report, "vulns");
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return !agent_step_end(run);
	}
	double t0 = pib_now_mono();
	/* before anything is installed: a feed that cannot be read stops the run here */
	if (vuln_db_load(path, v->ecosystem, v->family, &v->db, &run->err) < 0) {
		report_step_begin(run->report, "vulns");
		report_step_detail(run->report, "feed", cJSON_CreateString(path));
		return !agent_step_end(run);
	}
	const struct vuln_feed_info *in = vuln_db_info(v->db);
	agent_log("vulns: %s: %zu records in %zu file%s, %zu of %s, read in %.2f s", path, in->records, in->files,
		  in->files == 1 ? "" : "s", in->records_mine, v->ecosystem ? v->ecosystem : "no OSV ecosystem",
		  pib_now_mono() - t0);
	return true;
}

/* The Source: field of a .deb's control text, or NULL. */
static char *control_source(const char *text, size_t len)
{
	for (const char *p = text; p && p < text + len;) {
		const char *le = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = le ? (size_t)(le - p) : (size_t)(text + len - p);
		if (n > 7 && !strncasecmp(p, "Source:", 7)) {
			const char *v = p + 7;
			while (v < p + n && (*v == ' ' || *v == '\t'))
				v++;
			const char *e = p + n;
			while (e > v && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t'))
				e--;
			return e > v ? pib_strndup(v, (size_t)(e - v)) : NULL;
		}
		p = le ? le + 1 : NULL;
	}
	return NULL;
}

/* The packages to match: the root's, and the transaction's (installed or, without an install, as they would be). */
struct pkg_list {
	struct vuln_pkg *p;
	size_t n;
	char **owned; /* strings made here */
};

static const char *keep(struct pkg_list *l, char *s)
{
	if (s && pib_strv_push(&l->owned, s) < 0) {
		free(s);
		return NULL;
	}
	free(s);
	return s ? l->owned[pib_strv_len(l->owned) - 1] : NULL;
}

static bool in_transaction(const struct inst_ctx *c, const char *name, const char *arch)
{
	for (size_t i = 0; i < c->n_pkgs; i++)
		if (!strcmp(c->pkgs[i].name, name) && !strcmp(c->pkgs[i].arch, arch))
			return true;
	return false;
}

/* A transaction package not installed: its Source: read from the bundle's .deb (name (version) or name). */
static void tx_source(struct pkg_list *l, struct vuln_pkg *k, const struct inst_pkg *p, bool deb)
{
	k->source = k->name;
	k->source_version = k->version;
	if (!deb || !p->member || !p->path)
		return; /* a package of the image's repositories: named as itself (documented) */
	char *text = NULL;
	size_t len = 0;
	struct pib_err e = {0};
	if (inst_deb_read_control(p->path, p->member, &text, &len, &e) < 0) {
		pib_err_clear(&e);
		return;
	}
	char *src = control_source(text, len);
	free(text);
	if (!src)
		return;
	char *paren = strchr(src, '(');
	if (paren) {
		char *close = strchr(paren, ')');
		char *ver = close ? pib_strndup(paren + 1, (size_t)(close - paren - 1)) : NULL;
		if (ver && *ver)
			k->source_version = keep(l, ver);
		else
			free(ver);
		while (paren > src && paren[-1] == ' ')
			paren--;
		*paren = 0;
	}
	k->source = keep(l, src);
	if (!k->source)
		k->source = k->name;
	if (!k->source_version)
		k->source_version = k->version;
}

static int build_list(struct agent_run *run, const struct pkgdb *db, struct pkg_list *l)
{
	const struct inst_ctx *c = &run->ictx;
	bool installed = run->installed;

	l->p = calloc(db->n + c->n_pkgs + 1, sizeof(*l->p));
	if (!l->p)
		return -ENOMEM;
	for (size_t i = 0; i < db->n; i++) {
		const struct pkgdb_pkg *d = &db->p[i];
		bool tx = in_transaction(c, d->name, d->arch);
		if (tx && !installed)
			continue; /* replaced by the version the transaction would install */
		l->p[l->n++] = (struct vuln_pkg){d->name, d->version, d->arch, d->source, d->source_version, tx};
	}
	if (!installed)
		for (size_t i = 0; i < c->n_pkgs; i++) {
			struct vuln_pkg *k = &l->p[l->n++];
			*k = (struct vuln_pkg){c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch, NULL, NULL, true};
			tx_source(l, k, &c->pkgs[i], db->family == PKGDB_DEB);
		}
	return 0;
}

/* Adds v under key, a string literal (cJSON keeps the pointer); false when v or the add failed. */
static bool put(cJSON *j, const char *key, cJSON *v)
{
	if (v && cJSON_AddItemToObjectCS(j, key, v))
		return true;
	cJSON_Delete(v);
	return false;
}

/* A string the report keeps: str copies it (the feed's, the packages'); lit points at a string literal (or is null). */
static cJSON *str(const char *s)
{
	return cJSON_CreateString(s);
}

static cJSON *lit(const char *s)
{
	return s ? cJSON_CreateStringReference(s) : cJSON_CreateNull();
}

static cJSON *clean(const char *s)
{
	char *t = pib_text_clean(s, false);
	cJSON *j = t ? cJSON_CreateString(t) : NULL;
	free(t);
	return j;
}

/* One hit as vulnerabilities[] lists it (keys and fixed words are literals: thousands of hits, no copies of them). */
static cJSON *hit_json(const struct vuln_hit *h, const struct vuln_pkg *k, bool violation)
{
	cJSON *j = cJSON_CreateObject(), *al;
	if (!j)
		return NULL;
	if (!put(j, "id", str(h->id))) {
		cJSON_Delete(j);
		return NULL;
	}
	bool ok = put(j, "aliases", (al = cJSON_CreateArray())); /* al is j's (or freed) from here */
	for (size_t i = 0; ok && h->aliases && h->aliases[i]; i++) {
		cJSON *a = str(h->aliases[i]);
		ok = a && cJSON_AddItemToArray(al, a);
		if (!ok)
			cJSON_Delete(a);
	}
	ok = ok && put(j, "package", str(k->name)) && put(j, "arch", str(k->arch)) && put(j, "version", str(k->version)) &&
	     put(j, "source", str(h->record_name)) && put(j, "installed", str(h->installed)) &&
	     put(j, "fixed", h->fixed ? str(h->fixed) : cJSON_CreateNull()) &&
	     put(j, "severity", lit(vuln_severity_name(h->severity))) &&
	     (!h->severity_from || put(j, "severity_from", lit(h->severity_from))) &&
	     (!h->severity_text || put(j, "severity_text", clean(h->severity_text))) &&
	     (!h->summary || put(j, "summary", clean(h->summary))) && put(j, "ecosystem", str(h->ecosystem)) &&
	     put(j, "matched_by", lit(h->why)) && put(j, "modified", str(h->modified)) &&
	     put(j, "origin", lit(k->bundle ? "bundle" : "image")) &&
	     put(j, "status", lit(violation ? "violation" : "reported"));
	if (!ok) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* The feed's own facts in the step; false (and why in *why) when it cannot say "nothing found". */
static bool feed_details(struct agent_run *run, const struct agent_vulns *v, char **why)
{
	const struct vuln_feed_info *in = vuln_db_info(v->db);
	cJSON *f = cJSON_CreateObject();
	bool usable = true;

	*why = NULL;
	cJSON_AddStringToObject(f, "path", v->path);
	cJSON_AddNumberToObject(f, "files", (double)in->files);
	cJSON_AddNumberToObject(f, "records", (double)in->records);
	cJSON_AddNumberToObject(f, "withdrawn", (double)in->withdrawn);
	cJSON_AddNumberToObject(f, "records_for_image", (double)in->records_mine);
	cJSON_AddNumberToObject(f, "ranges_ignored", (double)in->ranges_ignored);
	cJSON *ecos = cJSON_AddArrayToObject(f, "ecosystems");
	for (size_t i = 0; in->ecosystems && in->ecosystems[i]; i++) {
		char *t = pib_text_clean(in->ecosystems[i], false);
		cJSON_AddItemToArray(ecos, cJSON_CreateString(t ? t : ""));
		free(t);
	}
	if (in->ecosystems_cut)
		cJSON_AddBoolToObject(f, "ecosystems_cut", true);
	if (in->index_source) {
		/* read from an index: what it was made from, and when (its records' own dates are below) */
		cJSON *ix = cJSON_AddObjectToObject(f, "index");
		char *t = pib_text_clean(in->index_source, false);
		cJSON_AddStringToObject(ix, "made_from", t ? t : "");
		free(t);
		cJSON_AddStringToObject(ix, "made", in->index_built);
	}
	if (in->newest_modified)
		cJSON_AddStringToObject(f, "newest_modified", in->newest_modified_text);
	else
		cJSON_AddNullToObject(f, "newest_modified");
	cJSON_AddNumberToObject(f, "max_age_days", v->max_age_days);
	double age = in->newest_modified ? difftime(time(NULL), in->newest_modified) / 86400.0 : -1;
	if (age >= 0)
		cJSON_AddNumberToObject(f, "age_days", (double)(long long)(age * 10) / 10.0);
	if (!v->ecosystem) {
		*why = pib_asprintf("%s %s has no OSV ecosystem this agent knows: the feed was read, nothing could be matched",
				    run->os.id ? run->os.id : "?", run->os.version_id ? run->os.version_id : "");
		usable = false;
	} else if (in->records_mine == 0) {
		*why = pib_asprintf("the feed %s has no record for %s (the image's ecosystem): it cannot say that the image "
				    "has no known vulnerability", v->path, v->ecosystem);
		usable = false;
	} else if (v->max_age_days && age > (double)v->max_age_days) {
		*why = pib_asprintf("the feed %s is %.1f days old (its newest record was modified %s), older than %u days: "
				    "vulnerabilities published since are not known to this check", v->path, age,
				    in->newest_modified_text, v->max_age_days);
		usable = false;
	}
	cJSON_AddBoolToObject(f, "usable", usable);
	report_step_detail(run->report, "feed", f);
	return usable;
}

/* Matches, records vulnerabilities[] and the step's details; the first bundle violation fails the step. */
static void judge(struct agent_run *run, const struct vuln_pkg *pk, size_t n)
{
	struct agent_vulns *v = run->vulns;
	struct vuln_hits h = {0};
	enum vuln_severity thr = fail_on(run);
	size_t n_bundle = 0, n_viol = 0, n_unknown_bundle = 0;
	const struct vuln_hit *first = NULL;

	double t0 = pib_now_mono();
	if (vuln_match(v->db, pk, n, &h) < 0) {
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return;
	}
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < h.n; i++) {
		const struct vuln_hit *x = &h.v[i];
		const struct vuln_pkg *k = &pk[x->pkg];
		bool viol = (k->bundle || v->audit) && x->severity != VULN_SEV_UNKNOWN && x->severity >= thr;
		n_bundle += k->bundle;
		n_unknown_bundle += k->bundle && x->severity == VULN_SEV_UNKNOWN;
		if (viol && n_viol++ == 0)
			first = x;
		cJSON *j = hit_json(x, k, viol);
		if (!j) {
			cJSON_Delete(arr);
			arr = NULL;
			break;
		}
		cJSON_AddItemToArray(arr, j);
		if (k->bundle || i < 20)
			agent_log("vulns: %s %s %s [%s, %s]%s", x->id, k->name, k->version,
				  vuln_severity_name(x->severity) ? vuln_severity_name(x->severity) : "severity unknown",
				  k->bundle ? "bundle" : "image", viol ? " VIOLATION" : "");
	}
	if (!arr) {
		vuln_hits_free(&h);
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return;
	}
	report_set(run->report, "vulnerabilities", arr);
	report_step_detail(run->report, "fail_on", cJSON_CreateString(vuln_severity_name(thr)));
	report_step_detail(run->report, "packages_checked", cJSON_CreateNumber((double)n));
	report_step_detail(run->report, "vulnerabilities", cJSON_CreateNumber((double)h.n));
	report_step_detail(run->report, "from_bundle", cJSON_CreateNumber((double)n_bundle));
	report_step_detail(run->report, "from_bundle_severity_unknown", cJSON_CreateNumber((double)n_unknown_bundle));
	report_step_detail(run->report, "match_ms", cJSON_CreateNumber((double)(long long)((pib_now_mono() - t0) * 1000)));
	agent_log("vulns: %zu package%s checked, %zu vulnerabilit%s (%zu from the bundle)", n, n == 1 ? "" : "s", h.n,
		  h.n == 1 ? "y" : "ies", n_bundle);
	if (first)
		pib_fail(&run->err, -EPERM, PIB_ERR_FINDINGS, "vulns.found",
			 "%s in %s %s (%s%s%s; %zu vulnerabilit%s %s at or above %s, see vulnerabilities[])",
			 first->id, pk[first->pkg].name, pk[first->pkg].version, vuln_severity_name(first->severity),
			 first->fixed ? ", fixed in " : ", no fix known", first->fixed ? first->fixed : "", n_viol,
			 n_viol == 1 ? "y" : "ies", v->audit ? "in the image" : "the bundle brought", vuln_severity_name(thr));
	vuln_hits_free(&h);
}

bool agent_step_vulns(struct agent_run *run)
{
	struct agent_vulns *v = run->vulns;
	struct pkgdb db = {0};
	struct pkg_list l = {0};
	char *why = NULL;

	if (!v)
		return true; /* no feed given: no step, and vulnerabilities stays null (not checked) */
	if (v->no_db) {
		char *r = pib_asprintf("%s has no dpkg or rpm database: its packages cannot be matched against %s",
				       run->os.id ? run->os.id : "this OS", v->path);
		report_step_skip(run->report, "vulns", r ? r : "no package database", true);
		free(r);
		return true;
	}
	report_step_begin(run->report, "vulns");
	report_step_detail(run->report, "ecosystem", v->ecosystem ? cJSON_CreateString(v->ecosystem) : cJSON_CreateNull());
	bool usable = feed_details(run, v, &why);
	if (!usable) {
		agent_warn("vulns: %s", why ? why : "the feed cannot be used");
		report_step_detail(run->report, "incomplete", cJSON_CreateString(why ? why : "the feed cannot be used"));
		run->report->any_skipped = true; /* the run is incomplete, whatever else it found */
	}
	free(why);
	if (pkgdb_read(run->root, v->family, &db, &run->err) == 0) {
		if (build_list(run, &db, &l) < 0)
			pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		else
			judge(run, l.p, l.n);
		if (!run->installed && run->ictx.n_pkgs)
			report_step_detail(run->report, "transaction_not_installed",
					   cJSON_CreateString("nothing was installed: the transaction's packages were matched "
							      "in the versions it would install"));
	}
	free(l.p);
	pib_strv_free(l.owned);
	pkgdb_free(&db);
	return !agent_step_end(run);
}

int agent_cmd_vulns(const struct agent_opts *o)
{
	struct agent_run run = {.opts = o};
	struct stat st;
	int code;

	if ((code = agent_vulns_options(o)) != 0)
		return code;
	if (!o->vulns) {
		agent_error("vulns: --vulns FILE|DIR is required (OSV records: one file, an array, or a folder of *.json)");
		return PIB_EXIT_USAGE;
	}
	if (o->root && (o->root[0] != '/' || stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode))) {
		agent_error("--root %s: not an existing directory given as an absolute path", o->root);
		return PIB_EXIT_USAGE;
	}
	run.root = o->root ? o->root : "/";
	run.report = report_new("vulns");
	if (!run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	if (!agent_load_key(&run))
		goto finish;
	report_step_begin(run.report, "open");
	report_step_detail(run.report, "root", cJSON_CreateString(run.root));
	if (os_detect(run.root, o->os, &run.os, &run.err) == 0)
		report_set(run.report, "host", agent_host_json(&run));
	if (agent_step_end(&run))
		goto finish;
	/* an audit: every package is the image's, and judged as if it were the bundle's */
	if (agent_vulns_load(&run, NULL, 0, false) && run.vulns) {
		run.vulns->audit = true;
		(void)agent_step_vulns(&run);
	}
finish:
	code = agent_finish_run(&run);
	agent_run_free(&run);
	return code;
}

int agent_cmd_vulns_index(const struct agent_opts *o)
{
	struct vuln_index_stats st;
	struct pib_err err = {0};

	if (!o->vulns || !o->out) {
		agent_error("vulns-index: --vulns FILE|DIR (the OSV feed) and --out FILE (the index) are both required");
		return PIB_EXIT_USAGE;
	}
	double t0 = pib_now_mono();
	if (vuln_index_write(o->vulns, o->out, &st, &err) < 0) {
		agent_error("vulns-index: %s: %s", err.code, err.msg);
		int code = err.cls == PIB_ERR_USAGE ? PIB_EXIT_USAGE : PIB_EXIT_ENV;
		pib_err_clear(&err);
		return code;
	}
	agent_log("vulns-index: %s: %zu records in %zu file%s checked, %zu kept (not withdrawn, with a package), %zu "
		  "affected entries, %zu distinct strings: %s, %llu bytes, in %.2f s",
		  o->vulns, st.records, st.files, st.files == 1 ? "" : "s", st.records_kept, st.entries, st.strings, o->out,
		  (unsigned long long)st.bytes, pib_now_mono() - t0);
	return PIB_EXIT_OK;
}
