/* SPDX-License-Identifier: MIT */
/* Unit tests of the SBOM: purls as the purl specification encodes them, DEP-5 licences, files inside a root. */
#include "sbom.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *root, const char *path, const char *text)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s%s", root, path);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void mkdirs(const char *root, const char *path)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s%s", root, path);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static bool purl_is(bool rpm, const char *id, const char *ver, const char *name, const char *v, const char *arch,
		    const char *want)
{
	char *p = sbom_purl(rpm, id, ver, name, v, arch);
	bool same = p && !strcmp(p, want);
	if (!same)
		printf("# got %s\n# want %s\n", p ? p : "(null)", want);
	free(p);
	return same;
}

/* The component named name in the document's components, or NULL. */
static const cJSON *comp(const cJSON *bom, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(bom, "components"))
		if (!strcmp(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, name))
			return c;
	return NULL;
}

static char *licences(const cJSON *c)
{
	static char out[512];
	const cJSON *l;
	out[0] = 0;
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c, "licenses")) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(l, "license");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");
		const char *k = v ? "id" : "name";
		if (!v)
			v = cJSON_GetObjectItemCaseSensitive(o, "name");
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s=%s", out[0] ? "," : "", k, v->valuestring);
	}
	return out;
}

int main(void)
{
	/* purls: the brief's examples, then the encoding rules */
	ok(purl_is(false, "debian", "12", "jq", "1.6-2.1+deb12u3", "amd64",
		   "pkg:deb/debian/jq@1.6-2.1%2Bdeb12u3?arch=amd64&distro=debian-12"),
	   "deb: + is %%2B, qualifiers arch then distro");
	ok(purl_is(true, "rhel", NULL, "hello", "2.0-1", "x86_64", "pkg:rpm/rhel/hello@2.0-1?arch=x86_64"),
	   "rpm: no distro when the version is not known");
	ok(purl_is(true, "rhel", "9.4", "hello", "2.0-1", "x86_64", "pkg:rpm/rhel/hello@2.0-1?arch=x86_64&distro=rhel-9.4"),
	   "rpm: distro ID-VERSION_ID");
	ok(purl_is(true, "rocky", "9", "bind", "32:9.16.23-18.el9", "x86_64",
		   "pkg:rpm/rocky/bind@9.16.23-18.el9?arch=x86_64&distro=rocky-9&epoch=32"),
	   "rpm: the epoch is a qualifier, sorted after distro");
	ok(purl_is(true, "rhel", "9", "x", "0:1.0-1", "noarch", "pkg:rpm/rhel/x@1.0-1?arch=noarch&distro=rhel-9"),
	   "rpm: epoch 0 is left out");
	ok(purl_is(false, "debian", "12", "attr", "1:2.5.1-4", "amd64", "pkg:deb/debian/attr@1:2.5.1-4?arch=amd64&distro=debian-12"),
	   "deb: the epoch stays in the version, : not encoded");
	ok(purl_is(false, "debian", "12", "libfoo", "2.0~rc1-1", "all", "pkg:deb/debian/libfoo@2.0~rc1-1?arch=all&distro=debian-12"),
	   "deb: ~ is not encoded");
	ok(purl_is(true, "opensuse-leap", "15.5", "Foo_Bar", "1.0 x/y?#@&=%", "x86_64",
		   "pkg:rpm/opensuse-leap/Foo_Bar@1.0%20x%2Fy%3F%23%40%26%3D%25?arch=x86_64&distro=opensuse-leap-15.5"),
	   "rpm: the name keeps its case; separators inside the version are encoded");
	ok(purl_is(false, "Debian", "12", "JQ", "1", "amd64", "pkg:deb/debian/jq@1?arch=amd64&distro=debian-12"),
	   "deb: namespace and name lowercased");

	/* a root with DEP-5 and prose copyright files, files, a link, a hostile name */
	char *root = NULL;
	if (pib_mkdtemp("pib-test-sbom", &root) < 0)
		return 1;
	mkdirs(root, "/usr/share/doc/dep5");
	mkdirs(root, "/usr/share/doc/prose");
	mkdirs(root, "/usr/bin");
	write_file(root, "/usr/share/doc/dep5/copyright",
		   "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
		   "Files: *\nCopyright: someone\nLicense: GPL-2+ or Artistic\n\n"
		   "Files: b/*\nLicense: Expat\n\nFiles: c/*\nLicense: BSD-3-clause, GPL-2+ with OpenSSL exception\n\n"
		   "License: Expat\n Permission is hereby granted...\n");
	write_file(root, "/usr/share/doc/prose/copyright", "This package is under the GPL.\nLicense: MIT\n");
	write_file(root, "/usr/bin/tool", "hello\n");
	char link[4096];
	snprintf(link, sizeof(link), "%s/usr/bin/link", root);
	if (symlink("/etc/shadow", link) < 0)
		return 1;
	static char f1[] = "/usr/bin", f2[] = "/usr/bin/tool", f3[] = "/usr/bin/link", f4[] = "/usr/bin/gone";
	static char id[] = "debian", ver[] = "12", arch[] = "x86_64";
	char *const files[] = {f1, f2, f3, f4, NULL};
	struct osinfo os = {.id = id, .version_id = ver, .arch = arch, .family = "debian"};
	struct sbom_pkg txn[] = {
		{.name = "dep5", .version = "1.0-1", .arch = "amd64", .source = "bundle", .files = files,
		 .sha256 = "0000000000000000000000000000000000000000000000000000000000000000"},
		{.name = "prose", .version = "1.0-1", .arch = "all", .source = "image", .repo = "local"},
	};
	struct sbom_pkg img[] = {{.name = "evil\x1b[2J", .version = "1", .arch = "amd64"}};
	struct sbom_in in = {.root = root, .os = &os, .subject_type = "application", .subject_name = "p",
			     .subject_version = "1", .txn = txn, .n_txn = 2, .image = img, .n_image = 1};
	struct sbom_counts n = {0};
	struct pib_err e = {0};
	cJSON *bom = NULL;
	ok(sbom_build(&in, &bom, &n, &e) == 0, "sbom_build succeeds");
	ok(n.transaction == 2 && n.image == 1 && n.files == 2 && n.licensed == 1,
	   "counts: 2 + 1 packages, 2 files (a directory and a missing path are not files), 1 licensed (%zu %zu %zu %zu)",
	   n.transaction, n.image, n.files, n.licensed);
	ok(!strcmp(licences(comp(bom, "dep5")),
		   "id=GPL-2.0-or-later,id=Artistic-1.0-Perl,id=MIT,id=BSD-3-Clause,name=GPL-2+ with OpenSSL exception"),
	   "DEP-5: each License: field, split on or/and/commas, mapped to SPDX ids, once each, the rest by name (%s)",
	   licences(comp(bom, "dep5")));
	ok(!cJSON_GetObjectItemCaseSensitive(comp(bom, "prose"), "licenses"), "a copyright file that is not DEP-5: no licence guessed");
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(comp(bom, "dep5"), "components");
	char *text = cJSON_PrintUnformatted(fs);
	ok(text && strstr(text, "\"name\":\"/usr/bin/tool\",\"hashes\":[{\"alg\":\"SHA-256\",\"content\":"
				"\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"}]"),
	   "a regular file with its SHA-256");
	ok(text && strstr(text, "{\"type\":\"file\",\"name\":\"/usr/bin/link\",\"properties\":[{\"name\":\"pib:symlink\",\"value\":\"/etc/shadow\"}]}"),
	   "a link with its target, not followed out of the root");
	free(text);
	ok(comp(bom, "evil\\x1b[2J") != NULL, "a control character in a name is escaped");
	text = cJSON_PrintUnformatted(bom);
	ok(text && strstr(text, "{\"name\":\"pib:origin\",\"value\":\"image\"}") &&
		   strstr(text, "{\"name\":\"pib:repository\",\"value\":\"local\"}"),
	   "properties: origin and repository");
	free(text);

	char sha[65];
	char *env = NULL;
	static char bname[] = "bundle";
	struct report_subject subj = {.name = bname, .sha256 = "1111111111111111111111111111111111111111111111111111111111111111"};
	ok(sbom_envelope(bom, &subj, 1, NULL, &env, sha, &e) == 0 && env && strstr(env, "\"signatures\":"),
	   "an unsigned envelope");
	cJSON *sum = sbom_summary(bom, &n, sha, env ? strlen(env) : 0, NULL);
	ok(sum && !strcmp(cJSON_GetObjectItemCaseSensitive(sum, "sha256")->valuestring, sha), "the summary names the payload's SHA-256");
	cJSON_Delete(sum);
	free(env);
	cJSON_Delete(bom);
	pib_err_clear(&e);
	pib_rm_rf(root);
	free(root);
	return tap_done();
}
