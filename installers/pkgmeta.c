/* SPDX-License-Identifier: MIT */
/* Package names, versions and architectures checked against Debian policy and rpm's rules before any use. */
#include "pkgmeta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#define PKGMETA_MAX_CONTROL_TAR (32u << 20) /* a control.tar member, compressed */
#define PKGMETA_MAX_CONTROL (1u << 20)      /* the control file itself */
#define PKGMETA_MAX_SKIPPED (64u << 20)     /* bytes of control.tar entries read past before ./control */
#define PKGMETA_MAX_ENTRIES 10000           /* entries of control.tar, members of the ar */
#define PKGMETA_SHOWN 120                   /* bytes of a bad value shown in a message */

/* The value as a message shows it: at most PKGMETA_SHOWN bytes, escaped; never NULL. */
static char *shown(const char *v)
{
	char *cut = pib_strndup(v ? v : "", PKGMETA_SHOWN);
	char *clean = cut ? pib_text_clean(cut, false) : NULL;
	char *out = clean ? pib_asprintf("\"%s\"%s", clean,
					 v && strlen(v) > PKGMETA_SHOWN ? " (cut short)" : "")
			  : NULL;

	free(cut);
	free(clean);
	return out;
}

static int invalid_field(struct pib_err *err, const char *where, const char *field,
			 const char *value, const char *what)
{
	char *v = shown(value);
	int r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			 "%s: field %s: %s is not a valid %s", where, field, v ? v : "?", what);

	free(v);
	return r;
}

int inst_pkgmeta_check(struct pib_err *err, bool deb, const char *where, const char *name,
		       const char *version, const char *arch)
{
	if (deb) {
		if (!mf_deb_name_valid(name))
			return invalid_field(err, where, "Package", name, "Debian package name");
		if (!mf_deb_version_valid(version))
			return invalid_field(err, where, "Version", version, "Debian version");
		if (!mf_deb_arch_valid(arch))
			return invalid_field(err, where, "Architecture", arch, "Debian architecture");
	} else {
		if (!mf_rpm_name_valid(name))
			return invalid_field(err, where, "Name", name, "rpm package name");
		if (!mf_rpm_evr_valid(version))
			return invalid_field(err, where, "Version", version,
					     "rpm [epoch:]version-release");
		if (!mf_rpm_arch_valid(arch))
			return invalid_field(err, where, "Arch", arch, "rpm architecture");
	}
	return 0;
}

/* ------------------------------------------------------------------ the control file of a .deb */

/* Reads the current entry's data of a at most max bytes into *ret (NUL-terminated). */
static int read_entry_data(struct archive *a, size_t max, char **ret, size_t *ret_len)
{
	struct pib_buf b = {0};
	char buf[1 << 16];

	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			pib_buf_free(&b);
			return -EIO;
		}
		if (b.len + (size_t)n > max) {
			pib_buf_free(&b);
			return -EFBIG;
		}
		if (pib_buf_append(&b, buf, (size_t)n) < 0) {
			pib_buf_free(&b);
			return -ENOMEM;
		}
	}
	if (!b.data && !(b.data = strdup("")))
		return -ENOMEM;
	*ret = b.data;
	*ret_len = b.len;
	return 0;
}

/* The control.tar member of the .deb at path, into memory. */
static int read_control_tar(struct pib_err *err, const char *member, const char *path, char **ret,
			    size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *data = NULL;
	size_t len = 0, n = 0;
	int r = 0, ar;

	if (!a)
		return -ENOMEM;
	archive_read_support_format_ar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			     "%s: not a .deb (an ar archive): %s", member, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (++n > PKGMETA_MAX_ENTRIES) {
			r = pib_fail(err, -E2BIG, PIB_ERR_FAILED, "package.invalid",
				     "%s: more than %d ar members: not a .deb", member, PKGMETA_MAX_ENTRIES);
			goto out;
		}
		if (!name || !pib_str_has_prefix(name, "control.tar"))
			continue;
		if (data) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
				     "%s: two control.tar members", member);
			goto out;
		}
		if ((r = read_entry_data(a, PKGMETA_MAX_CONTROL_TAR, &data, &len)) < 0) {
			r = r == -ENOMEM ? pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory")
					 : pib_fail(err, r, PIB_ERR_FAILED, "package.invalid",
						    "%s: its control.tar member cannot be read%s", member,
						    r == -EFBIG ? ": larger than 32 MiB" : "");
			goto out;
		}
	}
	if (ar != ARCHIVE_EOF) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			     "%s: not a readable .deb (ar archive): %s", member, archive_error_string(a));
		goto out;
	}
	if (!data) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			     "%s: no control.tar member: not a .deb", member);
		goto out;
	}
	*ret = data;
	*ret_len = len;
	data = NULL;
out:
	free(data);
	archive_read_free(a);
	return r;
}

/* The control file (./control) of a control.tar held in memory. */
static int read_control(struct pib_err *err, const char *member, const char *tar, size_t tar_len,
			char **ret, size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *data = NULL;
	size_t len = 0, n = 0;
	uint64_t skipped = 0;
	int r = 0, ar;

	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, tar, tar_len) != ARCHIVE_OK) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			     "%s: its control.tar cannot be read: %s", member, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (++n > PKGMETA_MAX_ENTRIES) {
			r = pib_fail(err, -E2BIG, PIB_ERR_FAILED, "package.invalid",
				     "%s: more than %d entries in its control.tar", member,
				     PKGMETA_MAX_ENTRIES);
			goto out;
		}
		if (!name || (strcmp(name, "./control") && strcmp(name, "control"))) {
			/* what is read past is bounded: a bomb before ./control reads as one */
			if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
				skipped += (uint64_t)archive_entry_size(e);
			if (skipped > PKGMETA_MAX_SKIPPED) {
				r = pib_fail(err, -EFBIG, PIB_ERR_FAILED, "package.invalid",
					     "%s: its control.tar holds more than %u MiB before ./control",
					     member, PKGMETA_MAX_SKIPPED >> 20);
				goto out;
			}
			continue;
		}
		if (data) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
				     "%s: its control.tar holds ./control twice", member);
			goto out;
		}
		if (archive_entry_filetype(e) != AE_IFREG) {
			r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
				     "%s: ./control in its control.tar is not a regular file", member);
			goto out;
		}
		if ((r = read_entry_data(a, PKGMETA_MAX_CONTROL, &data, &len)) < 0) {
			r = r == -ENOMEM ? pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory")
					 : pib_fail(err, r, PIB_ERR_FAILED, "package.invalid",
						    "%s: its control file cannot be read%s", member,
						    r == -EFBIG ? ": larger than 1 MiB" : "");
			goto out;
		}
	}
	if (ar != ARCHIVE_EOF) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			     "%s: its control.tar cannot be read: %s", member, archive_error_string(a));
		goto out;
	}
	if (!data) {
		r = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
			     "%s: its control.tar has no ./control", member);
		goto out;
	}
	*ret = data;
	*ret_len = len;
	data = NULL;
out:
	free(data);
	archive_read_free(a);
	return r;
}

int inst_deb_read_control(const char *path, const char *member, char **ret, size_t *ret_len,
			  struct pib_err *err)
{
	char *tar = NULL;
	size_t tar_len = 0;
	int r;

	if ((r = read_control_tar(err, member, path, &tar, &tar_len)) >= 0)
		r = read_control(err, member, tar, tar_len, ret, ret_len);
	if (r == -ENOMEM)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	free(tar);
	return r;
}

enum { F_PACKAGE, F_VERSION, F_ARCH, F_N };
static const char *const field_names[F_N] = {"Package", "Version", "Architecture"};

/*
 * The values of Package, Version and Architecture of a control file (one paragraph; a field
 * continued on the next lines keeps them, joined by '\n', so that the check refuses it).
 */
static int parse_control(struct pib_err *err, const char *member, char *text, size_t len,
			 char *val[F_N])
{
	if (memchr(text, '\0', len))
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
				"%s: its control file holds a NUL byte", member);
	int cur = -1; /* the field whose continuation lines follow, or -1 */
	bool ended = false;
	char *save = NULL;
	/* strtok_r would drop empty lines, which end the paragraph: split by hand */
	for (char *line = text; line && *line; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		size_t ll = strlen(line);
		while (ll && (line[ll - 1] == ' ' || line[ll - 1] == '\t' || line[ll - 1] == '\r'))
			line[--ll] = '\0';
		if (ll == 0) {
			ended = true;
			cur = -1;
			continue;
		}
		if (ended)
			return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
					"%s: its control file holds more than one paragraph", member);
		if (line[0] == ' ' || line[0] == '\t') {
			if (cur >= 0) {
				char *j = pib_asprintf("%s\n%s", val[cur], line);
				if (!j)
					return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
				free(val[cur]);
				val[cur] = j;
			}
			continue;
		}
		cur = -1;
		char *colon = strchr(line, ':');
		if (!colon)
			continue; /* dpkg refuses it too; nothing of ours to read in it */
		for (int f = 0; f < F_N; f++) {
			size_t fl = strlen(field_names[f]);
			if ((size_t)(colon - line) != fl || strncasecmp(line, field_names[f], fl))
				continue;
			if (val[f])
				return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
						"%s: field %s: given twice in its control file", member,
						field_names[f]);
			const char *v = colon + 1;
			v += strspn(v, " \t");
			if (!(val[f] = strdup(v)))
				return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			cur = f;
		}
	}
	for (int f = 0; f < F_N; f++)
		if (!val[f])
			return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.invalid",
					"%s: field %s: missing from its control file", member,
					field_names[f]);
	return 0;
}

static int check_one(struct inst_ctx *c, const char *member, const char *path)
{
	char *control = NULL, *val[F_N] = {0};
	size_t len = 0;
	int r;

	if ((r = inst_deb_read_control(path, member, &control, &len, c->err)) < 0)
		goto out;
	if ((r = parse_control(c->err, member, control, len, val)) < 0)
		goto out;
	r = inst_pkgmeta_check(c->err, true, member, val[F_PACKAGE], val[F_VERSION], val[F_ARCH]);
out:
	if (r == -ENOMEM)
		pib_fail(c->err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
	free(control);
	for (int f = 0; f < F_N; f++)
		free(val[f]);
	return r;
}

int inst_deb_check_control(struct inst_ctx *c)
{
	const struct mf_target *t = c->target;

	for (size_t i = 0; i < t->n_packages; i++) {
		const struct bundle_member *m = bundle_find(c->bundle, t->packages[i].file);
		int r;
		if (!m)
			return pib_fail(c->err, -ENOENT, PIB_ERR_FAILED, "bundle.missing_member",
					"%s: not in the bundle", t->packages[i].file);
		if ((r = check_one(c, t->packages[i].file, m->path)) < 0)
			return r;
	}
	return 0;
}
