#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes the portable pib-agent tree: one tarball that runs unchanged on any Linux of its
# architecture (any glibc, or none), without installing anything into the image.
#
# Usage: packaging/portable.sh OUTDIR [ARCH]     (ARCH: x86_64 or aarch64; default: this machine's)
#
# Builds first if needed (a release build in build-portable-ARCH; for an ARCH other than this
# machine's, packaging/cross-build.sh ARCH BUILDDIR makes it and names its sysroot), then writes
# OUTDIR/pib-agent-VERSION-ARCH.tar.gz, which unpacks to pib-agent-VERSION-ARCH/ holding:
#   bin/pib-agent        a /bin/sh launcher: execs lib/LOADER --inhibit-cache --library-path lib
#                        --argv0 "$0" libexec/pib-agent "$@" (it sets no environment variable)
#   libexec/pib-agent    the real program
#   lib/                 every library it needs by soname (DT_NEEDED walked with readelf, resolved
#                        in the build's root), the C library and its loader included
#   share/licenses/PKG/copyright   for each Debian package a carried file comes from, and the
#                        project's licence (share/licenses/pib-agent/LICENSE)
#   share/man/man1/pib-agent.1
#   sbom.cdx.json        CycloneDX 1.5: the agent, each Debian package carried with its files'
#                        SHA-256 (packaging/portable/collect.py)
# The tarball is reproducible: sorted names, owner and group 0, every mtime the last commit's
# time (or SOURCE_DATE_EPOCH), gzip -6 -n (no name or time; -9 costs 3x the time for 0.5% less). Prints the tarball's path last.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 OUTDIR [x86_64|aarch64]" >&2
	exit 3
fi
outdir=$1
host_arch=$(uname -m)
arch=${2:-$host_arch}
case $arch in
x86_64) loader=ld-linux-x86-64.so.2 ;;
aarch64 | arm64) arch=aarch64 loader=ld-linux-aarch64.so.1 ;;
*) echo "$0: unknown ARCH '$arch' (x86_64 or aarch64)" >&2; exit 3 ;;
esac
for tool in readelf /usr/bin/python3 tar gzip meson ninja; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is missing" >&2; exit 4; }
done
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
builddir=$repo/build-portable-$arch

# One build at a time per arch (several callers may make the tree at once).
exec 8>"/tmp/pib-portable-$arch.lock"
flock 8

sysroot=/
if [ "$arch" = "$host_arch" ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		# release, at -O2: -O3 makes GCC 12 see a false "maybe uninitialized" in manifests/job.c
		meson setup "$builddir" "$repo" --buildtype=release -Doptimization=2 -Db_ndebug=if-release >&2
	fi
	ninja -C "$builddir" pib-agent >&2
else
	[ -x "$here/cross-build.sh" ] || { echo "$0: packaging/cross-build.sh is missing (needed for $arch)" >&2; exit 4; }
	cross_out=$("$here/cross-build.sh" "$arch" "$builddir" --buildtype=release -Doptimization=2 -Db_ndebug=if-release)
	sysroot=$(printf '%s\n' "$cross_out" | sed -n 's/^SYSROOT=//p' | tail -n 1)
	[ -n "$sysroot" ] && [ -d "$sysroot" ] || { echo "$0: cross-build.sh named no SYSROOT folder" >&2; exit 4; }
fi
[ -x "$builddir/pib-agent" ] || { echo "$0: no $builddir/pib-agent after the build" >&2; exit 4; }

version=$(meson introspect --projectinfo "$builddir" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	mtime=$SOURCE_DATE_EPOCH
else
	mtime=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)
fi

name=pib-agent-$version-$arch
stage=$(mktemp -d "$outdir/.portable.XXXXXX")
trap 'rm -rf "$stage"' EXIT
t=$stage/$name
umask 022
mkdir -p "$t/bin" "$t/libexec" "$t/lib" "$t/share/man/man1" "$t/share/licenses/pib-agent"
install -m 0755 "$builddir/pib-agent" "$t/libexec/pib-agent"
# stripped as Debian's own binaries are (the carried libraries already are): the symbols stay in the build dir
case $arch in
"$host_arch") strip_tool=strip ;;
*) strip_tool=$arch-linux-gnu-strip ;;
esac
command -v "$strip_tool" >/dev/null || { echo "$0: $strip_tool is missing" >&2; exit 4; }
"$strip_tool" --strip-unneeded "$t/libexec/pib-agent"
sed "s/@LOADER@/$loader/g" "$here/portable/launcher.sh.in" >"$t/bin/pib-agent"
chmod 0755 "$t/bin/pib-agent"
install -m 0644 "$repo/packaging/pib-agent.1" "$t/share/man/man1/pib-agent.1"

/usr/bin/python3 "$here/portable/collect.py" --tree "$t" --root "$sysroot" --arch "$arch" --version "$version" \
	--mtime "$mtime" --project-license "$here/portable/LICENSE" >&2

# The tree must start here, with its own loader, when the arch is this machine's.
if [ "$arch" = "$host_arch" ]; then
	got=$(env -i "$t/bin/pib-agent" --version 2>&1) || { echo "$0: the tree does not start: $got" >&2; exit 1; }
	case $got in *"$version"*) ;; *) echo "$0: the tree's --version says '$got', not $version" >&2; exit 1 ;; esac
fi

tarball=$outdir/$name.tar.gz
tar -C "$stage" --sort=name --mtime="@$mtime" --owner=0 --group=0 --numeric-owner --format=gnu \
	-cf - "$name" | gzip -6 -n >"$stage/out.tar.gz"
mv "$stage/out.tar.gz" "$tarball"
echo "portable: $(du -k "$tarball" | cut -f1) KB compressed, $(du -sk "$t" | cut -f1) KB unpacked" >&2
printf '%s\n' "$tarball"
