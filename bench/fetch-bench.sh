#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the fetch step (agent/fetch.c through tests/tools/net-tool: download
# over HTTPS, SHA-256 on a writer thread as the bytes arrive, rename) of a BENCH_BYTES file (default
# 1 GiB of random bytes) from the test orchestrator on 127.0.0.1, against `curl -sS --cacert CA
# -o FILE URL` alone and `curl ... && sha256sum FILE`, alternated, BENCH_RUNS runs each. Each
# run writes a fresh file on the same filesystem (removed and synced between runs, not timed).
# Prints every run and the medians, and the ratios fetch / curl (target <= 1.05) and
# fetch / (curl + sha256sum), both as the ratio of the medians and as the median of the runs'
# own ratios. The server is tests/tools/orchestrator.py (python's ssl, 256 KiB writes); here it
# outran `openssl s_server -WWW` by about three times.
# Usage: bench/fetch-bench.sh
# Environment: PIB_NET_TOOL (default build/tests/integration/net-tool), BENCH_RUNS (default 5),
# BENCH_BYTES (default 1073741824), BENCH_TMPDIR (default /var/tmp).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
nt=${PIB_NET_TOOL:-$here/build/tests/integration/net-tool}
runs=${BENCH_RUNS:-5}
bytes=${BENCH_BYTES:-1073741824}
bench_need "curl openssl python3 coreutils time" curl openssl python3 sha256sum /usr/bin/time
[ -x "$nt" ] || { echo "no net-tool at $nt (build first, or set PIB_NET_TOOL)" >&2; exit 4; }

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/pib-fetch-bench.XXXXXX")
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
"$here/tests/tools/make-ca.sh" "$work/pki"
mkdir -p "$work/bundles" "$work/reports"
head -c "$bytes" /dev/urandom >"$work/bundles/bench.bin"
sha=$(openssl dgst -sha256 -r "$work/bundles/bench.bin" | cut -d' ' -f1)
python3 "$here/tests/tools/orchestrator.py" --cert "$work/pki/server.pem" --key "$work/pki/server.key" \
	--bundles "$work/bundles" --reports "$work/reports" --log "$work/server.log" --port-file "$work/port" \
	2>"$work/server.err" &
server=$!
for _ in $(seq 100); do
	[ -s "$work/port" ] && break
	sleep 0.1
done
[ -s "$work/port" ] || { echo "the test orchestrator did not start: $(cat "$work/server.err")" >&2; exit 4; }
url=https://127.0.0.1:$(cat "$work/port")/bundles/bench.bin
ca=$work/pki/ca.pem
out=$work/out.bin
echo "file: $bytes bytes over loopback HTTPS; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each"
echo "warm-up: one download of each kind, not counted"
curl -sS --cacert "$ca" -o "$out" "$url"
rm -f "$out"
"$nt" fetch "$url" "$sha" $((bytes + 1)) "$out" --ca "$ca" >/dev/null
rm -f "$out"
sync

# fresh: the previous output removed and written back, so that no run pays for another's
fresh() {
	rm -f "$out" "$out.part"
	sync
}

for i in $(seq 1 "$runs"); do
	echo "run $i"
	fresh
	measure curl curl -sS --cacert "$ca" -o "$out" "$url"
	fresh
	measure curl_sha sh -c 'curl -sS --cacert "$1" -o "$2" "$3" && sha256sum "$2"' sh "$ca" "$out" "$url"
	got=$(cut -d' ' -f1 "$work/curl_sha.out")
	[ "$got" = "$sha" ] || echo "  curl + sha256sum: digest $got, not $sha" >&2
	fresh
	measure fetch "$nt" fetch "$url" "$sha" $((bytes + 1)) "$out" --ca "$ca"
	grep -q '"ok":true' "$work/fetch.out" || echo "  fetch failed: $(cat "$work/fetch.out")" >&2
	cw=$(tail -n 1 "$work/curl.runs" | cut -d' ' -f1)
	sw=$(tail -n 1 "$work/curl_sha.runs" | cut -d' ' -f1)
	fw=$(tail -n 1 "$work/fetch.runs" | cut -d' ' -f1)
	echo "$fw $cw" | awk '{ print $1 / $2 }' >>"$work/ratio_curl.runs"
	echo "$fw $sw" | awk '{ print $1 / $2 }' >>"$work/ratio_sha.runs"
	printf '  run %d ratios: fetch/curl %.3f, fetch/(curl+sha256sum) %.3f\n' "$i" \
		"$(tail -n 1 "$work/ratio_curl.runs")" "$(tail -n 1 "$work/ratio_sha.runs")"
done
fresh

cm=$(cut -d' ' -f1 "$work/curl.runs" | median)
sm=$(cut -d' ' -f1 "$work/curl_sha.runs" | median)
fm=$(cut -d' ' -f1 "$work/fetch.runs" | median)
echo
printf 'median wall: curl %.2f s, curl + sha256sum %.2f s, fetch (download + SHA-256) %.2f s (%.0f MB/s)\n' \
	"$cm" "$sm" "$fm" "$(echo "$bytes $fm" | awk '{ print $1 / $2 / 1e6 }')"
printf 'fetch / curl:             %.3f of the medians, %.3f the median run (target <= 1.05)\n' \
	"$(echo "$fm $cm" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_curl.runs")"
printf 'fetch / curl + sha256sum: %.3f of the medians, %.3f the median run\n' \
	"$(echo "$fm $sm" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_sha.runs")"
