#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the agent's Debian package from the normal build: a release build with Debian's
# hardening flags in build-pkg, `meson install --destdir`, the binary stripped, the man page,
# copyright and changelog.Debian the way Debian ships them, pib-agent-run.service, Depends
# computed by dpkg-shlibdeps, then `dpkg-deb --root-owner-group --build`.
#
# Usage: packaging/deb.sh OUTDIR
# Writes OUTDIR/pib-agent_VERSION-1_ARCH.deb and prints its path as the last line of stdout.
# Environment: PIB_PKG_BUILD  the meson build dir (default build-pkg in the repository).
#
# The unit goes to /lib/systemd/system: Debian 12 ships every unit there (the moratorium on
# moving files from / to /usr under merged-/usr), and lintian accepts both places.
set -euo pipefail

die() {
	echo "deb.sh: $*" >&2
	exit 1
}
[ $# -eq 1 ] || {
	echo "usage: packaging/deb.sh OUTDIR" >&2
	exit 2
}
for t in meson ninja dpkg-deb dpkg-shlibdeps dpkg-buildflags dpkg-parsechangelog strip gzip; do
	command -v "$t" >/dev/null || die "$t is missing"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DEB=$HERE/debian
BUILD=${PIB_PKG_BUILD:-$REPO/build-pkg}
mkdir -p "$1" || die "cannot create $1"
OUT=$(cd "$1" && pwd)
umask 022

# --------------------------------------------------------------------------- build
# Debian's flags (hardening=+all: fortify, stack protector, relro, bindnow; gcc makes PIE);
# -Dwerror=false: a new compiler warning must not stop a package build (the dev build has
# -Werror). Given as meson options, so that an existing build dir is reconfigured too.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cd "$REPO" # -ffile-prefix-map in dpkg-buildflags' CFLAGS names the current folder
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
opts=(--buildtype=release --prefix=/usr -Dwerror=false "-Dc_args=$cflags" "-Dc_link_args=$ldflags")
if [ -f "$BUILD/build.ninja" ]; then
	meson configure "$BUILD" "${opts[@]}" >&2 || die "meson configure $BUILD failed"
else
	meson setup "$BUILD" "${opts[@]}" >&2 || die "meson setup $BUILD failed"
fi
ninja -C "$BUILD" pib-agent >&2 || die "the build failed"

version=$(meson introspect --projectinfo "$BUILD" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
[ -n "$version" ] || die "no project version from meson introspect"
got=$("$BUILD/pib-agent" --version) || die "$BUILD/pib-agent --version failed"
[ "$got" = "pib-agent $version" ] || die "the binary says '$got', meson says $version"
debver=$version-1
clver=$(dpkg-parsechangelog -l "$DEB/changelog" -S Version)
[ "$clver" = "$debver" ] || die "packaging/debian/changelog's last entry is $clver, not $debver: add an entry"
arch=$(dpkg --print-architecture)
maint=$(dpkg-parsechangelog -l "$DEB/changelog" -S Maintainer)
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$DEB/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

# --------------------------------------------------------------------------- the tree
# work/debian/pib-agent is where dpkg-shlibdeps expects a package's files
work=$(mktemp -d "${TMPDIR:-/tmp}/pib-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/debian/pib-agent
mkdir -p "$root/DEBIAN" # dpkg-shlibdeps finds the package's root by its DEBIAN folder
meson install -C "$BUILD" --no-rebuild --destdir "$root" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; die "meson install failed"; }
[ -x "$root/usr/bin/pib-agent" ] || die "meson install put no usr/bin/pib-agent"
[ -f "$root/usr/share/man/man1/pib-agent.1" ] || die "meson install put no pib-agent.1"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/pib-agent"
chmod 0755 "$root/usr/bin/pib-agent"
gzip -9n "$root/usr/share/man/man1/pib-agent.1"
install -D -m 0644 "$HERE/systemd/pib-agent-run.service" "$root/lib/systemd/system/pib-agent-run.service"
install -D -m 0644 "$DEB/copyright" "$root/usr/share/doc/pib-agent/copyright"
install -D -m 0644 "$DEB/lintian-overrides" "$root/usr/share/lintian/overrides/pib-agent"
gzip -9nc "$DEB/changelog" >"$root/usr/share/doc/pib-agent/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/pib-agent/changelog.Debian.gz"
find "$root" -type d -exec chmod 0755 {} +

# --------------------------------------------------------------------------- control
printf 'Source: pib-agent\n\nPackage: pib-agent\nArchitecture: any\n' >"$work/debian/control"
deps=$(cd "$work" && dpkg-shlibdeps -O -edebian/pib-agent/usr/bin/pib-agent) || die "dpkg-shlibdeps failed"
deps=${deps#shlibs:Depends=}
[ -n "$deps" ] || die "dpkg-shlibdeps found no dependency"
# Installed-Size as dpkg-gencontrol counts it: KiB per file rounded up, 1 per dir or link
isize=$(find "$root" -mindepth 1 \( -type f -printf '%s\n' \) -o -printf '1024\n' |
	awk '{ s += int(($1 + 1023) / 1024) } END { print s }')
sed -e "s|@VERSION@|$debver|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maint|" \
	-e "s|@INSTALLED_SIZE@|$isize|" -e "s|@DEPENDS@|$deps|" "$DEB/control.in" >"$root/DEBIAN/control"
if grep -q '@[A-Z_]*@' "$root/DEBIAN/control"; then
	die "control.in has a placeholder deb.sh does not fill: $(grep -o '@[A-Z_]*@' "$root/DEBIAN/control" | head -n1)"
fi
install -m 0755 "$DEB/postinst" "$DEB/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=$OUT/pib-agent_${debver}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2 || die "dpkg-deb --build failed"
echo "$deb"
