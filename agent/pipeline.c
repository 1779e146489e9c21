/* SPDX-License-Identifier: MIT */
/* The pipeline of one run: each step checked, recorded and reported. */
#include "pipeline.h"
#include "log.h"
#include "policyfile.h"
#include "scan_steps.h"
#include "sign.h"
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


bool agent_step_end(struct agent_run *run)
{
	/* run's time limit (SIGALRM): whatever the step said, it was stopped for that */
	if (pib_interrupted == SIGALRM) {
		pib_err_clear(&run->err);
		pib_fail(&run->err, -ETIMEDOUT, PIB_ERR_FAILED, "run.timeout",
			 "the run took longer than timeouts.run_seconds (%u s): the step under way was stopped",
			 run->run_seconds);
	}
	/* SIGTERM, SIGINT or SIGHUP during a step: it ends failed and the run goes to its report */
	else if (pib_interrupted)
		pib_fail(&run->err, -EINTR, PIB_ERR_FAILED, "agent.interrupted",
			 "the agent received signal %d: stopping, and writing the report",
			 (int)pib_interrupted);
	bool failed = run->err.set;
	cJSON *cur = run->report->cur;
	const char *name = cur ? cJSON_GetObjectItemCaseSensitive(cur, "name")->valuestring : "?";

	if (failed)
		agent_error("%s failed: %s: %s", name, run->err.code, run->err.msg);
	report_step_end(run->report, &run->err);
	pib_err_clear(&run->err);
	return failed;
}

cJSON *agent_host_json(const struct agent_run *run)
{
	cJSON *h = cJSON_CreateObject();
	const struct osinfo *os = &run->os;

	cJSON_AddStringToObject(h, "root", run->root);
	cJSON_AddStringToObject(h, "os_source", os->source ? os->source : "");
	cJSON_AddStringToObject(h, "id", os->id ? os->id : "");
	cJSON *like = cJSON_AddArrayToObject(h, "id_like");
	for (size_t i = 0; os->id_like && os->id_like[i]; i++)
		cJSON_AddItemToArray(like, cJSON_CreateString(os->id_like[i]));
	cJSON_AddStringToObject(h, "version_id", os->version_id ? os->version_id : "");
	if (os->pretty_name)
		cJSON_AddStringToObject(h, "pretty_name", os->pretty_name);
	if (os->version_codename)
		cJSON_AddStringToObject(h, "version_codename", os->version_codename);
	cJSON_AddStringToObject(h, "arch", os->arch ? os->arch : "");
	if (os->family)
		cJSON_AddStringToObject(h, "family", os->family);
	else
		cJSON_AddNullToObject(h, "family");
	if (run->ec2)
		cJSON_AddItemToObject(h, "ec2", cJSON_Duplicate(run->ec2, true));
	else
		cJSON_AddNullToObject(h, "ec2");
	return h;
}

static cJSON *target_json(const struct mf_target *t)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "name", t->name);
	cJSON_AddStringToObject(j, "installer", t->installer);
	cJSON *os = cJSON_AddArrayToObject(j, "os");
	for (size_t i = 0; i < t->n_os; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", t->os[i].id);
		cJSON *v = cJSON_AddArrayToObject(o, "versions");
		for (size_t k = 0; t->os[i].versions[k]; k++)
			cJSON_AddItemToArray(v, cJSON_CreateString(t->os[i].versions[k]));
		cJSON_AddItemToArray(os, o);
	}
	cJSON *a = cJSON_AddArrayToObject(j, "arch");
	for (size_t i = 0; t->arch[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(t->arch[i]));
	return j;
}

/* The verify step's signature verdicts: who signed each package, and what was accepted unsigned. */
static void record_signatures(struct agent_run *run)
{
	const struct inst_ctx *c = &run->ictx;
	cJSON *sigs = cJSON_CreateArray(), *uns = cJSON_CreateArray();

	for (size_t i = 0; sigs && uns && i < c->n_sigs; i++) {
		if (c->sigs[i].signer) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "package", c->sigs[i].member);
			cJSON_AddStringToObject(o, "signed_by", c->sigs[i].signer);
			if (c->sigs[i].subject) { /* msi: the signer certificate, named both ways */
				char *subj = pib_text_clean(c->sigs[i].subject, false);
				cJSON_AddStringToObject(o, "subject", subj ? subj : "");
				free(subj);
			}
			if (c->sigs[i].cert_sha256)
				cJSON_AddStringToObject(o, "certificate_sha256", c->sigs[i].cert_sha256);
			cJSON_AddItemToArray(sigs, o);
		} else if (c->sigs[i].subject || c->sigs[i].cert_sha256) {
			/* msi: signed, refused, or its chain ending at none of the keys and accepted by
			 * allow_unsigned: its signer is reported either way */
			cJSON *o = cJSON_CreateObject();
			char *subj = c->sigs[i].subject ? pib_text_clean(c->sigs[i].subject, false) : NULL;
			cJSON_AddStringToObject(o, "package", c->sigs[i].member);
			cJSON_AddNullToObject(o, "signed_by");
			cJSON_AddStringToObject(o, "subject", subj ? subj : "");
			cJSON_AddStringToObject(o, "certificate_sha256", c->sigs[i].cert_sha256 ? c->sigs[i].cert_sha256 : "");
			cJSON_AddBoolToObject(o, "accepted", !c->sigs[i].refused);
			cJSON_AddItemToArray(sigs, o);
			free(subj);
			if (!c->sigs[i].refused) {
				cJSON_AddItemToArray(uns, cJSON_CreateString(c->sigs[i].member));
				agent_warn("%s: its signature is not by one of the target's keys, accepted (allow_unsigned)",
					   c->sigs[i].member);
			}
		} else {
			cJSON_AddItemToArray(uns, cJSON_CreateString(c->sigs[i].member));
			agent_warn("%s: not signed, accepted (allow_unsigned)", c->sigs[i].member);
		}
	}
	if (sigs && cJSON_GetArraySize(sigs) > 0)
		report_step_detail(run->report, "signatures", sigs);
	else
		cJSON_Delete(sigs);
	if (uns && cJSON_GetArraySize(uns) > 0)
		report_step_detail(run->report, "unsigned_accepted", uns);
	else
		cJSON_Delete(uns);
}

static cJSON *packages_json(const struct inst_ctx *c, bool with_files)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct inst_pkg *p = &c->pkgs[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", p->name);
		cJSON_AddStringToObject(j, "version", p->version);
		cJSON_AddStringToObject(j, "arch", p->arch);
		if (p->sha256[0])
			cJSON_AddStringToObject(j, "sha256", p->sha256);
		else
			cJSON_AddNullToObject(j, "sha256");
		cJSON_AddStringToObject(j, "source", p->member ? "bundle" : "image");
		if (p->member)
			cJSON_AddStringToObject(j, "member", p->member);
		cJSON_AddStringToObject(j, "repository", p->repo ? p->repo : "");
		if (p->reinstall)
			cJSON_AddBoolToObject(j, "reinstall", true);
		if (p->n_replaced) { /* the image's packages it replaces, allowed by may_upgrade */
			cJSON *rl = cJSON_AddArrayToObject(j, "replaced");
			for (size_t k = 0; k < p->n_replaced; k++) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "name", p->replaced[k].name);
				cJSON_AddStringToObject(o, "version", p->replaced[k].version);
				cJSON_AddStringToObject(o, "arch", p->replaced[k].arch);
				cJSON_AddStringToObject(o, "how", p->replaced[k].how);
				cJSON_AddItemToArray(rl, o);
			}
		}
		if (p->detail) /* msi: the MSI's tables */
			cJSON_AddItemToObject(j, "msi", cJSON_Duplicate(p->detail, true));
		if (with_files) {
			cJSON *f = cJSON_AddArrayToObject(j, "files");
			for (size_t k = 0; p->files && p->files[k]; k++)
				cJSON_AddItemToArray(f, cJSON_CreateString(p->files[k]));
		} else {
			cJSON_AddNullToObject(j, "files");
		}
		cJSON_AddItemToArray(arr, j);
	}
	return arr;
}

bool agent_load_key(struct agent_run *run)
{
	run->key_loaded = true;
	if (!run->opts->key)
		return true;
	return sign_key_load(run->opts->key, &run->key, &run->key_err) == 0;
}

bool agent_load_policy(struct agent_run *run, struct policy_file **job_policy, struct pib_err *err)
{
	policyfile_free(run->policy_file);
	run->policy_file = NULL;
	if (!run->opts->policy && job_policy && *job_policy) {
		run->policy_file = *job_policy;
		*job_policy = NULL;
	} else if (policyfile_load(run->opts->policy, &run->policy_file, err) < 0) {
		return false;
	}
	if (strcmp(run->policy_file->source, "default"))
		agent_log("policy \"%s\" (%s %s, sha256 %.16s...)", run->policy_file->name, run->policy_file->source,
			  run->policy_file->from, run->policy_file->sha256);
	return true;
}

int agent_sign_run(struct agent_run *run, char **ret_json)
{
	struct report *r = run->report;
	struct sign_key *key = NULL;
	struct pib_err kerr = {0};
	char *json = NULL;
	int code;

	*ret_json = NULL;
	/* An unusable key still ends in a report: unsigned, the report step failed, exit 4. */
	report_step_begin(r, "report");
	if (!run->key_loaded)
		(void)agent_load_key(run);
	key = run->key;
	run->key = NULL;
	if (run->key_err.set) {
		kerr = run->key_err;
		kerr.detail = NULL;
		agent_error("report failed: %s: %s", kerr.code, kerr.msg);
	}
	report_step_detail(r, "keyid", key ? cJSON_CreateString(sign_key_id(key)) : cJSON_CreateNull());
	report_step_end(r, &kerr);
	report_finish(r);
	code = kerr.set ? PIB_EXIT_ENV : report_exit_code(r);
	pib_err_clear(&kerr);
	bool signed_ok = key && sign_report(r, key, &json, &kerr) == 0;
	if (key && !signed_ok) {
		agent_error("%s: %s: writing the report unsigned", kerr.code, kerr.msg);
		code = PIB_EXIT_ENV;
	}
	if (!json && sign_report(r, NULL, &json, &kerr) < 0) {
		agent_error("cannot make the report: %s", kerr.msg);
		sign_key_free(key);
		pib_err_clear(&kerr);
		return PIB_EXIT_ENV;
	}
	if (signed_ok)
		agent_log("report signed with key %s", sign_key_id(key));
	else
		agent_warn("the report is UNSIGNED (an empty signatures list): %s",
			 run->opts->key || run->key_given ? "the key could not be used" : "no --key given");
	sign_key_free(key);
	pib_err_clear(&kerr);
	*ret_json = json;
	return code;
}

int agent_finish_run(struct agent_run *run)
{
	char *json = NULL;
	int code = agent_sign_run(run, &json);

	if (!json)
		return code;
	if (run->opts->report) {
		int wr = pib_write_file(run->opts->report, json, strlen(json), 0644);
		if (wr < 0) {
			agent_error("%s: cannot write the report: %s", run->opts->report, strerror(-wr));
			code = PIB_EXIT_ENV;
		} else {
			agent_log("report written to %s", run->opts->report);
		}
	} else {
		fputs(json, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	free(json);
	agent_log("status: %s (exit %d)", report_status(run->report), code);
	return code;
}

void agent_run_free(struct agent_run *run)
{
	sign_key_free(run->key);
	pib_err_clear(&run->key_err);
	if (run->inst && run->inst->cleanup)
		run->inst->cleanup(&run->ictx);
	inst_ctx_free(&run->ictx);
	agent_scan_free(run->scan);
	agent_policy_free(run);
	policyfile_free(run->policy_file);
	agent_vulns_free(run);
	bundle_free(run->bundle);
	os_free(&run->os);
	report_free(run->report);
	cJSON_Delete(run->ec2);
	free(run->sbom_json);
	pib_err_clear(&run->err);
}

/* open: the bundle, its manifest, the OS of the root and the target for it. */
bool agent_step_open(struct agent_run *run, const char *bundle_path)
{
	struct report *r = run->report;
	struct bundle_digest dg = {0};

	report_step_begin(r, "open");
	/*
	 * One open and one read of the bundle: its digest is of the bytes the members came from,
	 * and bundle_open gives it for a refused bundle too, so that it is named in the report.
	 */
	int opened = run->err.set ? -1 : bundle_open(bundle_path, NULL, &run->bundle, &dg, &run->err);
	if (dg.sha256[0]) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "file", bundle_path);
		cJSON_AddStringToObject(b, "sha256", dg.sha256);
		cJSON_AddNumberToObject(b, "size", (double)dg.size);
		cJSON_AddNullToObject(b, "product");
		report_set(r, "bundle", b);
		if (report_add_subject(r, "bundle", dg.sha256) < 0)
			pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if (!run->err.set && opened == 0) {
		cJSON *b = report_get(r, "bundle");
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", run->bundle->manifest->product_name);
		cJSON_AddStringToObject(p, "version", run->bundle->manifest->product_version);
		cJSON_AddStringToObject(p, "seller", run->bundle->manifest->seller);
		cJSON_ReplaceItemInObjectCaseSensitive(b, "product", p);
	}
	if (!run->err.set && os_detect(run->root, run->opts->os, &run->os, &run->err) == 0)
		report_set(r, "host", agent_host_json(run));
	size_t ti = 0;
	if (!run->err.set &&
	    inst_choose_target(run->bundle->manifest, &run->os, &ti, &run->err) == 0) {
		run->target = &run->bundle->manifest->targets[ti];
		run->inst = inst_find(run->target->installer);
		report_set(r, "target", target_json(run->target));
		agent_log("target \"%s\" (%s) for %s %s %s", run->target->name, run->target->installer,
			 run->os.id, run->os.version_id, run->os.arch);
	}
	return !agent_step_end(run);
}

/* The install step's details: which tool and why, contained or not, what was left unfinished. */
static void record_install(struct agent_run *run)
{
	const struct inst_ctx *c = &run->ictx;

	if (c->tool)
		report_step_detail(run->report, "tool", cJSON_CreateString(c->tool));
	if (c->tool_why)
		report_step_detail(run->report, "path", cJSON_CreateString(c->tool_why));
	report_step_detail(run->report, "contained", cJSON_CreateBool(c->contained));
	if (c->install_root) { /* msi: Wine's throwaway prefix, its msiexec's real result */
		report_step_detail(run->report, "prefix", cJSON_CreateString(c->install_root));
		if (c->tool_ran)
			report_step_detail(run->report, "exit_code", cJSON_CreateNumber(c->exit_code));
		report_step_detail(run->report, "reboot_required", cJSON_CreateBool(c->reboot_required));
	}
	if (c->unfinished && c->unfinished[0]) {
		cJSON *u = cJSON_CreateArray();
		for (size_t i = 0; c->unfinished[i]; i++)
			cJSON_AddItemToArray(u, cJSON_CreateString(c->unfinished[i]));
		report_step_detail(run->report, "unfinished", u);
	}
	if (c->log.len) {
		/* the tools' output as text a report can hold: invalid UTF-8 and controls escaped */
		char *out = pib_text_clean(c->log.data, true);
		report_step_detail(run->report, "output", cJSON_CreateString(out ? out : ""));
		free(out);
	}
	if (c->tool)
		agent_log("install: %s%s", c->tool, c->contained ? " (contained)" : "");
}

void agent_ictx_init(struct agent_run *run, double install_timeout)
{
	struct inst_ctx *c = &run->ictx;

	c->root = run->root;
	c->may_install = run->may_install && !run->opts->dry_run;
	c->os = &run->os;
	c->target = run->target;
	c->bundle = run->bundle;
	c->install_timeout = install_timeout;
	c->lock_timeout = 120;
	c->err = &run->err;
}

bool agent_step_verify(struct agent_run *run)
{
	report_step_begin(run->report, "verify");
	if (run->inst->probe(&run->ictx) == 0)
		(void)run->inst->verify(&run->ictx);
	record_signatures(run);
	return !agent_step_end(run);
}

bool agent_step_prescan(struct agent_run *run)
{
	if (run->opts->no_scan) {
		report_step_skip(run->report, "prescan", "skipped by request (--no-scan)", true);
		return true;
	}
	report_step_begin(run->report, "prescan");
	(void)agent_scan_prescan(run);
	return !agent_step_end(run);
}

/* What resolve decided, kept as it was: the install is checked against it. */
cJSON *agent_transaction_json(const struct inst_ctx *c)
{
	cJSON *tr = cJSON_CreateArray();

	for (size_t i = 0; tr && i < c->n_pkgs; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", c->pkgs[i].name);
		cJSON_AddStringToObject(t, "version", c->pkgs[i].version);
		cJSON_AddStringToObject(t, "arch", c->pkgs[i].arch);
		cJSON_AddStringToObject(t, "source", c->pkgs[i].member ? "bundle" : "image");
		cJSON_AddItemToArray(tr, t);
	}
	return tr;
}

bool agent_step_resolve(struct agent_run *run)
{
	struct inst_ctx *c = &run->ictx;

	report_step_begin(run->report, "resolve");
	int rr = run->inst->resolve(c);
	if (rr < 0 && c->problems) {
		cJSON *pr = cJSON_CreateArray();
		char *save = NULL, *copy = strdup(c->problems);
		for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
			cJSON_AddItemToArray(pr, cJSON_CreateString(l));
		free(copy);
		report_step_detail(run->report, "problems", pr);
	}
	if (rr == 0) {
		report_step_detail(run->report, "transaction", agent_transaction_json(c));
		report_set(run->report, "packages", packages_json(c, false));
		for (size_t i = 0; i < c->n_pkgs; i++)
			agent_log("  %s %s %s [%s]%s", c->pkgs[i].name, c->pkgs[i].version, c->pkgs[i].arch,
				 c->pkgs[i].member ? "bundle" : c->pkgs[i].repo,
				 c->pkgs[i].reinstall ? " (reinstall)" : "");
	}
	return !agent_step_end(run);
}

static bool install_in(struct agent_run *run);

bool agent_step_install(struct agent_run *run)
{
	struct inst_ctx *c = &run->ictx;

	const char *why_not = run->inst->cannot_install ? run->inst->cannot_install(c) : NULL;
	if (why_not) { /* msi on Linux without Wine: nothing installed, the run incomplete */
		agent_warn("install skipped: %s", why_not);
		report_step_skip(run->report, "install", why_not, true);
		return true;
	}
	const char *root = run->root;
	bool ok = install_in(run);
	run->root = root; /* what follows (run's cleanup) is of the image, not of the install's place */
	return ok;
}

static bool install_in(struct agent_run *run)
{
	struct inst_ctx *c = &run->ictx;
	const struct agent_opts *o = run->opts;

	if (run->inst->prepare) {
		/* msi: the place of the install (Wine's prefix) is made first, then snapshot as the root */
		report_step_begin(run->report, "install");
		if (run->inst->prepare(c) < 0) {
			record_install(run);
			(void)agent_step_end(run);
			return false;
		}
		if (c->install_root) {
			run->root = c->install_root;
			/* a new prefix each time: a snapshot saved by an earlier attempt is of another */
			run->snapshot_file = NULL;
		}
		agent_scan_before_install(run);
		agent_policy_before(run);
	} else {
		agent_scan_before_install(run);
		agent_policy_before(run);
		report_step_begin(run->report, "install");
	}
	(void)run->inst->install(c);
	record_install(run);
	if (run->inst->files_installed)
		(void)run->inst->files_installed(c);
	report_set(run->report, "packages", packages_json(c, true));
	for (size_t i = 0; i < c->n_pkgs; i++)
		if (c->pkgs[i].sha256[0] &&
		    report_add_subject(run->report, c->pkgs[i].member ? c->pkgs[i].member : c->pkgs[i].name,
				       c->pkgs[i].sha256) < 0)
			pib_fail(&run->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	bool install_failed = agent_step_end(run);
	/* a failed install that ran still changed the image: say what is on it and whether it is clean */
	if (install_failed && (!c->tool_ran || pib_interrupted)) {
		if (c->tool_ran)
			report_step_skip(run->report, "postscan",
					 "the agent was interrupted: what the install left was not scanned", true);
		return false;
	}
	if (o->no_scan) {
		report_step_skip(run->report, "postscan", "skipped by request (--no-scan)", true);
	} else {
		report_step_begin(run->report, "postscan");
		(void)agent_scan_postscan(run);
		if (agent_step_end(run))
			return false;
	}
	run->installed = !install_failed;
	return !install_failed;
}

int agent_cmd_validate(const struct agent_opts *o)
{
	struct agent_run run = {.opts = o};
	struct stat st;
	int code;

	if ((code = agent_vulns_options(o)) != 0)
		return code;
	run.report = report_new("validate");
	if (!run.report) {
		agent_error("out of memory");
		return PIB_EXIT_ENV;
	}
	/* the root as the kernel sees it: a relative path or a link resolved once, here */
	char *root_real = o->root ? realpath(o->root, NULL) : NULL;
	run.root = root_real ? root_real : "/";
	run.may_install = o->root != NULL;
	if (o->root && (!root_real || stat(root_real, &st) < 0 || !S_ISDIR(st.st_mode))) {
		agent_error("--root %s: not an existing directory%s%s", o->root, root_real ? "" : ": ",
			    root_real ? "" : strerror(errno));
		free(root_real);
		report_free(run.report);
		return PIB_EXIT_USAGE;
	}
	/* a policy that cannot be used stops validate before anything is done, like a bad --root */
	struct pib_err perr = {0};
	if (!agent_load_policy(&run, NULL, &perr)) {
		agent_error("%s: %s", perr.code, perr.msg);
		code = perr.cls == PIB_ERR_ENV ? PIB_EXIT_ENV : PIB_EXIT_USAGE;
		pib_err_clear(&perr);
		free(root_real);
		report_free(run.report);
		return code;
	}
	/* SIGTERM, SIGINT, SIGHUP: the install is stopped and the run still ends in a report */
	pib_catch_interrupts();
	if (!agent_load_key(&run))
		goto finish; /* nothing is done with a key that cannot sign the result */
	if (!agent_step_open(&run, o->args[0]) || !agent_vulns_load(&run, NULL, 0, false))
		goto finish;
	if (run.inst && run.inst->prepare) {
		/* msi: the install goes into a throwaway Wine prefix, never the running system or --root */
		if (o->root)
			agent_warn("--root %s is not used by an msi target: its MSIs install into a throwaway Wine prefix",
				   o->root);
		run.may_install = true;
	}
	agent_ictx_init(&run, 3600);
	if (!agent_step_verify(&run) || !agent_step_prescan(&run) || !agent_step_resolve(&run))
		goto finish;

	if (!run.may_install) {
		report_step_skip(run.report, "install",
				 "no --root given: validate never installs into the running system; give --root DIR, or --root / to install here",
				 true);
	} else if (o->dry_run) {
		report_step_skip(run.report, "install", "dry run (--dry-run)", true);
	} else if (!agent_step_install(&run)) {
		goto finish;
	} else {
		(void)agent_step_policy(&run); /* its findings do not stop the seller's checks */
	}
	(void)agent_step_vulns(&run); /* without an install: the transaction as it would be */
	agent_step_checks(&run);

finish:
	if (o->sbom)
		(void)agent_step_sbom(&run, o->sbom);
	code = agent_finish_run(&run);
	agent_run_free(&run);
	free(root_real);
	return code;
}
