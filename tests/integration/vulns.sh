#!/bin/bash
# SPDX-License-Identifier: MIT
# Offline vulnerabilities (issue 14): the jq bundle into copies of the gold root with small
# OSV feeds written here. A record of libonig5's source (libonig) fixed above the fixture's
# version is a bundle hit (findings, exit 1); one fixed below it is no hit; one of the gold
# image's dpkg is an image hit (status unchanged); a malformed record stops the run before
# anything is installed (exit 3, file and JSON pointer named); an old feed, or one of another
# release only, is said plainly and makes the run incomplete; no feed: vulnerabilities null.
# osv.dev's all.zip is read as it is downloaded, with the same hits as the unpacked folder; the
# feed's index (vulns-index) gives the same report; the rpm path with Red Hat's records.
. "$(dirname "$0")/lib.sh"
setup

B=$T/jq.tar.gz
mkbundle "$B" --deb "$DEB_JQ" --deb "$DEB_LIBJQ1" --deb "$DEB_LIBONIG5"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
OLD=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)
ONIG_VER=$(dpkg-deb -f "$DEB_LIBONIG5" Version) # 6.9.8-1
DPKG_VER=$(dpkg-query --admindir="$PIB_GOLD_ROOT/var/lib/dpkg" -W -f '${Version}' dpkg 2>/dev/null || true)
[ -n "$DPKG_VER" ] || { gold_root; DPKG_VER=$(dpkg-query --admindir="$PIB_GOLD_ROOT/var/lib/dpkg" -W -f '${Version}' dpkg); }

# record ID ECOSYSTEM NAME FIXED URGENCY MODIFIED: one OSV record as Debian's feed writes them
record() {
	cat <<JSON
{"schema_version": "1.6.0", "id": "$1", "modified": "$6", "published": "2026-01-01T00:00:00Z",
 "aliases": ["CVE-${1##*-}"], "summary": "test record $1",
 "affected": [{"package": {"ecosystem": "$2", "name": "$3", "purl": "pkg:deb/debian/$3?arch=source"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "$4"}]}],
   "ecosystem_specific": {"urgency": "$5"}}]}
JSON
}

F=$T/feed
mkdir -p "$F"
record DSA-9001-1 Debian:12 libonig "$ONIG_VER+deb12u1" high "$NOW" >"$F/DSA-9001-1.json"
record DEBIAN-CVE-2026-9002 Debian:12 libonig "6.9.8~rc1-1" high "$NOW" >"$F/DEBIAN-CVE-2026-9002.json"
record DEBIAN-CVE-2026-9003 Debian:12 dpkg "1:$DPKG_VER" high "$NOW" >"$F/DEBIAN-CVE-2026-9003.json"
record DEBIAN-CVE-2026-9004 Debian:11 libonig "9.9-1" high "$NOW" >"$F/DEBIAN-CVE-2026-9004.json"
echo "not a record: ignored, only *.json is read" >"$F/README"

# --- 1. a malformed record: exit 3 before anything is installed, the file and field named
R1=$T/root1
copy_root "$R1"
BAD=$T/bad
mkdir -p "$BAD"
cp "$F/DSA-9001-1.json" "$BAD/"
cat >"$BAD/zz-broken.json" <<JSON
{"id": "DSA-9999-1", "modified": "$NOW", "affected": [{"package": {"ecosystem": "Debian:12", "name": "libonig"},
  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": 6}]}]}]}
JSON
validate "$B" --root "$R1" --no-scan --vulns "$BAD"
is "malformed record: exit 3 (bad input)" "$RC" 3
facts status error.code error.message 'steps.name'
is "malformed record: status failed" "$(fact status)" failed
is "malformed record: vulns.invalid" "$(fact error.code)" vulns.invalid
contains "malformed record: the message names the file" "$(fact error.message)" "$BAD/zz-broken.json"
contains "malformed record: the message names the field by its JSON pointer" "$(fact error.message)" \
	"/affected/0/ranges/0/events/1/fixed: expected a string, got a number"
check_not "malformed record: no install step" grep -qx install <<<"$(fact steps.name)"
is "malformed record: libonig5 is not installed" "$(dpkg_status "$R1" libonig5)" ""

# --- 2. the feed: a bundle hit at high (findings), a fix below (no hit), an image hit
validate "$B" --root "$R1" --no-scan --vulns "$F"
is "bundle hit: exit 1 (findings)" "$RC" 1
facts status error.code error.message 'steps[name=vulns].status' 'vulnerabilities.id' \
	'vulnerabilities[id=DSA-9001-1].origin' 'vulnerabilities[id=DSA-9001-1].package' \
	'vulnerabilities[id=DSA-9001-1].source' 'vulnerabilities[id=DSA-9001-1].installed' \
	'vulnerabilities[id=DSA-9001-1].fixed' 'vulnerabilities[id=DSA-9001-1].severity' \
	'vulnerabilities[id=DSA-9001-1].status' 'vulnerabilities[id=DSA-9001-1].aliases' \
	'vulnerabilities[id=DEBIAN-CVE-2026-9003].origin' 'vulnerabilities[id=DEBIAN-CVE-2026-9003].status' \
	'vulnerabilities[id=DEBIAN-CVE-2026-9003].package' 'steps[name=vulns].feed.records' \
	'steps[name=vulns].feed.records_for_image' 'steps[name=vulns].ecosystem' 'steps[name=vulns].fail_on'
is "bundle hit: status findings" "$(fact status)" findings
is "bundle hit: error vulns.found" "$(fact error.code)" vulns.found
contains "bundle hit: the message names the record and the package" "$(fact error.message)" "DSA-9001-1 in libonig5 $ONIG_VER"
is "bundle hit: the vulns step failed with it" "$(fact 'steps[name=vulns].status')" failed
is "bundle hit: origin bundle" "$(fact 'vulnerabilities[id=DSA-9001-1].origin')" bundle
is "bundle hit: the binary package libonig5" "$(fact 'vulnerabilities[id=DSA-9001-1].package')" libonig5
is "bundle hit: through its source libonig" "$(fact 'vulnerabilities[id=DSA-9001-1].source')" libonig
is "bundle hit: installed version" "$(fact 'vulnerabilities[id=DSA-9001-1].installed')" "$ONIG_VER"
is "bundle hit: fixed version" "$(fact 'vulnerabilities[id=DSA-9001-1].fixed')" "$ONIG_VER+deb12u1"
is "bundle hit: severity from Debian's urgency" "$(fact 'vulnerabilities[id=DSA-9001-1].severity')" high
is "bundle hit: a violation" "$(fact 'vulnerabilities[id=DSA-9001-1].status')" violation
is "bundle hit: the CVE alias" "$(fact 'vulnerabilities[id=DSA-9001-1].aliases')" CVE-1
check_not "fixed below the fixture's version: no hit" grep -qx DEBIAN-CVE-2026-9002 <<<"$(fact vulnerabilities.id)"
check_not "another release's record (Debian:11): no hit" grep -qx DEBIAN-CVE-2026-9004 <<<"$(fact vulnerabilities.id)"
is "image hit: dpkg" "$(fact 'vulnerabilities[id=DEBIAN-CVE-2026-9003].package')" dpkg
is "image hit: origin image" "$(fact 'vulnerabilities[id=DEBIAN-CVE-2026-9003].origin')" image
is "image hit: reported, not a violation" "$(fact 'vulnerabilities[id=DEBIAN-CVE-2026-9003].status')" reported
is "the step: 4 records read" "$(fact 'steps[name=vulns].feed.records')" 4
is "the step: 3 of Debian:12" "$(fact 'steps[name=vulns].feed.records_for_image')" 3
is "the step: the image's ecosystem" "$(fact 'steps[name=vulns].ecosystem')" Debian:12
is "the step: the threshold" "$(fact 'steps[name=vulns].fail_on')" high
"$PIB_AGENT" show "$REPORT" >"$T/show.txt" 2>&1
grep -E 'violation +high +bundle DSA-9001-1 libonig5' "$T/show.txt" >/dev/null
check "show: the bundle's vulnerability in its own section" test $? = 0 -a -n "$(grep '^Vulnerabilities' "$T/show.txt")"
contains "show: the fixed version" "$(grep DSA-9001-1 "$T/show.txt")" "fixed in $ONIG_VER+deb12u1"
is "show: one line a vulnerability (two)" "$(grep -cE '^  (violation|reported) ' "$T/show.txt")" 2
contains "show: the feed it was matched against, with its newest record" "$(grep -E '^feed ' "$T/show.txt")" \
	"$F: 4 records (3 for the image), newest $NOW"
"$PIB_AGENT" show "$REPORT" --html "$T/show.html" >/dev/null 2>&1
check "show --html: a vulnerabilities section with the record" grep -q 'id="vulnerabilities".*DSA-9001-1' "$T/show.html"
is "libonig5 was installed" "$(dpkg_status "$R1" libonig5)" "install ok installed"

# --- 3. the audit command on the root alone: every package is the image's
agent_run vulns --root "$R1" --vulns "$F"
is "audit: exit 1 (hits at or above high)" "$RC" 1
facts status 'vulnerabilities.id' 'vulnerabilities[id=DSA-9001-1].origin'
is "audit: findings" "$(fact status)" findings
is "audit: libonig5 now the image's" "$(fact 'vulnerabilities[id=DSA-9001-1].origin')" image
agent_run vulns --root "$R1" --vulns "$F" --vulns-fail-on critical
is "audit: nothing at or above critical: exit 0" "$RC" 0

# --- 4. only an image hit: the status is unchanged (succeeded, exit 0)
R2=$T/root2
copy_root "$R2"
F2=$T/feed2
mkdir -p "$F2"
cp "$F/DEBIAN-CVE-2026-9002.json" "$F/DEBIAN-CVE-2026-9003.json" "$F2/"
validate "$B" --root "$R2" --no-scan --vulns "$F2"
is "image hit only: exit 0" "$RC" 0
facts status 'vulnerabilities.id' 'vulnerabilities[id=DEBIAN-CVE-2026-9003].origin' 'steps[name=vulns].status' \
	'steps[name=vulns].feed.usable'
is "image hit only: succeeded" "$(fact status)" succeeded
is "image hit only: the dpkg record, origin image" "$(fact vulnerabilities.id)/$(fact 'vulnerabilities[id=DEBIAN-CVE-2026-9003].origin')" \
	DEBIAN-CVE-2026-9003/image
is "image hit only: the step ok" "$(fact 'steps[name=vulns].status')" ok
is "image hit only: the feed usable" "$(fact 'steps[name=vulns].feed.usable')" true

# --- 5. an old feed: said plainly, the run incomplete (never a silent "no vulnerabilities")
OLDF=$T/old.json
{ echo "["; record DEBIAN-CVE-2026-9002 Debian:12 libonig "6.9.8~rc1-1" low "$OLD"; echo "]"; } >"$OLDF"
agent_run vulns --root "$R2" --vulns "$OLDF"
is "old feed: exit 0" "$RC" 0
facts status 'steps[name=vulns].incomplete' 'steps[name=vulns].feed.usable' vulnerabilities
is "old feed: incomplete" "$(fact status)" incomplete
contains "old feed: said in the step" "$(fact 'steps[name=vulns].incomplete')" "older than 7 days"
is "old feed: not usable" "$(fact 'steps[name=vulns].feed.usable')" false
contains "old feed: said on stderr" "$(cat "$T/agent.err")" "days old"
agent_run vulns --root "$R2" --vulns "$OLDF" --vulns-max-age 60
is "old feed within --vulns-max-age 60: succeeded" "$(rep status)" succeeded

# --- 6. a feed of another release only: said plainly, incomplete
agent_run vulns --root "$R2" --vulns "$F/DEBIAN-CVE-2026-9004.json"
facts status 'steps[name=vulns].incomplete' 'steps[name=vulns].feed.ecosystems'
is "another release's feed: incomplete" "$(fact status)" incomplete
contains "another release's feed: said" "$(fact 'steps[name=vulns].incomplete')" "no record for Debian:12"
is "another release's feed: the ecosystems it names" "$(fact 'steps[name=vulns].feed.ecosystems')" Debian:11

# --- 7. no feed: no vulns step, vulnerabilities null (not checked)
agent_run vulns --root "$R2"
is "vulns without --vulns: exit 3" "$RC" 3
R3=$T/root3
copy_root "$R3"
validate "$B" --root "$R3" --no-scan --dry-run
facts vulnerabilities 'steps.name'
is "validate without --vulns: vulnerabilities null" "$(fact vulnerabilities)" null
check_not "validate without --vulns: no vulns step" grep -qx vulns <<<"$(fact steps.name)"
agent_run validate "$B" --vulns-fail-on severe --vulns "$F"
is "--vulns-fail-on severe: exit 3" "$RC" 3

# --- 8. without an install (--dry-run): the transaction matched as it would be installed, the
# source of libonig5 read from the bundle's .deb
validate "$B" --root "$R3" --no-scan --dry-run --vulns "$F"
facts status 'vulnerabilities[id=DSA-9001-1].origin' 'vulnerabilities[id=DSA-9001-1].source' \
	'steps[name=vulns].transaction_not_installed'
is "dry run: exit 1" "$RC" 1
is "dry run: the bundle hit still found, origin bundle" "$(fact 'vulnerabilities[id=DSA-9001-1].origin')" bundle
is "dry run: libonig5's source read from the .deb" "$(fact 'vulnerabilities[id=DSA-9001-1].source')" libonig
is "dry run: findings (over incomplete)" "$(fact status)" findings
contains "dry run: said that nothing was installed" "$(fact 'steps[name=vulns].transaction_not_installed')" "would install"
is "dry run: libonig5 not installed" "$(dpkg_status "$R3" libonig5)" ""

# --- 9. osv.dev's own form, all.zip: the same hits as the folder; a zip that cannot be read and a
# malformed member are bad input naming the zip and the member. A folder of 200 files (read on
# several threads) with two broken ones: the first in name order is the one named.
ZIPF=$T/all.zip
(cd "$F" && python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for n in sys.argv[2:]: z.write(n)
z = zipfile.ZipFile(sys.argv[1], "a"); z.writestr("README.md", "not a record"); z.writestr("sub/.hidden.json", "{"); z.close()' \
	"$ZIPF" DSA-9001-1.json DEBIAN-CVE-2026-9002.json DEBIAN-CVE-2026-9003.json DEBIAN-CVE-2026-9004.json)
agent_run vulns --root "$R1" --vulns "$F"
sort <<<"$(rep vulnerabilities.id)" >"$T/dir.ids"
agent_run vulns --root "$R1" --vulns "$ZIPF"
is "all.zip: exit 1 (the same hit at high)" "$RC" 1
sort <<<"$(rep vulnerabilities.id)" >"$T/zip.ids"
check "all.zip: the same vulnerabilities as the folder" cmp -s "$T/dir.ids" "$T/zip.ids"
is "all.zip: 4 records in 4 members (README.md and a hidden file not read)" \
	"$(rep 'steps[name=vulns].feed.records')/$(rep 'steps[name=vulns].feed.files')" 4/4
head -c 300 "$ZIPF" >"$T/cut.zip"
agent_run vulns --root "$R1" --vulns "$T/cut.zip"
is "a cut zip: exit 3" "$RC" 3
is "a cut zip: vulns.invalid" "$(rep error.code)" vulns.invalid
contains "a cut zip: the zip named" "$(rep error.message)" "$T/cut.zip"
(cd "$BAD" && python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for n in sys.argv[2:]: z.write(n)' "$T/bad.zip" DSA-9001-1.json zz-broken.json)
agent_run vulns --root "$R1" --vulns "$T/bad.zip"
is "a malformed member: exit 3" "$RC" 3
contains "a malformed member: the zip and the member named, with the field" "$(rep error.message)" \
	"$T/bad.zip:zz-broken.json: /affected/0/ranges/0/events/1/fixed: expected a string"
MANY=$T/many
mkdir -p "$MANY"
for i in $(seq -w 1 200); do
	record "DEBIAN-CVE-2026-1$i" Debian:12 "pkg$i" "1.0-1" low "$NOW" >"$MANY/r$i.json"
done
echo '{"id": "X", "modified": "'"$NOW"'", "affected": 5}' >"$MANY/r150.json"
echo '{"id": "Y", "modified": "yesterday"}' >"$MANY/r077.json"
agent_run vulns --root "$R1" --vulns "$MANY"
is "200 files, two broken: exit 3" "$RC" 3
contains "200 files, two broken: the first in name order is named" "$(rep error.message)" "$MANY/r077.json: /modified"
rm "$MANY/r077.json" "$MANY/r150.json"
agent_run vulns --root "$R1" --vulns "$MANY" --vulns-fail-on critical
is "198 good files: all records read" "$(rep 'steps[name=vulns].feed.records')" 198

# --- 10. an index (pib-agent vulns-index): made once from the feed, read instead of it, with the
# same vulnerabilities, feed facts and status; what it was made from is said in the step. A feed
# that cannot be read makes no index (the same error); a cut, foreign or damaged index is bad
# input naming the field; an index is not indexed again.
vulns_json() { # the report's vulnerabilities[], whole, as one canonical JSON text
	"$PYTHON" -c 'import base64, json, sys
env = json.load(open(sys.argv[1]))
print(json.dumps(json.loads(base64.b64decode(env["payload"]))["predicate"]["vulnerabilities"], sort_keys=True))' "$REPORT"
}
IX=$T/feed.pibvx
"$PIB_AGENT" vulns-index --vulns "$F" --out "$IX" 2>"$T/ix.err"
is "vulns-index: exit 0" "$?" 0
is "vulns-index: the index begins with its magic" "$(head -c 8 "$IX")" PIBVULNX
contains "vulns-index: says what it kept" "$(cat "$T/ix.err")" "4 records in 4 files checked, 4 kept"
agent_run vulns --root "$R1" --vulns "$F"
vulns_json >"$T/dir.vulns"
FEED_FACTS="records files withdrawn records_for_image newest_modified ecosystems"
for k in $FEED_FACTS; do rep "steps[name=vulns].feed.$k"; done >"$T/dir.feed"
agent_run vulns --root "$R1" --vulns "$IX"
is "index: exit 1 (the same hit at high)" "$RC" 1
vulns_json >"$T/ix.vulns"
check "index: vulnerabilities[] the same as the folder's, field by field" cmp -s "$T/dir.vulns" "$T/ix.vulns"
check "index: has the bundle's hit" grep -q DSA-9001-1 "$T/ix.vulns"
for k in $FEED_FACTS; do rep "steps[name=vulns].feed.$k"; done >"$T/ix.feed"
check "index: the feed's facts the same (records, files, withdrawn, for the image, newest, ecosystems)" \
	cmp -s "$T/dir.feed" "$T/ix.feed"
is "index: the step says what it was made from" "$(rep 'steps[name=vulns].feed.index.made_from')" "$F"
check "index: and when" grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' <<<"$(rep 'steps[name=vulns].feed.index.made')"
R3=$T/root3
copy_root "$R3"
validate "$B" --root "$R3" --no-scan --vulns "$IX"
is "index in validate: exit 1 (the bundle's hit, after the install)" "$RC" 1
is "index in validate: vulns.found" "$(rep error.code)" vulns.found
is "index in validate: libonig5 installed" "$(dpkg_status "$R3" libonig5)" "install ok installed"
"$PIB_AGENT" vulns-index --vulns "$OLDF" --out "$T/old.pibvx" 2>/dev/null
agent_run vulns --root "$R2" --vulns "$T/old.pibvx"
check "an old feed's index: incomplete, said plainly" grep -q "days old" <<<"$(rep 'steps[name=vulns].incomplete')"
rm -f "$T/bad.pibvx"
"$PIB_AGENT" vulns-index --vulns "$BAD" --out "$T/bad.pibvx" 2>"$T/ix.err"
is "vulns-index of a malformed feed: exit 3" "$?" 3
contains "vulns-index of a malformed feed: the file and field named" "$(cat "$T/ix.err")" \
	"$BAD/zz-broken.json: /affected/0/ranges/0/events/1/fixed: expected a string"
check_not "vulns-index of a malformed feed: no index written" test -e "$T/bad.pibvx"
"$PIB_AGENT" vulns-index --vulns "$IX" --out "$T/again.pibvx" 2>"$T/ix.err"
is "an index indexed again: exit 3" "$?" 3
contains "an index indexed again: refused" "$(cat "$T/ix.err")" "already an index"
"$PIB_AGENT" vulns-index --vulns "$F" 2>"$T/ix.err"
is "vulns-index without --out: exit 3" "$?" 3
head -c $(($(stat -c %s "$IX") - 16)) "$IX" >"$T/cut.pibvx"
agent_run vulns --root "$R1" --vulns "$T/cut.pibvx"
is "a cut index: exit 3" "$RC" 3
is "a cut index: vulns.invalid" "$(rep error.code)" vulns.invalid
contains "a cut index: the index and the field named" "$(rep error.message)" "$T/cut.pibvx: not a usable index"
contains "a cut index: the size field" "$(rep error.message)" "header.file_size"
# damaged: the affected entries' record numbers pointed past the records (offsets read from the header)
"$PYTHON" - "$IX" "$T/damaged.pibvx" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n_recs, n_affs = struct.unpack_from("<II", b, 84)
off_affs = struct.unpack_from("<Q", b, 128)[0]
for i in range(n_affs):
    struct.pack_into("<I", b, off_affs + 48 * i, n_recs + 7)
open(sys.argv[2], "wb").write(b)
PY
agent_run vulns --root "$R1" --vulns "$T/damaged.pibvx"
is "a damaged index: exit 3" "$RC" 3
contains "a damaged index: the entry and field named" "$(rep error.message)" "affs[0]: its record is out of bounds"

# --- 11. the rpm path: the hello rpm into the rpm test root (RHEL 9.4: Red Hat:enterprise_linux:9)
# with rpm-ecosystem records as Red Hat's are written (binary names, severity words): a fix in a
# longer release (2.0-1.el9 > 2.0-1, rpm's release ordering) is a bundle hit, a fix with an epoch
# (1:1.0-1 > 2.0-1) in another stream (...:9::appstream) too, a fix below (1.9-9) and another
# ecosystem's record (AlmaLinux:9) are not; one for the image's own package is an image hit.
if command -v rpm >/dev/null && command -v rpmbuild >/dev/null && [ -f "$RPMS/hello-2.0-1.x86_64.rpm" ]; then
	"$TOOLS_DIR/make-rpm-root.sh" "$T/rpmroot" >"$T/mkroot.log" 2>&1 || bail_out "make-rpm-root.sh: $(tail -n 3 "$T/mkroot.log")"
	mk_rpm_bundle "$T/rpm.tar.gz" "$RPMS/hello-2.0-1.x86_64.rpm"
	# rpm_record ID ECOSYSTEM NAME FIXED SEVERITY: a record as Red Hat's feed writes them
	rpm_record() {
		cat <<JSON
{"id": "$1", "modified": "$NOW", "aliases": ["CVE-2026-${1##*:}"], "summary": "test $1",
 "affected": [{"package": {"ecosystem": "$2", "name": "$3"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "$4"}]}]}],
 "database_specific": {"severity": "$5"}}
JSON
	}
	RF=$T/rpmfeed
	mkdir -p "$RF"
	rpm_record RHSA-2026:0001 "Red Hat:enterprise_linux:9" hello 2.0-1.el9 Important >"$RF/RHSA-2026-0001.json"
	rpm_record RHSA-2026:0002 "Red Hat:enterprise_linux:9::appstream" hello 1:1.0-1 Moderate >"$RF/RHSA-2026-0002.json"
	rpm_record RHSA-2026:0003 "Red Hat:enterprise_linux:9" hello 1.9-9 Important >"$RF/RHSA-2026-0003.json"
	rpm_record RHSA-2026:0004 "Red Hat:enterprise_linux:9" pib-test-base 1.0-2 Important >"$RF/RHSA-2026-0004.json"
	rpm_record ALSA-2026:0005 "AlmaLinux:9" hello 3.0-1 Important >"$RF/ALSA-2026-0005.json"
	validate "$T/rpm.tar.gz" --root "$T/rpmroot" --no-scan --vulns "$RF"
	is "rpm: exit 1 (a bundle hit at high)" "$RC" 1
	facts status error.code error.message 'steps[name=vulns].ecosystem' vulnerabilities.id \
		'vulnerabilities[id=RHSA-2026:0001].origin' 'vulnerabilities[id=RHSA-2026:0001].installed' \
		'vulnerabilities[id=RHSA-2026:0001].fixed' 'vulnerabilities[id=RHSA-2026:0001].severity' \
		'vulnerabilities[id=RHSA-2026:0001].status' 'vulnerabilities[id=RHSA-2026:0002].fixed' \
		'vulnerabilities[id=RHSA-2026:0002].severity' 'vulnerabilities[id=RHSA-2026:0002].status' \
		'vulnerabilities[id=RHSA-2026:0002].ecosystem' 'vulnerabilities[id=RHSA-2026:0004].package' \
		'vulnerabilities[id=RHSA-2026:0004].origin' 'vulnerabilities[id=RHSA-2026:0004].status'
	is "rpm: status findings, vulns.found" "$(fact status) $(fact error.code)" "findings vulns.found"
	contains "rpm: the message names the record and the package" "$(fact error.message)" "RHSA-2026:0001 in hello 2.0-1"
	is "rpm: the image's ecosystem" "$(fact 'steps[name=vulns].ecosystem')" "Red Hat:enterprise_linux:9"
	is "rpm: the hits (not the fix below, not AlmaLinux's)" "$(fact vulnerabilities.id | sort | tr '\n' ' ')" \
		"RHSA-2026:0001 RHSA-2026:0002 RHSA-2026:0004 "
	is "rpm: a longer release is newer (2.0-1 < 2.0-1.el9): a bundle violation at high" \
		"$(fact 'vulnerabilities[id=RHSA-2026:0001].origin') $(fact 'vulnerabilities[id=RHSA-2026:0001].installed') $(fact 'vulnerabilities[id=RHSA-2026:0001].fixed') $(fact 'vulnerabilities[id=RHSA-2026:0001].severity') $(fact 'vulnerabilities[id=RHSA-2026:0001].status')" \
		"bundle 2.0-1 2.0-1.el9 high violation"
	is "rpm: an epoch wins (2.0-1 < 1:1.0-1), another stream's record; Moderate is medium, reported" \
		"$(fact 'vulnerabilities[id=RHSA-2026:0002].fixed') $(fact 'vulnerabilities[id=RHSA-2026:0002].ecosystem') $(fact 'vulnerabilities[id=RHSA-2026:0002].severity') $(fact 'vulnerabilities[id=RHSA-2026:0002].status')" \
		"1:1.0-1 Red Hat:enterprise_linux:9::appstream medium reported"
	is "rpm: the image's own package: an image hit, reported" \
		"$(fact 'vulnerabilities[id=RHSA-2026:0004].package') $(fact 'vulnerabilities[id=RHSA-2026:0004].origin') $(fact 'vulnerabilities[id=RHSA-2026:0004].status')" \
		"pib-test-base image reported"
	"$PIB_AGENT" vulns-index --vulns "$RF" --out "$T/rpm.pibvx" 2>/dev/null
	agent_run vulns --root "$T/rpmroot" --vulns "$T/rpm.pibvx" --vulns-fail-on critical
	is "rpm: the audit with the feed's index: exit 0 (nothing at critical)" "$RC" 0
	is "rpm: the audit finds hello (installed now) and the image's package" \
		"$(rep vulnerabilities.id | sort | tr '\n' ' ')" "RHSA-2026:0001 RHSA-2026:0002 RHSA-2026:0004 "
else
	ok "# SKIP the rpm path: rpm, rpmbuild or the rpm fixtures are missing"
fi

done_testing
