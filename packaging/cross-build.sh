#!/bin/bash
# SPDX-License-Identifier: MIT
# Cross-builds pib-agent for another CPU on this Debian machine:
#   packaging/cross-build.sh ARCH BUILDDIR [MESON-SETUP-ARGS...]     (ARCH: aarch64)
# 1. Makes (once, cached) a sysroot holding Debian's -dev packages of the build for
#    that architecture and everything they depend on, unpacked by
#    `mmdebstrap --variant=extract` (nothing of the foreign architecture runs, so no
#    binfmt/qemu is needed), under /var/tmp/pib-sysroot-DEBARCH/root, guarded by a lock
#    and rebuilt when this script, the cross file or the package list change (stamp).
# 2. Configures BUILDDIR with meson and packaging/cross/linux-gnu.ini (the Debian
#    cross compiler TRIPLET-gcc --sysroot, pkg-config looking only into the sysroot,
#    qemu-user-static as exe_wrapper) and builds the pib-agent binary only.
# Extra arguments go to `meson setup`, e.g. --buildtype=release -Doptimization=2; a
# BUILDDIR configured with other arguments (or another sysroot) is set up afresh.
# The last stdout line is SYSROOT=<path of the sysroot>; progress goes to stderr.
# Needs: mmdebstrap, gcc-TRIPLET (gcc-aarch64-linux-gnu), qemu-user-static, meson, ninja,
# pkg-config, and the Debian archive reachable.
set -euo pipefail

ARCH=${1:?usage: cross-build.sh ARCH BUILDDIR [meson setup args]}
BUILDDIR=${2:?usage: cross-build.sh ARCH BUILDDIR [meson setup args]}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)

case "$ARCH" in
aarch64 | arm64) DEBARCH=arm64 TRIPLET=aarch64-linux-gnu CPU_FAMILY=aarch64 CPU=aarch64 QEMU=qemu-aarch64-static ;;
x86_64 | amd64) DEBARCH=amd64 TRIPLET=x86_64-linux-gnu CPU_FAMILY=x86_64 CPU=x86_64 QEMU=qemu-x86_64-static ;;
*) echo "cross-build.sh: unknown ARCH $ARCH (aarch64 or x86_64)" >&2; exit 2 ;;
esac
for t in mmdebstrap "$TRIPLET-gcc" "$QEMU" meson ninja pkg-config; do
	command -v "$t" >/dev/null || { echo "cross-build.sh: $t is missing" >&2; exit 2; }
done

# The -dev packages of the build (tests/deps.sh, BUILD) for the target architecture.
PKGS="libc6-dev libarchive-dev libsolv-dev libsolvext-dev libclamav-dev libcurl4-openssl-dev libcjson-dev libssl-dev liblzma-dev libmsi-dev libglib2.0-dev"
# Same Debian release as this machine, so the sysroot's libraries are the ones Debian
# ships next to the host's build.
# shellcheck disable=SC1091
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
MIRROR=${PIB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${PIB_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

CACHE=${PIB_SYSROOT_CACHE:-/var/tmp/pib-sysroot-$DEBARCH}
SYSROOT=$CACHE/root
STAMP_WANT=$(cat "$0" "$HERE/cross/linux-gnu.ini" | sha256sum | cut -d' ' -f1)
STAMP_WANT="$STAMP_WANT $SUITE $PKGS"

make_sysroot() {
	local new=$CACHE/root.new
	rm -rf "$new" "$SYSROOT" "$CACHE/stamp"
	mkdir -p "$new"
	local inc
	inc=$(echo "$PKGS" | tr ' ' ,)
	echo "cross-build.sh: making the $DEBARCH sysroot in $SYSROOT (mmdebstrap, extract)" >&2
	# extract: the packages named and all they depend on (apt resolves them) are
	# unpacked, no maintainer script runs (none could: they are arm64).
	mmdebstrap --quiet --mode=root --variant=extract --arch="$DEBARCH" --include="$inc" \
		--skip=check/empty --skip=cleanup/apt/cache "$SUITE" "$new" \
		"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
		"deb $SECURITY $SUITE-security main" >&2
	# The linker, pkg-config and qemu -L read the sysroot from here: an absolute link
	# inside it would lead to this machine's files. Make every one relative.
	local link target rel n=0
	while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		rel=$(realpath -m -s --relative-to="$(dirname "$link")" "$new$target")
		ln -sfn "$rel" "$link"
		n=$((n + 1))
	done < <(find "$new" -lname '/*' -print0)
	echo "cross-build.sh: $n absolute links in the sysroot made relative" >&2
	# A dpkg database saying what was unpacked, from the downloaded .debs: the files of each
	# package (var/lib/dpkg/info/PKG.list, PKG:ARCH.list for Multi-Arch: same, as dpkg names
	# them) and its control fields with "Status: install ok unpacked" (what dpkg records
	# for a package unpacked whose scripts have not run), for whoever must name the
	# packages a file comes from (packaging/portable.sh's licences and SBOM).
	local deb pkg ma info=$new/var/lib/dpkg/info
	mkdir -p "$info"
	: >"$new/var/lib/dpkg/status"
	for deb in "$new/var/cache/apt/archives"/*.deb; do
		[ -e "$deb" ] || { echo "cross-build.sh: mmdebstrap left no .deb to list" >&2; exit 1; }
		pkg=$(dpkg-deb -f "$deb" Package)
		ma=$(dpkg-deb -f "$deb" Multi-Arch)
		[ "$ma" = same ] && pkg=$pkg:$(dpkg-deb -f "$deb" Architecture)
		dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' -e 's|^$|/.|' >"$info/$pkg.list"
		{ dpkg-deb -f "$deb" | sed '/^Package:/a Status: install ok unpacked'; echo; } >>"$new/var/lib/dpkg/status"
	done
	# The .debs themselves are not needed any more.
	rm -f "$new/var/cache/apt/archives"/*.deb "$new/var/cache/apt"/*.bin
	mv "$new" "$SYSROOT"
	echo "$STAMP_WANT" >"$CACHE/stamp"
}

mkdir -p "$CACHE"
exec 9>"$CACHE.lock"
flock 9
if [ ! -d "$SYSROOT" ] || [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP_WANT" ]; then
	make_sysroot
fi

# The cross file: constants first (generated), then the project's template.
mkdir -p "$BUILDDIR"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
CONSTS=$BUILDDIR/cross-constants.ini
ARGS=$BUILDDIR/cross-args
want_consts="# Generated by packaging/cross-build.sh: constants for packaging/cross/linux-gnu.ini
[constants]
sysroot = '$SYSROOT'
triplet = '$TRIPLET'
cpu_family = '$CPU_FAMILY'
cpu = '$CPU'
qemu = '$QEMU'"
want_args=$( (($# == 0)) || printf '%q ' "$@")
# Configured for this sysroot and these arguments already: only ninja (meson reconfigures
# by itself when meson.build changes). Otherwise a fresh setup: the build dir is emptied
# first (what meson --wipe does), because meson 1.0's --wipe, --reconfigure and configure
# let --buildtype override an explicit -Doptimization.
if [ ! -f "$BUILDDIR/build.ninja" ] || [ "$(cat "$CONSTS" 2>/dev/null)" != "$want_consts" ] ||
	[ "$(cat "$ARGS" 2>/dev/null)" != "$want_args" ]; then
	if [ -d "$BUILDDIR/meson-private" ]; then
		find "$BUILDDIR" -mindepth 1 -delete
	fi
	printf '%s\n' "$want_consts" >"$CONSTS"
	meson setup "$BUILDDIR" "$SRC" --cross-file "$CONSTS" --cross-file "$HERE/cross/linux-gnu.ini" "$@" >&2
	printf '%s' "$want_args" >"$ARGS"
fi
ninja -C "$BUILDDIR" pib-agent >&2
echo "SYSROOT=$SYSROOT"
