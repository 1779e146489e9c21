#!/bin/bash
# SPDX-License-Identifier: MIT
# agent/http.c and agent/fetch.c against a real HTTPS server with faults (tests/tools/
# orchestrator.py on 127.0.0.1, its certificate from a CA made here): plain, cut, resumed,
# retried and refused downloads, limits, TLS refusals, file://, deliveries with retries, and no
# pre-signed URL's query string in any error. Driven by tests/tools/net-tool (PIB_NET_TOOL).
. "$(dirname "$0")/lib.sh"
setup --no-agent

NT=${PIB_NET_TOOL:-}
[ -n "$NT" ] && [ -x "$NT" ] || bail_out "PIB_NET_TOOL is not set to the net-tool binary"

SERVER_PIDS=()
stop_servers() {
	local p
	for p in "${SERVER_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	SERVER_PIDS=()
}
trap 'stop_servers; _cleanup' EXIT

"$TOOLS_DIR/make-ca.sh" "$T/pki" || bail_out "make-ca.sh failed"
mkdir -p "$T/bundles" "$T/reports" "$T/other-reports" "$T/dl"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$T/bundles/small.bin"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$T/bundles/big.bin"
SMALL_SHA=$(sha256sum "$T/bundles/small.bin" | cut -d' ' -f1)
SMALL_SIZE=$(stat -c %s "$T/bundles/small.bin")
HALF=$((SMALL_SIZE / 2))
BIG_SHA=$(sha256sum "$T/bundles/big.bin" | cut -d' ' -f1)
CA=$T/pki/ca.pem
LOG=$T/server.log
FAULTS=$T/faults.json

# start_server CERT KEY LOG PORTFILE: the orchestrator in the background; its port on stdout.
start_server() {
	"$PYTHON" "$TOOLS_DIR/orchestrator.py" --cert "$1" --key "$2" --bundles "$T/bundles" \
		--reports "$T/reports" --log "$3" --port-file "$4" --faults "$FAULTS" \
		2>>"$T/server.err" &
	SERVER_PIDS+=($!)
	local i
	for i in $(seq 100); do
		[ -s "$4" ] && break
		sleep 0.1
	done
	[ -s "$4" ] || bail_out "the test orchestrator did not start: $(tail -n 5 "$T/server.err")"
}

# faults JSON: the server's faults from now on (written whole, then renamed)
faults() {
	printf '%s\n' "$1" >"$FAULTS.tmp" && mv "$FAULTS.tmp" "$FAULTS"
	: >"$LOG"
}

# jf FILE KEY[.KEY]: a field of the JSON line in FILE ('' for null)
jf() {
	"$PYTHON" -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# logcount EXPR: requests in the server log for which the Python expression EXPR (over r) holds
logcount() {
	"$PYTHON" -c '
import json, sys
try:
    rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except FileNotFoundError:
    rs = []
print(sum(1 for r in rs if eval(sys.argv[2])))' "${2:-$LOG}" "$1"
}

# fetch URL SHA MAX DEST [OPTIONS...]: net-tool fetch; the JSON line in $T/out.json, exit in $RC
fetch() {
	"$NT" fetch "$@" >"$T/out.json" 2>"$T/nt.err"
	RC=$?
}

# send METHOD URL FILE KEY [OPTIONS...]
send() {
	"$NT" send "$@" >"$T/out.json" 2>"$T/nt.err"
	RC=$?
}

start_server "$T/pki/server.pem" "$T/pki/server.key" "$LOG" "$T/port"
PORT=$(cat "$T/port")
BASE=https://127.0.0.1:$PORT
faults '{}'

# ---------------------------------------------------------------------------- plain
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/plain" --ca "$CA"
is "plain fetch: exit 0" "$RC" 0
is "plain fetch: its digest is sha256sum's" "$(jf "$T/out.json" sha256)" "$SMALL_SHA"
is "plain fetch: the file's digest too" "$(sha256sum <"$T/dl/plain" | cut -d' ' -f1)" "$SMALL_SHA"
is "plain fetch: size" "$(jf "$T/out.json" size)" "$SMALL_SIZE"
is "plain fetch: one request" "$(logcount 'r["method"] == "GET"')" 1
is "plain fetch: no .part left" "$(ls "$T/dl" | grep -c '\.part$')" 0
is "plain fetch: the file is 0600" "$(stat -c %a "$T/dl/plain")" 600

# ---------------------------------------------------------------------------- cut halfway
faults "{\"bundles\": {\"cut_after\": $HALF}}"
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/cut" --ca "$CA"
is "cut halfway: exit 0" "$RC" 0
is "cut halfway: digest right" "$(sha256sum <"$T/dl/cut" | cut -d' ' -f1)" "$SMALL_SHA"
is "cut halfway: the first response was cut" "$(logcount "r['fault'] == 'cut_after' and r['sent'] == $HALF")" 1
is "cut halfway: a Range request from the cut answered 206" \
	"$(logcount "r['range'] == 'bytes=$HALF-' and r['status'] == 206 and r['sent'] == $((SMALL_SIZE - HALF))")" 1
is "cut halfway: resumes 1" "$(jf "$T/out.json" resumes)" 1

# ---------------------------------------------------------------------------- an earlier run's .part
faults '{}'
head -c 1048576 "$T/bundles/small.bin" >"$T/dl/cont.part"
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/cont" --ca "$CA"
is "earlier .part: exit 0" "$RC" 0
is "earlier .part: digest right" "$(sha256sum <"$T/dl/cont" | cut -d' ' -f1)" "$SMALL_SHA"
is "earlier .part: one request, a Range from its end" \
	"$(logcount 'r["range"] == "bytes=1048576-" and r["status"] == 206')/$(logcount 'True')" 1/1
is "earlier .part: gone" "$(ls "$T/dl" | grep -c '\.part$')" 0

faults '{}'
head -c 1048576 /dev/urandom >"$T/dl/stale.part"
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/stale" --ca "$CA"
is "stale .part (other bytes): exit 0 after one fresh download" "$RC/$(jf "$T/out.json" attempts)" 0/2
is "stale .part: digest right" "$(sha256sum <"$T/dl/stale" | cut -d' ' -f1)" "$SMALL_SHA"
is "stale .part: a Range, then the whole file" \
	"$(logcount 'r["range"] == "bytes=1048576-"')/$(logcount 'r["range"] is None and r["status"] == 200')" 1/1

# a server that ignores Range: 200 to the resume, digest restarted
faults "{\"bundles\": {\"cut_after\": $HALF, \"no_range\": true}}"
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/norange" --ca "$CA"
is "200 to a Range request: exit 0, digest right" \
	"$RC/$(sha256sum <"$T/dl/norange" | cut -d' ' -f1)" "0/$SMALL_SHA"
is "200 to a Range request: asked for, answered whole" \
	"$(logcount "r['range'] == 'bytes=$HALF-' and r['status'] == 200 and r['sent'] == $SMALL_SIZE")" 1

# ---------------------------------------------------------------------------- stall
faults "{\"bundles\": {\"stall_after\": 100000, \"stall_for\": 20}}"
t0=$(date +%s.%N)
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/stall" --ca "$CA" --stall 1
t1=$(date +%s.%N)
is "stalled transfer: abandoned and resumed, digest right" \
	"$RC/$(jf "$T/out.json" resumes)/$(jf "$T/out.json" sha256)" "0/1/$SMALL_SHA"
# libcurl's speed is an average over the last 5 s: a 1 s stall limit trips after 6 to 7 s
check "stalled transfer: abandoned long before the server gave up (took $(awk "BEGIN{print $t1-$t0}") s of 20)" \
	awk "BEGIN{exit !($t1 - $t0 < 12)}"

# ---------------------------------------------------------------------------- retries
faults '{"bundles": {"fail": [503, 503]}}'
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/retry" --ca "$CA"
is "503 twice then 200: exit 0, 3 attempts" "$RC/$(jf "$T/out.json" attempts)" 0/3
is "503 twice then 200: 3 requests (503, 503, 200)" \
	"$(logcount 'r["status"] == 503')/$(logcount 'r["status"] == 200')" 2/1

faults '{"bundles": {"fail": [503], "retry_after": 2}}'
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/ra" --ca "$CA"
gap=$("$PYTHON" -c '
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if l.strip()]
print("%.2f" % (t[1] - t[0]) if len(t) == 2 else "requests: %d" % len(t))' "$LOG")
is "Retry-After: exit 0" "$RC" 0
check "Retry-After 2 honoured (gap between the requests: $gap s, backoff base 0.1 s)" \
	awk "BEGIN{exit !(\"$gap\" + 0 >= 2.0)}"

faults '{"bundles": {"fail": [404]}}'
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/nf" --ca "$CA"
# counted by status: the server logs a request after answering it, so on a loaded machine the
# line of the test before may land after faults() emptied the log
is "404: fetch.http, not retried" "$RC/$(jf "$T/out.json" error.code)/$(logcount 'r["status"] == 404')" "1/fetch.http/1"

faults '{"bundles": {"fail": [503, 503, 503, 503, 503]}}'
fetch "$BASE/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/ex" --ca "$CA" --attempts 3
is "503 until the attempts run out: fetch.http after 3 requests" \
	"$RC/$(jf "$T/out.json" error.code)/$(logcount 'r["status"] == 503')" "1/fetch.http/3"

# ---------------------------------------------------------------------------- TLS
start_server "$T/pki/other-server.pem" "$T/pki/other-server.key" "$T/other.log" "$T/other-port"
OTHER=https://127.0.0.1:$(cat "$T/other-port")
fetch "$OTHER/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/tls" --ca "$CA"
is "certificate from another CA: fetch.tls, one attempt" \
	"$RC/$(jf "$T/out.json" error.code)/$(jf "$T/out.json" attempts)" "1/fetch.tls/1"
is "certificate from another CA: nothing written" "$(ls "$T/dl" | grep -c '^tls')" 0
fetch "$OTHER/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/tls2"
is "certificate from a test CA, system store: fetch.tls" "$(jf "$T/out.json" error.code)" fetch.tls
fetch "https://localhost:$PORT/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/byname" --ca "$CA"
is "by the name localhost: exit 0" "$RC" 0

# ---------------------------------------------------------------------------- digest, size
faults '{}'
WRONG=$(printf '%064d' 0)
fetch "$BASE/bundles/small.bin" "$WRONG" 100000000 "$T/dl/mm" --ca "$CA"
is "digest mismatch: fetch.digest_mismatch" "$RC/$(jf "$T/out.json" error.code)" 1/fetch.digest_mismatch
msg=$(jf "$T/out.json" error.message)
contains "digest mismatch: the message names the digest got" "$msg" "$SMALL_SHA"
contains "digest mismatch: and the one expected" "$msg" "$WRONG"
is "digest mismatch: neither DEST nor DEST.part" "$(ls "$T/dl" | grep -c '^mm')" 0

faults '{"bundles": {"lie_length": "omit"}}'
fetch "$BASE/bundles/big.bin" "$BIG_SHA" 1048576 "$T/dl/tl" --ca "$CA"
is "over max_bytes without a Content-Length: fetch.too_large" "$RC/$(jf "$T/out.json" error.code)" 1/fetch.too_large
sent=$(python3 -c 'import json,sys; print(max([json.loads(l)["sent"] for l in open(sys.argv[1]) if l.strip()] or [0]))' "$LOG")
check "over max_bytes: stopped early (the server sent $sent of 67108864 bytes)" test "$sent" -lt $((32 * 1048576))
is "over max_bytes: neither DEST nor DEST.part" "$(ls "$T/dl" | grep -c '^tl')" 0

faults '{"bundles": {"lie_length": 1000}}'
fetch "$BASE/bundles/big.bin" "$BIG_SHA" 1048576 "$T/dl/tl2" --ca "$CA"
is "a Content-Length smaller than the body: only those bytes taken, digest mismatch" \
	"$RC/$(jf "$T/out.json" error.code)/$(jf "$T/out.json" size)" 1/fetch.digest_mismatch/1000

faults '{}'
fetch "$BASE/bundles/big.bin" "$BIG_SHA" 1048576 "$T/dl/tl3" --ca "$CA"
is "an announced size over max_bytes: fetch.too_large before any byte is written" \
	"$RC/$(jf "$T/out.json" error.code)" 1/fetch.too_large
contains "an announced size over max_bytes: the message says so" "$(jf "$T/out.json" error.message)" announced

# ---------------------------------------------------------------------------- schemes
faults '{}'
fetch "http://127.0.0.1:$PORT/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/http" --ca "$CA"
is "http:// refused: fetch.url, no request" "$RC/$(jf "$T/out.json" error.code)/$(logcount 'True')" 1/fetch.url/0
fetch "file://$T/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/file" --allow-file
is "file:// with allow_file: exit 0, digest right" \
	"$RC/$(sha256sum <"$T/dl/file" | cut -d' ' -f1)" "0/$SMALL_SHA"
head -c 1000000 "$T/bundles/small.bin" >"$T/dl/file2.part"
fetch "file://$T/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/file2" --allow-file
is "file:// continues a .part too" "$RC/$(jf "$T/out.json" resumes)/$(jf "$T/out.json" sha256)" "0/1/$SMALL_SHA"
fetch "file://$T/bundles/small.bin" "$SMALL_SHA" 100000000 "$T/dl/file3"
is "file:// without allow_file: fetch.url" "$RC/$(jf "$T/out.json" error.code)" 1/fetch.url

# ---------------------------------------------------------------------------- send
printf '{"report": "body %s"}\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/report.json"
faults '{"reports": {"fail": [503, 503, 503]}}'
send POST "$BASE/reports/b-1/report" "$T/report.json" key-1 --ca "$CA"
is "send: 503 three times then 201" "$RC/$(jf "$T/out.json" status)" 0/201
is "send: 4 requests, each with the Idempotency-Key" \
	"$(logcount 'r["method"] == "POST"')/$(logcount 'r["idempotency_key"] == "key-1" and r["content_type"] == "application/json"')" 4/4
saved=$(ls "$T/reports")
is "send: one body saved" "$(wc -w <<<"$saved")" 1
check "send: the body saved is the one sent" cmp "$T/reports/$saved" "$T/report.json"

faults '{}'
send PUT "$BASE/reports/b-1/report" "$T/report.json" key-2 --ca "$CA"
is "send PUT: 200" "$RC/$(jf "$T/out.json" status)/$(logcount 'r["method"] == "PUT" and r["status"] == 200')" 0/200/1

faults '{"reports": {"fail": [400]}}'
send POST "$BASE/reports/b-1/report" "$T/report.json" key-3 --ca "$CA"
is "send: a 400 is deliver.refused, not retried" \
	"$RC/$(jf "$T/out.json" error.code)/$(jf "$T/out.json" status)/$(logcount 'True')" 1/deliver.refused/400/1

faults '{"reports": {"always": 503}}'
send POST "$BASE/reports/b-1/report" "$T/report.json" key-4 --ca "$CA" --attempts 3
is "send: always 503: deliver.unreachable after 3 attempts" \
	"$RC/$(jf "$T/out.json" error.code)/$(logcount 'True')" 1/deliver.unreachable/3

send POST "$OTHER/reports/b-1/report" "$T/report.json" key-5 --ca "$CA"
is "send: a certificate from another CA: deliver.tls, nothing sent" \
	"$RC/$(jf "$T/out.json" error.code)/$(logcount 'True' "$T/other.log")" 1/deliver.tls/0

# ---------------------------------------------------------------------------- secrets
SECRET=X-Amz-Signature=5ecre7a11ba6e1c0de
Q="?X-Amz-Credential=AKIAEXAMPLE&$SECRET"
errors=
faults '{"bundles": {"fail": [403]}, "reports": {"fail": [403]}}'
fetch "$BASE/bundles/small.bin$Q" "$SMALL_SHA" 100000000 "$T/dl/s1" --ca "$CA"
errors+=$(cat "$T/out.json" "$T/nt.err")
send POST "$BASE/reports/x$Q" "$T/report.json" key-6 --ca "$CA"
errors+=$(cat "$T/out.json" "$T/nt.err")
fetch "$OTHER/bundles/small.bin$Q" "$SMALL_SHA" 100000000 "$T/dl/s2" --ca "$CA"
errors+=$(cat "$T/out.json" "$T/nt.err")
fetch "https://user:hunter2pass@127.0.0.1:1/bundles/x$Q" "$SMALL_SHA" 100000000 "$T/dl/s3" --ca "$CA" --attempts 2
errors+=$(cat "$T/out.json" "$T/nt.err")
fetch "http://127.0.0.1:$PORT/bundles/x$Q" "$SMALL_SHA" 100000000 "$T/dl/s4" --ca "$CA"
errors+=$(cat "$T/out.json" "$T/nt.err")
send POST "https://127.0.0.1:1/reports/x$Q" "$T/report.json" key-7 --ca "$CA" --attempts 2
errors+=$(cat "$T/out.json" "$T/nt.err")
check_not "pre-signed URLs: no query string in any error (403, TLS, refused, http://)" \
	grep -qE '5ecre7a11ba6e1c0de|AKIAEXAMPLE|hunter2pass' <<<"$errors"
contains "pre-signed URLs: the URL is shown redacted" "$errors" "/bundles/small.bin?…"
is "pre-signed URLs: 6 errors, each with a code" "$(grep -o '"code":' <<<"$errors" | wc -l)" 6
is "pre-signed URLs: the server saw the query (its presence only is logged)" \
	"$(logcount 'r["query"] is True')" 2
check_not "pre-signed URLs: the server log holds no query text" grep -q 5ecre7a11ba6e1c0de "$LOG"

stop_servers
done_testing
