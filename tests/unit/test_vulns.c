/* SPDX-License-Identifier: MIT */
/* Unit tests of vulnerability matching: version rules (epochs, tildes, revisions, rpm releases), ranges, severities, malformed feeds. */
#include "tap.h"
#include "vulns.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* dpkg's own verdict: dpkg --compare-versions a op b (1 true, 0 false, -1 no dpkg) */
static int dpkg_says(const char *a, const char *op, const char *b)
{
	if (access("/usr/bin/dpkg", X_OK) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/bin/dpkg", "dpkg", "--compare-versions", a, op, b, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
		return -1;
	return WEXITSTATUS(st) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void check_versions(void)
{
	struct vuln_cmp *d = vuln_cmp_new(PKGDB_DEB), *r = vuln_cmp_new(PKGDB_RPM);
	static const struct {
		const char *a, *b;
		int want;
	} deb[] = {
		{"1:1.0-1", "2.0-1", 1},	  /* the epoch wins over the version */
		{"1:9.2p1-2", "9.6p1-1", 1},	  /* OpenSSH's: dropping the epoch would be wrong */
		{"0:1.0-1", "1.0-1", 0},	  /* epoch 0 is no epoch */
		{"1.0~rc1-1", "1.0-1", -1},	  /* a tilde sorts before anything, even the end */
		{"1.0~rc1-1", "1.0~rc2-1", -1}, {"1.0~~-1", "1.0~-1", -1},
		{"1.0-1", "1.0-1+deb12u1", -1}, /* a stable update is newer */
		{"1.0-1+deb12u1", "1.0-1+deb12u2", -1}, {"1.0-10", "1.0-9", 1}, /* revisions compare numerically */
		{"6.9.8-1+b1", "6.9.8-1", 1},	/* a binNMU */
		{"1.0", "1.0-0", 0},		/* no revision is revision 0 */
		{"1.0a", "1.0", 1},		{"1.0+dfsg-1", "1.0-1", 1},
	};
	for (size_t i = 0; i < sizeof(deb) / sizeof(deb[0]); i++) {
		int c = vuln_cmp(d, deb[i].a, deb[i].b);
		c = (c > 0) - (c < 0);
		const char *op = deb[i].want < 0 ? "lt" : deb[i].want ? "gt" : "eq";
		ok(c == deb[i].want && dpkg_says(deb[i].a, op, deb[i].b) != 0, "deb: %s %s %s (dpkg agrees)", deb[i].a,
		   op, deb[i].b);
	}
	static const struct {
		const char *a, *b;
		int want;
	} rpm[] = {
		{"1.0-1.el9", "1.0-2.el9", -1}, {"1.0-10.el9", "1.0-9.el9", 1}, /* releases numerically */
		{"1:1.0-1", "2.0-1", 1},	    {"2.0-1.el9_1", "2.0-1.el9", 1},
		{"1.0~rc1-1", "1.0-1", -1},	    {"3.0.7-16.el9_2", "3.0.7-24.el9", -1},
		{"1.0-1", "1.0", 1}, /* as rpm.vercmp: a release is newer than none */
	};
	for (size_t i = 0; i < sizeof(rpm) / sizeof(rpm[0]); i++) {
		int c = vuln_cmp(r, rpm[i].a, rpm[i].b);
		c = (c > 0) - (c < 0);
		ok(c == rpm[i].want, "rpm: %s %s %s", rpm[i].a, rpm[i].want < 0 ? "<" : rpm[i].want ? ">" : "==",
		   rpm[i].b);
	}
	vuln_cmp_free(d);
	vuln_cmp_free(r);
}

static void check_severities(void)
{
	ok(vuln_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8, "CVSS 3.1 9.8");
	ok(vuln_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H") == 10.0, "CVSS 3.1 scope changed 10.0");
	ok(vuln_cvss3_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N") == 5.5, "CVSS 3.1 5.5");
	ok(vuln_cvss3_score("CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N") == 3.1, "CVSS 3.0 3.1");
	ok(vuln_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") == 0, "CVSS no impact 0");
	ok(vuln_cvss3_score("CVSS:3.1/AV:N/AC:L") < 0 && vuln_cvss3_score("CVSS:4.0/AV:N") < 0 &&
		   vuln_cvss3_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") < 0,
	   "incomplete, v4 or bad vectors have no score");
	ok(vuln_severity_of_score(9.8) == VULN_SEV_CRITICAL && vuln_severity_of_score(7.0) == VULN_SEV_HIGH &&
		   vuln_severity_of_score(6.9) == VULN_SEV_MEDIUM && vuln_severity_of_score(0.1) == VULN_SEV_LOW &&
		   vuln_severity_of_score(0) == VULN_SEV_INFO,
	   "CVSS ratings");
	ok(vuln_severity_of_word("unimportant") == VULN_SEV_INFO && vuln_severity_of_word("low**") == VULN_SEV_LOW &&
		   vuln_severity_of_word("Moderate") == VULN_SEV_MEDIUM &&
		   vuln_severity_of_word("Important") == VULN_SEV_HIGH &&
		   vuln_severity_of_word("CRITICAL") == VULN_SEV_CRITICAL &&
		   vuln_severity_of_word("not yet assigned") == VULN_SEV_UNKNOWN &&
		   vuln_severity_of_word("end-of-life") == VULN_SEV_UNKNOWN,
	   "severity words");
}

static const char *feed_records =
	"[{\"id\":\"DSA-1\",\"modified\":\"2026-11-30T10:00:00Z\",\"aliases\":[\"CVE-2026-0001\"],\"summary\":\"one\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"openssh\"},"
	"  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1:9.2p1-2+deb12u4\"}]}],"
	"  \"ecosystem_specific\":{\"urgency\":\"high\"}}]},"
	" {\"id\":\"DSA-2\",\"modified\":\"2026-11-29T10:00:00.123+01:00\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"openssh\"},"
	"  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"9.6p1-1\"}]}]}]},"
	" {\"id\":\"DEBIAN-CVE-3\",\"modified\":\"2026-11-29T10:00:00Z\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"foo\"},"
	"  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"fixed\":\"2.0~rc1-1\"},{\"introduced\":\"1.5-1\"}]}],"
	"  \"ecosystem_specific\":{\"urgency\":\"not yet assigned\"}}],"
	" \"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]},"
	" {\"id\":\"DEBIAN-CVE-4\",\"modified\":\"2026-11-29T10:00:00Z\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"bar\"},\"versions\":[\"1.0-1\",\"1.0-2\"]}]},"
	" {\"id\":\"DEBIAN-CVE-5\",\"modified\":\"2026-11-29T10:00:00Z\",\"withdrawn\":\"2026-11-30T00:00:00Z\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"bar\"},\"versions\":[\"1.0-1\"]}]},"
	" {\"id\":\"DEBIAN-CVE-6\",\"modified\":\"2026-11-29T10:00:00Z\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:11\",\"name\":\"bar\"},\"versions\":[\"1.0-1\"]}]},"
	" {\"id\":\"DEBIAN-CVE-7\",\"modified\":\"2026-11-29T10:00:00Z\","
	" \"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"baz\"},"
	"  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"1.0-1\"},{\"last_affected\":\"1.2-1\"}]}],"
	"  \"database_specific\":{\"severity\":\"Moderate\"}}]}]";

static void check_matching(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/feed.json", dir);
	write_file(p, feed_records);
	struct vuln_db *db = NULL;
	struct pib_err e = {0};
	ok(vuln_db_load(p, "Debian:12", PKGDB_DEB, &db, &e) == 0, "a feed of one array is read (%s)", e.msg);
	if (!db)
		return;
	const struct vuln_feed_info *in = vuln_db_info(db);
	ok(in->records == 7 && in->records_mine == 5 && in->withdrawn == 1 && in->files == 1,
	   "7 records, 5 of Debian:12 kept, 1 withdrawn (%zu %zu %zu)", in->records, in->records_mine, in->withdrawn);
	ok(!strcmp(in->newest_modified_text, "2026-11-30T10:00:00Z"), "the newest modified");
	struct vuln_pkg pk[] = {
		{"openssh-client", "1:9.2p1-2+deb12u3", "amd64", "openssh", "1:9.2p1-2+deb12u3", true},
		{"libfoo1", "1.9-1+b1", "amd64", "foo", "1.9-1", false},
		{"libfoo2", "2.0~rc1-1", "amd64", "foo", "2.0~rc1-1", false},
		{"libfoo0", "1.4-1", "amd64", "foo", "1.4-1", false},
		{"bar", "1.0-2", "all", "bar", "1.0-2", false},
		{"bar-doc", "1.0-3", "all", "bar", "1.0-3", false},
		{"baz", "1.2-1", "amd64", "baz", "1.2-1", false},
		{"baz-new", "1.2-1+deb12u1", "amd64", "baz", "1.2-1+deb12u1", false},
	};
	struct vuln_hits h;
	ok(vuln_match(db, pk, sizeof(pk) / sizeof(pk[0]), &h) == 0, "matched");
	char got[2048] = "";
	for (size_t i = 0; i < h.n; i++) {
		size_t n = strlen(got);
		snprintf(got + n, sizeof(got) - n, "%s%s:%s:%s:%s", i ? " " : "", h.v[i].id, pk[h.v[i].pkg].name,
			 h.v[i].fixed ? h.v[i].fixed : "-", vuln_severity_name(h.v[i].severity) ? vuln_severity_name(h.v[i].severity) : "?");
	}
	/* DSA-2's fixed 9.6p1-1 is below 1:9.2p1 (the epoch): no hit; foo: 1.9-1 in [1.5-1, 2.0~rc1-1),
	 * 2.0~rc1-1 is the fix, 1.4-1 before introduced; bar 1.0-2 listed, 1.0-3 not; baz up to 1.2-1 */
	const char *want = "DSA-1:openssh-client:1:9.2p1-2+deb12u4:high DEBIAN-CVE-3:libfoo1:2.0~rc1-1:critical "
			   "DEBIAN-CVE-7:baz:-:medium DEBIAN-CVE-4:bar:-:?";
	ok(!strcmp(got, want), "hits: %s", got);
	if (strcmp(got, want))
		printf("# want: %s\n", want);
	ok(h.n && h.v[0].aliases[0] && !strcmp(h.v[0].aliases[0], "CVE-2026-0001") &&
		   !strcmp(h.v[0].installed, "1:9.2p1-2+deb12u3") && !strcmp(h.v[0].severity_from, "urgency"),
	   "aliases, the version compared, where the severity came from");
	vuln_hits_free(&h);
	vuln_db_free(db);

	/* the same feed for another ecosystem: read and checked, nothing kept */
	ok(vuln_db_load(p, "Ubuntu:22.04", PKGDB_DEB, &db, &e) == 0 && vuln_db_info(db)->records_mine == 0 &&
		   pib_strv_len(vuln_db_info(db)->ecosystems) == 2,
	   "a feed of other ecosystems: none kept, Debian:12 and Debian:11 named");
	vuln_db_free(db);
}

static void check_bad(const char *dir, const char *text, const char *want_in_msg, const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/bad.json", dir);
	write_file(p, text);
	struct vuln_db *db = NULL;
	struct pib_err e = {0};
	int r = vuln_db_load(p, "Debian:12", PKGDB_DEB, &db, &e);
	ok(r < 0 && !db && !strcmp(e.code, "vulns.invalid") && e.cls == PIB_ERR_USAGE && strstr(e.msg, p) &&
		   strstr(e.msg, want_in_msg),
	   "%s: %s", name, e.msg);
	pib_err_clear(&e);
	unlink(p);
}


/* ---- the index: the same database as the feed, and no damaged index ever read past its bytes ---- */

static uint64_t ix_rng = 0x9e3779b97f4a7c15ull;
static unsigned ix_rnd(unsigned n)
{
	return (unsigned)(tap_next(&ix_rng) % n);
}

/* A feed of n varied records: four ecosystems, every event kind, GIT ranges, versions lists, withdrawn ones, each severity source. */
static char *varied_feed(unsigned n)
{
	static const char *const ecos[] = {"Debian:12", "Debian:11", "AlmaLinux:9", "Debian:12:extra"};
	static const char *const sev[] = {
		"\"ecosystem_specific\":{\"urgency\":\"high\"}", "\"database_specific\":{\"severity\":\"Moderate\"}",
		"\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]", ""};
	struct pib_buf b = {0};
	(void)pib_buf_append(&b, "[", 1);
	for (unsigned i = 0; i < n; i++) {
		const char *eco = ecos[ix_rnd(4)];
		unsigned name = ix_rnd(12), lo = ix_rnd(5), hi = lo + 1 + ix_rnd(5), s = ix_rnd(4);
		(void)pib_buf_printf(&b,
				     "%s{\"id\":\"IX-%u\",\"modified\":\"2026-%02u-%02uT01:02:03Z\",%s\"summary\":\"record %u\","
				     "\"aliases\":[\"CVE-2026-%u\",\"GHSA-%u\"],%s%s\"affected\":[",
				     i ? "," : "", i, 1 + ix_rnd(11), 1 + ix_rnd(28), ix_rnd(9) == 0 ? "\"withdrawn\":\"2026-11-01T00:00:00Z\"," : "",
				     i, i, i, sev[s], *sev[s] ? "," : "");
		unsigned naff = 1 + ix_rnd(3);
		for (unsigned a = 0; a < naff; a++) {
			(void)pib_buf_printf(&b,
					     "%s{\"package\":{\"ecosystem\":\"%s\",\"name\":\"p%u\"},%s\"ranges\":["
					     "{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"%s\"},{\"%s\":\"%u.%u-1\"}%s]}%s]",
					     a ? "," : "", a ? ecos[ix_rnd(4)] : eco, a ? ix_rnd(12) : name,
					     ix_rnd(3) ? "" : "\"versions\":[\"1.0-1\",\"2:1.0-1\",\"3.0~rc1-1\"],",
					     ix_rnd(3) ? "0" : "1.0-1", ix_rnd(4) ? "fixed" : "last_affected", hi, ix_rnd(10),
					     ix_rnd(5) ? "" : ",{\"limit\":\"9.0-1\"}",
					     ix_rnd(4) ? "" : ",{\"type\":\"GIT\",\"repo\":\"r\",\"events\":[{\"introduced\":\"0\"}]}");
			(void)pib_buf_printf(&b, "%s}", a == 0 && ix_rnd(2) ? ",\"ecosystem_specific\":{\"urgency\":\"low\"}" : "");
		}
		(void)pib_buf_append(&b, "]}", 2);
	}
	(void)pib_buf_append(&b, "]", 1);
	return b.data;
}

static bool same_hits(const struct vuln_hits *x, const struct vuln_hits *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++) {
		const struct vuln_hit *a = &x->v[i], *b = &y->v[i];
		if (strcmp(a->id, b->id) || a->pkg != b->pkg || strcmp(a->ecosystem, b->ecosystem) ||
		    strcmp(a->record_name, b->record_name) || a->severity != b->severity || strcmp(a->why, b->why) ||
		    strcmp(a->modified, b->modified) || (!a->fixed != !b->fixed) || (a->fixed && strcmp(a->fixed, b->fixed)) ||
		    (!a->severity_from != !b->severity_from) || (a->severity_from && strcmp(a->severity_from, b->severity_from)) ||
		    (!a->severity_text != !b->severity_text) || (a->severity_text && strcmp(a->severity_text, b->severity_text)) ||
		    (!a->summary != !b->summary) || (a->summary && strcmp(a->summary, b->summary)))
			return false;
		size_t k = 0;
		for (; a->aliases[k] && b->aliases[k]; k++)
			if (strcmp(a->aliases[k], b->aliases[k]))
				return false;
		if (a->aliases[k] || b->aliases[k])
			return false;
	}
	return true;
}

static void check_index(const char *dir)
{
	char feed[4096], ix[4096], bad[4096];
	snprintf(feed, sizeof(feed), "%s/varied.json", dir);
	snprintf(ix, sizeof(ix), "%s/varied.pibvx", dir);
	snprintf(bad, sizeof(bad), "%s/damaged.pibvx", dir);
	char *text = varied_feed(400);
	write_file(feed, text);
	free(text);
	struct vuln_index_stats st;
	struct pib_err e = {0};
	ok(vuln_index_write(feed, ix, &st, &e) == 0 && st.records == 400 && st.entries > 400,
	   "index: 400 varied records written (%zu kept, %zu entries, %llu bytes) %s", st.records_kept, st.entries,
	   (unsigned long long)st.bytes, e.msg);
	pib_err_clear(&e);
	struct vuln_pkg pk[24];
	char names[24][8];
	static const char *const vers[] = {"1.0-1", "2:1.0-1", "3.0~rc1-1", "5.5-1", "0.1-1", "9.9-1"};
	for (int i = 0; i < 24; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d", i % 12);
		pk[i] = (struct vuln_pkg){names[i], vers[i % 6], "amd64", names[i], vers[(i / 2) % 6], i % 3 == 0};
	}
	static const struct {
		const char *eco;
		enum pkgdb_family fam;
	} asks[] = {{"Debian:12", PKGDB_DEB}, {"AlmaLinux:9", PKGDB_RPM}, {"Ubuntu:22.04", PKGDB_DEB}};
	for (size_t a = 0; a < 3; a++) {
		struct vuln_db *d1 = NULL, *d2 = NULL;
		struct vuln_hits h1 = {0}, h2 = {0};
		int r1 = vuln_db_load(feed, asks[a].eco, asks[a].fam, &d1, &e);
		int r2 = vuln_db_load(ix, asks[a].eco, asks[a].fam, &d2, &e);
		bool same = r1 == 0 && r2 == 0 && vuln_match(d1, pk, 24, &h1) == 0 && vuln_match(d2, pk, 24, &h2) == 0 &&
			    same_hits(&h1, &h2);
		const struct vuln_feed_info *i1 = d1 ? vuln_db_info(d1) : NULL, *i2 = d2 ? vuln_db_info(d2) : NULL;
		same = same && i1->files == i2->files && i1->records == i2->records && i1->withdrawn == i2->withdrawn &&
		       i1->records_mine == i2->records_mine && i1->ranges_ignored == i2->ranges_ignored &&
		       i1->newest_modified == i2->newest_modified &&
		       !strcmp(i1->newest_modified_text, i2->newest_modified_text) && !i1->index_source &&
		       i2->index_source && !strcmp(i2->index_source, feed);
		for (size_t k = 0; same && i1->ecosystems[k]; k++)
			same = i2->ecosystems[k] && !strcmp(i1->ecosystems[k], i2->ecosystems[k]);
		ok(same, "index read for %s: the same hits (%zu) and feed facts (%zu of its records, %zu ranges ignored) as the feed %s",
		   asks[a].eco, h1.n, i1 ? i1->records_mine : 0, i1 ? i1->ranges_ignored : 0, e.msg);
		pib_err_clear(&e);
		vuln_hits_free(&h1);
		vuln_hits_free(&h2);
		vuln_db_free(d1);
		vuln_db_free(d2);
	}

	/* an empty feed (no record, so no newest date) makes an index that reads back as empty */
	char empty[4096], emptyix[4200];
	snprintf(empty, sizeof(empty), "%s/empty.json", dir);
	snprintf(emptyix, sizeof(emptyix), "%s.pibvx", empty);
	write_file(empty, "[]");
	struct vuln_db *ed = NULL;
	ok(vuln_index_write(empty, emptyix, &st, &e) == 0 && vuln_db_load(emptyix, "Debian:12", PKGDB_DEB, &ed, &e) == 0 &&
		   vuln_db_info(ed)->records == 0 && vuln_db_info(ed)->files == 1 && !vuln_db_info(ed)->newest_modified,
	   "an empty feed's index: read back, no record, no date %s", e.msg);
	pib_err_clear(&e);
	vuln_db_free(ed);

	/* damaged: cut at every length, then 20000 random changes of 1 to 4 bytes or words; each is refused as
	 * vulns.invalid or read (and matched) without a byte read outside (the sanitizer build checks it) */
	char *orig = NULL;
	size_t len = 0;
	if (pib_read_file(ix, 64u << 20, &orig, &len) < 0)
		return;
	bool all_refused = true;
	for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
		struct vuln_db *d = NULL;
		FILE *f = fopen(bad, "w");
		fwrite(orig, 1, cut, f);
		fclose(f);
		all_refused &= vuln_db_load(bad, "Debian:12", PKGDB_DEB, &d, &e) < 0 && !d && !strcmp(e.code, "vulns.invalid") &&
			       (cut < 8 || strstr(e.msg, "not a usable index"));
		pib_err_clear(&e);
	}
	ok(all_refused, "a cut index: refused at every length");
	char *m = malloc(len);
	unsigned read_ok = 0, refused = 0, other = 0;
	for (int it = 0; it < 20000 && m; it++) {
		memcpy(m, orig, len);
		unsigned changes = 1 + ix_rnd(4);
		for (unsigned c = 0; c < changes; c++) {
			size_t at = ix_rnd(4) == 0 ? ix_rnd(168) : ix_rnd((unsigned)len);
			if (ix_rnd(2)) {
				m[at] = (char)ix_rnd(256);
			} else {
				uint32_t w = ix_rnd(3) == 0 ? 0xffffffffu : ix_rnd(3) == 0 ? ix_rnd(64) : (uint32_t)ix_rng;
				at &= ~(size_t)3;
				if (at + 4 <= len)
					memcpy(m + at, &w, 4);
			}
		}
		FILE *f = fopen(bad, "w");
		fwrite(m, 1, len, f);
		fclose(f);
		struct vuln_db *d = NULL;
		if (vuln_db_load(bad, "Debian:12", PKGDB_DEB, &d, &e) == 0) {
			struct vuln_hits h = {0};
			if (vuln_match(d, pk, 24, &h) == 0)
				read_ok++;
			for (size_t k = 0; k < h.n; k++)
				other += !h.v[k].id || !h.v[k].ecosystem || !h.v[k].aliases;
			vuln_hits_free(&h);
			vuln_db_free(d);
		} else if (!strcmp(e.code, "vulns.invalid") && strstr(e.msg, bad)) { /* as an index, or as JSON when the magic is hit */
			refused++;
		} else {
			if (other++ < 3)
				printf("# refused otherwise: %s: %s\n", e.code, e.msg);
		}
		pib_err_clear(&e);
	}
	ok(m && other == 0 && refused > 1000 && read_ok + refused == 20000,
	   "20000 damaged indexes: %u refused as vulns.invalid naming the file, %u read and matched, %u otherwise",
	   refused, read_ok, other);
	free(m);
	free(orig);
}

int main(void)
{
	check_versions();
	check_severities();
	char *dir = NULL;
	if (pib_mkdtemp("pib-test-vulns", &dir) < 0)
		return 1;
	check_matching(dir);
	check_bad(dir, "{\"id\":\"X\",\"modified\":\"2026-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},"
		       "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":3}]}]}]}",
		  "/affected/0/ranges/0/events/1/fixed: expected a string, got a number", "a number as a version");
	check_bad(dir, "[{\"id\":\"X\",\"modified\":\"2026-01-01T00:00:00Z\"},{\"id\":\"Y\"}]",
		  "/1/modified: missing", "a record without modified, second of an array");
	check_bad(dir, "{\"id\":\"X\",\"modified\":\"yesterday\"}", "/modified: not an RFC 3339 time", "a bad time");
	check_bad(dir, "{\"id\":\"X\",\"modified\":\"2026-01-01T00:00:00Z\",\"affected\":[{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\",\"fixed\":\"1\"}]}]}]}",
		  "/affected/0/ranges/0/events/0: more than one of", "two versions in one event");
	check_bad(dir, "{\"id\":\"X\",", "not valid JSON", "truncated JSON");
	check_bad(dir, "{\"id\":\"X\",\"modified\":\"2026-01-01T00:00:00Z\",\"affected\":{}}", "/affected: expected an array",
		  "affected not an array");
	/* rpm: records name binary packages; releases compare as rpm does */
	char rp[4096];
	snprintf(rp, sizeof(rp), "%s/alma.json", dir);
	write_file(rp, "[{\"id\":\"ALSA-2026:1\",\"modified\":\"2026-11-30T00:00:00Z\",\"affected\":[{\"package\":"
		       "{\"ecosystem\":\"AlmaLinux:9\",\"name\":\"hello\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		       "[{\"introduced\":\"0\"},{\"fixed\":\"2.0-10.el9\"}]}]}],\"database_specific\":{\"severity\":\"Important\"}},"
		       "{\"id\":\"ALSA-2026:2\",\"modified\":\"2026-11-30T00:00:00Z\",\"affected\":[{\"package\":"
		       "{\"ecosystem\":\"AlmaLinux:9\",\"name\":\"hello-src\"},\"versions\":[\"2.0-9.el9\"]}]},"
		       "{\"id\":\"ALSA-2026:3\",\"modified\":\"2026-11-30T00:00:00Z\",\"affected\":[{\"package\":"
		       "{\"ecosystem\":\"AlmaLinux:9\",\"name\":\"hello\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		       "[{\"introduced\":\"0\"},{\"fixed\":\"2.0-9.el9\"}]}]}]}]");
	struct vuln_db *adb = NULL;
	struct pib_err ae = {0};
	struct vuln_pkg hello = {"hello", "2.0-9.el9", "x86_64", "hello-src", "2.0-9.el9", true};
	struct vuln_hits ah = {0};
	ok(vuln_db_load(rp, "AlmaLinux:9", PKGDB_RPM, &adb, &ae) == 0 && vuln_match(adb, &hello, 1, &ah) == 0 &&
		   ah.n == 1 && !strcmp(ah.v[0].id, "ALSA-2026:1") && !strcmp(ah.v[0].fixed, "2.0-10.el9") &&
		   ah.v[0].severity == VULN_SEV_HIGH,
	   "rpm: hello 2.0-9.el9 < 2.0-10.el9 (hit, Important: high), not by its source rpm's name, fixed in 2.0-9.el9: no hit");
	vuln_hits_free(&ah);
	vuln_db_free(adb);
	/* a folder of many files: read by several threads, taken in name order, the first error wins */
	char many[4096], f[4200];
	snprintf(many, sizeof(many), "%s/many", dir);
	mkdir(many, 0755);
	for (int i = 0; i < 300; i++) {
		snprintf(f, sizeof(f), "%s/r%03d.json", many, i);
		char rec[512];
		snprintf(rec, sizeof(rec),
			 "{\"id\":\"R-%d\",\"modified\":\"2026-11-%02dT00:00:00Z\",\"affected\":[{\"package\":"
			 "{\"ecosystem\":\"Debian:12\",\"name\":\"p%d\"},\"versions\":[\"1.0-1\"]}]}",
			 i, 1 + i % 28, i % 7);
		write_file(f, rec);
	}
	struct vuln_db *db = NULL;
	struct pib_err e = {0};
	ok(vuln_db_load(many, "Debian:12", PKGDB_DEB, &db, &e) == 0 && vuln_db_info(db)->records == 300 &&
		   vuln_db_info(db)->records_mine == 300 && vuln_db_info(db)->files == 300 &&
		   !strcmp(vuln_db_info(db)->newest_modified_text, "2026-11-28T00:00:00Z"),
	   "a folder of 300 files: every record (%s)", e.msg);
	struct vuln_pkg one = {"p3", "1.0-1", "all", "p3", "1.0-1", false};
	struct vuln_hits hh = {0};
	ok(db && vuln_match(db, &one, 1, &hh) == 0 && hh.n == 300 / 7 + (3 < 300 % 7), "p3: every record of it (%zu)",
	   hh.n);
	vuln_hits_free(&hh);
	vuln_db_free(db);
	db = NULL;
	snprintf(f, sizeof(f), "%s/r250.json", many);
	write_file(f, "{\"id\":\"R-250\",\"modified\":5}");
	snprintf(f, sizeof(f), "%s/r120.json", many);
	write_file(f, "{\"id\":\"R-120\",");
	ok(vuln_db_load(many, "Debian:12", PKGDB_DEB, &db, &e) < 0 && !db && strstr(e.msg, "/r120.json: not valid JSON"),
	   "two bad files of 300: the first in name order is named (%s)", e.msg);
	pib_err_clear(&e);
	char p[4096];
	snprintf(p, sizeof(p), "%s/none", dir);
	mkdir(p, 0755);
	ok(vuln_db_load(p, "Debian:12", PKGDB_DEB, &db, &e) < 0 && !strcmp(e.code, "vulns.unreadable"),
	   "a folder without *.json: vulns.unreadable (%s)", e.msg);
	pib_err_clear(&e);
	check_index(dir);
	(void)pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
