#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the policy walk of a whole root with every file read for secrets
# (`pib-agent policy --root ROOT --jobs N`, or bench/policy-walk ROOT N until that command is in
# the binary) against `find ROOT -xdev -type f -exec cat {} + >/dev/null` (the cost of reading
# every byte once), alternated in one run, BENCH_RUNS rounds of: warm the cache, find+cat, the
# walk. Prints every run, the medians of wall time and peak RSS (/usr/bin/time -v) and the ratio.
# Target (issue 13, warm cache): wall <= 1.2x find+cat.
# Usage: bench/policy-bench.sh [ROOT] (default: a Debian 12 root of about 100 000 files, built
# once with mmdebstrap, network needed, and kept in /var/tmp/pib-bench-root-100k).
# Environment: PIB_AGENT (default build/pib-agent), PIB_POLICY_WALK (default
# build/bench/policy-walk), BENCH_RUNS (default 5), BENCH_JOBS (threads; default: the CPUs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
driver=${PIB_POLICY_WALK:-$here/build/bench/policy-walk}
runs=${BENCH_RUNS:-5}
jobs=${BENCH_JOBS:-$(nproc)}
cached=/var/tmp/pib-bench-root-100k
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is missing (apt-get install -y time)" >&2; exit 4; }

# The default root: Debian 12 standard with compilers, kernel headers, Boost, Go, Node, Python,
# Emacs, Perl and TeX files and their documentation (no path-exclude: docs and man pages kept).
# Built in a sibling directory under a lock and renamed into place when complete.
build_root() {
	command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing (apt-get install -y mmdebstrap)" >&2; exit 4; }
	exec 9>"$cached.lock"
	flock 9
	if [ ! -e "$cached/.pib-bench-ok" ]; then
		local tmp
		tmp=$(mktemp -d "$cached.XXXXXX")
		echo "building $cached with mmdebstrap (once; a few minutes)..." >&2
		mmdebstrap --variant=standard --quiet \
			--include=build-essential,linux-headers-amd64,python3-full,perl-doc,vim-runtime,adwaita-icon-theme,git,golang-go,manpages-dev,texlive-latex-base,libboost1.74-dev,npm,emacs-nox \
			bookworm "$tmp/root" >&2
		touch "$tmp/root/.pib-bench-ok"
		rm -rf "$cached"
		mv "$tmp/root" "$cached"
		rmdir "$tmp"
	fi
	exec 9>&-
}

if [ $# -ge 1 ]; then
	root=$1
else
	root=$cached
	build_root
fi
[ -d "$root" ] || { echo "no root at $root" >&2; exit 4; }

# the agent's own command when it has it, else the driver of the same walk
if [ -x "$agent" ] && "$agent" --help 2>/dev/null | grep -qE '^  policy '; then
	walker=("$agent" policy --root "$root" --jobs "$jobs" --report /dev/null)
	wname=agent-policy
else
	[ -x "$driver" ] || { echo "no driver at $driver (build first, or set PIB_POLICY_WALK)" >&2; exit 4; }
	walker=("$driver" "$root" "$jobs")
	wname=policy-walk
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pib-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

files=$(find "$root" -xdev -type f | wc -l)
bytes=$(find "$root" -xdev -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
echo "root: $root, $files files, $((bytes / 1000000)) MB; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); ${walker[*]}; $runs rounds"
[ "$files" -ge 90000 ] || echo "warning: fewer than 90 000 files" >&2

for i in $(seq 1 "$runs"); do
	echo "round $i"
	find "$root" -xdev -type f -exec cat {} + >/dev/null 2>&1 || true
	measure find-cat sh -c 'find "$1" -xdev -type f -exec cat {} + >/dev/null' sh "$root"
	measure "$wname" "${walker[@]}"
done

fw=$(cut -d' ' -f1 "$work/find-cat.runs" | median)
fr=$(cut -d' ' -f2 "$work/find-cat.runs" | median)
aw=$(cut -d' ' -f1 "$work/$wname.runs" | median)
ar=$(cut -d' ' -f2 "$work/$wname.runs" | median)
echo
printf 'median wall:     find+cat %.2f s, %s %.2f s: ratio %.3f (target <= 1.2)\n' "$fw" "$wname" "$aw" \
	"$(echo "$aw $fw" | awk '{ print $1 / $2 }')"
printf 'median peak RSS: find+cat %.1f MB, %s %.1f MB\n' "$(echo "$fr" | awk '{ print $1 / 1024 }')" "$wname" \
	"$(echo "$ar" | awk '{ print $1 / 1024 }')"
if [ "$wname" = policy-walk ]; then
	printf 'walk: %s\n' "$(head -1 "$work/$wname.out")"
fi
