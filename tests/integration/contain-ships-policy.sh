#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 9, attack 5: a bundle package that ships /usr/sbin/policy-rc.d itself. Either the run
# installs it and the file is there afterwards with the package's bytes (and listed in the
# report's files), or the run is refused with an error that names policy-rc.d and the root keeps
# no half-installed package and no policy-rc.d; never is the package listed installed while its
# file is gone.
. "$(dirname "$0")/contain-lib.sh"
contain_setup

check_not "precondition: the gold root has no policy-rc.d" test -e "$R/usr/sbin/policy-rc.d"
printf '%s\n' '#!/bin/sh' '# shipped by the bundle package pib-prc' 'exit 0' >"$T/policy-rc.d"
pkg_start pib-prc
mkdir -p "$PKG/usr/sbin"
install -m 0755 "$T/policy-rc.d" "$PKG/usr/sbin/policy-rc.d"
pkg_build "$T/prc.deb"
mkbundle "$T/prc.tar.gz" --deb "$T/prc.deb"

validate "$T/prc.tar.gz" --root "$R" --db "$T/db"
report_exists
st=$(rep status)
listed=$(report_files pib-prc)
diag "status $st, install $(rep 'steps[name=install].status') $(rep 'steps[name=install].error.code')" \
	"files listed for pib-prc: $(tr '\n' ' ' <<<"$listed")"
if [ "$st" = succeeded ]; then
	ok "the run succeeded: the package must then be there whole"
	has_line "the report lists /usr/sbin/policy-rc.d among pib-prc's files" "$listed" /usr/sbin/policy-rc.d
	is "dpkg: pib-prc is 'install ok installed'" "$(dpkg_status "$R" pib-prc)" "install ok installed"
	if cmp -s "$T/policy-rc.d" "$R/usr/sbin/policy-rc.d" && [ ! -L "$R/usr/sbin/policy-rc.d" ]; then
		ok "the root's /usr/sbin/policy-rc.d is the package's, after the run"
	else
		fail "the root's /usr/sbin/policy-rc.d is the package's, after the run" \
			"$(ls -la "$R/usr/sbin/policy-rc.d" 2>&1)" "$(head -c 300 "$R/usr/sbin/policy-rc.d" 2>&1)"
	fi
	is "its mode is 755" "$(stat -c %a "$R/usr/sbin/policy-rc.d" 2>&1)" 755
else
	msg=$(rep 'steps[status=failed].error.message')
	out=$(rep 'steps[status=failed].error.output')
	diag "refused: error message: $msg" "the tool's output ends: $(tail -n 4 <<<"$out")"
	is "refused: the status is failed" "$st" failed
	contains "refused: the error message itself names policy-rc.d" "$msg" policy-rc.d
	is "refused: the error code says why" "$(rep 'steps[status=failed].error.code')" install.policy_rc_d
	check_not "refused: the root has no policy-rc.d (it had none)" test -e "$R/usr/sbin/policy-rc.d"
	is "refused: dpkg --audit finds nothing half-done in the root" "$(dpkg --root="$R" --audit 2>&1)" ""
	if grep -qxF /usr/sbin/policy-rc.d <<<"$listed" && [ ! -e "$R/usr/sbin/policy-rc.d" ]; then
		fail "refused: the report does not list the deleted policy-rc.d as installed" "$listed"
	else
		ok "refused: the report does not list the deleted policy-rc.d as installed"
	fi
fi
# whatever the outcome: what dpkg says is installed is on disk
if [ "$(dpkg_status "$R" pib-prc)" = "install ok installed" ]; then
	check "dpkg says pib-prc is installed: its /usr/sbin/policy-rc.d exists" test -f "$R/usr/sbin/policy-rc.d"
fi
root_unmounted "ships policy-rc.d"

done_testing
