/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of what the msi installer reads of msiexec: the real result from Wine's 8-bit exit
 * status (3010 from 194, 1618 from 82, 1627 from 91, 1603 from 67; 87 shared with 1623), and
 * the verbose log: a Windows one (UTF-16LE with a BOM, "MainEngineThread is returning N",
 * "Return value 3"), a Wine one (ASCII, "Return value 0" for the failed action), a success, and
 * the excerpt around the failure without the property dump.
 */
#include "msi.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int code(int status)
{
	struct pib_buf alts = {0};
	int c = msi_code_from_status(status, &alts);
	pib_buf_free(&alts);
	return c;
}

static void test_codes(void)
{
	ok(code(0) == 0, "0 is ERROR_SUCCESS");
	ok(code(194) == 3010, "194 is 3010 (reboot required)");
	ok(code(105) == 1641, "105 is 1641 (reboot initiated)");
	ok(code(82) == 1618, "82 is 1618 (another install running)");
	ok(code(91) == 1627, "91 is 1627");
	ok(code(67) == 1603, "67 is 1603 (fatal error)");
	ok(code(200) == -1, "200 is no documented result");
	struct pib_buf alts = {0};
	ok(msi_code_from_status(87, &alts) == -2 && alts.data &&
	       strstr(alts.data, "87 (ERROR_INVALID_PARAMETER)") &&
	       strstr(alts.data, "1623 (ERROR_INSTALL_LANGUAGE_UNSUPPORTED)"),
	   "87 is ambiguous: 87 or 1623, both named");
	pib_buf_free(&alts);
	ok(!strcmp(msi_code_name(3010), "ERROR_SUCCESS_REBOOT_REQUIRED"), "3010's name");
}

/* Writes text to a temporary file, as UTF-16LE with a BOM when wide; returns its path. */
static char *write_log(const char *text, bool wide)
{
	char *path = strdup("/tmp/test-msi-log.XXXXXX");
	int fd = mkstemp(path);
	if (wide && write(fd, "\xff\xfe", 2) != 2)
		abort();
	for (const char *s = text; *s; s++) {
		char w[2] = {*s, 0};
		if (write(fd, w, wide ? 2 : 1) != (wide ? 2 : 1))
			abort();
	}
	close(fd);
	return path;
}

static void test_windows_log(void)
{
	const char *text =
	    "=== Verbose logging started: 12/2/2026  10:00:00 ===\r\n"
	    "Action start 10:00:01: InstallFiles.\r\n"
	    "Property(S): SECRET = do not show\r\n"
	    "CustomAction AcmeSetup returned actual error code 1 (note this may not be 100% "
	    "accurate)\r\n"
	    "Action ended 10:00:02: AcmeSetup. Return value 3.\r\n"
	    "Action ended 10:00:02: INSTALL. Return value 3.\r\n"
	    "MSI (s) (7C:50) [10:00:02:123]: Product: Acme -- Installation failed.\r\n"
	    "MSI (s) (7C:50) [10:00:02:124]: MainEngineThread is returning 1603\r\n";
	char *p = write_log(text, true);
	struct msi_log l;
	ok(msi_log_read(p, &l) == 0, "a UTF-16LE log is read");
	ok(l.engine == 1603, "Windows: the result from MainEngineThread (1603)");
	ok(l.install_rv == 3 && l.said_failed && !l.said_ok,
	   "Windows: INSTALL ended with 3, installation failed");
	ok(l.fail_action && !strcmp(l.fail_action, "AcmeSetup"),
	   "Windows: the failed action is named");
	char *ex = msi_log_excerpt(&l);
	ok(ex && strstr(ex, "returned actual error code 1") &&
	       strstr(ex, "AcmeSetup. Return value 3."),
	   "the excerpt holds the lines around the failure");
	ok(ex && !strstr(ex, "do not show"), "the excerpt leaves the property dump out");
	free(ex);
	msi_log_free(&l);
	unlink(p);
	free(p);
}

static void test_wine_logs(void)
{
	const char *failed = "Action start 2:09:07: InstallFiles.\n"
			     "Action ended 2:09:07: InstallFiles. Return value 1.\n"
			     "Action start 2:09:07: AcmeFail.\n"
			     "Action ended 2:09:07: AcmeFail. Return value 0.\n"
			     "Action ended 2:09:07: INSTALL. Return value 0.\n";
	char *p = write_log(failed, false);
	struct msi_log l;
	ok(msi_log_read(p, &l) == 0, "an ASCII log is read");
	ok(l.engine == -1, "Wine: no MainEngineThread line");
	ok(l.install_rv == 0, "Wine: INSTALL ended with 0 (failed)");
	ok(l.fail_action && !strcmp(l.fail_action, "AcmeFail") && l.fail_line == 4,
	   "Wine: the failed action and its line");
	msi_log_free(&l);
	unlink(p);
	free(p);

	const char *good = "Action ended 2:09:07: InstallFinalize. Return value 1.\n"
			   "Action ended 2:09:07: INSTALL. Return value 1.\n";
	p = write_log(good, false);
	ok(msi_log_read(p, &l) == 0 && l.install_rv == 1 && !l.fail_action && !l.said_failed,
	   "Wine: a success, no failed action");
	msi_log_free(&l);
	unlink(p);
	free(p);
	ok(msi_log_read("/nonexistent/msi.log", &l) < 0, "a missing log is an error");
}

int main(void)
{
	test_codes();
	test_windows_log();
	test_wine_logs();
	return tap_done();
}
