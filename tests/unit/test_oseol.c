/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the end-of-life table (manifests/os-eol.json, path from the source root given as
 * argv[1]) and its reader: every OS version the issue names is in it, dates are consistent,
 * lookups at fixed dates (never today's) give eol / supported / unknown on either side of an end
 * date, the version matching ("9" for "9.4", never "1" for "12", Windows build aliases), the
 * findings with os-release's PRETTY_NAME, and a broken table refused with its field named.
 */
#include "oseol.h"
#include "scan_fixtures.h"
#include "tap.h"

static struct oseol_table t;

static enum oseol_status at(const char *id, const char *version, const char *date, struct oseol_answer *a)
{
	return oseol_lookup(&t, id, version, date, false, a);
}

static void test_table(void)
{
	static const char *const want[][2] = {
		{"debian", "9"}, {"debian", "10"}, {"debian", "11"}, {"debian", "12"}, {"debian", "13"},
		{"ubuntu", "16.04"}, {"ubuntu", "18.04"}, {"ubuntu", "20.04"}, {"ubuntu", "22.04"}, {"ubuntu", "24.04"},
		{"rhel", "7.9"}, {"rhel", "8.10"}, {"rhel", "9.4"}, {"amzn", "2"}, {"amzn", "2023"},
		{"sles", "12.5"}, {"sles", "15.1"}, {"sles", "15.2"}, {"sles", "15.3"}, {"sles", "15.4"},
		{"sles", "15.5"}, {"sles", "15.6"}, {"sles", "15.7"}, {"rocky", "8.9"}, {"rocky", "9.3"},
		{"almalinux", "8.10"}, {"almalinux", "9.4"}, {"centos", "7"}, {"centos", "8"}, {"centos", "9"},
		{"ol", "7.9"}, {"ol", "8.9"}, {"ol", "9.3"}, {"windows", "2012r2"}, {"windows", "2016"},
		{"windows", "2019"}, {"windows", "2022"}, {"windows", "2025"}, {"fedora", "38"}, {"fedora", "39"},
		{"fedora", "40"}, {"fedora", "41"},
	};
	struct oseol_answer a;
	size_t missing = 0, bad = 0, dup = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (at(want[i][0], want[i][1], "2000-01-01", &a) != OSEOL_SUPPORTED || !a.e) {
			printf("# not in the table: %s %s\n", want[i][0], want[i][1]);
			missing++;
		}
	}
	ok(missing == 0, "every OS version the issue names is in the table (%zu entries)", t.n);
	for (size_t i = 0; i < t.n; i++) {
		const struct oseol_entry *e = &t.v[i];
		if ((e->full_support_end[0] && strcmp(e->full_support_end, e->standard_end) > 0) ||
		    (e->extended_end[0] && strcmp(e->extended_end, e->standard_end) < 0) || !e->source[0]) {
			printf("# dates out of order or no source: %s %s\n", e->id, e->version);
			bad++;
		}
		for (size_t j = i + 1; j < t.n; j++)
			dup += !strcmp(e->id, t.v[j].id) && !strcmp(e->version, t.v[j].version);
	}
	ok(bad == 0 && dup == 0, "full <= standard <= extended, a source each, no entry twice");
	ok(strlen(t.compiled) == 10, "the table says when it was compiled (%s)", t.compiled);
}

static void test_lookup(void)
{
	struct oseol_answer a;

	ok(at("debian", "10", "2024-06-30", &a) == OSEOL_SUPPORTED && !strcmp(a.end, "2024-06-30") &&
		   !strcmp(a.basis, "Debian LTS"),
	   "Debian 10 on the last day of its (free) LTS: supported");
	ok(at("debian", "10", "2024-07-01", &a) == OSEOL_EOL, "Debian 10 the day after: end of life");
	ok(at("debian", "12", "2026-06-11", &a) == OSEOL_SUPPORTED && !strcmp(a.end, "2028-06-30"),
	   "Debian 12 after its security team's end, within LTS: supported");
	ok(at("ubuntu", "18.04", "2023-05-31", &a) == OSEOL_SUPPORTED && !strcmp(a.basis, "standard support"),
	   "Ubuntu 18.04 on its last standard day: supported");
	ok(at("ubuntu", "18.04", "2023-06-01", &a) == OSEOL_EOL, "the day after: end of life (ESM is paid)");
	ok(oseol_lookup(&t, "ubuntu", "18.04", "2023-06-01", true, &a) == OSEOL_SUPPORTED &&
		   !strcmp(a.end, "2028-04-30") && strstr(a.basis, "Expanded Security Maintenance"),
	   "counting paid extensions: supported until ESM ends");
	ok(at("rhel", "9.4", "2030-01-01", &a) == OSEOL_SUPPORTED && a.e && !strcmp(a.e->version, "9"),
	   "RHEL 9.4 matches the entry 9");
	ok(at("rhel", "7.9", "2024-07-01", &a) == OSEOL_EOL && !strcmp(a.end, "2024-06-30"),
	   "RHEL 7 after maintenance support: end of life");
	ok(at("sles", "15.5", "2025-01-01", &a) == OSEOL_EOL && !strcmp(a.end, "2024-12-31"),
	   "SLES 15 SP5 after general support: end of life");
	ok(at("amzn", "2", "2026-06-30", &a) == OSEOL_SUPPORTED && at("amzn", "2", "2026-07-01", &a) == OSEOL_EOL,
	   "Amazon Linux 2 either side of 2026-06-30");
	ok(at("windows", "10.0.20348", "2031-10-14", &a) == OSEOL_SUPPORTED && a.e && !strcmp(a.e->version, "2022"),
	   "a Windows build number is an alias of its release");
	ok(at("windows", "2012R2", "2024-01-01", &a) == OSEOL_EOL && !strcmp(a.end, "2023-10-10"),
	   "Windows Server 2012 R2 after extended support: end of life (ESU is paid)");
	ok(at("fedora", "38", "2024-05-22", &a) == OSEOL_EOL, "Fedora 38 after 2024-05-21: end of life");

	ok(at("debian", "1", "2000-01-01", &a) == OSEOL_UNKNOWN && !a.e, "\"1\" does not match \"10\" or \"12\"");
	ok(at("sles", "15", "2000-01-01", &a) == OSEOL_UNKNOWN, "SLES \"15\" without a service pack: unknown");
	ok(at("ubuntu", "23.10", "2000-01-01", &a) == OSEOL_UNKNOWN, "an interim Ubuntu release: unknown");
	ok(at("alpine", "3.19", "2000-01-01", &a) == OSEOL_UNKNOWN, "an OS not in the table: unknown");
	ok(at("debian", "12", "2026-13-01", &a) == OSEOL_UNKNOWN && a.e, "a bad date: unknown (the entry found)");
	ok(at("debian", "12", "today", &a) == OSEOL_UNKNOWN && at("debian", NULL, "2020-01-01", &a) == OSEOL_UNKNOWN,
	   "no date, no version: unknown");
}

static void test_check(void)
{
	struct policy_findings f = {0};
#define S(x) ((char *)(x)) /* osinfo's strings are not const: these are only read */
	struct osinfo d10 = {.id = S("debian"), .version_id = S("10"), .pretty_name = S("Debian GNU/Linux 10 (buster)")};
	struct osinfo u20 = {.id = S("ubuntu"), .version_id = S("20.04"), .pretty_name = S("Ubuntu 20.04.6 LTS")};
	struct osinfo d12 = {.id = S("debian"), .version_id = S("12"), .pretty_name = S("Debian GNU/Linux 12 (bookworm)")};
	struct osinfo alp = {.id = S("alpine"), .version_id = S("3.19.1"), .pretty_name = S("Alpine Linux v3.19")};
#undef S
	const struct policy_finding *x;

	ok(oseol_check(&t, &d10, "2025-01-01", &f) == 0 && f.n == 1 && (x = &f.v[0]) &&
		   !strcmp(x->id, "os.end_of_life") && x->severity == POLICY_SEV_HIGH &&
		   !strcmp(x->path, "/etc/os-release"),
	   "Debian 10 in 2025: os.end_of_life, high");
	ok(f.n && strstr(f.v[0].evidence, "Debian GNU/Linux 10 (buster)") && strstr(f.v[0].evidence, "ended 2024-06-30") &&
		   strstr(f.v[0].evidence, "wiki.debian.org") && strstr(f.v[0].evidence, "judged at 2025-01-01"),
	   "evidence: PRETTY_NAME, the end date, the source: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	ok(oseol_check(&t, &u20, "2026-12-01", &f) == 0 && f.n == 1 && strstr(f.v[0].evidence, "standard support ended") &&
		   strstr(f.v[0].evidence, "(paid) runs until 2030-04-30"),
	   "Ubuntu 20.04 in late 2026: end of life, the paid ESM named: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	ok(oseol_check(&t, &d12, "2025-01-01", &f) == 0 && f.n == 0, "Debian 12 in 2025: no finding");
	ok(oseol_check(&t, &alp, "2025-01-01", &f) == 0 && f.n == 1 && !strcmp(f.v[0].id, "os.eol_unknown") &&
		   f.v[0].severity == POLICY_SEV_INFO && strstr(f.v[0].evidence, "Alpine Linux v3.19"),
	   "Alpine: os.eol_unknown, info: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);

	/* through os_detect on a root's os-release */
	char *root = NULL, *etc, *osr;
	struct osinfo os = {0};
	struct pib_err err = {0};
	if (pib_mkdtemp("pib-oseol", &root) == 0) {
		etc = pib_asprintf("%s/etc", root);
		osr = pib_asprintf("%s/etc/os-release", root);
		mkdir(etc, 0755);
		const char *text = "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nID=debian\nVERSION_ID=\"9\"\n";
		fx_write(osr, text, strlen(text));
		ok(os_detect(root, NULL, &os, &err) == 0 && oseol_check(&t, &os, "2022-07-01", &f) == 0 && f.n == 1 &&
			   !strcmp(f.v[0].id, "os.end_of_life") && strstr(f.v[0].evidence, "Debian GNU/Linux 9 (stretch)"),
		   "a root's os-release (Debian 9) judged at 2022-07-01: end of life");
		policy_findings_free(&f);
		ok(oseol_check(&t, &os, "2022-06-30", &f) == 0 && f.n == 0, "at 2022-06-30 (its LTS's last day): nothing");
		os_free(&os);
		pib_rm_rf(root);
		free(root);
		free(etc);
		free(osr);
	}
}

static int parse(const char *text, struct pib_err *err)
{
	struct oseol_table x;
	int r = oseol_parse(text, strlen(text), "bad.json", &x, err);
	oseol_free(&x);
	return r;
}

static void test_bad(void)
{
	struct pib_err err = {0};
#define HEAD "{\"compiled\": \"2026-12-02\", \"note\": \"n\", \"sources\": {\"d\": \"page\"}, \"os\": ["
	ok(parse(HEAD "{\"id\": \"debian\", \"version\": \"9\", \"name\": \"D\", \"standard_end\": \"2020-07-06\", "
		      "\"source\": \"d\"}]}", &err) == 0,
	   "a minimal table parses");
	ok(parse(HEAD "{\"id\": \"debian\", \"version\": \"9\", \"name\": \"D\", \"standard_end\": \"2020-13-06\", "
		      "\"source\": \"d\"}]}", &err) == -EINVAL && strstr(err.msg, "os[0]") && strstr(err.msg, "standard_end") &&
		   !strcmp(err.code, "agent.io"),
	   "a bad date: refused, the field named: %s", err.msg);
	pib_err_clear(&err);
	ok(parse(HEAD "{\"id\": \"debian\", \"version\": \"9\", \"name\": \"D\", \"standard_end\": \"2020-07-06\", "
		      "\"source\": \"x\"}]}", &err) == -EINVAL && strstr(err.msg, "not in sources"),
	   "a source not in sources: refused");
	pib_err_clear(&err);
	ok(parse(HEAD "{\"id\": \"debian\", \"version\": \"9\", \"name\": \"D\", \"standard_end\": \"2020-07-06\", "
		      "\"source\": \"d\", \"eol\": \"2020-01-01\"}]}", &err) == -EINVAL,
	   "an unknown key: refused: %s", err.msg);
	pib_err_clear(&err);
	ok(parse(HEAD "{\"id\": \"debian\", \"version\": \"9\", \"name\": \"D\", \"standard_end\": \"2020-07-06\", "
		      "\"extended_end\": \"2022-06-30\", \"source\": \"d\"}]}", &err) == -EINVAL,
	   "extended_end without its name: refused");
	pib_err_clear(&err);
	ok(parse(HEAD "{\"id\": \"debian\", \"version\": \"9\", \"name\": \"D\", \"standard_end\": \"2020-07-06\", "
		      "\"extended_end\": \"2019-06-30\", \"extended_name\": \"LTS\", \"source\": \"d\"}]}", &err) == -EINVAL,
	   "an extension ending before standard support: refused");
	pib_err_clear(&err);
	ok(parse("[]", &err) == -EINVAL, "not an object: refused");
	pib_err_clear(&err);
}

int main(int argc, char **argv)
{
	struct pib_err err = {0};
	char *path;

	if (argc < 2) {
		printf("1..0 # SKIP no source root given\n");
		return 0;
	}
	path = pib_asprintf("%s/manifests/os-eol.json", argv[1]);
	ok(oseol_load(path, &t, &err) == 0, "manifests/os-eol.json loads: %s", err.set ? err.msg : "ok");
	free(path);
	if (!t.n)
		return tap_done();
	test_table();
	test_lookup();
	test_check();
	test_bad();
	oseol_free(&t);
	return tap_done();
}
