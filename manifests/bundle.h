/* SPDX-License-Identifier: MIT */
/* Reading a bundle archive safely: every member into a private directory, under our own names. */
#pragma once

#include "manifest.h"

struct bundle_limits {
	uint64_t max_entries;     /* members, directories included */
	uint64_t max_total_bytes; /* unpacked bytes, all members, a link counted as a copy */
	uint64_t max_ratio;       /* unpacked / compressed, checked past ratio_grace bytes */
	uint64_t ratio_grace;
	uint64_t max_file_bytes;  /* the archive file itself */
};
#define BUNDLE_LIMITS_DEFAULT                                                                          \
	((struct bundle_limits){.max_entries = 10000,                                                  \
				.max_total_bytes = 8ull << 30,                                         \
				.max_ratio = 100,                                                      \
				.ratio_grace = 8u << 20,                                               \
				.max_file_bytes = 9ull << 30})

struct bundle_member {
	char *name;      /* normalised member name, e.g. "debs/jq_1.6_amd64.deb" */
	char *path;      /* where its bytes are: DIR/m00042, a file only we named */
	uint64_t size;
	char sha256[65]; /* of its bytes, computed while reading */
	char *alias_of;  /* a link member: the regular member whose bytes it names; else NULL */
};

/* The archive file's digest: of every byte of it, read once, in order. */
struct bundle_digest {
	char sha256[65]; /* "" when the file could not be read whole */
	uint64_t size;
};

struct bundle {
	char *file;      /* the archive as given */
	char sha256[65]; /* of the archive's bytes: the very bytes the members were read from */
	uint64_t size;   /* bytes in the archive file */
	char *dir;       /* private directory (0700) holding the members' bytes */
	struct bundle_member *members;
	size_t n_members;
	struct mf_manifest *manifest;
};

/*
 * Opens the bundle at path (symlinks followed: the path is the caller's) with one open(), and
 * reads it through that one descriptor: every member through libarchive (tar.gz, tar.zst, zip)
 * with the limits, normalised names, no "..", no absolute names, no link leaving the bundle, no
 * duplicate; a link member counts against the limits as a copy of what it names. Parses
 * manifest.json; refuses members the manifest does not list (as a package or a key), listed
 * packages that are absent, and a target that lists the same bytes twice (an alias or a copy
 * of another of its packages: bundle.duplicate_package). The SHA-256 of the file is computed
 * from the bytes as they are read, the rest of the file after the archive's end included, so
 * b->sha256 names exactly the bytes the members came from (a zip, whose index is at its end,
 * is copied into the private directory as it is hashed, and read from that copy). A bundle
 * file over lim->max_file_bytes is refused unread. Nothing is written outside a
 * private mkdtemp directory. On success *ret owns the bundle (bundle_free removes the
 * directory). ret_digest, when not NULL, receives the file's digest on success and on
 * failure alike, whenever the whole file could be read (else its sha256 is "").
 */
int bundle_open(const char *path, const struct bundle_limits *lim, struct bundle **ret,
		struct bundle_digest *ret_digest, struct pib_err *err) PIB_MUST_CHECK;
/* The same on a descriptor open for reading at offset 0 (not closed); name is for messages. */
int bundle_open_fd(int fd, const char *name, const struct bundle_limits *lim, struct bundle **ret,
		   struct bundle_digest *ret_digest, struct pib_err *err) PIB_MUST_CHECK;
void bundle_free(struct bundle *b);
const struct bundle_member *bundle_find(const struct bundle *b, const char *name);
