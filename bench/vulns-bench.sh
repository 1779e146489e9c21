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
# The forms (BENCH_FEED_FORMS, default all four): osv.dev's all.zip, the folder it unpacks to, one
# JSON array, and the index pib-agent vulns-index makes of the folder (made once, timed apart: the
# way a feed is meant to reach build instances). The script always reads the same records as JSON
# (the folder, for the index). "The step" is the agent's vulnerability step: the feed read, then
# the root's packages read, matched and judged (the step's duration_ms in the report).
# Usage: bench/vulns-bench.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
runs=${BENCH_RUNS:-5}
n_recs=${BENCH_RECORDS:-50000}
n_pkgs=${BENCH_PACKAGES:-3000}
py=/usr/bin/python3 # Debian's, where python3-apt is
bench_need "time python3" /usr/bin/time "$py"
"$py" -c 'import apt_pkg' 2>/dev/null || { echo "python3-apt is missing (apt-get install -y python3-apt)" >&2; exit 4; }
bench_agent

bench_work pib-bench
"$py" "$here/bench/vulns-gen.py" "$work/root" "$work/feed" "$n_pkgs" "$n_recs"
# the forms a feed comes in: osv.dev's all.zip as downloaded (deflate), the folder it unpacks to,
# and one JSON array of all records; BENCH_FEED_FORMS chooses (default: all three)
forms=${BENCH_FEED_FORMS:-zip dir array index}
for form in $forms; do
	case $form in
	dir) ;;
	zip) "$py" -c 'import os, sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(d)): z.write(os.path.join(d, n), n)' "$work/feed" "$work/all.zip" ;;
	array) "$py" -c 'import json, os, sys
d = sys.argv[1]
json.dump([json.load(open(os.path.join(d, n))) for n in sorted(os.listdir(d))], open(sys.argv[2], "w"))' "$work/feed" "$work/feed.json" ;;
	index)
		/usr/bin/time -f '%e %M' -o "$work/index.time" "$agent" vulns-index --vulns "$work/feed" --out "$work/feed.pibvx" 2>"$work/index.err" ||
			{ cat "$work/index.err" >&2; exit 4; }
		index_made="index made from the folder by pib-agent vulns-index in $(cut -d' ' -f1 "$work/index.time") s, peak RSS $(($(cut -d' ' -f2 "$work/index.time") / 1024)) MB (once per feed, off the instance)" ;;
	*) echo "BENCH_FEED_FORMS: unknown form $form (zip, dir, array, index)" >&2; exit 4 ;;
	esac
done
feed_of() { case $1 in dir) echo "$work/feed" ;; zip) echo "$work/all.zip" ;; array) echo "$work/feed.json" ;; index) echo "$work/feed.pibvx" ;; esac; }
# what the script reads: the same form, or for the index the folder it was made from
script_feed_of() { case $1 in index) feed_of dir ;; *) feed_of "$1" ;; esac; }
for form in $forms; do
	echo "feed as $form: $(du -sh --apparent-size "$(feed_of "$form")" | cut -f1) ($(du -sh "$(feed_of "$form")" | cut -f1) on disk)"
done
[ -z "${index_made:-}" ] || echo "$index_made"

cpu() { awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$work/time.txt"; }
# the vulns step's own times: the feed read (the agent's log, in ms), then the step's duration
# (the root's packages read, matched, judged) and, within it, the match and judging alone
read_ms() { sed -n 's/.*, read in \([0-9.]*\) s.*/\1/p' "$work/agent.err" | awk '{ printf "%d", $1 * 1000 }'; }
step_ms() {
	"$py" -c 'import base64, json, sys
env = json.load(open(sys.argv[1]))
pred = json.loads(base64.b64decode(env["payload"]))["predicate"]
s = next(s for s in pred["steps"] if s["name"] == "vulns")
print(s["duration_ms"], s["match_ms"])' "$work/report.json"
}
summary=""
for form in $forms; do
	feed=$(feed_of "$form")
	agent_cmd=("$agent" vulns --root "$work/root" --vulns "$feed" --vulns-max-age 0 --report "$work/report.json")
	python_cmd=("$py" "$here/bench/vulns-match.py" "$work/root" "$(script_feed_of "$form")" Debian:12)
	rm -f "$work/agent.runs" "$work/python.runs" "$work/agent.cpu" "$work/python.cpu" "$work/step.ms"
	# one warm-up of each: both read the feed from the page cache afterwards
	"${agent_cmd[@]}" >/dev/null 2>&1 || true
	"${python_cmd[@]}" >/dev/null
	echo
	echo "== feed as $form"
	for i in $(seq 1 "$runs"); do
		echo "round $i:"
		measure agent "${agent_cmd[@]}"
		cpu >>"$work/agent.cpu"
		echo "$(read_ms) $(step_ms)" >>"$work/step.ms"
		measure python "${python_cmd[@]}"
		cpu >>"$work/python.cpu"
	done
	a_wall=$(cut -d' ' -f1 "$work/agent.runs" | median)
	p_wall=$(cut -d' ' -f1 "$work/python.runs" | median)
	a_cpu=$(median <"$work/agent.cpu")
	p_cpu=$(median <"$work/python.cpu")
	a_read=$(cut -d' ' -f1 "$work/step.ms" | median)
	a_rest=$(cut -d' ' -f2 "$work/step.ms" | median)
	a_match=$(cut -d' ' -f3 "$work/step.ms" | median)
	a_step=$(awk '{ print $1 + $2 }' "$work/step.ms" | median)
	line=$(awk -v f="$form" -v a="$a_wall" -v p="$p_wall" -v ac="$a_cpu" -v pc="$p_cpu" -v r="$a_read" -v x="$a_rest" -v m="$a_match" -v s="$a_step" \
		'BEGIN { printf "  %-6s agent wall %5.2f s (CPU %5.2f s; the step %4d ms: feed read %4d, packages+match+judge %4d, of which match+judge %4d)   python wall %5.2f s (CPU %5.2f s)   ratio: the step %.3f, whole command wall %.3f, CPU %.3f", f, a, ac, s, r, x, m, p, pc, s / 1000 / p, a / p, ac / pc }')
	echo "$line"
	summary="$summary$line
"
	cp "$work/python.out" "$work/python.$form.out"
	cp "$work/report.json" "$work/report.$form.json"
done

# the same hits in every form: the agent's vulnerabilities[] against the script's lines
status=0
for form in $forms; do
	"$py" - "$work/report.$form.json" >"$work/agent.hits" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
pred = json.loads(base64.b64decode(env["payload"]))["predicate"]
for v in sorted((v["id"], v["package"], v["arch"]) for v in pred["vulnerabilities"] or []):
    print(" ".join(v))
PY
	sort "$work/python.$form.out" >"$work/python.hits"
	if cmp -s "$work/agent.hits" "$work/python.hits"; then
		echo "  $form: same hits: yes ($(wc -l <"$work/agent.hits") hits)"
	else
		echo "  $form: same hits: NO (agent $(wc -l <"$work/agent.hits"), python $(wc -l <"$work/python.hits")); diff:"
		diff "$work/agent.hits" "$work/python.hits" | head -n 20
		status=1
	fi
done
echo
echo "$n_recs records, $n_pkgs packages, $runs rounds (medians); target (issue 14): the agent's vulnerability step <= 0.1 x python's wall"
[ -z "${index_made:-}" ] || echo "  ($index_made)"
printf '%s' "$summary"
exit $status
