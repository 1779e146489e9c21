#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes a throwaway rpm-based root for the rpm installer's tests.
#
# Usage: make-rpm-root.sh ROOT [--os rhel|amzn|opensuse|fedora] [--arch x86_64|aarch64]
#                         [--backend sqlite|bdb] [--no-base] [--repo DIR]
#
#   ROOT        must not exist, or be an empty directory
#   --os        the etc/os-release written (default rhel):
#                 rhel     ID="rhel" ID_LIKE="fedora" VERSION_ID="9.4"
#                 amzn     ID="amzn" ID_LIKE="fedora" VERSION_ID="2023"
#                 opensuse ID="opensuse-leap" ID_LIKE="suse opensuse" VERSION_ID="15.5"
#                 fedora   ID=fedora VERSION_ID=40
#   --arch      the root's architecture (default x86_64). The agent (installers/osinfo.c) takes a
#               root's arch from the ELF header (e_machine) of the root's /bin/sh, and uses the
#               host's uname only when /bin/sh is missing or not ELF. So an aarch64 root is one
#               whose /bin/sh is an aarch64 ELF: the base package is built for aarch64
#               (rpmbuild --target aarch64) and its /bin/sh is a tiny static aarch64 ELF stub
#               (it would print a message and exit 127; it cannot run on an x86_64 host anyway,
#               so no scriptlet runs in an aarch64 root).
#   --backend   the rpmdb format (default sqlite, as RHEL 9 / AL2023). bdb converts it to a
#               Berkeley DB "Packages" hash database (RHEL 8 / Amazon Linux 2) with
#               rpmdb-to-bdb.py (Packages and every index). The host's rpm 4.18 reads it with
#               its read-only bdb_ro backend, and detects it on its own: without a define it
#               prints "warning: Found bdb_ro Packages database while attempting sqlite backend:
#               using bdb_ro backend." on stderr and reads it (rc 0); with
#               --define '_db_backend bdb_ro' it is silent. It cannot write it (no installs).
#   --no-base   no base package: an empty rpmdb, nothing provides /bin/sh
#   --repo DIR  writes etc/yum.repos.d/pib-local.repo for baseurl=file://DIR (DIR as seen inside
#               the root, e.g. /srv/repo; it is created, empty)
#
# The root has etc/os-release, an rpmdb at var/lib/rpm (made with `rpm --root ROOT --dbpath
# /var/lib/rpm --initdb`: always pass --dbpath /var/lib/rpm, Debian's rpm defaults to ~/.rpmdb),
# tmp and var/tmp, and unless --no-base the package pib-test-base-1.0-1.<arch>, installed with
# `rpm --root ROOT --dbpath /var/lib/rpm -i`. pib-test-base ships /bin/sh (on x86_64 a copy of
# Debian's static busybox, which runs rpm's scriptlets in the chroot), /usr/bin/sh and
# /usr/bin/<applet> links to it for the usual scriptlet commands (busybox sh finds most applets
# only through PATH), and Provides what RHEL-family packages need from glibc: /bin/sh,
# glibc = 2.34, libc.so.6()(64bit), libc.so.6(GLIBC_2.2.5 ... GLIBC_2.34)(64bit), rtld(GNU_HASH),
# ld-linux-x86-64.so.2()(64bit) (aarch64: also libc.so.6(GLIBC_2.17)(64bit) and
# ld-linux-aarch64.so.1()(64bit)).
#
# The built base rpm is cached in $PIB_RPM_CACHE (default /var/tmp/pib-rpm-cache), keyed by
# a hash of this script, the busybox binary and the arch. Prints nothing on success; on
# failure a message on stderr and a non-zero exit (2 usage, 1 anything else).
set -euo pipefail

PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
CACHE=${PIB_RPM_CACHE:-/var/tmp/pib-rpm-cache}
BUSYBOX=/bin/busybox

die() {
	echo "make-rpm-root.sh: $*" >&2
	exit 1
}
usage() {
	echo "usage: make-rpm-root.sh ROOT [--os rhel|amzn|opensuse|fedora] [--arch x86_64|aarch64] [--backend sqlite|bdb] [--no-base] [--repo DIR]" >&2
	exit 2
}

root= os=rhel arch=x86_64 backend=sqlite base=1 repo=
while [ $# -gt 0 ]; do
	case $1 in
	--os) [ $# -ge 2 ] || usage; os=$2; shift 2 ;;
	--arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
	--backend) [ $# -ge 2 ] || usage; backend=$2; shift 2 ;;
	--no-base) base=0; shift ;;
	--repo) [ $# -ge 2 ] || usage; repo=$2; shift 2 ;;
	-h | --help) usage ;;
	-*) echo "make-rpm-root.sh: unknown option $1" >&2; usage ;;
	*) [ -z "$root" ] || usage; root=$1; shift ;;
	esac
done
[ -n "$root" ] || usage
case $os in rhel | amzn | opensuse | fedora) ;; *) echo "make-rpm-root.sh: --os $os: not rhel, amzn, opensuse or fedora" >&2; usage ;; esac
case $arch in x86_64 | aarch64) ;; *) echo "make-rpm-root.sh: --arch $arch: not x86_64 or aarch64" >&2; usage ;; esac
case $backend in sqlite | bdb) ;; *) echo "make-rpm-root.sh: --backend $backend: not sqlite or bdb" >&2; usage ;; esac
if [ -n "$repo" ]; then
	case $repo in
	/*) ;;
	*) echo "make-rpm-root.sh: --repo $repo: must be an absolute path inside the root" >&2; usage ;;
	esac
fi
[ "$(id -u)" = 0 ] || die "needs root (rpm --root chroots for scriptlets)"

if [ -e "$root" ] || [ -L "$root" ]; then
	[ -d "$root" ] && [ ! -L "$root" ] || die "$root exists and is not a directory"
	[ -z "$(ls -A "$root")" ] || die "$root is not empty"
else
	mkdir -p "$root" || die "cannot create $root"
fi
root=$(cd "$root" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/pib-rpm-root.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run DESC CMD...: CMD's output is kept and shown only when it fails.
run() {
	local desc=$1
	shift
	if ! "$@" >"$work/run.log" 2>&1; then
		echo "make-rpm-root.sh: $desc failed: $*" >&2
		tail -n 30 "$work/run.log" >&2
		exit 1
	fi
}

# --------------------------------------------------------------------------- the base package
# aarch64_stub OUT: a minimal static aarch64 ELF executable (write(2, msg); exit(127)).
aarch64_stub() {
	"$PY" - "$1" <<'EOF'
import struct, sys
msg = b"pib-test-base: this /bin/sh is an aarch64 stub, not a shell\n"
def movz(rd, imm): return 0xD2800000 | (imm << 5) | rd
code = [movz(0, 2),                 # x0 = 2 (stderr)
        0x10000000 | (7 << 5) | 1,  # adr x1, msg (+28 bytes)
        movz(2, len(msg)),          # x2 = len
        movz(8, 64),                # x8 = __NR_write
        0xD4000001,                 # svc #0
        movz(0, 127),               # x0 = 127
        movz(8, 93),                # x8 = __NR_exit
        0xD4000001]                 # svc #0
text = b"".join(struct.pack("<I", c) for c in code) + msg
base, ehsize, phsize = 0x400000, 64, 56
entry = base + ehsize + phsize
ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, entry, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0)
size = ehsize + phsize + len(text)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x10000)
with open(sys.argv[1], "wb") as f:
    f.write(ehdr + phdr + text)
EOF
	chmod 0755 "$1"
}

# Commands the scriptlets of the tests (and of simple real packages) use: /usr/bin links to
# /bin/sh (busybox runs the applet named by argv[0]).
APPLETS="awk basename cat chmod chown cp cut date dirname echo env false find grep head id
 install ln ls mkdir mktemp mv printf readlink rm rmdir sed sleep sort stat tail tee test touch
 tr true uname wc xargs"

build_base() { # build_base ARCH -> path of the rpm on stdout
	local a=$1 key dir rpm top glibc_provides v
	[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (apt-get install busybox-static)"
	key=$({
		sha256sum <"$SELF"
		sha256sum <"$BUSYBOX"
		echo "$a"
	} | sha256sum | cut -c1-16)
	dir=$CACHE/base-$key
	rpm=$dir/pib-test-base-1.0-1.$a.rpm
	if [ -s "$rpm" ]; then
		echo "$rpm"
		return 0
	fi
	mkdir -p "$CACHE"
	top=$(mktemp -d "$CACHE/.build-base.XXXXXX")
	mkdir -p "$top/SOURCES" "$top/SPECS" "$top/tmp"
	if [ "$a" = x86_64 ]; then
		cp "$BUSYBOX" "$top/SOURCES/sh"
	else
		aarch64_stub "$top/SOURCES/sh"
	fi
	glibc_provides=
	for v in 2.2.5 2.2.6 2.3 2.3.2 2.3.3 2.3.4 2.4 2.5 2.6 2.7 2.8 2.9 2.10 2.11 2.12 2.13 2.14 \
		2.15 2.16 2.17 2.18 2.22 2.23 2.24 2.25 2.26 2.27 2.28 2.29 2.30 2.32 2.33 2.34; do
		glibc_provides+="Provides: libc.so.6(GLIBC_$v)(64bit)"$'\n'
	done
	if [ "$a" = x86_64 ]; then
		glibc_provides+="Provides: ld-linux-x86-64.so.2()(64bit)"$'\n'
		glibc_provides+="Provides: ld-linux-x86-64.so.2(GLIBC_2.2.5)(64bit)"$'\n'
		glibc_provides+="Provides: ld-linux-x86-64.so.2(GLIBC_2.3)(64bit)"$'\n'
	else
		glibc_provides+="Provides: ld-linux-aarch64.so.1()(64bit)"$'\n'
		glibc_provides+="Provides: ld-linux-aarch64.so.1(GLIBC_2.17)(64bit)"$'\n'
	fi
	cat >"$top/SPECS/pib-test-base.spec" <<EOF
Name: pib-test-base
Version: 1.0
Release: 1
Summary: pib-agent tests: a minimal base (/bin/sh from busybox, glibc's provides)
License: GPL-2.0-only
AutoReqProv: no
Source0: sh
Provides: /bin/sh
Provides: /usr/bin/sh
Provides: glibc = 2.34
Provides: libc.so.6()(64bit)
Provides: rtld(GNU_HASH)
$glibc_provides
%description
The base of pib-agent's throwaway rpm roots (tests/tools/make-rpm-root.sh): /bin/sh (Debian's
static busybox on x86_64, an aarch64 ELF stub on aarch64) and the capabilities that
RHEL-family packages require from glibc. Not a real glibc.

%prep
%build
%install
mkdir -p %{buildroot}/bin %{buildroot}/usr/bin
install -m 0755 %{SOURCE0} %{buildroot}/bin/sh
ln -s ../../bin/sh %{buildroot}/usr/bin/sh
for a in ${APPLETS//$'\n'/ }; do ln -s ../../bin/sh %{buildroot}/usr/bin/\$a; done

%files
/bin/sh
/usr/bin/*
EOF
	if ! rpmbuild --define "_topdir $top" --define "_tmppath $top/tmp" --define "debug_package %{nil}" \
		--define "__os_install_post %{nil}" --define "__spec_install_post %{nil}" \
		--define "_build_id_links none" --define "_buildhost pib-test" --target "$a" --nodeps \
		-bb "$top/SPECS/pib-test-base.spec" >"$top/build.log" 2>&1; then
		echo "make-rpm-root.sh: rpmbuild of pib-test-base ($a) failed:" >&2
		tail -n 30 "$top/build.log" >&2
		rm -rf "$top"
		exit 1
	fi
	mkdir -p "$top/out"
	mv "$top/RPMS/$a/pib-test-base-1.0-1.$a.rpm" "$top/out/" || die "rpmbuild made no pib-test-base-1.0-1.$a.rpm"
	# publish atomically; a concurrent builder may have won the race
	if ! mv -T "$top/out" "$dir" 2>/dev/null; then
		[ -s "$rpm" ] || die "cannot store $rpm"
	fi
	rm -rf "$top"
	echo "$rpm"
}

# --------------------------------------------------------------------------- os-release
os_release() {
	case $os in
	rhel)
		cat <<'EOF'
NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
HOME_URL="https://www.redhat.com/"
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
EOF
		;;
	amzn)
		cat <<'EOF'
NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"
HOME_URL="https://aws.amazon.com/linux/amazon-linux-2023/"
SUPPORT_END="2028-03-15"
EOF
		;;
	opensuse)
		cat <<'EOF'
NAME="openSUSE Leap"
VERSION="15.5"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
VERSION_ID="15.5"
PRETTY_NAME="openSUSE Leap 15.5"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:opensuse:leap:15.5"
HOME_URL="https://www.opensuse.org/"
EOF
		;;
	fedora)
		cat <<'EOF'
NAME="Fedora Linux"
VERSION="40 (Container Image)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Container Image)"
ANSI_COLOR="0;38;2;60;110;180"
CPE_NAME="cpe:/o:fedoraproject:fedora:40"
HOME_URL="https://fedoraproject.org/"
VARIANT="Container Image"
VARIANT_ID=container
EOF
		;;
	esac
}

# --------------------------------------------------------------------------- the root
mkdir -p "$root/etc" "$root/var/lib/rpm" "$root/var/log" "$root/var/tmp" "$root/tmp" \
	"$root/usr/bin" "$root/usr/sbin" "$root/bin" "$root/opt" "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
os_release >"$root/etc/os-release"

run "rpm --initdb" rpm --root "$root" --dbpath /var/lib/rpm --initdb
[ -f "$root/var/lib/rpm/rpmdb.sqlite" ] || die "rpm --initdb made no $root/var/lib/rpm/rpmdb.sqlite"

if [ "$base" = 1 ]; then
	base_rpm=$(build_base "$arch")
	extra=()
	[ "$arch" = x86_64 ] || extra=(--ignorearch)
	run "installing pib-test-base" rpm --root "$root" --dbpath /var/lib/rpm -i "${extra[@]}" "$base_rpm"
	rpm --root "$root" --dbpath /var/lib/rpm -q pib-test-base >/dev/null 2>&1 ||
		die "pib-test-base is not in the rpmdb after installing it"
fi

if [ -n "$repo" ]; then
	mkdir -p "$root/etc/yum.repos.d" "$root$repo"
	cat >"$root/etc/yum.repos.d/pib-local.repo" <<EOF
[pib-local]
name=pib-agent test repository
baseurl=file://$repo
enabled=1
gpgcheck=0
EOF
fi

if [ "$backend" = bdb ]; then
	run "rpmdb-to-bdb.py" "$PY" "$HERE/rpmdb-to-bdb.py" "$root/var/lib/rpm"
fi
exit 0
