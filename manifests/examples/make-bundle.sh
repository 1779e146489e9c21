#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds an example bundle (tar.gz) from its source folder: make-bundle.sh SRC_DIR OUT.tar.gz
# The package files listed in SRC_DIR/FILES come from the fixtures folder ($PIB_FIXTURES,
# default ../shared/fixtures beside the project), or are MSIs built here with wixl ("wixl:X.wxs").
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
	case $from in
	wixl:*)
		# an MSI built here from WiX XML of the example (relative Source paths: from its folder),
		# its digest (all zeros in the source manifest) filled in
		wxs=$src/${from#wixl:}
		command -v wixl >/dev/null || { echo "make-bundle.sh: wixl is needed to build $member (apt-get install wixl)" >&2; exit 1; }
		(cd "$(dirname "$wxs")" && wixl -a x64 -o "$work/$member" "$(basename "$wxs")") >"$work/wixl.out" 2>&1 ||
			{ cat "$work/wixl.out" >&2; exit 1; }
		sum=$(sha256sum "$work/$member" | cut -d' ' -f1)
		sed -i "\\|\"file\": \"$member\"|s/\"sha256\": \"0\{64\}\"/\"sha256\": \"$sum\"/" "$work/manifest.json"
		;;
	*) cp "$fixtures/$from" "$work/$member" ;;
	esac
done
(cd "$work" && tar --owner=0 --group=0 -czf bundle.tar.gz manifest.json $(grep -v '^#' "$src/FILES" | awk 'NF {print $1}'))
mv "$work/bundle.tar.gz" "$out"
