#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds an example bundle (tar.gz) from its source folder: make-bundle.sh SRC_DIR OUT.tar.gz
# The package files listed in SRC_DIR/FILES come from the fixtures folder ($PIB_FIXTURES,
# default ../shared/fixtures beside the project).
set -eu
src=$(cd "$1" && pwd)
out=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
fixtures=${PIB_FIXTURES:-$here/../shared/fixtures}
[ -d "$fixtures" ] || fixtures=/work/shared/fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/manifest.json" "$work/"
grep -v '^#' "$src/FILES" | while read -r member from; do
	[ -n "$member" ] || continue
	mkdir -p "$work/$(dirname "$member")"
	cp "$fixtures/$from" "$work/$member"
done
(cd "$work" && tar --owner=0 --group=0 -czf bundle.tar.gz manifest.json $(grep -v '^#' "$src/FILES" | awk 'NF {print $1}'))
mv "$work/bundle.tar.gz" "$out"
