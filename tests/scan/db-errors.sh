#!/bin/bash
# SPDX-License-Identifier: MIT
# A signature database that cannot be used is an environment error (exit 4,
# scan.db_unusable) with a message that says why, never "clean": a missing, empty or corrupt
# directory, one with no signatures; for `scan` and for validate (which then installs nothing).
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup

eicar >"$T/eicar.com"
mkdir -p "$T/empty" "$T/corrupt" "$T/nosigs" "$T/junk" "$T/badcvd"
echo "this is not a signature" >"$T/corrupt/broken.hdb"
printf '# a comment only\n' >"$T/nosigs/none.ndb"
echo "just a note" >"$T/junk/README"
head -c 600 /dev/urandom >"$T/badcvd/daily.cvd"

# check_db LABEL DIR WANT: `scan` exits 4 with scan.db_unusable and WANT in the message.
check_db() {
	scan_run "$T/eicar.com" --db "$2"
	is "$1: exit 4" "$RC" 4
	report_exists "$1"
	is "$1: error code scan.db_unusable" "$(rep error.code)" scan.db_unusable
	is "$1: status failed" "$(rep status)" failed
	contains "$1: the message names the database" "$(rep error.message)" "$2"
	contains "$1: the message says why" "$(rep error.message)" "$3"
	contains "$1: stderr says it too" "$(agent_stderr)" "$3"
	check_not "$1: nothing is reported as scanned" grep -q eicar <<<"$(detections)"
}
check_db "a missing directory" "$T/missing" "No such file or directory"
check_db "an empty directory" "$T/empty" "holds no database files"
check_db "a directory without database files" "$T/junk" "holds no database files"
check_db "a corrupt .hdb" "$T/corrupt" "Malformed database"
check_db "no signatures" "$T/nosigs" "no signatures"
check_db "a corrupt daily.cvd" "$T/badcvd" "libclamav"

# the default is /var/lib/clamav, empty on these machines unless freshclam ran
if ! find /var/lib/clamav -maxdepth 1 -type f -regex '.*\.\(cvd\|cld\|hdb\|ndb\)' 2>/dev/null | grep -q .; then
	scan_run "$T/eicar.com"
	is "the default /var/lib/clamav (empty): exit 4" "$RC" 4
	contains "the default /var/lib/clamav is named" "$(rep error.message)" /var/lib/clamav
fi

# validate: prescan fails, nothing is installed
R=$T/root
copy_root "$R"
snap "$R" >"$T/before.snap"
mkbundle "$T/b.tar.gz" --deb "$DEB_HELLO"
validate "$T/b.tar.gz" --root "$R" --db "$T/empty"
is "validate with an empty database: exit 4" "$RC" 4
is "validate: prescan failed with scan.db_unusable" "$(rep 'steps[name=prescan].error.code')" scan.db_unusable
is "validate: steps stop at prescan" "$(rep steps.name | tr '\n' ' ')" "open verify prescan report "
snap "$R" >"$T/after.snap"
same_tree "validate: the root is unchanged" "$T/before.snap" "$T/after.snap"

# --no-scan needs no database and says so
PIB_TEST_NO_SCAN=1 validate "$T/b.tar.gz" --root "$R" --db "$T/empty" --no-scan
is "--no-scan with an empty database: exit 0" "$RC" 0
is "--no-scan: status incomplete" "$(rep status)" incomplete
is "--no-scan: prescan skipped by request" "$(rep 'steps[name=prescan].reason')" "skipped by request (--no-scan)"
is "--no-scan: scan section null" "$(rep scan)" null

done_testing
