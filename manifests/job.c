/* SPDX-License-Identifier: MIT */
/* The job document (pib-agent/job/v1): its parser, strict like the manifest's, and what a failed one still yields. */
#include "job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#define MAX_URL 8192
#define MAX_PATH 4096
#define MAX_PEM (16u << 10)
#define MAX_BUILD_ID 128
#define MAX_BUNDLE_BYTES ((uint64_t)1 << 40)
#define MAX_DB_AGE_DAYS 3650
#define MAX_SECONDS 86400

struct parser {
	const char *source;
	struct pib_err *err;
};

static int bad(struct parser *p, const char *path, const char *fmt, ...) PIB_PRINTF(3, 4);
static int bad(struct parser *p, const char *path, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pib_fail(p->err, -EINVAL, PIB_ERR_USAGE, "job.invalid", "%s: %s%s%s", p->source, path,
			*path ? ": " : "", what);
}

static const char *type_name(const cJSON *j)
{
	if (!j)
		return "nothing";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "an array";
	if (cJSON_IsObject(j))
		return "an object";
	return "something else";
}

/* A key name fit for a message: printable ASCII, at most 64 bytes, else "?". */
static void key_for_msg(const char *k, char out[80])
{
	size_t n = 0;
	for (; k[n] && n < 64; n++)
		out[n] = (k[n] > 0x20 && k[n] < 0x7f) ? k[n] : '?';
	if (k[n])
		out[n++] = '~';
	out[n] = '\0';
}

/* obj is an object with only the allowed keys (each once) and the required ones. */
static int check_keys(struct parser *p, const char *path, const cJSON *obj, const char *const *allowed,
		      const char *const *required)
{
	const cJSON *it;
	char sub[256], k[80];

	if (!cJSON_IsObject(obj))
		return bad(p, path, "expected an object, got %s", type_name(obj));
	cJSON_ArrayForEach(it, obj)
	{
		bool known = false;
		for (int i = 0; allowed[i]; i++)
			if (!strcmp(it->string, allowed[i]))
				known = true;
		key_for_msg(it->string, k);
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
		if (!known)
			return bad(p, sub, "unknown key");
		for (const cJSON *o = it->next; o; o = o->next)
			if (!strcmp(o->string, it->string))
				return bad(p, sub, "duplicate key");
	}
	for (int i = 0; required && required[i]; i++)
		if (!cJSON_GetObjectItemCaseSensitive(obj, required[i])) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", required[i]);
			return bad(p, sub, "missing");
		}
	return 0;
}

/* Code points of UTF-8 s (what JSON Schema's maxLength counts). */
static size_t cp_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int url_check(struct parser *p, const char *path, const cJSON *j, char **ret)
{
	const char *u, *rest;

	if (!cJSON_IsString(j))
		return bad(p, path, "expected a string, got %s", type_name(j));
	u = j->valuestring;
	if (!*u)
		return bad(p, path, "must not be empty");
	if (strlen(u) > MAX_URL)
		return bad(p, path, "longer than %d bytes", MAX_URL);
	/* the URL itself is never printed: a pre-signed one carries a secret in its query */
	for (const char *c = u; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return bad(p, path, "a URL is printable ASCII without spaces (percent-encode the rest)");
	if (strchr(u, '#'))
		return bad(p, path, "a URL here has no fragment (#)");
	if (pib_str_has_prefix(u, "https://")) {
		rest = u + strlen("https://");
		size_t auth = strcspn(rest, "/?");
		if (auth == 0)
			return bad(p, path, "no host after https://");
		if (memchr(rest, '@', auth))
			return bad(p, path, "user names or passwords in the URL are refused (userinfo '@')");
	} else if (pib_str_has_prefix(u, "file://")) {
		if (u[strlen("file://")] != '/')
			return bad(p, path, "a file:// URL has no host: file:///absolute/path");
	} else {
		size_t n = strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
		if (n > 0 && n <= 16 && u[n] == ':')
			return bad(p, path, "expected an https:// or file:// URL, got a %.*s: one", (int)n, u);
		return bad(p, path, "expected an https:// or file:// URL");
	}
	*ret = strdup(u);
	return *ret ? 0 : -ENOMEM;
}

static int abs_path(struct parser *p, const char *path, const cJSON *j, char **ret)
{
	if (!cJSON_IsString(j))
		return bad(p, path, "expected a string, got %s", type_name(j));
	const char *s = j->valuestring;
	if (s[0] != '/')
		return bad(p, path, "expected an absolute path");
	if (cp_len(s) > MAX_PATH)
		return bad(p, path, "longer than %d characters", MAX_PATH);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return bad(p, path, "a control character in the path");
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* A whole number in [lo, hi]: 1.0 and 1e3 are whole; 1.5, -1, "1" and true are not. */
static int get_uint(struct parser *p, const char *path, const cJSON *j, uint64_t lo, uint64_t hi, uint64_t *ret)
{
	if (!cJSON_IsNumber(j))
		return bad(p, path, "expected a whole number from %llu to %llu, got %s", (unsigned long long)lo,
			   (unsigned long long)hi, type_name(j));
	double d = j->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi) || d != (double)(uint64_t)d)
		return bad(p, path, "expected a whole number from %llu to %llu", (unsigned long long)lo,
			   (unsigned long long)hi);
	*ret = (uint64_t)d;
	return 0;
}

static bool build_id_valid(const char *s)
{
	size_t n = strlen(s);
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

static int parse_build_id(struct parser *p, const cJSON *root, struct job *j)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "build_id");
	if (!cJSON_IsString(b))
		return bad(p, "build_id", "expected a string, got %s", type_name(b));
	if (!build_id_valid(b->valuestring))
		return bad(p, "build_id", "expected 1 to %d of A-Z a-z 0-9 . _ - (not \".\" or \"..\")",
			   MAX_BUILD_ID);
	j->build_id = strdup(b->valuestring);
	return j->build_id ? 0 : -ENOMEM;
}

static int parse_report(struct parser *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"url", "method", NULL};
	static const char *const req[] = {"url", NULL};
	const cJSON *jr = cJSON_GetObjectItemCaseSensitive(root, "report");
	char *url = NULL;
	int r;

	if ((r = check_keys(p, "report", jr, keys, req)) < 0)
		return r;
	const cJSON *jm = cJSON_GetObjectItemCaseSensitive(jr, "method");
	const char *method = "POST";
	if (jm) {
		if (!cJSON_IsString(jm) || (strcmp(jm->valuestring, "POST") && strcmp(jm->valuestring, "PUT")))
			return bad(p, "report.method", "expected \"POST\" or \"PUT\"");
		method = jm->valuestring;
	}
	if ((r = url_check(p, "report.url", cJSON_GetObjectItemCaseSensitive(jr, "url"), &url)) < 0)
		return r;
	j->report_method = strdup(method);
	if (!j->report_method) {
		free(url);
		return -ENOMEM;
	}
	j->report_url = url;
	return 0;
}

static int parse_key(struct parser *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"pem", "path", NULL};
	const cJSON *jk = cJSON_GetObjectItemCaseSensitive(root, "signing_key");
	int r;

	if ((r = check_keys(p, "signing_key", jk, keys, NULL)) < 0)
		return r;
	const cJSON *pem = cJSON_GetObjectItemCaseSensitive(jk, "pem");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(jk, "path");
	if (pem && path)
		return bad(p, "signing_key", "give either pem or path, not both");
	if (path)
		return abs_path(p, "signing_key.path", path, &j->key_path);
	if (!pem)
		return bad(p, "signing_key", "expected pem or path");
	if (!cJSON_IsString(pem))
		return bad(p, "signing_key.pem", "expected a string, got %s", type_name(pem));
	/* never print any of it */
	size_t n = strlen(pem->valuestring);
	if (n > MAX_PEM)
		return bad(p, "signing_key.pem", "longer than %u bytes", MAX_PEM);
	if (!pem_looks_right(pem->valuestring))
		return bad(p, "signing_key.pem",
			   "expected an unencrypted PKCS#8 PEM key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)");
	j->key_pem = strdup(pem->valuestring);
	return j->key_pem ? 0 : -ENOMEM;
}

static int parse_bundle(struct parser *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"url", "sha256", NULL};
	const cJSON *jb = cJSON_GetObjectItemCaseSensitive(root, "bundle");
	int r;

	if ((r = check_keys(p, "bundle", jb, keys, keys)) < 0)
		return r;
	if ((r = url_check(p, "bundle.url", cJSON_GetObjectItemCaseSensitive(jb, "url"), &j->bundle_url)) < 0)
		return r;
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(jb, "sha256");
	if (!cJSON_IsString(js))
		return bad(p, "bundle.sha256", "expected a string, got %s", type_name(js));
	if (!pib_is_hex64(js->valuestring))
		return bad(p, "bundle.sha256", "expected 64 hex digits");
	for (int k = 0; k < 64; k++)
		j->bundle_sha256[k] = (char)(js->valuestring[k] | 0x20);
	j->bundle_sha256[64] = '\0';
	return 0;
}

static int parse_limits(struct parser *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"bundle_bytes", "clamav_db_max_age_days", NULL};
	const cJSON *jl = cJSON_GetObjectItemCaseSensitive(root, "limits"), *it;
	uint64_t v;
	int r;

	if (!jl)
		return 0;
	if ((r = check_keys(p, "limits", jl, keys, NULL)) < 0)
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
	return 0;
}

static int parse_timeouts(struct parser *p, const cJSON *root, struct job *j)
{
	static const char *const keys[] = {"install_seconds", "run_seconds", "deliver_seconds", NULL};
	unsigned *dst[] = {&j->install_seconds, &j->run_seconds, &j->deliver_seconds};
	const cJSON *jt = cJSON_GetObjectItemCaseSensitive(root, "timeouts");
	int r;

	if (!jt)
		return 0;
	if ((r = check_keys(p, "timeouts", jt, keys, NULL)) < 0)
		return r;
	for (int i = 0; keys[i]; i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(jt, keys[i]);
		char path[64];
		uint64_t v;
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

static int parse_all(struct parser *p, const cJSON *root, struct job *j)
{
	static const char *const top[] = {"schema",    "build_id",  "bundle", "report",   "signing_key",
					  "clamav_db", "ca_bundle", "limits", "timeouts", NULL};
	static const char *const req[] = {"schema", "build_id", "bundle", "report", "signing_key", NULL};
	const cJSON *it;
	int r;

	if ((r = check_keys(p, "", root, top, req)) < 0)
		return r;
	it = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsString(it))
		return bad(p, "schema", "expected a string, got %s", type_name(it));
	if (strcmp(it->valuestring, JOB_SCHEMA)) {
		char *c = pib_text_clean(it->valuestring, false);
		r = bad(p, "schema", "expected \"%s\", got \"%.64s\"", JOB_SCHEMA, c ? c : "?");
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
	if ((r = parse_limits(p, root, j)) < 0 || (r = parse_timeouts(p, root, j)) < 0)
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
	struct parser p = {.source = source, .err = &scratch};
	struct job *j = job_new();

	if (!j)
		return NULL;
	if (once(root, "build_id"))
		(void)parse_build_id(&p, root, j);
	if (once(root, "report") && parse_report(&p, root, j) < 0) {
		free(j->report_url);
		free(j->report_method);
		j->report_url = j->report_method = NULL;
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

/* A \u0000 escape: cJSON would cut the string there, and the schema would see more than the parser. */
static bool has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4))
			return true;
		i++; /* the escaped character */
	}
	return false;
}

int job_parse(const char *source, const char *text, size_t len, struct job **ret, struct pib_err *err)
{
	struct parser p = {.source = source, .err = err};
	struct job *j = NULL;
	cJSON *root;
	int r;

	*ret = NULL;
	if (len > JOB_MAX)
		return bad(&p, "", "larger than %u bytes", JOB_MAX);
	if (memchr(text, '\0', len) || has_nul_escape(text, len))
		return bad(&p, "", "contains a NUL byte");
	const char *end = NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t off = end ? (size_t)(end - text) : 0, line = 1, col = 1;
		for (size_t k = 0; k < off && k < len; k++) {
			if (text[k] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		return bad(&p, "", "not valid JSON (line %zu, column %zu)", line, col);
	}
	if (end)
		for (const char *q = end; q < text + len; q++)
			if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t') {
				r = bad(&p, "", "trailing data after the JSON document");
				goto out;
			}
	if (!cJSON_IsObject(root)) {
		r = bad(&p, "", "expected an object, got %s", type_name(root));
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
	free(j->key_path);
	free(j->clamav_db);
	free(j->ca_bundle);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}
