/* SPDX-License-Identifier: MIT */
/* The EC2 instance metadata service, IMDSv2 only: user-data and the instance identity document. */
#pragma once

#include "util.h"

#include <cjson/cJSON.h>

struct imds;

/*
 * A client for AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254). Every
 * request carries a session token (PUT /latest/api/token with
 * X-aws-ec2-metadata-token-ttl-seconds); a 401 gets a fresh token once; IMDSv1 is never used.
 */
struct imds *imds_new(void);
void imds_free(struct imds *m); /* wipes the token */

/* GET /latest/user-data: imds.unavailable (no answer), imds.no_user_data (404), imds.refused. */
int imds_user_data(struct imds *m, char **ret, size_t *ret_len, struct pib_err *err);

/*
 * host.ec2 of the report: {"document": {parsed instance-identity document}, "document_text":
 * the exact bytes, "signature": base64 (RSA SHA-256), "rsa2048": the PKCS7 one when served}.
 * NULL when the document cannot be read (not an error: another cloud, or no IMDS).
 */
cJSON *imds_identity(struct imds *m);
