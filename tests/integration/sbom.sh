#!/bin/bash
# SPDX-License-Identifier: MIT
# The SBOM (issue 14): the jq bundle into a copy of the gold root with validate --sbom FILE: a
# CycloneDX 1.5 document valid against the official schema (vendored in tests/cyclonedx), in its
# own DSSE envelope that openssl verifies over the PAE, bound to the report by sbom.sha256; the
# transaction is exactly jq, libjq1 and libonig5 with their purls, the SHA-256 of the .deb files,
# their DEP-5 licences and every file they installed with its SHA-256 as it is in the root; the
# image's own list is dpkg-query -W of the gold root. Then pib-agent sbom --root on the gold root
# (read-only), and on an rpm root when rpm and rpmbuild are here.
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
setup

DSSE=$REPO_DIR/tests/signing/dsse.py
CDX=$REPO_DIR/tests/cyclonedx
VALIDATE_SBOM=$REPO_DIR/packaging/portable/validate-sbom.py
"$PIB_AGENT" keygen --out "$T/k" >/dev/null 2>&1 || bail_out "keygen failed"

# payload ENVELOPE OUT: the envelope's payload bytes (the in-toto Statement) into OUT
payload() { /usr/bin/python3 "$DSSE" payload "$1" >"$2"; }
# pred_of STATEMENT OUT: the predicate (the CycloneDX document) alone into OUT
pred_of() { /usr/bin/python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["predicate"], open(sys.argv[2], "w"))' "$1" "$2"; }
# openssl_ok ENVELOPE: its first signature verifies with openssl over the DSSE PAE
openssl_ok() {
	/usr/bin/python3 "$DSSE" pae "$1" "$T/pae.bin" "$T/sig.bin" &&
		openssl pkeyutl -verify -pubin -inkey "$T/k.pub" -rawin -in "$T/pae.bin" -sigfile "$T/sig.bin" 2>&1 |
		grep -q "Signature Verified Successfully"
}
# image_list BOM: "name arch version" of every component with pib:origin image, sorted
image_list() {
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
def props(c):
    return {p["name"]: p["value"] for p in c.get("properties", [])}
for l in sorted("%s %s %s" % (c["name"], props(c)["pib:arch"], c["version"])
                for c in b["components"] if props(c).get("pib:origin") == "image"):
    print(l)
PY
}
# dpkg_list ADMINDIR: "name arch version" of every installed package, sorted
dpkg_list() {
	dpkg-query --admindir "$1" -W -f '${db:Status-Abbrev} ${Package} ${Architecture} ${Version}\n' |
		awk '$1 == "ii" { print $2, $3, $4 }' | LC_ALL=C sort
}

# ------------------------------------------------------------------- validate --sbom
R=$T/root
copy_root "$R"
B=$T/jq.tar.gz
mkbundle "$B" --deb "$DEB_JQ" --deb "$DEB_LIBJQ1" --deb "$DEB_LIBONIG5"
validate "$B" --root "$R" --no-scan --key "$T/k.key" --sbom "$T/sbom.json"
is "validate --sbom: exit 0" "$RC" 0
is "the sbom step is ok" "$(rep 'steps[name=sbom].status')" ok
check "the SBOM file is written" test -s "$T/sbom.json"
payload "$T/sbom.json" "$T/st.json"
pred_of "$T/st.json" "$T/bom.json"

# the envelope: signed with the run's key, openssl verifies it; the report binds it
check "openssl verifies the SBOM's signature over the DSSE PAE" openssl_ok "$T/sbom.json"
is "the report's sbom.sha256 is the SHA-256 of the SBOM's payload" "$(rep sbom.sha256)" "$(sha256sum <"$T/st.json" | cut -d' ' -f1)"
is "the report's sbom counts: transaction, image" "$(rep sbom.transaction) $(rep sbom.image)" "3 96"
is "the report's sbom.file" "$(rep sbom.file)" "$T/sbom.json"
"$PIB_AGENT" show "$REPORT" --pubkey "$T/k.pub" >"$T/show.out" 2>&1
contains "show summarises the SBOM: counts and the payload's SHA-256" "$(cat "$T/show.out")" \
	"sbom        CycloneDX 1.5, 3 package(s) of the transaction (17 files) and 96 of the image; payload sha256 $(rep sbom.sha256)"
is "its keyid is the report's" "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signatures"][0]["keyid"])' "$T/sbom.json")" \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signatures"][0]["keyid"])' "$REPORT")"
"$PIB_AGENT" verify "$T/sbom.json" --pubkey "$T/k.pub" >"$T/verify.out" 2>&1
is "pib-agent verify accepts the SBOM: exit 0" "$?" 0
contains "verify says it is an SBOM, with its counts" "$(cat "$T/verify.out")" "packages    3 of the transaction (17 files), 96 of the image"
"$PIB_AGENT" show "$T/sbom.json" --pubkey "$T/k.pub" >"$T/show-sbom.out" 2>&1
contains "show SBOM: its own view, the transaction's purls" "$(cat "$T/show-sbom.out")" "pkg:deb/debian/jq@1.6-2.1%2Bdeb12u3?arch=amd64&distro=debian-12, 7 files"
cp "$T/sbom.json" "$T/tampered.json"
/usr/bin/python3 "$DSSE" tamper "$T/sbom.json" payload "$T/tampered.json" 2>/dev/null
check_not "one byte changed in the SBOM's payload: openssl refuses it" openssl_ok "$T/tampered.json"

# the Statement: the report's subjects, CycloneDX's predicate type
if /usr/bin/python3 - "$T/st.json" "$REPORT" >"$T/st.out" 2>&1 <<'PY'; then
import base64, json, sys
st = json.load(open(sys.argv[1]))
env = json.load(open(sys.argv[2]))
rep = json.loads(base64.b64decode(env["payload"]))
errs = []
if env["payloadType"] != "application/vnd.in-toto+json":
    errs.append("report payloadType")
if st.get("_type") != "https://in-toto.io/Statement/v1":
    errs.append("_type %r" % st.get("_type"))
if st.get("predicateType") != "https://cyclonedx.org/bom":
    errs.append("predicateType %r" % st.get("predicateType"))
if st.get("subject") != rep["subject"]:
    errs.append("subjects differ from the report's: %r" % st.get("subject"))
print("\n".join(errs))
sys.exit(1 if errs else 0)
PY
	ok "the SBOM is an in-toto Statement with predicateType https://cyclonedx.org/bom and the report's subjects"
else
	fail "the SBOM is an in-toto Statement with predicateType https://cyclonedx.org/bom and the report's subjects" "$(cat "$T/st.out")"
fi

# the official CycloneDX 1.5 JSON schema
if /usr/bin/python3 "$VALIDATE_SBOM" "$CDX" "$T/bom.json" >"$T/cdx.out" 2>&1; then
	ok "the SBOM is valid against the CycloneDX 1.5 JSON schema (tests/cyclonedx)"
else
	fail "the SBOM is valid against the CycloneDX 1.5 JSON schema (tests/cyclonedx)" "$(head -n 20 "$T/cdx.out")"
fi
# the schema check can fail: a component without its name
/usr/bin/python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); del b["components"][0]["name"]; json.dump(b, open(sys.argv[2], "w"))' \
	"$T/bom.json" "$T/bad-bom.json"
check_not "a component without a name is refused by the schema check" /usr/bin/python3 "$VALIDATE_SBOM" "$CDX" "$T/bad-bom.json"

# the transaction: exactly the three packages, purls, .deb SHA-256, licences, files as installed
want_txn=""
for f in "$DEB_JQ" "$DEB_LIBJQ1" "$DEB_LIBONIG5"; do
	want_txn+="$(dpkg-deb -f "$f" Package) $(sha256sum <"$f" | cut -d' ' -f1)"$'\n'
done
if /usr/bin/python3 - "$T/bom.json" "$R" "$want_txn" "$(rep bundle.product.name) $(rep bundle.product.version) $(rep bundle.sha256)" \
	>"$T/txn.out" 2>&1 <<'PY'; then
import hashlib, json, os, subprocess, sys
bom, root, want = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
product = sys.argv[4].split()
want = dict(l.split() for l in want.strip().splitlines())
errs = []
def props(c):
    return {p["name"]: p["value"] for p in c.get("properties", [])}
for k in ("bomFormat", "specVersion", "serialNumber", "version", "metadata", "components", "dependencies"):
    if k not in bom:
        errs.append("no %s" % k)
if bom.get("bomFormat") != "CycloneDX" or bom.get("specVersion") != "1.5":
    errs.append("not CycloneDX 1.5")
meta = bom["metadata"]
tool = meta["tools"]["components"][0]
if tool["name"] != "pib-agent" or not tool.get("version"):
    errs.append("metadata.tools: %r" % tool)
subj = meta["component"]
if [subj["type"], subj["name"], subj.get("version"), subj["hashes"][0]["content"]] != ["application"] + product:
    errs.append("metadata.component: %r, want the bundle %r" % (subj, product))
txn = [c for c in bom["components"] if props(c).get("pib:origin") == "bundle"]
if sorted(c["name"] for c in txn) != ["jq", "libjq1", "libonig5"]:
    errs.append("transaction: %r" % [c["name"] for c in txn])
purls = {
    "jq": "pkg:deb/debian/jq@1.6-2.1%2Bdeb12u3?arch=amd64&distro=debian-12",
    "libjq1": "pkg:deb/debian/libjq1@1.6-2.1%2Bdeb12u3?arch=amd64&distro=debian-12",
    "libonig5": "pkg:deb/debian/libonig5@6.9.8-1?arch=amd64&distro=debian-12",
}
licences = {"jq": {"MIT", "GPL-2.0-or-later", "CC-BY-3.0"}, "libjq1": {"MIT", "GPL-2.0-or-later", "CC-BY-3.0"},
            "libonig5": {"BSD-2-Clause", "GPL-2.0-or-later"}}
nfiles = 0
for c in txn:
    n = c["name"]
    if c["type"] != "library" or c.get("purl") != purls[n] or c.get("bom-ref") != purls[n]:
        errs.append("%s: type %r purl %r" % (n, c["type"], c.get("purl")))
    h = [x["content"] for x in c.get("hashes", []) if x["alg"] == "SHA-256"]
    if h != [want[n]]:
        errs.append("%s: hashes %r, want the .deb's %s" % (n, h, want[n]))
    ids = {l["license"].get("id") for l in c.get("licenses", [])}
    if ids != licences[n]:
        errs.append("%s: licences %r" % (n, ids))
    if props(c).get("pib:source") != "bundle":
        errs.append("%s: pib:source %r" % (n, props(c).get("pib:source")))
    # every regular file and link dpkg says the package installed, and nothing else
    owned = subprocess.run(["dpkg", "--root=" + root, "-L", n], capture_output=True, text=True).stdout.split("\n")
    want_files = {}
    for p in owned:
        if not p or p == "/." or p.startswith("diverted") or p.startswith("package diverts"):
            continue
        hp = root + p
        if os.path.islink(hp):
            want_files[p] = ("link", os.readlink(hp))
        elif os.path.isfile(hp):
            want_files[p] = ("file", hashlib.sha256(open(hp, "rb").read()).hexdigest())
    got = {}
    for f in c.get("components", []):
        if f["type"] != "file":
            errs.append("%s: a nested component of type %s" % (n, f["type"]))
        if "hashes" in f:
            got[f["name"]] = ("file", f["hashes"][0]["content"])
        else:
            got[f["name"]] = ("link", props(f).get("pib:symlink"))
    if got != want_files:
        errs.append("%s: files differ: sbom-only %r, root-only %r" % (n, sorted(set(got.items()) - set(want_files.items()))[:5],
                                                                     sorted(set(want_files.items()) - set(got.items()))[:5]))
    nfiles += len(got)
deps = bom["dependencies"]
if deps != [{"ref": "pib:subject", "dependsOn": [c["bom-ref"] for c in txn]}]:
    errs.append("dependencies: %r" % deps)
print("%d files in the transaction" % nfiles)
for e in errs:
    print("ERROR " + e)
sys.exit(1 if errs else 0)
PY
	ok "the transaction: exactly jq, libjq1, libonig5 with their purls, the .deb SHA-256, licences and every file they installed with its SHA-256 ($(head -n 1 "$T/txn.out"))"
else
	fail "the transaction: exactly jq, libjq1, libonig5 with their purls, the .deb SHA-256, licences and files" "$(head -n 20 "$T/txn.out")"
fi
is "the report's sbom.files is the number of file components" "$(rep sbom.files)" "$(head -n 1 "$T/txn.out" | cut -d' ' -f1)"

# the image's own list: the gold root's packages, as dpkg-query -W says, and the root after the
# install without the transaction
dpkg_list "$PIB_GOLD_ROOT/var/lib/dpkg" >"$T/gold.list"
image_list "$T/bom.json" >"$T/image.list"
same_tree "the image list is dpkg-query -W of the gold root" "$T/gold.list" "$T/image.list"
dpkg_list "$R/var/lib/dpkg" | grep -vE '^(jq|libjq1|libonig5) ' >"$T/after.list"
same_tree "the image list is the installed root's packages but the transaction" "$T/after.list" "$T/image.list"

# a run that ends before resolve has no transaction: no SBOM, said
printf 'not a bundle' >"$T/bad.tar.gz"
validate "$T/bad.tar.gz" --root "$R" --no-scan --key "$T/k.key" --sbom "$T/none.json"
is "no transaction: exit 2, the sbom step skipped" "$RC $(rep 'steps[name=sbom].status')" "2 skipped"
check_not "no transaction: no SBOM file" test -e "$T/none.json"
contains "no transaction: said on stderr" "$(agent_stderr)" "no SBOM written to $T/none.json"

# ------------------------------------------------------------------- sbom --root
sha_before=$(sha256sum <"$PIB_GOLD_ROOT/var/lib/dpkg/status")
mkdir -p "$T/agent-tmp"
TMPDIR=$T/agent-tmp timeout 300 "$PIB_AGENT" sbom --root "$PIB_GOLD_ROOT" --key "$T/k.key" --out "$T/root-sbom.json" \
	</dev/null >"$T/root.out" 2>"$T/root.err"
is "sbom --root GOLD: exit 0" "$?" 0
is "it wrote nothing on stdout with --out" "$(wc -c <"$T/root.out")" 0
is "the gold root's dpkg status is unchanged" "$(sha256sum <"$PIB_GOLD_ROOT/var/lib/dpkg/status")" "$sha_before"
check "openssl verifies the root's SBOM" openssl_ok "$T/root-sbom.json"
payload "$T/root-sbom.json" "$T/root-st.json"
pred_of "$T/root-st.json" "$T/root-bom.json"
if /usr/bin/python3 "$VALIDATE_SBOM" "$CDX" "$T/root-bom.json" >"$T/cdx2.out" 2>&1; then
	ok "the root's SBOM is valid against the CycloneDX 1.5 JSON schema"
else
	fail "the root's SBOM is valid against the CycloneDX 1.5 JSON schema" "$(head -n 20 "$T/cdx2.out")"
fi
image_list "$T/root-bom.json" >"$T/root-image.list"
same_tree "sbom --root: its list is dpkg-query -W of the gold root" "$T/gold.list" "$T/root-image.list"
is "sbom --root: the subject is dpkg's status with its SHA-256, the component the OS" \
	"$(/usr/bin/python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
c = st["predicate"]["metadata"]["component"]
print(st["subject"][0]["name"], st["subject"][0]["digest"]["sha256"], c["type"], c["name"], c["version"],
      len([x for x in st["predicate"]["components"] if {"name": "pib:origin", "value": "bundle"} in x["properties"]]))' "$T/root-st.json")" \
	"/var/lib/dpkg/status $(cut -d' ' -f1 <<<"$sha_before") operating-system debian 12 0"
TMPDIR=$T/agent-tmp timeout 60 "$PIB_AGENT" sbom --root "$T/nonexistent" </dev/null >/dev/null 2>"$T/bad.err"
is "sbom --root on a missing directory: exit 3" "$?" 3

# ------------------------------------------------------------------- an rpm root
if command -v rpm >/dev/null && command -v rpmbuild >/dev/null && [ -f "$RPMS/hello-2.0-1.x86_64.rpm" ]; then
	if "$TOOLS_DIR/make-rpm-root.sh" "$T/rpmroot" >"$T/mkroot.log" 2>&1; then
		mk_rpm_bundle "$T/rpm.tar.gz" "$RPMS/hello-2.0-1.x86_64.rpm"
		validate "$T/rpm.tar.gz" --root "$T/rpmroot" --no-scan --key "$T/k.key" --sbom "$T/rpm-sbom.json"
		is "rpm: validate --sbom exit 0" "$RC" 0
		payload "$T/rpm-sbom.json" "$T/rpm-st.json"
		pred_of "$T/rpm-st.json" "$T/rpm-bom.json"
		check "rpm: the SBOM is valid against the CycloneDX 1.5 JSON schema" /usr/bin/python3 "$VALIDATE_SBOM" "$CDX" "$T/rpm-bom.json"
		is "rpm: hello's purl, hash and license" "$(/usr/bin/python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
c = [x for x in b["components"] if x["name"] == "hello"][0]
print(c["purl"], c["hashes"][0]["content"], ",".join(l["license"].get("id") or l["license"]["name"] for l in c.get("licenses", [])))' "$T/rpm-bom.json")" \
			"pkg:rpm/rhel/hello@2.0-1?arch=x86_64&distro=rhel-9.4 $(sha256sum <"$RPMS/hello-2.0-1.x86_64.rpm" | cut -d' ' -f1) $(rpm -qp --qf '%{LICENSE}' "$RPMS/hello-2.0-1.x86_64.rpm" 2>/dev/null)"
		rpm --root "$T/rpmroot" --dbpath /var/lib/rpm -qa --qf '%{NAME} %{ARCH} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n' 2>/dev/null |
			grep -v '^hello ' | LC_ALL=C sort >"$T/rpm.list"
		image_list "$T/rpm-bom.json" >"$T/rpm-image.list"
		same_tree "rpm: the image list is rpm -qa of the root but the transaction" "$T/rpm.list" "$T/rpm-image.list"
	else
		fail "make-rpm-root.sh made an rpm root" "$(tail -n 5 "$T/mkroot.log")"
	fi
else
	ok "# SKIP the rpm root: rpm, rpmbuild or the rpm fixtures are missing"
fi

done_testing
