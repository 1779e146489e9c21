/* SPDX-License-Identifier: MIT */
/*
 * The tables of an MSI that say what it installs and what it does, read with libmsi: the
 * product's properties, directories resolved to install paths ("[ProgramFiles64Folder]Acme/bin"),
 * components, files with their install paths, services, registry writes, custom actions (type
 * decoded) and whether InstallExecuteSequence runs them. Every byte of an MSI is hostile: a
 * file that is not an MSI, a truncated one, a row naming a row that is not there, a directory
 * cycle or a name with a separator in it is an error naming the file, the table, the row and
 * the column, never a crash. Used by the Windows policy checks (policy_msi.c) and meant for the
 * msi installer's inspection (issue 15).
 */
#pragma once

#include "util.h"

#define MSI_ROWS_MAX	  200000u /* rows read of one table at most; more is msi.invalid */
#define MSI_DIR_DEPTH_MAX 64u	  /* directories nested at most (Windows paths are bounded too) */
#define MSI_NULL_INT	  ((int32_t)0x80000000) /* a null integer column */

/* A row of Directory; path is its resolved install path without a trailing slash. */
struct msi_dir {
	char *id, *parent, *default_dir; /* parent NULL for a root (or equal to id) */
	char *path;	/* "[ProgramFiles64Folder]Acme/bin", "[TARGETDIR]"; NULL until resolved */
	unsigned depth; /* below its root folder (0 for the root) */
};

struct msi_component {
	char *id, *guid, *dir, *key_path, *condition; /* guid, key_path, condition may be NULL */
	int32_t attributes;
	const struct msi_dir *d; /* its directory */
};

struct msi_file {
	char *key, *component, *name; /* name: the long name of FileName ("short|long") */
	char *path;		      /* dir path + "/" + name: "[SystemFolder]acme.dll" */
	int32_t size, attributes, sequence;
	const struct msi_component *c;
};

struct msi_service {
	char *key, *name, *display_name, *start_name, *arguments,
	    *component; /* may be NULL but key, name, component */
	int32_t service_type, start_type, error_control;
	const struct msi_component *c;
};

struct msi_registry {
	char *key, *reg_key, *name, *value, *component; /* name and value may be NULL */
	int32_t root; /* -1 HKCU or HKLM by ALLUSERS, 0 HKCR, 1 HKCU, 2 HKLM, 3 HKU */
};

struct msi_action {
	char *action, *source, *target; /* source, target may be NULL */
	int32_t type;
	bool sequenced;	  /* a row of InstallExecuteSequence names it */
	int32_t sequence; /* its Sequence there (MSI_NULL_INT when null) */
	char *condition;  /* its Condition there, or NULL */
};

struct msi_tables {
	char *product_code, *product_version, *product_name, *manufacturer,
	    *upgrade_code; /* NULL when absent */
	char *template_; /* the summary information's Template ("x64;1033"), NULL when absent */
	struct msi_dir *dirs;
	size_t n_dirs;
	struct msi_component *comps;
	size_t n_comps;
	struct msi_file *files;
	size_t n_files;
	struct msi_service *services;
	size_t n_services;
	struct msi_registry *regs;
	size_t n_regs;
	struct msi_action *actions;
	size_t n_actions;
};

/*
 * Reads the tables of the MSI at path (opened O_NOFOLLOW, a regular file starting with the OLE
 * compound file signature). name is how errors and findings name it (a bundle member, or the
 * path given). A table the MSI lacks (ServiceInstall, Registry, CustomAction, ...) reads as no
 * rows; one without Property is not an MSI. Errors: msi.unreadable (cannot open or read the
 * file), msi.invalid (not an MSI, a table or column missing or of the wrong type, a row naming
 * a missing row, a directory cycle or depth, a bad name), both PIB_ERR_FAILED; agent.oom.
 * On failure *t is left empty (freed).
 */
int msi_tables_read(const char *path, const char *name, struct msi_tables *t,
		    struct pib_err *err) PIB_MUST_CHECK;
void msi_tables_free(struct msi_tables *t);

/*
 * The target directory name of a DefaultDir value: "[short|]long[:[short|]long]" keeps the
 * part before ':' and of it the long name after '|'. "." (the parent itself) is returned as
 * "."; a name that is empty, "..", or holds '\\', '/', ':', '|' beyond the forms above, or a
 * control character, is -EINVAL. On success *ret is a new string.
 */
int msi_defaultdir_target(const char *default_dir, char **ret) PIB_MUST_CHECK;
/* The long name of a File table FileName ("short|long" or "name"), checked as above (not "."). */
int msi_filename_long(const char *file_name, char **ret) PIB_MUST_CHECK;

/*
 * Resolves every dirs[i].path. A directory named as a standard folder property
 * (ProgramFiles64Folder, SystemFolder, ...) or a root (no parent, or itself) is "[ID]"; any
 * other is its parent's path joined with its target name ("." adds nothing); dirs is sorted by id
 * first (lookups by bsearch). Errors
 * (msi.invalid, naming the row and column, with name as the MSI's name): a parent that is no
 * row, a cycle, deeper than MSI_DIR_DEPTH_MAX, a bad DefaultDir. 0 or a negative errno.
 */
int msi_dirs_resolve(struct msi_dir *dirs, size_t n, const char *name,
		     struct pib_err *err) PIB_MUST_CHECK;
/* True when id is a folder property Windows Installer sets itself (ProgramFilesFolder, ...). */
bool msi_is_system_folder(const char *id);
/* dir + name as an install path: "[SystemFolder]" + "a.dll" or "[X]Acme" + "/" + "a.dll". NULL on
 * OOM. */
char *msi_path_join(const char *dir, const char *name);

/* A Registry row's Root in the usual short form: HKMU (-1: HKLM or HKCU by ALLUSERS), HKCR, HKCU,
 * HKLM, HKU; NULL for any other value. */
const char *msi_registry_root_word(int32_t root);

/* ServiceInstall.StartType in a word: boot, system, auto, demand, disabled, or "unknown". */
const char *msi_service_start_word(int32_t start_type);
/* The account a service runs as: "LocalSystem" when StartName is NULL, empty, LocalSystem or
 * .\LocalSystem. */
const char *msi_service_account(const char *start_name);

/* The custom action flags (msidbCustomActionType*). */
#define MSI_CA_CONTINUE	      0x40 /* the return code is ignored */
#define MSI_CA_ASYNC	      0x80
#define MSI_CA_ROLLBACK	      0x100 /* with IN_SCRIPT */
#define MSI_CA_COMMIT	      0x200 /* with IN_SCRIPT */
#define MSI_CA_IN_SCRIPT      0x400 /* deferred */
#define MSI_CA_NO_IMPERSONATE 0x800
#define MSI_CA_64BIT_SCRIPT   0x1000
#define MSI_CA_HIDE_TARGET    0x2000
#define MSI_CA_TS_AWARE	      0x4000
/* The base type in a word: dll, exe, error, jscript, vbscript, install, property, directory,
 * unknown. */
const char *msi_ca_base_word(int32_t type);
/* Where its code or value comes from: binary (the Binary table), file (File table), directory,
 * property, text (Target itself). */
const char *msi_ca_source_word(int32_t type);
/* True for a DLL, EXE, JScript or VBScript action: one that runs code. */
bool msi_ca_runs_code(int32_t type);
/* Deferred and not impersonating: Windows Installer runs it as LocalSystem. */
bool msi_ca_runs_as_system(int32_t type);
/* The type in words, appended to b: "exe from an installed file, deferred, no impersonation, ...".
 */
int msi_ca_describe(int32_t type, struct pib_buf *b) PIB_MUST_CHECK;

/* ---- an MSI's embedded cabinets (the prescan's reader) ---- */

/* A row of Media: the files with Sequence up to last_sequence are in cabinet ("#name": the
 * stream name of an embedded one; another name: a file beside the MSI; NULL: uncompressed). */
struct msi_media {
	int32_t disk_id, last_sequence;
	char *cabinet;
};

#define MSI_CHUNK_MAX (1u << 20) /* bytes of a cabinet the reading child sends at once */
#define MSI_MEDIA_MAX 1024u      /* Media rows read at most (a disk or cabinet each); more is msi.invalid */

struct msi_cabinets;

/*
 * Reads the MSI open on fd (name as errors name it) in a child process, as msi_tables_read
 * does, and keeps that child to read the embedded cabinets afterwards: *t receives the tables,
 * *ret_media the Media rows (n in *ret_n_media; free with msi_media_free), *ret the reader.
 * Errors: those of msi_tables_read; a Media table that cannot be read is msi.invalid.
 */
int msi_cabinets_open(int fd, const char *name, struct msi_tables *t, struct msi_media **ret_media,
		      size_t *ret_n_media, struct msi_cabinets **ret,
		      struct pib_err *err) PIB_MUST_CHECK;
/*
 * The next embedded cabinet (the Media rows' "#" cabinets in their order, each once): 1 with
 * *ret_name its stream name (its bytes follow: msi_cabinets_read), 2 with *ret_name and
 * *ret_reason for one that cannot be read (no such stream, libmsi cannot open it), 0 when there
 * are no more; the strings are new. Bytes of the previous cabinet not read are skipped.
 * Errors: msi.invalid (the reading process failed or sent nonsense).
 */
int msi_cabinets_next(struct msi_cabinets *c, char **ret_name, char **ret_reason,
		      struct pib_err *err) PIB_MUST_CHECK;
/* Up to n bytes of the current cabinet: how many, 0 at its end, or a negative errno with err
 * set (msi.invalid: the stream could not be read to its end, the reading process failed). */
ssize_t msi_cabinets_read(struct msi_cabinets *c, void *buf, size_t n, struct pib_err *err);
/* Ends the reading process (killed if it is not done) and frees c. NULL is fine. */
void msi_cabinets_close(struct msi_cabinets *c);
void msi_media_free(struct msi_media *m, size_t n);
