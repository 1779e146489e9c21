/* SPDX-License-Identifier: MIT */
/* Package payloads member by member: a .deb's control.tar and data.tar, an .rpm's header and cpio, an .msi's embedded cabinets, read with libarchive. */
#pragma once

#include "util.h"

enum payload_format {
	PAYLOAD_NONE = 0, /* not a package we open: scan the file as it is */
	PAYLOAD_DEB,
	PAYLOAD_RPM,
	PAYLOAD_MSI, /* an OLE compound file: an MSI when libmsi reads it as one */
};

/* The format of a file from its first bytes (at least 24 are needed for a .deb). */
enum payload_format payload_sniff(const void *head, size_t n);
const char *payload_format_name(enum payload_format f);

/*
 * One member handed to the sink. Exactly one of data (malloc'd) and fd (a private, already
 * unlinked temporary file, positioned anywhere) holds the bytes; the sink owns name, data and
 * fd from the call on, even when it fails. package is borrowed for the call.
 */
struct payload_member {
	char *name;          /* the path inside the package: "usr/bin/x", "DEBIAN/postinst", "(rpm header)" */
	void *data;
	int fd;
	uint64_t size;
	const char *package; /* the package's name from its control file or header (an MSI's ProductName), or NULL */
	const char *cabinet; /* an MSI's member: "acme.cab!FileKey", its cabinet and its name there; else NULL (borrowed) */
};

struct payload_opts {
	const char *label;    /* the package as error messages name it, e.g. "debs/x.deb" */
	uint64_t mem_max;     /* members up to this size are handed over in memory (0: 16 MiB) */
	uint64_t max_member;  /* members above this size are not read but reported as gaps (0: none) */
	const char *tmpdir;   /* a private directory for larger members (required) */
	uint64_t max_entries; /* members of one package, all layers (0: 1000000) */
	uint64_t max_total;   /* unpacked bytes of one package (0: 64 GiB) */
	uint64_t max_ratio;   /* unpacked / package bytes, past ratio_grace bytes (0: 1000) */
	uint64_t ratio_grace; /* (0: 256 MiB) */
	unsigned threads;     /* threads that may decode an xz member (0 or 1: libarchive's reader) */
	/* the sink takes each member; a negative return stops the reading with that error */
	int (*sink)(void *ctx, struct payload_member *m);
	/* a member that was not read: too large, or not readable; a negative return stops */
	int (*gap)(void *ctx, const char *package, const char *member, const char *code, const char *reason);
	void *ctx;
};

/*
 * Reads the payload of the package open on fd (format from payload_sniff) and hands every
 * regular file inside it to o->sink: nothing is written anywhere but o->tmpdir, under names
 * we choose. A payload that cannot be read completely (corrupt, over a bound) is an error
 * scan.package_unreadable; what the sink returns stops the reading and is returned as is.
 * *ret_package (optional) receives the package's name, or NULL.
 *
 * An MSI is read with libmsi in a child process (msi_cabinets_open): each "#" cabinet of its
 * Media table is streamed from the _Streams table into libarchive's CAB reader, and each
 * cabinet member, a File table key, is handed over named by the File's install path
 * ("[ProgramFiles64Folder]Acme/bin/acme.exe") with m->cabinet set; members over 4 MiB (or
 * o->mem_max when smaller) come in a temporary file. Listed through o->gap, never
 * passed over: a File row in no cabinet read (code msi.not_in_cabinet), an external cabinet
 * (msi.external_cabinet), a cabinet or member that cannot be read or decompressed
 * (msi.cabinet_unreadable), a member no File row names (msi.not_in_tables) and a member name
 * that is not a File key at all ("..", a separator: msi.unsafe_name). An OLE file that libmsi
 * does not read as an MSI returns -ENOMSG (err set, scan.package_unreadable): scan it as a file.
 */
int payload_read(int fd, enum payload_format fmt, const struct payload_opts *o, char **ret_package,
		 struct pib_err *err) PIB_MUST_CHECK;
