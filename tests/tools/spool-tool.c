/* SPDX-License-Identifier: MIT */
/* A test driver for the delivery spool: puts reports into it, asks about them, forgets them. */
#include "spool.h"

#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: spool-tool put STATE_DIR BUILD PHASE URL METHOD CA|- REPORTFILE\n"
			"       spool-tool pending|sent STATE_DIR BUILD PHASE   (exit 0 yes, 1 no)\n"
			"       spool-tool send STATE_DIR BUILD PHASE SECONDS\n"
			"       spool-tool forget STATE_DIR BUILD\n");
	return 3;
}

static int put(char **a)
{
	struct pib_err e = {0};
	char *data = NULL;
	size_t len = 0;
	int r = pib_read_file(a[6], 512u * 1024 * 1024, &data, &len);

	if (r < 0) {
		fprintf(stderr, "spool-tool: %s: %s\n", a[6], strerror(-r));
		return 4;
	}
	r = spool_put(a[0], a[1], a[2], a[3], a[4], strcmp(a[5], "-") ? a[5] : NULL, data, len, &e);
	free(data);
	if (r < 0) {
		fprintf(stderr, "spool-tool: %s [%s]\n", e.msg, e.code);
		pib_err_clear(&e);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	char **a = argv + 2;
	int n = argc - 2;

	if (!strcmp(cmd, "put") && n == 7)
		return put(a);
	if (!strcmp(cmd, "pending") && n == 3)
		return spool_pending(a[0], a[1], a[2]) ? 0 : 1;
	if (!strcmp(cmd, "sent") && n == 3)
		return spool_sent(a[0], a[1], a[2]) ? 0 : 1;
	if (!strcmp(cmd, "forget") && n == 2)
		return spool_forget(a[0], a[1]) < 0 ? 2 : 0;
	if (!strcmp(cmd, "send") && n == 4) {
		struct pib_err e = {0};
		int r = spool_send(a[0], a[1], a[2], pib_now_mono() + atof(a[3]), &e);
		if (r < 0) {
			fprintf(stderr, "spool-tool: %s [%s]\n", e.msg, e.code);
			pib_err_clear(&e);
			return 5;
		}
		return 0;
	}
	return usage();
}
