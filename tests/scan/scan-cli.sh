#!/bin/bash
# SPDX-License-Identifier: MIT
# `pib-agent scan` on the command line: paths that do not exist, --root, heuristics and their
# kind, encrypted members, package members over --max-filesize, bad option values, and the
# progress line (on a terminal only).
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup
need zip dpkg-deb

DB=$T/db
make_db "$DB"
D=$T/files
mkdir -p "$D"
eicar >"$D/eicar.com"
echo "nothing" >"$D/clean.txt"

# ---------------------------------------------------------------- paths that do not exist
scan_run "$D/clean.txt" "$T/nope" --db "$DB"
is "a missing path: exit 3" "$RC" 3
is "a missing path: scan.path_missing" "$(rep error.code)" scan.path_missing
has_line "a missing path is listed as missing" "$(skipped)" "$T/nope||missing"
is "the other path was scanned" "$(rep scan.files_scanned)" 1
scan_run "$D/eicar.com" "$T/nope" --db "$DB"
is "a missing path and a detection: the detection wins, exit 1" "$RC" 1

# ---------------------------------------------------------------- --root
R=$T/root
mkdir -p "$R/opt/app" "$R/etc"
eicar >"$R/opt/app/payload.bin"
ln -s /opt/app "$R/etc/app-link"
scan_run /opt/app --root "$R" --db "$DB"
is "--root: exit 1" "$RC" 1
is "--root: the path as seen inside the root" "$(detections | cut -d'|' -f1)" /opt/app/payload.bin
scan_run /etc/app-link/payload.bin --root "$R" --db "$DB"
is "--root: an absolute symlink resolves inside the root" "$RC:$(detections | cut -d'|' -f1)" \
	"1:/etc/app-link/payload.bin"

# ---------------------------------------------------------------- heuristics, encryption
rm -f "$T/enc.zip"
(cd "$D" && zip -q -P secret "$T/enc.zip" eicar.com)
scan_run "$T/enc.zip" --db "$DB"
is "an encrypted zip without --heuristics: exit 0" "$RC" 0
is "... its member is listed as encrypted" "$(skipped)" "$T/enc.zip|eicar.com|encrypted"
is "... options recorded" "$(rep scan.engine.options.heuristics)" false
scan_run "$T/enc.zip" --db "$DB" --heuristics
is "with --heuristics: exit 1" "$RC" 1
is "with --heuristics: a heuristic detection" "$(detections)" \
	"$T/enc.zip|||Heuristics.Encrypted.Zip|scan|heuristic"
is "... options recorded" "$(rep scan.engine.options.heuristics)" true

# ---------------------------------------------------------------- package members over the limit
head -c 300000 /dev/urandom >"$T/big.bin"
debpkg "$T/big.deb" pib-big "usr/lib/pib-big/big.bin=$T/big.bin" "usr/share/pib-big/eicar.com=$D/eicar.com"
scan_run "$T/big.deb" --db "$DB" --max-filesize 100K
is "a member over --max-filesize: the rest still scanned, exit 1" "$RC" 1
has_line "... the member is listed with its path inside" "$(skipped)" "$T/big.deb|usr/lib/pib-big/big.bin|limit.max_filesize"
is "... the detection names its member" "$(detections | cut -d'|' -f2,3)" "usr/share/pib-big/eicar.com|pib-big"

# ---------------------------------------------------------------- bad values
for bad in "--max-filesize abc" "--max-filesize 0" "--max-recursion 5M" "--jobs 0" "--max-files -1"; do
	# shellcheck disable=SC2086
	"$PIB_AGENT" scan "$D" --db "$DB" $bad >/dev/null 2>"$T/bad.err"
	is "$bad: exit 3" "$?" 3
done

# ---------------------------------------------------------------- progress on a terminal only
scan_run "$D" --db "$DB"
check_not "no progress line when stderr is no terminal" grep -q $'\r' "$T/agent.err"
mkdir -p "$T/big"
for i in 1 2 3 4; do
	head -c 40000000 /dev/urandom >"$T/big/slow$i.bin"
done
# stderr on a pseudo-terminal (stdin and stdout stay as they are)
"$PYTHON" - "$T/tty.out" "$PIB_AGENT" scan "$T/big" --db "$DB" --jobs 1 --report "$T/tty.json" <<'EOF'
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
out = b""
while True:
    try:
        b = os.read(master, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
p.wait()
open(sys.argv[1], "wb").write(out)
EOF
contains "on a terminal, a long scan shows its progress: files, bytes, rate" "$(tr '\r' '\n' <"$T/tty.out")" " MB/s"
is "... and the scan still completes" "$(rep scan.files_scanned "$T/tty.json")" 4

done_testing
