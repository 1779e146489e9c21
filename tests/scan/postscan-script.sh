#!/bin/bash
# SPDX-License-Identifier: MIT
# Postscan finds what maintainer scripts drop outside the package's own file list: a postinst
# that writes the EICAR file (built at run time, so prescan cannot see it) into /var/lib and
# /tmp of the root; and a postinst that rewrites a file of the image.
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup
need dpkg-deb base64

DB=$T/db
make_db "$DB"
b64=$(eicar | base64 -w0)
cat >"$T/postinst" <<EOF
#!/bin/sh
set -e
[ "\$1" = configure ] || exit 0
mkdir -p /var/lib/pib-drop
echo $b64 | base64 -d >/var/lib/pib-drop/dropped.com
echo $b64 | base64 -d >/tmp/also-dropped
echo $b64 | base64 -d >>/etc/debian_version
EOF
echo "an ordinary file" >"$T/plain.txt"
debpkg "$T/drop.deb" pib-drop "usr/share/pib-drop/plain.txt=$T/plain.txt" "postinst=$T/postinst"

R=$T/root
copy_root "$R"
mkbundle "$T/drop.tar.gz" --deb "$T/drop.deb"
validate "$T/drop.tar.gz" --root "$R" --db "$DB"
is "exit 1 (findings)" "$RC" 1
report_exists
is "status findings" "$(rep status)" findings
is "prescan passed" "$(rep 'steps[name=prescan].status')" ok
is "install passed" "$(rep 'steps[name=install].status')" ok
is "postscan failed with scan.malware_found" "$(rep 'steps[name=postscan].error.code')" scan.malware_found
is "the three dropped or changed files, no package, phase postscan" "$(detections)" \
	"$(printf '%s\n' "/etc/debian_version|||$EICAR_SIG|postscan|signature" \
		"/tmp/also-dropped|||$EICAR_SIG|postscan|signature" \
		"/var/lib/pib-drop/dropped.com|||$EICAR_SIG|postscan|signature")"
check "the file is really there (postscan comes after install)" test -s "$R/var/lib/pib-drop/dropped.com"
has_line "the package's own file list does not have it" "$(report_files pib-drop)" /usr/share/pib-drop/plain.txt
check_not "... and only its own files" grep -q dropped <<<"$(report_files pib-drop)"

done_testing
