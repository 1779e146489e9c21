/* SPDX-License-Identifier: MIT */
/* dpkg's status file of a root, as far as the deb installer needs it: who is installed, in which state. */
#include "dpkgdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STATUS_BYTES (256u << 20)

char *inst_root_path(const char *root, const char *inside)
{
	return pib_asprintf("%s%s", strcmp(root, "/") ? root : "", inside);
}

void dpkg_db_free(struct dpkg_db *db)
{
	for (size_t i = 0; i < db->n; i++) {
		free(db->e[i].package);
		free(db->e[i].arch);
		free(db->e[i].version);
		free(db->e[i].status);
		free(db->e[i].source);
	}
	free(db->e);
	memset(db, 0, sizeof(*db));
}

/* Reads ROOT/var/lib/dpkg/status. Returns 0, or -ENOENT when there is none. */
int dpkg_db_read(const char *root, struct dpkg_db *db)
{
	char *path = inst_root_path(root, "/var/lib/dpkg/status");
	char *data = NULL;
	size_t len = 0;
	int r;

	memset(db, 0, sizeof(*db));
	if (!path)
		return -ENOMEM;
	r = pib_read_file(path, MAX_STATUS_BYTES, &data, &len);
	free(path);
	if (r < 0)
		return r;
	struct dpkg_entry cur = {0};
	char *save = NULL;
	bool eof = false;
	char *line = strtok_r(data, "\n", &save);
	/* strtok_r drops empty lines, so stanzas are cut at each "Package:" instead */
	while (!eof) {
		if (!line || !strncmp(line, "Package:", 8)) {
			if (cur.package) {
				struct dpkg_entry *ne = realloc(db->e, (db->n + 1) * sizeof(*ne));
				if (!ne) {
					r = -ENOMEM;
					break;
				}
				db->e = ne;
				db->e[db->n++] = cur;
			} else {
				free(cur.arch);
				free(cur.version);
				free(cur.status);
				free(cur.source);
			}
			memset(&cur, 0, sizeof(cur));
			if (!line) {
				eof = true;
				continue;
			}
		}
		const char *v;
#define FIELD(name, dst)                                                                               \
	if (!strncmp(line, name ":", sizeof(name)) && !dst) {                                          \
		v = line + sizeof(name);                                                               \
		while (*v == ' ')                                                                      \
			v++;                                                                           \
		dst = strdup(v);                                                                       \
	}
		FIELD("Package", cur.package)
		else FIELD("Architecture", cur.arch)
		else FIELD("Version", cur.version)
		else FIELD("Status", cur.status)
		else FIELD("Source", cur.source)
#undef FIELD
		line = strtok_r(NULL, "\n", &save);
	}
	free(cur.package);
	free(cur.arch);
	free(cur.version);
	free(cur.status);
	free(cur.source);
	free(data);
	return r;
}

const struct dpkg_entry *dpkg_db_find(const struct dpkg_db *db, const char *name,
					     const char *arch)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->e[i].package, name) &&
		    (!arch || !db->e[i].arch || !strcmp(db->e[i].arch, arch)))
			return &db->e[i];
	return NULL;
}

bool dpkg_really_installed(const char *status)
{
	return status && pib_str_has_suffix(status, " installed");
}

