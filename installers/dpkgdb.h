/* SPDX-License-Identifier: MIT */
/* dpkg's status file of a root, as far as the deb installer needs it: who is installed, in which state. */
#pragma once

#include "util.h"

/* One stanza of dpkg's status file (the fields we use). */
struct dpkg_entry {
	char *package, *arch, *version, *status;
	char *source; /* the Source: field as written ("libonig (6.9.8-1)"), or NULL */
};

struct dpkg_db {
	struct dpkg_entry *e;
	size_t n;
};

/* ROOT + inside ("/" adds nothing); NULL when out of memory. */
char *inst_root_path(const char *root, const char *inside);
/* Reads ROOT/var/lib/dpkg/status. Returns 0, or a negative errno (-ENOENT when there is none). */
int dpkg_db_read(const char *root, struct dpkg_db *db) PIB_MUST_CHECK;
/* The stanza of name (and arch, when given and the stanza has one), or NULL. */
const struct dpkg_entry *dpkg_db_find(const struct dpkg_db *db, const char *name, const char *arch);
void dpkg_db_free(struct dpkg_db *db);
/* "install ok installed", "hold ok installed", ...: the package is there and configured. */
bool dpkg_really_installed(const char *status);
