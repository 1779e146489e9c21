/* SPDX-License-Identifier: MIT */
/*
 * Authenticode signatures of MSI packages: the signature (the MSI's DigitalSignature stream) is
 * taken out by osslsigncode and read here with OpenSSL: the signer's subject, issuer and
 * certificate SHA-256, and its chain checked against the target's keys (a key may be the signer's
 * own certificate or any CA above it). That the signature covers the MSI's contents is then
 * judged by the exit code of `osslsigncode verify`, offline (no CRL fetch, no timestamp server),
 * given as trust only the self-signed root the chain was seen to reach; when there is no such
 * root anywhere, by comparing the signed digest with the one osslsigncode computes for a copy
 * signed with a throwaway key, and checking the signer's signature over it here.
 */
#include "authenticode.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define MAX_SIG_BYTES	(1u << 20)  /* an Authenticode PKCS#7: a few KiB, certificates included */
#define MAX_KEY_BYTES	(1u << 20)  /* one key file of the bundle */
#define MAX_KEY_CERTS	64	    /* certificates in one key file */
#define MAX_NAME_CHARS	1024	    /* a subject or issuer as reported */
#define TOOL_OUTPUT_MAX (64u << 10) /* osslsigncode's output kept (for the error's detail only) */
#define EXTRACT_TIMEOUT 120.0
#define VERIFY_TIMEOUT	600.0 /* osslsigncode hashes every stream: about 1 s per 100 MB */
#define SCAN_CHUNK	(1u << 20)
#define OLE_DIRENT	128

/*
 * The environment of osslsigncode: proxies that lead nowhere, so that a version which fetches
 * CRLs or timestamps by itself (2.9 without -ignore-crl fetches the CRL distribution points the
 * signature's certificates name) reaches no network even if a flag below is missing.
 */
static char *const tool_env[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
				 (char *)"LANG=C",
				 (char *)"LC_ALL=C",
				 (char *)"http_proxy=http://127.0.0.1:9",
				 (char *)"https_proxy=http://127.0.0.1:9",
				 (char *)"HTTP_PROXY=http://127.0.0.1:9",
				 (char *)"HTTPS_PROXY=http://127.0.0.1:9",
				 (char *)"all_proxy=http://127.0.0.1:9",
				 (char *)"ALL_PROXY=http://127.0.0.1:9",
				 NULL};

void authenticode_result_free(struct authenticode_result *res)
{
	if (!res)
		return;
	free(res->subject);
	free(res->issuer);
	res->subject = res->issuer = NULL;
}

/* name (ASCII) as an OLE directory entry's name field: UTF-16LE and its NUL; returns its length */
static size_t ole_name(const char *name, unsigned char out[OLE_DIRENT / 2])
{
	size_t nl = strlen(name);
	memset(out, 0, OLE_DIRENT / 2);
	for (size_t i = 0; i < nl; i++)
		out[2 * i] = (unsigned char)name[i];
	return 2 * (nl + 1);
}

/*
 * Whether the compound file at fd has directory entries named "\005DigitalSignature" and
 * "\005MsiDigitalSignatureEx" (streams). Directory entries are 128 bytes, and the sectors that
 * hold them start at multiples of 512, so an entry sits at a multiple of 128 in the file: its
 * name in UTF-16LE, the name's length in bytes (with the NUL) at 64, its type (2: stream) at 66.
 * Stream data that mimics one only makes an unsigned MSI look signed; osslsigncode then finds
 * no signature and it is refused.
 */
static int find_signature_entries(int fd, bool *ret_sig, bool *ret_dse)
{
	unsigned char sig[OLE_DIRENT / 2], dse[OLE_DIRENT / 2];
	size_t sl = ole_name("\005DigitalSignature", sig),
	       dl = ole_name("\005MsiDigitalSignatureEx", dse);
	*ret_sig = *ret_dse = false;

	unsigned char *buf = malloc(SCAN_CHUNK);
	if (!buf)
		return -ENOMEM;
	off_t off = 0;
	int r = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, SCAN_CHUNK, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		/* SCAN_CHUNK is a multiple of 128: entries never straddle two reads */
		for (size_t e = 0; e + OLE_DIRENT <= (size_t)n; e += OLE_DIRENT) {
			const unsigned char *d = buf + e;
			if (d[65] != 0 || d[66] != 2)
				continue;
			if (d[64] == sl && memcmp(d, sig, sl) == 0)
				*ret_sig = true;
			else if (d[64] == dl && memcmp(d, dse, dl) == 0)
				*ret_dse = true;
		}
		off += n;
		if ((size_t)n < SCAN_CHUNK)
			break;
	}
	free(buf);
	return r;
}

static char *name_text(const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (!b)
		return NULL;
	if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
		char *p = NULL;
		long n = BIO_get_mem_data(b, &p);
		if (n >= 0) {
			char *raw = pib_strndup(
			    p ? p : "", (size_t)n > MAX_NAME_CHARS ? MAX_NAME_CHARS : (size_t)n);
			out = raw ? pib_text_clean(raw, false) : NULL;
			free(raw);
		}
	}
	BIO_free(b);
	return out;
}

/* The certificates of one PEM key file (at least one), or -EINVAL. */
static int load_key_certs(const char *path, STACK_OF(X509) * *ret)
{
	char *data = NULL;
	size_t len = 0;
	int r = pib_read_file(path, MAX_KEY_BYTES, &data, &len);
	if (r < 0)
		return r;
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(data, (int)len);
	if (!sk || !b) {
		sk_X509_free(sk);
		BIO_free(b);
		free(data);
		return -ENOMEM;
	}
	X509 *x;
	while (sk_X509_num(sk) < MAX_KEY_CERTS && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = -ENOMEM;
			break;
		}
	ERR_clear_error();
	BIO_free(b);
	free(data);
	if (r == 0 && sk_X509_num(sk) == 0)
		r = -EINVAL;
	if (r < 0) {
		sk_X509_pop_free(sk, X509_free);
		return r;
	}
	*ret = sk;
	return 0;
}

/*
 * Verifies signer with trusted as the trust store and untrusted as the other certificates
 * it may chain through; partial: a trusted certificate ends the chain even when it is not
 * self-signed. On success *ret_top (when given) is the chain's last certificate (a new reference).
 */
static int chain_verify(X509 *signer, STACK_OF(X509) * trusted, const char *trusted_file,
			STACK_OF(X509) * untrusted, bool partial, X509 **ret_top, int *ret_verr)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;
	*ret_verr = X509_V_ERR_UNSPECIFIED;
	if (!st || !ctx)
		goto out;
	for (int i = 0; i < sk_X509_num(trusted); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(trusted, i)))
			goto out;
	if (trusted_file && X509_STORE_load_file(st, trusted_file) != 1)
		ERR_clear_error(); /* the system's roots are a help, not a need */
	if (partial)
		X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	if (!X509_STORE_CTX_init(ctx, st, signer, untrusted))
		goto out;
	ok = X509_verify_cert(ctx) == 1;
	*ret_verr = ok ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	if (ok && ret_top) {
		STACK_OF(X509) *ch = X509_STORE_CTX_get0_chain(ctx);
		X509 *top = sk_X509_value(ch, sk_X509_num(ch) - 1);
		if (top && X509_up_ref(top))
			*ret_top = top;
		else
			ok = 0;
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok ? 0 : -EBADMSG;
}

/* The osslsigncode to run: $PIB_OSSLSIGNCODE or the system's. */
static int find_osslsigncode(char **ret, struct pib_err *err)
{
	const char *env = getenv("PIB_OSSLSIGNCODE");
	if (env && *env) {
		/* an absolute path, or a name looked for in the system's directories (never $PATH)
		 */
		if (env[0] == '/' ? access(env, X_OK) != 0
				  : strchr(env, '/') || !(*ret = pib_find_tool(env)))
			return pib_fail(err, -ENOENT, PIB_ERR_ENV, "tool.missing",
					"PIB_OSSLSIGNCODE=%s: not an executable (an absolute path, "
					"or a name in the system's directories)",
					env);
		if (env[0] == '/')
			*ret = pib_strdup(env);
	} else {
		*ret = pib_find_tool("osslsigncode");
		if (!*ret)
			return pib_fail(
			    err, -ENOENT, PIB_ERR_ENV, "tool.missing",
			    "osslsigncode is not installed: it checks the Authenticode signatures "
			    "of MSI packages (apt-get install osslsigncode)");
	}
	return *ret ? 0 : -ENOMEM;
}

static int run_tool(char *const argv[], double timeout, struct pib_spawn_result *res)
{
	struct pib_spawn_opts so = {.env = tool_env,
				    .timeout = timeout,
				    .max_output = TOOL_OUTPUT_MAX,
				    .stdin_fd = -1,
				    .merge_output = true};
	memset(res, 0, sizeof(*res));
	return pib_spawn(argv, &so, res);
}

/* Writes certs as PEM into path (a new file of ours). */
static int write_pem(const char *path, STACK_OF(X509) * certs)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	BIO *b = BIO_new_fd(fd, BIO_CLOSE);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	int r = 0;
	for (int i = 0; i < sk_X509_num(certs) && r == 0; i++)
		if (!PEM_write_bio_X509(b, sk_X509_value(certs, i)))
			r = -EIO;
	if (BIO_flush(b) != 1)
		r = -EIO;
	BIO_free(b);
	return r;
}

struct ac_state {
	const char *path, *label;
	char *tool, *dir, *sigfile, *cafile, *empty;
	PKCS7 *p7;
	X509 *signer;		   /* a reference into p7's certificates */
	STACK_OF(X509) * *per_key; /* the certificates of each key (owned) */
	size_t n_keys;
	STACK_OF(X509) * untrusted; /* p7's certificates and the keys' (references) */
	X509 *root;    /* the self-signed end of the chain osslsigncode gets as trust */
	bool has_dse;  /* the MSI has a MsiDigitalSignatureEx stream */
	int root_verr; /* why no root was found */
};

static int extract_signature(struct ac_state *s, struct pib_err *err)
{
	struct pib_spawn_result sr;
	char *const argv[] = {s->tool,
			      (char *)"extract-signature",
			      (char *)"-in",
			      (char *)s->path,
			      (char *)"-out",
			      s->sigfile,
			      NULL};
	int r = run_tool(argv, EXTRACT_TIMEOUT, &sr);
	if (r < 0) {
		pib_spawn_result_free(&sr);
		return pib_fail(err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
				s->tool, strerror(-r));
	}
	if (sr.status != 0) {
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: its Authenticode signature cannot be read (osslsigncode "
			     "extract-signature %s %d)",
			     s->label, sr.timed_out ? "timed out," : "exited with status",
			     sr.status);
		pib_err_detail(err, sr.output.data, sr.output.len);
		pib_spawn_result_free(&sr);
		return r;
	}
	pib_spawn_result_free(&sr);

	char *der = NULL;
	size_t len = 0;
	r = pib_read_file(s->sigfile, MAX_SIG_BYTES, &der, &len);
	if (r < 0)
		return pib_fail(err, r, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: its Authenticode signature cannot be read (%s)", s->label,
				r == -EFBIG ? "over 1 MiB" : strerror(-r));
	const unsigned char *p = (const unsigned char *)der;
	s->p7 = d2i_PKCS7(NULL, &p, (long)len);
	free(der);
	ERR_clear_error();
	if (!s->p7 || !PKCS7_type_is_signed(s->p7) || !s->p7->d.sign)
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: its Authenticode signature is not a PKCS#7 SignedData",
				s->label);
	STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(s->p7);
	if (sk_PKCS7_SIGNER_INFO_num(sis) != 1)
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: its Authenticode signature has %d signers (one expected)",
				s->label, sk_PKCS7_SIGNER_INFO_num(sis));
	STACK_OF(X509) *signers = PKCS7_get0_signers(s->p7, NULL, 0);
	ERR_clear_error();
	if (!signers || sk_X509_num(signers) != 1) {
		sk_X509_free(signers);
		return pib_fail(
		    err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
		    "%s: its Authenticode signature does not carry its signer's certificate",
		    s->label);
	}
	s->signer = sk_X509_value(signers, 0);
	sk_X509_free(signers);
	return 0;
}

static int describe_signer(struct ac_state *s, struct authenticode_result *res)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	res->subject = name_text(X509_get_subject_name(s->signer));
	res->issuer = name_text(X509_get_issuer_name(s->signer));
	if (!res->subject || !res->issuer)
		return -ENOMEM;
	if (!X509_digest(s->signer, EVP_sha256(), md, &mdlen) || mdlen != 32)
		return -EIO;
	pib_hex(md, 32, res->cert_sha256);
	return 0;
}

/* The first key (in the target's order) the signer's chain ends at. */
static int match_key(struct ac_state *s, const struct authenticode_key *keys, size_t n_keys,
		     struct authenticode_result *res, struct pib_err *err)
{
	int r = 0, verr = X509_V_OK;
	s->per_key = calloc(n_keys ? n_keys : 1, sizeof(*s->per_key));
	if (!s->per_key || !(s->untrusted = sk_X509_new_null()))
		return -ENOMEM;
	s->n_keys = n_keys;
	STACK_OF(X509) *p7certs = s->p7->d.sign->cert;
	for (int i = 0; i < sk_X509_num(p7certs) && r == 0; i++)
		if (!sk_X509_push(s->untrusted, sk_X509_value(p7certs, i)))
			r = -ENOMEM;
	for (size_t k = 0; k < n_keys && r == 0; k++) {
		r = load_key_certs(keys[k].path, &s->per_key[k]);
		if (r < 0)
			return pib_fail(err, r, PIB_ERR_FAILED, "bundle.bad_key",
					"%s: not a PEM certificate (an MSI target's keys are X.509 "
					"certificates of the signer or of a CA)%s%s",
					keys[k].label, r == -EINVAL ? "" : ": ",
					r == -EINVAL ? "" : strerror(-r));
		for (int i = 0; i < sk_X509_num(s->per_key[k]) && r == 0; i++)
			if (!sk_X509_push(s->untrusted, sk_X509_value(s->per_key[k], i)))
				r = -ENOMEM;
	}
	if (r < 0)
		return r;
	for (size_t k = 0; k < n_keys && !res->key; k++)
		if (chain_verify(s->signer, s->per_key[k], NULL, s->untrusted, true, NULL, &verr) ==
		    0)
			res->key = keys[k].label;
	if (res->key)
		return 0;
	if (n_keys == 0)
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: signed by \"%s\" (certificate SHA-256 %s), but the target "
				"lists no keys to check it against",
				s->label, res->subject, res->cert_sha256);
	return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			"%s: signed by \"%s\" (issuer \"%s\", certificate SHA-256 %s), whose chain "
			"ends at none of the target's keys (%s)",
			s->label, res->subject, res->issuer, res->cert_sha256,
			X509_verify_cert_error_string(verr));
}

/* A code signing certificate: its extended key usage, when it has one, allows code signing. */
static int check_usage(struct ac_state *s, struct authenticode_result *res, struct pib_err *err)
{
	uint32_t xku = X509_get_extended_key_usage(s->signer);
	if (xku != UINT32_MAX && !(xku & XKU_CODE_SIGN))
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: signed by \"%s\", whose certificate is not for code signing "
				"(its extended key usage lacks codeSigning)",
				s->label, res->subject);
	return 0;
}

/* The system's CA certificates (Debian and Ubuntu, then the Red Hat family and SUSE). */
static const char *const system_ca_files[] = {"/etc/ssl/certs/ca-certificates.crt",
					      "/etc/pki/tls/certs/ca-bundle.crt",
					      "/etc/ssl/ca-bundle.pem", NULL};

/*
 * The trust osslsigncode gets: the self-signed root the chain reaches through the signature's
 * certificates and the keys, or else one of the system's CA certificates (osslsigncode, unlike
 * the check above, accepts only a chain that ends at a self-signed certificate). The keys
 * already decided whom to trust; this root only lets osslsigncode's chain check pass, so that
 * its exit code judges the contents. So a vendor's own certificate works as a key when its chain
 * ends at a public CA the signature does not carry. -ENOENT (and no error) when there is none.
 */
static int find_root(struct ac_state *s, struct authenticode_result *res, struct pib_err *err)
{
	STACK_OF(X509) *selfsigned = sk_X509_new_null();
	int verr = X509_V_OK, r = 0;
	if (!selfsigned)
		return -ENOMEM;
	for (int i = 0; i < sk_X509_num(s->untrusted) && r == 0; i++) {
		X509 *x = sk_X509_value(s->untrusted, i);
		if (X509_self_signed(x, 1) == 1 && !sk_X509_push(selfsigned, x))
			r = -ENOMEM;
	}
	ERR_clear_error();
	const char *system_roots = NULL;
	for (int i = 0; system_ca_files[i] && !system_roots; i++)
		if (access(system_ca_files[i], R_OK) == 0)
			system_roots = system_ca_files[i];
	if (r == 0 && chain_verify(s->signer, selfsigned, system_roots, s->untrusted, false,
				   &s->root, &verr) < 0) {
		s->root_verr = verr;
		r = -ENOENT; /* no error: the digests are compared instead (compare_digests) */
	}
	sk_X509_free(selfsigned);
	if (r < 0)
		return r;
	STACK_OF(X509) *one = sk_X509_new_null();
	if (!one || !sk_X509_push(one, s->root)) {
		sk_X509_free(one);
		return -ENOMEM;
	}
	r = write_pem(s->cafile, one);
	sk_X509_free(one);
	if (r < 0)
		return pib_fail(err, r, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", s->cafile,
				strerror(-r));
	return 0;
}

/*
 * Whether this osslsigncode knows -ignore-crl (2.9 does; without it 2.9 fetches the CRL
 * distribution points of the certificates): asked with an empty file, which every version
 * refuses, 2.5 (-ignore-crl unknown) with status 255, 2.9 with 1.
 */
static int probe_ignore_crl(struct ac_state *s, bool *ret, struct pib_err *err)
{
	int fd = open(s->empty, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_ENV, "agent.tmpdir", "%s: %s", s->empty,
				strerror(errno));
	close(fd);
	struct pib_spawn_result sr;
	char *const argv[] = {s->tool,	     (char *)"verify", (char *)"-ignore-crl",
			      (char *)"-in", s->empty,	       NULL};
	int r = run_tool(argv, EXTRACT_TIMEOUT, &sr);
	if (r < 0) {
		pib_spawn_result_free(&sr);
		return pib_fail(err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
				s->tool, strerror(-r));
	}
	*ret = sr.status != 255 && !sr.timed_out;
	pib_spawn_result_free(&sr);
	return 0;
}

static int verify_contents(struct ac_state *s, struct authenticode_result *res, struct pib_err *err)
{
	bool ignore_crl = false;
	int r = probe_ignore_crl(s, &ignore_crl, err);
	if (r < 0)
		return r;
	char *argv[16];
	int n = 0;
	argv[n++] = s->tool;
	argv[n++] = (char *)"verify";
	if (ignore_crl)
		argv[n++] = (char *)"-ignore-crl";
	argv[n++] = (char *)"-ignore-timestamp";
	argv[n++] = (char *)"-CAfile";
	argv[n++] = s->cafile;
	argv[n++] = (char *)"-TSA-CAfile";
	argv[n++] = s->cafile;
	argv[n++] = (char *)"-in";
	argv[n++] = (char *)s->path;
	argv[n] = NULL;

	struct pib_spawn_result sr;
	r = run_tool(argv, VERIFY_TIMEOUT, &sr);
	if (r < 0) {
		pib_spawn_result_free(&sr);
		return pib_fail(err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
				s->tool, strerror(-r));
	}
	if (sr.status != 0) {
		r = pib_fail(
		    err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
		    "%s: signed by \"%s\", but the signature does not verify over the MSI's "
		    "contents: it was changed after signing (osslsigncode verify %s %d)",
		    s->label, res->subject, sr.timed_out ? "timed out," : "exited with status",
		    sr.status);
		pib_err_detail(err, sr.output.data, sr.output.len);
	}
	pib_spawn_result_free(&sr);
	return r;
}

/* The digest an Authenticode signature signs: SpcIndirectDataContent's DigestInfo. */
struct spc_digest {
	int nid;
	int len;
	unsigned char md[EVP_MAX_MD_SIZE];
	const unsigned char
	    *body; /* the SpcIndirectDataContent without its tag and length: what is signed */
	long body_len;
};

static int read_spc_digest(PKCS7 *p7, struct spc_digest *d)
{
	PKCS7 *c = p7->d.sign->contents;
	if (!c || !c->d.other || c->d.other->type != V_ASN1_SEQUENCE || !c->d.other->value.sequence)
		return -EBADMSG;
	const ASN1_STRING *seq = c->d.other->value.sequence;
	const unsigned char *p = seq->data, *q = p;
	long len = seq->length, olen = 0;
	int tag = 0, cls = 0;
	int rr = ASN1_get_object(&q, &olen, &tag, &cls, len);
	if ((rr & 0x80) || rr != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    q + olen != p + len)
		return -EBADMSG;
	d->body = q;
	d->body_len = olen;

	int r = -EBADMSG;
	q = p;
	STACK_OF(ASN1_TYPE) *items = d2i_ASN1_SEQUENCE_ANY(NULL, &q, len);
	X509_SIG *sig = NULL;
	if (items && sk_ASN1_TYPE_num(items) == 2) {
		ASN1_TYPE *di = sk_ASN1_TYPE_value(items, 1);
		if (di->type == V_ASN1_SEQUENCE && di->value.sequence) {
			const unsigned char *dp = di->value.sequence->data;
			sig = d2i_X509_SIG(NULL, &dp, di->value.sequence->length);
		}
	}
	if (sig) {
		const X509_ALGOR *alg = NULL;
		const ASN1_OCTET_STRING *dig = NULL;
		const ASN1_OBJECT *obj = NULL;
		X509_SIG_get0(sig, &alg, &dig);
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		d->nid = OBJ_obj2nid(obj);
		if (dig && ASN1_STRING_length(dig) > 0 &&
		    ASN1_STRING_length(dig) <= EVP_MAX_MD_SIZE) {
			d->len = ASN1_STRING_length(dig);
			memcpy(d->md, ASN1_STRING_get0_data(dig), (size_t)d->len);
			r = 0;
		}
	}
	X509_SIG_free(sig);
	sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
	ERR_clear_error();
	return r;
}

/* A throwaway self-signed certificate and its key (files of ours) to sign a copy of the MSI with.
 */
static int make_throwaway_signer(const char *keyfile, const char *certfile)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	int r = -EIO;
	if (!pk || !x)
		goto out;
	X509_NAME *nm = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, pk) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
					(const unsigned char *)"pib-agent digest check", -1, -1,
					0) ||
	    !X509_set_issuer_name(x, nm) || !X509_sign(x, pk, EVP_sha256()))
		goto out;
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	BIO *b = BIO_new_fd(fd, BIO_CLOSE);
	if (!b) {
		close(fd);
		goto out;
	}
	bool ok = PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) && BIO_flush(b) == 1;
	BIO_free(b);
	if (!ok)
		goto out;
	STACK_OF(X509) *one = sk_X509_new_null();
	if (one && sk_X509_push(one, x))
		r = write_pem(certfile, one);
	sk_X509_free(one);
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(pk);
	return r;
}

/* Runs osslsigncode with argv; 0, or the error (what names the step in the message). */
static int run_step(struct ac_state *s, char *const argv[], const char *what, struct pib_err *err)
{
	struct pib_spawn_result sr;
	int r = run_tool(argv, VERIFY_TIMEOUT, &sr);
	if (r < 0)
		r = pib_fail(err, r, PIB_ERR_ENV, "tool.missing", "%s: cannot start it: %s",
			     s->tool, strerror(-r));
	else if (sr.status != 0) {
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: its contents cannot be checked (osslsigncode %s %s %d)", s->label,
			     what, sr.timed_out ? "timed out," : "exited with status", sr.status);
		pib_err_detail(err, sr.output.data, sr.output.len);
	}
	pib_spawn_result_free(&sr);
	return r;
}

/*
 * When the chain reaches no self-signed root, osslsigncode verify cannot judge the contents
 * (its chain check fails first). Then osslsigncode computes the MSI's digest itself by signing
 * a copy without the signature with a throwaway key; that digest must equal the one the signer
 * signed, and the signer's signature over it is checked here (OpenSSL's PKCS7_verify, the chain
 * having been judged by the keys already).
 */
static int compare_digests(struct ac_state *s, struct authenticode_result *res, struct pib_err *err)
{
	struct spc_digest theirs = {0}, ours = {0};
	char *unsigned_msi = pib_asprintf("%s/unsigned.msi", s->dir),
	     *resigned = pib_asprintf("%s/resigned.msi", s->dir);
	char *key = pib_asprintf("%s/throwaway.key", s->dir),
	     *cert = pib_asprintf("%s/throwaway.pem", s->dir);
	char *oursig = pib_asprintf("%s/throwaway.p7", s->dir);
	PKCS7 *p7 = NULL;
	BIO *content = NULL;
	X509_STORE *st = NULL;
	char *der = NULL;
	size_t len = 0;
	int r;

	if (!unsigned_msi || !resigned || !key || !cert || !oursig) {
		r = -ENOMEM;
		goto out;
	}
	if (read_spc_digest(s->p7, &theirs) < 0) {
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: its Authenticode signature holds no readable digest "
			     "(SpcIndirectDataContent)",
			     s->label);
		goto out;
	}
	const char *alg = theirs.nid == NID_sha256   ? "sha256"
			  : theirs.nid == NID_sha384 ? "sha384"
			  : theirs.nid == NID_sha512 ? "sha512"
			  : theirs.nid == NID_sha1   ? "sha1"
						     : NULL;
	if (!alg) {
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: its Authenticode digest algorithm (%s) is not one of SHA-1, "
			     "SHA-256, SHA-384, SHA-512",
			     s->label, OBJ_nid2sn(theirs.nid) ? OBJ_nid2sn(theirs.nid) : "unknown");
		goto out;
	}
	if ((r = make_throwaway_signer(key, cert)) < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "agent.tmpdir",
			     "%s: cannot make a throwaway key: %s", s->dir, strerror(-r));
		goto out;
	}
	char *const rm[] = {s->tool,
			    (char *)"remove-signature",
			    (char *)"-in",
			    (char *)s->path,
			    (char *)"-out",
			    unsigned_msi,
			    NULL};
	char *sign[16];
	int n = 0;
	sign[n++] = s->tool;
	sign[n++] = (char *)"sign";
	sign[n++] = (char *)"-certs";
	sign[n++] = cert;
	sign[n++] = (char *)"-key";
	sign[n++] = key;
	sign[n++] = (char *)"-h";
	sign[n++] = (char *)alg;
	if (s->has_dse) /* the signer's digest covers the MSI's metadata too: so must ours */
		sign[n++] = (char *)"-add-msi-dse";
	sign[n++] = (char *)"-in";
	sign[n++] = unsigned_msi;
	sign[n++] = (char *)"-out";
	sign[n++] = resigned;
	sign[n] = NULL;
	char *const ex[] = {
	    s->tool, (char *)"extract-signature", (char *)"-in", resigned, (char *)"-out", oursig,
	    NULL};
	if ((r = run_step(s, rm, "remove-signature", err)) < 0 ||
	    (r = run_step(s, sign, "sign", err)) < 0 ||
	    (r = run_step(s, ex, "extract-signature", err)) < 0)
		goto out;
	if ((r = pib_read_file(oursig, MAX_SIG_BYTES, &der, &len)) < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "agent.io", "%s: %s", oursig, strerror(-r));
		goto out;
	}
	const unsigned char *p = (const unsigned char *)der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (!p7 || !PKCS7_type_is_signed(p7) || read_spc_digest(p7, &ours) < 0) {
		r = pib_fail(err, -EIO, PIB_ERR_ENV, "agent.io",
			     "%s: osslsigncode wrote no readable signature", oursig);
		goto out;
	}
	if (ours.nid != theirs.nid || ours.len != theirs.len ||
	    memcmp(ours.md, theirs.md, (size_t)ours.len) != 0) {
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: signed by \"%s\", but the MSI's digest is not the one signed: it "
			     "was changed after signing",
			     s->label, res->subject);
		goto out;
	}
	content = BIO_new_mem_buf(theirs.body, (int)theirs.body_len);
	st = X509_STORE_new();
	if (!content || !st) {
		r = -ENOMEM;
		goto out;
	}
	if (PKCS7_verify(s->p7, NULL, st, content, NULL, PKCS7_NOVERIFY) != 1) {
		unsigned long e = ERR_peek_last_error();
		r = pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: signed by \"%s\", but the signature over the MSI's digest does "
			     "not verify (%s)",
			     s->label, res->subject,
			     e ? ERR_reason_error_string(e) : "PKCS7_verify failed");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_STORE_free(st);
	BIO_free(content);
	PKCS7_free(p7);
	free(der);
	free(unsigned_msi);
	free(resigned);
	free(key);
	free(cert);
	free(oursig);
	return r;
}

static void state_free(struct ac_state *s)
{
	if (s->dir)
		(void)pib_rm_rf(s->dir);
	free(s->tool);
	free(s->dir);
	free(s->sigfile);
	free(s->cafile);
	free(s->empty);
	PKCS7_free(s->p7);
	for (size_t k = 0; s->per_key && k < s->n_keys; k++)
		sk_X509_pop_free(s->per_key[k], X509_free);
	free(s->per_key);
	sk_X509_free(s->untrusted);
	X509_free(s->root);
}

int authenticode_verify_msi(const char *path, const char *label,
			    const struct authenticode_key *keys, size_t n_keys, bool allow_unsigned,
			    struct authenticode_result *res, struct pib_err *err)
{
	struct ac_state s = {.path = path, .label = label ? label : path};
	bool found = false;
	int r;

	memset(res, 0, sizeof(*res));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: cannot open it: %s", s.label, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pib_fail(err, -EINVAL, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: not a regular file", s.label);
	}
	r = find_signature_entries(fd, &found, &s.has_dse);
	close(fd);
	if (r < 0)
		return pib_fail(err, r, PIB_ERR_FAILED, "package.signature_invalid",
				"%s: cannot read it: %s", s.label, strerror(-r));
	if (!found) {
		if (allow_unsigned)
			return 0;
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "package.unsigned",
				"%s: the MSI has no Authenticode signature; the target accepts "
				"only MSIs signed by one of its keys (osslsigncode sign, signtool "
				"sign), unless allow_unsigned is true",
				s.label);
	}
	res->is_signed = true;

	if ((r = find_osslsigncode(&s.tool, err)) < 0)
		goto out;
	if ((r = pib_mkdtemp("pib-authenticode", &s.dir)) < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "agent.tmpdir",
			     "cannot create a temporary directory: %s", strerror(-r));
		goto out;
	}
	s.sigfile = pib_asprintf("%s/signature.p7", s.dir);
	s.cafile = pib_asprintf("%s/root.pem", s.dir);
	s.empty = pib_asprintf("%s/empty", s.dir);
	if (!s.sigfile || !s.cafile || !s.empty) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		goto out;
	}
	if ((r = extract_signature(&s, err)) < 0)
		goto out;
	if ((r = describe_signer(&s, res)) < 0) {
		r = pib_fail(err, r, PIB_ERR_FAILED, "package.signature_invalid",
			     "%s: its signer's certificate cannot be read", s.label);
		goto out;
	}
	/* whom it is from before what it covers: the keys, then the contents */
	if ((r = check_usage(&s, res, err)) < 0 || (r = match_key(&s, keys, n_keys, res, err)) < 0)
		goto out;
	r = find_root(&s, res, err);
	if (r == 0)
		r = verify_contents(&s, res, err);
	else if (r == -ENOENT)
		r = compare_digests(&s, res, err);
	if (r < 0)
		goto out;
	res->verified = true;
out:
	if (r < 0 && !err->set)
		pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "%s: %s", s.label, strerror(-r));
	state_free(&s);
	return r;
}
