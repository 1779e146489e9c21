#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the prescan of a large .deb from memory (`pib-agent scan PKG.deb`, the
# same payload reader and session as validate's prescan) against `dpkg-deb -x` into a temporary
# directory followed by `clamscan -r` on it; alternated, BENCH_RUNS runs each; prints the runs,
# the medians and their ratio (target, issue 3: <= 0.7), and whether the verdicts agree.
# Usage: bench/prescan-bench.sh [SRC_DIR] (default /usr/lib/x86_64-linux-gnu: packed once into a
# .deb; BENCH_DEB_Z picks dpkg-deb's compression, default xz like Debian's own packages).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
src=${1:-/usr/lib/x86_64-linux-gnu}
runs=${BENCH_RUNS:-3}
z=${BENCH_DEB_Z:-xz}
bench_need "clamav dpkg time" clamscan sigtool dpkg-deb /usr/bin/time
bench_agent

bench_work pib-bench
"$here/tests/scan/make-db.sh" "$work/db"

echo "packing $src into a .deb (-Z$z)..."
mkdir -p "$work/pkg/DEBIAN" "$work/pkg/opt/bench"
cp -a "$src/." "$work/pkg/opt/bench/"
find "$work/pkg" -type l -delete
unpacked=$(du -sb "$work/pkg/opt" | cut -f1)
printf '%s\n' "Package: pib-bench" "Version: 1.0" "Architecture: all" "Maintainer: bench <bench@example.invalid>" \
	"Description: a large package for the prescan benchmark" >"$work/pkg/DEBIAN/control"
dpkg-deb --root-owner-group "-Z$z" --build "$work/pkg" "$work/big.deb" >/dev/null
rm -rf "$work/pkg"
members=$(dpkg-deb -c "$work/big.deb" | grep -c '^-')
echo ".deb: $(($(stat -c %s "$work/big.deb") / 1000000)) MB compressed, $members files, $((unpacked / 1000000)) MB unpacked"

extract_and_scan() {
	rm -rf "$work/x"
	mkdir "$work/x"
	dpkg-deb -x "$work/big.deb" "$work/x"
	clamscan -r -i --no-summary -d "$work/db" "$work/x"
}


export -f extract_and_scan
export work
echo "warm-up: reading the package once"
cat "$work/big.deb" >/dev/null
for i in $(seq 1 "$runs"); do
	echo "run $i"
	measure dpkg-deb-x+clamscan bash -c extract_and_scan
	rm -rf "$work/x"
	measure agent "$agent" scan "$work/big.deb" --db "$work/db" --report "$work/report.json"
done

cw=$(cut -d' ' -f1 "$work/dpkg-deb-x+clamscan.runs" | median)
aw=$(cut -d' ' -f1 "$work/agent.runs" | median)
ar=$(cut -d' ' -f2 "$work/agent.runs" | median)
cr=$(cut -d' ' -f2 "$work/dpkg-deb-x+clamscan.runs" | median)
echo
printf 'median wall: dpkg-deb -x + clamscan -r %.2f s, agent (from memory) %.2f s: ratio %.3f (target <= 0.7)\n' \
	"$cw" "$aw" "$(echo "$aw $cw" | awk '{ print $1 / $2 }')"
printf 'median peak RSS: dpkg-deb -x + clamscan (the largest process) %.1f MB, agent %.1f MB\n' "$(echo "$cr" | awk '{ print $1 / 1024 }')" "$(echo "$ar" | awk '{ print $1 / 1024 }')"
printf 'detections: clamscan %s, agent %s\n' "$(grep -c FOUND "$work/dpkg-deb-x+clamscan.out" || true)" \
	"$(count detections)"
printf 'agent: %s members, %s bytes scanned\n' "$(python3 "$here/tests/tools/report.py" "$work/report.json" scan.files_scanned)" \
	"$(python3 "$here/tests/tools/report.py" "$work/report.json" scan.bytes_scanned)"
