#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the prescan of a large MSI (`pib-agent scan X.msi`: the same payload
# reader and session as validate's prescan: the cabinets streamed from a libmsi child into
# libarchive's CAB reader, members scanned from memory on the scanner's threads) against `clamscan`
# on the same MSI (libclamav unpacks OLE2 and CAB itself, into temporary files); alternated,
# BENCH_RUNS runs each, the same database; prints the runs, the medians of wall time and peak RSS,
# their ratios (targets, issue 15: <= 0.6 x wall, <= 1.1 x peak RSS) and the detections of both,
# an EICAR file being packed among the others.
# Usage: bench/msi-prescan-bench.sh [SRC_DIR] (default /usr/lib/x86_64-linux-gnu; BENCH_SRC_MB of its
# regular files, default 750, which wixl's MSZIP packs into an MSI of about 300 MB).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
src=${1:-/usr/lib/x86_64-linux-gnu}
runs=${BENCH_RUNS:-3}
mb=${BENCH_SRC_MB:-750}
bench_need "clamav wixl python3 time" clamscan sigtool wixl python3 /usr/bin/time
bench_agent

bench_work pib-msi-bench
"$here/tests/scan/make-db.sh" "$work/db"

echo "packing up to $mb MB of $src into an MSI with wixl..."
mkdir "$work/msi"
read -r files bytes < <(python3 "$here/bench/msi-wxs.py" "$src" "$work/msi" "$mb" 50)
# one EICAR among them, in a folder of its own, the last file of the cabinet: a scanner that
# stopped at its first detection would still have read everything before it
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$work/msi/src/eicar"
sed -i 's|^        </Directory>$|<Directory Id="TestDir" Name="zz-test"><Component Id="Eicar" Guid="0f0e0d0c-0b0a-4909-8807-060504030201" Win64="yes"><File Id="EicarCom" Source="src/eicar" Name="eicar.com"/></Component></Directory>\n&|; s|<Feature Id="All" Level="1">|&<ComponentRef Id="Eicar"/>|' "$work/msi/bench.wxs"
grep -q 'File Id="EicarCom"' "$work/msi/bench.wxs" || { echo "cannot add the EICAR file to bench.wxs" >&2; exit 4; }
(cd "$work/msi" && wixl -a x64 -o "$work/big.msi" bench.wxs)
rm -rf "$work/msi"
echo "MSI: $(($(stat -c %s "$work/big.msi") / 1000000)) MB, $((files + 1)) files, $((bytes / 1000000)) MB unpacked"

# clamscan's limits raised past the MSI and what it unpacks to (its defaults would skip a 300 MB
# file whole, and stop at 120 s of scanning), and --allmatch as the agent scans (every detection,
# not the first only); the agent keeps its own defaults (members up to 100 MB, none is larger here)
clam() {
	clamscan -i --no-summary --allmatch -d "$work/db" --max-filesize=4000M --max-scansize=4000M --max-files=100000 \
		--max-scantime=3600000 "$work/big.msi"
}
export -f clam
export work
echo "warm-up: reading the MSI once"
cat "$work/big.msi" >/dev/null
for i in $(seq 1 "$runs"); do
	echo "run $i"
	measure clamscan bash -c clam
	measure agent "$agent" scan "$work/big.msi" --db "$work/db" --report "$work/report.json"
done

cw=$(cut -d' ' -f1 "$work/clamscan.runs" | median)
aw=$(cut -d' ' -f1 "$work/agent.runs" | median)
cr=$(cut -d' ' -f2 "$work/clamscan.runs" | median)
ar=$(cut -d' ' -f2 "$work/agent.runs" | median)
echo
printf 'median wall: clamscan %.2f s, agent %.2f s: ratio %.3f (target <= 0.6)\n' "$cw" "$aw" \
	"$(echo "$aw $cw" | awk '{ print $1 / $2 }')"
printf 'median peak RSS: clamscan %.1f MB, agent %.1f MB (the largest of its processes): ratio %.3f (target <= 1.1)\n' \
	"$(echo "$cr" | awk '{ print $1 / 1024 }')" "$(echo "$ar" | awk '{ print $1 / 1024 }')" \
	"$(echo "$ar $cr" | awk '{ print $1 / $2 }')"
# clamscan --allmatch may say FOUND twice for one file (the string is also in the cabinet's raw
# bytes): the detections are compared as the set of signatures found
clam_sigs=$(grep FOUND "$work/clamscan.out" | sed 's/^.*: \(.*\) FOUND$/\1/' | sort -u | tr '\n' ' ')
agent_sigs=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[2]); import report
for d in report.load(sys.argv[1])["scan"]["detections"]: print(d["signature"])' "$work/report.json" "$here/tests/tools" | sort -u | tr '\n' ' ')
printf 'detections: clamscan %s lines FOUND (%s), agent %s: %s\n' "$(grep -c FOUND "$work/clamscan.out" || true)" \
	"$clam_sigs" "$(count detections)" "$(python3 -c 'import sys; sys.path.insert(0, sys.argv[2]); import report
for d in report.load(sys.argv[1])["scan"]["detections"]: print(d["member"], d.get("cabinet"), d["signature"])' "$work/report.json" "$here/tests/tools" | tr '\n' ' ')"
if [ -n "$clam_sigs" ] && [ "$clam_sigs" = "$agent_sigs" ]; then
	echo "same detections: yes (signatures: $agent_sigs)"
else
	echo "same detections: NO (clamscan: $clam_sigs; agent: $agent_sigs)"
fi
printf 'agent: %s members, %s bytes scanned, %s skipped\n' "$(python3 "$here/tests/tools/report.py" "$work/report.json" scan.files_scanned)" \
	"$(python3 "$here/tests/tools/report.py" "$work/report.json" scan.bytes_scanned)" "$(count skipped)"
