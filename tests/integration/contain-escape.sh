#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 9, attack 2: a maintainer script must not leave the root. The postinst tries the classic
# double-chroot escape (chroot into a subdirectory without changing directory, climb with "..",
# chroot ".") and writes the escape file at the absolute host path of a throwaway file of the
# test; contained there is nothing above the root to climb to, so the host file never exists.
# It also records the network interfaces it sees: contained, only lo.
. "$(dirname "$0")/contain-lib.sh"
contain_setup

ESCAPED=$T/escaped
cat >"$T/postinst" <<EOF
#!/bin/sh
set -e
[ "\$1" = configure ] || exit 0
mkdir -p /var/lib/pib-escape
if [ -r /proc/net/dev ]; then
	tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' >/var/lib/pib-escape/netdevs
else
	echo "no /proc/net/dev" >/var/lib/pib-escape/netdevs
fi
perl -e '
	mkdir "/pib-escape-x";
	chroot "/pib-escape-x" or die "chroot: \$!";
	chdir ".." for 1 .. 200;
	chroot "." or die "chroot .: \$!";
	system("mkdir", "-p", "$T") == 0 or die "mkdir";
	open(my \$f, ">", "$ESCAPED") or die "open: \$!";
	print \$f "escaped from the root\n";
	close(\$f);
' >/var/lib/pib-escape/perl.out 2>&1 || echo "perl exit \$?" >>/var/lib/pib-escape/perl.out
EOF
pkg_start pib-escape
pkg_script postinst "$T/postinst"
pkg_build "$T/escape.deb"
mkbundle "$T/escape.tar.gz" --deb "$T/escape.deb"

validate "$T/escape.tar.gz" --root "$R" --db "$T/db"
report_exists
diag "status $(rep status), install $(rep 'steps[name=install].status') $(rep 'steps[name=install].error.code')"
is "install step ok (the attack is in a script that succeeds)" "$(rep 'steps[name=install].status')" ok
check "the postinst ran (it left /var/lib/pib-escape/netdevs in the root)" test -s "$R/var/lib/pib-escape/netdevs"
diag "perl said: $(cat "$R/var/lib/pib-escape/perl.out" 2>/dev/null)"
if [ -e "$R$ESCAPED" ]; then
	diag "the escape ended inside the root: $R$ESCAPED"
fi
check_not "the escape did not write the host's $ESCAPED" test -e "$ESCAPED"
is "the postinst saw no network interface but lo" \
	"$(tr '\n' ' ' <"$R/var/lib/pib-escape/netdevs" 2>/dev/null)" "lo "
root_unmounted "escape"

done_testing
