/* SPDX-License-Identifier: MIT */
/*
 * The SBOM of a run (validate --sbom FILE, and every run) and pib-agent sbom --root DIR: the
 * transaction's packages from the run (inst_ctx) and the root's own packages from its package
 * database (pkgdb), made into a CycloneDX document (sbom.c) and signed in its own envelope,
 * which the report binds by the SHA-256 of its payload (the report's `sbom` object).
 */
#include "cli.h"
#include "log.h"
#include "pipeline.h"
#include "pkgdb.h"
#include "sbom.h"
#include "sign.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The database's entry of a package (same name, arch and version), or NULL. */
static const struct pkgdb_pkg *find_pkg(const struct pkgdb *db, const struct sbom_pkg *q)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->p[i].name, q->name) && !strcmp(db->p[i].arch, q->arch) &&
		    !strcmp(db->p[i].version, q->version))
			return &db->p[i];
	return NULL;
}

/* The packages of the database that are not the transaction's (same name, arch and version). */
static struct sbom_pkg *image_pkgs(const struct pkgdb *db, const struct sbom_pkg *txn, size_t n_txn, size_t *ret_n)
{
	struct sbom_pkg *v = calloc(db->n + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < db->n; i++) {
		const struct pkgdb_pkg *p = &db->p[i];
		bool in_txn = false;
		for (size_t k = 0; !in_txn && k < n_txn; k++)
			in_txn = !strcmp(p->name, txn[k].name) && !strcmp(p->arch, txn[k].arch) &&
				 !strcmp(p->version, txn[k].version);
		if (in_txn)
			continue; /* listed once, in the transaction */
		v[n++] = (struct sbom_pkg){.name = p->name, .version = p->version, .arch = p->arch,
					   .license = p->license};
	}
	*ret_n = n;
	return v;
}

/*
 * Makes the SBOM (the transaction txn, the root's other packages) and its envelope signed
 * with key; *ret_envelope and the report's `sbom` object (*ret_summary) on success.
 */
static int make_sbom(const struct sbom_in *base, const struct report *r, const struct sign_key *key,
		     const char *file, char **ret_envelope, cJSON **ret_summary, struct pib_err *e)
{
	struct sbom_in in = *base;
	struct pkgdb db = {0};
	enum pkgdb_family fam;
	struct sbom_counts counts = {0};
	cJSON *bom = NULL;
	char sha[65];
	int rc;

	*ret_envelope = NULL;
	*ret_summary = NULL;
	if (!in.os || pkgdb_family_of(in.os->family, &fam) < 0)
		return pib_fail(e, -ENOTSUP, PIB_ERR_ENV, "sbom.unsupported",
				"an SBOM is made for Debian and rpm images only (this root's OS family is %s)",
				in.os && in.os->family ? in.os->family : "unknown");
	in.rpm = fam == PKGDB_RPM;
	rc = pkgdb_read(in.root, fam, &db, e);
	if (rc < 0)
		return rc;
	in.image = image_pkgs(&db, in.txn, in.n_txn, &in.n_image);
	struct sbom_pkg *txn = calloc(in.n_txn + 1, sizeof(*txn));
	if (!in.image || !txn) {
		free((void *)in.image);
		free(txn);
		pkgdb_free(&db);
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	/* what the database says of an installed package of the transaction: rpm's License tag */
	for (size_t i = 0; i < in.n_txn; i++) {
		txn[i] = in.txn[i];
		const struct pkgdb_pkg *p = find_pkg(&db, &txn[i]);
		if (!txn[i].license && p)
			txn[i].license = p->license;
	}
	in.txn = txn;
	rc = sbom_build(&in, &bom, &counts, e);
	if (rc == 0)
		rc = sbom_envelope(bom, r->subjects, r->n_subjects, key, ret_envelope, sha, e);
	if (rc == 0 &&
	    !(*ret_summary = sbom_summary(bom, &counts, sha, strlen(*ret_envelope), file))) {
		free(*ret_envelope);
		*ret_envelope = NULL;
		rc = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if (rc == 0)
		agent_log("SBOM: %zu package%s of the transaction (%zu files), %zu of the image; payload sha256 %.12s…",
			  counts.transaction, counts.transaction == 1 ? "" : "s", counts.files, counts.image, sha);
	cJSON_Delete(bom);
	free((void *)in.image);
	free(txn);
	pkgdb_free(&db);
	return rc;
}

bool agent_step_sbom(struct agent_run *run, const char *file)
{
	const struct inst_ctx *c = &run->ictx;
	cJSON *b = report_get(run->report, "bundle");
	cJSON *prod = cJSON_GetObjectItemCaseSensitive(b, "product");
	cJSON *pn = cJSON_GetObjectItemCaseSensitive(prod, "name"), *pv = cJSON_GetObjectItemCaseSensitive(prod, "version");
	cJSON *bsha = cJSON_GetObjectItemCaseSensitive(b, "sha256"), *summary = NULL;
	struct sbom_pkg *txn = calloc(c->n_pkgs + 1, sizeof(*txn));

	if (!cJSON_IsArray(report_get(run->report, "packages")) || !run->inst) {
		/* a step that does not apply is no part of the run, unless --sbom asked for it */
		free(txn);
		if (file) {
			report_step_skip(run->report, "sbom", "no transaction: the run ended before resolve", false);
			agent_warn("no SBOM written to %s: the run ended before its transaction was resolved", file);
		}
		return true;
	}
	enum pkgdb_family fam;
	if (pkgdb_family_of(run->os.family, &fam) < 0) {
		/* msi targets: no package database to read, no purl type; the run is not failed for it */
		free(txn);
		report_step_skip(run->report, "sbom", "an SBOM is made for Debian and rpm images only", false);
		agent_warn("no SBOM: an SBOM is made for Debian and rpm images only (this one is %s)",
			   run->os.family ? run->os.family : "of an unknown family");
		return true;
	}
	report_step_begin(run->report, "sbom");
	if (!txn) {
		pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		return !agent_step_end(run);
	}
	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		txn[i] = (struct sbom_pkg){.name = p->name, .version = p->version, .arch = p->arch,
					   .sha256 = p->sha256[0] ? p->sha256 : NULL, .source = p->member ? "bundle" : "image",
					   .repo = p->repo, .files = p->files};
	}
	struct sbom_in in = {
		.root = run->root, .os = &run->os, .subject_type = "application",
		.subject_name = cJSON_IsString(pn) ? pn->valuestring : "bundle",
		.subject_version = cJSON_IsString(pv) ? pv->valuestring : NULL,
		.subject_sha256 = cJSON_IsString(bsha) ? bsha->valuestring : NULL,
		.txn = txn, .n_txn = c->n_pkgs,
	};
	free(run->sbom_json);
	run->sbom_json = NULL;
	if (!run->err.set && make_sbom(&in, run->report, run->key, file, &run->sbom_json, &summary, &run->err) == 0) {
		report_step_detail(run->report, "transaction", cJSON_CreateNumber(cJSON_GetNumberValue(
									cJSON_GetObjectItemCaseSensitive(summary, "transaction"))));
		report_step_detail(run->report, "image", cJSON_CreateNumber(cJSON_GetNumberValue(
								  cJSON_GetObjectItemCaseSensitive(summary, "image"))));
		report_set(run->report, "sbom", summary);
		if (file) {
			int wr = pib_write_file(file, run->sbom_json, strlen(run->sbom_json), 0644);
			if (wr < 0)
				pib_fail(&run->err, wr, PIB_ERR_ENV, "sbom.write", "%s: cannot write the SBOM: %s", file,
					 strerror(-wr));
			else
				agent_log("SBOM written to %s%s", file, run->key ? "" : " (UNSIGNED: no key)");
		}
	}
	free(txn);
	return !agent_step_end(run);
}

/*
 * The subject of a root's SBOM: its package database file with its SHA-256 (dpkg's status, or
 * rpm's database), so that the statement names the exact state it describes.
 */
static int root_subject(struct agent_run *run)
{
	static const char *const dbs[] = {"/var/lib/dpkg/status", "/var/lib/rpm/rpmdb.sqlite",
					  "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages"};
	char hex[65];

	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		char *host = NULL;
		if (pib_path_in_root(run->root, dbs[i], true, &host) < 0)
			continue;
		int r = pib_sha256_file(host, hex, NULL);
		free(host);
		if (r == 0)
			return report_add_subject(run->report, dbs[i], hex);
	}
	return pib_fail(&run->err, -ENOENT, PIB_ERR_FAILED, "pkgdb.unreadable",
			"%s: no package database (dpkg's status, rpm's database) to describe", run->root);
}

/* pib-agent sbom [--root DIR]: the SBOM of a root's installed packages alone. */
int agent_cmd_sbom(const struct agent_opts *o)
{
	struct agent_run run = {.opts = o};
	struct stat st;
	cJSON *summary = NULL;
	char *env = NULL;
	int code;

	if (o->root && (o->root[0] != '/' || stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode))) {
		agent_error("--root %s: not an existing directory given as an absolute path", o->root);
		return PIB_EXIT_USAGE;
	}
	run.root = o->root ? o->root : "/";
	run.report = report_new("sbom");
	if (!run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	if (!agent_load_key(&run)) {
		agent_error("%s: %s", run.key_err.code, run.key_err.msg);
		report_free(run.report);
		return PIB_EXIT_ENV;
	}
	if (os_detect(run.root, NULL, &run.os, &run.err) == 0 && root_subject(&run) == 0) {
		struct sbom_in in = {.root = run.root, .os = &run.os, .subject_type = "operating-system",
				     .subject_name = run.os.id, .subject_version = run.os.version_id};
		(void)make_sbom(&in, run.report, run.key, o->out, &env, &summary, &run.err);
	}
	cJSON_Delete(summary);
	if (run.err.set) {
		agent_error("sbom failed: %s: %s", run.err.code, run.err.msg);
		code = run.err.cls == PIB_ERR_USAGE ? PIB_EXIT_USAGE : run.err.cls == PIB_ERR_FAILED ? PIB_EXIT_FAILED
											  : PIB_EXIT_ENV;
	} else if (o->out) {
		int wr = pib_write_file(o->out, env, strlen(env), 0644);
		if (wr < 0)
			agent_error("%s: cannot write the SBOM: %s", o->out, strerror(-wr));
		else
			agent_log("SBOM written to %s%s", o->out, run.key ? "" : " (UNSIGNED: no --key given)");
		code = wr < 0 ? PIB_EXIT_ENV : PIB_EXIT_OK;
	} else {
		fputs(env, stdout);
		fputc('\n', stdout);
		if (!run.key)
			agent_warn("the SBOM is UNSIGNED (an empty signatures list): no --key given");
		code = PIB_EXIT_OK;
	}
	free(env);
	agent_run_free(&run);
	return code;
}
