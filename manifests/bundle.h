/* SPDX-License-Identifier: MIT */
/* Reading a bundle archive safely: every member into a private directory, under our own names. */
#pragma once

#include "manifest.h"

struct bundle_limits {
	uint64_t max_entries;     /* members, directories included */
	uint64_t max_total_bytes; /* unpacked bytes, all members */
	uint64_t max_ratio;       /* unpacked / compressed, checked past ratio_grace bytes */
	uint64_t ratio_grace;
};
#define BUNDLE_LIMITS_DEFAULT                                                                          \
	((struct bundle_limits){.max_entries = 10000,                                                  \
				.max_total_bytes = 8ull << 30,                                         \
				.max_ratio = 100,                                                      \
				.ratio_grace = 8u << 20})

struct bundle_member {
	char *name;      /* normalised member name, e.g. "debs/jq_1.6_amd64.deb" */
	char *path;      /* where its bytes are: DIR/m00042, a file only we named */
	uint64_t size;
	char sha256[65]; /* of its bytes, computed while reading */
};

struct bundle {
	char *file;   /* the archive as given */
	char *dir;    /* private directory (0700) holding the members' bytes */
	struct bundle_member *members;
	size_t n_members;
	struct mf_manifest *manifest;
};

/*
 * Opens the bundle at path: reads every member through libarchive (tar.gz, tar.zst, zip) with
 * the limits, normalised names, no "..", no absolute names, no link leaving the bundle, no
 * duplicate; parses manifest.json; refuses members the manifest does not list (as a package
 * or a key) and listed packages that are absent. Nothing is written outside a private
 * mkdtemp directory. On success *ret owns the bundle (bundle_free removes the directory).
 */
int bundle_open(const char *path, const struct bundle_limits *lim, struct bundle **ret,
		struct pib_err *err) PIB_MUST_CHECK;
void bundle_free(struct bundle *b);
const struct bundle_member *bundle_find(const struct bundle *b, const char *name);
