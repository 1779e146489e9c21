#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's first command: sets up a fresh Debian 12 machine (as root), builds pib-agent,
# and validates the embedded example bundle into a throwaway real Debian 12 root, then prints
# the report. Safe to run again.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
tests/deps.sh example
[ -f build/build.ninja ] || meson setup build
meson compile -C build
agent=$here/build/pib-agent

work=${PIB_EXAMPLE_DIR:-/var/tmp/pib-example}
mkdir -p "$work"
# A real Debian 12 root, made once (about 30 s) and copied for each run: the copy is thrown away.
tests/integration/make-gold.sh "$work/gold"
rm -rf "$work/root"
cp -a "$work/gold" "$work/root"

# No ClamAV database ships with Debian (freshclam needs the internet): a small one made with sigtool.
tests/scan/make-db.sh "$work/db"
manifests/examples/make-bundle.sh manifests/examples/jq-suite "$work/jq-suite.tar.gz"
set +e
"$agent" validate "$work/jq-suite.tar.gz" --root "$work/root" --db "$work/db" --report "$work/report.json" ${PIB_EXAMPLE_ARGS:-}
rc=$?
set -e
if "$agent" --help | grep -q '^  show '; then
	"$agent" show "$work/report.json"
else
	cat "$work/report.json"
fi
echo "report: $work/report.json (exit code $rc)"
exit $rc
