#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent run against a faulty network, each with its end state checked: a download cut
# halfway (resumed with Range, digest right), 503 twice then 200, Retry-After honoured, a
# certificate from another CA, a digest mismatch, a bundle over limits.bundle_bytes while
# Content-Length lies (nothing installed in those three), the orchestrator refusing the first
# deliveries (each phase accepted once), and never accepting (install never starts, exit 5,
# `deliver` sends the report later and a rerun finishes the build).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup
copy_root "$T/gold"
orch_start
mkbundle "$T/hello.tar.gz" --deb "$DEB_HELLO"
put_bundle "$T/hello.tar.gz"
size=$(stat -c %s "$T/hello.tar.gz")
snap "$T/gold" >"$T/gold.snap"

bundle_gets() { # requests for the bundle so far
	orch_log "len([x for x in r if x['path'].startswith('/bundles/')])"
}

# --- cut halfway: the rest is fetched with a Range request, the digest covers every byte
fresh_root
faults "{\"bundles\": {\"cut_after\": $((size / 2))}}"
mkjob "$T/j1.json" b-cut
run_agent "$T/j1.json"
is "cut halfway: exit 0" "$RC" 0
is "cut halfway: one Range request continued it" "$(orch_log "len([x for x in r if x['path'].startswith('/bundles/') and x['range']])")" 1
is "cut halfway: the fetch step's digest is the bundle's" "$(rep 'steps[name=fetch].sha256' <(cat "$T/srv/reports/$(orch_log "[x['saved'] for x in r if x['idempotency_key']=='b-cut:final'][0]")"))" "$BUNDLE_SHA"
check "cut halfway: hello is installed" installed "$T/root" hello

# --- 503 twice, then 200; Retry-After 2 honoured
fresh_root
faults '{"bundles": {"fail": [503, 503], "retry_after": 2}}'
n0=$(bundle_gets)
mkjob "$T/j2.json" b-503
run_agent "$T/j2.json"
is "503 twice: exit 0" "$RC" 0
is "503 twice: three requests for the bundle" "$(($(bundle_gets) - n0))" 3
check "Retry-After: 2 honoured (each retry 2 s or more after the refusal)" "$PYTHON" -c "
import json, sys
r = [json.loads(l) for l in open('$T/orch.log') if '/bundles/' in l][$n0:]
gaps = [b['time'] - a['time'] for a, b in zip(r, r[1:])]
print(gaps); sys.exit(0 if len(gaps) == 2 and min(gaps) >= 1.9 else 1)"

# --- a progress line on a terminal (script(1) gives the agent one), none in json logs
for fmt in text json; do
	fresh_root
	mkjob "$T/jp-$fmt.json" b-progress-$fmt
	TMPDIR=$T/agent-tmp timeout -k 10 600 script -qefc "$PIB_AGENT run --job $T/jp-$fmt.json --root $T/root --state-dir $T/state --log-format $fmt" \
		/dev/null </dev/null >"$T/tty-$fmt.out" 2>&1
	is "on a terminal ($fmt): exit 0" "$?" 0
done
check "on a terminal: the fetch draws a progress line (bytes, rate)" grep -aq $'\e\[Kfetch: .* / .*B/s' "$T/tty-text.out"
check_not "with --log-format json: no progress line" grep -aq $'\e\[Kfetch: ' "$T/tty-json.out"

# --- a certificate from another CA: refused, nothing installed, the failed report delivered
fresh_root
faults ''
rm -f "$T/orch.port"
"$PYTHON" "$TOOLS_DIR/orchestrator.py" --cert "$T/pki/other-server.pem" --key "$T/pki/other-server.key" \
	--bundles "$T/srv/bundles" --reports "$T/srv/reports" --log "$T/other.log" \
	--port-file "$T/other.port" >"$T/other.out" 2>&1 &
RUN_PIDS+=("$!")
other_port=$(wait_port "$T/other.port") || bail_out "second orchestrator did not start"
mkjob "$T/j3.json" b-tls "{\"bundle\": {\"url\": \"https://127.0.0.1:$other_port/bundles/hello.tar.gz\"}}"
run_agent "$T/j3.json"
is "another CA: exit 2 (failed)" "$RC" 2
check "another CA: the error says fetch.tls" grep -q "fetch.tls" "$T/run.err"
is "another CA: the final report says fetch.tls" "$(received_report b-tls:final "$T/tls.json" && rep error.code "$T/tls.json")" fetch.tls
is "another CA: no pre-install report (nothing to install)" "$(accepted b-tls:pre-install)" 0
snap "$T/root" >"$T/root.snap"
same_tree "another CA: the root is unchanged" "$T/gold.snap" "$T/root.snap"
check_not "another CA: the other server got no request with a body" grep -q '"received": [1-9]' "$T/other.log"

# --- a redirect from the bundle server to a local file: never followed
fresh_root
printf 'local secret\n' >"$T/local.txt"
faults "{\"bundles\": {\"redirect_to\": \"file://$T/local.txt\"}}"
mkjob "$T/jr.json" b-redir "{\"bundle\": {\"sha256\": \"$(sha256sum <"$T/local.txt" | cut -d' ' -f1)\"}}"
run_agent "$T/jr.json"
faults ''
is "a redirect to file://: exit 2" "$RC" 2
is "a redirect to file://: the final report says the fetch failed" "$(received_report b-redir:final "$T/redir.json" && rep 'steps[name=fetch].status' "$T/redir.json")" failed
check_not "a redirect to file://: no open step (the local file was not taken as the bundle)" grep -q '"name": *"open"' <(/usr/bin/python3 "$DSSE_PY" payload "$T/redir.json")

# --- a digest mismatch: nothing installed
fresh_root
mkjob "$T/j4.json" b-digest "{\"bundle\": {\"sha256\": \"$(printf '%064d' 0)\"}}"
run_agent "$T/j4.json"
is "digest mismatch: exit 2" "$RC" 2
is "digest mismatch: fetch.digest_mismatch" "$(received_report b-digest:final "$T/dg.json" && rep error.code "$T/dg.json")" fetch.digest_mismatch
is "digest mismatch: no open step ran" "$(rep 'steps.name' "$T/dg.json" | tr '\n' ' ')" "configure fetch report "
snap "$T/root" >"$T/root.snap"
same_tree "digest mismatch: the root is unchanged" "$T/gold.snap" "$T/root.snap"
check "digest mismatch: no bundle bytes kept" test -z "$(find "$T/state" -name 'bundle*' 2>/dev/null)"

# --- over limits.bundle_bytes while Content-Length lies
fresh_root
faults '{"bundles": {"lie_length": "omit"}}'
mkjob "$T/j5.json" b-big "{\"limits\": {\"bundle_bytes\": $((size / 2))}}"
run_agent "$T/j5.json"
is "over the limit: exit 2" "$RC" 2
is "over the limit: fetch.too_large" "$(received_report b-big:final "$T/big.json" && rep error.code "$T/big.json")" fetch.too_large
snap "$T/root" >"$T/root.snap"
same_tree "over the limit: the root is unchanged" "$T/gold.snap" "$T/root.snap"

# --- not enough free space for the announced size: refused before a byte is written; and
# without Content-Length, stopped by ENOSPC
fresh_root
faults ''
mkdir -p "$T/big/DEBIAN" "$T/big/usr/share/pib-big" "$T/small"
head -c 3000000 /dev/urandom >"$T/big/usr/share/pib-big/blob"
printf '%s\n' "Package: pib-big" "Version: 1.0" "Architecture: all" "Maintainer: tests <t@example.invalid>" \
	"Description: pib-agent test blob" >"$T/big/DEBIAN/control"
dpkg-deb --root-owner-group -Znone --build "$T/big" "$T/big_1.0_all.deb" >/dev/null || bail_out "dpkg-deb failed"
mkbundle "$T/big.tar.gz" --deb "$T/big_1.0_all.deb"
put_bundle "$T/big.tar.gz"
mount -t tmpfs -o size=1m tmpfs "$T/small" || bail_out "cannot mount a tmpfs"
mkjob "$T/jspace.json" b-space
TMPDIR=$T/agent-tmp timeout -k 10 300 "$PIB_AGENT" run --job "$T/jspace.json" --root "$T/root" --state-dir "$T/small/state" \
	</dev/null >"$T/space.out" 2>"$T/space.err"
is "no space: exit 2" "$?" 2
check "no space: fetch.no_space, said before the download" grep -q "fetch.no_space" "$T/space.err"
is "no space: the failed report was delivered" "$(received_report b-space:final "$T/space.json" && rep error.code "$T/space.json")" fetch.no_space
check "no space: refused for the announced size (3 MB), nothing written" grep -q "for 3[0-9]\{6\} bytes\$" "$T/space.err"
faults '{"bundles": {"lie_length": "omit"}}'
mkjob "$T/jspace2.json" b-space2
TMPDIR=$T/agent-tmp timeout -k 10 300 "$PIB_AGENT" run --job "$T/jspace2.json" --root "$T/root" --state-dir "$T/small/state" \
	</dev/null >"$T/space.out" 2>"$T/space2.err"
is "no space, no Content-Length: exit 2" "$?" 2
check "no space, no Content-Length: fetch.no_space (No space left on device)" grep -q "fetch.no_space.*No space left on device" "$T/space2.err"
check "no space, no Content-Length: the partial file was removed" test -z "$(find "$T/small/state/builds" -name 'bundle*' 2>/dev/null)"
faults ''
umount "$T/small"
put_bundle "$T/hello.tar.gz"

# --- the orchestrator refuses the first three deliveries: each phase accepted once
fresh_root
faults '{"reports": {"fail": [503, 503, 503]}}'
mkjob "$T/j6.json" b-flaky
run_agent "$T/j6.json"
is "refused three times: exit 0" "$RC" 0
is "refused three times: pre-install and final accepted once each" "$(accepted b-flaky:pre-install) $(accepted b-flaky:final)" "1 1"
is "refused three times: the pre-install report was retried with its key" \
	"$(orch_log "len([x for x in r if x['idempotency_key']=='b-flaky:pre-install'])")" 4

# --- never accepted: install never starts, exit 5; deliver sends it later; a rerun finishes
fresh_root
faults '{"reports": {"always": 503}}'
mkjob "$T/j7.json" b-down '{"timeouts": {"deliver_seconds": 4}}'
run_agent "$T/j7.json"
is "never accepted: exit 5" "$RC" 5
check_not "never accepted: hello is not installed" installed "$T/root" hello
snap "$T/root" >"$T/root.snap"
same_tree "never accepted: the root is unchanged" "$T/gold.snap" "$T/root.snap"
check "never accepted: the pre-install report is in the spool" test -n "$(find "$T/state/spool" -maxdepth 1 -name 'b-down.pre-install*.json' 2>/dev/null)"
faults ''
timeout 120 "$PIB_AGENT" deliver --state-dir "$T/state" >"$T/deliver.out" 2>&1
is "deliver later: exit 0" "$?" 0
is "deliver later: the pre-install report accepted once" "$(accepted b-down:pre-install)" 1
run_agent "$T/j7.json"
is "rerun: exit 0" "$RC" 0
check "rerun: hello is installed" installed "$T/root" hello
is "rerun: pre-install accepted once, final once" "$(accepted b-down:pre-install) $(accepted b-down:final)" "1 1"
done_testing
