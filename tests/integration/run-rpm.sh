#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent run end to end into an rpm root (tests/tools/make-rpm-root.sh --os rhel, no rpm of
# its own: this machine's rpm with --root), against the test orchestrator (run-lib.sh):
#   1. a bundle with a deb target (debian 12) and an rpm target listing two keys (seller.asc and
#      rpm.org's test key) with pib-signed and rpm.org's signed hello: exit 0, the pre-install
#      and the final report accepted once each and verified with openssl, both valid against the
#      schema; the rpm target chosen; the verify step names each package's signer by the right
#      fingerprint (keys/seller.fpr, rpm.org's key's by gpg); the pre-install report has no
#      install step, and the install started after it was accepted; both packages in the root's
#      rpmdb and in the final report with their files; cleanup done;
#   2. pib-postfail (%post exits 1): the final report delivered, status failed,
#      install.script_failed, exit 2, the package in the rpmdb all the same;
#   3. pib-eicar: stopped at prescan (scan.malware_found, findings, exit 1); no pre-install
#      report is sent (the run stopped before it), the final report is; nothing installed,
#      the root and its rpmdb unchanged.
# Every run is bounded by run_agent's timeout; every wait by wait_port's.
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup

command -v rpm >/dev/null && command -v rpmbuild >/dev/null || bail_out "rpm and rpmbuild are needed (apt-get install rpm)"
command -v gpg >/dev/null || bail_out "gpg is needed to compute rpm.org's key's fingerprint"
HELLO_SIGNED=$RPMS/hello-2.0-1.x86_64-signed.rpm
KEY_RPMORG=$RPMS/rpm.org-rsa-2048-test.pub
[ -f "$HELLO_SIGNED" ] && [ -f "$KEY_RPMORG" ] || bail_out "no rpm fixtures at $RPMS"
[ -f "$DEB_HELLO" ] || bail_out "no deb fixture $DEB_HELLO"
P=$T/rpms
"$TOOLS_DIR/make-test-rpms.sh" "$P" || bail_out "make-test-rpms.sh failed"
SELLER_FPR=$(tr -d ' \n' <"$P/keys/seller.fpr")
mkdir -m 0700 "$T/gnupg"
RPMORG_FPR=$(GNUPGHOME=$T/gnupg gpg --batch --with-colons --show-keys "$KEY_RPMORG" 2>/dev/null |
	awk -F: '$1 == "pub" { p = 1; next } p && $1 == "fpr" { print tolower($10); exit }')
is "precondition: gpg reads rpm.org's test key (a V4 fingerprint)" "${#RPMORG_FPR}" 40
is "precondition: keys/seller.fpr is a V4 fingerprint" "${#SELLER_FPR}" 40

# ------------------------------------------------------------------------------ rpm helpers
"$TOOLS_DIR/make-rpm-root.sh" "$T/rpm-template" --os rhel >"$T/mkroot.log" 2>&1 ||
	bail_out "make-rpm-root.sh failed: $(tail -n 5 "$T/mkroot.log")"
rpmr() { # rpmr ROOT ARGS...: this machine's rpm on ROOT's own database
	local r=$1
	shift
	rpm --root "$r" --dbpath /var/lib/rpm "$@"
}
rpm_installed() { # rpm_installed ROOT NAME: NAME is in ROOT's rpmdb
	rpmr "$1" -q "$2" >/dev/null 2>&1
}
rpmdb_list() { # rpmdb_list ROOT: NEVRA and PKGID of each package, sorted
	rpmr "$1" -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH} %{PKGID}\n' 2>/dev/null | sort
}
rpm_root() { # rpm_root: $T/root, a fresh copy of the template rpm root
	rm -rf --one-file-system "$T/root"
	cp -a "$T/rpm-template" "$T/root" || bail_out "cp -a the rpm root failed"
}
check "precondition: the template root has pib-test-base" rpm_installed "$T/rpm-template" pib-test-base

# rbundle OUT ALLOW_UNSIGNED KEYS RPM...: a bundle with a deb target "debian" (debian 12, hello)
# and an rpm target "el" (rhel >=8, x86_64) holding each RPM as rpms/<basename>; KEYS is a
# space-separated list of MEMBER=FILE key members listed in the rpm target's keys ("" none).
rbundle() {
	local out=$1 allow=$2 keys=$3 k
	shift 3
	local -a extra=()
	for k in $keys; do
		extra+=(--file "$k")
	done
	"$PYTHON" - "$allow" "$keys" "$DEB_HELLO" "$@" >"$out.json" <<'PY' || bail_out "manifest for $out"
import json, os, sys
allow, keys, deb = sys.argv[1] == "true", sys.argv[2].split(), sys.argv[3]
t = {"name": "el", "os": [{"id": "rhel", "versions": [">=8"]}], "arch": ["x86_64"],
     "installer": "rpm",
     "packages": [{"file": "rpms/" + os.path.basename(p), "_src": p} for p in sys.argv[4:]]}
if keys:
    t["keys"] = [k.split("=", 1)[0] for k in keys]
if allow:
    t["allow_unsigned"] = True
d = {"name": "debian", "os": [{"id": "debian", "versions": ["12"]}], "arch": ["x86_64"],
     "installer": "deb", "packages": [{"file": "debs/" + os.path.basename(deb), "_src": deb}]}
print(json.dumps({"schema": "pib-agent/bundle/v1",
                  "product": {"name": "pib-run-rpm", "version": "1.0", "seller": "pib-agent tests"},
                  "targets": [d, t]}, indent=2))
PY
	mkbundle "$out" --manifest "$out.json" "${extra[@]}"
}

# posts KEY: how many requests (any status) carried that Idempotency-Key
posts() {
	orch_log "len([x for x in r if x['idempotency_key'] == '$1'])"
}
schema_ok() {
	/usr/bin/python3 "$DSSE_PY" schema "$REPO_DIR/manifests/report.schema.json" "$@"
}
tmpdir_empty() {
	test -z "$(find "$T/agent-tmp" -mindepth 1 -maxdepth 2 2>/dev/null | head -n 5)"
}

orch_start
START=$SECONDS

# ============================================================================== 1. signed, two keys
PS=rpms/pib-signed-1.0-1.noarch.rpm
HS=rpms/hello-2.0-1.x86_64-signed.rpm
rpm_root
rbundle "$T/signed.tar.gz" false "keys/seller.asc=$P/keys/seller.asc keys/rpm.org.asc=$KEY_RPMORG" \
	"$P/pib-signed-1.0-1.noarch.rpm" "$HELLO_SIGNED"
put_bundle "$T/signed.tar.gz"
mkjob "$T/job1.json" b-rpm-1
run_agent "$T/job1.json" --report "$T/copy1.json"
is "signed: exit 0" "$RC" 0
is "signed: the pre-install report was accepted once" "$(accepted b-rpm-1:pre-install)" 1
is "signed: the final report was accepted once" "$(accepted b-rpm-1:final)" 1
received_report b-rpm-1:pre-install "$T/pre1.json"
received_report b-rpm-1:final "$T/final1.json"
check "signed: openssl verifies the pre-install report" openssl_ok "$T/pre1.json"
check "signed: openssl verifies the final report" openssl_ok "$T/final1.json"
check "signed: both reports are valid against report.schema.json" schema_ok "$T/pre1.json" "$T/final1.json"
check "signed: --report FILE is the final report as delivered" cmp "$T/copy1.json" "$T/final1.json"

V1="steps[name=verify].signatures[package=$PS].signed_by"
V2="steps[name=verify].signatures[package=$HS].signed_by"
facts_of "$T/pre1.json" phase build_id steps.name 'steps[name=install].status' "$V1" "$V2" \
	'steps[name=resolve].transaction.name' target.name target.installer
is "pre-install: phase" "$(fact phase)" pre-install
is "pre-install: build_id" "$(fact build_id)" b-rpm-1
is "pre-install: the steps up to resolve, no install step (sent before the install)" \
	"$(fact steps.name | tr '\n' ' ')" "configure fetch open verify prescan resolve"
is "pre-install: no install step status" "$(fact 'steps[name=install].status')" ""
is "pre-install: the rpm target was chosen" "$(fact target.name) $(fact target.installer)" "el rpm"
is "pre-install: the transaction is hello and pib-signed" \
	"$(fact 'steps[name=resolve].transaction.name' | sort | tr '\n' ' ')" "hello pib-signed "
is "pre-install: pib-signed signed_by keys/seller.fpr" "$(fact "$V1")" "$SELLER_FPR"
is "pre-install: hello signed_by rpm.org's key's fingerprint" "$(fact "$V2")" "$RPMORG_FPR"

facts_of "$T/final1.json" phase status build_id error target.name target.installer \
	'steps[name=verify].status' 'steps[name=verify].signatures.package' "$V1" "$V2" \
	'steps[name=verify].unsigned_accepted' 'steps[name=install].status' 'steps[name=install].tool' \
	'steps[name=install].started' 'steps[name=postscan].status' 'steps[name=prescan].status' \
	'packages[name=pib-signed].files' 'packages[name=hello].files' \
	'packages[name=pib-signed].sha256' 'packages[name=hello].sha256' 'packages[name=hello].version' \
	'packages[name=hello].source' 'packages[name=pib-signed].source' 'steps[status=failed].name'
is "final: phase and status" "$(fact phase) $(fact status)" "final succeeded"
is "final: no error" "$(fact error)" null
is "final: no step failed" "$(fact 'steps[status=failed].name')" ""
is "final: target el, installer rpm" "$(fact target.name) $(fact target.installer)" "el rpm"
is "final: the verify step passed" "$(fact 'steps[name=verify].status')" ok
is "final: the verify step's signatures list both packages" \
	"$(fact 'steps[name=verify].signatures.package' | sort | tr '\n' ' ')" "$HS $PS "
is "final: pib-signed signed_by keys/seller.fpr" "$(fact "$V1")" "$SELLER_FPR"
is "final: hello signed_by rpm.org's key's fingerprint (gpg)" "$(fact "$V2")" "$RPMORG_FPR"
is "final: nothing accepted unsigned" "$(fact 'steps[name=verify].unsigned_accepted')" ""
is "final: prescan, install and postscan ok" \
	"$(fact 'steps[name=prescan].status') $(fact 'steps[name=install].status') $(fact 'steps[name=postscan].status')" "ok ok ok"
is "final: the install's tool is rpm" "$(fact 'steps[name=install].tool')" rpm
has_line "final: pib-signed's file /opt/pib-signed/f is listed" "$(fact 'packages[name=pib-signed].files')" /opt/pib-signed/f
has_line "final: hello's /usr/bin/hello is listed" "$(fact 'packages[name=hello].files')" /usr/bin/hello
has_line "final: hello's README is listed" "$(fact 'packages[name=hello].files')" /usr/share/doc/hello-2.0/README
is "final: hello 2.0-1 from the bundle" "$(fact 'packages[name=hello].version') $(fact 'packages[name=hello].source')" "2.0-1 bundle"
is "final: pib-signed from the bundle" "$(fact 'packages[name=pib-signed].source')" bundle
is "final: the packages' digests are the files'" \
	"$(fact 'packages[name=pib-signed].sha256') $(fact 'packages[name=hello].sha256')" \
	"$(sha256_of "$P/pib-signed-1.0-1.noarch.rpm") $(sha256_of "$HELLO_SIGNED")"
is "final: the Statement's subject is the bundle and both installed packages" \
	"$("$PYTHON" "$TOOLS_DIR/report.py" --statement "$T/final1.json" subject.digest.sha256 2>&1 | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$BUNDLE_SHA" "$(sha256_of "$P/pib-signed-1.0-1.noarch.rpm")" "$(sha256_of "$HELLO_SIGNED")" | sort | tr '\n' ' ')"
pre_t=$(orch_log "[x['time'] for x in r if x['idempotency_key'] == 'b-rpm-1:pre-install' and x['status'] < 300][0]")
check "signed: the install started after the pre-install report was accepted" "$PYTHON" -c "
import datetime, sys
t = datetime.datetime.strptime('$(fact 'steps[name=install].started')', '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp()
sys.exit(0 if t >= $pre_t else 1)"
db=$(rpmdb_list "$T/root")
has_line "signed: pib-signed-1.0-1.noarch is in the root's rpmdb" "$(cut -d' ' -f1 <<<"$db")" pib-signed-1.0-1.noarch
has_line "signed: hello-2.0-1.x86_64 is in the root's rpmdb" "$(cut -d' ' -f1 <<<"$db")" hello-2.0-1.x86_64
check "signed: /opt/pib-signed/f and /usr/bin/hello are in the root" test -f "$T/root/opt/pib-signed/f" -a -f "$T/root/usr/bin/hello"
check_not "signed: no key was imported into the root's rpmdb (no gpg-pubkey)" rpm_installed "$T/root" gpg-pubkey
check "signed: cleanup: the build's state folder is gone" test ! -e "$T/state/builds/b-rpm-1"
check "signed: the build is recorded as done" test -s "$T/state/done/b-rpm-1"
check "signed: the agent left nothing in its TMPDIR" tmpdir_empty

# ============================================================================== 2. %post fails
rpm_root
rbundle "$T/postfail.tar.gz" true "" "$P/pib-postfail-1.0-1.noarch.rpm"
put_bundle "$T/postfail.tar.gz"
mkjob "$T/job2.json" b-rpm-postfail
run_agent "$T/job2.json"
is "postfail: exit 2 (failed)" "$RC" 2
is "postfail: the pre-install report was accepted once" "$(accepted b-rpm-postfail:pre-install)" 1
is "postfail: the final report was accepted once" "$(accepted b-rpm-postfail:final)" 1
received_report b-rpm-postfail:final "$T/final2.json"
check "postfail: openssl verifies the final report" openssl_ok "$T/final2.json"
check "postfail: the final report is valid against the schema" schema_ok "$T/final2.json"
facts_of "$T/final2.json" phase status error.code error.step error.message 'steps[name=install].status' \
	'steps[name=postscan].status' 'packages[name=pib-postfail].files'
is "postfail: phase final, status failed" "$(fact phase) $(fact status)" "final failed"
is "postfail: install.script_failed at install" "$(fact error.code) $(fact error.step)" "install.script_failed install"
contains "postfail: the message names %post of the package" "$(fact error.message)" "%post(pib-postfail-1.0-1.noarch)"
is "postfail: the install step failed, the postscan still ran" \
	"$(fact 'steps[name=install].status') $(fact 'steps[name=postscan].status')" "failed ok"
has_line "postfail: the report lists its file" "$(fact 'packages[name=pib-postfail].files')" /opt/pib-postfail/f
check "postfail: in the rpmdb all the same (rpm keeps a package whose %post failed)" rpm_installed "$T/root" pib-postfail
check "postfail: the build is recorded as done" test -s "$T/state/done/b-rpm-postfail"

# ============================================================================== 3. EICAR at prescan
rpm_root
rpmdb_list "$T/root" >"$T/eicar.db" # the listing first: a reader of an sqlite rpmdb may rewrite -shm
snap "$T/root" >"$T/eicar.snap"
rbundle "$T/eicar.tar.gz" true "" "$P/pib-eicar-1.0-1.noarch.rpm"
put_bundle "$T/eicar.tar.gz"
mkjob "$T/job3.json" b-rpm-eicar
run_agent "$T/job3.json"
is "eicar: exit 1 (findings)" "$RC" 1
is "eicar: no pre-install report was sent (the run stopped before it)" "$(posts b-rpm-eicar:pre-install)" 0
is "eicar: the final report was accepted once" "$(accepted b-rpm-eicar:final)" 1
received_report b-rpm-eicar:final "$T/final3.json"
check "eicar: openssl verifies the final report" openssl_ok "$T/final3.json"
check "eicar: the final report is valid against the schema" schema_ok "$T/final3.json"
facts_of "$T/final3.json" phase status error.code error.step 'steps[name=prescan].status' steps.name \
	'scan.detections.member' 'scan.detections.package' 'scan.detections.phase'
is "eicar: phase final, status findings" "$(fact phase) $(fact status)" "final findings"
is "eicar: scan.malware_found at prescan" "$(fact error.code) $(fact error.step)" "scan.malware_found prescan"
is "eicar: the detection: eicar.com of pib-eicar, at prescan" \
	"$(fact 'scan.detections.member') $(fact 'scan.detections.package') $(fact 'scan.detections.phase')" \
	"opt/pib-eicar/eicar.com pib-eicar prescan"
check_not "eicar: no install step in the report" grep -qx install <<<"$(fact steps.name)"
check_not "eicar: pib-eicar is not in the rpmdb" rpm_installed "$T/root" pib-eicar
snap "$T/root" >"$T/eicar.snap2"
same_tree "eicar: the root is unchanged (every file)" "$T/eicar.snap" "$T/eicar.snap2"
rpmdb_list "$T/root" >"$T/eicar.db2"
same_tree "eicar: the rpmdb lists the same packages" "$T/eicar.db" "$T/eicar.db2"
check "eicar: the agent left nothing in its TMPDIR" tmpdir_empty

diag "the three runs took $((SECONDS - START)) s"
done_testing
