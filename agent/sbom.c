/* SPDX-License-Identifier: MIT */
/* The SBOM: a CycloneDX 1.5 JSON document of a transaction and of an image's own packages, signed beside the report. */
#include "sbom.h"
#include "pib-config.h"
#include "sign.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ purl */

/* Appends s percent-encoded as the purl specification says: alphanumerics, ".-_~" and ":" kept. */
static int purl_put(struct pib_buf *b, const char *s, bool lower)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int r;
		if (isalnum(*p) || strchr(".-_~:", *p)) {
			char c = lower ? (char)tolower(*p) : (char)*p;
			r = pib_buf_append(b, &c, 1);
		} else {
			char t[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			r = pib_buf_append(b, t, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

char *sbom_purl(bool rpm, const char *os_id, const char *os_version, const char *name, const char *version,
		const char *arch)
{
	struct pib_buf b = {0};
	const char *v = version, *colon = strchr(version, ':');
	char *epoch = NULL;
	int r;

	/* rpm: the epoch is a qualifier, the version is version-release; deb keeps its epoch in the version */
	if (rpm && colon && colon > version && (size_t)(colon - version) <= 10) {
		epoch = pib_strndup(version, (size_t)(colon - version));
		if (!epoch)
			return NULL;
		if (!pib_str_all_in(epoch, "0123456789")) {
			free(epoch);
			epoch = NULL;
		} else {
			v = colon + 1;
		}
	}
	/* Debian's names are lowercase by policy; rpm's name is case sensitive */
	r = pib_buf_printf(&b, "pkg:%s/", rpm ? "rpm" : "deb");
	if (r == 0)
		r = purl_put(&b, os_id && *os_id ? os_id : rpm ? "rpm" : "debian", true);
	if (r == 0)
		r = pib_buf_append(&b, "/", 1);
	if (r == 0)
		r = purl_put(&b, name, !rpm);
	if (r == 0)
		r = pib_buf_append(&b, "@", 1);
	if (r == 0)
		r = purl_put(&b, v, false);
	/* qualifiers sorted by key: arch, distro, epoch */
	if (r == 0 && arch && *arch) {
		r = pib_buf_append(&b, "?arch=", 6);
		if (r == 0)
			r = purl_put(&b, arch, false);
	}
	if (r == 0 && os_id && *os_id && os_version && *os_version) {
		r = pib_buf_append(&b, arch && *arch ? "&distro=" : "?distro=", 8);
		if (r == 0)
			r = purl_put(&b, os_id, true);
		if (r == 0)
			r = pib_buf_append(&b, "-", 1);
		if (r == 0)
			r = purl_put(&b, os_version, false);
	}
	if (r == 0 && epoch && strcmp(epoch, "0") != 0) {
		r = pib_buf_append(&b, b.data && strchr(b.data, '?') ? "&epoch=" : "?epoch=", 7);
		if (r == 0)
			r = purl_put(&b, epoch, false);
	}
	free(epoch);
	if (r < 0) {
		pib_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* -------------------------------------------------------------- licences */

/* Debian's short names (DEP-5 and common usage), lowercase, and the SPDX id each is. */
static const struct {
	const char *debian, *spdx;
} spdx_ids[] = {
	{"gpl-1+", "GPL-1.0-or-later"},       {"gpl-2", "GPL-2.0-only"},           {"gpl-2+", "GPL-2.0-or-later"},
	{"gpl-2.0", "GPL-2.0-only"},          {"gpl-2.0+", "GPL-2.0-or-later"},    {"gpl-3", "GPL-3.0-only"},
	{"gpl-3+", "GPL-3.0-or-later"},       {"gpl-3.0", "GPL-3.0-only"},         {"gpl-3.0+", "GPL-3.0-or-later"},
	{"lgpl-2", "LGPL-2.0-only"},          {"lgpl-2+", "LGPL-2.0-or-later"},    {"lgpl-2.1", "LGPL-2.1-only"},
	{"lgpl-2.1+", "LGPL-2.1-or-later"},   {"lgpl-3", "LGPL-3.0-only"},         {"lgpl-3+", "LGPL-3.0-or-later"},
	{"agpl-3", "AGPL-3.0-only"},          {"agpl-3+", "AGPL-3.0-or-later"},    {"gfdl-1.2+", "GFDL-1.2-or-later"},
	{"gfdl-1.3+", "GFDL-1.3-or-later"},   {"expat", "MIT"},                    {"mit", "MIT"},
	{"bsd-2-clause", "BSD-2-Clause"},     {"bsd-3-clause", "BSD-3-Clause"},    {"bsd-4-clause", "BSD-4-Clause"},
	{"apache-2", "Apache-2.0"},           {"apache-2.0", "Apache-2.0"},        {"isc", "ISC"},
	{"zlib", "Zlib"},                     {"curl", "curl"},                    {"bsl-1.0", "BSL-1.0"},
	{"cc0-1.0", "CC0-1.0"},               {"cc-by-3.0", "CC-BY-3.0"},          {"cc-by-4.0", "CC-BY-4.0"},
	{"cc-by-sa-3.0", "CC-BY-SA-3.0"},     {"cc-by-sa-4.0", "CC-BY-SA-4.0"},    {"mpl-1.1", "MPL-1.1"},
	{"mpl-2.0", "MPL-2.0"},               {"openssl", "OpenSSL"},              {"x11", "X11"},
	{"artistic", "Artistic-1.0-Perl"},    {"artistic-2.0", "Artistic-2.0"},    {"psf-2", "PSF-2.0"},
	{"python-2.0", "Python-2.0"},         {"unicode-dfs-2016", "Unicode-DFS-2016"}, {"icu", "ICU"},
	{"libpng", "Libpng"},                 {"0bsd", "0BSD"},                    {"public-domain", NULL},
	{"unlicense", "Unlicense"},           {"wtfpl", "WTFPL"},                  {"ofl-1.1", "OFL-1.1"},
	{"bzip2-1.0.6", "bzip2-1.0.6"},       {"epl-1.0", "EPL-1.0"},              {"epl-2.0", "EPL-2.0"},
};

static const char *spdx_of(const char *name)
{
	for (size_t i = 0; i < sizeof(spdx_ids) / sizeof(spdx_ids[0]); i++)
		if (!strcasecmp(name, spdx_ids[i].debian) || (spdx_ids[i].spdx && !strcasecmp(name, spdx_ids[i].spdx)))
			return spdx_ids[i].spdx;
	return NULL;
}

/* Adds one licence (an SPDX id when the name is one we know, else its name) unless it is there. */
static int license_add(cJSON *arr, const char *name)
{
	const char *id = spdx_of(name);
	const char *key = id ? "id" : "name";
	cJSON *it;

	if (!*name || strlen(name) > 200)
		return 0;
	cJSON_ArrayForEach(it, arr) {
		cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "license");
		cJSON *v = cJSON_GetObjectItemCaseSensitive(l, key);
		if (cJSON_IsString(v) && !strcmp(v->valuestring, id ? id : name))
			return 0;
	}
	char *clean = pib_text_clean(name, false);
	cJSON *o = cJSON_CreateObject(), *l = o ? cJSON_AddObjectToObject(o, "license") : NULL;
	if (!clean || !l || !cJSON_AddStringToObject(l, key, id ? id : clean)) {
		free(clean);
		cJSON_Delete(o);
		return -ENOMEM;
	}
	free(clean);
	cJSON_AddItemToArray(arr, o);
	return 0;
}

/* Splits an expression ("GPL-2+ or Artistic", "BSD-3-clause, MIT") into its licences. */
static int license_expr(cJSON *arr, const char *expr)
{
	struct pib_buf words = {0}, cur = {0};
	char *save = NULL;
	int r = 0;

	/* " or ", " and ", commas and bars separate licences; "with ... exception" stays with its licence */
	for (const char *p = expr; r == 0 && *p; p++)
		r = *p == ',' || *p == '|' ? pib_buf_append(&words, " , ", 3)
		    : *p == '(' || *p == ')' ? pib_buf_append(&words, " ", 1)
					     : pib_buf_append(&words, p, 1);
	for (char *w = r == 0 && words.data ? strtok_r(words.data, " \t\r", &save) : NULL; r == 0;
	     w = strtok_r(NULL, " \t\r", &save)) {
		if (!w || !strcmp(w, ",") || !strcasecmp(w, "or") || !strcasecmp(w, "and")) {
			if (cur.len)
				r = license_add(arr, cur.data);
			cur.len = 0;
			if (cur.data)
				cur.data[0] = 0;
			if (!w)
				break;
			continue;
		}
		if (cur.len)
			r = pib_buf_append(&cur, " ", 1);
		if (r == 0)
			r = pib_buf_append(&cur, w, strlen(w));
	}
	pib_buf_free(&words);
	pib_buf_free(&cur);
	return r;
}

/*
 * The licences a Debian package states: the License: fields of its machine-readable (DEP-5)
 * copyright file, /usr/share/doc/NAME/copyright inside the root. A file that is not
 * machine-readable, missing or too large gives none (nothing is guessed from prose).
 */
static int deb_licenses(const char *root, const char *name, cJSON *arr)
{
	char *inner = pib_asprintf("/usr/share/doc/%s/copyright", name), *host = NULL, *text = NULL;
	size_t len = 0;
	int r = 0;

	if (!inner)
		return -ENOMEM;
	if (strchr(name, '/') || pib_path_in_root(root, inner, true, &host) < 0 ||
	    pib_read_file(host, SBOM_MAX_COPYRIGHT, &text, &len) < 0 || memchr(text, 0, len) ||
	    strncmp(text, "Format:", 7) != 0) {
		free(inner);
		free(host);
		free(text);
		return 0;
	}
	for (char *line = text, *next; r == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strncasecmp(line, "License:", 8) != 0)
			continue;
		r = license_expr(arr, line + 8);
	}
	free(inner);
	free(host);
	free(text);
	return r;
}

/* ----------------------------------------------------------------- files */

/* A file component: the path, and the SHA-256 of a regular file or the target of a link. */
static cJSON *file_component(const char *root, const char *path, bool *counted)
{
	char *host = NULL, hex[65];
	struct stat st;
	cJSON *c = NULL;

	*counted = false;
	if (pib_path_in_root(root, path, false, &host) < 0)
		return NULL;
	if (lstat(host, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
		goto out; /* directories (and what is gone) are not files of the package */
	char *clean = pib_text_clean(path, false);
	c = cJSON_CreateObject();
	if (!c || !clean) {
		free(clean);
		cJSON_Delete(c);
		c = NULL;
		goto out;
	}
	cJSON_AddStringToObject(c, "type", "file");
	cJSON_AddStringToObject(c, "name", clean);
	free(clean);
	if (S_ISREG(st.st_mode)) {
		int fd = open(host, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		struct stat fst;
		if (fd >= 0 && fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && pib_sha256_fd(fd, hex, NULL) == 0) {
			cJSON *h = cJSON_AddArrayToObject(c, "hashes"), *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "alg", "SHA-256");
			cJSON_AddStringToObject(o, "content", hex);
			cJSON_AddItemToArray(h, o);
		} else {
			cJSON *p = cJSON_AddArrayToObject(c, "properties"), *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", "pib:unreadable");
			cJSON_AddStringToObject(o, "value", "the file could not be read to hash it");
			cJSON_AddItemToArray(p, o);
		}
		if (fd >= 0)
			close(fd);
	} else {
		char target[4096];
		ssize_t n = readlink(host, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = 0;
			char *t = pib_text_clean(target, false);
			cJSON *p = cJSON_AddArrayToObject(c, "properties"), *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", "pib:symlink");
			cJSON_AddStringToObject(o, "value", t ? t : "");
			cJSON_AddItemToArray(p, o);
			free(t);
		}
	}
	*counted = true;
out:
	free(host);
	return c;
}

/* --------------------------------------------------------------- document */

static void prop(cJSON *arr, const char *name, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	char *v = pib_text_clean(value, false);

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "value", v ? v : "");
	free(v);
	cJSON_AddItemToArray(arr, o);
}

/* A name used as a bom-ref once: a second package with the same purl gets "#2", "#3"... */
static char *unique_ref(cJSON *seen, const char *purl)
{
	char *ref = pib_strdup(purl);

	for (unsigned n = 2; ref && cJSON_GetObjectItemCaseSensitive(seen, ref); n++) {
		free(ref);
		ref = pib_asprintf("%s#%u", purl, n);
	}
	if (ref)
		cJSON_AddTrueToObject(seen, ref);
	return ref;
}

static cJSON *pkg_component(const struct sbom_in *in, const struct sbom_pkg *p, bool txn, cJSON *seen,
			    struct sbom_counts *n)
{
	const char *os_id = in->os ? in->os->id : NULL, *os_ver = in->os ? in->os->version_id : NULL;
	char *clean_name = pib_text_clean(p->name, false), *clean_ver = pib_text_clean(p->version, false);
	char *purl = sbom_purl(in->rpm, os_id, os_ver, p->name, p->version, p->arch);
	char *ref = purl ? unique_ref(seen, purl) : NULL;
	cJSON *c = cJSON_CreateObject();

	if (!clean_name || !clean_ver || !purl || !ref || !c)
		goto oom;
	cJSON_AddStringToObject(c, "type", "library");
	cJSON_AddStringToObject(c, "bom-ref", ref);
	cJSON_AddStringToObject(c, "name", clean_name);
	cJSON_AddStringToObject(c, "version", clean_ver);
	if (p->sha256 && pib_is_hex64(p->sha256)) {
		cJSON *h = cJSON_AddArrayToObject(c, "hashes"), *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "alg", "SHA-256");
		cJSON_AddStringToObject(o, "content", p->sha256);
		cJSON_AddItemToArray(h, o);
	}
	cJSON *lic = cJSON_CreateArray();
	if (!lic)
		goto oom;
	int lr = p->license ? license_expr(lic, p->license) : in->rpm ? 0 : deb_licenses(in->root, p->name, lic);
	if (lr < 0) {
		cJSON_Delete(lic);
		goto oom;
	}
	if (cJSON_GetArraySize(lic) > 0) {
		cJSON_AddItemToObject(c, "licenses", lic);
		n->licensed++;
	} else {
		cJSON_Delete(lic);
	}
	cJSON_AddStringToObject(c, "purl", purl);
	cJSON *props = cJSON_AddArrayToObject(c, "properties");
	prop(props, "pib:origin", txn ? "bundle" : "image");
	if (p->arch)
		prop(props, "pib:arch", p->arch);
	if (p->source)
		prop(props, "pib:source", p->source);
	if (p->repo && *p->repo)
		prop(props, "pib:repository", p->repo);
	if (p->files) {
		cJSON *files = cJSON_CreateArray();
		for (size_t i = 0; files && p->files[i]; i++) {
			bool counted;
			cJSON *f = file_component(in->root, p->files[i], &counted);
			if (f)
				cJSON_AddItemToArray(files, f);
			else if (counted)
				goto oom;
			n->files += counted;
		}
		if (!files)
			goto oom;
		cJSON_AddItemToObject(c, "components", files);
	}
	free(clean_name);
	free(clean_ver);
	free(purl);
	free(ref);
	return c;
oom:
	free(clean_name);
	free(clean_ver);
	free(purl);
	free(ref);
	cJSON_Delete(c);
	return NULL;
}

/* A random (version 4) UUID as the document's serial number. */
static void serial_number(char out[46])
{
	unsigned char u[16] = {0};
	char hex[33];

	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
		char t[40];
		pib_now_rfc3339(t);
		char h[65];
		pib_sha256_hex(t, strlen(t), h);
		for (int i = 0; i < 16; i++)
			u[i] = (unsigned char)strtoul((char[]){h[2 * i], h[2 * i + 1], 0}, NULL, 16);
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	pib_hex(u, 16, hex);
	snprintf(out, 46, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int sbom_build(const struct sbom_in *in, cJSON **ret, struct sbom_counts *counts, struct pib_err *e)
{
	struct sbom_counts n = {0};
	char now[40], serial[46];
	cJSON *bom = cJSON_CreateObject(), *seen = cJSON_CreateObject();

	*ret = NULL;
	if (!bom || !seen)
		goto oom;
	pib_now_rfc3339(now);
	serial_number(serial);
	cJSON_AddStringToObject(bom, "$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json");
	cJSON_AddStringToObject(bom, "bomFormat", "CycloneDX");
	cJSON_AddStringToObject(bom, "specVersion", "1.5");
	cJSON_AddStringToObject(bom, "serialNumber", serial);
	cJSON_AddNumberToObject(bom, "version", 1);
	cJSON *meta = cJSON_AddObjectToObject(bom, "metadata");
	cJSON_AddStringToObject(meta, "timestamp", now);
	cJSON *tools = cJSON_AddArrayToObject(cJSON_AddObjectToObject(meta, "tools"), "components");
	cJSON *tool = cJSON_CreateObject();
	cJSON_AddStringToObject(tool, "type", "application");
	cJSON_AddStringToObject(tool, "name", "pib-agent");
	cJSON_AddStringToObject(tool, "version", PIB_VERSION);
	cJSON_AddItemToArray(tools, tool);
	cJSON *subj = cJSON_AddObjectToObject(meta, "component");
	char *sname = pib_text_clean(in->subject_name ? in->subject_name : "", false);
	char *sver = in->subject_version ? pib_text_clean(in->subject_version, false) : NULL;
	if (!sname || (in->subject_version && !sver)) {
		free(sname);
		free(sver);
		goto oom;
	}
	cJSON_AddStringToObject(subj, "type", in->subject_type);
	cJSON_AddStringToObject(subj, "bom-ref", "pib:subject");
	cJSON_AddStringToObject(subj, "name", sname);
	if (sver)
		cJSON_AddStringToObject(subj, "version", sver);
	free(sname);
	free(sver);
	if (in->subject_sha256 && pib_is_hex64(in->subject_sha256)) {
		cJSON *h = cJSON_AddArrayToObject(subj, "hashes"), *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "alg", "SHA-256");
		cJSON_AddStringToObject(o, "content", in->subject_sha256);
		cJSON_AddItemToArray(h, o);
	}
	cJSON_AddTrueToObject(seen, "pib:subject");
	cJSON *mprops = cJSON_AddArrayToObject(meta, "properties");
	if (in->os) {
		prop(mprops, "pib:os", in->os->id ? in->os->id : "");
		prop(mprops, "pib:os-version", in->os->version_id ? in->os->version_id : "");
		if (in->os->arch)
			prop(mprops, "pib:arch", in->os->arch);
	}
	prop(mprops, "pib:lists", "components with pib:origin bundle are the transaction (what the install brought); "
				  "those with pib:origin image are the image's own packages");

	cJSON *comps = cJSON_AddArrayToObject(bom, "components");
	cJSON *deps = cJSON_CreateArray();
	if (!comps || !deps || !mprops)
		goto oom_deps;
	cJSON *on = cJSON_CreateArray();
	for (size_t i = 0; on && i < in->n_txn; i++) {
		cJSON *c = pkg_component(in, &in->txn[i], true, seen, &n);
		if (!c) {
			cJSON_Delete(on);
			goto oom_deps;
		}
		cJSON_AddItemToArray(on, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(c, "bom-ref")->valuestring));
		cJSON_AddItemToArray(comps, c);
		n.transaction++;
	}
	for (size_t i = 0; on && i < in->n_image; i++) {
		cJSON *c = pkg_component(in, &in->image[i], false, seen, &n);
		if (!c) {
			cJSON_Delete(on);
			goto oom_deps;
		}
		cJSON_AddItemToArray(comps, c);
		n.image++;
	}
	if (!on)
		goto oom_deps;
	/* the subject (the bundle) depends on what its install brought */
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "ref", "pib:subject");
	cJSON_AddItemToObject(d, "dependsOn", on);
	cJSON_AddItemToArray(deps, d);
	cJSON_AddItemToObject(bom, "dependencies", deps);
	cJSON_Delete(seen);
	*ret = bom;
	if (counts)
		*counts = n;
	return 0;
oom_deps:
	cJSON_Delete(deps);
oom:
	cJSON_Delete(seen);
	cJSON_Delete(bom);
	return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
}

int sbom_envelope(const cJSON *bom, const struct report_subject *subjects, size_t n_subjects,
		  const struct sign_key *k, char **ret, char payload_sha256[65], struct pib_err *e)
{
	cJSON *st = sign_statement_of(subjects, n_subjects, SBOM_PREDICATE_TYPE, bom);
	char *payload = st ? cJSON_PrintUnformatted(st) : NULL; /* serialised once: these bytes are signed */

	cJSON_Delete(st);
	*ret = NULL;
	if (!payload)
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	pib_sha256_hex(payload, strlen(payload), payload_sha256);
	int r = sign_envelope(payload, strlen(payload), SIGN_PAYLOAD_TYPE, k, ret, e);
	free(payload);
	return r;
}

cJSON *sbom_summary(const cJSON *bom, const struct sbom_counts *c, const char *payload_sha256, size_t envelope_len,
		    const char *file)
{
	cJSON *s = cJSON_CreateObject();
	const cJSON *sn = cJSON_GetObjectItemCaseSensitive(bom, "serialNumber");

	if (!s)
		return NULL;
	cJSON_AddStringToObject(s, "format", "CycloneDX 1.5");
	cJSON_AddStringToObject(s, "predicate_type", SBOM_PREDICATE_TYPE);
	cJSON_AddStringToObject(s, "serial_number", cJSON_IsString(sn) ? sn->valuestring : "");
	cJSON_AddStringToObject(s, "sha256", payload_sha256);
	cJSON_AddNumberToObject(s, "bytes", (double)envelope_len);
	cJSON_AddNumberToObject(s, "transaction", (double)c->transaction);
	cJSON_AddNumberToObject(s, "image", (double)c->image);
	cJSON_AddNumberToObject(s, "files", (double)c->files);
	if (file)
		cJSON_AddStringToObject(s, "file", file);
	else
		cJSON_AddNullToObject(s, "file");
	return s;
}
