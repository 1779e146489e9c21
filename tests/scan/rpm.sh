#!/bin/bash
# SPDX-License-Identifier: MIT
# .rpm payloads through `pib-agent scan pkg.rpm`: rpmbuild packages (xz, gzip, zstd and
# uncompressed cpio) whose payload carries the EICAR string are found, naming the path inside
# and the package (from the RPM header); the same packages without it are clean; a package
# inside a directory is opened too; a corrupt one is listed and still scanned as it is.
# (validate of an rpm target comes with the rpm installer.)
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup
need rpmbuild

DB=$T/db
make_db "$DB"
eicar >"$T/eicar.com"
echo "an ordinary file" >"$T/plain.txt"
mkdir -p "$T/pkgs"
for p in w9.xzdio w6.gzdio w19.zstdio w0.ufdio; do
	rpmpkg "$T/pkgs/evil-$p.rpm" pib-evil "$p" "usr/share/pib-evil/eicar.com=$T/eicar.com" "usr/share/pib-evil/plain.txt=$T/plain.txt"
	rpmpkg "$T/good-$p.rpm" pib-good "$p" "usr/share/pib-good/plain.txt=$T/plain.txt"

	scan_run "$T/pkgs/evil-$p.rpm" --db "$DB"
	is "$p: EICAR in the cpio payload: exit 1" "$RC" 1
	is "$p: the path inside and the package" "$(detections)" \
		"$T/pkgs/evil-$p.rpm|usr/share/pib-evil/eicar.com|pib-evil|$EICAR_SIG|scan|signature"
	is "$p: header and two files scanned" "$(rep scan.files_scanned)" 3

	scan_run "$T/good-$p.rpm" --db "$DB"
	is "$p: the clean package: exit 0" "$RC" 0
	is "$p: status succeeded" "$(rep status)" succeeded
	is "$p: nothing skipped" "$(skipped)" ""
done

# clamscan alone misses the compressed payloads (the reason for the payload scan)
out=$(clamscan --no-summary -d "$DB" "$T/pkgs/evil-w9.xzdio.rpm" 2>&1)
contains "clamscan alone says OK for the xz .rpm" "$out" ": OK"

# packages found in a directory are opened too
scan_run "$T/pkgs" --db "$DB"
is "a directory of packages: exit 1" "$RC" 1
is "a directory of packages: one detection each" "$(detections | cut -d'|' -f2 | sort | uniq -c | awk '{print $1}')" 4

# a corrupt package: listed as unreadable, and still scanned as it is
head -c 2000 "$T/good-w9.xzdio.rpm" >"$T/cut.rpm"
scan_run "$T/cut.rpm" --db "$DB"
is "a cut-off .rpm: exit 0 (nothing found)" "$RC" 0
is "a cut-off .rpm: listed as unreadable" "$(skipped)" "$T/cut.rpm||unreadable"
is "a cut-off .rpm: status incomplete" "$(rep status)" incomplete

done_testing
