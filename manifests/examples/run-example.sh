#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's first command: sets up a fresh Debian 12 machine (as root), builds pib-agent, and
# runs a whole build the way a build pipeline does (`pib-agent run --job imds`) into a throwaway
# real Debian 12 root: the job comes from EC2 user-data (a cloud-init MIME multipart message)
# served by an IMDSv2 stand-in on 127.0.0.1, the example bundle and both signed reports travel
# over HTTPS to and from a local test orchestrator with its own CA, with an OSV vulnerability feed
# (an index made by vulns-index) fetched the same way. Prints both reports as received and
# checks their signatures. Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
# shellcheck source=manifests/examples/prepare.sh
. manifests/examples/prepare.sh
rm -rf "$work/state" "$work/srv"
mkdir -p "$work/srv/bundles" "$work/srv/reports"
manifests/examples/make-bundle.sh manifests/examples/jq-suite "$work/srv/bundles/jq-suite.tar.gz"
[ -f "$work/example.key" ] || "$agent" keygen --out "$work/example"
# The vulnerability feed the job brings: two OSV records as Debian's feed writes them, dated now
# (a feed older than 7 days would make the run incomplete), for the bundle's packages' sources,
# both fixed at or below what the bundle installs (so no hit); made into an index once, here, as
# an orchestrator would, and fetched by the agent like the bundle.
mkdir -p "$work/osv"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
while read -r id source fixed; do
	cat >"$work/osv/$id.json" <<JSON
{"id": "$id", "modified": "$now", "aliases": ["CVE-2000-0000"], "summary": "an example record, fixed in $fixed",
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "$source"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "$fixed"}]}],
   "ecosystem_specific": {"urgency": "medium"}}]}
JSON
done <<'RECORDS'
DSA-EXAMPLE-1 libonig 6.9.8-1
DSA-EXAMPLE-2 jq 1.6-2.1+deb12u1
RECORDS
"$agent" vulns-index --vulns "$work/osv" --out "$work/srv/bundles/osv-debian-12.pibvx"
# The orchestrator's own CA and server certificate, for 127.0.0.1.
tests/tools/make-ca.sh "$work/pki" >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
wait_port() {
	for _ in $(seq 1 100); do
		[ -s "$1" ] && { cat "$1"; return 0; }
		sleep 0.1
	done
	echo "a local server did not start" >&2
	return 1
}
rm -f "$work/orch.port" "$work/imds.port"
python3 tests/tools/orchestrator.py --cert "$work/pki/server.pem" --key "$work/pki/server.key" \
	--bundles "$work/srv/bundles" --reports "$work/srv/reports" --log "$work/orchestrator.log" \
	--port-file "$work/orch.port" >"$work/orchestrator.out" 2>&1 &
pids+=($!)
orch=https://127.0.0.1:$(wait_port "$work/orch.port")

# The job, inside the user-data a build pipeline would give the instance (see
# packaging/cloud-init/user-data.example): the signing key travels in the job, kept in memory only.
python3 - "$work" "$orch" <<'PY'
import hashlib, json, sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
work, orch = sys.argv[1:3]
bundle = open(work + "/srv/bundles/jq-suite.tar.gz", "rb").read()
feed = open(work + "/srv/bundles/osv-debian-12.pibvx", "rb").read()
job = {
    "schema": "pib-agent/job/v1",
    "build_id": "example-build-1",
    "bundle": {"url": orch + "/bundles/jq-suite.tar.gz", "sha256": hashlib.sha256(bundle).hexdigest()},
    "report": {"url": orch + "/reports/example-build-1", "method": "POST"},
    "signing_key": {"pem": open(work + "/example.key").read()},
    "clamav_db": work + "/db",
    "ca_bundle": work + "/pki/ca.pem",
    "vulns": {"url": orch + "/bundles/osv-debian-12.pibvx", "sha256": hashlib.sha256(feed).hexdigest()},
}
m = MIMEMultipart()
m.attach(MIMEText("#!/bin/sh\nexec pib-agent run --job imds\n", "x-shellscript"))
m.attach(MIMEApplication(json.dumps(job, indent=1).encode(), "vnd.pib-agent.job+json", _encoder=lambda p: None))
open(work + "/user-data", "w").write(m.as_string())
PY
python3 tests/tools/imds.py --port-file "$work/imds.port" --user-data "$work/user-data" \
	--log "$work/imds.log" >"$work/imds.out" 2>&1 &
pids+=($!)
export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(wait_port "$work/imds.port")

set +e
"$agent" run --job imds --root "$work/root" --state-dir "$work/state" ${PIB_EXAMPLE_ARGS:-}
rc=$?
set -e
# What the orchestrator received: the pre-install report, then the final one, each checked.
for f in "$work"/srv/reports/*.body; do
	[ -e "$f" ] || continue
	cp "$f" "${f%.body}.json"
	"$agent" show "${f%.body}.json" --pubkey "$work/example.pub" || true
done
echo "reports received: $work/srv/reports/*.json (exit code $rc); requests: $work/orchestrator.log"
echo "check one with: build/pib-agent verify $work/srv/reports/0002.json --pubkey $work/example.pub"
exit $rc
