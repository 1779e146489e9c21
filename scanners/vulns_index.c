/* SPDX-License-Identifier: MIT */
/*
 * The index of an OSV feed (pib-agent vulns-index): what vuln_db_load keeps of a feed, for every
 * ecosystem, written once in a compact binary form and read back in a fraction of the time the
 * JSON takes (no parsing: a read, one pass of checks, and arrays pointing into the bytes read).
 *
 * Layout (little-endian, every section 8-byte aligned): a header (struct vx_header), then
 *   ecos[n_ecos]     u32 string offsets: the distinct ecosystems of the feed (as the report lists them)
 *   recs[n_recs]     struct vx_rec, in feed order
 *   affs[n_affs]     struct vx_aff, in (name, record) order: the order vuln_match searches
 *   ranges[n_ranges] struct vx_range, each a slice of evs
 *   evs[n_evs]       struct vx_ev
 *   list[n_list]     u32 string offsets: the aliases of records and the versions of entries
 *   str[str_size]    NUL-terminated strings, each once, the last byte a NUL
 * An index is as hostile as the feed it replaces: every offset, count, slice, kind and order is
 * checked before use, and an error names the field ("recs[12].aliases").
 */
#include "vulns.h"
#include "vulns_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const vuln_sev_froms[5] = {NULL, "urgency", "database_specific", "cvss_v3", "ubuntu"};

#define VX_MAGIC "PIBVULNX"
#define VX_VERSION 1u
#define VX_ORDER 0x01020304u
#define VX_NONE UINT32_MAX

struct vx_header {
	char magic[8];
	uint32_t version, byte_order;
	uint32_t header_size, eco_cut;
	uint64_t file_size;
	uint64_t files, records, withdrawn;
	int64_t newest_modified;
	uint32_t newest_text, source, built, pad;
	uint32_t n_ecos, n_recs, n_affs, n_ranges, n_evs, n_list, str_size, pad2;
	uint64_t off_ecos, off_recs, off_affs, off_ranges, off_evs, off_list, off_str;
};

struct vx_rec {
	uint32_t id, summary, modified, aliases, n_aliases, sev_from, sev_text;
	int32_t sev;
};

struct vx_aff {
	uint32_t rec, name, eco, versions, n_versions, ranges, n_ranges, ignored, sev_from, sev_text;
	int32_t sev;
	uint32_t pad;
};

struct vx_range {
	uint32_t ev, n_ev;
};

struct vx_ev {
	uint32_t kind, v;
};

/* the layout is the file format: fixed sizes, no padding the compiler chooses */
_Static_assert(sizeof(struct vx_header) == 168, "vx_header");
_Static_assert(sizeof(struct vx_rec) == 32 && sizeof(struct vx_aff) == 48, "vx_rec, vx_aff");
_Static_assert(sizeof(struct vx_range) == 8 && sizeof(struct vx_ev) == 8, "vx_range, vx_ev");

bool vuln_index_magic(const unsigned char *head, size_t n)
{
	return n >= 8 && !memcmp(head, VX_MAGIC, 8);
}

static uint32_t sev_from_code(const char *from)
{
	for (uint32_t i = 1; i < 5; i++)
		if (from && !strcmp(from, vuln_sev_froms[i]))
			return i;
	return 0;
}

/* ---- writing ---- */

/* The strings, each once: a hash set of offsets into the bytes. */
struct strtab {
	struct pib_buf b;
	uint32_t *slot; /* offset + 1; 0: empty */
	size_t cap, n;
};

static int st_grow(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1u << 16;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i]) {
			size_t k = pib_fnv1a_str(t->b.data + t->slot[i] - 1) & (cap - 1);
			while (slot[k])
				k = (k + 1) & (cap - 1);
			slot[k] = t->slot[i];
		}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return 0;
}

/* The offset of s (added when new); VX_NONE for NULL. -EFBIG past 4 GiB of strings. */
static int st_add(struct strtab *t, const char *s, uint32_t *ret)
{
	*ret = VX_NONE;
	if (!s)
		return 0;
	if ((t->n + 1) * 2 > t->cap && st_grow(t) < 0)
		return -ENOMEM;
	size_t k = pib_fnv1a_str(s) & (t->cap - 1);
	for (; t->slot[k]; k = (k + 1) & (t->cap - 1))
		if (!strcmp(t->b.data + t->slot[k] - 1, s)) {
			*ret = t->slot[k] - 1;
			return 0;
		}
	size_t len = strlen(s) + 1;
	if (t->b.len + len >= UINT32_MAX - 1)
		return -EFBIG;
	uint32_t off = (uint32_t)t->b.len;
	if (pib_buf_append(&t->b, s, len) < 0)
		return -ENOMEM;
	t->slot[k] = off + 1;
	t->n++;
	*ret = off;
	return 0;
}

/* Appends a NULL-terminated vector's offsets to list; *at and *n its slice. */
static int put_strv(struct strtab *t, struct pib_buf *list, char *const *v, uint32_t *at, uint32_t *n)
{
	*at = (uint32_t)(list->len / sizeof(uint32_t));
	*n = 0;
	for (size_t i = 0; v && v[i]; i++) {
		uint32_t o;
		int rc = st_add(t, v[i], &o);
		if (rc < 0 || (rc = pib_buf_append(list, &o, sizeof(o))) < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

static int pad8(struct pib_buf *b)
{
	static const char zero[8];
	return b->len % 8 ? pib_buf_append(b, zero, 8 - b->len % 8) : 0;
}

static int build(const struct vuln_db *db, const char *source, struct pib_buf *out, struct vuln_index_stats *st)
{
	struct strtab t = {0};
	struct pib_buf ecos = {0}, recs = {0}, affs = {0}, ranges = {0}, evs = {0}, list = {0};
	struct vx_header h = {.version = VX_VERSION, .byte_order = VX_ORDER, .header_size = sizeof(h)};
	char built[40];
	time_t now = time(NULL);
	struct tm tm;
	uint32_t o;
	int rc;

	memcpy(h.magic, VX_MAGIC, 8);
	strftime(built, sizeof(built), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if ((rc = st_add(&t, "", &o)) < 0 || (rc = st_add(&t, db->info.newest_modified_text, &h.newest_text)) < 0 ||
	    (rc = st_add(&t, source, &h.source)) < 0 || (rc = st_add(&t, built, &h.built)) < 0)
		goto out;
	h.files = db->info.files;
	h.records = db->info.records;
	h.withdrawn = db->info.withdrawn;
	h.newest_modified = (int64_t)db->info.newest_modified;
	h.eco_cut = db->info.ecosystems_cut;
	for (size_t i = 0; rc == 0 && db->info.ecosystems && db->info.ecosystems[i]; i++, h.n_ecos++)
		if ((rc = st_add(&t, db->info.ecosystems[i], &o)) == 0)
			rc = pib_buf_append(&ecos, &o, sizeof(o));
	for (size_t i = 0; rc == 0 && i < db->n_recs; i++) {
		const struct rec *r = &db->recs[i];
		struct vx_rec x = {.sev = (int32_t)r->sev, .sev_from = sev_from_code(r->sev_from)};
		if ((rc = st_add(&t, r->id, &x.id)) < 0 || (rc = st_add(&t, r->summary, &x.summary)) < 0 ||
		    (rc = st_add(&t, r->modified, &x.modified)) < 0 || (rc = st_add(&t, r->sev_text, &x.sev_text)) < 0 ||
		    (rc = put_strv(&t, &list, r->aliases, &x.aliases, &x.n_aliases)) < 0)
			break;
		rc = pib_buf_append(&recs, &x, sizeof(x));
	}
	for (size_t i = 0; rc == 0 && i < db->n_affs; i++) {
		const struct aff *a = &db->affs[i];
		struct vx_aff x = {.rec = (uint32_t)a->rec, .n_ranges = (uint32_t)a->n_ranges, .ignored = (uint32_t)a->ignored,
				   .sev = (int32_t)a->sev, .sev_from = sev_from_code(a->sev_from)};
		x.ranges = (uint32_t)(ranges.len / sizeof(struct vx_range));
		if ((rc = st_add(&t, a->name, &x.name)) < 0 || (rc = st_add(&t, a->ecosystem, &x.eco)) < 0 ||
		    (rc = st_add(&t, a->sev_text, &x.sev_text)) < 0 ||
		    (rc = put_strv(&t, &list, a->versions, &x.versions, &x.n_versions)) < 0)
			break;
		for (size_t r = 0; rc == 0 && r < a->n_ranges; r++) {
			struct vx_range xr = {.ev = (uint32_t)(evs.len / sizeof(struct vx_ev)), .n_ev = (uint32_t)a->ranges[r].n};
			for (size_t e = 0; rc == 0 && e < a->ranges[r].n; e++) {
				struct vx_ev xe = {.kind = (uint32_t)a->ranges[r].ev[e].kind};
				if ((rc = st_add(&t, a->ranges[r].ev[e].v, &xe.v)) == 0)
					rc = pib_buf_append(&evs, &xe, sizeof(xe));
			}
			if (rc == 0)
				rc = pib_buf_append(&ranges, &xr, sizeof(xr));
		}
		if (rc == 0)
			rc = pib_buf_append(&affs, &x, sizeof(x));
	}
	if (rc < 0)
		goto out;
	/* every count must fit its u32 (offsets do, by st_add): a feed of billions of entries cannot be indexed */
	if (db->n_recs >= VX_NONE || db->n_affs >= VX_NONE || ranges.len / sizeof(struct vx_range) >= VX_NONE ||
	    evs.len / sizeof(struct vx_ev) >= VX_NONE || list.len / sizeof(uint32_t) >= VX_NONE) {
		rc = -EFBIG;
		goto out;
	}
	h.n_recs = (uint32_t)db->n_recs;
	h.n_affs = (uint32_t)db->n_affs;
	h.n_ranges = (uint32_t)(ranges.len / sizeof(struct vx_range));
	h.n_evs = (uint32_t)(evs.len / sizeof(struct vx_ev));
	h.n_list = (uint32_t)(list.len / sizeof(uint32_t));
	h.str_size = (uint32_t)t.b.len;
	/* the header first (its offsets filled in after), then each section on an 8-byte boundary */
	struct pib_buf *sec[] = {&ecos, &recs, &affs, &ranges, &evs, &list, &t.b};
	uint64_t *off[] = {&h.off_ecos, &h.off_recs, &h.off_affs, &h.off_ranges, &h.off_evs, &h.off_list, &h.off_str};
	if ((rc = pib_buf_append(out, &h, sizeof(h))) < 0)
		goto out;
	for (size_t i = 0; rc == 0 && i < sizeof(sec) / sizeof(sec[0]); i++) {
		if ((rc = pad8(out)) < 0)
			break;
		*off[i] = out->len;
		if (sec[i]->len)
			rc = pib_buf_append(out, sec[i]->data, sec[i]->len);
	}
	if (rc == 0 && (rc = pad8(out)) == 0) {
		h.file_size = out->len;
		memcpy(out->data, &h, sizeof(h));
		st->files = db->info.files;
		st->records = db->info.records;
		st->records_kept = db->n_recs;
		st->entries = db->n_affs;
		st->strings = t.n;
		st->bytes = out->len;
	}
out:
	pib_buf_free(&t.b);
	free(t.slot);
	pib_buf_free(&ecos);
	pib_buf_free(&recs);
	pib_buf_free(&affs);
	pib_buf_free(&ranges);
	pib_buf_free(&evs);
	pib_buf_free(&list);
	return rc;
}

int vuln_index_write(const char *feed, const char *out, struct vuln_index_stats *st, struct pib_err *err)
{
	struct vuln_db *db = NULL;
	struct pib_buf b = {0};
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = vuln_db_load_all(feed, &db, err)) < 0)
		return rc;
	rc = build(db, feed, &b, st);
	vuln_db_free(db);
	if (rc == -EFBIG)
		rc = pib_fail(err, rc, PIB_ERR_USAGE, "vulns.invalid",
			      "%s: too large for an index (more than 4 GiB of strings or 2^32 entries)", feed);
	else if (rc < 0)
		rc = pib_fail(err, rc, PIB_ERR_ENV, "agent.oom", "out of memory indexing %s", feed);
	else if ((rc = pib_write_file(out, b.data, b.len, 0644)) < 0)
		rc = pib_fail(err, rc, PIB_ERR_ENV, "vulns.unwritable", "%s: %s", out, strerror(-rc));
	pib_buf_free(&b);
	return rc;
}

/* ---- reading ---- */

struct ix {
	const char *path;
	struct pib_err *err;
	const char *str;
	uint32_t str_size;
};

static int ix_bad(struct ix *x, const char *fmt, ...) PIB_PRINTF(2, 3);
static int ix_bad(struct ix *x, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pib_fail(x->err, -EINVAL, PIB_ERR_USAGE, "vulns.invalid", "%s: not a usable index (pib-agent vulns-index): %s",
			x->path, msg);
}

/* The string at off (VX_NONE: NULL when optional); NULL and *ok false when off is out of bounds or an empty required one. */
static const char *ix_str(const struct ix *x, uint32_t off, bool optional, bool *ok)
{
	if (off == VX_NONE && optional)
		return NULL;
	if (off >= x->str_size || (!optional && !x->str[off])) {
		*ok = false;
		return NULL;
	}
	return x->str + off;
}

/* A slice [at, at + n) of a section of total entries, at most VULN_MAX_ITEMS long. */
static bool slice_ok(uint32_t at, uint32_t n, uint32_t total)
{
	return n <= VULN_MAX_ITEMS && at <= total && n <= total - at;
}

/* A section of n entries of size sz at off: inside the file, aligned. */
static bool section_ok(uint64_t off, uint64_t n, size_t sz, uint64_t size)
{
	return off % 8 == 0 && off >= sizeof(struct vx_header) && off <= size && n * sz <= size - off;
}

int vuln_index_load(struct vuln_db *db, int fd, const char *path, struct pib_err *err)
{
	struct ix x = {.path = path, .err = err};
	struct vuln_feed_info *in = &db->info;
	struct stat st;
	struct vx_header h;
	uint32_t *mine = NULL, *map = NULL;
	uint64_t n_ranges = 0, n_evs = 0, n_ptrs = 0, n_lists = 0;
	size_t n_mine = 0, n_need = 0;
	char *buf = NULL;
	bool ok = true;
	int rc;

	if (fstat(fd, &st) < 0)
		return pib_fail(err, -errno, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", path, strerror(errno));
	if ((uint64_t)st.st_size < sizeof(h))
		return ix_bad(&x, "shorter than its header (%lld bytes)", (long long)st.st_size);
	if ((uint64_t)st.st_size > VULN_MAX_TOTAL_BYTES)
		return ix_bad(&x, "larger than %llu GiB", VULN_MAX_TOTAL_BYTES >> 30);
	size_t size = (size_t)st.st_size;
	if (!(buf = malloc(size + 1)))
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", path);
	if ((rc = pib_read_full(fd, buf, size, 0)) < 0) {
		free(buf);
		return rc == -ENODATA ? ix_bad(&x, "it shrank while it was read")
				      : pib_fail(err, rc, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", path, strerror(-rc));
	}
	memcpy(&h, buf, sizeof(h));
	if (h.version != VX_VERSION || h.byte_order != VX_ORDER || h.header_size != sizeof(h)) {
		rc = ix_bad(&x, "header.version: version %u of another byte order or agent (this agent reads version %u)",
			    h.version, VX_VERSION);
		goto fail;
	}
	if (h.file_size != size) {
		rc = ix_bad(&x, "header.file_size: says %llu bytes, the file has %zu (cut or grown)",
			    (unsigned long long)h.file_size, size);
		goto fail;
	}
	static const char *const names[] = {"ecos", "recs", "affs", "ranges", "evs", "list", "str"};
	const uint64_t offs[] = {h.off_ecos, h.off_recs, h.off_affs, h.off_ranges, h.off_evs, h.off_list, h.off_str};
	const uint64_t ns[] = {h.n_ecos, h.n_recs, h.n_affs, h.n_ranges, h.n_evs, h.n_list, h.str_size};
	const size_t szs[] = {4, sizeof(struct vx_rec), sizeof(struct vx_aff), sizeof(struct vx_range),
			      sizeof(struct vx_ev), 4, 1};
	for (size_t i = 0; i < 7; i++)
		if (!section_ok(offs[i], ns[i], szs[i], size)) {
			rc = ix_bad(&x, "header.%s: %llu entries at %llu are not inside the file", names[i],
				    (unsigned long long)ns[i], (unsigned long long)offs[i]);
			goto fail;
		}
	x.str = buf + h.off_str;
	x.str_size = h.str_size;
	/* the strings: the last byte a NUL (so every offset inside is a string), none longer than a feed's */
	if (!h.str_size || x.str[h.str_size - 1]) {
		rc = ix_bad(&x, "str: does not end with a NUL");
		goto fail;
	}
	for (const char *p = x.str, *end = x.str + h.str_size; p < end;) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		if ((size_t)(z - p) > VULN_MAX_STRING) {
			rc = ix_bad(&x, "str[%zu]: a string longer than %u bytes", (size_t)(p - x.str), VULN_MAX_STRING);
			goto fail;
		}
		p = z + 1;
	}
	if (h.files == 0 || h.records > VULN_MAX_RECORDS || h.n_recs > h.records || h.withdrawn > h.records ||
	    h.n_ecos > 64) {
		rc = ix_bad(&x, "header: impossible counts (files %llu, records %llu, kept %u, withdrawn %llu, ecosystems %u)",
			    (unsigned long long)h.files, (unsigned long long)h.records, h.n_recs,
			    (unsigned long long)h.withdrawn, h.n_ecos);
		goto fail;
	}
	const char *newest = ix_str(&x, h.newest_text, true, &ok); /* "" when no record had a date: an empty feed */
	const char *source = ix_str(&x, h.source, false, &ok);
	const char *built = ix_str(&x, h.built, false, &ok);
	if (!ok) {
		rc = ix_bad(&x, "header: a string offset out of bounds");
		goto fail;
	}
	in->files = h.files;
	in->records = h.records;
	in->withdrawn = h.withdrawn;
	in->newest_modified = (time_t)h.newest_modified;
	snprintf(in->newest_modified_text, sizeof(in->newest_modified_text), "%.39s", newest ? newest : "");
	snprintf(in->index_built, sizeof(in->index_built), "%.39s", built);
	in->ecosystems_cut = h.eco_cut != 0;
	if (!(in->index_source = strdup(source)) || !(in->ecosystems = calloc(h.n_ecos + 1, sizeof(char *)))) {
		rc = -ENOMEM;
		goto oom;
	}
	const uint32_t *ecos = (const uint32_t *)(buf + h.off_ecos);
	for (uint32_t i = 0; i < h.n_ecos; i++) {
		const char *e = ix_str(&x, ecos[i], false, &ok);
		if (!ok) {
			rc = ix_bad(&x, "ecos[%u]: out of bounds or empty", i);
			goto fail;
		}
		if (!(in->ecosystems[i] = strdup(e))) {
			rc = -ENOMEM;
			goto oom;
		}
	}

	/* the entries: all checked for their record and ecosystem; those of the ecosystem asked for, whole */
	const struct vx_rec *recs = (const struct vx_rec *)(buf + h.off_recs);
	const struct vx_aff *affs = (const struct vx_aff *)(buf + h.off_affs);
	const struct vx_range *ranges = (const struct vx_range *)(buf + h.off_ranges);
	const struct vx_ev *evs = (const struct vx_ev *)(buf + h.off_evs);
	const uint32_t *list = (const uint32_t *)(buf + h.off_list);
	if (!(mine = malloc(((size_t)h.n_affs + 1) * sizeof(*mine))) ||
	    !(map = malloc(((size_t)h.n_recs + 1) * sizeof(*map)))) {
		rc = -ENOMEM;
		goto oom;
	}
	memset(map, 0xff, ((size_t)h.n_recs + 1) * sizeof(*map));
	for (uint32_t i = 0; i < h.n_affs; i++) {
		const struct vx_aff *a = &affs[i];
		const char *eco = ix_str(&x, a->eco, false, &ok);
		if (!ok || a->rec >= h.n_recs) {
			rc = ix_bad(&x, "affs[%u]: its %s is out of bounds", i, ok ? "record" : "ecosystem");
			goto fail;
		}
		if (!db->ecosystem || !pkgdb_osv_ecosystem_matches(db->ecosystem, eco))
			continue;
		const char *field = NULL;
		(void)ix_str(&x, a->name, false, &ok);
		(void)ix_str(&x, a->sev_text, true, &ok);
		if (!ok)
			field = "name or sev_text";
		else if (a->sev < VULN_SEV_UNKNOWN || a->sev > VULN_SEV_CRITICAL || a->sev_from >= 5)
			field = "sev";
		else if (!slice_ok(a->versions, a->n_versions, h.n_list))
			field = "versions";
		else if (!slice_ok(a->ranges, a->n_ranges, h.n_ranges))
			field = "ranges";
		for (uint32_t r = 0; !field && r < a->n_ranges; r++) {
			const struct vx_range *xr = &ranges[a->ranges + r];
			if (!slice_ok(xr->ev, xr->n_ev, h.n_evs)) {
				field = "ranges' events";
				break;
			}
			for (uint32_t e = 0; e < xr->n_ev; e++) {
				(void)ix_str(&x, evs[xr->ev + e].v, false, &ok);
				if (!ok || evs[xr->ev + e].kind > EV_LIMIT) {
					field = "an event";
					break;
				}
			}
			n_evs += xr->n_ev;
			if (n_evs > h.n_evs)
				field = "ranges' events (more than the index holds: slices overlap)";
		}
		for (uint32_t v = 0; !field && v < a->n_versions; v++)
			if (list[a->versions + v] >= x.str_size)
				field = "versions";
		/* the slices used, together, fit their sections: what is made is never more than the index holds */
		if (!field && ((n_ranges += a->n_ranges) > h.n_ranges || (n_ptrs += a->n_versions) > h.n_list))
			field = "ranges or versions (more than the index holds: slices overlap)";
		if (field) {
			rc = ix_bad(&x, "affs[%u].%s: out of bounds, empty or of no known kind", i, field);
			goto fail;
		}
		n_lists += a->n_versions > 0;
		/* in (name, record) order, as vuln_match's search and its one hit per record need */
		if (n_mine) {
			const struct vx_aff *p = &affs[mine[n_mine - 1]];
			int c = strcmp(x.str + p->name, x.str + a->name);
			if (c > 0 || (c == 0 && p->rec > a->rec)) {
				rc = ix_bad(&x, "affs[%u]: out of (name, record) order", i);
				goto fail;
			}
		}
		in->ranges_ignored += a->ignored;
		if (map[a->rec] == VX_NONE) {
			map[a->rec] = 0;
			n_need++;
		}
		mine[n_mine++] = i;
	}
	in->records_mine = n_need;
	/* the records the entries name, in feed order */
	if (!(db->recs = calloc(n_need + 1, sizeof(*db->recs)))) {
		rc = -ENOMEM;
		goto oom;
	}
	for (uint32_t i = 0; i < h.n_recs; i++) {
		if (map[i] == VX_NONE)
			continue;
		const struct vx_rec *r = &recs[i];
		ok = true;
		(void)ix_str(&x, r->id, false, &ok);
		(void)ix_str(&x, r->modified, false, &ok);
		(void)ix_str(&x, r->summary, true, &ok);
		(void)ix_str(&x, r->sev_text, true, &ok);
		if (!ok || r->sev < VULN_SEV_UNKNOWN || r->sev > VULN_SEV_CRITICAL || r->sev_from >= 5 ||
		    !slice_ok(r->aliases, r->n_aliases, h.n_list)) {
			rc = ix_bad(&x, "recs[%u]: a field out of bounds, empty or of no known kind", i);
			goto fail;
		}
		for (uint32_t k = 0; k < r->n_aliases; k++)
			if (list[r->aliases + k] >= x.str_size) {
				rc = ix_bad(&x, "recs[%u].aliases: out of bounds", i);
				goto fail;
			}
		if ((n_ptrs += r->n_aliases) > h.n_list) {
			rc = ix_bad(&x, "recs[%u].aliases: more than the index holds (slices overlap)", i);
			goto fail;
		}
		n_lists++;
		map[i] = (uint32_t)db->n_recs++;
	}
	if (!(db->affs = calloc(n_mine + 1, sizeof(*db->affs))) ||
	    !(db->ix_ranges = calloc(n_ranges + 1, sizeof(*db->ix_ranges))) ||
	    !(db->ix_evs = calloc(n_evs + 1, sizeof(*db->ix_evs))) ||
	    !(db->ix_ptrs = calloc(n_ptrs + n_lists + 1, sizeof(*db->ix_ptrs)))) {
		rc = -ENOMEM;
		goto oom;
	}
	/* made: borrowed strings, arrays in the four blocks */
	char **pp = db->ix_ptrs;
	struct range *rp = db->ix_ranges;
	struct ev *ep = db->ix_evs;
	char *s = buf + h.off_str;
	for (uint32_t i = 0; i < h.n_recs; i++) {
		if (map[i] == VX_NONE)
			continue;
		const struct vx_rec *r = &recs[i];
		struct rec *o = &db->recs[map[i]];
		o->id = s + r->id;
		o->modified = s + r->modified;
		o->summary = r->summary == VX_NONE ? NULL : s + r->summary;
		o->sev_text = r->sev_text == VX_NONE ? NULL : s + r->sev_text;
		o->sev = (enum vuln_severity)r->sev;
		o->sev_from = vuln_sev_froms[r->sev_from];
		o->unit = i;
		o->aliases = pp;
		for (uint32_t k = 0; k < r->n_aliases; k++)
			*pp++ = s + list[r->aliases + k];
		*pp++ = NULL;
	}
	for (size_t m = 0; m < n_mine; m++) {
		const struct vx_aff *a = &affs[mine[m]];
		struct aff *o = &db->affs[db->n_affs++];
		o->rec = map[a->rec];
		o->name = s + a->name;
		o->ecosystem = s + a->eco;
		o->sev = (enum vuln_severity)a->sev;
		o->sev_from = vuln_sev_froms[a->sev_from];
		o->sev_text = a->sev_text == VX_NONE ? NULL : s + a->sev_text;
		o->ignored = a->ignored;
		if (a->n_versions) {
			o->versions = pp;
			for (uint32_t v = 0; v < a->n_versions; v++)
				*pp++ = s + list[a->versions + v];
			*pp++ = NULL;
		}
		o->ranges = rp;
		o->n_ranges = a->n_ranges;
		for (uint32_t r = 0; r < a->n_ranges; r++, rp++) {
			const struct vx_range *xr = &ranges[a->ranges + r];
			rp->ev = ep;
			rp->n = xr->n_ev;
			for (uint32_t e = 0; e < xr->n_ev; e++, ep++) {
				ep->kind = (enum ev_kind)evs[xr->ev + e].kind;
				ep->v = s + evs[xr->ev + e].v;
			}
		}
	}
	db->blob = buf;
	db->cap_recs = n_need + 1;
	db->cap_affs = n_mine + 1;
	db->total_bytes = size;
	free(mine);
	free(map);
	return 0;
oom:
	rc = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", path);
fail:
	free(mine);
	free(map);
	free(buf);
	/* what was made so far is freed by the caller's vuln_db_free: blob is not set, the strings were not borrowed yet */
	free(db->recs);
	db->recs = NULL;
	db->n_recs = 0;
	free(db->affs);
	db->affs = NULL;
	db->n_affs = 0;
	free(db->ix_ranges);
	free(db->ix_evs);
	free(db->ix_ptrs);
	db->ix_ranges = NULL;
	db->ix_evs = NULL;
	db->ix_ptrs = NULL;
	free(in->index_source);
	in->index_source = NULL;
	return rc;
}
