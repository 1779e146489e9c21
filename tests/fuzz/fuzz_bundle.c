/* SPDX-License-Identifier: MIT */
/* Fuzz target of the bundle reader (libarchive, limits, member names, manifest): input is the archive. */
#include "bundle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct pib_err e = {0};
	struct bundle *b = NULL;
	struct bundle_limits lim = {.max_entries = 100, .max_total_bytes = 1 << 22, .max_ratio = 50,
				    .ratio_grace = 1 << 16, .max_file_bytes = 1 << 22};

	snprintf(path, sizeof(path), "/tmp/pib-fuzz-bundle.%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (bundle_open(path, &lim, &b, NULL, &e) == 0)
		bundle_free(b);
	pib_err_clear(&e);
	unlink(path);
	return 0;
}
