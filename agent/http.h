/* SPDX-License-Identifier: MIT */
/* HTTP with libcurl for fetch, IMDS and delivery: TLS always verified, retries with backoff. */
#pragma once

#include "util.h"

struct http_cfg {
	const char *ca_bundle;   /* PEM file of trusted CAs; NULL: the system's store */
	double deadline;         /* pib_now_mono() after which no attempt starts; 0: none */
	unsigned max_attempts;   /* 0: 8 */
	unsigned connect_timeout;/* seconds; 0: 30 */
	unsigned stall_timeout;  /* seconds without a byte before an attempt is abandoned; 0: 60 */
	bool allow_file;         /* file:// accepted (fetch for local use, and tests) */
	bool allow_http;         /* plain http:// accepted: IMDS only, never the bundle or reports */
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
