#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent run end to end into a real minbase Debian 12 root: the job from a file and from
# EC2 user-data (a cloud-init MIME multipart message) served by the IMDSv2 stand-in, the bundle
# over HTTPS from the test orchestrator, install, scans, both reports and the SBOM accepted once
# each and verified with openssl, cleanup leaving no key, job or user-data copy; a second run of a
# finished build sends nothing. The job's vulns as an index (vulns-index): a bundle finding in the
# delivered report; a cut index stops the run before the install with a signed failed report; the
# feed fetched from the job's vulns.url with its digest checked (another digest: failed at fetch);
# --vulns wins over it (nothing fetched).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup
copy_root "$T/root"
orch_start
mkbundle "$T/jq.tar.gz" --deb "$DEB_JQ" --deb "$DEB_LIBJQ1" --deb "$DEB_LIBONIG5"
put_bundle "$T/jq.tar.gz"

# ---------------------------------------------------------------- job from a file
mkjob "$T/job.json" b-e2e-1
# started the way cloud-init's scripts_user starts a part: under a process named cloud-init
cp /bin/dash "$T/cloud-init"
RUN_WRAP="$T/cloud-init -c \"\$@\" cloud-init" run_agent "$T/job.json" --report "$T/copy.json"
is "run: exit 0" "$RC" 0
is "the pre-install report was accepted once" "$(accepted b-e2e-1:pre-install)" 1
is "the final report was accepted once" "$(accepted b-e2e-1:final)" 1
received_report b-e2e-1:pre-install "$T/pre.json"
received_report b-e2e-1:final "$T/final.json"
check "openssl verifies the pre-install report" openssl_ok "$T/pre.json"
check "openssl verifies the final report" openssl_ok "$T/final.json"
check "--report FILE holds a copy of the final report, byte for byte as delivered" cmp "$T/copy.json" "$T/final.json"
check "both reports are valid against report.schema.json" /usr/bin/python3 "$DSSE_PY" schema \
	"$REPO_DIR/manifests/report.schema.json" "$T/pre.json" "$T/final.json"
is "pre-install: phase" "$(rep phase "$T/pre.json")" pre-install
is "pre-install: build_id" "$(rep build_id "$T/pre.json")" b-e2e-1
is "pre-install: steps up to resolve, all ok" "$(rep steps.name "$T/pre.json" | tr '\n' ' ')$(rep steps.status "$T/pre.json" | sort -u | tr '\n' ' ')" \
	"configure fetch open verify prescan resolve ok "
is "pre-install: the transaction" "$(rep 'steps[name=resolve].transaction.name' "$T/pre.json" | sort | tr '\n' ' ')" "jq libjq1 libonig5 "
is "final: phase and status" "$(rep phase "$T/final.json") $(rep status "$T/final.json")" "final succeeded"
is "final: install and postscan ok" "$(rep 'steps[name=install].status' "$T/final.json") $(rep 'steps[name=postscan].status' "$T/final.json")" "ok ok"
is "started by cloud-init: the agent did not wait for cloud-init (itself)" "$(rep 'steps[name=configure].cloud_init' "$T/final.json")" \
	"not waited for: the agent runs as a part of cloud-init, which waits for it"
is "final: the fetch step names the bundle's digest" "$(rep 'steps[name=fetch].sha256' "$T/final.json")" "$BUNDLE_SHA"
# no seller code before the pre-install report was accepted
pre_t=$(orch_log "[x['time'] for x in r if x['idempotency_key'] == 'b-e2e-1:pre-install' and x['status'] < 300][0]")
inst_t=$(rep 'steps[name=install].started' "$T/final.json")
check "the install started after the pre-install report was accepted" "$PYTHON" -c "
import datetime, sys
t = datetime.datetime.strptime('$inst_t', '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp()
sys.exit(0 if t >= $pre_t else 1)"
check "jq is installed in the root" installed "$T/root" jq
check "the deliveries carried the idempotency key and the DSSE content type" test \
	"$(orch_log "sorted(set((x['idempotency_key'], x['content_type']) for x in r if x['method'] == 'POST'))")" = \
	'[["b-e2e-1:final", "application/vnd.in-toto+json"], ["b-e2e-1:pre-install", "application/vnd.in-toto+json"], ["b-e2e-1:sbom", "application/vnd.in-toto+json"]]'
# the SBOM: its own signed envelope, delivered once after the final report, which binds it by its payload's SHA-256
is "the SBOM was accepted once" "$(accepted b-e2e-1:sbom)" 1
is "the SBOM came after the final report" \
	"$(orch_log "[x['idempotency_key'].split(':')[1] for x in r if x['method'] == 'POST' and x['status'] < 300]")" \
	'["pre-install", "final", "sbom"]'
received_report b-e2e-1:sbom "$T/sbom.json"
check "openssl verifies the SBOM" openssl_ok "$T/sbom.json"
is "the final report's sbom.sha256 is the SBOM's payload's" "$(rep sbom.sha256 "$T/final.json")" \
	"$(/usr/bin/python3 "$DSSE_PY" payload "$T/sbom.json" | sha256sum | cut -d' ' -f1)"
is "the SBOM lists the transaction" "$(/usr/bin/python3 "$DSSE_PY" payload "$T/sbom.json" | /usr/bin/python3 -c '
import json, sys
b = json.load(sys.stdin)["predicate"]
print(" ".join(sorted(c["name"] for c in b["components"] if {"name": "pib:origin", "value": "bundle"} in c["properties"])))')" \
	"jq libjq1 libonig5"
check "cleanup: the build's state folder (bundle, saved reports) is gone" test ! -e "$T/state/builds/b-e2e-1"
check "cleanup: nothing left in the spool" test -z "$(find "$T/state/spool" -type f ! -name .lock 2>/dev/null)"
check "the build is recorded as done" test -s "$T/state/done/b-e2e-1"
check_not "no private key in the state folder" grep -rl "PRIVATE KEY" "$T/state"

n_before=$(orch_log "len(r)")
run_agent "$T/job.json"
is "a second run of a finished build: exit 0" "$RC" 0
check "it says the build is done" grep -q "build b-e2e-1 is done" "$T/run.err"
is "it sent nothing and fetched nothing" "$(orch_log "len(r)")" "$n_before"
mkjob "$T/job-other.json" b-e2e-1 '{"timeouts": {"install_seconds": 601}}'
run_agent "$T/job-other.json"
is "another job under the finished build's id: exit 3" "$RC" 3
check "it says run.state_mismatch" grep -q "run.state_mismatch" "$T/run.err"
is "it sent nothing and fetched nothing either" "$(orch_log "len(r)")" "$n_before"

# ---------------------------------------------------------------- job from IMDS user-data
if [ -f "$TOOLS_DIR/imds.py" ]; then
	rm -rf "$T/root"
	copy_root "$T/root"
	mkjob "$T/job2.json" b-e2e-imds "{\"signing_key\": {\"path\": null, \"pem\": $("$PYTHON" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/agent.key")}}"
	# the user-data: a cloud-init multipart message, the job as its second part of three
	"$PYTHON" - "$T/job2.json" "$T/user-data" <<'PY'
import sys
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
m = MIMEMultipart()
m.attach(MIMEText("#!/bin/sh\nexec /usr/bin/pib-agent run --job imds\n", "x-shellscript"))
job = MIMEApplication(open(sys.argv[1], "rb").read(), "vnd.pib-agent.job+json", _encoder=lambda p: None)
m.attach(job)
m.attach(MIMEText("#cloud-config\nruncmd: []\n", "cloud-config"))
open(sys.argv[2], "w").write(m.as_string())
PY
	# what cloud-init leaves in the image: its copies of that user-data and the script part
	mkdir -p "$T/root/var/lib/cloud/instances/i-0123456789abcdef0/scripts"
	cp "$T/user-data" "$T/root/var/lib/cloud/instances/i-0123456789abcdef0/user-data.txt"
	cp "$T/user-data" "$T/root/var/lib/cloud/instances/i-0123456789abcdef0/user-data.txt.i"
	printf '#!/bin/sh\nexec /usr/bin/pib-agent run --job imds\n' >"$T/root/var/lib/cloud/instances/i-0123456789abcdef0/scripts/part-001"
	# a link planted in the image towards a folder of this machine: cleanup must not follow it
	mkdir -p "$T/host-folder"
	cp "$T/user-data" "$T/host-folder/user-data.txt"
	ln -s "$T/host-folder" "$T/root/var/lib/cloud/instances/i-link"
	printf '{"instanceId": "i-0123456789abcdef0", "region": "eu-west-1", "architecture": "x86_64"}' >"$T/iid.json"
	printf 'c2lnbmF0dXJl' >"$T/iid.sig"
	# --token-uses 2: the token expires mid-run, and the agent must get a fresh one (a 401 first)
	IMDS_ARGS=(--user-data "$T/user-data" --document "$T/iid.json" --signature "$T/iid.sig" --token-uses 2)
	rm -f "$T/imds.port"
	"$PYTHON" "$TOOLS_DIR/imds.py" --port-file "$T/imds.port" --log "$T/imds.log" "${IMDS_ARGS[@]}" >"$T/imds.out" 2>&1 &
	RUN_PIDS+=("$!")
	IMDS_PORT=$(wait_port "$T/imds.port") || bail_out "the IMDS stand-in did not start: $(cat "$T/imds.out")"
	# a proxy in the environment: the bundle and the reports go through it, IMDS never does
	"$PYTHON" "$TOOLS_DIR/connect-proxy.py" --port-file "$T/proxy.port" --log "$T/proxy.log" >"$T/proxy.out" 2>&1 &
	RUN_PIDS+=("$!")
	PROXY=http://127.0.0.1:$(wait_port "$T/proxy.port") || bail_out "the proxy did not start"
	https_proxy=$PROXY http_proxy=$PROXY AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$IMDS_PORT run_agent imds
	is "run --job imds: exit 0" "$RC" 0
	is "imds: both reports accepted once" "$(accepted b-e2e-imds:pre-install) $(accepted b-e2e-imds:final)" "1 1"
	received_report b-e2e-imds:final "$T/final2.json"
	check "openssl verifies the final report signed with the job's pem" openssl_ok "$T/final2.json"
	is "host.ec2 holds the instance identity document" "$(rep host.ec2.document.instanceId "$T/final2.json")" i-0123456789abcdef0
	check "no IMDS request went without a token (IMDSv2 only)" test \
		"$("$PYTHON" -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(len(r) > 2 and not [x for x in r if x["method"] != "PUT" and x["token"] == "none"])' "$T/imds.log")" = True
	check "the token ran out mid-run (a 401), and a fresh one was taken" test \
		"$("$PYTHON" -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; i=[k for k,x in enumerate(r) if x["status"]==401]; print(bool(i) and any(x["method"]=="PUT" for x in r[i[0]:]) and any(x["status"]==200 and x["method"]=="GET" for x in r[i[0]+1:]))' "$T/imds.log")" = True
	check "cleanup: cloud-init's copies of the user-data are gone" test ! -e "$T/root/var/lib/cloud/instances/i-0123456789abcdef0/user-data.txt" -a \
		! -e "$T/root/var/lib/cloud/instances/i-0123456789abcdef0/user-data.txt.i"
	check "cleanup: a link in the image was not followed out of it (the host's file is still there)" test -e "$T/host-folder/user-data.txt"
	ud=/var/lib/cloud/instances/i-0123456789abcdef0/user-data.txt
	is "policy: the job's user-data cleanup removes is listed at info, not high" \
		"$(rep "policy[path=$ud].severity" "$T/final2.json")" info
	contains "policy: ... and says the cleanup removes it" "$(rep "policy[path=$ud].evidence" "$T/final2.json")" \
		"the agent's cleanup removes it"
	check "cleanup: the script part is gone" test ! -e "$T/root/var/lib/cloud/instances/i-0123456789abcdef0/scripts/part-001"
	check_not "no private key anywhere in the root or the state" grep -rl --exclude-dir=proc "BEGIN PRIVATE KEY" "$T/root/var/lib" "$T/state"
	check_not "the key never reached the log" grep -q "PRIVATE KEY" "$T/run.err"
	check "jq is installed in the root" installed "$T/root" jq
	is "https_proxy honoured: the bundle, both reports and the SBOM went through the proxy (CONNECT to the orchestrator)" \
		"$(grep -c "\"CONNECT\", \"target\": \"127.0.0.1:$ORCH_PORT\"" "$T/proxy.log")" 4
	check_not "IMDS never goes through a proxy (its token reaches nothing else)" grep -q ":$IMDS_PORT" "$T/proxy.log"
else
	skip_note="tests/tools/imds.py is not there"
	fail "the IMDS part ran" "$skip_note"
fi

# ---------------------------------------------------------------- the job's vulns: an index of a feed
# made off the instance (pib-agent vulns-index) and named by the job: the bundle's libonig5 under
# a record fixed above it is a finding in the delivered final report; a cut index stops the run
# before anything is installed, with a signed failed report.
ONIG_VER=$(dpkg-deb -f "$DEB_LIBONIG5" Version)
mkdir -p "$T/osv"
cat >"$T/osv/DSA-9001-1.json" <<JSON
{"id": "DSA-9001-1", "modified": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "aliases": ["CVE-2026-9001"],
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "libonig"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "$ONIG_VER+deb12u1"}]}],
   "ecosystem_specific": {"urgency": "high"}}]}
JSON
"$PIB_AGENT" vulns-index --vulns "$T/osv" --out "$T/osv.pibvx" 2>/dev/null
is "vulns-index of the job's feed: exit 0" "$?" 0
# vulns_run N BUILD VULNS [ARGS]: a run of job N (build BUILD, the job's vulns VULNS: JSON) into a
# fresh copy of the gold root; its final report received as $T/finalN.json
vulns_run() {
	local n=$1 build=$2 vulns=$3
	shift 3
	rm -rf "$T/root"
	copy_root "$T/root"
	mkjob "$T/job$n.json" "$build" "{\"vulns\": $vulns}"
	run_agent "$T/job$n.json" "$@"
	received_report "$build:final" "$T/final$n.json"
}
vulns_run 3 b-e2e-vulns "\"$T/osv.pibvx\""
is "job's vulns (an index): exit 1, findings" "$RC" 1
is "job's vulns: the final report accepted once" "$(accepted b-e2e-vulns:final)" 1
check "job's vulns: openssl verifies the final report" openssl_ok "$T/final3.json"
is "job's vulns: status findings, vulns.found" "$(rep status "$T/final3.json") $(rep error.code "$T/final3.json")" "findings vulns.found"
is "job's vulns: the bundle's hit" "$(rep 'vulnerabilities[id=DSA-9001-1].package' "$T/final3.json") $(rep 'vulnerabilities[id=DSA-9001-1].origin' "$T/final3.json")" \
	"libonig5 bundle"
is "job's vulns: the step says the index and what it was made from" "$(rep 'steps[name=vulns].feed.index.made_from' "$T/final3.json")" "$T/osv"
check "job's vulns: matched after the install (jq installed)" installed "$T/root" jq
head -c 200 "$T/osv.pibvx" >"$T/cut.pibvx"
vulns_run 4 b-e2e-vbad "\"$T/cut.pibvx\""
is "job's vulns, a cut index: exit 3" "$RC" 3
check "job's vulns, a cut index: a signed report delivered" openssl_ok "$T/final4.json"
is "job's vulns, a cut index: failed, vulns.invalid" "$(rep status "$T/final4.json") $(rep error.code "$T/final4.json")" "failed vulns.invalid"
contains "job's vulns, a cut index: the index and the field named" "$(rep error.message "$T/final4.json")" "$T/cut.pibvx: not a usable index"
check_not "job's vulns, a cut index: nothing installed" installed "$T/root" jq

# the feed fetched like the bundle: {"url", "sha256"} (the index served by the orchestrator)
cp "$T/osv.pibvx" "$T/srv/bundles/osv.pibvx"
OSV_SHA=$(sha256sum "$T/osv.pibvx" | cut -d' ' -f1)
vulns_run 5 b-e2e-vurl "{\"url\": \"$ORCH/bundles/osv.pibvx\", \"sha256\": \"$OSV_SHA\"}"
is "job's vulns.url: exit 1, findings" "$RC" 1
check "job's vulns.url: openssl verifies the final report" openssl_ok "$T/final5.json"
is "job's vulns.url: the fetch step has the feed's digest" "$(rep 'steps[name=fetch].vulns.sha256' "$T/final5.json")" "$OSV_SHA"
is "job's vulns.url: the bundle's hit" "$(rep 'vulnerabilities[id=DSA-9001-1].origin' "$T/final5.json")" bundle
is "job's vulns.url: fetched once" "$(orch_log "len([x for x in r if x['path'].endswith('/osv.pibvx') and x['status'] == 200])")" 1
check "job's vulns.url: the fetched feed is gone with the build's state" test ! -e "$T/state/builds/b-e2e-vurl"
vulns_run 6 b-e2e-vsha "{\"url\": \"$ORCH/bundles/osv.pibvx\", \"sha256\": \"$(printf '%064d' 0)\"}"
is "job's vulns.url with another digest: exit 2" "$RC" 2
is "job's vulns.url with another digest: failed at fetch, fetch.digest_mismatch" \
	"$(rep status "$T/final6.json") $(rep error.step "$T/final6.json") $(rep error.code "$T/final6.json")" "failed fetch fetch.digest_mismatch"
check_not "job's vulns.url with another digest: nothing installed" installed "$T/root" jq
check "job's vulns.url: both reports valid against report.schema.json" /usr/bin/python3 "$DSSE_PY" schema \
	"$REPO_DIR/manifests/report.schema.json" "$T/final5.json" "$T/final6.json"
n_feed=$(orch_log "len([x for x in r if x['path'].endswith('/no-such.pibvx')])")
vulns_run 7 b-e2e-vopt "{\"url\": \"$ORCH/bundles/no-such.pibvx\", \"sha256\": \"$OSV_SHA\"}" --vulns "$T/osv.pibvx"
is "--vulns wins over the job's vulns.url: exit 1 (the hit from --vulns)" "$RC" 1
is "--vulns wins: the job's feed was not fetched" "$(orch_log "len([x for x in r if x['path'].endswith('/no-such.pibvx')])")" "$n_feed"
done_testing
