#!/bin/bash
# SPDX-License-Identifier: MIT
# Deb signatures: for a deb target with `keys`, every package's origin signature is checked
# with debsig-verify before anything is installed. Real gpg, debsigs and debsig-verify; keys
# made here in a throwaway GNUPGHOME; hello from the fixtures, signed here; a copy of the
# real Debian 12 gold root.
. "$(dirname "$0")/../integration/lib.sh"
setup
for tool in gpg gpgconf debsigs debsig-verify dpkg-deb; do
	command -v "$tool" >/dev/null || bail_out "$tool is not installed (tests/deps.sh installs it)"
done

export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
# bookworm's gpg rejects SHA-1 signatures, which debsigs' gpg call could otherwise make
echo 'digest-algo SHA512' >"$GNUPGHOME/gpg.conf"
trap 'gpgconf --kill all >/dev/null 2>&1; _cleanup' EXIT

MEMBER=debs/hello_2.10-3_amd64.deb

# newkey UID USAGE: a new key without passphrase; prints its primary fingerprint.
newkey() {
	gpg --batch --passphrase '' --quick-gen-key "$1" ed25519 "$2" >/dev/null 2>&1 ||
		bail_out "gpg --quick-gen-key $1 failed"
	gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'
}

# sign OUT KEY: hello, origin-signed by KEY (debsigs adds the _gpgorigin member).
sign() {
	cp "$DEB_HELLO" "$1"
	debsigs --sign=origin --default-key="$2" "$1" >"$T/debsigs.out" 2>&1 ||
		bail_out "debsigs --sign=origin --default-key=$2 failed: $(cat "$T/debsigs.out")"
}

# bundle OUT DEB ALLOW_UNSIGNED KEYFILE...: one deb target holding DEB as $MEMBER, with the
# KEYFILEs as members keys/<basename> listed in `keys`. The manifest has DEB's own SHA-256.
bundle() {
	local out=$1 deb=$2 allow=$3 keys="" files=() k
	shift 3
	for k in "$@"; do
		keys+="${keys:+, }\"keys/$(basename "$k")\""
		files+=(--file "keys/$(basename "$k")=$k")
	done
	cat >"$T/manifest.json" <<EOF
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "hello-signed", "version": "2.10", "seller": "Seller"},
  "targets": [{
    "name": "debian",
    "os": [{"id": "debian", "versions": ["12"]}],
    "arch": ["x86_64"],
    "installer": "deb",
    "packages": [{"file": "$MEMBER", "_src": "$deb"}],
    "keys": [$keys],
    "allow_unsigned": $allow
  }]
}
EOF
	mkbundle "$out" --manifest "$T/manifest.json" "${files[@]}"
}

SELLER=$(newkey 'Seller <seller@example.com>' sign)
OTHER=$(newkey 'Other <other@example.com>' sign)
SUBP=$(newkey 'Subkey Seller <sub@example.com>' cert)
gpg --batch --passphrase '' --quick-add-key "$SUBP" ed25519 sign >/dev/null 2>&1 ||
	bail_out "gpg --quick-add-key failed"
SUBK=$(gpg --batch --with-colons --list-keys "$SUBP" 2>/dev/null | awk -F: '$1 == "fpr" { n++ } $1 == "fpr" && n == 2 { print $10 }')
[ ${#SELLER} = 40 ] && [ ${#OTHER} = 40 ] && [ ${#SUBK} = 40 ] || bail_out "key generation failed"
gpg --batch --armor --export "$SELLER" >"$T/seller.asc"
gpg --batch --export "$SELLER" >"$T/seller.gpg"
gpg --batch --armor --export "$OTHER" >"$T/other.asc"
gpg --batch --armor --export "$SUBP" >"$T/sub.asc"
echo "this is not an OpenPGP key" >"$T/notakey.asc"
gpg --batch --pinentry-mode loopback --passphrase '' --armor --export-secret-keys "$OTHER" \
	>"$T/secret.asc" 2>/dev/null || bail_out "gpg --export-secret-keys failed"

sign "$T/signed.deb" "$SELLER"
sign "$T/other.deb" "$OTHER"
sign "$T/subkey.deb" "$SUBK!"
is "debsigs added an origin signature" "$(ar t "$T/signed.deb" | tail -n 1)" _gpgorigin

# Tampered: one byte of data.tar.xz changed after signing (ar headers untouched).
"$PYTHON" - "$T/signed.deb" "$T/tampered.deb" <<'EOF' || bail_out "making tampered.deb failed"
import sys
b = bytearray(open(sys.argv[1], "rb").read())
assert b[:8] == b"!<arch>\n"
off = 8
while off < len(b):
    name = b[off:off + 16].decode().strip()
    size = int(b[off + 48:off + 58].decode().strip())
    if name.startswith("data.tar"):
        b[off + 60 + size // 2] ^= 0x01
        break
    off += 60 + size + (size & 1)
else:
    sys.exit("no data.tar member")
open(sys.argv[2], "wb").write(b)
EOF
check "the tampered package is still a readable ar archive" ar t "$T/tampered.deb"

R=$T/root
copy_root "$R"
snap "$R" >"$T/before.snap"

# refused RC_WANT CODE NEEDLE...: the run failed with CODE, naming the member and NEEDLEs.
refused() {
	local code=$1 msg
	shift
	is "exit code 2" "$RC" 2
	is "error code $code" "$(rep error.code)" "$code"
	is "the verify step failed" "$(rep 'steps[name=verify].status')" failed
	check_not "no install step ran" rep 'steps[name=install].status'
	msg=$(rep error.message)
	for n in "$@"; do
		contains "the message says '$n'" "$msg" "$n"
	done
}

# --- unsigned package, target with keys
bundle "$T/unsigned.tar.gz" "$DEB_HELLO" false "$T/seller.asc"
validate "$T/unsigned.tar.gz" --root "$R" --no-scan
refused package.signature_invalid "$MEMBER" "not signed"
contains "the report carries debsig-verify's output" "$(rep error.output)" "Origin Signature check failed"

# --- signed by a key that is not in keys
bundle "$T/other.tar.gz" "$T/other.deb" false "$T/seller.asc"
validate "$T/other.tar.gz" --root "$R" --no-scan
refused package.signature_invalid "$MEMBER" "signed by key $OTHER" "not one of the keys"

# --- allow_unsigned does not let a foreign signature through
bundle "$T/other-allow.tar.gz" "$T/other.deb" true "$T/seller.asc"
validate "$T/other-allow.tar.gz" --root "$R" --no-scan
refused package.signature_invalid "$MEMBER" "signed by key $OTHER"

# --- a _gpgorigin member that is there but is no valid signature is refused even with
# allow_unsigned (issue 9, attack 10): random bytes, an empty member, a signature by the seller
# whose package was changed after signing. Only a package with no _gpgorigin at all is unsigned.
# garbage NAME: hello with a _gpgorigin member holding $T/sig-NAME/_gpgorigin, appended by ar.
garbage() {
	cp "$DEB_HELLO" "$T/$1.deb"
	(cd "$T/sig-$1" && ar q "$T/$1.deb" _gpgorigin) || bail_out "ar q $1 failed"
}
mkdir -p "$T/sig-random" "$T/sig-empty"
head -c 566 /dev/urandom >"$T/sig-random/_gpgorigin"
: >"$T/sig-empty/_gpgorigin"
garbage random
garbage empty
is "random: the garbage signature is an ar member" "$(ar t "$T/random.deb" | tail -n 1)" _gpgorigin
for g in random empty; do
	bundle "$T/$g-allow.tar.gz" "$T/$g.deb" true "$T/seller.asc"
	validate "$T/$g-allow.tar.gz" --root "$R" --no-scan
	refused package.signature_invalid "$MEMBER" "_gpgorigin member is not a valid signature"
	check_not "$g: not listed as accepted unsigned" rep 'steps[name=verify].unsigned_accepted'
done
bundle "$T/tampered-allow.tar.gz" "$T/tampered.deb" true "$T/seller.asc"
validate "$T/tampered-allow.tar.gz" --root "$R" --no-scan
refused package.signature_invalid "$MEMBER" "does not verify"

# --- changed after signing; the manifest has the tampered file's digest, so only the
# signature can catch it
bundle "$T/tampered.tar.gz" "$T/tampered.deb" false "$T/seller.asc"
is "the manifest lists the tampered file's SHA-256" \
	"$(tar -xzOf "$T/tampered.tar.gz" manifest.json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["targets"][0]["packages"][0]["sha256"])')" \
	"$(sha256_of "$T/tampered.deb")"
validate "$T/tampered.tar.gz" --root "$R" --no-scan
refused package.signature_invalid "$MEMBER" "does not verify"

# --- signed with a signing subkey: debsig-verify matches primary keys only; said so
bundle "$T/subkey.tar.gz" "$T/subkey.deb" false "$T/sub.asc"
validate "$T/subkey.tar.gz" --root "$R" --no-scan
refused package.signature_invalid "$MEMBER" "subkey $SUBK" "$SUBP"

# --- a key member that is not a key
bundle "$T/badkey.tar.gz" "$T/signed.deb" false "$T/notakey.asc"
validate "$T/badkey.tar.gz" --root "$R" --no-scan
refused bundle.bad_key keys/notakey.asc "not an OpenPGP public key"

# --- a secret key in the bundle
bundle "$T/secret.tar.gz" "$T/signed.deb" false "$T/secret.asc"
validate "$T/secret.tar.gz" --root "$R" --no-scan
refused bundle.bad_key keys/secret.asc "secret key"

# --- binary key among several keys, dry run: verified, and the signer is named
bundle "$T/binkey.tar.gz" "$T/signed.deb" false "$T/other.asc" "$T/seller.gpg"
validate "$T/binkey.tar.gz" --root "$R" --no-scan --dry-run
is "binary key, dry run: exit code 0" "$RC" 0
is "binary key: verify ok" "$(rep 'steps[name=verify].status')" ok
is "binary key: the signer is the seller's primary key" \
	"$(rep "steps[name=verify].signatures.signed_by")" "$SELLER"

snap "$R" >"$T/after.snap"
same_tree "the root is unchanged by the refused runs and the dry run" "$T/before.snap" "$T/after.snap"
is "hello is not installed" "$(dpkg_status "$R" hello)" ""

# --- signed by the seller, seller's armored key: installs
bundle "$T/signed.tar.gz" "$T/signed.deb" false "$T/seller.asc"
validate "$T/signed.tar.gz" --root "$R" --no-scan
is "signed: exit code 0" "$RC" 0
status_good
is "signed: verify ok" "$(rep 'steps[name=verify].status')" ok
is "signed: the report names the signer" \
	"$(rep "steps[name=verify].signatures.signed_by")" "$SELLER"
check_not "signed: nothing is listed as accepted unsigned" rep 'steps[name=verify].unsigned_accepted'
is "signed: dpkg says hello is installed" "$(dpkg_status "$R" hello)" "install ok installed"
is "signed: hello runs in the root" "$(chroot "$R" /usr/bin/hello 2>&1)" "Hello, world!"

# --- unsigned, allow_unsigned: installs, and the report says it was accepted unsigned
R2=$T/root2
copy_root "$R2"
bundle "$T/allow.tar.gz" "$DEB_HELLO" true "$T/seller.asc"
validate "$T/allow.tar.gz" --root "$R2" --no-scan
is "allow_unsigned: exit code 0" "$RC" 0
status_good
is "allow_unsigned: verify ok" "$(rep 'steps[name=verify].status')" ok
is "allow_unsigned: the report lists the package as accepted unsigned" \
	"$(rep 'steps[name=verify].unsigned_accepted')" "$MEMBER"
contains "allow_unsigned: the agent says so" "$(agent_stderr)" "$MEMBER: not signed, accepted (allow_unsigned)"
is "allow_unsigned: dpkg says hello is installed" "$(dpkg_status "$R2" hello)" "install ok installed"

done_testing
