#!/bin/bash
# SPDX-License-Identifier: MIT
# Prescan of .deb payloads: a package whose data.tar carries the EICAR string stops validate at
# prescan, naming the bundle member, the package and the path inside it, and the root is left
# unchanged; the same in a maintainer script (control.tar); the same package without it
# installs and postscan passes, not scanning again the bytes prescan saw.
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup
need dpkg-deb sha256sum

DB=$T/db
make_db "$DB"
eicar >"$T/eicar.com"
echo "an ordinary file" >"$T/plain.txt"
printf '#!/bin/sh\n# %s\nexit 0\n' "$(eicar)" >"$T/postinst-eicar"

for z in xz zstd gzip none; do
	debpkg "$T/evil-$z.deb" pib-evil "usr/share/pib-evil/eicar.com=$T/eicar.com" "usr/share/pib-evil/plain.txt=$T/plain.txt" "Z=$z"
done
debpkg "$T/script.deb" pib-script "postinst=$T/postinst-eicar"
debpkg "$T/good.deb" pib-good "usr/share/pib-good/plain.txt=$T/plain.txt"

# ---------------------------------------------------------------- EICAR in data.tar
R=$T/root
copy_root "$R"
snap "$R" >"$T/before.snap"
mkbundle "$T/evil.tar.gz" --deb "$T/evil-xz.deb"
validate "$T/evil.tar.gz" --root "$R" --db "$DB"
is "EICAR in data.tar: exit 1" "$RC" 1
report_exists
is "status findings" "$(rep status)" findings
is "error code scan.malware_found" "$(rep error.code)" scan.malware_found
is "the error is prescan's" "$(rep error.step)" prescan
is "steps: nothing after prescan but the report" "$(rep steps.name | tr '\n' ' ')" "open verify prescan report "
is "one detection, naming member, inner path, package, signature, phase, kind" "$(detections)" \
	"debs/evil-xz.deb|usr/share/pib-evil/eicar.com|pib-evil|$EICAR_SIG|prescan|signature"
contains "the message names the inner path and the package" "$(rep error.message)" \
	"debs/evil-xz.deb: usr/share/pib-evil/eicar.com (package pib-evil)"
contains "stderr says nothing was installed" "$(agent_stderr)" "nothing was installed"
snap "$R" >"$T/after.snap"
same_tree "the root is unchanged" "$T/before.snap" "$T/after.snap"
is "dpkg does not know pib-evil" "$(dpkg_status "$R" pib-evil)" ""
is "prescan read the payload: debian-binary, DEBIAN/control, 3 files" "$(rep scan.phases.prescan.files_scanned)" 5

# every compression dpkg-deb makes
for z in zstd gzip none; do
	mkbundle "$T/evil-$z.tar.gz" --deb "$T/evil-$z.deb"
	validate "$T/evil-$z.tar.gz" --root "$R" --db "$DB"
	is "data.tar with -Z$z: exit 1" "$RC" 1
	is "data.tar with -Z$z: the inner path" "$(detections | cut -d'|' -f1,2)" \
		"debs/evil-$z.deb|usr/share/pib-evil/eicar.com"
done

# ---------------------------------------------------------------- EICAR in a maintainer script
mkbundle "$T/script.tar.gz" --deb "$T/script.deb"
validate "$T/script.tar.gz" --root "$R" --db "$DB"
is "EICAR in postinst: exit 1" "$RC" 1
is "the control member is named DEBIAN/postinst" "$(detections)" \
	"debs/script.deb|DEBIAN/postinst|pib-script|$EICAR_SIG|prescan|signature"
snap "$R" >"$T/after2.snap"
same_tree "the root is still unchanged" "$T/before.snap" "$T/after2.snap"

# without --root (read-only): prescan still stops the run
validate "$T/evil.tar.gz" --db "$DB"
is "without --root: exit 1 at prescan" "$RC:$(rep error.step)" "1:prescan"

# ---------------------------------------------------------------- the same package, clean
mkbundle "$T/good.tar.gz" --deb "$T/good.deb"
validate "$T/good.tar.gz" --root "$R" --db "$DB"
is "the clean package: exit 0" "$RC" 0
status_good
is "status succeeded" "$(rep status)" succeeded
is "steps" "$(rep steps.name | tr '\n' ' ')" "open verify prescan resolve install postscan policy report "
is "dpkg: pib-good installed" "$(dpkg_status "$R" pib-good)" "install ok installed"
is "no detection" "$(detections)" ""
is "postscan ran" "$(rep 'steps[name=postscan].status')" ok
pre=$(rep scan.phases.prescan.files_scanned)
[ "$pre" -ge 3 ] && ok "prescan scanned the payload ($pre members)" || fail "prescan scanned the payload" "$pre"
same=$(rep scan.phases.postscan.files_identical_to_prescanned)
[ "$same" -ge 2 ] && ok "postscan did not scan again the $same files identical to prescanned members" ||
	fail "postscan skips files identical to prescanned members" "got $same"
n_changed=$(rep 'steps[name=postscan].files_changed_outside_packages')
[ "$n_changed" -ge 1 ] && ok "postscan looked at files changed outside the package lists ($n_changed: dpkg's own)" ||
	fail "postscan looked at changed files" "$n_changed"
is "the database is described" "$(rep scan.database.signatures) $(rep scan.database.time_source)" "2 mtime"
is "nothing is skipped" "$(skipped)" ""

done_testing
