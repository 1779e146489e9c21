/* SPDX-License-Identifier: MIT */
/* The EC2 instance metadata service over IMDSv2 only: a session token for every GET, one fresh token on a 401, never IMDSv1. */
#include "imds.h"
#include "http.h"
#include "job.h"
#include "proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#define IMDS_DEFAULT "http://169.254.169.254"
#define TOKEN_TTL "21600"
#define TOKEN_MAX 1024      /* bytes of a token (AWS's are about 56) */
#define ATTEMPTS 3          /* per request, when no answer comes */
#define REQ_TIMEOUT 3       /* seconds per attempt */
#define DOC_MAX (64u << 10) /* the identity document, its signatures */

struct imds {
	char *endpoint; /* without a trailing slash; NULL: the variable was not a URL */
	char *token;    /* the session token; NULL: none yet */
	bool disabled;  /* AWS_EC2_METADATA_DISABLED=true */
	bool silent;    /* no answer came once: later requests fail at once */
};

struct imds *imds_new(void)
{
	struct imds *m = calloc(1, sizeof(*m));
	const char *dis = getenv("AWS_EC2_METADATA_DISABLED");
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");

	if (!m)
		return NULL;
	m->disabled = dis && !strcasecmp(dis, "true");
	if (!ep || !*ep)
		ep = IMDS_DEFAULT;
	if (pib_str_has_prefix(ep, "http://") || pib_str_has_prefix(ep, "https://")) {
		m->endpoint = strdup(ep);
		if (!m->endpoint) {
			free(m);
			return NULL;
		}
		size_t n = strlen(m->endpoint);
		while (n > 0 && m->endpoint[n - 1] == '/')
			m->endpoint[--n] = '\0';
	}
	return m;
}

static void drop_token(struct imds *m)
{
	if (m->token) {
		OPENSSL_cleanse(m->token, strlen(m->token));
		free(m->token);
		m->token = NULL;
	}
}

void imds_free(struct imds *m)
{
	if (!m)
		return;
	drop_token(m);
	free(m->endpoint);
	free(m);
}

static void wipe_buf(struct pib_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap ? b->cap : b->len);
	pib_buf_free(b);
}

static int unavailable(struct pib_err *err, const char *why, const char *arg)
{
	return pib_fail(err, -EHOSTUNREACH, PIB_ERR_ENV, "imds.unavailable", "IMDS: %s%s", why, arg);
}

/*
 * One request, retried (ATTEMPTS, short pauses) while no answer comes. Returns 0 with the
 * status and body of the answer, or a negative errno with err set (imds.unavailable; the
 * caller's own code for a body too large).
 */
static int request(struct imds *m, const char *method, const char *path, const char *const *headers, size_t max,
		   long *status, struct pib_buf *body, struct pib_err *err)
{
	struct http_cfg cfg = {.max_attempts = 1, .connect_timeout = 1, .stall_timeout = REQ_TIMEOUT, .allow_http = true};
	char *url;
	int r = -EIO;

	if (m->disabled)
		return unavailable(err, "disabled (AWS_EC2_METADATA_DISABLED=true)", "");
	if (!m->endpoint)
		return unavailable(err, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http:// or https:// URL", "");
	if (m->silent)
		return unavailable(err, "no answer before from ", m->endpoint);
	url = pib_asprintf("%s%s", m->endpoint, path);
	if (!url)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	for (unsigned attempt = 1; attempt <= ATTEMPTS; attempt++) {
		struct http_req req = {.method = method, .url = url, .headers = headers, .max_response = max,
				       .timeout = REQ_TIMEOUT, .direct = true};
		struct pib_err e = {0};

		wipe_buf(body);
		*status = 0;
		r = http_request(&cfg, &req, status, body, &e);
		if (r == 0) {
			pib_err_clear(&e);
			break;
		}
		if (!strcmp(e.code, "http.unreachable") && attempt < ATTEMPTS && !pib_interrupted) {
			pib_err_clear(&e);
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 200000000L * attempt};
			nanosleep(&ts, NULL);
			continue;
		}
		if (!strcmp(e.code, "http.unreachable")) {
			m->silent = true;
			r = pib_fail(err, r, PIB_ERR_ENV, "imds.unavailable", "IMDS at %s: no answer after %u attempts (%s)",
				     m->endpoint, attempt, e.msg);
		} else if (!strcmp(e.code, "http.too_large")) {
			r = -EFBIG; /* the caller names it */
		} else {
			r = pib_fail(err, r, e.cls, e.code, "%s", e.msg);
		}
		pib_err_clear(&e);
		break;
	}
	free(url);
	if (r < 0)
		wipe_buf(body);
	return r;
}

/* PUT /latest/api/token: a new session token (no X-Forwarded-For: IMDS refuses a PUT with one). */
static int new_token(struct imds *m, struct pib_err *err)
{
	static const char *const headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: " TOKEN_TTL, NULL};
	struct pib_buf b = {0};
	long status = 0;
	int r;

	drop_token(m);
	r = request(m, "PUT", "/latest/api/token", headers, TOKEN_MAX, &status, &b, err);
	if (r == -EFBIG)
		return pib_fail(err, -EPROTO, PIB_ERR_ENV, "imds.refused",
				"IMDS: PUT /latest/api/token: an answer longer than a token (%d bytes)", TOKEN_MAX);
	if (r < 0)
		return r;
	if (status != 200) {
		wipe_buf(&b);
		return pib_fail(err, -EACCES, PIB_ERR_ENV, "imds.refused",
				"IMDS: PUT /latest/api/token answered HTTP %ld%s (IMDSv1 is never used)", status,
				status == 403 ? " (refused: a proxy adding X-Forwarded-For, or the hop limit?)"
				: status == 404 || status == 405 ? " (no IMDSv2 session tokens here)"
								 : "");
	}
	size_t n = b.len;
	while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' '))
		n--;
	bool printable = n > 0;
	for (size_t i = 0; i < n; i++)
		if (b.data[i] <= 0x20 || b.data[i] >= 0x7f)
			printable = false;
	if (!printable) {
		wipe_buf(&b);
		return pib_fail(err, -EPROTO, PIB_ERR_ENV, "imds.refused",
				"IMDS: PUT /latest/api/token: the answer is not a token (empty, or not printable)");
	}
	m->token = pib_strndup(b.data, n);
	wipe_buf(&b);
	return m->token ? 0 : pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
}

/* GET path with the session token; a 401 gets one fresh token and one retry. */
static int get(struct imds *m, const char *path, size_t max, long *status, struct pib_buf *body, struct pib_err *err)
{
	int r = 0;

	for (int round = 0; round < 2; round++) {
		if (!m->token && (r = new_token(m, err)) < 0)
			return r;
		char *h = pib_asprintf("X-aws-ec2-metadata-token: %s", m->token);
		if (!h)
			return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		const char *headers[] = {h, NULL};
		r = request(m, "GET", path, headers, max, status, body, err);
		OPENSSL_cleanse(h, strlen(h));
		free(h);
		if (r < 0 || *status != 401)
			return r;
		drop_token(m); /* expired or revoked: one fresh token */
	}
	wipe_buf(body);
	return pib_fail(err, -EACCES, PIB_ERR_ENV, "imds.refused",
			"IMDS: GET %s answered 401 with a fresh session token too", path);
}

int imds_user_data(struct imds *m, char **ret, size_t *ret_len, struct pib_err *err)
{
	struct pib_buf b = {0};
	long status = 0;
	int r;

	*ret = NULL;
	*ret_len = 0;
	r = get(m, "/latest/user-data", JOB_USER_DATA_MAX, &status, &b, err);
	if (r == -EFBIG)
		return pib_fail(err, -EFBIG, PIB_ERR_USAGE, "job.invalid", "user-data: larger than %u bytes",
				JOB_USER_DATA_MAX);
	if (r < 0)
		return r;
	if (status == 404) {
		wipe_buf(&b);
		return pib_fail(err, -ENOENT, PIB_ERR_USAGE, "imds.no_user_data",
				"IMDS: this instance has no user-data (GET /latest/user-data: 404)");
	}
	if (status != 200) {
		wipe_buf(&b);
		return pib_fail(err, -EACCES, PIB_ERR_ENV, "imds.refused", "IMDS: GET /latest/user-data answered HTTP %ld",
				status);
	}
	if (!b.data && pib_buf_append(&b, "", 0) < 0)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	*ret = b.data;
	*ret_len = b.len;
	return 0;
}

/* The body of GET path when it answered 200, else NULL. */
static char *get_text(struct imds *m, const char *path, size_t *ret_len)
{
	struct pib_err e = {0};
	struct pib_buf b = {0};
	long status = 0;

	if (get(m, path, DOC_MAX, &status, &b, &e) < 0 || status != 200) {
		pib_err_clear(&e);
		pib_buf_free(&b);
		return NULL;
	}
	if (!b.data && pib_buf_append(&b, "", 0) < 0)
		return NULL;
	*ret_len = b.len;
	return b.data;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

cJSON *imds_identity(struct imds *m)
{
	size_t len = 0, sl = 0;
	char *text = get_text(m, "/latest/dynamic/instance-identity/document", &len);
	cJSON *doc, *o;

	if (!text)
		return NULL;
	doc = len == strlen(text) ? cJSON_ParseWithLength(text, len) : NULL;
	if (!cJSON_IsObject(doc) || !(o = cJSON_CreateObject())) {
		cJSON_Delete(doc);
		free(text);
		return NULL;
	}
	cJSON_AddItemToObject(o, "document", doc);
	cJSON_AddStringToObject(o, "document_text", text);
	free(text);
	static const char *const sigs[] = {"signature", "rsa2048", NULL};
	for (int i = 0; sigs[i]; i++) {
		char path[80];
		snprintf(path, sizeof(path), "/latest/dynamic/instance-identity/%s", sigs[i]);
		char *s = get_text(m, path, &sl);
		if (!s)
			continue;
		bool nul = memchr(s, '\0', sl) != NULL;
		trim_end(s);
		/* base64 (rsa2048: PKCS7 in base64 lines) */
		if (!nul && *s && pib_str_all_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n"))
			cJSON_AddStringToObject(o, sigs[i], s);
		free(s);
	}
	return o;
}
