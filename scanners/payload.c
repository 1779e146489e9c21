/* SPDX-License-Identifier: MIT */
/* Package payloads member by member: a .deb's control.tar and data.tar, an .rpm's header and cpio, an .msi's embedded cabinets, read with libarchive. */
#include "payload.h"
#include "msi_tables.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>

#define DEF_MEM_MAX (16ull << 20)
#define DEF_MAX_ENTRIES 1000000ull
#define DEF_MAX_TOTAL (64ull << 30)
#define DEF_MAX_RATIO 1000ull
#define DEF_RATIO_GRACE (256ull << 20)
#define MAX_CONTROL_HELD (64ull << 20) /* control members held until the package name is known */
#define MAX_RPM_HEADER (256ull << 20)
#define MAX_NAME 4096
#define BLOCK (256u << 10)
#define XZ_MEM_THREADS (96ull << 20) /* more than this and liblzma decodes in one thread */
#define XZ_MEM_STOP (1ull << 30)      /* a stream needing more than this is refused */
#define MSI_MEM_MAX (4ull << 20)      /* an MSI's members up to this size are handed over in memory */

enum payload_format payload_sniff(const void *head, size_t n)
{
	const unsigned char *p = head;

	if (n >= 21 && !memcmp(p, "!<arch>\n", 8) && !memcmp(p + 8, "debian-binary", 13))
		return PAYLOAD_DEB;
	if (n >= 4 && p[0] == 0xed && p[1] == 0xab && p[2] == 0xee && p[3] == 0xdb)
		return PAYLOAD_RPM;
	if (n >= 8 && !memcmp(p, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
		return PAYLOAD_MSI;
	return PAYLOAD_NONE;
}

const char *payload_format_name(enum payload_format f)
{
	return f == PAYLOAD_DEB ? "deb" : f == PAYLOAD_RPM ? "rpm" : f == PAYLOAD_MSI ? "msi" : "file";
}

struct reader {
	const struct payload_opts *o;
	struct pib_err *err;
	const char *label;
	uint64_t pkg_size;
	uint64_t entries, total;
	uint64_t mem_max, max_entries, max_total, max_ratio, ratio_grace;
	char *package;
	/* control members, held until the control file has named the package */
	struct payload_member *held;
	size_t n_held;
	uint64_t held_bytes;
	bool holding;
	unsigned char *block;
	const char *cabinet; /* an MSI's member being read: "acme.cab!Key" */
	bool data_failed;    /* the last read_entry failed in archive_read_data */
};

/* The state of an inner archive read from the current member of the outer one. */
struct inner_src {
	struct archive *outer;
	unsigned char *buf;
};

static void member_free(struct payload_member *m)
{
	free(m->name);
	free(m->data);
	if (m->fd >= 0)
		close(m->fd);
	m->name = NULL;
	m->data = NULL;
	m->fd = -1;
}

static int unreadable(struct reader *r, const char *fmt_what, const char *detail)
{
	return pib_fail(r->err, -EBADMSG, PIB_ERR_FAILED, "scan.package_unreadable",
			"%s: cannot read its payload completely: %s%s%s", r->label, fmt_what,
			detail && *detail ? ": " : "", detail ? detail : "");
}

static int count_entry(struct reader *r)
{
	if (++r->entries > r->max_entries)
		return unreadable(r, "more members than the limit", NULL);
	return 0;
}

static int count_bytes(struct reader *r, uint64_t n)
{
	r->total += n;
	if (r->total > r->max_total)
		return unreadable(r, "it unpacks to more bytes than the limit", NULL);
	if (r->total > r->ratio_grace && r->pkg_size > 0 && r->total / r->pkg_size > r->max_ratio)
		return unreadable(r, "it unpacks to more than the allowed multiple of its size", NULL);
	return 0;
}

/* "./usr/bin/x" and "/usr/bin/x" are "usr/bin/x"; NULL for an empty name. */
static char *normalise(const char *prefix, const char *name)
{
	while (name && (name[0] == '/' || (name[0] == '.' && name[1] == '/')))
		name += name[0] == '/' ? 1 : 2;
	if (!name || !*name || strlen(name) > MAX_NAME)
		return NULL;
	char *s = pib_asprintf("%s%s", prefix, name);
	size_t n = s ? strlen(s) : 0;
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static int private_tmpfile(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | O_EXCL, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	char *t = pib_asprintf("%s/member.XXXXXX", dir);
	if (!t)
		return -ENOMEM;
	fd = mkostemp(t, O_CLOEXEC);
	int r = fd < 0 ? -errno : fd;
	if (fd >= 0)
		unlink(t);
	free(t);
	return r;
}

static int hand_over(struct reader *r, struct payload_member *m)
{
	m->package = r->package;
	m->cabinet = r->cabinet;
	if (r->holding && r->held_bytes + m->size <= MAX_CONTROL_HELD) {
		struct payload_member *h = realloc(r->held, (r->n_held + 1) * sizeof(*h));
		if (!h) {
			member_free(m);
			return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		}
		r->held = h;
		h[r->n_held++] = *m;
		r->held_bytes += m->size;
		return 0;
	}
	return r->o->sink(r->o->ctx, m);
}

static int gap(struct reader *r, const char *member, const char *code, const char *reason)
{
	return r->o->gap ? r->o->gap(r->o->ctx, r->package, member, code, reason) : 0;
}

/* Reads the current entry's data of a (in memory or into a temporary file) and hands it over. */
static int read_entry(struct reader *r, struct archive *a, struct archive_entry *e, char *name)
{
	struct payload_member m = {.name = name, .fd = -1};
	bool sized = archive_entry_size_is_set(e);
	int64_t declared = sized ? archive_entry_size(e) : -1;
	const uint64_t max_member = r->o->max_member;
	int rc = 0;

	if (sized && declared < 0)
		sized = false;
	if (max_member && sized && (uint64_t)declared > max_member) {
		char reason[200];
		snprintf(reason, sizeof(reason),
			 "%lld bytes, larger than the maximum file size (%llu bytes): not scanned",
			 (long long)declared, (unsigned long long)max_member);
		rc = gap(r, name, "limit.max_filesize", reason);
		free(name);
		if (rc == 0 && archive_read_data_skip(a) != ARCHIVE_OK)
			rc = unreadable(r, "a member's data", archive_error_string(a));
		return rc;
	}
	if (sized && (uint64_t)declared <= r->mem_max) {
		m.data = malloc(declared > 0 ? (size_t)declared : 1);
		if (!m.data) {
			member_free(&m);
			return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		}
		while (m.size < (uint64_t)declared) {
			la_ssize_t n = archive_read_data(a, (char *)m.data + m.size,
							 (size_t)((uint64_t)declared - m.size));
			if (n < 0) {
				r->data_failed = true;
				rc = unreadable(r, name, archive_error_string(a));
				member_free(&m);
				return rc;
			}
			if (n == 0)
				break;
			m.size += (uint64_t)n;
			if ((rc = count_bytes(r, (uint64_t)n)) < 0) {
				member_free(&m);
				return rc;
			}
		}
		if (m.size != (uint64_t)declared) {
			rc = unreadable(r, name, "shorter than its header says");
			member_free(&m);
			return rc;
		}
		return hand_over(r, &m);
	}
	/* large or of unknown size: through a private temporary file */
	m.fd = private_tmpfile(r->o->tmpdir);
	if (m.fd < 0) {
		rc = pib_fail(r->err, m.fd, PIB_ERR_ENV, "agent.tmpdir",
			      "%s: cannot create a temporary file for a large member: %s", r->o->tmpdir,
			      strerror(-m.fd));
		m.fd = -1;
		member_free(&m);
		return rc;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, r->block, BLOCK);
		if (n < 0) {
			r->data_failed = true;
			rc = unreadable(r, name, archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		if ((rc = count_bytes(r, (uint64_t)n)) < 0)
			break;
		if (max_member && m.size + (uint64_t)n > max_member) {
			char reason[200];
			snprintf(reason, sizeof(reason),
				 "larger than the maximum file size (%llu bytes): not scanned",
				 (unsigned long long)max_member);
			rc = gap(r, name, "limit.max_filesize", reason);
			if (rc == 0 && archive_read_data_skip(a) != ARCHIVE_OK)
				rc = unreadable(r, name, archive_error_string(a));
			member_free(&m);
			return rc;
		}
		size_t off = 0;
		while (off < (size_t)n) {
			ssize_t w = write(m.fd, r->block + off, (size_t)n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = pib_fail(r->err, -errno, PIB_ERR_ENV, "agent.tmpdir",
					      "%s: cannot write a temporary file: %s", r->o->tmpdir,
					      strerror(errno));
				break;
			}
			off += (size_t)w;
		}
		if (rc < 0)
			break;
		m.size += (uint64_t)n;
	}
	if (rc < 0) {
		member_free(&m);
		return rc;
	}
	return hand_over(r, &m);
}

/* The entries of one archive: every regular file is read; links, directories and devices carry no bytes. */
static int read_entries(struct reader *r, struct archive *a, const char *prefix)
{
	struct archive_entry *e;
	int ar;

	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		int rc = count_entry(r);
		if (rc < 0)
			return rc;
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		char *name = normalise(prefix, archive_entry_pathname(e));
		if (!name)
			continue;
		rc = read_entry(r, a, e, name);
		if (rc < 0)
			return rc;
	}
	if (ar != ARCHIVE_EOF)
		return unreadable(r, "the archive", archive_error_string(a));
	return 0;
}

static la_ssize_t inner_read(struct archive *in, void *ctx, const void **buf)
{
	struct inner_src *s = ctx;
	la_ssize_t n = archive_read_data(s->outer, s->buf, BLOCK);

	(void)in;
	*buf = s->buf;
	if (n < 0)
		archive_set_error(in, EIO, "%s", archive_error_string(s->outer));
	return n < 0 ? ARCHIVE_FATAL : n;
}

/*
 * An xz-compressed member (data.tar.xz) decoded by liblzma on several threads: xz is most .debs'
 * compression, and one thread decoding it is slower than the threads that scan what it gives.
 * libarchive then reads the plain tar from here.
 */
struct xz_src {
	struct archive *outer;
	lzma_stream strm;
	unsigned char *in, *out;
	bool in_eof, done;
};

static const char *xz_error(lzma_ret rc)
{
	switch (rc) {
	case LZMA_MEM_ERROR:
		return "out of memory";
	case LZMA_MEMLIMIT_ERROR:
		return "the stream needs more memory than allowed";
	case LZMA_FORMAT_ERROR:
		return "not an xz stream";
	case LZMA_OPTIONS_ERROR:
		return "unsupported options";
	case LZMA_DATA_ERROR:
		return "corrupt data";
	case LZMA_BUF_ERROR:
		return "truncated data";
	default:
		return "decoder error";
	}
}

static la_ssize_t xz_read(struct archive *a, void *ctx, const void **buf)
{
	struct xz_src *x = ctx;

	*buf = x->out;
	if (x->done)
		return 0;
	x->strm.next_out = x->out;
	x->strm.avail_out = BLOCK;
	while (x->strm.avail_out == BLOCK) {
		if (x->strm.avail_in == 0 && !x->in_eof) {
			la_ssize_t n = archive_read_data(x->outer, x->in, BLOCK);
			if (n < 0) {
				archive_set_error(a, EIO, "%s", archive_error_string(x->outer));
				return ARCHIVE_FATAL;
			}
			x->in_eof = n == 0;
			x->strm.next_in = x->in;
			x->strm.avail_in = (size_t)n;
		}
		lzma_ret rc = lzma_code(&x->strm, x->in_eof ? LZMA_FINISH : LZMA_RUN);
		if (rc == LZMA_STREAM_END) {
			x->done = true;
			break;
		}
		if (rc != LZMA_OK) {
			archive_set_error(a, EIO, "xz: %s", xz_error(rc));
			return ARCHIVE_FATAL;
		}
	}
	return (la_ssize_t)(BLOCK - x->strm.avail_out);
}

static void support_filters(struct archive *a)
{
	(void)archive_read_support_filter_gzip(a);
	(void)archive_read_support_filter_xz(a);
	(void)archive_read_support_filter_zstd(a);
	(void)archive_read_support_filter_bzip2(a);
	(void)archive_read_support_filter_lzma(a);
}

/* The package name from a control file's "Package:" field. */
static char *control_package(const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if ((size_t)(le - p) > 8 && !strncasecmp(p, "Package:", 8)) {
			const char *v = p + 8;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = le;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
				ve--;
			if (ve > v && ve - v <= 256)
				return pib_strndup(v, (size_t)(ve - v));
			return NULL;
		}
		p = le + 1;
	}
	return NULL;
}

static int flush_held(struct reader *r)
{
	int rc = 0;

	for (size_t i = 0; i < r->n_held; i++) {
		struct payload_member *m = &r->held[i];
		if (!r->package && m->data && !strcmp(m->name, "DEBIAN/control"))
			r->package = control_package(m->data, (size_t)m->size);
	}
	r->holding = false;
	for (size_t i = 0; i < r->n_held; i++) {
		if (rc == 0) {
			r->held[i].package = r->package;
			rc = r->o->sink(r->o->ctx, &r->held[i]);
		} else {
			member_free(&r->held[i]);
		}
	}
	free(r->held);
	r->held = NULL;
	r->n_held = 0;
	r->held_bytes = 0;
	return rc;
}

static int read_deb(struct reader *r, int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int ar, rc = 0;

	if (!a)
		return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	(void)archive_read_support_format_ar(a);
	if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK) {
		rc = unreadable(r, "not an ar archive", archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	bool seen_control = false, seen_data = false;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		if ((rc = count_entry(r)) < 0)
			break;
		if (!name)
			continue;
		bool control = pib_str_has_prefix(name, "control.tar");
		seen_control |= control;
		seen_data |= pib_str_has_prefix(name, "data.tar");
		if (control || pib_str_has_prefix(name, "data.tar")) {
			struct inner_src src = {.outer = a, .buf = malloc(BLOCK)};
			struct xz_src xz = {.outer = a, .strm = LZMA_STREAM_INIT};
			bool use_xz = r->o->threads > 1 && pib_str_has_suffix(name, ".xz");
			struct archive *in = archive_read_new();
			if (use_xz) {
				lzma_mt mt = {.flags = LZMA_CONCATENATED,
					      .threads = r->o->threads,
					      .memlimit_threading = XZ_MEM_THREADS,
					      .memlimit_stop = XZ_MEM_STOP};
				xz.in = malloc(BLOCK);
				xz.out = malloc(BLOCK);
				if (xz.in && xz.out && lzma_stream_decoder_mt(&xz.strm, &mt) != LZMA_OK)
					use_xz = false; /* libarchive's own xz reader then */
			}
			if (!in || !src.buf || (use_xz && (!xz.in || !xz.out))) {
				archive_read_free(in);
				free(src.buf);
				free(xz.in);
				free(xz.out);
				lzma_end(&xz.strm);
				rc = pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
				break;
			}
			(void)archive_read_support_format_tar(in);
			if (!use_xz)
				support_filters(in);
			r->holding = control;
			if ((use_xz ? archive_read_open(in, &xz, NULL, xz_read, NULL)
				    : archive_read_open(in, &src, NULL, inner_read, NULL)) != ARCHIVE_OK)
				rc = unreadable(r, name, archive_error_string(in));
			else
				rc = read_entries(r, in, control ? "DEBIAN/" : "");
			archive_read_free(in);
			free(src.buf);
			free(xz.in);
			free(xz.out);
			lzma_end(&xz.strm);
			if (control) {
				int fr = flush_held(r);
				if (rc == 0)
					rc = fr;
			}
		} else {
			char *n = normalise("", name);
			if (n)
				rc = read_entry(r, a, e, n);
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && ar != ARCHIVE_EOF)
		rc = unreadable(r, "the ar archive", archive_error_string(a));
	/* libarchive ends an ar cut inside a member header as if it were complete */
	if (rc == 0 && (!seen_control || !seen_data))
		rc = unreadable(r, seen_control ? "it has no data.tar member" : "it has no control.tar member",
				"cut short, or not a Debian package");
	archive_read_free(a);
	return rc;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}


/* The RPM lead, signature header and header: their bytes (scanned as one member) and the name. */
static int read_rpm_header(struct reader *r, int fd)
{
	unsigned char intro[16];
	uint64_t off = 96, hdr_off = 0, hdr_il = 0, hdr_dl = 0;
	int rc;

	for (int i = 0; i < 2; i++) {
		if ((rc = pib_read_full(fd, intro, sizeof(intro), (off_t)off)) < 0)
			return unreadable(r, "its header is cut short", strerror(-rc));
		if (intro[0] != 0x8e || intro[1] != 0xad || intro[2] != 0xe8 || intro[3] != 0x01)
			return unreadable(r, "no RPM header where one is expected", NULL);
		uint64_t il = be32(intro + 8), dl = be32(intro + 12);
		if (il > 1u << 20 || dl > MAX_RPM_HEADER)
			return unreadable(r, "its header is larger than the limit", NULL);
		if (i == 1) {
			hdr_off = off;
			hdr_il = il;
			hdr_dl = dl;
		}
		off += 16 + 16 * il + dl;
		if (i == 0)
			off = (off + 7) & ~7ull;
		if (off > MAX_RPM_HEADER || (r->pkg_size && off > r->pkg_size))
			return unreadable(r, "its header is larger than the limit or the file", NULL);
	}
	struct payload_member m = {.fd = -1, .size = off};
	m.data = malloc((size_t)off);
	m.name = strdup("(rpm header)");
	if (!m.data || !m.name) {
		member_free(&m);
		return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	}
	if ((rc = pib_read_full(fd, m.data, (size_t)off, 0)) < 0) {
		member_free(&m);
		return unreadable(r, "its header", strerror(-rc));
	}
	/* the name: tag 1000 (RPMTAG_NAME), type 6 (string) */
	const unsigned char *idx = (const unsigned char *)m.data + hdr_off + 16;
	const char *store = (const char *)idx + 16 * hdr_il;
	for (uint64_t i = 0; i < hdr_il && !r->package; i++) {
		const unsigned char *ent = idx + 16 * i;
		uint32_t tag = be32(ent), type = be32(ent + 4), o = be32(ent + 8);
		if (tag != 1000 || type != 6 || o >= hdr_dl)
			continue;
		const char *s = store + o;
		size_t max = (size_t)(hdr_dl - o);
		size_t len = strnlen(s, max < 257 ? max : 257);
		if (len > 0 && len < max && len <= 256)
			r->package = pib_strndup(s, len);
	}
	if ((rc = count_bytes(r, off)) < 0) {
		member_free(&m);
		return rc;
	}
	return hand_over(r, &m);
}

static int read_rpm(struct reader *r, int fd)
{
	int rc = read_rpm_header(r, fd);
	if (rc < 0)
		return rc;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return unreadable(r, "cannot seek", strerror(errno));
	struct archive *a = archive_read_new();
	if (!a)
		return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	(void)archive_read_support_filter_rpm(a);
	support_filters(a);
	(void)archive_read_support_format_cpio(a);
	if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK)
		rc = unreadable(r, "its cpio payload", archive_error_string(a));
	else
		rc = read_entries(r, a, "");
	archive_read_free(a);
	return rc;
}

/* ---------------------------------------------------------------- MSI */

struct msi_read {
	struct reader *r;
	struct msi_tables t;
	struct msi_media *media;
	size_t n_media;
	struct msi_cabinets *cabs;
	const struct msi_file **by_key; /* the File rows sorted by key */
	bool *seen;			/* per File row (index into t.files): found in a cabinet */
	char **failed;			/* "#" cabinets that could not be read whole, and why */
	char **failed_why;
	size_t n_failed;
	uint64_t cab_bytes; /* of all cabinets, bounded by the MSI's size */
	unsigned char *cab_buf; /* what libarchive reads the cabinet from (r->block holds members) */
	struct pib_err *cab_err;
};

static int file_key_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct msi_file *const *)a)->key,
		      (*(const struct msi_file *const *)b)->key);
}

static const struct msi_file *msi_file_by_key(const struct msi_read *m, const char *key)
{
	struct msi_file k = {.key = (char *)key};
	const struct msi_file *kp = &k;
	const struct msi_file **f =
	    m->t.n_files ? bsearch(&kp, m->by_key, m->t.n_files, sizeof(*m->by_key), file_key_cmp)
			 : NULL;
	return f ? *f : NULL;
}

/* A cabinet member's name that can only be a File key: no "..", no separator, no control byte. */
static bool msi_member_name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 72 * 4)
		return false;
	if (strstr(name, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\' || *p == ':')
			return false;
	return true;
}

static la_ssize_t cab_read(struct archive *a, void *ctx, const void **buf)
{
	struct msi_read *m = ctx;
	ssize_t n = msi_cabinets_read(m->cabs, m->cab_buf, BLOCK, m->cab_err);

	*buf = m->cab_buf;
	if (n < 0) {
		archive_set_error(a, EIO, "%s", m->cab_err->msg[0] ? m->cab_err->msg : "cannot read the cabinet");
		return ARCHIVE_FATAL;
	}
	m->cab_bytes += (uint64_t)n;
	if (m->cab_bytes > m->r->pkg_size) {
		archive_set_error(a, EFBIG, "its cabinets hold more bytes than the MSI");
		return ARCHIVE_FATAL;
	}
	return n;
}

static int msi_gap(struct reader *r, const char *member, const char *code, const char *fmt, ...)
	PIB_PRINTF(4, 5);
static int msi_gap(struct reader *r, const char *member, const char *code, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return gap(r, member, code, reason);
}

/* One member of a cabinet: scanned under its File's install path, or listed. */
static int msi_member(struct msi_read *m, struct archive *a, struct archive_entry *e, const char *cab)
{
	struct reader *r = m->r;
	const char *name = archive_entry_pathname(e);
	char *where = pib_asprintf("%s!%s", cab, name ? name : "");
	int rc = 0;

	if (!where)
		return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	const struct msi_file *f = msi_member_name_ok(name) ? msi_file_by_key(m, name) : NULL;
	if (!msi_member_name_ok(name)) {
		rc = msi_gap(r, where, "msi.unsafe_name",
			     "cabinet %s holds a member whose name is no File key (empty, \"..\", a separator or a control character): not scanned",
			     cab);
	} else if (!f) {
		rc = msi_gap(r, where, "msi.not_in_tables",
			     "cabinet %s holds a member no File row names: the MSI does not install it; not scanned", cab);
	} else if (archive_entry_filetype(e) != AE_IFREG && archive_entry_filetype(e) != 0) {
		rc = msi_gap(r, f->path, "msi.cabinet_unreadable", "cabinet %s: member %s is not a regular file: not scanned",
			     cab, name);
	} else {
		char *path = strdup(f->path);
		if (!path) {
			free(where);
			return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		}
		m->seen[f - m->t.files] = true;
		r->cabinet = where;
		r->data_failed = false;
		rc = read_entry(r, a, e, path);
		r->cabinet = NULL;
		if (rc < 0 && r->data_failed && !strcmp(r->err->code, "scan.package_unreadable")) {
			/* a compression libarchive cannot decode (Quantum), or damaged data: listed */
			pib_err_clear(r->err);
			m->seen[f - m->t.files] = false;
			free(where);
			return 1; /* the caller lists the rest of this cabinet */
		}
	}
	free(where);
	return rc;
}

/* One embedded cabinet streamed from the child into libarchive's CAB reader. */
static int msi_cabinet(struct msi_read *m, const char *cab)
{
	struct reader *r = m->r;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct pib_err cab_err = {0};
	int ar, rc = 0;

	if (!a)
		return pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	m->cab_err = &cab_err;
	(void)archive_read_support_format_cab(a);
	if (archive_read_open(a, m, NULL, cab_read, NULL) != ARCHIVE_OK) {
		ar = ARCHIVE_FATAL;
		goto failed;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		if ((rc = count_entry(r)) < 0)
			break;
		rc = msi_member(m, a, e, cab);
		if (rc == 1) {
			ar = ARCHIVE_FATAL;
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && ar != ARCHIVE_EOF) {
	failed:;
		/* what it holds past here is listed by File row at the end (not in a cabinet read) */
		char **f = realloc(m->failed, (m->n_failed + 1) * sizeof(*f));
		char **w = f ? realloc(m->failed_why, (m->n_failed + 1) * sizeof(*w)) : NULL;
		if (f)
			m->failed = f;
		if (w)
			m->failed_why = w;
		if (!f || !w) {
			rc = pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
		} else {
			const char *why = cab_err.set ? cab_err.msg : archive_error_string(a);
			char *fc = strdup(cab), *fw = strdup(why ? why : "libarchive gave no reason");
			if (!fc || !fw) {
				free(fc);
				free(fw);
				rc = pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
			} else {
				m->failed[m->n_failed] = fc;
				m->failed_why[m->n_failed++] = fw;
				rc = msi_gap(r, cab, "msi.cabinet_unreadable",
					     "embedded cabinet %s cannot be read to its end with libarchive's CAB reader: %s",
					     cab, fw);
			}
		}
		/* the child failed or sent nonsense: that is no cabinet's fault but the MSI's */
		if (rc == 0 && cab_err.set && !strcmp(cab_err.code, "msi.invalid") && strstr(cab_err.msg, "reading"))
			rc = unreadable(r, "its cabinets", cab_err.msg);
	}
	pib_err_clear(&cab_err);
	m->cab_err = NULL;
	archive_read_free(a);
	return rc;
}

/* Why a File row's bytes were not found: by the Media row its Sequence falls in. */
static int msi_unseen(struct msi_read *m, const struct msi_file *f)
{
	const struct msi_media *best = NULL;

	for (size_t i = 0; i < m->n_media; i++) {
		const struct msi_media *x = &m->media[i];
		if (x->last_sequence != MSI_NULL_INT && f->sequence != MSI_NULL_INT &&
		    x->last_sequence >= f->sequence && (!best || x->last_sequence < best->last_sequence))
			best = x;
	}
	const char *cab = best ? best->cabinet : NULL;
	if (!best)
		return msi_gap(m->r, f->path, "msi.not_in_cabinet",
			       "File %s (Sequence %d): no Media row covers it, so no cabinet holds it: not scanned",
			       f->key, (int)f->sequence);
	if (!cab || !*cab)
		return msi_gap(m->r, f->path, "msi.not_in_cabinet",
			       "File %s: Media row %d has no cabinet (an uncompressed file beside the MSI, not inside it): not scanned",
			       f->key, (int)best->disk_id);
	if (cab[0] != '#')
		return msi_gap(m->r, f->path, "msi.not_in_cabinet",
			       "File %s: in the external cabinet %s (a file beside the MSI, not inside it): not scanned",
			       f->key, cab);
	for (size_t i = 0; i < m->n_failed; i++)
		if (!strcmp(m->failed[i], cab + 1))
			return msi_gap(m->r, f->path, "msi.not_in_cabinet",
				       "File %s: its cabinet %s cannot be read (%s): not scanned", f->key, cab + 1,
				       m->failed_why[i]);
	return msi_gap(m->r, f->path, "msi.not_in_cabinet",
		       "File %s: not in its embedded cabinet %s: not scanned", f->key, cab + 1);
}

/*
 * Whether the OLE compound file on fd is an installer database by the CLSID of its root storage
 * entry: an MSI's is {000C1084-0000-0000-C000-000000000046}, a Word document's another. 1 yes,
 * 0 no, -EBADMSG when the header or the root entry cannot be read (cut short, nonsense).
 */
static int ole_is_msi(int fd, uint64_t size)
{
	static const unsigned char msi_clsid[16] = {0x84, 0x10, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
						    0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	unsigned char h[0x34], entry[0x60];

	if (pib_read_full(fd, h, sizeof(h), 0) < 0)
		return -EBADMSG;
	unsigned shift = (unsigned)h[0x1e] | (unsigned)h[0x1f] << 8;
	uint32_t dir = (uint32_t)h[0x30] | (uint32_t)h[0x31] << 8 | (uint32_t)h[0x32] << 16 |
		       (uint32_t)h[0x33] << 24;
	if (shift != 9 && shift != 12)
		return -EBADMSG;
	uint64_t off = ((uint64_t)dir + 1) << shift;
	if (dir >= 0xfffffffa || off + sizeof(entry) > size || pib_read_full(fd, entry, sizeof(entry), (off_t)off) < 0)
		return -EBADMSG;
	return entry[0x42] == 5 && !memcmp(entry + 0x50, msi_clsid, sizeof(msi_clsid)); /* type 5: root */
}

static int read_msi(struct reader *r, int fd)
{
	struct msi_read m = {.r = r};
	struct pib_err e = {0};
	int rc = ole_is_msi(fd, r->pkg_size);

	if (rc == -EBADMSG)
		return unreadable(r, "an OLE compound file whose header or root entry cannot be read", NULL);
	if (rc == 0)
		return pib_fail(r->err, -ENOMSG, PIB_ERR_FAILED, "scan.package_unreadable",
				"%s: an OLE compound file that is not an MSI (the CLSID of its root is "
				"not an installer database's)", r->label);
	/* members beyond MSI_MEM_MAX through a temporary file: with the child's pipe and the CAB
	 * reader's window the MSI path holds more than a .deb's (peak RSS within clamscan's) */
	if (r->mem_max > MSI_MEM_MAX)
		r->mem_max = MSI_MEM_MAX;
	rc = msi_cabinets_open(fd, r->label, &m.t, &m.media, &m.n_media, &m.cabs, &e);
	if (rc < 0) {
		if (!strcmp(e.code, "agent.oom"))
			rc = pib_fail(r->err, rc, PIB_ERR_ENV, "agent.oom", "out of memory");
		else
			rc = unreadable(r, "libmsi cannot read it", e.msg);
		pib_err_clear(&e);
		return rc;
	}
	if (m.t.product_name && !(r->package = pib_strndup(m.t.product_name, 256)))
		goto oom;
	m.by_key = calloc(m.t.n_files ? m.t.n_files : 1, sizeof(*m.by_key));
	m.seen = calloc(m.t.n_files ? m.t.n_files : 1, sizeof(*m.seen));
	m.cab_buf = malloc(BLOCK);
	if (!m.by_key || !m.seen || !m.cab_buf)
		goto oom;
	for (size_t i = 0; i < m.t.n_files; i++)
		m.by_key[i] = &m.t.files[i];
	if (m.t.n_files)
		qsort(m.by_key, m.t.n_files, sizeof(*m.by_key), file_key_cmp);
	/* external cabinets, each once */
	for (size_t i = 0; i < m.n_media && rc == 0; i++) {
		const char *cab = m.media[i].cabinet;
		bool again = false;
		for (size_t k = 0; k < i && !again; k++)
			again = m.media[k].cabinet && cab && !strcmp(m.media[k].cabinet, cab);
		if (cab && *cab && cab[0] != '#' && !again)
			rc = msi_gap(r, cab, "msi.external_cabinet",
				     "Media row %d names the external cabinet %s: a file beside the MSI, not inside it; the files it holds are not scanned",
				     (int)m.media[i].disk_id, cab);
	}
	for (;;) {
		char *name = NULL, *why = NULL;
		if (rc < 0)
			break;
		int k = msi_cabinets_next(m.cabs, &name, &why, &e);
		if (k < 0) {
			rc = !strcmp(e.code, "agent.oom")
				 ? pib_fail(r->err, k, PIB_ERR_ENV, "agent.oom", "out of memory")
				 : unreadable(r, "its cabinets", e.msg);
			pib_err_clear(&e);
		} else if (k == 2) {
			char **f = realloc(m.failed, (m.n_failed + 1) * sizeof(*f));
			char **w = f ? realloc(m.failed_why, (m.n_failed + 1) * sizeof(*w)) : NULL;
			if (f)
				m.failed = f;
			if (w)
				m.failed_why = w;
			if (!f || !w) {
				free(name);
				free(why);
				goto oom;
			}
			m.failed[m.n_failed] = name;
			m.failed_why[m.n_failed++] = why;
			rc = msi_gap(r, name, "msi.cabinet_unreadable", "embedded cabinet %s cannot be read: %s", name, why);
			continue;
		} else if (k == 1) {
			rc = msi_cabinet(&m, name);
		}
		free(name);
		free(why);
		if (k <= 0)
			break;
	}
	for (size_t i = 0; i < m.t.n_files && rc == 0; i++)
		if (!m.seen[i])
			rc = msi_unseen(&m, &m.t.files[i]);
	goto out;
oom:
	rc = pib_fail(r->err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
out:
	msi_cabinets_close(m.cabs);
	for (size_t i = 0; i < m.n_failed; i++) {
		free(m.failed[i]);
		free(m.failed_why[i]);
	}
	free(m.failed);
	free(m.failed_why);
	free(m.by_key);
	free(m.seen);
	free(m.cab_buf);
	msi_media_free(m.media, m.n_media);
	msi_tables_free(&m.t);
	return rc;
}

int payload_read(int fd, enum payload_format fmt, const struct payload_opts *o, char **ret_package,
		 struct pib_err *err)
{
	struct reader r = {.o = o, .err = err};
	struct stat st;
	int rc;

	r.label = o->label ? o->label : "package";
	r.mem_max = o->mem_max ? o->mem_max : DEF_MEM_MAX;
	r.max_entries = o->max_entries ? o->max_entries : DEF_MAX_ENTRIES;
	r.max_total = o->max_total ? o->max_total : DEF_MAX_TOTAL;
	r.max_ratio = o->max_ratio ? o->max_ratio : DEF_MAX_RATIO;
	r.ratio_grace = o->ratio_grace ? o->ratio_grace : DEF_RATIO_GRACE;
	if (fstat(fd, &st) < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "scan.package_unreadable", "cannot stat it: %s",
				strerror(errno));
	r.pkg_size = (uint64_t)st.st_size;
	r.block = malloc(BLOCK);
	if (!r.block)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory");
	if (fmt == PAYLOAD_DEB)
		rc = read_deb(&r, fd);
	else if (fmt == PAYLOAD_RPM)
		rc = read_rpm(&r, fd);
	else if (fmt == PAYLOAD_MSI)
		rc = read_msi(&r, fd);
	else
		rc = pib_fail(err, -EINVAL, PIB_ERR_FAILED, "scan.package_unreadable",
			      "not a .deb, .rpm or .msi package");
	for (size_t i = 0; i < r.n_held; i++)
		member_free(&r.held[i]);
	free(r.held);
	free(r.block);
	if (rc == 0 && ret_package) {
		*ret_package = r.package;
		r.package = NULL;
	}
	free(r.package);
	return rc;
}
