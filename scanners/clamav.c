/* SPDX-License-Identifier: MIT */
/* The ClamAV scanner: one libclamav engine compiled once and shared by threads; every hit attributed, every limit reported. */
#include "scanner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>

#define LIMIT_PREFIX "Heuristics.Limits.Exceeded."
#define MAX_DB_FILES 4096
#define MAX_JSON_DEPTH 64

/* One file of the signature database, as the report describes it. */
struct db_file {
	char *name;
	uint64_t size;
	char sha256[65];
	int64_t mtime;
	bool has_header;     /* a CVD/CLD/CUD header was read */
	unsigned version;    /* from the header */
	unsigned sigs;       /* header count, or cl_countsigs for plain files */
	bool sigs_known;
	int64_t build_time;  /* from the header */
	char *builder;
};

struct scan_engine {
	struct cl_engine *cl;
	char *tmpdir;
	char *db;
	bool db_is_dir;
	struct cl_scan_options opts;      /* every scan */
	struct cl_scan_options opts_meta; /* a second pass over objects with hits, to attribute them */
	unsigned sigs;
	bool heuristics;
	struct db_file *files;
	size_t n_files;
	int64_t db_time;
	const char *db_time_source; /* "cvd-header" or "mtime" */
	long db_version;            /* -1: none */
	uint64_t max_filesize, max_scansize;
	uint32_t max_recursion, max_files, max_scantime;
};

/* ---------------------------------------------------------------- process-wide setup */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cl_error_t init_rc = CL_SUCCESS;
/* libclamav's last error message in this thread (its messages are never printed by us) */
static __thread char last_msg[512];

static void msg_cb(enum cl_msg severity, const char *fullmsg, const char *msg, void *ctx)
{
	(void)fullmsg;
	(void)ctx;
	if (severity != CL_MSG_ERROR || !msg)
		return;
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
	size_t n = strlen(last_msg);
	while (n > 0 && (last_msg[n - 1] == '\n' || last_msg[n - 1] == ' '))
		last_msg[--n] = '\0';
}

static void do_init(void)
{
	cl_set_clcb_msg(msg_cb);
	init_rc = cl_init(CL_INIT_DEFAULT);
}

/* ---------------------------------------------------------------- per-scan callbacks */

struct cb_ctx {
	const struct scan_engine *e;
	uint64_t size; /* of the object scanned */
	struct scan_outcome *out;
	char **names; /* distinct alert names of the first pass */
	size_t n_names;
	bool second_pass;
	char *json; /* the metadata JSON of the second pass */
	bool oom;
};

static void cb_virus_found(int fd, const char *virname, void *context)
{
	struct cb_ctx *c = context;

	(void)fd;
	if (!c || c->second_pass || !virname)
		return;
	for (size_t i = 0; i < c->n_names; i++)
		if (!strcmp(c->names[i], virname))
			return;
	char **n = realloc(c->names, (c->n_names + 1) * sizeof(*n));
	if (!n || !(n[c->n_names] = strdup(virname))) {
		if (n)
			c->names = n;
		c->oom = true;
		return;
	}
	c->names = n;
	c->n_names++;
}

/* A member name: printable UTF-8 (no control characters), not empty. */
static bool plausible_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!p || !*p)
		return false;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (*p < 0x20 || *p == 0x7f) || (n == 1 && *p < 0xc2))
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* Called for each file inside a container, before it is extracted: sizes and encryption. */
static cl_error_t cb_meta(const char *container_type, unsigned long fsize_container,
			  const char *filename, unsigned long fsize_real, int is_encrypted,
			  unsigned int filepos_container, void *context)
{
	struct cb_ctx *c = context;
	char reason[256];

	(void)container_type;
	(void)fsize_container;
	(void)filepos_container;
	if (!c || c->second_pass)
		return CL_CLEAN;
	/* libclamav also finds zip headers inside binaries (.o, .so): their "members" have names of
	 * binary junk and sizes larger than the whole file: those are no members */
	if (!plausible_name(filename) ||
	    (c->size && fsize_container / 1024 > c->size / 1024 + c->e->max_filesize / 1024))
		return CL_CLEAN;
	if (is_encrypted) {
		snprintf(reason, sizeof(reason), "encrypted inside its container: its contents cannot be scanned");
		if (scan_outcome_add_gap(c->out, filename, "encrypted", reason) < 0)
			c->oom = true;
	} else if (c->e->max_filesize && fsize_real > c->e->max_filesize) {
		snprintf(reason, sizeof(reason),
			 "%lu bytes, larger than the maximum file size (%llu bytes): not scanned, or only its first %llu bytes",
			 fsize_real, (unsigned long long)c->e->max_filesize,
			 (unsigned long long)c->e->max_filesize);
		if (scan_outcome_add_gap(c->out, filename, "limit.max_filesize", reason) < 0)
			c->oom = true;
	}
	return CL_CLEAN;
}

static int cb_file_props(const char *j_propstr, int rc, void *cbdata)
{
	struct cb_ctx *c = cbdata;

	(void)rc;
	if (c && c->second_pass && j_propstr && !c->json) {
		c->json = strdup(j_propstr);
		if (!c->json)
			c->oom = true;
	}
	return CL_SUCCESS;
}

/* ---------------------------------------------------------------- classification */

static enum scan_kind kind_of(const char *name)
{
	if (pib_str_has_prefix(name, "PUA."))
		return SCAN_KIND_PUA;
	if (pib_str_has_prefix(name, "Heuristics.") || pib_str_has_prefix(name, "BC.Heuristics."))
		return SCAN_KIND_HEURISTIC;
	return SCAN_KIND_SIGNATURE;
}

static bool is_limit(const char *name)
{
	return pib_str_has_prefix(name, LIMIT_PREFIX);
}

static bool has_gap_code(const struct scan_outcome *o, const char *code)
{
	for (size_t i = 0; i < o->n_gaps; i++)
		if (!strcmp(o->gaps[i].code, code))
			return true;
	return false;
}

/* A limit alert becomes a gap with a reason; size is the object's size (0: unknown). */
static int limit_gap(const struct scan_engine *e, struct scan_outcome *o, const char *name, uint64_t size)
{
	const char *what = name + strlen(LIMIT_PREFIX);
	char reason[320];
	const char *code;

	if (!strcmp(what, "MaxFileSize")) {
		code = "limit.max_filesize";
		if (has_gap_code(o, code))
			return 0; /* the member was already named by the metadata callback */
		if (size > e->max_filesize)
			snprintf(reason, sizeof(reason),
				 "%llu bytes, larger than the maximum file size (%llu bytes): not scanned",
				 (unsigned long long)size, (unsigned long long)e->max_filesize);
		else
			snprintf(reason, sizeof(reason),
				 "a file inside it is larger than the maximum file size (%llu bytes): that file was not scanned",
				 (unsigned long long)e->max_filesize);
	} else if (!strcmp(what, "MaxScanSize")) {
		code = "limit.max_scansize";
		snprintf(reason, sizeof(reason),
			 "its contents exceed the maximum scan size (%llu bytes): the rest was not scanned",
			 (unsigned long long)e->max_scansize);
	} else if (!strcmp(what, "MaxFiles")) {
		code = "limit.max_files";
		snprintf(reason, sizeof(reason),
			 "a container inside it holds more than the maximum number of files (%u): the rest were not scanned",
			 e->max_files);
	} else if (!strcmp(what, "MaxRecursion")) {
		code = "limit.max_recursion";
		snprintf(reason, sizeof(reason),
			 "containers nested deeper than the maximum recursion (%u): the deeper layers were not scanned",
			 e->max_recursion);
	} else if (!strcmp(what, "MaxScanTime")) {
		code = "limit.max_scantime";
		snprintf(reason, sizeof(reason),
			 "scanning took longer than the maximum scan time (%u ms): cut short", e->max_scantime);
	} else {
		code = "limit.other";
		snprintf(reason, sizeof(reason), "a scan limit was exceeded (%s): partly not scanned", what);
	}
	return scan_outcome_add_gap(o, NULL, code, reason);
}

/* libclamav names layers it extracted without a name after its temporary files: those are no names. */
static bool temp_name(const char *name)
{
	size_t n = strlen(name);

	return pib_str_has_prefix(name, "clamav-") && pib_str_has_suffix(name, ".tmp") && n > 11 &&
	       strspn(name + 7, "0123456789abcdef") == n - 11;
}

/* Joins the named layers below the top with '!': "a.tar!b.zip!c.exe". */
static char *chain_join(const char *chain, const char *name)
{
	if (!name)
		return chain ? strdup(chain) : NULL;
	if (!chain)
		return strdup(name);
	return pib_asprintf("%s!%s", chain, name);
}

static bool in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/*
 * Adds the hits of node and its descendants; found collects the names seen in the subtree.
 * A hit on a layer whose descendant matched the same signature is left out: the descendant
 * (an archive member, say) names where the bytes are; its container matched only because it
 * holds them (a body signature on an uncompressed tar).
 */
static int walk_json(const cJSON *node, const char *chain, int depth, struct scan_outcome *o,
		     char ***found, size_t *n_found)
{
	size_t first = *n_found;
	int r = 0;

	if (depth > MAX_JSON_DEPTH || !cJSON_IsObject(node))
		return 0;
	const cJSON *kids = cJSON_GetObjectItemCaseSensitive(node, "ContainedObjects");
	const cJSON *k;
	cJSON_ArrayForEach(k, kids)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(k, "FileName");
		const char *nm = cJSON_IsString(fn) && *fn->valuestring && !temp_name(fn->valuestring)
					 ? fn->valuestring
					 : NULL;
		char *sub = chain_join(chain, nm);
		if (!sub && (chain || nm))
			return -ENOMEM;
		r = walk_json(k, sub, depth + 1, o, found, n_found);
		free(sub);
		if (r < 0)
			return r;
	}
	size_t below = *n_found;
	const cJSON *viruses = cJSON_GetObjectItemCaseSensitive(node, "Viruses");
	const cJSON *v;
	cJSON_ArrayForEach(v, viruses)
	{
		if (!cJSON_IsString(v) || is_limit(v->valuestring))
			continue;
		char **f = realloc(*found, (*n_found + 1) * sizeof(*f));
		if (!f)
			return -ENOMEM;
		*found = f;
		f[(*n_found)++] = v->valuestring;
		if (in_list(*found + first, below - first, v->valuestring))
			continue;
		r = scan_outcome_add_hit(o, v->valuestring, chain, kind_of(v->valuestring));
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Turns the first pass's alert names into hits and gaps. Hits are attributed to their layer
 * with the second pass's metadata JSON; a name the JSON does not place is kept without member.
 */
static int attribute(const struct scan_engine *e, struct cb_ctx *c, uint64_t size)
{
	struct scan_outcome *o = c->out;
	char **found = NULL;
	size_t n_found = 0;
	int r = 0;

	for (size_t i = 0; i < c->n_names && r == 0; i++)
		if (is_limit(c->names[i]))
			r = limit_gap(e, o, c->names[i], size);
	if (r == 0 && c->json) {
		cJSON *j = cJSON_Parse(c->json);
		if (j)
			r = walk_json(j, NULL, 0, o, &found, &n_found);
		cJSON_Delete(j);
	}
	for (size_t i = 0; i < c->n_names && r == 0; i++) {
		if (is_limit(c->names[i]))
			continue;
		bool placed = false;
		for (size_t k = 0; k < o->n_hits && !placed; k++)
			placed = !strcmp(o->hits[k].signature, c->names[i]);
		if (!placed)
			r = scan_outcome_add_hit(o, c->names[i], NULL, kind_of(c->names[i]));
	}
	free(found);
	return r;
}

static bool needs_second_pass(const struct cb_ctx *c)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (!is_limit(c->names[i]))
			return true;
	return false;
}

static void ctx_free(struct cb_ctx *c)
{
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->json);
}

static int scan_error(struct scan_outcome *o, cl_error_t rc)
{
	free(o->error);
	o->error = pib_asprintf("libclamav: %s%s%s", cl_strerror(rc), last_msg[0] ? ": " : "", last_msg);
	return o->error ? 0 : -ENOMEM;
}

static int finish(const struct scan_engine *e, struct cb_ctx *c, cl_error_t rc, uint64_t size)
{
	int r = 0;

	if (rc != CL_CLEAN && rc != CL_VIRUS)
		r = scan_error(c->out, rc);
	if (r == 0)
		r = attribute(e, c, size);
	if (r == 0 && c->oom)
		r = -ENOMEM;
	ctx_free(c);
	return r;
}

static int clamav_scan_fd(struct scan_engine *e, int fd, const char *name, struct scan_outcome *out)
{
	struct cb_ctx c = {.e = e, .out = out};
	const char *virname = NULL;
	unsigned long scanned = 0;
	struct stat st;

	last_msg[0] = '\0';
	if (fstat(fd, &st) < 0)
		return -errno;
	c.size = (uint64_t)st.st_size;
	cl_error_t rc = cl_scandesc_callback(fd, name, &virname, &scanned, e->cl, &e->opts, &c);
	if (needs_second_pass(&c)) {
		struct cb_ctx c2 = {.e = e, .out = out, .second_pass = true};
		virname = NULL;
		(void)cl_scandesc_callback(fd, name, &virname, &scanned, e->cl, &e->opts_meta, &c2);
		c.json = c2.json;
		c2.json = NULL;
		ctx_free(&c2);
	}
	return finish(e, &c, rc, (uint64_t)st.st_size);
}

static int clamav_scan_mem(struct scan_engine *e, const void *data, size_t len, const char *name,
			   struct scan_outcome *out)
{
	struct cb_ctx c = {.e = e, .out = out, .size = len};
	const char *virname = NULL;
	unsigned long scanned = 0;
	static const char empty[1];

	last_msg[0] = '\0';
	if (len == 0)
		return 0; /* nothing to scan */
	cl_fmap_t *map = cl_fmap_open_memory(data ? data : empty, len);
	if (!map)
		return -ENOMEM;
	cl_error_t rc = cl_scanmap_callback(map, name, &virname, &scanned, e->cl, &e->opts, &c);
	cl_fmap_close(map);
	if (needs_second_pass(&c)) {
		struct cb_ctx c2 = {.e = e, .out = out, .second_pass = true};
		map = cl_fmap_open_memory(data, len);
		if (map) {
			virname = NULL;
			(void)cl_scanmap_callback(map, name, &virname, &scanned, e->cl, &e->opts_meta, &c2);
			cl_fmap_close(map);
		}
		c.json = c2.json;
		c2.json = NULL;
		ctx_free(&c2);
	}
	return finish(e, &c, rc, len);
}

/* ---------------------------------------------------------------- the database */

static bool db_ext(const char *name)
{
	static const char *const ext[] = {
		".db",  ".hdb", ".hdu", ".fp",  ".mdb", ".mdu", ".hsb", ".hsu", ".sfp", ".msb",
		".msu", ".ndb", ".ndu", ".ldb", ".ldu", ".sdb", ".zmd", ".rmd", ".pdb", ".gdb",
		".wdb", ".cbc", ".ftm", ".cfg", ".cvd", ".cld", ".cud", ".cdb", ".cat", ".crb",
		".idb", ".ioc", ".yar", ".yara", ".pwdb", ".ign", ".ign2", ".imp", NULL};
	size_t n = strlen(name);

	for (int i = 0; ext[i]; i++) {
		size_t k = strlen(ext[i]);
		if (n > k && !strcasecmp(name + n - k, ext[i]))
			return true;
	}
	return false;
}

static bool has_header_ext(const char *name)
{
	return pib_str_has_suffix(name, ".cvd") || pib_str_has_suffix(name, ".cld") ||
	       pib_str_has_suffix(name, ".cud");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the database files of dir (sorted), as libclamav would load them. */
static int list_db_dir(const char *dir, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !db_ext(de->d_name))
			continue;
		if (n >= MAX_DB_FILES)
			break;
		char **nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			if (nv)
				v = nv;
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int describe_file(const char *path, const char *name, struct db_file *f)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	if (stat(path, &st) < 0)
		return -errno;
	f->size = (uint64_t)st.st_size;
	f->mtime = (int64_t)st.st_mtime;
	if (pib_sha256_file(path, f->sha256, NULL) < 0)
		f->sha256[0] = '\0';
	if (has_header_ext(name)) {
		struct cl_cvd *h = cl_cvdhead(path);
		if (h) {
			f->has_header = true;
			f->version = h->version;
			f->sigs = h->sigs;
			f->sigs_known = true;
			f->build_time = (int64_t)h->stime;
			f->builder = h->builder ? strdup(h->builder) : NULL;
			cl_cvdfree(h);
		}
	} else {
		unsigned int n = 0;
		if (cl_countsigs(path, CL_COUNTSIGS_ALL, &n) == CL_SUCCESS) {
			f->sigs = n;
			f->sigs_known = true;
		}
	}
	return 0;
}

static void format_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The database's time and version: from the daily (else newest) CVD/CLD header, else the newest mtime. */
static void db_identity(struct scan_engine *e)
{
	const struct db_file *best = NULL;

	e->db_version = -1;
	for (size_t i = 0; i < e->n_files; i++) {
		const struct db_file *f = &e->files[i];
		if (!f->has_header)
			continue;
		bool daily = pib_str_has_prefix(f->name, "daily.");
		bool best_daily = best && pib_str_has_prefix(best->name, "daily.");
		if (!best || (daily && !best_daily) ||
		    (daily == best_daily && f->build_time > best->build_time))
			best = f;
	}
	if (best) {
		e->db_time = best->build_time;
		e->db_time_source = "cvd-header";
		e->db_version = (long)best->version;
		return;
	}
	e->db_time = 0;
	for (size_t i = 0; i < e->n_files; i++)
		if (e->files[i].mtime > e->db_time)
			e->db_time = e->files[i].mtime;
	e->db_time_source = "mtime";
}

static void engine_free(struct scan_engine *e)
{
	if (!e)
		return;
	if (e->cl)
		cl_engine_free(e->cl);
	if (e->tmpdir) {
		(void)pib_rm_rf(e->tmpdir);
		free(e->tmpdir);
	}
	for (size_t i = 0; i < e->n_files; i++) {
		free(e->files[i].name);
		free(e->files[i].builder);
	}
	free(e->files);
	free(e->db);
	free(e);
}

static int unusable(struct pib_err *err, int rc, const char *fmt_db, const char *what)
{
	return pib_fail(err, rc, PIB_ERR_ENV, "scan.db_unusable",
			"cannot use the signature database %s: %s (make one with sigtool, or fetch one with freshclam)",
			fmt_db, what);
}

static int set_limit(struct scan_engine *e, enum cl_engine_field f, uint64_t v)
{
	if (v == 0)
		return 0;
	return cl_engine_set_num(e->cl, f, (long long)v) == CL_SUCCESS ? 0 : -EINVAL;
}

static uint64_t get_limit(const struct scan_engine *e, enum cl_engine_field f)
{
	int err = 0;
	long long v = cl_engine_get_num(e->cl, f, &err);
	return err == CL_SUCCESS && v > 0 ? (uint64_t)v : 0;
}

static int clamav_open(const struct scan_config *cfg, struct scan_engine **ret, struct pib_err *err)
{
	struct scan_engine *e = calloc(1, sizeof(*e));
	const char *db = cfg->db && *cfg->db ? cfg->db : SCAN_DEFAULT_DB;
	char **names = NULL;
	size_t n_names = 0;
	struct stat st;
	int r = 0;
	cl_error_t rc;

	if (!e)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	pthread_once(&init_once, do_init);
	if (init_rc != CL_SUCCESS) {
		r = pib_fail(err, -EIO, PIB_ERR_ENV, "scan.db_unusable", "libclamav cannot start: %s",
			     cl_strerror(init_rc));
		goto fail;
	}
	last_msg[0] = '\0';
	e->db = strdup(db);
	e->heuristics = cfg->heuristics;
	if (!e->db) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto fail;
	}
	if (stat(db, &st) < 0) {
		r = unusable(err, -errno, db, strerror(errno));
		goto fail;
	}
	e->db_is_dir = S_ISDIR(st.st_mode);
	if (e->db_is_dir) {
		r = list_db_dir(db, &names, &n_names);
		if (r < 0) {
			r = unusable(err, r, db, strerror(-r));
			goto fail;
		}
		if (n_names == 0) {
			r = unusable(err, -ENOENT, db,
				     "the directory holds no database files (*.cvd, *.cld, *.hdb, *.ndb, ...)");
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		const char *base = strrchr(db, '/');
		names = calloc(1, sizeof(*names));
		if (!names || !(names[0] = strdup(base ? base + 1 : db))) {
			r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			goto fail;
		}
		n_names = 1;
	} else {
		r = unusable(err, -EINVAL, db, "neither a directory nor a regular file");
		goto fail;
	}
	e->files = calloc(n_names, sizeof(*e->files));
	if (!e->files) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n_names; i++) {
		char *path = e->db_is_dir ? pib_asprintf("%s/%s", db, names[i]) : strdup(db);
		r = path ? describe_file(path, names[i], &e->files[i]) : -ENOMEM;
		e->n_files = i + 1;
		free(path);
		if (r < 0) {
			char what[600];
			snprintf(what, sizeof(what), "%s: %s", names[i], strerror(-r));
			r = unusable(err, r, db, what);
			goto fail;
		}
	}

	e->cl = cl_engine_new();
	if (!e->cl) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory (libclamav engine)");
		goto fail;
	}
	r = pib_mkdtemp("pib-clamav", &e->tmpdir);
	if (r < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "scan.db_unusable",
			     "cannot create a private temporary directory for libclamav: %s", strerror(-r));
		goto fail;
	}
	if (cl_engine_set_str(e->cl, CL_ENGINE_TMPDIR, e->tmpdir) != CL_SUCCESS) {
		r = pib_fail(err, -EIO, PIB_ERR_ENV, "scan.db_unusable", "libclamav refuses its temporary directory");
		goto fail;
	}
	unsigned int sigs = 0;
	unsigned int dbopts = CL_DB_STDOPT | (cfg->heuristics ? CL_DB_PUA : 0);
	rc = cl_load(db, e->cl, &sigs, dbopts);
	if (rc != CL_SUCCESS) {
		char what[800];
		snprintf(what, sizeof(what), "libclamav: %s%s%s", cl_strerror(rc), last_msg[0] ? ": " : "",
			 last_msg);
		r = unusable(err, -EINVAL, db, what);
		goto fail;
	}
	if (sigs == 0) {
		r = unusable(err, -ENOENT, db, "it holds no signatures");
		goto fail;
	}
	e->sigs = sigs;
	rc = cl_engine_compile(e->cl);
	if (rc != CL_SUCCESS) {
		char what[800];
		snprintf(what, sizeof(what), "libclamav cannot compile it: %s%s%s", cl_strerror(rc),
			 last_msg[0] ? ": " : "", last_msg);
		r = unusable(err, -EINVAL, db, what);
		goto fail;
	}
	/* limits after compile, as clamscan does; then read back what the engine really uses */
	if (set_limit(e, CL_ENGINE_MAX_FILESIZE, cfg->limits.max_filesize) < 0 ||
	    set_limit(e, CL_ENGINE_MAX_SCANSIZE, cfg->limits.max_scansize) < 0 ||
	    set_limit(e, CL_ENGINE_MAX_RECURSION, cfg->limits.max_recursion) < 0 ||
	    set_limit(e, CL_ENGINE_MAX_FILES, cfg->limits.max_files) < 0 ||
	    set_limit(e, CL_ENGINE_MAX_SCANTIME, cfg->limits.max_scantime) < 0) {
		r = pib_fail(err, -EINVAL, PIB_ERR_USAGE, "usage.invalid", "libclamav refuses a scan limit");
		goto fail;
	}
	e->max_filesize = get_limit(e, CL_ENGINE_MAX_FILESIZE);
	e->max_scansize = get_limit(e, CL_ENGINE_MAX_SCANSIZE);
	e->max_recursion = (uint32_t)get_limit(e, CL_ENGINE_MAX_RECURSION);
	e->max_files = (uint32_t)get_limit(e, CL_ENGINE_MAX_FILES);
	e->max_scantime = (uint32_t)get_limit(e, CL_ENGINE_MAX_SCANTIME);

	cl_engine_set_clcb_virus_found(e->cl, cb_virus_found);
	cl_engine_set_clcb_meta(e->cl, cb_meta);
	cl_engine_set_clcb_file_props(e->cl, cb_file_props);

	memset(&e->opts, 0, sizeof(e->opts));
	e->opts.parse = ~0u;
	e->opts.general = CL_SCAN_GENERAL_ALLMATCHES | CL_SCAN_GENERAL_HEURISTICS;
	e->opts.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	if (cfg->heuristics)
		e->opts.heuristic |= CL_SCAN_HEURISTIC_BROKEN | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
				     CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_BROKEN_MEDIA |
				     CL_SCAN_HEURISTIC_PHISHING_SSL_MISMATCH |
				     CL_SCAN_HEURISTIC_PHISHING_CLOAK | CL_SCAN_HEURISTIC_PARTITION_INTXN;
	e->opts_meta = e->opts;
	e->opts_meta.general |= CL_SCAN_GENERAL_COLLECT_METADATA;

	db_identity(e);
	if (cfg->max_age_days > 0) {
		time_t now = time(NULL);
		if (e->db_time + (int64_t)cfg->max_age_days * 86400 < (int64_t)now) {
			char when[32];
			format_time(e->db_time, when);
			r = pib_fail(err, -ESTALE, PIB_ERR_ENV, "scan.db_outdated",
				     "the signature database %s is from %s (%s), older than the limit of %u days",
				     db, when, e->db_time_source, cfg->max_age_days);
			goto fail;
		}
	}
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	*ret = e;
	return 0;
fail:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	engine_free(e);
	return r < 0 ? r : -EIO;
}

static cJSON *clamav_engine_json(const struct scan_engine *e)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *lim, *opt;

	cJSON_AddStringToObject(j, "name", "clamav");
	cJSON_AddStringToObject(j, "version", cl_retver());
	cJSON_AddNumberToObject(j, "flevel", cl_retflevel());
	lim = cJSON_AddObjectToObject(j, "limits");
	cJSON_AddNumberToObject(lim, "max_filesize", (double)e->max_filesize);
	cJSON_AddNumberToObject(lim, "max_scansize", (double)e->max_scansize);
	cJSON_AddNumberToObject(lim, "max_recursion", e->max_recursion);
	cJSON_AddNumberToObject(lim, "max_files", e->max_files);
	cJSON_AddNumberToObject(lim, "max_scantime_ms", e->max_scantime);
	opt = cJSON_AddObjectToObject(j, "options");
	cJSON_AddBoolToObject(opt, "all_matches", true);
	cJSON_AddBoolToObject(opt, "heuristics", e->heuristics);
	cJSON_AddBoolToObject(opt, "pua", e->heuristics);
	cJSON_AddBoolToObject(opt, "alert_exceeds_max", true);
	cJSON_AddNumberToObject(opt, "general", e->opts.general);
	cJSON_AddNumberToObject(opt, "parse", e->opts.parse);
	cJSON_AddNumberToObject(opt, "heuristic", e->opts.heuristic);
	return j;
}

static cJSON *clamav_database_json(const struct scan_engine *e)
{
	cJSON *j = cJSON_CreateObject();
	char when[32];

	cJSON_AddStringToObject(j, "path", e->db);
	if (e->db_version >= 0)
		cJSON_AddNumberToObject(j, "version", (double)e->db_version);
	else
		cJSON_AddNullToObject(j, "version");
	format_time(e->db_time, when);
	cJSON_AddStringToObject(j, "time", when);
	cJSON_AddStringToObject(j, "time_source", e->db_time_source);
	cJSON_AddNumberToObject(j, "signatures", e->sigs);
	cJSON *files = cJSON_AddArrayToObject(j, "files");
	for (size_t i = 0; i < e->n_files; i++) {
		const struct db_file *f = &e->files[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", f->name);
		cJSON_AddNumberToObject(o, "size", (double)f->size);
		if (f->sha256[0])
			cJSON_AddStringToObject(o, "sha256", f->sha256);
		else
			cJSON_AddNullToObject(o, "sha256");
		if (f->has_header)
			cJSON_AddNumberToObject(o, "version", f->version);
		else
			cJSON_AddNullToObject(o, "version");
		format_time(f->has_header ? f->build_time : f->mtime, when);
		cJSON_AddStringToObject(o, "time", when);
		cJSON_AddStringToObject(o, "time_source", f->has_header ? "cvd-header" : "mtime");
		if (f->sigs_known)
			cJSON_AddNumberToObject(o, "signatures", f->sigs);
		else
			cJSON_AddNullToObject(o, "signatures");
		if (f->builder)
			cJSON_AddStringToObject(o, "builder", f->builder);
		cJSON_AddItemToArray(files, o);
	}
	return j;
}

static uint64_t clamav_max_filesize(const struct scan_engine *e)
{
	return e->max_filesize;
}

const struct scanner scanner_clamav = {
	.name = "clamav",
	.open = clamav_open,
	.scan_fd = clamav_scan_fd,
	.scan_mem = clamav_scan_mem,
	.engine_json = clamav_engine_json,
	.database_json = clamav_database_json,
	.max_filesize = clamav_max_filesize,
	.close = engine_free,
};
