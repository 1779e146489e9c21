#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): `pib-agent scan DIR` against `clamscan -r DIR` on the same tree of real
# files with the same small database, alternated in one run, BENCH_RUNS runs each after a
# warm-up read; prints every run, the medians of wall time and peak RSS (/usr/bin/time -v), their
# ratios, and whether the verdicts are identical (in every timed run, and in one more run of
# each over the tree plus ClamAV's own test files, so that there are detections to compare).
# Targets (issue 3, 2 cores): wall <= 0.6x, peak memory <= 1.25x, identical verdicts.
# Usage: bench/scan-bench.sh [DIR] (default /usr/lib/x86_64-linux-gnu; at least 500 MB)
# Environment: PIB_AGENT (default build/pib-agent), BENCH_RUNS (default 3), BENCH_JOBS (the
# agent's --jobs; default: the number of CPUs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
dir=${1:-/usr/lib/x86_64-linux-gnu}
runs=${BENCH_RUNS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
bench_need "clamav time" clamscan sigtool /usr/bin/time
bench_agent

work=$(mktemp -d "${TMPDIR:-/tmp}/pib-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$here/tests/scan/make-db.sh" "$work/db"

extra=()
[ -d /usr/share/clamav-testfiles ] && extra=(/usr/share/clamav-testfiles)
bytes=$(du -sb "$dir" | cut -f1)
files=$(find "$dir" -type f | wc -l)
echo "tree: $dir, $files files, $((bytes / 1000000)) MB; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); agent --jobs $jobs; $runs runs each"
[ "$bytes" -ge 500000000 ] || echo "warning: less than 500 MB" >&2
echo "warm-up: reading the tree once"
find "$dir" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true

# measure NAME CMD...: runs CMD under /usr/bin/time -v; appends "wall rss" to $work/NAME.

# verdicts I: the paths and signatures found in the last run of each, into v-clamscan.I, v-agent.I
verdicts() {
	local i=$1
	sed -n 's/^\(.*\): \(.*\) FOUND$/\1|\2/p' "$work/clamscan.out" | sort -u >"$work/v-clamscan.$i"
	python3 - "$work/report.json" "$here/tests/tools" >"$work/v-agent.$i" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import report
scan = report.load(sys.argv[1]).get("scan") or {}
print("\n".join(sorted({d["path"] + "|" + d["signature"] for d in scan.get("detections", [])})))
EOF
	sed -i '/^$/d' "$work/v-agent.$i"
}

for i in $(seq 1 "$runs"); do
	echo "run $i"
	measure clamscan clamscan -r -i --no-summary -d "$work/db" "$dir"
	measure agent "$agent" scan "$dir" --db "$work/db" --jobs "$jobs" --report "$work/report.json"
	verdicts "$i"
done

cw=$(cut -d' ' -f1 "$work/clamscan.runs" | median)
cr=$(cut -d' ' -f2 "$work/clamscan.runs" | median)
aw=$(cut -d' ' -f1 "$work/agent.runs" | median)
ar=$(cut -d' ' -f2 "$work/agent.runs" | median)
same=yes
for i in $(seq 1 "$runs"); do
	cmp -s "$work/v-clamscan.$i" "$work/v-agent.$i" || same=no
done
timed_detections=$(grep -c . "$work/v-clamscan.1" || true)
skipped=$(count skipped)
files_scanned=$(python3 "$here/tests/tools/report.py" "$work/report.json" scan.files_scanned)
bytes_scanned=$(python3 "$here/tests/tools/report.py" "$work/report.json" scan.bytes_scanned)
if [ ${#extra[@]} -gt 0 ]; then
	echo "verdict run: the tree plus ${extra[*]}"
	measure clamscan clamscan -r -i --no-summary -d "$work/db" "$dir" "${extra[@]}"
	measure agent "$agent" scan "$dir" "${extra[@]}" --db "$work/db" --jobs "$jobs" --report "$work/report.json"
	verdicts extra
fi
echo
printf 'median wall:     clamscan %.2f s, agent %.2f s: ratio %.3f (target <= 0.6)\n' "$cw" "$aw" "$(echo "$aw $cw" | awk '{ print $1 / $2 }')"
printf 'median peak RSS: clamscan %.1f MB, agent %.1f MB: ratio %.3f (target <= 1.25)\n' \
	"$(echo "$cr" | awk '{ print $1 / 1024 }')" "$(echo "$ar" | awk '{ print $1 / 1024 }')" "$(echo "$ar $cr" | awk '{ print $1 / $2 }')"
printf 'verdicts identical in every timed run: %s (%s detections)\n' "$same" "$timed_detections"
if [ ${#extra[@]} -gt 0 ]; then
	cmp -s "$work/v-clamscan.extra" "$work/v-agent.extra" && v=yes || v=no
	printf 'verdicts identical with the test files: %s (clamscan %s, agent %s detections)\n' "$v" \
		"$(grep -c . "$work/v-clamscan.extra" || true)" "$(grep -c . "$work/v-agent.extra" || true)"
fi
printf 'agent: %s files, %s bytes scanned; %s skipped\n' "$files_scanned" "$bytes_scanned" "$skipped"
