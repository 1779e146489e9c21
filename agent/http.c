/* SPDX-License-Identifier: MIT */
/* HTTP with libcurl: one hardened easy-handle setup, retries with backoff, redacted URLs. */
#include "http.h"
#include "proc.h"
#include "pib-config.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define HTTP_MAX_REDIRS 5
#define HTTP_BACKOFF_CAP 60.0      /* seconds: the backoff ceiling stops doubling here */
#define HTTP_RETRY_AFTER_CAP 300   /* seconds: a longer Retry-After is cut to this */
#define HTTP_SEND_TIMEOUT 300      /* seconds: one delivery attempt, whole */
#define HTTP_SEND_MAX_RESPONSE (64 * 1024) /* a delivery's response body is read and dropped */

static const char *const ca_files[] = {
	"/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu */
	"/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, Fedora, Amazon Linux */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
	"/etc/ssl/ca-bundle.pem",                            /* SUSE */
	"/var/lib/ca-certificates/ca-bundle.pem",            /* SUSE 15, where the link above points */
	"/etc/ssl/cert.pem",                                 /* Alpine, and others */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *http_system_ca_file(void)
{
	for (size_t i = 0; i < sizeof(ca_files) / sizeof(ca_files[0]); i++)
		if (access(ca_files[i], R_OK) == 0)
			return ca_files[i];
	return NULL;
}

/* ------------------------------------------------------------------------- URLs */

/* The parts of url that may carry secrets: [*ui, *ui_end) userinfo, [*q, *q_end) query + fragment. */
static void url_secret_parts(const char *url, const char **ui, const char **ui_end, const char **q)
{
	const char *auth = strstr(url, "://");

	*ui = *ui_end = NULL;
	*q = strpbrk(url, "?#");
	if (!auth || (*q && auth > *q))
		return;
	auth += 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', alen);
	if (at) {
		*ui = auth;
		*ui_end = at;
	}
}

char *http_url_redacted(const char *url)
{
	const char *ui, *ui_end, *q;

	if (!url)
		return NULL;
	url_secret_parts(url, &ui, &ui_end, &q);
	size_t end = q ? (size_t)(q - url) : strlen(url);
	if (ui)
		return pib_asprintf("%.*s…%.*s%s", (int)(ui - url), url, (int)(end - (size_t)(ui_end - url)),
				    ui_end, q ? "?…" : "");
	return pib_asprintf("%.*s%s", (int)end, url, q ? "?…" : "");
}

/* Replaces every occurrence of [s, s+n) in msg (a buffer of size bytes) by "…", cutting the end if need be. */
static void scrub_one(char *msg, size_t size, const char *s, size_t n)
{
	static const char dots[] = "…";
	const size_t dn = sizeof(dots) - 1;
	char *p = msg;

	if (n < 3) /* shorter would garble the message, and is no secret worth the name */
		return;
	for (int guard = 0; guard < 64 && (p = memmem(p, strlen(p), s, n)); guard++) {
		size_t at = (size_t)(p - msg), tail = strlen(p + n);
		if (at + dn + 1 > size) {
			*p = '\0';
			return;
		}
		if (at + dn + tail + 1 > size)
			tail = size - 1 - at - dn;
		memmove(p + dn, p + n, tail);
		p[dn + tail] = '\0';
		memcpy(p, dots, dn);
		p += dn;
	}
}

void http_scrub(char *msg, size_t size, const char *url)
{
	const char *ui, *ui_end, *q;

	if (!msg || !url || size < 8)
		return;
	url_secret_parts(url, &ui, &ui_end, &q);
	if (q) { /* the query and the fragment, each */
		size_t qn = strcspn(q + 1, "#");
		scrub_one(msg, size, q + 1, qn);
		if (q[1 + qn] == '#')
			scrub_one(msg, size, q + 2 + qn, strlen(q + 2 + qn));
		else if (q[0] == '#')
			scrub_one(msg, size, q + 1, strlen(q + 1));
	}
	if (ui && ui_end > ui)
		scrub_one(msg, size, ui, (size_t)(ui_end - ui));
}

/* The scheme of url in lowercase into out; false when there is none. */
static bool url_scheme(const char *url, char out[16])
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

	if (n == 0 || n >= 16 || strncmp(url + n, "://", 3) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)((url[i] >= 'A' && url[i] <= 'Z') ? url[i] + 32 : url[i]);
	out[n] = '\0';
	return true;
}

/* ------------------------------------------------------------------------- the handle */

static int xferinfo_interrupt(void *p, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	const struct http_cfg *cfg = p;

	if (pib_interrupted)
		return 1;
	if (cfg->deadline > 0 && pib_now_mono() > cfg->deadline)
		return 1;
	return 0;
}

int http_easy_setup(void *curl, const struct http_cfg *cfg, const char *url, char *errbuf,
		    const char *prefix, struct pib_err *err)
{
	CURL *c = curl;
	char scheme[16], protos[32];
	const char *ca = cfg->ca_bundle ? cfg->ca_bundle : http_system_ca_file();

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "libcurl could not be initialised: %s",
				curl_easy_strerror(curl_init_rc));
	snprintf(protos, sizeof(protos), "https%s%s", cfg->allow_file ? ",file" : "",
		 cfg->allow_http ? ",http" : "");
	if (!url_scheme(url, scheme) ||
	    !(strcmp(scheme, "https") == 0 || (cfg->allow_file && strcmp(scheme, "file") == 0) ||
	      (cfg->allow_http && strcmp(scheme, "http") == 0))) {
		char *red = http_url_redacted(url);
		char code[64];
		snprintf(code, sizeof(code), "%s.url", prefix);
		pib_fail(err, -EINVAL, PIB_ERR_FAILED, code, "%s: only %s URLs are accepted here",
			 red ? red : "(url)", protos);
		free(red);
		return -EINVAL;
	}

	errbuf[0] = '\0';
	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                             \
	do {                                                                                      \
		if (rc == CURLE_OK)                                                               \
			rc = curl_easy_setopt(c, opt, val);                                       \
	} while (0)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, protos);
	/* a redirect goes to https only: never from the network to a local file:// or to plain http */
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRS);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (ca)
		SET(CURLOPT_CAINFO, ca);
	if (cfg->ca_bundle) /* the job's CA file alone: not the system's directory as well */
		SET(CURLOPT_CAPATH, (char *)NULL);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, (long)(cfg->connect_timeout ? cfg->connect_timeout : 30));
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)(cfg->stall_timeout ? cfg->stall_timeout : 60));
	SET(CURLOPT_USERAGENT, "pib-agent/" PIB_VERSION);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xferinfo_interrupt);
	SET(CURLOPT_XFERINFODATA, (void *)cfg);
	/* proxies: libcurl reads https_proxy, HTTPS_PROXY, no_proxy and NO_PROXY itself */
#undef SET
	if (rc != CURLE_OK)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "libcurl refused an option: %s",
				curl_easy_strerror(rc));
	return 0;
}

enum http_outcome http_classify(int curl_code, long status)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		if (status == 0 || (status >= 200 && status < 300))
			return HTTP_DONE;
		if (status == 408 || status == 429 || status >= 500)
			return HTTP_RETRY;
		return HTTP_REFUSED;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_PROXY:
		return HTTP_RETRY;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return HTTP_TLS;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return HTTP_URL;
	case CURLE_TOO_MANY_REDIRECTS:
		return HTTP_REFUSED;
	default:
		return HTTP_FAILED;
	}
}

/* ------------------------------------------------------------------------- backoff */

static double random_unit(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec * 2654435761u;
	}
	return (double)r / 4294967296.0;
}

int http_backoff_wait(const struct http_cfg *cfg, unsigned failures, long retry_after)
{
	double base = cfg->backoff_base > 0 ? cfg->backoff_base : 1.0;
	double ceiling = base * ldexp(1.0, (int)(failures > 30 ? 30 : failures));
	if (ceiling > HTTP_BACKOFF_CAP)
		ceiling = HTTP_BACKOFF_CAP;
	double delay = ceiling * random_unit();
	if (retry_after > HTTP_RETRY_AFTER_CAP)
		retry_after = HTTP_RETRY_AFTER_CAP;
	if (retry_after > 0 && delay < (double)retry_after)
		delay = (double)retry_after;

	double end = pib_now_mono() + delay;
	if (cfg->deadline > 0 && end > cfg->deadline)
		return -ETIMEDOUT;
	for (int guard = 0; guard < 100000; guard++) { /* 10 ms slices at least: bounded */
		if (pib_interrupted)
			return -EINTR;
		double left = end - pib_now_mono();
		if (left <= 0)
			return 0;
		if (left > 0.1)
			left = 0.1;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(left * 1e9)};
		if (ts.tv_nsec < 10000000)
			ts.tv_nsec = 10000000;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* ------------------------------------------------------------------------- requests */

struct body_sink {
	struct pib_buf *buf; /* NULL: the bytes are dropped */
	size_t max, seen;
	bool too_large;
};

static size_t sink_write(char *p, size_t size, size_t n, void *userdata)
{
	struct body_sink *s = userdata;
	size_t len = size * n;

	if (len > s->max - s->seen) {
		s->too_large = true;
		return 0;
	}
	s->seen += len;
	if (s->buf && pib_buf_append(s->buf, p, len) < 0)
		return 0;
	return len;
}

/* The first error of a transfer, as a person reads it, without the URL's secrets. */
static void transfer_error(struct pib_err *err, int rc, const char *code, const char *what,
			   const char *url, CURLcode cc, const char *errbuf, unsigned attempts)
{
	char *red = http_url_redacted(url);
	char msg[CURL_ERROR_SIZE + 64];

	if (cc == CURLE_ABORTED_BY_CALLBACK && !pib_interrupted)
		snprintf(msg, sizeof(msg), "the run's deadline passed during the transfer");
	else
		snprintf(msg, sizeof(msg), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	http_scrub(msg, sizeof(msg), url);
	enum pib_class cls = PIB_ERR_FAILED;
	if (attempts > 1)
		pib_fail(err, rc, cls, code, "%s %s: %s (%u attempts)", what, red ? red : "(url)", msg, attempts);
	else
		pib_fail(err, rc, cls, code, "%s %s: %s", what, red ? red : "(url)", msg);
	free(red);
}

static int interrupted_error(struct pib_err *err)
{
	return pib_fail(err, -EINTR, PIB_ERR_FAILED, "agent.interrupted",
			"the agent received signal %d: the transfer was stopped", (int)pib_interrupted);
}

int http_request(const struct http_cfg *cfg, const struct http_req *req, long *ret_status, struct pib_buf *resp,
		 struct pib_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	struct body_sink sink = {.buf = resp, .max = req->max_response};
	long status = 0;
	int r;

	CURL *c = curl_easy_init();
	if (!c)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory (libcurl handle)");
	r = http_easy_setup(c, cfg, req->url, errbuf, "http", err);
	if (r < 0)
		goto out;
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(hdrs, *h);
		if (!n) {
			r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory (headers)");
			goto out;
		}
		hdrs = n;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (req->direct) {
		/* a link-local service: a proxy would see the token, a redirect would carry it away */
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	}
	if (req->body || strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	if (strcmp(req->method, "GET") == 0 && !req->body)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (strcmp(req->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(req->timeout ? req->timeout : 10));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);

	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (pib_interrupted) {
		r = interrupted_error(err);
		goto out;
	}
	if (sink.too_large) {
		char *red = http_url_redacted(req->url);
		r = pib_fail(err, -EFBIG, PIB_ERR_FAILED, "http.too_large",
			     "%s %s: the response is larger than %zu bytes", req->method, red ? red : "(url)",
			     req->max_response);
		free(red);
		goto out;
	}
	switch (http_classify(cc, 0)) {
	case HTTP_DONE:
		r = 0;
		break;
	case HTTP_TLS:
		r = -EPERM;
		transfer_error(err, r, "http.tls", req->method, req->url, cc, errbuf, 1);
		break;
	case HTTP_URL:
		r = -EINVAL;
		transfer_error(err, r, "http.url", req->method, req->url, cc, errbuf, 1);
		break;
	case HTTP_REFUSED:
		if (cc == CURLE_TOO_MANY_REDIRECTS) {
			r = -ELOOP;
			transfer_error(err, r, "http.unreachable", req->method, req->url, cc, errbuf, 1);
			break;
		}
		/* fall through */
	default:
		r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
		transfer_error(err, r, "http.unreachable", req->method, req->url, cc, errbuf, 1);
		break;
	}
out:
	if (ret_status)
		*ret_status = status;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

int http_send(const struct http_cfg *cfg, const char *method, const char *url, const char *content_type,
	      const char *idempotency_key, const void *body, size_t len, long *ret_status,
	      struct pib_err *err)
{
	struct http_cfg scfg = *cfg;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	unsigned max = cfg->max_attempts ? cfg->max_attempts : 8;
	unsigned attempts = 0;
	long status = 0;
	int r;

	if (ret_status)
		*ret_status = 0;
	if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "deliver.url",
				"the report's method must be POST or PUT, not '%.16s'", method);
	scfg.allow_file = false; /* a report goes to a server */

	CURL *c = curl_easy_init();
	if (!c)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory (libcurl handle)");
	r = http_easy_setup(c, &scfg, url, errbuf, "deliver", err);
	if (r < 0)
		goto out;

	char *ct = pib_asprintf("Content-Type: %s", content_type ? content_type : "application/json");
	char *key = idempotency_key ? pib_asprintf("Idempotency-Key: %s", idempotency_key) : NULL;
	const char *lines[] = {ct, key ? key : "", "Expect:"};
	bool oom = !ct || (idempotency_key && !key);
	for (size_t i = 0; !oom && i < 3; i++) {
		if (!lines[i][0])
			continue;
		struct curl_slist *n = curl_slist_append(hdrs, lines[i]);
		if (!n)
			oom = true;
		else
			hdrs = n;
	}
	free(ct);
	free(key);
	if (oom) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory (headers)");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	if (strcmp(method, "PUT") == 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL); /* never a GET after a redirect */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)HTTP_SEND_TIMEOUT);

	for (unsigned failures = 0;; failures++) {
		struct body_sink sink = {.max = HTTP_SEND_MAX_RESPONSE};
		curl_off_t retry_after = 0;

		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
		errbuf[0] = '\0';
		attempts++;
		status = 0;
		CURLcode cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (pib_interrupted) {
			r = interrupted_error(err);
			goto out;
		}
		if (sink.too_large && status >= 200) /* the answer came; its body is not wanted */
			cc = CURLE_OK;
		enum http_outcome o = http_classify(cc, status);
		char *red;
		switch (o) {
		case HTTP_DONE:
			r = 0;
			goto out;
		case HTTP_TLS:
			r = -EPERM;
			transfer_error(err, r, "deliver.tls", method, url, cc, errbuf, attempts);
			goto out;
		case HTTP_URL:
			r = -EINVAL;
			transfer_error(err, r, "deliver.url", method, url, cc, errbuf, attempts);
			goto out;
		case HTTP_REFUSED:
			red = http_url_redacted(url);
			if (cc == CURLE_OK)
				r = pib_fail(err, -EACCES, PIB_ERR_FAILED, "deliver.refused",
					     "%s %s: the server answered %ld (not retried)", method,
					     red ? red : "(url)", status);
			else
				transfer_error(err, r = -ELOOP, "deliver.refused", method, url, cc, errbuf,
					       attempts);
			free(red);
			goto out;
		case HTTP_FAILED:
			r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
			transfer_error(err, r, "deliver.unreachable", method, url, cc, errbuf, attempts);
			goto out;
		case HTTP_RETRY:
			break;
		}
		curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
		int w = attempts >= max ? -ETIMEDOUT : http_backoff_wait(&scfg, failures, (long)retry_after);
		if (w == -EINTR) {
			r = interrupted_error(err);
			goto out;
		}
		if (w < 0) {
			r = -EIO;
			red = http_url_redacted(url);
			if (cc == CURLE_OK)
				pib_fail(err, r, PIB_ERR_FAILED, "deliver.unreachable",
					 "%s %s: the server answered %ld (%u attempts%s)", method,
					 red ? red : "(url)", status, attempts,
					 attempts >= max ? "" : ", the deadline is near");
			else
				transfer_error(err, r, "deliver.unreachable", method, url, cc, errbuf, attempts);
			free(red);
			goto out;
		}
	}
out:
	if (ret_status)
		*ret_status = status;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}
