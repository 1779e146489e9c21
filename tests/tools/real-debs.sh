#!/bin/bash
# SPDX-License-Identifier: MIT
# Fetches (once) and caches the real Debian 12 packages that a gold root lacks for a list of
# packages, and prints the cache directory: its *.deb files are exactly what
# `apt-get install --download-only --no-install-recommends PKGS` downloads for that root.
#
# Usage: real-debs.sh GOLD_ROOT PKG...
# Environment: PIB_REAL_CACHE (default /var/tmp/pib-real-bundle).
#
# The cache is keyed by the package list, the options and the gold root's dpkg status file
# (another root may lack other packages): CACHE/KEY/ holds the .deb files, SHA256SUMS (written
# at download time) and the list of packages asked for. A directory whose SHA256SUMS lists
# every .deb in it and verifies is reused as it is (nothing downloaded); anything else is
# fetched again. apt runs on the host, pointed at a scratch copy of the root's apt
# configuration and dpkg status (-o Dir=...): nothing is mounted, nothing is chrooted, the
# gold root is only read. Concurrent callers are serialised with a lock.
# Exit 0 with the directory on stdout; 4 when the download fails (e.g. no network).
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 GOLD_ROOT PKG..." >&2
	exit 3
fi
gold=$1
shift
cache=${PIB_REAL_CACHE:-/var/tmp/pib-real-bundle}
opts="bookworm amd64 --download-only --no-install-recommends"
[ -f "$gold/var/lib/dpkg/status" ] || { echo "$0: $gold has no dpkg status file" >&2; exit 3; }
key=$({
	echo "$opts"
	printf '%s\n' "$@" | sort -u
	sha256sum <"$gold/var/lib/dpkg/status"
} | sha256sum | cut -c1-16)
dir=$cache/$key
mkdir -p "$cache"

# complete DIR: the SHA256SUMS lists every .deb in DIR (and only those) and every digest matches.
complete() {
	local d=$1 listed present
	[ -s "$d/SHA256SUMS" ] || return 1
	listed=$(awk '{ print $2 }' "$d/SHA256SUMS" | sort)
	present=$(cd "$d" && find . -maxdepth 1 -name '*.deb' -printf '%f\n' | sort)
	[ -n "$listed" ] && [ "$listed" = "$present" ] || return 1
	(cd "$d" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}

exec 9>"$cache/.lock"
flock 9
if complete "$dir"; then
	echo "$dir"
	exit 0
fi

scratch=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
S=$scratch/root
mkdir -p "$S/etc" "$S/var/lib/dpkg" "$S/var/lib/apt/lists/partial" "$S/var/cache/apt/archives/partial"
cp -a "$gold/etc/apt" "$S/etc/apt"
cp -a "$gold/var/lib/dpkg/status" "$S/var/lib/dpkg/status"
apt_s() {
	apt-get -q -o "Dir=$S" -o "Dir::State::status=$S/var/lib/dpkg/status" -o APT::Architecture=amd64 \
		-o Debug::NoLocking=true "$@"
}
echo "real-debs: downloading what $gold lacks for: $* (once; cached under $dir)" >&2
if ! apt_s update >"$scratch/apt.log" 2>&1 ||
	! apt_s install --download-only -y --no-install-recommends "$@" >>"$scratch/apt.log" 2>&1; then
	tail -n 20 "$scratch/apt.log" >&2
	echo "$0: apt-get could not download the packages (no network?)" >&2
	exit 4
fi
n=$(find "$S/var/cache/apt/archives" -maxdepth 1 -name '*.deb' | wc -l)
[ "$n" -gt 0 ] || { echo "$0: apt-get downloaded nothing" >&2; exit 4; }
rm -rf "$dir"
mkdir "$scratch/out"
mv "$S/var/cache/apt/archives/"*.deb "$scratch/out/"
(cd "$scratch/out" && sha256sum -- *.deb >SHA256SUMS)
printf '%s\n' "$@" >"$scratch/out/PACKAGES"
mv "$scratch/out" "$dir"
complete "$dir" || { echo "$0: the downloaded files do not verify" >&2; exit 4; }
echo "real-debs: $n packages in $dir" >&2
echo "$dir"
