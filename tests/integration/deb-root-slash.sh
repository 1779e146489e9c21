#!/bin/bash
# SPDX-License-Identifier: MIT
# `validate --root /` (a real build's case: the root is the running system) installs with the
# system's own apt, directly, not contained. Run here on a throwaway view of this machine: in a
# private mount namespace, an overlay whose lower layer is this machine's / and whose upper
# layer is a tmpfs, chrooted into, so that the machine itself is never written. apt takes a file
# argument only when its name ends in .deb, which the bundle's private copies do not: the agent
# gives it links of such names (an install on / failed with "Unsupported file" without them).
. "$(dirname "$0")/lib.sh"
setup

dpkg-query -W -f='${Status}' hello 2>/dev/null | grep -q "ok installed" &&
	bail_out "this machine has hello installed: the test installs it on a view of /"
[ -x /usr/bin/apt-get ] || bail_out "this machine has no apt-get"

B=$T/hello.tar.gz
mkbundle "$B" --deb "$DEB_HELLO"
V=$T/view
mkdir -p "$V"
cat >"$T/in-view.sh" <<EOF2
set -e
mount -t tmpfs tmpfs "$V"
mkdir -p "$V/u" "$V/w" "$V/m"
mount -t overlay overlay -o lowerdir=/,upperdir="$V/u",workdir="$V/w" "$V/m"
mount --rbind /proc "$V/m/proc"
mount --rbind /dev "$V/m/dev"
mount --rbind /tmp "$V/m/tmp"
set +e
TMPDIR="$T/agent-tmp" timeout -k 10 300 chroot "$V/m" "$PIB_AGENT" validate "$B" --root / --no-scan \
	--report "$REPORT" </dev/null >"$T/agent.out" 2>"$T/agent.err"
echo \$? >"$T/rc"
chroot "$V/m" dpkg-query -W -f='\${Status}' hello >"$T/status-in-view" 2>&1
exit 0
EOF2
mkdir -p "$T/agent-tmp"
unshare -m --propagation private /bin/sh "$T/in-view.sh" || bail_out "cannot make the overlay view of / (overlayfs, unshare)"
RC=$(cat "$T/rc")
RUN_ID=1
diag "ran: pib-agent validate $B --root / --no-scan (in the view) -> exit $RC"
schema_check
is "exit 0" "$RC" 0
report_exists
is "status incomplete (--no-scan)" "$(rep status)" incomplete
is "the install step passed" "$(rep 'steps[name=install].status')" ok
is "with the system's own apt-get" "$(rep 'steps[name=install].tool')" apt-get
is "not contained: the root is the running system" "$(rep 'steps[name=install].contained')" false
contains "the report says why" "$(rep 'steps[name=install].path')" "run directly on / (the running system, --root /)"
contains "apt was given a .deb file name" "$(rep 'steps[name=install].output')" "_2.10-3_amd64.deb"
is "hello is installed in the view" "$(cat "$T/status-in-view")" "install ok installed"
is "this machine itself is untouched: hello is not installed here" \
	"$(dpkg-query -W -f='${Status}' hello 2>/dev/null | grep -c 'ok installed')" 0
is "nothing is left mounted under the test directory" "$(mounts_under "$T")" ""

done_testing
