#!/bin/bash
# SPDX-License-Identifier: MIT
# The rpm installer's judgement BEFORE anything is installed, on throwaway rpm roots made by
# tests/tools/make-rpm-root.sh (an x86_64 RHEL 9 root and an aarch64 one).
#
# Signatures (the target's `keys` in a private keyring): rpm.org's signed hello installs with
# rpm.org's test key and the verify step lists it with signed_by = that key's fingerprint
# (computed here with gpg); without a key, or with another key, it is
# package.signature_invalid; the unsigned hello is package.unsigned, and with allow_unsigned it
# installs and is listed in unsigned_accepted; the corrupted hello, pib-tampered (payload) and
# pib-hdrtampered (header) are package.signature_invalid ("changed"), also with allow_unsigned
# and with the right key. pib-signed installs with seller.asc (signed_by = keys/seller.fpr)
# and with other.asc is refused naming the seller's key id.
# Architectures (rpm's arch_compat): ppc64 and aarch64 packages on x86_64, i386 and x86_64 ones
# on aarch64 are package.wrong_arch naming both; i386 hello on x86_64 passes the arch rules and
# fails at resolve (nothing provides the 32-bit libc.so.6); pib-i686 (no deps) installs.
# Bad input: truncated rpms, a text file, a .deb and a source rpm are package.invalid saying
# what they are; the same name.arch twice is bundle.duplicate_package; a key member that is
# not a key is bundle.bad_key.
# Every refusal: exit 2, the exact error code, a message naming the file, the failed step in
# the report, no install step, and the root unchanged (snap of the whole root and the rpmdb).
# Target choice: one bundle with a deb target (debian 12) and an rpm target (rhel, amzn,
# opensuse-leap) picks the rpm target on rhel, amzn and opensuse roots (pib-ok installed in
# each) and the deb target on the Debian gold root.
# The report queries run with /usr/bin/python3 when there is one: a pyenv shim on PATH
# costs seconds per run.
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
setup

if ! command -v rpm >/dev/null || ! command -v rpmkeys >/dev/null; then
	bail_out "rpm and rpmkeys are needed (apt-get install rpm)"
fi
command -v gpg >/dev/null || bail_out "gpg is needed to compute the keys' fingerprints"
[ -f "$RPMS/hello-2.0-1.x86_64-signed.rpm" ] || bail_out "no rpm fixtures at $RPMS"

P=$T/rpms
"$TOOLS_DIR/make-test-rpms.sh" "$P" || bail_out "make-test-rpms.sh failed"
KEY_RPMORG=$RPMS/rpm.org-rsa-2048-test.pub
HELLO_SIGNED=$RPMS/hello-2.0-1.x86_64-signed.rpm
HELLO_UNSIGNED=$RPMS/hello-2.0-1.x86_64.rpm
HELLO_CORRUPT=$RPMS/hello-2.0-1.x86_64-corrupted.rpm
HELLO_I386=$RPMS/hello-1.0-1.i386.rpm
HELLO_PPC64=$RPMS/hello-1.0-1.ppc64.rpm
SELLER_FPR=$(tr -d ' \n' <"$P/keys/seller.fpr")
SELLER_KEYID=$(tr -d ' \n' <"$P/keys/seller.keyid")

# fpr_of KEYFILE: the primary key's fingerprint, lowercase, by gpg (not by the agent's parser).
fpr_of() {
	GNUPGHOME=$T/gnupg gpg --batch --with-colons --show-keys "$1" 2>/dev/null |
		awk -F: '$1 == "pub" { p = 1; next } p && $1 == "fpr" { print tolower($10); exit }'
}
mkdir -m 0700 "$T/gnupg"
RPMORG_FPR=$(fpr_of "$KEY_RPMORG")
OTHER_FPR=$(fpr_of "$P/keys/other.asc")
is "precondition: gpg reads rpm.org's test key (a V4 fingerprint)" "${#RPMORG_FPR}" 40
is "precondition: gpg agrees with keys/seller.fpr" "$(fpr_of "$P/keys/seller.asc")" "$SELLER_FPR"
check "precondition: other.asc is another key" test "${#OTHER_FPR}" = 40 -a "$OTHER_FPR" != "$SELLER_FPR"
# what rpm itself says signed hello: the key id ends rpm.org's fingerprint
sigline=$(rpm -qp --qf '%{RSAHEADER:pgpsig}\n' "$HELLO_SIGNED" 2>/dev/null)
contains "precondition: rpm says hello-signed is signed by rpm.org's key" "$sigline" "${RPMORG_FPR: -16}"

rpmdb_list() { # rpmdb_list ROOT: the root's installed packages, sorted
	rpm --root "$1" --dbpath /var/lib/rpm -qa 2>&1 | sort
}
newroot() { # newroot DIR [make-rpm-root.sh options]
	"$TOOLS_DIR/make-rpm-root.sh" "$@" >"$T/mkroot.log" 2>&1 ||
		bail_out "make-rpm-root.sh $* failed: $(tail -n 5 "$T/mkroot.log")"
}

RX=$T/root-x86_64
RA=$T/root-aarch64
newroot "$RX"
newroot "$RA" --arch aarch64
has_line "precondition: the x86_64 root has pib-test-base" "$(rpmdb_list "$RX")" pib-test-base-1.0-1.x86_64
has_line "precondition: the aarch64 root has pib-test-base" "$(rpmdb_list "$RA")" pib-test-base-1.0-1.aarch64


# rbundle LABEL [-u] [-k MEMBER=FILE]... [-t MEMBER=TEXT]... MEMBER=FILE...: $T/LABEL.tar.gz
# (its path in $B) with one rpm target "el" for rhel >=8, amzn >=2 and opensuse-leap >=15 on
# x86_64 and aarch64, holding each package FILE as MEMBER. -u: allow_unsigned true; -k: a key
# member listed in keys; -t: a key member listed in keys holding TEXT. The manifest is made
# and mkbundle.py run in one Python process.
rbundle() {
	local label=$1 allow=false
	local -a keys=() extra=() pkgs=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		-u) allow=true ;;
		-k) keys+=("${2%%=*}"); extra+=(--file "$2"); shift ;;
		-t) keys+=("${2%%=*}"); extra+=(--text "$2"); shift ;;
		*) pkgs+=("$1") ;;
		esac
		shift
	done
	B=$T/$label.tar.gz
	"$PYTHON" - "$TOOLS_DIR" "$T/$label.json" "$B" "$allow" "${#keys[@]}" "${keys[@]}" \
		"${#pkgs[@]}" "${pkgs[@]}" "${extra[@]}" <<'PY' || bail_out "rbundle $label failed"
import json, sys
sys.path.insert(0, sys.argv[1])
import mkbundle
mpath, out, allow = sys.argv[2], sys.argv[3], sys.argv[4] == "true"
rest = sys.argv[5:]
nk = int(rest[0]); keys = rest[1:1 + nk]; rest = rest[1 + nk:]
np_ = int(rest[0]); pkgs = rest[1:1 + np_]; extra = rest[1 + np_:]
t = {"name": "el",
     "os": [{"id": "rhel", "versions": [">=8"]}, {"id": "amzn", "versions": [">=2"]},
            {"id": "opensuse-leap", "versions": [">=15"]}],
     "arch": ["x86_64", "aarch64"], "installer": "rpm",
     "packages": [{"file": p.split("=", 1)[0], "_src": p.split("=", 1)[1]} for p in pkgs]}
if keys:
    t["keys"] = keys
if allow:
    t["allow_unsigned"] = True
with open(mpath, "w") as f:
    json.dump({"schema": "pib-agent/bundle/v1",
               "product": {"name": "pib-rpm-verify", "version": "1.0", "seller": "pib-agent tests"},
               "targets": [t]}, f, indent=2)
sys.exit(mkbundle.main(["mkbundle.py", out, "--manifest", mpath] + extra) or 0)
PY
}

# refuse LABEL ROOT CODE STEP NEEDLE... [-- VALIDATE-ARGS]: validates $B on ROOT; the run
# fails with exit 2 and CODE at STEP, each NEEDLE is in error.message and on stderr, no
# install step ran, and ROOT (every path, and its rpmdb) is as before. The state "before" is
# the one seen after the previous run on ROOT (nothing else touches these roots), taken
# afresh the first time.
declare -A LAST_SNAP LAST_DB
refuse() {
	local label=$1 root=$2 code=$3 step=$4 n msg err
	shift 4
	local -a needles=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		needles+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	local key=${root//[^A-Za-z0-9]/_}
	if [ -z "${LAST_SNAP[$key]:-}" ]; then
		LAST_DB[$key]=$(rpmdb_list "$root")
		LAST_SNAP[$key]=$T/snap.$key.0
		snap "$root" >"${LAST_SNAP[$key]}"
	fi
	local before=${LAST_SNAP[$key]} after=$T/snap.$key.$RANDOM$RANDOM db_before=${LAST_DB[$key]}
	validate "$B" --root "$root" --no-scan "$@"
	snap "$root" >"$after"
	is "$label: exit code 2" "$RC" 2
	facts status error.code error.step error.message 'steps[status=failed].name' steps.name
	is "$label: status failed" "$(fact status)" failed
	is "$label: error.code" "$(fact error.code)" "$code"
	is "$label: error.step is $step" "$(fact error.step)" "$step"
	is "$label: the report's failed step is $step" "$(fact 'steps[status=failed].name')" "$step"
	if grep -qx install <<<"$(fact steps.name)"; then
		fail "$label: no install step ran" "steps: $(fact steps.name | tr '\n' ' ')"
	else
		ok "$label: no install step ran"
	fi
	msg=$(fact error.message)
	err=$(agent_stderr)
	contains "$label: stderr has the error code" "$err" "$code"
	for n in "${needles[@]}"; do
		contains "$label: error.message names '$n'" "$msg" "$n"
		contains "$label: stderr names '$n'" "$err" "$n"
	done
	same_tree "$label: the root is unchanged" "$before" "$after"
	LAST_SNAP[$key]=$after
	LAST_DB[$key]=$(rpmdb_list "$root")
	is "$label: the rpmdb lists the same packages" "${LAST_DB[$key]}" "$db_before"
}

# installs LABEL ROOT NEVRA...: validates $B on ROOT; the run succeeds and each NEVRA is in
# the root's rpmdb afterwards.
installs() {
	local label=$1 root=$2 nevra db
	shift 2
	validate "$B" --root "$root" --no-scan
	is "$label: exit code 0" "$RC" 0
	report_exists "$label"
	status_good "$label"
	db=$(rpmdb_list "$root")
	for nevra in "$@"; do
		has_line "$label: $nevra is in the root's rpmdb" "$db" "$nevra"
	done
}

HS=rpms/hello-2.0-1.x86_64-signed.rpm
HU=rpms/hello-2.0-1.x86_64.rpm

# ================================================================ signatures: real fixtures
R=$T/r-hello-signed
newroot "$R"
rbundle hello-signed -k keys/rpm.org.asc="$KEY_RPMORG" "$HS=$HELLO_SIGNED"
installs "signed hello with rpm.org's key" "$R" hello-2.0-1.x86_64
facts 'steps[name=verify].signatures.package' 'steps[name=verify].signatures.signed_by' \
	'steps[name=verify].unsigned_accepted'
is "signed hello: the verify step's signatures list hello" "$(fact 'steps[name=verify].signatures.package')" "$HS"
is "signed hello: signed_by is rpm.org's key's fingerprint (gpg)" \
	"$(fact 'steps[name=verify].signatures.signed_by')" "$RPMORG_FPR"
is "signed hello: nothing in unsigned_accepted" "$(fact 'steps[name=verify].unsigned_accepted')" ""
rm -rf --one-file-system "$R"

rbundle hello-signed-nokey "$HS=$HELLO_SIGNED"
refuse "signed hello, no key" "$RX" package.signature_invalid verify \
	"$HS" "not one of the target" "${RPMORG_FPR: -16}"

rbundle hello-signed-otherkey -k keys/other.asc="$P/keys/other.asc" "$HS=$HELLO_SIGNED"
refuse "signed hello, other.asc only" "$RX" package.signature_invalid verify \
	"$HS" "not one of the target" "${RPMORG_FPR: -16}"

rbundle hello-unsigned "$HU=$HELLO_UNSIGNED"
refuse "unsigned hello" "$RX" package.unsigned verify "$HU" "not signed" allow_unsigned

R=$T/r-hello-unsigned
newroot "$R"
rbundle hello-unsigned-allowed -u "$HU=$HELLO_UNSIGNED"
installs "unsigned hello, allow_unsigned" "$R" hello-2.0-1.x86_64
facts 'steps[name=verify].unsigned_accepted' 'steps[name=verify].signatures'
is "unsigned hello: unsigned_accepted lists it" "$(fact 'steps[name=verify].unsigned_accepted')" "$HU"
is "unsigned hello: no signatures listed" "$(fact 'steps[name=verify].signatures')" ""
contains "unsigned hello: stderr warns it was accepted unsigned" "$(agent_stderr)" "$HU: not signed, accepted"
rm -rf --one-file-system "$R"

HC=rpms/hello-2.0-1.x86_64-corrupted.rpm
rbundle corrupted "$HC=$HELLO_CORRUPT"
refuse "corrupted hello" "$RX" package.signature_invalid verify "$HC" "was changed"
rbundle corrupted-allowed -u "$HC=$HELLO_CORRUPT"
refuse "corrupted hello, allow_unsigned" "$RX" package.signature_invalid verify "$HC" "was changed"
rbundle corrupted-key -u -k keys/rpm.org.asc="$KEY_RPMORG" "$HC=$HELLO_CORRUPT"
refuse "corrupted hello, with rpm.org's key" "$RX" package.signature_invalid verify "$HC" "was changed"

# ================================================================ signatures: built packages
PS=rpms/pib-signed-1.0-1.noarch.rpm
R=$T/r-pib-signed
newroot "$R"
rbundle pib-signed -k keys/seller.asc="$P/keys/seller.asc" "$PS=$P/pib-signed-1.0-1.noarch.rpm"
installs "pib-signed with seller.asc" "$R" pib-signed-1.0-1.noarch
facts 'steps[name=verify].signatures.package' 'steps[name=verify].signatures.signed_by'
is "pib-signed: the verify step's signatures list it" "$(fact 'steps[name=verify].signatures.package')" "$PS"
is "pib-signed: signed_by is keys/seller.fpr" "$(fact 'steps[name=verify].signatures.signed_by')" "$SELLER_FPR"
check "pib-signed: its file is in the root" test -f "$R/opt/pib-signed/f"
rm -rf --one-file-system "$R"

rbundle pib-signed-other -k keys/other.asc="$P/keys/other.asc" "$PS=$P/pib-signed-1.0-1.noarch.rpm"
refuse "pib-signed, other.asc" "$RX" package.signature_invalid verify "$PS" "$SELLER_KEYID" "not one of the target"
if grep -qF "$OTHER_FPR" <<<"$(fact error.message)"; then
	fail "pib-signed, other.asc: the message does not claim other.asc signed it" "$(fact error.message)"
else
	ok "pib-signed, other.asc: the message does not claim other.asc signed it"
fi

# two keys, the seller's second: the signature is matched to the right one (a dry run)
rbundle pib-signed-two -k keys/other.asc="$P/keys/other.asc" -k keys/seller.asc="$P/keys/seller.asc" \
	"$PS=$P/pib-signed-1.0-1.noarch.rpm"
snap "$RX" >"$T/two.before"
validate "$B" --root "$RX" --no-scan --dry-run
snap "$RX" >"$T/two.after"
is "pib-signed, other.asc and seller.asc, --dry-run: exit code 0" "$RC" 0
facts 'steps[name=verify].status' 'steps[name=verify].signatures.signed_by'
is "pib-signed, two keys: the verify step passed" "$(fact 'steps[name=verify].status')" ok
is "pib-signed, two keys: signed_by is keys/seller.fpr" "$(fact 'steps[name=verify].signatures.signed_by')" "$SELLER_FPR"
same_tree "pib-signed, two keys, --dry-run: the root is unchanged" "$T/two.before" "$T/two.after"

for t in tampered hdrtampered; do
	m=rpms/pib-$t-1.0-1.noarch.rpm
	rbundle "pib-$t" -k keys/seller.asc="$P/keys/seller.asc" "$m=$P/pib-$t-1.0-1.noarch.rpm"
	refuse "pib-$t, seller.asc" "$RX" package.signature_invalid verify "$m" "was changed"
	rbundle "pib-$t-allowed" -u "$m=$P/pib-$t-1.0-1.noarch.rpm"
	refuse "pib-$t, allow_unsigned" "$RX" package.signature_invalid verify "$m" "was changed"
done

# ================================================================ architectures
m=rpms/hello-1.0-1.ppc64.rpm
rbundle ppc64 -u "$m=$HELLO_PPC64"
refuse "ppc64 hello on x86_64" "$RX" package.wrong_arch verify "$m" "built for ppc64" "x86_64"

m=rpms/pib-arm-1.0-1.aarch64.rpm
rbundle arm-on-x86 -u "$m=$P/pib-arm-1.0-1.aarch64.rpm"
refuse "pib-arm on x86_64" "$RX" package.wrong_arch verify "$m" "built for aarch64" "x86_64 image"

m=rpms/hello-1.0-1.i386.rpm
rbundle i386 -u "$m=$HELLO_I386"
# x86_64 runs i386 (rpm's arch_compat): judged at resolve, where nothing provides the 32-bit
# libc.so.6 (pib-test-base provides libc.so.6()(64bit) only)
is "precondition: the x86_64 root provides the 64-bit libc.so.6()(64bit)" \
	"$(rpm --root "$RX" --dbpath /var/lib/rpm -q --qf '%{NAME}\n' --whatprovides 'libc.so.6()(64bit)' 2>&1)" pib-test-base
check_not "precondition: nothing in the x86_64 root provides the 32-bit libc.so.6" \
	rpm --root "$RX" --dbpath /var/lib/rpm -q --whatprovides libc.so.6
refuse "i386 hello on x86_64" "$RX" resolve.unsatisfiable resolve hello-1.0-1.i386 libc.so.6
facts 'steps[name=resolve].problems' 'steps[name=verify].status'
is "i386 hello on x86_64: the verify step passed (the arch rules accept i386)" \
	"$(fact 'steps[name=verify].status')" ok
contains "i386 hello on x86_64: the problems name libc.so.6 as missing" "$(fact 'steps[name=resolve].problems')" \
	"nothing provides libc.so.6 needed by hello-1.0-1.i386"
refuse "i386 hello on aarch64" "$RA" package.wrong_arch verify "$m" "built for i386" "aarch64 image"

m=rpms/pib-x86only-1.0-1.x86_64.rpm
rbundle x86only -u "$m=$P/pib-x86only-1.0-1.x86_64.rpm"
refuse "pib-x86only on aarch64" "$RA" package.wrong_arch verify "$m" "built for x86_64" "aarch64 image"

R=$T/r-i686
newroot "$R"
rbundle i686 -u rpms/pib-i686-1.0-1.i686.rpm="$P/pib-i686-1.0-1.i686.rpm"
installs "pib-i686 on x86_64" "$R" pib-i686-1.0-1.i686
rm -rf --one-file-system "$R"

# ================================================================ bad input
OK=$P/pib-ok-1.0-1.noarch.rpm
m=rpms/pib-ok-1.0-1.noarch.rpm
head -c 200 "$OK" >"$T/trunc200.rpm"
rbundle trunc200 -u "$m=$T/trunc200.rpm"
refuse "pib-ok cut to 200 bytes" "$RX" package.invalid verify "$m" "truncated"
head -c 2000 "$OK" >"$T/trunc2000.rpm"
rbundle trunc2000 -u "$m=$T/trunc2000.rpm"
refuse "pib-ok cut to 2000 bytes" "$RX" package.invalid verify "$m" "truncated"
# where pib-ok's signature header and header end (each: 16 bytes, 16 per index entry, the
# data; the signature header padded to 8): cut inside the header, and inside the payload
read -r SIG_END HDR_END SIZE < <("$PYTHON" - "$OK" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
o = 96
il, dl = struct.unpack(">II", d[o + 8:o + 16])
o += 16 + il * 16 + dl
o += (8 - o % 8) % 8
s = o
il, dl = struct.unpack(">II", d[o + 8:o + 16])
print(s, o + 16 + il * 16 + dl, len(d))
PY
)
diag "pib-ok: signature header ends at $SIG_END, header at $HDR_END, file $SIZE bytes"
check "precondition: pib-ok has a payload after its header" test "$HDR_END" -lt "$((SIZE - 32))"
head -c $(((SIG_END + HDR_END) / 2)) "$OK" >"$T/trunc-header.rpm"
rbundle trunc-header -u "$m=$T/trunc-header.rpm"
refuse "pib-ok cut inside its header" "$RX" package.invalid verify "$m" "truncated" "inside its header"
# the headers read; the payload's digests then fail
head -c $(((HDR_END + SIZE) / 2)) "$OK" >"$T/trunc-payload.rpm"
rbundle trunc-payload -u "$m=$T/trunc-payload.rpm"
refuse "pib-ok cut inside its payload" "$RX" package.signature_invalid verify "$m" "digests do not match"

printf 'this is not an rpm, just text\n' >"$T/x.rpm"
rbundle text -u rpms/x.rpm="$T/x.rpm"
refuse "a short text file named x.rpm" "$RX" package.invalid verify rpms/x.rpm "not an rpm package"
for i in 1 2 3 4 5 6; do echo "line $i of a text file that is longer than an rpm lead"; done >"$T/x.rpm"
rbundle text-long -u rpms/x.rpm="$T/x.rpm"
refuse "a longer text file named x.rpm" "$RX" package.invalid verify rpms/x.rpm "not an rpm package" "no rpm lead magic"

m=rpms/hello_2.10-3_amd64.deb
rbundle deb -u "$m=$DEB_HELLO"
refuse "a .deb in the rpm target" "$RX" package.invalid verify "$m" "a Debian package (.deb)"

m=rpms/pib-ok-1.0-1.src.rpm
rbundle srpm -u "$m=$P/pib-ok-1.0-1.src.rpm"
refuse "the source rpm of pib-ok" "$RX" package.invalid verify "$m" "source package"

rbundle dup-hello -u -k keys/rpm.org.asc="$KEY_RPMORG" "$HS=$HELLO_SIGNED" "$HU=$HELLO_UNSIGNED"
refuse "hello signed and unsigned" "$RX" bundle.duplicate_package verify "$HS" "$HU" "hello.x86_64"

rbundle dup-same -u "rpms/a/pib-ok-1.0-1.noarch.rpm=$OK" "rpms/b/pib-ok-1.0-1.noarch.rpm=$OK"
# the bundle's own check, when it is opened: the same bytes twice in one target
refuse "pib-ok twice under two names" "$RX" bundle.duplicate_package open \
	rpms/a/pib-ok-1.0-1.noarch.rpm rpms/b/pib-ok-1.0-1.noarch.rpm "same bytes"

rbundle bad-key -t "keys/seller.asc=not a key, just text" "$PS=$P/pib-signed-1.0-1.noarch.rpm"
refuse "a key member that is text" "$RX" bundle.bad_key verify keys/seller.asc

# ================================================================ target choice
cat >"$T/choice.json" <<END_OF_MANIFEST
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "pib-choice", "version": "1.0", "seller": "pib-agent tests"},
  "targets": [
    {
      "name": "debian",
      "os": [{"id": "debian", "versions": ["12"]}],
      "arch": ["x86_64"],
      "installer": "deb",
      "packages": [{"file": "debs/hello_2.10-3_amd64.deb", "_src": "$DEB_HELLO"}]
    },
    {
      "name": "el",
      "os": [{"id": "rhel", "versions": [">=8"]}, {"id": "amzn", "versions": [">=2"]},
             {"id": "opensuse-leap", "versions": [">=15"]}],
      "arch": ["x86_64"],
      "installer": "rpm",
      "packages": [{"file": "rpms/pib-ok-1.0-1.noarch.rpm", "_src": "$OK"}],
      "allow_unsigned": true
    }
  ]
}
END_OF_MANIFEST
B=$T/choice.tar.gz
mkbundle "$B" --manifest "$T/choice.json"
for os in rhel amzn opensuse; do
	R=$T/r-choice-$os
	newroot "$R" --os "$os"
	installs "choice on $os" "$R" pib-ok-1.0-1.noarch
	facts target.name target.installer host.id host.family packages.name
	is "choice on $os: the rpm target is chosen" "$(fact target.name)" el
	is "choice on $os: its installer is rpm" "$(fact target.installer)" rpm
	is "choice on $os: the report lists pib-ok only" "$(fact packages.name)" pib-ok
	case $os in
	rhel) want="rhel rhel" ;;
	amzn) want="amzn rhel" ;;
	opensuse) want="opensuse-leap suse" ;;
	esac
	is "choice on $os: the report's host id and family" "$(fact host.id) $(fact host.family)" "$want"
	is "choice on $os: pib-ok's file is in the root" "$(cat "$R/opt/pib-ok/hello.txt" 2>&1)" "hello from pib-ok"
	check "choice on $os: pib-ok's %post ran" test -s "$R/var/log/pib-ok.post"
	rm -rf --one-file-system "$R"
done

R=$T/r-choice-debian
copy_root "$R"
validate "$B" --root "$R" --no-scan
is "choice on Debian: exit code 0" "$RC" 0
status_good "choice on Debian"
facts target.name target.installer packages.name
is "choice on Debian: the deb target is chosen" "$(fact target.name)" debian
is "choice on Debian: its installer is deb" "$(fact target.installer)" deb
is "choice on Debian: the report lists hello only" "$(fact packages.name)" hello
is "choice on Debian: dpkg: hello is 'install ok installed'" "$(dpkg_status "$R" hello)" "install ok installed"
check_not "choice on Debian: no rpmdb was made in the root" test -e "$R/var/lib/rpm"
check_not "choice on Debian: pib-ok's file is not in the root" test -e "$R/opt/pib-ok"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- the rpmdb's folder and links
# rpm --root and libsolv open ROOT/var/lib/rpm on this machine: a link there that leads out of
# the root (to a copy of a database on this machine) must not make the agent read or write it.
R=$T/r-dblink
newroot "$R"
mkdir -p "$T/host-db"
cp -a "$R/var/lib/rpm/." "$T/host-db/"
rm -rf "$R/var/lib/rpm"
ln -s "$T/host-db" "$R/var/lib/rpm"
hostdb_before=$(cd "$T/host-db" && sha256sum -- * | sort)
rbundle dblink -u "rpms/pib-ok-1.0-1.noarch.rpm=$OK"
validate "$B" --root "$R" --no-scan
is "rpmdb linked out of the root: exit code 2" "$RC" 2
is "rpmdb linked out of the root: os.no_package_db" "$(rep error.code)" os.no_package_db
is "rpmdb linked out of the root: the database on this machine is untouched" \
	"$(cd "$T/host-db" && sha256sum -- * | sort)" "$hostdb_before"
check_not "rpmdb linked out of the root: pib-ok is not installed" test -e "$R/opt/pib-ok"
# the same link with the same path inside the root holding another database: neither is used
mkdir -p "$R$T/host-db"
cp -a "$T/host-db/." "$R$T/host-db/"
validate "$B" --root "$R" --no-scan
is "rpmdb link with a different target inside the root: os.no_package_db" "$(rep error.code)" os.no_package_db
contains "rpmdb link with a different target inside the root: the message says why" "$(rep error.message)" \
	"reached through a link that leads elsewhere"
is "rpmdb link with a different target inside the root: the database on this machine is untouched" \
	"$(cd "$T/host-db" && sha256sum -- * | sort)" "$hostdb_before"
rm -rf --one-file-system "$R"

# Fedora's and SUSE's layout: /var/lib/rpm a relative link to /usr/lib/sysimage/rpm
R=$T/r-sysimage
newroot "$R"
mkdir -p "$R/usr/lib/sysimage"
mv "$R/var/lib/rpm" "$R/usr/lib/sysimage/rpm"
ln -s ../../usr/lib/sysimage/rpm "$R/var/lib/rpm"
validate "$B" --root "$R" --no-scan
is "rpmdb under /usr/lib/sysimage/rpm (relative link): exit code 0" "$RC" 0
has_line "rpmdb under /usr/lib/sysimage/rpm: pib-ok is in it" \
	"$(rpm --root "$R" --dbpath /usr/lib/sysimage/rpm -qa 2>&1)" pib-ok-1.0-1.noarch
rm -rf --one-file-system "$R"

# this machine's rpm writes scriptlets into ROOT/var/tmp before it chroots: a link there is refused
R=$T/r-tmplink
newroot "$R"
mkdir -p "$T/host-tmp"
rm -rf "$R/var/tmp"
ln -s "$T/host-tmp" "$R/var/tmp"
validate "$B" --root "$R" --no-scan
is "ROOT/var/tmp linked out of the root: exit code 2" "$RC" 2
is "ROOT/var/tmp linked out of the root: install.failed" "$(rep error.code)" install.failed
contains "ROOT/var/tmp linked out of the root: the message says why" "$(rep error.message)" "var/tmp is reached through a link"
is "ROOT/var/tmp linked out of the root: nothing was written through it" "$(ls -A "$T/host-tmp")" ""
check_not "ROOT/var/tmp linked out of the root: pib-ok is not installed" test -e "$R/opt/pib-ok"
rm -rf --one-file-system "$R"

done_testing
