#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the agent's rpm with rpmbuild: the portable tree (packaging/portable.sh: the agent
# with its own C library and loader, so the rpm runs on RHEL 8/9, Amazon Linux and SUSE,
# whose glibc is older and which have no librpm 4.18 or libsolv) under /usr/lib/pib-agent,
# /usr/bin/pib-agent a link to its launcher, the man page, pib-agent-run.service
# (packaging/rpm/pib-agent.spec says how and why).
#
# Usage: packaging/rpm.sh OUTDIR [ARCH]       (ARCH: x86_64 or aarch64; default: this machine's)
# Writes OUTDIR/pib-agent-VERSION-1.ARCH.rpm and prints its path as the last line of stdout.
# Environment: PIB_PORTABLE_TARBALL  a tree made before (pib-agent-VERSION-ARCH.tar.gz) to
#              package instead of calling packaging/portable.sh.
#              PIB_RPM_PAYLOAD       rpm's _binary_payload (default w2T.xzdio).
set -euo pipefail

die() {
	echo "rpm.sh: $*" >&2
	exit 1
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: packaging/rpm.sh OUTDIR [x86_64|aarch64]" >&2
	exit 2
fi
arch=${2:-$(uname -m)}
case $arch in
x86_64) ;;
aarch64 | arm64) arch=aarch64 ;;
*) die "unknown ARCH '$arch' (x86_64 or aarch64)" ;;
esac
for t in rpmbuild tar gzip; do
	command -v "$t" >/dev/null || die "$t is missing"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" || die "cannot create $1"
OUT=$(cd "$1" && pwd)
umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/pib-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ -n "${PIB_PORTABLE_TARBALL:-}" ]; then
	tarball=$PIB_PORTABLE_TARBALL
else
	tarball=$("$HERE/portable.sh" "$work/portable" "$arch" | tail -n 1) || die "packaging/portable.sh $arch failed"
fi
[ -f "$tarball" ] || die "no portable tree at '$tarball'"
name=$(basename "$tarball" .tar.gz)
case $name in
pib-agent-*-"$arch") version=${name#pib-agent-} version=${version%-"$arch"} ;;
*) die "$tarball is not a pib-agent-VERSION-$arch.tar.gz" ;;
esac
case $version in
'' | *[!0-9A-Za-z.+~_]*) die "'$version' is not an rpm version" ;;
esac

mkdir -p "$work/tree" "$work/top/SOURCES"
tar -C "$work/tree" -xzf "$tarball" || die "cannot unpack $tarball"
tree=$work/tree/$name
for f in bin/pib-agent libexec/pib-agent share/man/man1/pib-agent.1 share/licenses/pib-agent/LICENSE sbom.cdx.json; do
	[ -e "$tree/$f" ] || die "the tree has no $f"
done
cp "$HERE/systemd/pib-agent-run.service" "$tree/share/licenses/pib-agent/LICENSE" "$work/top/SOURCES/"

# xz payload (Amazon Linux 2's rpm 4.11 reads no zstd) at level 2: 10% larger than level 6
# and 3 times faster to make. PIB_RPM_PAYLOAD overrides it (rpm's _binary_payload).
if ! rpmbuild --define "_topdir $work/top" --define "_tmppath $work/tmp" \
	--define "pib_version $version" --define "pib_tree $tree" \
	--define "_binary_payload ${PIB_RPM_PAYLOAD:-w2T.xzdio}" --define "_buildhost pib-agent-build" \
	--target "$arch" -bb "$HERE/rpm/pib-agent.spec" >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "rpmbuild failed"
fi
if grep -i 'warning' "$work/build.log" >&2; then
	echo "rpm.sh: rpmbuild's warnings are above" >&2
fi
rpm=$work/top/RPMS/$arch/pib-agent-$version-1.$arch.rpm
[ -f "$rpm" ] || die "rpmbuild made no $(basename "$rpm")"
mv "$rpm" "$OUT/" || die "cannot write to $OUT"
echo "$OUT/$(basename "$rpm")"
