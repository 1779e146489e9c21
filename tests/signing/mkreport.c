/* SPDX-License-Identifier: MIT */
/* Test helper: writes a report with detections, policy findings and failed checks through the
 * report and sign APIs. */
/*
 * Usage: mkreport OUT [--key FILE] [--hostile]
 * The scanner is not part of these tests, so this program builds what a scanning run would
 * report (two detections, a policy violation, a failed check, an installed package) and
 * signs it exactly as validate does (sign_report). --hostile puts HTML and terminal control
 * sequences into the product, a detection and a step error, and bidi controls (U+202E, U+2066)
 * into the product and seller names, for the escaping tests.
 */
#include "report.h"
#include "sign.h"

#include <stdlib.h>
#include <string.h>

static cJSON *detection(const char *path, const char *member, const char *pkg, const char *sig,
			const char *phase)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "path", path);
	if (member)
		cJSON_AddStringToObject(d, "member", member);
	else
		cJSON_AddNullToObject(d, "member");
	if (pkg)
		cJSON_AddStringToObject(d, "package", pkg);
	else
		cJSON_AddNullToObject(d, "package");
	cJSON_AddStringToObject(d, "signature", sig);
	cJSON_AddStringToObject(d, "phase", phase);
	return d;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *keypath = NULL;
	bool hostile = false;
	struct pib_err e = {0};
	struct sign_key *key = NULL;
	char *text = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			keypath = argv[++i];
		else if (!strcmp(argv[i], "--hostile"))
			hostile = true;
		else if (!out && argv[i][0] != '-')
			out = argv[i];
		else {
			fprintf(stderr, "usage: mkreport OUT [--key FILE] [--hostile]\n");
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "usage: mkreport OUT [--key FILE] [--hostile]\n");
		return 2;
	}
	if (keypath && sign_key_load(keypath, &key, &e) < 0) {
		fprintf(stderr, "mkreport: %s\n", e.msg);
		return 4;
	}

	/* U+202E (right-to-left override) and U+2066 (left-to-right isolate): a name that displays
	 * as another one unless they are escaped */
	const char *product = hostile ? "evil<script>alert(\"x\")</script>&co\xe2\x80\xae" "fdp.exe"
				      : "hello-suite";
	const char *seller = hostile ? "Example \xe2\x81\xa6Seller\xe2\x80\xae Inc" : "Example Seller";
	const char *path1 = hostile ? "/usr/bin/<img src=x onerror=alert(1)>\x1b[2J\x1b]0;pwned\x07"
				    : "/usr/bin/hello";
	const char *sig1 = "Win.Test.EICAR_HDB-1";
	const char *path2 = "debs/hello_2.10-3_amd64.deb";
	const char *sig2 = "Pib.Test.Marker-0";
	struct report *r = report_new("validate");

	report_set(r, "build_id", cJSON_CreateString("b-2026-000123"));
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "file", "/tmp/bundle.tar.gz");
	cJSON_AddStringToObject(b, "sha256",
				"d34d97572a40d9de2e5c0902192ec8d3576215bbc672c7c6027fa44661148ea6");
	cJSON_AddNumberToObject(b, "size", 31337);
	cJSON *p = cJSON_AddObjectToObject(b, "product");
	cJSON_AddStringToObject(p, "name", product);
	cJSON_AddStringToObject(p, "version", "2.10");
	cJSON_AddStringToObject(p, "seller", seller);
	report_set(r, "bundle", b);
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "root", "/");
	cJSON_AddStringToObject(h, "id", "debian");
	cJSON_AddItemToObject(h, "id_like", cJSON_CreateArray());
	cJSON_AddStringToObject(h, "version_id", "12");
	cJSON_AddStringToObject(h, "pretty_name", "Debian GNU/Linux 12 (bookworm)");
	cJSON_AddStringToObject(h, "arch", "x86_64");
	cJSON_AddStringToObject(h, "family", "debian");
	cJSON_AddNullToObject(h, "ec2");
	report_set(r, "host", h);
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "name", "debian");
	cJSON_AddStringToObject(t, "installer", "deb");
	report_set(r, "target", t);

	report_step_begin(r, "open");
	report_step_end(r, NULL);
	report_step_begin(r, "verify");
	report_step_end(r, NULL);
	report_step_begin(r, "resolve");
	report_step_end(r, NULL);
	report_step_begin(r, "install");
	report_step_end(r, NULL);
	report_step_begin(r, "postscan");
	pib_fail(&e, -1, PIB_ERR_FINDINGS, "scan.malware", "2 files are infected%s",
		 hostile ? " <b>bold</b>\x1b[31m" : "");
	report_step_end(r, &e);
	pib_err_clear(&e);
	report_step_skip(r, "checks", "not supported yet", true);

	cJSON *pk = cJSON_CreateArray();
	cJSON *p1 = cJSON_CreateObject();
	cJSON_AddStringToObject(p1, "name", "hello");
	cJSON_AddStringToObject(p1, "version", "2.10-3");
	cJSON_AddStringToObject(p1, "arch", "amd64");
	cJSON_AddStringToObject(p1, "sha256",
				"35b1508eeee9c1dfba798c4c04304ef0f266990f936a51f165571edf53325cbc");
	cJSON_AddStringToObject(p1, "source", "bundle");
	cJSON_AddStringToObject(p1, "member", path2);
	cJSON_AddStringToObject(p1, "repository", "");
	cJSON *files = cJSON_AddArrayToObject(p1, "files");
	cJSON_AddItemToArray(files, cJSON_CreateString("/usr/bin/hello"));
	cJSON_AddItemToArray(pk, p1);
	report_set(r, "packages", pk);

	cJSON *scan = cJSON_CreateObject();
	cJSON *eng = cJSON_AddObjectToObject(scan, "engine");
	cJSON_AddStringToObject(eng, "name", "clamav");
	cJSON_AddStringToObject(eng, "version", "1.4.6");
	cJSON *db = cJSON_AddObjectToObject(scan, "database");
	cJSON_AddNullToObject(db, "version");
	cJSON_AddStringToObject(db, "time", "2026-11-25T00:00:00Z");
	cJSON_AddStringToObject(db, "time_source", "mtime");
	cJSON_AddNumberToObject(db, "signatures", 2);
	cJSON_AddNumberToObject(scan, "files_scanned", 12);
	cJSON_AddNumberToObject(scan, "bytes_scanned", 123456);
	cJSON *dets = cJSON_AddArrayToObject(scan, "detections");
	cJSON_AddItemToArray(dets, detection(path1, NULL, "hello", sig1, "postscan"));
	cJSON_AddItemToArray(
	    dets, detection(path2, "data.tar.xz/./usr/bin/hello", "hello", sig2, "prescan"));
	cJSON *skipped = cJSON_AddArrayToObject(scan, "skipped");
	cJSON *sk = cJSON_CreateObject();
	cJSON_AddStringToObject(sk, "path", hostile ? path1 : "/usr/share/hello/big.iso");
	cJSON_AddNullToObject(sk, "member");
	cJSON_AddStringToObject(sk, "code", "limit.max_filesize");
	cJSON_AddStringToObject(sk, "reason", hostile ? "<b>pwned</b>\x1b[31m larger than the maximum file size"
						: "200000000 bytes, larger than the maximum file size (104857600 bytes): not scanned");
	cJSON_AddStringToObject(sk, "phase", "postscan");
	cJSON_AddItemToArray(skipped, sk);
	report_set(r, "scan", scan);

	cJSON *pol = cJSON_CreateArray();
	cJSON *v = cJSON_CreateObject();
	/* the shape of agent/policy_step.c's findings: a violation the bundle brought, one of the image's */
	cJSON_AddStringToObject(v, "id", "ssh.password_authentication");
	cJSON_AddStringToObject(v, "title", "sshd allows password logins");
	cJSON_AddStringToObject(v, "severity", "high");
	cJSON_AddStringToObject(v, "origin", "bundle");
	cJSON_AddStringToObject(v, "status", "violation");
	cJSON_AddStringToObject(v, "path", "/etc/ssh/sshd_config");
	cJSON_AddNumberToObject(v, "line", 3);
	cJSON_AddStringToObject(v, "evidence", "PasswordAuthentication yes in /etc/ssh/sshd_config");
	cJSON_AddStringToObject(v, "message", "PasswordAuthentication yes in /etc/ssh/sshd_config");
	cJSON_AddItemToArray(pol, v);
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "id", "users.empty_passwords");
	cJSON_AddStringToObject(v, "title", "an account has an empty password");
	cJSON_AddStringToObject(v, "severity", "low");
	cJSON_AddStringToObject(v, "origin", "image");
	cJSON_AddStringToObject(v, "status", "reported");
	cJSON_AddNullToObject(v, "path");
	cJSON_AddStringToObject(v, "evidence", "none found");
	cJSON_AddItemToArray(pol, v);
	report_set(r, "policy", pol);
	cJSON *chk = cJSON_CreateArray();
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", "hello runs");
	cJSON_AddStringToObject(v, "status", "failed");
	cJSON_AddStringToObject(v, "message", "exit status 1");
	cJSON_AddItemToArray(chk, v);
	report_set(r, "checks", chk);

	if (report_add_subject(r, "bundle",
			       "d34d97572a40d9de2e5c0902192ec8d3576215bbc672c7c6027fa44661148ea6") <
		0 ||
	    report_add_subject(
		r, path2, "35b1508eeee9c1dfba798c4c04304ef0f266990f936a51f165571edf53325cbc") < 0)
		goto out;
	report_step_begin(r, "report");
	report_step_detail(r, "keyid",
			   key ? cJSON_CreateString(sign_key_id(key)) : cJSON_CreateNull());
	report_step_end(r, NULL);
	report_finish(r);
	if (sign_report(r, key, &text, &e) < 0) {
		fprintf(stderr, "mkreport: %s\n", e.msg);
		goto out;
	}
	if (pib_write_file(out, text, strlen(text), 0644) < 0) {
		fprintf(stderr, "mkreport: cannot write %s\n", out);
		goto out;
	}
	rc = 0;
out:
	free(text);
	sign_key_free(key);
	report_free(r);
	pib_err_clear(&e);
	return rc;
}
