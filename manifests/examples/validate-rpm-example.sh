#!/bin/sh
# SPDX-License-Identifier: MIT
# The example bundle's rpm target, validated for real: sets up a fresh Debian 12 machine (as
# root), builds pib-agent, makes a throwaway rpm root of a RHEL 9 image
# (tests/tools/make-rpm-root.sh: an rpmdb made by rpm --initdb, os-release, a base package that
# provides /bin/sh and glibc), and validates manifests/examples/jq-suite into it: the bundle's
# rhel target is chosen, hello-2.0-1.x86_64 is checked against the seller's signing key (the
# rpm project's test key) in a private keyring, prescanned, resolved against the root's
# rpmdb, installed by rpm, and postscanned. Prints the report. Safe to run again.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
tests/deps.sh rpm-example
[ -f build/build.ninja ] || meson setup build
meson compile -C build
agent=$PWD/build/pib-agent
work=${PIB_EXAMPLE_DIR:-/var/tmp/pib-example}
mkdir -p "$work"
rm -rf "$work/rpm-root"
tests/tools/make-rpm-root.sh "$work/rpm-root" --os rhel
tests/scan/make-db.sh "$work/db"
manifests/examples/make-bundle.sh manifests/examples/jq-suite "$work/jq-suite.tar.gz"
[ -f "$work/example.key" ] || "$agent" keygen --out "$work/example"
set +e
"$agent" validate "$work/jq-suite.tar.gz" --root "$work/rpm-root" --db "$work/db" --key "$work/example.key" \
	--report "$work/rpm-report.json" ${PIB_EXAMPLE_ARGS:-}
rc=$?
set -e
"$agent" show "$work/rpm-report.json" --pubkey "$work/example.pub" || true
echo "report: $work/rpm-report.json (exit code $rc); the root's rpmdb: rpm --root $work/rpm-root --dbpath /var/lib/rpm -qa"
exit $rc
