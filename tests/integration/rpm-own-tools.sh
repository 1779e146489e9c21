#!/bin/bash
# SPDX-License-Identifier: MIT
# A root that has its own rpm: the agent runs that rpm contained inside the root
# (base/contain.c: pivot_root, new mount, PID, IPC, UTS and network namespaces), never this
# machine's rpm with --root. The root is tests/tools/make-rpm-own-root.sh's: a Debian 12 root
# with Debian's rpm 4.18 installed, os-release RHEL 9.4, %_dbpath /var/lib/rpm, and
# pib-own-base providing /bin/sh. Packages from tests/tools/make-test-rpms.sh (pib-ok,
# pib-postfail, pib-prefail) and two built here whose %post probes the container:
#  - pib-netprobe: writes what it sees of the network (/proc/net/dev, /sys/class/net) and
#    whether it can connect to a listener on this machine's 127.0.0.1: only a loopback, no
#  - pib-sleeper: starts a detached background `sleep` (setsid): gone when the agent exits
#  - pib-ok (with them): install step contained, tool rpm, the command the root's /usr/bin/rpm
#    without --root, pib-ok in the root's rpmdb and its %post run
#  - pib-postfail: install.script_failed; pib-prefail: install.script_failed, not installed
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3 # not a slow pyenv shim
. "$(dirname "$0")/lib.sh"
setup
gold_root

P=$T/rpms
"$TOOLS_DIR/make-test-rpms.sh" "$P" >"$T/mkrpms.out" 2>&1 || bail_out "make-test-rpms.sh failed: $(tail -n 20 "$T/mkrpms.out")"


# rpmdb ROOT: the root's rpmdb read by this machine's rpm, sorted.
rpmdb() {
	rpm --root "$1" --dbpath /var/lib/rpm -qa 2>&1 | sort
}

# A listener on this machine's 127.0.0.1 (a port of its own): it logs each connection.
LISTENER_PID=
stop_listener() {
	if [ -n "$LISTENER_PID" ]; then
		kill "$LISTENER_PID" 2>/dev/null
		wait "$LISTENER_PID" 2>/dev/null
		LISTENER_PID=
	fi
}
trap 'stop_listener; _cleanup' EXIT
"$PYTHON" -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, a = s.accept()
    with open(sys.argv[2], "a") as log:
        log.write("connection\n")
    c.close()
' "$T/port" "$T/connections" &
LISTENER_PID=$!
for _ in $(seq 50); do
	[ -s "$T/port" ] && break
	sleep 0.1
done
PORT=$(cat "$T/port" 2>/dev/null) || bail_out "the listener on 127.0.0.1 did not start"
# the control: from this machine, the listener is reached
bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null && sleep 0.3
is "control: this machine reaches the listener on 127.0.0.1:$PORT" "$(cat "$T/connections" 2>&1)" connection

MARK=300.$$ # the sleeper's argument: sleep $MARK, found with pgrep -f
# build_pkg NAME POST: a package NAME that ships /opt/NAME/f and whose %post is POST.
build_pkg() {
	local name=$1 post=$2 top=$T/rpmbuild
	mkdir -p "$top/SPECS" "$top/tmp"
	cat >"$top/SPECS/$name.spec" <<EOF
Name: $name
Version: 1.0
Release: 1
Summary: pib-agent test package $name
License: MIT
BuildArch: noarch

%description
A package of pib-agent's rpm-own-tools test: its %post probes the container.

%prep
%build
%install
mkdir -p %{buildroot}/opt/$name
echo "$name 1.0" > %{buildroot}/opt/$name/f

%post
$post

%files
/opt/$name
EOF
	rpmbuild --define "_topdir $top" --define "_tmppath $top/tmp" --define "debug_package %{nil}" \
		--define "__os_install_post %{nil}" --define "_build_id_links none" --nodeps \
		-bb "$top/SPECS/$name.spec" >"$T/rpmbuild.out" 2>&1 ||
		bail_out "rpmbuild $name failed: $(tail -n 20 "$T/rpmbuild.out")"
	cp "$top/RPMS/noarch/$name-1.0-1.noarch.rpm" "$P/" || bail_out "no $name rpm"
}
build_pkg pib-netprobe "mkdir -p /var/log
cat /proc/net/dev > /var/log/pib-netprobe.dev 2>&1
ls /sys/class/net > /var/log/pib-netprobe.sys 2>&1
if /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/$PORT' 2>/dev/null; then echo connected; else echo 'no connection'; fi > /var/log/pib-netprobe.tcp
exit 0"
build_pkg pib-sleeper "mkdir -p /var/log
setsid -f sleep $MARK </dev/null >/dev/null 2>&1
echo started > /var/log/pib-sleeper.started
exit 0"

# bundle OUT PKG...: a bundle of the rpms (file names under $P), unsigned allowed.
bundle() {
	local out=$1 pkgs='' f
	shift
	for f in "$@"; do
		pkgs+="${pkgs:+, }{\"file\": \"rpms/$f\", \"_src\": \"$P/$f\"}"
	done
	cat >"$out.json" <<EOF
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "pib-own-tools", "version": "1.0", "seller": "pib-agent tests"},
  "targets": [
    {"name": "rhel", "os": [{"id": "rhel", "versions": [">=9"]}], "arch": ["x86_64"], "installer": "rpm",
     "packages": [$pkgs], "allow_unsigned": true}
  ]
}
EOF
	mkbundle "$out" --manifest "$out.json"
}

R=$T/root
"$TOOLS_DIR/make-rpm-own-root.sh" "$R" >"$T/mkroot.out" 2>&1 || bail_out "make-rpm-own-root.sh failed: $(tail -n 20 "$T/mkroot.out")"
check "the root has its own rpm: /usr/bin/rpm" test -x "$R/usr/bin/rpm"
is "the root's rpmdb holds pib-own-base only" "$(rpmdb "$R")" pib-own-base-1.0-1.noarch

# ---------------------------------------------------------------- pib-ok, pib-netprobe, pib-sleeper
bundle "$T/ok.tar.gz" pib-ok-1.0-1.noarch.rpm pib-netprobe-1.0-1.noarch.rpm pib-sleeper-1.0-1.noarch.rpm
start=$(date +%s)
validate "$T/ok.tar.gz" --root "$R" --no-scan
took=$(($(date +%s) - start))
is "pib-ok: exit code 0" "$RC" 0
status_good "pib-ok"
is "pib-ok: the install step's tool is rpm" "$(rep 'steps[name=install].tool')" rpm
is "pib-ok: the install step is contained" "$(rep 'steps[name=install].contained')" true
path=$(rep 'steps[name=install].path')
contains "pib-ok: the path says the root's own tools run contained" "$path" \
	"the root's own tools run contained inside it"
is "pib-ok: the path says neither 'not contained' nor 'repositories'" "$(grep -cE 'not contained|repositories' <<<"$path")" 0
out=$(rep 'steps[name=install].output')
cmd=$(grep '^\$ ' <<<"$out" | head -n 1)
contains "pib-ok: the command is the root's /usr/bin/rpm -U" "$cmd" '$ /usr/bin/rpm -U '
if grep -qE -- "--root|--dbpath|$R" <<<"$out"; then
	fail "pib-ok: no command has --root, --dbpath or the root's host path" "$(grep '^\$ ' <<<"$out")"
else
	ok "pib-ok: no command has --root, --dbpath or the root's host path"
fi
contains "pib-ok: rpm reads the packages offered inside the root under /run/pib-agent" "$cmd" \
	"/run/pib-agent/"
contains "pib-ok: rpm -V ran (contained too)" "$out" '$ /usr/bin/rpm -V -- '
is "pib-ok: the root's rpmdb" "$(rpmdb "$R" | tr '\n' ' ')" \
	"pib-netprobe-1.0-1.noarch pib-ok-1.0-1.noarch pib-own-base-1.0-1.noarch pib-sleeper-1.0-1.noarch "
is "pib-ok: the root's own rpm agrees (chroot ROOT rpm -q pib-ok)" "$(chroot "$R" /usr/bin/rpm -q pib-ok 2>&1)" \
	pib-ok-1.0-1.noarch
is "pib-ok: its file" "$(cat "$R/opt/pib-ok/hello.txt" 2>&1)" "hello from pib-ok"
is "pib-ok: its %post ran" "$(cat "$R/var/log/pib-ok.post" 2>&1)" "pib-ok post 1"
is "pib-ok: the report lists pib-ok's file (read by the contained rpm -q)" "$(report_files pib-ok)" \
	/opt/pib-ok/hello.txt
check_not "pib-ok: nothing is left at the root's /run/pib-agent" test -e "$R/run/pib-agent"

# the network, as the %post saw it
ifaces() { # the interface names of a /proc/net/dev listing
	awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "$1" | sort | tr '\n' ' '
}
check "control: this machine has an interface other than lo" test "$(ifaces /proc/net/dev)" != "lo "
check "netprobe: its %post ran" test -s "$R/var/log/pib-netprobe.dev"
is "netprobe: /proc/net/dev shows only the loopback" "$(ifaces "$R/var/log/pib-netprobe.dev")" "lo "
is "netprobe: /sys/class/net shows only the loopback" "$(tr '\n' ' ' <"$R/var/log/pib-netprobe.sys" 2>&1)" "lo "
is "netprobe: it cannot connect to this machine's 127.0.0.1:$PORT" "$(cat "$R/var/log/pib-netprobe.tcp" 2>&1)" \
	"no connection"
is "netprobe: the listener saw only the control's connection" "$(cat "$T/connections" 2>&1)" connection

# the sleeper: started by the %post, gone with the agent
is "sleeper: its %post started the background sleep" "$(cat "$R/var/log/pib-sleeper.started" 2>&1)" started
check "sleeper: the agent did not wait for it ($took s)" test "$took" -lt 200
is "sleeper: no 'sleep $MARK' is left running" "$(pgrep -f "^sleep $MARK\$" | tr '\n' ' ')" ""
is "sleeper: the postscan found no process left" \
	"$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" 'steps[name=postscan].processes_left' 2>&1)" "[[]]"
sleep "$MARK" >/dev/null 2>&1 &
control=$!
check "control: pgrep finds a 'sleep $MARK' of this machine" pgrep -f "^sleep $MARK\$"
kill "$control"
wait "$control" 2>/dev/null
stop_listener

# ---------------------------------------------------------------- a failing %post, a failing %pre
R=$T/root-fail
"$TOOLS_DIR/make-rpm-own-root.sh" "$R" >"$T/mkroot.out" 2>&1 || bail_out "make-rpm-own-root.sh failed: $(tail -n 20 "$T/mkroot.out")"
bundle "$T/postfail.tar.gz" pib-postfail-1.0-1.noarch.rpm
validate "$T/postfail.tar.gz" --root "$R" --no-scan
is "postfail: exit code 2" "$RC" 2
is "postfail: status failed" "$(rep status)" failed
is "postfail: error.code" "$(rep error.code)" install.script_failed
contains "postfail: the error names the scriptlet" "$(rep error.message)" "%post(pib-postfail-1.0-1.noarch) scriptlet failed"
is "postfail: contained" "$(rep 'steps[name=install].contained')" true
contains "postfail: the output has the scriptlet's own message" "$(rep 'steps[name=install].output')" \
	"pib-postfail: failing on purpose"
is "postfail: rpm left it installed" "$(rpmdb "$R" | tr '\n' ' ')" "pib-own-base-1.0-1.noarch pib-postfail-1.0-1.noarch "

bundle "$T/prefail.tar.gz" pib-prefail-1.0-1.noarch.rpm
before_db=$(rpmdb "$R")
validate "$T/prefail.tar.gz" --root "$R" --no-scan
is "prefail: exit code 2" "$RC" 2
is "prefail: error.code" "$(rep error.code)" install.script_failed
contains "prefail: the error names the scriptlet" "$(rep error.message)" "%prein(pib-prefail-1.0-1.noarch) scriptlet failed"
is "prefail: contained" "$(rep 'steps[name=install].contained')" true
is "prefail: not installed, the rpmdb unchanged" "$(rpmdb "$R")" "$before_db"
check_not "prefail: its file is not in the root" test -e "$R/opt/pib-prefail/f"

done_testing
