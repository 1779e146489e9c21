#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent run with bad jobs and at its limits: 16 kinds of malformed job (exit 3, a message
# naming the field), a failed report delivered when the job's report URL and key could be read (and, unsigned, for a valid job whose key cannot be used),
# a pre-signed PUT URL whose secret never reaches a log or a report, timeouts.install_seconds
# (the postinst's process group killed, install.timeout, the failed report delivered) and
# timeouts.run_seconds (run.timeout).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup
copy_root "$T/gold"
orch_start
mkbundle "$T/hello.tar.gz" --deb "$DEB_HELLO"
put_bundle "$T/hello.tar.gz"

fresh_root

# bad_job DESC FIELD-IN-MESSAGE JSON-MERGED-OVER-A-GOOD-JOB
bad_job() {
	mkjob "$T/bad.json" b-bad "$3"
	run_agent "$T/bad.json"
	if [ "$RC" = 3 ] && grep -q -- "$2" "$T/run.err"; then
		ok "bad job: $1: exit 3, the message names $2"
	else
		fail "bad job: $1: exit 3, the message names $2" "exit $RC" "$(head -c 600 "$T/run.err")"
	fi
}
bad_job "wrong schema" "schema" '{"schema": "pib-agent/job/v2"}'
bad_job "build_id with a slash" "build_id" '{"build_id": "../etc"}'
bad_job "build_id too long" "build_id" "{\"build_id\": \"$(printf 'x%.0s' $(seq 1 129))\"}"
bad_job "an unknown key" "colour" '{"colour": "red"}'
bad_job "an unknown key in bundle" "bundle.mirror" '{"bundle": {"mirror": "https://x"}}'
bad_job "bundle.sha256 not hex" "bundle.sha256" '{"bundle": {"sha256": "xyz"}}'
bad_job "bundle.url over http" "bundle.url" '{"bundle": {"url": "http://127.0.0.1/x.tar.gz"}}'
bad_job "bundle missing" "bundle" '{"bundle": null}'
bad_job "report.method GET" "report.method" '{"report": {"method": "GET"}}'
bad_job "signing_key with pem and path" "signing_key" '{"signing_key": {"pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}'
bad_job "signing_key missing" "signing_key" '{"signing_key": null}'
bad_job "limits.bundle_bytes negative" "limits.bundle_bytes" '{"limits": {"bundle_bytes": -1}}'
bad_job "timeouts.install_seconds a string" "timeouts.install_seconds" '{"timeouts": {"install_seconds": "60"}}'
bad_job "timeouts.run_seconds a fraction" "timeouts.run_seconds" '{"timeouts": {"run_seconds": 1.5}}'
bad_job "ca_bundle relative" "ca_bundle" '{"ca_bundle": "ca.pem"}'
bad_job "clamav_db not a string" "clamav_db" '{"clamav_db": 7}'
# a duplicate key and text that is not JSON
mkjob "$T/dup.json" b-dup
sed -i 's/"build_id": "b-dup",/"build_id": "b-dup", "build_id": "b-dup2",/' "$T/dup.json"
run_agent "$T/dup.json"
is "bad job: a duplicate key: exit 3" "$RC" 3
check "bad job: a duplicate key: named" grep -q "build_id" "$T/run.err"
printf '{"schema": ' >"$T/trunc.json"
run_agent "$T/trunc.json"
is "bad job: not JSON: exit 3" "$RC" 3
run_agent "$T/nonexistent.json"
is "a job file that does not exist: exit 3" "$RC" 3
check "it says job.unreadable" grep -q "job.unreadable" "$T/run.err"
# no IMDS at all (nothing listens): an environment error, exit 4
AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 run_agent imds
is "--job imds without IMDS: exit 4" "$RC" 4
check "--job imds without IMDS: imds.unavailable" grep -q "imds.unavailable" "$T/run.err"
snap "$T/gold" >"$T/gold.snap"
snap "$T/root" >"$T/root.snap"
same_tree "after every bad job the root is unchanged" "$T/gold.snap" "$T/root.snap"

# the report URL and key could be read: a failed report is delivered there
is "bad jobs with a readable report URL: a failed report for build b-bad was delivered, once" \
	"$(accepted b-bad:failed)" 1
received_report b-bad:failed "$T/failed.json"
check "the failed report verifies with openssl" openssl_ok "$T/failed.json"
is "the failed report says job.invalid at configure" "$(rep error.code "$T/failed.json") $(rep error.step "$T/failed.json")" "job.invalid configure"

# a valid job whose key file cannot be used: configure fails, the failed report (unsigned) is delivered
fresh_root
printf 'not a key\n' >"$T/bad.key"
mkjob "$T/badkey.json" b-badkey "{\"signing_key\": {\"path\": \"$T/bad.key\"}}"
run_agent "$T/badkey.json"
is "an unusable key: exit 4" "$RC" 4
is "an unusable key: the failed report was delivered" "$(accepted b-badkey:failed)" 1
received_report b-badkey:failed "$T/badkey-report.json"
is "an unusable key: it says key.invalid at configure, unsigned" "$(rep error.code "$T/badkey-report.json") $(rep error.step "$T/badkey-report.json") $(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["signatures"]))' "$T/badkey-report.json")" "key.invalid configure 0"
check "an unusable key: nothing was fetched" test "$(orch_log "len([x for x in r if x['path'].startswith('/bundles/')])")" = 0

# a pre-signed PUT URL: its secret never reaches the log or a report
fresh_root
mkjob "$T/put.json" b-put '{"report": {"method": "PUT", "url": "'"$ORCH"'/reports/b-put?X-Amz-Signature=5ecre7519n&X-Amz-Credential=AKIDEXAMPLE"}}'
run_agent "$T/put.json" --log-format json
is "pre-signed PUT: exit 0" "$RC" 0
is "pre-signed PUT: both reports accepted (PUT), and no SBOM over the final report's object" "$(orch_log "len([x for x in r if x['method']=='PUT' and x['query'] and x['status']==200])")" 2
received_report b-put:final "$T/put-final.json"
is "pre-signed PUT without report.sbom_url: the report says the SBOM was not delivered, and why" "$(rep sbom.delivery "$T/put-final.json")" \
	"none: report.method is PUT (one object) and the job gives no report.sbom_url"
check "pre-signed PUT without report.sbom_url: the log says so" grep -q "the SBOM is not delivered" "$T/run.err"
fresh_root
mkjob "$T/put2.json" b-put2 '{"report": {"method": "PUT", "url": "'"$ORCH"'/reports/b-put2?X-Amz-Signature=5ecre7519n", "sbom_url": "'"$ORCH"'/reports/b-put2-sbom?X-Amz-Signature=5ecre7519m"}}'
run_agent "$T/put2.json"
is "pre-signed PUT with report.sbom_url: exit 0" "$RC" 0
is "pre-signed PUT with report.sbom_url: the SBOM was PUT to its own URL, after the final report" \
	"$(orch_log "[[x['path'], x['idempotency_key']] for x in r if x['method']=='PUT' and x['path'].startswith('/reports/b-put2') and x['status']==200]")" \
	'[["/reports/b-put2", "b-put2:pre-install"], ["/reports/b-put2", "b-put2:final"], ["/reports/b-put2-sbom", "b-put2:sbom"]]'
received_report b-put2:final "$T/put2-final.json"
is "pre-signed PUT with report.sbom_url: sbom.delivery" "$(rep sbom.delivery "$T/put2-final.json")" report.sbom_url
check_not "pre-signed PUT: the signature is not in the log" grep -q "5ecre7519n\|AKIDEXAMPLE" "$T/run.err"
check_not "pre-signed PUT: nor in any report received" grep -rq "5ecre7519n\|AKIDEXAMPLE" "$T/srv/reports"

# timeouts.install_seconds: a postinst that sleeps is killed with its process group
fresh_root
cat >"$T/sleepy.postinst" <<'SH'
#!/bin/sh
sleep 47.75 &
sleep 47.5
SH
mkdeb "$T/sleepy_1.0_all.deb" pib-sleepy 1.0 postinst="$T/sleepy.postinst"
mkbundle "$T/sleepy.tar.gz" --deb "$T/sleepy_1.0_all.deb"
put_bundle "$T/sleepy.tar.gz"
mkjob "$T/slow.json" b-slow '{"timeouts": {"install_seconds": 5}}'
t0=$(date +%s)
run_agent "$T/slow.json"
is "install_seconds: exit 2 (failed)" "$RC" 2
check "install_seconds: it ended well before the postinst would have" test $(($(date +%s) - t0)) -lt 45
received_report b-slow:final "$T/slow-final.json"
is "install_seconds: the final report says install.timeout" "$(rep error.code "$T/slow-final.json")" install.timeout
check_not "install_seconds: no process of the postinst is left" pgrep -f "sleep 47.[57]"

# timeouts.run_seconds: a download slower than the run may take
fresh_root
put_bundle "$T/hello.tar.gz"
faults '{"bundles": {"stall_after": 1000, "stall_for": 30}}'
mkjob "$T/late.json" b-late '{"timeouts": {"run_seconds": 3}}'
t0=$(date +%s)
run_agent "$T/late.json"
faults ''
is "run_seconds: exit 2" "$RC" 2
check "run_seconds: stopped within seconds" test $(($(date +%s) - t0)) -lt 25
received_report b-late:final "$T/late-final.json"
is "run_seconds: the final report says run.timeout" "$(rep error.code "$T/late-final.json")" run.timeout
done_testing
