#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the small rpm packages the rpm installer's tests use, with rpmbuild.
#
# Usage: make-test-rpms.sh OUTDIR
#
# OUTDIR is created if needed; its files of the same names are replaced. The whole set is
# built once and cached in $PIB_RPM_CACHE (default /var/tmp/pib-rpm-cache)/test-rpms-KEY, KEY a
# hash of this script and the rpm version; later calls only copy it. Prints nothing on success;
# a message on stderr and exit 1 on failure (2 for usage).
#
# All are version 1.0-1, noarch unless said otherwise, and own a plain file under
# /opt/<name>/ unless said otherwise. Scriptlets are /bin/sh ones (rpmbuild adds
# Requires(pre/post/posttrans): /bin/sh, which make-rpm-root.sh's pib-test-base provides).
#
#   pib-ok-1.0-1.noarch.rpm             installs /opt/pib-ok/hello.txt ("hello from pib-ok");
#                                       %post writes /var/log/pib-ok.post ("pib-ok post 1"):
#                                       the plain good package, proof that scriptlets ran
#   pib-ok-1.0-1.src.rpm                the source rpm of pib-ok (rpmbuild -bs): not installable
#   pib-postfail-1.0-1.noarch.rpm       %post exits 1 (rpm only warns, the package stays
#                                       installed); ships /opt/pib-postfail/f
#   pib-prefail-1.0-1.noarch.rpm        %pre exits 1 (rpm refuses it: not installed)
#   pib-posttransfail-1.0-1.noarch.rpm  %posttrans exits 1 (after the transaction)
#   pib-a-1.0-1.noarch.rpm              Requires pib-b; %post appends "pib-a" to /var/log/pib-order
#   pib-b-1.0-1.noarch.rpm              Requires pib-a; %post appends "pib-b" to /var/log/pib-order
#                                       (a dependency loop: both must go in one transaction)
#   pib-needs-nobody-1.0-1.noarch.rpm   Requires pib-nonexistent-lib >= 2, which nothing provides
#   pib-needs-repo-1.0-1.noarch.rpm     Requires pib-repo-dep, found only in the repositories:
#   repo/                               createrepo_c repository (gz metadata, --no-database)
#                                       holding pib-repo-dep-1.0-1.noarch.rpm, which ships
#                                       /opt/pib-repo-dep/f (it is not among OUTDIR's own files)
#   repo-xz/                            the same, createrepo_c --general-compress-type xz
#                                       (--compress-type alone still writes primary.xml.gz)
#   repo-bz2/                           the same, --general-compress-type bz2
#   repo-zst/                           the same with *.xml.zst metadata: Debian's createrepo_c
#                                       0.17.3 has no zstd, so the gz repository is recompressed
#                                       with zstd and its repomd.xml rewritten (as Fedora's)
#   pib-dropper-1.0-1.noarch.rpm        %post writes /usr/local/bin/pib-dropped (a shell script
#                                       that is NOT in its file list): a file no package owns
#   pib-eicar-1.0-1.noarch.rpm          ships /opt/pib-eicar/eicar.com, the 68-byte EICAR test
#                                       string (made here from two halves, never stored whole)
#   pib-conflict-a-1.0-1.noarch.rpm     a plain package
#   pib-conflict-b-1.0-1.noarch.rpm     Conflicts: pib-conflict-a
#   pib-fileclash-1.0-1.noarch.rpm      ships /bin/sh (a 2-line shell script), which clashes with
#                                       pib-test-base's /bin/sh (different content)
#   pib-signed-1.0-1.noarch.rpm         signed (rpmsign --addsign, RSA 2048, SHA-256) with the
#                                       "seller" test key; ships /opt/pib-signed/f
#   keys/seller.asc                     the seller's public key, ASCII-armored
#   keys/seller.keyid                   its long key id: 16 lowercase hex digits
#   keys/seller.fpr                     its fingerprint: 40 lowercase hex digits (V4 key)
#   keys/other.asc                      another public key that signed nothing ("signed by a
#                                       key that is not the seller's" tests: import it instead)
#   pib-tampered-1.0-1.noarch.rpm       like pib-signed (its own name, signed by the seller), then
#                                       one byte of the compressed payload changed near its end:
#                                       the headers and the signature parse and verify, the payload
#                                       digests do not (rpm -K: "DIGESTS ... NOT OK")
#   pib-hdrtampered-1.0-1.noarch.rpm    the same, but one byte of the main header's data store
#                                       changed (a letter of the Summary: "Package"): header
#                                       digests and the header signature fail, and rpm -qp
#                                       refuses to read it ("not an rpm package")
#   pib-x86only-1.0-1.x86_64.rpm        BuildArch x86_64 with a plain file (no ELF, no deps)
#   pib-arm-1.0-1.aarch64.rpm           rpmbuild --target aarch64 (plain file, arch aarch64):
#                                       not installable on x86_64 without --ignorearch
#   pib-i686-1.0-1.i686.rpm             rpmbuild --target i686, plain file, no dependencies
#
# Checked here: pib-signed passes `rpm -K --nosignature` and, with seller.asc imported into a
# private --dbpath, `rpm -K` in full; both tampered files fail `rpm -K --define
# '_pkgverify_level digest'` with --nosignature (digests only) and with the seller key.
set -euo pipefail

PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
CACHE=${PIB_RPM_CACHE:-/var/tmp/pib-rpm-cache}

die() {
	echo "make-test-rpms.sh: $*" >&2
	exit 1
}
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
	echo "usage: make-test-rpms.sh OUTDIR" >&2
	exit 2
fi
out=$1

key=$({
	sha256sum <"$SELF"
	rpm --version
	createrepo_c --version
} | sha256sum | cut -c1-16)
cached=$CACHE/test-rpms-$key

publish() {
	mkdir -p "$out" || die "cannot create $out"
	cp -a "$cached/." "$out/" || die "cannot copy $cached to $out"
	rm -f "$out/.complete"
}
if [ -e "$cached/.complete" ]; then
	publish
	exit 0
fi

mkdir -p "$CACHE"
top=$(mktemp -d "$CACHE/.build-test-rpms.XXXXXX")
GNUPGHOME=
cleanup() {
	if [ -n "$GNUPGHOME" ]; then
		GNUPGHOME=$GNUPGHOME gpgconf --kill all >/dev/null 2>&1 || true
		rm -rf "$GNUPGHOME"
	fi
	rm -rf "$top"
}
trap cleanup EXIT
mkdir -p "$top/SPECS" "$top/tmp" "$top/out/keys"
res=$top/out

# run DESC CMD...: output kept, shown only on failure.
run() {
	local desc=$1
	shift
	if ! "$@" >"$top/run.log" 2>&1; then
		echo "make-test-rpms.sh: $desc failed: $*" >&2
		tail -n 30 "$top/run.log" >&2
		exit 1
	fi
}

RPMBUILD=(rpmbuild --define "_topdir $top" --define "_tmppath $top/tmp" --define "debug_package %{nil}"
	--define "__os_install_post %{nil}" --define "_build_id_links none" --define "_buildhost pib-test" --nodeps)

# spec NAME [HEADER-LINE...] < BODY: writes SPECS/NAME.spec: the common header (noarch unless a
# "BuildArch:" or "#noarch-off" line is given), the extra header lines, then BODY (the sections
# after %description).
spec() {
	local name=$1 arch="BuildArch: noarch" l
	shift
	for l in "$@"; do
		case $l in
		BuildArch:* | "#noarch-off") arch= ;;
		esac
	done
	{
		printf '%s\n' "Name: $name" "Version: 1.0" "Release: 1" "Summary: pib-agent test package $name" \
			"License: MIT" "URL: https://example.invalid/pib-agent"
		[ -z "$arch" ] || printf '%s\n' "$arch"
		printf '%s\n' "$@"
		printf '\n%%description\n%s\n\n%%prep\n%%build\n' "A package of pib-agent's rpm tests (tests/tools/make-test-rpms.sh)."
		cat
	} >"$top/SPECS/$name.spec"
}

# plain NAME [HEADER-LINE...]: a package that ships only /opt/NAME/f.
plain() {
	local name=$1
	spec "$@" <<EOF
%install
mkdir -p %{buildroot}/opt/$name
echo "$name 1.0" > %{buildroot}/opt/$name/f

%files
/opt/$name
EOF
}

# build NAME [rpmbuild args...]: rpmbuild -bb, the rpm(s) land in $top/RPMS/ARCH/.
build() {
	local name=$1
	shift
	run "rpmbuild $name" "${RPMBUILD[@]}" "$@" -bb "$top/SPECS/$name.spec"
}

# --------------------------------------------------------------------------- specs
spec pib-ok <<'EOF'
%install
mkdir -p %{buildroot}/opt/pib-ok
echo "hello from pib-ok" > %{buildroot}/opt/pib-ok/hello.txt

%post
mkdir -p /var/log
echo "pib-ok post $1" > /var/log/pib-ok.post

%files
/opt/pib-ok
EOF

spec pib-postfail <<'EOF'
%install
mkdir -p %{buildroot}/opt/pib-postfail
echo "pib-postfail 1.0" > %{buildroot}/opt/pib-postfail/f

%post
echo "pib-postfail: failing on purpose" >&2
exit 1

%files
/opt/pib-postfail
EOF

spec pib-prefail <<'EOF'
%install
mkdir -p %{buildroot}/opt/pib-prefail
echo "pib-prefail 1.0" > %{buildroot}/opt/pib-prefail/f

%pre
echo "pib-prefail: failing on purpose" >&2
exit 1

%files
/opt/pib-prefail
EOF

spec pib-posttransfail <<'EOF'
%install
mkdir -p %{buildroot}/opt/pib-posttransfail
echo "pib-posttransfail 1.0" > %{buildroot}/opt/pib-posttransfail/f

%posttrans
echo "pib-posttransfail: failing on purpose" >&2
exit 1

%files
/opt/pib-posttransfail
EOF

for pair in a:b b:a; do
	n=pib-${pair%%:*} other=pib-${pair##*:}
	spec "$n" "Requires: $other" <<EOF
%install
mkdir -p %{buildroot}/opt/$n
echo "$n 1.0" > %{buildroot}/opt/$n/f

%post
mkdir -p /var/log
echo $n >> /var/log/pib-order

%files
/opt/$n
EOF
done

plain pib-needs-nobody "Requires: pib-nonexistent-lib >= 2"
plain pib-needs-repo "Requires: pib-repo-dep"
plain pib-repo-dep

spec pib-dropper <<'EOF'
%install
mkdir -p %{buildroot}/opt/pib-dropper
echo "pib-dropper 1.0" > %{buildroot}/opt/pib-dropper/f

%post
mkdir -p /usr/local/bin
echo 'echo dropped by pib-dropper' > /usr/local/bin/pib-dropped
chmod 0755 /usr/local/bin/pib-dropped

%files
/opt/pib-dropper
EOF

# EICAR from two halves (never whole in the repository), written as a source file
mkdir -p "$top/SOURCES"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$' 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$top/SOURCES/eicar.com"
[ "$(sha256sum <"$top/SOURCES/eicar.com" | cut -c1-64)" = \
	275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f ] || die "the EICAR string is wrong"
spec pib-eicar "Source0: eicar.com" <<'EOF'
%install
mkdir -p %{buildroot}/opt/pib-eicar
install -m 0644 %{SOURCE0} %{buildroot}/opt/pib-eicar/eicar.com

%files
/opt/pib-eicar
EOF

plain pib-conflict-a
plain pib-conflict-b "Conflicts: pib-conflict-a"

spec pib-fileclash <<'EOF'
%install
mkdir -p %{buildroot}/bin
printf '#!/bin/sh\necho "this /bin/sh comes from pib-fileclash"\n' > %{buildroot}/bin/sh
chmod 0755 %{buildroot}/bin/sh

%files
/bin/sh
EOF

plain pib-signed
plain pib-tampered
plain pib-hdrtampered
plain pib-x86only "BuildArch: x86_64"
plain pib-arm "#noarch-off"
plain pib-i686 "#noarch-off"

for n in pib-ok pib-postfail pib-prefail pib-posttransfail pib-a pib-b pib-needs-nobody pib-needs-repo \
	pib-repo-dep pib-dropper pib-eicar pib-conflict-a pib-conflict-b pib-fileclash pib-signed pib-tampered \
	pib-hdrtampered pib-x86only; do
	build "$n"
done
build pib-arm --target aarch64
build pib-i686 --target i686
run "rpmbuild -bs pib-ok" "${RPMBUILD[@]}" -bs "$top/SPECS/pib-ok.spec"

for f in "$top"/RPMS/noarch/*.rpm "$top"/RPMS/x86_64/*.rpm "$top"/RPMS/aarch64/*.rpm \
	"$top"/RPMS/i686/*.rpm "$top"/SRPMS/pib-ok-1.0-1.src.rpm; do
	case $f in */pib-repo-dep-*) continue ;; esac
	cp "$f" "$res/"
done

# --------------------------------------------------------------------------- repositories
for r in repo:gz repo-xz:xz repo-bz2:bz2 repo-zst:gz; do
	d=$res/${r%%:*}
	mkdir -p "$d"
	cp "$top/RPMS/noarch/pib-repo-dep-1.0-1.noarch.rpm" "$d/"
	run "createrepo_c ${r%%:*}" createrepo_c --general-compress-type "${r##*:}" --no-database "$d"
done
# createrepo_c 0.17.3 as Debian builds it knows no zstd ("Unknown/Unsupported compression type"):
# repo-zst is the gz repository recompressed with zstd, its repomd.xml rewritten (checksum,
# size, location; open-checksum and open-size stay), as Fedora's *.xml.zst repositories are.
run "zstd repository" "$PY" - "$res/repo-zst" <<'PYEOF'
import gzip, hashlib, os, re, subprocess, sys
repo = sys.argv[1]
md = os.path.join(repo, "repodata")
path = os.path.join(md, "repomd.xml")
xml = open(path).read()

def redo(m):
    block = m.group(0)
    href = re.search(r'<location href="([^"]+)"', block).group(1)
    if not href.endswith(".gz"):
        return block
    raw = gzip.decompress(open(os.path.join(repo, href), "rb").read())
    zst = subprocess.run(["zstd", "-q", "-19", "-c"], input=raw, capture_output=True, check=True).stdout
    digest = hashlib.sha256(zst).hexdigest()
    kind = m.group(1)
    new_href = f"repodata/{digest}-{kind}.xml.zst"
    with open(os.path.join(repo, new_href), "wb") as f:
        f.write(zst)
    os.unlink(os.path.join(repo, href))
    block = re.sub(r'<checksum type="sha256">[0-9a-f]+</checksum>',
                   f'<checksum type="sha256">{digest}</checksum>', block)
    block = block.replace(f'<location href="{href}"', f'<location href="{new_href}"')
    block = re.sub(r"<size>\d+</size>", f"<size>{len(zst)}</size>", block)
    return block

xml = re.sub(r'<data type="([a-z_]+)">.*?</data>', redo, xml, flags=re.S)
if ".gz" in xml:
    sys.exit("a .gz location is left in repomd.xml")
open(path, "w").write(xml)
PYEOF

# --------------------------------------------------------------------------- signing
GNUPGHOME=$(mktemp -d /tmp/pib-gpg.XXXXXX)
export GNUPGHOME
chmod 700 "$GNUPGHOME"
for who in seller other; do
	run "gpg key $who" gpg --batch --pinentry-mode loopback --passphrase '' \
		--quick-generate-key "pib-agent test $who <$who@pib-test.invalid>" rsa2048 sign never
done
fpr=$(gpg --batch --with-colons --fingerprint "seller@pib-test.invalid" 2>/dev/null | awk -F: '$1 == "fpr" { print tolower($10); exit }')
[[ $fpr =~ ^[0-9a-f]{40}$ ]] || die "no fingerprint for the seller key: '$fpr'"
echo "$fpr" >"$res/keys/seller.fpr"
echo "${fpr:24:16}" >"$res/keys/seller.keyid"
gpg --batch --armor --export "seller@pib-test.invalid" >"$res/keys/seller.asc" 2>/dev/null
gpg --batch --armor --export "other@pib-test.invalid" >"$res/keys/other.asc" 2>/dev/null
grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$res/keys/seller.asc" || die "cannot export the seller key"
grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$res/keys/other.asc" || die "cannot export the other key"
run "rpmsign" rpmsign --define "_gpg_name $fpr" --define "__gpg /usr/bin/gpg" \
	--define "_gpg_digest_algo sha256" --addsign "$res/pib-signed-1.0-1.noarch.rpm" \
	"$res/pib-tampered-1.0-1.noarch.rpm" "$res/pib-hdrtampered-1.0-1.noarch.rpm"

# --------------------------------------------------------------------------- tampering
run "tampering" "$PY" - "$res/pib-tampered-1.0-1.noarch.rpm" "$res/pib-hdrtampered-1.0-1.noarch.rpm" <<'EOF'
import struct, sys
payload_file, header_file = sys.argv[1:3]

def header_at(data, off):
    """(index count, data length, index start, data start, end) of the header at off."""
    if data[off:off + 4] != b"\x8e\xad\xe8\x01":
        sys.exit(f"no header magic at {off}")
    il, dl = struct.unpack(">II", data[off + 8:off + 16])
    return il, dl, off + 16, off + 16 + 16 * il, off + 16 + 16 * il + dl

def main_header(data):
    sig = header_at(data, 96)
    main_off = sig[4] + (-sig[4] % 8)      # the signature header is padded to 8 bytes
    return header_at(data, main_off)

# payload: a byte 12 from the end (inside the compressed data, before the gzip trailer)
p = bytearray(open(payload_file, "rb").read())
payload = main_header(p)[4]
pos = len(p) - 12
assert pos > payload
p[pos] ^= 0x01
open(payload_file, "wb").write(p)

# main header: a letter of the Summary (tag 1004, a string or i18n string)
data = bytearray(open(header_file, "rb").read())
il, dl, idx, store, payload = main_header(data)
h = bytearray(data)
for i in range(il):
    tag, typ, offset, count = struct.unpack(">IIiI", data[idx + 16 * i:idx + 16 * i + 16])
    if tag == 1004:
        s = store + offset
        word = data.index(b"package", s)
        assert word < store + dl
        h[word] ^= 0x20                     # 'p' -> 'P'
        break
else:
    sys.exit("no Summary tag in the main header")
open(header_file, "wb").write(h)
EOF

# Checks. Without the key, `rpm -K` fails on every signed file (NOKEY) whatever
# %_pkgverify_level says, so the tampering is proven with the digests alone (--nosignature:
# pib-signed passes, both tampered files fail) and with the seller key in a private rpmdb
# (pib-signed passes everything, both tampered files fail).
kdb=$top/keydb
mkdir -p "$kdb"
run "rpmkeys --import seller.asc" rpmkeys --dbpath "$kdb" --import "$res/keys/seller.asc"
run "rpm -K --nosignature pib-signed" rpm -K --nosignature "$res/pib-signed-1.0-1.noarch.rpm"
run "rpm -K pib-signed with the seller key" rpm -K --dbpath "$kdb" --define '_pkgverify_level all' \
	"$res/pib-signed-1.0-1.noarch.rpm"
for t in pib-tampered pib-hdrtampered; do
	for how in "--nosignature" "--dbpath $kdb"; do
		# shellcheck disable=SC2086
		if rpm -K $how --define '_pkgverify_level digest' "$res/$t-1.0-1.noarch.rpm" >"$top/k.log" 2>&1; then
			die "$t: rpm -K $how passes: $(cat "$top/k.log")"
		fi
	done
done

# --------------------------------------------------------------------------- publish
touch "$res/.complete"
if ! mv -T "$res" "$cached" 2>/dev/null; then
	[ -e "$cached/.complete" ] || die "cannot store $cached"
fi
publish
exit 0
