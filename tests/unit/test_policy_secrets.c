/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the secret rules: real keys made here by openssl and ssh-keygen (each rule's
 * finding, severity, key type and fingerprint computed independently), and near misses that
 * must stay silent (a PEM header in a man page or a regex, ids one character short, words
 * around a token). No finding may hold any part of a secret's value.
 */
#include "policy_secrets.h"
#include "scan_fixtures.h"
#include "tap.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static char *dir;

/* Runs argv (found on PATH), its output thrown away; true when it exited 0. */
static bool run(const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return false;
	}
	posix_spawn_file_actions_destroy(&fa);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The tool is on PATH (the tests that need it are skipped otherwise). */
static bool have(const char *tool)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	bool found = false;

	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *f = pib_asprintf("%s/%s", d, tool);
		found = f && access(f, X_OK) == 0;
		free(f);
	}
	free(copy);
	return found;
}

static char *p(const char *name)
{
	return fx_path(dir, name);
}

static char *slurp(const char *path, size_t *len)
{
	char *d = NULL;
	size_t n = 0;
	if (pib_read_file(path, 64u << 20, &d, &n) < 0)
		return NULL;
	if (len)
		*len = n;
	return d;
}

/* Scans a file of the temp dir (named as given inside the root) with a byte limit. */
static int scan_file(const char *name, size_t max, struct policy_findings *f, bool *cut)
{
	char *path = p(name);
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	char *inroot = pib_asprintf("/srv/%s", name);

	free(path);
	if (fd < 0)
		return -errno;
	r = policy_secrets_fd(fd, inroot, max, f, cut);
	close(fd);
	free(inroot);
	return r;
}

static int scan_text(const char *name, const char *text, struct policy_findings *f)
{
	return policy_secrets_scan(name, text, strlen(text), 0, 1u << 20, f, NULL);
}

static const struct policy_finding *find(const struct policy_findings *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].id, id) == 0)
			return &f->v[i];
	return NULL;
}

static size_t count(const struct policy_findings *f, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += strcmp(f->v[i].id, id) == 0;
	return n;
}

static char *fp_of(const void *d, size_t n)
{
	char hex[65];
	pib_sha256_hex(d, n, hex);
	return pib_strndup(hex, 16);
}

static char *fp_of_file(const char *path)
{
	size_t n;
	char *d = slurp(path, &n), *r;
	if (!d)
		return strdup("(unreadable)");
	r = fp_of(d, n);
	free(d);
	return r;
}

/* True when no 12-byte window of any base64/alnum line of the secret text is in any evidence. */
static bool leaks_nothing(const struct policy_findings *f, const char *secret)
{
	size_t n = strlen(secret);

	for (size_t i = 0; i + 12 <= n; i++) {
		char w[13];
		memcpy(w, secret + i, 12);
		w[12] = '\0';
		if (strchr(w, '\n') || strchr(w, '-') || strchr(w, ' '))
			continue; /* headers and words ("PRIVATE KEY") are not the value */
		for (size_t k = 0; k < f->n; k++)
			if (strstr(f->v[k].evidence, w) || strstr(f->v[k].title, w))
				return false;
	}
	return true;
}

/* The SHA-256 fingerprint (16 hex) of the public key blob of an OpenSSH .pub file. */
static char *ssh_pub_fp(const char *pubpath)
{
	char *t = slurp(pubpath, NULL), *r = NULL;
	if (!t)
		return strdup("(none)");
	char *b = strchr(t, ' ');
	if (b) {
		char *e = strchr(++b, ' ');
		if (e)
			*e = '\0';
		unsigned char out[4096];
		int n = EVP_DecodeBlock(out, (unsigned char *)b, (int)strlen(b));
		/* EVP_DecodeBlock counts padding as zero bytes */
		size_t len = strlen(b);
		int pad = len >= 2 && b[len - 1] == '=' ? (b[len - 2] == '=' ? 2 : 1) : 0;
		if (n > 0)
			r = fp_of(out, (size_t)(n - pad));
	}
	free(t);
	return r ? r : strdup("(none)");
}

static void test_pem(void)
{
	struct policy_findings f = {0};
	const struct policy_finding *x = NULL;
	char *a = p("rsa.pem"), *der = p("rsa.der"), *ec = p("ec.pem"), *ect = p("ec_trad.pem"), *enc = p("enc.pem"),
	     *trad = p("rsa_trad.pem"), *tenc = p("rsa_trad_enc.pem"), *txt = NULL, *fp = NULL;

	if (!have("openssl")) {
		printf("ok %d - # SKIP openssl is not installed\n", ++tap_n);
		goto out;
	}
	const char *g1[] = {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", a, NULL};
	const char *g2[] = {"openssl", "pkcs8", "-topk8", "-nocrypt", "-in", a, "-outform", "DER", "-out", der, NULL};
	ok(run(g1) && run(g2), "openssl genpkey made an RSA key (PKCS#8) and its DER");
	ok(scan_file("rsa.pem", 1u << 20, &f, NULL) == 1, "one finding for a PKCS#8 RSA key");
	x = find(&f, "secret.private_key_pem");
	fp = fp_of_file(der);
	ok(x && x->severity == POLICY_SEV_CRITICAL && x->line == 1, "secret.private_key_pem, critical, line 1");
	ok(x && strstr(x->evidence, "RSA, 2048 bits") && strstr(x->evidence, "\"PRIVATE KEY\""),
	   "evidence names the type and size: %s", x ? x->evidence : "");
	ok(x && strstr(x->evidence, fp), "the fingerprint is the DER's SHA-256 (%s)", fp);
	ok(x && strcmp(x->path, "/srv/rsa.pem") == 0 && x->remediation, "path inside the root, a remediation");
	txt = slurp(a, NULL);
	ok(txt && leaks_nothing(&f, txt), "no part of the key in the finding");
	free(txt);
	policy_findings_free(&f);

	const char *g3[] = {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec, NULL};
	const char *g4[] = {"openssl", "ec", "-in", ec, "-out", ect, NULL};
	ok(run(g3) && run(g4), "an EC key, and in the traditional SEC1 form");
	txt = slurp(ect, NULL);
	ok(txt && strstr(txt, "-----BEGIN EC PRIVATE KEY-----"), "the traditional form is an EC PRIVATE KEY block");
	free(txt);
	ok(scan_file("ec_trad.pem", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.private_key_pem")) &&
		   x->severity == POLICY_SEV_CRITICAL && strstr(x->evidence, "EC, 256 bits"),
	   "EC PRIVATE KEY: critical, EC 256 bits: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);

	const char *g5[] = {"openssl", "genpkey", "-algorithm", "ED25519", "-aes-256-cbc", "-pass", "pass:unit",
			    "-out", enc, NULL};
	ok(run(g5), "an encrypted PKCS#8 key");
	ok(scan_file("enc.pem", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.private_key_pem")) &&
		   x->severity == POLICY_SEV_HIGH && strstr(x->evidence, "encrypted PKCS#8"),
	   "ENCRYPTED PRIVATE KEY: high: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);

	const char *g6[] = {"openssl", "genrsa", "-traditional", "-out", trad, "1024", NULL};
	const char *g7[] = {"openssl", "genrsa", "-traditional", "-aes128", "-passout", "pass:unit", "-out", tenc,
			    "1024", NULL};
	ok(run(g6) && run(g7), "traditional RSA keys, plain and with Proc-Type encryption");
	ok(scan_file("rsa_trad.pem", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.private_key_pem")) &&
		   x->severity == POLICY_SEV_CRITICAL && strstr(x->evidence, "RSA, 1024 bits") &&
		   strstr(x->evidence, "\"RSA PRIVATE KEY\""),
	   "RSA PRIVATE KEY: critical: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	ok(scan_file("rsa_trad_enc.pem", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.private_key_pem")) &&
		   x->severity == POLICY_SEV_HIGH && strstr(x->evidence, "legacy PEM"),
	   "RSA PRIVATE KEY with Proc-Type: 4,ENCRYPTED: high: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);

	/* two keys in one file: two findings, each at its own line */
	char *t1 = slurp(trad, NULL), *t2 = slurp(ect, NULL);
	char *both = pib_asprintf("# keys\n%s\n%s", t1 ? t1 : "", t2 ? t2 : "");
	ok(scan_text("/etc/both.pem", both, &f) == 2 && f.n == 2 && f.v[0].line == 2 && f.v[1].line > 10,
	   "two keys in a file: two findings at lines %u and %u", f.n ? f.v[0].line : 0, f.n > 1 ? f.v[1].line : 0);
	policy_findings_free(&f);
	free(t1);
	free(t2);
	free(both);
out:
	free(a), free(der), free(ec), free(ect), free(enc), free(trad), free(tenc), free(fp);
}

static void test_pem_documentation(void)
{
	struct policy_findings f = {0};
	static const char man[] =
		".SH FILES\n.TP\nThe file starts with\n.nf\n-----BEGIN RSA PRIVATE KEY-----\n...\n"
		"-----END RSA PRIVATE KEY-----\n.fi\n";
	static const char regex[] = "static const char *re = \"-----BEGIN (RSA |EC |DSA )?PRIVATE KEY-----\";\n"
				    "if (strstr(s, \"-----BEGIN OPENSSH PRIVATE KEY-----\")) return 1;\n";
	static const char shortbody[] = "Example:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
					"-----END PRIVATE KEY-----\n";
	static const char header_only[] = "-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n";

	ok(scan_text("/usr/share/man/man1/x.1", man, &f) == 0, "a man page quoting a PEM header: no finding");
	ok(scan_text("/usr/src/scan.c", regex, &f) == 0, "a regex and a strstr of the headers: no finding");
	ok(scan_text("/usr/share/doc/README", shortbody, &f) == 0, "a header with a few base64 characters: no finding");
	ok(scan_text("/usr/share/doc/empty", header_only, &f) == 0 && f.n == 0, "header and footer only: no finding");
	policy_findings_free(&f);
}

static void test_openssh(void)
{
	struct policy_findings f = {0};
	const struct policy_finding *x = NULL;
	char *k = p("id_ed25519"), *kp = p("id_ed25519.pub"), *e = p("id_enc"), *ep = p("id_enc.pub"), *r = p("id_rsa"),
	     *rp = p("id_rsa.pub"), *fp = NULL, *txt = NULL;

	if (!have("ssh-keygen")) {
		printf("ok %d - # SKIP ssh-keygen is not installed\n", ++tap_n);
		goto out;
	}
	const char *g1[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "unit", "-f", k, NULL};
	const char *g2[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "unit-pass", "-C", "unit", "-f", e, NULL};
	const char *g3[] = {"ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-C", "unit", "-f", r, NULL};
	ok(run(g1) && run(g2) && run(g3), "ssh-keygen made ed25519 (plain and encrypted) and RSA keys");

	ok(scan_file("id_ed25519", 1u << 20, &f, NULL) == 1, "one finding for an OpenSSH key");
	x = find(&f, "secret.openssh_private_key");
	fp = ssh_pub_fp(kp);
	ok(x && x->severity == POLICY_SEV_CRITICAL && strstr(x->evidence, "type ssh-ed25519") &&
		   strstr(x->evidence, "not encrypted"),
	   "secret.openssh_private_key critical, ssh-ed25519: %s", x ? x->evidence : "");
	ok(x && strstr(x->evidence, fp), "fingerprint = SHA-256 of the .pub's key blob (%s)", fp);
	txt = slurp(k, NULL);
	ok(txt && leaks_nothing(&f, txt), "no part of the key in the finding");
	free(txt);
	free(fp);
	policy_findings_free(&f);

	ok(scan_file("id_enc", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.openssh_private_key")) &&
		   x->severity == POLICY_SEV_HIGH && strstr(x->evidence, "encrypted") && !strstr(x->evidence, "not encrypted"),
	   "a passphrase-protected key: high, encrypted: %s", f.n ? f.v[0].evidence : "");
	fp = ssh_pub_fp(ep);
	ok(x && strstr(x->evidence, fp), "its public key is readable unencrypted: same fingerprint as the .pub");
	free(fp);
	policy_findings_free(&f);

	ok(scan_file("id_rsa", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.openssh_private_key")) &&
		   strstr(x->evidence, "ssh-rsa, 3072 bits"),
	   "an RSA key: type and size from the blob: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	ok(scan_file("id_ed25519.pub", 1u << 20, &f, NULL) == 0, "the public key alone: no finding");

	/* a well-framed block whose blob is not openssh-key-v1: still a finding, type unknown */
	static const char junk[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
				   "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n"
				   "-----END OPENSSH PRIVATE KEY-----\n";
	ok(scan_text("/root/.ssh/odd", junk, &f) == 1 && (x = find(&f, "secret.openssh_private_key")) &&
		   x->severity == POLICY_SEV_CRITICAL && strstr(x->evidence, "malformed"),
	   "a malformed blob: critical, type unknown: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
out:
	free(k), free(kp), free(e), free(ep), free(r), free(rp);
}

static void test_pkcs12(void)
{
	struct policy_findings f = {0};
	const struct policy_finding *x = NULL;
	char *key = p("p12key.pem"), *crt = p("p12crt.pem"), *p12 = p("store.p12"), *bin = p("store.bin"),
	     *cder = p("cert.der"), *fake = p("fake.p12"), *fp = NULL;

	if (!have("openssl")) {
		printf("ok %d - # SKIP openssl is not installed\n", ++tap_n);
		goto out;
	}
	const char *g1[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
			    "-subj", "/CN=unit", "-days", "1", NULL};
	const char *g2[] = {"openssl", "pkcs12", "-export", "-in", crt, "-inkey", key, "-out", p12, "-passout",
			    "pass:unit", NULL};
	const char *g3[] = {"openssl", "pkcs12", "-export", "-in", crt, "-inkey", key, "-out", bin, "-passout",
			    "pass:unit", NULL};
	const char *g4[] = {"openssl", "x509", "-in", crt, "-outform", "DER", "-out", cder, NULL};
	ok(run(g1) && run(g2) && run(g3) && run(g4), "openssl made a PKCS#12 store and a DER certificate");

	ok(scan_file("store.p12", 1u << 20, &f, NULL) == 1 && (x = find(&f, "secret.pkcs12")) &&
		   x->severity == POLICY_SEV_HIGH && strstr(x->evidence, "with a MAC"),
	   "store.p12: secret.pkcs12, high: %s", f.n ? f.v[0].evidence : "");
	fp = fp_of_file(p12);
	ok(x && strstr(x->evidence, fp), "fingerprint of the whole DER (%s)", fp);
	policy_findings_free(&f);
	ok(scan_file("store.bin", 1u << 20, &f, NULL) == 1 && find(&f, "secret.pkcs12"),
	   "found by its DER SEQUENCE start under any name");
	policy_findings_free(&f);
	ok(scan_file("cert.der", 1u << 20, &f, NULL) == 0, "a DER certificate is not a PKCS#12 store");
	fx_write(fake, "not a key store at all\n", 23);
	ok(scan_file("fake.p12", 1u << 20, &f, NULL) == 0, "a .p12 name on text: no finding");
	ok(scan_file("store.p12", 100, &f, NULL) == 0, "a store cut by the byte limit does not parse: no finding");
	policy_findings_free(&f);
out:
	free(key), free(crt), free(p12), free(bin), free(cder), free(fake), free(fp);
}

/* A made-up id of the right shape, and AWS's documented example secret: never a live key. */
#define AWS_ID "AKIAJ2Q7ZX4LMN5PQR3T"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static void test_aws(void)
{
	struct policy_findings f = {0};
	const struct policy_finding *x = NULL;
	char *fp = fp_of(AWS_ID, 20), *sfp = fp_of(AWS_SECRET, 40);

	ok(scan_text("/root/.aws/credentials",
		     "[default]\n# made by the installer\naws_access_key_id = " AWS_ID "\naws_secret_access_key = " AWS_SECRET
		     "\n",
		     &f) == 1,
	   "a credentials file: one finding");
	x = find(&f, "secret.aws_access_key");
	ok(x && x->severity == POLICY_SEV_CRITICAL && x->line == 3, "critical (id with its secret), line 3");
	ok(x && strstr(x->evidence, "AKIA...QR3T") && strstr(x->evidence, "line 4") && strstr(x->evidence, fp) &&
		   strstr(x->evidence, sfp),
	   "evidence: first and last 4, the secret's line, both fingerprints: %s", x ? x->evidence : "");
	ok(x && !strstr(x->evidence, "J2Q7ZX4LMN5P") && leaks_nothing(&f, AWS_SECRET) && leaks_nothing(&f, AWS_ID + 4),
	   "neither the id's middle nor the secret is in the finding");
	policy_findings_free(&f);

	ok(scan_text("/opt/app/env", "export AWS_SECRET_ACCESS_KEY=\"" AWS_SECRET "\"\nexport AWS_ACCESS_KEY_ID=\"" AWS_ID
		     "\"\n", &f) == 1 && (x = find(&f, "secret.aws_access_key")) && x->severity == POLICY_SEV_CRITICAL &&
		   x->line == 2,
	   "the secret on the line before, shell style: critical");
	policy_findings_free(&f);
	ok(scan_text("/opt/app/conf", "{\"key\": \"ASIAJ2Q7ZX4LMN5PQR3T\"}\n", &f) == 1 &&
		   (x = find(&f, "secret.aws_access_key")) && x->severity == POLICY_SEV_HIGH &&
		   strstr(x->evidence, "ASIA...QR3T") && strstr(x->evidence, "temporary"),
	   "an id alone (ASIA): high: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	ok(scan_text("/opt/app/far", "id=" AWS_ID "\n1\n2\n3\n4\naws_secret_access_key=" AWS_SECRET "\n", &f) == 1 &&
		   f.v[0].severity == POLICY_SEV_HIGH,
	   "a secret 5 lines away is not its pair: high");
	policy_findings_free(&f);
	ok(scan_text("/opt/app/noname", "id=" AWS_ID "\nchecksum=" AWS_SECRET "\n", &f) == 1 &&
		   f.v[0].severity == POLICY_SEV_HIGH,
	   "a 40-character string with no secret-key name near: high");
	policy_findings_free(&f);

	ok(scan_text("/a", "AKIAJ2Q7ZX4LMN5PQR3\n", &f) == 0, "15 characters after AKIA: no finding");
	ok(scan_text("/b", "AKIAJ2Q7ZX4LMN5PQR3TX\n", &f) == 0, "a longer word: no finding");
	ok(scan_text("/c", "XAKIAJ2Q7ZX4LMN5PQR3T\n", &f) == 0, "inside a word: no finding");
	ok(scan_text("/d", "AKIAj2q7zx4lmn5pqr3t\n", &f) == 0, "lowercase: no finding");
	ok(scan_text("/e", "AKIAJ2Q7ZX4LMN1PQR3T\n", &f) == 0, "a 1 (not base32): no finding");
	ok(scan_text("/f", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " AWS_SECRET "\n", &f) == 0,
	   "AWS's documentation example id (AKIAIOSFODNN7EXAMPLE): no finding");
	ok(f.n == 0, "no finding from the near misses");
	policy_findings_free(&f);
	free(fp);
	free(sfp);
}

static void test_tokens(void)
{
	struct policy_findings f = {0};
	const struct policy_finding *x = NULL;
	const char *ghp = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
	const char *pat = "github_pat_11ABCDEFG0123456789abc_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW";
	const char *slack = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
	char *t = pib_asprintf("token: %s\nGITHUB_TOKEN=%s\nslack: \"%s\"\n", ghp, pat, slack), *fp = fp_of(ghp, strlen(ghp));

	ok(scan_text("/etc/app.yml", t, &f) == 3, "a GitHub token, a fine-grained PAT and a Slack token: 3 findings");
	x = find(&f, "secret.github_token");
	ok(x && x->severity == POLICY_SEV_HIGH && x->line == 1 && strstr(x->evidence, "ghp_") && strstr(x->evidence, fp),
	   "ghp_: high, line 1, fingerprint: %s", x ? x->evidence : "");
	ok(count(&f, "secret.github_token") == 2 && strstr(f.v[1].evidence, "github_pat_") && f.v[1].line == 2,
	   "github_pat_: line 2");
	x = find(&f, "secret.slack_token");
	ok(x && x->severity == POLICY_SEV_HIGH && x->line == 3 && strstr(x->evidence, "xoxb-"), "xoxb-: high, line 3");
	ok(leaks_nothing(&f, ghp + 4) && leaks_nothing(&f, pat + 11) && leaks_nothing(&f, slack + 5),
	   "no token's value in the findings");
	policy_findings_free(&f);
	free(t);
	free(fp);

	ok(scan_text("/a", "ghp_0123456789abcdefghijABCDEFGHIJ01234\n", &f) == 0, "35 characters after ghp_: no finding");
	ok(scan_text("/b", "xghp_0123456789abcdefghijABCDEFGHIJ012345\n", &f) == 0, "inside a word: no finding");
	ok(scan_text("/c", "ghx_0123456789abcdefghijABCDEFGHIJ012345\n", &f) == 0, "ghx_: no finding");
	ok(scan_text("/d", "Set SLACK_TOKEN to your xoxb-token here.\n", &f) == 0, "xoxb-token in a sentence: no finding");
	ok(scan_text("/e", "see github_pat_ in the docs\n", &f) == 0, "github_pat_ alone: no finding");
	ok(f.n == 0, "no finding from the near misses");
	policy_findings_free(&f);

	/* a cap per rule: 40 tokens give 16 findings, the last saying more were not listed */
	struct pib_buf b = {0};
	for (int i = 0; i < 40; i++)
		(void)pib_buf_printf(&b, "ghp_%036d\n", i);
	ok(scan_text("/many", b.data, &f) == 16 && strstr(f.v[15].evidence, "not listed"),
	   "40 tokens: 16 findings, the last says more are not listed");
	policy_findings_free(&f);
	pib_buf_free(&b);
}

static void test_gcp_putty(void)
{
	struct policy_findings f = {0};
	const struct policy_finding *x = NULL;
	static const char sa[] = "{\n  \"type\": \"service_account\",\n  \"project_id\": \"unit\",\n"
				 "  \"private_key_id\": \"0123\",\n"
				 "  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n"
				 "-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"a@unit.iam.gserviceaccount.com\"\n}\n";

	ok(scan_text("/opt/app/sa.json", sa, &f) == 1 && (x = find(&f, "secret.gcp_service_account")) &&
		   x->severity == POLICY_SEV_CRITICAL && x->line == 2 && strstr(x->evidence, "line 5"),
	   "a service account key: critical, line 2, private_key on line 5: %s", f.n ? f.v[0].evidence : "");
	ok(leaks_nothing(&f, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"), "no part of the key in it");
	policy_findings_free(&f);
	ok(scan_text("/a.json", "{\"type\": \"authorized_user\", \"private_key\": \"x\"}", &f) == 0,
	   "another type: no finding");
	ok(scan_text("/b.json", "{\"type\": \"service_account\", \"client_email\": \"x\"}", &f) == 0,
	   "no private_key: no finding");
	ok(scan_text("/c.txt", "accounts of type \"service_account\" need a \"private_key\"", &f) == 0,
	   "a sentence: no finding");

	/* PuTTY: a v3 file around a real public key blob (puttygen is rarely installed) */
	char *k = p("pk"), *kp = p("pk.pub"), *fp = NULL;
	const char *g[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k, NULL};
	if (!have("ssh-keygen") || !run(g)) {
		printf("ok %d - # SKIP ssh-keygen is not installed\n", ++tap_n);
	} else {
		char *pub = slurp(kp, NULL), *b64 = pub ? strchr(pub, ' ') + 1 : NULL;
		if (b64)
			*strchr(b64, ' ') = '\0';
		fp = ssh_pub_fp(kp);
		char *ppk = pib_asprintf("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: unit\n"
					 "Public-Lines: 2\n%.64s\n%s\nPrivate-Lines: 1\n"
					 "AAAAIBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU\n"
					 "Private-MAC: 0000000000000000000000000000000000000000000000000000000000000000\n",
					 b64, b64 + 64);
		ok(scan_text("/home/u/key.ppk", ppk, &f) == 1 && (x = find(&f, "secret.private_key_putty")) &&
			   x->severity == POLICY_SEV_CRITICAL && strstr(x->evidence, "type ssh-ed25519") &&
			   strstr(x->evidence, fp),
		   "a PuTTY key: critical, type, fingerprint of the public blob: %s", f.n ? f.v[0].evidence : "");
		policy_findings_free(&f);
		char *enc = pib_asprintf("PuTTY-User-Key-File-2: ssh-rsa\r\nEncryption: aes256-cbc\r\nComment: x\r\n");
		ok(scan_text("/home/u/enc.ppk", enc, &f) == 1 && f.v[0].severity == POLICY_SEV_HIGH &&
			   strstr(f.v[0].evidence, "aes256-cbc") && strstr(f.v[0].evidence, "header line"),
		   "encrypted (CRLF lines): high: %s", f.n ? f.v[0].evidence : "");
		policy_findings_free(&f);
		free(enc);
		free(ppk);
		free(pub);
	}
	ok(scan_text("/doc", "Files start with PuTTY-User-Key-File-2: and a type.\n", &f) == 0,
	   "the magic in a sentence: no finding");
	ok(scan_text("/doc2", "PuTTY-User-Key-File-2: ssh-rsa\nthat is all\n", &f) == 0,
	   "a header with no Encryption line: no finding");
	policy_findings_free(&f);
	free(k), free(kp), free(fp);
}

static void test_bounds(void)
{
	struct policy_findings f = {0};
	size_t pad = 1u << 20;
	char *big = malloc(pad + 64);
	bool cut = false;

	memset(big, 'x', pad);
	big[pad - 1] = '\n';
	memcpy(big + pad, "key=" AWS_ID "\n", 25);
	ok(policy_secrets_scan("/big", big, pad + 25, 0, 4096, &f, &cut) == 0 && cut,
	   "a key after the byte limit: not found, and the scan says it was cut");
	ok(policy_secrets_scan("/big", big, pad + 25, 0, 2u << 20, &f, &cut) == 1 && !cut && f.v[0].line == 2,
	   "with a larger limit: found, not cut, line 2");
	policy_findings_free(&f);
	memcpy(big, "key=" AWS_ID "\n", 25);
	ok(policy_secrets_scan("/big", big, pad + 25, 0, 4096, &f, &cut) == 1 && cut &&
		   strstr(f.v[0].evidence, "only the first 4096 of 1048601 bytes"),
	   "a finding in a cut scan says so: %s", f.n ? f.v[0].evidence : "");
	policy_findings_free(&f);
	free(big);

	/* a PuTTY header whose last bytes are the Public-Lines count, in an exact-size heap copy (the count is read
	 * digit by digit within the buffer: strtoul would read on, and ASan does not watch inside libc) */
	static const char ppk_end[] = "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPublic-Lines: 12";
	char *exact = malloc(sizeof(ppk_end) - 1);
	memcpy(exact, ppk_end, sizeof(ppk_end) - 1);
	ok(policy_secrets_scan("/end.ppk", exact, sizeof(ppk_end) - 1, 0, 100, &f, NULL) == 1,
	   "a PuTTY file ending in its Public-Lines count: found");
	policy_findings_free(&f);
	free(exact);

	/* a key at the very end of the buffer, with no newline after it */
	ok(policy_secrets_scan("/end", AWS_ID, 20, 0, 100, &f, NULL) == 1, "an id filling the buffer: found");
	ok(policy_secrets_scan("/nul", "", 0, 0, 100, &f, NULL) == 0, "an empty buffer: nothing");
	policy_findings_free(&f);
}

int main(void)
{
	if (pib_mkdtemp("pib-secrets", &dir) < 0) {
		printf("Bail out! no temp dir\n");
		return 1;
	}
	test_pem();
	test_pem_documentation();
	test_openssh();
	test_pkcs12();
	test_aws();
	test_tokens();
	test_gcp_putty();
	test_bounds();
	pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
