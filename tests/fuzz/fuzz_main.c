/* SPDX-License-Identifier: MIT */
/* Runs a libFuzzer target without libFuzzer: every file of the corpus, then seeded random mutations of each. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned seed)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return -1;
	buf = malloc(1 << 20);
	n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	/* mutations: flipped bytes, truncations, duplications; deterministic per seed */
	srand(seed);
	for (int round = 0; round < 300 && n > 0; round++) {
		uint8_t *m = malloc(n * 2 + 1);
		size_t len = n;
		memcpy(m, buf, n);
		int kind = rand() % 4;
		if (kind == 0)
			for (int k = 0; k < 1 + rand() % 8; k++)
				m[rand() % len] = (uint8_t)rand();
		else if (kind == 1)
			len = (size_t)rand() % len;
		else if (kind == 2) {
			size_t at = (size_t)rand() % len, cut = (size_t)rand() % (len - at);
			memcpy(m + len, m + at, cut);
			len += cut;
		} else
			m[rand() % len] = "{}[]\",:0-"[rand() % 9];
		LLVMFuzzerTestOneInput(m, len);
		free(m);
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		if (!d) {
			if (run_file(argv[i], (unsigned)i) == 0)
				files++;
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			if (run_file(p, (unsigned)files + 1) == 0)
				files++;
		}
		closedir(d);
	}
	printf("1..1\nok 1 - %d corpus files and their mutations ran without a crash\n", files);
	return files > 0 ? 0 : 1;
}
