#!/bin/bash
# SPDX-License-Identifier: MIT
# What happens during and after a real rpm install into throwaway rpm roots made by
# tests/tools/make-rpm-root.sh (RHEL 9, x86_64, pib-test-base with busybox /bin/sh; this
# machine's rpm runs with --root and the root's --dbpath, scriptlets chrooted into the root).
# Packages from tests/tools/make-test-rpms.sh, rpm.org's foo fixtures, and two built here.
#   pib-ok: installed (rpmdb, its file, its %post ran), files listed in the report, rpm -V run;
#   pib-a + pib-b (mutual Requires): one rpm -U, one rpm transaction (the same INSTALLTID);
#   pib-postfail: install.script_failed naming %post, yet in the rpmdb; postscan still runs;
#   pib-prefail: install.script_failed naming %prein, not in the rpmdb, `unfinished` names it,
#     nothing but rpm's own database files changed;
#   pib-posttransfail: install.script_failed naming %posttrans;
#   pib-needs-nobody, pib-conflict-a + pib-conflict-b: resolve.unsatisfiable, root unchanged;
#   pib-fileclash (/bin/sh of pib-test-base): rpm's transaction check refuses it before
#     anything is installed: install.failed with "conflicts with file from package" in the report;
#   pib-dropper: the file its %post drops outside its file list is walked by the postscan (a
#     ClamAV hash signature of it made here: a postscan detection with no package);
#   pib-eicar: stopped at prescan (exit 1, scan.malware_found), nothing installed;
#   foo / obsolete-foo (rpm.org fixtures, both foo-1.0-1.noarch, both "Obsoletes: howdy"):
#     obsolete-foo over the image's foo is a reinstall with other contents, refused
#     (resolve.image_package) unless may_upgrade names foo, then rpm -U --replacepkgs replaces
#     it; foo over a howdy built here obsoletes howdy: refused unless may_upgrade names howdy,
#     then howdy is gone; the very foo the image has: nothing to do;
#   SIGTERM while a %post sleeps: install.interrupted, nothing of the %post left running;
#   a Berkeley DB rpmdb: --dry-run resolves; a real install is refused (tool.missing) untouched.
# Every refusal: the root unchanged (snap of the whole root, or of all but rpm's own database
# files when rpm ran, and the rpmdb listing).
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
setup

command -v rpm >/dev/null && command -v rpmbuild >/dev/null || bail_out "rpm and rpmbuild are needed (apt-get install rpm)"
[ -f "$RPMS/foo-1.0-1.noarch.rpm" ] && [ -f "$RPMS/obsolete-foo-1.0-1.noarch.rpm" ] || bail_out "no rpm fixtures at $RPMS"
P=$T/rpms
"$TOOLS_DIR/make-test-rpms.sh" "$P" || bail_out "make-test-rpms.sh failed"
"$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 || bail_out "tests/scan/make-db.sh failed"
FOO=$RPMS/foo-1.0-1.noarch.rpm
OFOO=$RPMS/obsolete-foo-1.0-1.noarch.rpm

# ------------------------------------------------------------------------------ helpers
mkroot() { # mkroot DIR [make-rpm-root.sh options]
	"$TOOLS_DIR/make-rpm-root.sh" "$@" >"$T/mkroot.log" 2>&1 ||
		bail_out "make-rpm-root.sh $* failed: $(tail -n 5 "$T/mkroot.log")"
}
newroot() { # newroot DIR: a copy of the test's template root (made once by make-rpm-root.sh)
	if [ ! -d "$T/root-template" ]; then
		mkroot "$T/root-template"
		rpmdb_list "$T/root-template" >/dev/null
	fi
	cp -a "$T/root-template" "$1" || bail_out "cp -a the template root to $1 failed"
}
rpmr() { # rpmr ROOT ARGS...: this machine's rpm on ROOT's database
	local r=$1
	shift
	rpm --root "$r" --dbpath /var/lib/rpm "$@"
}
rpmdb_list() { # rpmdb_list ROOT [rpm options]: name-version-release.arch and PKGID of each package
	local r=$1
	shift
	rpmr "$r" "$@" -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH} %{PKGID}\n' 2>/dev/null | sort
}
installed() { # installed ROOT NAME: NAME is in ROOT's rpmdb
	rpmr "$1" -q "$2" >/dev/null 2>&1
}

# bundle OUT MAY_UPGRADE RPM...: one RHEL x86_64 rpm target (allow_unsigned) with the RPMs as
# rpms/<basename>; MAY_UPGRADE is a JSON list or "" (no field)
bundle() {
	local out=$1 mu=$2
	shift 2
	"$PYTHON" - "$mu" "$@" >"$out.json" <<'PY' || bail_out "manifest for $out"
import json, os, sys
t = {"name": "rhel", "os": [{"id": "rhel", "versions": [">=8"]}], "arch": ["x86_64"],
     "installer": "rpm", "allow_unsigned": True,
     "packages": [{"file": "rpms/" + os.path.basename(p), "_src": p} for p in sys.argv[2:]]}
if sys.argv[1]:
    t["may_upgrade"] = json.loads(sys.argv[1])
print(json.dumps({"schema": "pib-agent/bundle/v1",
                  "product": {"name": "pib-test", "version": "1.0", "seller": "pib-agent tests"},
                  "targets": [t]}, indent=2))
PY
	mkbundle "$out" --manifest "$out.json"
}

FAILED_FACTS=(status error.code error.message error.step error.output 'steps[name=install].status'
	'steps[name=install].output' 'steps[name=install].unfinished' 'steps[name=postscan].status'
	'steps[name=resolve].status' 'steps[name=resolve].problems')

# before ROOT NAME / after_same LABEL ROOT NAME [rpm]: snap the root and its rpmdb listing, then
# prove both unchanged. With "rpm" (rpm itself ran and may have rewritten its database files),
# the files under var/lib/rpm are left out of the tree's listing; the listing of the database's
# packages must still be equal.
before() {
	# the listing first: a reader of an sqlite rpmdb may rewrite its -shm index file
	rpmdb_list "$1" "${@:3}" >"$T/$2.db"
	snap "$1" >"$T/$2.snap"
}
after_same() {
	local label=$1 r=$2 name=$3 mode=${4:-} ropt=()
	[ "$mode" = bdb ] && ropt=(--define '_db_backend bdb_ro')
	snap "$r" >"$T/$name.snap2"
	if [ "$mode" = rpm ]; then
		grep -v '^\./var/lib/rpm/' "$T/$name.snap" >"$T/$name.snap.f"
		grep -v '^\./var/lib/rpm/' "$T/$name.snap2" >"$T/$name.snap2.f"
		same_tree "$label: the root is unchanged but for rpm's own database files" "$T/$name.snap.f" "$T/$name.snap2.f"
	else
		same_tree "$label: the root is unchanged (every file)" "$T/$name.snap" "$T/$name.snap2"
	fi
	rpmdb_list "$r" "${ropt[@]}" >"$T/$name.db2"
	same_tree "$label: the rpmdb lists the same packages" "$T/$name.db" "$T/$name.db2"
}

# rpmbuild_spec SPEC: builds the spec (noarch) under $T/rpmbuild
rpmbuild_spec() {
	mkdir -p "$T/rpmbuild/tmp"
	rpmbuild -bb --define "_topdir $T/rpmbuild" --define "_tmppath $T/rpmbuild/tmp" "$1" \
		>"$T/rpmbuild.log" 2>&1 || bail_out "rpmbuild $1 failed: $(tail -n 5 "$T/rpmbuild.log")"
}

# ------------------------------------------------------------------------------ pib-ok
R=$T/root-ok
newroot "$R"
bundle "$T/ok.tar.gz" "" "$P/pib-ok-1.0-1.noarch.rpm"
validate "$T/ok.tar.gz" --root "$R" --no-scan
is "pib-ok: exit code 0" "$RC" 0
report_exists "pib-ok"
status_good "pib-ok"
facts 'steps[name=install].status' 'steps[name=install].tool' 'steps[name=install].contained' \
	'steps[name=install].output' 'steps[name=resolve].transaction.name' 'packages[name=pib-ok].version'
is "pib-ok: the install step is ok" "$(fact 'steps[name=install].status')" ok
is "pib-ok: the install step's tool is rpm" "$(fact 'steps[name=install].tool')" rpm
is "pib-ok: not contained (the root has no rpm of its own)" "$(fact 'steps[name=install].contained')" false
is "pib-ok: the transaction is pib-ok" "$(fact 'steps[name=resolve].transaction.name')" pib-ok
is "pib-ok: the report's version is 1.0-1" "$(fact 'packages[name=pib-ok].version')" 1.0-1
check "pib-ok: in the rpmdb" installed "$R" pib-ok
is "pib-ok: its file is installed" "$(cat "$R/opt/pib-ok/hello.txt" 2>&1)" "hello from pib-ok"
is "pib-ok: its %post ran (/var/log/pib-ok.post)" "$(cat "$R/var/log/pib-ok.post" 2>&1)" "pib-ok post 1"
has_line "pib-ok: the report lists /opt/pib-ok/hello.txt" "$(report_files pib-ok)" /opt/pib-ok/hello.txt
out=$(fact 'steps[name=install].output')
contains "pib-ok: the output has the rpm -U command on the root's database" "$out" \
	"--root $R --dbpath /var/lib/rpm -U "
contains "pib-ok: the output has the rpm -V command of pib-ok" "$out" \
	"--root $R --dbpath /var/lib/rpm -V -- pib-ok-1.0-1.noarch"
check "pib-ok: rpm -V of it finds nothing" rpmr "$R" -V pib-ok

# ------------------------------------------------------------------------------ pib-a + pib-b
R=$T/root-ab
newroot "$R"
bundle "$T/ab.tar.gz" "" "$P/pib-a-1.0-1.noarch.rpm" "$P/pib-b-1.0-1.noarch.rpm"
validate "$T/ab.tar.gz" --root "$R" --no-scan
is "pib-a + pib-b: exit code 0" "$RC" 0
status_good "pib-a + pib-b"
facts 'steps[name=resolve].transaction.name' 'steps[name=install].output'
is "pib-a + pib-b: the resolve step's transaction lists both" \
	"$(fact 'steps[name=resolve].transaction.name' | sort | tr '\n' ' ')" "pib-a pib-b "
check "pib-a + pib-b: pib-a is in the rpmdb" installed "$R" pib-a
check "pib-a + pib-b: pib-b is in the rpmdb" installed "$R" pib-b
is "pib-a + pib-b: both %post ran" "$(sort "$R/var/log/pib-order" 2>&1 | tr '\n' ' ')" "pib-a pib-b "
ucmds=$(fact 'steps[name=install].output' | grep -E '^\$ .* -U ')
is "pib-a + pib-b: one rpm -U command" "$(printf '%s' "$ucmds" | grep -c .)" 1
contains "pib-a + pib-b: ... with pib-a's file" "$ucmds" "pib-a-1.0-1.noarch.rpm"
contains "pib-a + pib-b: ... and pib-b's" "$ucmds" "pib-b-1.0-1.noarch.rpm"
tids=$(rpmr "$R" -q --qf '%{INSTALLTID}\n' pib-a pib-b 2>/dev/null | sort -u)
check "pib-a + pib-b: one rpm transaction (the same INSTALLTID: $(echo $tids))" test "$(printf '%s\n' "$tids" | grep -c .)" = 1

# ------------------------------------------------------------------------------ pib-postfail
R=$T/root-postfail
newroot "$R"
bundle "$T/postfail.tar.gz" "" "$P/pib-postfail-1.0-1.noarch.rpm"
validate "$T/postfail.tar.gz" --root "$R" --no-scan
is "pib-postfail: exit code 2" "$RC" 2
report_exists "pib-postfail"
facts "${FAILED_FACTS[@]}" 'packages[name=pib-postfail].files'
is "pib-postfail: status failed" "$(fact status)" failed
is "pib-postfail: error.code install.script_failed" "$(fact error.code)" install.script_failed
is "pib-postfail: the install step failed" "$(fact 'steps[name=install].status')" failed
contains "pib-postfail: the message names %post of the package" "$(fact error.message)" "%post(pib-postfail-1.0-1.noarch)"
check "pib-postfail: in the rpmdb all the same (rpm exits 0 after a failed %post)" installed "$R" pib-postfail
is "pib-postfail: the postscan ran (ok)" "$(fact 'steps[name=postscan].status')" "$([ "${PIB_TEST_NO_SCAN:-0}" = 1 ] && echo skipped || echo ok)"
contains "pib-postfail: rpm's output (the scriptlet's own message) is in the error" "$(fact error.output)" \
	"pib-postfail: failing on purpose"
contains "pib-postfail: ... and in the install step's output" "$(fact 'steps[name=install].output')" \
	"pib-postfail: failing on purpose"
has_line "pib-postfail: the report lists its file" "$(fact 'packages[name=pib-postfail].files')" /opt/pib-postfail/f

# ------------------------------------------------------------------------------ pib-prefail
R=$T/root-prefail
newroot "$R"
before "$R" prefail
bundle "$T/prefail.tar.gz" "" "$P/pib-prefail-1.0-1.noarch.rpm"
validate "$T/prefail.tar.gz" --root "$R" --no-scan
is "pib-prefail: exit code 2" "$RC" 2
report_exists "pib-prefail"
facts "${FAILED_FACTS[@]}"
diag "pib-prefail: $(fact error.code): $(fact error.message)"
is "pib-prefail: status failed" "$(fact status)" failed
# rpm says "error: %prein(pib-prefail-1.0-1.noarch) scriptlet failed, exit status 1" and exits 1
is "pib-prefail: error.code install.script_failed" "$(fact error.code)" install.script_failed
contains "pib-prefail: the message names %pre (rpm: %prein) of the package" "$(fact error.message)" "%prein(pib-prefail-1.0-1.noarch)"
check_not "pib-prefail: not in the rpmdb" installed "$R" pib-prefail
contains "pib-prefail: unfinished names it" "$(fact 'steps[name=install].unfinished')" "pib-prefail 1.0-1 noarch"
contains "pib-prefail: rpm's output is in the report" "$(fact error.output)" "pib-prefail: failing on purpose"
after_same "pib-prefail" "$R" prefail rpm

# ------------------------------------------------------------------------------ pib-posttransfail
R=$T/root-posttransfail
newroot "$R"
bundle "$T/posttransfail.tar.gz" "" "$P/pib-posttransfail-1.0-1.noarch.rpm"
validate "$T/posttransfail.tar.gz" --root "$R" --no-scan
is "pib-posttransfail: exit code 2" "$RC" 2
facts "${FAILED_FACTS[@]}"
is "pib-posttransfail: error.code install.script_failed" "$(fact error.code)" install.script_failed
contains "pib-posttransfail: the message names %posttrans of the package" "$(fact error.message)" \
	"%posttrans(pib-posttransfail-1.0-1.noarch)"
check "pib-posttransfail: in the rpmdb (the transaction was done)" installed "$R" pib-posttransfail

# ------------------------------------------------------------------------------ refused at resolve
R=$T/root-refused
newroot "$R"
# refused LABEL BUNDLE CODE NEEDLE...: exit 2 at resolve with CODE, the problems and the message
# name each NEEDLE, no install step, the root unchanged
refused() {
	local label=$1 b=$2 code=$3 n
	shift 3
	before "$R" "$label"
	validate "$b" --root "$R" --no-scan
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	facts "${FAILED_FACTS[@]}"
	is "$label: error.code $code" "$(fact error.code)" "$code"
	is "$label: the resolve step failed" "$(fact 'steps[name=resolve].status')" failed
	is "$label: no install step ran" "$(fact 'steps[name=install].status')" ""
	for n in "$@"; do
		contains "$label: the resolve step's problems name '$n'" "$(fact 'steps[name=resolve].problems')" "$n"
		contains "$label: the message names '$n'" "$(fact error.message)" "$n"
	done
	after_same "$label" "$R" "$label"
}
bundle "$T/nobody.tar.gz" "" "$P/pib-needs-nobody-1.0-1.noarch.rpm"
refused pib-needs-nobody "$T/nobody.tar.gz" resolve.unsatisfiable pib-nonexistent-lib
bundle "$T/conflict.tar.gz" "" "$P/pib-conflict-a-1.0-1.noarch.rpm" "$P/pib-conflict-b-1.0-1.noarch.rpm"
refused pib-conflict "$T/conflict.tar.gz" resolve.unsatisfiable \
	"pib-conflict-b-1.0-1.noarch conflicts with pib-conflict-a"

# ------------------------------------------------------------------------------ pib-fileclash
R=$T/root-fileclash
newroot "$R"
before "$R" fileclash
SH_SHA=$(sha256_of "$R/bin/sh")
bundle "$T/fileclash.tar.gz" "" "$P/pib-fileclash-1.0-1.noarch.rpm"
validate "$T/fileclash.tar.gz" --root "$R" --no-scan
is "pib-fileclash: exit code 2" "$RC" 2
facts "${FAILED_FACTS[@]}"
diag "pib-fileclash: $(fact error.code): $(fact error.message)"
# rpm's transaction check refuses the whole transaction before installing anything (exit 1,
# no scriptlet): the rpmdb lacks the package afterwards
is "pib-fileclash: error.code install.failed" "$(fact error.code)" install.failed
is "pib-fileclash: the install step failed" "$(fact 'steps[name=install].status')" failed
contains "pib-fileclash: rpm's file conflict is in the report" "$(fact error.output)" \
	"file /bin/sh from install of pib-fileclash-1.0-1.noarch conflicts with file from package pib-test-base-1.0-1.x86_64"
contains "pib-fileclash: unfinished names it" "$(fact 'steps[name=install].unfinished')" "pib-fileclash 1.0-1 noarch"
check_not "pib-fileclash: not in the rpmdb" installed "$R" pib-fileclash
is "pib-fileclash: /bin/sh is pib-test-base's" "$(sha256_of "$R/bin/sh")" "$SH_SHA"
after_same "pib-fileclash" "$R" fileclash rpm

# ------------------------------------------------------------------------------ pib-dropper
R=$T/root-dropper
newroot "$R"
bundle "$T/dropper.tar.gz" "" "$P/pib-dropper-1.0-1.noarch.rpm"
validate "$T/dropper.tar.gz" --root "$R" --no-scan
is "pib-dropper: exit code 0" "$RC" 0
status_good "pib-dropper"
check "pib-dropper: its %post dropped /usr/local/bin/pib-dropped" test -f "$R/usr/local/bin/pib-dropped"
check_not "pib-dropper: no package owns /usr/local/bin/pib-dropped" rpmr "$R" -qf /usr/local/bin/pib-dropped
check_not "pib-dropper: the report's file list of pib-dropper leaves it out" \
	grep -qxF /usr/local/bin/pib-dropped <<<"$(report_files pib-dropper)"
# the postscan walks what changed outside the packages' lists: a ClamAV hash signature of the
# dropped file makes it a finding, with its path and no package
mkdir -p "$T/db-dropped"
cp "$T/db/"* "$T/db-dropped/"
sigtool --md5 "$R/usr/local/bin/pib-dropped" | sed 's/:[^:]*$/:PIB.Test.Dropped/' >"$T/db-dropped/dropped.hdb"
R=$T/root-dropper2
newroot "$R"
validate "$T/dropper.tar.gz" --root "$R" --db "$T/db-dropped"
is "pib-dropper, its dropped file a known signature: exit code 1 (findings)" "$RC" 1
facts status error.code error.step 'steps[name=install].status' \
	'scan.detections[path=/usr/local/bin/pib-dropped].phase' \
	'scan.detections[path=/usr/local/bin/pib-dropped].package' 'scan.detections.path'
is "pib-dropper: status findings" "$(fact status)" findings
is "pib-dropper: the install step is ok" "$(fact 'steps[name=install].status')" ok
is "pib-dropper: scan.malware_found at postscan" "$(fact error.code) $(fact error.step)" "scan.malware_found postscan"
has_line "pib-dropper: the postscan's detection is /usr/local/bin/pib-dropped" "$(fact 'scan.detections.path')" \
	/usr/local/bin/pib-dropped
is "pib-dropper: ... found by the postscan" "$(fact 'scan.detections[path=/usr/local/bin/pib-dropped].phase')" postscan
is "pib-dropper: ... as a file of no package" "$(fact 'scan.detections[path=/usr/local/bin/pib-dropped].package')" null

# ------------------------------------------------------------------------------ pib-eicar
R=$T/root-eicar
newroot "$R"
before "$R" eicar
bundle "$T/eicar.tar.gz" "" "$P/pib-eicar-1.0-1.noarch.rpm"
validate "$T/eicar.tar.gz" --root "$R" --db "$T/db"
is "pib-eicar: exit code 1 (findings)" "$RC" 1
report_exists "pib-eicar"
facts status error.code error.step 'steps[name=prescan].status' 'steps[name=install].status' \
	'scan.detections.member' 'scan.detections.package' 'scan.detections.phase'
is "pib-eicar: status findings" "$(fact status)" findings
is "pib-eicar: scan.malware_found at prescan" "$(fact error.code) $(fact error.step)" "scan.malware_found prescan"
is "pib-eicar: the prescan failed" "$(fact 'steps[name=prescan].status')" failed
is "pib-eicar: the detection: eicar.com of pib-eicar, at prescan" \
	"$(fact 'scan.detections.member') $(fact 'scan.detections.package') $(fact 'scan.detections.phase')" \
	"opt/pib-eicar/eicar.com pib-eicar prescan"
is "pib-eicar: no install step ran" "$(fact 'steps[name=install].status')" ""
check_not "pib-eicar: not in the rpmdb" installed "$R" pib-eicar
after_same "pib-eicar" "$R" eicar

# ------------------------------------------------------------------------------ foo / obsolete-foo
# Both fixtures are foo-1.0-1.noarch ("Obsoletes: howdy", "Provides: hi"), with other headers
# (foo's payload is zstd): obsolete-foo over the image's foo is a reinstall with other contents
# (plain rpm -U says "package foo-1.0-1.noarch is already installed"; --replacepkgs replaces it).
is "precondition: both fixtures are foo-1.0-1.noarch" \
	"$(rpm -qp --nosignature --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH} ' "$FOO" "$OFOO" 2>/dev/null)" \
	"foo-1.0-1.noarch foo-1.0-1.noarch "
is "precondition: both obsolete howdy" "$(rpm -qp --nosignature --obsoletes "$FOO" "$OFOO" 2>/dev/null | tr '\n' ' ')" "howdy howdy "
FOO_ID=$(rpm -qp --nosignature --qf '%{PKGID}' "$FOO" 2>/dev/null)
OFOO_ID=$(rpm -qp --nosignature --qf '%{PKGID}' "$OFOO" 2>/dev/null)
check "precondition: they are different packages (PKGID $FOO_ID, $OFOO_ID)" test -n "$FOO_ID" -a "$FOO_ID" != "$OFOO_ID"
R=$T/root-foo
newroot "$R"
rpmr "$R" -i --nosignature "$FOO" >"$T/rpm-i.log" 2>&1 || bail_out "rpm -i foo: $(cat "$T/rpm-i.log")"
has_line "precondition: the image has foo" "$(rpmdb_list "$R")" "foo-1.0-1.noarch $FOO_ID"

bundle "$T/ofoo.tar.gz" "" "$OFOO"
refused obsolete-foo "$T/ofoo.tar.gz" resolve.image_package "foo 1.0-1" "reinstall" "may_upgrade does not name foo"

# the very package the image has: left out of the transaction, nothing to do
before "$R" same-foo
bundle "$T/same-foo.tar.gz" "" "$FOO"
validate "$T/same-foo.tar.gz" --root "$R" --no-scan
facts 'steps[name=resolve].status' 'steps[name=resolve].transaction' packages.name error.code error.message
is "the image's own foo in a bundle: resolve ok" "$(fact 'steps[name=resolve].status')" ok
is "the image's own foo in a bundle: an empty transaction" \
	"$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" 'steps[name=resolve].transaction')" "[[]]"
diag "the image's own foo in a bundle: exit $RC, $(fact error.code): $(fact error.message)"
is "the image's own foo in a bundle: exit code 0 (nothing to install)" "$RC" 0
after_same "the image's own foo in a bundle" "$R" same-foo rpm

bundle "$T/ofoo-allowed.tar.gz" '["foo"]' "$OFOO"
validate "$T/ofoo-allowed.tar.gz" --root "$R" --no-scan
is "obsolete-foo, may_upgrade [foo]: exit code 0" "$RC" 0
status_good "obsolete-foo, may_upgrade [foo]"
facts 'packages[name=foo].member' 'packages[name=foo].replaced.name' 'packages[name=foo].replaced.how' \
	'packages[name=foo].replaced.version' 'steps[name=install].output'
is "obsolete-foo, may_upgrade [foo]: the report's foo is obsolete-foo's member" \
	"$(fact 'packages[name=foo].member')" rpms/obsolete-foo-1.0-1.noarch.rpm
is "obsolete-foo, may_upgrade [foo]: replaced foo 1.0-1 (reinstall)" \
	"$(fact 'packages[name=foo].replaced.name') $(fact 'packages[name=foo].replaced.version') $(fact 'packages[name=foo].replaced.how')" \
	"foo 1.0-1 reinstall"
contains "obsolete-foo, may_upgrade [foo]: rpm -U --replacepkgs" "$(fact 'steps[name=install].output')" " -U -v --define=_pkgverify_level digest --replacepkgs -- "
is "obsolete-foo, may_upgrade [foo]: the rpmdb holds one foo, obsolete-foo's (PKGID)" \
	"$(rpmdb_list "$R" | grep '^foo-')" "foo-1.0-1.noarch $OFOO_ID"

# Obsoletes: howdy for real: foo over the image's howdy
mkdir -p "$T/specs"
cat >"$T/specs/howdy.spec" <<'EOF'
Name: howdy
Version: 1.0
Release: 1
Summary: pib-agent test: a package that foo obsoletes
License: MIT
BuildArch: noarch
%description
rpm.org's foo fixtures say Obsoletes: howdy.
%install
mkdir -p %{buildroot}/opt/howdy
echo howdy > %{buildroot}/opt/howdy/f
%files
/opt/howdy/f
EOF
rpmbuild_spec "$T/specs/howdy.spec"
R=$T/root-howdy
newroot "$R"
rpmr "$R" -i "$T/rpmbuild/RPMS/noarch/howdy-1.0-1.noarch.rpm" >"$T/rpm-i.log" 2>&1 || bail_out "rpm -i howdy: $(cat "$T/rpm-i.log")"
# rpm's own semantics, on a copy: rpm -U foo erases the howdy it obsoletes
cp -a "$R" "$T/root-howdy-rpm"
rpmr "$T/root-howdy-rpm" -U --nosignature "$FOO" >"$T/rpm-U.log" 2>&1
check "rpm itself: rpm -U foo over howdy succeeds" rpmr "$T/root-howdy-rpm" -q foo
check_not "rpm itself: ... and howdy, which foo obsoletes, is erased" rpmr "$T/root-howdy-rpm" -q howdy
bundle "$T/foo.tar.gz" "" "$FOO"
before "$R" howdy
validate "$T/foo.tar.gz" --root "$R" --no-scan
is "foo over howdy: exit code 2" "$RC" 2
facts "${FAILED_FACTS[@]}"
diag "foo over howdy: $(fact error.code): $(fact error.message)"
is "foo over howdy: the resolve step failed" "$(fact 'steps[name=resolve].status')" failed
is "foo over howdy: no install step ran" "$(fact 'steps[name=install].status')" ""
is "foo over howdy: error.code resolve.image_package" "$(fact error.code)" resolve.image_package
is "foo over howdy: the problems say foo would obsolete howdy and may_upgrade does not name it" \
	"$(fact 'steps[name=resolve].problems' | grep -c "obsolete and replace the image's howdy 1.0-1 (noarch); the target's may_upgrade does not name howdy")" 1
after_same "foo over howdy" "$R" howdy

bundle "$T/foo-allowed.tar.gz" '["howdy"]' "$FOO"
before "$R" howdy-allowed
validate "$T/foo-allowed.tar.gz" --root "$R" --no-scan
facts error.code error.message
diag "foo over howdy, may_upgrade [howdy]: exit $RC, $(fact error.code): $(fact error.message)"
is "foo over howdy, may_upgrade [howdy]: exit code 0" "$RC" 0
if [ "$RC" = 0 ]; then
	status_good "foo over howdy, may_upgrade [howdy]"
	facts 'packages[name=foo].replaced.name' 'packages[name=foo].replaced.how'
	is "foo over howdy, may_upgrade [howdy]: the report says foo obsoletes howdy" \
		"$(fact 'packages[name=foo].replaced.name') $(fact 'packages[name=foo].replaced.how')" "howdy obsoletes"
	check "foo over howdy, may_upgrade [howdy]: foo is in the rpmdb" installed "$R" foo
	check_not "foo over howdy, may_upgrade [howdy]: howdy is gone from the rpmdb (rpm erased it)" installed "$R" howdy
	check_not "foo over howdy, may_upgrade [howdy]: howdy's file is gone" test -e "$R/opt/howdy/f"
else
	after_same "foo over howdy, may_upgrade [howdy], refused" "$R" howdy-allowed
fi

# ------------------------------------------------------------------------------ SIGTERM mid-%post
# The %post writes a marker, then sleeps an odd duration that no other test uses (pgrep -f).
SLEEP_MARK='^sleep 60\.17$'
cat >"$T/specs/pib-sleeper.spec" <<'EOF'
Name: pib-sleeper
Version: 1.0
Release: 1
Summary: pib-agent test: a %post that sleeps
License: MIT
BuildArch: noarch
%description
Its %post writes /var/tmp/pib-sleeper.started, then sleeps 60 s.
%install
mkdir -p %{buildroot}/opt/pib-sleeper
echo sleeper > %{buildroot}/opt/pib-sleeper/f
%files
/opt/pib-sleeper/f
%post
echo started > /var/tmp/pib-sleeper.started
sleep 60.17
EOF
rpmbuild_spec "$T/specs/pib-sleeper.spec"
R=$T/root-sleeper
newroot "$R"
bundle "$T/sleeper.tar.gz" "" "$T/rpmbuild/RPMS/noarch/pib-sleeper-1.0-1.noarch.rpm"
# in_root ROOT: the processes whose root directory is ROOT (rpm chroots the scriptlets into it)
in_root() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
	done
}
RUN_SEQ=$((RUN_SEQ + 1))
RUN_ID=$RUN_SEQ
rm -f "$REPORT"
mkdir -p "$T/agent-tmp"
RUN_CMD="pib-agent validate $T/sleeper.tar.gz --root $R --db $T/db --report $REPORT (background)"
TMPDIR=$T/agent-tmp "$PIB_AGENT" validate "$T/sleeper.tar.gz" --root "$R" --db "$T/db" --report "$REPORT" \
	</dev/null >"$T/agent.out" 2>"$T/agent.err" &
apid=$!
n=0
while [ $n -lt 600 ] && ! { [ -e "$R/var/tmp/pib-sleeper.started" ] && pgrep -f -- "$SLEEP_MARK" >/dev/null; } &&
	kill -0 "$apid" 2>/dev/null; do
	sleep 0.1
	n=$((n + 1))
done
if [ -e "$R/var/tmp/pib-sleeper.started" ] && pgrep -f -- "$SLEEP_MARK" >/dev/null; then
	ok "SIGTERM: the %post is running (marker written, its sleep started)"
	diag "the processes in the root:" "$(in_root "$R")"
	kill -TERM "$apid"
else
	fail "SIGTERM: the %post is running (marker written, its sleep started)" "$(tail -n 15 "$T/agent.err")"
fi
n=0
while kill -0 "$apid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$apid/stat" 2>/dev/null)" != Z ] && [ $n -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
if kill -0 "$apid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$apid/stat" 2>/dev/null)" != Z ]; then
	fail "SIGTERM: the agent ended within 60 s"
	kill -KILL "$apid"
else
	ok "SIGTERM: the agent ended within 60 s"
fi
wait "$apid"
RC=$?
diag "ran: $RUN_CMD -> exit $RC"
check_not "SIGTERM: the agent's exit is not 0 (it is $RC)" test "$RC" = 0
is "SIGTERM: exit code 2 (failed)" "$RC" 2
left=$(in_root "$R")
is "SIGTERM: no process is left in the root" "$left" ""
check_not "SIGTERM: no process runs the %post's sleep" pgrep -f -- "$SLEEP_MARK"
# what this test started and the agent left: only processes in this root running the sleep
for p in $(pgrep -f -- "$SLEEP_MARK"); do
	[ "$(readlink "/proc/$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "$p"
done
schema_check
report_exists "SIGTERM"
facts status error.code error.message 'steps[name=install].status' 'steps[name=postscan].status'
is "SIGTERM: status failed" "$(fact status)" failed
is "SIGTERM: the install step failed" "$(fact 'steps[name=install].status')" failed
is "SIGTERM: error.code install.interrupted" "$(fact error.code)" install.interrupted
contains "SIGTERM: the message names the signal" "$(fact error.message)" "signal 15"
diag "SIGTERM: postscan $(fact 'steps[name=postscan].status'); the rpmdb after it:" "$(rpmdb_list "$R")"
check "SIGTERM: the rpmdb is still readable" rpmr "$R" -q pib-test-base

# ------------------------------------------------------------------------------ Berkeley DB rpmdb
R=$T/root-bdb
mkroot "$R" --backend bdb
check "precondition: the bdb root's rpmdb is a Berkeley DB Packages file" test -f "$R/var/lib/rpm/Packages" -a ! -e "$R/var/lib/rpm/rpmdb.sqlite"
before "$R" bdb --define '_db_backend bdb_ro'
has_line "precondition: rpm reads the bdb root's pib-test-base" "$(cut -d' ' -f1 "$T/bdb.db")" pib-test-base-1.0-1.x86_64
validate "$T/ok.tar.gz" --root "$R" --no-scan --dry-run
is "bdb --dry-run: exit code 0" "$RC" 0
facts status 'steps[name=resolve].status' 'steps[name=resolve].transaction.name' 'steps[name=install].status'
is "bdb --dry-run: resolve ok" "$(fact 'steps[name=resolve].status')" ok
is "bdb --dry-run: the transaction lists pib-ok" "$(fact 'steps[name=resolve].transaction.name')" pib-ok
is "bdb --dry-run: the install is skipped" "$(fact 'steps[name=install].status')" skipped
after_same "bdb --dry-run" "$R" bdb bdb
validate "$T/ok.tar.gz" --root "$R" --no-scan
is "bdb install: exit code 2" "$RC" 2
report_exists "bdb install"
facts status error.code error.message 'steps[name=install].status' 'steps[name=resolve].status'
is "bdb install: status failed" "$(fact status)" failed
is "bdb install: error.code tool.missing" "$(fact error.code)" tool.missing
contains "bdb install: the message names the Berkeley DB" "$(fact error.message)" "Berkeley DB"
contains "bdb install: ... and the root's database" "$(fact error.message)" "$R/var/lib/rpm/Packages"
is "bdb install: refused before resolve and install" \
	"$(fact 'steps[name=resolve].status')/$(fact 'steps[name=install].status')" "/"
check_not "bdb install: no %post ran" test -e "$R/var/log/pib-ok.post"
after_same "bdb install" "$R" bdb bdb

done_testing
