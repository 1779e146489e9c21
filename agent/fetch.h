/* SPDX-License-Identifier: MIT */
/* The fetch step: the bundle downloaded with its SHA-256 computed as the bytes arrive, resumed, bounded. */
#pragma once

#include "http.h"

struct fetch_result {
	char sha256[65];   /* of every byte of the file, whatever the resumes */
	uint64_t size;
	unsigned attempts; /* requests made */
	unsigned resumes;  /* Range requests that continued a partial download */
};

/*
 * Downloads url (https, or file:// when cfg->allow_file) to dest. A dest.part left by an
 * earlier, killed run is continued (its bytes hashed once, then a Range request); a dropped
 * connection resumes with Range, and the digest covers every byte. More than max_bytes is
 * fetch.too_large while streaming (Content-Length is never trusted); the free space of dest's
 * filesystem is checked against an announced size first (fetch.no_space). On success dest
 * exists (renamed from dest.part only when the digest equals expect_sha256, else
 * fetch.digest_mismatch and dest.part removed). progress: a bar on stderr when it is a
 * terminal (bytes, rate, time left). Errors: fetch.tls, fetch.http (a status that is not
 * retried, or retries exhausted), fetch.unreachable, fetch.too_large, fetch.no_space,
 * fetch.digest_mismatch, fetch.io, fetch.url (not https or file).
 */
int fetch_file(const struct http_cfg *cfg, const char *url, const char *expect_sha256, uint64_t max_bytes,
	       const char *dest, bool progress, struct fetch_result *res, struct pib_err *err);
