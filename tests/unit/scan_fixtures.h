/* SPDX-License-Identifier: MIT */
/* Fixtures of the scanner unit tests: the EICAR string, a test database, files, a .deb built in memory. */
#pragma once

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#define EICAR_SIG "Test.EICAR.NDB.UNOFFICIAL"
#define BLOB_SIG "Test.Blob.UNOFFICIAL"

/* The EICAR test string, made at run time so that no binary of ours holds it. */
static inline const char *eicar(void)
{
	static char s[69];
	static const char rev[] = "*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\\4[PA@%P!O5X";
	size_t n = sizeof(rev) - 1;

	for (size_t i = 0; i < n; i++)
		s[i] = rev[n - 1 - i];
	s[n] = '\0';
	return s;
}

/* A blob that the test database knows by its MD5. */
static const char test_blob[] = "pib-agent unit test blob: known to the test database by its MD5";

static inline int fx_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static inline char *fx_path(const char *dir, const char *name)
{
	return pib_asprintf("%s/%s", dir, name);
}

/* DIR/eicar.ndb (the EICAR body) and DIR/blob.hdb (test_blob by MD5): two signatures. */
static inline int fx_make_db(const char *dir)
{
	const char *body = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE";
	char line[512], hex[3];
	unsigned char md[16];
	unsigned int mdlen = 0;
	size_t off;
	int r;

	off = (size_t)snprintf(line, sizeof(line), "Test.EICAR.NDB:0:*:");
	for (size_t i = 0; body[i]; i++) {
		snprintf(hex, sizeof(hex), "%02x", (unsigned char)body[i]);
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s", hex);
	}
	snprintf(line + off, sizeof(line) - off, "\n");
	char *p = fx_path(dir, "eicar.ndb");
	r = fx_write(p, line, strlen(line));
	free(p);
	if (r < 0)
		return r;
	EVP_Digest(test_blob, sizeof(test_blob) - 1, md, &mdlen, EVP_md5(), NULL);
	off = 0;
	for (unsigned i = 0; i < mdlen; i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%02x", md[i]);
	snprintf(line + off, sizeof(line) - off, ":%zu:Test.Blob\n", sizeof(test_blob) - 1);
	p = fx_path(dir, "blob.hdb");
	r = fx_write(p, line, strlen(line));
	free(p);
	return r;
}

/* One member of a tar written by fx_tar. */
struct fx_entry {
	const char *name;
	const void *data; /* NULL: a directory (or a symlink when link is set) */
	size_t len;
	const char *link;
};

/* An archive (ARCHIVE_FORMAT_TAR_USTAR or _ZIP, with the filter given) of the entries, in memory. */
static inline void *fx_archive(const struct fx_entry *e, size_t n, int format, int filter, size_t *ret_len)
{
	size_t cap = 64u << 20, used = 0;
	void *buf = malloc(cap);
	struct archive *a = archive_write_new();

	archive_write_set_format(a, format);
	archive_write_add_filter(a, filter);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, buf, cap, &used);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		if (e[i].link) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].link);
			archive_entry_set_perm(ae, 0777);
		} else if (!e[i].data) {
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)e[i].len);
		}
		archive_write_header(a, ae);
		if (e[i].data && !e[i].link)
			archive_write_data(a, e[i].data, e[i].len);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	*ret_len = used;
	return buf;
}

/* A tar (with the filter given, e.g. ARCHIVE_FILTER_GZIP) of the entries, in memory. */
static inline void *fx_tar(const struct fx_entry *e, size_t n, int filter, size_t *ret_len)
{
	return fx_archive(e, n, ARCHIVE_FORMAT_TAR_USTAR, filter, ret_len);
}

/* Writes a .deb (ar: debian-binary, control.tar.gz, data.tar.xz) to path. */
static inline int fx_deb(const char *path, const struct fx_entry *control, size_t n_control,
			 const struct fx_entry *data, size_t n_data)
{
	size_t clen = 0, dlen = 0;
	void *c = fx_tar(control, n_control, ARCHIVE_FILTER_GZIP, &clen);
	void *d = fx_tar(data, n_data, ARCHIVE_FILTER_XZ, &dlen);
	struct archive *a = archive_write_new();
	struct {
		const char *name;
		const void *p;
		size_t len;
	} m[] = {{"debian-binary", "2.0\n", 4}, {"control.tar.gz", c, clen}, {"data.tar.xz", d, dlen}};
	int r = 0;

	archive_write_set_format_ar_svr4(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		r = -EIO;
	for (size_t i = 0; r == 0 && i < 3; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, m[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, (la_int64_t)m[i].len);
		if (archive_write_header(a, ae) != ARCHIVE_OK ||
		    archive_write_data(a, m[i].p, m[i].len) != (la_ssize_t)m[i].len)
			r = -EIO;
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	free(c);
	free(d);
	return r;
}
