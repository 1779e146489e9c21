/* SPDX-License-Identifier: MIT */
/* Unit tests of the bundle reader: one read of the file (digest and members from the same bytes), links counted as copies, a package listed twice refused. */
#include "bundle.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

struct member {
	const char *name;
	const void *data; /* a regular file of len bytes, unless one of the links */
	size_t len;
	const char *symlink, *hardlink;
};

#define REG(n, d, l) {.name = (n), .data = (d), .len = (l)}

static char dir[] = "/tmp/pib-test-bundle.XXXXXX";
static bool zip; /* write_bundle writes a zip instead of a tar.gz */

/* Writes a tar.gz (or a zip) at path with the members (and trailing bytes after the archive, if any). */
static int write_bundle(const char *path, const struct member *ms, size_t n, const void *tail,
			size_t tail_len)
{
	struct archive *a = archive_write_new();
	if (zip) {
		archive_write_set_format_zip(a);
	} else {
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
	}
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ms[i].name);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (ms[i].symlink) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, ms[i].symlink);
		} else if (ms[i].hardlink) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, ms[i].hardlink);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)ms[i].len);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK)
			return -1;
		if (ms[i].data && archive_write_data(a, ms[i].data, ms[i].len) != (la_ssize_t)ms[i].len)
			return -1;
		archive_entry_free(e);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		return -1;
	archive_write_free(a);
	if (tail_len) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0 || pib_write_all(fd, tail, tail_len) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* A manifest: one debian target per group of packages (files separated by ',', groups by ';'). */
static char *manifest(const char *product, const char *groups, const char *sha)
{
	struct pib_buf m = {0};
	char *copy = strdup(groups), *save = NULL;
	int t = 0;

	(void)pib_buf_printf(&m, "{\"schema\":\"pib-agent/bundle/v1\",\"product\":{\"name\":\"%s\","
				 "\"version\":\"1\",\"seller\":\"S\"},\"targets\":[", product);
	for (char *g = strtok_r(copy, ";", &save); g; g = strtok_r(NULL, ";", &save), t++) {
		(void)pib_buf_printf(&m, "%s{\"name\":\"t%d\",\"os\":[{\"id\":\"debian\",\"versions\":[\"12\"]}],"
					 "\"arch\":[\"x86_64\"],\"installer\":\"deb\",\"packages\":[",
				     t ? "," : "", t);
		char *save2 = NULL;
		int k = 0;
		for (char *f = strtok_r(g, ",", &save2); f; f = strtok_r(NULL, ",", &save2), k++)
			(void)pib_buf_printf(&m, "%s{\"file\":\"%s\",\"sha256\":\"%s\"}", k ? "," : "", f, sha);
		(void)pib_buf_printf(&m, "]}");
	}
	(void)pib_buf_printf(&m, "]}");
	free(copy);
	return m.data;
}

static char *path_of(const char *name)
{
	return pib_asprintf("%s/%s", dir, name);
}

/* bundle_open with the limits; returns the error code ("" when it opened). */
static const char *try_open(const char *path, const struct bundle_limits *lim, struct bundle **ret,
			    struct bundle_digest *d)
{
	static struct pib_err e;
	struct bundle *b = NULL;

	pib_err_clear(&e);
	if (bundle_open(path, lim, &b, d, &e) == 0) {
		if (ret)
			*ret = b;
		else
			bundle_free(b);
		return "";
	}
	printf("# %s: %s\n", e.code, e.msg);
	return e.code;
}

static void test_digest(const char *pkg, size_t pkg_len, const char *pkg_sha)
{
	char *m = manifest("first", "debs/a.deb", pkg_sha), *p = path_of("digest.tar.gz");
	struct member ms[] = {REG("manifest.json", m, strlen(m)), REG("debs/a.deb", pkg, pkg_len)};
	static const char tail[] = "bytes after the end of the archive, read and hashed too";
	struct bundle *b = NULL;
	struct bundle_digest d;
	char want[65];
	uint64_t size = 0;

	ok(write_bundle(p, ms, 2, tail, sizeof(tail)) == 0, "digest: bundle written (with trailing bytes)");
	ok(pib_sha256_file(p, want, &size) == 0, "digest: sha256 of the file");
	ok(!strcmp(try_open(p, NULL, &b, &d), "") && b, "digest: opened");
	if (b) {
		ok(!strcmp(b->sha256, want), "digest: b->sha256 is the file's (%s)", b->sha256);
		ok(b->size == size, "digest: b->size is the file's (%llu)", (unsigned long long)b->size);
		ok(!strcmp(d.sha256, want) && d.size == size, "digest: the out parameter too");
		bundle_free(b);
	}

	/* a refused bundle (a member not listed) still gives the file's digest */
	char *p2 = path_of("unlisted.tar.gz");
	struct member ms2[] = {REG("manifest.json", m, strlen(m)), REG("debs/a.deb", pkg, pkg_len), REG("extra", "x", 1)};
	ok(write_bundle(p2, ms2, 3, NULL, 0) == 0 && pib_sha256_file(p2, want, &size) == 0,
	   "refused: bundle written");
	ok(!strcmp(try_open(p2, NULL, NULL, &d), "bundle.unlisted_member"), "refused: bundle.unlisted_member");
	ok(!strcmp(d.sha256, want) && d.size == size, "refused: its digest is still given (%s)", d.sha256);

	/* not an archive at all: refused, still named */
	char *p3 = path_of("garbage.tar.gz");
	int fd = open(p3, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok(fd >= 0 && pib_write_all(fd, tail, sizeof(tail)) == 0 && close(fd) == 0 &&
		   pib_sha256_file(p3, want, &size) == 0,
	   "garbage: file written");
	ok(!strcmp(try_open(p3, NULL, NULL, &d), "bundle.unreadable"), "garbage: bundle.unreadable");
	ok(!strcmp(d.sha256, want), "garbage: its digest is still given");

	/* a FIFO is refused at once, not waited on */
	char *p4 = path_of("fifo");
	ok(mkfifo(p4, 0600) == 0, "fifo: made");
	ok(!strcmp(try_open(p4, NULL, NULL, &d), "bundle.unreadable") && !d.sha256[0],
	   "fifo: refused (not a regular file), no digest");
	free(m);
	free(p);
	free(p2);
	free(p3);
	free(p4);
}

/* The file is renamed over after open: digest and contents are both the first bundle's. */
static void test_swap(const char *pkg, size_t pkg_len, const char *pkg_sha)
{
	char *m1 = manifest("first", "debs/a.deb", pkg_sha), *m2 = manifest("second", "debs/a.deb", pkg_sha);
	char *p1 = path_of("swap.tar.gz"), *p2 = path_of("other.tar.gz");
	struct member ms1[] = {REG("manifest.json", m1, strlen(m1)), REG("debs/a.deb", pkg, pkg_len)};
	struct member ms2[] = {REG("manifest.json", m2, strlen(m2)), REG("debs/a.deb", pkg, pkg_len)};
	char want[65], other[65];
	struct pib_err e = {0};
	struct bundle *b = NULL;
	struct bundle_digest d;

	ok(write_bundle(p1, ms1, 2, NULL, 0) == 0 && write_bundle(p2, ms2, 2, NULL, 0) == 0 &&
		   pib_sha256_file(p1, want, NULL) == 0 && pib_sha256_file(p2, other, NULL) == 0 &&
		   strcmp(want, other),
	   "swap: two bundles written");
	int fd = open(p1, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && rename(p2, p1) == 0, "swap: the second renamed over the first after open");
	ok(bundle_open_fd(fd, p1, NULL, &b, &d, &e) == 0 && b, "swap: opened (%s)", e.msg);
	if (b) {
		ok(!strcmp(b->sha256, want), "swap: the digest is the first bundle's");
		ok(!strcmp(b->manifest->product_name, "first"), "swap: the product is the first bundle's (%s)",
		   b->manifest->product_name);
		bundle_free(b);
	}
	close(fd);
	pib_err_clear(&e);
	free(m1);
	free(m2);
	free(p1);
	free(p2);
}

/* Links: counted as copies against the size and ratio limits; a target listing the same bytes twice is refused. */
static void test_aliases(const char *pkg, size_t pkg_len, const char *pkg_sha)
{
	enum { N = 20 };
	struct member ms[N + 2];
	char names[N][32], *p = path_of("aliases.tar.gz");
	struct pib_buf groups = {0};
	struct bundle_limits lim = BUNDLE_LIMITS_DEFAULT;

	/* each alias in a target of its own: only the limits can stop them */
	(void)pib_buf_printf(&groups, "debs/a.deb");
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "debs/alias%02d.deb", i);
		ms[i + 2] = (struct member){.name = names[i], .symlink = "a.deb"};
		(void)pib_buf_printf(&groups, ";%s", names[i]);
	}
	char *m = manifest("aliases", groups.data, pkg_sha);
	ms[0] = (struct member)REG("manifest.json", m, strlen(m));
	ms[1] = (struct member)REG("debs/a.deb", pkg, pkg_len);
	ok(write_bundle(p, ms, N + 2, NULL, 0) == 0, "aliases: %d symlinks to one package", N);
	struct bundle *b = NULL;
	ok(!strcmp(try_open(p, NULL, &b, NULL), "") && b, "aliases: opened with the default limits");
	if (b) {
		const struct bundle_member *a = bundle_find(b, "debs/alias07.deb"), *t = bundle_find(b, "debs/a.deb");
		ok(a && t && a->alias_of && !strcmp(a->alias_of, "debs/a.deb") && !t->alias_of &&
			   !strcmp(a->path, t->path) && a->size == pkg_len,
		   "aliases: a link is an alias of the member it names");
		bundle_free(b);
	}
	/* the package alone fits in the size limit; with its copies it does not */
	lim.max_total_bytes = strlen(m) + pkg_len * (N / 2);
	ok(!strcmp(try_open(p, &lim, NULL, NULL), "bundle.too_large"), "aliases: counted against the size limit");
	lim = BUNDLE_LIMITS_DEFAULT;
	lim.ratio_grace = 0;
	lim.max_ratio = 5; /* the package alone is about 1:1 */
	ok(!strcmp(try_open(p, &lim, NULL, NULL), "bundle.too_large"), "aliases: counted against the ratio limit");
	lim.max_ratio = 100;
	ok(!strcmp(try_open(p, &lim, NULL, NULL), ""), "aliases: within a ratio of 100 they pass");
	free(m);
	pib_buf_free(&groups);

	/* aliases in one target: the same package listed twice */
	static const struct {
		const char *label, *groups;
		struct member extra;
	} dup[] = {
		{"symlink", "debs/a.deb,debs/b.deb", {.name = "debs/b.deb", .symlink = "a.deb"}},
		{"hardlink", "debs/a.deb,debs/b.deb", {.name = "debs/b.deb", .hardlink = "debs/a.deb"}},
		{"link to a link", "debs/a.deb,x/c.deb;debs/b.deb", {.name = "x/c.deb", .symlink = "../debs/b.deb"}},
		{"copy", "debs/a.deb,debs/b.deb", {.name = "debs/b.deb"}},
	};
	for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
		char *md = manifest("dup", dup[i].groups, pkg_sha);
		struct member ds[4] = {REG("manifest.json", md, strlen(md)), REG("debs/a.deb", pkg, pkg_len), dup[i].extra};
		size_t n = 3;
		if (!strcmp(dup[i].label, "copy"))
			ds[2].data = pkg, ds[2].len = pkg_len;
		if (!strcmp(dup[i].label, "link to a link"))
			ds[n++] = (struct member){.name = "debs/b.deb", .symlink = "a.deb"};
		ok(write_bundle(p, ds, n, NULL, 0) == 0, "duplicate (%s): written", dup[i].label);
		ok(!strcmp(try_open(p, NULL, NULL, NULL), "bundle.duplicate_package"),
		   "duplicate (%s): bundle.duplicate_package", dup[i].label);
		free(md);
	}
	free(p);
}

/* A zip is copied privately as it is hashed (its index is at its end): the same properties, and its links are seen as links. */
static void test_zip(const char *pkg, size_t pkg_len, const char *pkg_sha)
{
	char *m1 = manifest("first", "debs/a.deb", pkg_sha), *m2 = manifest("second", "debs/a.deb", pkg_sha);
	char *md = manifest("dup", "debs/a.deb,debs/b.deb", pkg_sha), *mu = manifest("up", "debs/a.deb;debs/u.deb", pkg_sha);
	char *p1 = path_of("swap.zip"), *p2 = path_of("other.zip"), *p3 = path_of("dup.zip"), *p4 = path_of("up.zip");
	struct member ms1[] = {REG("manifest.json", m1, strlen(m1)), REG("debs/a.deb", pkg, pkg_len)};
	struct member ms2[] = {REG("manifest.json", m2, strlen(m2)), REG("debs/a.deb", pkg, pkg_len)};
	struct member ms3[] = {REG("manifest.json", md, strlen(md)), REG("debs/a.deb", pkg, pkg_len),
			       {.name = "debs/b.deb", .symlink = "a.deb"}};
	struct member ms4[] = {REG("manifest.json", mu, strlen(mu)), REG("debs/a.deb", pkg, pkg_len),
			       {.name = "debs/u.deb", .symlink = "../../etc/passwd"}};
	char want[65], other[65];
	uint64_t size = 0;
	struct pib_err e = {0};
	struct bundle *b = NULL;
	struct bundle_digest d;

	zip = true;
	ok(write_bundle(p1, ms1, 2, NULL, 0) == 0 && write_bundle(p2, ms2, 2, NULL, 0) == 0 &&
		   write_bundle(p3, ms3, 3, NULL, 0) == 0 && write_bundle(p4, ms4, 3, NULL, 0) == 0 &&
		   pib_sha256_file(p1, want, &size) == 0 && pib_sha256_file(p2, other, NULL) == 0,
	   "zip: bundles written");
	zip = false;
	int fd = open(p1, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && rename(p2, p1) == 0, "zip: the second renamed over the first after open");
	ok(bundle_open_fd(fd, p1, NULL, &b, &d, &e) == 0 && b, "zip: opened (%s)", e.msg);
	if (b) {
		ok(!strcmp(b->sha256, want) && b->size == size, "zip: the digest is the first bundle's");
		ok(!strcmp(b->manifest->product_name, "first"), "zip: the product is the first bundle's");
		const struct bundle_member *a = bundle_find(b, "debs/a.deb");
		ok(a && !strcmp(a->sha256, pkg_sha), "zip: the package's bytes are read");
		bundle_free(b);
	}
	close(fd);
	pib_err_clear(&e);
	ok(!strcmp(try_open(p3, NULL, NULL, NULL), "bundle.duplicate_package"),
	   "zip: a symlink to another package of the target is bundle.duplicate_package");
	ok(!strcmp(try_open(p4, NULL, NULL, &d), "bundle.unsafe_path"), "zip: a symlink leaving the bundle is bundle.unsafe_path");
	ok(pib_sha256_file(p4, want, NULL) == 0 && !strcmp(d.sha256, want), "zip: refused, still named by its digest");
	free(m1);
	free(m2);
	free(md);
	free(mu);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	/* a "package": bytes that do not compress, so the bundle's ratio is about 1 */
	size_t len = 64 << 10;
	unsigned char *pkg = malloc(len);
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		pkg[i] = (unsigned char)(x >> 24);
	}
	char sha[65];
	pib_sha256_hex(pkg, len, sha);

	test_digest((const char *)pkg, len, sha);
	test_swap((const char *)pkg, len, sha);
	test_aliases((const char *)pkg, len, sha);
	test_zip((const char *)pkg, len, sha);

	free(pkg);
	(void)pib_rm_rf(dir);
	return tap_done();
}
