#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): offline vulnerability matching of a feed of BENCH_RECORDS (50000) OSV
# records (a folder of *.json, as osv.dev's Debian export unpacks; Debian:11/12/13, source names,
# epochs, tildes, open ranges, versions lists) against an image of BENCH_PACKAGES (3000) packages
# (a dpkg status file in a fake root, read by libsolv): `pib-agent vulns --root ROOT --vulns FEED`
# against bench/vulns-match.py, a plain Python script doing the same match with
# apt_pkg.version_compare (python3-apt). Alternated, BENCH_RUNS (5) rounds; prints the runs, the
# medians of wall and CPU time and their ratios (target, issue 14: <= 0.1 x Python's wall time),
# and checks both give the same hits (sorted "id package arch" lists, diffed).
# Usage: bench/vulns-bench.sh   (BENCH_FEED_FORM=array: one JSON array file instead of a folder)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
runs=${BENCH_RUNS:-5}
n_recs=${BENCH_RECORDS:-50000}
n_pkgs=${BENCH_PACKAGES:-3000}
py=/usr/bin/python3 # Debian's, where python3-apt is
for t in /usr/bin/time "$py"; do
	[ -x "$t" ] || { echo "$t is missing (apt-get install -y time python3)" >&2; exit 4; }
done
"$py" -c 'import apt_pkg' 2>/dev/null || { echo "python3-apt is missing (apt-get install -y python3-apt)" >&2; exit 4; }
[ -x "$agent" ] || { echo "no agent at $agent (build first, or set PIB_AGENT)" >&2; exit 4; }

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/pib-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$py" "$here/bench/vulns-gen.py" "$work/root" "$work/feed" "$n_pkgs" "$n_recs"
feed=$work/feed
if [ "${BENCH_FEED_FORM:-dir}" = array ]; then
	"$py" -c 'import json, os, sys
d = sys.argv[1]
json.dump([json.load(open(os.path.join(d, n))) for n in sorted(os.listdir(d))], open(sys.argv[2], "w"))' "$feed" "$work/feed.json"
	rm -rf "$feed"
	feed=$work/feed.json
fi
echo "feed: $(du -sh --apparent-size "$feed" | cut -f1) ($(du -sh "$feed" | cut -f1) on disk)"

agent_cmd=("$agent" vulns --root "$work/root" --vulns "$feed" --vulns-max-age 0 --report "$work/report.json")
python_cmd=("$py" "$here/bench/vulns-match.py" "$work/root" "$feed" Debian:12)
# one warm-up of each: both read the feed from the page cache afterwards
"${agent_cmd[@]}" >/dev/null 2>&1 || true
"${python_cmd[@]}" >/dev/null

cpu() { awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$work/time.txt"; }
for i in $(seq 1 "$runs"); do
	echo "round $i:"
	measure agent "${agent_cmd[@]}"
	cpu >>"$work/agent.cpu"
	measure python "${python_cmd[@]}"
	cpu >>"$work/python.cpu"
done

# the same hits: the agent's vulnerabilities[] against the script's lines
"$py" - "$work/report.json" >"$work/agent.hits" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
pred = json.loads(base64.b64decode(env["payload"]))["predicate"]
for v in sorted((v["id"], v["package"], v["arch"]) for v in pred["vulnerabilities"] or []):
    print(" ".join(v))
PY
sort "$work/python.out" >"$work/python.hits"
a_wall=$(cut -d' ' -f1 "$work/agent.runs" | median)
p_wall=$(cut -d' ' -f1 "$work/python.runs" | median)
a_cpu=$(median <"$work/agent.cpu")
p_cpu=$(median <"$work/python.cpu")
echo
echo "$n_recs records, $n_pkgs packages, $runs rounds (medians):"
printf '  agent   wall %6.2f s  CPU %6.2f s\n  python  wall %6.2f s  CPU %6.2f s\n' "$a_wall" "$a_cpu" "$p_wall" "$p_cpu"
awk -v a="$a_wall" -v p="$p_wall" -v ac="$a_cpu" -v pc="$p_cpu" \
	'BEGIN { printf "  ratio agent/python: wall %.3f, CPU %.3f (target: wall <= 0.1)\n", a / p, ac / pc }'
if cmp -s "$work/agent.hits" "$work/python.hits"; then
	echo "  same hits: yes ($(wc -l <"$work/agent.hits") hits)"
else
	echo "  same hits: NO (agent $(wc -l <"$work/agent.hits"), python $(wc -l <"$work/python.hits")); diff:"
	diff "$work/agent.hits" "$work/python.hits" | head -n 20
	exit 1
fi
