/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the policy file (manifests/policyfile.c): the built-in default lists every check
 * id the C sources emit (read from the source root, argv[1], so a new id without a policy entry
 * fails here) with no wildcard; bad policies refused with the field named as a JSON pointer; the
 * digest of the canonical bytes; what a policy says of a finding (exact id beats a wildcard, the
 * longest wildcard wins, field by field; allow-list by path pattern; expiry inclusive).
 */
#include "policyfile.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct pib_err e;

static int parse(const char *text, struct policy_file **pf)
{
	pib_err_clear(&e);
	return policyfile_parse(text, strlen(text), "p.json", "file", pf, &e);
}

/* The families of check ids: the part before the first dot of every default policy id. */
static bool family_known(const char *id, const struct policy_file *def, const cJSON *checks)
{
	const cJSON *it;
	size_t n = strcspn(id, ".");
	(void)def;
	cJSON_ArrayForEach(it, checks)
	{
		if (strlen(it->string) > n && !strncmp(it->string, id, n) && it->string[n] == '.')
			return true;
	}
	return false;
}

/*
 * Every string literal shaped like a check id ("family.name") of a known family in one C file,
 * except error codes (a literal right after PIB_ERR_X,) and #include lines: each must be a known id.
 */
static void scan_source(const char *path, const cJSON *checks, size_t *n_ids, size_t *n_unknown)
{
	char *text = NULL;
	size_t len = 0;

	if (pib_read_file(path, 4u << 20, &text, &len) < 0) {
		ok(0, "read %s", path);
		return;
	}
	for (char *q = text; (q = strchr(q, '"'));) {
		char *end = strchr(q + 1, '"');
		if (!end)
			break;
		size_t n = (size_t)(end - q - 1);
		char id[128];
		char *bol = q;
		while (bol > text && bol[-1] != '\n')
			bol--;
		bool include = !strncmp(bol, "#include", 8);
		/* what comes before, back to the start of the call's arguments */
		size_t back = (size_t)(q - text) < 40 ? (size_t)(q - text) : 40;
		char before[48];
		memcpy(before, q - back, back);
		before[back] = '\0';
		bool err_code = strstr(before, "PIB_ERR_") != NULL;
		if (n > 0 && n < sizeof(id) && !include && !err_code) {
			memcpy(id, q + 1, n);
			id[n] = '\0';
			const char *dot = strchr(id, '.');
			if (dot && dot > id && dot[1] && pib_str_all_in(id, "abcdefghijklmnopqrstuvwxyz0123456789_.") &&
			    !strchr(dot + 1, '.') && family_known(id, NULL, checks)) {
				(*n_ids)++;
				if (!cJSON_GetObjectItemCaseSensitive(checks, id)) {
					(*n_unknown)++;
					printf("# %s: \"%s\" is not in manifests/default-policy.json\n", path, id);
				}
			}
		}
		q = end + 1;
	}
	free(text);
}

static void test_default_lists_every_id(const char *src)
{
	char *path = pib_asprintf("%s/manifests/default-policy.json", src), *text = NULL;
	size_t len = 0, n_ids = 0, n_unknown = 0, n_wild = 0;
	cJSON *doc = NULL;

	ok(path && pib_read_file(path, POLICYFILE_MAX, &text, &len) == 0, "read default-policy.json");
	doc = text ? cJSON_ParseWithLength(text, len) : NULL;
	free(text);
	free(path);
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(doc, "checks"), *it;
	ok(cJSON_IsObject(checks) && cJSON_GetArraySize(checks) >= 27, "the default policy has checks (%d)",
	   cJSON_GetArraySize(checks));
	cJSON_ArrayForEach(it, checks)
	{
		n_wild += strchr(it->string, '*') != NULL;
		if (!policyfile_known_id(it->string))
			ok(0, "%s is known", it->string);
	}
	ok(n_wild == 0, "the default policy names every check by its id, no wildcard");

	static const char *const dirs[] = {"scanners", "agent", "manifests"};
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char *dp = pib_asprintf("%s/%s", src, dirs[d]);
		DIR *dir = dp ? opendir(dp) : NULL;
		struct dirent *de;
		while (dir && (de = readdir(dir))) {
			size_t nl = strlen(de->d_name);
			if (nl < 3 || strcmp(de->d_name + nl - 2, ".c"))
				continue;
			/* the policy's own parser and the seller's checks (check.failed: checks[], not policy[]) */
			if (!strcmp(de->d_name, "policyfile.c") || !strcmp(de->d_name, "checks.c"))
				continue;
			char *fp = pib_asprintf("%s/%s", dp, de->d_name);
			if (fp)
				scan_source(fp, checks, &n_ids, &n_unknown);
			free(fp);
		}
		if (dir)
			closedir(dir);
		free(dp);
	}
	ok(n_ids >= 27, "check ids found in the C sources: %zu", n_ids);
	ok(n_unknown == 0, "every check id the C sources emit is in the default policy (%zu missing)", n_unknown);
	cJSON_Delete(doc);
}

static void test_default(void)
{
	struct policy_file *pf = NULL;
	pib_err_clear(&e);
	ok(policyfile_load(NULL, &pf, &e) == 0, "the built-in default loads: %s", e.set ? e.msg : "ok");
	if (!pf)
		return;
	ok(!strcmp(pf->source, "default") && !strcmp(pf->name, "marketplace-default"), "its name and source");
	ok(pf->fail_on == POLICY_SEV_HIGH, "fail_on high");
	ok(pib_is_hex64(pf->sha256), "a sha256");
	ok(pf->n_allow == 0, "no allow-list");
	/* the default changes no severity the checks give */
	struct policy_finding f = {.id = (char *)"ssh.authorized_keys", .severity = POLICY_SEV_MEDIUM};
	struct policy_verdict v;
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(v.enabled && v.severity == POLICY_SEV_MEDIUM && !v.severity_changed, "ssh.authorized_keys keeps its own severity");
	f.id = (char *)"ssh.password_auth";
	f.severity = POLICY_SEV_HIGH;
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(v.enabled && v.severity == POLICY_SEV_HIGH && !v.allowed, "ssh.password_auth high");
	policyfile_free(pf);
}

static void test_bad(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[]", "p.json: expected an object, got an array"},
		{"{\"policy_version\": 1}", "p.json: /name: missing"},
		{"{\"name\": \"x\"}", "p.json: /policy_version: missing"},
		{"{\"policy_version\": 1.5, \"name\": \"x\"}", "/policy_version: expected 1"},
		{"{\"policy_version\": 1, \"name\": \"\"}", "/name: must not be empty"},
		{"{\"policy_version\": 1, \"name\": \"a\\nb\"}", "/name: a control character"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"colour\": 1}", "p.json: /colour: unknown key"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"name\": \"y\"}", "/name: duplicate key"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"fail_on\": \"severe\"}", "/fail_on: \"severe\" is not a severity"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"fail_on\": 3}", "/fail_on: expected a severity"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": []}", "/checks: expected an object, got an array"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh.nope\": {}}}", "/checks/ssh.nope: not a check the agent knows"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"nfs.*\": {}}}", "/checks/nfs.*: no check the agent knows matches"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh*\": {}}}", "/checks/ssh*: expected a check id"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh.*.x\": {}}}", "/checks/ssh.*.x: expected a check id"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"a/b~\": {}}}", "/checks/a~1b~0: expected a check id"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh.host_keys\": {\"enabled\": 1}}}", "/checks/ssh.host_keys/enabled: expected true or false"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh.host_keys\": {\"severity\": \"High\"}}}", "/checks/ssh.host_keys/severity"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh.host_keys\": {\"level\": 1}}}", "/checks/ssh.host_keys/level: unknown key"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"checks\": {\"ssh.host_keys\": {}, \"ssh.host_keys\": {}}}", "/checks/ssh.host_keys: duplicate key"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": {}}", "/allow: expected an array"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [7]}", "/allow/0: expected an object, got a number"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\"}]}", "/allow/0/reason: missing"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"ok\"}, {\"id\": \"ssh.host_keys\", \"reason\": \" \\t\", \"path\": \"/x\"}]}", "/allow/1/reason: must not be empty"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.*\", \"reason\": \"r\"}]}", "/allow/0/id: \"ssh.*\" is not a check the agent knows"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"r\", \"path\": \"etc/x\"}]}", "/allow/0/path: expected an absolute path"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"r\", \"expires\": \"2026-13-01\"}]}", "/allow/0/expires: expected a date"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"r\", \"expires\": \"2025-02-29\"}]}", "/allow/0/expires"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"r\", \"colour\": 1}]}", "/allow/0/colour: unknown key"},
		{"{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"a\", \"path\": \"/p\"}, {\"id\": \"ssh.host_keys\", \"reason\": \"b\", \"path\": \"/p\"}]}", "/allow/1: the same id and path as /allow/0"},
		{"{\"policy_version\": 1,", "not valid JSON"},
		{"{\"policy_version\": 1, \"name\": \"x\"} x", "trailing data"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_file *pf = NULL;
		int r = parse(cases[i].text, &pf);
		ok(r == -EINVAL && !pf && e.set && !strcmp(e.code, "policy.invalid") && e.cls == PIB_ERR_USAGE &&
			   strstr(e.msg, cases[i].want),
		   "refused: %s (%s)", cases[i].want, e.set ? e.msg : "accepted");
		policyfile_free(pf);
	}
	/* a 2024 leap day is a date; a job's policy is named under /policy */
	struct policy_file *pf = NULL;
	ok(parse("{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"r\", \"expires\": \"2024-02-29\"}]}", &pf) == 0,
	   "2024-02-29 is a date");
	policyfile_free(pf);
	cJSON *j = cJSON_Parse("{\"policy_version\": 1, \"name\": \"x\", \"allow\": [{\"id\": \"ssh.host_keys\", \"reason\": \"\"}]}");
	pib_err_clear(&e);
	pf = NULL;
	ok(policyfile_from_json(j, "job.json", "/policy", &pf, &e) < 0 &&
		   !strcmp(e.msg, "job.json: /policy/allow/0/reason: must not be empty"),
	   "a job's policy: %s", e.msg);
	cJSON_Delete(j);
	pib_err_clear(&e);
	ok(policyfile_load("/nonexistent/p.json", &pf, &e) < 0 && !strcmp(e.code, "policy.invalid") &&
		   strstr(e.msg, "/nonexistent/p.json: cannot be read"),
	   "a missing file: %s", e.msg);
}

static void test_digest(void)
{
	struct policy_file *a = NULL, *b = NULL, *c = NULL;
	ok(parse("{\"policy_version\": 1, \"name\": \"x\", \"fail_on\": \"low\", \"checks\": {\"ssh.*\": {\"severity\": \"low\", \"enabled\": true}}}", &a) == 0 &&
		   parse("{\n \"checks\": {\"ssh.*\": {\"enabled\": true,\n \"severity\": \"low\"}},\n\"fail_on\": \"low\", \"name\": \"x\", \"policy_version\": 1}", &b) == 0 &&
		   parse("{\"policy_version\": 1, \"name\": \"x\", \"fail_on\": \"medium\", \"checks\": {\"ssh.*\": {\"severity\": \"low\", \"enabled\": true}}}", &c) == 0,
	   "three policies parse: %s", e.msg);
	if (a && b && c) {
		ok(!strcmp(a->sha256, b->sha256), "keys in another order, other white space: the same digest");
		ok(strcmp(a->sha256, c->sha256) != 0, "another fail_on: another digest");
	}
	policyfile_free(a);
	policyfile_free(b);
	policyfile_free(c);
}

static void test_apply(void)
{
	struct policy_file *pf = NULL;
	const char *text =
		"{\"policy_version\": 1, \"name\": \"t\", \"fail_on\": \"critical\", \"checks\": {"
		"\"*\": {\"severity\": \"info\"},"
		"\"ssh.*\": {\"severity\": \"low\", \"enabled\": false},"
		"\"ssh.password_auth\": {\"enabled\": true},"
		"\"ssh.host_keys\": {\"severity\": \"critical\"}},"
		"\"allow\": ["
		"{\"id\": \"file.setuid\", \"path\": \"/usr/lib/*/helper\", \"reason\": \"needs it\"},"
		"{\"id\": \"secret.pkcs12\", \"reason\": \"old\", \"expires\": \"2026-01-31\"},"
		"{\"id\": \"secret.pkcs12\", \"path\": \"/etc/b.p12\", \"reason\": \"new\"}]}";
	struct policy_verdict v;
	struct policy_finding f = {.id = (char *)"ssh.password_auth", .severity = POLICY_SEV_HIGH};

	ok(parse(text, &pf) == 0, "a policy with wildcards and an allow-list: %s", e.set ? e.msg : "ok");
	if (!pf)
		return;
	ok(pf->fail_on == POLICY_SEV_CRITICAL && pf->n_rules == 4 && pf->n_allow == 3, "its fields");
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(v.enabled && v.severity == POLICY_SEV_LOW && v.severity_changed,
	   "field by field: enabled from the exact id, severity from ssh.* (the longest wildcard)");
	f.id = (char *)"ssh.root_login";
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(!v.enabled, "ssh.* disables ssh.root_login");
	f.id = (char *)"ssh.host_keys";
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(!v.enabled && v.severity == POLICY_SEV_CRITICAL, "the exact id's severity beats ssh.*'s");
	f.id = (char *)"os.end_of_life";
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(v.enabled && v.severity == POLICY_SEV_INFO, "* reaches every other check");

	f = (struct policy_finding){.id = (char *)"file.setuid", .severity = POLICY_SEV_HIGH,
				    .path = (char *)"/usr/lib/x86_64-linux-gnu/helper"};
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(v.allowed && !strcmp(v.allowed->reason, "needs it"), "allowed by a path pattern");
	f.path = (char *)"/usr/lib/a/b/helper";
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(!v.allowed, "* does not match /");
	f.path = NULL;
	policy_apply(pf, &f, "2026-01-01", &v);
	ok(!v.allowed, "an entry with a path never allows a finding without one");

	f = (struct policy_finding){.id = (char *)"secret.pkcs12", .severity = POLICY_SEV_HIGH, .path = (char *)"/etc/a.p12"};
	policy_apply(pf, &f, "2026-01-31", &v);
	ok(v.allowed && !strcmp(v.allowed->reason, "old"), "allowed on its last day");
	policy_apply(pf, &f, "2026-02-01", &v);
	ok(!v.allowed && v.expired && !strcmp(v.expired->expires, "2026-01-31"), "not the day after: expired, said");
	f.path = (char *)"/etc/b.p12";
	policy_apply(pf, &f, "2026-02-01", &v);
	ok(v.allowed && !strcmp(v.allowed->reason, "new") && !v.expired, "a later entry that has not expired allows");

	cJSON *j = policyfile_json(pf, "2026-02-01");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "allow_expired");
	ok(cJSON_GetArraySize(ex) == 1 && !strcmp(cJSON_GetObjectItemCaseSensitive(j, "fail_on")->valuestring, "critical") &&
		   !strcmp(cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring, "file"),
	   "the report's view: fail_on, source, the expired entry");
	cJSON_Delete(j);

	/* apply_all: disabled findings dropped, severities set */
	struct policy_findings fs = {0};
	struct policy_verdict *vs = NULL;
	size_t dropped = 0;
	ok(policy_add(&fs, "ssh.root_login", POLICY_SEV_CRITICAL, "t", "/etc/ssh/sshd_config", 1, NULL, "e") == 0 &&
		   policy_add(&fs, "os.end_of_life", POLICY_SEV_HIGH, "t", NULL, 0, NULL, "e") == 0 &&
		   policy_add(&fs, "ssh.kbd_interactive", POLICY_SEV_MEDIUM, "t", NULL, 0, NULL, "e") == 0 &&
		   policy_add(&fs, "ssh.password_auth", POLICY_SEV_HIGH, "t", NULL, 0, NULL, "e") == 0,
	   "four findings");
	pib_err_clear(&e);
	ok(policyfile_apply_all(pf, &fs, "2026-01-01", &vs, &dropped, &e) == 0 && dropped == 2 && fs.n == 2 &&
		   !strcmp(fs.v[0].id, "os.end_of_life") && fs.v[0].severity == POLICY_SEV_INFO &&
		   !strcmp(fs.v[1].id, "ssh.password_auth") && fs.v[1].severity == POLICY_SEV_LOW &&
		   vs[1].severity == POLICY_SEV_LOW,
	   "apply_all: two dropped, two left with their severities");
	free(vs);
	policy_findings_free(&fs);
	policyfile_free(pf);
}

int main(int argc, char **argv)
{
	test_default();
	test_bad();
	test_digest();
	test_apply();
	if (argc >= 2)
		test_default_lists_every_id(argv[1]);
	else
		printf("ok %d - # SKIP no source root given: the C sources are not read\n", ++tap_n);
	pib_err_clear(&e);
	return tap_done();
}
