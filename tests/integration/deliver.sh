#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent deliver against the test orchestrator (tests/tools/orchestrator.py, HTTPS on
# 127.0.0.1 with a CA made by make-ca.sh): orchestrator down then up, 503s then accepted with one
# Idempotency-Key, a 400 not retried, a pre-signed PUT whose secret never shows, a corrupt meta
# among good reports, a symlinked spool, a kill -9 in the middle of the retries. Real signed
# reports (keygen + scan); tests/tools/spool-tool puts them into the spool.
. "$(dirname "$0")/lib.sh"

setup
SPOOL_TOOL=${PIB_SPOOL_TOOL:-}
[ -x "$SPOOL_TOOL" ] || bail_out "PIB_SPOOL_TOOL is not set to the spool-tool binary"
ORCH=$TOOLS_DIR/orchestrator.py
[ -f "$ORCH" ] || bail_out "no $ORCH"

"$TOOLS_DIR/make-ca.sh" "$T/pki" >/dev/null 2>&1 || bail_out "make-ca.sh failed"
"$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 || bail_out "make-db.sh failed"
"$PIB_AGENT" keygen --out "$T/key" >/dev/null 2>&1 || bail_out "pib-agent keygen failed"
echo "a file to scan" >"$T/scanned"
"$PIB_AGENT" scan "$T/scanned" --db "$T/db" --key "$T/key.key" --report "$T/r.json" </dev/null \
	>/dev/null 2>"$T/scan.err" || bail_out "pib-agent scan failed: $(cat "$T/scan.err")"
CA=$T/pki/ca.pem
mkdir -p "$T/reports" "$T/agent-tmp"
: >"$T/orch.log"

# ---------------------------------------------------------------------------- helpers
ORCH_PID=
PORT=
# orch_start [PORT]: the orchestrator on PORT (any free port when not given); sets PORT. It
# takes port 0 only, so a chosen port is bound through a small wrapper around its server.
orch_start() {
	rm -f "$T/port"
	"$PYTHON" - "${1:-0}" "$ORCH" --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
		--bundles "$T" --reports "$T/reports" --log "$T/orch.log" --port-file "$T/port" \
		--faults "$T/faults" 2>>"$T/orch.err" <<'EOF' &
import runpy, socketserver, sys
port, orch = int(sys.argv[1]), sys.argv[2]
bind = socketserver.TCPServer.server_bind
def server_bind(self):
    if port:
        self.server_address = (self.server_address[0], port)
    bind(self)
socketserver.TCPServer.server_bind = server_bind
sys.argv = [orch] + sys.argv[3:]
runpy.run_path(orch, run_name="__main__")
EOF
	ORCH_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$T/port" ] && break
		sleep 0.1
	done
	[ -s "$T/port" ] || bail_out "the orchestrator did not start: $(tail -n 5 "$T/orch.err")"
	PORT=$(cat "$T/port")
}

orch_stop() {
	if [ -n "$ORCH_PID" ]; then
		kill "$ORCH_PID" 2>/dev/null
		wait "$ORCH_PID" 2>/dev/null
	fi
	ORCH_PID=
}
trap 'orch_stop; _cleanup' EXIT

# faults JSON: the orchestrator's faults from now on ("" for none)
faults() {
	printf '%s\n' "$1" >"$T/faults.tmp" && mv "$T/faults.tmp" "$T/faults"
}

# put STATE BUILD PHASE URL METHOD: a copy of the signed report into STATE's spool
put() {
	"$SPOOL_TOOL" put "$1" "$2" "$3" "$4" "$5" "$CA" "$T/r.json" 2>"$T/put.err" ||
		bail_out "spool-tool put $2 $3 failed: $(cat "$T/put.err")"
}

# deliver STATE: pib-agent deliver --state-dir STATE, within SECS seconds (default 60); sets RC
# and keeps stdout and stderr in $T/agent.out and $T/agent.err
deliver() {
	RUN_SEQ=$((RUN_SEQ + 1))
	RUN_ID=$RUN_SEQ
	RUN_CMD="pib-agent deliver --state-dir $1 (PIB_DELIVER_SECONDS=${SECS:-60})"
	PIB_DELIVER_SECONDS=${SECS:-60} TMPDIR=$T/agent-tmp timeout -k 5 300 "$PIB_AGENT" deliver --state-dir "$1" \
		</dev/null >"$T/agent.out" 2>"$T/agent.err"
	RC=$?
	diag "ran: $RUN_CMD -> exit $RC"
}

# requests KEY [accepted]: how many requests with Idempotency-Key KEY the orchestrator logged
# (only the 2xx ones with "accepted"); or, with "statuses", their statuses in order
requests() {
	"$PYTHON" - "$T/orch.log" "$1" "${2:-all}" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [r for r in recs if r.get("idempotency_key") == sys.argv[2]]
if sys.argv[3] == "accepted":
    print(sum(1 for r in mine if 200 <= (r.get("status") or 0) < 300))
elif sys.argv[3] == "statuses":
    print(" ".join(str(r.get("status")) for r in mine))
elif sys.argv[3] == "fields":
    print(" ".join("%s|%s|%s" % (r["method"], r["content_type"], r["query"]) for r in mine))
else:
    print(len(mine))
EOF
}

pending() { "$SPOOL_TOOL" pending "$1" "$2" "$3"; }
sent() { "$SPOOL_TOOL" sent "$1" "$2" "$3"; }

# ---------------------------------------------------------------------------- down, then up
orch_start
DOWN_PORT=$PORT
orch_stop
S=$T/s-down
put "$S" b-down final "https://127.0.0.1:$DOWN_PORT/reports/b-down" POST
SECS=4 deliver "$S"
is "orchestrator down: deliver exits 5" "$RC" 5
check "orchestrator down: the report is still spooled" pending "$S" b-down final
check_not "orchestrator down: not recorded as sent" sent "$S" b-down final
contains "orchestrator down: stderr says it is still spooled, and why" "$(agent_stderr)" \
	"still spooled: build b-down phase final"
contains "orchestrator down: the error code is deliver.unreachable" "$(agent_stderr)" "[deliver.unreachable]"

orch_start "$DOWN_PORT"
is "the orchestrator is up again on the same port" "$PORT" "$DOWN_PORT"
deliver "$S"
is "orchestrator up: deliver exits 0" "$RC" 0
is "orchestrator up: accepted exactly once" "$(requests b-down:final accepted)" 1
check "orchestrator up: recorded in spool/sent" sent "$S" b-down final
check_not "orchestrator up: no longer pending" pending "$S" b-down final
check "spool/sent holds the report and its meta" test -f "$S/spool/sent/b-down.final.json" -a \
	-f "$S/spool/sent/b-down.final.meta.json"
contains "deliver logs what it sent: build, phase, method, URL, status" "$(agent_stderr)" \
	"sent: build b-down phase final: POST https://127.0.0.1:$DOWN_PORT/reports/b-down: HTTP 201"
is "the request: POST, Content-Type application/vnd.in-toto+json, no query" \
	"$(requests b-down:final fields)" "POST|application/vnd.in-toto+json|False"
saved=$(ls "$T/reports" | tail -n 1)
check "the orchestrator received the signed report byte for byte" cmp "$T/reports/$saved" "$T/r.json"
check "the received report verifies with the public key" "$PIB_AGENT" verify "$T/reports/$saved" --pubkey "$T/key.pub"
n_before=$(wc -l <"$T/orch.log")
deliver "$S"
is "a second deliver exits 0" "$RC" 0
is "a second deliver sends nothing" "$(wc -l <"$T/orch.log")" "$n_before"
contains "a second deliver says there is nothing to send" "$(agent_stderr)" "nothing to send"

# ---------------------------------------------------------------------------- 503 x3, then 201
S=$T/s-retry
faults '{"reports": {"fail": [503, 503, 503], "retry_after": 1}}'
put "$S" b-retry final "https://127.0.0.1:$PORT/reports/b-retry" POST
deliver "$S"
is "503 three times then 201: deliver exits 0" "$RC" 0
is "the orchestrator saw 503 503 503 201" "$(requests b-retry:final statuses)" "503 503 503 201"
is "every attempt carried Idempotency-Key b-retry:final (4 requests)" "$(requests b-retry:final)" 4
is "accepted exactly once" "$(requests b-retry:final accepted)" 1
check "recorded in spool/sent" sent "$S" b-retry final

# ---------------------------------------------------------------------------- 400: not retried
S=$T/s-400
faults '{"reports": {"always": 400}}'
put "$S" b-400 pre-install "https://127.0.0.1:$PORT/reports/b-400" POST
deliver "$S"
is "a 400: deliver exits 5" "$RC" 5
is "a 400 is not retried (one request)" "$(requests b-400:pre-install)" 1
check "a 400: the report stays spooled" pending "$S" b-400 pre-install
contains "a 400: the error names the status" "$(agent_stderr)" "HTTP 400"
contains "a 400: the error code is deliver.refused" "$(agent_stderr)" "[deliver.refused]"

# ---------------------------------------------------------------------------- pre-signed PUT
S=$T/s-put
faults '{"reports": {"always": 403}}'
put "$S" b-put final \
	"https://127.0.0.1:$PORT/reports/b-put?X-Amz-Credential=AKIDSECRETCRED&X-Amz-Signature=s3cr3tSIGNATURE0123" PUT
deliver "$S"
is "pre-signed PUT refused with 403: deliver exits 5" "$RC" 5
if grep -qE 's3cr3tSIGNATURE|AKIDSECRETCRED|X-Amz' "$T/agent.err" "$T/agent.out"; then
	fail "a refused pre-signed PUT: its query string never appears on stderr or stdout" \
		"$(grep -E 's3cr3tSIGNATURE|AKIDSECRETCRED|X-Amz' "$T/agent.err" "$T/agent.out")"
else
	ok "a refused pre-signed PUT: its query string never appears on stderr or stdout"
fi
contains "the URL is logged redacted" "$(agent_stderr)" "https://127.0.0.1:$PORT/reports/b-put?…"
faults ''
deliver "$S"
is "pre-signed PUT accepted: deliver exits 0" "$RC" 0
is "the orchestrator got one accepted PUT with a query string" "$(requests b-put:final fields | tr ' ' '\n' | tail -n 1)" \
	"PUT|application/vnd.in-toto+json|True"
is "accepted exactly once" "$(requests b-put:final accepted)" 1
if grep -qE 's3cr3tSIGNATURE|AKIDSECRETCRED|X-Amz' "$T/agent.err" "$T/agent.out"; then
	fail "an accepted pre-signed PUT: its query string never appears on stderr or stdout" "$(cat "$T/agent.err")"
else
	ok "an accepted pre-signed PUT: its query string never appears on stderr or stdout"
fi
check "the spool's files holding the URL are 0600" test "$(stat -c %a "$S/spool/sent/b-put.final.meta.json")" = 600

# ---------------------------------------------------------------------------- a corrupt meta
S=$T/s-corrupt
put "$S" b-one final "https://127.0.0.1:$PORT/reports/b-one" POST
put "$S" b-two final "https://127.0.0.1:$PORT/reports/b-two" POST
printf '{"schema": "pib-agent/spool-meta/v1", "url": "https://127.0.0.1:%s/reports/b-bad", "meth' "$PORT" \
	>"$S/spool/b-bad.final.meta.json"
cp "$T/r.json" "$S/spool/b-bad.final.json"
deliver "$S"
is "a corrupt meta among good ones: deliver exits 5" "$RC" 5
contains "the error names the corrupt file" "$(agent_stderr)" "$S/spool/b-bad.final.meta.json"
contains "its code is deliver.spool_corrupt" "$(agent_stderr)" "[deliver.spool_corrupt]"
is "the other reports are sent: b-one accepted once" "$(requests b-one:final accepted)" 1
is "the other reports are sent: b-two accepted once" "$(requests b-two:final accepted)" 1
is "nothing was sent for the corrupt one" "$(grep -c '"/reports/b-bad"' "$T/orch.log")" 0
check "the corrupt meta is kept for a person to look at" test -f "$S/spool/b-bad.final.meta.json"

# ---------------------------------------------------------------------------- unsafe spools
S=$T/s-link
mkdir -p "$S" "$T/elsewhere/sent"
chmod 700 "$S" "$T/elsewhere" "$T/elsewhere/sent"
ln -s "$T/elsewhere" "$S/spool"
n_before=$(wc -l <"$T/orch.log")
deliver "$S"
is "a spool folder that is a symlink: deliver exits 4" "$RC" 4
contains "the error says it is a symlink" "$(agent_stderr)" "$S/spool is a symlink: refused"
contains "its code is deliver.spool_unsafe" "$(agent_stderr)" "[deliver.spool_unsafe]"
is "nothing was sent" "$(wc -l <"$T/orch.log")" "$n_before"
: >"$T/not-a-folder"
deliver "$T/not-a-folder"
is "a state folder that cannot be read: deliver exits 4" "$RC" 4

# ---------------------------------------------------------------------------- kill -9 mid-retries
S=$T/s-kill
faults '{"reports": {"always": 503, "retry_after": 2}}'
put "$S" b-kill final "https://127.0.0.1:$PORT/reports/b-kill" POST
PIB_DELIVER_SECONDS=120 TMPDIR=$T/agent-tmp "$PIB_AGENT" deliver --state-dir "$S" </dev/null \
	>"$T/kill.out" 2>"$T/kill.err" &
dpid=$!
for i in $(seq 200); do
	[ "$(requests b-kill:final)" -ge 2 ] && break
	sleep 0.1
done
sleep 0.3
kill -9 "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
krc=$?
is "deliver killed with SIGKILL in the middle of its retries" "$krc" 137
check "after the kill the report is still spooled" pending "$S" b-kill final
is "nothing was accepted before the kill" "$(requests b-kill:final accepted)" 0
faults ''
deliver "$S"
is "the rerun exits 0" "$RC" 0
is "accepted exactly once over both runs" "$(requests b-kill:final accepted)" 1
check "recorded in spool/sent" sent "$S" b-kill final
is "no temporary file is left in the spool" "$(find "$S" -name '.tmp-*' | wc -l)" 0
contains "the rerun's log counts the tries of both runs (try 2)" "$(agent_stderr)" "(try 2)"

orch_stop
done_testing
