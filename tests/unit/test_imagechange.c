/* SPDX-License-Identifier: MIT */
/* imagechange_diff (the unified diff of the image changes), the hardening places and the package manager's table. */
#include "imagechange.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Applies a unified diff made by imagechange_diff to a; NULL when it does not apply. */
static char *apply(const char *a, const char *diff)
{
	struct pib_buf out = {0};
	const char *ap = a, *d = diff;
	size_t aline = 1; /* the line of a at ap */

	/* the two header lines */
	for (int i = 0; i < 2; i++) {
		d = strchr(d, '\n');
		if (!d)
			return NULL;
		d++;
	}
	while (*d) {
		unsigned long s = 0;
		if (strncmp(d, "@@ -", 4))
			goto bad;
		s = strtoul(d + 4, NULL, 10);
		const char *comma = strchr(d + 4, ','), *sp = strchr(d + 4, ' ');
		unsigned long cnt = comma && comma < sp ? strtoul(comma + 1, NULL, 10) : 1;
		unsigned long first = cnt ? s : s + 1; /* the first line of a the hunk touches */
		while (aline < first) { /* copy the lines before the hunk */
			const char *nl = strchr(ap, '\n');
			size_t len = nl ? (size_t)(nl - ap) + 1 : strlen(ap);
			if (!len)
				goto bad;
			if (pib_buf_append(&out, ap, len) < 0)
				goto bad;
			ap += len;
			aline++;
		}
		d = strchr(d, '\n') + 1;
		while (*d == ' ' || *d == '-' || *d == '+') {
			const char *nl = strchr(d, '\n');
			size_t len = (size_t)(nl - d); /* without the newline */
			bool no_nl = !strncmp(nl + 1, "\\ No newline at end of file\n", 28);
			const char *text = d + 1;
			size_t tl = len - 1 + (no_nl ? 0 : 1);
			if (*d != '+') {
				if (strncmp(ap, text, tl))
					goto bad;
				ap += tl;
				aline++;
			}
			if (*d != '-' && pib_buf_append(&out, text, tl) < 0)
				goto bad;
			d = nl + 1 + (no_nl ? 28 : 0);
		}
	}
	if (pib_buf_append(&out, ap, strlen(ap) + 1) < 0)
		goto bad;
	return out.data;
bad:
	pib_buf_free(&out);
	return NULL;
}

static char *diff_of(const char *a, const char *b, size_t max, bool *cut)
{
	char *r = NULL;
	bool c = false;
	if (imagechange_diff(a, strlen(a), b, strlen(b), "a/x", "b/x", max, &r, &c) < 0)
		return NULL;
	if (cut)
		*cut = c;
	return r;
}

static bool round_trip(const char *a, const char *b)
{
	char *d = diff_of(a, b, 1u << 24, NULL);
	char *back = d ? apply(a, d) : NULL;
	bool ok_ = back && !strcmp(back, b);
	if (!ok_)
		printf("# a:\n%s\n# b:\n%s\n# diff:\n%s\n# applied:\n%s\n", a, b, d ? d : "(null)", back ? back : "(null)");
	free(d);
	free(back);
	return ok_;
}

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static char *random_text(unsigned lines)
{
	struct pib_buf b = {0};
	for (unsigned i = 0; i < lines; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%u\n", rnd(6));
		if (pib_buf_append(&b, l, strlen(l)) < 0)
			abort();
	}
	if (rnd(4) == 0 && pib_buf_append(&b, "tail", 4) < 0) /* no newline at the end */
		abort();
	if (pib_buf_append(&b, "", 1) < 0)
		abort();
	return b.data;
}

int main(void)
{
	char *d;
	bool cut;

	d = diff_of("a\nb\nc\n", "a\nb\nc\n", 1000, &cut);
	ok(d && !strcmp(d, "") && !cut, "the same text: an empty diff");
	free(d);

	d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n", 1000, &cut);
	ok(d && !strcmp(d, "--- a/x\n+++ b/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"),
	   "one line changed: 3 lines of context each side, as diff -u");
	free(d);

	d = diff_of("a\nb\n", "", 1000, &cut);
	ok(d && !strcmp(d, "--- a/x\n+++ b/x\n@@ -1,2 +0,0 @@\n-a\n-b\n"), "all removed: +0,0");
	free(d);

	d = diff_of("", "new\n", 1000, &cut);
	ok(d && !strcmp(d, "--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+new\n"), "made from nothing: -0,0 +1");
	free(d);

	d = diff_of("x\ny", "x\ny\n", 1000, &cut);
	ok(d && !strcmp(d, "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n"),
	   "a newline added at the end is a change, said as diff -u says it");
	free(d);

	/* two changes far apart: two hunks; close together: one */
	d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
		    "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\ntwenty\n", 10000, &cut);
	ok(d && !strcmp(d, "--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -17,4 +17,4 @@\n 17\n 18\n 19\n-20\n+twenty\n"),
	   "changes far apart: two hunks");
	free(d);
	d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "one\n2\n3\n4\n5\n6\n7\nseven\n8\n9\n10\n", 10000, &cut);
	ok(d && !strcmp(d, "--- a/x\n+++ b/x\n@@ -1,10 +1,11 @@\n-1\n+one\n 2\n 3\n 4\n 5\n 6\n 7\n+seven\n 8\n 9\n 10\n"),
	   "changes 6 lines apart: one hunk");
	free(d);

	/* cut: a bounded text, ending at a whole line */
	struct pib_buf big = {0};
	for (int i = 0; i < 5000; i++)
		if (pib_buf_printf(&big, "line %d\n", i) < 0)
			abort();
	if (pib_buf_append(&big, "", 1) < 0)
		abort();
	d = diff_of(big.data, "", 4096, &cut);
	ok(d && cut && strlen(d) <= 4096 && d[strlen(d) - 1] == '\n', "a diff larger than its cap is cut at a line: %zu bytes",
	   d ? strlen(d) : 0);
	free(d);

	/* many edits (beyond the bound): still a diff that makes b */
	struct pib_buf b2 = {0};
	for (int i = 0; i < 5000; i++)
		if (pib_buf_printf(&b2, "other %d\n", i) < 0)
			abort();
	if (pib_buf_append(&b2, "", 1) < 0)
		abort();
	ok(round_trip(big.data, b2.data), "10000 edits, beyond the bound: the diff still makes the text after");
	pib_buf_free(&big);
	pib_buf_free(&b2);

	/* random texts: applying the diff to the text before gives the text after */
	bool all = true;
	for (int i = 0; i < 400 && all; i++) {
		char *a = random_text(rnd(40)), *b = random_text(rnd(40));
		all = round_trip(a, b);
		free(a);
		free(b);
	}
	ok(all, "400 random pairs: the diff applied to the text before gives the text after");

	/* the tables */
	ok(imagechange_area("/etc/ssh/sshd_config") && !strcmp(imagechange_area("/etc/ssh/sshd_config"), "sshd"), "sshd_config");
	ok(!strcmp(imagechange_area("/etc/ssh/sshd_config.d/50-x.conf"), "sshd"), "an sshd drop-in");
	ok(!imagechange_area("/etc/ssh/ssh_config"), "ssh_config (the client) is not hardening");
	ok(!imagechange_area("/etc/ssh/sshd_config.d/"), "the directory itself is not a file of it");
	ok(!strcmp(imagechange_area("/etc/security/limits.d/a.conf"), "limits"), "limits.d is limits, not PAM");
	ok(!strcmp(imagechange_area("/etc/security/access.conf"), "pam"), "/etc/security/access.conf is PAM");
	ok(!strcmp(imagechange_area("/etc/pam.d/common-auth"), "pam"), "pam.d");
	ok(!strcmp(imagechange_area("/etc/sudoers.d/x"), "sudoers"), "sudoers.d");
	ok(!imagechange_area("/etc/hosts.allow") && !strcmp(imagechange_area("/etc/hosts"), "hosts"), "/etc/hosts only");
	ok(imagechange_pm_owned("/var/lib/dpkg/status") && imagechange_pm_owned("/etc/ld.so.cache") &&
		   !imagechange_pm_owned("/var/lib/dpkg") && !imagechange_pm_owned("/etc/passwd"),
	   "the package manager's table");
	return tap_done();
}
