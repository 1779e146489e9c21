/* SPDX-License-Identifier: MIT */
/* The tables of an MSI, read with libmsi and resolved to install paths (msi_tables.h). */
#include "msi_tables.h"

#include <errno.h>
#include <fcntl.h>
#include <libmsi.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSI_FILE_MAX	(4ull << 30) /* an MSI larger is refused (msi.unreadable) */
#define MSI_FIELD_MAX	65536u	     /* a string column longer is msi.invalid */
#define MSI_RESULT_MAX	(256u << 20) /* bytes of tables the reading child may send back */
#define MSI_CPU_SECONDS 120	     /* CPU time the reading child may use */

static const unsigned char ole_magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};

/* The folder properties Windows Installer sets itself: a Directory row with one of these ids is
 * that folder. */
static const char *const system_folders[] = {
    "AdminToolsFolder",	     "AppDataFolder",	     "CommonAppDataFolder",
    "CommonFiles64Folder",   "CommonFilesFolder",    "DesktopFolder",
    "FavoritesFolder",	     "FontsFolder",	     "LocalAppDataFolder",
    "MyPicturesFolder",	     "NetHoodFolder",	     "PersonalFolder",
    "PrintHoodFolder",	     "ProgramFiles64Folder", "ProgramFilesFolder",
    "ProgramMenuFolder",     "RecentFolder",	     "SendToFolder",
    "StartMenuFolder",	     "StartupFolder",	     "System16Folder",
    "System64Folder",	     "SystemFolder",	     "TempFolder",
    "TemplateFolder",	     "WindowsFolder",	     "WindowsVolume",
    "CommonStartupFolder",   "CommonDesktopFolder",  "CommonProgramMenuFolder",
    "CommonStartMenuFolder",
};

bool msi_is_system_folder(const char *id)
{
	for (size_t i = 0; id && i < sizeof(system_folders) / sizeof(system_folders[0]); i++)
		if (!strcmp(id, system_folders[i]))
			return true;
	return false;
}

/* A directory or file name: not empty, not "..", no separator, no control character. */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\' || c == '/' || c == ':' || c == '|')
			return false;
	}
	return true;
}

/* The long name of "short|long" (or "name") in [s, s+n): checked, copied to *ret. */
static int long_name(const char *s, size_t n, bool dot_ok, char **ret)
{
	const char *bar = memchr(s, '|', n);
	if (bar) {
		if (!name_ok(s, (size_t)(bar - s)))
			return -EINVAL;
		n -= (size_t)(bar + 1 - s);
		s = bar + 1;
	}
	if (n == 1 && s[0] == '.') {
		if (!dot_ok)
			return -EINVAL;
	} else if (!name_ok(s, n)) {
		return -EINVAL;
	}
	char *r = pib_strndup(s, n);
	if (!r)
		return -ENOMEM;
	*ret = r;
	return 0;
}

int msi_defaultdir_target(const char *default_dir, char **ret)
{
	if (!default_dir)
		return -EINVAL;
	const char *colon = strchr(default_dir, ':');
	size_t n = colon ? (size_t)(colon - default_dir) : strlen(default_dir);
	if (colon && strchr(colon + 1, ':'))
		return -EINVAL;
	return long_name(default_dir, n, true, ret);
}

int msi_filename_long(const char *file_name, char **ret)
{
	if (!file_name)
		return -EINVAL;
	return long_name(file_name, strlen(file_name), false, ret);
}

char *msi_path_join(const char *dir, const char *name)
{
	size_t l = strlen(dir);
	if (!strcmp(name, "."))
		return pib_strdup(dir);
	return pib_asprintf("%s%s%s", dir, l && dir[l - 1] == ']' ? "" : "/", name);
}

/* Rows are kept sorted by their key, and found by bsearch: a lookup per row, never a scan. */
static int dir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msi_dir *)a)->id, ((const struct msi_dir *)b)->id);
}

static int comp_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msi_component *)a)->id, ((const struct msi_component *)b)->id);
}

static struct msi_dir *dir_find(struct msi_dir *dirs, size_t n, const char *id)
{
	struct msi_dir key = {.id = (char *)id};
	return id && n ? bsearch(&key, dirs, n, sizeof(*dirs), dir_cmp) : NULL;
}

static const struct msi_component *comp_by_id(const struct msi_tables *t, const char *id)
{
	struct msi_component key = {.id = (char *)id};
	return id && t->n_comps ? bsearch(&key, t->comps, t->n_comps, sizeof(*t->comps), comp_cmp) : NULL;
}

static bool dir_is_root(const struct msi_dir *d)
{
	return !d->parent || !d->parent[0] || !strcmp(d->parent, d->id) ||
	       msi_is_system_folder(d->id);
}

/* An MSI Identifier: a letter or underscore, then letters, digits, underscores and periods. */
static bool is_identifier(const char *s)
{
	if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* msi.invalid: "NAME: table Directory, row ROW, column COL: WHAT VALUE END", row and value cleaned.
 */
static int row_fail(struct pib_err *err, int rc, const char *name, const char *row, const char *col,
		    const char *what, const char *value, const char *end)
{
	char *r = pib_text_clean(row ? row : "?", false),
	     *v = pib_text_clean(value ? value : "(null)", false);
	pib_fail(err, rc, PIB_ERR_FAILED, "msi.invalid",
		 "%s: table Directory, row %s, column %s: %s %s%s", name, r ? r : "?", col, what,
		 v ? v : "?", end);
	free(r);
	free(v);
	return rc;
}

/* One directory's path: its chain of parents walked up (bounded, cycles seen), then joined down. */
static int dir_resolve(struct msi_dir *dirs, size_t n, struct msi_dir *d, const char *name,
		       struct pib_err *err)
{
	struct msi_dir *chain[MSI_DIR_DEPTH_MAX + 1];
	size_t depth = 0;
	struct msi_dir *c = d;

	while (!c->path && !dir_is_root(c)) {
		if (depth == MSI_DIR_DEPTH_MAX)
			goto too_deep;
		for (size_t i = 0; i < depth; i++)
			if (chain[i] == c)
				return row_fail(err, -ELOOP, name, d->id, "Directory_Parent",
						"a cycle of parents (through", c->id, ")");
		chain[depth++] = c;
		struct msi_dir *p = dir_find(dirs, n, c->parent);
		if (!p)
			return row_fail(err, -ENOENT, name, c->id, "Directory_Parent",
					"no Directory row", c->parent, "");
		c = p;
	}
	/* a root becomes "[ID]": an identifier only, so that no id can pose as a path ("X]Acme/")
	 */
	if (!c->path && !is_identifier(c->id))
		return row_fail(err, -EINVAL, name, c->id, "Directory", "not an identifier:", c->id,
				"");
	if (!c->path && !(c->path = pib_asprintf("[%s]", c->id)))
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	while (depth > 0) {
		struct msi_dir *x = chain[--depth];
		char *t = NULL;
		int r = msi_defaultdir_target(x->default_dir, &t);
		if (r == -ENOMEM)
			return pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "out of memory");
		if (r < 0) {
			char *v = pib_text_clean(x->default_dir ? x->default_dir : "(null)", false);
			pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				 "%s: table Directory, row %s, column DefaultDir: \"%s\" is not a "
				 "directory name",
				 name, x->id, v ? v : "?");
			free(v);
			return -EINVAL;
		}
		if (c->depth >= MSI_DIR_DEPTH_MAX) {
			free(t);
			goto too_deep;
		}
		x->path = msi_path_join(c->path, t);
		x->depth = c->depth + 1;
		free(t);
		if (!x->path)
			return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		c = x;
	}
	return 0;
too_deep:;
	char *k = pib_text_clean(d->id, false);
	pib_fail(err, -ELOOP, PIB_ERR_FAILED, "msi.invalid",
		 "%s: table Directory, row %s: nested deeper than %u directories", name,
		 k ? k : "?", MSI_DIR_DEPTH_MAX);
	free(k);
	return -ELOOP;
}

int msi_dirs_resolve(struct msi_dir *dirs, size_t n, const char *name, struct pib_err *err)
{
	if (n)
		qsort(dirs, n, sizeof(*dirs), dir_cmp);
	for (size_t i = 0; i < n; i++) {
		int r = dir_resolve(dirs, n, &dirs[i], name, err);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *msi_registry_root_word(int32_t root)
{
	switch (root) {
	case -1:
		return "HKMU";
	case 0:
		return "HKCR";
	case 1:
		return "HKCU";
	case 2:
		return "HKLM";
	case 3:
		return "HKU";
	default:
		return NULL;
	}
}

const char *msi_service_start_word(int32_t start_type)
{
	static const char *const w[] = {"boot", "system", "auto", "demand", "disabled"};
	return start_type >= 0 && start_type <= 4 ? w[start_type] : "unknown";
}

const char *msi_service_account(const char *start_name)
{
	if (!start_name || !start_name[0] || !strcasecmp(start_name, "LocalSystem") ||
	    !strcasecmp(start_name, ".\\LocalSystem") ||
	    !strcasecmp(start_name, "NT AUTHORITY\\SYSTEM"))
		return "LocalSystem";
	return start_name;
}

const char *msi_ca_base_word(int32_t type)
{
	switch (type & 0x07) {
	case 1:
		return "dll";
	case 2:
		return "exe";
	case 3:
		switch (type & 0x30) {
		case 0x10:
			return "error";
		case 0x20:
			return "directory";
		case 0x30:
			return "property";
		default:
			return "unknown";
		}
	case 5:
		return "jscript";
	case 6:
		return "vbscript";
	case 7:
		return "install";
	default:
		return "unknown";
	}
}

const char *msi_ca_source_word(int32_t type)
{
	int base = type & 0x07;
	switch (type & 0x30) {
	case 0x00:
		return base == 7 ? "substorage" : "binary";
	case 0x10:
		return base == 3 ? "text" : "file";
	case 0x20:
		return (base == 5 || base == 6) ? "text" : base == 7 ? "product" : "directory";
	default:
		return "property";
	}
}

bool msi_ca_runs_code(int32_t type)
{
	int base = type & 0x07;
	return base == 1 || base == 2 || base == 5 || base == 6;
}

bool msi_ca_runs_as_system(int32_t type)
{
	return (type & MSI_CA_IN_SCRIPT) && (type & MSI_CA_NO_IMPERSONATE);
}

int msi_ca_describe(int32_t type, struct pib_buf *b)
{
	static const char *const src[] = {"binary", "file",	  "directory", "property",
					  "text",   "substorage", "product"};
	static const char *const how[] = {"from the Binary table",    "from an installed file",
					  "with a working directory", "from a property",
					  "in the action's Target",   "from a substorage",
					  "of an advertised product"};
	const char *s = msi_ca_source_word(type), *h = "";
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (!strcmp(s, src[i]))
			h = how[i];
	int base = type & 0x07;
	if (pib_buf_printf(b, "%s", msi_ca_base_word(type)) < 0 ||
	    (base != 3 && pib_buf_printf(b, " %s", h) < 0))
		return -ENOMEM;
	struct {
		int32_t bit;
		const char *word;
	} flags[] = {
	    {MSI_CA_IN_SCRIPT, "deferred"},
	    {MSI_CA_NO_IMPERSONATE, "no impersonation"},
	    {MSI_CA_ASYNC, "async"},
	    {MSI_CA_CONTINUE, "continue on error"},
	    {MSI_CA_64BIT_SCRIPT, "64-bit script"},
	    {MSI_CA_HIDE_TARGET, "hidden target"},
	    {MSI_CA_TS_AWARE, "terminal server aware"},
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if ((type & flags[i].bit) && pib_buf_printf(b, ", %s", flags[i].word) < 0)
			return -ENOMEM;
	const char *when = NULL;
	if (type & MSI_CA_IN_SCRIPT)
		when = (type & MSI_CA_ROLLBACK) ? "rollback"
		       : (type & MSI_CA_COMMIT) ? "commit"
						: NULL;
	else if ((type & 0x300) == 0x300)
		when = "once per client and server";
	else if (type & 0x100)
		when = "first sequence only";
	else if (type & 0x200)
		when = "once per process";
	if (when && pib_buf_printf(b, ", %s", when) < 0)
		return -ENOMEM;
	if (msi_ca_runs_as_system(type) && pib_buf_printf(b, " (runs as LocalSystem)") < 0)
		return -ENOMEM;
	return 0;
}

/* ---- reading with libmsi ---- */

/*
 * libmsi and libgsf say why they fail in GLib log messages on stderr (warnings, criticals):
 * while an MSI is read they are kept, the last one as the reason of the error, never printed.
 */
static char glib_first[256], glib_last[256], glib_why[520];

static void glib_keep(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)level;
	(void)data;
	char *slot = glib_first[0] ? glib_last : glib_first;
	snprintf(slot, sizeof(glib_first), "%s%s%s", domain ? domain : "", domain ? ": " : "",
		 msg ? msg : "");
}

/* What libmsi and libgsf said: the first and the last message, or NULL. */
static const char *glib_said(void)
{
	if (!glib_first[0])
		return NULL;
	snprintf(glib_why, sizeof(glib_why), "%s%s%s", glib_first, glib_last[0] ? "; " : "",
		 glib_last);
	return glib_why;
}

struct reader {
	LibmsiDatabase *db;
	const char *name;
	struct pib_err *err;
	char **tables; /* the names in _Tables */
};

static int oom(struct pib_err *err)
{
	return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
}

static bool has_table(const struct reader *r, const char *table)
{
	for (char **t = r->tables; t && *t; t++)
		if (!strcmp(*t, table))
			return true;
	return false;
}

/* Runs "SELECT cols FROM table" and calls row() for each record (at most MSI_ROWS_MAX). */
static int query_rows(struct reader *r, const char *table, const char *cols,
		      int (*row)(struct reader *r, LibmsiRecord *rec, void *ctx), void *ctx)
{
	GError *ge = NULL;
	char *sql = pib_asprintf("SELECT %s FROM `%s`", cols, table);
	if (!sql)
		return oom(r->err);
	LibmsiQuery *q = libmsi_query_new(r->db, sql, &ge);
	free(sql);
	int rc = 0;
	if (!q || !libmsi_query_execute(q, NULL, &ge)) {
		rc = pib_fail(r->err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: table %s: cannot be read (columns %s): %s", r->name, table, cols,
			      ge && ge->message ? ge->message
			      : glib_said()	? glib_said()
						: "libmsi gave no reason");
		goto out;
	}
	for (size_t n = 0;; n++) {
		LibmsiRecord *rec = libmsi_query_fetch(q, &ge);
		if (!rec) {
			/* the end of the rows: NULL without an error */
			if (ge)
				rc = pib_fail(r->err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
					      "%s: table %s: row %zu cannot be read: %s", r->name,
					      table, n + 1,
					      ge->message ? ge->message : "libmsi gave no reason");
			break;
		}
		if (n == MSI_ROWS_MAX) {
			g_object_unref(rec);
			rc = pib_fail(r->err, -E2BIG, PIB_ERR_FAILED, "msi.invalid",
				      "%s: table %s: more than %u rows", r->name, table,
				      MSI_ROWS_MAX);
			break;
		}
		rc = row(r, rec, ctx);
		g_object_unref(rec);
		if (rc < 0)
			break;
	}
out:
	if (ge)
		g_error_free(ge);
	if (q) {
		libmsi_query_close(q, NULL);
		g_object_unref(q);
	}
	return rc;
}

/* Field i of rec as a new string (NULL for a null field, in *ret); -ENOMEM, or -E2BIG when too
 * long. */
static int field_str(LibmsiRecord *rec, unsigned i, char **ret)
{
	*ret = NULL;
	if (libmsi_record_is_null(rec, i))
		return 0;
	gchar *s = libmsi_record_get_string(rec, i);
	if (!s)
		return 0;
	int rc = 0;
	if (strlen(s) > MSI_FIELD_MAX)
		rc = -E2BIG;
	else if (!(*ret = pib_strdup(s)))
		rc = -ENOMEM;
	g_free(s);
	return rc;
}

static int32_t field_int(LibmsiRecord *rec, unsigned i)
{
	return libmsi_record_is_null(rec, i) ? MSI_NULL_INT
					     : (int32_t)libmsi_record_get_int(rec, i);
}

/*
 * Reads the string fields of rec named in cols (1-based field i into *out[i-1]); a NULL in
 * a column required (its bit in required) is msi.invalid naming table, row (field 1) and column.
 */
static int fields(struct reader *r, LibmsiRecord *rec, const char *table, const char *const *names,
		  char ***out, size_t n, unsigned required)
{
	for (size_t i = 0; i < n; i++) {
		if (!out[i])
			continue;
		int rc = field_str(rec, (unsigned)i + 1, out[i]);
		if (rc == -ENOMEM)
			return oom(r->err);
		if (rc < 0 || (!*out[i] && (required & (1u << i)))) {
			char *key = i > 0 && *out[0] ? pib_text_clean(*out[0], false) : NULL;
			pib_fail(r->err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				 "%s: table %s, row %s, column %s: %s", r->name, table,
				 key ? key : "?", names[i],
				 rc < 0 ? "longer than 64 KiB"
					: "empty, where the MSI format requires a value");
			free(key);
			return -EINVAL;
		}
	}
	return 0;
}

#define GROW(v, n)                                                                                 \
	do {                                                                                       \
		if (((n) & ((n)-1)) == 0 || (n) == 0) {                                            \
			size_t cap_ = (n) ? (n)*2 : 8;                                             \
			void *nv_ = realloc((v), cap_ * sizeof(*(v)));                             \
			if (!nv_)                                                                  \
				return oom(r->err);                                                \
			(v) = nv_;                                                                 \
		}                                                                                  \
	} while (0)

static int row_tables(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	char *s = NULL;
	(void)ctx;
	if (field_str(rec, 1, &s) == -ENOMEM)
		return oom(r->err);
	if (s && pib_strv_push(&r->tables, s) < 0) {
		free(s);
		return oom(r->err);
	}
	free(s);
	return 0;
}

static int row_property(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	char *k = NULL, *v = NULL;
	static const char *const names[] = {"Property", "Value"};
	char **out[] = {&k, &v};
	int rc = fields(r, rec, "Property", names, out, 2, 1u);
	if (rc < 0) {
		free(k);
		free(v);
		return rc;
	}
	char **slot = !strcmp(k, "ProductCode")	     ? &t->product_code
		      : !strcmp(k, "ProductVersion") ? &t->product_version
		      : !strcmp(k, "ProductName")    ? &t->product_name
		      : !strcmp(k, "Manufacturer")   ? &t->manufacturer
		      : !strcmp(k, "UpgradeCode")    ? &t->upgrade_code
						     : NULL;
	if (slot && !*slot) {
		*slot = v;
		v = NULL;
	}
	free(k);
	free(v);
	return 0;
}

static int row_directory(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	static const char *const names[] = {"Directory", "Directory_Parent", "DefaultDir"};
	GROW(t->dirs, t->n_dirs);
	struct msi_dir *d = &t->dirs[t->n_dirs];
	memset(d, 0, sizeof(*d));
	char **out[] = {&d->id, &d->parent, &d->default_dir};
	t->n_dirs++;
	return fields(r, rec, "Directory", names, out, 3, 1u | 4u);
}

static int row_component(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	static const char *const names[] = {"Component",  "ComponentId", "Directory_",
					    "Attributes", "Condition",	 "KeyPath"};
	GROW(t->comps, t->n_comps);
	struct msi_component *c = &t->comps[t->n_comps];
	memset(c, 0, sizeof(*c));
	char **out[] = {&c->id, &c->guid, &c->dir, NULL, &c->condition, &c->key_path};
	t->n_comps++;
	c->attributes = field_int(rec, 4);
	return fields(r, rec, "Component", names, out, 6, 1u | 4u);
}

static int row_file(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	static const char *const names[] = {"File",	"Component_", "FileName",
					    "FileSize", "Attributes", "Sequence"};
	GROW(t->files, t->n_files);
	struct msi_file *f = &t->files[t->n_files];
	memset(f, 0, sizeof(*f));
	char *fname = NULL;
	char **out[] = {&f->key, &f->component, &fname};
	t->n_files++;
	f->size = field_int(rec, 4);
	f->attributes = field_int(rec, 5);
	f->sequence = field_int(rec, 6);
	int rc = fields(r, rec, "File", names, out, 3, 7u);
	if (rc == 0) {
		rc = msi_filename_long(fname, &f->name);
		if (rc == -ENOMEM) {
			rc = oom(r->err);
		} else if (rc < 0) {
			char *k = pib_text_clean(f->key, false), *v = pib_text_clean(fname, false);
			rc = pib_fail(
			    r->err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			    "%s: table File, row %s, column FileName: \"%s\" is not a file name",
			    r->name, k ? k : "?", v ? v : "?");
			free(k);
			free(v);
		}
	}
	free(fname);
	return rc;
}

static int row_service(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	static const char *const names[] = {"ServiceInstall", "Name",	   "DisplayName",
					    "ServiceType",    "StartType", "ErrorControl",
					    "StartName",      "Arguments", "Component_"};
	GROW(t->services, t->n_services);
	struct msi_service *s = &t->services[t->n_services];
	memset(s, 0, sizeof(*s));
	char **out[] = {&s->key, &s->name,	 &s->display_name, NULL,	 NULL,
			NULL,	 &s->start_name, &s->arguments,	   &s->component};
	t->n_services++;
	s->service_type = field_int(rec, 4);
	s->start_type = field_int(rec, 5);
	s->error_control = field_int(rec, 6);
	return fields(r, rec, "ServiceInstall", names, out, 9, 1u | 2u | 256u);
}

static int row_registry(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	static const char *const names[] = {"Registry", "Root",	 "Key",
					    "Name",	"Value", "Component_"};
	GROW(t->regs, t->n_regs);
	struct msi_registry *g = &t->regs[t->n_regs];
	memset(g, 0, sizeof(*g));
	char **out[] = {&g->key, NULL, &g->reg_key, &g->name, &g->value, &g->component};
	t->n_regs++;
	g->root = field_int(rec, 2);
	return fields(r, rec, "Registry", names, out, 6, 1u | 4u | 32u);
}

static int row_action(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	static const char *const names[] = {"Action", "Type", "Source", "Target"};
	GROW(t->actions, t->n_actions);
	struct msi_action *a = &t->actions[t->n_actions];
	memset(a, 0, sizeof(*a));
	char **out[] = {&a->action, NULL, &a->source, &a->target};
	t->n_actions++;
	a->type = field_int(rec, 2);
	a->sequence = MSI_NULL_INT;
	int rc = fields(r, rec, "CustomAction", names, out, 4, 1u);
	if (rc == 0 && a->type == MSI_NULL_INT) {
		char *k = pib_text_clean(a->action, false);
		rc = pib_fail(r->err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: table CustomAction, row %s, column Type: empty", r->name,
			      k ? k : "?");
		free(k);
	}
	return rc;
}

static int row_sequence(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct msi_tables *t = ctx;
	char *act = NULL, *cond = NULL;
	static const char *const names[] = {"Action", "Condition", "Sequence"};
	char **out[] = {&act, &cond, NULL};
	int rc = fields(r, rec, "InstallExecuteSequence", names, out, 3, 1u);
	for (size_t i = 0; rc == 0 && i < t->n_actions; i++) {
		struct msi_action *a = &t->actions[i];
		if (strcmp(a->action, act) || a->sequenced)
			continue;
		a->sequenced = true;
		a->sequence = field_int(rec, 3);
		a->condition = cond;
		cond = NULL;
	}
	free(act);
	free(cond);
	return rc;
}

/* Joins each row to the row it names: component to directory, file to component, service to
 * component. */
static int link_rows(struct reader *r, struct msi_tables *t)
{
	for (size_t i = 0; i < t->n_comps; i++) {
		struct msi_component *c = &t->comps[i];
		if (!(c->d = dir_find(t->dirs, t->n_dirs, c->dir)))
			goto missing_comp;
		continue;
	missing_comp:;
		char *k = pib_text_clean(c->id, false), *v = pib_text_clean(c->dir, false);
		pib_fail(r->err, -ENOENT, PIB_ERR_FAILED, "msi.invalid",
			 "%s: table Component, row %s, column Directory_: no Directory row %s",
			 r->name, k ? k : "?", v ? v : "?");
		free(k);
		free(v);
		return -ENOENT;
	}
	for (size_t i = 0; i < t->n_files; i++) {
		struct msi_file *f = &t->files[i];
		f->c = comp_by_id(t, f->component);
		if (!f->c) {
			char *k = pib_text_clean(f->key, false),
			     *v = pib_text_clean(f->component, false);
			pib_fail(r->err, -ENOENT, PIB_ERR_FAILED, "msi.invalid",
				 "%s: table File, row %s, column Component_: no Component row %s",
				 r->name, k ? k : "?", v ? v : "?");
			free(k);
			free(v);
			return -ENOENT;
		}
		if (!(f->path = msi_path_join(f->c->d->path, f->name)))
			return oom(r->err);
	}
	for (size_t i = 0; i < t->n_services; i++) {
		struct msi_service *s = &t->services[i];
		s->c = comp_by_id(t, s->component);
		if (!s->c) {
			char *k = pib_text_clean(s->key, false),
			     *v = pib_text_clean(s->component, false);
			pib_fail(r->err, -ENOENT, PIB_ERR_FAILED, "msi.invalid",
				 "%s: table ServiceInstall, row %s, column Component_: no "
				 "Component row %s",
				 r->name, k ? k : "?", v ? v : "?");
			free(k);
			free(v);
			return -ENOENT;
		}
	}
	return 0;
}

/* Checks that fd is a regular OLE compound file (within MSI_FILE_MAX); 0 or an error. */
static int check_msi_fd(int fd, const char *name, struct pib_err *err)
{
	struct stat st;
	unsigned char magic[8];

	if (fstat(fd, &st) < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "msi.unreadable", "%s: %s", name,
				strerror(errno));
	if (!S_ISREG(st.st_mode))
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.unreadable",
				"%s: not a regular file", name);
	if ((uint64_t)st.st_size > MSI_FILE_MAX)
		return pib_fail(err, -EFBIG, PIB_ERR_FAILED, "msi.unreadable",
				"%s: larger than 4 GiB", name);
	if (st.st_size < 512 || pib_read_full(fd, magic, sizeof(magic), 0) < 0 ||
	    memcmp(magic, ole_magic, 8))
		return pib_fail(
		    err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
		    "%s: not an MSI: no OLE compound file signature (D0 CF 11 E0 A1 B1 1A E1)",
		    name);
	return 0;
}

/* Opens path (fd_in < 0) or a duplicate of fd_in as a regular OLE compound file; the fd or an
 * error. */
static int open_msi(const char *path, int fd_in, const char *name, struct pib_err *err)
{
	int fd = fd_in >= 0 ? fcntl(fd_in, F_DUPFD_CLOEXEC, 3)
			    : open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "msi.unreadable",
				"%s: cannot open: %s", name, strerror(errno));
	int rc = check_msi_fd(fd, name, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* What the reading child does once the tables are read, with the database still open. */
typedef int (*tables_then_fn)(struct reader *r, struct msi_tables *t, void *ctx);

/*
 * The tables read with libmsi in this process (the child of msi_tables_read): of the file at
 * path, or of fd_in when it is >= 0. then (optional) runs on success before the database closes.
 */
static int tables_read_here(const char *path, int fd_in, const char *name, struct msi_tables *t,
			    struct pib_err *err, tables_then_fn then, void *then_ctx)
{
	struct reader r = {.name = name, .err = err};
	GError *ge = NULL;
	char fdpath[64];
	int rc;

	memset(t, 0, sizeof(*t));
	int fd = open_msi(path, fd_in, name, err);
	if (fd < 0)
		return fd;
	glib_first[0] = glib_last[0] = 0;
	GLogFunc old_log = g_log_set_default_handler(glib_keep, NULL);
	/* libmsi opens by name: through /proc the file checked above, not whatever path names now
	 */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	r.db = libmsi_database_new(access(fdpath, R_OK) == 0 || !path ? fdpath : path,
				   LIBMSI_DB_FLAGS_READONLY, NULL, &ge);
	if (!r.db) {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: not an MSI, or a damaged one: libmsi cannot open it: %s", name,
			      ge && ge->message ? ge->message
			      : glib_said()	? glib_said()
						: "no reason given");
		goto out;
	}
	if ((rc = query_rows(&r, "_Tables", "`Name`", row_tables, NULL)) < 0)
		goto out;
	if (!has_table(&r, "Property")) {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: not an MSI: it has no Property table", name);
		goto out;
	}
	if ((rc = query_rows(&r, "Property", "`Property`, `Value`", row_property, t)) < 0)
		goto out;
	if (!t->product_code) {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: table Property: no ProductCode row (every MSI has one)", name);
		goto out;
	}
	struct {
		const char *table, *cols;
		int (*row)(struct reader *, LibmsiRecord *, void *);
	} steps[] = {
	    {"Directory", "`Directory`, `Directory_Parent`, `DefaultDir`", row_directory},
	    {"Component",
	     "`Component`, `ComponentId`, `Directory_`, `Attributes`, `Condition`, `KeyPath`",
	     row_component},
	    {"File", "`File`, `Component_`, `FileName`, `FileSize`, `Attributes`, `Sequence`",
	     row_file},
	    {"ServiceInstall",
	     "`ServiceInstall`, `Name`, `DisplayName`, `ServiceType`, `StartType`, `ErrorControl`, "
	     "`StartName`, "
	     "`Arguments`, `Component_`",
	     row_service},
	    {"Registry", "`Registry`, `Root`, `Key`, `Name`, `Value`, `Component_`", row_registry},
	    {"CustomAction", "`Action`, `Type`, `Source`, `Target`", row_action},
	    {"InstallExecuteSequence", "`Action`, `Condition`, `Sequence`", row_sequence},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (has_table(&r, steps[i].table) &&
		    (rc = query_rows(&r, steps[i].table, steps[i].cols, steps[i].row, t)) < 0)
			goto out;
	if ((rc = msi_dirs_resolve(t->dirs, t->n_dirs, name, err)) < 0)
		goto out;
	if (t->n_comps)
		qsort(t->comps, t->n_comps, sizeof(*t->comps), comp_cmp);
	rc = link_rows(&r, t);
	if (rc == 0) {
		/* the platform it is built for: Template "x64;1033" (absent or unreadable: NULL) */
		GError *se = NULL;
		LibmsiSummaryInfo *si = libmsi_summary_info_new(r.db, 0, &se);
		const gchar *tp = si ? libmsi_summary_info_get_string(si, LIBMSI_PROPERTY_TEMPLATE, NULL) : NULL;
		if (tp && strlen(tp) <= 255 && !(t->template_ = pib_strdup(tp)))
			rc = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		if (si)
			g_object_unref(si);
		if (se)
			g_error_free(se);
	}
	if (rc == 0 && then)
		rc = then(&r, t, then_ctx);
out:
	if (ge)
		g_error_free(ge);
	if (r.db)
		g_object_unref(r.db);
	pib_strv_free(r.tables);
	g_log_set_default_handler(old_log, NULL);
	close(fd);
	if (rc < 0)
		msi_tables_free(t);
	return rc;
}

/*
 * libmsi is not safe on hostile input (a stream whose blocks are missing made libmsi_database_new
 * dereference NULL in 0.101): it reads in a child process, limited in CPU time, which sends the
 * tables back through a pipe as length-prefixed fields; a child that dies is msi.invalid, the
 * agent goes on.
 */
static int put_u32(struct pib_buf *b, uint32_t v)
{
	return pib_buf_append(b, &v, sizeof(v));
}

static int put_str(struct pib_buf *b, const char *s)
{
	if (!s)
		return put_u32(b, UINT32_MAX);
	size_t l = strlen(s);
	return put_u32(b, (uint32_t)l) < 0 || pib_buf_append(b, s, l) < 0 ? -ENOMEM : 0;
}

static int put_tables(struct pib_buf *b, const struct msi_tables *t)
{
	int r = 0;
	r |= put_str(b, t->product_code) | put_str(b, t->product_version) |
	     put_str(b, t->product_name) | put_str(b, t->manufacturer) |
	     put_str(b, t->upgrade_code) | put_str(b, t->template_);
	r |= put_u32(b, (uint32_t)t->n_dirs);
	for (size_t i = 0; i < t->n_dirs; i++) {
		const struct msi_dir *d = &t->dirs[i];
		r |= put_str(b, d->id) | put_str(b, d->parent) | put_str(b, d->default_dir) |
		     put_str(b, d->path) | put_u32(b, d->depth);
	}
	r |= put_u32(b, (uint32_t)t->n_comps);
	for (size_t i = 0; i < t->n_comps; i++) {
		const struct msi_component *c = &t->comps[i];
		r |= put_str(b, c->id) | put_str(b, c->guid) | put_str(b, c->dir) |
		     put_str(b, c->key_path) | put_str(b, c->condition) |
		     put_u32(b, (uint32_t)c->attributes);
	}
	r |= put_u32(b, (uint32_t)t->n_files);
	for (size_t i = 0; i < t->n_files; i++) {
		const struct msi_file *f = &t->files[i];
		r |= put_str(b, f->key) | put_str(b, f->component) | put_str(b, f->name) |
		     put_str(b, f->path) | put_u32(b, (uint32_t)f->size) |
		     put_u32(b, (uint32_t)f->attributes) | put_u32(b, (uint32_t)f->sequence);
	}
	r |= put_u32(b, (uint32_t)t->n_services);
	for (size_t i = 0; i < t->n_services; i++) {
		const struct msi_service *v = &t->services[i];
		r |= put_str(b, v->key) | put_str(b, v->name) | put_str(b, v->display_name) |
		     put_str(b, v->start_name) | put_str(b, v->arguments) |
		     put_str(b, v->component) | put_u32(b, (uint32_t)v->service_type) |
		     put_u32(b, (uint32_t)v->start_type) | put_u32(b, (uint32_t)v->error_control);
	}
	r |= put_u32(b, (uint32_t)t->n_regs);
	for (size_t i = 0; i < t->n_regs; i++) {
		const struct msi_registry *g = &t->regs[i];
		r |= put_str(b, g->key) | put_str(b, g->reg_key) | put_str(b, g->name) |
		     put_str(b, g->value) | put_str(b, g->component) |
		     put_u32(b, (uint32_t)g->root);
	}
	r |= put_u32(b, (uint32_t)t->n_actions);
	for (size_t i = 0; i < t->n_actions; i++) {
		const struct msi_action *a = &t->actions[i];
		r |= put_str(b, a->action) | put_str(b, a->source) | put_str(b, a->target) |
		     put_str(b, a->condition) | put_u32(b, (uint32_t)a->type) |
		     put_u32(b, a->sequenced) | put_u32(b, (uint32_t)a->sequence);
	}
	return r ? -ENOMEM : 0;
}

struct cursor {
	const char *p, *end;
	bool bad;
};

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v = 0;
	if (c->bad || (size_t)(c->end - c->p) < sizeof(v)) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p, sizeof(v));
	c->p += sizeof(v);
	return v;
}

static char *get_str(struct cursor *c)
{
	uint32_t l = get_u32(c);
	if (c->bad || l == UINT32_MAX)
		return NULL;
	if ((size_t)(c->end - c->p) < l) {
		c->bad = true;
		return NULL;
	}
	char *s = pib_strndup(c->p, l);
	c->p += l;
	if (!s)
		c->bad = true;
	return s;
}

/* A count of n elements of size sz each, allocated zeroed (at least 1 for calloc); NULL and bad on
 * nonsense. */
static void *get_array(struct cursor *c, size_t sz, size_t *n)
{
	*n = get_u32(c);
	if (c->bad || *n > MSI_ROWS_MAX) {
		c->bad = true;
		*n = 0;
		return NULL;
	}
	void *v = calloc(*n ? *n : 1, sz);
	if (!v) {
		c->bad = true;
		*n = 0;
	}
	return v;
}


static int get_tables(struct cursor *c, struct msi_tables *t)
{
	t->product_code = get_str(c);
	t->product_version = get_str(c);
	t->product_name = get_str(c);
	t->manufacturer = get_str(c);
	t->upgrade_code = get_str(c);
	t->template_ = get_str(c);
	t->dirs = get_array(c, sizeof(*t->dirs), &t->n_dirs);
	for (size_t i = 0; i < t->n_dirs; i++) {
		struct msi_dir *d = &t->dirs[i];
		d->id = get_str(c), d->parent = get_str(c), d->default_dir = get_str(c),
		d->path = get_str(c);
		d->depth = get_u32(c);
	}
	t->comps = get_array(c, sizeof(*t->comps), &t->n_comps);
	for (size_t i = 0; i < t->n_comps; i++) {
		struct msi_component *m = &t->comps[i];
		m->id = get_str(c), m->guid = get_str(c), m->dir = get_str(c),
		m->key_path = get_str(c);
		m->condition = get_str(c);
		m->attributes = (int32_t)get_u32(c);
	}
	t->files = get_array(c, sizeof(*t->files), &t->n_files);
	for (size_t i = 0; i < t->n_files; i++) {
		struct msi_file *f = &t->files[i];
		f->key = get_str(c), f->component = get_str(c), f->name = get_str(c),
		f->path = get_str(c);
		f->size = (int32_t)get_u32(c), f->attributes = (int32_t)get_u32(c),
		f->sequence = (int32_t)get_u32(c);
	}
	t->services = get_array(c, sizeof(*t->services), &t->n_services);
	for (size_t i = 0; i < t->n_services; i++) {
		struct msi_service *v = &t->services[i];
		v->key = get_str(c), v->name = get_str(c), v->display_name = get_str(c),
		v->start_name = get_str(c);
		v->arguments = get_str(c), v->component = get_str(c);
		v->service_type = (int32_t)get_u32(c), v->start_type = (int32_t)get_u32(c);
		v->error_control = (int32_t)get_u32(c);
	}
	t->regs = get_array(c, sizeof(*t->regs), &t->n_regs);
	for (size_t i = 0; i < t->n_regs; i++) {
		struct msi_registry *g = &t->regs[i];
		g->key = get_str(c), g->reg_key = get_str(c), g->name = get_str(c),
		g->value = get_str(c);
		g->component = get_str(c);
		g->root = (int32_t)get_u32(c);
	}
	t->actions = get_array(c, sizeof(*t->actions), &t->n_actions);
	for (size_t i = 0; i < t->n_actions; i++) {
		struct msi_action *a = &t->actions[i];
		a->action = get_str(c), a->source = get_str(c), a->target = get_str(c),
		a->condition = get_str(c);
		a->type = (int32_t)get_u32(c), a->sequenced = get_u32(c) != 0,
		a->sequence = (int32_t)get_u32(c);
	}
	if (c->bad || c->p != c->end)
		return -EINVAL;
	/* the links the child checked, made again between this process's rows (sorted again) */
	for (size_t i = 0; i < t->n_dirs; i++)
		if (!t->dirs[i].id)
			return -EINVAL;
	for (size_t i = 0; i < t->n_comps; i++)
		if (!t->comps[i].id)
			return -EINVAL;
	if (t->n_dirs)
		qsort(t->dirs, t->n_dirs, sizeof(*t->dirs), dir_cmp);
	if (t->n_comps)
		qsort(t->comps, t->n_comps, sizeof(*t->comps), comp_cmp);
	for (size_t i = 0; i < t->n_comps; i++)
		if (!(t->comps[i].d = dir_find(t->dirs, t->n_dirs, t->comps[i].dir)))
			return -EINVAL;
	for (size_t i = 0; i < t->n_files; i++) {
		t->files[i].c = comp_by_id(t, t->files[i].component);
		if (!t->files[i].c || !t->files[i].key || !t->files[i].path)
			return -EINVAL;
	}
	for (size_t i = 0; i < t->n_services; i++)
		if (!(t->services[i].c = comp_by_id(t, t->services[i].component)) ||
		    !t->services[i].key)
			return -EINVAL;
	for (size_t i = 0; i < t->n_dirs; i++)
		if (!t->dirs[i].id || !t->dirs[i].path)
			return -EINVAL;
	for (size_t i = 0; i < t->n_regs; i++)
		if (!t->regs[i].key || !t->regs[i].reg_key || !t->regs[i].component)
			return -EINVAL;
	for (size_t i = 0; i < t->n_actions; i++)
		if (!t->actions[i].action)
			return -EINVAL;
	return t->product_code ? 0 : -EINVAL;
}

/* The child: reads, sends "T" and the tables, or "E" and the error, then ends. */
static void child_read(int wfd, const char *path, const char *name)
{
	struct rlimit cpu = {MSI_CPU_SECONDS, MSI_CPU_SECONDS + 5};
	struct msi_tables t;
	struct pib_err e = {0};
	struct pib_buf b = {0};

	struct rlimit core = {0, 0};
	setrlimit(RLIMIT_CPU, &cpu);
	setrlimit(RLIMIT_CORE, &core); /* a crash leaves no core file behind (in an image, say) */
	/* a crash ends the child at once: its default action, whatever handler the agent (or a
	 * sanitizer) installed */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	int r = tables_read_here(path, -1, name, &t, &e, NULL, NULL);
	if (r == 0) {
		r = pib_buf_append(&b, "T", 1) < 0 || put_tables(&b, &t) < 0 ? -ENOMEM : 0;
		msi_tables_free(&t);
	} else {
		r = pib_buf_append(&b, "E", 1) < 0 || put_u32(&b, (uint32_t)e.cls) < 0 ||
			    put_u32(&b, (uint32_t)-r) < 0 || put_str(&b, e.code) < 0 ||
			    put_str(&b, e.msg) < 0
			? -ENOMEM
			: 0;
	}
	if (r == 0 && b.len <= MSI_RESULT_MAX)
		r = pib_write_all(wfd, b.data, b.len);
	_exit(r == 0 ? 0 : 3);
}

int msi_tables_read(const char *path, const char *name, struct msi_tables *t, struct pib_err *err)
{
	int p[2];
	struct pib_buf b = {0};
	int status = 0, rc = 0;

	memset(t, 0, sizeof(*t));
	if (pipe2(p, O_CLOEXEC) < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "agent.io", "cannot make a pipe: %s",
				strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return pib_fail(err, -e, PIB_ERR_ENV, "agent.io",
				"cannot start a process to read %s: %s", name, strerror(e));
	}
	if (pid == 0) {
		close(p[0]);
		child_read(p[1], path, name);
	}
	close(p[1]);
	char buf[65536];
	ssize_t k;
	bool too_big = false;
	while ((k = read(p[0], buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b.len + (size_t)k > MSI_RESULT_MAX) {
			too_big = true;
			break;
		}
		if (pib_buf_append(&b, buf, (size_t)k) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	close(p[0]);
	if (too_big || rc < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		rc = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	} else if (too_big) {
		rc = pib_fail(err, -E2BIG, PIB_ERR_FAILED, "msi.invalid",
			      "%s: its tables are larger than %u MiB", name, MSI_RESULT_MAX >> 20);
	} else if (WIFSIGNALED(status)) {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: not an MSI, or a damaged one: reading its tables with libmsi "
			      "ended with signal %d (%s)%s",
			      name, WTERMSIG(status), strsignal(WTERMSIG(status)),
			      WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL
				  ? ", over its time limit"
				  : "");
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || b.len == 0) {
		rc = pib_fail(
		    err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
		    "%s: reading its tables with libmsi failed (the reading process exited %d)",
		    name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else if (b.data[0] == 'E') {
		struct cursor c = {b.data + 1, b.data + b.len, false};
		uint32_t cls = get_u32(&c), e = get_u32(&c);
		char *code = get_str(&c), *msg = get_str(&c);
		if (c.bad || !code || !msg || cls > PIB_ERR_ENV || e == 0 || e > 4095)
			rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				      "%s: reading its tables failed", name);
		else
			rc = pib_fail(err, -(int)e, (enum pib_class)cls, code, "%s", msg);
		free(code);
		free(msg);
	} else {
		struct cursor c = {b.data + 1, b.data + b.len, b.data[0] != 'T'};
		if (get_tables(&c, t) < 0) {
			msi_tables_free(t);
			rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				      "%s: the tables read could not be passed on", name);
		}
	}
	pib_buf_free(&b);
	return rc;
}

void msi_tables_free(struct msi_tables *t)
{
	free(t->product_code);
	free(t->product_version);
	free(t->product_name);
	free(t->manufacturer);
	free(t->upgrade_code);
	free(t->template_);
	for (size_t i = 0; i < t->n_dirs; i++) {
		free(t->dirs[i].id);
		free(t->dirs[i].parent);
		free(t->dirs[i].default_dir);
		free(t->dirs[i].path);
	}
	free(t->dirs);
	for (size_t i = 0; i < t->n_comps; i++) {
		free(t->comps[i].id);
		free(t->comps[i].guid);
		free(t->comps[i].dir);
		free(t->comps[i].key_path);
		free(t->comps[i].condition);
	}
	free(t->comps);
	for (size_t i = 0; i < t->n_files; i++) {
		free(t->files[i].key);
		free(t->files[i].component);
		free(t->files[i].name);
		free(t->files[i].path);
	}
	free(t->files);
	for (size_t i = 0; i < t->n_services; i++) {
		struct msi_service *s = &t->services[i];
		free(s->key);
		free(s->name);
		free(s->display_name);
		free(s->start_name);
		free(s->arguments);
		free(s->component);
	}
	free(t->services);
	for (size_t i = 0; i < t->n_regs; i++) {
		free(t->regs[i].key);
		free(t->regs[i].reg_key);
		free(t->regs[i].name);
		free(t->regs[i].value);
		free(t->regs[i].component);
	}
	free(t->regs);
	for (size_t i = 0; i < t->n_actions; i++) {
		free(t->actions[i].action);
		free(t->actions[i].source);
		free(t->actions[i].target);
		free(t->actions[i].condition);
	}
	free(t->actions);
	memset(t, 0, sizeof(*t));
}

/* ---- the embedded cabinets, streamed by the reading child ---- */

/*
 * The child sends frames: a tag byte, a u32 length, that many bytes. 'T' the tables, 'M' the
 * Media rows, then for each "#" cabinet 'C' and its stream name, 'D' chunks of its bytes and 'F'
 * at its end, or 'X' name and reason when it cannot be read (also after some 'D'); 'Z' at the
 * end; 'E' an error (the last frame). The parent reads them as it needs the bytes: the child
 * waits on the pipe, so a cabinet is never held whole by either process.
 */
#define CAB_CHUNK MSI_CHUNK_MAX
#define PIPE_BYTES (1 << 20)

void msi_media_free(struct msi_media *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		free(m[i].cabinet);
	free(m);
}

static int frame_write(int fd, char tag, const void *data, size_t len)
{
	unsigned char h[5];
	uint32_t l = (uint32_t)len;

	h[0] = (unsigned char)tag;
	memcpy(h + 1, &l, sizeof(l));
	int r = pib_write_all(fd, h, sizeof(h));
	if (r == 0 && len)
		r = pib_write_all(fd, data, len);
	return r;
}

struct media_rows {
	struct msi_media *v;
	size_t n;
};

static int row_media(struct reader *r, LibmsiRecord *rec, void *ctx)
{
	struct media_rows *m = ctx;
	static const char *const names[] = {"DiskId", "LastSequence", "Cabinet"};
	if (m->n >= MSI_MEDIA_MAX)
		return pib_fail(r->err, -E2BIG, PIB_ERR_FAILED, "msi.invalid",
				"%s: table Media: more than %u rows", r->name, MSI_MEDIA_MAX);
	GROW(m->v, m->n);
	struct msi_media *x = &m->v[m->n];
	memset(x, 0, sizeof(*x));
	char **out[] = {NULL, NULL, &x->cabinet};
	m->n++;
	x->disk_id = field_int(rec, 1);
	x->last_sequence = field_int(rec, 2);
	return fields(r, rec, "Media", names, out, 3, 0u);
}

struct cab_child {
	int wfd;
	unsigned char *chunk;
};

/* Sends one "#" cabinet: 'C', its bytes, 'F'; or 'X' with the reason. < 0 when the pipe fails. */
static int send_cabinet(struct reader *r, struct cab_child *cc, const char *stream)
{
	GError *ge = NULL;
	LibmsiQuery *q = NULL;
	LibmsiRecord *par = NULL, *rec = NULL;
	GInputStream *in = NULL;
	struct pib_buf b = {0};
	const char *why = NULL;
	int rc = 0;
	uint64_t sent = 0;

	par = libmsi_record_new(1);
	q = libmsi_query_new(r->db, "SELECT `Data` FROM `_Streams` WHERE `Name` = ?", &ge);
	if (!par || !q || !libmsi_record_set_string(par, 1, stream) ||
	    !libmsi_query_execute(q, par, &ge)) {
		why = "libmsi cannot query the _Streams table";
		goto fail;
	}
	rec = libmsi_query_fetch(q, &ge);
	if (!rec) {
		why = "no such stream in the _Streams table";
		goto fail;
	}
	in = libmsi_record_get_stream(rec, 1);
	if (!in) {
		why = "libmsi cannot open the stream";
		goto fail;
	}
	if (put_str(&b, stream) < 0 || frame_write(cc->wfd, 'C', b.data, b.len) < 0) {
		rc = -EPIPE;
		goto out;
	}
	for (;;) {
		gssize n = g_input_stream_read(in, cc->chunk, CAB_CHUNK, NULL, &ge);
		if (n < 0) {
			why = "reading the stream failed";
			goto fail;
		}
		if (n == 0)
			break;
		sent += (uint64_t)n;
		if (sent > MSI_FILE_MAX) {
			why = "the stream is larger than an MSI may be";
			goto fail;
		}
		if (frame_write(cc->wfd, 'D', cc->chunk, (size_t)n) < 0) {
			rc = -EPIPE;
			goto out;
		}
	}
	if (frame_write(cc->wfd, 'F', NULL, 0) < 0)
		rc = -EPIPE;
	goto out;
fail:
	b.len = 0;
	char reason[700];
	snprintf(reason, sizeof(reason), "%s%s%s", why, ge && ge->message ? ": " : "",
		 ge && ge->message ? ge->message : "");
	if (put_str(&b, stream) < 0 || put_str(&b, reason) < 0 ||
	    frame_write(cc->wfd, 'X', b.data, b.len) < 0)
		rc = -EPIPE;
out:
	if (ge)
		g_error_free(ge);
	if (in)
		g_object_unref(in);
	if (rec)
		g_object_unref(rec);
	if (q) {
		libmsi_query_close(q, NULL);
		g_object_unref(q);
	}
	if (par)
		g_object_unref(par);
	pib_buf_free(&b);
	return rc;
}

/* The child's work once the tables are read: 'T', 'M', the cabinets, 'Z'. */
static int cab_then(struct reader *r, struct msi_tables *t, void *ctx)
{
	struct cab_child *cc = ctx;
	struct media_rows m = {0};
	struct pib_buf b = {0};
	int rc = 0;

	if (has_table(r, "Media") &&
	    (rc = query_rows(r, "Media", "`DiskId`, `LastSequence`, `Cabinet`", row_media, &m)) < 0)
		goto out;
	if (put_tables(&b, t) < 0 || b.len > MSI_RESULT_MAX) {
		rc = pib_fail(r->err, -E2BIG, PIB_ERR_FAILED, "msi.invalid",
			      "%s: its tables are larger than %u MiB", r->name, MSI_RESULT_MAX >> 20);
		goto out;
	}
	if (frame_write(cc->wfd, 'T', b.data, b.len) < 0)
		_exit(3);
	b.len = 0;
	int bad = put_u32(&b, (uint32_t)m.n);
	for (size_t i = 0; i < m.n; i++)
		bad |= put_u32(&b, (uint32_t)m.v[i].disk_id) |
		       put_u32(&b, (uint32_t)m.v[i].last_sequence) | put_str(&b, m.v[i].cabinet);
	if (bad || frame_write(cc->wfd, 'M', b.data, b.len) < 0)
		_exit(3);
	for (size_t i = 0; i < m.n; i++) {
		const char *cab = m.v[i].cabinet;
		bool again = false;
		if (!cab || cab[0] != '#' || !cab[1])
			continue;
		for (size_t k = 0; k < i && !again; k++)
			again = m.v[k].cabinet && !strcmp(m.v[k].cabinet, cab);
		if (!again && send_cabinet(r, cc, cab + 1) < 0)
			_exit(3);
	}
	if (frame_write(cc->wfd, 'Z', NULL, 0) < 0)
		_exit(3);
out:
	pib_buf_free(&b);
	msi_media_free(m.v, m.n);
	return rc;
}

static void cab_child_run(int wfd, int fd, const char *name)
{
	struct rlimit cpu = {MSI_CPU_SECONDS, MSI_CPU_SECONDS + 5}, core = {0, 0};
	struct cab_child cc = {.wfd = wfd, .chunk = malloc(CAB_CHUNK)};
	struct msi_tables t;
	struct pib_err e = {0};
	struct pib_buf b = {0};

	setrlimit(RLIMIT_CPU, &cpu);
	setrlimit(RLIMIT_CORE, &core);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL); /* the parent stopped reading: end quietly */
	int r = cc.chunk ? tables_read_here(NULL, fd, name, &t, &e, cab_then, &cc)
			 : pib_fail(&e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (r == 0) {
		msi_tables_free(&t);
		_exit(0);
	}
	if (put_u32(&b, (uint32_t)e.cls) < 0 || put_u32(&b, (uint32_t)-r) < 0 ||
	    put_str(&b, e.code) < 0 || put_str(&b, e.msg) < 0 ||
	    frame_write(wfd, 'E', b.data, b.len) < 0)
		_exit(3);
	_exit(0);
}

struct msi_cabinets {
	pid_t pid;
	int rfd;
	const char *name;
	uint32_t left;	/* bytes of the current 'D' frame not read yet */
	bool in_cab;	/* between 'C' and its 'F' or 'X' */
	bool done;	/* 'Z' read */
	char *x_name, *x_reason; /* an 'X' met while reading a cabinet's bytes */
};

/* Reads exactly n bytes of the pipe; -EPIPE at its end. */
static int pipe_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EPIPE;
		got += (size_t)k;
	}
	return 0;
}

/* Why the child stopped: it is waited for; the message names the signal or the exit code. */
static int child_gone(struct msi_cabinets *c, struct pib_err *err)
{
	int status = 0;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				"%s: not an MSI, or a damaged one: reading it with libmsi ended "
				"with signal %d (%s)%s",
				c->name, WTERMSIG(status), strsignal(WTERMSIG(status)),
				WTERMSIG(status) == SIGXCPU ? ", over its time limit" : "");
	return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			"%s: reading it with libmsi failed (the reading process stopped early)",
			c->name);
}

/* The next frame's header; a body up to max bytes for tags other than 'D' in *body. */
static int frame_read(struct msi_cabinets *c, char *tag, struct pib_buf *body, uint32_t max,
		      uint32_t *ret_len, struct pib_err *err)
{
	unsigned char h[5];
	uint32_t l;

	if (pipe_read(c->rfd, h, sizeof(h)) < 0)
		return child_gone(c, err);
	memcpy(&l, h + 1, sizeof(l));
	*tag = (char)h[0];
	*ret_len = l;
	if (*tag == 'D') {
		if (l == 0 || l > CAB_CHUNK)
			goto bad;
		return 0;
	}
	if (l > max)
		goto bad;
	body->len = 0;
	if (l) {
		char *p = realloc(body->data, l);
		if (!p)
			return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		body->data = p;
		if (pipe_read(c->rfd, body->data, l) < 0)
			return child_gone(c, err);
		body->len = l;
	}
	if (*tag == 'E') {
		struct cursor cu = {body->data, body->data + body->len, false};
		uint32_t cls = get_u32(&cu), e = get_u32(&cu);
		char *code = get_str(&cu), *msg = get_str(&cu);
		int rc;
		if (cu.bad || !code || !msg || cls > PIB_ERR_ENV || e == 0 || e > 4095)
			rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				      "%s: reading it failed", c->name);
		else
			rc = pib_fail(err, -(int)e, (enum pib_class)cls, code, "%s", msg);
		free(code);
		free(msg);
		return rc;
	}
	return 0;
bad:
	return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			"%s: the reading process sent nonsense", c->name);
}

void msi_cabinets_close(struct msi_cabinets *c)
{
	if (!c)
		return;
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->pid > 0) {
		int status;
		if (!c->done)
			kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	free(c->x_name);
	free(c->x_reason);
	free(c);
}

int msi_cabinets_open(int fd, const char *name, struct msi_tables *t, struct msi_media **ret_media,
		      size_t *ret_n_media, struct msi_cabinets **ret, struct pib_err *err)
{
	struct msi_cabinets *c = calloc(1, sizeof(*c));
	struct pib_buf body = {0};
	struct msi_media *media = NULL;
	size_t n_media = 0;
	uint32_t len;
	char tag;
	int p[2], rc;

	memset(t, 0, sizeof(*t));
	if (!c)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	c->rfd = -1;
	c->name = name;
	if ((rc = check_msi_fd(fd, name, err)) < 0) {
		free(c);
		return rc;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(c);
		return pib_fail(err, -errno, PIB_ERR_ENV, "agent.io", "cannot make a pipe: %s",
				strerror(errno));
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		free(c);
		return pib_fail(err, -e, PIB_ERR_ENV, "agent.io",
				"cannot start a process to read %s: %s", name, strerror(e));
	}
	if (c->pid == 0) {
		close(p[0]);
		cab_child_run(p[1], fd, name);
	}
	close(p[1]);
	c->rfd = p[0];
	if ((rc = frame_read(c, &tag, &body, MSI_RESULT_MAX, &len, err)) < 0)
		goto fail;
	struct cursor cu = {body.data, body.data + body.len, tag != 'T'};
	if (get_tables(&cu, t) < 0) {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: the tables read could not be passed on", name);
		goto fail;
	}
	if ((rc = frame_read(c, &tag, &body, MSI_RESULT_MAX, &len, err)) < 0)
		goto fail;
	cu = (struct cursor){body.data, body.data + body.len, tag != 'M'};
	media = get_array(&cu, sizeof(*media), &n_media);
	if (n_media > MSI_MEDIA_MAX)
		cu.bad = true;
	for (size_t i = 0; i < n_media; i++) {
		media[i].disk_id = (int32_t)get_u32(&cu);
		media[i].last_sequence = (int32_t)get_u32(&cu);
		media[i].cabinet = get_str(&cu);
	}
	if (cu.bad || cu.p != cu.end) {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: the Media rows read could not be passed on", name);
		goto fail;
	}
	pib_buf_free(&body);
	*ret_media = media;
	*ret_n_media = n_media;
	*ret = c;
	return 0;
fail:
	pib_buf_free(&body);
	msi_media_free(media, n_media);
	msi_tables_free(t);
	msi_cabinets_close(c);
	return rc;
}

/* 'X': the cabinet's name and why it cannot be read. */
static int take_x(struct msi_cabinets *c, const struct pib_buf *body, char **ret_name,
		  char **ret_reason, struct pib_err *err)
{
	struct cursor cu = {body->data, body->data + body->len, false};
	char *n = get_str(&cu), *why = get_str(&cu);
	if (cu.bad || !n || !why || cu.p != cu.end) {
		free(n);
		free(why);
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				"%s: the reading process sent nonsense", c->name);
	}
	*ret_name = n;
	*ret_reason = why;
	return 0;
}

ssize_t msi_cabinets_read(struct msi_cabinets *c, void *buf, size_t n, struct pib_err *err)
{
	struct pib_buf body = {0};
	uint32_t len;
	char tag;
	int rc;

	if (!c->in_cab)
		return 0;
	while (c->left == 0) {
		if ((rc = frame_read(c, &tag, &body, 65536, &len, err)) < 0)
			goto fail;
		if (tag == 'D') {
			c->left = len;
		} else if (tag == 'F') {
			c->in_cab = false;
			pib_buf_free(&body);
			return 0;
		} else if (tag == 'X') {
			char *xn = NULL, *why = NULL;
			c->in_cab = false;
			if ((rc = take_x(c, &body, &xn, &why, err)) == 0) {
				char *cn = pib_text_clean(xn, false), *cw = pib_text_clean(why, false);
				rc = pib_fail(err, -EIO, PIB_ERR_FAILED, "msi.invalid",
					      "%s: cabinet %s cannot be read to its end: %s", c->name,
					      cn ? cn : "?", cw ? cw : "?");
				free(cn);
				free(cw);
			}
			free(xn);
			free(why);
			goto fail;
		} else {
			rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				      "%s: the reading process sent nonsense", c->name);
			goto fail;
		}
	}
	pib_buf_free(&body);
	size_t k = n < c->left ? n : c->left;
	if ((rc = pipe_read(c->rfd, buf, k)) < 0)
		return child_gone(c, err);
	c->left -= (uint32_t)k;
	return (ssize_t)k;
fail:
	pib_buf_free(&body);
	return rc;
}

int msi_cabinets_next(struct msi_cabinets *c, char **ret_name, char **ret_reason,
		      struct pib_err *err)
{
	struct pib_buf body = {0};
	unsigned char skip[4096];
	uint32_t len;
	char tag;
	int rc;

	*ret_name = *ret_reason = NULL;
	while (c->in_cab) { /* what was not read of the previous one */
		ssize_t k = msi_cabinets_read(c, skip, sizeof(skip), err);
		if (k < 0)
			return (int)k;
	}
	if (c->done)
		return 0;
	if ((rc = frame_read(c, &tag, &body, 65536, &len, err)) < 0)
		goto out;
	if (tag == 'Z') {
		c->done = true;
		rc = 0;
	} else if (tag == 'C') {
		struct cursor cu = {body.data, body.data + body.len, false};
		*ret_name = get_str(&cu);
		if (cu.bad || !*ret_name || cu.p != cu.end) {
			free(*ret_name);
			*ret_name = NULL;
			rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
				      "%s: the reading process sent nonsense", c->name);
		} else {
			c->in_cab = true;
			c->left = 0;
			rc = 1;
		}
	} else if (tag == 'X') {
		rc = take_x(c, &body, ret_name, ret_reason, err);
		if (rc == 0)
			rc = 2;
	} else {
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "msi.invalid",
			      "%s: the reading process sent nonsense", c->name);
	}
out:
	pib_buf_free(&body);
	return rc;
}
