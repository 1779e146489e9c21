/* SPDX-License-Identifier: MIT */
/* Fuzz target of the job parser and of the job in user-data (libFuzzer entry point; fuzz_main.c runs it over a corpus as a test). */
#include "job.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pib_err e = {0};
	struct job *j = NULL;
	char *text = NULL;
	size_t len = 0;

	(void)job_parse("job.json", (const char *)data, size, &j, &e);
	job_free(j);
	pib_err_clear(&e);
	/* user-data, and the job found in it */
	if (job_from_user_data((const char *)data, size, &text, &len, &e) == 0) {
		j = NULL;
		pib_err_clear(&e);
		(void)job_parse("user-data", text, len, &j, &e);
		job_free(j);
		free(text);
	}
	pib_err_clear(&e);
	return 0;
}
