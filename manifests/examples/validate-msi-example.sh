#!/bin/sh
# SPDX-License-Identifier: MIT
# The example bundle's msi target, validated on this Linux machine: sets up a fresh Debian 12
# machine (as root: wixl to build the example's MSI, wine64 to install it), builds pib-agent,
# and runs `pib-agent validate --os windows:2022` on manifests/examples/jq-suite: the windows
# target is chosen, the MSI (built by make-bundle.sh with wixl) is checked against the
# manifest, prescanned, inspected by its tables (files under their install paths, the
# registry value), installed by Wine's msiexec into a throwaway Wine prefix (never into this
# system), postscanned, and judged by the Windows checks of its tables. Prints the report.
# Without Wine the install step is skipped and the run is incomplete. Safe to run again.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
tests/deps.sh msi-example
[ -f build/build.ninja ] || meson setup build
meson compile -C build
agent=$PWD/build/pib-agent
work=${PIB_EXAMPLE_DIR:-/var/tmp/pib-example}
mkdir -p "$work"
tests/scan/make-db.sh "$work/db"
manifests/examples/make-bundle.sh manifests/examples/jq-suite "$work/jq-suite.tar.gz"
[ -f "$work/example.key" ] || "$agent" keygen --out "$work/example"
set +e
"$agent" validate "$work/jq-suite.tar.gz" --os windows:2022 --db "$work/db" --key "$work/example.key" \
	--report "$work/msi-report.json" ${PIB_EXAMPLE_ARGS:-}
rc=$?
set -e
"$agent" show "$work/msi-report.json" --pubkey "$work/example.pub" || true
echo "report: $work/msi-report.json (exit code $rc); what the MSI's tables say: python3 tests/tools/report.py $work/msi-report.json packages.msi"
exit $rc
