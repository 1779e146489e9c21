#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes (once) a Debian 11 "bullseye" minbase root with mmdebstrap (glibc 2.31, older than the
# build machine's), for the portable tree's test. Usage: make-deb11-root.sh [DIR]
# (default /var/tmp/pib-deb11-root). Prints DIR. Concurrent callers are serialised with an
# flock next to DIR; the root is built in a temporary sibling and renamed into place when
# complete, with a stamp holding the SHA-256 of this script: a changed script rebuilds it.
set -euo pipefail

dir=${1:-/var/tmp/pib-deb11-root}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
dir=${dir%/}
stamp_want=$(sha256sum "$0" | cut -d' ' -f1)
stamp=$dir/.pib-deb11-ok

is_done() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ]; }

if is_done; then
	printf '%s\n' "$dir"
	exit 0
fi
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if is_done; then
	printf '%s\n' "$dir"
	exit 0
fi
command -v mmdebstrap >/dev/null || { echo "$0: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 4; }

tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
mmdebstrap --variant=minbase --quiet bullseye "$tmp/root" >&2
printf '%s\n' "$stamp_want" >"$tmp/root/.pib-deb11-ok"
rm -rf --one-file-system "$dir"
mv "$tmp/root" "$dir"
printf '%s\n' "$dir"
