#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the gold root once: a minimal real Debian 12 (mmdebstrap minbase) that tests copy.
# Usage: make-gold.sh DIR. Idempotent: does nothing when DIR/.pib-gold-ok exists.
# Concurrent callers are serialised with a lock next to DIR; the root is built in a
# temporary sibling directory and renamed into place only when complete.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 3
fi
dir=$1
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
dir=${dir%/}

[ -e "$dir/.pib-gold-ok" ] && exit 0

parent=$(dirname "$dir")
mkdir -p "$parent"
exec 9>"$dir.lock"
flock 9
[ -e "$dir/.pib-gold-ok" ] && exit 0

tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mmdebstrap --variant=minbase --quiet bookworm "$tmp/root" >&2
touch "$tmp/root/.pib-gold-ok"
rm -rf "$dir"
mv "$tmp/root" "$dir"
