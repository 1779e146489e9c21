/* SPDX-License-Identifier: MIT */
/* Offline vulnerability matching: OSV records from a file or a folder, matched against packages by the OS's own version rules. */
#include "vulns.h"
#include "vulns_priv.h"
#include "jsonfast.h"
#include "jsonread.h"

#include <archive.h>
#include <archive_entry.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <solv/evr.h>
#include <solv/pool.h>

/* ---- severities ---- */

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *vuln_severity_name(enum vuln_severity s)
{
	return s >= VULN_SEV_INFO && s <= VULN_SEV_CRITICAL ? sev_names[s] : NULL;
}

int vuln_severity_parse(const char *s, enum vuln_severity *ret)
{
	for (int i = 0; i <= VULN_SEV_CRITICAL; i++)
		if (s && !strcmp(s, sev_names[i])) {
			*ret = (enum vuln_severity)i;
			return 0;
		}
	return -EINVAL;
}

enum vuln_severity vuln_severity_of_word(const char *w)
{
	static const struct {
		const char *w;
		enum vuln_severity s;
	} words[] = {
		{"unimportant", VULN_SEV_INFO}, {"negligible", VULN_SEV_INFO}, {"none", VULN_SEV_INFO},
		{"info", VULN_SEV_INFO},	{"low", VULN_SEV_LOW},		{"medium", VULN_SEV_MEDIUM},
		{"moderate", VULN_SEV_MEDIUM},  {"high", VULN_SEV_HIGH},	{"important", VULN_SEV_HIGH},
		{"critical", VULN_SEV_CRITICAL},
	};
	char buf[32];
	size_t n = 0;

	if (!w)
		return VULN_SEV_UNKNOWN;
	/* Debian marks an urgency it took from elsewhere with "**": "low**" */
	for (; w[n] && w[n] != '*' && n + 1 < sizeof(buf); n++)
		buf[n] = (char)tolower((unsigned char)w[n]);
	buf[n] = 0;
	if (w[n] && strspn(w + n, "*") != strlen(w + n))
		return VULN_SEV_UNKNOWN;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(buf, words[i].w))
			return words[i].s;
	return VULN_SEV_UNKNOWN;
}

/* The metric's weight of a CVSS v3 vector, or -1. */
static double cvss_metric(const char *vector, const char *name, const char *letters, const double *weights)
{
	size_t nl = strlen(name);
	const char *p = vector;
	double found = -1;
	while ((p = strchr(p, '/'))) {
		p++;
		if (!strncmp(p, name, nl) && p[nl] == ':' && p[nl + 1] && (p[nl + 2] == '/' || !p[nl + 2])) {
			const char *l = strchr(letters, p[nl + 1]);
			if (!l || found >= 0)
				return -1; /* unknown value, or twice */
			found = weights[l - letters];
		}
	}
	return found;
}

static double cvss_roundup(double x)
{
	long long i = (long long)(x * 100000.0 + 0.5);
	return i % 10000 == 0 ? (double)i / 100000.0 : (double)(i / 10000 + 1) / 10.0;
}

double vuln_cvss3_score(const char *v)
{
	if (!v || (strncmp(v, "CVSS:3.0/", 9) && strncmp(v, "CVSS:3.1/", 9)))
		return -1;
	double s = cvss_metric(v, "S", "UC", (const double[]){0, 1});
	bool changed = s == 1;
	double av = cvss_metric(v, "AV", "NALP", (const double[]){0.85, 0.62, 0.55, 0.2});
	double ac = cvss_metric(v, "AC", "LH", (const double[]){0.77, 0.44});
	double pr = cvss_metric(v, "PR", "NLH",
				changed ? (const double[]){0.85, 0.68, 0.5} : (const double[]){0.85, 0.62, 0.27});
	double ui = cvss_metric(v, "UI", "NR", (const double[]){0.85, 0.62});
	double c = cvss_metric(v, "C", "HLN", (const double[]){0.56, 0.22, 0});
	double in = cvss_metric(v, "I", "HLN", (const double[]){0.56, 0.22, 0});
	double a = cvss_metric(v, "A", "HLN", (const double[]){0.56, 0.22, 0});
	if (s < 0 || av < 0 || ac < 0 || pr < 0 || ui < 0 || c < 0 || in < 0 || a < 0)
		return -1;
	double iss = 1 - (1 - c) * (1 - in) * (1 - a);
	double p15 = 1;
	for (int k = 0; k < 15; k++)
		p15 *= iss - 0.02;
	double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * p15 : 6.42 * iss;
	double expl = 8.22 * av * ac * pr * ui;
	if (impact <= 0)
		return 0;
	double base = changed ? 1.08 * (impact + expl) : impact + expl;
	if (base > 10)
		base = 10;
	return cvss_roundup(base);
}

enum vuln_severity vuln_severity_of_score(double score)
{
	if (score < 0)
		return VULN_SEV_UNKNOWN;
	if (score == 0)
		return VULN_SEV_INFO;
	if (score < 4.0)
		return VULN_SEV_LOW;
	if (score < 7.0)
		return VULN_SEV_MEDIUM;
	if (score < 9.0)
		return VULN_SEV_HIGH;
	return VULN_SEV_CRITICAL;
}

/* ---- versions ---- */

struct vuln_cmp {
	Pool *pool;
	bool deb;
};

struct vuln_cmp *vuln_cmp_new(enum pkgdb_family family)
{
	struct vuln_cmp *c = calloc(1, sizeof(*c));
	if (!c || !(c->pool = pool_create())) {
		free(c);
		return NULL;
	}
	c->deb = family == PKGDB_DEB;
	if (pool_setdisttype(c->pool, family == PKGDB_DEB ? DISTTYPE_DEB : DISTTYPE_RPM) < 0) {
		vuln_cmp_free(c);
		return NULL;
	}
	return c;
}

int vuln_cmp(struct vuln_cmp *c, const char *a, const char *b)
{
	/* dpkg reads a version without a revision as revision "0" ("1.0" == "1.0-0"); libsolv puts
	 * it below any revision: the one without gets "-0" when the other has one */
	bool ra = strchr(a, '-') != NULL, rb = strchr(b, '-') != NULL;
	if (c->deb && ra != rb) {
		char buf[VULN_MAX_STRING + 3];
		const char *bare = ra ? b : a;
		if (strlen(bare) <= VULN_MAX_STRING) {
			snprintf(buf, sizeof(buf), "%s-0", bare);
			return ra ? pool_evrcmp_str(c->pool, a, buf, EVRCMP_COMPARE)
				  : pool_evrcmp_str(c->pool, buf, b, EVRCMP_COMPARE);
		}
	}
	return pool_evrcmp_str(c->pool, a, b, EVRCMP_COMPARE);
}

void vuln_cmp_free(struct vuln_cmp *c)
{
	if (!c)
		return;
	if (c->pool)
		pool_free(c->pool);
	free(c);
}

/* ---- the feed ---- */

static void range_free(struct range *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->ev[i].v);
	free(r->ev);
}

static void aff_free(struct aff *a)
{
	free(a->name);
	free(a->ecosystem);
	pib_strv_free(a->versions);
	for (size_t i = 0; i < a->n_ranges; i++)
		range_free(&a->ranges[i]);
	free(a->ranges);
	free(a->sev_text);
}

static void rec_free(struct rec *r)
{
	free(r->id);
	free(r->summary);
	free(r->modified);
	pib_strv_free(r->aliases);
	free(r->sev_text);
}

/* What a database (or a worker's part of one) holds, not the struct itself. */
static void db_contents_free(struct vuln_db *db)
{
	if (db->blob) {
		/* read from an index: the strings are the index's, the arrays four blocks */
		free(db->blob);
		free(db->ix_ranges);
		free(db->ix_evs);
		free(db->ix_ptrs);
		free(db->info.index_source);
	} else {
		for (size_t i = 0; i < db->n_recs; i++)
			rec_free(&db->recs[i]);
		for (size_t i = 0; i < db->n_affs; i++)
			aff_free(&db->affs[i]);
	}
	free(db->recs);
	free(db->affs);
	pib_strv_free(db->info.ecosystems);
}

void vuln_db_free(struct vuln_db *db)
{
	if (!db)
		return;
	db_contents_free(db);
	vuln_cmp_free(db->cmp);
	free(db->ecosystem_owned);
	free(db);
}

const struct vuln_feed_info *vuln_db_info(const struct vuln_db *db)
{
	return &db->info;
}

/* The reader of one file: its messages and the JSON pointer of the field under way. */
struct rd {
	struct jr jr;
	struct vuln_db *db;
	char ptr[512];
};

/* Appends "/key" or "/index" to the pointer; returns the old length to restore. */
static size_t ptr_push(struct rd *r, const char *key, long idx)
{
	size_t n = strlen(r->ptr);
	if (key)
		snprintf(r->ptr + n, sizeof(r->ptr) - n, "/%s", key);
	else
		snprintf(r->ptr + n, sizeof(r->ptr) - n, "/%ld", idx);
	return n;
}

static int bad(struct rd *r, const char *fmt, ...) PIB_PRINTF(2, 3);
static int bad(struct rd *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = jr_vbad(&r->jr, *r->ptr ? r->ptr : "/", fmt, ap);
	va_end(ap);
	return rc;
}

/* A string member: NULL when absent (allowed unless required), -EINVAL when of another type or too long. */
static int get_str(struct rd *r, const cJSON *obj, const char *key, bool required, const char **ret)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t n = ptr_push(r, key, 0);
	int rc = 0;
	*ret = NULL;
	if (!j) {
		if (required)
			rc = bad(r, "missing: expected a string");
	} else if (!cJSON_IsString(j) || !j->valuestring) {
		rc = bad(r, "expected a string, got %s", jr_type_name(j));
	} else if (strlen(j->valuestring) > VULN_MAX_STRING && strcmp(key, "summary")) {
		rc = bad(r, "longer than %u bytes", VULN_MAX_STRING);
	} else if (required && !*j->valuestring) {
		rc = bad(r, "empty");
	} else {
		*ret = j->valuestring;
	}
	r->ptr[n] = 0;
	return rc;
}

/* An array member (NULL when absent), at most VULN_MAX_ITEMS long. */
static int get_arr(struct rd *r, const cJSON *obj, const char *key, const cJSON **ret)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t n = ptr_push(r, key, 0);
	int rc = 0;
	*ret = NULL;
	if (j && !cJSON_IsArray(j))
		rc = bad(r, "expected an array, got %s", jr_type_name(j));
	else if (j && cJSON_GetArraySize(j) > (int)VULN_MAX_ITEMS)
		rc = bad(r, "more than %u items", VULN_MAX_ITEMS);
	else
		*ret = j;
	r->ptr[n] = 0;
	return rc;
}

static int get_obj(struct rd *r, const cJSON *obj, const char *key, const cJSON **ret)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t n = ptr_push(r, key, 0);
	int rc = 0;
	*ret = NULL;
	if (j && !cJSON_IsObject(j))
		rc = bad(r, "expected an object, got %s", jr_type_name(j));
	else
		*ret = j;
	r->ptr[n] = 0;
	return rc;
}

/* An array of strings into a new NULL-terminated vector (NULL when keep is false: only checked). */
static int get_strv(struct rd *r, const cJSON *obj, const char *key, bool keep, char ***ret)
{
	const cJSON *a, *it;
	int rc = get_arr(r, obj, key, &a);
	*ret = NULL;
	if (rc < 0 || !a)
		return rc;
	size_t n = ptr_push(r, key, 0);
	char **v = keep ? calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*v)) : NULL;
	long i = 0;
	if (keep && !v)
		rc = -ENOMEM;
	cJSON_ArrayForEach(it, a)
	{
		if (rc < 0)
			break;
		size_t m = ptr_push(r, NULL, i);
		if (!cJSON_IsString(it) || !it->valuestring)
			rc = bad(r, "expected a string, got %s", jr_type_name(it));
		else if (strlen(it->valuestring) > VULN_MAX_STRING)
			rc = bad(r, "longer than %u bytes", VULN_MAX_STRING);
		else if (keep && !(v[i] = strdup(it->valuestring)))
			rc = -ENOMEM;
		r->ptr[m] = 0;
		i++;
	}
	r->ptr[n] = 0;
	if (rc < 0) {
		pib_strv_free(v);
		return rc;
	}
	*ret = v;
	return 0;
}

/* "2024-05-01T12:00:00Z" (fractions and offsets allowed, as RFC 3339 writes them) to a time. */
/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (no time zone, no libc lock). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);                   /* [0, 399] */
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* [0, 146096] */
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * An RFC 3339 time ("2024-05-01T12:00:00Z", fractions and offsets allowed) as seconds since the
 * epoch, by arithmetic: strptime and timegm consult the time zone file under a lock, per call.
 */
static int parse_time(const char *s, time_t *ret)
{
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = digits(s, 4);
	if (y < 0 || s[4] != '-')
		return -EINVAL;
	int mo = digits(s + 5, 2);
	if (mo < 1 || mo > 12 || s[7] != '-')
		return -EINVAL;
	int d = digits(s + 8, 2);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || (s[10] != 'T' && s[10] != 't'))
		return -EINVAL;
	int h = digits(s + 11, 2);
	if (h < 0 || h > 23 || s[13] != ':')
		return -EINVAL;
	int mi = digits(s + 14, 2);
	if (mi < 0 || mi > 59 || s[16] != ':')
		return -EINVAL;
	int sec = digits(s + 17, 2);
	if (sec < 0 || sec > 60) /* 60: a leap second */
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2) >= 0 && p[3] == ':' && digits(p + 4, 2) >= 0) {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);
		if (oh > 23 || om > 59)
			return -EINVAL;
		off = oh * 3600L + om * 60L;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*ret = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600L + mi * 60L + sec - off);
	return 0;
}

/* severity[]: the first CVSS v3 vector that can be scored, or Ubuntu's own word. */
static int read_severity_list(struct rd *r, const cJSON *obj, enum vuln_severity *sev, const char **from,
			      char **text)
{
	const cJSON *a, *it;
	int rc = get_arr(r, obj, "severity", &a);
	if (rc < 0 || !a)
		return rc;
	size_t n = ptr_push(r, "severity", 0);
	long i = 0;
	cJSON_ArrayForEach(it, a)
	{
		size_t m = ptr_push(r, NULL, i++);
		const char *type, *score;
		if (!cJSON_IsObject(it))
			rc = bad(r, "expected an object, got %s", jr_type_name(it));
		else if ((rc = get_str(r, it, "type", true, &type)) == 0 &&
			 (rc = get_str(r, it, "score", true, &score)) == 0 && *sev == VULN_SEV_UNKNOWN) {
			enum vuln_severity s = VULN_SEV_UNKNOWN;
			const char *f = NULL;
			if (!strcmp(type, "CVSS_V3")) {
				s = vuln_severity_of_score(vuln_cvss3_score(score));
				f = "cvss_v3";
			} else if (!strcmp(type, "Ubuntu")) {
				s = vuln_severity_of_word(score);
				f = "ubuntu";
			}
			if (s != VULN_SEV_UNKNOWN) {
				*sev = s;
				*from = f;
				if (!(*text = strdup(score)))
					rc = -ENOMEM;
			}
		}
		r->ptr[m] = 0;
		if (rc < 0)
			break;
	}
	r->ptr[n] = 0;
	return rc;
}

/* database_specific.severity (and, for an affected entry, ecosystem_specific.urgency first). */
static int read_severity(struct rd *r, const cJSON *obj, bool urgency, enum vuln_severity *sev, const char **from,
			 char **text)
{
	const cJSON *es = NULL, *ds = NULL;
	const char *w = NULL;
	int rc;

	*sev = VULN_SEV_UNKNOWN;
	*from = NULL;
	*text = NULL;
	if (urgency && (rc = get_obj(r, obj, "ecosystem_specific", &es)) < 0)
		return rc;
	if ((rc = get_obj(r, obj, "database_specific", &ds)) < 0)
		return rc;
	size_t n;
	if (es) {
		/* Debian's urgency: a word; something else (a list, an object) is left alone */
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(es, "urgency");
		n = ptr_push(r, "ecosystem_specific", 0);
		if (u && cJSON_IsString(u)) {
			rc = get_str(r, es, "urgency", false, &w);
			if (rc == 0 && w && (*sev = vuln_severity_of_word(w)) != VULN_SEV_UNKNOWN)
				*from = "urgency";
		}
		r->ptr[n] = 0;
		if (rc < 0)
			return rc;
		if (w && !(*text = strdup(w)))
			return -ENOMEM;
		if (*sev != VULN_SEV_UNKNOWN)
			return 0;
	}
	if (ds) {
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(ds, "severity");
		if (sv && cJSON_IsString(sv)) {
			n = ptr_push(r, "database_specific", 0);
			rc = get_str(r, ds, "severity", false, &w);
			r->ptr[n] = 0;
			if (rc < 0)
				return rc;
			enum vuln_severity s = vuln_severity_of_word(w);
			if (s != VULN_SEV_UNKNOWN) {
				*sev = s;
				*from = "database_specific";
				free(*text);
				return (*text = strdup(w)) ? 0 : -ENOMEM;
			}
		}
	}
	enum vuln_severity s = VULN_SEV_UNKNOWN;
	const char *f = NULL;
	char *t = NULL;
	if ((rc = read_severity_list(r, obj, &s, &f, &t)) < 0)
		return rc;
	if (s != VULN_SEV_UNKNOWN) {
		*sev = s;
		*from = f;
		free(*text);
		*text = t;
	} else {
		free(t);
	}
	return 0;
}

/* One range: its type (only ECOSYSTEM is kept) and events, each with exactly one version. */
static int read_range(struct rd *r, const cJSON *j, bool keep, struct range *out, bool *ret_kept)
{
	const char *type;
	const cJSON *events, *it;
	int rc;

	*ret_kept = false;
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(j))
		return bad(r, "expected an object, got %s", jr_type_name(j));
	if ((rc = get_str(r, j, "type", true, &type)) < 0 || (rc = get_arr(r, j, "events", &events)) < 0)
		return rc;
	if (!events) {
		size_t n = ptr_push(r, "events", 0);
		rc = bad(r, "missing: expected an array");
		r->ptr[n] = 0;
		return rc;
	}
	keep = keep && !strcmp(type, "ECOSYSTEM");
	if (keep && !(out->ev = calloc((size_t)cJSON_GetArraySize(events) + 1, sizeof(*out->ev))))
		return -ENOMEM;
	size_t n = ptr_push(r, "events", 0);
	long i = 0;
	cJSON_ArrayForEach(it, events)
	{
		static const char *const kinds[] = {"introduced", "fixed", "last_affected", "limit"};
		size_t m = ptr_push(r, NULL, i++);
		const char *v = NULL;
		int kind = -1;
		if (!cJSON_IsObject(it)) {
			rc = bad(r, "expected an object, got %s", jr_type_name(it));
		} else {
			for (int k = 0; k < 4 && rc == 0; k++) {
				const char *x;
				if ((rc = get_str(r, it, kinds[k], false, &x)) == 0 && x) {
					if (v)
						rc = bad(r, "more than one of introduced, fixed, last_affected, limit");
					v = x;
					kind = k;
				}
			}
			if (rc == 0 && !v)
				rc = bad(r, "expected one of introduced, fixed, last_affected, limit (a version string)");
			if (rc == 0 && !*v) {
				ptr_push(r, kinds[kind], 0);
				rc = bad(r, "an empty version");
			}
		}
		if (rc == 0 && keep) {
			out->ev[out->n].kind = (enum ev_kind)kind;
			if (!(out->ev[out->n++].v = strdup(v)))
				rc = -ENOMEM;
		}
		r->ptr[m] = 0;
		if (rc < 0)
			break;
	}
	r->ptr[n] = 0;
	if (rc < 0) {
		range_free(out);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	*ret_kept = keep;
	return 0;
}

static int ev_cmp(const void *a, const void *b, void *arg)
{
	const struct ev *x = a, *y = b;
	bool x0 = x->kind == EV_INTRODUCED && !strcmp(x->v, "0");
	bool y0 = y->kind == EV_INTRODUCED && !strcmp(y->v, "0");
	if (x0 || y0)
		return y0 - x0;
	int c = vuln_cmp(arg, x->v, y->v);
	return c ? c : (int)x->kind - (int)y->kind;
}

static int add_ecosystem(struct vuln_db *db, const char *eco)
{
	size_t n = pib_strv_len(db->info.ecosystems);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(db->info.ecosystems[i], eco))
			return 0;
	if (n >= 64) {
		db->info.ecosystems_cut = true;
		return 0;
	}
	return pib_strv_push(&db->info.ecosystems, eco);
}

/* One affected entry; kept (appended to db->affs) when its ecosystem is the one asked for. */
static int read_affected(struct rd *r, const cJSON *j, size_t rec_idx, bool *ret_mine)
{
	struct vuln_db *db = r->db;
	const cJSON *pkg, *ranges, *it;
	const char *eco = NULL, *name = NULL;
	int rc;

	if (!cJSON_IsObject(j))
		return bad(r, "expected an object, got %s", jr_type_name(j));
	if ((rc = get_obj(r, j, "package", &pkg)) < 0)
		return rc;
	if (pkg) {
		size_t n = ptr_push(r, "package", 0);
		if ((rc = get_str(r, pkg, "ecosystem", true, &eco)) == 0)
			rc = get_str(r, pkg, "name", true, &name);
		r->ptr[n] = 0;
		if (rc < 0)
			return rc;
		if ((rc = add_ecosystem(db, eco)) < 0)
			return rc;
	}
	bool mine = eco && (db->keep_all || (db->ecosystem && pkgdb_osv_ecosystem_matches(db->ecosystem, eco)));
	struct aff a = {.rec = rec_idx};
	if ((rc = get_arr(r, j, "ranges", &ranges)) < 0 || (rc = get_strv(r, j, "versions", mine, &a.versions)) < 0)
		return rc;
	if (ranges && mine && !(a.ranges = calloc((size_t)cJSON_GetArraySize(ranges) + 1, sizeof(*a.ranges))))
		return -ENOMEM;
	size_t n = ptr_push(r, "ranges", 0);
	long i = 0;
	cJSON_ArrayForEach(it, ranges)
	{
		size_t m = ptr_push(r, NULL, i++);
		bool kept = false;
		rc = read_range(r, it, mine, mine ? &a.ranges[a.n_ranges] : &(struct range){0}, &kept);
		r->ptr[m] = 0;
		if (rc < 0)
			break;
		if (kept) {
			a.n_ranges++;
		} else if (mine) {
			a.ignored++; /* counted in the feed's facts when its record is kept */
		}
	}
	r->ptr[n] = 0;
	if (rc == 0)
		rc = read_severity(r, j, true, &a.sev, &a.sev_from, &a.sev_text);
	if (rc < 0 || !mine) {
		aff_free(&a);
		*ret_mine = false;
		return rc;
	}
	a.name = strdup(name); /* its events are sorted when a package first meets it (vuln_match) */
	a.ecosystem = strdup(eco);
	if (!a.name || !a.ecosystem || (db->n_affs == db->cap_affs &&
					 !(db->affs = reallocarray(db->affs, (db->cap_affs = db->cap_affs * 2 + 64),
								   sizeof(*db->affs))))) {
		aff_free(&a);
		return -ENOMEM;
	}
	db->affs[db->n_affs++] = a;
	*ret_mine = true;
	return 0;
}

/* One record: checked whole; kept when one of its affected entries is of the ecosystem asked for. */
static int read_record(struct rd *r, const cJSON *j)
{
	struct vuln_db *db = r->db;
	const char *id, *modified, *withdrawn, *summary, *details;
	const cJSON *affected, *it;
	char **aliases = NULL;
	time_t t;
	int rc;

	if (!cJSON_IsObject(j))
		return bad(r, "expected an OSV record (an object), got %s", jr_type_name(j));
	if (++db->info.records > VULN_MAX_RECORDS)
		return bad(r, "more than %u records in the feed", VULN_MAX_RECORDS);
	if ((rc = get_str(r, j, "id", true, &id)) < 0 || (rc = get_str(r, j, "modified", true, &modified)) < 0 ||
	    (rc = get_str(r, j, "withdrawn", false, &withdrawn)) < 0 ||
	    (rc = get_str(r, j, "summary", false, &summary)) < 0 ||
	    (rc = get_str(r, j, "details", false, &details)) < 0 || (rc = get_arr(r, j, "affected", &affected)) < 0)
		return rc;
	if (parse_time(modified, &t) < 0) {
		size_t n = ptr_push(r, "modified", 0);
		rc = bad(r, "not an RFC 3339 time: \"%.64s\"", modified);
		r->ptr[n] = 0;
		return rc;
	}
	if (t > db->info.newest_modified) {
		db->info.newest_modified = t;
		snprintf(db->info.newest_modified_text, sizeof(db->info.newest_modified_text), "%.39s", modified);
	}
	size_t first_aff = db->n_affs, idx = db->n_recs;
	bool any = false;
	size_t n = ptr_push(r, "affected", 0);
	long i = 0;
	cJSON_ArrayForEach(it, affected)
	{
		size_t m = ptr_push(r, NULL, i++);
		bool mine = false;
		rc = read_affected(r, it, idx, &mine);
		r->ptr[m] = 0;
		if (rc < 0)
			break;
		any |= mine;
	}
	r->ptr[n] = 0;
	struct rec rec = {0};
	if (rc == 0)
		rc = get_strv(r, j, "aliases", any, &aliases);
	if (rc == 0)
		rc = read_severity(r, j, false, &rec.sev, &rec.sev_from, &rec.sev_text);
	if (rc == 0 && withdrawn) {
		db->info.withdrawn++;
		any = false; /* withdrawn: no longer a vulnerability */
	}
	if (rc < 0 || !any) {
		while (db->n_affs > first_aff)
			aff_free(&db->affs[--db->n_affs]);
		pib_strv_free(aliases);
		rec_free(&rec);
		return rc;
	}
	db->info.records_mine++;
	for (size_t k = first_aff; k < db->n_affs; k++)
		db->info.ranges_ignored += db->affs[k].ignored;
	rec.unit = db->unit;
	rec.id = strdup(id);
	rec.modified = strdup(modified);
	rec.summary = summary ? pib_strndup(summary, 1024) : NULL;
	rec.aliases = aliases ? aliases : calloc(1, sizeof(char *));
	if (!rec.id || !rec.modified || (summary && !rec.summary) || !rec.aliases ||
	    (db->n_recs == db->cap_recs &&
	     !(db->recs = reallocarray(db->recs, (db->cap_recs = db->cap_recs * 2 + 64), sizeof(*db->recs))))) {
		rec_free(&rec);
		return -ENOMEM;
	}
	db->recs[db->n_recs++] = rec;
	return 0;
}

/*
 * The feed's units: the *.json files of a folder (in name order), one file, or the *.json members
 * of a zip (osv.dev's all.zip, in the zip's order). Workers read and check them in parallel, each
 * into its own part of the database, parsing with the arena parser (jsonfast.h) and falling back
 * to cJSON for anything unusual; the parts are then merged in unit order, and the first error in
 * unit order is the one reported: the same records, checks and error as one by one.
 */
enum vsrc_kind { VSRC_FILE, VSRC_DIR, VSRC_ZIP };

#define VULN_MAX_THREADS 8

struct vsrc {
	enum vsrc_kind kind;
	const char *path;   /* as given: messages name it */
	int fd;             /* the folder (VSRC_DIR) or the zip (VSRC_ZIP) */
	off_t size;         /* VSRC_ZIP: the zip's size */
	char **names;       /* VSRC_DIR: sorted names */
	bool *plain;        /* VSRC_DIR: readdir said a regular file (no fstat needed) */
	size_t n;           /* VSRC_DIR: units */
	size_t first_err;   /* the lowest unit with an error so far (atomic; SIZE_MAX: none) */
};

struct vworker {
	struct vsrc *src;
	size_t k, stride;   /* this worker's units: k, k + stride, ... */
	struct vuln_db part;
	struct jf_arena arena;
	char *buf;          /* the unit's bytes */
	size_t cap;
	size_t err_unit;    /* the unit of its error (SIZE_MAX: none) */
	struct pib_err err;
	int rc;
	char zbuf[64 << 10]; /* VSRC_ZIP: what the zip reader reads into */
	off_t zoff;
};

/* Makes room for want more bytes after len in w->buf. */
static int vw_reserve(struct vworker *w, size_t len, size_t want)
{
	if (w->cap - len > want)
		return 0;
	size_t cap = w->cap ? w->cap : (256u << 10);
	while (cap - len <= want)
		cap *= 2;
	char *b = realloc(w->buf, cap);
	if (!b)
		return -ENOMEM;
	w->buf = b;
	w->cap = cap;
	return 0;
}

/* The records of one unit's text (name: how messages name it), checked and kept in order. */
static int take_unit(struct vworker *w, size_t unit, const char *name, const char *text, size_t len)
{
	struct vuln_db *db = &w->part;
	struct pib_err *err = &w->err;
	struct rd r = {.jr = {PIB_ERR_USAGE, "vulns.invalid", name, err}, .db = db};
	cJSON *doc = NULL;
	bool heap = false;
	int rc;

	db->unit = unit;
	db->info.files++;
	db->total_bytes += len;
	if (db->total_bytes > VULN_MAX_TOTAL_BYTES)
		return pib_fail(err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: the feed is larger than %llu GiB in all",
				name, VULN_MAX_TOTAL_BYTES >> 30);
	jf_arena_reset(&w->arena);
	rc = jf_parse(&w->arena, text, len, &doc);
	if (rc == 0) { /* outside the fast parser's subset: cJSON's parse, its exact error */
		heap = true;
		rc = jr_parse(&r.jr, text, len, VULN_MAX_FILE_BYTES, true, &doc);
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (cJSON_IsArray(doc)) {
		const cJSON *it;
		long i = 0;
		cJSON_ArrayForEach(it, doc)
		{
			ptr_push(&r, NULL, i++);
			rc = read_record(&r, it);
			r.ptr[0] = 0;
			if (rc < 0)
				break;
		}
	} else {
		rc = read_record(&r, doc);
	}
out:
	if (heap)
		cJSON_Delete(doc);
	if (rc == -ENOMEM && !err->set)
		rc = pib_fail(err, rc, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", name);
	return rc;
}

/* A file's bytes into w->buf: at most VULN_MAX_FILE_BYTES. stat_it: check it is a regular file. */
static int read_unit_file(struct vworker *w, int dirfd, const char *file, const char *name, bool stat_it,
			  size_t *ret_len)
{
	int fd = openat(dirfd, file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (stat_it ? 0 : O_NOFOLLOW));
	struct stat st;
	size_t len = 0;
	int rc = 0;

	if (fd < 0)
		return pib_fail(&w->err, -errno, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", name, strerror(errno));
	if (stat_it && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		rc = pib_fail(&w->err, -EINVAL, PIB_ERR_USAGE, "vulns.unreadable", "%s: not a regular file", name);
		goto out;
	}
	for (;;) {
		if (vw_reserve(w, len, 64u << 10) < 0) {
			rc = pib_fail(&w->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", name);
			goto out;
		}
		size_t want = w->cap - len - 1;
		ssize_t n = read(fd, w->buf + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pib_fail(&w->err, -errno, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", name, strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (len > VULN_MAX_FILE_BYTES) {
			rc = pib_fail(&w->err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: larger than %u MiB", name,
				      VULN_MAX_FILE_BYTES >> 20);
			goto out;
		}
		/* a regular file's read is short only at its end: no second read to learn it */
		if (n == 0 || (size_t)n < want)
			break;
	}
	*ret_len = len;
out:
	close(fd);
	return rc;
}

static bool vw_skip(struct vworker *w, size_t unit)
{
	return unit > __atomic_load_n(&w->src->first_err, __ATOMIC_RELAXED);
}

static void vw_failed(struct vworker *w, size_t unit, int rc)
{
	size_t cur = __atomic_load_n(&w->src->first_err, __ATOMIC_RELAXED);
	w->rc = rc;
	w->err_unit = unit;
	while (unit < cur && !__atomic_compare_exchange_n(&w->src->first_err, &cur, unit, false, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
}

static void vw_run_dir(struct vworker *w)
{
	struct vsrc *s = w->src;

	for (size_t i = w->k; i < s->n && !vw_skip(w, i); i += w->stride) {
		char *name = pib_asprintf("%s/%s", s->path, s->names[i]);
		size_t len = 0;
		int rc = name ? read_unit_file(w, s->fd, s->names[i], name, !s->plain[i], &len)
			      : pib_fail(&w->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		if (rc == 0)
			rc = take_unit(w, i, name, w->buf, len);
		free(name);
		if (rc < 0) {
			vw_failed(w, i, rc);
			return;
		}
	}
}

/* The zip reader's input: the zip's fd, read with pread at the worker's own offset. */
static la_ssize_t vz_read(struct archive *a, void *arg, const void **buf)
{
	struct vworker *w = arg;
	for (;;) {
		ssize_t n = pread(w->src->fd, w->zbuf, sizeof(w->zbuf), w->zoff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		w->zoff += n;
		*buf = w->zbuf;
		return n;
	}
}

static la_int64_t vz_seek(struct archive *a, void *arg, la_int64_t off, int whence)
{
	struct vworker *w = arg;
	la_int64_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? w->zoff + off : w->src->size + off;
	(void)a;
	if (to < 0 || to > w->src->size)
		return ARCHIVE_FATAL;
	w->zoff = to;
	return to;
}

static la_int64_t vz_skip(struct archive *a, void *arg, la_int64_t n)
{
	struct vworker *w = arg;
	(void)a;
	if (n > w->src->size - w->zoff)
		n = w->src->size - w->zoff;
	w->zoff += n;
	return n;
}

static void vw_run_zip(struct vworker *w)
{
	struct vsrc *s = w->src;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t unit = 0;
	int rc = 0, r;
	char name[1024], member[208];

	if (!a) {
		vw_failed(w, 0, pib_fail(&w->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory"));
		return;
	}
	archive_read_support_format_zip_seekable(a);
	archive_read_set_callback_data(a, w);
	archive_read_set_read_callback(a, vz_read);
	archive_read_set_seek_callback(a, vz_seek);
	archive_read_set_skip_callback(a, vz_skip);
	if (archive_read_open1(a) != ARCHIVE_OK) {
		rc = pib_fail(&w->err, -EINVAL, PIB_ERR_USAGE, "vulns.invalid", "%s: not a readable zip: %s", s->path,
			      archive_error_string(a) ? archive_error_string(a) : "unknown error");
		goto out;
	}
	while (rc == 0 && !vw_skip(w, unit)) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = pib_fail(&w->err, -EINVAL, PIB_ERR_USAGE, "vulns.invalid", "%s: after %zu members: %s", s->path,
				      unit, archive_error_string(a) ? archive_error_string(a) : "unknown error");
			break;
		}
		const char *m = archive_entry_pathname(e), *base = m ? strrchr(m, '/') : NULL;
		base = base ? base + 1 : m;
		if (!m || archive_entry_filetype(e) != AE_IFREG || base[0] == '.' || !pib_str_has_suffix(base, ".json"))
			continue;
		if (unit >= VULN_MAX_FILES) {
			rc = pib_fail(&w->err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: more than %u *.json members",
				      s->path, VULN_MAX_FILES);
			vw_failed(w, unit, rc);
			break;
		}
		size_t my = unit++;
		if (my % w->stride != w->k)
			continue; /* another worker's: not inflated here */
		jr_printable(m, 200, member);
		snprintf(name, sizeof(name), "%s:%s", s->path, member);
		if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)VULN_MAX_FILE_BYTES) {
			rc = pib_fail(&w->err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: larger than %u MiB", name,
				      VULN_MAX_FILE_BYTES >> 20);
			vw_failed(w, my, rc);
			break;
		}
		size_t len = 0;
		for (;;) {
			if (vw_reserve(w, len, 64u << 10) < 0) {
				rc = pib_fail(&w->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", name);
				break;
			}
			la_ssize_t n = archive_read_data(a, w->buf + len, w->cap - len - 1);
			if (n < 0) {
				rc = pib_fail(&w->err, -EINVAL, PIB_ERR_USAGE, "vulns.invalid", "%s: %s", name,
					      archive_error_string(a) ? archive_error_string(a) : "cannot be read");
				break;
			}
			if (n == 0)
				break;
			len += (size_t)n;
			if (len > VULN_MAX_FILE_BYTES) {
				rc = pib_fail(&w->err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: larger than %u MiB", name,
					      VULN_MAX_FILE_BYTES >> 20);
				break;
			}
		}
		if (rc == 0)
			rc = take_unit(w, my, name, w->buf, len);
		if (rc < 0)
			vw_failed(w, my, rc);
	}
out:
	if (rc < 0 && w->rc == 0)
		vw_failed(w, unit, rc);
	archive_read_free(a);
}

static void *vw_main(void *arg)
{
	struct vworker *w = arg;

	if (w->src->kind == VSRC_ZIP) {
		vw_run_zip(w);
	} else if (w->src->kind == VSRC_DIR) {
		vw_run_dir(w);
	} else {
		size_t len = 0;
		int rc = read_unit_file(w, AT_FDCWD, w->src->path, w->src->path, true, &len);
		if (rc == 0)
			rc = take_unit(w, 0, w->src->path, w->buf, len);
		if (rc < 0)
			vw_failed(w, 0, rc);
	}
	return NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int eco_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Moves the parts' records and entries into db, records in unit order (a k-way merge). */
static int merge_parts(struct vuln_db *db, struct vworker *ws, size_t nw)
{
	size_t total = 0, naffs = 0;
	size_t *map[VULN_MAX_THREADS] = {0}, at[VULN_MAX_THREADS] = {0};
	int rc = 0;

	for (size_t i = 0; i < nw; i++) {
		total += ws[i].part.n_recs;
		naffs += ws[i].part.n_affs;
	}
	db->recs = calloc(total + 1, sizeof(*db->recs));
	db->affs = calloc(naffs + 1, sizeof(*db->affs));
	if (!db->recs || !db->affs)
		return -ENOMEM;
	db->cap_recs = total + 1;
	db->cap_affs = naffs + 1;
	for (size_t i = 0; i < nw; i++)
		if (!(map[i] = calloc(ws[i].part.n_recs + 1, sizeof(size_t))))
			rc = -ENOMEM;
	for (size_t o = 0; rc == 0 && o < total; o++) {
		size_t best = nw;
		for (size_t i = 0; i < nw; i++)
			if (at[i] < ws[i].part.n_recs &&
			    (best == nw || ws[i].part.recs[at[i]].unit < ws[best].part.recs[at[best]].unit))
				best = i;
		map[best][at[best]] = o;
		db->recs[db->n_recs++] = ws[best].part.recs[at[best]++];
	}
	if (rc == 0)
		for (size_t i = 0; i < nw; i++)
			ws[i].part.n_recs = 0; /* moved */
	for (size_t i = 0; rc == 0 && i < nw; i++) {
		struct vuln_db *p = &ws[i].part;
		for (size_t a = 0; a < p->n_affs; a++) {
			p->affs[a].rec = map[i][p->affs[a].rec];
			db->affs[db->n_affs++] = p->affs[a];
		}
		p->n_affs = 0; /* moved */
		db->info.files += p->info.files;
		db->info.records += p->info.records;
		db->info.withdrawn += p->info.withdrawn;
		db->info.records_mine += p->info.records_mine;
		db->info.ranges_ignored += p->info.ranges_ignored;
		db->total_bytes += p->total_bytes;
		if (p->info.newest_modified > db->info.newest_modified) {
			db->info.newest_modified = p->info.newest_modified;
			memcpy(db->info.newest_modified_text, p->info.newest_modified_text,
			       sizeof(db->info.newest_modified_text));
		}
		db->info.ecosystems_cut |= p->info.ecosystems_cut;
		for (size_t e = 0; rc == 0 && p->info.ecosystems && p->info.ecosystems[e]; e++)
			rc = add_ecosystem(db, p->info.ecosystems[e]);
	}
	for (size_t i = 0; i < nw; i++)
		free(map[i]);
	size_t ne = pib_strv_len(db->info.ecosystems);
	if (ne > 1)
		qsort(db->info.ecosystems, ne, sizeof(char *), eco_cmp);
	return rc;
}

/* Reads the units of s on up to VULN_MAX_THREADS workers (one when parallel is false). */
static int load_units(struct vuln_db *db, struct vsrc *s, bool parallel, struct pib_err *err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nw = !parallel || cpus < 2 ? 1 : cpus > VULN_MAX_THREADS ? VULN_MAX_THREADS : (size_t)cpus;
	struct vworker *ws = calloc(nw, sizeof(*ws));
	pthread_t th[VULN_MAX_THREADS];
	bool started[VULN_MAX_THREADS] = {0};
	int rc = 0;

	if (!ws)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	s->first_err = SIZE_MAX;
	for (size_t i = 0; i < nw; i++) {
		ws[i].src = s;
		ws[i].k = i;
		ws[i].stride = nw;
		ws[i].err_unit = SIZE_MAX;
		ws[i].part.family = db->family;
		ws[i].part.ecosystem = db->ecosystem;
		ws[i].part.keep_all = db->keep_all;
	}
	/* the calling thread is worker 0; a worker whose thread cannot start runs here too */
	for (size_t i = 1; i < nw; i++)
		started[i] = pthread_create(&th[i], NULL, vw_main, &ws[i]) == 0;
	vw_main(&ws[0]);
	for (size_t i = 1; i < nw; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			vw_main(&ws[i]);
	}
	/* the first error in unit order, as one by one would have met it */
	size_t first = nw;
	for (size_t i = 0; i < nw; i++)
		if (ws[i].rc < 0 && (first == nw || ws[i].err_unit < ws[first].err_unit))
			first = i;
	if (first < nw) {
		rc = ws[first].rc;
		*err = ws[first].err;
		ws[first].err = (struct pib_err){0};
	} else if ((rc = merge_parts(db, ws, nw)) < 0) {
		rc = pib_fail(err, rc, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", s->path);
	} else if (db->info.records > VULN_MAX_RECORDS) {
		rc = pib_fail(err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: more than %u records in the feed",
			      s->path, VULN_MAX_RECORDS);
	} else if (db->total_bytes > VULN_MAX_TOTAL_BYTES) {
		rc = pib_fail(err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: the feed is larger than %llu GiB in all",
			      s->path, VULN_MAX_TOTAL_BYTES >> 30);
	}
	for (size_t i = 0; i < nw; i++) {
		db_contents_free(&ws[i].part);
		jf_arena_free(&ws[i].arena);
		free(ws[i].buf);
		pib_err_clear(&ws[i].err);
	}
	free(ws);
	return rc;
}

#define VULN_PARALLEL_MIN 64 /* units below which one thread reads (threads cost more than they give) */

static int load_dir(struct vuln_db *db, const char *path, struct pib_err *err)
{
	struct vsrc s = {.kind = VSRC_DIR, .path = path, .fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
	DIR *d = s.fd < 0 ? NULL : fdopendir(dup(s.fd));
	size_t cap = 0;
	int rc = 0;
	struct dirent *de;

	if (!d) {
		rc = pib_fail(err, -errno, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", path, strerror(errno));
		if (s.fd >= 0)
			close(s.fd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !pib_str_has_suffix(de->d_name, ".json"))
			continue;
		if (s.n >= VULN_MAX_FILES) {
			rc = pib_fail(err, -EFBIG, PIB_ERR_USAGE, "vulns.invalid", "%s: more than %u *.json files", path,
				      VULN_MAX_FILES);
			break;
		}
		if (s.n == cap && !(s.names = reallocarray(s.names, (cap = cap * 2 + 256), sizeof(*s.names)))) {
			rc = -ENOMEM;
			break;
		}
		/* the type rides after the name's NUL: sorted with it */
		size_t l = strlen(de->d_name);
		if (!(s.names[s.n] = malloc(l + 2))) {
			rc = -ENOMEM;
			break;
		}
		memcpy(s.names[s.n], de->d_name, l + 1);
		s.names[s.n][l + 1] = de->d_type == DT_REG;
		s.n++;
	}
	closedir(d);
	if (rc == 0 && s.n) {
		qsort(s.names, s.n, sizeof(*s.names), name_cmp);
		if (!(s.plain = calloc(s.n, sizeof(bool))))
			rc = -ENOMEM;
		for (size_t i = 0; rc == 0 && i < s.n; i++)
			s.plain[i] = s.names[i][strlen(s.names[i]) + 1];
	}
	if (rc == 0)
		rc = load_units(db, &s, s.n >= VULN_PARALLEL_MIN, err);
	for (size_t i = 0; i < s.n; i++)
		free(s.names[i]);
	free(s.names);
	free(s.plain);
	close(s.fd);
	if (rc == -ENOMEM && !err->set)
		rc = pib_fail(err, rc, PIB_ERR_ENV, "agent.oom", "out of memory reading %s", path);
	return rc;
}

/* One file: a zip (osv.dev's all.zip) by its first bytes, else a record or an array of them. */
static int load_file(struct vuln_db *db, const char *path, struct pib_err *err)
{
	struct vsrc s = {.kind = VSRC_FILE, .path = path, .fd = -1};
	unsigned char head[16];
	struct stat st;
	int rc;

	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", path, strerror(errno));
	bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	ssize_t got = reg ? pread(fd, head, sizeof(head), 0) : -1;
	if (got > 0 && vuln_index_magic(head, (size_t)got)) {
		/* an index made by pib-agent vulns-index: never when the entries of all ecosystems are asked for */
		rc = db->keep_all ? pib_fail(err, -EINVAL, PIB_ERR_USAGE, "vulns.invalid",
					     "%s: already an index (give the OSV feed it was made from)", path)
				  : vuln_index_load(db, fd, path, err);
	} else if (got >= 4 && head[0] == 'P' && head[1] == 'K' &&
		   ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
		s.kind = VSRC_ZIP;
		s.fd = fd;
		s.size = st.st_size;
		rc = load_units(db, &s, st.st_size > (1 << 20), err);
	} else {
		rc = load_units(db, &s, false, err);
	}
	close(fd);
	return rc;
}

static int aff_cmp(const void *a, const void *b)
{
	const struct aff *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->rec > y->rec) - (x->rec < y->rec);
}

static int load_db(const char *path, const char *ecosystem, enum pkgdb_family family, bool keep_all,
		   struct vuln_db **ret, struct pib_err *err)
{
	struct vuln_db *db = calloc(1, sizeof(*db));
	struct stat st;
	int rc;

	*ret = NULL;
	if (!db || !(db->cmp = vuln_cmp_new(family)) || (ecosystem && !(db->ecosystem_owned = strdup(ecosystem)))) {
		vuln_db_free(db);
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	db->family = family;
	db->ecosystem = db->ecosystem_owned;
	db->keep_all = keep_all;
	if (stat(path, &st) < 0)
		rc = pib_fail(err, -errno, PIB_ERR_USAGE, "vulns.unreadable", "%s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		rc = load_dir(db, path, err);
	else
		rc = load_file(db, path, err);
	if (rc == 0 && db->info.files == 0)
		rc = pib_fail(err, -ENOENT, PIB_ERR_USAGE, "vulns.unreadable", "%s: no *.json file in it", path);
	if (rc < 0) {
		vuln_db_free(db);
		return rc;
	}
	if (db->n_affs && !db->blob) /* an index's are in order already (checked) */
		qsort(db->affs, db->n_affs, sizeof(*db->affs), aff_cmp);
	*ret = db;
	return 0;
}

int vuln_db_load(const char *path, const char *ecosystem, enum pkgdb_family family, struct vuln_db **ret,
		 struct pib_err *err)
{
	return load_db(path, ecosystem, family, false, ret, err);
}

int vuln_db_load_all(const char *path, struct vuln_db **ret, struct pib_err *err)
{
	return load_db(path, NULL, PKGDB_DEB, true, ret, err);
}

/* ---- matching ---- */

/* Whether version v is inside the range (events sorted); *fixed the next fixed version above it. */
static bool in_range(struct vuln_cmp *c, const struct range *rg, const char *v, const char **fixed)
{
	bool affected = false, any_limit = false, under_limit = false;

	*fixed = NULL;
	for (size_t i = 0; i < rg->n; i++) {
		const struct ev *e = &rg->ev[i];
		if (e->kind == EV_LIMIT)
			continue;
		if (e->kind == EV_INTRODUCED && !strcmp(e->v, "0")) {
			affected = true;
			continue;
		}
		int cmp = vuln_cmp(c, v, e->v);
		if (e->kind == EV_FIXED && cmp < 0) {
			if (affected)
				*fixed = e->v;
			break; /* every later event is above v */
		}
		if ((e->kind == EV_INTRODUCED && cmp < 0) || (e->kind == EV_LAST_AFFECTED && cmp <= 0))
			break;
		affected = e->kind == EV_INTRODUCED; /* v is at or past it */
	}
	if (!affected) {
		*fixed = NULL;
		return false;
	}
	for (size_t i = 0; i < rg->n; i++)
		if (rg->ev[i].kind == EV_LIMIT) {
			any_limit = true;
			under_limit |= vuln_cmp(c, v, rg->ev[i].v) < 0;
		}
	return !any_limit || under_limit;
}

/* Whether the entry lists v (the same version by the family's rules). */
static bool in_versions(struct vuln_cmp *c, char *const *versions, const char *v)
{
	for (size_t i = 0; versions && versions[i]; i++)
		if (!strcmp(versions[i], v) || vuln_cmp(c, versions[i], v) == 0)
			return true;
	return false;
}

static int hit_cmp(const void *a, const void *b, void *arg)
{
	const struct vuln_hit *x = a, *y = b;
	const struct vuln_pkg *p = arg;
	int c = (int)p[y->pkg].bundle - (int)p[x->pkg].bundle;
	if (!c)
		c = (int)y->severity - (int)x->severity;
	if (!c)
		c = strcmp(x->id, y->id);
	if (!c)
		c = strcmp(p[x->pkg].name, p[y->pkg].name);
	if (!c)
		c = strcmp(p[x->pkg].arch, p[y->pkg].arch);
	return c;
}

int vuln_match(struct vuln_db *db, const struct vuln_pkg *pkgs, size_t n, struct vuln_hits *ret)
{
	struct vuln_hits h = {0};
	size_t cap = 0;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < n; i++) {
		const struct vuln_pkg *k = &pkgs[i];
		const char *key = db->family == PKGDB_DEB && k->source ? k->source : k->name;
		const char *ver = db->family == PKGDB_DEB && k->source_version ? k->source_version : k->version;
		/* the first entry of key: a binary search over the sorted entries */
		size_t lo = 0, hi = db->n_affs;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(db->affs[mid].name, key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t last_rec = (size_t)-1;
		for (size_t a = lo; a < db->n_affs && !strcmp(db->affs[a].name, key); a++) {
			struct aff *af = &db->affs[a];
			if (!af->sorted) {
				for (size_t r = 0; r < af->n_ranges; r++)
					qsort_r(af->ranges[r].ev, af->ranges[r].n, sizeof(struct ev), ev_cmp, db->cmp);
				af->sorted = true;
			}
			const char *fixed = NULL, *why = NULL;
			if (af->rec == last_rec)
				continue; /* one hit per record and package */
			for (size_t r = 0; !why && r < af->n_ranges; r++)
				if (in_range(db->cmp, &af->ranges[r], ver, &fixed))
					why = "range";
			if (!why && in_versions(db->cmp, af->versions, ver))
				why = "versions";
			if (!why)
				continue;
			last_rec = af->rec;
			const struct rec *rc = &db->recs[af->rec];
			if (h.n == cap && !(h.v = reallocarray(h.v, (cap = cap * 2 + 16), sizeof(*h.v)))) {
				vuln_hits_free(&h);
				return -ENOMEM;
			}
			struct vuln_hit *x = &h.v[h.n++];
			memset(x, 0, sizeof(*x));
			x->id = rc->id;
			x->aliases = rc->aliases;
			x->summary = rc->summary;
			x->modified = rc->modified;
			x->ecosystem = af->ecosystem;
			x->record_name = af->name;
			x->pkg = i;
			x->installed = ver;
			x->fixed = fixed;
			x->why = why;
			bool own = af->sev != VULN_SEV_UNKNOWN;
			x->severity = own ? af->sev : rc->sev;
			x->severity_from = own ? af->sev_from : rc->sev_from;
			const char *t = own || rc->sev_text == NULL ? af->sev_text : rc->sev_text;
			if (t && !(x->severity_text = strdup(t))) {
				vuln_hits_free(&h);
				return -ENOMEM;
			}
		}
	}
	if (h.n)
		qsort_r(h.v, h.n, sizeof(*h.v), hit_cmp, (void *)pkgs);
	*ret = h;
	return 0;
}

void vuln_hits_free(struct vuln_hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].severity_text);
	free(h->v);
	memset(h, 0, sizeof(*h));
}
