/* SPDX-License-Identifier: MIT */
/* Unit tests of package name, version and architecture validation, and of reading a .deb's control file. */
#include "pkgmeta.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

static void add_entry(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, 1700000000, 0);
	(void)archive_write_header(a, e);
	(void)archive_write_data(a, data, len);
	archive_entry_free(e);
}

/* A .deb at path: debian-binary, control.tar.gz holding ./control = control (twice when dup), data.tar.gz. */
static void write_deb(const char *path, const char *control, bool dup)
{
	static char tar[1 << 16], data[1 << 14];
	size_t tar_len = 0, data_len = 0;
	struct archive *t = archive_write_new();

	archive_write_set_format_gnutar(t);
	archive_write_add_filter_gzip(t);
	archive_write_open_memory(t, tar, sizeof(tar), &tar_len);
	add_entry(t, "./control", control, strlen(control));
	if (dup)
		add_entry(t, "./control", control, strlen(control));
	archive_write_close(t);
	archive_write_free(t);

	t = archive_write_new();
	archive_write_set_format_gnutar(t);
	archive_write_add_filter_gzip(t);
	archive_write_open_memory(t, data, sizeof(data), &data_len);
	add_entry(t, "./usr/share/doc/x/README", "x\n", 2);
	archive_write_close(t);
	archive_write_free(t);

	struct archive *a = archive_write_new();
	archive_write_set_format_ar_svr4(a);
	archive_write_open_filename(a, path);
	add_entry(a, "debian-binary", "2.0\n", 4);
	add_entry(a, "control.tar.gz", tar, tar_len);
	add_entry(a, "data.tar.gz", data, data_len);
	archive_write_close(a);
	archive_write_free(a);
}

/* inst_deb_check_control on one .deb whose control is given; the error code, or "" when it passes. */
static const char *check_control(const char *dir, const char *control, bool dup, char *msg, size_t n)
{
	static char code[64];
	char path[4096];
	snprintf(path, sizeof(path), "%s/p.deb", dir);
	write_deb(path, control, dup);

	struct mf_package pkg = {.file = (char *)"debs/p.deb"};
	struct mf_target t = {.name = (char *)"debian", .packages = &pkg, .n_packages = 1};
	struct bundle_member m = {.name = (char *)"debs/p.deb", .path = path};
	struct bundle b = {.members = &m, .n_members = 1};
	struct pib_err e = {0};
	struct inst_ctx c = {.target = &t, .bundle = &b, .err = &e};
	int r = inst_deb_check_control(&c);

	snprintf(code, sizeof(code), "%s", r < 0 ? e.code : "");
	snprintf(msg, n, "%s", e.msg);
	pib_err_clear(&e);
	unlink(path);
	return code;
}

int main(void)
{
	static const char *const good_names[] = {"jq", "libjq1", "g++", "libstdc++6", "python3.11",
						 "0ad", "lib-x.y+z", NULL};
	static const char *const bad_names[] = {"", "a", "../../x", "a/b", "Jq", "libJQ1", "-jq", ".jq",
						"+jq", "jq_1", "jq 1", "jq\n", "jq\t", "j\x1bq", "j\xe2\x80\xaeq",
						"jq:amd64", "../../../../tmp/x/secret", NULL};
	for (size_t i = 0; good_names[i]; i++)
		ok(mf_deb_name_valid(good_names[i]), "deb name \"%s\" is valid", good_names[i]);
	for (size_t i = 0; bad_names[i]; i++)
		ok(!mf_deb_name_valid(bad_names[i]), "deb name #%zu is not valid", i);
	ok(!mf_deb_name_valid(NULL), "deb name NULL is not valid");

	char longname[512];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ok(!mf_deb_name_valid(longname), "a 511-byte deb name is not valid");
	longname[MF_PKGNAME_MAX] = '\0';
	ok(mf_deb_name_valid(longname), "a %d-byte deb name is valid", MF_PKGNAME_MAX);

	static const char *const good_versions[] = {"1.6-2.1+deb12u3", "2.10-3", "1:2.3.4-1", "3.03+dfsg2-8",
						    "1.0~rc1", "0", "1.0-1-2", "1:2:3-4", "2.2.5-3+b1",
						    "20230101", NULL};
	static const char *const bad_versions[] = {"", "1.0/../../x", "a1.0", "1.0-", ":1.0", "a:1.0",
						   "1.0 1", "1.0\n", "1.0-1/2", "1.0_1", "1:", "-1",
						   "1.0-a_b", "1:2.0\x7f", "1.0\xc2\x85", "1234567890:1.0",
						   "1.0:2", "~1", NULL};
	for (size_t i = 0; good_versions[i]; i++)
		ok(mf_deb_version_valid(good_versions[i]), "deb version \"%s\" is valid", good_versions[i]);
	for (size_t i = 0; bad_versions[i]; i++)
		ok(!mf_deb_version_valid(bad_versions[i]), "deb version #%zu is not valid", i);
	char longver[512];
	memset(longver, '1', sizeof(longver) - 1);
	longver[sizeof(longver) - 1] = '\0';
	ok(!mf_deb_version_valid(longver), "a 511-byte deb version is not valid");

	static const char *const good_arches[] = {"amd64", "all", "arm64", "musl-linux-arm64", "i386", NULL};
	static const char *const bad_arches[] = {"", "AMD64", "amd64/../x", "../x", "-amd64", "amd 64",
						 "x86_64", "amd64\n", NULL};
	for (size_t i = 0; good_arches[i]; i++)
		ok(mf_deb_arch_valid(good_arches[i]), "deb arch \"%s\" is valid", good_arches[i]);
	for (size_t i = 0; bad_arches[i]; i++)
		ok(!mf_deb_arch_valid(bad_arches[i]), "deb arch #%zu is not valid", i);
	ok(!mf_deb_arch_valid(longname), "a 200-byte deb arch is not valid");

	/* rpm */
	static const char *const good_rpm_names[] = {"hello", "perl-Data-Dumper", "gcc-c++", "_x", "R", NULL};
	static const char *const bad_rpm_names[] = {"", "../../x", "a/b", "-x", "a b", "a\n", "a..b",
						    ".x", "x\x1b", NULL};
	for (size_t i = 0; good_rpm_names[i]; i++)
		ok(mf_rpm_name_valid(good_rpm_names[i]), "rpm name \"%s\" is valid", good_rpm_names[i]);
	for (size_t i = 0; bad_rpm_names[i]; i++)
		ok(!mf_rpm_name_valid(bad_rpm_names[i]), "rpm name #%zu is not valid", i);
	ok(!mf_rpm_name_valid("a" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	   "a 207-byte rpm name is not valid");
	ok(mf_rpm_version_valid("2.0") && mf_rpm_version_valid("1.2.3~rc1^git1"), "rpm versions");
	ok(!mf_rpm_version_valid("1.0-1") && !mf_rpm_version_valid("1/0") &&
	       !mf_rpm_version_valid("") && !mf_rpm_version_valid("1 0") &&
	       !mf_rpm_version_valid("-1") && !mf_rpm_version_valid("../1"),
	   "rpm versions with '-', '/', spaces or a leading '-' or '.' are not valid");
	ok(mf_rpm_release_valid("1.el9") && !mf_rpm_release_valid("1-2") &&
	       !mf_rpm_release_valid("1/2"),
	   "rpm releases");
	ok(mf_rpm_arch_valid("x86_64") && mf_rpm_arch_valid("noarch") &&
	       !mf_rpm_arch_valid("x86-64") && !mf_rpm_arch_valid("../x") && !mf_rpm_arch_valid(""),
	   "rpm arches");
	ok(mf_rpm_evr_valid("2.0-1") && mf_rpm_evr_valid("1:2.0-1.el9") && mf_rpm_evr_valid("2.0"),
	   "rpm evr");
	ok(!mf_rpm_evr_valid("2.0-1/../x") && !mf_rpm_evr_valid("a:2.0-1") &&
	       !mf_rpm_evr_valid("2.0-") && !mf_rpm_evr_valid(":2.0-1") && !mf_rpm_evr_valid(""),
	   "bad rpm evr");

	/* the messages: the member, the field, the value escaped */
	struct pib_err e = {0};
	ok(inst_pkgmeta_check(&e, true, "debs/x.deb", "../../x\x1b[31m", "1.0", "all") < 0 &&
	       !strcmp(e.code, "package.invalid") &&
	       strstr(e.msg, "debs/x.deb: field Package: \"../../x\\x1b[31m\" is not a valid Debian package name"),
	   "message names the member and the field, the value escaped: %s", e.msg);
	pib_err_clear(&e);
	ok(inst_pkgmeta_check(&e, true, "debs/x.deb", "x1", "1.0/../../x", "all") < 0 &&
	       strstr(e.msg, "field Version: \"1.0/../../x\""),
	   "bad version: %s", e.msg);
	pib_err_clear(&e);
	ok(inst_pkgmeta_check(&e, false, "rpms/x.rpm", "x", "1.0-1", "x86/64") < 0 &&
	       strstr(e.msg, "field Arch: \"x86/64\""),
	   "bad rpm arch: %s", e.msg);
	pib_err_clear(&e);
	/* bidi and invisible formatting characters: \u{XXXX}; invalid UTF-8 (overlong, surrogate): \xNN */
	ok(inst_pkgmeta_check(&e, true, "debs/x.deb", "a\xe2\x80\xae" "b\xe2\x81\xa6" "c\xef\xbb\xbf" "d\xf3\xa0\x80\x81", "1", "all") < 0 &&
	       strstr(e.msg, "\"a\\u{202E}b\\u{2066}c\\u{FEFF}d\\u{E0001}\""),
	   "formatting characters in a value are escaped as \\u{XXXX}: %s", e.msg);
	pib_err_clear(&e);
	ok(inst_pkgmeta_check(&e, true, "debs/x.deb", "a\xc0\xaf" "b\xed\xa0\x80" "c\xc3\xa9", "1", "all") < 0 &&
	       strstr(e.msg, "\"a\\xc0\\xafb\\xed\\xa0\\x80c\xc3\xa9\""),
	   "overlong forms and surrogates are escaped byte by byte, other UTF-8 kept: %s", e.msg);
	pib_err_clear(&e);
	char *clean = pib_text_clean("x\xe2\x80\x8by\xc2\x85z\n", true);
	ok(clean && !strcmp(clean, "x\\u{200B}y\\xc2\\x85z\n"), "pib_text_clean: U+200B, C1, a kept newline: %s", clean ? clean : "NULL");
	free(clean);
	ok(inst_pkgmeta_check(&e, true, "debs/x.deb", longver, "1.0", "all") < 0 &&
	       strstr(e.msg, "(cut short)") && strlen(e.msg) < 300,
	   "a long value is cut short in the message");
	pib_err_clear(&e);

	/* control files read from real .deb archives */
	char *dir = NULL, msg[2048];
	if (pib_mkdtemp("pib-test-pkgmeta", &dir) < 0)
		return 1;
	const char *code;
	code = check_control(dir, "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nMaintainer: x\nDescription: y\n more\n", false, msg, sizeof(msg));
	ok(!strcmp(code, ""), "a good control passes (%s)", msg);
	code = check_control(dir, "package: hello\nVERSION:2.10-3\narchitecture:  all  \n", false, msg, sizeof(msg));
	ok(!strcmp(code, ""), "field names in any case, spaces around values (%s)", msg);
	code = check_control(dir, "Package: ../../../../tmp/x/secret\nVersion: 1.0\nArchitecture: all\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") &&
	       strstr(msg, "debs/p.deb: field Package: \"../../../../tmp/x/secret\" is not a valid Debian package name"),
	   "Package: ../../../../tmp/x/secret is package.invalid: %s", msg);
	code = check_control(dir, "Package: x1\nVersion: 1.0/../../x\nArchitecture: all\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "field Version"), "bad Version: %s", msg);
	code = check_control(dir, "Package: x1\nVersion: 1.0\nArchitecture: ../../x\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "field Architecture"), "bad Architecture: %s", msg);
	code = check_control(dir, "Package: x1\nArchitecture: all\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "field Version: missing"), "missing Version: %s", msg);
	code = check_control(dir, "Package: x1\nPackage: x2\nVersion: 1\nArchitecture: all\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "given twice"), "Package twice: %s", msg);
	code = check_control(dir, "Package: x1\n /../../x\nVersion: 1\nArchitecture: all\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "field Package"), "Package continued on a second line: %s", msg);
	code = check_control(dir, "Package: x1\nVersion: 1\nArchitecture: all\n", true, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "twice"), "./control twice: %s", msg);
	code = check_control(dir, "Package: x1\nVersion: 1\nArchitecture: all\n\nPackage: ../x\n", false, msg, sizeof(msg));
	ok(!strcmp(code, "package.invalid") && strstr(msg, "more than one paragraph"), "two paragraphs: %s", msg);
	code = check_control(dir, "Package: x1\r\nVersion: 1\r\nArchitecture: all\r\n", false, msg, sizeof(msg));
	ok(!strcmp(code, ""), "CRLF line ends (%s)", msg);

	/* inst_deb_read_control, the one reader (verify and resolve's Replaces) */
	char path[4096];
	snprintf(path, sizeof(path), "%s/p.deb", dir);
	write_deb(path, "Package: x1\nVersion: 1\nArchitecture: all\nReplaces: passwd\n", false);
	char *ctl = NULL;
	size_t ctl_len = 0;
	ok(inst_deb_read_control(path, "debs/p.deb", &ctl, &ctl_len, &e) == 0 && ctl &&
	       ctl_len == strlen(ctl) && strstr(ctl, "Replaces: passwd\n"),
	   "inst_deb_read_control returns the control file: %s", e.msg);
	free(ctl);
	pib_err_clear(&e);

	/* not a .deb at all */
	FILE *f = fopen(path, "w");
	fputs("this is not an ar archive\n", f);
	fclose(f);
	struct mf_package pkg = {.file = (char *)"debs/p.deb"};
	struct mf_target t = {.name = (char *)"debian", .packages = &pkg, .n_packages = 1};
	struct bundle_member m = {.name = (char *)"debs/p.deb", .path = path};
	struct bundle b = {.members = &m, .n_members = 1};
	struct inst_ctx c = {.target = &t, .bundle = &b, .err = &e};
	ok(inst_deb_check_control(&c) < 0 && !strcmp(e.code, "package.invalid"),
	   "a file that is not a .deb is package.invalid: %s", e.msg);
	pib_err_clear(&e);
	ctl = NULL;
	ok(inst_deb_read_control(path, "debs/p.deb", &ctl, &ctl_len, &e) < 0 && !ctl &&
	       !strcmp(e.code, "package.invalid") && strstr(e.msg, "debs/p.deb: not a .deb"),
	   "inst_deb_read_control: a file that is not a .deb is package.invalid naming the member: %s",
	   e.msg);
	pib_err_clear(&e);
	unlink(path);
	rmdir(dir);
	free(dir);
	return tap_done();
}
