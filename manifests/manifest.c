/* SPDX-License-Identifier: MIT */
/* The bundle manifest (pib-agent/bundle/v1): its model and its parser. */
#include "manifest.h"
#include "jsonread.h"
#include "pkgname.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TARGETS 64
#define MAX_PACKAGES 4096
#define MAX_LIST 256
#define MAX_STR 4096

/* A user name as useradd takes it (the check's user): [a-z_][a-z0-9_-]*, at most 32 bytes. */
static bool user_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static int get_str(struct jr *p, const char *path, const cJSON *j, char **ret)
{
	if (!cJSON_IsString(j))
		return jr_bad(p, path, "expected a string, got %s", jr_type_name(j));
	size_t n = strlen(j->valuestring);
	if (n == 0)
		return jr_bad(p, path, "must not be empty");
	if (n > MAX_STR)
		return jr_bad(p, path, "longer than %d bytes", MAX_STR);
	*ret = strdup(j->valuestring);
	return *ret ? 0 : -ENOMEM;
}

static int get_strv(struct jr *p, const char *path, const cJSON *j, char ***ret, bool nonempty)
{
	const cJSON *it;
	int i = 0, r;

	if (!cJSON_IsArray(j))
		return jr_bad(p, path, "expected an array, got %s", jr_type_name(j));
	if (cJSON_GetArraySize(j) > MAX_LIST)
		return jr_bad(p, path, "more than %d entries", MAX_LIST);
	if (nonempty && cJSON_GetArraySize(j) == 0)
		return jr_bad(p, path, "must not be empty");
	*ret = calloc(1, sizeof(char *));
	if (!*ret)
		return -ENOMEM;
	cJSON_ArrayForEach(it, j)
	{
		char sub[512], *s = NULL;
		snprintf(sub, sizeof(sub), "%s[%d]", path, i++);
		if ((r = get_str(p, sub, it, &s)) < 0)
			return r;
		r = pib_strv_push(ret, s);
		free(s);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct {
	const char *id, *family;
} id_families[] = {
	{"debian", "debian"}, {"ubuntu", "debian"},   {"raspbian", "debian"},  {"linuxmint", "debian"},
	{"rhel", "rhel"},     {"centos", "rhel"},     {"fedora", "rhel"},      {"rocky", "rhel"},
	{"almalinux", "rhel"}, {"ol", "rhel"},        {"amzn", "rhel"},        {"sles", "suse"},
	{"opensuse-leap", "suse"}, {"opensuse-tumbleweed", "suse"}, {"suse", "suse"},
	{"opensuse", "suse"}, {"windows", "windows"}, {NULL, NULL},
};

const char *mf_family_of_id(const char *id)
{
	for (int i = 0; id_families[i].id; i++)
		if (!strcmp(id, id_families[i].id))
			return id_families[i].family;
	return NULL;
}

bool mf_installer_fits_family(const char *installer, const char *family)
{
	if (!strcmp(installer, "deb"))
		return !strcmp(family, "debian");
	if (!strcmp(installer, "rpm"))
		return !strcmp(family, "rhel") || !strcmp(family, "suse");
	if (!strcmp(installer, "msi"))
		return !strcmp(family, "windows");
	return false;
}

char *mf_normalise_member(const char *name, bool *ret_absolute, bool *ret_dotdot)
{
	struct pib_buf b = {0};
	const char *s = name;

	if (ret_absolute)
		*ret_absolute = name[0] == '/';
	if (ret_dotdot)
		*ret_dotdot = false;
	if (name[0] == '/')
		return NULL;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, "/");
		if (n == 1 && s[0] == '.') {
			s += n;
			continue;
		}
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (ret_dotdot)
				*ret_dotdot = true;
			pib_buf_free(&b);
			return NULL;
		}
		if ((b.len && pib_buf_append(&b, "/", 1) < 0) || pib_buf_append(&b, s, n) < 0) {
			pib_buf_free(&b);
			return NULL;
		}
		s += n;
	}
	if (b.len == 0) {
		pib_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static int parse_version_list(struct jr *p, const char *path, char **versions)
{
	for (int i = 0; versions[i]; i++) {
		const char *v = versions[i];
		/* exact "12", "22.04", or comma-separated comparisons ">=8", ">=22.04,<25" */
		if (!pib_str_all_in(v, "0123456789.,<>=!~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-+")) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s[%d]", path, i);
			return jr_bad(p, sub, "not a version or a range: \"%s\"", v);
		}
	}
	return 0;
}

static int parse_target(struct jr *p, int ti, const cJSON *jt, struct mf_target *t)
{
	static const char *const allowed[] = {"name", "os", "arch", "installer", "packages", "keys",
					      "allow_unsigned", "properties", "checks", "may_upgrade",
					      NULL};
	static const char *const required[] = {"name", "os", "arch", "installer", "packages", NULL};
	char path[256], sub[512];
	const cJSON *it;
	int r, i;

	snprintf(path, sizeof(path), "targets[%d]", ti);
	if ((r = jr_check_keys(p, path, jt, allowed, required)) < 0)
		return r;
	snprintf(sub, sizeof(sub), "%s.name", path);
	if ((r = get_str(p, sub, cJSON_GetObjectItemCaseSensitive(jt, "name"), &t->name)) < 0)
		return r;
	snprintf(sub, sizeof(sub), "%s.installer", path);
	if ((r = get_str(p, sub, cJSON_GetObjectItemCaseSensitive(jt, "installer"), &t->installer)) < 0)
		return r;
	if (strcmp(t->installer, "deb") && strcmp(t->installer, "rpm") && strcmp(t->installer, "msi"))
		return jr_bad(p, sub, "expected \"deb\", \"rpm\" or \"msi\", got \"%s\"", t->installer);

	const cJSON *jos = cJSON_GetObjectItemCaseSensitive(jt, "os");
	snprintf(sub, sizeof(sub), "%s.os", path);
	if (!cJSON_IsArray(jos))
		return jr_bad(p, sub, "expected an array, got %s", jr_type_name(jos));
	if (cJSON_GetArraySize(jos) == 0)
		return jr_bad(p, sub, "must not be empty");
	if (cJSON_GetArraySize(jos) > MAX_LIST)
		return jr_bad(p, sub, "more than %d entries", MAX_LIST);
	t->os = calloc((size_t)cJSON_GetArraySize(jos), sizeof(*t->os));
	if (!t->os)
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(it, jos)
	{
		static const char *const os_keys[] = {"id", "versions", NULL};
		struct mf_os *o = &t->os[t->n_os++];
		char opath[300], f[400];
		snprintf(opath, sizeof(opath), "%s.os[%d]", path, i++);
		if ((r = jr_check_keys(p, opath, it, os_keys, os_keys)) < 0)
			return r;
		snprintf(f, sizeof(f), "%s.id", opath);
		if ((r = get_str(p, f, cJSON_GetObjectItemCaseSensitive(it, "id"), &o->id)) < 0)
			return r;
		if (!pib_str_all_in(o->id, "abcdefghijklmnopqrstuvwxyz0123456789._-"))
			return jr_bad(p, f, "not an os-release ID: \"%s\"", o->id);
		const char *fam = mf_family_of_id(o->id);
		if (fam && !mf_installer_fits_family(t->installer, fam)) {
			snprintf(f, sizeof(f), "%s.installer", path);
			return jr_bad(p, f, "\"%s\" does not fit os \"%s\" (a %s system)", t->installer,
				      o->id, fam);
		}
		snprintf(f, sizeof(f), "%s.versions", opath);
		if ((r = get_strv(p, f, cJSON_GetObjectItemCaseSensitive(it, "versions"), &o->versions,
				  true)) < 0)
			return r;
		if ((r = parse_version_list(p, f, o->versions)) < 0)
			return r;
		/* Windows images are Windows Server's: an exact version is one of its releases */
		for (int k = 0; !strcmp(o->id, "windows") && o->versions[k]; k++) {
			const char *v = o->versions[k];
			if (strpbrk(v, "<>=!~,") || !strcmp(v, "2016") || !strcmp(v, "2019") ||
			    !strcmp(v, "2022") || !strcmp(v, "2025"))
				continue;
			char vpath[600];
			snprintf(vpath, sizeof(vpath), "%s[%d]", f, k);
			return jr_bad(p, vpath, "\"%s\" is not a Windows Server version (2016, 2019, 2022, 2025)", v);
		}
	}

	snprintf(sub, sizeof(sub), "%s.arch", path);
	if ((r = get_strv(p, sub, cJSON_GetObjectItemCaseSensitive(jt, "arch"), &t->arch, true)) < 0)
		return r;
	for (i = 0; t->arch[i]; i++)
		if (strcmp(t->arch[i], "x86_64") && strcmp(t->arch[i], "aarch64")) {
			char f[600];
			snprintf(f, sizeof(f), "%s[%d]", sub, i);
			return jr_bad(p, f, "expected \"x86_64\" or \"aarch64\", got \"%s\"", t->arch[i]);
		}

	const cJSON *jp = cJSON_GetObjectItemCaseSensitive(jt, "packages");
	snprintf(sub, sizeof(sub), "%s.packages", path);
	if (!cJSON_IsArray(jp))
		return jr_bad(p, sub, "expected an array, got %s", jr_type_name(jp));
	if (cJSON_GetArraySize(jp) == 0)
		return jr_bad(p, sub, "must not be empty");
	if (cJSON_GetArraySize(jp) > MAX_PACKAGES)
		return jr_bad(p, sub, "more than %d entries", MAX_PACKAGES);
	t->packages = calloc((size_t)cJSON_GetArraySize(jp), sizeof(*t->packages));
	if (!t->packages)
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(it, jp)
	{
		static const char *const pkg_keys[] = {"file", "sha256", NULL};
		struct mf_package *pk = &t->packages[t->n_packages++];
		char ppath[300], f[400], *raw = NULL;
		snprintf(ppath, sizeof(ppath), "%s.packages[%d]", path, i++);
		if ((r = jr_check_keys(p, ppath, it, pkg_keys, pkg_keys)) < 0)
			return r;
		snprintf(f, sizeof(f), "%s.file", ppath);
		if ((r = get_str(p, f, cJSON_GetObjectItemCaseSensitive(it, "file"), &raw)) < 0)
			return r;
		pk->file = mf_normalise_member(raw, NULL, NULL);
		if (!pk->file) {
			r = jr_bad(p, f, "not a safe relative path inside the bundle: \"%s\"", raw);
			free(raw);
			return r;
		}
		free(raw);
		for (size_t k = 0; k + 1 < t->n_packages; k++)
			if (!strcmp(t->packages[k].file, pk->file))
				return jr_bad(p, f, "\"%s\" is listed twice", pk->file);
		snprintf(f, sizeof(f), "%s.sha256", ppath);
		const cJSON *js = cJSON_GetObjectItemCaseSensitive(it, "sha256");
		if (!cJSON_IsString(js))
			return jr_bad(p, f, "expected a string, got %s", jr_type_name(js));
		if (!pib_is_hex64(js->valuestring))
			return jr_bad(p, f, "expected 64 hex digits");
		for (int k = 0; k < 64; k++)
			pk->sha256[k] = (char)(js->valuestring[k] | 0x20);
		pk->sha256[64] = '\0';
	}

	const cJSON *jk = cJSON_GetObjectItemCaseSensitive(jt, "keys");
	if (jk) {
		snprintf(sub, sizeof(sub), "%s.keys", path);
		char **raw = NULL;
		if ((r = get_strv(p, sub, jk, &raw, false)) < 0) {
			pib_strv_free(raw);
			return r;
		}
		t->keys = calloc(1, sizeof(char *));
		for (i = 0; raw[i]; i++) {
			char *n = mf_normalise_member(raw[i], NULL, NULL);
			if (!n) {
				char f[600];
				snprintf(f, sizeof(f), "%s[%d]", sub, i);
				r = jr_bad(p, f, "not a safe relative path inside the bundle: \"%s\"", raw[i]);
				pib_strv_free(raw);
				return r;
			}
			r = pib_strv_push(&t->keys, n);
			free(n);
			if (r < 0) {
				pib_strv_free(raw);
				return r;
			}
		}
		pib_strv_free(raw);
	}
	const cJSON *ja = cJSON_GetObjectItemCaseSensitive(jt, "allow_unsigned");
	if (ja) {
		snprintf(sub, sizeof(sub), "%s.allow_unsigned", path);
		if (!cJSON_IsBool(ja))
			return jr_bad(p, sub, "expected a boolean, got %s", jr_type_name(ja));
		t->allow_unsigned = cJSON_IsTrue(ja);
	}
	const cJSON *jpr = cJSON_GetObjectItemCaseSensitive(jt, "properties");
	if (jpr) {
		snprintf(sub, sizeof(sub), "%s.properties", path);
		if (!cJSON_IsObject(jpr))
			return jr_bad(p, sub, "expected an object, got %s", jr_type_name(jpr));
		if (strcmp(t->installer, "msi"))
			return jr_bad(p, sub, "only msi targets take properties");
		int n = cJSON_GetArraySize(jpr);
		if (n > MAX_LIST)
			return jr_bad(p, sub, "more than %d entries", MAX_LIST);
		t->properties = calloc((size_t)n + 1, sizeof(*t->properties));
		if (!t->properties)
			return -ENOMEM;
		cJSON_ArrayForEach(it, jpr)
		{
			char f[600];
			snprintf(f, sizeof(f), "%s.%s", sub, it->string);
			if (!pib_str_all_in(it->string, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ||
			    !*it->string)
				return jr_bad(p, f, "a public property name is upper case letters, digits, _ and .");
			struct mf_property *pr = &t->properties[t->n_properties++];
			pr->name = strdup(it->string);
			if ((r = get_str(p, f, it, &pr->value)) < 0)
				return r;
		}
	}
	const cJSON *jc = cJSON_GetObjectItemCaseSensitive(jt, "checks");
	if (jc) {
		snprintf(sub, sizeof(sub), "%s.checks", path);
		if (!cJSON_IsArray(jc))
			return jr_bad(p, sub, "expected an array, got %s", jr_type_name(jc));
		if (cJSON_GetArraySize(jc) > MAX_LIST)
			return jr_bad(p, sub, "more than %d entries", MAX_LIST);
		t->checks = calloc((size_t)cJSON_GetArraySize(jc) + 1, sizeof(*t->checks));
		if (!t->checks)
			return -ENOMEM;
		i = 0;
		cJSON_ArrayForEach(it, jc)
		{
			static const char *const ck_keys[] = {"name", "run", "timeout", "user", NULL};
			static const char *const ck_req[] = {"name", "run", NULL};
			struct mf_check *c = &t->checks[t->n_checks++];
			char cpath[300], f[400];
			snprintf(cpath, sizeof(cpath), "%s.checks[%d]", path, i++);
			if ((r = jr_check_keys(p, cpath, it, ck_keys, ck_req)) < 0)
				return r;
			snprintf(f, sizeof(f), "%s.name", cpath);
			if ((r = get_str(p, f, cJSON_GetObjectItemCaseSensitive(it, "name"), &c->name)) < 0)
				return r;
			snprintf(f, sizeof(f), "%s.run", cpath);
			if ((r = get_strv(p, f, cJSON_GetObjectItemCaseSensitive(it, "run"), &c->run,
					  true)) < 0)
				return r;
			if (c->run[0][0] != '/')
				return jr_bad(p, f, "the command must be an absolute path, got \"%s\"",
					      c->run[0]);
			c->timeout = 60;
			const cJSON *jto = cJSON_GetObjectItemCaseSensitive(it, "timeout");
			if (jto) {
				snprintf(f, sizeof(f), "%s.timeout", cpath);
				if (!cJSON_IsNumber(jto) || jto->valuedouble != (double)(int)jto->valuedouble ||
				    jto->valueint < 1 || jto->valueint > 86400)
					return jr_bad(p, f, "expected a whole number of seconds from 1 to 86400");
				c->timeout = jto->valueint;
			}
			const cJSON *jus = cJSON_GetObjectItemCaseSensitive(it, "user");
			if (jus) {
				snprintf(f, sizeof(f), "%s.user", cpath);
				if ((r = get_str(p, f, jus, &c->user)) < 0)
					return r;
				if (!user_name_ok(c->user))
					return jr_bad(p, f,
						      "expected a user name (a letter or _, then letters, digits, "
						      "_ or -, at most 32), got \"%s\"",
						      c->user);
			}
		}
	}
	const cJSON *jm = cJSON_GetObjectItemCaseSensitive(jt, "may_upgrade");
	if (jm) {
		snprintf(sub, sizeof(sub), "%s.may_upgrade", path);
		if (!strcmp(t->installer, "msi"))
			return jr_bad(p, sub, "only deb and rpm targets take may_upgrade");
		if ((r = get_strv(p, sub, jm, &t->may_upgrade, false)) < 0)
			return r;
		for (i = 0; t->may_upgrade[i]; i++) {
			char f[600];
			snprintf(f, sizeof(f), "%s[%d]", sub, i);
			if (!mf_package_name_valid(t->installer, t->may_upgrade[i]))
				return jr_bad(p, f, "not a valid %s package name: \"%s\"", t->installer,
					      t->may_upgrade[i]);
			for (int k = 0; k < i; k++)
				if (!strcmp(t->may_upgrade[k], t->may_upgrade[i]))
					return jr_bad(p, f, "\"%s\" is already may_upgrade[%d]",
						      t->may_upgrade[i], k);
		}
	}
	return 0;
}

int mf_manifest_parse(const char *file, const char *json, size_t len, struct mf_manifest **ret,
		      struct pib_err *err)
{
	static const char *const top_allowed[] = {"schema", "product", "targets", NULL};
	static const char *const prod_allowed[] = {"name", "version", "seller", NULL};
	struct jr p = {PIB_ERR_FAILED, "manifest.invalid", file, err, false};
	struct mf_manifest *m = NULL;
	cJSON *root = NULL;
	const cJSON *it;
	int r, i;

	if ((r = jr_parse(&p, json, len, MF_MANIFEST_MAX, false, &root)) < 0)
		goto fail;
	m = calloc(1, sizeof(*m));
	if (!m) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = jr_check_keys(&p, "", root, top_allowed, top_allowed)) < 0)
		goto fail;
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsString(js)) {
		r = jr_bad(&p, "schema", "expected a string, got %s", jr_type_name(js));
		goto fail;
	}
	if (strcmp(js->valuestring, MF_BUNDLE_SCHEMA)) {
		r = jr_bad(&p, "schema", "expected \"%s\", got \"%s\"", MF_BUNDLE_SCHEMA, js->valuestring);
		goto fail;
	}
	const cJSON *jp = cJSON_GetObjectItemCaseSensitive(root, "product");
	if ((r = jr_check_keys(&p, "product", jp, prod_allowed, prod_allowed)) < 0)
		goto fail;
	if ((r = get_str(&p, "product.name", cJSON_GetObjectItemCaseSensitive(jp, "name"),
			 &m->product_name)) < 0 ||
	    (r = get_str(&p, "product.version", cJSON_GetObjectItemCaseSensitive(jp, "version"),
			 &m->product_version)) < 0 ||
	    (r = get_str(&p, "product.seller", cJSON_GetObjectItemCaseSensitive(jp, "seller"),
			 &m->seller)) < 0)
		goto fail;
	const cJSON *jt = cJSON_GetObjectItemCaseSensitive(root, "targets");
	if (!cJSON_IsArray(jt)) {
		r = jr_bad(&p, "targets", "expected an array, got %s", jr_type_name(jt));
		goto fail;
	}
	if (cJSON_GetArraySize(jt) == 0) {
		r = jr_bad(&p, "targets", "must not be empty");
		goto fail;
	}
	if (cJSON_GetArraySize(jt) > MAX_TARGETS) {
		r = jr_bad(&p, "targets", "more than %d entries", MAX_TARGETS);
		goto fail;
	}
	m->targets = calloc((size_t)cJSON_GetArraySize(jt), sizeof(*m->targets));
	if (!m->targets) {
		r = -ENOMEM;
		goto fail;
	}
	i = 0;
	cJSON_ArrayForEach(it, jt)
	{
		m->n_targets++;
		if ((r = parse_target(&p, i, it, &m->targets[i])) < 0)
			goto fail;
		for (int k = 0; k < i; k++)
			if (!strcmp(m->targets[k].name, m->targets[i].name)) {
				char f[64];
				snprintf(f, sizeof(f), "targets[%d].name", i);
				r = jr_bad(&p, f, "\"%s\" is already the name of targets[%d]",
					   m->targets[i].name, k);
				goto fail;
			}
		i++;
	}
	cJSON_Delete(root);
	*ret = m;
	return 0;
fail:
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "%s: out of memory", file);
	cJSON_Delete(root);
	mf_manifest_free(m);
	return r;
}

void mf_manifest_free(struct mf_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_targets; i++) {
		struct mf_target *t = &m->targets[i];
		free(t->name);
		free(t->installer);
		for (size_t k = 0; k < t->n_os; k++) {
			free(t->os[k].id);
			pib_strv_free(t->os[k].versions);
		}
		free(t->os);
		pib_strv_free(t->arch);
		for (size_t k = 0; k < t->n_packages; k++)
			free(t->packages[k].file);
		free(t->packages);
		pib_strv_free(t->keys);
		for (size_t k = 0; k < t->n_properties; k++) {
			free(t->properties[k].name);
			free(t->properties[k].value);
		}
		free(t->properties);
		for (size_t k = 0; k < t->n_checks; k++) {
			free(t->checks[k].name);
			free(t->checks[k].user);
			pib_strv_free(t->checks[k].run);
		}
		free(t->checks);
		pib_strv_free(t->may_upgrade);
	}
	free(m->targets);
	free(m->product_name);
	free(m->product_version);
	free(m->seller);
	free(m);
}
