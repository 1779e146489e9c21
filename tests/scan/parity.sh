#!/bin/bash
# SPDX-License-Identifier: MIT
# Verdict parity with clamscan on ClamAV's own test files (clamav-testfiles) and a few files of
# our own: `pib-agent scan DIR` reports as detections exactly the paths and signature names
# that `clamscan -r -d DB DIR` prints as FOUND; hits inside archives name the inner path in
# `member`; with tighter limits, every file clamscan passes over for a limit is in scan.skipped.
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup
need clamscan sigtool zip tar
[ -d "$TESTFILES" ] || bail_out "$TESTFILES is missing (apt-get install clamav-testfiles)"

DB=$T/db
make_db "$DB"

# clamscan_found ARGS...: "path|signature" of each FOUND line, sorted and unique.
clamscan_found() {
	clamscan --no-summary -r -d "$DB" "$@" 2>/dev/null | sed -n 's/^\(.*\): \(.*\) FOUND$/\1|\2/p' | sort -u
}
# ours: "path|signature" of each detection, sorted and unique.
ours() {
	detections | awk -F'|' 'NF { print $1 "|" $4 }' | sort -u
}

# ---------------------------------------------------------------- ClamAV's test files
scan_run "$TESTFILES" --db "$DB"
is "scan $TESTFILES: exit 1 (detections)" "$RC" 1
report_exists
is "status findings" "$(rep status)" findings
is "error code scan.malware_found" "$(rep error.code)" scan.malware_found
want=$(clamscan_found "$TESTFILES")
got=$(ours)
n=$(grep -c . <<<"$want")
[ "$n" -ge 40 ] && ok "clamscan finds $n test files" || fail "clamscan finds the test files" "$want"
is "the same paths and signatures as clamscan -r" "$got" "$want"
is "the same as clamscan -r --allmatch too" "$got" "$(clamscan_found --allmatch "$TESTFILES")"
is "every detection is of kind signature, phase scan" \
	"$(detections | awk -F'|' '{ print $5 "|" $6 }' | sort -u)" "scan|signature"
is "clam.zip: the inner path in member" "$(detections | grep "^$TESTFILES/clam.zip|" | cut -d'|' -f2)" clam.exe
is "clam.tar.gz: the inner path in member (the gzip layer has no name)" \
	"$(detections | grep "^$TESTFILES/clam.tar.gz|" | cut -d'|' -f2)" clam.exe
is "clam.exe itself: no member" "$(detections | grep "^$TESTFILES/clam.exe|" | cut -d'|' -f2)" ""
is "files_scanned counts every test file" "$(rep scan.files_scanned)" "$(find "$TESTFILES" -type f | wc -l)"
is "database: 2 signatures" "$(rep scan.database.signatures)" 2
is "database: time from the files' mtime (plain files carry no header)" "$(rep scan.database.time_source)" mtime
is "database files listed" "$(rep scan.database.files.name | sort | tr '\n' ' ')" "eicar.ndb test.hdb "
is "engine: clamav $(clamscan --version | cut -d/ -f1 | awk '{print $2}')" \
	"clamav $(rep scan.engine.version)" "clamav $(clamscan --version | cut -d/ -f1 | awk '{print $2}')"

# ---------------------------------------------------------------- our own files
D=$T/files
mkdir -p "$D/sub/deeper" "$D/tree/dir"
eicar >"$D/eicar.com"
eicar >"$D/tree/dir/eicar.txt"
echo "nothing to see" >"$D/clean.txt"
cp "$TESTFILES/clam.exe" "$D/sub/deeper/clam.exe"
(cd "$D/tree" && tar -czf "$D/nested.tar.gz" dir)
(cd "$D/sub" && zip -qr "$D/sub/inner.zip" deeper)
(cd "$D/sub" && tar -cf "$D/outer.tar" inner.zip)
ln -s "$D/eicar.com" "$D/link-to-eicar"
mkfifo "$D/fifo"
scan_run "$D" --db "$DB"
is "scan DIR of our files: exit 1" "$RC" 1
is "our files: the same paths and signatures as clamscan -r" "$(ours)" "$(clamscan_found "$D")"
has_line "a tar.gz member: its path inside" "$(detections)" "$D/nested.tar.gz|dir/eicar.txt||$EICAR_SIG|scan|signature"
# (libclamav names a zip member by its base name)
has_line "a zip inside a tar: both layers, '!' between" "$(detections)" \
	"$D/outer.tar|inner.zip!clam.exe||$CLAM_SIG|scan|signature"
is "a member's hit is not repeated on its container (the tar holds the same bytes)" \
	"$(detections | grep -c "^$D/nested.tar.gz|")" 1
check_not "a symlink inside the directory is not followed" grep -q "^$D/link-to-eicar|" <<<"$(detections)"
check_not "the fifo is not opened" grep -q "fifo" <<<"$(detections; skipped)"
check_not "the clean file is no detection" grep -q "clean.txt" <<<"$(detections)"

# a symlink given on the command line is followed, like clamscan
scan_run "$D/link-to-eicar" --db "$DB"
is "a symlink given as the path: followed, exit 1" "$RC" 1
has_line "named as given" "$(detections)" "$D/link-to-eicar|||$EICAR_SIG|scan|signature"

# the same verdicts whatever the number of threads
scan_run "$TESTFILES" "$D" --db "$DB" --jobs 1
one=$(detections)
scan_run "$TESTFILES" "$D" --db "$DB" --jobs 4
is "--jobs 1 and --jobs 4: the same detections" "$(detections)" "$one"
is "--jobs 4 is recorded" "$(rep scan.engine.jobs)" 4

# ---------------------------------------------------------------- limits: never silent
LIM=(--max-filesize=100K --max-recursion=3)
scan_run "$TESTFILES" --db "$DB" --max-filesize 100K --max-recursion 3
is "tight limits: exit 1" "$RC" 1
is "tight limits: the same detections as clamscan with the same limits" "$(ours)" \
	"$(clamscan_found "${LIM[@]}" "$TESTFILES")"
passed_over=$(clamscan_found "${LIM[@]}" --alert-exceeds-max "$TESTFILES" | grep '|Heuristics\.Limits\.Exceeded\.' | cut -d'|' -f1)
[ -n "$passed_over" ] && ok "clamscan passes over $(grep -c . <<<"$passed_over") files for a limit" ||
	fail "clamscan passes over files for a limit"
sk=$(skipped | cut -d'|' -f1 | sort -u)
missing=$(comm -23 <(sort -u <<<"$passed_over") <(cat <<<"$sk"))
is "every file clamscan passes over for a limit is in scan.skipped" "$missing" ""
check_not "no limit alert is a detection" grep -q 'Heuristics.Limits' <<<"$(detections)"
has_line "a file over --max-filesize: code limit.max_filesize" "$(skipped)" "$TESTFILES/clam_ISmsi_ext.exe||limit.max_filesize"
has_line "clam_cache_emax.tgz: code limit.max_recursion" "$(skipped)" "$TESTFILES/clam_cache_emax.tgz||limit.max_recursion"
is "the limits in force are in the report" "$(rep scan.engine.limits.max_filesize) $(rep scan.engine.limits.max_recursion)" \
	"102400 3"
check_not "a file wholly over the limit is not counted as scanned" \
	test "$(rep scan.files_scanned)" = "$(find "$TESTFILES" -type f | wc -l)"

done_testing
