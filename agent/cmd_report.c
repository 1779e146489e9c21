/* SPDX-License-Identifier: MIT */
/* The commands around a signed report: keygen, verify, show (terminal and a self-contained HTML
 * page). */
#include "cli.h"
#include "log.h"
#include "sign.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pib-config.h"

#define TERM_MAX_SKIPPED 20  /* files not scanned listed in the terminal view; the rest counted */
#define MAX_VULNS_SHOWN 50   /* vulnerabilities listed (terminal and page); the rest counted */
#define HTML_MAX_SKIPPED 500 /* ... and on the HTML page */


/* ------------------------------------------------------------------ keygen */

int agent_cmd_keygen(const struct agent_opts *o)
{
	struct pib_err e = {0};
	char keyid[65];

	if (!o->out || !o->out[0]) {
		agent_error("keygen: give --out PREFIX (writes PREFIX.key and PREFIX.pub)");
		return PIB_EXIT_USAGE;
	}
	if (sign_keygen(o->out, keyid, &e) < 0) {
		agent_error("keygen: %s", e.msg);
		pib_err_clear(&e);
		return PIB_EXIT_ENV;
	}
	printf(
	    "private key: %s.key (PKCS#8 PEM, mode 0600: keep it secret; sign with --key %s.key)\n"
	    "public key:  %s.pub (give it to whoever checks reports: pib-agent verify REPORT "
	    "--pubkey %s.pub)\n"
	    "keyid:       %s\n",
	    o->out, o->out, o->out, o->out, keyid);
	return PIB_EXIT_OK;
}

/* ------------------------------------------------------------------ reading a report's predicate
 */

static const cJSON *jget(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char * or (const char *s, const char *dflt)
{
	return s && s[0] ? s : dflt;
}

static int jlen(const cJSON *a)
{
	return cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
}

/* A policy entry or check that is a finding: its status says it failed. */
static bool is_finding(const cJSON *item)
{
	const char *s = or (jstr(item, "status"), jstr(item, "result"));
	return s && (!strcmp(s, "fail") || !strcmp(s, "failed") || !strcmp(s, "violation") ||
		     !strcmp(s, "error"));
}

static int count_findings(const cJSON *a)
{
	const cJSON *i;
	int n = 0;

	if (cJSON_IsArray(a))
		cJSON_ArrayForEach(i, a) n += is_finding(i);
	return n;
}

/* "name version" of the bundle's product, into buf. */
static const char *product_of(const cJSON *pred, char *buf, size_t size)
{
	const cJSON *b = jget(pred, "bundle"), *p = jget(b, "product");

	if (jstr(p, "name"))
		snprintf(buf, size, "%s %s", jstr(p, "name"), or (jstr(p, "version"), ""));
	else if (jstr(b, "file"))
		snprintf(buf, size, "(unknown product: bundle %s)", jstr(b, "file"));
	else if (!strcmp(or (jstr(pred, "command"), ""), "scan"))
		snprintf(buf, size, "(a scan of files: no bundle)");
	else
		snprintf(buf, size, "(unknown product)");
	return buf;
}

/* The target OS line: "debian (deb) on Debian GNU/Linux 12 (bookworm) x86_64". */
static const char *target_of(const cJSON *pred, char *buf, size_t size)
{
	const cJSON *t = jget(pred, "target"), *h = jget(pred, "host");
	char os[256];

	if (jstr(h, "pretty_name"))
		snprintf(os, sizeof(os), "%s %s", jstr(h, "pretty_name"), or (jstr(h, "arch"), ""));
	else if (jstr(h, "id"))
		snprintf(os, sizeof(os), "%s %s %s", jstr(h, "id"), or (jstr(h, "version_id"), ""),
			 or (jstr(h, "arch"), ""));
	else
		snprintf(os, sizeof(os), "(OS not detected)");
	if (jstr(t, "name"))
		snprintf(buf, size, "%s (%s) on %s", jstr(t, "name"),
			 or (jstr(t, "installer"), "?"), os);
	else
		snprintf(buf, size, "(no target chosen) on %s", os);
	return buf;
}

static void fmt_duration(const cJSON *step, char *buf, size_t size)
{
	const cJSON *d = jget(step, "duration_ms");
	double ms = cJSON_IsNumber(d) ? d->valuedouble : -1;

	if (ms < 0)
		snprintf(buf, size, "-");
	else if (ms < 1000)
		snprintf(buf, size, "%.0f ms", ms);
	else if (ms < 60000)
		snprintf(buf, size, "%.1f s", ms / 1000);
	else
		snprintf(buf, size, "%lld min %lld s", (long long)(ms / 1000) / 60,
			 (long long)(ms / 1000) % 60);
}

/* The status word in capitals (letters only; anything else becomes '?'). */
static const char *upper(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 'a' && s[i] <= 'z'   ? (char)(s[i] - 32)
			 : s[i] >= 'A' && s[i] <= 'Z' ? s[i]
						      : '?';
	buf[i] = '\0';
	return buf;
}

/* Why the scan did not run, from the skipped scan steps; NULL when a scan step ran. */
static const char *scan_skip_reason(const cJSON *pred)
{
	const cJSON *s;
	const char *reason = NULL;

	cJSON_ArrayForEach(s, jget(pred, "steps"))
	{
		const char *n = or (jstr(s, "name"), "");
		if (strcmp(n, "prescan") && strcmp(n, "postscan"))
			continue;
		if (strcmp(or (jstr(s, "status"), ""), "skipped"))
			return NULL;
		reason = or (jstr(s, "reason"), "skipped");
	}
	return reason;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* "clamav 1.4.6, 4 files, 751 bytes scanned; database 2 signatures, 2026-11-26T10:32:31Z (mtime)"
 */
static const char *scan_line(const cJSON *scan, char *buf, size_t size)
{
	const cJSON *eng = jget(scan, "engine"), *db = jget(scan, "database"),
		    *dv = jget(db, "version");
	char engine[256], version[64] = "";

	if (cJSON_IsString(eng))
		snprintf(engine, sizeof(engine), "%s", eng->valuestring);
	else
		snprintf(engine, sizeof(engine), "%s %s", or (jstr(eng, "name"), "?"),
			 or (jstr(eng, "version"), ""));
	if (cJSON_IsNumber(dv))
		snprintf(version, sizeof(version), "version %.0f, ", dv->valuedouble);
	else if (cJSON_IsString(dv))
		snprintf(version, sizeof(version), "version %.40s, ", dv->valuestring);
	if (cJSON_IsObject(db))
		snprintf(buf, size,
			 "%s, %.0f files, %.0f bytes scanned; database %s%.0f signatures, %s (%s)",
			 engine, jnum(scan, "files_scanned"), jnum(scan, "bytes_scanned"), version,
			 jnum(db, "signatures"), or (jstr(db, "time"), "?"),
			 or (jstr(db, "time_source"), "time"));
	else
		snprintf(buf, size, "%s, %.0f files, %.0f bytes scanned; no database", engine,
			 jnum(scan, "files_scanned"), jnum(scan, "bytes_scanned"));
	return buf;
}

/* Detections listed plus those the report counts but does not list. */
static int count_detections(const cJSON *scan)
{
	double more = jnum(scan, "detections_not_listed");
	return jlen(jget(scan, "detections")) + (more > 0 && more < 1e9 ? (int)more : 0);
}

/* ------------------------------------------------------------------ the signature state */

enum sig_state { SIG_VALID, SIG_INVALID, SIG_UNSIGNED, SIG_UNCHECKED };

struct loaded {
	struct sign_verified v;
	enum sig_state state;
	char why[2200];	   /* the reason when invalid */
	const cJSON *pred; /* in v.statement */
};

static const char *sig_line(const struct loaded *l, char *buf, size_t size)
{
	switch (l->state) {
	case SIG_VALID:
		snprintf(buf, size, "valid (Ed25519, keyid %s)", l->v.keyid);
		break;
	case SIG_INVALID:
		snprintf(buf, size, "INVALID: %s", l->why);
		break;
	case SIG_UNSIGNED:
		snprintf(buf, size, "unsigned: the report carries no signature");
		break;
	case SIG_UNCHECKED:
		snprintf(buf, size,
			 "not checked (%zu signature%s, keyid %s; give --pubkey FILE to check it)",
			 l->v.n_signatures, l->v.n_signatures == 1 ? "" : "s",
			 or (l->v.keyid, "none"));
		break;
	}
	return buf;
}

/* Opens a report's text, verified when pub is given. path names it in messages (NULL: quiet).
 * Returns 0, or show's exit code on failure. */
static int load_text(const char *text, size_t len, const char *path, const struct sign_key *pub,
		     struct loaded *l)
{
	struct pib_err e = {0};
	int r;

	memset(l, 0, sizeof(*l));
	if (pub) {
		r = sign_verify(text, len, pub, &l->v, &e);
		if (r == 0) {
			l->state = SIG_VALID;
		} else if (e.cls == PIB_ERR_FINDINGS && strcmp(e.code, "report.malformed")) {
			/* invalid, but readable: shown with the reason, never as trusted */
			l->state = !strcmp(e.code, "report.unsigned") ? SIG_UNSIGNED : SIG_INVALID;
			snprintf(l->why, sizeof(l->why), "%s [%s]", e.msg, e.code);
			pib_err_clear(&e);
			r = sign_open_unverified(text, len, &l->v, &e);
			if (r < 0 && path)
				agent_warn("%s: INVALID: %s", path, l->why);
		}
	} else {
		r = sign_open_unverified(text, len, &l->v, &e);
		l->state = l->v.n_signatures ? SIG_UNCHECKED : SIG_UNSIGNED;
	}
	if (r < 0) {
		if (path)
			agent_error("%s: %s [%s]", path, e.msg, e.code);
		r = e.cls == PIB_ERR_ENV ? PIB_EXIT_ENV : PIB_EXIT_FINDINGS;
		pib_err_clear(&e);
		return r;
	}
	l->pred = jget(l->v.statement, "predicate");
	return 0;
}

/* Reads REPORT; verifies it when pub is given. Returns 0, or the exit code on failure (message
 * printed). */
static int load_report(const char *path, const struct sign_key *pub, struct loaded *l)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(l, 0, sizeof(*l));
	r = pib_read_file(path, SIGN_MAX_ENVELOPE, &text, &len);
	if (r < 0) {
		agent_error("%s: cannot read the report: %s", path,
		    r == -EFBIG	   ? "too large for a report"
		    : r == -EINVAL ? "not a regular file"
				   : strerror(-r));
		return PIB_EXIT_USAGE;
	}
	r = load_text(text, len, path, pub, l);
	free(text);
	return r;
}

static int load_pubkey(const char *path, struct sign_key **ret)
{
	struct pib_err e = {0};

	if (sign_pubkey_load(path, ret, &e) < 0) {
		agent_error("%s [%s]", e.msg, e.code);
		pib_err_clear(&e);
		return PIB_EXIT_ENV;
	}
	return 0;
}

/* ------------------------------------------------------------------ terminal text */

struct term {
	struct pib_buf b;
	bool color;
};

/* Appends s with every control character (C0, DEL, C1) replaced by '?': a report cannot drive the
 * terminal; bidi and invisible formatting characters are written \u{XXXX}, as pib_text_clean
 * does: a report cannot reorder or hide what is shown. */
static void tx(struct term *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	uint32_t cp;
	size_t n;

	for (; *p; p++) {
		if ((n = pib_utf8_format_char((const char *)p, &cp)) > 0) {
			pib_buf_printf(&t->b, "\\u{%04X}", (unsigned)cp);
			p += n - 1;
		} else if (*p < 0x20 || *p == 0x7f)
			pib_buf_append(&t->b, "?", 1);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			pib_buf_append(&t->b, "?", 1);
			p++;
		} else
			pib_buf_append(&t->b, p, 1);
	}
}

static void tf(struct term *t, const char *fmt, ...) PIB_PRINTF(2, 3);
static void tf(struct term *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *s = pib_vasprintf(fmt, ap);
	va_end(ap);
	if (s)
		tx(t, s);
	free(s);
}

/* tf, then a new line. */
#define tl(t, ...)                                                                                 \
	do {                                                                                       \
		tf(t, __VA_ARGS__);                                                                \
		traw(t, "\n");                                                                     \
	} while (0)

/* A raw (trusted, literal) piece, e.g. a newline or an escape sequence. */
static void traw(struct term *t, const char *s)
{
	pib_buf_append(&t->b, s, strlen(s));
}

static const char *status_color(const char *status)
{
	if (!strcmp(status, "succeeded") || !strcmp(status, "ok"))
		return "\033[1;32m";
	if (!strcmp(status, "incomplete") || !strcmp(status, "skipped"))
		return "\033[1;33m";
	return "\033[1;31m";
}

static void tcolor(struct term *t, const char *code)
{
	if (t->color)
		traw(t, code);
}

/* The report's sbom object in one line: what the SBOM beside it holds, and its payload's SHA-256. */
static const char *sbom_line(const cJSON *pred, char *buf, size_t size)
{
	const cJSON *s = jget(pred, "sbom");

	if (!cJSON_IsObject(s))
		return NULL;
	snprintf(buf, size, "%s, %.0f package(s) of the transaction (%.0f files) and %.0f of the image; payload sha256 %s",
		 or (jstr(s, "format"), "?"), jnum(s, "transaction"), jnum(s, "files"), jnum(s, "image"),
		 or (jstr(s, "sha256"), "?"));
	return buf;
}

static void tlabel(struct term *t, const char *label, const char *value)
{
	tf(t, "%-12s", label);
	tx(t, value);
	traw(t, "\n");
}

/* The "signature" line of the terminal view, coloured by its state (valid, not checked, bad). */
static void tsig(struct term *t, const struct loaded *l, char *buf, size_t size)
{
	tcolor(t, l->state == SIG_VALID	      ? "\033[32m"
		  : l->state == SIG_UNCHECKED ? "\033[33m"
					      : "\033[1;31m");
	tlabel(t, "signature", sig_line(l, buf, size));
	tcolor(t, "\033[0m");
}

static void term_heading(struct term *t, const char *title, int n)
{
	traw(t, "\n");
	tcolor(t, "\033[1m");
	tf(t, "%s (%d)", title, n);
	tcolor(t, "\033[0m");
	traw(t, "\n");
}

/* ------------------------------------------------------------------ an SBOM */

/* A Statement of the SBOM the agent signs beside a report, not of a report. */
static bool is_sbom(const struct loaded *l)
{
	const char *pt = jstr(l->v.statement, "predicateType");
	return pt && !strcmp(pt, SIGN_SBOM_PREDICATE_TYPE);
}

/* The value of a component's property, or NULL. */
static const char *prop_of(const cJSON *c, const char *name)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, jget(c, "properties"))
		if (jstr(p, "name") && !strcmp(jstr(p, "name"), name))
			return jstr(p, "value");
	return NULL;
}

/* What the SBOM describes, when and by what, and how many packages of each list. */
static void sbom_lines(const cJSON *bom, char what[1024], char made[512], char counts[256])
{
	const cJSON *meta = jget(bom, "metadata"), *c = jget(meta, "component"), *it;
	const cJSON *tool = cJSON_IsArray(jget(jget(meta, "tools"), "components"))
				    ? cJSON_GetArrayItem(jget(jget(meta, "tools"), "components"), 0)
				    : NULL;
	int txn = 0, img = 0, files = 0;

	snprintf(what, 1024, "%s %s (%s)", or (jstr(c, "name"), "?"), or (jstr(c, "version"), ""), or (jstr(c, "type"), "?"));
	snprintf(made, 512, "%s by %s %s; CycloneDX %s, %s", or (jstr(meta, "timestamp"), "?"), or (jstr(tool, "name"), "?"),
		 or (jstr(tool, "version"), "?"), or (jstr(bom, "specVersion"), "?"), or (jstr(bom, "serialNumber"), "?"));
	cJSON_ArrayForEach(it, jget(bom, "components")) {
		const char *o = prop_of(it, "pib:origin");
		if (o && !strcmp(o, "bundle")) {
			txn++;
			files += jlen(jget(it, "components"));
		} else {
			img++;
		}
	}
	snprintf(counts, 256, "%d of the transaction (%d files), %d of the image", txn, files, img);
}

static void render_term_sbom(struct term *t, const struct loaded *l)
{
	const cJSON *bom = l->pred, *it;
	char what[1024], made[512], counts[256], buf[4096];
	int txn = 0;

	sbom_lines(bom, what, made, counts);
	tcolor(t, "\033[1m");
	traw(t, "SBOM  ");
	tcolor(t, "\033[0m");
	tx(t, what);
	traw(t, "\n");
	tsig(t, l, buf, sizeof(buf));
	tlabel(t, "made", made);
	tlabel(t, "packages", counts);
	cJSON_ArrayForEach(it, jget(bom, "components")) txn += prop_of(it, "pib:origin") && !strcmp(prop_of(it, "pib:origin"), "bundle");
	term_heading(t, "Transaction", txn);
	cJSON_ArrayForEach(it, jget(bom, "components"))
	{
		if (!prop_of(it, "pib:origin") || strcmp(prop_of(it, "pib:origin"), "bundle"))
			continue;
		tf(t, "  %-24s %-20s ", or (jstr(it, "name"), "?"), or (jstr(it, "version"), "?"));
		tx(t, or (jstr(it, "purl"), "?"));
		tl(t, ", %d files", jlen(jget(it, "components")));
	}
	const cJSON *subj = jget(l->v.statement, "subject");
	term_heading(t, "Subjects", jlen(subj));
	cJSON_ArrayForEach(it, subj) tl(t, "  %s  %s", or (jstr(jget(it, "digest"), "sha256"), "?"),
					or (jstr(it, "name"), "?"));
}

static void term_generic_item(struct term *t, const cJSON *it)
{
	const char *name = or (jstr(it, "name"), or (jstr(it, "id"), jstr(it, "title")));
	const char *status = or (jstr(it, "status"), jstr(it, "result"));
	const char *msg = or (jstr(it, "message"), or (jstr(it, "detail"), jstr(it, "reason")));

	if (!name && !status) {
		char *j = cJSON_PrintUnformatted(it);
		tl(t, "  %s", j ? j : "?");
		free(j);
		return;
	}
	traw(t, "  ");
	if (status) {
		tcolor(t, status_color(is_finding(it)		   ? "failed"
				       : strcmp(status, "skipped") ? "ok"
								   : "skipped"));
		tf(t, "%-8s", status);
		tcolor(t, "\033[0m");
		traw(t, " ");
	}
	tx(t, or (name, "?"));
	if (msg) {
		traw(t, ": ");
		tx(t, msg);
	}
	traw(t, "\n");
}

/* A file of the image before or after the install, one line. */
static void term_image_state(struct term *t, const char *label, const cJSON *st)
{
	const cJSON *size = jget(st, "size");

	if (!cJSON_IsObject(st)) {
		tl(t, "    %-7s none", label);
		return;
	}
	tl(t, "    %-7s %s %s, mode %s, owner %s, %.0f bytes", label, or (jstr(st, "type"), "?"),
	   or (jstr(st, "sha256"), "(digest not taken)"), or (jstr(st, "mode"), "?"), or (jstr(st, "owner"), "?"),
	   cJSON_IsNumber(size) ? size->valuedouble : 0.0);
}

#define TERM_MAX_DIFF_LINES 200

/* What the install changed in the image: each file, its states, its diff (bounded here; whole in the report). */
static void term_image_changes(struct term *t, const cJSON *arr)
{
	const cJSON *it;

	term_heading(t, "Image changes", jlen(arr));
	cJSON_ArrayForEach(it, arr)
	{
		const char *area = jstr(it, "hardening"), *diff = jstr(it, "diff");
		traw(t, "  ");
		tcolor(t, area ? "\033[1;31m" : "\033[1;33m");
		tf(t, "%-8s", or (jstr(it, "change"), "?"));
		tcolor(t, "\033[0m");
		tf(t, " %s", or (jstr(it, "path"), "?"));
		if (area)
			tf(t, " [hardening: %s]", area);
		traw(t, "\n");
		term_image_state(t, "before", jget(it, "before"));
		term_image_state(t, "after", jget(it, "after"));
		if (!diff) {
			if (jstr(it, "diff_note"))
				tl(t, "    %s", jstr(it, "diff_note"));
			continue;
		}
		int n = 0;
		for (const char *p = diff; *p && n < TERM_MAX_DIFF_LINES; n++) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p), col = 0, k = 0;
			char *line = malloc(len * 8 + 1); /* tabs expanded to the next multiple of 8 (the sign aside) */
			for (size_t i = 0; line && i < len; i++) {
				if (p[i] == '\t') {
					do
						line[k++] = ' ';
					while (++col % 8);
				} else {
					line[k++] = p[i];
					if (i > 0)
						col++;
				}
			}
			if (line)
				line[k] = '\0';
			tcolor(t, *p == '+' ? "\033[32m" : *p == '-' ? "\033[31m" : *p == '@' ? "\033[36m" : "");
			traw(t, "    ");
			tx(t, line ? line : "?");
			tcolor(t, "\033[0m");
			traw(t, "\n");
			free(line);
			p = nl ? nl + 1 : p + strlen(p);
			if (n + 1 == TERM_MAX_DIFF_LINES && *p)
				tl(t, "    ... (the rest of the diff is in the report's image_changes)");
		}
		if (cJSON_IsTrue(jget(it, "diff_cut")))
			tl(t, "    ... (the diff was cut in the report: it was too long)");
	}
}

/*
 * What the feed was, from the vulns step: "4 records (3 for Debian:12), newest 2026-12-02T09:00:00Z,
 * 0.3 days old; an index made 2026-12-02T10:00:00Z from /feeds/osv"; NULL without a vulns step.
 * A reader judges "no vulnerabilities" by it. *why: the step's incomplete, or NULL.
 */
static const char *feed_line(const cJSON *pred, char *buf, size_t size, const char **why)
{
	const cJSON *s, *f = NULL;

	*why = NULL;
	cJSON_ArrayForEach(s, jget(pred, "steps"))
		if (!strcmp(or (jstr(s, "name"), ""), "vulns")) {
			f = jget(s, "feed");
			*why = jstr(s, "incomplete");
		}
	if (!cJSON_IsObject(f))
		return NULL;
	const cJSON *ix = jget(f, "index"), *age = jget(f, "age_days");
	int n = snprintf(buf, size, "%s: %.0f records (%.0f for the image), newest %s", or (jstr(f, "path"), "?"),
			 jnum(f, "records"), jnum(f, "records_for_image"), or (jstr(f, "newest_modified"), "none"));
	if (n >= 0 && (size_t)n < size && cJSON_IsNumber(age))
		n += snprintf(buf + n, size - (size_t)n, ", %.1f days old", age->valuedouble);
	if (n >= 0 && (size_t)n < size && cJSON_IsObject(ix))
		snprintf(buf + n, size - (size_t)n, "; an index made %s from %s", or (jstr(ix, "made"), "?"),
			 or (jstr(ix, "made_from"), "?"));
	return buf;
}

/* The vulnerabilities the feed gave (null: no feed given, nothing to show), the bundle's first. */
static void term_vulns(struct term *t, const cJSON *pred)
{
	const cJSON *it, *arr = jget(pred, "vulnerabilities");
	const char *why;
	char buf[2048];
	int n = 0;

	if (!cJSON_IsArray(arr))
		return;
	term_heading(t, "Vulnerabilities", jlen(arr));
	if (feed_line(pred, buf, sizeof(buf), &why))
		tlabel(t, "feed", buf);
	if (why)
		tlabel(t, "incomplete", why);
	cJSON_ArrayForEach(it, arr)
	{
		if (n++ == MAX_VULNS_SHOWN) {
			tl(t, "  and %d more (see vulnerabilities[] in the report)", jlen(arr) - MAX_VULNS_SHOWN);
			break;
		}
		tf(t, "  %-9s %-8s %-6s %s %s %s", or (jstr(it, "status"), "?"), or (jstr(it, "severity"), "unknown"),
		   or (jstr(it, "origin"), "?"), or (jstr(it, "id"), "?"), or (jstr(it, "package"), "?"),
		   or (jstr(it, "installed"), "?"));
		tl(t, ", fixed in %s", or (jstr(it, "fixed"), "no known version")); /* tf shows a newline as ? */
	}
}

static void render_term(struct term *t, const struct loaded *l)
{
	const cJSON *pred = l->pred, *scan = jget(pred, "scan"), *it, *err = jget(pred, "error");
	const char *status = or (jstr(pred, "status"), "unknown");
	char buf[4096];

	if (is_sbom(l)) {
		render_term_sbom(t, l);
		return;
	}

	/* the overall status first */
	tcolor(t, status_color(status));
	tx(t, upper(status, buf, 64));
	tcolor(t, "\033[0m");
	traw(t, "  ");
	tx(t, product_of(pred, buf, sizeof(buf)));
	if (jstr(jget(jget(pred, "bundle"), "product"), "seller"))
		tf(t, " by %s", jstr(jget(jget(pred, "bundle"), "product"), "seller"));
	traw(t, "\n");
	tsig(t, l, buf, sizeof(buf));
	tlabel(t, "target", target_of(pred, buf, sizeof(buf)));
	tlabel(t, "build", or (jstr(pred, "build_id"), "(none: a local run)"));
	snprintf(buf, sizeof(buf), "%s, by %s %s (%s)", or (jstr(pred, "phase"), "?"),
		 or (jstr(jget(pred, "agent"), "name"), "?"),
		 or (jstr(jget(pred, "agent"), "version"), "?"), or (jstr(pred, "command"), "?"));
	tlabel(t, "phase", buf);
	if (jstr(jget(pred, "bundle"), "sha256"))
		tlabel(t, "bundle", jstr(jget(pred, "bundle"), "sha256"));
	if (sbom_line(pred, buf, sizeof(buf)))
		tlabel(t, "sbom", buf);
	if (cJSON_IsObject(err)) {
		snprintf(buf, sizeof(buf), "%s at %s: %s", or (jstr(err, "code"), "?"),
			 or (jstr(err, "step"), "?"), or (jstr(err, "message"), ""));
		tcolor(t, "\033[1;31m");
		tlabel(t, "error", buf);
		tcolor(t, "\033[0m");
	}

	const cJSON *dets = jget(scan, "detections");
	term_heading(t, "Detections", count_detections(scan));
	if (!cJSON_IsObject(scan)) {
		const char *why = scan_skip_reason(pred);
		tl(t, "  scan not run%s%s", why ? ": " : "", why ? why : "");
	} else {
		tl(t, "  %s", scan_line(scan, buf, sizeof(buf)));
		cJSON_ArrayForEach(it, dets)
		{
			tcolor(t, "\033[1;31m");
			tf(t, "  %s", or (jstr(it, "signature"), "?"));
			tcolor(t, "\033[0m");
			tf(t, "  %s", or (jstr(it, "path"), "?"));
			if (jstr(it, "member"))
				tf(t, " [%s]", jstr(it, "member"));
			if (jstr(it, "package"))
				tf(t, " (package %s)", jstr(it, "package"));
			tl(t, " at %s", or (jstr(it, "phase"), "?"));
		}
		if (count_detections(scan) > jlen(dets))
			tl(t, "  and %d more detection(s) that the report counts but does not list",
			   count_detections(scan) - jlen(dets));
		if (jlen(jget(scan, "skipped"))) {
			/* which files, since an incomplete verdict is only as good as what it left out */
			int n = 0, all = jlen(jget(scan, "skipped"));
			tl(t, "  %d file(s) not scanned or cut short:", all);
			cJSON_ArrayForEach(it, jget(scan, "skipped"))
			{
				if (n++ == TERM_MAX_SKIPPED)
					break;
				tf(t, "    %-22s %s", or (jstr(it, "code"), "?"), or (jstr(it, "path"), "?"));
				if (jstr(it, "member"))
					tf(t, " [%s]", jstr(it, "member"));
				tl(t, ": %s", or (jstr(it, "reason"), ""));
			}
			if (all > TERM_MAX_SKIPPED)
				tl(t, "    and %d more (see scan.skipped in the report)", all - TERM_MAX_SKIPPED);
		}
	}

	term_heading(t, "Policy findings", count_findings(jget(pred, "policy")));
	cJSON_ArrayForEach(it, jget(pred, "policy")) term_generic_item(t, it);
	term_heading(t, "Checks", jlen(jget(pred, "checks")));
	cJSON_ArrayForEach(it, jget(pred, "checks")) term_generic_item(t, it);
	term_image_changes(t, jget(pred, "image_changes"));
	term_vulns(t, pred);

	term_heading(t, "Packages", jlen(jget(pred, "packages")));
	cJSON_ArrayForEach(it, jget(pred, "packages"))
	{
		tf(t, "  %-24s %-20s %-8s %s", or (jstr(it, "name"), "?"),
		   or (jstr(it, "version"), "?"), or (jstr(it, "arch"), "?"),
		   or (jstr(it, "source"), ""));
		if (jlen(jget(it, "files")))
			tf(t, ", %d files", jlen(jget(it, "files")));
		traw(t, "\n");
	}

	term_heading(t, "Steps", jlen(jget(pred, "steps")));
	cJSON_ArrayForEach(it, jget(pred, "steps"))
	{
		const char *st = or (jstr(it, "status"), "?");
		const cJSON *se = jget(it, "error");
		fmt_duration(it, buf, sizeof(buf));
		tf(t, "  %-10s ", or (jstr(it, "name"), "?"));
		tcolor(t, status_color(st));
		tf(t, "%-8s", st);
		tcolor(t, "\033[0m");
		tf(t, " %9s", buf);
		if (cJSON_IsObject(se))
			tf(t, "  %s: %s", or (jstr(se, "code"), "?"), or (jstr(se, "message"), ""));
		else if (jstr(it, "reason"))
			tf(t, "  %s", jstr(it, "reason"));
		traw(t, "\n");
	}

	const cJSON *subj = jget(l->v.statement, "subject");
	term_heading(t, "Subjects", jlen(subj));
	cJSON_ArrayForEach(it, subj) tl(t, "  %s  %s", or (jstr(jget(it, "digest"), "sha256"), "?"),
					or (jstr(it, "name"), "?"));
}

/* ------------------------------------------------------------------ HTML */

/*
 * Appends s escaped for HTML text; control characters become U+FFFD, bidi and invisible
 * formatting characters a visible mark: <span class="ctl">U+202E</span> in markup, or
 * [U+202E] where no markup is parsed (in_title: the <title>).
 */
static void hx_in(struct pib_buf *b, const char *s, bool in_title)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	uint32_t cp;
	size_t n;

	for (; *p; p++) {
		if ((n = pib_utf8_format_char((const char *)p, &cp)) > 0) {
			pib_buf_printf(b, in_title ? "[U+%04X]" : "<span class=\"ctl\">U+%04X</span>",
				       (unsigned)cp);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '&':
			pib_buf_append(b, "&amp;", 5);
			break;
		case '<':
			pib_buf_append(b, "&lt;", 4);
			break;
		case '>':
			pib_buf_append(b, "&gt;", 4);
			break;
		case '"':
			pib_buf_append(b, "&quot;", 6);
			break;
		case '\'':
			pib_buf_append(b, "&#39;", 5);
			break;
		case '\n':
		case '\t':
			pib_buf_append(b, p, 1);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				pib_buf_append(b, "\xef\xbf\xbd", 3);
			else
				pib_buf_append(b, p, 1);
		}
	}
}

static void hx(struct pib_buf *b, const char *s)
{
	hx_in(b, s, false);
}

static void hf(struct pib_buf *b, const char *fmt, ...) PIB_PRINTF(2, 3);
static void hf(struct pib_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *s = pib_vasprintf(fmt, ap);
	va_end(ap);
	if (s)
		hx(b, s);
	free(s);
}

/* Raw markup with printf arguments that are trusted: numbers and known class names only. */
#define hr(b, ...) pib_buf_printf(b, __VA_ARGS__)

static void hraw(struct pib_buf *b, const char *s)
{
	pib_buf_append(b, s, strlen(s));
}

/* A CSS class name for a status word: only known words, so nothing from the report reaches an
 * attribute raw. */
static const char *status_class(const char *s)
{
	static const char *const known[] = {"succeeded", "incomplete", "findings", "failed",
					    "ok",	 "skipped",    "running"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (s && !strcmp(s, known[i]))
			return known[i];
	return "unknown";
}

/* One cell of a table row: the string field key of a report object, escaped. */
enum { HC_MONO = 1, HC_BOLD = 2 };
struct html_cell {
	const char *key;
	const char *missing; /* shown when the field is absent or null */
	unsigned style;      /* HC_* */
};

/* A table row (tr: its opening tag, trusted markup) with the cells of it, in order. */
static void html_row(struct pib_buf *b, const char *tr, const cJSON *it, const struct html_cell *cells)
{
	hraw(b, tr);
	for (const struct html_cell *c = cells; c->key; c++) {
		hraw(b, c->style & HC_MONO ? "<td class=\"mono\">" : "<td>");
		if (c->style & HC_BOLD)
			hraw(b, "<b>");
		hx(b, or (jstr(it, c->key), c->missing));
		if (c->style & HC_BOLD)
			hraw(b, "</b>");
		hraw(b, "</td>");
	}
	hraw(b, "</tr>");
}

static const char css[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe "
    "UI',Roboto,sans-serif;margin:0;color:#1d2330;background:#f4f5f7}"
    "main{max-width:1280px;margin:0 auto;padding:12px 20px}"
    "header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 20px;padding:12px "
    "20px;color:#fff}"
    "header h1{margin:0;font-size:28px;letter-spacing:.05em}"
    "header .product{font-size:20px;font-weight:600}"
    "header .seller{opacity:.85}"
    ".st-succeeded{background:#1a7f37}.st-incomplete{background:#9a6700}.st-findings{background:#"
    "b3261e}"
    ".st-failed{background:#8c1d18}.st-unknown{background:#555}"
    ".sig{padding:6px 20px;font-weight:600;border-bottom:1px solid #ccc}"
    ".sig-valid{background:#dafbe1;color:#116329}.sig-invalid{background:#ffebe9;color:#8c1d18}"
    ".sig-unsigned{background:#fff8c5;color:#7d4e00}.sig-unchecked{background:#eaeef2;color:#333}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(400px,1fr));gap:4px "
    "24px;margin:8px 0}"
    ".kv b{display:inline-block;min-width:80px;color:#57606a;font-weight:500}"
    ".error{background:#ffebe9;border-left:4px solid #b3261e;padding:8px 12px;margin:8px 0}"
    "section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px "
    "14px;margin:10px 0}"
    "section h2{font-size:16px;margin:4px 0 6px}"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:0 12px}"
    "@media (max-width:900px){.cols{grid-template-columns:1fr}}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}"
    "th{color:#57606a;font-weight:500}"
    "code,.mono{font-family:ui-monospace,'DejaVu Sans "
    "Mono',monospace;font-size:12px;word-break:break-all}"
    ".none{color:#57606a}"
    ".b-ok,.b-succeeded{color:#1a7f37;font-weight:600}.b-skipped,.b-incomplete{color:#9a6700;font-"
    "weight:600}"
    ".b-failed,.b-findings,.b-unknown,.b-running{color:#b3261e;font-weight:600}"
    ".hit td{background:#fff5f5}"
    ".ctl{font:11px ui-monospace,monospace;color:#8c1d18;background:#ffebe9;border:1px solid "
    "#b3261e;border-radius:3px;padding:0 2px;margin:0 1px}"
    "footer{color:#57606a;font-size:12px;margin:12px 0}";

static void html_generic_rows(struct pib_buf *b, const cJSON *arr)
{
	const cJSON *it;

	hraw(b, "<table><tr><th>status</th><th>name</th><th>detail</th></tr>");
	cJSON_ArrayForEach(it, arr)
	{
		const char *name = or (jstr(it, "name"), or (jstr(it, "id"), jstr(it, "title")));
		const char *status = or (jstr(it, "status"), jstr(it, "result"));
		const char *msg =
		    or (jstr(it, "message"), or (jstr(it, "detail"), jstr(it, "reason")));
		char *j = (!name && !msg) ? cJSON_PrintUnformatted(it) : NULL;

		bool good = status && (!strcmp(status, "ok") || !strcmp(status, "pass") ||
				       !strcmp(status, "passed"));
		hr(b, "<tr%s><td class=\"b-%s\">", is_finding(it) ? " class=\"hit\"" : "",
		   is_finding(it) ? "failed"
		   : good	  ? "ok"
				  : status_class(status));
		hx(b, or (status, "-"));
		hraw(b, "</td><td>");
		hx(b, or (name, "-"));
		hraw(b, "</td><td>");
		hx(b, j ? j : or (msg, ""));
		hraw(b, "</td></tr>");
		free(j);
	}
	hraw(b, "</table>");
}

static void html_image_state(struct pib_buf *b, const cJSON *st)
{
	const cJSON *size = jget(st, "size");

	hraw(b, "<td class=\"mono\">");
	if (!cJSON_IsObject(st)) {
		hraw(b, "none</td>");
		return;
	}
	hf(b, "%s %s<br>mode %s, owner %s, %.0f bytes", or (jstr(st, "type"), "?"),
	   or (jstr(st, "sha256"), "(digest not taken)"), or (jstr(st, "mode"), "?"), or (jstr(st, "owner"), "?"),
	   cJSON_IsNumber(size) ? size->valuedouble : 0.0);
	hraw(b, "</td>");
}

/* What the install changed in the image: a row per file, its diff below it. */
static void html_image_changes(struct pib_buf *b, const cJSON *arr)
{
	const cJSON *it;

	hr(b, "<section id=\"image-changes\"><h2>Image changes (%d)</h2>", jlen(arr));
	if (!jlen(arr)) {
		hraw(b, "<p class=\"none\">The install changed no file of the image (or the report does not say)</p></section>\n");
		return;
	}
	hraw(b, "<table><tr><th>change</th><th>path</th><th>hardening</th><th>before</th><th>after</th></tr>");
	cJSON_ArrayForEach(it, arr)
	{
		const char *area = jstr(it, "hardening");
		hraw(b, area ? "<tr class=\"hit\"><td><b>" : "<tr><td><b>");
		hx(b, or (jstr(it, "change"), "?"));
		hraw(b, "</b></td><td class=\"mono\">");
		hx(b, or (jstr(it, "path"), "?"));
		hraw(b, "</td><td>");
		hx(b, or (area, "-"));
		hraw(b, "</td>");
		html_image_state(b, jget(it, "before"));
		html_image_state(b, jget(it, "after"));
		hraw(b, "</tr><tr><td></td><td colspan=\"4\">");
		if (jstr(it, "diff")) {
			hraw(b, "<pre class=\"mono\">");
			hx(b, jstr(it, "diff"));
			hraw(b, "</pre>");
			if (cJSON_IsTrue(jget(it, "diff_cut")))
				hraw(b, "<p class=\"none\">the diff was cut: it was too long</p>");
		} else {
			hraw(b, "<span class=\"none\">");
			hx(b, or (jstr(it, "diff_note"), "no diff"));
			hraw(b, "</span>");
		}
		hraw(b, "</td></tr>");
	}
	hraw(b, "</table></section>\n");
}

/* The vulnerabilities the feed gave, one row each (none when no feed was given). */
static void html_vulns(struct pib_buf *b, const cJSON *pred)
{
	const cJSON *arr = jget(pred, "vulnerabilities");
	const char *why;
	char buf[2048];
	static const struct html_cell cells[] = {
	    {"status", "-", HC_BOLD}, {"severity", "unknown", 0}, {"origin", "-", 0},	{"id", "-", HC_MONO},
	    {"package", "-", HC_MONO}, {"installed", "-", HC_MONO}, {"fixed", "no known version", HC_MONO}, {NULL, NULL, 0}};
	const cJSON *it;
	int n = 0;

	if (!cJSON_IsArray(arr))
		return;
	hr(b, "<section id=\"vulnerabilities\"><h2>Vulnerabilities (%d)</h2>", jlen(arr));
	if (feed_line(pred, buf, sizeof(buf), &why)) {
		hraw(b, "<p>feed ");
		hx(b, buf);
		hraw(b, "</p>");
	}
	if (why) {
		hraw(b, "<p class=\"hit\">incomplete: ");
		hx(b, why);
		hraw(b, "</p>");
	}
	if (!jlen(arr)) {
		hraw(b, "<p class=\"none\">No record of the feed names a package of the image or the bundle in an affected version</p></section>\n");
		return;
	}
	hraw(b, "<table><tr><th>status</th><th>severity</th><th>origin</th><th>id</th><th>package</th><th>installed</th>"
		"<th>fixed in</th></tr>");
	cJSON_ArrayForEach(it, arr)
	{
		if (n++ == MAX_VULNS_SHOWN)
			break;
		html_row(b, is_finding(it) ? "<tr class=\"hit\">" : "<tr>", it, cells);
	}
	hraw(b, "</table>");
	if (jlen(arr) > MAX_VULNS_SHOWN)
		hr(b, "<p>and %d more that the report lists</p>", jlen(arr) - MAX_VULNS_SHOWN);
	hraw(b, "</section>\n");
}

/* The page of an SBOM: what it describes, its signature, the transaction's packages. */
static void render_html_sbom(struct pib_buf *b, const struct loaded *l)
{
	static const char *const sig_class[] = {"valid", "invalid", "unsigned", "unchecked"};
	const cJSON *bom = l->pred, *it;
	char what[1024], made[512], counts[256], buf[4096];

	sbom_lines(bom, what, made, counts);
	hraw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
		"'unsafe-inline'\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	char *title = pib_asprintf("pib-agent SBOM: %s", what);
	hx_in(b, title ? title : "pib-agent SBOM", true);
	free(title);
	hraw(b, "</title>\n<style>");
	hraw(b, css);
	hraw(b, "</style></head>\n<body>\n<header><h1 id=\"status\">SBOM</h1><span class=\"product\" id=\"product\">");
	hx(b, what);
	hraw(b, "</span></header>\n");
	hr(b, "<div class=\"sig sig-%s\" id=\"signature\">Signature: ", sig_class[l->state]);
	hx(b, sig_line(l, buf, sizeof(buf)));
	if (l->state == SIG_INVALID)
		hraw(b, " &mdash; nothing below can be trusted");
	hraw(b, "</div>\n<main>\n<div class=\"grid\"><div class=\"kv\"><b>made</b> ");
	hx(b, made);
	hraw(b, "</div><div class=\"kv\"><b>packages</b> ");
	hx(b, counts);
	hraw(b, "</div></div>\n<section id=\"packages\"><h2>Transaction</h2><table><tr><th>name</th><th>version</th>"
		"<th>purl</th><th>files</th><th>SHA-256</th></tr>");
	cJSON_ArrayForEach(it, jget(bom, "components"))
	{
		if (!prop_of(it, "pib:origin") || strcmp(prop_of(it, "pib:origin"), "bundle"))
			continue;
		const cJSON *h = cJSON_GetArrayItem(jget(it, "hashes"), 0);
		hraw(b, "<tr><td>");
		hx(b, or (jstr(it, "name"), "?"));
		hraw(b, "</td><td>");
		hx(b, or (jstr(it, "version"), "?"));
		hraw(b, "</td><td><code>");
		hx(b, or (jstr(it, "purl"), "?"));
		hf(b, "</code></td><td>%d</td><td><code>", jlen(jget(it, "components")));
		hx(b, or (jstr(h, "content"), "-"));
		hraw(b, "</code></td></tr>");
	}
	hraw(b, "</table></section>\n</main></body></html>\n");
}

static void render_html(struct pib_buf *b, const struct loaded *l)
{
	const cJSON *pred = l->pred, *scan = jget(pred, "scan"), *it, *err = jget(pred, "error");
	const cJSON *prod = jget(jget(pred, "bundle"), "product");
	const char *status = or (jstr(pred, "status"), "unknown");
	static const char *const sig_class[] = {"valid", "invalid", "unsigned", "unchecked"};
	char buf[4096];

	if (is_sbom(l)) {
		render_html_sbom(b, l);
		return;
	}

	hraw(b,
	     "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
	     "'unsafe-inline'\">\n"
	     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	char *title = pib_asprintf("pib-agent report: %s, %s", status, product_of(pred, buf, sizeof(buf)));
	hx_in(b, title ? title : "pib-agent report", true);
	free(title);
	hraw(b, "</title>\n<style>");
	hraw(b, css);
	hraw(b, "</style></head>\n<body>\n");

	/* the verdict and the signature state, first */
	hr(b, "<header class=\"st-%s\"><h1 id=\"status\">", status_class(status));
	hx(b, upper(status, buf, 64));
	hraw(b, "</h1><span class=\"product\" id=\"product\">");
	hx(b, product_of(pred, buf, sizeof(buf)));
	hraw(b, "</span>");
	if (jstr(prod, "seller")) {
		hraw(b, "<span class=\"seller\">by ");
		hx(b, jstr(prod, "seller"));
		hraw(b, "</span>");
	}
	hraw(b, "</header>\n");
	hr(b, "<div class=\"sig sig-%s\" id=\"signature\">Signature: ", sig_class[l->state]);
	hx(b, sig_line(l, buf, sizeof(buf)));
	if (l->state == SIG_INVALID)
		hraw(b, " &mdash; nothing below can be trusted");
	hraw(b, "</div>\n<main>\n<div class=\"grid\">");
	hraw(b, "<div class=\"kv\"><b>target</b> ");
	hx(b, target_of(pred, buf, sizeof(buf)));
	hraw(b, "</div><div class=\"kv\"><b>build</b> ");
	hx(b, or (jstr(pred, "build_id"), "(none: a local run)"));
	hraw(b, "</div><div class=\"kv\"><b>phase</b> ");
	snprintf(buf, sizeof(buf), "%s, by %s %s (%s)", or (jstr(pred, "phase"), "?"),
		 or (jstr(jget(pred, "agent"), "name"), "?"),
		 or (jstr(jget(pred, "agent"), "version"), "?"), or (jstr(pred, "command"), "?"));
	hx(b, buf);
	hraw(b, "</div><div class=\"kv\"><b>bundle</b> <code>");
	hx(b, or (jstr(jget(pred, "bundle"), "sha256"), "-"));
	hraw(b, "</code></div></div>\n");
	if (cJSON_IsObject(err)) {
		hraw(b, "<div class=\"error\" id=\"error\"><b>");
		hx(b, or (jstr(err, "code"), "?"));
		hraw(b, "</b> at step <b>");
		hx(b, or (jstr(err, "step"), "?"));
		hraw(b, "</b>: ");
		hx(b, or (jstr(err, "message"), ""));
		hraw(b, "</div>\n");
	}

	/* detections and findings: visible without scrolling */
	const cJSON *dets = jget(scan, "detections");
	hr(b, "<section id=\"detections\"><h2>Detections (%d)</h2>", count_detections(scan));
	if (!cJSON_IsObject(scan)) {
		const char *why = scan_skip_reason(pred);
		hraw(b, "<p class=\"none\">Scan not run");
		if (why) {
			hraw(b, ": ");
			hx(b, why);
		}
		hraw(b, "</p>");
	} else {
		hraw(b, "<p class=\"none\">");
		hx(b, scan_line(scan, buf, sizeof(buf)));
		if (jlen(jget(scan, "skipped")))
			hf(b, "; %d file(s) not scanned or cut short", jlen(jget(scan, "skipped")));
		hraw(b, "</p>");
		if (jlen(dets)) {
			hraw(b, "<table><tr><th>signature</th><th>path</th><th>member</"
				"th><th>package</th><th>phase</th></tr>");
			static const struct html_cell cells[] = {
			    {"signature", "?", HC_BOLD}, {"path", "?", HC_MONO}, {"member", "-", HC_MONO},
			    {"package", "-", 0},	 {"phase", "?", 0},	   {NULL, NULL, 0}};
			cJSON_ArrayForEach(it, dets) html_row(b, "<tr class=\"hit\">", it, cells);
			hraw(b, "</table>");
		}
		if (count_detections(scan) > jlen(dets))
			hr(b,
			   "<p>and %d more detection(s) that the report counts but does not "
			   "list</p>",
			   count_detections(scan) - jlen(dets));
	}
	hraw(b, "</section>\n<div class=\"cols\">");
	hr(b, "<section id=\"policy\"><h2>Policy findings (%d)</h2>",
	   count_findings(jget(pred, "policy")));
	if (jlen(jget(pred, "policy")))
		html_generic_rows(b, jget(pred, "policy"));
	else
		hraw(b, "<p class=\"none\">No policy checks in this report</p>");
	hr(b, "</section><section id=\"checks\"><h2>Checks (%d, %d failed)</h2>",
	   jlen(jget(pred, "checks")), count_findings(jget(pred, "checks")));
	if (jlen(jget(pred, "checks")))
		html_generic_rows(b, jget(pred, "checks"));
	else
		hraw(b, "<p class=\"none\">No seller checks in this report</p>");
	hraw(b, "</section></div>\n");
	html_image_changes(b, jget(pred, "image_changes"));
	html_vulns(b, pred);

	/* below the fold: every file not scanned or cut short, since the verdict did not see them */
	const cJSON *skipped = cJSON_IsObject(scan) ? jget(scan, "skipped") : NULL;
	if (jlen(skipped)) {
		int n = 0;
		hr(b, "<section id=\"skipped\"><h2>Not scanned or cut short (%d)</h2>", jlen(skipped));
		hraw(b, "<table><tr><th>code</th><th>path</th><th>member</th><th>phase</th><th>reason</th></tr>");
		static const struct html_cell cells[] = {{"code", "?", 0},  {"path", "?", HC_MONO},
							 {"member", "-", HC_MONO}, {"phase", "?", 0},
							 {"reason", "", 0},	  {NULL, NULL, 0}};
		cJSON_ArrayForEach(it, skipped)
		{
			if (n++ == HTML_MAX_SKIPPED)
				break;
			html_row(b, "<tr>", it, cells);
		}
		hraw(b, "</table>");
		if (jlen(skipped) > HTML_MAX_SKIPPED)
			hr(b, "<p>and %d more in the report (scan.skipped)</p>", jlen(skipped) - HTML_MAX_SKIPPED);
		hraw(b, "</section>\n");
	}

	hr(b,
	   "<section id=\"steps\"><h2>Steps "
	   "(%d)</h2><table><tr><th>step</th><th>status</th><th>duration</th><th>error or "
	   "reason</th></tr>",
	   jlen(jget(pred, "steps")));
	cJSON_ArrayForEach(it, jget(pred, "steps"))
	{
		const cJSON *se = jget(it, "error");
		fmt_duration(it, buf, sizeof(buf));
		hraw(b, "<tr><td>");
		hx(b, or (jstr(it, "name"), "?"));
		hr(b, "</td><td class=\"b-%s\">", status_class(jstr(it, "status")));
		hx(b, or (jstr(it, "status"), "?"));
		hraw(b, "</td><td>");
		hx(b, buf);
		hraw(b, "</td><td>");
		if (cJSON_IsObject(se)) {
			hraw(b, "<b>");
			hx(b, or (jstr(se, "code"), "?"));
			hraw(b, "</b>: ");
			hx(b, or (jstr(se, "message"), ""));
		} else {
			hx(b, or (jstr(it, "reason"), ""));
		}
		hraw(b, "</td></tr>");
	}
	hraw(b, "</table></section>\n");

	hr(b, "<section id=\"packages\"><h2>Packages (%d)</h2>", jlen(jget(pred, "packages")));
	if (sbom_line(pred, buf, sizeof(buf))) {
		hraw(b, "<p>SBOM: ");
		hx(b, buf);
		hraw(b, "</p>");
	}
	if (jlen(jget(pred, "packages"))) {
		hraw(b, "<table><tr><th>name</th><th>version</th><th>arch</th><th>from</"
			"th><th>files</th><th>SHA-256</th></tr>");
		cJSON_ArrayForEach(it, jget(pred, "packages"))
		{
			hraw(b, "<tr><td>");
			hx(b, or (jstr(it, "name"), "?"));
			hraw(b, "</td><td>");
			hx(b, or (jstr(it, "version"), "?"));
			hraw(b, "</td><td>");
			hx(b, or (jstr(it, "arch"), "?"));
			hraw(b, "</td><td>");
			hx(b, or (jstr(it, "source"), ""));
			hraw(b, "</td><td>");
			if (cJSON_IsArray(jget(it, "files")))
				hf(b, "%d", jlen(jget(it, "files")));
			else
				hraw(b, "-");
			hraw(b, "</td><td class=\"mono\">");
			hx(b, or (jstr(it, "sha256"), "-"));
			hraw(b, "</td></tr>");
		}
		hraw(b, "</table>");
	} else {
		hraw(b, "<p class=\"none\">No packages resolved</p>");
	}
	hraw(b, "</section>\n");

	const cJSON *subj = jget(l->v.statement, "subject");
	hr(b,
	   "<section id=\"subjects\"><h2>Subjects "
	   "(%d)</h2><table><tr><th>name</th><th>SHA-256</th></tr>",
	   jlen(subj));
	cJSON_ArrayForEach(it, subj)
	{
		hraw(b, "<tr><td>");
		hx(b, or (jstr(it, "name"), "?"));
		hraw(b, "</td><td class=\"mono\">");
		hx(b, or (jstr(jget(it, "digest"), "sha256"), "?"));
		hraw(b, "</td></tr>");
	}
	hraw(b, "</table></section>\n");

	const cJSON *host = jget(pred, "host");
	if (cJSON_IsObject(host)) {
		hraw(b, "<section id=\"host\"><h2>Host</h2><div class=\"grid\">");
		cJSON_ArrayForEach(it, host)
		{
			if (!cJSON_IsString(it))
				continue;
			hraw(b, "<div class=\"kv\"><b>");
			hx(b, it->string);
			hraw(b, "</b> ");
			hx(b, it->valuestring);
			hraw(b, "</div>");
		}
		hraw(b, "</div></section>\n");
	}
	char hex[65];
	pib_sha256_hex(l->v.payload, l->v.payload_len, hex);
	hraw(b, "<footer>Made by pib-agent " PIB_VERSION
		" show. The report's payload SHA-256: <code>");
	hx(b, hex);
	hraw(b, "</code>. Check the signature yourself: <code>pib-agent verify REPORT --pubkey "
		"KEY.pub</code>.</footer>\n"
		"</main>\n</body></html>\n");
}

/* ------------------------------------------------------------------ verify and show */

static bool use_color(void)
{
	const char *term = getenv("TERM");
	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
}

int agent_cmd_verify(const struct agent_opts *o)
{
	struct sign_key *pub = NULL;
	struct pib_err e = {0};
	char *text = NULL;
	size_t len = 0;
	struct sign_verified v;
	int r;

	if (!o->pubkey) {
		agent_error("verify: give the public key to check with: --pubkey FILE");
		return PIB_EXIT_USAGE;
	}
	r = load_pubkey(o->pubkey, &pub);
	if (r)
		return r;
	r = pib_read_file(o->args[0], SIGN_MAX_ENVELOPE, &text, &len);
	if (r < 0) {
		agent_error("%s: cannot read the report: %s", o->args[0],
		    r == -EFBIG	   ? "too large for a report"
		    : r == -EINVAL ? "not a regular file"
				   : strerror(-r));
		sign_key_free(pub);
		return PIB_EXIT_USAGE;
	}
	r = sign_verify(text, len, pub, &v, &e);
	free(text);
	sign_key_free(pub);
	if (r < 0) {
		agent_error("%s: INVALID: %s [%s]", o->args[0], e.msg, e.code);
		r = e.cls == PIB_ERR_ENV ? PIB_EXIT_ENV : PIB_EXIT_FINDINGS;
		pib_err_clear(&e);
		return r;
	}
	if (o->json) {
		/* exactly the verified bytes, nothing else */
		fwrite(v.payload, 1, v.payload_len, stdout);
		fputc('\n', stdout);
	} else {
		struct term t = {.color = use_color()};
		const cJSON *pred = jget(v.statement, "predicate"), *err = jget(pred, "error");
		char buf[4096];

		traw(&t, "signature   ");
		tcolor(&t, "\033[1;32m");
		traw(&t, "valid");
		tcolor(&t, "\033[0m");
		tl(&t, " (Ed25519 over DSSE PAE, keyid %s)", v.keyid);
		if (!strcmp(or (jstr(v.statement, "predicateType"), ""), SIGN_SBOM_PREDICATE_TYPE)) {
			char what[1024], made[512], counts[256];
			sbom_lines(pred, what, made, counts);
			tlabel(&t, "sbom", what);
			tlabel(&t, "made", made);
			tlabel(&t, "packages", counts);
			fputs(t.b.data ? t.b.data : "", stdout);
			pib_buf_free(&t.b);
			sign_verified_free(&v);
			return PIB_EXIT_OK;
		}
		tlabel(&t, "status", or (jstr(pred, "status"), "?"));
		tlabel(&t, "product", product_of(pred, buf, sizeof(buf)));
		tlabel(&t, "target", target_of(pred, buf, sizeof(buf)));
		tlabel(&t, "build_id", or (jstr(pred, "build_id"), "(none: a local run)"));
		tlabel(&t, "phase", or (jstr(pred, "phase"), "?"));
		snprintf(buf, sizeof(buf), "%d", jlen(jget(pred, "packages")));
		tlabel(&t, "packages", buf);
		if (cJSON_IsObject(jget(pred, "scan")))
			snprintf(buf, sizeof(buf), "%d", count_detections(jget(pred, "scan")));
		else
			snprintf(buf, sizeof(buf), "0 (scan not run)");
		tlabel(&t, "detections", buf);
		snprintf(buf, sizeof(buf), "%d policy, %d of %d checks failed",
			 count_findings(jget(pred, "policy")), count_findings(jget(pred, "checks")),
			 jlen(jget(pred, "checks")));
		tlabel(&t, "findings", buf);
		if (cJSON_IsObject(err)) {
			snprintf(buf, sizeof(buf), "%s at %s: %s", or (jstr(err, "code"), "?"),
				 or (jstr(err, "step"), "?"), or (jstr(err, "message"), ""));
			tlabel(&t, "error", buf);
		}
		snprintf(buf, sizeof(buf), "%d", jlen(jget(v.statement, "subject")));
		tlabel(&t, "subjects", buf);
		tlabel(&t, "keyid", v.keyid);
		fputs(t.b.data ? t.b.data : "", stdout);
		pib_buf_free(&t.b);
	}
	sign_verified_free(&v);
	return fflush(stdout) == 0 ? PIB_EXIT_OK : PIB_EXIT_ENV;
}

int agent_cmd_show(const struct agent_opts *o)
{
	struct sign_key *pub = NULL;
	struct loaded l;
	int r;

	if (o->pubkey) {
		r = load_pubkey(o->pubkey, &pub);
		if (r)
			return r;
	}
	r = load_report(o->args[0], pub, &l);
	sign_key_free(pub);
	if (r)
		return r;
	if (o->html) {
		struct pib_buf b = {0};
		render_html(&b, &l);
		r = b.data ? pib_write_file(o->html, b.data, b.len, 0644) : -ENOMEM;
		pib_buf_free(&b);
		if (r < 0) {
			agent_error("%s: cannot write the page: %s", o->html, strerror(-r));
			sign_verified_free(&l.v);
			return PIB_EXIT_ENV;
		}
		agent_log("HTML page written to %s", o->html);
	} else {
		struct term t = {.color = use_color()};
		render_term(&t, &l);
		fputs(t.b.data ? t.b.data : "", stdout);
		pib_buf_free(&t.b);
	}
	if (l.state == SIG_INVALID || (o->pubkey && l.state == SIG_UNSIGNED))
		agent_warn("%s: the signature is %s: do not trust this report", o->args[0],
		    l.state == SIG_INVALID ? "INVALID" : "missing");
	r = (l.state == SIG_INVALID || (o->pubkey && l.state == SIG_UNSIGNED)) ? PIB_EXIT_FINDINGS
									       : PIB_EXIT_OK;
	sign_verified_free(&l.v);
	if (fflush(stdout) != 0)
		r = PIB_EXIT_ENV;
	return r;
}

int agent_show_render(const char *text, size_t len, const struct sign_key *pub,
		      struct pib_buf *term, struct pib_buf *html)
{
	struct loaded l;
	int r = load_text(text, len, NULL, pub, &l);

	if (r)
		return r;
	if (term) {
		struct term t = {.b = *term, .color = true};
		render_term(&t, &l);
		*term = t.b;
	}
	if (html)
		render_html(html, &l);
	sign_verified_free(&l.v);
	return 0;
}
