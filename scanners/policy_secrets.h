/* SPDX-License-Identifier: MIT */
/*
 * Secrets in a file's bytes: private keys and credentials left in an image. Each rule has a
 * stable id (below); a finding names the rule, the line, the key's type and a fingerprint (the
 * first 16 hex digits of a SHA-256), never the secret's value. No global state: the scan of one
 * buffer may run on any thread, several at once.
 *
 * Rules (id: severity):
 *   secret.private_key_pem        PEM "-----BEGIN [RSA |EC |DSA ]PRIVATE KEY-----" with a base64
 *                                 body: critical; ENCRYPTED PRIVATE KEY or a legacy
 *                                 "Proc-Type: 4,ENCRYPTED" header: high. Fingerprint of the DER.
 *   secret.openssh_private_key    "-----BEGIN OPENSSH PRIVATE KEY-----": key type read from the
 *                                 blob; critical, high when its cipher is not "none". Fingerprint
 *                                 of the public key blob (what `ssh-keygen -l` hashes).
 *   secret.pkcs12                 a file d2i_PKCS12 accepts (named .p12/.pfx, or starting with a
 *                                 DER SEQUENCE): high. Fingerprint of the DER.
 *   secret.aws_access_key         AKIA/ASIA + 16 of [A-Z2-7]: high; critical with a 40-character
 *                                 secret key shape within 3 lines of a name like
 *                                 aws_secret_access_key. Shown as its first 4 and last 4.
 *                                 AWS's documentation example ids (...EXAMPLE) are skipped.
 *   secret.github_token           ghp_/gho_/ghu_/ghs_/ghr_ + 36 alphanumerics, github_pat_...: high
 *   secret.slack_token            xox[baprs]-...: high
 *   secret.gcp_service_account    JSON with "type": "service_account" and "private_key": critical
 *   secret.private_key_putty      PuTTY-User-Key-File-N: critical, high when encrypted
 * Documentation is not a key: a PEM header with no base64 body (a man page, a regex) is skipped.
 */
#pragma once

#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Scans the first min(len, max_bytes) bytes of buf, the content of the file at path (as seen
 * inside the root: it goes into the findings, and its name ending in .p12/.pfx asks for the
 * PKCS#12 parse). file_size is the file's whole size (0: len); when fewer bytes were scanned,
 * every finding's evidence says so and *ret_cut (may be NULL) is set. Returns the number of
 * findings added, or -ENOMEM.
 */
int policy_secrets_scan(const char *path, const void *buf, size_t len, uint64_t file_size, size_t max_bytes,
			struct policy_findings *f, bool *ret_cut) PIB_MUST_CHECK;

/*
 * Reads at most max_bytes of the open regular file fd (from offset 0, with pread) and scans them
 * as above. Returns the number of findings added, or a negative errno.
 */
int policy_secrets_fd(int fd, const char *path, size_t max_bytes, struct policy_findings *f, bool *ret_cut)
	PIB_MUST_CHECK;

/* A read buffer kept from one file to the next (one per thread): no allocation per file. */
struct policy_secrets_buf {
	unsigned char *p;
	size_t cap;
};
void policy_secrets_buf_free(struct policy_secrets_buf *b);

/*
 * As policy_secrets_fd, for a caller that has already fstat'd fd (size: its st_size) and keeps
 * a buffer: reads at most min(size, max_bytes) bytes into b (grown as needed, up to max_bytes)
 * with read() from the current offset, which must be 0. Returns the number of findings added,
 * or a negative errno.
 */
int policy_secrets_fd_buf(int fd, const char *path, uint64_t size, size_t max_bytes, struct policy_secrets_buf *b,
			  struct policy_findings *f, bool *ret_cut) PIB_MUST_CHECK;
