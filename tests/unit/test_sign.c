/* SPDX-License-Identifier: MIT */
/* Unit tests of agent/sign.c: base64, PAE, keys, keygen, the Statement, the envelope, verification
 * and every rejection. */
#include "sign.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

/* RFC 8032 section 7.1, test 1: the key, as PKCS#8 and SubjectPublicKeyInfo PEM. */
static const char rfc_key[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
			      "-----END PRIVATE KEY-----\n";
static const char rfc_pub[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
			      "-----END PUBLIC KEY-----\n";
/* SHA-256 of the raw public key d75a9801…511a */
#define RFC_KEYID "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
/* Ed25519 over PAE("application/vnd.in-toto+json", {"hello":"world"}) with that key, made by
 * python3-cryptography */
#define RFC_SIG                                                                                    \
	"8Z+Ul4Od6melJRaAKdrZYj8OzivgSSf58nKSDtTcWMbnhOQqt8+DsTXKG1cCGOc7DQgIpg0/gZIp5vavhevKDA=="

static char *dir;

static char *path_in(const char *name)
{
	return pib_asprintf("%s/%s", dir, name);
}

static void put(const char *name, const char *text)
{
	char *p = path_in(name);
	if (pib_write_file(p, text, strlen(text), 0600) < 0)
		printf("# cannot write %s\n", p);
	free(p);
}

static void test_base64(void)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",	      "Zg==",	  "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	unsigned char *d = NULL;
	size_t n = 0;

	for (int i = 0; i < 7; i++) {
		char *e = sign_b64_encode(plain[i], strlen(plain[i]));
		ok(e && !strcmp(e, enc[i]), "base64 of \"%s\" is \"%s\" (RFC 4648)", plain[i],
		   enc[i]);
		free(e);
		ok(sign_b64_decode(enc[i], strlen(enc[i]), &d, &n) == 0 && n == strlen(plain[i]) &&
		       !memcmp(d, plain[i], n),
		   "\"%s\" decodes to \"%s\"", enc[i], plain[i]);
		free(d);
		d = NULL;
	}
	ok(sign_b64_decode("Zm9vYg", 6, &d, &n) == 0 && n == 4 && !memcmp(d, "foob", 4),
	   "padding is optional");
	free(d);
	ok(sign_b64_decode("-_8=", 4, &d, &n) == 0 && n == 2 && d[0] == 0xfb && d[1] == 0xff,
	   "URL-safe base64 decodes");
	free(d);
	ok(sign_b64_decode("+/8=", 4, &d, &n) == 0 && n == 2 && d[0] == 0xfb && d[1] == 0xff,
	   "standard base64 decodes");
	free(d);
	d = NULL;
	static const char *const bad[] = {
	    "Zm9v!", "Zg=", "Z", "Zh==", "Zm9v\n", "Zm9v Zg==", "Zg===", "=Zg="};
	for (int i = 0; i < 8; i++)
		ok(sign_b64_decode(bad[i], strlen(bad[i]), &d, &n) == -EINVAL && !d,
		   "bad base64 #%d refused", i);
}

static void test_pae(void)
{
	struct pib_buf b = {0};
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";

	ok(sign_pae("http://example.com/HelloWorld", "hello world", 11, &b) == 0 &&
	       b.len == strlen(want) && !memcmp(b.data, want, b.len),
	   "PAE matches the DSSE protocol's example: %s", b.data ? b.data : "(null)");
	pib_buf_free(&b);
	ok(sign_pae(SIGN_PAYLOAD_TYPE, "", 0, &b) == 0 &&
	       !strcmp(b.data, "DSSEv1 28 application/vnd.in-toto+json 0 "),
	   "PAE of an empty body");
	pib_buf_free(&b);
	ok(sign_pae("t", "a\0b", 3, &b) == 0 && b.len == 16 &&
	       !memcmp(b.data, "DSSEv1 1 t 3 a\0b", 16),
	   "PAE keeps a NUL byte of the body");
	pib_buf_free(&b);
}

static void test_keys(void)
{
	struct pib_err e = {0};
	struct sign_key *k = NULL, *p = NULL;
	char *text = NULL;

	ok(sign_key_from_pem(rfc_key, strlen(rfc_key), "rfc", &k, &e) == 0,
	   "the RFC 8032 key loads from PEM");
	ok(k && !strcmp(sign_key_id(k), RFC_KEYID),
	   "its keyid is the SHA-256 of the raw public key");
	put("rfc.pub", rfc_pub);
	char *pp = path_in("rfc.pub");
	ok(sign_pubkey_load(pp, &p, &e) == 0 && !strcmp(sign_key_id(p), RFC_KEYID),
	   "the public key gives the same keyid");
	if (k) {
		ok(sign_envelope("{\"hello\":\"world\"}", 17, SIGN_PAYLOAD_TYPE, k, &text, &e) ==
			   0 &&
		       text && strstr(text, "\"sig\":\t\"" RFC_SIG "\""),
		   "the signature is the one python3-cryptography makes over the same PAE (known "
		   "answer)");
		ok(text && strstr(text, "\"keyid\":\t\"" RFC_KEYID "\""),
		   "the envelope names the keyid");
		ok(text && strstr(text, "\"payload\":\t\"eyJoZWxsbyI6IndvcmxkIn0=\""),
		   "the payload is standard base64");
		free(text);
		text = NULL;
	}
	ok(p && sign_envelope("x", 1, SIGN_PAYLOAD_TYPE, p, &text, &e) < 0 && !text,
	   "a public key cannot sign");
	pib_err_clear(&e);
	sign_key_free(k);
	sign_key_free(p);
	k = p = NULL;

	/* failures, each with its code and the file named */
	char *missing = path_in("nope.key");
	ok(sign_key_load(missing, &k, &e) == -ENOENT && !strcmp(e.code, "key.unreadable") &&
	       e.cls == PIB_ERR_ENV && strstr(e.msg, missing),
	   "a missing key: key.unreadable naming the file (%s)", e.msg);
	pib_err_clear(&e);
	ok(sign_key_load(dir, &k, &e) < 0 && !strcmp(e.code, "key.unreadable"),
	   "a directory: key.unreadable (%s)", e.msg);
	pib_err_clear(&e);
	ok(sign_key_from_pem("hello", 5, "junk", &k, &e) < 0 && !strcmp(e.code, "key.invalid"),
	   "not PEM: key.invalid (%s)", e.msg);
	pib_err_clear(&e);
	ok(sign_key_load(pp, &k, &e) < 0 && !strcmp(e.code, "key.invalid") &&
	       strstr(e.msg, "public key"),
	   "a public key given to sign: key.invalid (%s)", e.msg);
	pib_err_clear(&e);
	put("rfc.key", rfc_key);
	char *kp = path_in("rfc.key");
	ok(sign_pubkey_load(kp, &p, &e) < 0 && !strcmp(e.code, "key.invalid") &&
	       strstr(e.msg, "private key"),
	   "a private key given to verify: key.invalid (%s)", e.msg);
	pib_err_clear(&e);

	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	PEM_write_bio_PrivateKey(bio, x, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	ok(sign_key_from_pem(data, (size_t)n, "x25519", &k, &e) < 0 &&
	       !strcmp(e.code, "key.not_ed25519"),
	   "an X25519 key: key.not_ed25519 (%s)", e.msg);
	pib_err_clear(&e);
	BIO_free(bio);
	bio = BIO_new(BIO_s_mem());
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	PEM_write_bio_PKCS8PrivateKey(bio, ed, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"secret");
	n = BIO_get_mem_data(bio, &data);
	ok(sign_key_from_pem(data, (size_t)n, "enc", &k, &e) < 0 &&
	       !strcmp(e.code, "key.invalid") && strstr(e.msg, "encrypted"),
	   "an encrypted key is refused without asking for a passphrase (%s)", e.msg);
	pib_err_clear(&e);
	BIO_free(bio);
	EVP_PKEY_free(x);
	EVP_PKEY_free(ed);
	free(missing);
	free(pp);
	free(kp);
}

static void test_keygen(void)
{
	struct pib_err e = {0};
	char keyid[65] = "", *prefix = path_in("gen"), *kp = path_in("gen.key"),
	     *pp = path_in("gen.pub");
	struct sign_key *k = NULL, *p = NULL;
	struct stat st;

	ok(sign_keygen(prefix, keyid, &e) == 0 && pib_is_hex64(keyid),
	   "keygen makes a key pair (%s)", keyid);
	ok(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600, "PREFIX.key has mode 0600");
	ok(stat(pp, &st) == 0 && (st.st_mode & 0777) == 0644, "PREFIX.pub has mode 0644");
	ok(sign_key_load(kp, &k, &e) == 0 && !strcmp(sign_key_id(k), keyid),
	   "PREFIX.key loads, same keyid");
	ok(sign_pubkey_load(pp, &p, &e) == 0 && !strcmp(sign_key_id(p), keyid),
	   "PREFIX.pub loads, same keyid");
	char *before = NULL, *after = NULL;
	size_t lb = 0, la = 0;
	(void)!pib_read_file(kp, 4096, &before, &lb);
	ok(sign_keygen(prefix, keyid, &e) == -EEXIST && !strcmp(e.code, "key.exists"),
	   "keygen refuses to overwrite (%s)", e.msg);
	pib_err_clear(&e);
	(void)!pib_read_file(kp, 4096, &after, &la);
	ok(before && after && lb == la && !memcmp(before, after, lb),
	   "the existing key is untouched");
	free(before);
	free(after);
	unlink(kp);
	ok(sign_keygen(prefix, keyid, &e) == -EEXIST && stat(kp, &st) < 0,
	   "with only PREFIX.pub there, keygen refuses and writes no PREFIX.key");
	pib_err_clear(&e);
	char *bad = pib_asprintf("%s/no/such/dir/k", dir);
	ok(sign_keygen(bad, keyid, &e) < 0 && !strcmp(e.code, "key.write"),
	   "an unwritable prefix: key.write (%s)", e.msg);
	pib_err_clear(&e);
	free(bad);
	sign_key_free(k);
	sign_key_free(p);
	free(prefix);
	free(kp);
	free(pp);
}

static struct report *sample_report(void)
{
	struct report *r = report_new("validate");
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "sha256",
				"d34d97572a40d9de2e5c0902192ec8d3576215bbc672c7c6027fa44661148ea6");
	report_set(r, "bundle", b);
	report_step_begin(r, "open");
	report_step_end(r, NULL);
	report_step_skip(r, "install", "no --root given", true);
	if (report_add_subject(r, "bundle",
			       "d34d97572a40d9de2e5c0902192ec8d3576215bbc672c7c6027fa44661148ea6") <
		0 ||
	    report_add_subject(r, "debs/hello.deb",
			       "35b1508eeee9c1dfba798c4c04304ef0f266990f936a51f165571edf53325cbc") <
		0)
		printf("# out of memory\n");
	report_finish(r);
	return r;
}

/* Applies one change to an envelope's JSON; returns the new text. */
static char *tamper(const char *text, const char *what, const char *keyid)
{
	cJSON *env = cJSON_Parse(text), *sigs = cJSON_GetObjectItem(env, "signatures"),
	      *s0 = cJSON_GetArrayItem(sigs, 0);
	unsigned char *d = NULL;
	size_t n = 0;
	char *out;

	if (!strcmp(what, "payload") || !strcmp(what, "signature")) {
		cJSON *f = !strcmp(what, "payload") ? cJSON_GetObjectItem(env, "payload")
						    : cJSON_GetObjectItem(s0, "sig");
		if (sign_b64_decode(f->valuestring, strlen(f->valuestring), &d, &n) == 0) {
			d[n / 2] ^= 1;
			char *e = sign_b64_encode(d, n);
			cJSON_SetValuestring(f, e);
			free(e);
		}
		free(d);
	} else if (!strcmp(what, "payloadType")) {
		cJSON_SetValuestring(cJSON_GetObjectItem(env, "payloadType"),
				     "application/vnd.in-toto+jsoo");
	} else if (!strcmp(what, "keyid")) {
		cJSON_SetValuestring(cJSON_GetObjectItem(s0, "keyid"), keyid);
	} else if (!strcmp(what, "unsign")) {
		cJSON_ReplaceItemInObject(env, "signatures", cJSON_CreateArray());
	} else if (!strcmp(what, "short-sig")) {
		cJSON_SetValuestring(cJSON_GetObjectItem(s0, "sig"), "AAAA");
	} else if (!strcmp(what, "no-hint")) {
		cJSON_DeleteItemFromObject(env, "payloadDigest");
	}
	out = cJSON_Print(env);
	cJSON_Delete(env);
	return out;
}

static const char *verify_code(const char *text, const struct sign_key *pub)
{
	static struct pib_err e;
	struct sign_verified v;

	pib_err_clear(&e);
	if (sign_verify(text, strlen(text), pub, &v, &e) == 0) {
		sign_verified_free(&v);
		return "valid";
	}
	ok(v.statement == NULL && v.payload == NULL, "nothing unverified is handed back (%s)",
	   e.code);
	printf("#   %s: %s\n", e.code, e.msg);
	return e.code;
}

static void test_envelope(void)
{
	struct pib_err e = {0};
	struct sign_key *k = NULL, *pub = NULL, *other = NULL;
	struct report *r = sample_report();
	struct sign_verified v;
	char *text = NULL, *t;
	char *pp = path_in("rfc.pub"), *op = path_in("gen.pub"), *okp = path_in("other");
	char keyid[65];

	if (sign_key_from_pem(rfc_key, strlen(rfc_key), "rfc", &k, &e) < 0 ||
	    sign_pubkey_load(pp, &pub, &e) < 0 || sign_keygen(okp, keyid, &e) < 0) {
		ok(0, "test keys: %s", e.msg);
		return;
	}
	char *okpub = pib_asprintf("%s.pub", okp);
	(void)!sign_pubkey_load(okpub, &other, &e);
	free(okpub);

	/* the Statement */
	cJSON *st = sign_statement(r);
	ok(st && !strcmp(cJSON_GetObjectItem(st, "_type")->valuestring, SIGN_STATEMENT_TYPE),
	   "_type is Statement v1");
	ok(st && !strcmp(cJSON_GetObjectItem(st, "predicateType")->valuestring,
			 REPORT_PREDICATE_TYPE),
	   "predicateType is the report's");
	cJSON *s1 = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "subject"), 1);
	ok(s1 && !strcmp(cJSON_GetObjectItem(s1, "name")->valuestring, "debs/hello.deb") &&
	       !strcmp(
		   cJSON_GetObjectItem(cJSON_GetObjectItem(s1, "digest"), "sha256")->valuestring,
		   "35b1508eeee9c1dfba798c4c04304ef0f266990f936a51f165571edf53325cbc"),
	   "subjects carry name and digest.sha256");
	ok(st && cJSON_Compare(cJSON_GetObjectItem(st, "predicate"), r->pred, true),
	   "the predicate is the report's");
	cJSON_Delete(st);
	ok(cJSON_GetObjectItem(r->pred, "status") != NULL,
	   "the report's predicate survives the Statement's deletion");

	/* sign and verify */
	ok(sign_report(r, k, &text, &e) == 0 && text, "sign_report makes an envelope");
	ok(sign_verify(text, strlen(text), pub, &v, &e) == 0, "it verifies (%s)", e.msg);
	ok(v.statement && !strcmp(v.keyid, RFC_KEYID) && v.n_signatures == 1,
	   "verified: the Statement and keyid");
	char *compact = v.statement ? cJSON_PrintUnformatted(v.statement) : NULL;
	ok(compact && strlen(compact) == v.payload_len &&
	       !memcmp(compact, v.payload, v.payload_len),
	   "the payload is the Statement serialised once, compact");
	free(compact);
	cJSON *pr = cJSON_GetObjectItem(v.statement, "predicate");
	ok(cJSON_Compare(pr, r->pred, true), "the verified predicate is the report's");
	sign_verified_free(&v);
	pib_err_clear(&e);

	/* each tampering has its own code */
	struct {
		const char *what, *code;
	} cases[] = {
	    {"payload", "report.payload_changed"},
	    {"payloadType", "report.payload_type_changed"},
	    {"signature", "report.signature_changed"},
	    {"unsign", "report.unsigned"},
	    {"short-sig", "report.signature_changed"},
	    {"keyid", "valid"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = tamper(text, cases[i].what,
			   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		const char *code = verify_code(t, pub);
		ok(!strcmp(code, cases[i].code), "%s changed: %s", cases[i].what, code);
		free(t);
	}
	ok(other && !strcmp(verify_code(text, other), "report.other_key"),
	   "another key: report.other_key");
	/* no hint: the failure is still caught, just less precisely */
	t = tamper(text, "no-hint", NULL);
	char *t2 = tamper(t, "payload", NULL);
	ok(!strcmp(verify_code(t2, pub), "report.bad_signature"),
	   "payload changed, no payloadDigest: report.bad_signature");
	ok(!strcmp(verify_code(t, pub), "valid"), "payloadDigest is not needed to verify");
	free(t);
	free(t2);
	/* the hint cannot make a changed report pass */
	t = tamper(text, "payload", NULL);
	cJSON *j = cJSON_Parse(t);
	unsigned char *d = NULL;
	size_t n = 0;
	char hex[65];
	if (sign_b64_decode(cJSON_GetObjectItem(j, "payload")->valuestring,
			    strlen(cJSON_GetObjectItem(j, "payload")->valuestring), &d, &n) == 0)
		pib_sha256_hex(d, n, hex);
	free(d);
	cJSON_SetValuestring(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "payloadDigest"), "sha256"),
			     hex);
	free(t);
	t = cJSON_Print(j);
	cJSON_Delete(j);
	ok(!strcmp(verify_code(t, pub), "report.signature_changed"),
	   "payload changed with a matching forged hint: rejected");
	free(t);

	/* malformed */
	static const char *const malformed[] = {
	    "",
	    "not json",
	    "[1,2]",
	    "{\"payloadType\":\"x\",\"signatures\":[]}",
	    "{\"payload\":\"e30=\",\"signatures\":[]}",
	    "{\"payload\":\"e30=\",\"payloadType\":\"x\"}",
	    "{\"payload\":\"e30!\",\"payloadType\":\"x\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
	    "{\"payload\":\"e30=\",\"payloadType\":\"x\",\"signatures\":[{\"keyid\":\"k\"}]}",
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{}}",
	    "{\"status\":\"ok\",\"steps\":[]}",
	    "{\"payload\":\"e30=\",\"payloadType\":\"x\",\"signatures\":[1]}",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		ok(!strcmp(verify_code(malformed[i], pub), "report.malformed"),
		   "malformed #%zu: report.malformed", i);

	/* signed, but not a pib-agent report */
	char *o = NULL;
	ok(sign_envelope("{\"a\":1}", 7, SIGN_PAYLOAD_TYPE, k, &o, &e) == 0 &&
	       !strcmp(verify_code(o, pub), "report.not_statement"),
	   "a signed non-Statement: report.not_statement");
	free(o);
	o = NULL;
	ok(sign_envelope("{\"a\":1}", 7, "application/json", k, &o, &e) == 0 &&
	       !strcmp(verify_code(o, pub), "report.not_statement"),
	   "a validly signed other payloadType: report.not_statement");
	free(o);
	o = NULL;

	/* two signatures: another key's first, then ours */
	t = tamper(text, "keyid", keyid);
	j = cJSON_Parse(t);
	cJSON *sigs = cJSON_GetObjectItem(j, "signatures");
	cJSON *orig = cJSON_Parse(text);
	cJSON_AddItemToArray(
	    sigs,
	    cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(orig, "signatures"), 0), true));
	cJSON_SetValuestring(cJSON_GetObjectItem(cJSON_GetArrayItem(sigs, 0), "sig"), "AAAA");
	free(t);
	t = cJSON_Print(j);
	ok(!strcmp(verify_code(t, pub), "valid"), "one good signature among two is enough");
	cJSON_Delete(j);
	cJSON_Delete(orig);
	free(t);

	/* unsigned */
	ok(sign_report(r, NULL, &o, &e) == 0 && strstr(o, "\"signatures\":\t[]"),
	   "without a key: an empty signatures list");
	ok(!strcmp(verify_code(o, pub), "report.unsigned"),
	   "an unsigned report does not verify: report.unsigned");
	ok(sign_open_unverified(o, strlen(o), &v, &e) == 0 && v.n_signatures == 0 &&
	       cJSON_GetObjectItem(v.statement, "predicate"),
	   "an unsigned report can still be opened for show");
	sign_verified_free(&v);
	ok(sign_open_unverified(text, strlen(text), &v, &e) == 0 && v.n_signatures == 1 &&
	       !strcmp(v.keyid, RFC_KEYID),
	   "open_unverified reports the keyid hint");
	sign_verified_free(&v);
	free(o);

	free(text);
	free(pp);
	free(op);
	free(okp);
	sign_key_free(k);
	sign_key_free(pub);
	sign_key_free(other);
	report_free(r);
	pib_err_clear(&e);
}

int main(void)
{
	if (pib_mkdtemp("pib-test-sign", &dir) < 0) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	test_base64();
	test_pae();
	test_keys();
	test_keygen();
	test_envelope();
	pib_rm_rf(dir);
	free(dir);
	return tap_done();
}
