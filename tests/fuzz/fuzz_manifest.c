/* SPDX-License-Identifier: MIT */
/* Fuzz target of the manifest parser (libFuzzer entry point; fuzz_main.c runs it over a corpus as a test). */
#include "manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pib_err e = {0};
	struct mf_manifest *m = NULL;

	if (mf_manifest_parse("manifest.json", (const char *)data, size, &m, &e) == 0)
		mf_manifest_free(m);
	pib_err_clear(&e);
	for (size_t i = 0; i < size && i < 4096; i += 64) {
		char name[80];
		size_t n = size - i < 79 ? size - i : 79;
		memcpy(name, data + i, n);
		name[n] = '\0';
		free(mf_normalise_member(name, NULL, NULL));
	}
	return 0;
}
