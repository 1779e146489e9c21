#!/bin/bash
# SPDX-License-Identifier: MIT
# Independent verification of real reports from validate (a good bundle: incomplete; a bad
# digest: failed; test malware: findings) and from scan: openssl pkeyutl -rawin over PAE bytes built by this test, and Debian's
# python3-securesystemslib 0.26 (SSlibKey.verify_signature) both accept them, and both reject
# one flipped byte in the payload, the payloadType or the signature.
. "$(dirname "$0")/lib.sh"
need "$DEB_HELLO" "$SYSPY" /usr/bin/openssl

"$AGENT" keygen --out agent >keygen.out 2>&1
exit_is "keygen" 0 $? keygen.out
bundle good.tar.gz
"$AGENT" validate good.tar.gz --key agent.key --report good.json --no-scan 2>good.err
exit_is "validate a good bundle read-only: incomplete" 0 $? good.err
bundle bad.tar.gz 0000000000000000000000000000000000000000000000000000000000000000
"$AGENT" validate bad.tar.gz --key agent.key --report failed.json --no-scan 2>failed.err
exit_is "validate a bundle with a wrong digest: failed" 2 $? failed.err
[ "$(query failed.json 'st["predicate"]["error"]["code"]')" = package.digest_mismatch ] &&
	ok "the failed report names package.digest_mismatch" || not_ok "the failed report names package.digest_mismatch"
reports="good failed"
if evil_bundle evil.tar.gz db; then
	"$AGENT" validate evil.tar.gz --db db --key agent.key --report findings.json 2>findings.err
	exit_is "validate a bundle carrying test malware: findings" 1 $? findings.err
	reports="$reports findings"
	"$AGENT" scan /usr/share/clamav-testfiles/clam.exe --db db --key agent.key --report scan.json 2>scan.err
	exit_is "scan --key of ClamAV's test file: findings" 1 $? scan.err
	reports="$reports scan"
else
	not_ok "a bundle with test malware can be made (dpkg-deb, sigtool, clamav-testfiles)"
fi
schema_ok "the reports validate against manifests/report.schema.json" $(printf '%s.json ' $reports)

openssl_verify() { # REPORT: 0 when openssl accepts the signature over PAE built by dsse.py
	"$SYSPY" "$DSSE" pae "$1" pae.bin sig.bin &&
		openssl pkeyutl -verify -pubin -inkey agent.pub -rawin -in pae.bin -sigfile sig.bin >ossl.out 2>&1
}
for r in $reports; do
	if openssl_verify $r.json && grep -q "Signature Verified Successfully" ossl.out; then
		ok "openssl accepts the $r report"
	else
		not_ok "openssl accepts the $r report" "$(cat ossl.out)"
	fi
	check "securesystemslib 0.26 accepts the $r report" "$SYSPY" "$DSSE" sslib $r.json agent.pub
	for what in payload payloadType signature; do
		"$SYSPY" "$DSSE" tamper $r.json $what $r-$what.json
		if ! openssl_verify $r-$what.json && grep -q "Signature Verification Failure" ossl.out; then
			ok "openssl rejects the $r report with one byte of its $what flipped"
		else
			not_ok "openssl rejects the $r report with one byte of its $what flipped" "$(cat ossl.out)"
		fi
		if ! out=$("$SYSPY" "$DSSE" sslib $r-$what.json agent.pub 2>&1) && [[ $out == *"Failed to verify signature"* ]]; then
			ok "securesystemslib rejects the $r report with its $what changed"
		else
			not_ok "securesystemslib rejects the $r report with its $what changed" "$out"
		fi
	done
done

# The README's recipe, with shell tools only: PAE from the decoded payload, then openssl.
"$SYSPY" -c 'import json,sys; e=json.load(open("good.json")); open("p.b64","w").write(e["payload"]); open("s.b64","w").write(e["signatures"][0]["sig"]); print(e["payloadType"])' >type.txt
base64 -d p.b64 >payload.json
base64 -d s.b64 >sig2.bin
printf 'DSSEv1 %d %s %d ' "$(printf %s "$(cat type.txt)" | wc -c)" "$(cat type.txt)" "$(stat -c %s payload.json)" | cat - payload.json >pae2.bin
if openssl pkeyutl -verify -pubin -inkey agent.pub -rawin -in pae2.bin -sigfile sig2.bin >ossl2.out 2>&1; then
	ok "the README's shell recipe verifies a report with openssl alone"
else
	not_ok "the README's shell recipe verifies a report with openssl alone" "$(cat ossl2.out)"
fi
# The Statement binds the bundle's digest
[ "$(query good.json 'st["subject"][0]["digest"]["sha256"]')" = "$(sha256sum good.tar.gz | cut -d' ' -f1)" ] &&
	ok "the Statement's subject is the bundle's SHA-256" || not_ok "the Statement's subject is the bundle's SHA-256"
done_testing
