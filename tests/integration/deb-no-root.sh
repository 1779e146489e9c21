#!/bin/bash
# SPDX-License-Identifier: MIT
# validate without --root never installs into the running system: it resolves read-only
# against the host's package database and stops before install with status incomplete.
# The host's dpkg database and file system are compared before and after.
. "$(dirname "$0")/lib.sh"
setup

# A package the host does not have: hello, else figlet.
pkg=
for cand in hello figlet; do
	if [ "$(dpkg_status / "$cand")" = "" ] && ! command -v "$cand" >/dev/null; then
		pkg=$cand
		break
	fi
done
[ -n "$pkg" ] || bail_out "the host has both hello and figlet installed; no package left to try"
case $pkg in
hello) deb=$DEB_HELLO bin=/usr/bin/hello ;;
figlet) deb=$DEB_FIGLET bin=/usr/bin/figlet-figlet ;;
esac
diag "package: $pkg"
check_not "precondition: $bin does not exist on the host" test -e "$bin"
check_not "precondition: /usr/share/doc/$pkg does not exist on the host" test -e "/usr/share/doc/$pkg"

B=$T/$pkg.tar.gz
mkbundle "$B" --deb "$deb"
host_snap() { snap /var/lib/dpkg/status /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/dpkg/alternatives; }
host_snap >"$T/before"

validate "$B" --os debian:12 --no-scan
is "exit code 0" "$RC" 0
report_exists
is "status incomplete" "$(rep status)" incomplete
is "install step skipped" "$(rep 'steps[name=install].status')" skipped
reason=$(rep 'steps[name=install].reason')
if [ -n "$reason" ] && [ "$reason" != null ]; then
	ok "install step gives a reason ($reason)"
else
	fail "install step gives a reason" "steps: $(rep steps)"
fi
is "resolve step ran against the host's database" "$(rep 'steps[name=resolve].status')" ok
is "no failed step" "$(rep 'steps[status=failed].name')" ""
is "error is null" "$(rep error)" null
is "the debian target is chosen" "$(rep target.name)" debian
host_snap >"$T/after"
same_tree "the host's dpkg database is unchanged (status, info/, updates/, alternatives/)" "$T/before" "$T/after"
check_not "$bin did not appear on the host" test -e "$bin"
is "dpkg on the host does not know $pkg" "$(dpkg_status / "$pkg")" ""
check_not "/usr/share/doc/$pkg did not appear on the host" test -e "/usr/share/doc/$pkg"

done_testing
