/* SPDX-License-Identifier: MIT */
/* Signed reports: Ed25519 keys, base64, DSSE PAE, the in-toto Statement and its DSSE envelope. */
#pragma once

#include "report.h"
#include "util.h"

#include <cjson/cJSON.h>

#define SIGN_PAYLOAD_TYPE   "application/vnd.in-toto+json"
#define SIGN_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
/* The predicate type of the SBOM the agent signs beside a report (in-toto's name for CycloneDX). */
#define SIGN_SBOM_PREDICATE_TYPE "https://cyclonedx.org/bom"
/* The largest report (envelope) read back by verify and show. */
#define SIGN_MAX_ENVELOPE ((size_t)256 << 20)
/* The largest key file read. */
#define SIGN_MAX_KEY_FILE ((size_t)16 << 10)

/*
 * An Ed25519 key: private (for signing) or public only (for verifying), and its keyid: the
 * hex SHA-256 of the raw 32-byte public key. Opaque; freed (and its private bytes wiped by
 * OpenSSL) with sign_key_free.
 */
struct sign_key;

/*
 * Loads a private Ed25519 key from a PEM buffer (PKCS#8 "PRIVATE KEY"; encrypted keys are
 * refused, never prompted for). `what` names the key in messages (a file name, "the job's
 * signing_key"). The caller still owns and wipes pem. Errors (class ENV): key.invalid,
 * key.not_ed25519.
 */
int sign_key_from_pem(const char *pem, size_t len, const char *what, struct sign_key **ret,
		      struct pib_err *e) PIB_MUST_CHECK;
/* The same from a file; the bytes read are wiped. Errors: key.unreadable, and the above. */
int sign_key_load(const char *path, struct sign_key **ret, struct pib_err *e) PIB_MUST_CHECK;
/*
 * Loads the key to verify with from a file: a SubjectPublicKeyInfo PEM ("PUBLIC KEY", as
 * `openssl pkey -pubout` writes it). Errors (class ENV): key.unreadable, key.invalid,
 * key.not_ed25519.
 */
int sign_pubkey_load(const char *path, struct sign_key **ret, struct pib_err *e) PIB_MUST_CHECK;
void sign_key_free(struct sign_key *k);
/* The keyid: 64 lowercase hex digits, owned by the key. */
const char *sign_key_id(const struct sign_key *k);

/*
 * Makes a new key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SubjectPublicKeyInfo
 * PEM, mode 0644). Both are created with O_EXCL: an existing file is never overwritten (and
 * nothing is written then). ret_keyid (65 bytes) receives the keyid. Errors (class ENV):
 * key.exists, key.write, key.generate.
 */
int sign_keygen(const char *prefix, char ret_keyid[65], struct pib_err *e) PIB_MUST_CHECK;

/* Standard base64 with padding; NULL on out of memory. Caller frees. */
char *sign_b64_encode(const void *data, size_t len);
/*
 * Decodes standard or URL-safe base64 (padding optional, no whitespace; trailing bits must be
 * zero). Returns 0, or -EINVAL for anything else, -ENOMEM. *ret is NUL-terminated; caller frees.
 */
int sign_b64_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len) PIB_MUST_CHECK;

/* DSSE's PAE("DSSEv1" SP LEN(type) SP type SP LEN(body) SP body) appended to out. */
int sign_pae(const char *type, const void *body, size_t body_len,
	     struct pib_buf *out) PIB_MUST_CHECK;

/*
 * The in-toto Statement v1 of a report: subjects from r->subjects, predicateType
 * REPORT_PREDICATE_TYPE, and the predicate r->pred (referenced, not copied: free the result
 * with cJSON_Delete before the report).
 */
cJSON *sign_statement(const struct report *r);
/*
 * The same for any predicate: an in-toto Statement v1 of these subjects, predicateType and
 * predicate (referenced, not copied: free the result before the predicate). NULL when out of memory.
 */
cJSON *sign_statement_of(const struct report_subject *subjects, size_t n, const char *predicate_type,
			 const cJSON *predicate);

/*
 * The DSSE envelope (pretty JSON text, caller frees) of the given payload bytes, signed with k
 * or, with k NULL, unsigned (an empty signatures list). The payload is signed exactly as
 * given and base64'd from the same bytes. Besides the DSSE fields the envelope carries
 * "payloadDigest": {"sha256": …}, an unauthenticated hint that verify uses only to explain
 * a failed signature (DSSE consumers ignore unknown fields). Errors: sign.failed (ENV).
 */
int sign_envelope(const void *payload, size_t len, const char *payload_type,
		  const struct sign_key *k, char **ret, struct pib_err *e) PIB_MUST_CHECK;
/* sign_statement serialised once, then sign_envelope with SIGN_PAYLOAD_TYPE. */
int sign_report(const struct report *r, const struct sign_key *k, char **ret,
		struct pib_err *e) PIB_MUST_CHECK;

/* What verification found; statement and payload are only set when it is valid. */
struct sign_verified {
	cJSON *statement; /* parsed from the verified bytes */
	char *payload;	  /* the verified payload bytes, NUL-terminated */
	size_t payload_len;
	char keyid[65]; /* the key that verified it */
	size_t n_signatures;
};
void sign_verified_free(struct sign_verified *v);

/*
 * Verifies a DSSE envelope (text of len bytes) with the public key k: the signature over
 * PAE(payloadType, the exact base64-decoded payload bytes) is checked before the payload is
 * parsed. Valid when one signature verifies, payloadType is SIGN_PAYLOAD_TYPE and the payload is
 * an in-toto Statement v1 with predicateType REPORT_PREDICATE_TYPE (a report) or
 * SIGN_SBOM_PREDICATE_TYPE (the SBOM signed beside one). Otherwise returns -EBADMSG
 * with one of these codes (class FINDINGS), the message saying why:
 *   report.malformed            not JSON, not a DSSE envelope, bad base64
 *   report.unsigned             an empty signatures list
 *   report.payload_type_changed payloadType is not SIGN_PAYLOAD_TYPE
 *   report.other_key            no signature's keyid is this key's and none verifies
 *   report.payload_changed      the signature fails and the payload differs from what was signed
 *   report.signature_changed    the signature fails although payload and keyid match
 *   report.bad_signature        the signature fails and the envelope has no payloadDigest hint
 *   report.not_statement        signed, but not an in-toto Statement of a pib-agent report
 * The diagnosis of a failure (which part changed) uses the unauthenticated keyid and
 * payloadDigest hints; acceptance never does.
 */
int sign_verify(const char *text, size_t len, const struct sign_key *k, struct sign_verified *ret,
		struct pib_err *e) PIB_MUST_CHECK;

/*
 * Reads an envelope without verifying it (for show without a key): the payload decoded and
 * parsed, and the number of signatures. Errors: report.malformed.
 */
int sign_open_unverified(const char *text, size_t len, struct sign_verified *ret,
			 struct pib_err *e) PIB_MUST_CHECK;
