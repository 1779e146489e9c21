/* SPDX-License-Identifier: MIT */
/* The rpm installer's shared state: where the root's rpmdb is, which rpm runs, and the install. */
#pragma once

#include "installer.h"
#include "contain.h"
#include "proc.h"

struct rpm_priv {
	char *dbpath;       /* the rpmdb's folder inside the root: /var/lib/rpm, /usr/lib/sysimage/rpm */
	const char *backend;/* "sqlite", "bdb" (read-only here), "ndb" */
	bool own_tools;     /* the root has its own rpm: it runs contained inside the root */
	char *rpm;          /* the rpm that runs: a path inside the root (own_tools), else on this machine */
	char *keyring;      /* verify: a private rpm database holding only the target's keys */
	char **tmp_dirs;    /* removed at cleanup */
	char *link_dir;     /* this machine's tools: links NAME.rpm to the bundle's files (in tmp_dirs) */
	char **local;       /* host mode: per transaction package, its repository file copied out of the root */
	size_t n_local;
	char **env;         /* the tools' environment, or NULL for the default one */
	struct contain_file *files; /* contained: the bundle's packages, offered under /run/pib-agent */
	size_t n_files;
	char **file_names;  /* their names there (owned) */
};

/*
 * Runs rpm (or another tool of the same place: the root's own, contained, or this machine's
 * with --root and --dbpath added after argv[0] when with_root) with argv[1..]. Records the
 * command and its output in c->log when log is true. 0 when it ran (res->status says how).
 */
int rpm_run(struct inst_ctx *c, const char *tool, char *const argv[], bool with_root, bool log,
	    bool network, struct pib_spawn_result *res) PIB_MUST_CHECK;

/* Finds the rpmdb and the rpm to use (the installer's probe); 0 or an error in c->err. */
int rpm_prepare(struct inst_ctx *c) PIB_MUST_CHECK;

/* dnf's $releasever for the root: its vars file, else the vendor's convention (RHEL: the major version). */
char *rpm_releasever(const char *root, const struct osinfo *os);

int rpm_install(struct inst_ctx *c) PIB_MUST_CHECK;
