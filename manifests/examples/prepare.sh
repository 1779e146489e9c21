# SPDX-License-Identifier: MIT
# Sourced by the examples (run-example.sh, validate-example.sh) from the repository's root:
# sets the machine up, builds pib-agent ($agent), and makes $work/root, a fresh copy of a real
# Debian 12 root, and $work/db, a small ClamAV database. Never run on its own.
tests/deps.sh example
[ -f build/build.ninja ] || meson setup build
meson compile -C build
agent=$PWD/build/pib-agent
work=${PIB_EXAMPLE_DIR:-/var/tmp/pib-example}
mkdir -p "$work"
# A real Debian 12 root, made once (about 30 s) and copied for each run: the copy is thrown away.
tests/integration/make-gold.sh "$work/gold"
rm -rf "$work/root"
cp -a "$work/gold" "$work/root"
# No ClamAV database ships with Debian (freshclam needs the internet): a small one made with sigtool.
tests/scan/make-db.sh "$work/db"
