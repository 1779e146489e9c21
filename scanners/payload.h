/* SPDX-License-Identifier: MIT */
/* Package payloads member by member: a .deb's control.tar and data.tar, an .rpm's header and cpio, read with libarchive. */
#pragma once

#include "util.h"

enum payload_format {
	PAYLOAD_NONE = 0, /* not a package we open: scan the file as it is */
	PAYLOAD_DEB,
	PAYLOAD_RPM,
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
	const char *package; /* the package's name from its control file or header, or NULL */
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
 */
int payload_read(int fd, enum payload_format fmt, const struct payload_opts *o, char **ret_package,
		 struct pib_err *err) PIB_MUST_CHECK;
