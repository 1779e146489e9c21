/* SPDX-License-Identifier: MIT */
/* HTTP with libcurl for fetch, IMDS and delivery: TLS always verified, retries with backoff. */
#pragma once

#include "util.h"

struct http_cfg {
	const char *ca_bundle;   /* PEM file of trusted CAs; NULL: the system's store */
	double deadline;         /* pib_now_mono() after which no attempt starts (a running one is
				    abandoned); 0: none */
	unsigned max_attempts;   /* 0: 8 */
	unsigned connect_timeout;/* seconds; 0: 30 */
	unsigned stall_timeout;  /* seconds without a byte before an attempt is abandoned; 0: 60 */
	bool allow_file;         /* file:// accepted (fetch for local use, and tests) */
	bool allow_http;         /* plain http:// accepted: IMDS only, never the bundle or reports */
	double backoff_base;     /* seconds of the first retry's backoff ceiling (doubling, cap 60); 0: 1 */
};

/*
 * Sends body to url with method "POST" or "PUT", Content-Type content_type and, unless NULL,
 * an Idempotency-Key header. Retries on connection failures, resets, timeouts, 429 and 5xx
 * with exponential backoff and jitter, honouring Retry-After (seconds or an HTTP date,
 * capped), until max_attempts or the deadline; stops early when pib_interrupted is set.
 * Returns 0 once a 2xx came back; else a negative errno and err set: deliver.refused (a 4xx
 * other than 408/429: not retried), deliver.tls (certificate refused), deliver.unreachable
 * (every attempt failed); *ret_status gets the last HTTP status (0: none).
 */
int http_send(const struct http_cfg *cfg, const char *method, const char *url, const char *content_type,
	      const char *idempotency_key, const void *body, size_t len, long *ret_status,
	      struct pib_err *err);

/* One request, one attempt (no retry): what IMDS needs. */
struct http_req {
	const char *method;           /* "GET", "PUT", ... */
	const char *url;
	const char *const *headers;   /* NULL-terminated "Name: value" lines, or NULL */
	const void *body;             /* may be NULL */
	size_t len;
	size_t max_response;          /* bytes of the response body kept at most (more: http.too_large) */
	unsigned timeout;             /* whole request, seconds; 0: 10 */
	bool direct;                  /* no proxy and no redirect: IMDS, whose token must reach nothing else */
};
/*
 * Makes the request; returns 0 when an HTTP answer came (whatever its status: *ret_status),
 * the body in *resp (NUL-terminated); else a negative errno and err set (http.unreachable,
 * http.tls, http.too_large, http.url).
 */
int http_request(const struct http_cfg *cfg, const struct http_req *req, long *ret_status, struct pib_buf *resp,
		 struct pib_err *err);

/* url for logs and reports: userinfo and the query string (pre-signed URLs) replaced by "…". */
char *http_url_redacted(const char *url);

/*
 * The CA file used when cfg->ca_bundle is NULL: the first of the known locations of Debian,
 * RHEL/Amazon Linux and SUSE that exists (/etc/ssl/certs/ca-certificates.crt,
 * /etc/pki/tls/certs/ca-bundle.crt, /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem,
 * /etc/ssl/ca-bundle.pem, /etc/ssl/cert.pem), or NULL (libcurl's built-in default is then
 * used). For the caller to log which store verifies the servers.
 */
const char *http_system_ca_file(void);

/* ---- Shared by http.c and fetch.c; not for other callers. ---- */

/* What one attempt's outcome means for the retry loop. */
enum http_outcome {
	HTTP_DONE,    /* a 2xx (or a file:// read) */
	HTTP_RETRY,   /* connection failure, reset, timeout, 408, 429, 5xx */
	HTTP_TLS,     /* certificate or handshake refused: never retried */
	HTTP_URL,     /* a scheme that is not allowed (also on a redirect), a malformed URL */
	HTTP_REFUSED, /* another HTTP status (4xx, a 3xx not followed): not retried */
	HTTP_FAILED,  /* anything else libcurl reports (out of memory, a local file unreadable) */
};
/* Classifies a CURLcode (as an int) and the HTTP status (0: none). */
enum http_outcome http_classify(int curl_code, long status);
/*
 * Sets up a libcurl easy handle (a CURL *) for url: protocols, TLS verification, CA store,
 * redirects, timeouts, user agent, errbuf (CURL_ERROR_SIZE bytes), interrupt check. Returns 0,
 * or a negative errno with err set (PREFIX.url for a scheme not allowed, agent.oom).
 */
int http_easy_setup(void *curl, const struct http_cfg *cfg, const char *url, char *errbuf,
		    const char *prefix, struct pib_err *err) PIB_MUST_CHECK;
/*
 * Waits before the next attempt: full jitter over min(60, base * 2^failures) seconds, but at
 * least retry_after (capped at 300). Returns 0, -EINTR when pib_interrupted was set while
 * waiting, -ETIMEDOUT when the wait would end past cfg->deadline (nothing is waited then).
 */
int http_backoff_wait(const struct http_cfg *cfg, unsigned failures, long retry_after);
/* Removes url's query string and userinfo from msg (in place) wherever libcurl echoed them. */
void http_scrub(char *msg, size_t size, const char *url);
