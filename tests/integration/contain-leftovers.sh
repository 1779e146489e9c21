#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 9, attack 12 (the parts a contained install answers): what a maintainer script leaves
# behind must not outlive the install or hide from postscan.
#   - a postinst starts a detached background process (setsid nohup) that writes a file 8 s
#     later: after the run no such process is alive and the file never appears (or the report
#     lists the process);
#   - a postinst drops the EICAR test file and mounts a tmpfs over its directory: after the run
#     nothing is mounted under the root on the host and postscan finds the file (findings).
. "$(dirname "$0")/contain-lib.sh"
contain_setup

BG_MARK='^sleep 8\.31$'
# shellcheck disable=SC2034 # read by contain-lib.sh at exit
CONTAIN_MARKERS=("$BG_MARK")

# ---------------------------------------------------------------- a background process
cat >"$T/postinst-bg" <<'EOF'
#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
mkdir -p /var/lib/pib-bg
setsid nohup sh -c 'sleep 8.31; echo late >/var/lib/pib-bg/late' </dev/null >/dev/null 2>&1 &
echo started >/var/lib/pib-bg/started
EOF
pkg_start pib-bg
pkg_script postinst "$T/postinst-bg"
pkg_build "$T/bg.deb"
mkbundle "$T/bg.tar.gz" --deb "$T/bg.deb"
validate "$T/bg.tar.gz" --root "$R" --db "$T/db"
alive=$(pgrep -af -- "$BG_MARK")
report_exists "background"
status_good "background"
check "background: the postinst ran (it left /var/lib/pib-bg/started)" test -e "$R/var/lib/pib-bg/started"
listed=no
report_mentions "$REPORT" "sleep 8.31" && listed=yes
diag "background: the report names the process: $listed"
if [ -z "$alive" ]; then
	ok "background: no process the postinst started is alive after the run"
elif [ $listed = yes ]; then
	ok "background: a process the postinst started is alive after the run, and the report lists it"
else
	fail "background: no process the postinst started is alive after the run (or the report lists it)" \
		"alive (pid, command line): $alive"
fi
root_unmounted "background"
sleep 10
if [ ! -e "$R/var/lib/pib-bg/late" ]; then
	ok "background: 10 s after the run the late file was not written"
elif [ $listed = yes ]; then
	ok "background: the late file was written after the run, but the report lists the process"
else
	fail "background: 10 s after the run the late file was not written" "$(ls -la "$R/var/lib/pib-bg/")"
fi
marker_kill "$BG_MARK"

# ---------------------------------------------------------------- a tmpfs over a dropped file
b64=$(eicar | base64 -w0)
cat >"$T/postinst-hide" <<EOF
#!/bin/sh
set -e
[ "\$1" = configure ] || exit 0
mkdir -p /var/lib/pib-hide
echo $b64 | base64 -d >/var/lib/pib-hide/dropped.com
if mount -t tmpfs pib-hide /var/lib/pib-hide; then
	echo mounted >/var/lib/pib-hide.mount
else
	echo "mount failed: \$?" >/var/lib/pib-hide.mount
fi
echo "a decoy on the tmpfs" >/var/lib/pib-hide/decoy.txt
EOF
pkg_start pib-hide
pkg_script postinst "$T/postinst-hide"
pkg_build "$T/hide.deb"
mkbundle "$T/hide.tar.gz" --deb "$T/hide.deb"
validate "$T/hide.tar.gz" --root "$R" --db "$T/db"
root_unmounted "tmpfs"
report_exists "tmpfs"
diag "tmpfs: the postinst's mount: $(cat "$R/var/lib/pib-hide.mount" 2>&1)" \
	"status $(rep status), install $(rep 'steps[name=install].status'), postscan $(rep 'steps[name=postscan].status') $(rep 'steps[name=postscan].error.code')"
is "tmpfs: the install step ok" "$(rep 'steps[name=install].status')" ok
is "tmpfs: exit 1 (findings)" "$RC" 1
is "tmpfs: status findings" "$(rep status)" findings
is "tmpfs: postscan failed with scan.malware_found" "$(rep 'steps[name=postscan].error.code')" scan.malware_found
has_line "tmpfs: postscan found the dropped file under the mount point" "$(detections)" \
	"/var/lib/pib-hide/dropped.com|||$EICAR_SIG|postscan|signature"
check "tmpfs: the dropped file is on the root's disk" test -s "$R/var/lib/pib-hide/dropped.com"

done_testing
