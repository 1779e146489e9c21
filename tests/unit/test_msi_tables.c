/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of an MSI's tables without an MSI: DefaultDir and FileName parsing ("short|long",
 * "target:source", ".", bad names), directory resolution to install paths (system folders, the
 * root, ".", a missing parent, a cycle, a chain deeper than the bound), the custom action type
 * in words, the service words, and the policy's judgements of paths and Run keys.
 */
#include "msi_tables.h"
#include "policy_msi.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static const char *target(const char *dd)
{
	static char buf[256];
	char *t = NULL;
	int r = msi_defaultdir_target(dd, &t);
	if (r < 0)
		snprintf(buf, sizeof(buf), "ERR %d", r);
	else
		snprintf(buf, sizeof(buf), "%s", t);
	free(t);
	return buf;
}

static void test_defaultdir(void)
{
	ok(!strcmp(target("Acme"), "Acme"), "a plain name");
	ok(!strcmp(target("ACME~1|Acme Corp"), "Acme Corp"), "short|long: the long name");
	ok(!strcmp(target("ACME~1|Acme Corp:SRC~1|Source"), "Acme Corp"),
	   "target:source: the target's long name");
	ok(!strcmp(target("bin:src"), "bin"), "target:source without short names");
	ok(!strcmp(target("."), "."), "\".\": the parent itself");
	ok(!strcmp(target(".:Src"), "."), "\".\" with a source");
	ok(!strcmp(target("SourceDir"), "SourceDir"), "the root's SourceDir");
	ok(!strcmp(target(".."), "ERR -22"), "\"..\" refused");
	ok(!strcmp(target("X|.."), "ERR -22"), "short|.. refused");
	ok(!strcmp(target("..|X"), "ERR -22"), "..|long refused");
	ok(!strcmp(target("a\\b"), "ERR -22"), "a backslash refused");
	ok(!strcmp(target("a/b"), "ERR -22"), "a slash refused");
	ok(!strcmp(target(""), "ERR -22"), "empty refused");
	ok(!strcmp(target("a|"), "ERR -22"), "an empty long name refused");
	ok(!strcmp(target("a|b|c"), "ERR -22"), "two bars refused");
	ok(!strcmp(target("a:b:c"), "ERR -22"), "two colons refused");
	ok(!strcmp(target("a\nb"), "ERR -22"), "a control character refused");
	ok(!strcmp(target(NULL), "ERR -22"), "NULL refused");

	char *n = NULL;
	ok(msi_filename_long("ACME~1.EXE|acme agent.exe", &n) == 0 && !strcmp(n, "acme agent.exe"),
	   "FileName short|long");
	free(n);
	n = NULL;
	ok(msi_filename_long("acme.exe", &n) == 0 && !strcmp(n, "acme.exe"), "FileName long only");
	free(n);
	n = NULL;
	ok(msi_filename_long(".", &n) < 0 && !n, "FileName \".\" refused");
	ok(msi_filename_long("x|..\\evil.dll", &n) < 0 && !n, "FileName with a separator refused");
}

/* Builds dirs from "id parent defaultdir" triples (parent "-" for none). */
static struct msi_dir *mkdirs(const char *const (*rows)[3], size_t n)
{
	struct msi_dir *d = calloc(n, sizeof(*d));
	for (size_t i = 0; d && i < n; i++) {
		d[i].id = strdup(rows[i][0]);
		d[i].parent = strcmp(rows[i][1], "-") ? strdup(rows[i][1]) : NULL;
		d[i].default_dir = strdup(rows[i][2]);
	}
	return d;
}

static void freedirs(struct msi_dir *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].id);
		free(d[i].parent);
		free(d[i].default_dir);
		free(d[i].path);
	}
	free(d);
}

static const char *path_of(struct msi_dir *d, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(d[i].id, id))
			return d[i].path ? d[i].path : "(unresolved)";
	return "(none)";
}

static void test_resolve(void)
{
	static const char *const rows[][3] = {
	    {"BinDir", "INSTALLDIR", "bin"},
	    {"INSTALLDIR", "ProgramFiles64Folder", "ACME~1|Acme Corp:Src"},
	    {"ProgramFiles64Folder", "TARGETDIR", "."},
	    {"SystemFolder", "TARGETDIR", "."},
	    {"TARGETDIR", "-", "SourceDir"},
	    {"Same", "BinDir", "."},
	    {"TopDir", "TARGETDIR", "Acme"},
	    {"Self", "Self", "SourceDir"},
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct msi_dir *d = mkdirs(rows, n);
	struct pib_err err = {0};

	ok(msi_dirs_resolve(d, n, "t.msi", &err) == 0, "a real tree resolves");
	ok(!strcmp(path_of(d, n, "BinDir"), "[ProgramFiles64Folder]Acme Corp/bin"), "BinDir: %s",
	   path_of(d, n, "BinDir"));
	ok(!strcmp(path_of(d, n, "INSTALLDIR"), "[ProgramFiles64Folder]Acme Corp"),
	   "INSTALLDIR: long target name");
	ok(!strcmp(path_of(d, n, "ProgramFiles64Folder"), "[ProgramFiles64Folder]"),
	   "a system folder is itself");
	ok(!strcmp(path_of(d, n, "SystemFolder"), "[SystemFolder]"), "SystemFolder");
	ok(!strcmp(path_of(d, n, "TARGETDIR"), "[TARGETDIR]"), "the root");
	ok(!strcmp(path_of(d, n, "Same"), "[ProgramFiles64Folder]Acme Corp/bin"),
	   "\".\" is its parent");
	ok(!strcmp(path_of(d, n, "TopDir"), "[TARGETDIR]Acme"), "a folder at the drive's root");
	ok(!strcmp(path_of(d, n, "Self"), "[Self]"), "a row its own parent is a root");
	freedirs(d, n);
	pib_err_clear(&err);

	static const char *const missing[][3] = {
	    {"A", "TARGETDIR", "a"}, {"B", "Ghost", "b"}, {"TARGETDIR", "-", "SourceDir"}};
	d = mkdirs(missing, 3);
	ok(msi_dirs_resolve(d, 3, "m.msi", &err) < 0 && !strcmp(err.code, "msi.invalid") &&
	       strstr(err.msg, "m.msi: table Directory, row B, column Directory_Parent: no "
			       "Directory row Ghost"),
	   "a missing parent: %s", err.msg);
	freedirs(d, 3);
	pib_err_clear(&err);

	static const char *const cycle[][3] = {
	    {"A", "B", "a"}, {"B", "C", "b"}, {"C", "A", "c"}, {"TARGETDIR", "-", "SourceDir"}};
	d = mkdirs(cycle, 4);
	ok(msi_dirs_resolve(d, 4, "c.msi", &err) < 0 &&
	       strstr(err.msg, "c.msi: table Directory, row A") &&
	       strstr(err.msg, "a cycle of parents"),
	   "a cycle: %s", err.msg);
	freedirs(d, 4);
	pib_err_clear(&err);

	static const char *const bad[][3] = {{"A", "TARGETDIR", "x|.."},
					     {"TARGETDIR", "-", "SourceDir"}};
	d = mkdirs(bad, 2);
	ok(msi_dirs_resolve(d, 2, "b.msi", &err) < 0 &&
	       strstr(err.msg, "b.msi: table Directory, row A, column DefaultDir: \"x|..\" is not "
			       "a directory name"),
	   "a bad DefaultDir: %s", err.msg);
	freedirs(d, 2);
	pib_err_clear(&err);

	/* a chain of MSI_DIR_DEPTH_MAX directories resolves; one more is refused */
	for (size_t depth = MSI_DIR_DEPTH_MAX; depth <= MSI_DIR_DEPTH_MAX + 1; depth++) {
		size_t m = depth + 1;
		struct msi_dir *c = calloc(m, sizeof(*c));
		c[0].id = strdup("TARGETDIR");
		c[0].default_dir = strdup("SourceDir");
		for (size_t i = 1; i < m; i++) {
			char id[32], parent[32];
			snprintf(id, sizeof(id), "D%zu", i);
			snprintf(parent, sizeof(parent), i == 1 ? "TARGETDIR" : "D%zu", i - 1);
			c[i].id = strdup(id);
			c[i].parent = strdup(parent);
			c[i].default_dir = strdup("d");
		}
		int r = msi_dirs_resolve(c, m, "deep.msi", &err);
		if (depth == MSI_DIR_DEPTH_MAX)
			ok(r == 0 && strlen(path_of(c, m, "D64")) == strlen("[TARGETDIR]") + 2 * depth - 1,
			   "%zu nested directories resolve", depth);
		else
			ok(r < 0 && strstr(err.msg, "nested deeper than"),
			   "%zu nested are refused: %s", depth, err.msg);
		freedirs(c, m);
		pib_err_clear(&err);
	}

	char *j = msi_path_join("[SystemFolder]", "a.dll");
	ok(j && !strcmp(j, "[SystemFolder]a.dll"), "join after a folder property");
	free(j);
	j = msi_path_join("[ProgramFilesFolder]Acme", "a.dll");
	ok(j && !strcmp(j, "[ProgramFilesFolder]Acme/a.dll"), "join below a folder");
	free(j);
}

static const char *ca_words(int32_t type)
{
	static char buf[512];
	struct pib_buf b = {0};
	int r = msi_ca_describe(type, &b);
	snprintf(buf, sizeof(buf), "%s", r == 0 && b.data ? b.data : "ERR");
	pib_buf_free(&b);
	return buf;
}

static void test_words(void)
{
	ok(!strcmp(ca_words(3090),
		   "exe from an installed file, deferred, no impersonation (runs as LocalSystem)"),
	   "3090: %s", ca_words(3090));
	ok(!strcmp(ca_words(1 | 0x400 | 0x100), "dll from the Binary table, deferred, rollback"),
	   "rollback dll: %s", ca_words(1 | 0x400 | 0x100));
	ok(!strcmp(ca_words(6 | 0x20 | 0x400 | 0x200 | 0x800 | 0x40),
		   "vbscript in the action's Target, deferred, no impersonation, continue on "
		   "error, commit (runs as LocalSystem)"),
	   "commit vbscript: %s", ca_words(6 | 0x20 | 0x400 | 0x200 | 0x800 | 0x40));
	ok(!strcmp(ca_words(51), "property"), "51: property set");
	ok(!strcmp(ca_words(35), "directory"), "35: directory set");
	ok(!strcmp(ca_words(19), "error"), "19: error");
	ok(!strcmp(ca_words(34 | 0x80), "exe with a working directory, async"), "34 async: %s",
	   ca_words(34 | 0x80));
	ok(!strcmp(ca_words(50 | 0x100), "exe from a property, first sequence only"),
	   "50 first sequence: %s", ca_words(50 | 0x100));
	ok(!strcmp(ca_words(2 | 0x2000), "exe from the Binary table, hidden target"),
	   "hidden target");
	ok(msi_ca_runs_code(1) && msi_ca_runs_code(18) && msi_ca_runs_code(37) &&
	       msi_ca_runs_code(54) && !msi_ca_runs_code(51) && !msi_ca_runs_code(35) &&
	       !msi_ca_runs_code(19) && !msi_ca_runs_code(7),
	   "runs code: dll, exe, scripts; not property, directory, error, nested install");
	ok(msi_ca_runs_as_system(0xc00) && !msi_ca_runs_as_system(0x400) &&
	       !msi_ca_runs_as_system(0x800),
	   "LocalSystem: deferred and no impersonation, both");

	ok(!strcmp(msi_service_start_word(2), "auto") &&
	       !strcmp(msi_service_start_word(3), "demand") &&
	       !strcmp(msi_service_start_word(4), "disabled") &&
	       !strcmp(msi_service_start_word(0), "boot") &&
	       !strcmp(msi_service_start_word(1), "system") &&
	       !strcmp(msi_service_start_word(9), "unknown") &&
	       !strcmp(msi_service_start_word(MSI_NULL_INT), "unknown"),
	   "service start words");
	ok(!strcmp(msi_service_account(NULL), "LocalSystem") &&
	       !strcmp(msi_service_account(""), "LocalSystem") &&
	       !strcmp(msi_service_account("localsystem"), "LocalSystem") &&
	       !strcmp(msi_service_account(".\\LocalSystem"), "LocalSystem") &&
	       !strcmp(msi_service_account("NT AUTHORITY\\LocalService"),
		       "NT AUTHORITY\\LocalService"),
	   "service accounts");
}

static void test_policy_words(void)
{
	ok(policy_msi_path_inside("[ProgramFiles64Folder]Acme/bin/a.exe"),
	   "inside: Program Files\\Acme\\bin");
	ok(policy_msi_path_inside("[ProgramFilesFolder]Acme/a.exe"),
	   "inside: Program Files (x86)\\Acme");
	ok(policy_msi_path_inside("[CommonFilesFolder]Acme/a.dll"), "inside: Common Files\\Acme");
	ok(policy_msi_path_inside("[CommonAppDataFolder]Acme/a.conf"), "inside: ProgramData\\Acme");
	ok(!policy_msi_path_inside("[ProgramFiles64Folder]a.exe"),
	   "outside: directly in Program Files");
	ok(!policy_msi_path_inside("[SystemFolder]a.dll"), "outside: System32");
	ok(!policy_msi_path_inside("[System64Folder]drivers/a.sys"), "outside: System64");
	ok(!policy_msi_path_inside("[WindowsFolder]a.exe"), "outside: Windows");
	ok(!policy_msi_path_inside("[StartupFolder]a.lnk"), "outside: Startup");
	ok(!policy_msi_path_inside("[TARGETDIR]a.exe"), "outside: a drive's root");
	ok(!policy_msi_path_inside("[TARGETDIR]Acme/a.exe"), "outside: a folder at a drive's root");
	ok(!policy_msi_path_inside("[ProgramFiles64FolderX]Acme/a.exe"),
	   "outside: a look-alike property");

	const char *run = "Software\\Microsoft\\Windows\\CurrentVersion\\Run";
	ok(policy_msi_is_run_key(2, run) && policy_msi_is_run_key(1, run) &&
	       policy_msi_is_run_key(-1, run),
	   "Run under HKLM, HKCU and the ALLUSERS root");
	ok(!policy_msi_is_run_key(0, run), "not under HKCR");
	ok(policy_msi_is_run_key(2, "SOFTWARE\\microsoft\\windows\\currentversion\\runonce"),
	   "RunOnce, any case");
	ok(policy_msi_is_run_key(2,
				 "Software\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run"),
	   "Wow6432Node");
	ok(policy_msi_is_run_key(2,
				 "Software\\Microsoft\\Windows\\CurrentVersion\\RunOnceEx\\0001"),
	   "RunOnceEx's subkeys");
	ok(policy_msi_is_run_key(
	       2, "Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run"),
	   "Policies\\Explorer\\Run");
	ok(policy_msi_is_run_key(3,
				 "S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
	   "HKU\\SID\\...\\Run");
	ok(policy_msi_is_run_key(2, "\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\"),
	   "leading and trailing backslash");
	ok(!policy_msi_is_run_key(2, "Software\\Microsoft\\Windows\\CurrentVersion\\Runner"),
	   "not Runner");
	ok(!policy_msi_is_run_key(2, "Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Sub"),
	   "not a subkey of Run");
	ok(!policy_msi_is_run_key(2, "Software\\Acme\\Run"), "not another vendor's Run");
}

int main(void)
{
	test_defaultdir();
	test_resolve();
	test_words();
	test_policy_words();
	return tap_done();
}
