/* SPDX-License-Identifier: MIT */
/* The end-of-life table and the check of a root's OS against it (oseol.h). */
#include "oseol.h"
#include "jsonread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The table is ours and small; a bound keeps a broken build from reading a huge file. */
#define OSEOL_MAX (1u << 20)

/* A calendar date YYYY-MM-DD (digits in place; months and days in range, not per month). */
static bool is_date(const char *s)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int m = (s[5] - '0') * 10 + s[6] - '0', d = (s[8] - '0') * 10 + s[9] - '0';
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static int date_field(const struct jr *p, const char *path, const cJSON *o, const char *key, bool required,
		      char out[11])
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	out[0] = '\0';
	if (!j && !required)
		return 0;
	if (!cJSON_IsString(j) || !is_date(j->valuestring))
		return jr_bad(p, path, "%s: expected a date YYYY-MM-DD, got %s", key, jr_type_name(j));
	memcpy(out, j->valuestring, 11);
	return 0;
}

static int str_field(const struct jr *p, const char *path, const cJSON *o, const char *key, bool required, char **out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!j && !required)
		return 0;
	if (!cJSON_IsString(j) || !j->valuestring[0])
		return jr_bad(p, path, "%s: expected a non-empty string, got %s", key, jr_type_name(j));
	return (*out = pib_strdup(j->valuestring)) ? 0 : -ENOMEM;
}

static void entry_free(struct oseol_entry *e)
{
	free(e->id);
	free(e->version);
	pib_strv_free(e->aliases);
	free(e->name);
	free(e->extended_name);
	free(e->source);
	free(e->unsure);
}

static int parse_entry(const struct jr *p, const cJSON *o, const cJSON *sources, size_t i, struct oseol_entry *e)
{
	static const char *const keys[] = {"id", "version", "aliases", "name", "full_support_end", "standard_end",
					   "extended_end", "extended_name", "extended_paid", "source", "unsure", NULL};
	static const char *const req[] = {"id", "version", "name", "standard_end", "source", NULL};
	char path[32];
	char *src = NULL;
	int r;

	snprintf(path, sizeof(path), "os[%zu]", i);
	if (!cJSON_IsObject(o))
		return jr_bad(p, path, "expected an object, got %s", jr_type_name(o));
	if ((r = jr_check_keys(p, path, o, keys, req)) < 0 || (r = str_field(p, path, o, "id", true, &e->id)) < 0 ||
	    (r = str_field(p, path, o, "version", true, &e->version)) < 0 ||
	    (r = str_field(p, path, o, "name", true, &e->name)) < 0 ||
	    (r = date_field(p, path, o, "full_support_end", false, e->full_support_end)) < 0 ||
	    (r = date_field(p, path, o, "standard_end", true, e->standard_end)) < 0 ||
	    (r = date_field(p, path, o, "extended_end", false, e->extended_end)) < 0 ||
	    (r = str_field(p, path, o, "extended_name", false, &e->extended_name)) < 0 ||
	    (r = str_field(p, path, o, "unsure", false, &e->unsure)) < 0 ||
	    (r = str_field(p, path, o, "source", true, &src)) < 0)
		goto out;
	if (!e->extended_end[0] != !e->extended_name) {
		r = jr_bad(p, path, "extended_end and extended_name go together");
		goto out;
	}
	if (e->extended_end[0] && strcmp(e->extended_end, e->standard_end) < 0) {
		r = jr_bad(p, path, "extended_end is before standard_end");
		goto out;
	}
	const cJSON *paid = cJSON_GetObjectItemCaseSensitive(o, "extended_paid");
	if (paid && !cJSON_IsBool(paid)) {
		r = jr_bad(p, path, "extended_paid: expected a boolean, got %s", jr_type_name(paid));
		goto out;
	}
	e->extended_paid = !paid || cJSON_IsTrue(paid); /* an extension is paid unless the table says not */
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(o, "aliases"), *a;
	if (al && !cJSON_IsArray(al)) {
		r = jr_bad(p, path, "aliases: expected an array, got %s", jr_type_name(al));
		goto out;
	}
	cJSON_ArrayForEach(a, al) {
		if (!cJSON_IsString(a) || !a->valuestring[0]) {
			r = jr_bad(p, path, "aliases: expected strings");
			goto out;
		}
		if ((r = pib_strv_push(&e->aliases, a->valuestring)) < 0)
			goto out;
	}
	const cJSON *page = cJSON_GetObjectItemCaseSensitive(sources, src);
	if (!cJSON_IsString(page)) {
		r = jr_bad(p, path, "source: \"%s\" is not in sources", src);
		goto out;
	}
	r = (e->source = pib_strdup(page->valuestring)) ? 0 : -ENOMEM;
out:
	free(src);
	return r;
}

int oseol_parse(const char *text, size_t len, const char *source, struct oseol_table *ret, struct pib_err *err)
{
	static const char *const keys[] = {"compiled", "note", "sources", "os", NULL};
	const struct jr p = {PIB_ERR_ENV, "agent.io", source, err, false};
	cJSON *root = NULL;
	const cJSON *os, *o;
	struct oseol_table t = {0};
	size_t i = 0;
	int r;

	*ret = (struct oseol_table){0};
	if ((r = jr_parse(&p, text, len, OSEOL_MAX, true, &root)) < 0)
		goto out;
	if (!cJSON_IsObject(root)) {
		r = jr_bad(&p, "", "expected an object");
		goto out;
	}
	if ((r = jr_check_keys(&p, "", root, keys, keys)) < 0 ||
	    (r = date_field(&p, "", root, "compiled", true, t.compiled)) < 0)
		goto out;
	os = cJSON_GetObjectItemCaseSensitive(root, "os");
	if (!cJSON_IsArray(os) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "sources"))) {
		r = jr_bad(&p, "", "os must be an array and sources an object");
		goto out;
	}
	t.v = calloc((size_t)cJSON_GetArraySize(os) + 1, sizeof(*t.v));
	if (!t.v) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(o, os) {
		r = parse_entry(&p, o, cJSON_GetObjectItemCaseSensitive(root, "sources"), i, &t.v[i]);
		t.n = ++i; /* freed with the table on failure */
		if (r < 0)
			goto out;
	}
	*ret = t;
	t = (struct oseol_table){0};
out:
	oseol_free(&t);
	cJSON_Delete(root);
	return r;
}

int oseol_load(const char *path, struct oseol_table *ret, struct pib_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = pib_read_file(path, OSEOL_MAX, &text, &len);

	*ret = (struct oseol_table){0};
	if (r < 0)
		return pib_fail(err, r, PIB_ERR_ENV, "agent.io", "%s: cannot read the end-of-life table: %s",
				path, strerror(-r));
	r = oseol_parse(text, len, path, ret, err);
	free(text);
	return r;
}

void oseol_free(struct oseol_table *t)
{
	for (size_t i = 0; t->v && i < t->n; i++)
		entry_free(&t->v[i]);
	free(t->v);
	*t = (struct oseol_table){0};
}

/* "9" leads "9.4" (a whole dotted part), "1" does not lead "12". */
static bool version_leads(const char *lead, const char *version)
{
	size_t n = strlen(lead);
	return strncmp(lead, version, n) == 0 && version[n] == '.';
}

static bool alias_is(const struct oseol_entry *e, const char *version)
{
	for (size_t i = 0; e->aliases && e->aliases[i]; i++)
		if (strcasecmp(e->aliases[i], version) == 0)
			return true;
	return false;
}

enum oseol_status oseol_lookup(const struct oseol_table *t, const char *id, const char *version, const char *date,
			       bool with_paid_extended, struct oseol_answer *ret)
{
	const struct oseol_entry *best = NULL;
	size_t best_len = 0;

	*ret = (struct oseol_answer){.status = OSEOL_UNKNOWN};
	if (!id || !version || !version[0])
		return OSEOL_UNKNOWN;
	for (size_t i = 0; i < t->n; i++) {
		const struct oseol_entry *e = &t->v[i];
		if (strcmp(e->id, id) != 0)
			continue;
		if (strcasecmp(e->version, version) == 0 || alias_is(e, version)) {
			best = e;
			break;
		}
		if (version_leads(e->version, version) && strlen(e->version) > best_len) {
			best = e;
			best_len = strlen(e->version);
		}
	}
	if (!best)
		return OSEOL_UNKNOWN;
	ret->e = best;
	if (best->extended_end[0] && (!best->extended_paid || with_paid_extended)) {
		ret->end = best->extended_end;
		ret->basis = best->extended_name;
	} else {
		ret->end = best->standard_end;
		ret->basis = "standard support";
	}
	if (!is_date(date))
		return OSEOL_UNKNOWN; /* the entry is known (ret->e), the verdict is not */
	ret->status = strcmp(date, ret->end) > 0 ? OSEOL_EOL : OSEOL_SUPPORTED;
	return ret->status;
}

int oseol_check(const struct oseol_table *t, const struct osinfo *os, const char *date, struct policy_findings *f)
{
	struct oseol_answer a;
	const char *pretty = os->pretty_name ? os->pretty_name : "(no PRETTY_NAME)";
	const char *path = os->overridden ? NULL : "/etc/os-release";
	enum oseol_status st = oseol_lookup(t, os->id, os->version_id, date, false, &a);
	char *clean = pib_text_clean(pretty, false), *more = NULL;
	int r;

	if (!clean)
		return -ENOMEM;
	if (st == OSEOL_EOL) {
		const struct oseol_entry *e = a.e;
		/* VERSION_ID is the root's ("9.<anything>" matched "9"): shown cleaned */
		char *vid = pib_text_clean(os->version_id, false);
		if (e->extended_end[0] && e->extended_paid)
			more = pib_asprintf("; %s (paid) runs until %s", e->extended_name, e->extended_end);
		else
			more = pib_strdup("");
		r = more && vid ? policy_add(f, "os.end_of_life", POLICY_SEV_HIGH, "The image's OS is past its end of life",
					     path, 0, "Build the image from a supported release of the OS.",
					     "%s (%s %s: %s): %s ended %s, judged at %s%s%s%s; source: %s (table compiled %s)",
					     clean, e->id, vid, e->name, a.basis, a.end, date, more,
					     e->unsure ? "; unsure: " : "", e->unsure ? e->unsure : "", e->source, t->compiled)
				: -ENOMEM;
		free(vid);
	} else if (st == OSEOL_UNKNOWN) {
		char *vid = pib_text_clean(os->version_id ? os->version_id : "", false),
		     *oid = pib_text_clean(os->id ? os->id : "", false);
		r = vid && oid ? policy_add(f, "os.eol_unknown", POLICY_SEV_INFO,
					    "The image's OS is not in the end-of-life table", path, 0,
					    "Check the OS vendor's lifecycle page; add the version to manifests/os-eol.json.",
					    "%s (ID %s, VERSION_ID %s): %s (table compiled %s)", clean, oid, vid,
					    a.e ? "no valid date to judge at" : "not in the table", t->compiled)
			       : -ENOMEM;
		free(vid);
		free(oid);
	} else {
		r = 0;
	}
	free(more);
	free(clean);
	return r;
}
