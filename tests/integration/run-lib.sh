# SPDX-License-Identifier: MIT
# Helpers of the `run` tests (sourced after lib.sh): the test HTTPS orchestrator and the IMDSv2
# stand-in on 127.0.0.1, jobs, a run of the agent, and what the orchestrator received.
# shellcheck shell=bash disable=SC2034

RUN_PIDS=()
DSSE_PY=$REPO_DIR/tests/signing/dsse.py

_run_cleanup() {
	local p
	for p in "${RUN_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	_cleanup
}

# run_setup: lib.sh's setup, a test root, a key pair, the test ClamAV database, the test PKI.
run_setup() {
	setup
	trap _run_cleanup EXIT
	"$REPO_DIR/tests/tools/make-ca.sh" "$T/pki" >/dev/null 2>&1 || bail_out "make-ca.sh failed"
	"$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 || bail_out "make-db.sh failed"
	"$PIB_AGENT" keygen --out "$T/agent" >/dev/null 2>&1 || bail_out "keygen failed"
	mkdir -p "$T/srv/bundles" "$T/srv/reports" "$T/state"
	: >"$T/faults.json"
}

# fresh_root: $T/root, a new copy of $T/gold (which the test made with copy_root)
fresh_root() {
	rm -rf "$T/root"
	cp -a "$T/gold" "$T/root"
}

# wait_port FILE: the port a server wrote, waiting at most 10 s
wait_port() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && { cat "$1"; return 0; }
		sleep 0.1
	done
	return 1
}

# orch_start [CERT-NAME]: the orchestrator (server.pem by default; other-server for another CA)
orch_start() {
	local name=${1:-server}
	rm -f "$T/orch.port"
	"$PYTHON" "$TOOLS_DIR/orchestrator.py" --cert "$T/pki/$name.pem" --key "$T/pki/$name.key" \
		--bundles "$T/srv/bundles" --reports "$T/srv/reports" --log "$T/orch.log" \
		--port-file "$T/orch.port" --faults "$T/faults.json" >"$T/orch.out" 2>&1 &
	ORCH_PID=$!
	RUN_PIDS+=("$ORCH_PID")
	ORCH_PORT=$(wait_port "$T/orch.port") || bail_out "the test orchestrator did not start: $(cat "$T/orch.out")"
	ORCH=https://127.0.0.1:$ORCH_PORT
}

orch_stop() {
	kill "$ORCH_PID" 2>/dev/null
	wait "$ORCH_PID" 2>/dev/null
}

# faults JSON: the orchestrator's faults from now on
faults() {
	printf '%s\n' "$1" >"$T/faults.json"
}

# put_bundle FILE: serves FILE as /bundles/NAME; BUNDLE_URL and BUNDLE_SHA are set
put_bundle() {
	local name
	name=$(basename "$1")
	cp "$1" "$T/srv/bundles/$name"
	BUNDLE_URL=$ORCH/bundles/$name
	BUNDLE_SHA=$(sha256sum "$1" | cut -d' ' -f1)
}

# mkjob OUT BUILD_ID [JSON merged over the defaults]: a job for BUNDLE_URL/BUNDLE_SHA
mkjob() {
	"$PYTHON" - "$1" "$2" "${3:-{\}}" "$BUNDLE_URL" "$BUNDLE_SHA" "$ORCH" "$T" <<'PY'
import json, sys
out, build, extra, url, sha, orch, t = sys.argv[1:8]
job = {
    "schema": "pib-agent/job/v1",
    "build_id": build,
    "bundle": {"url": url, "sha256": sha},
    "report": {"url": orch + "/reports/" + build, "method": "POST"},
    "signing_key": {"path": t + "/agent.key"},
    "ca_bundle": t + "/pki/ca.pem",
    "clamav_db": t + "/db",
    "timeouts": {"install_seconds": 600, "run_seconds": 1200, "deliver_seconds": 30},
}
def merge(a, b):
    for k, v in b.items():
        if v is None:
            a.pop(k, None)
        elif isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v
if extra:
    merge(job, json.loads(extra))
open(out, "w").write(json.dumps(job, indent=1))
PY
}

# run_agent JOB [ARGS]: pib-agent run on $T/root with the state in $T/state; RC, $T/run.err
# (RUN_WRAP: a command line the run is started under, e.g. a shell named cloud-init)
run_agent() {
	local job=$1
	shift
	mkdir -p "$T/agent-tmp"
	TMPDIR=$T/agent-tmp ${RUN_WRAP:-} timeout -k 10 900 "$PIB_AGENT" run --job "$job" --root "$T/root" \
		--state-dir "$T/state" "$@" </dev/null >"$T/run.out" 2>"$T/run.err"
	RC=$?
	diag "ran: pib-agent run --job $job $* -> exit $RC"
}

# orch_log QUERY: python expression over the log's records r (a list), printed
orch_log() {
	"$PYTHON" - "$T/orch.log" "$1" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])] if __import__("os").path.exists(sys.argv[1]) else []
v = eval(sys.argv[2])
print(v if not isinstance(v, (list, dict)) else json.dumps(v))
PY
}

# accepted KEY: how many deliveries with that Idempotency-Key were answered 2xx
accepted() {
	orch_log "len([x for x in r if x['idempotency_key'] == '$1' and 200 <= x['status'] < 300])"
}

# received_report KEY OUT: the body of the accepted delivery with that key, copied to OUT
received_report() {
	local f
	f=$(orch_log "[x['saved'] for x in r if x['idempotency_key'] == '$1' and 200 <= x['status'] < 300][-1:]" |
		tr -d '[]" ')
	[ -n "$f" ] && cp "$T/srv/reports/$f" "$2"
}

# openssl_ok REPORT: the report's first signature verifies with openssl over the DSSE PAE
openssl_ok() {
	/usr/bin/python3 "$DSSE_PY" pae "$1" "$T/pae.bin" "$T/sig.bin" &&
		openssl pkeyutl -verify -pubin -inkey "$T/agent.pub" -rawin -in "$T/pae.bin" \
			-sigfile "$T/sig.bin" 2>&1 | grep -q "Signature Verified Successfully"
}

# installed ROOT PKG: the package is installed in the root
installed() {
	grep -A2 "^Package: $2\$" "$1/var/lib/dpkg/status" | grep -q '^Status: install ok installed'
}
