#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 9, attack 1: package files must not land on the host through absolute symlinks of the
# root. The root's /var/x points at a throwaway directory of the test by its absolute host path,
# and a package ships /var/x/y.txt; a package ships the link /usr/share/l -> another throwaway
# directory holding victim.conf, and a second one (Pre-Depends on it) ships
# /usr/share/l/victim.conf. Contained, the absolute links resolve inside the root: the host's
# directories stay as they were, whatever the run's status.
. "$(dirname "$0")/contain-lib.sh"
contain_setup

HOSTSIDE=$T/hostside
VICTIM=$T/victimdir
mkdir -p "$HOSTSIDE" "$VICTIM"
echo "the host's own victim.conf" >"$VICTIM/victim.conf"
ln -s "$HOSTSIDE" "$R/var/x"
snap "$HOSTSIDE" "$VICTIM" >"$T/host.before"

# --- a file through the root's own link
echo "written through /var/x" >"$T/y.txt"
pkg_start pib-varx
mkdir -p "$PKG/var/x"
cp "$T/y.txt" "$PKG/var/x/y.txt"
pkg_build "$T/varx.deb"
mkbundle "$T/varx.tar.gz" --deb "$T/varx.deb"
validate "$T/varx.tar.gz" --root "$R" --db "$T/db"
report_exists "varx"
diag "status $(rep status), install $(rep 'steps[name=install].status') $(rep 'steps[name=install].error.code')"
is "varx: nothing written into the host directory the root's /var/x names" \
	"$(ls -A "$HOSTSIDE")" ""
check_not "varx: no $HOSTSIDE/y.txt on the host" test -e "$HOSTSIDE/y.txt"
root_unmounted "varx"

# --- a link shipped by one package, a file through it shipped by the next
pkg_start pib-link
mkdir -p "$PKG/usr/share"
ln -s "$VICTIM" "$PKG/usr/share/l"
pkg_build "$T/link.deb"
echo "overwritten by pib-victim" >"$T/victim.conf"
pkg_start pib-victim "Depends: pib-link"
mkdir -p "$PKG/usr/share/l"
cp "$T/victim.conf" "$PKG/usr/share/l/victim.conf"
pkg_build "$T/victim.deb"
mkbundle "$T/link.tar.gz" --deb "$T/link.deb"
validate "$T/link.tar.gz" --root "$R" --db "$T/db"
report_exists "link"
diag "status $(rep status), install $(rep 'steps[name=install].status') $(rep 'steps[name=install].error.code')"
root_unmounted "link"
# the link is in the root now (whichever way it resolves), so the next package goes through it
mkbundle "$T/victim.tar.gz" --deb "$T/victim.deb"
validate "$T/victim.tar.gz" --root "$R" --db "$T/db"
report_exists "link+victim"
diag "status $(rep status), install $(rep 'steps[name=install].status') $(rep 'steps[name=install].error.code')"
is "link+victim: the host's victim.conf is not overwritten" \
	"$(cat "$VICTIM/victim.conf")" "the host's own victim.conf"
is "link+victim: nothing else appeared in the host's victim directory" "$(ls -A "$VICTIM")" victim.conf
root_unmounted "link+victim"

snap "$HOSTSIDE" "$VICTIM" >"$T/host.after"
same_tree "both host directories are exactly as before (snapshot)" "$T/host.before" "$T/host.after"

done_testing
