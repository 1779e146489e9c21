/* SPDX-License-Identifier: MIT */
/* Fuzz target of the policy file parser and of policy_apply (libFuzzer entry point; fuzz_main.c runs it over a corpus as a test). */
#include "policyfile.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pib_err e = {0};
	struct policy_file *pf = NULL;

	if (policyfile_parse((const char *)data, size, "p.json", "file", &pf, &e) == 0) {
		struct policy_finding f = {.id = (char *)"ssh.host_keys", .severity = POLICY_SEV_HIGH,
					   .path = (char *)"/etc/ssh/ssh_host_ed25519_key"};
		struct policy_verdict v;
		policy_apply(pf, &f, "2026-06-01", &v);
		cJSON_Delete(policyfile_json(pf, "2026-06-01"));
	}
	policyfile_free(pf);
	pib_err_clear(&e);
	return 0;
}
