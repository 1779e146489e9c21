#!/bin/sh
# SPDX-License-Identifier: MIT
# What a seller runs: sets up a fresh Debian 12 machine (as root), builds pib-agent,
# and validates the embedded example bundle into a throwaway real Debian 12 root, then prints
# the report. Safe to run again.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
# shellcheck source=manifests/examples/prepare.sh
. manifests/examples/prepare.sh
manifests/examples/make-bundle.sh manifests/examples/jq-suite "$work/jq-suite.tar.gz"
# The example's signing key pair, made once (keygen never overwrites a key).
[ -f "$work/example.key" ] || "$agent" keygen --out "$work/example"
set +e
"$agent" validate "$work/jq-suite.tar.gz" --root "$work/root" --db "$work/db" --key "$work/example.key" \
	--report "$work/report.json" ${PIB_EXAMPLE_ARGS:-}
rc=$?
set -e
# The report as a person reads it, its signature checked with the public key.
"$agent" show "$work/report.json" --pubkey "$work/example.pub" || true
echo "report: $work/report.json (exit code $rc); check it with: build/pib-agent verify $work/report.json --pubkey $work/example.pub"
exit $rc
