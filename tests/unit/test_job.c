/* SPDX-License-Identifier: MIT */
/* Unit tests of the job parser and of the job in user-data: good jobs, every error naming its field, no secret in messages, MIME and gzip forms, the schema agreeing. */
#include "job.h"
#include "policyfile.h"
#include "proc.h"
#include "tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H64 "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"
#define PEM "-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIKEYSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\n-----END PRIVATE KEY-----\\n"
#define BUNDLE_URL "https://orch.example/bundles/123.tar.gz?X-Amz-Signature=SECRETSIG"
#define REPORT_URL "https://orch.example/builds/123/report?token=SECRETTOKEN"

/* the design's example, with secrets to look for in messages */
static const char good[] =
	"{\"schema\":\"pib-agent/job/v1\",\"build_id\":\"b-2026-000123\","
	"\"bundle\":{\"url\":\"" BUNDLE_URL "\",\"sha256\":\"" H64 "\"},"
	"\"report\":{\"url\":\"" REPORT_URL "\",\"method\":\"POST\"},"
	"\"signing_key\":{\"pem\":\"" PEM "\"},"
	"\"clamav_db\":\"/var/lib/clamav\",\"ca_bundle\":\"/etc/pib-agent/ca.pem\","
	"\"vulns\":\"/var/lib/pib-agent/osv\","
	"\"limits\":{\"bundle_bytes\":4294967296,\"clamav_db_max_age_days\":7,\"vulns_max_age_days\":3},"
	"\"timeouts\":{\"install_seconds\":3600,\"run_seconds\":7200}}";

static const char minimal[] =
	"{\"schema\":\"pib-agent/job/v1\",\"build_id\":\"x\",\"bundle\":{\"url\":\"file:///srv/b.tar.gz\",\"sha256\":\"" H64
	"\"},\"report\":{\"url\":\"file:///srv/report.json\"},\"signing_key\":{\"path\":\"/etc/pib-agent/key.pem\"}}";

static struct pib_err e;

static int parse(const char *text, struct job **ret)
{
	pib_err_clear(&e);
	*ret = NULL;
	return job_parse("job.json", text, strlen(text), ret, &e);
}

/* Replaces the first occurrence of a by b in a copy of s. */
static char *subst(const char *s, const char *a, const char *b)
{
	const char *p = strstr(s, a);
	if (!p)
		return NULL;
	char *out = malloc(strlen(s) + strlen(b) + 1);
	sprintf(out, "%.*s%s%s", (int)(p - s), s, b, p + strlen(a));
	return out;
}

struct bad_case {
	const char *from, *to; /* in `good` (from NULL: `to` is the whole text) */
	const char *want;      /* in the message */
	bool schema;           /* the schema sees it too (not: duplicates, broken JSON) */
};

static char long_id[200], long_url[8300];

static const struct bad_case bad_cases[] = {
	{"\"" H64 "\"", "\"12345\"", "job.json: bundle.sha256: expected 64 hex digits", true},
	{"\"" H64 "\"", "\"" H64 "0\"", "job.json: bundle.sha256: expected 64 hex digits", true},
	{"pib-agent/job/v1", "pib-agent/job/v2", "job.json: schema: expected \"pib-agent/job/v1\", got \"pib-agent/job/v2\"", true},
	{"\"clamav_db\"", "\"vulnz\":[],\"clamav_db\"", "job.json: vulnz: unknown key", true},
	{"\"/var/lib/pib-agent/osv\"", "[]", "job.json: vulns: expected", true},
	{"\"/var/lib/pib-agent/osv\"", "\"osv\"", "job.json: vulns: expected an absolute path", true},
	{"\"/var/lib/pib-agent/osv\"", "{\"url\":\"https://orch.example/osv.pibvx\"}", "job.json: vulns.sha256: missing", true},
	{"\"/var/lib/pib-agent/osv\"", "{\"url\":\"http://orch.example/osv.pibvx\",\"sha256\":\"" H64 "\"}", "job.json: vulns.url: expected an https:// or file:// URL", true},
	{"\"/var/lib/pib-agent/osv\"", "{\"url\":\"https://orch.example/osv.pibvx\",\"sha256\":\"abc\"}", "job.json: vulns.sha256: expected 64 hex digits", true},
	{"\"/var/lib/pib-agent/osv\"", "{\"url\":\"https://orch.example/osv.pibvx\",\"sha256\":\"" H64 "\",\"path\":\"/x\"}", "job.json: vulns.path: unknown key", true},
	{"\"/var/lib/pib-agent/osv\"", "7", "job.json: vulns: expected an absolute path or an object", true},
	{"\"vulns_max_age_days\":3", "\"vulns_max_age_days\":-1", "job.json: limits.vulns_max_age_days: expected a whole number", true},
	{"\"build_id\":\"b-2026-000123\",", "\"build_id\":\"a\",\"build_id\":\"b\",", "job.json: build_id: duplicate key", false},
	{"\"b-2026-000123\"", "\"..\"", "job.json: build_id: expected 1 to 128", true},
	{"\"b-2026-000123\"", "\".\"", "job.json: build_id: expected 1 to 128", true},
	{"\"b-2026-000123\"", "\"a/b\"", "job.json: build_id: expected 1 to 128", true},
	{"\"b-2026-000123\"", "\"\"", "job.json: build_id: expected 1 to 128", true},
	{"\"b-2026-000123\"", long_id, "job.json: build_id: expected 1 to 128", true},
	{"\"b-2026-000123\"", "7", "job.json: build_id: expected a string, got a number", true},
	{BUNDLE_URL, "http://orch.example/b?X-Amz-Signature=SECRETSIG", "job.json: bundle.url: expected an https:// or file:// URL, got a http: one", true},
	{BUNDLE_URL, "https://user:pw@orch.example/b?X-Amz-Signature=SECRETSIG", "job.json: bundle.url: user names or passwords", true},
	{BUNDLE_URL, "https://orch.example/b?X-Amz-Signature=SECRETSIG#frag", "job.json: bundle.url: a URL here has no fragment", true},
	{BUNDLE_URL, "https://orch.example/a b?X-Amz-Signature=SECRETSIG", "job.json: bundle.url: a URL is printable ASCII", true},
	{BUNDLE_URL, "https:///b?X-Amz-Signature=SECRETSIG", "job.json: bundle.url: no host", true},
	{BUNDLE_URL, "file://host/b?X-Amz-Signature=SECRETSIG", "job.json: bundle.url: a file:// URL has no host", true},
	{BUNDLE_URL, long_url, "job.json: bundle.url: longer than 8192 bytes", true},
	{"\"url\":\"" BUNDLE_URL "\",", "", "job.json: bundle.url: missing", true},
	{"\"bundle\":{", "\"bundle\":{\"size\":1,", "job.json: bundle.size: unknown key", true},
	{REPORT_URL, "ftp://orch.example/r?token=SECRETTOKEN", "job.json: report.url: expected an https:// or file:// URL, got a ftp: one", true},
	{"\"url\":\"" REPORT_URL "\",", "", "job.json: report.url: missing", true},
	{"\"POST\"", "\"GET\"", "job.json: report.method: expected \"POST\" or \"PUT\"", true},
	{"\"POST\"", "\"post\"", "job.json: report.method: expected \"POST\" or \"PUT\"", true},
	{"\"pem\":", "\"path\":\"/k\",\"pem\":", "job.json: signing_key: give either pem or path, not both", true},
	{"{\"pem\":\"" PEM "\"}", "{}", "job.json: signing_key: expected pem or path", true},
	{PEM, "KEYSECRET is not a PEM key", "job.json: signing_key.pem: expected an unencrypted PKCS#8 PEM key", true},
	{PEM, "-----BEGIN ENCRYPTED PRIVATE KEY-----\\nKEYSECRET\\n-----END ENCRYPTED PRIVATE KEY-----\\n", "job.json: signing_key.pem: expected an unencrypted", true},
	{PEM, "-----BEGIN PRIVATE KEY-----\\nKEYSECRET\\n-----END PRIVATE KEY-----\\ntrailing KEYSECRET", "job.json: signing_key.pem: expected an unencrypted", true},
	{"{\"pem\":\"" PEM "\"}", "{\"path\":\"keys/k.pem\"}", "job.json: signing_key.path: expected an absolute path", true},
	{"\"signing_key\":{\"pem\":\"" PEM "\"},", "", "job.json: signing_key: missing", true},
	{"\"/var/lib/clamav\"", "\"var/lib/clamav\"", "job.json: clamav_db: expected an absolute path", true},
	{"\"/var/lib/clamav\"", "\"/var/lib/\\u0007clamav\"", "job.json: clamav_db: a control character in the path", true},
	{"\"/var/lib/clamav\"", "\"/var/lib/\\u0000clamav\"", "job.json: contains a NUL byte", true},
	{"\"/etc/pib-agent/ca.pem\"", "5", "job.json: ca_bundle: expected a string, got a number", true},
	{"4294967296", "1.5", "job.json: limits.bundle_bytes: expected a whole number from 1 to 1099511627776", true},
	{"4294967296", "-1", "job.json: limits.bundle_bytes: expected a whole number", true},
	{"4294967296", "0", "job.json: limits.bundle_bytes: expected a whole number", true},
	{"4294967296", "1099511627777", "job.json: limits.bundle_bytes: expected a whole number", true},
	{"4294967296", "\"4096\"", "job.json: limits.bundle_bytes: expected a whole number from 1 to 1099511627776, got a string", true},
	{"\"clamav_db_max_age_days\":7", "\"clamav_db_max_age_days\":3651", "job.json: limits.clamav_db_max_age_days: expected a whole number from 0 to 3650", true},
	{"\"limits\":{", "\"limits\":{\"files\":3,", "job.json: limits.files: unknown key", true},
	{"\"install_seconds\":3600", "\"install_seconds\":0", "job.json: timeouts.install_seconds: expected a whole number from 1 to 86400", true},
	{"\"run_seconds\":7200", "\"run_seconds\":86401", "job.json: timeouts.run_seconds: expected a whole number from 1 to 86400", true},
	{"\"run_seconds\":7200", "\"run_seconds\":7200,\"deliver_seconds\":true", "job.json: timeouts.deliver_seconds: expected a whole number from 1 to 86400, got a boolean", true},
	{"\"run_seconds\":7200", "\"run_seconds\":7200,\"scan_seconds\":5", "job.json: timeouts.scan_seconds: unknown key", true},
	{"\"timeouts\":{", "\"timeouts\":[{", "job.json: not valid JSON", false},
	{NULL, "[1,2]", "job.json: expected an object, got an array", true},
	{NULL, "{\"schema\": \"pib-agent/job/v1\"", "job.json: not valid JSON (line 1", false},
	{"}}", "}} {}", "job.json: trailing data after the JSON document", false},
	{"\"bundle\":{\"url\":\"" BUNDLE_URL "\",\"sha256\":\"" H64 "\"}", "\"bundle\":7", "job.json: bundle: expected an object, got a number", true},
};

/* Good variants: [from, to] substitutions on `good` (from NULL: to is the text). */
static const char *const good_variants[][2] = {
	{NULL, good},
	{NULL, minimal},
	{"\"POST\"", "\"PUT\""},
	{"\"install_seconds\":3600", "\"install_seconds\":1e3,\"deliver_seconds\":86400"},
	{"4294967296", "1099511627776"},
	{"\"clamav_db_max_age_days\":7", "\"clamav_db_max_age_days\":0"},
	{"\\n-----END", "\\r\\n-----END"},
	{"\"b-2026-000123\"", "\"...\""},
	{BUNDLE_URL, "https://orch.example?X-Amz-Signature=a@b"},
	{"\"clamav_db\"", "\"policy\":{\"policy_version\":1,\"name\":\"p\",\"fail_on\":\"critical\"},\"clamav_db\""},
};

static char *case_text(const char *from, const char *to)
{
	return from ? subst(good, from, to) : strdup(to);
}

static bool no_secret(const char *msg)
{
	return !strstr(msg, "SECRET") && !strstr(msg, "PRIVATE KEY-----\n") && !strstr(msg, "MC4CAQ") &&
	       !strstr(msg, "pw@");
}

/* Runs python3's jsonschema over the files; "valid"/"invalid" per file, or NULL when not available. */
static char **schema_verdicts(const char *src_root, char **files, int n)
{
	static const char script[] =
		"import json, sys\n"
		"try:\n"
		"    import jsonschema\n"
		"except ImportError:\n"
		"    print('NOJSONSCHEMA'); sys.exit(0)\n"
		"s = json.load(open(sys.argv[1]))\n"
		"jsonschema.Draft202012Validator.check_schema(s)\n"
		"v = jsonschema.Draft202012Validator(s)\n"
		"for f in sys.argv[2:]:\n"
		"    try:\n"
		"        d = json.loads(open(f, 'rb').read())\n"
		"        print('VERDICT', 'valid' if v.is_valid(d) else 'invalid')\n"
		"    except ValueError:\n"
		"        print('VERDICT', 'invalid')\n";
	char schema[4096];
	char **argv = calloc((size_t)n + 5, sizeof(char *));
	struct pib_spawn_opts o = {.timeout = 60, .stdin_fd = -1, .merge_output = true};
	struct pib_spawn_result res = {0};

	if (access("/usr/bin/python3", X_OK) < 0)
		return NULL;
	snprintf(schema, sizeof(schema), "%s/manifests/job.schema.json", src_root);
	argv[0] = (char *)"/usr/bin/python3";
	argv[1] = (char *)"-c";
	argv[2] = (char *)script;
	argv[3] = schema;
	for (int i = 0; i < n; i++)
		argv[4 + i] = files[i];
	if (pib_spawn(argv, &o, &res) < 0 || res.status != 0 || strstr(res.output.data, "NOJSONSCHEMA")) {
		if (res.output.data)
			printf("# python3: %s\n", res.output.data);
		free(argv);
		pib_spawn_result_free(&res);
		return NULL;
	}
	char **v = calloc((size_t)n + 1, sizeof(char *));
	int k = 0;
	for (char *l = res.output.data; l && *l && k < n;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		if (pib_str_has_prefix(l, "VERDICT "))
			v[k++] = strdup(l + 8);
		l = nl ? nl + 1 : NULL;
	}
	free(argv);
	pib_spawn_result_free(&res);
	return v;
}

static void test_schema(const char *src_root)
{
	size_t nb = sizeof(bad_cases) / sizeof(bad_cases[0]), ng = sizeof(good_variants) / sizeof(good_variants[0]);
	char *dir = NULL, **files = calloc(nb + ng, sizeof(char *));
	int n = 0;
	bool expect_valid[128];

	if (!src_root) {
		printf("ok %d - # SKIP no source root given: the schema is not compared\n", ++tap_n);
		free(files);
		return;
	}
	if (pib_mkdtemp("test-job", &dir) < 0) {
		ok(0, "a temporary directory");
		return;
	}
	for (size_t i = 0; i < ng + nb; i++) {
		const char *from = i < ng ? good_variants[i][0] : bad_cases[i - ng].from;
		const char *to = i < ng ? good_variants[i][1] : bad_cases[i - ng].to;
		if (i >= ng && !bad_cases[i - ng].schema)
			continue;
		char *t = case_text(from, to), path[4200];
		snprintf(path, sizeof(path), "%s/case-%zu.json", dir, i);
		if (pib_write_file(path, t, strlen(t), 0600) < 0)
			ok(0, "write %s", path);
		free(t);
		expect_valid[n] = i < ng;
		files[n++] = strdup(path);
	}
	char **v = schema_verdicts(src_root, files, n);
	if (!v) {
		printf("ok %d - # SKIP python3 with jsonschema is not installed (tests/deps.sh installs it)\n", ++tap_n);
	} else {
		int agree = 0;
		for (int i = 0; i < n; i++) {
			bool valid = v[i] && !strcmp(v[i], "valid");
			if (valid == expect_valid[i])
				agree++;
			else
				ok(0, "the schema says %s of %s, the parser the opposite", v[i] ? v[i] : "nothing",
				   files[i]);
			free(v[i]);
		}
		free(v);
		ok(agree == n, "job.schema.json agrees with the parser on %d of %d jobs (good and malformed)", agree, n);
	}
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);
	(void)pib_rm_rf(dir);
	free(dir);
}

static void test_parse(void)
{
	struct job *j = NULL;

	ok(parse(good, &j) == 0, "the design's example parses: %s", e.msg);
	if (j) {
		ok(!strcmp(j->build_id, "b-2026-000123"), "build_id");
		ok(!strcmp(j->bundle_url, BUNDLE_URL), "bundle.url kept whole (the query too)");
		ok(!strcmp(j->bundle_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		   "sha256 lower-cased");
		ok(!strcmp(j->report_url, REPORT_URL) && !strcmp(j->report_method, "POST"), "report");
		ok(j->key_pem && pib_str_has_prefix(j->key_pem, "-----BEGIN PRIVATE KEY-----\nMC4") && !j->key_path,
		   "signing_key.pem (newlines decoded)");
		ok(!strcmp(j->clamav_db, "/var/lib/clamav") && !strcmp(j->ca_bundle, "/etc/pib-agent/ca.pem"), "paths");
		ok(j->bundle_bytes == 4294967296ull && j->db_max_age_days == 7, "limits");
		ok(j->vulns && !strcmp(j->vulns, "/var/lib/pib-agent/osv") && j->vulns_max_age_days == 3 &&
			   j->vulns_max_age_given,
		   "vulns and limits.vulns_max_age_days");
		ok(j->install_seconds == 3600 && j->run_seconds == 7200 && j->deliver_seconds == 600,
		   "timeouts, deliver_seconds defaulted");
		job_free(j);
	}
	char *fetched = subst(good, "\"/var/lib/pib-agent/osv\"",
			      "{\"url\":\"https://orch.example/feeds/osv.pibvx?X-Amz-Signature=s\",\"sha256\":\"" H64 "\"}");
	ok(fetched && parse(fetched, &j) == 0 && !j->vulns && j->vulns_url &&
		   !strcmp(j->vulns_url, "https://orch.example/feeds/osv.pibvx?X-Amz-Signature=s") &&
		   !strcmp(j->vulns_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	   "vulns as {url, sha256}: a feed to fetch, the digest lower-cased %s", e.msg);
	job_free(j);
	j = NULL;
	free(fetched);
	ok(parse(minimal, &j) == 0, "a minimal job parses: %s", e.msg);
	if (j) {
		ok(!strcmp(j->report_method, "POST"), "method defaults to POST");
		ok(j->bundle_bytes == (uint64_t)4 << 30 && j->db_max_age_days == 0, "limits default (4 GiB, no age)");
		ok(j->install_seconds == 3600 && j->run_seconds == 7200 && j->deliver_seconds == 600, "timeouts default");
		ok(!j->clamav_db && !j->ca_bundle && !j->key_pem && !strcmp(j->key_path, "/etc/pib-agent/key.pem"),
		   "no db, no CA, the key by path");
		job_free(j);
	}
	for (size_t i = 2; i < sizeof(good_variants) / sizeof(good_variants[0]); i++) {
		char *t = case_text(good_variants[i][0], good_variants[i][1]);
		ok(t && parse(t, &j) == 0, "good variant \"%s\": %s", good_variants[i][1], e.msg);
		if (i == 3 && j)
			ok(j->install_seconds == 1000 && j->deliver_seconds == 86400, "1e3 is a whole number");
		job_free(j);
		free(t);
	}

	/* every malformed job: job.invalid, class USAGE, the field named, no secret */
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *t = case_text(c->from, c->to);
		if (!t) {
			ok(0, "case %zu: \"%s\" is in the good job", i, c->from);
			continue;
		}
		int r = parse(t, &j);
		ok(r == -EINVAL && !strcmp(e.code, "job.invalid") && e.cls == PIB_ERR_USAGE &&
			   pib_str_has_prefix(e.msg, c->want) && no_secret(e.msg),
		   "malformed %zu (%s): %s", i, c->want, e.msg);
		job_free(j);
		free(t);
	}

	/* an inline policy: kept; a bad one is policy.invalid, named under /policy, the job still salvaged */
	char *tp = subst(good, "\"clamav_db\"", "\"policy\":{\"policy_version\":1,\"name\":\"p\",\"fail_on\":\"critical\"},\"clamav_db\"");
	ok(tp && parse(tp, &j) == 0 && j->policy && !strcmp(j->policy->name, "p") && j->policy->fail_on == POLICY_SEV_CRITICAL &&
		   !strcmp(j->policy->source, "job"),
	   "an inline policy is kept: %s", e.set ? e.msg : "ok");
	job_free(j);
	free(tp);
	tp = subst(good, "\"clamav_db\"", "\"policy\":{\"policy_version\":1,\"name\":\"p\",\"checks\":{\"ssh.nope\":{}}},\"clamav_db\"");
	ok(tp && parse(tp, &j) == -EINVAL && !strcmp(e.code, "policy.invalid") && e.cls == PIB_ERR_USAGE &&
		   pib_str_has_prefix(e.msg, "job.json: /policy/checks/ssh.nope: not a check the agent knows") && j &&
		   j->build_id && j->report_url && !j->policy,
	   "a bad inline policy: %s", e.msg);
	job_free(j);
	free(tp);

	/* a failed job keeps what a failed report needs */
	char *t = subst(good, "\"" H64 "\"", "\"12\"");
	ok(parse(t, &j) < 0 && j, "a job with a bad digest fails but yields a job");
	if (j) {
		ok(!strcmp(j->build_id, "b-2026-000123") && !strcmp(j->report_url, REPORT_URL) &&
			   !strcmp(j->report_method, "POST") && j->key_pem && !j->bundle_url,
		   "... with build_id, the report and the key, not the bundle");
		job_free(j);
	}
	free(t);
	t = subst(good, "\"POST\"", "\"GET\"");
	ok(parse(t, &j) < 0 && j && j->build_id && !j->report_url && !j->report_method && j->key_pem,
	   "a bad report method: no report URL salvaged, the rest is");
	job_free(j);
	free(t);
	t = subst(good, "\"build_id\":\"b-2026-000123\",", "\"build_id\":\"a\",\"build_id\":\"b\",");
	ok(parse(t, &j) < 0 && j && !j->build_id && j->report_url, "a duplicated build_id is not salvaged");
	job_free(j);
	free(t);
	ok(parse("[]", &j) < 0 && !j, "not an object: nothing salvaged");
	ok(parse("{\"schema\":", &j) < 0 && !j, "not JSON: nothing salvaged");
	char *big = malloc(JOB_MAX + 10);
	memset(big, ' ', JOB_MAX + 9);
	big[0] = '{';
	big[JOB_MAX + 8] = '}';
	big[JOB_MAX + 9] = '\0';
	ok(parse(big, &j) < 0 && strstr(e.msg, "job.json: larger than 65536 bytes") && !j, "a job over 64 KiB");
	free(big);
}

/* --- user-data --- */

static struct pib_err ue;
static char *ud_out;
static size_t ud_len;

static int ud(const char *data, size_t len)
{
	pib_err_clear(&ue);
	free(ud_out);
	ud_out = NULL;
	return job_from_user_data(data, len, &ud_out, &ud_len, &ue);
}

static int uds(const char *data)
{
	return ud(data, strlen(data));
}

/* gzip of data, with libarchive's raw writer */
static char *gzip(const char *data, size_t len, size_t *ret_len)
{
	size_t cap = len + 4096, used = 0;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *en = archive_entry_new();

	archive_write_add_filter_gzip(a);
	archive_write_set_format_raw(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, buf, cap, &used);
	archive_entry_set_pathname(en, "user-data");
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_size(en, (la_int64_t)len);
	archive_write_header(a, en);
	archive_write_data(a, data, len);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(en);
	*ret_len = used;
	return buf;
}

#define B "==BOUNDARY=="
#define MIME_HEAD "Content-Type: multipart/mixed; boundary=\"" B "\"\nMIME-Version: 1.0\n\n"
#define SCRIPT_PART "--" B "\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\nMIME-Version: 1.0\n\n#!/bin/sh\npib-agent run --job imds\n"
#define CONFIG_PART "--" B "\nContent-Type: text/cloud-config\n\n#cloud-config\nruncmd: []\n"

static void test_user_data(void)
{
	struct job *j = NULL;
	char *m;

	ok(uds(minimal) == 0 && ud_len == strlen(minimal) && !strcmp(ud_out, minimal), "user-data that is the job");
	m = pib_asprintf("\xef\xbb\xbf \n%s\n", minimal);
	ok(uds(m) == 0 && !strncmp(ud_out, minimal, strlen(minimal)), "... after a BOM and blank lines");
	free(m);

	/* the job as the 2nd of 3 parts, CRLF line ends */
	m = pib_asprintf(MIME_HEAD SCRIPT_PART "--" B "\r\nContent-Type: " JOB_MIME_TYPE "\r\n\r\n%s\r\n" CONFIG_PART
					 "--" B "--\n",
			 minimal);
	ok(uds(m) == 0 && !strcmp(ud_out, minimal), "MIME: the job is the 2nd of 3 parts: %s", ue.msg);
	ok(ud_out && job_parse("user-data", ud_out, ud_len, &j, &ue) == 0, "... and it parses");
	job_free(j);
	free(m);

	/* make-mime's form: text/<subtype>, utf-8, base64 in 76-column lines; header folded */
	char *b64 = NULL;
	{
		static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const unsigned char *s = (const unsigned char *)good;
		size_t n = strlen(good), o = 0;
		b64 = malloc(n * 2 + 8);
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
				     (i + 2 < n ? s[i + 2] : 0);
			b64[o++] = tbl[v >> 18 & 63];
			b64[o++] = tbl[v >> 12 & 63];
			b64[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
			b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
			if ((i / 3 + 1) % 19 == 0)
				b64[o++] = '\n';
		}
		b64[o] = '\0';
	}
	m = pib_asprintf("Content-Type: multipart/mixed;\n\tboundary=\"" B "\"\nMIME-Version: 1.0\n\n" SCRIPT_PART
			 "--" B "\nContent-Type: text/vnd.pib-agent.job+json; charset=\"utf-8\"\nMIME-Version: 1.0\n"
			 "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"job.json\"\n\n%s\n"
			 "--" B "--\n",
			 b64);
	ok(uds(m) == 0 && !strcmp(ud_out, good), "MIME as make-mime writes it (base64, text/vnd..., folded header): %s",
	   ue.msg);
	free(m);
	free(b64);

	/* quoted-printable */
	m = pib_asprintf(MIME_HEAD "--" B "\nContent-Type: " JOB_MIME_TYPE
				   "\nContent-Transfer-Encoding: quoted-printable\n\n{\"schema\"=3A=\n \"x\"}\n--" B "--\n");
	ok(uds(m) == 0 && !strcmp(ud_out, "{\"schema\": \"x\"}"), "quoted-printable decoded: %s", ud_out ? ud_out : ue.msg);
	free(m);

	/* nested multipart */
	m = pib_asprintf(MIME_HEAD SCRIPT_PART "--" B "\nContent-Type: multipart/alternative; boundary=inner\n\n"
					 "preamble\n--inner\nContent-Type: text/plain\n\nhello\n--inner\nContent-Type: " JOB_MIME_TYPE
					 "\n\n%s\n--inner--\nepilogue\n--" B "--\n",
			 minimal);
	ok(uds(m) == 0 && !strcmp(ud_out, minimal), "the job inside a nested multipart: %s", ue.msg);
	free(m);

	/* a single non-multipart MIME message that is the job */
	m = pib_asprintf("MIME-Version: 1.0\nContent-Type: " JOB_MIME_TYPE "\n\n%s", minimal);
	ok(uds(m) == 0 && !strcmp(ud_out, minimal), "a MIME message that is the job itself: %s", ue.msg);
	free(m);

	/* gzip */
	m = pib_asprintf(MIME_HEAD SCRIPT_PART "--" B "\nContent-Type: " JOB_MIME_TYPE "\n\n%s\n" CONFIG_PART "--" B "--\n",
			 good);
	size_t zl;
	char *z = gzip(m, strlen(m), &zl);
	ok(ud(z, zl) == 0 && !strcmp(ud_out, good), "gzip-compressed MIME user-data (%zu bytes): %s", zl, ue.msg);
	free(z);
	free(m);
	z = gzip(minimal, strlen(minimal), &zl);
	ok(ud(z, zl) == 0 && !strcmp(ud_out, minimal), "gzip-compressed JSON user-data: %s", ue.msg);
	free(z);

	/* no job part */
	m = pib_asprintf(MIME_HEAD SCRIPT_PART CONFIG_PART "--" B "\nContent-Type: text/plain\n\nhi\n--" B "--\n");
	ok(uds(m) == -ENOENT && !strcmp(ue.code, "job.not_found") && ue.cls == PIB_ERR_USAGE &&
		   !strcmp(ue.msg, "user-data: no part of type application/vnd.pib-agent.job+json among 3 parts "
				   "(text/x-shellscript, text/cloud-config, text/plain)"),
	   "no job part: %s", ue.msg);
	free(m);

	/* two job parts */
	m = pib_asprintf(MIME_HEAD SCRIPT_PART "--" B "\nContent-Type: " JOB_MIME_TYPE "\n\n%s\n--" B
					 "\nContent-Type: " JOB_MIME_TYPE "\n\n%s\n--" B "--\n",
			 minimal, minimal);
	ok(uds(m) == -ENOENT && !strcmp(ue.code, "job.not_found") && strstr(ue.msg, "two parts of type") &&
		   strstr(ue.msg, "(part 2 and part 3)") && !ud_out,
	   "two job parts: %s", ue.msg);
	free(m);

	/* too large, and a gzip bomb */
	char *huge = malloc(JOB_USER_DATA_MAX + 2);
	memset(huge, 'a', JOB_USER_DATA_MAX + 1);
	memcpy(huge, MIME_HEAD "--" B "\n\n", strlen(MIME_HEAD "--" B "\n\n"));
	huge[JOB_USER_DATA_MAX + 1] = '\0';
	ok(uds(huge) == -EINVAL && !strcmp(ue.code, "job.invalid") && strstr(ue.msg, "user-data: larger than 16384 bytes"),
	   "user-data over 16 KiB: %s", ue.msg);
	free(huge);
	size_t bn = 4u << 20;
	char *bomb = malloc(bn);
	memset(bomb, ' ', bn);
	z = gzip(bomb, bn, &zl);
	ok(zl <= JOB_USER_DATA_MAX && ud(z, zl) == -EINVAL && strstr(ue.msg, "unpacks to more than 1048576 bytes"),
	   "a gzip bomb (%zu bytes to 4 MiB) stops at 1 MiB: %s", zl, ue.msg);
	free(z);
	/* a job part over 64 KiB (inside gzip) */
	memset(bomb, ' ', 70000);
	memcpy(bomb, MIME_HEAD "--" B "\nContent-Type: " JOB_MIME_TYPE "\n\n{",
	       strlen(MIME_HEAD "--" B "\nContent-Type: " JOB_MIME_TYPE "\n\n{"));
	strcpy(bomb + 70000, "}\n--" B "--\n");
	z = gzip(bomb, strlen(bomb), &zl);
	ok(ud(z, zl) == -EINVAL && strstr(ue.msg, "user-data: part 1: the job is larger than 65536 bytes"),
	   "a job part over 64 KiB: %s", ue.msg);
	free(z);
	free(bomb);

	/* hostile and broken messages */
	m = pib_asprintf(MIME_HEAD SCRIPT_PART "--" B "\nContent-Type: " JOB_MIME_TYPE "\n\n%s\n", minimal);
	ok(uds(m) == -EINVAL && strstr(ue.msg, "no closing boundary"), "truncated: %s", ue.msg);
	free(m);
	struct pib_buf nb = {0};
	(void)pib_buf_printf(&nb, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n\n");
	for (int i = 1; i <= 10; i++)
		(void)pib_buf_printf(&nb, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i - 1, i);
	for (int i = 10; i >= 0; i--)
		(void)pib_buf_printf(&nb, "--b%d--\n", i);
	ok(uds(nb.data) == -EINVAL && strstr(ue.msg, "nested deeper than 8"), "deep nesting: %s", ue.msg);
	pib_buf_free(&nb);
	(void)pib_buf_printf(&nb, MIME_HEAD);
	for (int i = 0; i < 120; i++)
		(void)pib_buf_printf(&nb, "--" B "\n\nx\n");
	(void)pib_buf_printf(&nb, "--" B "--\n");
	ok(uds(nb.data) == -EINVAL && strstr(ue.msg, "more than 100 parts"), "too many parts: %s", ue.msg);
	pib_buf_free(&nb);
	(void)pib_buf_printf(&nb, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\nX-Long: ");
	for (int i = 0; i < 5000; i++)
		(void)pib_buf_printf(&nb, "a");
	ok(uds(nb.data) == -EINVAL && strstr(ue.msg, "a header longer than 4096 bytes"), "a long header: %s", ue.msg);
	pib_buf_free(&nb);
	ok(uds("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\n") == -EINVAL &&
		   strstr(ue.msg, "a boundary is 1 to 70 characters"),
	   "an empty boundary: %s", ue.msg);
	ok(uds("MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n") == -EINVAL &&
		   strstr(ue.msg, "multipart/mixed without a boundary"),
	   "no boundary: %s", ue.msg);
	m = pib_asprintf(MIME_HEAD "--" B "\nContent-Type: " JOB_MIME_TYPE "\nContent-Transfer-Encoding: base64\n\n"
				   "e30=!\n--" B "--\n");
	ok(uds(m) == -EINVAL && strstr(ue.msg, "user-data: part 1: not valid base64"), "bad base64: %s", ue.msg);
	free(m);
	m = pib_asprintf(MIME_HEAD "--" B "\nContent-Type: " JOB_MIME_TYPE "\nContent-Transfer-Encoding: x-uue\n\n"
				   "{}\n--" B "--\n");
	ok(uds(m) == -EINVAL && strstr(ue.msg, "unknown Content-Transfer-Encoding \"x-uue\""), "unknown encoding: %s",
	   ue.msg);
	free(m);
	m = pib_asprintf("#cloud-config-archive\n" MIME_HEAD "--" B "\nContent-Type: " JOB_MIME_TYPE "\n\n{}\n--" B "--\n");
	ok(uds(m) == -EINVAL && strstr(ue.msg, "a header line without a name and a colon"),
	   "a leading # line before the MIME headers is refused (cloud-init would not see a MIME message): %s", ue.msg);
	free(m);
	ok(uds("#!/bin/sh\necho hi\n") == -ENOENT && !strcmp(ue.code, "job.not_found") &&
		   strstr(ue.msg, "begins with \"#!/bin/sh\""),
	   "a shell script: %s", ue.msg);
	ok(uds(" \n") == -ENOENT && !strcmp(ue.msg, "user-data: empty"), "empty user-data: %s", ue.msg);
	ok(ud("\x1f\x8b\x08garbage", 10) == -EINVAL && strstr(ue.msg, "gzip-compressed but not readable"),
	   "broken gzip: %s", ue.msg);
	free(ud_out);
	ud_out = NULL;
	pib_err_clear(&ue);
}

/* packaging/cloud-init/user-data.example: the job part found, and a valid job */
static void test_example(const char *src_root)
{
	char *path, *text = NULL, *job = NULL;
	size_t len = 0, jl = 0;
	struct job *j = NULL;
	struct pib_err err = {0};

	if (!src_root) {
		printf("ok %d - # SKIP no source root given: the user-data example is not read\n", ++tap_n);
		return;
	}
	path = pib_asprintf("%s/packaging/cloud-init/user-data.example", src_root);
	ok(pib_read_file(path, 1 << 20, &text, &len) == 0 && len <= JOB_USER_DATA_MAX, "%s read (%zu bytes)", path, len);
	ok(text && job_from_user_data(text, len, &job, &jl, &err) == 0, "the example's job part found: %s", err.msg);
	ok(job && job_parse("user-data.example", job, jl, &j, &err) == 0 && !strcmp(j->build_id, "b-2026-000123"),
	   "the example's job is valid: %s", err.msg);
	job_free(j);
	free(job);
	free(text);
	free(path);
	pib_err_clear(&err);
}

int main(int argc, char **argv)
{
	const char *src = argc > 1 ? argv[1] : NULL;

	memset(long_id, 'a', 131);
	long_id[0] = long_id[130] = '"';
	long_url[0] = '\0';
	strcat(long_url, "https://orch.example/?X-Amz-Signature=SECRETSIG");
	memset(long_url + strlen(long_url), 'x', 8200);
	test_parse();
	test_user_data();
	test_schema(src);
	test_example(src);
	pib_err_clear(&e);
	return tap_done();
}
