/* SPDX-License-Identifier: MIT */
/* Unit tests of an MSI's payload: MSIs built here with wixl, their embedded cabinets read member by member under the files' install paths, and what is listed instead. */
#include "payload.h"
#include "proc.h"
#include "scan_fixtures.h"
#include "tap.h"

#include <sys/stat.h>

#define MAX_SEEN 64

struct seen {
	char names[MAX_SEEN][160];
	char cabinets[MAX_SEEN][80];
	char data[MAX_SEEN][80];
	uint64_t sizes[MAX_SEEN];
	bool in_fd[MAX_SEEN], fd_ok[MAX_SEEN];
	int n;
	char gaps[MAX_SEEN][300];
	int n_gaps;
	char package[64];
};

static int sink(void *ctx, struct payload_member *m)
{
	struct seen *s = ctx;

	if (s->n < MAX_SEEN) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", m->name);
		snprintf(s->cabinets[s->n], sizeof(s->cabinets[0]), "%s", m->cabinet ? m->cabinet : "(none)");
		snprintf(s->package, sizeof(s->package), "%s", m->package ? m->package : "(none)");
		if (m->data)
			snprintf(s->data[s->n], sizeof(s->data[0]), "%.*s", (int)m->size, (const char *)m->data);
		s->sizes[s->n] = m->size;
		s->in_fd[s->n] = m->fd >= 0;
		if (m->fd >= 0) {
			char c = 0;
			s->fd_ok[s->n] = pread(m->fd, &c, 1, (off_t)m->size - 1) == 1 && c == 'z';
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

	(void)package;
	if (s->n_gaps < MAX_SEEN)
		snprintf(s->gaps[s->n_gaps++], sizeof(s->gaps[0]), "%s|%s|%s", member, code, reason);
	return 0;
}

static int find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return i;
	return -1;
}

/* The gap of member with code, or NULL. */
static const char *find_gap(const struct seen *s, const char *member, const char *code)
{
	char pfx[300];
	snprintf(pfx, sizeof(pfx), "%s|%s|", member, code);
	for (int i = 0; i < s->n_gaps; i++)
		if (!strncmp(s->gaps[i], pfx, strlen(pfx)))
			return s->gaps[i] + strlen(pfx);
	return NULL;
}

static int read_msi(const char *path, const char *tmpdir, struct seen *s, struct pib_err *err)
{
	struct payload_opts o = {.tmpdir = tmpdir, .label = "test.msi", .sink = sink, .gap = gap, .ctx = s};
	unsigned char head[24] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(s, 0, sizeof(*s));
	pib_err_clear(err);
	if (fd < 0 || pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	int r = payload_read(fd, payload_sniff(head, sizeof(head)), &o, NULL, err);
	close(fd);
	return r;
}

static const char *wxs_head =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<Wix xmlns=\"http://schemas.microsoft.com/wix/2006/wi\">\n"
    "  <Product Id=\"*\" Name=\"Acme Unit\" Language=\"1033\" Version=\"1.0.0\" Manufacturer=\"Acme\" "
    "UpgradeCode=\"12345678-1234-1234-1234-123456789012\">\n"
    "    <Package InstallerVersion=\"200\" Compressed=\"yes\" InstallScope=\"perMachine\"/>\n";

static const char *wxs_body =
    "    <Directory Id=\"TARGETDIR\" Name=\"SourceDir\">\n"
    "      <Directory Id=\"ProgramFiles64Folder\">\n"
    "        <Directory Id=\"INSTALLDIR\" Name=\"Acme\">\n"
    "          <Component Id=\"Main\" Guid=\"11111111-2222-3333-4444-555555555555\" Win64=\"yes\">\n"
    "            <File Id=\"ReadmeFile\" Source=\"src/a.txt\" Name=\"readme.txt\"/>\n"
    "          </Component>\n"
    "          <Directory Id=\"BinDir\" Name=\"bin\">\n"
    "            <Component Id=\"Bin\" Guid=\"11111111-2222-3333-4444-555555555556\" Win64=\"yes\">\n"
    "              <File Id=\"ToolExe\" Source=\"src/tool.exe\" Name=\"tool.exe\"/>\n"
    "            </Component>\n"
    "          </Directory>\n"
    "        </Directory>\n"
    "      </Directory>\n"
    "    </Directory>\n"
    "    <Feature Id=\"F\" Level=\"1\"><ComponentRef Id=\"Main\"/><ComponentRef Id=\"Bin\"/></Feature>\n"
    "  </Product>\n"
    "</Wix>\n";

/* dir/NAME.msi built by wixl from the two files, with the Media element given. */
static int wixl(const char *dir, const char *name, const char *media)
{
	char *wxs = pib_asprintf("%s/%s.wxs", dir, name), *msi = pib_asprintf("%s.msi", name);
	char *text = pib_asprintf("%s%s%s", wxs_head, media, wxs_body);
	int r = wxs && msi && text ? pib_write_file(wxs, text, strlen(text), 0644) : -ENOMEM;
	if (r == 0) {
		char wixl_path[] = "/usr/bin/wixl", opt_a[] = "-a", arch[] = "x64", opt_o[] = "-o";
		char *argv[] = {wixl_path, opt_a, arch, opt_o, msi, wxs, NULL};
		struct pib_spawn_opts so = {.cwd = dir, .timeout = 120};
		struct pib_spawn_result res = {0};
		r = pib_spawn(argv, &so, &res);
		if (r == 0 && res.status != 0) {
			printf("# wixl: %.*s\n", (int)res.output.len, res.output.data ? res.output.data : "");
			r = -EIO;
		}
		pib_spawn_result_free(&res);
	}
	free(wxs);
	free(msi);
	free(text);
	return r;
}

/* Replaces the only occurrence of from by to (as long) in the file at path. */
static int patch(const char *path, const char *from, const char *to, size_t n)
{
	char *d = NULL;
	size_t len = 0;
	int r = pib_read_file(path, 1 << 24, &d, &len);
	if (r < 0)
		return r;
	char *hit = memmem(d, len, from, n);
	if (!hit || memmem(hit + 1, len - (size_t)(hit + 1 - d), from, n)) {
		free(d);
		return -ENOENT;
	}
	memcpy(hit, to, n);
	r = pib_write_file(path, d, len, 0644);
	free(d);
	return r;
}

int main(void)
{
	char *dir = NULL;
	struct pib_err err = {0};
	struct seen s;
	struct stat st;

	if (stat("/usr/bin/wixl", &st) < 0) {
		printf("1..0 # SKIP wixl is not installed (tests/deps.sh installs it)\n");
		return 0;
	}
	if (pib_mkdtemp("pib-test-payload-msi", &dir) < 0)
		return 1;
	char *srcdir = fx_path(dir, "src"), *a = fx_path(dir, "src/a.txt"), *tool = fx_path(dir, "src/tool.exe");
	ok(mkdir(srcdir, 0755) == 0 && pib_write_file(a, "hello readme\n", 13, 0644) == 0 &&
		   pib_write_file(tool, "MZ tool bytes", 13, 0644) == 0,
	   "the files to pack");

	/* 1. an embedded cabinet: each member under its install path, the cabinet and key beside */
	ok(wixl(dir, "emb", "<Media Id=\"1\" Cabinet=\"acme.cab\" EmbedCab=\"yes\"/>\n") == 0, "wixl builds emb.msi");
	char *emb = fx_path(dir, "emb.msi");
	unsigned char head[24] = {0};
	int fd = open(emb, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && pread(fd, head, 24, 0) == 24 && payload_sniff(head, 24) == PAYLOAD_MSI,
	   "an MSI is sniffed as PAYLOAD_MSI (the OLE signature)");
	if (fd >= 0)
		close(fd);
	ok(!strcmp(payload_format_name(PAYLOAD_MSI), "msi"), "its format name is msi");
	ok(read_msi(emb, dir, &s, &err) == 0, "its payload is read");
	if (err.set)
		printf("# %s: %s\n", err.code, err.msg);
	ok(s.n == 2, "2 members (got %d)", s.n);
	int i = find(&s, "[ProgramFiles64Folder]Acme/bin/tool.exe");
	ok(i >= 0 && !strcmp(s.cabinets[i], "acme.cab!ToolExe") && !strcmp(s.data[i], "MZ tool bytes"),
	   "tool.exe under its install path, cabinet acme.cab!ToolExe, its bytes whole");
	i = find(&s, "[ProgramFiles64Folder]Acme/readme.txt");
	ok(i >= 0 && !strcmp(s.cabinets[i], "acme.cab!ReadmeFile") && !strcmp(s.data[i], "hello readme\n"),
	   "readme.txt under its install path");
	ok(!strcmp(s.package, "Acme Unit"), "the package is the ProductName");
	ok(s.n_gaps == 0, "nothing listed (%d)", s.n_gaps);

	/* 1b. a member over 4 MiB comes in a temporary file, whole */
	size_t big_len = (5u << 20) + 3;
	char *big = malloc(big_len);
	char *emb2 = fx_path(dir, "big.msi");
	if (big)
		memset(big, 'z', big_len);
	ok(big && pib_write_file(tool, big, big_len, 0644) == 0 &&
		   wixl(dir, "big", "<Media Id=\"1\" Cabinet=\"acme.cab\" EmbedCab=\"yes\"/>\n") == 0,
	   "wixl builds big.msi, tool.exe of 5 MiB");
	ok(read_msi(emb2, dir, &s, &err) == 0 && s.n == 2, "big.msi is read: 2 members");
	i = find(&s, "[ProgramFiles64Folder]Acme/bin/tool.exe");
	ok(i >= 0 && s.in_fd[i] && s.sizes[i] == big_len && s.fd_ok[i],
	   "the 5 MiB member comes in a temporary file, whole");
	i = find(&s, "[ProgramFiles64Folder]Acme/readme.txt");
	ok(i >= 0 && !s.in_fd[i], "the small one in memory");
	free(big);
	free(emb2);
	ok(pib_write_file(tool, "MZ tool bytes", 13, 0644) == 0, "tool.exe small again");

	/* 2. an external cabinet: listed, and each of its files */
	ok(wixl(dir, "ext", "<Media Id=\"1\" Cabinet=\"acme.cab\" EmbedCab=\"no\"/>\n") == 0, "wixl builds ext.msi");
	char *ext = fx_path(dir, "ext.msi");
	ok(read_msi(ext, dir, &s, &err) == 0 && s.n == 0, "ext.msi: read, no member");
	ok(find_gap(&s, "acme.cab", "msi.external_cabinet") != NULL, "the external cabinet is listed");
	const char *why = find_gap(&s, "[ProgramFiles64Folder]Acme/bin/tool.exe", "msi.not_in_cabinet");
	ok(why && strstr(why, "external cabinet acme.cab"), "its file is listed by install path, saying why");
	ok(find_gap(&s, "[ProgramFiles64Folder]Acme/readme.txt", "msi.not_in_cabinet") != NULL, "both files");

	/* 3. a cabinet member named "..\\olExe" (the key patched in the cabinet): listed, never a name */
	ok(patch(emb, "ToolExe\0", "..\\olEx\0", 8) == 0, "the cabinet's member name patched to \"..\\olEx\"");
	ok(read_msi(emb, dir, &s, &err) == 0, "the patched MSI is read");
	ok(find(&s, "[ProgramFiles64Folder]Acme/readme.txt") >= 0 && s.n == 1, "the other member is still scanned");
	ok(find_gap(&s, "acme.cab!../olEx", "msi.unsafe_name") != NULL, "the \"..\" member is listed as msi.unsafe_name");
	ok(find_gap(&s, "[ProgramFiles64Folder]Acme/bin/tool.exe", "msi.not_in_cabinet") != NULL,
	   "and the File row it does not hold as msi.not_in_cabinet");

	/* 4. a member no File row names */
	ok(patch(emb, "..\\olEx\0", "NoSuchK\0", 8) == 0, "the member renamed to a key no File row has");
	ok(read_msi(emb, dir, &s, &err) == 0 && find_gap(&s, "acme.cab!NoSuchK", "msi.not_in_tables") != NULL,
	   "listed as msi.not_in_tables");

	/* 5. an OLE file that is no MSI (a Word document): -ENOMSG, to be scanned as a file */
	const char *doc = "/usr/share/clamav-testfiles/clam.ole.doc";
	if (stat(doc, &st) == 0) {
		ok(read_msi(doc, dir, &s, &err) == -ENOMSG && !strcmp(err.code, "scan.package_unreadable"),
		   "a Word document: -ENOMSG (%s)", err.msg);
	} else {
		ok(1, "# SKIP %s is missing (clamav-testfiles)", doc);
	}
	/* the OLE signature and nonsense: unreadable, not "no MSI" */
	char ole[4096] = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
	char *olep = fx_path(dir, "random.ole");
	ok(pib_write_file(olep, ole, sizeof(ole), 0644) == 0, "an OLE signature and zeros");
	int r0 = read_msi(olep, dir, &s, &err);
	ok(r0 < 0 && r0 != -ENOMSG && !strcmp(err.code, "scan.package_unreadable"),
	   "the OLE signature and zeros: scan.package_unreadable, not -ENOMSG (%s)", err.msg);

	/* 6. a truncated MSI: an error, never a crash of the agent */
	char *d = NULL, *trunc = fx_path(dir, "trunc.msi");
	size_t len = 0;
	ok(pib_read_file(ext, 1 << 24, &d, &len) == 0 && pib_write_file(trunc, d, len / 3, 0644) == 0, "a truncated MSI");
	int r = read_msi(trunc, dir, &s, &err);
	ok(r < 0 && r != -ENOMSG && !strcmp(err.code, "scan.package_unreadable"), "truncated: scan.package_unreadable (%d: %s)", r,
	   err.msg);
	free(d);

	pib_err_clear(&err);
	free(srcdir);
	free(a);
	free(tool);
	free(emb);
	free(ext);
	free(olep);
	free(trunc);
	(void)pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
