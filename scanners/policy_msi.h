/* SPDX-License-Identifier: MIT */
/*
 * The image policy checks of Windows, judged from an MSI's tables until the agent runs on
 * Windows: services it installs and how they start (msi.service), Run/RunOnce registry writes
 * (msi.run_key), custom actions that run code as LocalSystem (msi.custom_action_system), files
 * it puts outside its own folders (msi.file_outside_installdir).
 */
#pragma once

#include "msi_tables.h"
#include "policy.h"

#define POLICY_MSI_OUTSIDE_MAX                                                                     \
	100u /* msi.file_outside_installdir findings of one MSI; the rest counted in one more */

/*
 * Reads the MSI at msi_path (msi_tables_read) and adds its findings to f, each with path =
 * msi_path (the name the report shows). Errors: those of msi_tables_read (msi.unreadable,
 * msi.invalid: bad input, PIB_ERR_FAILED), agent.oom.
 */
int policy_check_msi(const char *msi_path, struct policy_findings *f,
		     struct pib_err *err) PIB_MUST_CHECK;

/* The checks on tables already read; name is the finding's path (the MSI's bundle member or file).
 */
int policy_check_msi_tables(const struct msi_tables *t, const char *name, struct policy_findings *f,
			    struct pib_err *err) PIB_MUST_CHECK;

/*
 * True when an install path ("[ProgramFiles64Folder]Acme/bin/a.exe") is inside a product's own
 * folder: below a named folder of [ProgramFilesFolder], [ProgramFiles64Folder],
 * [CommonFilesFolder], [CommonFiles64Folder] or [CommonAppDataFolder]. Anything else (the
 * Windows and System folders, Startup, a drive's root and folders made there, a file directly in
 * Program Files) is outside.
 */
bool policy_msi_path_inside(const char *path);

/*
 * True when a Registry row writes a value the shell starts at logon: a Run, RunOnce, RunOnceEx,
 * RunServices or RunServicesOnce key of Software\Microsoft\Windows\CurrentVersion (also under
 * Wow6432Node, and Policies\Explorer\Run) in HKLM, HKCU, HKU or the ALLUSERS-chosen root.
 */
bool policy_msi_is_run_key(int32_t root, const char *key);
