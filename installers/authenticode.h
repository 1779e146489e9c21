/* SPDX-License-Identifier: MIT */
/*
 * Authenticode signatures of MSI packages, enforced like rpm's: the signature must verify over
 * the MSI's contents (an MSI changed after signing is refused) and its chain must end at one of
 * the target's keys (PEM certificates of the signer or of a CA), unless unsigned packages are
 * allowed. The signer's subject and certificate SHA-256 are reported either way.
 */
#pragma once

#include "util.h"

struct authenticode_key {
	const char *path;  /* a PEM file of ours (the bundle member's private copy) */
	const char *label; /* how reports name it: the bundle member, e.g. "keys/acme-ca.pem" */
};

struct authenticode_result {
	bool is_signed;        /* the MSI carries a signature (DigitalSignature stream) */
	bool verified;         /* its digest matches and its chain ends at one of the keys */
	char *subject;         /* the signer certificate's subject (RFC 2253), NULL when unsigned */
	char *issuer;          /* its issuer, NULL when unsigned */
	char cert_sha256[65];  /* SHA-256 of the signer certificate (DER), "" when unsigned */
	const char *key;       /* the label of the key its chain ended at, or NULL */
};

/*
 * Checks the Authenticode signature of the MSI at path (label names it in errors: the bundle
 * member). keys: the target's certificates (n may be 0). Errors, class PIB_ERR_FAILED, each
 * naming the member: package.unsigned (no signature and !allow_unsigned),
 * package.signature_invalid (the digest does not match the contents, the signature cannot be
 * read, or its chain ends at none of the keys: the message says which). res is filled as far
 * as it could be read, also on failure; free it with authenticode_result_free.
 */
int authenticode_verify_msi(const char *path, const char *label, const struct authenticode_key *keys,
			    size_t n_keys, bool allow_unsigned, struct authenticode_result *res,
			    struct pib_err *err) PIB_MUST_CHECK;
void authenticode_result_free(struct authenticode_result *res);
