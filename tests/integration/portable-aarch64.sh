#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2119 # detections reads $REPORT when given no file
# Issue 12: the arm64 portable tree, cross-built on this x86_64 machine
# (packaging/portable.sh OUTDIR aarch64, which calls packaging/cross-build.sh), runs under
# qemu-user-static.
# The tarball is made into a cache folder (PIB_PORTABLE_CACHE_AARCH64, default
# /var/tmp/pib-portable-aarch64) and unpacked. Checked:
#   - every file of lib/ and libexec/ is an AArch64 ELF (readelf -h), none x86-64; every
#     DT_NEEDED of them is in lib/, and the carried loader (--list, under qemu) resolves
#     every library of the program inside the tree;
#   - the tree does not start on this x86_64 machine without an emulator (it is not x86);
#   - through the tree's own launcher (bin/pib-agent, /bin/sh execing lib/LOADER), with
#     qemu-aarch64-static registered (flag F) in a private binfmt_misc mounted in a new user
#     and mount namespace (no binfmt_misc is mounted on this machine; kernels >= 6.7 allow
#     one per user namespace): --version (also under env -i), keygen (mode, Ed25519 key,
#     never overwrites), scan of clean files (exit 0) and of ClamAV's test file, the EICAR
#     string and a .deb carrying it (exit 1, each named) with a sigtool-made database
#     (tests/scan/make-db.sh), a signed report that verifies (exit 0), a tampered one and
#     one checked with another key refused (exit 1), show --html;
#   - with PIB_AGENT (this machine's x86_64 build) set: the same detections from both
#     builds, and reports signed by one verify with the other.
# If the private binfmt_misc cannot be had, the program is run as
# `qemu-aarch64-static lib/LOADER --inhibit-cache --library-path lib --argv0 pib-agent
# libexec/pib-agent` instead (said in a diagnostic; the launcher checks are skipped).
# Time: about 25 s with the sysroot and the build cached, 2-3 min cold (sysroot + build).
# tests/scan/lib.sh: the integration tests' lib.sh plus the scan helpers (make_db, eicar, debpkg,
# detections)
# shellcheck source-path=SCRIPTDIR source=../scan/lib.sh
. "$(dirname "$0")/../scan/lib.sh"
setup --no-agent
[ "$(id -u)" = 0 ] || bail_out "needs root (unshare, mount)"
for tool in unshare qemu-aarch64-static readelf sigtool dpkg-deb openssl timeout; do
	command -v "$tool" >/dev/null || bail_out "$tool is missing"
done
QEMU=$(command -v qemu-aarch64-static)
X86=${PIB_AGENT:-}
if [ -n "$X86" ] && [ ! -x "$X86" ]; then
	bail_out "PIB_AGENT=$X86 is not an executable file"
fi

# ----------------------------------------------------------------------------- the tarball
CACHE=${PIB_PORTABLE_CACHE_AARCH64:-/var/tmp/pib-portable-aarch64}
start=$(date +%s)
TARBALL=$("$REPO_DIR/packaging/portable.sh" "$CACHE" aarch64 2>"$T/portable.err" | tail -n 1)
if [ -z "$TARBALL" ] || [ ! -f "$TARBALL" ]; then
	bail_out "packaging/portable.sh $CACHE aarch64 failed: $(tail -n 20 "$T/portable.err")"
fi
diag "tarball: $TARBALL ($(($(date +%s) - start)) s), $(du -k "$TARBALL" | cut -f1) KB"
NAME=$(basename "$TARBALL" .tar.gz)
VERSION=${NAME#pib-agent-}
VERSION=${VERSION%-aarch64}
case $NAME in
pib-agent-*-aarch64) ok "the tarball is named pib-agent-VERSION-aarch64.tar.gz ($NAME)" ;;
*) fail "the tarball is named pib-agent-VERSION-aarch64.tar.gz" "$NAME" ;;
esac
is "the version in the name is meson's project version" "$VERSION" \
	"$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$REPO_DIR/meson.build" | head -n 1)"

U=$T/unpacked
mkdir -p "$U"
tar -C "$U" -xzf "$TARBALL" || bail_out "cannot unpack $TARBALL"
TREE=$U/$NAME
diag "tree: $(du -sk "$TREE" | cut -f1) KB unpacked, $(find "$TREE/lib" -type f | wc -l) files in lib/"
for f in bin/pib-agent libexec/pib-agent lib/ld-linux-aarch64.so.1 lib/libc.so.6 lib/libclamav.so.12 \
	share/man/man1/pib-agent.1 sbom.cdx.json share/licenses/libc6/copyright; do
	if [ -s "$TREE/$f" ]; then ok "the tree has $f"; else fail "the tree has $f"; fi
done

# ----------------------------------------------------------------------------- what the files are
# every regular file of lib/ and libexec/: an ELF64 for AArch64 (readelf -h), and every
# DT_NEEDED of them carried in lib/ (readelf -d); one readelf for all the files
/usr/bin/python3 - "$TREE" >"$T/elf.out" 2>&1 <<'PY'
import os, re, subprocess, sys
tree = sys.argv[1]
files = sorted(os.path.join(d, n) for top in ("lib", "libexec") for d, _, ns in os.walk(os.path.join(tree, top))
               for n in ns if os.path.isfile(os.path.join(d, n)) and not os.path.islink(os.path.join(d, n)))
out = subprocess.run(["readelf", "-hdW", "--"] + files + ["/dev/null"], capture_output=True, text=True).stdout
info = {}
for part in re.split(r"^File: ", out, flags=re.M)[1:]:
    name, _, body = part.partition("\n")
    info[name.strip()] = body
bad, missing = [], []
for f in files:
    rel, body = os.path.relpath(f, tree), info.get(f)
    if body is None or not re.search(r"^ *Magic: *7f 45 4c 46", body, re.M):
        bad.append("%s: not an ELF file" % rel)
        continue
    cls = re.search(r"^ *Class: *(\S+)", body, re.M)
    mach = re.search(r"^ *Machine: *(.+)$", body, re.M)
    if not cls or cls.group(1) != "ELF64" or not mach or mach.group(1).strip() != "AArch64":
        bad.append("%s: %s %s" % (rel, cls and cls.group(1), mach and mach.group(1).strip()))
    for n in re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", body):
        if not os.path.exists(os.path.join(tree, "lib", n)):
            missing.append("%s needs %s" % (rel, n))
print("ELF_FILES=%d" % len(files))
for b in bad:
    print("BAD " + b)
for m in missing:
    print("MISSING " + m)
PY
elf=$(sed -n 's/^ELF_FILES=//p' "$T/elf.out")
is "every file of lib/ and libexec/ is an AArch64 ELF64 (${elf:-?} files)" "$(grep -v '^ELF_FILES=\|^MISSING ' "$T/elf.out")" ""
if [ "${elf:-0}" -ge 20 ]; then ok "lib/ and libexec/ hold $elf files"; else fail "lib/ and libexec/ hold at least 20 files" "${elf:-none}"; fi
is "every DT_NEEDED of lib/ and libexec/ is in lib/" "$(grep '^MISSING ' "$T/elf.out")" ""
# no file anywhere in the tree is an x86-64 ELF (ELF header: e_machine 62)
x86=$(/usr/bin/python3 - "$TREE" <<'PY'
import os, struct, sys
for d, _, files in os.walk(sys.argv[1]):
    for n in files:
        p = os.path.join(d, n)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            h = f.read(20)
        if len(h) == 20 and h[:4] == b"\x7fELF" and struct.unpack("<H", h[18:20])[0] == 62:
            print(p)
PY
)
is "nothing in the tree is an x86-64 ELF" "$x86" ""
is "libexec/pib-agent asks for the aarch64 loader" \
	"$(readelf -lW "$TREE/libexec/pib-agent" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')" /lib/ld-linux-aarch64.so.1
# the carried loader (under qemu, without -L: nothing of a sysroot) resolves every library in the tree
if timeout -k 5 60 "$QEMU" "$TREE/lib/ld-linux-aarch64.so.1" --inhibit-cache --library-path "$TREE/lib" \
	--list "$TREE/libexec/pib-agent" >"$T/list.out" 2>&1; then
	outside=$(grep '=>' "$T/list.out" | grep -v "=> $TREE/lib/" | head -n 5)
	if [ -z "$outside" ] && [ "$(grep -c "=> $TREE/lib/" "$T/list.out")" -ge 10 ]; then
		ok "the carried loader resolves all $(grep -c '=>' "$T/list.out") libraries inside the tree"
	else
		fail "the carried loader resolves every library inside the tree" "$(head -n 40 "$T/list.out")"
	fi
else
	fail "the carried loader lists the program's libraries under qemu" "$(head -n 20 "$T/list.out")"
fi
if /usr/bin/python3 - "$TREE/sbom.cdx.json" >"$T/sbom.out" 2>&1 <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
assert b["bomFormat"] == "CycloneDX" and b["specVersion"] == "1.5", "not CycloneDX 1.5"
purls = [c.get("purl", "") for c in b["components"]]
assert purls, "no components"
amd = [p for p in purls if "arch=amd64" in p]
assert not amd, "amd64 packages listed: %s" % amd[:3]
arm = [p for p in purls if "arch=arm64" in p]
assert any(p.startswith("pkg:deb/debian/libc6@") for p in arm), "no arm64 libc6"
print(len(arm))
PY
then
	ok "the SBOM lists the carried Debian packages as arm64 ($(cat "$T/sbom.out")), none amd64"
else
	fail "the SBOM lists the carried Debian packages as arm64, none amd64" "$(tail -n 5 "$T/sbom.out")"
fi

# ----------------------------------------------------------------------------- running it
# Without an emulator this x86_64 machine cannot run the tree (unless the machine's own
# binfmt_misc has an aarch64 entry, which it has not here).
if [ "$(uname -m)" = x86_64 ] && ! grep -qs '^magic 7f454c46020101.*b700' /proc/sys/fs/binfmt_misc/*; then
	out=$(timeout -k 5 30 "$TREE/bin/pib-agent" --version 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && [ "$out" != "pib-agent $VERSION" ]; then
		ok "without an emulator the tree does not start here (exit $rc: $(head -c 120 <<<"$out"))"
	else
		fail "without an emulator the tree does not start here" "exit $rc" "$out"
	fi
fi

# The runners: $T/arm64 runs the tree's launcher inside a new user and mount namespace whose
# private binfmt_misc sends AArch64 ELF files to qemu-aarch64-static (F: the interpreter is
# opened now, so it works from any mount namespace). The kernel decodes the \x escapes.
REG=':pib-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'$QEMU':F'
UNSHARE=$(command -v unshare)
ENV=$(command -v env)
for v in "" envi; do
	cat >"$T/arm64$v" <<EOF
#!/bin/sh
# the arm64 tree's launcher with qemu-aarch64-static in a private binfmt_misc ($v)
exec $UNSHARE --user --map-root-user --mount /bin/sh -c '
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || exit 125
printf "%s" "\$1" >/proc/sys/fs/binfmt_misc/register || exit 125
shift
exec ${v:+$ENV -i} "\$@"' sh '$REG' '$TREE/bin/pib-agent' "\$@"
EOF
	chmod 0755 "$T/arm64$v"
done
# the fallback: qemu runs the carried loader directly
cat >"$T/arm64-qemu" <<EOF
#!/bin/sh
# the arm64 tree's program through qemu-aarch64-static and the carried loader
exec '$QEMU' '$TREE/lib/ld-linux-aarch64.so.1' --inhibit-cache --library-path '$TREE/lib' \
	--argv0 pib-agent '$TREE/libexec/pib-agent' "\$@"
EOF
chmod 0755 "$T/arm64-qemu"

LAUNCHER=1
out=$(timeout -k 5 60 "$T/arm64" --version 2>&1)
rc=$?
if [ "$rc" = 0 ]; then
	ok "a private binfmt_misc with qemu-aarch64-static (flag F) in a user namespace runs the tree's launcher"
	ARM=$T/arm64
else
	diag "no private binfmt_misc here (exit $rc: $out): qemu-aarch64-static runs the carried loader directly," \
		"the tree's launcher (bin/pib-agent) is not exercised"
	LAUNCHER=0
	ARM=$T/arm64-qemu
	out=$(timeout -k 5 60 "$ARM" --version 2>&1)
fi
is "arm64: --version" "$out" "pib-agent $VERSION"
if [ "$LAUNCHER" = 1 ]; then
	out=$(timeout -k 5 60 "$T/arm64envi" --version 2>&1)
	is "arm64: --version through the launcher under env -i" "$out" "pib-agent $VERSION"
	out=$(timeout -k 5 60 "$T/arm64" --help 2>&1)
	contains "arm64: --help through the launcher" "$out" "Usage: pib-agent COMMAND"
else
	ok "# SKIP env -i through the launcher (no private binfmt_misc)"
	ok "# SKIP --help through the launcher (no private binfmt_misc)"
fi
if [ -n "$X86" ]; then
	is "the x86_64 build says the same version" "$("$X86" --version 2>&1)" "pib-agent $VERSION"
fi

# runs: arm A ARGS... -> RC, $T/o, $T/e
arm() {
	TMPDIR=$T/agent-tmp timeout -k 10 120 "$ARM" "$@" </dev/null >"$T/o" 2>"$T/e"
	RC=$?
}
mkdir -p "$T/agent-tmp"

# ----------------------------------------------------------------------------- keygen
K=$T/keys
mkdir -p "$K"
arm keygen --out "$K/arm"
is "arm64: keygen exits 0" "$RC" 0
is "arm64: keygen's private key has mode 0600" "$(stat -c %a "$K/arm.key" 2>/dev/null)" 600
if openssl pkey -pubin -in "$K/arm.pub" -noout -text 2>/dev/null | grep -q '^ED25519 Public-Key'; then
	ok "arm64: keygen's public key is an Ed25519 key openssl reads"
else
	fail "arm64: keygen's public key is an Ed25519 key openssl reads" "$(head -c 300 "$K/arm.pub" 2>&1)"
fi
if openssl pkey -in "$K/arm.key" -pubout 2>/dev/null | cmp -s - "$K/arm.pub"; then
	ok "arm64: the public key belongs to the private key"
else
	fail "arm64: the public key belongs to the private key"
fi
before=$(sha256sum "$K/arm.key" "$K/arm.pub")
arm keygen --out "$K/arm"
if [ "$RC" != 0 ] && [ "$(sha256sum "$K/arm.key" "$K/arm.pub")" = "$before" ]; then
	ok "arm64: keygen never overwrites (exit $RC, keys unchanged)"
else
	fail "arm64: keygen never overwrites" "exit $RC"
fi
arm keygen --out "$K/other"
[ "$RC" = 0 ] || bail_out "arm64 keygen of a second key failed: $(head -n 5 "$T/e")"

# ----------------------------------------------------------------------------- scan
DB=$T/db
make_db "$DB"
C=$T/clean
D=$T/dirty
mkdir -p "$C" "$D"
echo "nothing to see" >"$C/readme.txt"
head -c 200000 /dev/urandom >"$C/random.bin"
cp "$TREE/lib/libz.so.1" "$C/libz.so.1"
eicar >"$D/eicar.com"
cp "$TESTFILES/clam.exe" "$D/clam.exe"
echo "clean neighbour" >"$D/note.txt"
debpkg "$D/pib-evil.deb" pib-evil "usr/share/pib-evil/eicar.com=$D/eicar.com"

PIB_AGENT=$ARM
agent_run scan "$C" --db "$DB" --key "$K/arm.key"
is "arm64: scan of clean files: exit 0" "$RC" 0
facts scan.files_scanned scan.detections status
is "arm64: scan of clean files: 3 files scanned" "$(fact scan.files_scanned)" 3
is "arm64: scan of clean files: no detection" "$(detections)" ""
cp "$REPORT" "$T/clean-arm.json"

agent_run scan "$D" --db "$DB" --key "$K/arm.key"
is "arm64: scan of ClamAV's test file, EICAR and a .deb carrying it: exit 1" "$RC" 1
DET_ARM=$(detections | cut -d'|' -f1-4)
is "arm64: each detection named with its signature (and the .deb's member)" "$DET_ARM" \
	"$D/clam.exe|||$CLAM_SIG
$D/eicar.com|||$EICAR_SIG
$D/pib-evil.deb|usr/share/pib-evil/eicar.com|pib-evil|$EICAR_SIG"
is "arm64: the report's status is findings" "$(rep status)" findings
cp "$REPORT" "$T/dirty-arm.json"

# ----------------------------------------------------------------------------- verify, show
arm verify "$T/dirty-arm.json" --pubkey "$K/arm.pub"
is "arm64: verify of its own signed report: exit 0" "$RC" 0
contains "arm64: verify says the signature is valid" "$(cat "$T/o")" "valid"
arm verify "$T/dirty-arm.json" --pubkey "$K/arm.pub" --json
if [ "$RC" = 0 ] && grep -qF "$CLAM_SIG" "$T/o"; then
	ok "arm64: verify --json prints the signed Statement naming the detection"
else
	fail "arm64: verify --json prints the signed Statement naming the detection" "exit $RC" "$(head -c 400 "$T/o")"
fi
arm verify "$T/dirty-arm.json" --pubkey "$K/other.pub"
is "arm64: verify with another key: exit 1" "$RC" 1
# tampered: the Statement's status changed, the signature left as it was
/usr/bin/python3 - "$T/dirty-arm.json" "$T/tampered.json" <<'PY' || bail_out "cannot tamper with the report"
import base64, json, sys
env = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(env["payload"]))
assert st["predicate"]["status"] == "findings"
st["predicate"]["status"] = "succeeded"
st["predicate"]["scan"]["detections"] = []
env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
json.dump(env, open(sys.argv[2], "w"))
PY
arm verify "$T/tampered.json" --pubkey "$K/arm.pub"
is "arm64: verify of a tampered report (status and detections changed): exit 1" "$RC" 1
arm verify "$T/tampered.json" --pubkey "$K/arm.pub" --json
lacks_out=$(grep -c succeeded "$T/o")
is "arm64: a tampered report's Statement is not printed" "$lacks_out" 0
arm show "$T/dirty-arm.json" --pubkey "$K/arm.pub" --html "$T/dirty.html"
if [ "$RC" = 0 ] && grep -qi '<html' "$T/dirty.html" 2>/dev/null && grep -qF "$CLAM_SIG" "$T/dirty.html"; then
	ok "arm64: show --html writes a page naming the detection"
else
	fail "arm64: show --html writes a page naming the detection" "exit $RC" "$(head -n 5 "$T/e")"
fi

# ----------------------------------------------------------------------------- against the x86_64 build
if [ -n "$X86" ]; then
	PIB_AGENT=$X86
	agent_run scan "$D" --db "$DB"
	is "x86_64: the same files give the same detections" "$(detections | cut -d'|' -f1-4)" "$DET_ARM"
	"$X86" verify "$T/dirty-arm.json" --pubkey "$K/arm.pub" >"$T/o" 2>&1
	is "x86_64 verifies the report the arm64 tree signed: exit 0" "$?" 0
	"$X86" verify "$T/tampered.json" --pubkey "$K/arm.pub" >"$T/o" 2>&1
	is "x86_64: the tampered one: exit 1" "$?" 1
	"$X86" keygen --out "$K/x86" >"$T/o" 2>&1 || bail_out "x86_64 keygen failed: $(cat "$T/o")"
	agent_run scan "$C" --db "$DB" --key "$K/x86.key"
	cp "$REPORT" "$T/clean-x86.json"
	arm verify "$T/clean-x86.json" --pubkey "$K/x86.pub"
	is "arm64 verifies a report the x86_64 build signed: exit 0" "$RC" 0
	arm verify "$T/clean-x86.json" --pubkey "$K/arm.pub"
	is "arm64: the x86_64 report with the arm64 key: exit 1" "$RC" 1
else
	diag "PIB_AGENT unset: no comparison with the x86_64 build"
fi

done_testing
