#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the whole `pib-agent run` of a real bundle into a Debian 12 minbase
# root, against the same work done by hand with the standard tools in one script, alternated,
# RUNS runs each, every run into a fresh copy of the gold root (the copy is not timed).
#
# The bundle: the jq suite (jq, libjq1, libonig5 from ../shared/fixtures/deb) and vim-runtime
# (BENCH_PACKAGE), fetched once from Debian's archive with `apt-get download` into
# BENCH_DEB_CACHE. vim-runtime is 7 MB of .deb and 36 MB / ~1900 real files installed (docs,
# syntax files, scripts), Architecture all, with no Depends at all (so nothing has to come
# from a repository, which the minbase root does not have), and with preinst/postinst/postrm
# scripts: its install, its postscan and the root snapshot around them are all meaningful.
#
# The agent: `pib-agent run --job JOB --root COPY --state-dir DIR --log-format json`: the bundle
# over HTTPS from tests/tools/orchestrator.py on 127.0.0.1 (the test CA), open, verify,
# prescan, resolve, the signed pre-install report delivered, install, postscan, the signed
# final report delivered, cleanup.
#
# The script (written to WORK/by-hand.sh, printed with BENCH_SHOW_SCRIPT=1): `curl --cacert`
# from the same orchestrator, `sha256sum -c` of the bundle against the job's digest, `tar -x`
# into ROOT/tmp and `sha256sum -c` of the packages against the manifest's digests, then
# `chroot ROOT apt-get install -y --no-install-recommends /tmp/.../*.deb` inside a private mount
# namespace with /proc, /sys, /dev/pts, /dev/shm and a policy-rc.d exiting 101 (what the agent
# gives maintainer scripts), `clamscan` with the same test database on the regular files the
# bundle's packages installed (from dpkg's .list files), a report JSON of the agent's final
# report's size signed by `openssl pkeyutl -sign -rawin` with the agent's Ed25519 key, and the
# downloaded files removed. apt-get and not `dpkg --root -i`: the root has apt-get, and the
# agent then installs with the root's apt-get (installers/deb_install.c), so the script runs
# the very same tool the same way; `dpkg -i` would skip apt's ordering and its second pass.
# What the script does not do and the agent does: prescan the packages, snapshot the root
# before and after, resolve with libsolv, deliver the two reports (with a spool, fsynced).
#
# Prints every run (wall, peak RSS, CPU), the script's phases, the agent's steps (the final
# report's duration_ms), the medians of each, and the ratio agent / script (target <= 1.0),
# both as the ratio of the medians and as the median of the runs' own ratios.
# Usage: bench/run-bench.sh [RUNS] (default 5; RUNS from 1 to 50)
# Environment: PIB_AGENT (default build/pib-agent, built with meson compile when not set),
# PIB_GOLD_ROOT (default /var/tmp/pib-gold-root; built with tests/integration/make-gold.sh when
# missing), PIB_FIXTURES (default ../shared/fixtures), BENCH_DEB_CACHE (default
# /var/tmp/pib-bench-debs), BENCH_PACKAGE (default vim-runtime), BENCH_TMPDIR (default /var/tmp),
# BENCH_KEEP=1 (keep the work folder).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
runs=${1:-${BENCH_RUNS:-5}}
case $runs in '' | *[!0-9]*) echo "usage: $0 [RUNS] (1 to 50)" >&2; exit 2 ;; esac
if [ "$runs" -lt 1 ] || [ "$runs" -gt 50 ]; then echo "usage: $0 [RUNS] (1 to 50)" >&2; exit 2; fi
gold=${PIB_GOLD_ROOT:-/var/tmp/pib-gold-root}
fixtures=${PIB_FIXTURES:-$(cd "$here/.." && pwd)/shared/fixtures}
[ -d "$fixtures/deb" ] && fixtures=$fixtures/deb
cache=${BENCH_DEB_CACHE:-/var/tmp/pib-bench-debs}
pkg=${BENCH_PACKAGE:-vim-runtime}
[ "$(id -u)" = 0 ] || { echo "needs root (chroot, mounts, the agent's containment)" >&2; exit 4; }

# ------------------------------------------------------------------ set-up (not timed)
need=()
for t in clamscan:clamav sigtool:clamav curl:curl openssl:openssl sha256sum:coreutils /usr/bin/python3:python3 \
	/usr/bin/time:time unshare:util-linux chroot:coreutils dpkg-deb:dpkg apt-get:apt; do
	command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
[ -r /usr/share/clamav-testfiles/clam.exe ] || need+=(clamav-testfiles)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi
if [ -n "${PIB_AGENT:-}" ]; then
	agent=$PIB_AGENT
else
	agent=$here/build/pib-agent
	[ -d "$here/build" ] || meson setup "$here/build" "$here" >/dev/null
	# others may be editing the checkout: a failed build with a binary already there goes on
	blog=$(mktemp)
	if ! meson compile -C "$here/build" pib-agent >"$blog" 2>&1; then
		tail -n 20 "$blog" >&2
		[ -x "$agent" ] || { rm -f "$blog"; echo "the agent does not build" >&2; exit 4; }
		echo "warning: meson compile failed; using the existing $agent" >&2
	fi
	rm -f "$blog"
fi
[ -x "$agent" ] || { echo "no agent at $agent" >&2; exit 4; }
python=/usr/bin/python3 # Debian's, for the orchestrator and the bench's own small scripts
[ -e "$gold/.pib-gold-ok" ] || { echo "building the gold root at $gold"; "$here/tests/integration/make-gold.sh" "$gold"; }
jq_debs=("$fixtures"/jq_*_amd64.deb "$fixtures"/libjq1_*_amd64.deb "$fixtures"/libonig5_*_amd64.deb)
for f in "${jq_debs[@]}"; do
	[ -f "$f" ] || { echo "$f is missing (PIB_FIXTURES)" >&2; exit 4; }
done
mkdir -p "$cache"
shopt -s nullglob
big=("$cache/${pkg}"_*.deb)
if [ ${#big[@]} -eq 0 ]; then
	echo "fetching $pkg from Debian's archive into $cache (once)"
	(cd "$cache" && { apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2; true; })
fi
for f in "$cache/${pkg}"_*%3a*.deb; do # the epoch ("2%3a", from apt-get download) out of the name
	mv "$f" "$cache/$(basename "$f" | sed 's/_[0-9]*%3a/_/')"
done
big=("$cache/${pkg}"_*.deb)
shopt -u nullglob
[ ${#big[@]} -eq 1 ] || { echo "expected one $pkg .deb in $cache, found ${#big[@]}" >&2; exit 4; }
debs=("${jq_debs[@]}" "${big[0]}")

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/pib-run-bench.XXXXXX")
server=
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$here/tests/tools/make-ca.sh" "$work/pki" >/dev/null
"$here/tests/scan/make-db.sh" "$work/db"
"$agent" keygen --out "$work/agent" >/dev/null 2>&1
mkdir -p "$work/srv/bundles" "$work/srv/reports"
args=()
for f in "${debs[@]}"; do args+=(--deb "$f"); done
"$python" "$here/tests/tools/mkbundle.py" "$work/srv/bundles/bench.tar.gz" "${args[@]}"
sha=$(sha256sum "$work/srv/bundles/bench.tar.gz" | cut -d' ' -f1)
"$python" "$here/tests/tools/orchestrator.py" --cert "$work/pki/server.pem" --key "$work/pki/server.key" \
	--bundles "$work/srv/bundles" --reports "$work/srv/reports" --log "$work/orch.log" \
	--port-file "$work/orch.port" >"$work/orch.out" 2>&1 &
server=$!
for _ in $(seq 100); do
	[ -s "$work/orch.port" ] && break
	sleep 0.1
done
[ -s "$work/orch.port" ] || { echo "the test orchestrator did not start: $(cat "$work/orch.out")" >&2; exit 4; }
orch=https://127.0.0.1:$(cat "$work/orch.port")
url=$orch/bundles/bench.tar.gz

# mkjob OUT BUILD_ID: the job of one agent run
mkjob() {
	"$python" - "$1" "$2" "$url" "$sha" "$orch" "$work" <<'PY'
import json, sys
out, build, url, sha, orch, w = sys.argv[1:7]
json.dump({
    "schema": "pib-agent/job/v1",
    "build_id": build,
    "bundle": {"url": url, "sha256": sha},
    "report": {"url": orch + "/reports/" + build, "method": "POST"},
    "signing_key": {"path": w + "/agent.key"},
    "ca_bundle": w + "/pki/ca.pem",
    "clamav_db": w + "/db",
    "timeouts": {"install_seconds": 600, "run_seconds": 1200, "deliver_seconds": 60},
}, open(out, "w"), indent=1)
PY
}

# received KEY OUT: the body of the accepted delivery with that Idempotency-Key, copied to OUT
received() {
	local f
	f=$("$python" - "$work/orch.log" "$1" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
s = [x["saved"] for x in r if x["idempotency_key"] == sys.argv[2] and 200 <= x["status"] < 300]
print(s[-1] if s else "")
PY
)
	[ -n "$f" ] && cp "$work/srv/reports/$f" "$2"
}

# the script, by hand: by-hand.sh ROOT URL SHA256 CA DB KEY REPORT_BYTES SCRATCH
cat >"$work/by-hand.sh" <<'SCRIPT'
#!/bin/bash
# The agent's run done by hand with the standard tools (bench/run-bench.sh).
set -euo pipefail
root=$1 url=$2 sha=$3 ca=$4 db=$5 key=$6 report_bytes=$7 out=$8
py=/usr/bin/python3 # Debian's: a pyenv shim first in PATH costs 0.7 s a call
phase() { echo "$1 $EPOCHREALTIME" >>"$out/phases"; }
phase start
# fetch over HTTPS, then the bundle's digest (the job's)
curl -sS --fail --cacert "$ca" -o "$out/bundle.tar.gz" "$url"
phase fetch
echo "$sha  $out/bundle.tar.gz" | sha256sum -c --quiet -
phase verify
# open: the packages into the root's /tmp, checked against the manifest's digests
b=$root/tmp/by-hand-bundle
mkdir "$b"
tar -xzf "$out/bundle.tar.gz" -C "$b"
phase extract
"$py" -c '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
with open(sys.argv[1] + "/SUMS", "w") as s:
    for t in m["targets"]:
        for p in t["packages"]:
            s.write("%s  %s\n" % (p["sha256"], p["file"]))
' "$b"
(cd "$b" && sha256sum -c --quiet SUMS)
for f in "$b"/debs/*.deb; do dpkg-deb -f "$f" Package; done >"$out/names"
phase digests
# install: the root's apt-get, chrooted, in a private mount namespace, with the agent's options
# (no binary caches written into the root; the two --force-conf options change nothing here)
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
unshare --mount --propagation private sh -euc '
	r=$1
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mkdir -p "$r/dev/pts" "$r/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
	mount -t tmpfs tmpfs "$r/dev/shm"
	DEBIAN_FRONTEND=noninteractive chroot "$r" sh -c "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= /tmp/by-hand-bundle/debs/*.deb"
' sh "$root" >"$out/apt.log" 2>&1
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$b"
[ -z "$(dpkg --root="$root" --audit 2>&1)" ]
phase install
# postscan: clamscan on the regular files the bundle's packages installed
while read -r n; do
	l=$root/var/lib/dpkg/info/$n.list
	[ -f "$l" ] || l=$root/var/lib/dpkg/info/$n:amd64.list
	cat "$l"
done <"$out/names" >"$out/paths"
while IFS= read -r p; do
	[ -f "$root$p" ] && [ ! -L "$root$p" ] && printf '%s\n' "$root$p"
done <"$out/paths" >"$out/files"
rc=0
clamscan --no-summary -i -d "$db" --file-list="$out/files" >"$out/clamscan.log" 2>&1 || rc=$?
[ "$rc" -le 1 ]
phase postscan
# the report: a JSON of the agent's final report's size, signed with the Ed25519 key
"$py" -c '
import json, sys
files = open(sys.argv[1]).read().split()
doc = {"status": "succeeded", "bundle": sys.argv[3], "scan": {"files": files}}
text = json.dumps(doc)
n = int(sys.argv[4])
doc["pad"] = "x" * max(0, n - len(text) - 10)
open(sys.argv[2], "w").write(json.dumps(doc))
' "$out/files" "$out/report.json" "$sha" "$report_bytes"
phase report
openssl pkeyutl -sign -rawin -inkey "$key" -in "$out/report.json" -out "$out/report.sig"
phase sign
rm -f "$out/bundle.tar.gz"
phase end
SCRIPT
chmod 0755 "$work/by-hand.sh"
[ "${BENCH_SHOW_SCRIPT:-0}" = 1 ] && cat "$work/by-hand.sh"

cpu() { # cpu NAME: the user + system CPU seconds of the last measure, appended to NAME.cpu
	awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { print s }' "$work/time.txt" >>"$work/$1.cpu"
}

fresh() { # fresh DIR: a copy of the gold root at DIR (the previous one removed)
	rm -rf --one-file-system "$1"
	cp -a "$gold" "$1"
}

# agent_run N: one timed run of the agent into a fresh root; its final report in final.N.json
agent_run() {
	local n=$1
	fresh "$work/root"
	rm -rf "$work/state" "$work/agent-tmp"
	mkdir -p "$work/state" "$work/agent-tmp"
	mkjob "$work/job.$n.json" "bench-$n"
	sync
	measure agent env TMPDIR="$work/agent-tmp" timeout -k 10 900 "$agent" run --job "$work/job.$n.json" \
		--root "$work/root" --state-dir "$work/state" --log-format json </dev/null
	cpu agent
	cp "$work/agent.err" "$work/agent.log.$n"
	received "bench-$n:final" "$work/final.$n.json" || true
	local st
	st=$("$python" "$here/tests/tools/report.py" "$work/final.$n.json" status 2>/dev/null || echo none)
	if [ "$st" != succeeded ] || ! grep -A2 "^Package: $pkg\$" "$work/root/var/lib/dpkg/status" | grep -q 'install ok installed'; then
		echo "  the agent's run $n did not succeed (final report: $st):" >&2
		tail -n 5 "$work/agent.err" >&2
		exit 1
	fi
}

# script_run N: one timed run of by-hand.sh into a fresh root; its phases in phases.N
script_run() {
	local n=$1
	fresh "$work/root"
	rm -rf "$work/hand"
	mkdir -p "$work/hand"
	sync
	measure script "$work/by-hand.sh" "$work/root" "$url" "$sha" "$work/pki/ca.pem" "$work/db" \
		"$work/agent.key" "$report_bytes" "$work/hand"
	cpu script
	if ! grep -q '^end ' "$work/hand/phases" 2>/dev/null; then
		echo "  the script's run $n failed:" >&2
		tail -n 5 "$work/script.err" "$work/hand/apt.log" >&2 2>/dev/null
		exit 1
	fi
	cp "$work/hand/phases" "$work/phases.$n"
	scanned=$(wc -l <"$work/hand/files")
	found=$(grep -c 'FOUND$' "$work/hand/clamscan.log" || true)
}

n_files=0
for f in "${debs[@]}"; do n_files=$((n_files + $(dpkg-deb -c "$f" | grep -c '^-'))); done
echo "bundle: $(for f in "${debs[@]}"; do basename "$f"; done | tr '\n' ' ')"
echo "        $(($(stat -c %s "$work/srv/bundles/bench.tar.gz") / 1000)) kB, $n_files regular files in the packages;" \
	"$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each, alternated"
echo "warm-up (not counted): one run of the agent (it also gives the report's size) and one of the script"
cat "${debs[@]}" >/dev/null
tar -C "$gold" -cf - . >/dev/null
report_bytes=0
agent_run 0
report_bytes=$("$python" -c 'import sys; sys.path.insert(0, sys.argv[2]); import report, json; print(len(json.dumps(report.load_statement(sys.argv[1]))))' \
	"$work/final.0.json" "$here/tests/tools" 2>/dev/null || stat -c %s "$work/final.0.json")
script_run 0
: >"$work/agent.runs"
: >"$work/script.runs"
: >"$work/agent.cpu"
: >"$work/script.cpu"
echo "the agent's final report: $(stat -c %s "$work/final.0.json") bytes signed (DSSE); the script signs $report_bytes bytes of JSON"

for i in $(seq 1 "$runs"); do
	echo "run $i"
	# alternated, and the order flips every run so that neither always goes first
	if [ $((i % 2)) = 1 ]; then
		agent_run "$i"
		script_run "$i"
	else
		script_run "$i"
		agent_run "$i"
	fi
	aw=$(tail -n 1 "$work/agent.runs" | cut -d' ' -f1)
	sw=$(tail -n 1 "$work/script.runs" | cut -d' ' -f1)
	echo "$aw $sw" | awk '{ print $1 / $2 }' >>"$work/ratio.runs"
	printf '  ratio agent / script %.3f\n' "$(echo "$aw $sw" | awk '{ print $1 / $2 }')"
	printf '  script phases (clamscan: %s files, %s found):' "$scanned" "$found" && awk 'NR > 1 { printf " %s %.2f s", $1, $2 - prev } { prev = $2 } END { print "" }' "$work/phases.$i"
	"$python" - "$work/final.$i.json" "$here/tests/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import report
steps = report.load(sys.argv[1]).get("steps") or []
print("  agent steps:  " + " ".join("%s %.2f s" % (s["name"], (s.get("duration_ms") or 0) / 1000) for s in steps))
PY
done
rm -rf --one-file-system "$work/root" "$work/hand" "$work/state"

am=$(cut -d' ' -f1 "$work/agent.runs" | median)
sm=$(cut -d' ' -f1 "$work/script.runs" | median)
echo
echo "medians over $runs runs"
printf 'wall: agent %.2f s, script %.2f s\n' "$am" "$sm"
printf 'agent / script: %.3f of the medians, %.3f the median run (target <= 1.0)\n' \
	"$(echo "$am $sm" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio.runs")"
ac=$(median <"$work/agent.cpu")
sc=$(median <"$work/script.cpu")
printf 'CPU (user + system, all processes): agent %.2f s, script %.2f s: %.3f (less noisy than wall on a busy machine)\n' \
	"$ac" "$sc" "$(echo "$ac $sc" | awk '{ print $1 / $2 }')"
printf 'peak RSS: agent %.1f MB, script %.1f MB (its largest process)\n' \
	"$(cut -d' ' -f2 "$work/agent.runs" | median | awk '{ print $1 / 1024 }')" \
	"$(cut -d' ' -f2 "$work/script.runs" | median | awk '{ print $1 / 1024 }')"
# the breakdowns: the script's phases, the agent's steps (duration_ms), and the agent's wall
# outside its steps (start, the deliveries, cleanup), from the final report and the JSON log
"$python" - "$work" "$runs" "$here/tests/tools" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
import report
def med(v):
    return statistics.median(v) if v else 0.0
phases, steps, walls, outside = {}, {}, [], []
for i in range(1, runs + 1):
    prev = None
    for line in open("%s/phases.%d" % (work, i)):
        name, t = line.split()
        if prev is not None:
            phases.setdefault(name, []).append(float(t) - prev)
        prev = float(t)
    total = 0.0
    for s in report.load("%s/final.%d.json" % (work, i)).get("steps") or []:
        d = (s.get("duration_ms") or 0) / 1000
        steps.setdefault(s["name"], []).append(d)
        total += d
    w = float(open("%s/agent.runs" % work).read().split("\n")[i - 1].split()[0])
    walls.append(w)
    outside.append(w - total)
print("script phases (median s): " + ", ".join("%s %.2f" % (k, med(v)) for k, v in phases.items()))
print("agent steps (median s):   " + ", ".join("%s %.2f" % (k, med(v)) for k, v in steps.items()))
print("agent wall outside its steps (start, deliveries, cleanup; median): %.2f s" % med(outside))
# the JSON log of the last run: the time between consecutive lines, the largest gaps
log = []
for line in open("%s/agent.log.%d" % (work, runs)):
    try:
        log.append(json.loads(line))
    except ValueError:
        pass
def ts(x):
    for k in ("time", "ts", "timestamp"):
        if k in x:
            v = x[k]
            if isinstance(v, (int, float)):
                return float(v)
            import datetime
            try:
                return datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
            except ValueError:
                return None
    return None
pts = [(ts(x), x.get("msg") or x.get("message") or "") for x in log]
pts = [p for p in pts if p[0] is not None]
if len(pts) > 1:
    print("agent log (--log-format json), run %d: %d lines over %.2f s of %.2f s wall; s since the first line, s since the line before:"
          % (runs, len(pts), pts[-1][0] - pts[0][0], walls[-1]))
    for k, (t, m) in enumerate(pts):
        print("  %6.2f %6.2f  %s" % (t - pts[0][0], t - pts[k - 1][0] if k else 0.0, m[:100]))
PY
