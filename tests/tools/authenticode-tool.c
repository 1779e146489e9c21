/* SPDX-License-Identifier: MIT */
/* Test driver of installers/authenticode.c: one MSI checked against key files, the outcome as one
 * JSON line. */
#include "authenticode.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	bool allow_unsigned = false;
	int a = 1;
	if (a < argc && strcmp(argv[a], "--allow-unsigned") == 0) {
		allow_unsigned = true;
		a++;
	}
	if (a >= argc) {
		fputs("usage: authenticode-tool [--allow-unsigned] MSI [KEY.pem...]\n", stderr);
		return 2;
	}
	const char *msi = argv[a++];
	size_t n = (size_t)(argc - a);
	struct authenticode_key *keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return 2;
	for (size_t i = 0; i < n; i++) {
		keys[i].path = argv[a + (int)i];
		const char *slash = strrchr(keys[i].path, '/');
		keys[i].label =
		    slash ? slash + 1 : keys[i].path; /* reports name the key by its file name */
	}
	struct authenticode_result res;
	struct pib_err err = {0};
	int r = authenticode_verify_msi(msi, "pkg.msi", keys, n, allow_unsigned, &res, &err);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", r == 0);
	cJSON_AddBoolToObject(o, "is_signed", res.is_signed);
	cJSON_AddBoolToObject(o, "verified", res.verified);
	if (res.subject)
		cJSON_AddStringToObject(o, "subject", res.subject);
	if (res.issuer)
		cJSON_AddStringToObject(o, "issuer", res.issuer);
	cJSON_AddStringToObject(o, "cert_sha256", res.cert_sha256);
	if (res.key)
		cJSON_AddStringToObject(o, "key", res.key);
	if (err.set) {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "code", err.code);
		cJSON_AddStringToObject(e, "message", err.msg);
	}
	char *s = cJSON_PrintUnformatted(o);
	if (s)
		puts(s);
	free(s);
	cJSON_Delete(o);
	authenticode_result_free(&res);
	pib_err_clear(&err);
	free(keys);
	return r == 0 ? 0 : 1;
}
