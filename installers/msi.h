/* SPDX-License-Identifier: MIT */
/*
 * What the msi installer (msi.c) reads of msiexec: its verbose log (Windows writes it in UTF-16LE,
 * Wine in ASCII) and its results (learn.microsoft.com, "MsiExec.exe and InstMsi.exe error
 * messages"), whose low 8 bits are all Wine's exit status keeps of them.
 */
#pragma once

#include "util.h"

struct msi_log {
	char *text; /* the log as ASCII text (UTF-16 narrowed, others '?'), NUL-terminated */
	size_t len;
	int engine; /* "MainEngineThread is returning N" or "... error status: N." (Windows), or -1
		     */
	int install_rv; /* the last "Action ended ...: INSTALL. Return value N." (1 success), or -1
			 */
	bool said_ok; /* "Installation completed successfully" / "operation completed successfully"
		       */
	bool said_failed; /* "Installation failed" / "Installation operation failed" */
	size_t fail_line; /* the line (1-based) where the first failed action ended (Windows' Return
			   * value 3, Wine's 0), or 0 */
	char *fail_action; /* its name, or NULL */
};

/* Reads (the last 32 MiB of) the log at path (O_NOFOLLOW, a regular file) and parses it. */
int msi_log_read(const char *path, struct msi_log *l) PIB_MUST_CHECK;
void msi_log_free(struct msi_log *l);
/* The lines around the failed action (or the last lines), Property lines left out; NULL if none. */
char *msi_log_excerpt(const struct msi_log *l);

/* The documented name of a result ("ERROR_INSTALL_FAILURE"), or a sentence saying it is none. */
const char *msi_code_name(int code);
/*
 * The documented result whose low 8 bits are status (Wine's exit status): the code, -1 when
 * none is, -2 when several are; every candidate is appended to alts ("87 (...) or 1623 (...)").
 */
int msi_code_from_status(int status, struct pib_buf *alts);
