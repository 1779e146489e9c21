/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target of the .rpm header reader and of the OpenPGP key reader (libFuzzer entry point;
 * fuzz_main.c runs it over corpus/rpmhdr as a test). Both read a file, so the input is written
 * to one private temporary file, then read as a package and as an armored key.
 */
#include "rpmhdr.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir, *file;

static void cleanup(void)
{
	if (file)
		unlink(file);
	if (dir)
		rmdir(dir);
	free(file);
	free(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!file) {
		if (pib_mkdtemp("pib-fuzz-rpmhdr", &dir) < 0 || !(file = pib_asprintf("%s/input", dir)))
			abort();
		atexit(cleanup);
	}
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || pib_write_all(fd, data, size) < 0)
		abort();
	close(fd);

	struct rpm_info info;
	char *why = NULL;
	if (rpm_info_read(file, &info, &why) == 0) {
		/* what a caller prints and compares: every field a string or NULL */
		if (!info.name || !info.version || !info.release || !info.arch)
			abort();
		(void)rpm_arch_compatible("x86_64", info.arch);
		rpm_info_free(&info);
	} else if (!why) {
		abort(); /* a refusal always says why */
	}
	free(why);

	char **fprs = NULL;
	why = NULL;
	if (rpm_key_fingerprints(file, &fprs, &why) == 0) {
		if (!fprs || !fprs[0])
			abort();
		pib_strv_free(fprs);
	} else if (!why || fprs) {
		abort();
	}
	free(why);
	return 0;
}
