#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the portable tree (packaging/portable.sh) against the normal build.
# Prints the tarball's size and the unpacked tree's (with its largest libraries); the start-up
# time of `pib-agent --version` and of `pib-agent scan FILE` (one file, the small sigtool test
# database) run from the tree's launcher and from the normal build, alternated (the order flips
# every round), BENCH_RUNS rounds after 3 warm-up runs of each: every median and the ratio
# tree / normal; and the peak RSS of that scan from each (/usr/bin/time -v, median of 5).
# Usage: bench/portable-bench.sh [TARBALL]   (default: made now by packaging/portable.sh)
# Environment: PIB_AGENT (the normal build; default build-portable-x86_64/pib-agent, the very
# binary the tree carries, linked against this machine's libraries), BENCH_RUNS (default 21),
# BENCH_FILE (the file scanned; default /usr/bin/dpkg).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
runs=${BENCH_RUNS:-21}
file=${BENCH_FILE:-/usr/bin/dpkg}
bench_need "clamav time" sigtool /usr/bin/time
[ "${BASH_VERSINFO[0]}" -ge 5 ] || { echo "needs bash 5 (EPOCHREALTIME)" >&2; exit 4; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pib-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
	tarball=$1
else
	echo "making the tarball: packaging/portable.sh"
	tarball=$("$here/packaging/portable.sh" "$work/out" 2>"$work/portable.err" | tail -n 1) ||
		{ tail -n 20 "$work/portable.err" >&2; exit 1; }
fi
agent=${PIB_AGENT:-$here/build-portable-x86_64/pib-agent}
[ -x "$agent" ] || { echo "no agent at $agent (run packaging/portable.sh first, or set PIB_AGENT)" >&2; exit 4; }
mkdir -p "$work/tree"
tar -C "$work/tree" -xzf "$tarball"
tree=$(find "$work/tree" -mindepth 1 -maxdepth 1 -type d)
launcher=$tree/bin/pib-agent
"$here/tests/scan/make-db.sh" "$work/db"
cp "$file" "$work/one"

echo "== size"
printf '  tarball:  %8.1f MB  %s\n' "$(stat -c %s "$tarball" | awk '{ print $1 / 1e6 }')" "$(basename "$tarball")"
printf '  unpacked: %8.1f MB  (lib/ %.1f MB in %d files, libexec/pib-agent %.1f MB)\n' \
	"$(du -sb "$tree" | awk '{ print $1 / 1e6 }')" "$(du -sb "$tree/lib" | awk '{ print $1 / 1e6 }')" \
	"$(find "$tree/lib" -type f | wc -l)" "$(stat -c %s "$tree/libexec/pib-agent" | awk '{ print $1 / 1e6 }')"
echo "  largest libraries:"
find "$tree/lib" -type f -printf '%s %f\n' | sort -rn | head -n 5 | awk '{ printf "    %6.1f MB  %s\n", $1 / 1e6, $2 }'
if cmp -s "$agent" "$tree/libexec/pib-agent"; then
	echo "  the normal build ($agent) is byte for byte the tree's libexec/pib-agent"
else
	echo "  the normal build ($agent) is NOT the tree's binary: the comparison includes that difference"
fi

# clock NAME CMD...: runs CMD once, appends its wall time in ms to $work/NAME.ms.
clock() {
	local name=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>&1 </dev/null || true
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$work/$name.ms"
}
one_round() {
	local who=$1 bin=$2
	clock "$who-version" "$bin" --version
	clock "$who-scan" "$bin" scan "$work/one" --db "$work/db" --jobs 1 --report "$work/report-$who.json"
}
for _ in 1 2 3; do
	one_round normal "$agent"
	one_round tree "$launcher"
done
rm -f "$work"/*.ms
for i in $(seq 1 "$runs"); do
	if [ $((i % 2)) = 1 ]; then
		one_round normal "$agent"
		one_round tree "$launcher"
	else
		one_round tree "$launcher"
		one_round normal "$agent"
	fi
done
"$launcher" scan "$work/one" --db "$work/db" --report "$work/check.json" 2>/dev/null ||
	{ echo "the tree's scan failed" >&2; exit 1; }

echo "== start-up, $runs rounds alternated, median wall time ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
for what in version scan; do
	n=$(median <"$work/normal-$what.ms")
	t=$(median <"$work/tree-$what.ms")
	label="--version"
	[ "$what" = scan ] && label="scan $(basename "$file")"
	printf '  %-16s normal %8.2f ms   tree %8.2f ms   ratio %5.2fx   (tree min %.2f, max %.2f)\n' "$label" "$n" "$t" \
		"$(awk -v a="$t" -v b="$n" 'BEGIN { print a / b }')" \
		"$(sort -n "$work/tree-$what.ms" | head -n 1)" "$(sort -n "$work/tree-$what.ms" | tail -n 1)"
done

echo "== peak RSS of scan $(basename "$file") (median of 5, /usr/bin/time -v)"
for i in 1 2 3 4 5; do
	measure normal-rss "$agent" scan "$work/one" --db "$work/db" --jobs 1 --report "$work/r.json" >/dev/null
	measure tree-rss "$launcher" scan "$work/one" --db "$work/db" --jobs 1 --report "$work/r.json" >/dev/null
done
n=$(cut -d' ' -f2 "$work/normal-rss.runs" | median)
t=$(cut -d' ' -f2 "$work/tree-rss.runs" | median)
printf '  normal %8.1f MB   tree %8.1f MB   ratio %5.2fx\n' "$(awk -v a="$n" 'BEGIN { print a / 1024 }')" \
	"$(awk -v a="$t" 'BEGIN { print a / 1024 }')" "$(awk -v a="$t" -v b="$n" 'BEGIN { print a / b }')"
