/* SPDX-License-Identifier: MIT */
/* The job document (pib-agent/job/v1): its parser, strict like the manifest's, and what a failed one still yields. */
#include "job.h"
#include "jsonread.h"
#include "policyfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MAX_URL 8192
#define MAX_PATH 4096
#define MAX_PEM (16u << 10)
#define MAX_BUILD_ID 128
#define MAX_BUNDLE_BYTES ((uint64_t)1 << 40)
#define MAX_DB_AGE_DAYS 3650
#define MAX_SECONDS 86400

/* Code points of UTF-8 s (what JSON Schema's maxLength counts). */
static size_t cp_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int url_check(struct jr *p, const char *path, const cJSON *j, char **ret)
{
	const char *u, *rest;

	if (!cJSON_IsString(j))
		return jr_bad(p, path, "expected a string, got %s", jr_type_name(j));
	u = j->valuestring;
	if (!*u)
		return jr_bad(p, path, "must not be empty");
	if (strlen(u) > MAX_URL)
		return jr_bad(p, path, "longer than %d bytes", MAX_URL);
	/* the URL itself is never printed: a pre-signed one carries a secret in its query */
	for (const char *c = u; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return jr_bad(p, path, "a URL is printable ASCII without spaces (percent-encode the rest)");
	if (strchr(u, '#'))
		return jr_bad(p, path, "a URL here has no fragment (#)");
	if (pib_str_has_prefix(u, "https://")) {
		rest = u + strlen("https://");
		size_t auth = strcspn(rest, "/?");
		if (auth == 0)
			return jr_bad(p, path, "no host after https://");
		if (memchr(rest, '@', auth))
			return jr_bad(p, path, "user names or passwords in the URL are refused (userinfo '@')");
	} else if (pib_str_has_prefix(u, "file://")) {
		if (u[strlen("file://")] != '/')
			return jr_bad(p, path, "a file:// URL has no host: file:///absolute/path");
	} else {
		size_t n = strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
		if (n > 0 && n <= 16 && u[n] == ':')
			return jr_bad(p, path, "expected an https:// or file:// URL, got a %.*s: one", (int)n, u);
		return jr_bad(p, path, "expected an https:// or file:// URL");
	}
	*ret = strdup(u);
	return *ret ? 0 : -ENOMEM;
}

static int abs_path(struct jr *p, const char *path, const cJSON *j, char **ret)
{
	if (!cJSON_IsString(j))
		return jr_bad(p, path, "expected a string, got %s", jr_type_name(j));
	const char *s = j->valuestring;
	if (s[0] != '/')
		return jr_bad(p, path, "expected an absolute path");
	if (cp_len(s) > MAX_PATH)
		return jr_bad(p, path, "longer than %d characters", MAX_PATH);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return jr_bad(p, path, "a control character in the path");
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* A whole number in [lo, hi]: 1.0 and 1e3 are whole; 1.5, -1, "1" and true are not. */
static int get_uint(struct jr *p, const char *path, const cJSON *j, uint64_t lo, uint64_t hi, uint64_t *ret)
{
	if (!cJSON_IsNumber(j))
		return jr_bad(p, path, "expected a whole number from %llu to %llu, got %s", (unsigned long long)lo,
			      (unsigned long long)hi, jr_type_name(j));
	double d = j->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi) || d != (double)(uint64_t)d)
		return jr_bad(p, path, "expected a whole number from %llu to %llu", (unsigned long long)lo,
			      (unsigned long long)hi);
	*ret = (uint64_t)d;
	return 0;
}

bool job_build_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= MAX_BUILD_ID && strcmp(s, ".") && strcmp(s, "..") &&
	       pib_str_all_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
}

/* "-----BEGIN PRIVATE KEY-----", a line end, base64 lines, "-----END PRIVATE KEY-----", line ends. */
static bool pem_looks_right(const char *s)
{
	static const char begin[] = "-----BEGIN PRIVATE KEY-----", end[] = "-----END PRIVATE KEY-----";

	if (!pib_str_has_prefix(s, begin))
		return false;
	s += strlen(begin);
	if (*s == '\r')
		s++;
	if (*s != '\n')
		return false;
	s += strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n");
	if (!pib_str_has_prefix(s, end))
		return false;
	s += strlen(end);
	return s[strspn(s, "\r\n")] == '\0';
}

static int parse_build_id(struct jr *p, const cJSON *root, struct job *j)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "build_id");
	if (!cJSON_IsString(b))
		return jr_bad(p, "build_id", "expected a string, got %s", jr_type_name(b));
	if (!job_build_id_valid(b->valuestring))
		return jr_bad(p, "build_id", "expected 1 to %d of A-Z a-z 0-9 . _ - (not \".\" or \"..\")",
			      MAX_BUILD_ID);
	j->build_id = strdup(b->valuestring);
	return j->build_id ? 0 : -ENOMEM;
}

static int parse_report(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"url", "method", "sbom_url", NULL};
	static const char *const req[] = {"url", NULL};
	const cJSON *jr = cJSON_GetObjectItemCaseSensitive(root, "report");
	char *url = NULL, *sbom_url = NULL;
	int r;

	if ((r = jr_check_keys(p, "report", jr, keys, req)) < 0)
		return r;
	const cJSON *jm = cJSON_GetObjectItemCaseSensitive(jr, "method");
	const char *method = "POST";
	if (jm) {
		if (!cJSON_IsString(jm) || (strcmp(jm->valuestring, "POST") && strcmp(jm->valuestring, "PUT")))
			return jr_bad(p, "report.method", "expected \"POST\" or \"PUT\"");
		method = jm->valuestring;
	}
	if ((r = url_check(p, "report.url", cJSON_GetObjectItemCaseSensitive(jr, "url"), &url)) < 0)
		return r;
	/* the SBOM's own URL: a PUT report URL is one object, which the SBOM must not overwrite */
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(jr, "sbom_url");
	if (js && (r = url_check(p, "report.sbom_url", js, &sbom_url)) < 0) {
		free(url);
		return r;
	}
	j->report_method = strdup(method);
	if (!j->report_method) {
		free(url);
		free(sbom_url);
		return -ENOMEM;
	}
	j->report_url = url;
	j->sbom_url = sbom_url;
	return 0;
}

static int parse_key(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"pem", "path", NULL};
	const cJSON *jk = cJSON_GetObjectItemCaseSensitive(root, "signing_key");
	int r;

	if ((r = jr_check_keys(p, "signing_key", jk, keys, NULL)) < 0)
		return r;
	const cJSON *pem = cJSON_GetObjectItemCaseSensitive(jk, "pem");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(jk, "path");
	if (pem && path)
		return jr_bad(p, "signing_key", "give either pem or path, not both");
	if (path)
		return abs_path(p, "signing_key.path", path, &j->key_path);
	if (!pem)
		return jr_bad(p, "signing_key", "expected pem or path");
	if (!cJSON_IsString(pem))
		return jr_bad(p, "signing_key.pem", "expected a string, got %s", jr_type_name(pem));
	/* never print any of it */
	size_t n = strlen(pem->valuestring);
	if (n > MAX_PEM)
		return jr_bad(p, "signing_key.pem", "longer than %u bytes", MAX_PEM);
	if (!pem_looks_right(pem->valuestring))
		return jr_bad(p, "signing_key.pem",
			      "expected an unencrypted PKCS#8 PEM key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)");
	j->key_pem = strdup(pem->valuestring);
	return j->key_pem ? 0 : -ENOMEM;
}

/* A SHA-256 as 64 hex digits, kept in lowercase. */
static int get_sha256(struct jr *p, const char *path, const cJSON *js, char out[65])
{
	if (!cJSON_IsString(js))
		return jr_bad(p, path, "expected a string, got %s", jr_type_name(js));
	if (!pib_is_hex64(js->valuestring))
		return jr_bad(p, path, "expected 64 hex digits");
	for (int k = 0; k < 64; k++)
		out[k] = (char)(js->valuestring[k] | 0x20);
	out[64] = '\0';
	return 0;
}

static int parse_bundle(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"url", "sha256", NULL};
	const cJSON *jb = cJSON_GetObjectItemCaseSensitive(root, "bundle");
	int r;

	if ((r = jr_check_keys(p, "bundle", jb, keys, keys)) < 0)
		return r;
	if ((r = url_check(p, "bundle.url", cJSON_GetObjectItemCaseSensitive(jb, "url"), &j->bundle_url)) < 0)
		return r;
	return get_sha256(p, "bundle.sha256", cJSON_GetObjectItemCaseSensitive(jb, "sha256"), j->bundle_sha256);
}

/*
 * vulns: a path on the instance (a file or a folder), or {"url", "sha256"}: one feed file (an
 * index made by vulns-index, osv.dev's all.zip, a JSON array) fetched like the bundle.
 */
static int parse_vulns(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"url", "sha256", NULL};
	const cJSON *jv = cJSON_GetObjectItemCaseSensitive(root, "vulns");
	int r;

	if (!jv || cJSON_IsString(jv))
		return jv ? abs_path(p, "vulns", jv, &j->vulns) : 0;
	if (!cJSON_IsObject(jv))
		return jr_bad(p, "vulns", "expected an absolute path or an object {\"url\", \"sha256\"}, got %s",
			      jr_type_name(jv));
	if ((r = jr_check_keys(p, "vulns", jv, keys, keys)) < 0 ||
	    (r = url_check(p, "vulns.url", cJSON_GetObjectItemCaseSensitive(jv, "url"), &j->vulns_url)) < 0)
		return r;
	return get_sha256(p, "vulns.sha256", cJSON_GetObjectItemCaseSensitive(jv, "sha256"), j->vulns_sha256);
}

static int parse_limits(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"bundle_bytes", "clamav_db_max_age_days", "vulns_max_age_days", NULL};
	const cJSON *jl = cJSON_GetObjectItemCaseSensitive(root, "limits"), *it;
	uint64_t v = 0;
	int r;

	if (!jl)
		return 0;
	if ((r = jr_check_keys(p, "limits", jl, keys, NULL)) < 0)
		return r;
	if ((it = cJSON_GetObjectItemCaseSensitive(jl, "bundle_bytes"))) {
		if ((r = get_uint(p, "limits.bundle_bytes", it, 1, MAX_BUNDLE_BYTES, &v)) < 0)
			return r;
		j->bundle_bytes = v;
	}
	if ((it = cJSON_GetObjectItemCaseSensitive(jl, "clamav_db_max_age_days"))) {
		if ((r = get_uint(p, "limits.clamav_db_max_age_days", it, 0, MAX_DB_AGE_DAYS, &v)) < 0)
			return r;
		j->db_max_age_days = (unsigned)v;
	}
	if ((it = cJSON_GetObjectItemCaseSensitive(jl, "vulns_max_age_days"))) {
		if ((r = get_uint(p, "limits.vulns_max_age_days", it, 0, MAX_DB_AGE_DAYS, &v)) < 0)
			return r;
		j->vulns_max_age_days = (unsigned)v;
		j->vulns_max_age_given = true;
	}
	return 0;
}

static int parse_timeouts(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"install_seconds", "run_seconds", "deliver_seconds", NULL};
	unsigned *dst[] = {&j->install_seconds, &j->run_seconds, &j->deliver_seconds};
	const cJSON *jt = cJSON_GetObjectItemCaseSensitive(root, "timeouts");
	int r;

	if (!jt)
		return 0;
	if ((r = jr_check_keys(p, "timeouts", jt, keys, NULL)) < 0)
		return r;
	for (int i = 0; keys[i]; i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(jt, keys[i]);
		char path[64];
		uint64_t v = 0;
		if (!it)
			continue;
		snprintf(path, sizeof(path), "timeouts.%s", keys[i]);
		if ((r = get_uint(p, path, it, 1, MAX_SECONDS, &v)) < 0)
			return r;
		*dst[i] = (unsigned)v;
	}
	return 0;
}

static struct job *job_new(void)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->bundle_bytes = (uint64_t)4 << 30;
	j->install_seconds = 3600;
	j->run_seconds = 7200;
	j->deliver_seconds = 600;
	return j;
}

static int parse_all(struct jr *p, const cJSON *root, struct job *j)
{
	static const char *const top[] = {"schema",    "build_id",  "bundle", "report",   "signing_key",
					  "clamav_db", "ca_bundle", "limits", "timeouts", "policy", "vulns", NULL};
	static const char *const req[] = {"schema", "build_id", "bundle", "report", "signing_key", NULL};
	const cJSON *it;
	int r;

	if ((r = jr_check_keys(p, "", root, top, req)) < 0)
		return r;
	it = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsString(it))
		return jr_bad(p, "schema", "expected a string, got %s", jr_type_name(it));
	if (strcmp(it->valuestring, JOB_SCHEMA)) {
		char *c = pib_text_clean(it->valuestring, false);
		r = jr_bad(p, "schema", "expected \"%s\", got \"%.64s\"", JOB_SCHEMA, c ? c : "?");
		free(c);
		return r;
	}
	if ((r = parse_build_id(p, root, j)) < 0 || (r = parse_bundle(p, root, j)) < 0 ||
	    (r = parse_report(p, root, j)) < 0 || (r = parse_key(p, root, j)) < 0)
		return r;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "clamav_db")) &&
	    (r = abs_path(p, "clamav_db", it, &j->clamav_db)) < 0)
		return r;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "ca_bundle")) &&
	    (r = abs_path(p, "ca_bundle", it, &j->ca_bundle)) < 0)
		return r;
	if ((r = parse_vulns(p, root, j)) < 0)
		return r;
	if ((r = parse_limits(p, root, j)) < 0 || (r = parse_timeouts(p, root, j)) < 0)
		return r;
	/* an inline policy, checked whole even when --policy will replace it */
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "policy")) &&
	    (r = policyfile_from_json(it, p->source, "/policy", &j->policy, p->err)) < 0)
		return r;
	return 0;
}

/* True when key appears exactly once among root's members. */
static bool once(const cJSON *root, const char *key)
{
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
	{
		if (!strcmp(it->string, key))
			n++;
	}
	return n == 1;
}

/*
 * What a failed job still yields for its failed report: each of build_id, report,
 * signing_key and ca_bundle that is present once and valid by itself. Errors here are not reported.
 */
static struct job *salvage(const char *source, const cJSON *root)
{
	struct pib_err scratch = {0};
	struct jr p = {PIB_ERR_USAGE, "job.invalid", source, &scratch, true};
	struct job *j = job_new();

	if (!j)
		return NULL;
	if (once(root, "build_id"))
		(void)parse_build_id(&p, root, j);
	if (once(root, "report") && parse_report(&p, root, j) < 0) {
		free(j->report_url);
		free(j->report_method);
		free(j->sbom_url);
		j->report_url = j->report_method = j->sbom_url = NULL;
	}
	if (once(root, "signing_key"))
		(void)parse_key(&p, root, j);
	/* the orchestrator's own CA, without which the failed report cannot reach it */
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(root, "ca_bundle");
	if (ca && once(root, "ca_bundle") && abs_path(&p, "ca_bundle", ca, &j->ca_bundle) < 0) {
		free(j->ca_bundle);
		j->ca_bundle = NULL;
	}
	pib_err_clear(&scratch);
	return j;
}

/* Wipes the copy of signing_key.pem that cJSON made. */
static void wipe_tree_key(cJSON *root)
{
	const cJSON *it;
	if (!cJSON_IsObject(root))
		return;
	cJSON_ArrayForEach(it, root)
	{
		if (strcmp(it->string, "signing_key") || !cJSON_IsObject(it))
			continue;
		const cJSON *k;
		cJSON_ArrayForEach(k, it)
		{
			if (cJSON_IsString(k) && k->valuestring)
				OPENSSL_cleanse(k->valuestring, strlen(k->valuestring));
		}
	}
}

int job_parse(const char *source, const char *text, size_t len, struct job **ret, struct pib_err *err)
{
	struct jr p = {PIB_ERR_USAGE, "job.invalid", source, err, true};
	struct job *j = NULL;
	cJSON *root = NULL;
	int r;

	*ret = NULL;
	if ((r = jr_parse(&p, text, len, JOB_MAX, true, &root)) < 0)
		goto out;
	if (!cJSON_IsObject(root)) {
		r = jr_bad(&p, "", "expected an object, got %s", jr_type_name(root));
		goto out;
	}
	j = job_new();
	if (!j) {
		r = -ENOMEM;
		goto out;
	}
	r = parse_all(&p, root, j);
	if (r < 0) {
		job_free(j);
		j = salvage(source, root);
	}
out:
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "%s: out of memory", source);
	wipe_tree_key(root);
	cJSON_Delete(root);
	*ret = j;
	return r;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->key_pem) {
		OPENSSL_cleanse(j->key_pem, strlen(j->key_pem));
		free(j->key_pem);
	}
	free(j->build_id);
	free(j->bundle_url);
	free(j->report_url);
	free(j->report_method);
	free(j->sbom_url);
	free(j->key_path);
	free(j->clamav_db);
	free(j->ca_bundle);
	policyfile_free(j->policy);
	free(j->vulns);
	free(j->vulns_url);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}
