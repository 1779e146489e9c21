/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the agent's own .rpm header reader (installers/rpmhdr.c): the real packages of
 * the fixtures (name, version, release, arch as `rpm -qp --qf` gives them, signed or not, the
 * signer), headers built here byte by byte and broken one way each (every malformed one is
 * refused with a reason, never a crash: the ASan build runs this too), OpenPGP signature
 * packets whose lengths lie, rpm's arch compatibility, and the fingerprints of armored keys.
 *
 * Arguments: the source root (for tests/unit/data). Fixtures: $PIB_FIXTURES/rpm, else
 * <source root>/../shared/fixtures/rpm; their checks are skipped when it is absent.
 *
 * Expected values, taken once when this test was written:
 *   rpm -qp --nosignature --nodigest --qf '%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{OS}|%{PAYLOADCOMPRESSOR}|%{RSAHEADER:pgpsig}'
 *   gpg --with-colons --show-keys rpm.org-rsa-2048-test.pub:
 *     771B18D3D7BAA28734333C424344591E1964C5FC (primary), B31E5AA680AF713915901533185E6146F00650F8 (subkey)
 *   tests/unit/data/rpmhdr-key-subkey.asc (made with gpg 2.2.40 --quick-gen-key ed25519 in a
 *   temporary GNUPGHOME, then --quick-add-key cv25519 encr; -newformat.asc is the same packets
 *   with new-format packet headers):
 *     1393175113EE10901A5B38C977B81CBCB43FC8B9 (primary), BC2D6421CA0320225321981A1C313088907AD283 (subkey)
 */
#include "rpmhdr.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static void skip(int n, const char *reason)
{
	for (int i = 0; i < n; i++)
		printf("ok %d # SKIP %s\n", ++tap_n, reason);
}

static char *tmp;     /* private temporary folder */
static char *rpmdir;  /* the fixtures' rpm folder, or NULL */
static const char *src;

#define KEY_FPR "1393175113ee10901a5b38c977b81cbcb43fc8b9"
#define KEY_SUB "bc2d6421ca0320225321981a1c313088907ad283"
#define RPMORG_FPR "771b18d3d7baa28734333c424344591e1964c5fc"
#define RPMORG_SUB "b31e5aa680af713915901533185e6146f00650f8"

/* ------------------------------------------------------------------ files */

static char *tpath(const char *name)
{
	static char p[8][4096];
	static int k;
	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmp, name);
	return p[k];
}

static const char *put(const char *name, const void *data, size_t len)
{
	const char *p = tpath(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || pib_write_all(fd, data, len) < 0) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
	close(fd);
	return p;
}

static char *slurp(const char *path, size_t *len)
{
	char *d = NULL;
	if (pib_read_file(path, 1u << 20, &d, len) < 0)
		return NULL;
	return d;
}

/* ------------------------------------------------------------------ reading */

struct res {
	int r;
	struct rpm_info i;
	char *why;
};

static struct res rd(const char *path)
{
	struct res s = {0};
	s.r = rpm_info_read(path, &s.i, &s.why);
	return s;
}

static void res_free(struct res *s)
{
	rpm_info_free(&s->i);
	free(s->why);
	s->why = NULL;
}

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static bool streq(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* Refused as it must be: -EINVAL, a reason holding sub (when given), nothing left in the info. */
static bool refused(const struct res *s, const char *sub)
{
	return s->r == -EINVAL && s->why && s->why[0] && (!sub || strstr(s->why, sub)) && !s->i.name &&
	       !s->i.version && !s->i.release && !s->i.arch && !s->i.signer && !s->i.epoch;
}

static void expect_refused(const char *name, const void *data, size_t len, const char *sub, const char *what)
{
	struct res s = rd(put(name, data, len));
	ok(refused(&s, sub), "%s: refused with a reason (r=%d, why: %s)", what, s.r, nz(s.why));
	res_free(&s);
}

static bool is_hex(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* What the header says a signer is: NULL, a key id (16 hex) or a fingerprint (40 or 64 hex). */
static bool signer_form(const char *s)
{
	return !s || is_hex(s, 16) || is_hex(s, 40) || is_hex(s, 64);
}

/* ------------------------------------------------------------------ building packages */

enum { T_INT32 = 4, T_STRING = 6, T_BIN = 7, T_STRING_ARRAY = 8, T_I18NSTRING = 9 };

struct hb {
	unsigned char idx[16 * 32];
	uint32_t il;
	unsigned char store[4096];
	uint32_t dl;
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Adds an entry (its value aligned as rpm aligns it); returns its index. */
static int hb_add(struct hb *h, uint32_t tag, uint32_t type, uint32_t count, const void *data, size_t len)
{
	if (type == T_INT32)
		while (h->dl % 4)
			h->store[h->dl++] = 0;
	unsigned char *e = h->idx + 16 * h->il;
	put32(e, tag), put32(e + 4, type), put32(e + 8, h->dl), put32(e + 12, count);
	memcpy(h->store + h->dl, data, len);
	h->dl += (uint32_t)len;
	return (int)h->il++;
}

static int hb_str(struct hb *h, uint32_t tag, const char *s)
{
	return hb_add(h, tag, T_STRING, 1, s, strlen(s) + 1);
}

static int hb_int(struct hb *h, uint32_t tag, uint32_t v)
{
	unsigned char b[4];
	put32(b, v);
	return hb_add(h, tag, T_INT32, 1, b, 4);
}

/* Field 0 tag, 1 type, 2 offset, 3 count of entry e. */
static void hb_set(struct hb *h, int e, int field, uint32_t v)
{
	put32(h->idx + 16 * e + 4 * field, v);
}

static uint32_t hb_get(const struct hb *h, int e, int field)
{
	return get32(h->idx + 16 * e + 4 * field);
}

static size_t hdr_bytes(unsigned char *o, const struct hb *h)
{
	static const unsigned char magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};
	memcpy(o, magic, 8);
	put32(o + 8, h->il), put32(o + 12, h->dl);
	memcpy(o + 16, h->idx, 16 * (size_t)h->il);
	memcpy(o + 16 + 16 * (size_t)h->il, h->store, h->dl);
	return 16 + 16 * (size_t)h->il + h->dl;
}

/* A package: lead of the given type, signature header padded to 8, header. *hdr_at: where the header starts. */
static size_t build(unsigned char *o, uint16_t type, const struct hb *sig, const struct hb *h, size_t *hdr_at)
{
	memset(o, 0, 96);
	put32(o, 0xedabeedb);
	o[4] = 3, o[5] = 0, o[6] = (unsigned char)(type >> 8), o[7] = (unsigned char)type, o[9] = 1;
	memcpy(o + 10, "hello-1.0-1", 11);
	o[77] = 1, o[79] = 5;
	size_t n = 96 + hdr_bytes(o + 96, sig);
	while (n % 8)
		o[n++] = 0;
	if (hdr_at)
		*hdr_at = n;
	return n + hdr_bytes(o + n, h);
}

static unsigned char fpr_bin[20];

/* An OpenPGP v4 signature packet (old format, two-octet length); its signature value is filler. */
static size_t sig_v4(unsigned char *o, const unsigned char *hashed, size_t hl, const unsigned char *unhashed, size_t ul)
{
	unsigned char b[1024];
	size_t n = 0;
	b[n++] = 4, b[n++] = 0, b[n++] = 1, b[n++] = 8;
	b[n++] = (unsigned char)(hl >> 8), b[n++] = (unsigned char)hl;
	if (hl)
		memcpy(b + n, hashed, hl), n += hl;
	b[n++] = (unsigned char)(ul >> 8), b[n++] = (unsigned char)ul;
	if (ul)
		memcpy(b + n, unhashed, ul), n += ul;
	b[n++] = 0xab, b[n++] = 0xcd, b[n++] = 1, b[n++] = 0;
	for (int i = 0; i < 32; i++)
		b[n++] = (unsigned char)i;
	o[0] = 0x89, o[1] = (unsigned char)(n >> 8), o[2] = (unsigned char)n;
	memcpy(o + 3, b, n);
	return n + 3;
}

static const unsigned char created[] = {5, 2, 0x65, 0x53, 0xf1, 0x00};

/* subpackets: issuer fingerprint (33, v4) and issuer key id (16) of the test key */
static size_t sp_fpr(unsigned char *o)
{
	o[0] = 22, o[1] = 33, o[2] = 4;
	memcpy(o + 3, fpr_bin, 20);
	return 23;
}

static size_t sp_keyid(unsigned char *o)
{
	o[0] = 9, o[1] = 16;
	memcpy(o + 2, fpr_bin + 12, 8);
	return 10;
}

/* The main header of a good package; the entries' indexes are given back for breaking them. */
struct good {
	int name, version, release, epoch, os, arch, srpm, comp;
};

static void main_header(struct hb *h, struct good *g, bool srpm)
{
	memset(h, 0, sizeof(*h));
	g->name = hb_str(h, 1000, "hello");
	g->version = hb_str(h, 1001, "1.0");
	g->release = hb_str(h, 1002, "1");
	g->os = hb_str(h, 1021, "linux");
	g->epoch = hb_int(h, 1003, 2);
	g->arch = hb_str(h, 1022, "x86_64");
	g->srpm = srpm ? hb_str(h, 1044, "hello-1.0-1.src.rpm") : -1;
	g->comp = hb_str(h, 1125, "xz");
}

/* A signature header holding one signature tag of the given type and bytes, and the usual digests. */
static void sig_header(struct hb *s, uint32_t tag, uint32_t type, const unsigned char *p, size_t n)
{
	memset(s, 0, sizeof(*s));
	if (tag)
		hb_add(s, tag, type, (uint32_t)n, p, n);
	hb_str(s, 273, "0000000000000000000000000000000000000000000000000000000000000000");
	hb_int(s, 1000, 1234);
}

static unsigned char pkg[16384];

/* A good signed package with the given RSA-tag bytes (or the usual v4 signature when p is NULL). */
static size_t signed_pkg(const unsigned char *p, size_t n, uint32_t tag)
{
	unsigned char def[512], hs[128], us[64];
	struct hb s, h;
	struct good g;
	if (!p) {
		size_t hl = 0, ul;
		memcpy(hs, created, sizeof(created)), hl = sizeof(created);
		hl += sp_fpr(hs + hl);
		ul = sp_keyid(us);
		n = sig_v4(def, hs, hl, us, ul);
		p = def;
	}
	sig_header(&s, tag, T_BIN, p, n);
	main_header(&h, &g, true);
	return build(pkg, 0, &s, &h, NULL);
}

/* ------------------------------------------------------------------ tests: fixtures */

struct fixture {
	const char *file, *name, *version, *release, *arch, *comp;
	bool signed_;
};

static const struct fixture fixtures[] = {
	{"capstest-1.0-1.noarch.rpm", "capstest", "1.0", "1", "noarch", "xz", false},
	{"foo-1.0-1.noarch.rpm", "foo", "1.0", "1", "noarch", "zstd", false},
	{"hello-1.0-1.i386.rpm", "hello", "1.0", "1", "i386", "gzip", false},
	{"hello-1.0-1.ppc64.rpm", "hello", "1.0", "1", "ppc64", "gzip", false},
	{"hello-2.0-1.x86_64-corrupted.rpm", "hello", "2.0", "1", "x86_64", "gzip", true},
	{"hello-2.0-1.x86_64-signed.rpm", "hello", "2.0", "1", "x86_64", "gzip", true},
	{"hello-2.0-1.x86_64.rpm", "hello", "2.0", "1", "x86_64", "gzip", false},
	{"hlinktest-1.0-1.noarch.rpm", "hlinktest", "1.0", "1", "noarch", NULL, false},
	{"obsolete-foo-1.0-1.noarch.rpm", "foo", "1.0", "1", "noarch", "gzip", false},
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static char *fixture_path(const char *file)
{
	return pib_asprintf("%s/%s", rpmdir, file);
}

/* Where the header region of a package ends (lead, padded signature header, header), or 0. */
static size_t header_end(const unsigned char *d, size_t len)
{
	if (len < 112)
		return 0;
	size_t n = 96 + 16 + 16 * (size_t)get32(d + 104) + get32(d + 108);
	n += (8 - n % 8) % 8;
	if (len < n + 16)
		return 0;
	return n + 16 + 16 * (size_t)get32(d + n + 8) + get32(d + n + 12);
}

static void test_fixtures(void)
{
	if (!rpmdir) {
		skip(N_FIXTURES + 9, "no fixtures: set PIB_FIXTURES (the folder holding rpm/)");
		return;
	}
	for (size_t k = 0; k < N_FIXTURES; k++) {
		const struct fixture *f = &fixtures[k];
		char *p = fixture_path(f->file);
		struct res s = rd(p);
		ok(s.r == 0 && !s.why && streq(s.i.name, f->name) && streq(s.i.version, f->version) &&
			   streq(s.i.release, f->release) && streq(s.i.arch, f->arch) && streq(s.i.os, "linux") &&
			   !s.i.epoch && streq(s.i.payload_compressor, f->comp) && !s.i.source && s.i.signed_ == f->signed_ &&
			   (f->signed_ ? streq(s.i.signer, "4344591e1964c5fc") : !s.i.signer),
		   "%s: %s %s %s %s os %s epoch %s compressor %s source %d signed %d signer %s (r=%d, why: %s)", f->file,
		   nz(s.i.name), nz(s.i.version), nz(s.i.release), nz(s.i.arch), nz(s.i.os), nz(s.i.epoch),
		   nz(s.i.payload_compressor), s.i.source, s.i.signed_, nz(s.i.signer), s.r, nz(s.why));
		res_free(&s);
		free(p);
	}

	/* the signer against the key's own fingerprints */
	char *kp = fixture_path("rpm.org-rsa-2048-test.pub"), *sp = fixture_path("hello-2.0-1.x86_64-signed.rpm");
	char **f = NULL, *why = NULL;
	int r = rpm_key_fingerprints(kp, &f, &why);
	ok(r == 0 && f && pib_strv_len(f) == 2 && !strcmp(f[0], RPMORG_FPR) && !strcmp(f[1], RPMORG_SUB),
	   "rpm.org-rsa-2048-test.pub: the primary key's and the subkey's fingerprints, as gpg gives them (r=%d, %s %s, why: %s)",
	   r, f && f[0] ? f[0] : "-", f && f[0] && f[1] ? f[1] : "-", nz(why));
	struct res s = rd(sp);
	ok(s.r == 0 && s.i.signer && f && f[0] && pib_str_has_suffix(f[0], s.i.signer) && strlen(s.i.signer) >= 16,
	   "the signed hello's signer %s is the key id of rpm.org-rsa-2048-test.pub's primary key (a suffix of its fingerprint)",
	   nz(s.i.signer));
	res_free(&s);
	pib_strv_free(f);
	free(why);

	/* the lead's type set to 1 (source) in a copy */
	size_t len = 0;
	char *d = slurp(sp, &len);
	if (d && len > 96) {
		d[6] = 0, d[7] = 1;
		s = rd(put("lead-type-source.rpm", d, len));
		ok(s.r == 0 && s.i.source && streq(s.i.name, "hello") && s.i.signed_,
		   "a copy of the signed hello with lead type 1: a source package (r=%d, source %d, why: %s)", s.r,
		   s.i.source, nz(s.why));
		res_free(&s);
		d[6] = 1, d[7] = 0;
		s = rd(put("lead-type-256.rpm", d, len));
		ok(s.r == 0 && s.i.source, "lead type 256 (not 0): not a binary package either (r=%d, source %d)", s.r, s.i.source);
		res_free(&s);
		d[6] = 0, d[7] = 0;
	} else {
		ok(false, "the signed hello can be read whole");
		ok(false, "the signed hello can be read whole");
	}

	/* every truncation from 0 to the end of its header region */
	size_t end = d ? header_end((unsigned char *)d, len) : 0;
	ok(end > 200 && end <= len, "the signed hello's header region ends at %zu of %zu bytes", end, len);
	int bad1 = -1, bad7 = -1, n1 = 0, n7 = 0;
	char why1[300] = "", why7[300] = "";
	for (size_t l = 0; end && l < end; l = l < 200 ? l + 1 : l + 7 < end ? l + 7 : (l == end - 1 ? end : end - 1)) {
		s = rd(put("truncated.rpm", d, l));
		bool good = refused(&s, NULL) &&
			    (l < 96 ? strstr(s.why, "shorter than an rpm lead") != NULL : strstr(s.why, "truncated") != NULL);
		if (l < 200) {
			n1++;
			if (!good && bad1 < 0)
				bad1 = (int)l, snprintf(why1, sizeof(why1), "r=%d why: %s", s.r, nz(s.why));
		} else {
			n7++;
			if (!good && bad7 < 0)
				bad7 = (int)l, snprintf(why7, sizeof(why7), "r=%d why: %s", s.r, nz(s.why));
		}
		res_free(&s);
	}
	ok(n1 == 200 && bad1 < 0, "the signed hello cut at each of 0..199 bytes (%d cuts): refused as shorter than a lead or truncated (first wrong: %d %s)",
	   n1, bad1, why1);
	ok(n7 > 0 && (size_t)n7 >= (end - 200) / 7 && bad7 < 0, "cut every 7th byte from 200 to its header's end (%d cuts, the last one byte short): refused as truncated (first wrong: %d %s)",
	   n7, bad7, why7);
	s = end ? rd(put("truncated.rpm", d, end)) : (struct res){0};
	ok(end && s.r == 0 && streq(s.i.name, "hello") && s.i.signed_,
	   "cut exactly at its header's end (no payload): still read (r=%d, why: %s)", s.r, nz(s.why));
	res_free(&s);

	/* the corrupted fixture: its payload is cut off; the headers are whole */
	free(d);
	free(kp);
	free(sp);
	char *cp = fixture_path("hello-2.0-1.x86_64-corrupted.rpm");
	d = slurp(cp, &len);
	ok(d && header_end((unsigned char *)d, len) == len,
	   "hello-2.0-1.x86_64-corrupted.rpm ends where its header ends (what rpm -K refuses is left to rpm)");
	free(d);
	free(cp);
}

/* ------------------------------------------------------------------ tests: built packages */

static void test_built(void)
{
	struct hb s, h;
	struct good g;
	size_t n, at;
	struct res r;

	/* the good one */
	n = signed_pkg(NULL, 0, 268);
	r = rd(put("good.rpm", pkg, n));
	ok(r.r == 0 && streq(r.i.name, "hello") && streq(r.i.version, "1.0") && streq(r.i.release, "1") &&
		   streq(r.i.arch, "x86_64") && streq(r.i.os, "linux") && streq(r.i.epoch, "2") &&
		   streq(r.i.payload_compressor, "xz") && !r.i.source && r.i.signed_ && streq(r.i.signer, KEY_FPR),
	   "a package built here: hello 2:1.0-1 x86_64 linux xz, binary, signed by the issuer fingerprint %s (r=%d, why: %s)",
	   nz(r.i.signer), r.r, nz(r.why));
	res_free(&r);

	/* source packages */
	sig_header(&s, 0, 0, NULL, 0);
	main_header(&h, &g, false);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("no-srpm.rpm", pkg, n));
	ok(r.r == 0 && r.i.source && !r.i.signed_ && !r.i.signer, "no SOURCERPM tag: a source package, unsigned (r=%d)", r.r);
	res_free(&r);
	main_header(&h, &g, true);
	hb_int(&h, 1106, 1);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("sourcepackage.rpm", pkg, n));
	ok(r.r == 0 && r.i.source, "a SOURCEPACKAGE tag: a source package (r=%d)", r.r);
	res_free(&r);

	/* i18n string and string array values: their first string */
	memset(&h, 0, sizeof(h));
	hb_add(&h, 1000, T_I18NSTRING, 1, "hi\0", 3);
	hb_add(&h, 1001, T_STRING_ARRAY, 2, "2.0\0x\0", 6);
	hb_str(&h, 1002, "3");
	hb_str(&h, 1022, "noarch");
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("i18n.rpm", pkg, n));
	ok(r.r == 0 && streq(r.i.name, "hi") && streq(r.i.version, "2.0") && !r.i.os && !r.i.epoch && !r.i.payload_compressor,
	   "an i18n Name and an array Version: their first string; no OS, Epoch or compressor: NULL (r=%d, %s %s)", r.r,
	   nz(r.i.name), nz(r.i.version));
	res_free(&r);

	/* not rpms */
	expect_refused("empty.rpm", "", 0, "shorter than an rpm lead", "an empty file");
	memset(pkg, 0xed, 50);
	expect_refused("fifty.rpm", pkg, 50, "shorter than an rpm lead", "50 bytes");
	{
		char deb[200] = "!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n"
				"control.tar.xz  1700000000  0     0     100644  512       `\n";
		expect_refused("deb.rpm", deb, sizeof(deb), "no rpm lead magic", "a .deb's first 200 bytes");
	}
	n = signed_pkg(NULL, 0, 268);
	pkg[4] = 2;
	expect_refused("v2.rpm", pkg, n, "too old", "a lead of rpm format 2");

	/* the signature header */
	n = signed_pkg(NULL, 0, 268);
	put32(pkg + 104, 0xffffffff);
	expect_refused("sig-il.rpm", pkg, n, "index entries", "a signature header with il = 0xffffffff");
	n = signed_pkg(NULL, 0, 268);
	put32(pkg + 104, 0);
	expect_refused("sig-il0.rpm", pkg, n, "index entries", "a signature header with no index entry");
	n = signed_pkg(NULL, 0, 268);
	put32(pkg + 108, (64u << 20) + 1);
	expect_refused("sig-dl.rpm", pkg, n, "bytes of data", "a signature header with dl one byte over 64 MiB");
	n = signed_pkg(NULL, 0, 268);
	pkg[98] = 0xe9;
	expect_refused("sig-magic.rpm", pkg, n, "signature header has no header magic", "a signature header without its magic");
	n = signed_pkg(NULL, 0, 268);
	put32(pkg + 108, get32(pkg + 108) + 100000);
	expect_refused("sig-dl-long.rpm", pkg, n, "truncated", "a signature header whose dl runs past the file's end");

	/* the padding after the signature header (3 bytes more in its store: padding needed) */
	sig_header(&s, 0, 0, NULL, 0);
	hb_add(&s, 1004, T_BIN, 3, "abc", 3);
	main_header(&h, &g, true);
	n = build(pkg, 0, &s, &h, &at);
	size_t sig_end = 96 + 16 + 16 * (size_t)s.il + s.dl;
	ok(at > sig_end, "(the signature header built here needs %zu bytes of padding)", at - sig_end);
	memmove(pkg + sig_end, pkg + at, n - at);
	expect_refused("no-pad.rpm", pkg, n - (at - sig_end), "header has no header magic",
		       "a header right after the signature header, without the padding");
	expect_refused("in-pad.rpm", pkg, sig_end + 1, "truncated", "a file that ends inside the signature header's padding");

	/* the header's intro */
	n = build(pkg, 0, &s, &h, &at);
	put32(pkg + at + 8, 0xffffffff);
	expect_refused("il.rpm", pkg, n, "index entries", "a header with il = 0xffffffff");
	n = build(pkg, 0, &s, &h, &at);
	put32(pkg + at + 8, 65537);
	expect_refused("il65537.rpm", pkg, n, "index entries", "a header with il = 65537");
	n = build(pkg, 0, &s, &h, &at);
	put32(pkg + at + 12, (64u << 20) + 1);
	expect_refused("dl.rpm", pkg, n, "bytes of data", "a header with dl one byte over 64 MiB");
	n = build(pkg, 0, &s, &h, &at);
	put32(pkg + at + 12, 0xffffffff);
	expect_refused("dl-max.rpm", pkg, n, "bytes of data", "a header with dl = 0xffffffff");
	n = build(pkg, 0, &s, &h, &at);
	put32(pkg + at + 12, 64u << 20);
	expect_refused("dl-64m.rpm", pkg, n, "truncated", "a header with dl of 64 MiB in a small file");
	n = build(pkg, 0, &s, &h, &at);
	put32(pkg + at + 8, h.il + 1);
	expect_refused("il-plus1.rpm", pkg, n, "truncated", "a header claiming one index entry more than it has");
	n = build(pkg, 0, &s, &h, &at);
	pkg[at + 3] = 2;
	expect_refused("hdr-v2.rpm", pkg, n, "header has no header magic", "a header of header version 2");

	/* each required tag: missing, its offset past the store, not terminated inside the store, not a string */
	static const struct {
		uint32_t tag;
		const char *name;
	} req[] = {{1000, "Name"}, {1001, "Version"}, {1002, "Release"}, {1022, "Arch"}};
	for (size_t k = 0; k < sizeof(req) / sizeof(req[0]); k++) {
		char what[160], sub[64];
		int e = k == 0 ? g.name : k == 1 ? g.version : k == 2 ? g.release : g.arch;
		snprintf(sub, sizeof(sub), "no %s tag", req[k].name);

		main_header(&h, &g, true);
		hb_set(&h, e, 0, 1999);
		n = build(pkg, 0, &s, &h, NULL);
		snprintf(what, sizeof(what), "no %s tag", req[k].name);
		expect_refused("missing.rpm", pkg, n, sub, what);

		main_header(&h, &g, true);
		hb_set(&h, e, 2, h.dl);
		n = build(pkg, 0, &s, &h, NULL);
		snprintf(what, sizeof(what), "%s's offset at the store's end", req[k].name);
		expect_refused("past.rpm", pkg, n, req[k].name, what);

		hb_set(&h, e, 2, 0xfffffff0);
		n = build(pkg, 0, &s, &h, NULL);
		snprintf(what, sizeof(what), "%s's offset 0xfffffff0", req[k].name);
		expect_refused("past2.rpm", pkg, n, req[k].name, what);

		/* the store ends with bytes that are not NUL: point the tag at them */
		main_header(&h, &g, true);
		int last = hb_add(&h, 5000, T_BIN, 4, "XXXX", 4);
		hb_set(&h, e, 2, hb_get(&h, last, 2));
		n = build(pkg, 0, &s, &h, NULL);
		snprintf(what, sizeof(what), "%s not NUL-terminated inside the store", req[k].name);
		expect_refused("unterminated.rpm", pkg, n, req[k].name, what);

		main_header(&h, &g, true);
		hb_set(&h, e, 1, T_INT32);
		n = build(pkg, 0, &s, &h, NULL);
		snprintf(what, sizeof(what), "%s of type INT32", req[k].name);
		expect_refused("type.rpm", pkg, n, req[k].name, what);
	}

	/* optional tags that are broken: OS and compressor are dropped; Epoch, an INT32, is where the
	 * header's promise (a header whose index or store is out of bounds fails) is not kept */
	main_header(&h, &g, true);
	hb_set(&h, g.os, 2, h.dl + 5);
	hb_set(&h, g.comp, 2, 0xffffffff);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("os-past.rpm", pkg, n));
	ok(r.r == -EINVAL || (r.r == 0 && !r.i.os && !r.i.payload_compressor),
	   "OS and PayloadCompressor offsets past the store: never read from beyond it (r=%d, os %s)", r.r, nz(r.i.os));
	res_free(&r);

	main_header(&h, &g, true);
	hb_set(&h, g.epoch, 2, hb_get(&h, g.epoch, 2) + 1);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("epoch-misaligned.rpm", pkg, n));
	ok(r.r == -EINVAL || (r.r == 0 && !r.i.epoch), "an INT32 Epoch at an offset not a multiple of 4: no epoch read from it (r=%d, epoch %s)",
	   r.r, nz(r.i.epoch));
	ok(refused(&r, NULL), "an INT32 Epoch at an offset not a multiple of 4: refused (r=%d, epoch %s)", r.r, nz(r.i.epoch));
	res_free(&r);

	main_header(&h, &g, true);
	hb_set(&h, g.epoch, 2, h.dl);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("epoch-past.rpm", pkg, n));
	ok(r.r == -EINVAL || (r.r == 0 && !r.i.epoch), "an Epoch whose offset is the store's end: no epoch read from it (r=%d)", r.r);
	ok(refused(&r, NULL), "an Epoch whose offset is the store's end: refused (r=%d, epoch %s)", r.r, nz(r.i.epoch));
	res_free(&r);

	main_header(&h, &g, true);
	hb_set(&h, g.epoch, 2, h.dl - 2);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("epoch-straddle.rpm", pkg, n));
	ok(r.r == -EINVAL || (r.r == 0 && !r.i.epoch), "an Epoch whose 4 bytes straddle the store's end: not read (r=%d)", r.r);
	res_free(&r);

	main_header(&h, &g, true);
	int summary = hb_str(&h, 1004, "a summary");
	hb_set(&h, summary, 2, 0x7fffffff);
	n = build(pkg, 0, &s, &h, NULL);
	r = rd(put("summary-past.rpm", pkg, n));
	ok(refused(&r, NULL), "an index entry (Summary) whose offset is far past the store: refused (r=%d)", r.r);
	res_free(&r);

	/* a signature tag out of bounds: read as no signature at all */
	n = signed_pkg(NULL, 0, 268);
	put32(pkg + 96 + 16 + 12, 100000); /* the RSA entry's count */
	r = rd(put("rsa-past.rpm", pkg, n));
	ok(r.r == -EINVAL || (r.r == 0 && !r.i.signer), "an RSA signature tag whose count runs past the store: nothing read beyond it (r=%d)", r.r);
	ok(refused(&r, NULL),
	     "an RSA signature tag whose count runs past the store: refused, not taken for an unsigned package (r=%d, signed %d)", r.r,
	     r.i.signed_);
	res_free(&r);
}

/* ------------------------------------------------------------------ tests: signature packets */

static void sig_case(const unsigned char *p, size_t n, uint32_t tag, const char *want, const char *what)
{
	size_t len = signed_pkg(p, n, tag);
	struct res r = rd(put("sig.rpm", pkg, len));
	ok(r.r == 0 && r.i.signed_ && streq(r.i.signer, want) && streq(r.i.name, "hello"),
	   "%s: signed, signer %s (got r=%d, signer %s, why: %s)", what, nz(want), r.r, nz(r.i.signer), nz(r.why));
	res_free(&r);
}

static void test_signatures(void)
{
	unsigned char p[600], hs[300], us[300];
	size_t n, hl, ul;
	const char *keyid = KEY_FPR + 24;

	/* well-formed: where the issuer is and how the packet is framed */
	hl = sizeof(created), memcpy(hs, created, hl);
	ul = sp_keyid(us);
	n = sig_v4(p, hs, hl, us, ul);
	sig_case(p, n, 268, keyid, "a v4 signature naming its issuer's key id (unhashed)");
	sig_case(p, n, 267, keyid, "the same in the DSA tag (267)");
	sig_case(p, n, 1002, keyid, "the same in the PGP tag (1002)");
	sig_case(p, n, 1005, keyid, "the same in the GPG tag (1005)");
	ul += sp_fpr(us + ul);
	n = sig_v4(p, hs, hl, us, ul);
	sig_case(p, n, 268, KEY_FPR, "key id then fingerprint, both unhashed: the fingerprint");

	/* new-format packet headers: one-octet, two-octet, five-octet lengths */
	{
		unsigned char q[600];
		size_t body = n - 3;
		q[0] = 0xc2, q[1] = (unsigned char)body;
		memcpy(q + 2, p + 3, body);
		sig_case(q, body + 2, 268, KEY_FPR, "a new-format packet header, one-octet length");
		q[0] = 0xc2, q[1] = 255, put32(q + 2, (uint32_t)body);
		memcpy(q + 6, p + 3, body);
		sig_case(q, body + 6, 268, KEY_FPR, "a new-format packet header, five-octet length");
		q[0] = 0x88, q[1] = (unsigned char)body;
		memcpy(q + 2, p + 3, body);
		sig_case(q, body + 2, 268, KEY_FPR, "an old-format packet header, one-octet length");
		q[0] = 0x8a, put32(q + 1, (uint32_t)body);
		memcpy(q + 5, p + 3, body);
		sig_case(q, body + 5, 268, KEY_FPR, "an old-format packet header, four-octet length");
		/* a subpacket area with two-octet subpacket lengths: a 200-byte notation first */
		unsigned char big[300];
		size_t bl = 0;
		big[bl++] = 192, big[bl++] = 9, big[bl++] = 20; /* length 192 + 9 = 201: type and 200 bytes */
		memset(big + bl, 'n', 200), bl += 200;
		bl += sp_fpr(big + bl);
		n = sig_v4(p, big, bl, NULL, 0);
		sig_case(p, n, 268, KEY_FPR, "a two-octet-length subpacket before the hashed issuer fingerprint");
	}

	/* a v3 signature: the key id at its fixed place */
	{
		unsigned char v3[64] = {0x88, 0, 3, 5, 0, 0x65, 0x53, 0xf1, 0};
		memcpy(v3 + 9, fpr_bin + 12, 8);
		v3[17] = 1, v3[18] = 8, v3[19] = 0xab, v3[20] = 0xcd, v3[21] = 0, v3[22] = 8, v3[23] = 0x5a;
		v3[1] = 22;
		sig_case(v3, 24, 1002, keyid, "a v3 signature");
		v3[1] = 10;
		sig_case(v3, 12, 1002, NULL, "a v3 signature cut to 10 bytes (its packet says so)");
		v3[1] = 22;
		sig_case(v3, 12, 1002, NULL, "a v3 signature whose length (22) runs past the tag's 12 bytes");
	}

	/* lengths that run past the packet */
	hl = sizeof(created), memcpy(hs, created, hl);
	hl += sp_fpr(hs + hl);
	ul = sp_keyid(us);
	n = sig_v4(p, hs, hl, us, ul);
	sig_case(p, 20, 268, NULL, "a v4 packet whose length runs past the tag's 20 bytes");
	sig_case(p, 1, 268, NULL, "a signature tag of one byte");
	sig_case(p, 0, 268, NULL, "a signature tag of no byte");
	{
		unsigned char q[600];
		q[0] = 0xc2, q[1] = 255, put32(q + 2, 0xffffffff);
		memcpy(q + 6, p + 3, n - 3);
		sig_case(q, n + 3, 268, NULL, "a new-format five-octet length of 0xffffffff");
		q[0] = 0xc2, q[1] = 255;
		sig_case(q, 4, 268, NULL, "a new-format five-octet length cut after two of its bytes");
		q[0] = 0xc2, q[1] = 0xe1;
		memcpy(q + 2, p + 3, n - 3);
		sig_case(q, n - 1, 268, NULL, "a new-format partial length");
		q[0] = 0xc2, q[1] = 0xd0;
		sig_case(q, 2, 268, NULL, "a new-format two-octet length cut after its first byte");
		q[0] = 0x8b;
		memcpy(q + 1, p + 3, n - 3);
		sig_case(q, n - 2, 268, NULL, "an old-format indeterminate length");
		q[0] = 0x8a, q[1] = 0xff, q[2] = 0xff;
		sig_case(q, 3, 268, NULL, "an old-format four-octet length cut after two of its bytes");
		q[0] = 0x99, q[1] = p[1], q[2] = p[2];
		memcpy(q + 3, p + 3, n - 3);
		sig_case(q, n, 268, NULL, "a public key packet (tag 6) in a signature tag");
	}
	/* subpacket areas that lie */
	{
		unsigned char q[600];
		memcpy(q, p, n);
		q[3 + 4] = 0xff, q[3 + 5] = 0xff; /* the hashed area's length */
		sig_case(q, n, 268, NULL, "a v4 hashed subpacket area of 65535 bytes in a short packet");
		memcpy(q, p, n);
		q[3 + 6 + hl] = 0xff, q[3 + 7 + hl] = 0xff; /* the unhashed area's length */
		sig_case(q, n, 268, KEY_FPR, "an unhashed area of 65535 bytes: the hashed issuer fingerprint is still read");

		/* a five-octet subpacket length of 0xffffffff before the hashed issuer; the key id follows unhashed */
		unsigned char h2[64] = {255, 0xff, 0xff, 0xff, 0xff, 20};
		n = sig_v4(q, h2, 6, us, ul);
		sig_case(q, n, 268, keyid, "a hashed subpacket of length 0xffffffff: the walk stops there, the unhashed key id is read");
		unsigned char h3[8] = {255, 0, 0};
		n = sig_v4(q, h3, 3, NULL, 0);
		sig_case(q, n, 268, NULL, "a five-octet subpacket length cut after two of its bytes");
		unsigned char h4[8] = {5, 2, 0, 0, 0, 0, 0xc5};
		n = sig_v4(q, h4, 7, NULL, 0);
		sig_case(q, n, 268, NULL, "a two-octet subpacket length whose second byte is past the area");
		unsigned char h5[8] = {0, 16, 1, 2, 3, 4, 5, 6};
		n = sig_v4(q, h5, 8, NULL, 0);
		sig_case(q, n, 268, NULL, "a subpacket of length 0");
		unsigned char h6[16] = {10, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9};
		n = sig_v4(q, h6, 11, NULL, 0);
		sig_case(q, n, 268, NULL, "an issuer subpacket of 9 bytes, not 8");
		unsigned char h7[80] = {80, 33, 4};
		n = sig_v4(q, h7, 80, NULL, 0);
		sig_case(q, n, 268, NULL, "an issuer fingerprint subpacket whose length runs one byte past its area");
	}
	/* an issuer fingerprint subpacket without a fingerprint's length */
	{
		unsigned char q[600], h8[16] = {2, 33, 4}, h9[16] = {5, 33, 4, 0xab, 0xcd, 0xef};
		size_t k = sp_keyid(us);
		n = sig_v4(q, h8, 3, us, k);
		size_t len = signed_pkg(q, n, 268);
		struct res r = rd(put("sig.rpm", pkg, len));
		bool good1 = r.r == 0 && signer_form(r.i.signer);
		char got1[80];
		snprintf(got1, sizeof(got1), "%s%s%s", r.i.signer ? "\"" : "", nz(r.i.signer), r.i.signer ? "\"" : "");
		res_free(&r);
		n = sig_v4(q, h9, 6, us, k);
		len = signed_pkg(q, n, 268);
		r = rd(put("sig.rpm", pkg, len));
		bool good2 = r.r == 0 && signer_form(r.i.signer);
		ok(good1 && good2,
		     "issuer fingerprint subpackets holding no fingerprint or 3 bytes of one: the signer is NULL, a key id or a whole fingerprint (got %s and \"%s\")",
		     got1, nz(r.i.signer));
		res_free(&r);
	}

	/* rpm 6's OpenPGP tag (278): an array of base64 strings; no signature at all */
	{
		struct hb s, h;
		struct good g;
		sig_header(&s, 0, 0, NULL, 0);
		hb_add(&s, 278, T_STRING_ARRAY, 1, "iQEzBAABCAAdFiEE\0", 17);
		main_header(&h, &g, true);
		size_t len = build(pkg, 0, &s, &h, NULL);
		struct res r = rd(put("rpm6.rpm", pkg, len));
		ok(r.r == 0 && r.i.signed_ && !r.i.signer, "an rpm 6 OpenPGP tag (278, base64 strings): signed, no signer named (r=%d)", r.r);
		res_free(&r);
		sig_header(&s, 0, 0, NULL, 0);
		len = build(pkg, 0, &s, &h, NULL);
		r = rd(put("unsigned.rpm", pkg, len));
		ok(r.r == 0 && !r.i.signed_ && !r.i.signer, "only digests in the signature header: not signed (r=%d)", r.r);
		res_free(&r);
		sig_header(&s, 268, T_STRING, (const unsigned char *)"abc", 4);
		len = build(pkg, 0, &s, &h, NULL);
		r = rd(put("rsa-string.rpm", pkg, len));
		ok(r.r == 0 && !r.i.signer, "an RSA tag of type STRING: no signer read from it (r=%d, signed %d)", r.r, r.i.signed_);
		res_free(&r);
	}
}

/* ------------------------------------------------------------------ tests: arches */

static void test_arch(void)
{
	static const char *const x86_ok[] = {"x86_64", "noarch", "i686", "i586", "i486", "i386", "athlon", "amd64"};
	static const char *const x86_no[] = {"aarch64", "ppc64", "ppc64le", "s390x", "armv7hl", "X86_64", "", "x86_64 "};
	for (size_t i = 0; i < sizeof(x86_ok) / sizeof(x86_ok[0]); i++)
		ok(rpm_arch_compatible("x86_64", x86_ok[i]), "x86_64 takes %s", x86_ok[i]);
	for (size_t i = 0; i < sizeof(x86_no) / sizeof(x86_no[0]); i++)
		ok(!rpm_arch_compatible("x86_64", x86_no[i]), "x86_64 refuses \"%s\"", x86_no[i]);
	ok(rpm_arch_compatible("aarch64", "aarch64") && rpm_arch_compatible("aarch64", "noarch"), "aarch64 takes aarch64 and noarch");
	ok(!rpm_arch_compatible("aarch64", "x86_64") && !rpm_arch_compatible("aarch64", "i686") &&
		   !rpm_arch_compatible("aarch64", "armv7hl"),
	   "aarch64 refuses x86_64, i686, armv7hl");
	ok(!rpm_arch_compatible("i686", "x86_64") && !rpm_arch_compatible("i686", "athlon") && rpm_arch_compatible("i686", "i386") &&
		   rpm_arch_compatible("i686", "noarch"),
	   "i686 refuses x86_64 and athlon, takes i386 and noarch");
	ok(rpm_arch_compatible("ppc64le", "ppc64le") && !rpm_arch_compatible("ppc64le", "ppc64") &&
		   !rpm_arch_compatible("ppc64", "ppc64le") && !rpm_arch_compatible("s390x", "x86_64"),
	   "ppc64le and ppc64 are not each other; s390x refuses x86_64");
	ok(rpm_arch_compatible("riscv64", "riscv64") && rpm_arch_compatible("riscv64", "noarch") &&
		   !rpm_arch_compatible("riscv64", "x86_64"),
	   "a machine not in the table: its own arch and noarch only");
}

/* ------------------------------------------------------------------ tests: keys */

static int fprs_of(const char *path, char ***f, char **why)
{
	*f = NULL, *why = NULL;
	return rpm_key_fingerprints(path, f, why);
}

static void expect_key(const char *path, const char *a, const char *b, const char *what)
{
	char **f, *why;
	int r = fprs_of(path, &f, &why);
	ok(r == 0 && f && pib_strv_len(f) == (b ? 2u : 1u) && !strcmp(f[0], a) && (!b || !strcmp(f[1], b)) && !why,
	   "%s: %s%s%s (r=%d, got %s %s, why: %s)", what, a, b ? " and " : "", b ? b : "", r, f && f[0] ? f[0] : "-",
	   f && f[0] && f[1] ? f[1] : "-", nz(why));
	pib_strv_free(f);
	free(why);
}

static void expect_key_refused(const char *path, const char *sub, const char *what)
{
	char **f, *why;
	int r = fprs_of(path, &f, &why);
	ok(r < 0 && !f && why && (!sub || strstr(why, sub)), "%s: refused with a reason (r=%d, why: %s)", what, r, nz(why));
	pib_strv_free(f);
	free(why);
}

/* An armored block of the given type around bin. */
static const char *armor(const char *name, const char *type, const unsigned char *bin, size_t n)
{
	static char text[8192];
	unsigned char b64[4096];
	int k = EVP_EncodeBlock(b64, bin, (int)n);
	size_t t = (size_t)snprintf(text, sizeof(text), "-----BEGIN PGP %s-----\n\n", type);
	for (int i = 0; i < k; i += 64)
		t += (size_t)snprintf(text + t, sizeof(text) - t, "%.*s\n", k - i < 64 ? k - i : 64, (const char *)b64 + i);
	t += (size_t)snprintf(text + t, sizeof(text) - t, "=AAAA\n-----END PGP %s-----\n", type);
	return put(name, text, t);
}

static void sha_hex(const EVP_MD *md, const unsigned char *pre, size_t pl, const unsigned char *b, size_t n, char *hex)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, md, NULL);
	EVP_DigestUpdate(c, pre, pl);
	EVP_DigestUpdate(c, b, n);
	EVP_DigestFinal_ex(c, d, &dl);
	EVP_MD_CTX_free(c);
	pib_hex(d, dl, hex);
}

static void test_keys(void)
{
	char *kp = pib_asprintf("%s/tests/unit/data/rpmhdr-key-subkey.asc", src);
	char *np = pib_asprintf("%s/tests/unit/data/rpmhdr-key-subkey-newformat.asc", src);
	size_t len = 0;
	char *text = slurp(kp, &len);

	if (!text) {
		ok(false, "tests/unit/data/rpmhdr-key-subkey.asc can be read (source root %s)", src);
		free(kp), free(np);
		return;
	}
	expect_key(kp, KEY_FPR, KEY_SUB, "rpmhdr-key-subkey.asc (gpg, ed25519 with a cv25519 subkey)");
	expect_key(np, KEY_FPR, KEY_SUB, "the same packets with new-format headers");

	/* the armor's own forms */
	{
		struct pib_buf b = {0};
		for (const char *c = text; *c; c++)
			(void)(*c == '\n' ? pib_buf_append(&b, "\r\n", 2) : pib_buf_append(&b, c, 1));
		expect_key(put("crlf.asc", b.data, b.len), KEY_FPR, KEY_SUB, "the key with CRLF line ends");
		pib_buf_free(&b);
		char *t = pib_asprintf("some text before the key\nVersion: none\n\n%s\ntext after it\n", text);
		expect_key(put("around.asc", t, strlen(t)), KEY_FPR, KEY_SUB, "the key between lines of other text");
		free(t);
		const char *blank = strstr(text, "\n\n");
		t = pib_asprintf("%.*s\nVersion: GnuPG v2\nComment: a: b\n%s", (int)(blank - text), text, blank + 1);
		expect_key(put("headers.asc", t, strlen(t)), KEY_FPR, KEY_SUB, "the key with armor headers");
		free(t);
		/* two armored blocks in one file (rpmkeys --import takes both): every fingerprint, in order */
		t = pib_asprintf("%s\n%s", text, text);
		char **f = NULL, *why = NULL;
		int r = fprs_of(put("two-blocks.asc", t, strlen(t)), &f, &why);
		ok(r == 0 && pib_strv_len(f) == 4 && !strcmp(f[0], KEY_FPR) && !strcmp(f[1], KEY_SUB) &&
			   !strcmp(f[2], KEY_FPR) && !strcmp(f[3], KEY_SUB),
		   "two armored blocks in one file: the fingerprints of both (r=%d, %zu fingerprints, why: %s)", r,
		   pib_strv_len(f), nz(why));
		pib_strv_free(f);
		free(why);
		free(t);
	}

	/* broken armor */
	{
		char *t = pib_strdup(text);
		char *body = strstr(t, "\n\n");
		body[5] = '*';
		expect_key_refused(put("b64.asc", t, strlen(t)), "base64", "a body with a character that is not base64");
		free(t);
		t = pib_strdup(text);
		body = strstr(t, "\n\n");
		body[40] = body[40] == 'A' ? 'B' : 'A';
		char **f, *why;
		int r = fprs_of(put("flipped.asc", t, strlen(t)), &f, &why);
		ok(r < 0 || (f && f[0] && strcmp(f[0], KEY_FPR)), "a body with one base64 letter changed: never the key's fingerprint (r=%d, %s)",
		   r, f && f[0] ? f[0] : nz(why));
		pib_strv_free(f);
		free(why);
		free(t);
		/* cut the body's last line: the subkey's signature packet runs past the end */
		t = pib_strdup(text);
		char *crc = strstr(t, "\n=");
		char *prev = crc;
		while (prev > t && prev[-1] != '\n')
			prev--;
		memmove(prev, crc + 1, strlen(crc + 1) + 1);
		r = fprs_of(put("cut.asc", t, strlen(t)), &f, &why);
		ok(r < 0 && !f && why, "a body without its last line (a packet runs past the end): refused (r=%d, why: %s)", r, nz(why));
		pib_strv_free(f);
		free(why);
		free(t);

		t = pib_strdup(text);
		char *end = strstr(t, "-----END");
		*end = '\0';
		expect_key_refused(put("noend.asc", t, strlen(t)), "no ASCII-armored", "a BEGIN line without its END line");
		free(t);
		t = pib_strdup(text);
		memcpy(strstr(t, "PUBLIC"), "PRIVATE", 6);
		memcpy(strstr(t, "PUBLIC"), "PRIVATE", 6);
		expect_key_refused(put("private.asc", t, strlen(t)), "no ASCII-armored", "a block that is not a PUBLIC KEY BLOCK");
		free(t);
	}
	expect_key_refused(put("empty.asc", "", 0), "no ASCII-armored", "an empty file");
	expect_key_refused(put("text.asc", "just some text\n", 15), "no ASCII-armored", "text without armor");
	{
		const char *t = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
		expect_key_refused(put("nobody.asc", t, strlen(t)), "base64", "an armor with no body");
	}
	/* the binary key (no armor) */
	{
		struct pib_buf b = {0};
		char *body = strstr(text, "\n\n") + 2;
		for (char *c = body; *c && !(c[0] == '\n' && c[1] == '='); c++)
			if (*c != '\n')
				(void)pib_buf_append(&b, c, 1);
		unsigned char bin[2048];
		int k = EVP_DecodeBlock(bin, (const unsigned char *)b.data, (int)b.len);
		if (b.len >= 2 && b.data[b.len - 1] == '=')
			k -= b.data[b.len - 2] == '=' ? 2 : 1;
		ok(k > 100 && bin[0] == 0x98, "(the key decodes to %d bytes of packets)", k);
		if (k < 100) {
			pib_buf_free(&b);
			goto out;
		}
		expect_key_refused(put("binary.gpg", bin, (size_t)k), "no ASCII-armored", "the key in binary form (rpm takes armor)");
		pib_buf_free(&b);

		/* only a user id packet, only the signature packets: no key */
		const unsigned char uid[] = {0xb4, 5, 'h', 'e', 'l', 'l', 'o'};
		expect_key_refused(armor("uid.asc", "PUBLIC KEY BLOCK", uid, sizeof(uid)), "no readable OpenPGP public key packet",
				   "an armored block holding only a user id packet");
		const unsigned char sig[] = {0xc2, 4, 4, 0x13, 22, 8};
		expect_key_refused(armor("sig.asc", "PUBLIC KEY BLOCK", sig, sizeof(sig)), "no readable OpenPGP public key packet",
				   "an armored block holding only a signature packet");
		/* the secret key packet tag (5) is no public key */
		unsigned char sec[2048];
		memcpy(sec, bin, (size_t)k);
		sec[0] = 0x94;
		const unsigned char *pk = bin;
		size_t first = 2 + (size_t)pk[1];
		expect_key_refused(armor("sec.asc", "PUBLIC KEY BLOCK", sec, first), "no readable OpenPGP public key packet",
				   "an armored block holding a public key's body in a secret key packet");
		/* the primary key packet alone */
		expect_key(armor("primary.asc", "PUBLIC KEY BLOCK", bin, first), KEY_FPR, NULL, "the primary key packet alone");
		/* trailing garbage after whole packets */
		memcpy(sec, bin, first);
		sec[first] = 0x12;
		expect_key_refused(armor("garbage.asc", "PUBLIC KEY BLOCK", sec, first + 1), NULL,
				   "a key packet followed by a byte that is no packet header");
		/* packet lengths that lie */
		memcpy(sec, bin, first);
		sec[1] = 0xff;
		expect_key_refused(armor("long.asc", "PUBLIC KEY BLOCK", sec, first), NULL, "a key packet whose length runs past the end");
		const unsigned char five[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 0xff, 4};
		expect_key_refused(armor("five.asc", "PUBLIC KEY BLOCK", five, sizeof(five)), NULL,
				   "a new-format key packet of length 0xffffffff");
		const unsigned char cut5[] = {0xc6, 0xff, 0xff};
		expect_key_refused(armor("cut5.asc", "PUBLIC KEY BLOCK", cut5, sizeof(cut5)), NULL,
				   "a five-octet length cut after its second byte");
		const unsigned char cut2[] = {0xc6, 0xc5};
		expect_key_refused(armor("cut2.asc", "PUBLIC KEY BLOCK", cut2, sizeof(cut2)), NULL,
				   "a two-octet length cut after its first byte");
		const unsigned char partial[] = {0xc6, 0xe1, 4, 0, 0};
		expect_key_refused(armor("partial.asc", "PUBLIC KEY BLOCK", partial, sizeof(partial)), NULL,
				   "a partial body length");
		const unsigned char indet[] = {0x9b, 4, 0, 0, 0, 0};
		expect_key_refused(armor("indet.asc", "PUBLIC KEY BLOCK", indet, sizeof(indet)), NULL,
				   "an old-format indeterminate length");
		const unsigned char empty6[] = {0x98, 0};
		expect_key_refused(armor("empty6.asc", "PUBLIC KEY BLOCK", empty6, sizeof(empty6)), NULL,
				   "a public key packet of no byte");
		const unsigned char v3[] = {0x98, 3, 3, 0, 0};
		expect_key_refused(armor("v3.asc", "PUBLIC KEY BLOCK", v3, sizeof(v3)), NULL, "a v3 key only");
	}
	/* v5 and v6 keys: SHA-256 over 0x9a / 0x9b, a four-octet length and the body (LibrePGP, RFC 9580) */
	{
		unsigned char body[64] = {5, 0x65, 0x53, 0xf1, 0x00, 27, 0, 0, 0, 33};
		for (int i = 10; i < 43; i++)
			body[i] = (unsigned char)i;
		size_t bl = 43;
		unsigned char pre[5] = {0x9a, 0, 0, 0, (unsigned char)bl}, packet[80] = {0xc6, (unsigned char)bl};
		char want5[65], want6[65];
		sha_hex(EVP_sha256(), pre, 5, body, bl, want5);
		memcpy(packet + 2, body, bl);
		expect_key(armor("v5.asc", "PUBLIC KEY BLOCK", packet, bl + 2), want5, NULL, "a v5 key: a 64-digit fingerprint");
		body[0] = 6, pre[0] = 0x9b;
		sha_hex(EVP_sha256(), pre, 5, body, bl, want6);
		memcpy(packet + 2, body, bl);
		packet[0] = 0xce; /* as a subkey */
		expect_key(armor("v6.asc", "PUBLIC KEY BLOCK", packet, bl + 2), want6, NULL, "a v6 subkey: a 64-digit fingerprint");
	}
	/* too big, and not a file */
	{
		char *big = malloc((1u << 20) + 10);
		memset(big, 'A', (1u << 20) + 10);
		expect_key_refused(put("big.asc", big, (1u << 20) + 10), NULL, "a key file over 1 MiB");
		free(big);
		expect_key_refused(tmp, NULL, "a folder");
		expect_key_refused(tpath("does-not-exist.asc"), NULL, "a missing file");
	}

	/* a signer of a package built here against this key */
	{
		char **f, *why;
		int r = fprs_of(kp, &f, &why);
		size_t n = signed_pkg(NULL, 0, 268);
		struct res s = rd(put("good.rpm", pkg, n));
		ok(r == 0 && s.r == 0 && f && s.i.signer && pib_str_has_suffix(f[0], s.i.signer),
		   "the package built here names the test key's primary fingerprint as its signer");
		res_free(&s);
		pib_strv_free(f);
		free(why);
	}
out:
	free(text);
	free(kp);
	free(np);
}

/* rpm_info_read on what is not a readable file */
static void test_paths(void)
{
	struct res s = rd(tmp);
	ok(s.r == -EINVAL && s.why && strstr(s.why, "cannot read it"), "a folder: refused, cannot read it (r=%d, why: %s)", s.r, nz(s.why));
	res_free(&s);
	if (symlink("good.rpm", tpath("link.rpm")) == 0) {
		s = rd(tpath("link.rpm"));
		ok(s.r < 0 && !s.i.name, "a symlink: not followed (r=%d)", s.r);
		res_free(&s);
	}
	s = rd(tpath("does-not-exist.rpm"));
	ok(s.r < 0 && !s.i.name, "a missing file: an error (r=%d)", s.r);
	ok(s.why != NULL,
	     "a missing file: the error says why (why: %s)", nz(s.why));
	res_free(&s);
}

int main(int argc, char **argv)
{
	src = argc > 1 ? argv[1] : ".";
	if (pib_mkdtemp("pib-test-rpmhdr", &tmp) < 0) {
		printf("Bail out! no temporary folder\n");
		return 1;
	}
	for (int i = 0; i < 20; i++) {
		static const char *hex = KEY_FPR;
		fpr_bin[i] = (unsigned char)(((strchr("0123456789abcdef", hex[2 * i]) - "0123456789abcdef") << 4) |
					     (strchr("0123456789abcdef", hex[2 * i + 1]) - "0123456789abcdef"));
	}

	const char *env = getenv("PIB_FIXTURES");
	char *cand[2] = {env && *env ? pib_asprintf("%s/rpm", env) : pib_asprintf("%s/../shared/fixtures/rpm", src),
			 env && *env ? pib_asprintf("%s/../rpm", env) : NULL};
	for (int i = 0; i < 2 && !rpmdir; i++) {
		char *t = cand[i] ? pib_asprintf("%s/hello-2.0-1.x86_64-signed.rpm", cand[i]) : NULL;
		if (t && access(t, R_OK) == 0)
			rpmdir = cand[i], cand[i] = NULL;
		free(t);
	}
	free(cand[0]), free(cand[1]);
	printf("# fixtures: %s\n", rpmdir ? rpmdir : "(none)");

	test_fixtures();
	test_built();
	test_signatures();
	test_arch();
	test_keys();
	test_paths();

	(void)pib_rm_rf(tmp);
	free(tmp);
	free(rpmdir);
	return tap_done();
}
