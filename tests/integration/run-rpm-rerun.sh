#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent run into an rpm root (tests/tools/make-rpm-root.sh --os rhel), killed with SIGKILL
# while a %post runs inside the rpm transaction, then run again with the same job (the rpm
# twin of run-rerun.sh's "killed during install"). rpm registers a package in the rpmdb before
# its %post runs, so the killed run leaves pib-rerun-slow in the rpmdb at the bundle's version;
# the rerun installs it again (installers/rpm_install.c: --replacepkgs) and finishes:
#   - the bundle's rpm target (allow_unsigned) holds pib-rerun-slow (built here: its %post
#     writes /var/tmp/pib-rerun.started, then sleeps 300 s unless /var/tmp/pib-rerun.go exists)
#     and pib-ok (tests/tools/make-test-rpms.sh);
#   - the agent is killed once the marker is written; no process of the %post is left;
#   - with the go file in the root, the rerun ends with exit 0, the final report succeeded and
#     records the rerun (resumed.from installing), the install output says pib-rerun-slow was
#     already in the rpm database and is installed again; both packages are in the rpmdb exactly
#     once; the pre-install and the final report were accepted once each.
# Every wait is a bounded loop; every run is bounded by run_agent's timeout.
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup

command -v rpm >/dev/null && command -v rpmbuild >/dev/null || bail_out "rpm and rpmbuild are needed (apt-get install rpm)"
[ -f "$DEB_HELLO" ] || bail_out "no deb fixture $DEB_HELLO"
P=$T/rpms
"$TOOLS_DIR/make-test-rpms.sh" "$P" || bail_out "make-test-rpms.sh failed"
"$TOOLS_DIR/make-rpm-root.sh" "$T/rpm-template" --os rhel >"$T/mkroot.log" 2>&1 ||
	bail_out "make-rpm-root.sh failed: $(tail -n 5 "$T/mkroot.log")"

rpmr() { # rpmr ROOT ARGS...: this machine's rpm on ROOT's own database
	local r=$1
	shift
	rpm --root "$r" --dbpath /var/lib/rpm "$@"
}
# in_root: the processes whose root directory is $T/root (rpm chroots the scriptlets into it)
in_root() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$T/root" ] && echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
	done
}
SLEEP_MARK="sleep 300.41"
# leftovers of the killed run, should there be any (a failed check): only processes in this
# root or running this test's own sleep
kill_leftovers() {
	local p
	for p in $(in_root | cut -d' ' -f1) $(pgrep -f -- "$SLEEP_MARK"); do
		kill -KILL "$p" 2>/dev/null
	done
}
_rr_cleanup() {
	kill_leftovers
	[ -n "${AGENT_PID:-}" ] && kill -KILL "$AGENT_PID" 2>/dev/null
	_run_cleanup
}
trap _rr_cleanup EXIT

# pib-rerun-slow: its %post writes the marker, then sleeps unless the go file exists
mkdir -p "$T/rpmbuild/SPECS" "$T/rpmbuild/tmp"
cat >"$T/rpmbuild/SPECS/pib-rerun-slow.spec" <<EOF
Name: pib-rerun-slow
Version: 1.0
Release: 1
Summary: pib-agent test package: a %post that sleeps the first time
License: MIT
BuildArch: noarch
%description
Its %post writes /var/tmp/pib-rerun.started, then sleeps 300 s unless /var/tmp/pib-rerun.go exists.
%prep
%build
%install
mkdir -p %{buildroot}/opt/pib-rerun-slow
echo slow > %{buildroot}/opt/pib-rerun-slow/f
%files
/opt/pib-rerun-slow/f
%post
mkdir -p /var/tmp
echo "started \$1" >> /var/tmp/pib-rerun.started
if [ -e /var/tmp/pib-rerun.go ]; then
	echo "configured \$1" >> /var/tmp/pib-rerun.configured
	exit 0
fi
$SLEEP_MARK
EOF
rpmbuild -bb --define "_topdir $T/rpmbuild" --define "_tmppath $T/rpmbuild/tmp" --define "debug_package %{nil}" \
	"$T/rpmbuild/SPECS/pib-rerun-slow.spec" >"$T/rpmbuild.log" 2>&1 ||
	bail_out "rpmbuild pib-rerun-slow failed: $(tail -n 5 "$T/rpmbuild.log")"
SLOW=$T/rpmbuild/RPMS/noarch/pib-rerun-slow-1.0-1.noarch.rpm
[ -f "$SLOW" ] || bail_out "rpmbuild made no $SLOW"

# the bundle: a deb target (debian 12, hello) and an rpm target "el" (rhel >=8, allow_unsigned)
"$PYTHON" - "$DEB_HELLO" "$SLOW" "$P/pib-ok-1.0-1.noarch.rpm" >"$T/bundle.json" <<'PY' || bail_out "manifest"
import json, os, sys
deb = sys.argv[1]
t = {"name": "el", "os": [{"id": "rhel", "versions": [">=8"]}], "arch": ["x86_64"],
     "installer": "rpm", "allow_unsigned": True,
     "packages": [{"file": "rpms/" + os.path.basename(p), "_src": p} for p in sys.argv[2:]]}
d = {"name": "debian", "os": [{"id": "debian", "versions": ["12"]}], "arch": ["x86_64"],
     "installer": "deb", "packages": [{"file": "debs/" + os.path.basename(deb), "_src": deb}]}
print(json.dumps({"schema": "pib-agent/bundle/v1",
                  "product": {"name": "pib-run-rpm-rerun", "version": "1.0", "seller": "pib-agent tests"},
                  "targets": [d, t]}, indent=2))
PY
mkbundle "$T/slow.tar.gz" --manifest "$T/bundle.json"

orch_start
START=$SECONDS
rm -rf "$T/root"
cp -a "$T/rpm-template" "$T/root" || bail_out "cp -a the rpm root failed"
put_bundle "$T/slow.tar.gz"
mkjob "$T/job.json" b-rpm-kill

# --- the first run, killed with SIGKILL while the %post sleeps
mkdir -p "$T/agent-tmp"
TMPDIR=$T/agent-tmp "$PIB_AGENT" run --job "$T/job.json" --root "$T/root" --state-dir "$T/state" \
	</dev/null >"$T/bg.out" 2>"$T/bg.err" &
AGENT_PID=$!
started() { [ -e "$T/root/var/tmp/pib-rerun.started" ] && pgrep -f -- "$SLEEP_MARK" >/dev/null; }
n=0
while [ $n -lt 1200 ] && ! started && kill -0 "$AGENT_PID" 2>/dev/null; do
	sleep 0.1
	n=$((n + 1))
done
if started; then
	ok "first run: the %post is running (marker written, its sleep started)"
	diag "the processes in the root:" "$(in_root)"
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	ok "first run: killed with SIGKILL while the %post sleeps"
else
	fail "first run: the %post is running (marker written, its sleep started)" "$(tail -n 15 "$T/bg.err")"
	kill -9 "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
fi
AGENT_PID=
# this machine's rpm runs on the root in the agent's namespaces (a root without its own rpm,
# README): its init dies with the agent, and the kernel ends rpm and the %post with it
n=0
while [ $n -lt 50 ] && { [ -n "$(in_root)" ] || pgrep -f -- "$SLEEP_MARK" >/dev/null; }; do
	sleep 0.1
	n=$((n + 1))
done
left=$(in_root)
is "first run: no process is left in the root after the kill" "$left" ""
is "first run: no process runs the %post's sleep after the kill" "$(pgrep -f -- "$SLEEP_MARK" | tr '\n' ' ')" ""
check "first run: pib-rerun-slow is in the rpmdb already (rpm registers it before %post)" \
	rpmr "$T/root" -q pib-rerun-slow
is "first run: the pre-install report was accepted, no final report yet" \
	"$(accepted b-rpm-kill:pre-install) $(accepted b-rpm-kill:final)" "1 0"

# --- the rerun: the %post finishes at once
touch "$T/root/var/tmp/pib-rerun.go"
R0=$SECONDS
run_agent "$T/job.json"
diag "the rerun took $((SECONDS - R0)) s"
check_not "rerun: no process runs the %post's sleep" pgrep -f -- "$SLEEP_MARK"
is "rerun: exit 0" "$RC" 0
[ "$RC" = 0 ] || diag "the rerun's stderr:" "$(tail -n 20 "$T/run.err")"
check "rerun: it says it continued an interrupted install" grep -q "stopped during the install" "$T/run.err"
is "rerun: pre-install and final accepted once each" \
	"$(accepted b-rpm-kill:pre-install) $(accepted b-rpm-kill:final)" "1 1"
received_report b-rpm-kill:final "$T/final.json" || fail "rerun: the final report was received"
facts_of "$T/final.json" phase status error resumed.from 'steps[name=install].status' \
	'steps[name=install].tool' 'steps[name=install].output' 'steps[status=failed].name' target.name
is "rerun: the final report: phase final, status succeeded" "$(fact phase) $(fact status)" "final succeeded"
is "rerun: no error" "$(fact error)" null
is "rerun: no step failed" "$(fact 'steps[status=failed].name')" ""
is "rerun: the rpm target was chosen" "$(fact target.name)" el
is "rerun: the final report records the rerun" "$(fact resumed.from)" installing
is "rerun: the install step: ok, tool rpm" "$(fact 'steps[name=install].status') $(fact 'steps[name=install].tool')" "ok rpm"
contains "rerun: the install output says pib-rerun-slow was in the rpmdb and is installed again" \
	"$(fact 'steps[name=install].output')" \
	"pib-rerun-slow-1.0-1.noarch is already in the rpm database (an earlier run was stopped during the install): installed again"
contains "rerun: rpm ran with --replacepkgs" "$(fact 'steps[name=install].output')" "--replacepkgs"
q=$(rpmr "$T/root" -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n' 2>/dev/null | sort)
is "rerun: pib-rerun-slow is in the rpmdb exactly once" "$(grep -c '^pib-rerun-slow-1.0-1.noarch$' <<<"$q")" 1
is "rerun: pib-ok is in the rpmdb exactly once" "$(grep -c '^pib-ok-1.0-1.noarch$' <<<"$q")" 1
check "rerun: the %post of pib-rerun-slow finished" grep -q configured "$T/root/var/tmp/pib-rerun.configured"
check "rerun: pib-ok's %post ran" test -s "$T/root/var/log/pib-ok.post"
check "rerun: the packages' files are in the root" test -f "$T/root/opt/pib-rerun-slow/f" -a -f "$T/root/opt/pib-ok/hello.txt"
is "rerun: no process is left in the root" "$(in_root)" ""
check "rerun: the build is recorded as done" test -s "$T/state/done/b-rpm-kill"
diag "the two runs took $((SECONDS - START)) s"
done_testing
