#!/bin/bash
# SPDX-License-Identifier: MIT
# Each bundle member counted once, the bundle read once (issue 9, attacks 8 and 9).
# Aliases: a .deb holding 256 MiB of zeros (about 650 KB packed, 400 KB of it noise) and symlink members naming it.
# 40 of them listed in one target (the attack: prescan read the .deb 41 times, 11 GB) are
# refused at open as bundle.duplicate_package; 4000 of them (the attack that runs for hours;
# a target lists at most 4096 packages) are refused as bundle.too_large, the links counted as
# copies against the 100x ratio. Both in
# seconds, with a report naming the bundle by its digest. The swap: a watcher renames another
# bundle over the path as soon as the agent opens it; the report's digest, product and
# packages are all the first bundle's (the agent before this hashed one open file and read
# another: the digest of the first, the product of the second).
. "$(dirname "$0")/lib.sh"
setup

ZEROS_MIB=256
d=$T/zeros-pkg
mkdir -p "$d/DEBIAN" "$d/usr/share/zeros"
printf '%s\n' "Package: zeros" "Version: 1.0" "Architecture: all" \
	"Maintainer: pib-agent tests <tests@example.invalid>" "Description: 256 MiB of zeros" >"$d/DEBIAN/control"
truncate -s "${ZEROS_MIB}M" "$d/usr/share/zeros/zeros"
# and 400 KiB of noise, so that the .deb does not pack smaller again inside the bundle (the
# attack's .deb was 442 KB in a 404 KB bundle): 40 copies stay under the 100x ratio
head -c $((400 << 10)) /dev/urandom >"$d/usr/share/zeros/noise"
dpkg-deb --root-owner-group -Zgzip --build "$d" "$T/zeros_1.0_all.deb" >/dev/null ||
	bail_out "dpkg-deb --build zeros failed"
rm -rf "$d"
diag "zeros_1.0_all.deb: $(stat -c %s "$T/zeros_1.0_all.deb") bytes, ${ZEROS_MIB} MiB unpacked"

# alias_bundle OUT N: the .deb and N symlinks to it, all listed in the one debian target.
alias_bundle() {
	"$PYTHON" - "$TOOLS_DIR" "$T/zeros_1.0_all.deb" "$1" "$2" <<'PY' || bail_out "alias bundle $1"
import json, sys
sys.path.insert(0, sys.argv[1])
import mkbundle
deb, out, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
m = mkbundle.default_manifest([deb])
sha = mkbundle.sha256_file(deb)
pkgs = m["targets"][0]["packages"]
pkgs[0] = {"file": "debs/zeros_1.0_all.deb", "sha256": sha}
b = mkbundle.Bundle()
aliases = ["debs/alias-%04d.deb" % i for i in range(n)]
pkgs += [{"file": a, "sha256": sha} for a in aliases]
b.add("bytes", "manifest.json", json.dumps(m).encode())
b.add("file", "debs/zeros_1.0_all.deb", deb)
for a in aliases:
    b.add("symlink", a, "zeros_1.0_all.deb")
b.write(out, "tar.gz")
PY
}

# refused LABEL BUNDLE CODE: the run ends at open, quickly, with CODE and the bundle's digest.
refused() {
	local label=$1 b=$2 code=$3 t0 t1 secs
	t0=$(date +%s)
	validate "$b" --no-scan
	t1=$(date +%s)
	secs=$((t1 - t0))
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	is "$label: error.code" "$(rep error.code)" "$code"
	is "$label: the open step failed" "$(rep 'steps[name=open].status')" failed
	is "$label: no prescan ran" "$(rep 'steps[name=prescan].status')" ""
	is "$label: the report names the bundle by its digest" "$(rep bundle.sha256)" "$(sha256_of "$b")"
	contains "$label: stderr has the error code" "$(agent_stderr)" "$code"
	if [ "$secs" -le 60 ]; then
		ok "$label: refused in $secs s"
	else
		fail "$label: refused within 60 s" "took $secs s"
	fi
}

alias_bundle "$T/aliases-40.tar.gz" 40
diag "aliases-40.tar.gz: $(stat -c %s "$T/aliases-40.tar.gz") bytes"
refused "40 aliases in one target" "$T/aliases-40.tar.gz" bundle.duplicate_package
contains "40 aliases: the message names the link" "$(agent_stderr)" '(a link to "debs/zeros_1.0_all.deb")'

alias_bundle "$T/aliases-4000.tar.gz" 4000
diag "aliases-4000.tar.gz: $(stat -c %s "$T/aliases-4000.tar.gz") bytes"
refused "4000 aliases" "$T/aliases-4000.tar.gz" bundle.too_large
contains "4000 aliases: counted as copies" "$(agent_stderr)" "counted as a copy"

# --- the swap: the bundle renamed over between the agent's open and its reading
"$PYTHON" -c '
import json, sys
sys.path.insert(0, sys.argv[1])
import mkbundle
for name, deb, out in (("first-product", sys.argv[2], sys.argv[4]), ("second-product", sys.argv[3], sys.argv[5])):
    m = mkbundle.default_manifest([deb])
    m["product"]["name"] = name
    json.dump(m, open(out, "w"))
' "$TOOLS_DIR" "$DEB_HELLO" "$DEB_FIGLET" "$T/first.json" "$T/second.json" || bail_out "swap manifests"
mkdir -p "$T/swap"
mkbundle "$T/swap/bundle.tar.gz" --manifest "$T/first.json"
mkbundle "$T/swap/other.tar.gz" --manifest "$T/second.json"
# 128 MiB after the archive's end: the old agent's hashing of the first file takes a while,
# so the watcher's rename lands before its second open; the one-open agent drains them
head -c $((128 << 20)) /dev/zero >>"$T/swap/bundle.tar.gz"
FIRST_SHA=$(sha256_of "$T/swap/bundle.tar.gz")
SECOND_SHA=$(sha256_of "$T/swap/other.tar.gz")

# the watcher: inotify (through ctypes) on the directory; at the first IN_OPEN of
# bundle.tar.gz it renames other.tar.gz over it, and says so in $T/swapped
"$PYTHON" - "$T/swap" "$T/watcher-ready" "$T/swapped" <<'PY' &
import ctypes, os, struct, sys
d, ready, swapped = sys.argv[1:4]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
IN_OPEN = 0x20
if fd < 0 or libc.inotify_add_watch(fd, d.encode(), IN_OPEN) < 0:
    sys.exit("inotify: %s" % os.strerror(ctypes.get_errno()))
open(ready, "w").close()
while True:
    buf = os.read(fd, 65536)
    off = 0
    while off < len(buf):
        wd, mask, cookie, ln = struct.unpack_from("iIII", buf, off)
        name = buf[off + 16:off + 16 + ln].rstrip(b"\0").decode()
        off += 16 + ln
        if name == "bundle.tar.gz":
            os.rename(os.path.join(d, "other.tar.gz"), os.path.join(d, "bundle.tar.gz"))
            open(swapped, "w").close()
            sys.exit(0)
PY
WATCHER=$!
for _ in $(seq 100); do
	[ -e "$T/watcher-ready" ] && break
	sleep 0.1
done
[ -e "$T/watcher-ready" ] || bail_out "the inotify watcher did not start"
validate "$T/swap/bundle.tar.gz" --no-scan --dry-run
wait "$WATCHER"
check "swap: the watcher renamed the other bundle over the path after the agent opened it" test -e "$T/swapped"
is "swap: the path now holds the other bundle" "$(sha256_of "$T/swap/bundle.tar.gz")" "$SECOND_SHA"
is "swap: exit code 0 (dry run)" "$RC" 0
report_exists swap
is "swap: the report's digest is of the bundle the agent opened" "$(rep bundle.sha256)" "$FIRST_SHA"
is "swap: so is the report's subject" \
	"$("$PYTHON" "$TOOLS_DIR/report.py" --statement "$REPORT" 'subject[name=bundle].digest.sha256')" "$FIRST_SHA"
is "swap: the product is that bundle's" "$(rep bundle.product.name)" first-product
is "swap: the packages are that bundle's" "$(rep packages.name | tr '\n' ' ')" "hello "

done_testing
