/* SPDX-License-Identifier: MIT */
/* Fuzz target of an MSI's tables (libmsi, directory resolution, row links) and the MSI checks:
 * input is the MSI. */
#include "msi_tables.h"
#include "policy_msi.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct pib_err e = {0};
	struct policy_findings f = {0};
	struct msi_tables t;

	snprintf(path, sizeof(path), "/tmp/pib-fuzz-msi.%d", (int)getpid());
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (msi_tables_read(path, "fuzz.msi", &t, &e) == 0) {
		if (policy_check_msi_tables(&t, "fuzz.msi", &f, &e) < 0)
			(void)0;
		msi_tables_free(&t);
	}
	policy_findings_free(&f);
	pib_err_clear(&e);
	unlink(path);
	return 0;
}
