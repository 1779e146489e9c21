/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target of the secret rules (libFuzzer entry point; fuzz_main.c runs it over
 * corpus/secrets as a test). The input is copied to a buffer of its exact size, so a read past
 * it is seen by ASan, and scanned whole, cut in half by the byte limit, and under a .p12 name
 * (the PKCS#12 parse). The corpus holds the rules' shapes around random bytes: no real key.
 */
#include "policy_secrets.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_findings f = {0};
	uint8_t *copy = malloc(size ? size : 1);
	bool cut;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (policy_secrets_scan("/srv/input", copy, size, 0, size, &f, &cut) < 0 || cut)
		abort();
	if (policy_secrets_scan("/srv/input.p12", copy, size, 0, size / 2, &f, &cut) < 0)
		abort();
	for (size_t i = 0; i < f.n; i++)
		if (!f.v[i].evidence || !f.v[i].id || f.v[i].line == 0)
			abort();
	policy_findings_free(&f);
	free(copy);
	return 0;
}
