/* SPDX-License-Identifier: MIT */
/* The policy file (policyfile.h): its strict parser, the built-in default, and what it says of a finding. */
#include "policyfile.h"
#include "jsonread.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NAME 128
#define MAX_TEXT 4096
#define MAX_REASON 1024

extern const char pib_default_policy_json[];
extern const size_t pib_default_policy_json_len;

/* The parse of one document: messages say "SOURCE: POINTER: what". */
struct pctx {
	struct jr jr;
	const cJSON *known; /* the default policy's checks: the ids the agent knows */
};

/* A key as a JSON pointer token: printable ASCII, at most 64 bytes, ~ and / escaped. */
static void ptr_token(const char *k, char *out, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; k[i] && i < 64 && n + 3 < size; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c == '~' || c == '/') {
			out[n++] = '~';
			out[n++] = c == '~' ? '0' : '1';
		} else {
			out[n++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
		}
	}
	out[n] = '\0';
}

/* base + "/" + field (a field name of ours: nothing to escape); cut at size. */
static void ptr_field(char *out, size_t size, const char *base, const char *field)
{
	size_t n = strnlen(base, size - 1);
	memmove(out, base, n);
	out[n] = '\0';
	if (n + 1 + strlen(field) < size) {
		out[n] = '/';
		strcpy(out + n + 1, field);
	}
}

static void ptr_key(char *out, size_t size, const char *base, const char *key)
{
	char tok[200];
	ptr_token(key, tok, sizeof(tok));
	snprintf(out, size, "%s/%s", base, tok);
}

/* obj is an object with only the allowed keys, each once, and the required ones. */
static int keys_check(struct pctx *p, const char *ptr, const cJSON *obj, const char *const *allowed,
		      const char *const *required)
{
	const cJSON *it;
	char sub[512];

	if (!cJSON_IsObject(obj))
		return jr_bad(&p->jr, ptr, "expected an object, got %s", jr_type_name(obj));
	cJSON_ArrayForEach(it, obj)
	{
		bool known = false;
		for (int i = 0; allowed && allowed[i]; i++)
			known |= !strcmp(it->string, allowed[i]);
		ptr_key(sub, sizeof(sub), ptr, it->string);
		if (allowed && !known)
			return jr_bad(&p->jr, sub, "unknown key");
		for (const cJSON *o = it->next; o; o = o->next)
			if (!strcmp(o->string, it->string))
				return jr_bad(&p->jr, sub, "duplicate key");
	}
	for (int i = 0; required && required[i]; i++)
		if (!cJSON_GetObjectItemCaseSensitive(obj, required[i])) {
			ptr_key(sub, sizeof(sub), ptr, required[i]);
			return jr_bad(&p->jr, sub, "missing");
		}
	return 0;
}

/* A string of 1 to max characters without control characters (non_blank: not only white space). */
static int text_field(struct pctx *p, const char *ptr, const cJSON *j, size_t max, bool non_blank, char **ret)
{
	if (!cJSON_IsString(j))
		return jr_bad(&p->jr, ptr, "expected a string, got %s", jr_type_name(j));
	const char *s = j->valuestring;
	if (!*s || (non_blank && !s[strspn(s, " \t\r\n")]))
		return jr_bad(&p->jr, ptr, "must not be empty");
	if (strlen(s) > max)
		return jr_bad(&p->jr, ptr, "longer than %zu bytes", max);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return jr_bad(&p->jr, ptr, "a control character in the text");
	if (ret && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

static int severity_field(struct pctx *p, const char *ptr, const cJSON *j, int *ret)
{
	int s = cJSON_IsString(j) ? policy_severity_parse(j->valuestring) : -1;
	if (s < 0) {
		if (!cJSON_IsString(j))
			return jr_bad(&p->jr, ptr, "expected a severity (info, low, medium, high, critical), got %s",
				      jr_type_name(j));
		char *c = pib_text_clean(j->valuestring, false);
		int r = jr_bad(&p->jr, ptr, "\"%.64s\" is not a severity (info, low, medium, high, critical)", c ? c : "?");
		free(c);
		return r;
	}
	*ret = s;
	return 0;
}

/* YYYY-MM-DD, a real day. */
static bool date_valid(const char *s)
{
	int y, m, d;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !pib_str_all_in(s, "0123456789-"))
		return false;
	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* An id the agent knows, or a wildcard that matches at least one. */
static bool pattern_known(const struct pctx *p, const char *pat, bool prefix)
{
	const cJSON *it;
	size_t n = strlen(pat) - (prefix ? 1 : 0);

	if (!prefix)
		return cJSON_GetObjectItemCaseSensitive(p->known, pat) != NULL;
	cJSON_ArrayForEach(it, p->known)
	{
		if (!strncmp(it->string, pat, n))
			return true;
	}
	return false;
}

static int parse_rule(struct pctx *p, const char *ptr, const cJSON *it, struct policy_rule *r)
{
	static const char *const keys[] = {"enabled", "severity", "comment", NULL};
	const char *k = it->string;
	size_t n = strlen(k);
	const cJSON *v;
	int rc;

	r->enabled = r->severity = -1;
	/* "*", "ssh.*", or an id: lower-case dotted words */
	r->prefix = n >= 1 && k[n - 1] == '*';
	bool shape = !strcmp(k, "*") ||
		     (n >= 1 && n <= 128 && pib_str_all_in(k, "abcdefghijklmnopqrstuvwxyz0123456789_.*") &&
		      !strchr(k, '*') == !r->prefix && (!r->prefix || (n >= 3 && k[n - 2] == '.')) &&
		      k[0] != '.' && !strstr(k, "..") && (r->prefix || k[n - 1] != '.') &&
		      strchr(k, '*') == (r->prefix ? k + n - 1 : NULL));
	if (!shape)
		return jr_bad(&p->jr, ptr, "expected a check id (ssh.password_auth), a wildcard (ssh.*) or *");
	if (!pattern_known(p, k, r->prefix))
		return jr_bad(&p->jr, ptr, r->prefix ? "no check the agent knows matches this wildcard"
						     : "not a check the agent knows (see the default policy's checks)");
	if ((rc = keys_check(p, ptr, it, keys, NULL)) < 0)
		return rc;
	char sub[600];
	if ((v = cJSON_GetObjectItemCaseSensitive(it, "enabled"))) {
		ptr_field(sub, sizeof(sub), ptr, "enabled");
		if (!cJSON_IsBool(v))
			return jr_bad(&p->jr, sub, "expected true or false, got %s", jr_type_name(v));
		r->enabled = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(it, "severity"))) {
		ptr_field(sub, sizeof(sub), ptr, "severity");
		if ((rc = severity_field(p, sub, v, &r->severity)) < 0)
			return rc;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(it, "comment"))) {
		ptr_field(sub, sizeof(sub), ptr, "comment");
		if (!cJSON_IsString(v) || strlen(v->valuestring) > MAX_TEXT)
			return jr_bad(&p->jr, sub, "expected a string of at most %d bytes", MAX_TEXT);
	}
	r->pattern = strdup(k);
	return r->pattern ? 0 : -ENOMEM;
}

static int parse_checks(struct pctx *p, const char *base, const cJSON *checks, struct policy_file *pf)
{
	char ptr[512];
	const cJSON *it;
	int r, n = 0;

	snprintf(ptr, sizeof(ptr), "%s/checks", base);
	if ((r = keys_check(p, ptr, checks, NULL, NULL)) < 0)
		return r;
	n = cJSON_GetArraySize(checks);
	if (n > POLICYFILE_MAX_RULES)
		return jr_bad(&p->jr, ptr, "more than %d keys", POLICYFILE_MAX_RULES);
	pf->rules = n ? calloc((size_t)n, sizeof(*pf->rules)) : NULL;
	if (n && !pf->rules)
		return -ENOMEM;
	cJSON_ArrayForEach(it, checks)
	{
		char sub[600];
		ptr_key(sub, sizeof(sub), ptr, it->string);
		if ((r = parse_rule(p, sub, it, &pf->rules[pf->n_rules])) < 0) {
			free(pf->rules[pf->n_rules].pattern);
			return r;
		}
		pf->n_rules++;
	}
	return 0;
}

static int parse_allow_entry(struct pctx *p, const char *ptr, const cJSON *it, struct policy_allow *a)
{
	static const char *const keys[] = {"id", "path", "reason", "expires", NULL};
	static const char *const req[] = {"id", "reason", NULL};
	char sub[600];
	const cJSON *v;
	int r;

	if ((r = keys_check(p, ptr, it, keys, req)) < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(it, "id");
	ptr_field(sub, sizeof(sub), ptr, "id");
	if ((r = text_field(p, sub, v, 128, true, NULL)) < 0)
		return r;
	if (!cJSON_GetObjectItemCaseSensitive(p->known, v->valuestring)) {
		char *c = pib_text_clean(v->valuestring, false);
		r = jr_bad(&p->jr, sub, "\"%.64s\" is not a check the agent knows (an exact id here, no wildcard)",
			   c ? c : "?");
		free(c);
		return r;
	}
	if (!(a->id = strdup(v->valuestring)))
		return -ENOMEM;
	if ((v = cJSON_GetObjectItemCaseSensitive(it, "path"))) {
		ptr_field(sub, sizeof(sub), ptr, "path");
		if ((r = text_field(p, sub, v, MAX_TEXT, true, &a->path)) < 0)
			return r;
		if (a->path[0] != '/')
			return jr_bad(&p->jr, sub, "expected an absolute path inside the root (or a pattern of one)");
	}
	ptr_field(sub, sizeof(sub), ptr, "reason");
	if ((r = text_field(p, sub, cJSON_GetObjectItemCaseSensitive(it, "reason"), MAX_REASON, true, &a->reason)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(it, "expires"))) {
		ptr_field(sub, sizeof(sub), ptr, "expires");
		if (!cJSON_IsString(v) || !date_valid(v->valuestring))
			return jr_bad(&p->jr, sub, "expected a date YYYY-MM-DD");
		memcpy(a->expires, v->valuestring, 11);
	}
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int parse_allow(struct pctx *p, const char *base, const cJSON *allow, struct policy_file *pf)
{
	char ptr[512];
	const cJSON *it;
	int r, n;

	snprintf(ptr, sizeof(ptr), "%s/allow", base);
	if (!cJSON_IsArray(allow))
		return jr_bad(&p->jr, ptr, "expected an array, got %s", jr_type_name(allow));
	n = cJSON_GetArraySize(allow);
	if (n > POLICYFILE_MAX_ALLOW)
		return jr_bad(&p->jr, ptr, "more than %d entries", POLICYFILE_MAX_ALLOW);
	pf->allow = n ? calloc((size_t)n, sizeof(*pf->allow)) : NULL;
	if (n && !pf->allow)
		return -ENOMEM;
	cJSON_ArrayForEach(it, allow)
	{
		char sub[600];
		struct policy_allow *a = &pf->allow[pf->n_allow];
		snprintf(sub, sizeof(sub), "%s/%zu", ptr, pf->n_allow);
		a->index = pf->n_allow++; /* counted now: policyfile_free frees what a holds on failure */
		if ((r = parse_allow_entry(p, sub, it, a)) < 0)
			return r;
		for (size_t k = 0; k + 1 < pf->n_allow; k++)
			if (!strcmp(pf->allow[k].id, a->id) && same_str(pf->allow[k].path, a->path))
				return jr_bad(&p->jr, sub, "the same id and path as %s/%zu", ptr, k);
	}
	return 0;
}

/* Children of every object in order of their keys (byte order), recursively: the canonical form. */
static void sort_keys(cJSON *j)
{
	cJSON *it;
	if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
		return;
	for (it = j->child; it; it = it->next)
		sort_keys(it);
	if (!cJSON_IsObject(j) || !j->child)
		return;
	/* insertion sort of the list (a policy has at most a few thousand keys) */
	cJSON *sorted = NULL;
	for (it = j->child; it;) {
		cJSON *next = it->next, **at = &sorted;
		while (*at && strcmp((*at)->string, it->string) <= 0)
			at = &(*at)->next;
		it->next = *at;
		*at = it;
		it = next;
	}
	/* prev pointers: cJSON keeps child->prev as the last item */
	cJSON *prev = NULL, *last = NULL;
	for (it = sorted; it; it = it->next) {
		it->prev = prev;
		prev = last = it;
	}
	sorted->prev = last;
	j->child = sorted;
}

static int digest(const cJSON *j, char out[65])
{
	cJSON *c = cJSON_Duplicate(j, true);
	char *text = NULL;
	if (c) {
		sort_keys(c);
		text = cJSON_PrintUnformatted(c);
	}
	cJSON_Delete(c);
	if (!text)
		return -ENOMEM;
	pib_sha256_hex(text, strlen(text), out);
	free(text);
	return 0;
}

static int parse_doc(struct pctx *p, const char *base, const cJSON *root, struct policy_file *pf)
{
	static const char *const top[] = {"$schema", "policy_version", "name", "description",
					  "fail_on", "checks",	       "allow", NULL};
	static const char *const req[] = {"policy_version", "name", NULL};
	char sub[600];
	const cJSON *it;
	int r;

	if ((r = keys_check(p, *base ? base : "", root, top, req)) < 0)
		return r;
	it = cJSON_GetObjectItemCaseSensitive(root, "policy_version");
	ptr_field(sub, sizeof(sub), base, "policy_version");
	if (!cJSON_IsNumber(it) || it->valuedouble != 1)
		return jr_bad(&p->jr, sub, "expected 1 (the only version there is)");
	ptr_field(sub, sizeof(sub), base, "name");
	if ((r = text_field(p, sub, cJSON_GetObjectItemCaseSensitive(root, "name"), MAX_NAME, true, &pf->name)) < 0)
		return r;
	ptr_field(sub, sizeof(sub), base, "$schema");
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "$schema")) && !cJSON_IsString(it))
		return jr_bad(&p->jr, sub, "expected a string, got %s", jr_type_name(it));
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "description"))) {
		ptr_field(sub, sizeof(sub), base, "description");
		if (!cJSON_IsString(it) || strlen(it->valuestring) > MAX_TEXT)
			return jr_bad(&p->jr, sub, "expected a string of at most %d bytes", MAX_TEXT);
	}
	pf->fail_on = POLICY_SEV_HIGH;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "fail_on"))) {
		int s;
		ptr_field(sub, sizeof(sub), base, "fail_on");
		if ((r = severity_field(p, sub, it, &s)) < 0)
			return r;
		pf->fail_on = (enum policy_severity)s;
	}
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "checks")) && (r = parse_checks(p, base, it, pf)) < 0)
		return r;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "allow")) && (r = parse_allow(p, base, it, pf)) < 0)
		return r;
	return digest(root, pf->sha256);
}

/* The default policy's checks, parsed from the copy in the binary; NULL on OOM (or a broken build). */
static cJSON *default_doc(void)
{
	return cJSON_ParseWithLength(pib_default_policy_json, pib_default_policy_json_len);
}

bool policyfile_known_id(const char *id)
{
	cJSON *d = default_doc();
	bool known = id && cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "checks"), id);
	cJSON_Delete(d);
	return known;
}

static int from_json(const cJSON *j, const char *source_name, const char *pointer, const char *source,
		     struct policy_file **ret, struct pib_err *err)
{
	struct pctx p = {{PIB_ERR_USAGE, "policy.invalid", source_name, err, true}, NULL};
	struct policy_file *pf = calloc(1, sizeof(*pf));
	cJSON *d = default_doc();
	int r;

	*ret = NULL;
	p.known = cJSON_GetObjectItemCaseSensitive(d, "checks");
	if (!pf || !cJSON_IsObject(p.known)) {
		r = -ENOMEM;
	} else {
		pf->source = source;
		pf->from = strdup(source_name);
		r = pf->from ? parse_doc(&p, pointer ? pointer : "", j, pf) : -ENOMEM;
	}
	cJSON_Delete(d);
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "%s: out of memory", source_name);
	if (r < 0) {
		policyfile_free(pf);
		return r;
	}
	*ret = pf;
	return 0;
}

int policyfile_from_json(const cJSON *j, const char *source_name, const char *pointer, struct policy_file **ret,
			 struct pib_err *err)
{
	return from_json(j, source_name, pointer, "job", ret, err);
}

int policyfile_parse(const char *text, size_t len, const char *source_name, const char *source,
		     struct policy_file **ret, struct pib_err *err)
{
	struct jr p = {PIB_ERR_USAGE, "policy.invalid", source_name, err, true};
	cJSON *root = NULL;
	int r;

	*ret = NULL;
	if ((r = jr_parse(&p, text, len, POLICYFILE_MAX, true, &root)) == 0)
		r = from_json(root, source_name, "", source, ret, err);
	cJSON_Delete(root);
	return r;
}

int policyfile_load(const char *file, struct policy_file **ret, struct pib_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (!file)
		return policyfile_parse(pib_default_policy_json, pib_default_policy_json_len, "built in", "default", ret,
					err);
	if ((r = pib_read_file(file, POLICYFILE_MAX, &text, &len)) < 0)
		return pib_fail(err, r, PIB_ERR_USAGE, "policy.invalid", "%s: cannot be read: %s", file,
				r == -EFBIG ? "larger than 256 KiB" : strerror(-r));
	r = policyfile_parse(text, len, file, "file", ret, err);
	free(text);
	return r;
}

void policyfile_free(struct policy_file *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->n_rules; i++)
		free(pf->rules[i].pattern);
	for (size_t i = 0; i < pf->n_allow; i++) {
		free(pf->allow[i].id);
		free(pf->allow[i].path);
		free(pf->allow[i].reason);
	}
	free(pf->rules);
	free(pf->allow);
	free(pf->name);
	free(pf->from);
	free(pf);
}

void policy_today(char out[11])
{
	const char *d = getenv("PIB_POLICY_DATE");
	if (d && date_valid(d)) {
		memcpy(out, d, 11);
		return;
	}
	time_t now = time(NULL);
	struct tm tm;
	strftime(out, 11, "%Y-%m-%d", gmtime_r(&now, &tm));
}

/* How specific a rule is for id: -1 no match, else the length of what it matches on (an exact id wins). */
static long rule_rank(const struct policy_rule *r, const char *id)
{
	size_t n = strlen(r->pattern);
	if (!r->prefix)
		return strcmp(r->pattern, id) ? -1 : 100000;
	return strncmp(r->pattern, id, n - 1) ? -1 : (long)(n - 1);
}

static bool allow_matches(const struct policy_allow *a, const struct policy_finding *f)
{
	if (strcmp(a->id, f->id))
		return false;
	if (!a->path)
		return true;
	return f->path && (!strcmp(a->path, f->path) || fnmatch(a->path, f->path, FNM_PATHNAME) == 0);
}

void policy_apply(const struct policy_file *pf, const struct policy_finding *f, const char *date,
		  struct policy_verdict *ret)
{
	long best_en = -1, best_sev = -1;

	*ret = (struct policy_verdict){.enabled = true, .severity = f->severity};
	for (size_t i = 0; pf && i < pf->n_rules; i++) {
		const struct policy_rule *r = &pf->rules[i];
		long rank = rule_rank(r, f->id);
		if (rank < 0)
			continue;
		if (r->enabled >= 0 && rank > best_en) {
			best_en = rank;
			ret->enabled = r->enabled;
		}
		if (r->severity >= 0 && rank > best_sev) {
			best_sev = rank;
			ret->severity = (enum policy_severity)r->severity;
		}
	}
	ret->severity_changed = ret->severity != f->severity;
	for (size_t i = 0; pf && i < pf->n_allow; i++) {
		const struct policy_allow *a = &pf->allow[i];
		if (!allow_matches(a, f))
			continue;
		if (a->expires[0] && date && strcmp(date, a->expires) > 0) {
			if (!ret->expired)
				ret->expired = a;
			continue;
		}
		ret->allowed = a;
		ret->expired = NULL;
		break;
	}
}

int policyfile_apply_all(const struct policy_file *pf, struct policy_findings *f, const char *date,
			 struct policy_verdict **ret_verdicts, size_t *ret_disabled, struct pib_err *err)
{
	struct policy_verdict *v = calloc(f->n ? f->n : 1, sizeof(*v));
	size_t keep = 0, dropped = 0;

	if (!v)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	for (size_t i = 0; i < f->n; i++) {
		struct policy_verdict one;
		policy_apply(pf, &f->v[i], date, &one);
		if (!one.enabled) {
			free(f->v[i].id);
			free(f->v[i].title);
			free(f->v[i].path);
			free(f->v[i].evidence);
			free(f->v[i].remediation);
			dropped++;
			continue;
		}
		f->v[i].severity = one.severity;
		f->v[keep] = f->v[i];
		v[keep++] = one;
	}
	f->n = keep;
	*ret_verdicts = v;
	if (ret_disabled)
		*ret_disabled = dropped;
	return 0;
}

cJSON *policyfile_json(const struct policy_file *pf, const char *date)
{
	cJSON *j = cJSON_CreateObject(), *exp = cJSON_CreateArray();

	if (!j || !exp) {
		cJSON_Delete(j);
		cJSON_Delete(exp);
		return NULL;
	}
	cJSON_AddStringToObject(j, "name", pf->name);
	cJSON_AddStringToObject(j, "source", pf->source);
	cJSON_AddStringToObject(j, "from", pf->from);
	cJSON_AddStringToObject(j, "sha256", pf->sha256);
	cJSON_AddStringToObject(j, "fail_on", policy_severity_name(pf->fail_on));
	cJSON_AddNumberToObject(j, "rules", (double)pf->n_rules);
	cJSON_AddNumberToObject(j, "allow", (double)pf->n_allow);
	for (size_t i = 0; i < pf->n_allow; i++) {
		const struct policy_allow *a = &pf->allow[i];
		if (!a->expires[0] || !date || strcmp(date, a->expires) <= 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		if (!o)
			continue;
		cJSON_AddStringToObject(o, "id", a->id);
		if (a->path)
			cJSON_AddStringToObject(o, "path", a->path);
		else
			cJSON_AddNullToObject(o, "path");
		cJSON_AddStringToObject(o, "expires", a->expires);
		cJSON_AddStringToObject(o, "reason", a->reason);
		cJSON_AddItemToArray(exp, o);
	}
	cJSON_AddItemToObject(j, "allow_expired", exp);
	return j;
}
