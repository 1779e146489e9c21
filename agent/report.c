/* SPDX-License-Identifier: MIT */
/* The report of one run: steps, verdicts and the predicate JSON of design.md. */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "pib-config.h"

struct report *report_new(const char *command)
{
	struct report *r = calloc(1, sizeof(*r));
	cJSON *agent;

	if (!r)
		return NULL;
	r->pred = cJSON_CreateObject();
	cJSON_AddStringToObject(r->pred, "status", "incomplete");
	cJSON_AddStringToObject(r->pred, "phase", "final");
	cJSON_AddNullToObject(r->pred, "build_id");
	cJSON_AddStringToObject(r->pred, "command", command);
	agent = cJSON_AddObjectToObject(r->pred, "agent");
	cJSON_AddStringToObject(agent, "name", "pib-agent");
	cJSON_AddStringToObject(agent, "version", PIB_VERSION);
	cJSON_AddNullToObject(r->pred, "host");
	cJSON_AddNullToObject(r->pred, "bundle");
	cJSON_AddNullToObject(r->pred, "target");
	r->steps = cJSON_AddArrayToObject(r->pred, "steps");
	cJSON_AddNullToObject(r->pred, "error");
	cJSON_AddArrayToObject(r->pred, "packages");
	cJSON_AddNullToObject(r->pred, "scan");
	cJSON_AddArrayToObject(r->pred, "policy");
	cJSON_AddArrayToObject(r->pred, "checks");
	cJSON_AddArrayToObject(r->pred, "image_changes");
	cJSON_AddNullToObject(r->pred, "vulnerabilities"); /* null: not checked (no feed given) */
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	cJSON_Delete(r->pred);
	for (size_t i = 0; i < r->n_subjects; i++)
		free(r->subjects[i].name);
	free(r->subjects);
	pib_err_clear(&r->first);
	free(r);
}

void report_step_begin(struct report *r, const char *name)
{
	char now[40];

	if (r->cur)
		report_step_end(r, NULL);
	pib_now_rfc3339(now);
	r->cur = cJSON_CreateObject();
	cJSON_AddStringToObject(r->cur, "name", name);
	cJSON_AddStringToObject(r->cur, "status", "running");
	cJSON_AddStringToObject(r->cur, "started", now);
	cJSON_AddItemToArray(r->steps, r->cur);
	r->cur_t0 = pib_now_mono();
}

static cJSON *error_json(const struct pib_err *e, const char *step)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "code", e->code);
	cJSON_AddStringToObject(j, "message", e->msg);
	if (step)
		cJSON_AddStringToObject(j, "step", step);
	if (e->detail)
		cJSON_AddStringToObject(j, "output", e->detail);
	return j;
}

static void remember_first(struct report *r, const struct pib_err *e)
{
	if (r->first.set)
		return;
	r->first = *e;
	r->first.detail = pib_strdup(e->detail);
}

void report_step_end(struct report *r, const struct pib_err *err)
{
	char now[40];

	if (!r->cur)
		return;
	pib_now_rfc3339(now);
	cJSON_AddStringToObject(r->cur, "ended", now);
	cJSON_AddNumberToObject(r->cur, "duration_ms",
				(double)(long long)((pib_now_mono() - r->cur_t0) * 1000.0));
	if (err && err->set) {
		cJSON_ReplaceItemInObject(r->cur, "status", cJSON_CreateString("failed"));
		cJSON_AddItemToObject(r->cur, "error", error_json(err, NULL));
		if (err->cls == PIB_ERR_FINDINGS)
			r->any_findings = true;
		else
			r->any_failed = true;
		remember_first(r, err);
	} else {
		cJSON_ReplaceItemInObject(r->cur, "status", cJSON_CreateString("ok"));
	}
	r->cur = NULL;
}

void report_step_skip(struct report *r, const char *name, const char *reason, bool incomplete)
{
	char now[40];
	cJSON *s = cJSON_CreateObject();

	if (r->cur)
		report_step_end(r, NULL);
	pib_now_rfc3339(now);
	cJSON_AddStringToObject(s, "name", name);
	cJSON_AddStringToObject(s, "status", "skipped");
	cJSON_AddStringToObject(s, "reason", reason);
	cJSON_AddStringToObject(s, "started", now);
	cJSON_AddStringToObject(s, "ended", now);
	cJSON_AddNumberToObject(s, "duration_ms", 0);
	cJSON_AddItemToArray(r->steps, s);
	if (incomplete)
		r->any_skipped = true;
}

void report_step_detail(struct report *r, const char *key, cJSON *value)
{
	cJSON *s = r->cur ? r->cur : cJSON_GetArrayItem(r->steps, cJSON_GetArraySize(r->steps) - 1);

	if (!s) {
		cJSON_Delete(value);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(s, key))
		cJSON_ReplaceItemInObjectCaseSensitive(s, key, value);
	else
		cJSON_AddItemToObject(s, key, value);
}

void report_set(struct report *r, const char *key, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(r->pred, key))
		cJSON_ReplaceItemInObjectCaseSensitive(r->pred, key, value);
	else
		cJSON_AddItemToObject(r->pred, key, value);
}

cJSON *report_get(struct report *r, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(r->pred, key);
}

int report_add_subject(struct report *r, const char *name, const char *sha256)
{
	struct report_subject *s;

	for (size_t i = 0; i < r->n_subjects; i++)
		if (!strcmp(r->subjects[i].name, name) && !strcmp(r->subjects[i].sha256, sha256))
			return 0;
	s = realloc(r->subjects, (r->n_subjects + 1) * sizeof(*s));
	if (!s)
		return -1;
	r->subjects = s;
	s[r->n_subjects].name = strdup(name);
	snprintf(s[r->n_subjects].sha256, 65, "%s", sha256);
	if (!s[r->n_subjects].name)
		return -1;
	r->n_subjects++;
	return 0;
}

const char *report_status(const struct report *r)
{
	if (r->any_failed)
		return "failed";
	if (r->any_findings)
		return "findings";
	if (r->any_skipped)
		return "incomplete";
	return "succeeded";
}

int report_exit_code(const struct report *r)
{
	if (r->first.set && r->first.cls == PIB_ERR_ENV)
		return PIB_EXIT_ENV;
	if (r->first.set && r->first.cls == PIB_ERR_USAGE)
		return PIB_EXIT_USAGE;
	if (r->any_failed)
		return PIB_EXIT_FAILED;
	if (r->any_findings)
		return PIB_EXIT_FINDINGS;
	return PIB_EXIT_OK;
}

void report_finish(struct report *r)
{
	if (r->cur)
		report_step_end(r, NULL);
	report_set(r, "status", cJSON_CreateString(report_status(r)));
	if (r->first.set) {
		/* which step failed first */
		const char *step = NULL;
		cJSON *s;
		cJSON_ArrayForEach(s, r->steps)
		{
			cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "status");
			if (cJSON_IsString(st) && !strcmp(st->valuestring, "failed")) {
				step = cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring;
				break;
			}
		}
		report_set(r, "error", error_json(&r->first, step));
	}
}

char *report_predicate_json(struct report *r)
{
	return cJSON_Print(r->pred);
}

cJSON *report_state(const struct report *r)
{
	cJSON *s = cJSON_CreateObject();
	cJSON *subj = cJSON_AddArrayToObject(s, "subjects");

	cJSON_AddItemToObject(s, "predicate", cJSON_Duplicate(r->pred, true));
	for (size_t i = 0; subj && i < r->n_subjects; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", r->subjects[i].name);
		cJSON_AddStringToObject(o, "sha256", r->subjects[i].sha256);
		cJSON_AddItemToArray(subj, o);
	}
	cJSON_AddBoolToObject(s, "any_failed", r->any_failed);
	cJSON_AddBoolToObject(s, "any_findings", r->any_findings);
	cJSON_AddBoolToObject(s, "any_skipped", r->any_skipped);
	if (r->first.set) {
		cJSON *f = cJSON_AddObjectToObject(s, "first");
		cJSON_AddNumberToObject(f, "class", r->first.cls);
		cJSON_AddStringToObject(f, "code", r->first.code);
		cJSON_AddStringToObject(f, "message", r->first.msg);
	}
	return s;
}

struct report *report_from_state(const cJSON *state)
{
	const cJSON *pred = cJSON_GetObjectItemCaseSensitive(state, "predicate");
	const cJSON *subj = cJSON_GetObjectItemCaseSensitive(state, "subjects");
	const cJSON *first = cJSON_GetObjectItemCaseSensitive(state, "first");
	struct report *r;
	const cJSON *it;

	if (!cJSON_IsObject(pred) || !cJSON_IsArray(subj) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(pred, "steps")))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->pred = cJSON_Duplicate(pred, true))) {
		free(r);
		return NULL;
	}
	r->steps = cJSON_GetObjectItemCaseSensitive(r->pred, "steps");
	cJSON_ArrayForEach(it, subj)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "sha256");
		if (!cJSON_IsString(n) || !cJSON_IsString(h) || !pib_is_hex64(h->valuestring) ||
		    report_add_subject(r, n->valuestring, h->valuestring) < 0) {
			report_free(r);
			return NULL;
		}
	}
	r->any_failed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "any_failed"));
	r->any_findings = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "any_findings"));
	r->any_skipped = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "any_skipped"));
	if (cJSON_IsObject(first)) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(first, "code");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(first, "message");
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(first, "class");
		r->first.set = true;
		r->first.cls = cJSON_IsNumber(k) ? (enum pib_class)k->valueint : PIB_ERR_FAILED;
		snprintf(r->first.code, sizeof(r->first.code), "%s", cJSON_IsString(c) ? c->valuestring : "?");
		snprintf(r->first.msg, sizeof(r->first.msg), "%s", cJSON_IsString(m) ? m->valuestring : "");
	}
	return r;
}
