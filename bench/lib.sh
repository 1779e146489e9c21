# SPDX-License-Identifier: MIT
# Shared by the benchmarks (sourced, never run): timing a command, medians, counting a report's
# scan entries. Needs $work (the run's directory) and $here (the project) set by the caller.

# measure NAME CMD...: runs CMD under /usr/bin/time -v; appends "wall rss_kb" to $work/NAME.runs.
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.txt" "$@" >"$work/$name.out" 2>"$work/$name.err" || true
	local wall rss user sys
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
	# CPU time too: where the time goes (the kernel's share grows with threads; see README)
	user=$(awk -F': ' '/User time \(seconds\)/ { print $2 }' "$work/time.txt")
	sys=$(awk -F': ' '/System time \(seconds\)/ { print $2 }' "$work/time.txt")
	echo "$wall $rss" >>"$work/$name.runs"
	printf '  %-22s wall %7.2f s   peak RSS %7.1f MB   CPU user %6.2f s, system %6.2f s\n' "$name" "$wall" \
		"$(echo "$rss" | awk '{ print $1 / 1024 }')" "$user" "$sys"
}

# count KEY: the number of entries of scan.KEY in the agent's last report ($work/report.json).
count() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[2]); import report; print(len((report.load(sys.argv[1]).get("scan") or {}).get(sys.argv[3], [])))' \
		"$work/report.json" "$here/tests/tools" "$1"
}

# median: the median of the numbers on standard input, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench_need "APT PACKAGES" TOOL...: every TOOL (a name on PATH or a path) is there, else exit 4
# saying what to install.
bench_need() {
	local hint=$1 t
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$t is missing (apt-get install -y $hint)" >&2; exit 4; }
	done
}

# bench_agent: $agent is an executable, else exit 4.
bench_agent() {
	[ -x "$agent" ] || { echo "no agent at $agent (build first, or set PIB_AGENT)" >&2; exit 4; }
}

# bench_work PREFIX: $work, a new folder under BENCH_TMPDIR (default /var/tmp), removed at exit.
bench_work() {
	work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/$1.XXXXXX")
	trap 'rm -rf "$work"' EXIT
}
