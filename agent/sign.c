/* SPDX-License-Identifier: MIT */
/* Signed reports: Ed25519 keys, base64, DSSE PAE, the in-toto Statement and its DSSE envelope. */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct sign_key {
	EVP_PKEY *pkey;
	bool has_private;
	char keyid[65];
};

/* ------------------------------------------------------------------ keys */

/* Never prompts for a passphrase: an encrypted key is refused instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int key_finish(EVP_PKEY *pkey, bool has_private, const char *what, struct sign_key **ret,
		      struct pib_err *e)
{
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	struct sign_key *k;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		const char *type = OBJ_nid2sn(EVP_PKEY_get_id(pkey));
		EVP_PKEY_free(pkey);
		return pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.not_ed25519",
				"%s: a %s key, not Ed25519 (make one with pib-agent keygen, or "
				"openssl genpkey -algorithm ed25519)",
				what, type ? type : "non-Ed25519");
	}
	if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != sizeof(raw)) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.invalid",
				"%s: cannot read its public key", what);
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	k->pkey = pkey;
	k->has_private = has_private;
	pib_sha256_hex(raw, rawlen, k->keyid);
	*ret = k;
	return 0;
}

int sign_key_from_pem(const char *pem, size_t len, const char *what, struct sign_key **ret,
		      struct pib_err *e)
{
	BIO *bio;
	EVP_PKEY *pkey;

	if (len > SIGN_MAX_KEY_FILE)
		return pib_fail(e, -EFBIG, PIB_ERR_ENV, "key.invalid",
				"%s: too large for a PEM key", what);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey) {
		if (memmem(pem, len, "ENCRYPTED", 9))
			return pib_fail(
			    e, -EINVAL, PIB_ERR_ENV, "key.invalid",
			    "%s: an encrypted private key; give an unencrypted PKCS#8 Ed25519 key",
			    what);
		if (memmem(pem, len, "PUBLIC KEY", 10))
			return pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.invalid",
					"%s: a public key; signing needs the private key "
					"(PREFIX.key of pib-agent keygen)",
					what);
		return pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.invalid",
				"%s: not a PEM private key (expected \"-----BEGIN PRIVATE "
				"KEY-----\", PKCS#8 Ed25519)",
				what);
	}
	return key_finish(pkey, true, what, ret, e);
}

/*
 * Reads a small key file into buf (cap bytes, NUL-terminated); returns its length or -errno.
 * Not pib_read_file: its realloc would leave copies of the private key that nobody wipes.
 */
static ssize_t read_key_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t len = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len >= cap - 1) {
			r = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	r = (ssize_t)len;
out:
	close(fd);
	return r;
}

static int key_read_fail(struct pib_err *e, const char *path, ssize_t n)
{
	if (n == -EFBIG)
		return pib_fail(e, -EFBIG, PIB_ERR_ENV, "key.unreadable",
				"%s: too large for a PEM key (over %zu bytes)", path,
				SIGN_MAX_KEY_FILE);
	if (n == -EINVAL)
		return pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.unreadable", "%s: not a regular file",
				path);
	return pib_fail(e, (int)n, PIB_ERR_ENV, "key.unreadable", "%s: cannot read the key: %s",
			path, strerror((int)-n));
}

int sign_key_load(const char *path, struct sign_key **ret, struct pib_err *e)
{
	char *buf = malloc(SIGN_MAX_KEY_FILE);
	ssize_t n;
	int r;

	if (!buf)
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	n = read_key_file(path, buf, SIGN_MAX_KEY_FILE);
	if (n < 0)
		r = key_read_fail(e, path, n);
	else
		r = sign_key_from_pem(buf, (size_t)n, path, ret, e);
	OPENSSL_cleanse(buf, SIGN_MAX_KEY_FILE);
	free(buf);
	return r;
}

int sign_pubkey_load(const char *path, struct sign_key **ret, struct pib_err *e)
{
	char *buf = malloc(SIGN_MAX_KEY_FILE);
	ssize_t n;
	BIO *bio;
	EVP_PKEY *pkey = NULL;
	int r;

	if (!buf)
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	n = read_key_file(path, buf, SIGN_MAX_KEY_FILE);
	if (n < 0) {
		r = key_read_fail(e, path, n);
		goto out;
	}
	bio = BIO_new_mem_buf(buf, (int)n);
	if (!bio) {
		r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey) {
		if (strstr(buf, "PRIVATE KEY"))
			r = pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.invalid",
				     "%s: a private key; verify needs the public key (PREFIX.pub "
				     "of pib-agent keygen, or openssl pkey -in KEY -pubout)",
				     path);
		else
			r = pib_fail(e, -EINVAL, PIB_ERR_ENV, "key.invalid",
				     "%s: not a PEM public key (expected \"-----BEGIN PUBLIC "
				     "KEY-----\", Ed25519)",
				     path);
		goto out;
	}
	r = key_finish(pkey, false, path, ret, e);
out:
	OPENSSL_cleanse(buf, SIGN_MAX_KEY_FILE);
	free(buf);
	return r;
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL wipes the private bytes */
	explicit_bzero(k, sizeof(*k));
	free(k);
}

const char *sign_key_id(const struct sign_key *k)
{
	return k->keyid;
}

/* Creates path with O_EXCL and writes data; returns 0 or -errno (the file is removed on failure).
 */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = pib_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int sign_keygen(const char *prefix, char ret_keyid[65], struct pib_err *e)
{
	char *keypath = pib_asprintf("%s.key", prefix), *pubpath = pib_asprintf("%s.pub", prefix);
	EVP_PKEY *pkey = NULL;
	BIO *kb = NULL, *pb = NULL;
	char *kdata = NULL, *pdata = NULL;
	long klen = 0, plen = 0;
	struct stat st;
	struct sign_key *k = NULL;
	int r = 0;

	if (!keypath || !pubpath) {
		r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	if (lstat(keypath, &st) == 0 || lstat(pubpath, &st) == 0) {
		r = pib_fail(e, -EEXIST, PIB_ERR_ENV, "key.exists",
			     "%s already exists: refusing to overwrite a key",
			     lstat(keypath, &st) == 0 ? keypath : pubpath);
		goto out;
	}
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	kb = BIO_new(BIO_s_secmem());
	pb = BIO_new(BIO_s_mem());
	if (!pkey || !kb || !pb ||
	    PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pb, pkey) != 1) {
		ERR_clear_error();
		r = pib_fail(e, -EIO, PIB_ERR_ENV, "key.generate",
			     "cannot generate an Ed25519 key with OpenSSL");
		goto out;
	}
	klen = BIO_get_mem_data(kb, &kdata);
	plen = BIO_get_mem_data(pb, &pdata);
	r = write_new_file(keypath, kdata, (size_t)klen, 0600);
	if (r < 0) {
		r = pib_fail(
		    e, r, PIB_ERR_ENV, r == -EEXIST ? "key.exists" : "key.write", "%s: %s", keypath,
		    r == -EEXIST ? "already exists: refusing to overwrite a key" : strerror(-r));
		goto out;
	}
	r = write_new_file(pubpath, pdata, (size_t)plen, 0644);
	if (r < 0) {
		unlink(keypath);
		r = pib_fail(
		    e, r, PIB_ERR_ENV, r == -EEXIST ? "key.exists" : "key.write", "%s: %s", pubpath,
		    r == -EEXIST ? "already exists: refusing to overwrite a key" : strerror(-r));
		goto out;
	}
	r = key_finish(pkey, true, keypath, &k, e);
	pkey = NULL; /* key_finish owns it */
	if (r == 0)
		memcpy(ret_keyid, k->keyid, 65);
out:
	if (kdata && klen > 0)
		OPENSSL_cleanse(kdata, (size_t)klen);
	BIO_free(kb);
	BIO_free(pb);
	EVP_PKEY_free(pkey);
	sign_key_free(k);
	free(keypath);
	free(pubpath);
	return r;
}

/* ------------------------------------------------------------------ base64 and PAE */

char *sign_b64_encode(const void *data, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

int sign_b64_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len)
{
	/* DSSE's fields: standard or URL-safe alphabet, canonical, no white space */
	return pib_b64_decode(s, len, PIB_B64_URL | PIB_B64_STRICT, ret, ret_len);
}

int sign_pae(const char *type, const void *body, size_t body_len, struct pib_buf *out)
{
	size_t tlen = strlen(type);

	if (pib_buf_printf(out, "DSSEv1 %zu ", tlen) < 0 || pib_buf_append(out, type, tlen) < 0 ||
	    pib_buf_printf(out, " %zu ", body_len) < 0 || pib_buf_append(out, body, body_len) < 0)
		return -ENOMEM;
	return 0;
}

/* ------------------------------------------------------------------ Statement and envelope */

cJSON *sign_statement_of(const struct report_subject *subjects, size_t n, const char *predicate_type,
			const cJSON *predicate)
{
	cJSON *st = cJSON_CreateObject(), *subj;

	if (!st)
		return NULL;
	cJSON_AddStringToObject(st, "_type", SIGN_STATEMENT_TYPE);
	subj = cJSON_AddArrayToObject(st, "subject");
	for (size_t i = 0; subj && i < n; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToArray(subj, s);
		cJSON_AddStringToObject(s, "name", subjects[i].name);
		cJSON *d = cJSON_AddObjectToObject(s, "digest");
		cJSON_AddStringToObject(d, "sha256", subjects[i].sha256);
	}
	cJSON_AddStringToObject(st, "predicateType", predicate_type);
	if (!subj || !cJSON_AddItemReferenceToObject(st, "predicate", (cJSON *)predicate)) {
		cJSON_Delete(st);
		return NULL;
	}
	return st;
}

cJSON *sign_statement(const struct report *r)
{
	return sign_statement_of(r->subjects, r->n_subjects, REPORT_PREDICATE_TYPE, r->pred);
}

static int ed25519_sign(const struct sign_key *k, const struct pib_buf *pae, unsigned char sig[64],
			struct pib_err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok =
	    ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)pae->data, pae->len) == 1 &&
	    siglen == 64;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return pib_fail(e, -EIO, PIB_ERR_ENV, "sign.failed",
				"cannot sign the report with OpenSSL (Ed25519)");
	return 0;
}

static bool ed25519_verify(const struct sign_key *k, const struct pib_buf *pae,
			   const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	bool ok;

	if (siglen != 64)
		return false;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)pae->data, pae->len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int sign_envelope(const void *payload, size_t len, const char *payload_type,
		  const struct sign_key *k, char **ret, struct pib_err *e)
{
	struct pib_buf pae = {0};
	unsigned char sig[64];
	char hex[65];
	char *b64 = NULL, *text = NULL;
	cJSON *env = NULL, *sigs, *d;
	int r = 0;

	if (k && !k->has_private)
		return pib_fail(e, -EINVAL, PIB_ERR_ENV, "sign.failed", "a public key cannot sign");
	if (k) {
		if (sign_pae(payload_type, payload, len, &pae) < 0) {
			r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			goto out;
		}
		r = ed25519_sign(k, &pae, sig, e);
		if (r < 0)
			goto out;
	}
	b64 = sign_b64_encode(payload, len);
	env = cJSON_CreateObject();
	if (!b64 || !env) {
		r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	cJSON_AddStringToObject(env, "payload", b64);
	cJSON_AddStringToObject(env, "payloadType", payload_type);
	sigs = cJSON_AddArrayToObject(env, "signatures");
	if (k) {
		char *sb = sign_b64_encode(sig, sizeof(sig));
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToArray(sigs, s);
		cJSON_AddStringToObject(s, "keyid", k->keyid);
		cJSON_AddStringToObject(s, "sig", sb ? sb : "");
		free(sb);
	}
	pib_sha256_hex(payload, len, hex);
	d = cJSON_AddObjectToObject(env, "payloadDigest");
	cJSON_AddStringToObject(d, "sha256", hex);
	text = cJSON_Print(env);
	if (!text) {
		r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	*ret = text;
out:
	cJSON_Delete(env);
	free(b64);
	pib_buf_free(&pae);
	return r;
}

int sign_report(const struct report *r, const struct sign_key *k, char **ret, struct pib_err *e)
{
	cJSON *st = sign_statement(r);
	char *payload;
	int rc;

	if (!st)
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	payload = cJSON_PrintUnformatted(st); /* serialised once: these bytes are signed and sent */
	cJSON_Delete(st);
	if (!payload)
		return pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	rc = sign_envelope(payload, strlen(payload), SIGN_PAYLOAD_TYPE, k, ret, e);
	free(payload);
	return rc;
}

/* ------------------------------------------------------------------ verification */

void sign_verified_free(struct sign_verified *v)
{
	cJSON_Delete(v->statement);
	free(v->payload);
	memset(v, 0, sizeof(*v));
}

/* The parsed envelope, before anything in it is trusted. */
struct envelope {
	cJSON *root;
	const char *payload_type;
	unsigned char *payload;
	size_t payload_len;
	cJSON *signatures;
	const char *digest_hint; /* payloadDigest.sha256, or NULL */
};

static void envelope_free(struct envelope *env)
{
	cJSON_Delete(env->root);
	free(env->payload);
}

#define MALFORMED(...) pib_fail(e, -EBADMSG, PIB_ERR_FINDINGS, "report.malformed", __VA_ARGS__)

static int envelope_parse(const char *text, size_t len, struct envelope *env, struct pib_err *e)
{
	const char *end = NULL;
	cJSON *p, *t, *s, *d;

	memset(env, 0, sizeof(*env));
	env->root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!env->root)
		return MALFORMED("not a report: not JSON (near byte %zu)",
				 end && end >= text ? (size_t)(end - text) : (size_t)0);
	if (!cJSON_IsObject(env->root))
		return MALFORMED("not a report: not a DSSE envelope (a JSON object with payload, "
				 "payloadType and signatures)");
	p = cJSON_GetObjectItemCaseSensitive(env->root, "payload");
	t = cJSON_GetObjectItemCaseSensitive(env->root, "payloadType");
	s = cJSON_GetObjectItemCaseSensitive(env->root, "signatures");
	if (!p && !t && cJSON_GetObjectItemCaseSensitive(env->root, "predicate"))
		return MALFORMED(
		    "not a DSSE envelope: a bare in-toto Statement, which carries no signature");
	if (!p && !t && cJSON_GetObjectItemCaseSensitive(env->root, "steps"))
		return MALFORMED(
		    "not a DSSE envelope: a bare report predicate, which carries no signature");
	if (!cJSON_IsString(p))
		return MALFORMED("not a DSSE envelope: \"payload\" is missing or not a string");
	if (!cJSON_IsString(t))
		return MALFORMED("not a DSSE envelope: \"payloadType\" is missing or not a string");
	if (!cJSON_IsArray(s))
		return MALFORMED("not a DSSE envelope: \"signatures\" is missing or not a list");
	cJSON_ArrayForEach(d, s)
	{
		cJSON *sig = cJSON_GetObjectItemCaseSensitive(d, "sig"),
		      *kid = cJSON_GetObjectItemCaseSensitive(d, "keyid");
		if (!cJSON_IsObject(d) || !cJSON_IsString(sig) ||
		    (kid && !cJSON_IsString(kid) && !cJSON_IsNull(kid)))
			return MALFORMED("not a DSSE envelope: each signature must be an object "
					 "with a string \"sig\" (and a string \"keyid\")");
	}
	env->payload_type = t->valuestring;
	env->signatures = s;
	if (sign_b64_decode(p->valuestring, strlen(p->valuestring), &env->payload,
			    &env->payload_len) < 0)
		return MALFORMED(
		    "the payload is not valid base64: the report was damaged or changed");
	d = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(env->root, "payloadDigest"), "sha256");
	if (cJSON_IsString(d))
		env->digest_hint = d->valuestring;
	return 0;
}

static const char *sig_keyid(const cJSON *sig)
{
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(sig, "keyid");
	return cJSON_IsString(kid) ? kid->valuestring : "";
}

/* Checks that verified payload bytes are an in-toto Statement of a pib-agent report (or of its SBOM). */
static int statement_check(const unsigned char *payload, size_t len, cJSON **ret, struct pib_err *e)
{
	cJSON *st = cJSON_ParseWithLength((const char *)payload, len), *t, *pt, *pr, *sub;
	const char *why = NULL;

	if (!st)
		why = "the payload is not JSON";
	else if (!cJSON_IsObject(st))
		why = "the payload is not a JSON object";
	else if (!cJSON_IsString(t = cJSON_GetObjectItemCaseSensitive(st, "_type")) ||
		 strcmp(t->valuestring, SIGN_STATEMENT_TYPE))
		why = "_type is not " SIGN_STATEMENT_TYPE;
	else if (!cJSON_IsString(pt = cJSON_GetObjectItemCaseSensitive(st, "predicateType")) ||
		 (strcmp(pt->valuestring, REPORT_PREDICATE_TYPE) && strcmp(pt->valuestring, SIGN_SBOM_PREDICATE_TYPE)))
		why = "predicateType is not " REPORT_PREDICATE_TYPE " (nor " SIGN_SBOM_PREDICATE_TYPE ")";
	else if (!cJSON_IsObject(pr = cJSON_GetObjectItemCaseSensitive(st, "predicate")))
		why = "predicate is not an object";
	else if (!cJSON_IsArray(sub = cJSON_GetObjectItemCaseSensitive(st, "subject")))
		why = "subject is not a list";
	if (why) {
		cJSON_Delete(st);
		return pib_fail(
		    e, -EBADMSG, PIB_ERR_FINDINGS, "report.not_statement",
		    "the signature is valid, but the payload is not a pib-agent report: %s", why);
	}
	*ret = st;
	return 0;
}

static char *dup_payload(const unsigned char *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

#define REJECT(code, ...) pib_fail(e, -EBADMSG, PIB_ERR_FINDINGS, code, __VA_ARGS__)

int sign_verify(const char *text, size_t len, const struct sign_key *k, struct sign_verified *ret,
		struct pib_err *e)
{
	struct envelope env;
	struct pib_buf pae = {0};
	const cJSON *s, *valid = NULL, *ours = NULL;
	bool any_keyid = false, ours_bad_form = false;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = envelope_parse(text, len, &env, e);
	if (r < 0)
		goto out;
	ret->n_signatures = (size_t)cJSON_GetArraySize(env.signatures);
	if (ret->n_signatures == 0) {
		r = REJECT("report.unsigned", "the report is unsigned (its signatures list is "
					      "empty): nothing vouches for it");
		goto out;
	}
	if (sign_pae(env.payload_type, env.payload, env.payload_len, &pae) < 0) {
		r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	/* the signature over the exact bytes first; nothing of the payload is read before */
	cJSON_ArrayForEach(s, env.signatures)
	{
		const char *sb = cJSON_GetObjectItemCaseSensitive(s, "sig")->valuestring,
			   *kid = sig_keyid(s);
		unsigned char *sig = NULL;
		size_t siglen = 0;
		bool good = sign_b64_decode(sb, strlen(sb), &sig, &siglen) == 0 &&
			    ed25519_verify(k, &pae, sig, siglen);

		if (kid[0])
			any_keyid = true;
		if (!strcmp(kid, k->keyid) && !ours) {
			ours = s;
			ours_bad_form = !sig || siglen != 64;
		}
		free(sig);
		if (good) {
			valid = s;
			break;
		}
	}
	if (valid) {
		if (strcmp(env.payload_type, SIGN_PAYLOAD_TYPE)) {
			r = REJECT("report.not_statement",
				   "the signature is valid, but payloadType is \"%.200s\", not "
				   "\"" SIGN_PAYLOAD_TYPE "\": not a pib-agent report",
				   env.payload_type);
			goto out;
		}
		r = statement_check(env.payload, env.payload_len, &ret->statement, e);
		if (r < 0)
			goto out;
		ret->payload = dup_payload(env.payload, env.payload_len);
		if (!ret->payload) {
			r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			goto out;
		}
		ret->payload_len = env.payload_len;
		memcpy(ret->keyid, k->keyid, 65);
		goto out;
	}

	/* no signature verifies: say what most likely changed (the hints only explain, never
	 * accept) */
	char hex[65];
	pib_sha256_hex(env.payload, env.payload_len, hex);
	if (strcmp(env.payload_type, SIGN_PAYLOAD_TYPE))
		r = REJECT("report.payload_type_changed",
			   "payloadType was changed: it is \"%.200s\", the agent signs "
			   "\"" SIGN_PAYLOAD_TYPE "\", and the signature does not verify",
			   env.payload_type);
	else if (!ours && any_keyid)
		r = REJECT("report.other_key",
			   "signed by another key: the report's keyid is %.64s, the key given has "
			   "keyid %s, and the signature does not verify with it",
			   sig_keyid(cJSON_GetArrayItem(env.signatures, 0)), k->keyid);
	else if (env.digest_hint && strcmp(env.digest_hint, hex))
		r = REJECT("report.payload_changed",
			   "the payload was changed after signing: its SHA-256 is %s, the signed "
			   "one was %.64s; the signature does not verify",
			   hex, env.digest_hint);
	else if (ours_bad_form)
		r = REJECT(
		    "report.signature_changed",
		    "the signature was changed: it is not a base64 64-byte Ed25519 signature");
	else if (env.digest_hint)
		r = REJECT("report.signature_changed",
			   "the signature was changed: the payload, payloadType and keyid are as "
			   "signed, but the signature does not verify");
	else
		r = REJECT(
		    "report.bad_signature",
		    "the signature does not verify: the payload or the signature was changed");
out:
	if (r < 0)
		sign_verified_free(ret);
	envelope_free(&env);
	pib_buf_free(&pae);
	return r;
}

int sign_open_unverified(const char *text, size_t len, struct sign_verified *ret, struct pib_err *e)
{
	struct envelope env;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = envelope_parse(text, len, &env, e);
	if (r == 0) {
		ret->n_signatures = (size_t)cJSON_GetArraySize(env.signatures);
		if (ret->n_signatures)
			snprintf(ret->keyid, sizeof(ret->keyid), "%s",
				 sig_keyid(cJSON_GetArrayItem(env.signatures, 0)));
		ret->statement = cJSON_ParseWithLength((const char *)env.payload, env.payload_len);
		ret->payload = dup_payload(env.payload, env.payload_len);
		ret->payload_len = env.payload_len;
		if (!cJSON_IsObject(ret->statement) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ret->statement, "predicate")))
			r = MALFORMED(
			    "the payload is not an in-toto Statement with a predicate object");
		else if (!ret->payload)
			r = pib_fail(e, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if (r < 0)
		sign_verified_free(ret);
	envelope_free(&env);
	return r;
}
