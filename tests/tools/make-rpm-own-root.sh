#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes a throwaway rpm root that has its OWN rpm (so pib-agent runs that rpm contained inside
# the root, base/contain.c), for the rpm installer's tests.
#
# Usage: make-rpm-own-root.sh ROOT
#
#   ROOT  must not exist, or be an empty directory
#
# The root is a copy of the Debian 12 gold root ($PIB_GOLD_ROOT, default /var/tmp/pib-gold-root,
# made by tests/integration/make-gold.sh; it must be finished: .pib-gold-ok) into which
# Debian's rpm 4.18 and its dependencies are installed with `dpkg --root` (the .debs are
# downloaded once with apt-get download into $PIB_RPM_DEBS, default /var/tmp/pib-rpm-debs: the
# packages `apt-get -s install --no-install-recommends rpm` would add to the gold root). Then:
#   - etc/os-release (and usr/lib/os-release, its target in Debian) says RHEL 9.4:
#     ID="rhel" ID_LIKE="fedora" VERSION_ID="9.4"
#   - etc/rpm/macros sets %_dbpath /var/lib/rpm (Debian's rpm defaults to ~/.rpmdb)
#   - `chroot ROOT rpm --initdb` makes var/lib/rpm/rpmdb.sqlite
#   - the package pib-own-base-1.0-1.noarch (built here with rpmbuild, no dependencies) is
#     installed with the root's own rpm (chroot ROOT rpm -i): it ships only
#     /usr/share/pib-own-base/README and Provides /bin/sh and /usr/bin/sh, because rpm and
#     libsolv take a file dependency (a scriptlet's Requires(post): /bin/sh) only from the
#     rpmdb, never from the disk. The root's /bin/sh stays Debian's dash; its arch (what the
#     agent reads from /bin/sh's ELF header) is x86_64.
# So /usr/bin/rpm exists in the root, and the rpmdb holds pib-own-base only.
#
# The finished root is cached as a template in $PIB_RPM_OWN_CACHE (default
# /var/tmp/pib-rpm-own-root)/root-KEY, KEY a hash of this script, of the gold root's dpkg status
# and of the .deb files; later calls copy it (cp -a). Builds are serialised with a lock. Prints
# nothing on success; on failure a message on stderr and a non-zero exit (2 usage, 1 anything else).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
GOLD=${PIB_GOLD_ROOT:-/var/tmp/pib-gold-root}
DEBS=${PIB_RPM_DEBS:-/var/tmp/pib-rpm-debs}
CACHE=${PIB_RPM_OWN_CACHE:-/var/tmp/pib-rpm-own-root}

die() {
	echo "make-rpm-own-root.sh: $*" >&2
	exit 1
}
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
	echo "usage: make-rpm-own-root.sh ROOT" >&2
	exit 2
fi
root=$1
[ "$(id -u)" = 0 ] || die "needs root (dpkg --root, chroot)"
[ -e "$GOLD/.pib-gold-ok" ] || die "$GOLD is not a finished gold root (tests/integration/make-gold.sh)"
if [ -e "$root" ] || [ -L "$root" ]; then
	[ -d "$root" ] && [ ! -L "$root" ] || die "$root exists and is not a directory"
	[ -z "$(ls -A "$root")" ] || die "$root is not empty"
fi

mkdir -p "$CACHE" "$DEBS"
work=
cleanup() {
	[ -z "$work" ] || rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# run DESC CMD...: output kept, shown only on failure.
run() {
	local desc=$1
	shift
	if ! "$@" >"$work/run.log" 2>&1; then
		echo "make-rpm-own-root.sh: $desc failed: $*" >&2
		tail -n 30 "$work/run.log" >&2
		exit 1
	fi
}

# a shared lock while a template is copied, an exclusive one to build (and to remove old ones)
exec 9>"$CACHE/.lock"
flock 9
work=$(mktemp -d "$CACHE/.work.XXXXXX")

# --------------------------------------------------------------------------- the .debs
# The packages apt would add to the gold root for rpm, downloaded once.
if [ ! -e "$DEBS/.complete" ]; then
	apt-get -s install --no-install-recommends rpm -o Dir::State::status="$GOLD/var/lib/dpkg/status" \
		>"$work/sim.log" 2>&1 || die "apt-get -s install rpm failed: $(tail -n 5 "$work/sim.log")"
	awk '$1 == "Inst" { print $2 }' "$work/sim.log" >"$work/names"
	grep -qx rpm "$work/names" || die "apt-get -s install rpm does not list rpm: $(tail -n 5 "$work/sim.log")"
	mkdir -p "$work/debs"
	# shellcheck disable=SC2046
	(cd "$work/debs" && apt-get download $(cat "$work/names")) >"$work/dl.log" 2>&1 ||
		die "apt-get download failed: $(tail -n 5 "$work/dl.log")"
	[ "$(find "$work/debs" -name '*.deb' | wc -l)" = "$(wc -l <"$work/names")" ] ||
		die "apt-get download did not fetch every package of: $(tr '\n' ' ' <"$work/names")"
	rm -f "$DEBS"/*.deb
	cp "$work/debs"/*.deb "$DEBS/"
	cp "$work/names" "$DEBS/names"
	touch "$DEBS/.complete"
fi

key=$({
	sha256sum <"$SELF"
	sha256sum <"$GOLD/var/lib/dpkg/status"
	(cd "$DEBS" && sha256sum ./*.deb)
} | sha256sum | cut -c1-16)
tmpl=$CACHE/root-$key

# --------------------------------------------------------------------------- the template
if [ ! -e "$tmpl.ok" ]; then
	rm -rf --one-file-system "$tmpl"
	R=$work/root
	cp -a "$GOLD" "$R" || die "cp -a $GOLD failed"
	run "dpkg --root -i (rpm and its dependencies)" dpkg --root "$R" -i "$DEBS"/*.deb
	[ -x "$R/usr/bin/rpm" ] || die "no usr/bin/rpm in the root after dpkg -i"

	rm -f "$R/etc/os-release"
	cat >"$R/etc/os-release" <<'EOF'
NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
HOME_URL="https://www.redhat.com/"
EOF
	if [ -f "$R/usr/lib/os-release" ] && [ ! -L "$R/usr/lib/os-release" ]; then
		cp "$R/etc/os-release" "$R/usr/lib/os-release"
	fi
	mkdir -p "$R/etc/rpm"
	printf '%s\n' "# pib-agent tests: the rpmdb where RHEL keeps it (Debian's rpm defaults to ~/.rpmdb)" \
		"%_dbpath /var/lib/rpm" >"$R/etc/rpm/macros"
	run "rpm --initdb in the root" chroot "$R" /usr/bin/rpm --initdb
	[ -f "$R/var/lib/rpm/rpmdb.sqlite" ] || die "rpm --initdb made no var/lib/rpm/rpmdb.sqlite"

	# the base package: Provides /bin/sh (the scriptlets' Requires(post): /bin/sh)
	top=$work/rpmbuild
	mkdir -p "$top/SPECS" "$top/tmp"
	cat >"$top/SPECS/pib-own-base.spec" <<'EOF'
Name: pib-own-base
Version: 1.0
Release: 1
Summary: pib-agent tests: /bin/sh of a Debian root that has its own rpm
License: MIT
BuildArch: noarch
AutoReqProv: no
Provides: /bin/sh
Provides: /usr/bin/sh

%description
The root of tests/tools/make-rpm-own-root.sh has Debian's /bin/sh (dash) on disk; rpm and
libsolv take a file dependency only from the rpm database, so this package provides it.

%prep
%build
%install
mkdir -p %{buildroot}/usr/share/pib-own-base
echo "pib-own-base 1.0" > %{buildroot}/usr/share/pib-own-base/README

%files
/usr/share/pib-own-base
EOF
	run "rpmbuild pib-own-base" rpmbuild --define "_topdir $top" --define "_tmppath $top/tmp" \
		--define "debug_package %{nil}" --define "__os_install_post %{nil}" \
		--define "_build_id_links none" --define "_buildhost pib-test" --nodeps \
		-bb "$top/SPECS/pib-own-base.spec"
	cp "$top/RPMS/noarch/pib-own-base-1.0-1.noarch.rpm" "$R/tmp/"
	run "rpm -i pib-own-base with the root's own rpm" chroot "$R" /usr/bin/rpm -i /tmp/pib-own-base-1.0-1.noarch.rpm
	rm -f "$R/tmp/pib-own-base-1.0-1.noarch.rpm"
	[ "$(chroot "$R" /usr/bin/rpm -qa 2>&1)" = pib-own-base-1.0-1.noarch ] ||
		die "the root's rpmdb does not hold pib-own-base only: $(chroot "$R" /usr/bin/rpm -qa 2>&1)"

	# older templates go; this one is published
	for old in "$CACHE"/root-*; do
		[ -e "$old" ] || continue
		case $old in *.ok) continue ;; esac
		rm -f "$old.ok"
		rm -rf --one-file-system "$old"
	done
	mv "$R" "$tmpl"
	touch "$tmpl.ok"
fi
flock -s 9

mkdir -p "$root"
cp -a "$tmpl/." "$root/" || die "cp -a $tmpl $root failed"
exit 0
