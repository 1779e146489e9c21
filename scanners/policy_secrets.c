/* SPDX-License-Identifier: MIT */
/*
 * Secrets in a file's bytes (policy_secrets.h). Each rule looks for its own rare anchor with
 * memmem/memchr (no regular expression runs over every byte) and then checks the shape around
 * it; the bytes are hostile, so every read is bounded by the buffer and every finding's count
 * by a cap per rule.
 */
#include "policy_secrets.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

/* A file full of tokens must not make a report of millions: per rule, this many, then a note. */
#define MAX_PER_RULE 16

struct scan {
	const char *path;
	const unsigned char *b;
	size_t n;
	bool cut;
	uint64_t size;
	struct policy_findings *f;
	int added;
	size_t line_off; /* line_no is the line of b[line_off] */
	unsigned line_no;
};

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_b64(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '/';
}

/* The 1-based line of b[off]: counted on from the last answer, as a rule's matches come in order. */
static unsigned line_at(struct scan *s, size_t off)
{
	if (off < s->line_off) {
		s->line_off = 0;
		s->line_no = 1;
	}
	const unsigned char *p = s->b + s->line_off, *end = s->b + off;
	for (;;) {
		const unsigned char *q = memchr(p, '\n', (size_t)(end - p));
		if (!q)
			break;
		s->line_no++;
		p = q + 1;
	}
	s->line_off = off;
	return s->line_no;
}

/* The first 16 hex digits of SHA-256(d): enough to match two findings, nothing of the value. */
static void fingerprint(const void *d, size_t n, char out[17])
{
	char hex[65];

	pib_sha256_hex(d, n, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

static int add(struct scan *s, const char *id, enum policy_severity sev, const char *title, unsigned line,
	       const char *remediation, const char *fmt, ...) PIB_PRINTF(7, 8);
static int add(struct scan *s, const char *id, enum policy_severity sev, const char *title, unsigned line,
	       const char *remediation, const char *fmt, ...)
{
	va_list ap;
	char *ev;
	int r;

	va_start(ap, fmt);
	ev = pib_vasprintf(fmt, ap);
	va_end(ap);
	if (!ev)
		return -ENOMEM;
	if (s->cut)
		r = policy_add(s->f, id, sev, title, s->path, line, remediation,
			       "%s (only the first %zu of %llu bytes were scanned)", ev, s->n,
			       (unsigned long long)s->size);
	else
		r = policy_add(s->f, id, sev, title, s->path, line, remediation, "%s", ev);
	free(ev);
	if (r == 0)
		s->added++;
	return r;
}

/* Notes on the last finding that a rule stopped at its cap. */
static int note_capped(struct scan *s)
{
	struct policy_finding *last = &s->f->v[s->f->n - 1];
	char *ev = pib_asprintf("%s; more matches of this rule in the file are not listed", last->evidence);

	if (!ev)
		return -ENOMEM;
	free(last->evidence);
	last->evidence = ev;
	return 0;
}

/*
 * Decodes a PEM body or key lines (white space skipped) into *ret (a buffer even when the text
 * is not base64: then -1 is returned). The decoded length, -1, or -ENOMEM.
 */
static long b64_decode(const unsigned char *in, size_t n, unsigned char **ret)
{
	size_t len = 0;
	int r = pib_b64_decode((const char *)in, n, PIB_B64_SPACE, ret, &len);

	if (r == 0)
		return (long)len;
	if (r == -ENOMEM || !(*ret = calloc(1, 1)))
		return -ENOMEM;
	return -1;
}

/*
 * The first needle in b[off, n), found by memchr on its byte at k, one that is rare in text and
 * code ('G' of "-----BEGIN "): glibc's memmem runs at a fraction of memchr's speed on short
 * needles, and the scan of a whole root is bound by this.
 */
static const unsigned char *anchor(const struct scan *s, size_t off, const char *needle, size_t nl, size_t k)
{
	const unsigned char *b = s->b;
	size_t i = off + k;

	while (i < s->n) {
		const unsigned char *m = memchr(b + i, (unsigned char)needle[k], s->n - i);
		if (!m)
			return NULL;
		size_t at = (size_t)(m - b) - k;
		/* the first and last bytes before the call: most hits of a common byte end there */
		if (s->n - at >= nl && b[at] == (unsigned char)needle[0] && b[at + nl - 1] == (unsigned char)needle[nl - 1] &&
		    memcmp(b + at, needle, nl) == 0)
			return b + at;
		i = (size_t)(m - b) + 1;
	}
	return NULL;
}

/* ---- PEM and OpenSSH private keys ---- */

struct pem {
	const char *label; /* as in the header */
	size_t body, body_len; /* the base64 lines (with their line ends) */
	size_t end;            /* where the search goes on: after the END line or the body */
	bool proc_encrypted;   /* a legacy "Proc-Type: 4,ENCRYPTED" header */
};

static const char *const pem_labels[] = {
	"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
	"OPENSSH PRIVATE KEY",
};

/* Lines of a PEM body shorter than this are documentation or a pattern, not a key. */
#define PEM_MIN_BODY 64

/*
 * The PEM block whose "-----BEGIN " is at off: a known label, then optional headers, then base64
 * lines (at least PEM_MIN_BODY characters) up to the END line or a line that is not base64.
 */
static bool pem_parse(const struct scan *s, size_t off, struct pem *ret)
{
	const unsigned char *b = s->b;
	size_t n = s->n, p = off + 11, nchars = 0;
	bool headers = true;

	*ret = (struct pem){0};
	for (size_t i = 0; i < sizeof(pem_labels) / sizeof(pem_labels[0]); i++) {
		size_t l = strlen(pem_labels[i]);
		if (n - p >= l + 5 && memcmp(b + p, pem_labels[i], l) == 0 && memcmp(b + p + l, "-----", 5) == 0) {
			ret->label = pem_labels[i];
			p += l + 5;
			break;
		}
	}
	if (!ret->label)
		return false;
	if (p < n && b[p] == '\r')
		p++;
	if (p >= n || b[p] != '\n')
		return false; /* "-----BEGIN RSA PRIVATE KEY-----.*" in a pattern, quoted in a sentence */
	p++;
	ret->body = p;
	while (p < n) {
		const unsigned char *nl = memchr(b + p, '\n', n - p);
		size_t e = nl ? (size_t)(nl - b) : n, le = e;
		if (le > p && b[le - 1] == '\r')
			le--;
		if (le - p >= 9 && memcmp(b + p, "-----END ", 9) == 0) {
			ret->end = nl ? e + 1 : e;
			break;
		}
		bool all_b64 = le > p;
		for (size_t i = p; i < le && all_b64; i++)
			all_b64 = is_b64(b[i]) || b[i] == '=';
		if (headers && !all_b64 && (le == p || memchr(b + p, ':', le - p))) {
			/* RFC 1421 headers of a legacy encrypted key, and the blank line after them */
			if (le - p >= 10 && memcmp(b + p, "Proc-Type:", 10) == 0 && memmem(b + p, le - p, "ENCRYPTED", 9))
				ret->proc_encrypted = true;
			p = nl ? e + 1 : e;
			ret->body = p;
			continue;
		}
		if (!all_b64)
			break;
		headers = false;
		nchars += le - p;
		p = nl ? e + 1 : e;
		ret->body_len = p - ret->body;
	}
	if (!ret->end)
		ret->end = ret->body + ret->body_len;
	if (ret->end <= off)
		ret->end = off + 1;
	return nchars >= PEM_MIN_BODY;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads one SSH "string" (a 32-bit length and bytes) at *pos of d[0..n). */
static bool ssh_string(const unsigned char *d, size_t n, size_t *pos, const unsigned char **ret, size_t *ret_len)
{
	if (n - *pos < 4)
		return false;
	uint32_t l = be32(d + *pos);
	if (l > n - *pos - 4)
		return false;
	*ret = d + *pos + 4;
	*ret_len = l;
	*pos += 4 + l;
	return true;
}

/* A printable copy of a short name from the file (a key type, a cipher): [A-Za-z0-9@._-] only. */
static void safe_name(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < outsz; i++)
		out[o++] = (is_alnum(p[i]) || strchr("@._-", p[i])) && p[i] ? (char)p[i] : '?';
	out[o] = '\0';
}

/* The bits of an RSA modulus in an ssh-rsa public key blob (string type, mpint e, mpint n), or 0. */
static unsigned ssh_rsa_bits(const unsigned char *k, size_t kn)
{
	const unsigned char *t, *e, *m;
	size_t pos = 0, tl, el, ml;

	if (!ssh_string(k, kn, &pos, &t, &tl) || !ssh_string(k, kn, &pos, &e, &el) ||
	    !ssh_string(k, kn, &pos, &m, &ml))
		return 0;
	while (ml && !*m) {
		m++;
		ml--;
	}
	if (!ml)
		return 0;
	unsigned bits = (unsigned)ml * 8;
	for (unsigned char top = m[0]; !(top & 0x80); top <<= 1)
		bits--;
	return bits;
}

static int rule_openssh(struct scan *s, size_t off, const struct pem *pm, const unsigned char *der, long dn)
{
	static const char magic[] = "openssh-key-v1";
	const unsigned char *cipher = NULL, *kdf, *kdfopt, *pub = NULL, *type;
	size_t pos = sizeof(magic), cl = 0, kl, ol, pl = 0, tl = 0;
	char typename[64] = "unknown (malformed blob)", ciphername[64] = "", fp[17], extra[32] = "";
	bool well = false;

	if (dn >= (long)sizeof(magic) && memcmp(der, magic, sizeof(magic)) == 0 &&
	    ssh_string(der, (size_t)dn, &pos, &cipher, &cl) && ssh_string(der, (size_t)dn, &pos, &kdf, &kl) &&
	    ssh_string(der, (size_t)dn, &pos, &kdfopt, &ol) && (size_t)dn - pos >= 4 && be32(der + pos) >= 1) {
		pos += 4;
		size_t kp = 0;
		if (ssh_string(der, (size_t)dn, &pos, &pub, &pl) && ssh_string(pub, pl, &kp, &type, &tl) && tl) {
			well = true;
			safe_name(type, tl, typename, sizeof(typename));
			safe_name(cipher, cl, ciphername, sizeof(ciphername));
			if (tl == 7 && memcmp(type, "ssh-rsa", 7) == 0) {
				unsigned bits = ssh_rsa_bits(pub, pl);
				if (bits)
					snprintf(extra, sizeof(extra), ", %u bits", bits);
			}
		}
	}
	bool encrypted = well && strcmp(ciphername, "none") != 0;
	if (well)
		fingerprint(pub, pl, fp);
	else
		fingerprint(der, dn > 0 ? (size_t)dn : 0, fp);
	return add(s, "secret.openssh_private_key", encrypted ? POLICY_SEV_HIGH : POLICY_SEV_CRITICAL,
		   encrypted ? "An OpenSSH private key (passphrase-protected) is in the image"
			     : "An OpenSSH private key is in the image",
		   line_at(s, off), "Remove the private key from the image; generate keys on first boot instead.",
		   "OpenSSH private key, type %s%s, %s, fingerprint %s (SHA-256 of the %s, first 16 hex digits)",
		   typename, extra, !well ? "not readable" : encrypted ? "encrypted" : "not encrypted", fp,
		   well ? "public key blob" : "decoded key");
}

static int rule_pem_key(struct scan *s, size_t off, const struct pem *pm)
{
	const unsigned char *body = s->b + pm->body;
	unsigned char *der = NULL;
	char type[96] = "", fp[17];
	long dn;
	int r;

	dn = b64_decode(body, pm->body_len, &der);
	if (dn == -ENOMEM)
		return -ENOMEM;
	if (strcmp(pm->label, "OPENSSH PRIVATE KEY") == 0) {
		r = rule_openssh(s, off, pm, der, dn < 0 ? 0 : dn);
		free(der);
		return r;
	}
	bool encrypted = pm->proc_encrypted || strcmp(pm->label, "ENCRYPTED PRIVATE KEY") == 0;
	if (dn > 0 && !encrypted) {
		/* the key's own type and size: PKCS#1 RSA, SEC1 EC, DSA and PKCS#8 all parse here */
		const unsigned char *p = der;
		EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, dn);
		if (k) {
			snprintf(type, sizeof(type), "%s, %d bits", EVP_PKEY_get0_type_name(k), EVP_PKEY_get_bits(k));
			EVP_PKEY_free(k);
		}
	}
	if (!type[0]) {
		if (strcmp(pm->label, "ENCRYPTED PRIVATE KEY") == 0)
			snprintf(type, sizeof(type), "encrypted PKCS#8");
		else if (strcmp(pm->label, "PRIVATE KEY") == 0)
			snprintf(type, sizeof(type), "PKCS#8%s", encrypted ? ", encrypted" : ", does not parse");
		else
			snprintf(type, sizeof(type), "%.*s%s", (int)(strlen(pm->label) - 12), pm->label,
				 encrypted ? ", encrypted (legacy PEM)" : ", does not parse");
	}
	fingerprint(der, dn > 0 ? (size_t)dn : 0, fp);
	free(der);
	return add(s, "secret.private_key_pem", encrypted ? POLICY_SEV_HIGH : POLICY_SEV_CRITICAL,
		   encrypted ? "A passphrase-protected PEM private key is in the image" : "A PEM private key is in the image",
		   line_at(s, off), "Remove the private key from the image; generate keys on first boot instead.",
		   "PEM \"%s\" block, key type %s, fingerprint %s (SHA-256 of the DER, first 16 hex digits)", pm->label,
		   type, fp);
}

static int rules_pem(struct scan *s)
{
	size_t off = 0, count = 0;
	int r;

	while (off < s->n) {
		const unsigned char *m = anchor(s, off, "-----BEGIN ", 11, 7);
		struct pem pm;
		if (!m)
			break;
		size_t at = (size_t)(m - s->b);
		if (!pem_parse(s, at, &pm)) {
			off = at + 11;
			continue;
		}
		if (count++ == MAX_PER_RULE)
			return note_capped(s);
		if ((r = rule_pem_key(s, at, &pm)) < 0)
			return r;
		off = pm.end;
	}
	return 0;
}

/* ---- PKCS#12 ---- */

static bool has_suffix_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static int rule_pkcs12(struct scan *s)
{
	bool named = s->path && (has_suffix_ci(s->path, ".p12") || has_suffix_ci(s->path, ".pfx"));
	/* a DER SEQUENCE: 0x30, then an indefinite or a long-form length of 1 to 4 bytes */
	bool der = s->n >= 4 && s->b[0] == 0x30 && (s->b[1] == 0x80 || (s->b[1] >= 0x81 && s->b[1] <= 0x84));
	const unsigned char *p = s->b;
	char fp[17];

	if ((!named && !der) || s->n > LONG_MAX)
		return 0;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)s->n);
	if (!p12)
		return 0;
	fingerprint(s->b, (size_t)(p - s->b), fp);
	bool mac = PKCS12_mac_present(p12);
	PKCS12_free(p12);
	return add(s, "secret.pkcs12", POLICY_SEV_HIGH, "A PKCS#12 key store is in the image", 1,
		   "Remove the key store from the image; deliver certificates and keys at launch instead.",
		   "PKCS#12 (%zu bytes of DER, %s), fingerprint %s (SHA-256 of the DER, first 16 hex digits)",
		   (size_t)(p - s->b), mac ? "with a MAC" : "no MAC", fp);
}

/* ---- AWS access keys ---- */

/* Case-insensitive memmem for a short lowercase needle. */
static const unsigned char *memmem_ci(const unsigned char *h, size_t hn, const char *needle)
{
	size_t nn = strlen(needle);

	for (size_t i = 0; i + nn <= hn; i++) {
		size_t j = 0;
		while (j < nn && (h[i + j] >= 'A' && h[i + j] <= 'Z' ? h[i + j] | 0x20 : h[i + j]) == (unsigned char)needle[j])
			j++;
		if (j == nn)
			return h + i;
	}
	return NULL;
}

static bool is_secret_char(unsigned char c)
{
	return is_b64(c);
}

/* A 40-character secret access key shape in b[lo, hi): bounded on both sides by other bytes. */
static const unsigned char *find_secret_shape(const struct scan *s, size_t lo, size_t hi)
{
	size_t i = lo;

	while (i < hi) {
		if (!is_secret_char(s->b[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < hi && is_secret_char(s->b[j]))
			j++;
		/* a run of exactly 40, not a word: at least one digit or '/' or '+' and a lowercase letter */
		if (j - i == 40 && (j == s->n || s->b[j] != '=')) {
			bool digit = false, lower = false, upper = false;
			for (size_t k = i; k < j; k++) {
				unsigned char c = s->b[k];
				digit |= (c >= '0' && c <= '9') || c == '/' || c == '+';
				lower |= c >= 'a' && c <= 'z';
				upper |= c >= 'A' && c <= 'Z';
			}
			if (digit && lower && upper)
				return s->b + i;
		}
		i = j;
	}
	return NULL;
}

/* The start of the line `back` lines before off, and the end of the line `fwd` lines after it. */
static void line_window(const struct scan *s, size_t off, int back, int fwd, size_t *lo, size_t *hi)
{
	size_t a = off, z = off, lim_lo = off > 4096 ? off - 4096 : 0, lim_hi = s->n - off > 4096 ? off + 4096 : s->n;

	for (int k = 0; a > lim_lo; a--)
		if (s->b[a - 1] == '\n' && k++ == back)
			break;
	for (int k = 0; z < lim_hi; z++)
		if (s->b[z] == '\n' && k++ == fwd)
			break;
	*lo = a;
	*hi = z;
}

static const char *const aws_secret_names[] = {"secret_access_key", "secretaccesskey", "secret-access-key",
					       "aws_secret", "secret_key"};

static int rules_aws(struct scan *s)
{
	static const char *const anchors[] = {"AKIA", "ASIA"};
	size_t count = 0;
	int r;

	for (size_t a = 0; a < 2; a++) {
		size_t off = 0;
		while (off + 20 <= s->n) {
			const unsigned char *m = anchor(s, off, anchors[a], 4, 1);
			if (!m)
				break;
			size_t at = (size_t)(m - s->b);
			off = at + 4;
			if (at + 20 > s->n || (at > 0 && is_alnum(s->b[at - 1])) ||
			    (at + 20 < s->n && is_alnum(s->b[at + 20])))
				continue;
			bool shape = true;
			for (size_t i = at + 4; i < at + 20 && shape; i++)
				shape = (s->b[i] >= 'A' && s->b[i] <= 'Z') || (s->b[i] >= '2' && s->b[i] <= '7');
			/* AWS's documentation example ids (AKIAIOSFODNN7EXAMPLE) fill SDKs and man pages */
			if (!shape || memcmp(s->b + at + 13, "EXAMPLE", 7) == 0)
				continue;
			if (count++ == MAX_PER_RULE)
				return note_capped(s);
			off = at + 20;

			size_t lo, hi;
			const unsigned char *named = NULL, *secret = NULL;
			line_window(s, at, 3, 3, &lo, &hi);
			for (size_t i = 0; i < sizeof(aws_secret_names) / sizeof(aws_secret_names[0]) && !named; i++)
				named = memmem_ci(s->b + lo, hi - lo, aws_secret_names[i]);
			if (named)
				secret = find_secret_shape(s, lo, hi);
			char fp[17], sfp[17];
			unsigned line = line_at(s, at);
			fingerprint(s->b + at, 20, fp);
			if (secret) {
				unsigned sline = line_at(s, (size_t)(secret - s->b));
				fingerprint(secret, 40, sfp);
				r = add(s, "secret.aws_access_key", POLICY_SEV_CRITICAL,
					"An AWS access key with its secret key is in the image", line,
					"Remove the credentials and deactivate the key in IAM; use an instance role instead.",
					"%s access key id %.4s...%.4s (fingerprint %s) and a secret access key on line %u "
					"(fingerprint %s; SHA-256, first 16 hex digits)",
					a ? "temporary (ASIA)" : "long-term (AKIA)", (const char *)s->b + at,
					(const char *)s->b + at + 16, fp, sline, sfp);
			} else {
				r = add(s, "secret.aws_access_key", POLICY_SEV_HIGH, "An AWS access key id is in the image",
					line, "Remove the credentials and deactivate the key in IAM; use an instance role instead.",
					"%s access key id %.4s...%.4s, fingerprint %s (SHA-256, first 16 hex digits); no "
					"secret key seen within 3 lines",
					a ? "temporary (ASIA)" : "long-term (AKIA)", (const char *)s->b + at,
					(const char *)s->b + at + 16, fp);
			}
			if (r < 0)
				return r;
			line_at(s, at); /* keep the line cache ordered for the next match */
		}
	}
	return 0;
}

/* ---- GitHub and Slack tokens ---- */

static int rules_github(struct scan *s)
{
	size_t off = 0, count = 0;

	while (off < s->n) {
		const unsigned char *m = memchr(s->b + off, '_', s->n - off);
		if (!m)
			break;
		size_t u = (size_t)(m - s->b), start, tend;
		const char *kind = NULL;
		off = u + 1;
		if (u >= 3 && s->b[u - 3] == 'g' && s->b[u - 2] == 'h' && strchr("pousr", s->b[u - 1]) && s->b[u - 1]) {
			start = u - 3;
			tend = u + 1;
			while (tend < s->n && is_alnum(s->b[tend]))
				tend++;
			if (tend - u - 1 < 36 || tend - u - 1 > 251)
				continue;
			switch (s->b[u - 1]) {
			case 'p': kind = "personal access token (ghp_)"; break;
			case 'o': kind = "OAuth access token (gho_)"; break;
			case 'u': kind = "user-to-server token (ghu_)"; break;
			case 's': kind = "server-to-server token (ghs_)"; break;
			default: kind = "refresh token (ghr_)"; break;
			}
		} else if (u >= 6 && s->n - u >= 5 && memcmp(s->b + u - 6, "github", 6) == 0 &&
			   memcmp(s->b + u, "_pat_", 5) == 0) {
			start = u - 6;
			tend = u + 5;
			while (tend < s->n && (is_alnum(s->b[tend]) || s->b[tend] == '_'))
				tend++;
			if (tend - u - 5 < 60)
				continue;
			kind = "fine-grained personal access token (github_pat_)";
		} else {
			continue;
		}
		if ((start > 0 && (is_alnum(s->b[start - 1]) || s->b[start - 1] == '_')) ||
		    (tend < s->n && s->b[tend] == '_'))
			continue;
		if (count++ == MAX_PER_RULE)
			return note_capped(s);
		char fp[17];
		fingerprint(s->b + start, tend - start, fp);
		int r = add(s, "secret.github_token", POLICY_SEV_HIGH, "A GitHub token is in the image", line_at(s, start),
			    "Remove the token from the image and revoke it on GitHub.",
			    "GitHub %s, fingerprint %s (SHA-256, first 16 hex digits)", kind, fp);
		if (r < 0)
			return r;
		off = tend;
	}
	return 0;
}

static int rules_slack(struct scan *s)
{
	size_t off = 0, count = 0;

	while (off < s->n) {
		const unsigned char *m = anchor(s, off, "xox", 3, 0);
		if (!m)
			break;
		size_t at = (size_t)(m - s->b), e = at + 5, dashes = 0;
		off = at + 3;
		if (at + 5 > s->n || !strchr("baprs", s->b[at + 3]) || !s->b[at + 3] || s->b[at + 4] != '-' ||
		    (at > 0 && is_alnum(s->b[at - 1])))
			continue;
		while (e < s->n && (is_alnum(s->b[e]) || s->b[e] == '-'))
			dashes += s->b[e++] == '-';
		/* xoxb-<team>-<bot>-<secret>: a long run with more parts, not "xoxb-token" in a sentence */
		if (e - at - 5 < 20 || dashes < 1)
			continue;
		if (count++ == MAX_PER_RULE)
			return note_capped(s);
		char fp[17];
		fingerprint(s->b + at, e - at, fp);
		int r = add(s, "secret.slack_token", POLICY_SEV_HIGH, "A Slack token is in the image", line_at(s, at),
			    "Remove the token from the image and revoke it in Slack.",
			    "Slack token of kind xox%c-, fingerprint %s (SHA-256, first 16 hex digits)", s->b[at + 3], fp);
		if (r < 0)
			return r;
		off = e;
	}
	return 0;
}

/* ---- Google Cloud service account keys ---- */

static size_t skip_ws_back(const struct scan *s, size_t i)
{
	while (i > 0 && strchr(" \t\r\n", s->b[i - 1]) && s->b[i - 1])
		i--;
	return i;
}

static int rule_gcp(struct scan *s)
{
	size_t off = 0;

	while (off < s->n) {
		const unsigned char *m = anchor(s, off, "\"service_account\"", 17, 4); /* its rare 'v' */
		if (!m)
			return 0;
		size_t at = (size_t)(m - s->b), i = skip_ws_back(s, at);
		off = at + 17;
		if (i == 0 || s->b[i - 1] != ':')
			continue;
		i = skip_ws_back(s, i - 1);
		if (i < 6 || memcmp(s->b + i - 6, "\"type\"", 6) != 0)
			continue;
		const unsigned char *pk = memmem(s->b, s->n, "\"private_key\"", 13);
		if (!pk)
			continue;
		/* the value's bytes, to the closing quote (escapes kept): only hashed */
		size_t v = (size_t)(pk - s->b) + 13;
		while (v < s->n && strchr(" \t\r\n:", s->b[v]) && s->b[v])
			v++;
		size_t ve = v < s->n && s->b[v] == '"' ? v + 1 : v;
		while (ve < s->n && s->b[ve] != '"')
			ve += s->b[ve] == '\\' && ve + 1 < s->n ? 2 : 1;
		char fp[17];
		unsigned pkline = line_at(s, (size_t)(pk - s->b));
		fingerprint(s->b + v, ve - v, fp);
		return add(s, "secret.gcp_service_account", POLICY_SEV_CRITICAL,
			   "A Google Cloud service account key is in the image", line_at(s, at),
			   "Remove the key file and delete the key in Google Cloud IAM; use workload identity instead.",
			   "JSON service account key (\"type\": \"service_account\"), \"private_key\" on line %u, "
			   "fingerprint %s (SHA-256 of the private_key value, first 16 hex digits)", pkline, fp);
	}
	return 0;
}

/* ---- PuTTY private keys ---- */

/* The value of the "Name: " line starting at or after p (within the key's next few lines), or NULL. */
static const unsigned char *putty_field(const struct scan *s, size_t p, size_t lim, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name);

	while (p < lim) {
		const unsigned char *e = memchr(s->b + p, '\n', lim - p);
		size_t le = e ? (size_t)(e - s->b) : lim;
		if (le - p > nl + 1 && memcmp(s->b + p, name, nl) == 0 && s->b[p + nl] == ':') {
			size_t v = p + nl + 1;
			while (v < le && s->b[v] == ' ')
				v++;
			while (le > v && s->b[le - 1] == '\r')
				le--;
			*ret_len = le - v;
			return s->b + v;
		}
		p = le + 1;
	}
	return NULL;
}

static int rules_putty(struct scan *s)
{
	size_t off = 0, count = 0;

	while (off < s->n) {
		const unsigned char *m = anchor(s, off, "PuTTY-User-Key-File-", 20, 4);
		if (!m)
			break;
		size_t at = (size_t)(m - s->b), p = at + 20;
		off = p;
		if (at > 0 && s->b[at - 1] != '\n')
			continue;
		while (p < s->n && s->b[p] >= '0' && s->b[p] <= '9')
			p++;
		if (p == at + 20 || p + 2 > s->n || s->b[p] != ':')
			continue;
		const unsigned char *e = memchr(s->b + p, '\n', s->n - p);
		size_t le = e ? (size_t)(e - s->b) : s->n, lim = s->n - at > 65536 ? at + 65536 : s->n;
		char type[64], enc[64] = "?", fp[17];
		size_t ql = 0, el = 0;
		const unsigned char *q = s->b + p + 1;
		while (q < s->b + le && *q == ' ')
			q++;
		ql = (size_t)(s->b + le - q);
		while (ql && q[ql - 1] == '\r')
			ql--;
		safe_name(q, ql, type, sizeof(type));
		const unsigned char *ev = putty_field(s, le + 1, lim, "Encryption", &el);
		if (!ev)
			continue; /* a sentence naming the format, not a key file */
		safe_name(ev, el, enc, sizeof(enc));
		bool encrypted = strcmp(enc, "none") != 0;
		/* the fingerprint of the public key blob: Public-Lines: N and N base64 lines */
		size_t pl = 0;
		const unsigned char *pv = putty_field(s, le + 1, lim, "Public-Lines", &pl);
		bool fp_pub = false;
		if (pv) {
			unsigned long lines = 0; /* digits within the value: the buffer has no NUL after it */
			for (size_t d = 0; d < pl && d < 4 && pv[d] >= '0' && pv[d] <= '9'; d++)
				lines = lines * 10 + (unsigned long)(pv[d] - '0');
			const unsigned char *pe = memchr(pv, '\n', (size_t)(s->b + lim - pv));
			size_t b0 = pe ? (size_t)(pe - s->b) + 1 : lim, b1 = b0;
			for (unsigned long k = 0; k < lines && k < 64 && b1 < lim; k++) {
				const unsigned char *ne = memchr(s->b + b1, '\n', lim - b1);
				b1 = ne ? (size_t)(ne - s->b) + 1 : lim;
			}
			unsigned char *blob = NULL;
			long bn = b64_decode(s->b + b0, b1 - b0, &blob);
			if (bn == -ENOMEM)
				return -ENOMEM;
			if (bn > 0) {
				fingerprint(blob, (size_t)bn, fp);
				fp_pub = true;
			}
			free(blob);
		}
		if (!fp_pub)
			fingerprint(s->b + at, le - at, fp);
		if (count++ == MAX_PER_RULE)
			return note_capped(s);
		int r = add(s, "secret.private_key_putty", encrypted ? POLICY_SEV_HIGH : POLICY_SEV_CRITICAL,
			    encrypted ? "A passphrase-protected PuTTY private key is in the image"
				      : "A PuTTY private key is in the image",
			    line_at(s, at), "Remove the private key from the image; generate keys on first boot instead.",
			    "PuTTY private key file, type %s, encryption %s, fingerprint %s (SHA-256 of the %s, first 16 "
			    "hex digits)", type, enc, fp, fp_pub ? "public key blob" : "header line");
		if (r < 0)
			return r;
	}
	return 0;
}

int policy_secrets_scan(const char *path, const void *buf, size_t len, uint64_t file_size, size_t max_bytes,
			struct policy_findings *f, bool *ret_cut)
{
	struct scan s = {
		.path = path, .b = buf, .n = len < max_bytes ? len : max_bytes, .f = f, .line_no = 1,
		.size = file_size ? file_size : len,
	};
	int (*const rules[])(struct scan *) = {rules_pem, rule_pkcs12, rules_aws, rules_github, rules_slack,
					      rule_gcp, rules_putty};
	int r;

	s.cut = s.size > s.n;
	if (ret_cut)
		*ret_cut = s.cut;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		s.line_off = 0;
		s.line_no = 1;
		if ((r = rules[i](&s)) < 0)
			return r;
	}
	return s.added;
}

int policy_secrets_fd(int fd, const char *path, size_t max_bytes, struct policy_findings *f, bool *ret_cut)
{
	struct stat st;
	unsigned char *buf;
	size_t want, got = 0;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	want = (uint64_t)st.st_size < max_bytes ? (size_t)st.st_size : max_bytes;
	buf = malloc(want ? want : 1);
	if (!buf)
		return -ENOMEM;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		if (n == 0)
			break; /* it shrank: scan what there is */
		got += (size_t)n;
	}
	r = policy_secrets_scan(path, buf, got, (uint64_t)st.st_size > got ? (uint64_t)st.st_size : got, max_bytes,
				f, ret_cut);
	free(buf);
	return r;
}

void policy_secrets_buf_free(struct policy_secrets_buf *b)
{
	free(b->p);
	*b = (struct policy_secrets_buf){0};
}

int policy_secrets_fd_buf(int fd, const char *path, uint64_t size, size_t max_bytes, struct policy_secrets_buf *b,
			  struct policy_findings *f, bool *ret_cut)
{
	size_t want = size < max_bytes ? (size_t)size : max_bytes, got = 0;

	if (want > b->cap) {
		/* doubled from 256 KiB: a walk of a root settles on one buffer as large as its larger files */
		size_t cap = b->cap ? b->cap : 256u << 10;
		while (cap < want)
			cap *= 2;
		if (cap > max_bytes)
			cap = max_bytes;
		unsigned char *p = malloc(cap);
		if (!p)
			return -ENOMEM;
		free(b->p);
		b->p = p;
		b->cap = cap;
	}
	while (got < want) {
		ssize_t n = read(fd, b->p + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* it shrank: scan what there is */
		got += (size_t)n;
	}
	return policy_secrets_scan(path, got ? (const void *)b->p : "", got, size > got ? size : got, max_bytes, f,
				   ret_cut);
}
