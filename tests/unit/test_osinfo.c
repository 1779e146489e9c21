/* SPDX-License-Identifier: MIT */
/* Unit tests of OS detection: os-release parsing inside a root, versions and ranges, target choice. */
#include "installer.h"
#include "osinfo.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	ok(os_version_cmp("22.04", "22.10") < 0, "22.04 < 22.10");
	ok(os_version_cmp("8", "8.9") < 0, "8 < 8.9");
	ok(os_version_cmp("10", "9") > 0, "10 > 9");
	ok(os_version_cmp("12", "12") == 0, "12 == 12");
	ok(os_version_matches("12", "12"), "exact match");
	ok(!os_version_matches("11", "12"), "exact mismatch");
	ok(os_version_matches("24.04", ">=22.04,<25"), "24.04 in >=22.04,<25");
	ok(!os_version_matches("25.04", ">=22.04,<25"), "25.04 not in >=22.04,<25");
	ok(os_version_matches("9.3", ">=8"), "9.3 >= 8");

	/* a root whose os-release is a relative symlink, and /bin/sh an absolute one */
	char *root = NULL;
	if (pib_mkdtemp("pib-test-os", &root) < 0)
		return 1;
	char p[4096];
	snprintf(p, sizeof(p), "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/usr", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/usr/lib", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/usr/lib/os-release", root);
	write_file(p, "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\n");
	snprintf(p, sizeof(p), "%s/etc/os-release", root);
	(void)!symlink("../usr/lib/os-release", p);
	/* a link that tries to leave the root must stay inside it */
	snprintf(p, sizeof(p), "%s/etc/escape", root);
	(void)!symlink("../../../../../../etc/passwd", p);
	char *host = NULL;
	ok(pib_path_in_root(root, "/etc/escape", true, &host) == 0 && pib_str_has_prefix(host, root),
	   "\"..\" in a link stays inside the root (%s)", host ? host : "");
	free(host);

	struct osinfo os;
	struct pib_err e = {0};
	ok(os_detect(root, NULL, &os, &e) == 0, "os-release read through a relative symlink");
	ok(os.id && !strcmp(os.id, "ubuntu") && !strcmp(os.version_id, "24.04"), "ID and VERSION_ID");
	ok(os.family && !strcmp(os.family, "debian"), "family from ID_LIKE");

	/* target choice: rhel first, then debian/ubuntu */
	struct pib_err me = {0};
	const char *mj =
		"{\"schema\":\"pib-agent/bundle/v1\",\"product\":{\"name\":\"p\",\"version\":\"1\",\"seller\":\"s\"},"
		"\"targets\":[{\"name\":\"r\",\"os\":[{\"id\":\"rhel\",\"versions\":[\">=8\"]}],\"arch\":[\"x86_64\"],\"installer\":\"rpm\","
		"\"packages\":[{\"file\":\"a.rpm\",\"sha256\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]},"
		"{\"name\":\"d\",\"os\":[{\"id\":\"debian\",\"versions\":[\"12\"]},{\"id\":\"ubuntu\",\"versions\":[\">=22.04,<25\"]}],\"arch\":[\"x86_64\",\"aarch64\"],\"installer\":\"deb\","
		"\"packages\":[{\"file\":\"a.deb\",\"sha256\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]}]}";
	struct mf_manifest *m = NULL;
	ok(mf_manifest_parse("manifest.json", mj, strlen(mj), &m, &me) == 0, "manifest parses");
	size_t ti = 99;
	free(os.arch);
	os.arch = strdup("x86_64");
	ok(m && inst_choose_target(m, &os, &ti, &e) == 0 && ti == 1, "ubuntu 24.04 picks the second target");
	struct osinfo like = {.id = (char *)"raspbian", .id_like = (char *[]){(char *)"debian", NULL},
			      .version_id = (char *)"12", .arch = (char *)"aarch64"};
	ok(m && inst_choose_target(m, &like, &ti, &e) == 0 && ti == 1, "raspbian 12 (ID_LIKE=debian) aarch64 picks it too");
	struct osinfo rh = {.id = (char *)"rhel", .version_id = (char *)"7.9", .arch = (char *)"x86_64"};
	struct pib_err e2 = {0};
	ok(m && inst_choose_target(m, &rh, &ti, &e2) < 0 && !strcmp(e2.code, "target.none"), "rhel 7.9 has no target");
	ok(strstr(e2.msg, "no target for rhel 7.9 x86_64; the bundle has: rhel >=8 x86_64, debian 12 x86_64, debian 12 aarch64, ubuntu >=22.04,<25 x86_64, ubuntu >=22.04,<25 aarch64") != NULL,
	   "the message lists what the bundle offers: %s", e2.msg);
	mf_manifest_free(m);
	os_free(&os);
	(void)pib_rm_rf(root);
	free(root);
	return tap_done();
}
