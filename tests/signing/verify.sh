#!/bin/bash
# SPDX-License-Identifier: MIT
# keygen, validate's envelope (signed, unsigned, unusable key) and pib-agent verify: a valid
# report gives exit 0 and a summary; each tampering, another key, an unsigned and a malformed
# report give exit 1 with distinct reasons; usage errors exit 3, unreadable keys exit 4.
. "$(dirname "$0")/lib.sh"
need "$DEB_HELLO" "$SYSPY" /usr/bin/openssl

# --- keygen
"$AGENT" keygen --out agent >keygen.out 2>&1
exit_is "keygen --out agent" 0 $? keygen.out
[ "$(stat -c %a agent.key)" = 600 ] && ok "agent.key has mode 0600" || not_ok "agent.key has mode 0600" "$(stat -c %a agent.key)"
head -1 agent.key | grep -qx -- "-----BEGIN PRIVATE KEY-----" && ok "agent.key is PKCS#8 PEM" || not_ok "agent.key is PKCS#8 PEM"
if openssl pkey -in agent.key -pubout | cmp -s - agent.pub; then
	ok "agent.pub is what openssl pkey -pubout writes"
else
	not_ok "agent.pub is what openssl pkey -pubout writes"
fi
keyid=$(openssl pkey -pubin -in agent.pub -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
contains "keygen prints the keyid (SHA-256 of the raw public key)" keygen.out "$keyid"
sum_before=$(sha256sum agent.key agent.pub)
"$AGENT" keygen --out agent >again.out 2>&1
rc=$?
exit_is "keygen refuses to overwrite" 4 $rc again.out
contains "it says why" again.out "refusing to overwrite"
[ "$(sha256sum agent.key agent.pub)" = "$sum_before" ] && ok "the key pair is untouched" || not_ok "the key pair is untouched"
"$AGENT" keygen >usage.out 2>&1
exit_is "keygen without --out is a usage error" 3 $? usage.out
"$AGENT" keygen --out other >/dev/null 2>&1

# --- reports from validate
bundle good.tar.gz
"$AGENT" validate good.tar.gz --key agent.key --report good.json --no-scan 2>good.err
exit_is "validate --key" 0 $? good.err
contains "validate says which key signed" good.err "signed with key $keyid"
"$AGENT" validate good.tar.gz --report unsigned.json --no-scan 2>unsigned.err
exit_is "validate without --key" 0 $? unsigned.err
contains "validate without a key says the report is unsigned" unsigned.err "UNSIGNED"
[ "$(query unsigned.json 'len(env["signatures"])')" = 0 ] && ok "the unsigned envelope has an empty signatures list" ||
	not_ok "the unsigned envelope has an empty signatures list"
"$AGENT" validate good.tar.gz --key /nonexistent/agent.key --report nokey.json --no-scan 2>nokey.err
exit_is "validate with an unreadable key" 4 $? nokey.err
contains "the message names the key file" nokey.err "/nonexistent/agent.key"
[ -s nokey.json ] && [ "$(query nokey.json 'len(env["signatures"])')" = 0 ] &&
	ok "an unreadable key still ends in a report, unsigned" || not_ok "an unreadable key still ends in a report, unsigned"
[ "$(query nokey.json '[s["error"]["code"] for s in st["predicate"]["steps"] if s["name"]=="report"][0]')" = key.unreadable ] &&
	ok "its report step failed with key.unreadable" || not_ok "its report step failed with key.unreadable"
"$AGENT" validate good.tar.gz --key agent.pub --report pubkey.json --no-scan 2>pubkey.err
exit_is "validate with a public key as --key" 4 $? pubkey.err
contains "it says a private key is needed" pubkey.err "signing needs the private key"
bundle bad.tar.gz 0000000000000000000000000000000000000000000000000000000000000000
"$AGENT" validate bad.tar.gz --key agent.key --report failed.json --no-scan 2>failed.err
exit_is "validate a bundle with a wrong digest" 2 $? failed.err
schema_ok "every report validate wrote validates against the schema" good.json unsigned.json nokey.json pubkey.json failed.json

# --- verify: valid
"$AGENT" verify good.json --pubkey agent.pub >v.out 2>v.err
exit_is "verify a genuine report" 0 $? v.err
contains "the summary says valid" v.out "valid (Ed25519"
contains "the summary has the status" v.out "incomplete"
contains "the summary has the product" v.out "hello-suite 2.10"
contains "the summary has the target" v.out "debian (deb) on"
contains "the summary has the packages count" v.out "packages    1"
contains "the summary has the detections count" v.out "detections  0"
contains "the summary has the keyid" v.out "$keyid"
[ "$(wc -l <v.out)" -le 24 ] && ok "the summary fits one screen" || not_ok "the summary fits one screen"
"$AGENT" verify good.json --pubkey agent.pub --json >j.out 2>j.err
exit_is "verify --json" 0 $? j.err
"$SYSPY" "$DSSE" payload good.json >payload.bin
printf '\n' >>payload.bin
cmp -s j.out payload.bin && ok "--json prints exactly the verified payload" || not_ok "--json prints exactly the verified payload"
"$AGENT" verify failed.json --pubkey agent.pub >f.out 2>f.err
exit_is "a failed report verifies too" 0 $? f.err
contains "its summary says failed" f.out "failed"
contains "its summary has the error" f.out "package.digest_mismatch"

# --- verify: every rejection, each with its reason
declare -A want=(
	[payload]="report.payload_changed"
	[payloadType]="report.payload_type_changed"
	[signature]="report.signature_changed"
)
: >reasons.txt
for what in payload payloadType signature; do
	"$SYSPY" "$DSSE" tamper good.json $what t-$what.json
	"$AGENT" verify t-$what.json --pubkey agent.pub --json >t.out 2>t.err
	exit_is "verify rejects a flipped byte in the $what" 1 $? t.err
	contains "the reason is ${want[$what]}" t.err "${want[$what]}"
	[ ! -s t.out ] && ok "--json prints nothing for the changed $what" || not_ok "--json prints nothing for the changed $what"
	cat t.err >>reasons.txt
done
"$AGENT" verify good.json --pubkey other.pub >t.out 2>t.err
exit_is "verify rejects the report with another key" 1 $? t.err
contains "the reason is: signed by another key" t.err "signed by another key"
cat t.err >>reasons.txt
"$AGENT" verify unsigned.json --pubkey agent.pub >t.out 2>t.err
exit_is "verify rejects an unsigned report" 1 $? t.err
contains "the reason is report.unsigned" t.err "report.unsigned"
cat t.err >>reasons.txt
head -c 200 good.json >truncated.json
"$AGENT" verify truncated.json --pubkey agent.pub >t.out 2>t.err
exit_is "verify rejects a truncated report" 1 $? t.err
contains "the reason is report.malformed" t.err "report.malformed"
cat t.err >>reasons.txt
[ "$(sed 's/^[^:]*: [^:]*: //' reasons.txt | sort -u | wc -l)" = 6 ] && ok "the six reasons are distinct" ||
	not_ok "the six reasons are distinct" "$(cat reasons.txt)"
"$SYSPY" -c 'import json; e=json.load(open("good.json")); e["payloadType"]="x\x1b[2J\x1b]0;pwned\x07"; json.dump(e, open("esc.json","w"))'
"$AGENT" verify esc.json --pubkey agent.pub >t.out 2>t.err
exit_is "verify rejects a payloadType holding control sequences" 1 $? t.err
if LC_ALL=C grep -q $'[\033\007]' t.err; then not_ok "none of them reaches the terminal" "$(cat -v t.err)"; else ok "none of them reaches the terminal"; fi
"$SYSPY" "$DSSE" tamper good.json keyid t-keyid.json
"$AGENT" verify t-keyid.json --pubkey agent.pub >t.out 2>t.err
exit_is "a changed keyid hint alone does not matter (DSSE: keyid is unauthenticated)" 0 $? t.err

# --- verify: usage and environment
"$AGENT" verify good.json >t.out 2>t.err
exit_is "verify without --pubkey" 3 $? t.err
"$AGENT" verify good.json --pubkey /nonexistent.pub >t.out 2>t.err
exit_is "verify with an unreadable public key" 4 $? t.err
contains "the message names the key file" t.err "/nonexistent.pub"
"$AGENT" verify good.json --pubkey agent.key >t.out 2>t.err
exit_is "verify with the private key instead of the public one" 4 $? t.err
"$AGENT" verify missing.json --pubkey agent.pub >t.out 2>t.err
exit_is "verify a report that does not exist" 3 $? t.err
"$AGENT" verify >t.out 2>t.err
exit_is "verify without a report" 3 $? t.err
done_testing
