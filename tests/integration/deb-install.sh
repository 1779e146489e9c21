#!/bin/bash
# SPDX-License-Identifier: MIT
# A self-sufficient deb bundle {jq, libjq1, libonig5} installs into a copy of the real
# Debian 12 gold root with dpkg, and the report lists the three packages and their files.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"
B=$T/jq.tar.gz
mkbundle "$B" --deb "$DEB_JQ" --deb "$DEB_LIBJQ1" --deb "$DEB_LIBONIG5"

validate "$B" --root "$R" --no-scan
is "exit code 0" "$RC" 0
report_exists
status_good
is "error is null" "$(rep error)" null
is "the chosen target is named as in the manifest" "$(rep target.name)" debian
is "report names the bundle's SHA-256" "$(rep bundle.sha256)" "$(sha256_of "$B")"
is "install step ok" "$(rep 'steps[name=install].status')" ok

for p in jq libjq1 libonig5; do
	is "dpkg: $p is 'install ok installed'" "$(dpkg_status "$R" "$p")" "install ok installed"
done
audit=$(dpkg --root="$R" --audit 2>&1)
is "dpkg --audit finds nothing half-installed" "$audit" ""
is "the installed jq runs inside the root" "$(chroot "$R" /usr/bin/jq --version 2>&1)" "jq-1.6"

is "report lists exactly jq, libjq1, libonig5" \
	"$(rep packages.name | sort | tr '\n' ' ')" "jq libjq1 libonig5 "
for f in "$DEB_JQ" "$DEB_LIBJQ1" "$DEB_LIBONIG5"; do
	p=$(dpkg-deb -f "$f" Package)
	is "$p: sha256 is the .deb's" "$(rep "packages[name=$p].sha256")" "$(sha256_of "$f")"
	is "$p: version" "$(rep "packages[name=$p].version")" "$(dpkg-deb -f "$f" Version)"
	is "$p: arch" "$(rep "packages[name=$p].arch")" "$(dpkg-deb -f "$f" Architecture)"
done

jq_files=$(report_files jq)
has_line "jq's files include /usr/bin/jq" "$jq_files" /usr/bin/jq
has_line "libjq1's files include libjq.so.1" "$(report_files libjq1)" /usr/lib/x86_64-linux-gnu/libjq.so.1
has_line "libonig5's files include libonig.so.5" "$(report_files libonig5)" /usr/lib/x86_64-linux-gnu/libonig.so.5

# Every file the report gives for jq is one dpkg says jq owns, and it exists in the root.
dpkg_l=$(dpkg --root="$R" -L jq)
bad=
while IFS= read -r f; do
	[ -n "$f" ] || continue
	grep -qxF -- "$f" <<<"$dpkg_l" || bad+="not owned by jq per dpkg -L: $f"$'\n'
	[ -e "$R$f" ] || [ -L "$R$f" ] || bad+="missing in the root: $f"$'\n'
done <<<"$jq_files"
is "jq's listed files are jq's (dpkg -L) and exist in the root" "$bad" ""

# Once the report is an in-toto Statement (in a DSSE envelope): its subjects are the
# bundle and every installed package, with their SHA-256 (design.md, Report).
form=$("$PYTHON" "$TOOLS_DIR/report.py" --form "$REPORT" 2>/dev/null)
if [ "$form" = envelope ] || [ "$form" = statement ]; then
	subjects=$("$PYTHON" "$TOOLS_DIR/report.py" --statement "$REPORT" subject.digest.sha256 2>/dev/null)
	has_line "statement: the bundle is a subject" "$subjects" "$(sha256_of "$B")"
	for f in "$DEB_JQ" "$DEB_LIBJQ1" "$DEB_LIBONIG5"; do
		has_line "statement: $(basename "$f") is a subject" "$subjects" "$(sha256_of "$f")"
	done
	if [ "$form" = envelope ]; then
		is "envelope: payloadType" "$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["payloadType"])' "$REPORT")" \
			application/vnd.in-toto+json
	fi
else
	diag "the report is a bare predicate: no Statement subjects to check yet"
fi
check_not "no policy-rc.d is left in the root" test -e "$R/usr/sbin/policy-rc.d"
no_debs_left "no copy of the packages is left in the root" "$R"

done_testing
