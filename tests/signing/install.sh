#!/bin/bash
# SPDX-License-Identifier: MIT
# A signed report of a real install: validate --root a copy of the gold Debian 12 root, with
# scans, signed; the Statement's subjects are the bundle and the installed package with their
# SHA-256, the report validates against the schema and verifies with openssl and pib-agent.
# Needs root and a gold root (PIB_GOLD_ROOT, or /var/tmp/pib-gold-root made by
# tests/integration/make-gold.sh); skipped without them.
. "$(dirname "$0")/lib.sh"
need "$DEB_HELLO" "$SYSPY" /usr/bin/openssl
GOLD=${PIB_GOLD_ROOT:-/var/tmp/pib-gold-root}
if [ "$(id -u)" != 0 ] || [ ! -e "$GOLD/.pib-gold-ok" ]; then
	echo "1..0 # SKIP needs root and a gold root (tests/integration/make-gold.sh; PIB_GOLD_ROOT)"
	exit 0
fi
cp -a "$GOLD" "$T/root" || { echo "Bail out! cannot copy $GOLD"; exit 1; }

"$AGENT" keygen --out agent >/dev/null 2>&1
bundle good.tar.gz
sh "$SRC/tests/scan/make-db.sh" db >/dev/null 2>&1 || not_ok "make-db.sh makes a test database"
"$AGENT" validate good.tar.gz --root "$T/root" --db db --key agent.key --report installed.json 2>installed.err
exit_is "validate --root installs hello, scans it and signs the report" 0 $? installed.err
[ "$(query installed.json 'st["predicate"]["status"]')" = succeeded ] && ok "status succeeded" ||
	not_ok "status succeeded" "$(query installed.json 'st["predicate"]["status"], st["predicate"]["error"]')"
schema_ok "the report validates against the schema" installed.json
deb_sha=$(sha256sum "$DEB_HELLO" | cut -d' ' -f1)
bundle_sha=$(sha256sum good.tar.gz | cut -d' ' -f1)
subjects=$(query installed.json '" ".join(sorted(s["digest"]["sha256"] for s in st["subject"]))')
[ "$subjects" = "$(printf '%s\n' "$deb_sha" "$bundle_sha" | sort | tr '\n' ' ' | sed 's/ $//')" ] &&
	ok "the subjects are the bundle and the installed package, with their SHA-256" ||
	not_ok "the subjects are the bundle and the installed package, with their SHA-256" "$subjects"
[ "$(query installed.json '[p["sha256"] for p in st["predicate"]["packages"] if p["name"]=="hello"][0]')" = "$deb_sha" ] &&
	ok "the package's digest in the predicate is the one in the subject" || not_ok "the package's digest in the predicate is the one in the subject"
query installed.json '"\n".join(f for p in st["predicate"]["packages"] for f in (p["files"] or []))' | grep -x /usr/bin/hello >/dev/null &&
	ok "the installed files are listed" || not_ok "the installed files are listed"
"$SYSPY" "$DSSE" pae installed.json pae.bin sig.bin
if openssl pkeyutl -verify -pubin -inkey agent.pub -rawin -in pae.bin -sigfile sig.bin 2>&1 | grep -q "Signature Verified Successfully"; then
	ok "openssl verifies the report"
else
	not_ok "openssl verifies the report"
fi
check "securesystemslib verifies the report" "$SYSPY" "$DSSE" sslib installed.json agent.pub
"$AGENT" verify installed.json --pubkey agent.pub >v.out 2>&1
exit_is "pib-agent verify" 0 $? v.out
contains "its summary counts the package" v.out "packages    1"
"$AGENT" show installed.json --pubkey agent.pub >s.out 2>&1
head -1 s.out | grep -q "^SUCCEEDED  hello-suite 2.10" && ok "show: SUCCEEDED first" || not_ok "show: SUCCEEDED first" "$(head -3 s.out)"
contains "show lists the installed package" s.out "hello                    2.10-3"
done_testing
