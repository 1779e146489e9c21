/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver of the walk of a root (policy_walk_root with the secret rules on), until
 * `pib-agent policy --root` runs it: policy-walk ROOT [THREADS [list]]. Prints the stats and the
 * number of findings by id; with "list", every finding's id, path and line (never evidence).
 */
#include "policy_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct policy_walk_opts o = {.secrets = true};
	struct policy_findings f = {0};
	struct policy_walk_stats s;
	struct pib_err err = {0};
	int r;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: policy-walk ROOT [THREADS [list]]\n");
		return 2;
	}
	if (argc > 2)
		o.threads = (unsigned)strtoul(argv[2], NULL, 10);
	if ((r = policy_walk_root(argv[1], &o, &f, &s, &err)) < 0) {
		fprintf(stderr, "policy-walk: %s\n", err.set ? err.msg : strerror(-r));
		pib_err_clear(&err);
		return 1;
	}
	printf("files %llu dirs %llu other %llu secret_files %llu secret_cut %llu secret_bytes %llu too_large %llu not_entered %llu "
	       "errors %llu findings %zu\n",
	       (unsigned long long)s.files, (unsigned long long)s.dirs, (unsigned long long)s.other,
	       (unsigned long long)s.secret_files, (unsigned long long)s.secret_cut,
	       (unsigned long long)s.secret_bytes, (unsigned long long)s.too_large,
	       (unsigned long long)s.not_entered, (unsigned long long)s.errors, f.n);
	/* findings by id: the list is sorted by path, so count each id over it */
	for (size_t i = 0; i < f.n; i++) {
		bool seen = false;
		size_t n = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(f.v[j].id, f.v[i].id) == 0;
		if (seen)
			continue;
		for (size_t j = i; j < f.n; j++)
			n += strcmp(f.v[j].id, f.v[i].id) == 0;
		printf("  %-28s %zu\n", f.v[i].id, n);
	}
	if (argc > 3 && strcmp(argv[3], "list") == 0)
		for (size_t i = 0; i < f.n; i++)
			printf("%s %s:%u\n", f.v[i].id, f.v[i].path ? f.v[i].path : "-", f.v[i].line);
	policy_findings_free(&f);
	return 0;
}
