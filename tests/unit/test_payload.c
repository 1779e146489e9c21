/* SPDX-License-Identifier: MIT */
/* Unit tests of the payload reader: a .deb made in memory, member names, the package name, memory vs temporary file, bounds. */
#include "payload.h"
#include "scan_fixtures.h"
#include "tap.h"

struct seen {
	char names[32][128];
	char packages[32][64];
	uint64_t sizes[32];
	bool in_fd[32];
	int n;
	char gaps[8][160];
	int n_gaps;
	bool content_ok;
};

static int sink(void *ctx, struct payload_member *m)
{
	struct seen *s = ctx;

	if (s->n < 32) {
		snprintf(s->names[s->n], 128, "%s", m->name);
		snprintf(s->packages[s->n], 64, "%s", m->package ? m->package : "(none)");
		s->sizes[s->n] = m->size;
		s->in_fd[s->n] = m->fd >= 0;
		if (m->fd >= 0) {
			char c = 0;
			s->content_ok = pread(m->fd, &c, 1, (off_t)m->size - 1) == 1 && c == 'z';
		}
		s->n++;
	}
	free(m->name);
	free(m->data);
	if (m->fd >= 0)
		close(m->fd);
	return 0;
}

static int gap(void *ctx, const char *package, const char *member, const char *code, const char *reason)
{
	struct seen *s = ctx;

	(void)reason;
	if (s->n_gaps < 8)
		snprintf(s->gaps[s->n_gaps++], 160, "%s|%s|%s", package ? package : "", member, code);
	return 0;
}

static int find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return i;
	return -1;
}

static int read_pkg(const char *path, struct payload_opts *o, struct seen *s, char **pkg, struct pib_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char head[24] = {0};

	memset(s, 0, sizeof(*s));
	pib_err_clear(err);
	memset(err, 0, sizeof(*err));
	if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
		close(fd);
		return -EIO;
	}
	o->sink = sink;
	o->gap = gap;
	o->ctx = s;
	o->label = "test.deb";
	int r = payload_read(fd, payload_sniff(head, sizeof(head)), o, pkg, err);
	close(fd);
	return r;
}

int main(void)
{
	char *dir = NULL;
	struct pib_err err = {0};
	struct seen s;
	char *pkg = NULL;

	if (pib_mkdtemp("pib-test-payload", &dir) < 0)
		return 1;
	const char *control = "Package: unit-pkg\nVersion: 1.0\nArchitecture: all\nDescription: x\n";
	size_t big_len = 300000;
	char *big = malloc(big_len);
	memset(big, 'z', big_len);
	struct fx_entry ctl[] = {{"./", NULL, 0, NULL},
				 {"./control", control, strlen(control), NULL},
				 {"./postinst", "#!/bin/sh\nexit 0\n", 17, NULL}};
	struct fx_entry data[] = {{"./", NULL, 0, NULL},
				  {"./usr/", NULL, 0, NULL},
				  {"./usr/bin/tool", "binary bytes", 12, NULL},
				  {"./usr/share/doc/unit/big", big, big_len, NULL},
				  {"./usr/bin/link", NULL, 0, "tool"}};
	char *deb = fx_path(dir, "unit.deb");
	ok(fx_deb(deb, ctl, 3, data, 5) == 0, "a .deb is made in memory");

	unsigned char head[24];
	int fd = open(deb, O_RDONLY | O_CLOEXEC);
	ok(pread(fd, head, sizeof(head), 0) == 24 && payload_sniff(head, 24) == PAYLOAD_DEB, "sniffed as a .deb");
	close(fd);
	const unsigned char rpm_head[24] = {0xed, 0xab, 0xee, 0xdb, 3, 0};
	ok(payload_sniff(rpm_head, 24) == PAYLOAD_RPM, "the RPM lead is sniffed as .rpm");
	ok(payload_sniff("hello world, not a package", 24) == PAYLOAD_NONE, "anything else: none");
	ok(payload_sniff("!<arch>\nsomething-else...", 24) == PAYLOAD_NONE, "an ar that is not a .deb: none");

	/* every regular file, named by its path inside, with the package's name */
	struct payload_opts o = {.tmpdir = dir, .mem_max = 100000};
	ok(read_pkg(deb, &o, &s, &pkg, &err) == 0, "the payload is read");
	if (err.set)
		printf("# %s\n", err.msg);
	ok(s.n == 5, "5 members: debian-binary, 2 control files, 2 data files (got %d)", s.n);
	ok(find(&s, "debian-binary") >= 0, "debian-binary");
	ok(find(&s, "DEBIAN/control") >= 0 && find(&s, "DEBIAN/postinst") >= 0,
	   "control members under DEBIAN/");
	ok(find(&s, "usr/bin/tool") >= 0, "a data member by its path, without ./");
	ok(find(&s, "usr/bin/link") < 0 && find(&s, "usr") < 0, "no symlinks, no directories");
	ok(pkg && !strcmp(pkg, "unit-pkg"), "the package's name from its control file");
	int i = find(&s, "DEBIAN/postinst");
	ok(i >= 0 && !strcmp(s.packages[i], "unit-pkg"), "control members carry the package name too");
	i = find(&s, "usr/share/doc/unit/big");
	ok(i >= 0 && s.in_fd[i] && s.sizes[i] == big_len && s.content_ok,
	   "a member over mem_max comes in a temporary file, whole");
	i = find(&s, "usr/bin/tool");
	ok(i >= 0 && !s.in_fd[i] && s.sizes[i] == 12, "a small member comes in memory");
	free(pkg);
	pkg = NULL;

	/* data.tar.xz decoded by liblzma on two threads: the same members */
	o = (struct payload_opts){.tmpdir = dir, .mem_max = 100000, .threads = 2};
	ok(read_pkg(deb, &o, &s, &pkg, &err) == 0 && s.n == 5 && find(&s, "usr/bin/tool") >= 0 &&
		   find(&s, "usr/share/doc/unit/big") >= 0 && pkg && !strcmp(pkg, "unit-pkg"),
	   "xz on two threads: the same 5 members and the package name");
	i = find(&s, "usr/share/doc/unit/big");
	ok(i >= 0 && s.sizes[i] == big_len && s.content_ok, "xz on two threads: the large member whole");
	free(pkg);
	pkg = NULL;

	/* a member over max_member is a gap, not read */
	o = (struct payload_opts){.tmpdir = dir, .max_member = 200000};
	ok(read_pkg(deb, &o, &s, NULL, &err) == 0 && find(&s, "usr/share/doc/unit/big") < 0 && s.n_gaps == 1 &&
		   !strcmp(s.gaps[0], "unit-pkg|usr/share/doc/unit/big|limit.max_filesize"),
	   "a member over max_member: a gap with its name and the package, not handed over");

	/* bounds: entries, total bytes, expansion ratio */
	o = (struct payload_opts){.tmpdir = dir, .max_entries = 4};
	ok(read_pkg(deb, &o, &s, NULL, &err) < 0 && !strcmp(err.code, "scan.package_unreadable") &&
		   strstr(err.msg, "more members"),
	   "more members than max_entries: scan.package_unreadable");
	o = (struct payload_opts){.tmpdir = dir, .max_total = 100000};
	ok(read_pkg(deb, &o, &s, NULL, &err) < 0 && strstr(err.msg, "more bytes than the limit"),
	   "more bytes than max_total: refused");
	o = (struct payload_opts){.tmpdir = dir, .max_ratio = 2, .ratio_grace = 1000};
	ok(read_pkg(deb, &o, &s, NULL, &err) < 0 && strstr(err.msg, "multiple of its size"),
	   "an expansion over max_ratio: refused");

	/* cut short: an error, never a partial success */
	char *cut = fx_path(dir, "cut.deb");
	struct stat st;
	stat(deb, &st);
	char *bytes = NULL;
	size_t len = 0;
	if (pib_read_file(deb, 1 << 24, &bytes, &len) == 0)
		fx_write(cut, bytes, len - 200);
	free(bytes);
	o = (struct payload_opts){.tmpdir = dir, .threads = 2};
	ok(read_pkg(cut, &o, &s, NULL, &err) < 0 && !strcmp(err.code, "scan.package_unreadable"),
	   "a cut-off .deb, xz on two threads: scan.package_unreadable (%s)", err.msg);
	o = (struct payload_opts){.tmpdir = dir};
	ok(read_pkg(cut, &o, &s, NULL, &err) < 0 && err.cls == PIB_ERR_FAILED &&
		   !strcmp(err.code, "scan.package_unreadable") && strstr(err.msg, "test.deb"),
	   "a cut-off .deb: scan.package_unreadable, naming it");

	/* nothing is left in the temporary directory but our own files */
	int left = 0;
	char *sub = fx_path(dir, "");
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "unit.deb") && strcmp(de->d_name, "cut.deb"))
			left++;
	if (d)
		closedir(d);
	ok(left == 0, "no temporary member file is left behind (%d)", left);

	free(sub);
	free(cut);
	free(deb);
	free(big);
	pib_err_clear(&err);
	(void)pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
