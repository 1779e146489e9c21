#!/bin/bash
# SPDX-License-Identifier: MIT
# figlet's maintainer script runs chrooted in the root: after the install its postinst has
# registered the figlet alternative, and the conffile is in place.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"
check_not "precondition: the gold root has no figlet alternative" test -e "$R/etc/alternatives/figlet"
host_alt() { update-alternatives --query figlet 2>/dev/null | grep '^Value:' || echo none; }
host_before=$(host_alt)
B=$T/figlet.tar.gz
mkbundle "$B" --deb "$DEB_FIGLET"

validate "$B" --root "$R" --no-scan
is "exit code 0" "$RC" 0
report_exists
status_good
is "dpkg: figlet is 'install ok installed'" "$(dpkg_status "$R" figlet)" "install ok installed"

# postinst: update-alternatives --install /usr/bin/figlet figlet /usr/bin/figlet-figlet 30
is "the alternative figlet points at /usr/bin/figlet-figlet" \
	"$(readlink "$R/etc/alternatives/figlet")" /usr/bin/figlet-figlet
is "/usr/bin/figlet is the alternatives link" "$(readlink "$R/usr/bin/figlet")" /etc/alternatives/figlet
query=$(update-alternatives --root "$R" --query figlet 2>&1)
contains "update-alternatives --query knows figlet" "$query" "Value: /usr/bin/figlet-figlet"
is "the host's own figlet alternative is untouched" "$(host_alt)" "$host_before"
check "conffile /etc/emacs/site-start.d/50figlet.el is installed" test -f "$R/etc/emacs/site-start.d/50figlet.el"
is "figlet runs inside the root" "$(chroot "$R" /usr/bin/figlet -v 2>&1 | head -n 1 | cut -c1-6)" "FIGlet"
has_line "report: figlet's files include /usr/bin/figlet-figlet" "$(report_files figlet)" /usr/bin/figlet-figlet
is "report: figlet's sha256" "$(rep 'packages[name=figlet].sha256')" "$(sha256_of "$DEB_FIGLET")"
audit=$(dpkg --root="$R" --audit 2>&1)
is "dpkg --audit finds nothing half-configured" "$audit" ""
no_debs_left "no copy of the packages is left in the root" "$R"

done_testing
