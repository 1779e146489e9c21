#!/bin/bash
# SPDX-License-Identifier: MIT
# Authenticode of MSIs (issue 15, installers/authenticode.c, driven by tests/tools/authenticode-tool):
# MSIs built here with wixl, certificates made here with openssl (a CA, a code signing certificate
# it issued, an unrelated self-signed one, a TLS server certificate), signed with osslsigncode sign
# (no timestamp). Accepted with the CA or (chain in the signature) the signer's certificate as key,
# the signer's subject and certificate SHA-256 as openssl computes them; signed with the
# certificate alone and that certificate as key (no root anywhere: the digests are compared); refused with the other
# certificate, with no keys, for a server certificate, after one byte of the embedded cabinet was
# changed (both ways of checking the contents), with a forged signature, and unsigned unless allow_unsigned. A certificate naming a CRL distribution point on
# 127.0.0.1 is never fetched. PIB_OSSLSIGNCODE picks the osslsigncode binary (default: the system's);
# run it with Debian 12's 2.5 too.
. "$(dirname "$0")/lib.sh"
setup --no-agent

AT=${PIB_AUTHENTICODE_TOOL:-}
[ -n "$AT" ] && [ -x "$AT" ] || bail_out "PIB_AUTHENTICODE_TOOL is not set to the authenticode-tool binary"
OSC=${PIB_OSSLSIGNCODE:-$(command -v osslsigncode)}
for t in wixl msiextract openssl python3 "$OSC"; do
	command -v "$t" >/dev/null || bail_out "$t is missing (tests/deps.sh installs wixl, msitools, openssl, osslsigncode)"
done
diag "osslsigncode: $OSC ($("$OSC" --version 2>&1 | head -n 1))"
export TMPDIR=$T/tmp # the driver's temporary directories: none may be left
mkdir -p "$TMPDIR"

LISTEN_PID=
trap '[ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null; _cleanup' EXIT

W=$T/wix
mkdir -p "$W/src" "$W/pki"
cd "$W" || bail_out "cd $W"
# random bytes do not compress: the cabinet stores them as they are, so one of them can be changed
head -c 20000 /dev/urandom >src/payload.bin
printf 'acme agent\n' >src/readme.txt
cat >acme.wxs <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Acme Signed" Language="1033" Version="1.0.0" Manufacturer="Acme Corp" UpgradeCode="12345678-1234-1234-1234-1234567890ab">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="acme.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Acme">
          <Component Id="Main" Guid="11111111-2222-3333-4444-555555555501">
            <File Id="Payload" Name="payload.bin" Source="src/payload.bin" KeyPath="yes"/>
            <File Id="Readme" Name="readme.txt" Source="src/readme.txt"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="All" Level="1"><ComponentRef Id="Main"/></Feature>
  </Product>
</Wix>
EOF
wixl -a x64 -o acme.msi acme.wxs >wixl.log 2>&1 || bail_out "wixl failed: $(cat wixl.log)"

# ---------------------------------------------------------------------------- certificates
P=$W/pki
cat >"$P/ext.cnf" <<'EOF'
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[cs]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[tls]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
EOF
# cert NAME SUBJECT EXT [ISSUER]: NAME.key and NAME.pem, self-signed unless ISSUER is given
cert() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "$2" >/dev/null 2>&1 || return 1
	if [ -n "${4:-}" ]; then
		openssl x509 -req -in "$P/$1.csr" -CA "$P/$4.pem" -CAkey "$P/$4.key" -CAcreateserial -days 30 \
			-extfile "$P/ext.cnf" -extensions "$3" -out "$P/$1.pem" >/dev/null 2>&1
	else
		openssl x509 -req -in "$P/$1.csr" -signkey "$P/$1.key" -days 30 \
			-extfile "$P/ext.cnf" -extensions "$3" -out "$P/$1.pem" >/dev/null 2>&1
	fi
}
cert ca "/CN=Acme Test CA/O=Acme Corp" ca || bail_out "openssl: the CA"
cert signer "/CN=Acme Code Signing/O=Acme Corp" cs ca || bail_out "openssl: the signer"
cert other "/CN=Someone Else" cs || bail_out "openssl: the other certificate"
cert tls "/CN=www.acme.example" tls ca || bail_out "openssl: the TLS certificate"
cat "$P/signer.pem" "$P/ca.pem" >"$P/chain.pem"
printf 'not a certificate\n' >"$P/garbage.pem"
SIGNER_SHA=$(openssl x509 -in "$P/signer.pem" -outform DER | sha256sum | cut -d' ' -f1)
OTHER_SHA=$(openssl x509 -in "$P/other.pem" -outform DER | sha256sum | cut -d' ' -f1)

# sign OUT CERTS KEY: acme.msi signed (sha256, no timestamp)
sign() {
	"$OSC" sign -certs "$2" -key "$3" -h sha256 -n "Acme Signed" -in acme.msi -out "$1" >sign.log 2>&1 ||
		bail_out "osslsigncode sign $1 failed: $(cat sign.log)"
}
sign leaf.msi "$P/signer.pem" "$P/signer.key"   # the signer's certificate only
sign chain.msi "$P/chain.pem" "$P/signer.key"   # the signer's and its CA's
sign other.msi "$P/other.pem" "$P/other.key"
sign tls.msi "$P/tls.pem" "$P/tls.key"

# verify NAME [--allow-unsigned] MSI KEY...: the driver's JSON line in $W/NAME.json, its exit code in RC
verify() {
	local name=$1
	shift
	"$AT" "$@" >"$W/$name.json" 2>"$W/$name.err"
	RC=$?
}
# field NAME EXPR: a field of NAME.json (python expression over j)
field() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if v is not None else "")' \
		"$W/$1.json" "$2" 2>/dev/null
}

# ---------------------------------------------------------------------------- accepted
verify ca-key leaf.msi "$P/ca.pem"
is "signed with the signer's certificate alone, the CA as key: accepted" "$RC" 0
is "... verified" "$(field ca-key 'j["verified"]')" True
is "... the key it ended at" "$(field ca-key 'j.get("key")')" ca.pem
is "... the signer's subject" "$(field ca-key 'j.get("subject")')" "O=Acme Corp,CN=Acme Code Signing"
is "... its issuer" "$(field ca-key 'j.get("issuer")')" "O=Acme Corp,CN=Acme Test CA"
is "... its certificate's SHA-256 is openssl's (x509 -outform DER | sha256sum)" "$(field ca-key 'j["cert_sha256"]')" "$SIGNER_SHA"

verify signer-key chain.msi "$P/signer.pem"
is "signed with the chain, the signer's own certificate as key: accepted" "$RC" 0
is "... the key it ended at" "$(field signer-key 'j.get("key")')" signer.pem
verify chain-ca chain.msi "$P/other.pem" "$P/ca.pem"
is "signed with the chain, the CA as the second key: accepted, at that key" \
	"$RC $(field chain-ca 'j.get("key")')" "0 ca.pem"
# signed with MsiDigitalSignatureEx too (the digest then covers the MSI's metadata)
"$OSC" sign -add-msi-dse -certs "$P/signer.pem" -key "$P/signer.key" -h sha256 -in acme.msi -out dse.msi >sign.log 2>&1 ||
	bail_out "osslsigncode sign -add-msi-dse failed: $(cat sign.log)"
verify dse-ca dse.msi "$P/ca.pem"
is "signed with MsiDigitalSignatureEx, the CA as key: accepted" "$RC $(field dse-ca 'j["verified"]')" "0 True"
verify dse-signer dse.msi "$P/signer.pem"
is "signed with MsiDigitalSignatureEx, the signer's certificate as key (digests compared): accepted" \
	"$RC $(field dse-signer 'j["verified"]')" "0 True"
verify self other.msi "$P/other.pem"
is "a self-signed signer with its own certificate as key: accepted" "$RC $(field self 'j["verified"]')" "0 True"
is "... its SHA-256" "$(field self 'j["cert_sha256"]')" "$OTHER_SHA"

# ---------------------------------------------------------------------------- refused: whom
verify wrong-key leaf.msi "$P/other.pem"
is "another certificate as key: refused" "$RC $(field wrong-key 'j["error"]["code"]')" "1 package.signature_invalid"
contains "... the message says its chain ends at none of the keys" "$(field wrong-key 'j["error"]["message"]')" \
	"whose chain ends at none of the target's keys"
is "... the signer is still reported" "$(field wrong-key 'j["cert_sha256"]') $(field wrong-key 'j["verified"]')" \
	"$SIGNER_SHA False"
verify wrong-key2 chain.msi "$P/other.pem"
is "the chain in the signature does not make it trusted: refused" "$(field wrong-key2 'j["error"]["code"]')" \
	package.signature_invalid
verify no-keys leaf.msi
is "no keys: refused" "$(field no-keys 'j["error"]["code"]')" package.signature_invalid
contains "... the message says the target lists none" "$(field no-keys 'j["error"]["message"]')" "lists no keys"
verify leaf-only leaf.msi "$P/signer.pem"
is "signed with the signer's certificate alone, that certificate as key (no root anywhere: the digests compared): accepted" \
	"$RC $(field leaf-only 'j["verified"]') $(field leaf-only 'j.get("key")')" "0 True signer.pem"
verify tls tls.msi "$P/ca.pem"
is "a TLS server certificate (no codeSigning usage): refused" "$(field tls 'j["error"]["code"]')" \
	package.signature_invalid
contains "... the message says so" "$(field tls 'j["error"]["message"]')" "not for code signing"
verify garbage leaf.msi "$P/garbage.pem"
is "a key that is no PEM certificate: bundle.bad_key" "$(field garbage 'j["error"]["code"]')" bundle.bad_key

# ---------------------------------------------------------------------------- refused: what
# one byte of the payload, which the cabinet stores as is, changed in the signed MSI, far past the
# compound file's header: the cabinet stream's contents differ, the file table does not
python3 - chain.msi tampered.msi src/payload.bin >tamper.log 2>&1 <<'EOF' || bail_out "tamper: $(cat tamper.log)"
import sys
msi = bytearray(open(sys.argv[1], 'rb').read())
payload = open(sys.argv[3], 'rb').read()
needle = payload[10000:10064]
at = msi.find(needle)
assert at >= 512 and msi.find(needle, at + 1) < 0, "the payload is not stored once, as is"
msi[at + 20] ^= 0x01
open(sys.argv[2], 'wb').write(msi)
print(at + 20)
EOF
diag "changed byte at offset $(cat tamper.log) of $(stat -c %s chain.msi)"
mkdir -p x-orig x-tampered
msiextract -C x-orig chain.msi >/dev/null 2>&1
msiextract -C x-tampered tampered.msi >/dev/null 2>&1
orig=$(find x-orig -name payload.bin -exec sha256sum {} + | cut -d' ' -f1)
tampered=$(find x-tampered -name payload.bin -exec sha256sum {} + | cut -d' ' -f1)
check "the change lands in the cabinet stream (msiextract: payload.bin differs, 1 bit)" \
	test -n "$orig" -a -n "$tampered" -a "$orig" != "$tampered" -a "$orig" = "$(sha256sum src/payload.bin | cut -d' ' -f1)"
verify tampered-ca tampered.msi "$P/ca.pem"
is "one byte changed after signing, the CA as key: refused" "$RC $(field tampered-ca 'j["error"]["code"]')" \
	"1 package.signature_invalid"
contains "... the message says it was changed after signing" "$(field tampered-ca 'j["error"]["message"]')" \
	"changed after signing"
is "... still signed by the signer, at the CA, not verified" \
	"$(field tampered-ca 'j["is_signed"]') $(field tampered-ca 'j["cert_sha256"]') $(field tampered-ca 'j["verified"]')" \
	"True $SIGNER_SHA False"
verify tampered-signer tampered.msi "$P/signer.pem"
is "one byte changed after signing, the signer as key: refused" "$(field tampered-signer 'j["error"]["code"]')" \
	package.signature_invalid
# the same byte changed in the MSI signed with the signer's certificate alone: no root anywhere, so
# the digest osslsigncode computes for a copy signed with a throwaway key is compared with the signed one
python3 - leaf.msi tampered-leaf.msi src/payload.bin >tamper.log 2>&1 <<'EOF2' || bail_out "tamper: $(cat tamper.log)"
import sys
msi = bytearray(open(sys.argv[1], 'rb').read())
payload = open(sys.argv[3], 'rb').read()
at = msi.find(payload[10000:10064])
assert at >= 512 and msi.find(payload[10000:10064], at + 1) < 0
msi[at + 20] ^= 0x01
open(sys.argv[2], 'wb').write(msi)
EOF2
verify tampered-leaf tampered-leaf.msi "$P/signer.pem"
is "one byte changed, signed with the signer's certificate alone, that certificate as key: refused" \
	"$RC $(field tampered-leaf 'j["error"]["code"]')" "1 package.signature_invalid"
contains "... the message says the digest is not the one signed" "$(field tampered-leaf 'j["error"]["message"]')" \
	"digest is not the one signed"
# a forged signature: the signer's, with the signed digest replaced by the changed MSI's (so the
# digests agree but the signer's signature over them does not)
"$OSC" remove-signature -in tampered-leaf.msi -out tl-unsigned.msi >/dev/null 2>&1 || bail_out "remove-signature"
"$OSC" sign -certs "$P/other.pem" -key "$P/other.key" -h sha256 -in tl-unsigned.msi -out tl-other.msi >/dev/null 2>&1 ||
	bail_out "sign tl-other.msi"
"$OSC" extract-signature -in leaf.msi -out leaf.p7 >/dev/null 2>&1 || bail_out "extract-signature leaf.msi"
"$OSC" extract-signature -in tl-other.msi -out tl-other.p7 >/dev/null 2>&1 || bail_out "extract-signature tl-other.msi"
python3 - leaf.p7 tl-other.p7 forged.p7 >forge.log 2>&1 <<'EOF2' || bail_out "forge: $(cat forge.log)"
import sys
a, c = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
# the first OCTET STRING of 32 bytes is SpcIndirectDataContent's digest (the content precedes the signer info)
ia, ic = a.find(b'\x04\x20'), c.find(b'\x04\x20')
assert ia > 0 and ic > 0 and a[ia + 2:ia + 34] != c[ic + 2:ic + 34]
open(sys.argv[3], 'wb').write(a[:ia + 2] + c[ic + 2:ic + 34] + a[ia + 34:])
EOF2
# attach-signature checks what it attached, fails and writes the file all the same
"$OSC" attach-signature -sigin forged.p7 -in tl-unsigned.msi -out forged.msi >/dev/null 2>&1
[ -s forged.msi ] || bail_out "attach-signature wrote no forged.msi"
verify forged forged.msi "$P/signer.pem"
is "a forged signature (the signed digest swapped for the changed MSI's), the signer as key: refused" \
	"$RC $(field forged 'j["error"]["code"]')" "1 package.signature_invalid"
contains "... the message says the signature over the digest does not verify" "$(field forged 'j["error"]["message"]')" \
	"signature over the MSI's digest does not verify"
verify forged-ca forged.msi "$P/ca.pem"
is "the forged signature, the CA as key: refused" "$(field forged-ca 'j["error"]["code"]')" package.signature_invalid

# the signature stream's bytes themselves broken: its first byte (the PKCS#7's SEQUENCE tag) changed
python3 - leaf.msi leaf.p7 badsig.msi >badsig.log 2>&1 <<'EOF2' || bail_out "badsig: $(cat badsig.log)"
import sys
msi, p7 = bytearray(open(sys.argv[1], 'rb').read()), open(sys.argv[2], 'rb').read()
at = msi.find(p7[:64])
assert at >= 512
msi[at] ^= 0xff
open(sys.argv[3], 'wb').write(msi)
EOF2
verify badsig badsig.msi "$P/ca.pem"
is "a signature stream that is no PKCS#7: refused, signed but unread" \
	"$RC $(field badsig 'j["error"]["code"]') $(field badsig 'j["is_signed"]') $(field badsig 'j.get("subject")')" \
	"1 package.signature_invalid True "
verify badsig-allowed --allow-unsigned badsig.msi
is "... also with allow_unsigned" "$(field badsig-allowed 'j["error"]["code"]')" package.signature_invalid

# ---------------------------------------------------------------------------- unsigned
verify unsigned acme.msi "$P/ca.pem"
is "unsigned: refused" "$RC $(field unsigned 'j["error"]["code"]') $(field unsigned 'j["is_signed"]')" \
	"1 package.unsigned False"
contains "... the message names allow_unsigned" "$(field unsigned 'j["error"]["message"]')" allow_unsigned
verify unsigned-ok --allow-unsigned acme.msi "$P/ca.pem"
is "unsigned with allow_unsigned: accepted, reported unsigned" \
	"$RC $(field unsigned-ok 'j["is_signed"]') $(field unsigned-ok 'j.get("subject")')" "0 False "
verify signed-allowed --allow-unsigned leaf.msi "$P/other.pem"
is "allow_unsigned does not let a signature by another key through" "$(field signed-allowed 'j["error"]["code"]')" \
	package.signature_invalid

# ---------------------------------------------------------------------------- offline
# a certificate naming a CRL distribution point on 127.0.0.1: osslsigncode 2.9 would fetch it
# unless told not to; nothing may connect
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[cdp]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\ncrlDistributionPoints=URI:http://127.0.0.1:%s/acme.crl\n' \
	"$PORT" >>"$P/ext.cnf"
cert cdp "/CN=Acme CDP Signing" cdp ca || bail_out "openssl: the CDP certificate"
sign cdp.msi "$P/cdp.pem" "$P/cdp.key"
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connection\n"); c.close()
' "$PORT" "$W/connections" &
LISTEN_PID=$!
sleep 0.5
verify cdp cdp.msi "$P/ca.pem"
is "a certificate with a CRL distribution point: accepted" "$RC" 0
check_not "... and nothing connected to it" test -s "$W/connections"
kill "$LISTEN_PID" 2>/dev/null
wait "$LISTEN_PID" 2>/dev/null
LISTEN_PID=

left=$(find "$TMPDIR" -mindepth 1 | head -n 5)
is "no temporary directory left behind" "$left" ""
done_testing
