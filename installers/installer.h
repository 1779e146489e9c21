/* SPDX-License-Identifier: MIT */
/* The installer interface: one backend per file (deb.c, rpm.c, msi.c), listed in one table. */
#pragma once

#include "bundle.h"
#include "osinfo.h"

/* A package of the image that a transaction package replaces (allowed by may_upgrade). */
struct inst_replaced {
	char *name, *version, *arch; /* the image's package, as installed */
	const char *how;             /* "upgrade", "downgrade", "reinstall", "replaces", "obsoletes" */
};

/* A package of the transaction: from the bundle, or from the image's own repositories. */
struct inst_pkg {
	char *name, *version, *arch;
	char *member;     /* bundle member name, or NULL when it comes from the image's repositories */
	char *path;       /* local file of a bundle package (our private copy); for a package of a
			   * local rpm repository, its file as seen inside the root */
	char sha256[65];  /* the .deb/.rpm file's SHA-256 ("" when the repository gave none) */
	char *repo;       /* "bundle", or the repository it comes from */
	bool reinstall;   /* the same version, with other contents, is installed (allowed by may_upgrade) */
	char **files;     /* NULL-terminated paths inside the root, filled after install */
	struct inst_replaced *replaced; /* the image's packages it upgrades or takes files from */
	size_t n_replaced;
	struct cJSON *detail; /* the backend's own account of it for the report (msi: `msi`, its
			       * tables), or NULL; owned */
};

/* The signature verdict of one package of the target, from verify. */
struct inst_sig {
	char *member; /* bundle member */
	char *signer; /* fingerprint of the key whose signature verified; NULL: unsigned, accepted (allow_unsigned) */
	char *subject;     /* msi: the signer certificate's subject, or NULL */
	char *cert_sha256; /* msi: the signer certificate's SHA-256, or NULL */
	bool refused;      /* msi: the package was refused (its signer is still reported) */
};

struct inst_ctx {
	const char *root;            /* the image worked on ("/" for the running system) */
	bool may_install;            /* false: resolve read-only, never install */
	const struct osinfo *os;
	const struct mf_target *target;
	const struct bundle *bundle;
	double install_timeout;      /* seconds */
	double lock_timeout;         /* seconds to wait for the package manager's lock */
	struct pib_err *err;

	/* outputs */
	struct inst_pkg *pkgs;       /* the transaction, in install order */
	size_t n_pkgs;
	char *problems;              /* resolve: every problem explained, one per line */
	struct pib_buf log;          /* the install tool's output */
	char *tool;                  /* which tool installed: "dpkg", "apt-get" */
	char *tool_why;              /* why that tool (a sentence for the report) */
	bool contained;              /* the install ran inside the root's own namespaces */
	bool tool_ran;               /* the install tool was started: the root may have changed */
	char **unfinished;           /* after a failed install: "name version arch: status" each */
	struct inst_sig *sigs;       /* verify: each checked package's signature verdict */
	size_t n_sigs;
	const char *install_root;    /* prepare: where the install goes instead of root (msi: the
				      * throwaway Wine prefix), or NULL; owned by the backend */
	bool reboot_required;        /* the install succeeded and asked for a reboot (msi: 3010, 1641) */
	int exit_code;               /* the install tool's real result when known (msi), else 0 */
	void *priv;                  /* backend state */
};

struct installer {
	const char *name;               /* "deb": the manifest's installer value */
	const char *const *families;    /* OS families it serves */
	/* Is the tool this backend needs present (for the root)? 0 or an ENV error. */
	int (*probe)(struct inst_ctx *c);
	/* Digests against the manifest, then signatures. */
	int (*verify)(struct inst_ctx *c);
	/* Whole transaction with libsolv, or every problem explained (resolve.unsatisfiable). */
	int (*resolve)(struct inst_ctx *c);
	/* Installs the transaction with the image's own tool. */
	int (*install)(struct inst_ctx *c);
	/* Fills pkgs[].files from the package database of the root. */
	int (*files_installed)(struct inst_ctx *c);
	void (*cleanup)(struct inst_ctx *c);
	/*
	 * Optional. NULL when the install can run here, else why it cannot (msi: no Wine on Linux):
	 * the install step is then skipped with that reason and the run is incomplete.
	 */
	const char *(*cannot_install)(struct inst_ctx *c);
	/*
	 * Optional, inside the install step before the snapshot of what the install changes: makes
	 * the place the install goes (msi: a throwaway Wine prefix, booted) and sets
	 * c->install_root, which the rest of the run (snapshot, postscan) uses as its root.
	 */
	int (*prepare)(struct inst_ctx *c);
};

/* The registry: every backend built in. */
const struct installer *inst_find(const char *name);
const struct installer *const *inst_all(void);

/*
 * Chooses the target of the manifest for this OS: by id (or a word of ID_LIKE), version and
 * arch, and an installer that is built in. No match is target.none with a message listing
 * what the bundle offers. Returns the index of the target.
 */
int inst_choose_target(const struct mf_manifest *m, const struct osinfo *os, size_t *ret_index,
		       struct pib_err *err) PIB_MUST_CHECK;

void inst_ctx_free(struct inst_ctx *c);

/* Appends "$ ARGV...\n" and the tool's output to c->log (the install step's output). */
void inst_log_command(struct inst_ctx *c, char *const argv[], const struct pib_buf *output);

/* Checks each package of the target against the manifest's SHA-256 (package.digest_mismatch). */
int inst_verify_digests(struct inst_ctx *c) PIB_MUST_CHECK;
