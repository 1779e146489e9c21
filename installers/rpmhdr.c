/* SPDX-License-Identifier: MIT */
/*
 * The .rpm format's headers, read by the agent itself (no librpm: the agent must run where
 * librpm's soname differs). A package file is a 96-byte lead, a signature header padded to 8
 * bytes, the header, then the compressed cpio payload. Each header is an 8-byte magic, the
 * number of index entries and the size of the data store (big-endian), 16-byte index
 * entries (tag, type, offset, count) and the store. Every offset and count is checked.
 */
#include "rpmhdr.h"
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define LEAD_SIZE 96
#define MAX_INDEX 65536u
#define MAX_STORE (64u << 20)

enum {
	TYPE_INT32 = 4,
	TYPE_STRING = 6,
	TYPE_BIN = 7,
	TYPE_STRING_ARRAY = 8,
	TYPE_I18NSTRING = 9,
};

enum {
	SIG_DSA = 267,  /* OpenPGP signature of the header (DSA/EdDSA) */
	SIG_RSA = 268,  /* OpenPGP signature of the header (RSA) */
	SIG_OPENPGP = 278, /* rpm 6: every OpenPGP signature of the header */
	SIG_PGP = 1002, /* header and payload, RSA (v3 packages) */
	SIG_GPG = 1005, /* header and payload, DSA */
	SIG_PGP5 = 1006,
};

enum {
	TAG_NAME = 1000,
	TAG_VERSION = 1001,
	TAG_RELEASE = 1002,
	TAG_EPOCH = 1003,
	TAG_OS = 1021,
	TAG_ARCH = 1022,
	TAG_SOURCERPM = 1044,
	TAG_PAYLOADCOMPRESSOR = 1125,
	TAG_SOURCEPACKAGE = 1106,
};

struct hdr {
	unsigned char *index; /* il entries of 16 bytes */
	uint32_t il;
	unsigned char *store;
	uint32_t dl;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}


static int read_hdr(int fd, struct hdr *h, const char *what, char **why)
{
	static const unsigned char magic[3] = {0x8e, 0xad, 0xe8};
	unsigned char intro[16];
	int r = pib_read_full(fd, intro, sizeof(intro), -1);

	if (r == -ENODATA) {
		*why = pib_asprintf("truncated: the file ends before its %s", what);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (memcmp(intro, magic, 3) || intro[3] != 1) {
		*why = pib_asprintf("the %s has no header magic (8e ad e8 01) where one is expected", what);
		return -EINVAL;
	}
	h->il = be32(intro + 8);
	h->dl = be32(intro + 12);
	if (h->il == 0 || h->il > MAX_INDEX || h->dl > MAX_STORE) {
		*why = pib_asprintf("the %s claims %u index entries and %u bytes of data, beyond what any package has",
				    what, h->il, h->dl);
		return -EINVAL;
	}
	h->index = malloc((size_t)h->il * 16);
	h->store = malloc(h->dl ? h->dl : 1);
	if (!h->index || !h->store)
		return -ENOMEM;
	if ((r = pib_read_full(fd, h->index, (size_t)h->il * 16, -1)) == 0)
		r = pib_read_full(fd, h->store, h->dl, -1);
	if (r == -ENODATA) {
		*why = pib_asprintf("truncated: the file ends inside its %s", what);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	/* every entry, read or not, must lie inside the store with its type's alignment (as
	 * rpm's own header check demands): a malformed header is refused, never half-read */
	for (uint32_t i = 0; i < h->il; i++) {
		const unsigned char *e = h->index + 16 * (size_t)i;
		uint32_t tag = be32(e), type = be32(e + 4), off = be32(e + 8), count = be32(e + 12);
		static const uint32_t size[] = {0, 1, 1, 2, 4, 8, 1, 1, 1, 1};
		bool ok = type <= TYPE_I18NSTRING && (off < h->dl || (type == TYPE_BIN && off == h->dl)) &&
			  (count >= 1 || type == TYPE_BIN);
		if (ok && size[type] > 1)
			ok = off % size[type] == 0 && (uint64_t)count * size[type] <= h->dl - off;
		else if (ok && type == TYPE_BIN)
			ok = count <= h->dl - off;
		else if (ok && type == TYPE_STRING)
			ok = memchr(h->store + off, '\0', h->dl - off) != NULL;
		else if (ok && (type == TYPE_STRING_ARRAY || type == TYPE_I18NSTRING)) {
			/* count strings, each terminated inside the store */
			uint32_t at = off;
			for (uint32_t k = 0; ok && k < count; k++) {
				const unsigned char *z = at < h->dl ? memchr(h->store + at, '\0', h->dl - at) : NULL;
				ok = z != NULL;
				if (ok)
					at = (uint32_t)(z - h->store) + 1;
			}
		} else if (ok && type <= 2)
			ok = count <= h->dl - off;
		if (!ok) {
			const char *tn = tag == TAG_NAME ? "Name " : tag == TAG_VERSION ? "Version "
					 : tag == TAG_RELEASE ? "Release " : tag == TAG_ARCH ? "Arch " : "";
			*why = pib_asprintf("its %s's %sindex entry %u (tag %u, type %u) points outside its data or is misaligned (offset %u, count %u, %u bytes of data)",
					    what, tn, i, tag, type, off, count, h->dl);
			return -EINVAL;
		}
	}
	return 0;
}

static void hdr_free(struct hdr *h)
{
	free(h->index);
	free(h->store);
	memset(h, 0, sizeof(*h));
}

/* The entry of tag, or NULL. */
static const unsigned char *find(const struct hdr *h, uint32_t tag)
{
	for (uint32_t i = 0; i < h->il; i++)
		if (be32(h->index + 16 * (size_t)i) == tag)
			return h->index + 16 * (size_t)i;
	return NULL;
}

/* A string tag's value (the first of an array or i18n string), bounded by the store; NULL if absent or malformed. */
static char *get_str(const struct hdr *h, uint32_t tag)
{
	const unsigned char *e = find(h, tag);
	if (!e)
		return NULL;
	uint32_t type = be32(e + 4), off = be32(e + 8);
	if ((type != TYPE_STRING && type != TYPE_STRING_ARRAY && type != TYPE_I18NSTRING) || off >= h->dl)
		return NULL;
	const char *s = (const char *)h->store + off;
	size_t max = h->dl - off, n = strnlen(s, max);
	if (n == max)
		return NULL; /* not terminated inside the store */
	return pib_strndup(s, n);
}

static bool get_int32(const struct hdr *h, uint32_t tag, uint32_t *ret)
{
	const unsigned char *e = find(h, tag);
	if (!e)
		return false;
	uint32_t type = be32(e + 4), off = be32(e + 8), count = be32(e + 12);
	if (type != TYPE_INT32 || count < 1 || off % 4 || off > h->dl || h->dl - off < 4)
		return false;
	*ret = be32(h->store + off);
	return true;
}

/* A binary tag's bytes inside the store, or NULL. */
static const unsigned char *get_bin(const struct hdr *h, uint32_t tag, uint32_t *ret_len)
{
	const unsigned char *e = find(h, tag);
	if (!e)
		return NULL;
	uint32_t type = be32(e + 4), off = be32(e + 8), count = be32(e + 12);
	if (type != TYPE_BIN || off > h->dl || count > h->dl - off)
		return NULL;
	*ret_len = count;
	return h->store + off;
}

/* Walks OpenPGP subpackets for the issuer: fingerprint (type 33) or key id (type 16). */
static void issuer_from_subpackets(const unsigned char *p, size_t n, char **fpr, char **keyid)
{
	size_t i = 0;
	while (i < n) {
		size_t len;
		if (p[i] < 192) {
			len = p[i];
			i += 1;
		} else if (p[i] < 255) {
			if (i + 1 >= n)
				return;
			len = ((size_t)(p[i] - 192) << 8) + p[i + 1] + 192;
			i += 2;
		} else {
			if (i + 5 > n)
				return;
			len = be32(p + i + 1);
			i += 5;
		}
		if (len == 0 || len > n - i)
			return;
		unsigned type = p[i] & 0x7f;
		char hex[129];
		if (type == 33 && (len == 22 || len == 34) && !*fpr) { /* version byte + 20 (v4) or 32 (v5/v6) */
			pib_hex(p + i + 2, len - 2, hex);
			*fpr = pib_strdup(hex);
		} else if (type == 16 && len == 9 && !*keyid) {
			pib_hex(p + i + 1, 8, hex);
			*keyid = pib_strdup(hex);
		}
		i += len;
	}
}

/* The issuer named by an OpenPGP signature packet (v3 or v4): fingerprint if given, else key id. */
static char *pgp_issuer(const unsigned char *p, size_t n)
{
	size_t i = 0, body;
	char *fpr = NULL, *keyid = NULL;

	if (n < 2 || !(p[0] & 0x80))
		return NULL;
	if (p[0] & 0x40) { /* new format */
		if ((p[0] & 0x3f) != 2)
			return NULL;
		if (p[1] < 192) {
			body = p[1];
			i = 2;
		} else if (p[1] < 224) {
			if (n < 3)
				return NULL;
			body = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
			i = 3;
		} else if (p[1] == 255) {
			if (n < 6)
				return NULL;
			body = be32(p + 2);
			i = 6;
		} else {
			return NULL;
		}
	} else {
		if (((p[0] >> 2) & 0x0f) != 2)
			return NULL;
		unsigned lt = p[0] & 3;
		size_t ll = lt == 0 ? 1 : lt == 1 ? 2 : lt == 2 ? 4 : 0;
		if (ll == 0 || n < 1 + ll)
			return NULL;
		body = 0;
		for (size_t k = 0; k < ll; k++)
			body = body << 8 | p[1 + k];
		i = 1 + ll;
	}
	if (body > n - i || body < 1)
		return NULL;
	const unsigned char *s = p + i;
	char hex[17];
	if (s[0] == 3 && body >= 15) {
		pib_hex(s + 7, 8, hex);
		return pib_strdup(hex);
	}
	if ((s[0] == 4 || s[0] == 5) && body >= 6) {
		size_t hl = (size_t)s[4] << 8 | s[5];
		if (6 + hl + 2 > body)
			return NULL;
		/* the hashed area, covered by the signature, first; the unhashed one only without it */
		issuer_from_subpackets(s + 6, hl, &fpr, &keyid);
		size_t ul = (size_t)s[6 + hl] << 8 | s[7 + hl];
		if (!fpr && !keyid && 8 + hl + ul <= body)
			issuer_from_subpackets(s + 8 + hl, ul, &fpr, &keyid);
	}
	if (fpr) {
		free(keyid);
		return fpr;
	}
	return keyid;
}

int rpm_info_read(const char *path, struct rpm_info *ret, char **why)
{
	unsigned char lead[LEAD_SIZE];
	struct hdr sig = {0}, h = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;

	memset(ret, 0, sizeof(*ret));
	*why = NULL;
	if (fd < 0) {
		r = -errno;
		*why = pib_asprintf("cannot open it: %s", strerror(-r));
		return r;
	}
	r = pib_read_full(fd, lead, sizeof(lead), -1);
	if (r == -ENODATA || (r == 0 && be32(lead) != 0xedabeedbu)) {
		*why = pib_strdup(r ? "not an rpm package: shorter than an rpm lead (96 bytes)"
				    : "not an rpm package: no rpm lead magic (ed ab ee db) at its start");
		r = -EINVAL;
		goto out;
	}
	if (r < 0)
		goto out;
	if (lead[4] < 3) {
		*why = pib_asprintf("rpm format version %u.%u: too old to be read", lead[4], lead[5]);
		r = -EINVAL;
		goto out;
	}
	if ((r = read_hdr(fd, &sig, "signature header", why)) < 0)
		goto out;
	/* the signature header is padded to a multiple of 8 bytes */
	size_t pad = (8 - ((size_t)sig.il * 16 + sig.dl) % 8) % 8;
	unsigned char skip[8];
	if (pad && (r = pib_read_full(fd, skip, pad, -1)) < 0) {
		if (r == -ENODATA) {
			*why = pib_strdup("truncated: the file ends after its signature header");
			r = -EINVAL;
		}
		goto out;
	}
	if ((r = read_hdr(fd, &h, "header", why)) < 0)
		goto out;

	ret->name = get_str(&h, TAG_NAME);
	ret->version = get_str(&h, TAG_VERSION);
	ret->release = get_str(&h, TAG_RELEASE);
	ret->arch = get_str(&h, TAG_ARCH);
	ret->os = get_str(&h, TAG_OS);
	ret->payload_compressor = get_str(&h, TAG_PAYLOADCOMPRESSOR);
	uint32_t epoch;
	if (get_int32(&h, TAG_EPOCH, &epoch))
		ret->epoch = pib_asprintf("%u", epoch);
	const char *missing = !ret->name ? "Name" : !ret->version ? "Version" : !ret->release ? "Release"
			      : !ret->arch ? "Arch" : NULL;
	if (missing) {
		*why = pib_asprintf("its header has no %s tag (or a malformed one)", missing);
		r = -EINVAL;
		goto out;
	}
	char *srpm = get_str(&h, TAG_SOURCERPM);
	ret->source = lead[6] != 0 || lead[7] != 0 || !srpm || find(&h, TAG_SOURCEPACKAGE);
	free(srpm);

	static const uint32_t sig_tags[] = {SIG_RSA, SIG_DSA, SIG_OPENPGP, SIG_PGP, SIG_GPG, SIG_PGP5};
	for (size_t k = 0; k < sizeof(sig_tags) / sizeof(sig_tags[0]); k++) {
		uint32_t len = 0;
		const unsigned char *b = get_bin(&sig, sig_tags[k], &len);
		if (!b && sig_tags[k] == SIG_OPENPGP) {
			/* rpm 6 stores them as an array of base64 strings: present is enough here */
			if (find(&sig, SIG_OPENPGP))
				ret->signed_ = true;
			continue;
		}
		if (!b)
			continue;
		ret->signed_ = true;
		if (!ret->signer)
			ret->signer = pgp_issuer(b, len);
	}
	r = 0;
out:
	if (r < 0 && r != -EINVAL && !*why)
		*why = pib_asprintf("cannot read it: %s", strerror(-r));
	if (r < 0) {
		rpm_info_free(ret);
		r = -EINVAL;
	}
	hdr_free(&sig);
	hdr_free(&h);
	close(fd);
	return r;
}

void rpm_info_free(struct rpm_info *i)
{
	free(i->name);
	free(i->version);
	free(i->release);
	free(i->arch);
	free(i->os);
	free(i->epoch);
	free(i->signer);
	free(i->payload_compressor);
	memset(i, 0, sizeof(*i));
}

bool rpm_arch_compatible(const char *machine, const char *pkg_arch)
{
	/* rpmrc's arch_compat chains, flattened: what each machine accepts besides itself and noarch */
	static const struct {
		const char *machine;
		const char *const accepts[10];
	} compat[] = {
		{"x86_64", {"amd64", "em64t", "ia32e", "athlon", "i686", "i586", "i486", "i386", NULL}},
		{"i686", {"i586", "i486", "i386", NULL}},
		{"aarch64", {NULL}},
		{"ppc64le", {NULL}},
		{"ppc64", {"ppc", NULL}},
		{"s390x", {NULL}},
	};

	if (!strcmp(pkg_arch, "noarch") || !strcmp(pkg_arch, machine))
		return true;
	for (size_t i = 0; i < sizeof(compat) / sizeof(compat[0]); i++) {
		if (strcmp(compat[i].machine, machine))
			continue;
		for (size_t k = 0; compat[i].accepts[k]; k++)
			if (!strcmp(compat[i].accepts[k], pkg_arch))
				return true;
	}
	return false;
}

/* Packets of a binary OpenPGP key: the fingerprint of each public key (6) and subkey (14) packet. */
static int key_packets(const unsigned char *p, size_t n, char ***ret)
{
	size_t i = 0;
	while (i < n) {
		unsigned tag;
		size_t body, hl;
		if (!(p[i] & 0x80))
			return -EINVAL;
		if (p[i] & 0x40) {
			tag = p[i] & 0x3f;
			if (i + 1 >= n)
				return -EINVAL;
			if (p[i + 1] < 192) {
				body = p[i + 1];
				hl = 2;
			} else if (p[i + 1] < 224) {
				if (i + 2 >= n)
					return -EINVAL;
				body = ((size_t)(p[i + 1] - 192) << 8) + p[i + 2] + 192;
				hl = 3;
			} else if (p[i + 1] == 255) {
				if (i + 6 > n)
					return -EINVAL;
				body = be32(p + i + 2);
				hl = 6;
			} else {
				return -EINVAL; /* partial lengths never occur in key packets */
			}
		} else {
			tag = (p[i] >> 2) & 0x0f;
			unsigned lt = p[i] & 3;
			size_t ll = lt == 0 ? 1 : lt == 1 ? 2 : lt == 2 ? 4 : 0;
			if (ll == 0 || i + 1 + ll > n)
				return -EINVAL;
			body = 0;
			for (size_t k = 0; k < ll; k++)
				body = body << 8 | p[i + 1 + k];
			hl = 1 + ll;
		}
		if (body > n - i - hl)
			return -EINVAL;
		const unsigned char *b = p + i + hl;
		if ((tag == 6 || tag == 14) && body > 0 && (b[0] == 4 || b[0] == 5 || b[0] == 6)) {
			unsigned char md[EVP_MAX_MD_SIZE], pre[5];
			unsigned mdlen = 0;
			size_t plen;
			const EVP_MD *alg;
			if (b[0] == 4) {
				if (body > 0xffff)
					return -EINVAL; /* a v4 key packet's length is hashed on two bytes */
				pre[0] = 0x99, pre[1] = (unsigned char)(body >> 8), pre[2] = (unsigned char)body;
				plen = 3;
				alg = EVP_sha1();
			} else {
				pre[0] = b[0] == 5 ? 0x9a : 0x9b;
				pre[1] = (unsigned char)(body >> 24), pre[2] = (unsigned char)(body >> 16);
				pre[3] = (unsigned char)(body >> 8), pre[4] = (unsigned char)body;
				plen = 5;
				alg = EVP_sha256();
			}
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();
			bool ok = ctx && EVP_DigestInit_ex(ctx, alg, NULL) && EVP_DigestUpdate(ctx, pre, plen) &&
				  EVP_DigestUpdate(ctx, b, body) && EVP_DigestFinal_ex(ctx, md, &mdlen);
			EVP_MD_CTX_free(ctx);
			if (!ok)
				return -ENOMEM;
			char hex[2 * EVP_MAX_MD_SIZE + 1];
			pib_hex(md, mdlen, hex);
			if (pib_strv_push(ret, hex) < 0)
				return -ENOMEM;
		}
		i += hl + body;
	}
	return 0;
}

/* One armored block's text (between its BEGIN line and its END line): its key packets' fingerprints added to *ret. */
static int armored_block(char *begin, char ***ret, char **why)
{
	struct pib_buf b64 = {0};
	unsigned char *bin = NULL;
	size_t bin_len = 0;
	int r = 0;

	/* armor headers end at the first empty line; then base64 lines and the "=CRC" line */
	char *s = strchr(begin, '\n');
	bool in_headers = true;
	for (char *save = NULL, *l = s ? strtok_r(s, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);
		while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
			l[--n] = '\0';
		if (in_headers) {
			if (strchr(l, ':'))
				continue;
			in_headers = false;
		}
		if (n == 0 || l[0] == '=')
			continue;
		if (pib_buf_append(&b64, l, n) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (!b64.len || sign_b64_decode(b64.data, b64.len, &bin, &bin_len) < 0) {
		*why = pib_strdup("an armored key block is not valid base64");
		r = -EINVAL;
		goto out;
	}
	size_t had = pib_strv_len(*ret);
	if ((r = key_packets(bin, bin_len, ret)) < 0 || pib_strv_len(*ret) == had) {
		*why = pib_strdup(r == -ENOMEM ? "out of memory" : "an armored key block holds no readable OpenPGP public key packet");
		r = r == -ENOMEM ? r : -EINVAL;
	}
out:
	free(bin);
	pib_buf_free(&b64);
	return r;
}

int rpm_key_fingerprints(const char *path, char ***ret, char **why)
{
	static const char begin_line[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
	static const char end_line[] = "-----END PGP PUBLIC KEY BLOCK-----";
	char *text = NULL;
	size_t len = 0;
	int r, blocks = 0;

	*ret = NULL;
	*why = NULL;
	if ((r = pib_read_file(path, 1u << 20, &text, &len)) < 0) {
		*why = pib_asprintf("cannot read it: %s", strerror(-r));
		return r;
	}
	/* every block, as rpmkeys --import takes every one */
	for (char *p = text; r == 0;) {
		char *begin = strstr(p, begin_line);
		char *end = begin ? strstr(begin, end_line) : NULL;
		if (!end)
			break;
		*end = '\0';
		p = end + sizeof(end_line) - 1;
		blocks++;
		r = armored_block(begin, ret, why);
	}
	if (r == 0 && blocks == 0) {
		*why = pib_strdup("no ASCII-armored OpenPGP public key block (-----BEGIN PGP PUBLIC KEY BLOCK-----)");
		r = -EINVAL;
	}
	if (r < 0) {
		pib_strv_free(*ret);
		*ret = NULL;
	}
	free(text);
	return r;
}
