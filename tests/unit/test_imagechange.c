/* SPDX-License-Identifier: MIT */
/* imagechange_diff (the unified diff of the image changes), the hardening places and the package manager's table. */
#include "imagechange.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	return (unsigned)(tap_next(&rng) % n);
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

static void put(const char *root, const char *rel, const char *text)
{
	char *p = pib_asprintf("%s%s", root, rel);
	if (!p || pib_write_file(p, text, strlen(text), 0644) < 0)
		abort();
	free(p);
}

static void mk(const char *root, const char *rel)
{
	char *p = pib_asprintf("%s%s", root, rel);
	if (!p || (mkdir(p, 0755) < 0 && errno != EEXIST))
		abort();
	free(p);
}

static const struct imagechange_item *item(const struct imagechange *ic, const char *path)
{
	for (size_t i = 0; i < ic->n; i++)
		if (!strcmp(ic->v[i].path, path))
			return &ic->v[i];
	return NULL;
}

/* imagechange_compute on a small root: every kind of change, the exclusions, no link followed. */
static void compute(void)
{
	char *top = NULL;
	struct pib_err err = {0};
	struct rootdiff *d = NULL;
	struct imagechange ic;
	const struct imagechange_item *it;

	if (pib_mkdtemp("pib-test-imagechange", &top) < 0)
		abort();
	char *outside = pib_asprintf("%s/outside", top), *root = pib_asprintf("%s/root", top);
	mk(top, "/outside");
	put(outside, "/secret.conf", "outside\n");
	mk(top, "/root");
	mk(root, "/etc");
	mk(root, "/etc/pam.d");
	mk(root, "/etc/sysctl.d");
	mk(root, "/etc/sub");
	mk(root, "/usr");
	mk(root, "/usr/lib");
	mk(root, "/var");
	mk(root, "/var/lib");
	mk(root, "/var/lib/dpkg");
	put(root, "/etc/pam.d/common-auth", "auth required pam_unix.so\n");
	put(root, "/etc/sysctl.conf", "a = 1\n");
	put(root, "/etc/issue", "Debian\n");
	put(root, "/etc/motd", "hello\n");
	put(root, "/etc/owned.conf", "mine\n");
	put(root, "/etc/sub/x.conf", "x\n");
	put(root, "/etc/touched", "same\n");
	put(root, "/etc/shadow", "root:$y$hash:1::::::\n");
	put(root, "/usr/lib/libx.so", "\177ELF one");
	put(root, "/var/lib/dpkg/status", "Package: a\n");
	ok(rootdiff_snapshot_ex(root, ROOTDIFF_CONTENTS, &d, &err) == 0, "compute: the snapshot before");

	char *p;
	put(root, "/etc/pam.d/common-auth", "auth required pam_unix.so nullok\n");     /* replaced (a new inode) */
	p = pib_asprintf("%s/etc/sysctl.conf", root);
	int fd = open(p, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "b = 2\n", 6) == 6, "compute: sysctl.conf appended to in place");
	if (fd >= 0)
		close(fd);
	free(p);
	p = pib_asprintf("%s/etc/issue", root);
	ok(unlink(p) == 0, "compute: issue removed");
	free(p);
	p = pib_asprintf("%s/etc/motd", root);
	ok(chmod(p, 0600) == 0, "compute: motd 0600");
	free(p);
	put(root, "/etc/owned.conf", "changed by its package\n");
	put(root, "/var/lib/dpkg/status", "Package: a\nPackage: b\n");
	put(root, "/etc/shadow", "root:$y$other:1::::::\n");
	put(root, "/usr/lib/libx.so", "\177ELF two");
	put(root, "/etc/sysctl.d/99-new.conf", "c = 3\n");              /* added in a hardening place */
	p = pib_asprintf("%s/etc/touched", root);
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	ok(utimensat(AT_FDCWD, p, ts, 0) == 0, "compute: touched: new times, same bytes");
	free(p);
	/* /etc/sub becomes a link out of the root: never followed, its file is removed */
	char *sub = pib_asprintf("%s/etc/sub", root), *x = pib_asprintf("%s/etc/sub/x.conf", root);
	ok(unlink(x) == 0 && rmdir(sub) == 0 && symlink(outside, sub) == 0, "compute: /etc/sub now a link out of the root");
	free(sub);
	free(x);

	char owned[] = "/etc/owned.conf";
	char *own[] = {owned, NULL};
	ok(imagechange_compute(root, d, own, &ic, &err) == 0, "compute: the comparison");
	it = item(&ic, "/etc/pam.d/common-auth");
	ok(it && !strcmp(it->change, "replaced") && it->area && !strcmp(it->area, "pam") && it->before.has_sha256 &&
		   it->after.has_sha256 && strcmp(it->before.sha256, it->after.sha256) && it->diff &&
		   strstr(it->diff, "+auth required pam_unix.so nullok\n"),
	   "compute: common-auth replaced, pam, both digests, its diff");
	it = item(&ic, "/etc/sysctl.conf");
	ok(it && !strcmp(it->change, "modified") && !strcmp(it->area, "sysctl") && it->diff && strstr(it->diff, "+b = 2\n"),
	   "compute: sysctl.conf modified in place, its diff");
	it = item(&ic, "/etc/issue");
	ok(it && !strcmp(it->change, "removed") && !it->after.present && it->diff && strstr(it->diff, "+++ /dev/null") &&
		   !it->area,
	   "compute: issue removed, a diff to /dev/null, not hardening");
	it = item(&ic, "/etc/motd");
	ok(it && !strcmp(it->change, "mode") && (it->before.mode & 07777) == 0644 && (it->after.mode & 07777) == 0600 &&
		   !it->diff,
	   "compute: motd's mode");
	it = item(&ic, "/etc/shadow");
	ok(it && !strcmp(it->change, "replaced") && !it->diff && it->diff_note && strstr(it->diff_note, "password"),
	   "compute: shadow listed, never diffed");
	it = item(&ic, "/usr/lib/libx.so");
	ok(it && !it->diff && it->diff_note && strstr(it->diff_note, "/etc"), "compute: outside /etc: no diff");
	it = item(&ic, "/etc/sysctl.d/99-new.conf");
	ok(it && !strcmp(it->change, "added") && !it->before.present && !strcmp(it->area, "sysctl") && it->diff,
	   "compute: a new sysctl.d file is added, hardening");
	it = item(&ic, "/etc/sub/x.conf");
	ok(it && !strcmp(it->change, "removed"), "compute: a file whose directory became a link is removed");
	ok(!item(&ic, "/etc/owned.conf") && ic.excluded_own == 1, "compute: the package's own file is not a change");
	ok(!item(&ic, "/var/lib/dpkg/status") && ic.excluded_pm == 1, "compute: dpkg's status is not a change");
	ok(!item(&ic, "/etc/touched"), "compute: new times only: not a change");
	ok(ic.n == 8, "compute: 8 changes in all: %zu", ic.n);
	bool sorted = true;
	for (size_t i = 1; i < ic.n; i++)
		sorted = sorted && strcmp(ic.v[i - 1].path, ic.v[i].path) < 0;
	ok(sorted, "compute: sorted by path");

	struct policy_findings f = {0};
	ok(imagechange_findings(&ic, &f) == 0 && f.n == 3, "compute: 3 hardening findings: %zu", f.n);
	size_t high = 0;
	for (size_t i = 0; i < f.n; i++)
		high += f.v[i].severity == POLICY_SEV_HIGH && !strcmp(f.v[i].id, "hardening.pam");
	ok(high == 1, "compute: hardening.pam is high");
	cJSON *j = imagechange_json(&ic);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	ok(text && !strstr(text, "$y$"), "compute: no password hash in the JSON");
	ok(text && !strstr(text, "outside"), "compute: nothing of the link's target");
	free(text);
	cJSON_Delete(j);
	policy_findings_free(&f);
	imagechange_free(&ic);
	rootdiff_free(d);
	pib_err_clear(&err);
	(void)pib_rm_rf(top);
	free(top);
	free(outside);
	free(root);
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
	compute();
	return tap_done();
}
