#!/bin/bash
# SPDX-License-Identifier: MIT
# The rpm test tools test themselves: make-rpm-root.sh makes the roots it says (os-release of
# each --os, the base package in the rpmdb, a /bin/sh that runs scriptlets, the arch the agent
# reads from /bin/sh, --no-base, --repo, a Berkeley DB rpmdb that rpm reads), the real fixture
# hello-2.0-1.x86_64.rpm installs, and make-test-rpms.sh builds the packages it lists (names,
# arches, dependencies, scriptlets, repositories, keys, signatures, tampering). Needs root
# (rpm chroots for scriptlets), not the agent.
. "$(dirname "$0")/lib.sh"
setup --no-agent
[ "$(id -u)" = 0 ] || bail_out "needs root (rpm --root chroots for scriptlets)"
[ -f "$RPM_HELLO" ] || bail_out "no fixture $RPM_HELLO (set PIB_FIXTURES)"

MKROOT=$TOOLS_DIR/make-rpm-root.sh
MKRPMS=$TOOLS_DIR/make-test-rpms.sh
P=$T/rpms

"$MKRPMS" "$P" >"$T/mkrpms.out" 2>&1 || bail_out "make-test-rpms.sh failed: $(tail -n 20 "$T/mkrpms.out")"
is "make-test-rpms.sh prints nothing on success" "$(cat "$T/mkrpms.out")" ""

# rpmr ROOT ARGS...: the host's rpm on ROOT's rpmdb.
rpmr() {
	local r=$1
	shift
	rpm --root "$r" --dbpath /var/lib/rpm "$@"
}
# elf_machine FILE: e_machine of an ELF file (62 x86_64, 183 aarch64), what the agent's
# installers/osinfo.c reads from a root's /bin/sh to decide the root's arch.
elf_machine() {
	[ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ] || { echo not-elf; return; }
	od -An -tu2 -j18 -N2 "$1" | tr -d ' '
}
# osr FILE: "ID|ID_LIKE|VERSION_ID" of an os-release file, read as the shell does.
osr() {
	(
		ID= ID_LIKE= VERSION_ID=
		. "$1"
		echo "$ID|$ID_LIKE|$VERSION_ID"
	)
}
# mkroot NAME ARGS...: make-rpm-root.sh $T/NAME ARGS... must pass and print nothing.
mkroot() {
	local name=$1 out
	shift
	if out=$("$MKROOT" "$T/$name" "$@" 2>&1); then
		is "make-rpm-root.sh $name${*:+ $*}: exit 0, prints nothing" "$out" ""
	else
		fail "make-rpm-root.sh $name${*:+ $*}: exit 0, prints nothing" "exit $?" "$out"
	fi
}

# --- one root per --os
declare -A WANT=([rhel]='rhel|fedora|9.4' [amzn]='amzn|fedora|2023' [opensuse]='opensuse-leap|suse opensuse|15.5'
	[fedora]='fedora||40')
for os in rhel amzn opensuse fedora; do
	mkroot "os-$os" --os "$os"
	is "--os $os: ID|ID_LIKE|VERSION_ID of etc/os-release" "$(osr "$T/os-$os/etc/os-release")" "${WANT[$os]}"
	is "--os $os: pib-test-base is in the rpmdb" "$(rpmr "$T/os-$os" -qa 2>&1)" "pib-test-base-1.0-1.x86_64"
done
R=$T/os-rhel
contains "rhel: PRETTY_NAME" "$(cat "$R/etc/os-release")" 'PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"'
is "rhel: the rpmdb is sqlite at var/lib/rpm" "$(ls "$R/var/lib/rpm" | grep -c '^rpmdb.sqlite$')" 1
# (sort -u: /bin/sh is both a Provides and a file of the package)
for cap in /bin/sh glibc 'libc.so.6()(64bit)' 'libc.so.6(GLIBC_2.2.5)(64bit)' 'rtld(GNU_HASH)'; do
	is "x86_64 base provides $cap" "$(rpmr "$R" -q --whatprovides "$cap" 2>&1 | sort -u)" "pib-test-base-1.0-1.x86_64"
done
has_line "x86_64 base provides glibc = 2.34" "$(rpmr "$R" -q --provides pib-test-base 2>&1)" "glibc = 2.34"
is "x86_64 root: /bin/sh is an x86_64 ELF (e_machine 62)" "$(elf_machine "$R/bin/sh")" 62
is "x86_64 root: /bin/sh is busybox" "$(sha256_of "$R/bin/sh")" "$(sha256_of /bin/busybox)"
check "x86_64 root: busybox sh runs touch, mkdir, cat, echo, rm in a chroot" chroot "$R" /bin/sh -c \
	'PATH=/usr/sbin:/usr/bin:/sbin:/bin; set -e; mkdir /tmp/d; echo x >/tmp/d/f; touch /tmp/d/g; test "$(cat /tmp/d/f)" = x; rm -r /tmp/d; test ! -e /tmp/d'
check_not "the chroot check can fail: a missing command" chroot "$R" /bin/sh -c 'PATH=/usr/bin:/bin; pib-no-such-command'

# --- scriptlets run through the base's /bin/sh
check "rpm -i pib-ok into the rhel root" rpmr "$R" -i "$P/pib-ok-1.0-1.noarch.rpm"
is "pib-ok's %post ran: /var/log/pib-ok.post" "$(cat "$R/var/log/pib-ok.post" 2>&1)" "pib-ok post 1"
is "pib-ok's file" "$(cat "$R/opt/pib-ok/hello.txt" 2>&1)" "hello from pib-ok"
check "rpm -i pib-a pib-b (a dependency loop) in one transaction" rpmr "$R" -i "$P/pib-a-1.0-1.noarch.rpm" \
	"$P/pib-b-1.0-1.noarch.rpm"
is "both %post ran, each once" "$(sort "$R/var/log/pib-order" 2>&1 | tr '\n' ' ')" "pib-a pib-b "
check_not "pib-a alone (in another root): its dependency is missing" rpmr "$T/os-amzn" -i --test "$P/pib-a-1.0-1.noarch.rpm"
check "rpm -i pib-dropper" rpmr "$R" -i "$P/pib-dropper-1.0-1.noarch.rpm"
contains "pib-dropper's %post wrote /usr/local/bin/pib-dropped" "$(cat "$R/usr/local/bin/pib-dropped" 2>&1)" "echo dropped"
is "no package owns /usr/local/bin/pib-dropped" "$(rpmr "$R" -qf /usr/local/bin/pib-dropped >/dev/null 2>&1; echo $?)" 1
out=$(rpmr "$R" -i "$P/pib-postfail-1.0-1.noarch.rpm" 2>&1)
is "pib-postfail: rpm -i exits 0 (a failing %post is a warning)" "$?" 0
contains "pib-postfail: rpm warns that %post failed" "$out" "%post(pib-postfail-1.0-1.noarch) scriptlet failed, exit status 1"
out=$(rpmr "$R" -i "$P/pib-prefail-1.0-1.noarch.rpm" 2>&1)
is "pib-prefail: rpm -i exits 1" "$?" 1
contains "pib-prefail: %pre failed" "$out" "%prein(pib-prefail-1.0-1.noarch) scriptlet failed, exit status 1"
check_not "pib-prefail is not installed" rpmr "$R" -q pib-prefail
out=$(rpmr "$R" -i "$P/pib-posttransfail-1.0-1.noarch.rpm" 2>&1)
contains "pib-posttransfail: %posttrans failed" "$out" "%posttrans(pib-posttransfail-1.0-1.noarch) scriptlet failed, exit status 1"
check "rpm -i pib-eicar" rpmr "$R" -i "$P/pib-eicar-1.0-1.noarch.rpm"
is "pib-eicar: eicar.com is the 68-byte EICAR test file" "$(sha256_of "$R/opt/pib-eicar/eicar.com")" \
	275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f
out=$(rpmr "$R" -i "$P/pib-fileclash-1.0-1.noarch.rpm" 2>&1)
contains "pib-fileclash: /bin/sh clashes with pib-test-base" "$out" \
	"file /bin/sh from install of pib-fileclash-1.0-1.noarch conflicts with file from package pib-test-base-1.0-1.x86_64"
out=$(rpmr "$R" -i "$P/pib-conflict-a-1.0-1.noarch.rpm" "$P/pib-conflict-b-1.0-1.noarch.rpm" 2>&1)
contains "pib-conflict-b conflicts with pib-conflict-a" "$out" "pib-conflict-a conflicts with pib-conflict-b-1.0-1.noarch"
out=$(rpmr "$R" -i "$P/pib-needs-nobody-1.0-1.noarch.rpm" 2>&1)
contains "pib-needs-nobody: nothing provides its dependency" "$out" "pib-nonexistent-lib >= 2 is needed by pib-needs-nobody-1.0-1.noarch"
out=$(rpmr "$R" -i "$P/pib-needs-repo-1.0-1.noarch.rpm" 2>&1)
contains "pib-needs-repo: needs pib-repo-dep" "$out" "pib-repo-dep is needed by pib-needs-repo-1.0-1.noarch"
check "pib-needs-repo installs with pib-repo-dep from repo/" rpmr "$R" -i "$P/pib-needs-repo-1.0-1.noarch.rpm" \
	"$P/repo/pib-repo-dep-1.0-1.noarch.rpm"
out=$(rpmr "$R" -i "$P/pib-arm-1.0-1.aarch64.rpm" 2>&1)
contains "pib-arm is refused on x86_64" "$out" "is intended for a different architecture"

# --- the real fixture
mkroot fixture
check "the fixture hello-2.0-1.x86_64.rpm installs with plain rpm -i" rpmr "$T/fixture" -i --nosignature "$RPM_HELLO"
is "hello is in the rpmdb" "$(rpmr "$T/fixture" -q hello 2>&1)" "hello-2.0-1.x86_64"

# --- --no-base: nothing provides libc, so the same install fails (the base is what makes it pass)
mkroot nobase --no-base
is "--no-base: the rpmdb is empty" "$(rpmr "$T/nobase" -qa 2>&1)" ""
is "--no-base: no /bin/sh" "$([ -e "$T/nobase/bin/sh" ] && echo there || echo absent)" absent
out=$(rpmr "$T/nobase" -i --nosignature "$RPM_HELLO" 2>&1)
contains "--no-base: hello fails on libc.so.6()(64bit)" "$out" "libc.so.6()(64bit) is needed by hello-2.0-1.x86_64"

# --- --arch aarch64
mkroot arm --arch aarch64 --os amzn
is "aarch64: the base package is aarch64" "$(rpmr "$T/arm" -qa 2>&1)" "pib-test-base-1.0-1.aarch64"
is "aarch64: /bin/sh is an aarch64 ELF (e_machine 183)" "$(elf_machine "$T/arm/bin/sh")" 183
is "aarch64: provides libc.so.6(GLIBC_2.17)(64bit)" \
	"$(rpmr "$T/arm" -q --whatprovides 'libc.so.6(GLIBC_2.17)(64bit)' 2>&1)" "pib-test-base-1.0-1.aarch64"

# --- --repo
mkroot repo --repo /srv/repo --os fedora
is "--repo: etc/yum.repos.d/pib-local.repo" "$(grep -E '^(\[|baseurl|enabled|gpgcheck)' "$T/repo/etc/yum.repos.d/pib-local.repo" 2>&1 | tr '\n' ' ')" \
	"[pib-local] baseurl=file:///srv/repo enabled=1 gpgcheck=0 "
check "--repo: the folder exists in the root" test -d "$T/repo/srv/repo"

# --- --backend bdb
mkroot bdb --backend bdb
is "bdb: no sqlite file is left" "$(ls "$T/bdb/var/lib/rpm" | grep -c sqlite)" 0
check "bdb: Packages is a Berkeley DB hash database" sh -c "db5.3_dump -p '$T/bdb/var/lib/rpm/Packages' | grep -qx 'type=hash'"
is "bdb: rpm -qa with _db_backend bdb_ro" "$(rpmr "$T/bdb" --define '_db_backend bdb_ro' -qa 2>&1)" "pib-test-base-1.0-1.x86_64"
is "bdb: rpm -qa without a define (rpm 4.18 switches to bdb_ro itself)" "$(rpmr "$T/bdb" -qa 2>/dev/null)" "pib-test-base-1.0-1.x86_64"
is "bdb: the Providename index works" \
	"$(rpmr "$T/bdb" --define '_db_backend bdb_ro' -q --whatprovides 'rtld(GNU_HASH)' 2>&1)" "pib-test-base-1.0-1.x86_64"
is "bdb: the Name index works" "$(rpmr "$T/bdb" --define '_db_backend bdb_ro' -q pib-test-base 2>&1)" "pib-test-base-1.0-1.x86_64"
# (-qf can print a package twice: rpm resolves the dirnames on the host, where /bin is /usr/bin)
is "bdb: the Basenames index works" "$(rpmr "$T/bdb" --define '_db_backend bdb_ro' -qf /bin/sh 2>&1 | sort -u)" \
	"pib-test-base-1.0-1.x86_64"
# a root with two packages converted by hand: both are listed
mkroot bdb2
rpmr "$T/bdb2" -i --nosignature "$RPM_HELLO" >/dev/null 2>&1
check "rpmdb-to-bdb.py on a root with hello" /usr/bin/python3 "$TOOLS_DIR/rpmdb-to-bdb.py" "$T/bdb2/var/lib/rpm"
is "bdb: both packages are listed" "$(rpmr "$T/bdb2" --define '_db_backend bdb_ro' -qa 2>&1 | sort | tr '\n' ' ')" \
	"hello-2.0-1.x86_64 pib-test-base-1.0-1.x86_64 "
check_not "bdb: rpmdb-to-bdb.py refuses a folder without rpmdb.sqlite" /usr/bin/python3 "$TOOLS_DIR/rpmdb-to-bdb.py" "$T/bdb2/var/lib/rpm"

# --- refusals
check_not "make-rpm-root.sh refuses a non-empty ROOT" "$MKROOT" "$T/os-rhel"
check_not "make-rpm-root.sh refuses an unknown --os" "$MKROOT" "$T/bad" --os debian

# --- each package is what its file name says
QF='%{name}-%{version}-%{release}.%|SOURCEPACKAGE?{src}:{%{arch}}|'
n=0
for f in "$P"/*.rpm "$P"/repo/*.rpm; do
	n=$((n + 1))
	b=$(basename "$f" .rpm)
	is "$b.rpm: rpm -qp says $b" "$(rpm -qp --nosignature --nodigest --qf "$QF" "$f" 2>&1)" "$b"
done
is "the 20 packages and the repository's are all there" "$n" 21
reqs() { rpm -qp --nosignature --nodigest --requires "$1" 2>&1 | grep -v '^rpmlib(' | grep -v '^/bin/sh$' | tr '\n' ' '; }
is "pib-a requires pib-b" "$(reqs "$P/pib-a-1.0-1.noarch.rpm")" "pib-b "
is "pib-b requires pib-a" "$(reqs "$P/pib-b-1.0-1.noarch.rpm")" "pib-a "
is "pib-needs-nobody's dependency" "$(reqs "$P/pib-needs-nobody-1.0-1.noarch.rpm")" "pib-nonexistent-lib >= 2 "
is "pib-i686 has no dependencies" "$(reqs "$P/pib-i686-1.0-1.i686.rpm")" ""
is "pib-conflict-b conflicts" "$(rpm -qp --nosignature --nodigest --conflicts "$P/pib-conflict-b-1.0-1.noarch.rpm" 2>&1)" "pib-conflict-a"
is "pib-fileclash ships /bin/sh" "$(rpm -qp --nosignature --nodigest -l "$P/pib-fileclash-1.0-1.noarch.rpm" 2>&1)" "/bin/sh"

# --- repositories: dnf reads each compression
for r in repo:gz repo-xz:xz repo-bz2:bz2 repo-zst:zst; do
	d=$P/${r%%:*}
	check "${r%%:*}: primary metadata is .${r##*:}" sh -c "ls '$d/repodata/' | grep -q -- '-primary.xml.${r##*:}\$'"
	out=$(timeout 120 dnf -q --setopt=reposdir=/nonexistent --setopt=cachedir="$T/dnfcache-${r%%:*}" \
		--installroot="$T/dnfroot" --releasever=9 --repofrompath="t,file://$d" --repo t \
		repoquery --qf '%{name}-%{version}-%{release}.%{arch}' 2>&1)
	has_line "${r%%:*}: dnf lists pib-repo-dep" "$out" "pib-repo-dep-1.0-1.noarch"
done

# --- digests and signatures
check "pib-signed: digests OK (rpm -K --nosignature)" rpm -K --nosignature "$P/pib-signed-1.0-1.noarch.rpm"
for t in pib-tampered pib-hdrtampered; do
	check_not "$t fails rpm -K --nosignature (digests only)" rpm -K --nosignature "$P/$t-1.0-1.noarch.rpm"
	check_not "$t fails rpm -K --define '_pkgverify_level digest'" rpm -K --define '_pkgverify_level digest' \
		"$P/$t-1.0-1.noarch.rpm"
done
out=$(rpm -Kv --nosignature "$P/pib-tampered-1.0-1.noarch.rpm" 2>&1)
contains "pib-tampered: the header digests pass" "$out" "Header SHA256 digest: OK"
contains "pib-tampered: the payload digest fails" "$out" "Payload SHA256 digest: BAD"
out=$(rpm -Kv --nosignature "$P/pib-hdrtampered-1.0-1.noarch.rpm" 2>&1)
contains "pib-hdrtampered: the header digest fails" "$out" "Header SHA256 digest: BAD"

mkdir -p "$T/kdb-seller" "$T/kdb-other" "$T/kdb-none"
check "rpmkeys --import seller.asc into a private dbpath" rpmkeys --dbpath "$T/kdb-seller" --import "$P/keys/seller.asc"
check "rpmkeys --import other.asc into another" rpmkeys --dbpath "$T/kdb-other" --import "$P/keys/other.asc"
SIG=(--define '_pkgverify_level signature')
check "pib-signed passes rpmkeys -K with seller.asc" rpmkeys --dbpath "$T/kdb-seller" "${SIG[@]}" -K "$P/pib-signed-1.0-1.noarch.rpm"
check_not "pib-signed fails rpmkeys -K with no key" rpmkeys --dbpath "$T/kdb-none" "${SIG[@]}" -K "$P/pib-signed-1.0-1.noarch.rpm"
check_not "pib-signed fails rpmkeys -K with only other.asc" rpmkeys --dbpath "$T/kdb-other" "${SIG[@]}" -K "$P/pib-signed-1.0-1.noarch.rpm"
check_not "unsigned pib-ok fails rpmkeys -K with seller.asc" rpmkeys --dbpath "$T/kdb-seller" "${SIG[@]}" -K "$P/pib-ok-1.0-1.noarch.rpm"
check_not "pib-tampered fails rpmkeys -K with seller.asc" rpmkeys --dbpath "$T/kdb-seller" "${SIG[@]}" -K "$P/pib-tampered-1.0-1.noarch.rpm"
keyid=$(cat "$P/keys/seller.keyid")
fpr=$(cat "$P/keys/seller.fpr")
check "seller.keyid is 16 lowercase hex digits" grep -qxE '[0-9a-f]{16}' "$P/keys/seller.keyid"
check "seller.fpr is 40 lowercase hex digits" grep -qxE '[0-9a-f]{40}' "$P/keys/seller.fpr"
is "seller.keyid is the end of seller.fpr" "${fpr:24}" "$keyid"
is "pib-signed's signature names seller.keyid" \
	"$(rpm -qp --nosignature --nodigest --qf '%{RSAHEADER:pgpsig}' "$P/pib-signed-1.0-1.noarch.rpm" 2>&1 | sed 's/.*Key ID //')" "$keyid"
is "the imported key is gpg-pubkey-<short id>" "$(rpm --dbpath "$T/kdb-seller" -q gpg-pubkey --qf '%{version}' 2>&1)" "${keyid:8}"

done_testing
