/* SPDX-License-Identifier: MIT */
/* Unit tests of the root snapshot: new, grown, touched and moved files are found; links, fifos and unchanged files are not. */
#include "rootdiff.h"
#include "scan_fixtures.h"
#include "tap.h"

#include <sys/time.h>

static void put(const char *root, const char *rel, const char *text)
{
	char *p = pib_asprintf("%s%s", root, rel);
	fx_write(p, text, strlen(text));
	free(p);
}

static void dir(const char *root, const char *rel)
{
	char *p = pib_asprintf("%s%s", root, rel);
	mkdir(p, 0755);
	free(p);
}

static char *joined(char **v)
{
	struct pib_buf b = {0};

	for (size_t i = 0; v && v[i]; i++)
		(void)pib_buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	return b.data ? b.data : strdup("");
}

int main(void)
{
	char *root = NULL;
	struct pib_err err = {0};
	struct rootdiff *d = NULL;
	char **changed = NULL;

	if (pib_mkdtemp("pib-test-rootdiff", &root) < 0)
		return 1;
	dir(root, "/etc");
	dir(root, "/usr");
	dir(root, "/usr/bin");
	dir(root, "/proc");
	dir(root, "/tmp");
	put(root, "/etc/keep", "unchanged\n");
	put(root, "/etc/grow", "one line\n");
	put(root, "/etc/touch", "same bytes\n");
	put(root, "/usr/bin/moved", "a program\n");
	put(root, "/proc/ignored", "pseudo\n");

	ok(rootdiff_snapshot(root, &d, &err) == 0, "a snapshot of the root");
	ok(d && rootdiff_files(d) == 4, "4 regular files recorded (/proc not walked): %zu", d ? rootdiff_files(d) : 0);

	ok(rootdiff_changed(d, &changed, &err) == 0 && changed && !changed[0], "nothing changed yet");
	pib_strv_free(changed);
	changed = NULL;

	put(root, "/etc/grow", "one line\ntwo lines\n");
	char *p = pib_asprintf("%s/etc/touch", root);
	struct timeval tv[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
	utimes(p, tv);
	free(p);
	char *a = pib_asprintf("%s/usr/bin/moved", root), *b = pib_asprintf("%s/usr/bin/renamed", root);
	rename(a, b);
	free(a);
	free(b);
	dir(root, "/var");
	dir(root, "/var/lib");
	dir(root, "/var/lib/new");
	put(root, "/var/lib/new/dropped", "from a maintainer script\n");
	put(root, "/tmp/also", "dropped in tmp\n");
	put(root, "/proc/more", "still ignored\n");
	p = pib_asprintf("%s/etc/link", root);
	(void)!symlink("/etc/keep", p);
	free(p);
	p = pib_asprintf("%s/etc/fifo", root);
	mkfifo(p, 0600);
	free(p);

	ok(rootdiff_changed(d, &changed, &err) == 0, "the diff after the changes");
	char *j = joined(changed);
	ok(!strcmp(j, "/etc/grow /etc/touch /tmp/also /usr/bin/renamed /var/lib/new/dropped"),
	   "new, grown, touched and renamed files, sorted; no link, fifo, /proc or unchanged file: %s", j);
	free(j);
	pib_strv_free(changed);
	rootdiff_free(d);

	char *missing = pib_asprintf("%s/none", root);
	d = NULL;
	ok(rootdiff_snapshot(missing, &d, &err) < 0 && err.set && !strcmp(err.code, "scan.root_unreadable") && !d,
	   "a root that does not exist: scan.root_unreadable");
	free(missing);

	pib_err_clear(&err);
	(void)pib_rm_rf(root);
	free(root);
	return tap_done();
}
