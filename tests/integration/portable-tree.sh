#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 12: the portable tree (packaging/portable.sh) runs on images that have none of its
# libraries, and leaks nothing of itself into the children it starts.
# The tarball is made into a cache folder (PIB_PORTABLE_CACHE, default /var/tmp/pib-portable-test)
# (or PIB_PORTABLE_TARBALL names one made already) and unpacked, under a folder whose name has a
# space, into two roots:
#   deb11    a copy of a Debian 11 minbase root (tests/tools/make-deb11-root.sh; glibc 2.31,
#            older than the build's 2.36);
#   busybox  a root holding nothing but a static busybox (its applets as links) and the tree.
# In each, through chroot with a /proc of its own private mount namespace, and each time both
# with the test's environment and under `env -i`: --version (also through absolute and relative
# links from another folder), keygen, scan of clean files and of ClamAV's test file with a
# sigtool-made database, verify (and a report signed by another key refused), show --html; the
# carried loader resolves every library of the program inside the tree (--list). The tree's
# contents: licences per Debian package, an SBOM (CycloneDX 1.5) listing every file of lib/ with
# its SHA-256, a tarball with owner 0 and one mtime.
# In deb11 only: the jq fixtures bundle for a debian-11 target (Debian 12's libjq1 needs
# libc6 >= 2.36, bullseye has 2.31) stops at resolve naming libc6; then a real
# `validate --root /` of a bundle for debian 11 (a probe package built here whose postinst
# records its environment, `ldd /usr/bin/dpkg` and dpkg's mapped files; Debian 12's figlet and
# libonig5, whose dependencies bullseye meets), run under env -i: while it waits on the
# root's dpkg frontend lock (held by this test), /proc/PID/maps of the agent shows the tree's
# libc and not the root's, and its environment has no LD_* and nothing of the tree; the
# install succeeds, and the postinst saw nothing of the tree and dpkg ran on the root's libc.
# The signed report made in deb11 verifies in the busybox root too.
. "$(dirname "$0")/lib.sh"
setup --no-agent
[ "$(id -u)" = 0 ] || bail_out "needs root (chroot, unshare, mount)"
for tool in unshare chroot busybox readelf mmdebstrap sigtool dpkg-deb flock; do
	command -v "$tool" >/dev/null || bail_out "$tool is missing"
done
BUSYBOX=$(command -v busybox)
readelf -lW "$BUSYBOX" | grep -q 'program interpreter' && bail_out "$BUSYBOX is not static (apt-get install busybox-static)"

# ----------------------------------------------------------------------------- the tarball
CACHE=${PIB_PORTABLE_CACHE:-/var/tmp/pib-portable-test}
start=$(date +%s)
if [ -n "${PIB_PORTABLE_TARBALL:-}" ]; then
	TARBALL=$PIB_PORTABLE_TARBALL   # a tarball made already (not rebuilt)
else
	TARBALL=$("$REPO_DIR/packaging/portable.sh" "$CACHE" 2>"$T/portable.err" | tail -n 1)
fi
[ -n "$TARBALL" ] && [ -f "$TARBALL" ] || bail_out "packaging/portable.sh failed: $(tail -n 20 "$T/portable.err")"
diag "tarball: $TARBALL ($(( $(date +%s) - start )) s), $(du -k "$TARBALL" | cut -f1) KB"
NAME=$(basename "$TARBALL" .tar.gz)
VERSION=${NAME#pib-agent-}
VERSION=${VERSION%-x86_64}
case $NAME in pib-agent-*-x86_64) ok "the tarball is named pib-agent-VERSION-x86_64.tar.gz ($NAME)" ;; *) fail "the tarball is named pib-agent-VERSION-x86_64.tar.gz" "$NAME" ;; esac

tar -tvzf "$TARBALL" >"$T/listing.txt" || bail_out "tar -t $TARBALL failed"
bad=$(awk '$2 != "0/0" { print }' "$T/listing.txt" | head -n 5)
is "every tarball member is owned by 0/0" "$bad" ""
is "every tarball member has the same mtime" "$(awk '{ print $4, $5 }' "$T/listing.txt" | sort -u | wc -l)" 1
bad=$(awk '{ print $6 }' "$T/listing.txt" | grep -v "^$NAME/" | head -n 5)
is "every member is under $NAME/" "$bad" ""

# ----------------------------------------------------------------------------- the tree itself
U=$T/unpacked
mkdir -p "$U"
tar -C "$U" -xzf "$TARBALL" || bail_out "cannot unpack $TARBALL"
TREE=$U/$NAME
for f in bin/pib-agent libexec/pib-agent lib/ld-linux-x86-64.so.2 lib/libc.so.6 share/man/man1/pib-agent.1 \
	sbom.cdx.json share/licenses/pib-agent/LICENSE share/licenses/libc6/copyright; do
	if [ -s "$TREE/$f" ]; then ok "the tree has $f"; else fail "the tree has $f"; fi
done
if readelf -dW "$TREE/libexec/pib-agent" | grep -qE '\((RPATH|RUNPATH)\)'; then
	fail "libexec/pib-agent has no RPATH/RUNPATH"
else
	ok "libexec/pib-agent has no RPATH/RUNPATH"
fi
# the SBOM: CycloneDX 1.5, the agent, and every file of lib/ under a Debian package with its
# SHA-256; a licence file for every package it names
if /usr/bin/python3 - "$TREE" >"$T/sbom.out" 2>&1 <<'PY'
import hashlib, json, os, sys
tree = sys.argv[1]
b = json.load(open(os.path.join(tree, "sbom.cdx.json")))
errs = []
if b.get("bomFormat") != "CycloneDX" or b.get("specVersion") != "1.5":
    errs.append("not CycloneDX 1.5: %r %r" % (b.get("bomFormat"), b.get("specVersion")))
if b["metadata"]["component"].get("name") != "pib-agent":
    errs.append("metadata.component is not pib-agent")
listed = {}
for c in b["components"]:
    if not c.get("purl", "").startswith("pkg:deb/debian/%s@" % c["name"]) or "arch=amd64" not in c["purl"]:
        errs.append("bad purl %r" % c.get("purl"))
    lic = os.path.join(tree, "share/licenses", c["name"], "copyright")
    if not os.path.isfile(lic) or os.path.getsize(lic) == 0:
        errs.append("no licence file for %s" % c["name"])
    for f in c.get("components", []):
        listed[f["name"]] = (c["name"], f["hashes"][0]["content"])
libs = sorted("lib/" + n for n in os.listdir(os.path.join(tree, "lib")))
for l in libs:
    if l not in listed:
        errs.append("%s is not in the SBOM" % l)
        continue
    h = hashlib.sha256(open(os.path.join(tree, l), "rb").read()).hexdigest()
    if h != listed[l][1]:
        errs.append("%s: SHA-256 in the SBOM differs" % l)
for l in listed:
    if l not in libs:
        errs.append("the SBOM lists %s, not in lib/" % l)
print("%d files of lib/ in %d packages" % (len(libs), len(b["components"])))
print("libc.so.6 from %s" % listed.get("lib/libc.so.6", ("?",))[0])
for e in errs:
    print("ERROR " + e)
sys.exit(1 if errs else 0)
PY
then
	ok "sbom.cdx.json is CycloneDX 1.5, lists every file of lib/ by Debian package with its SHA-256, each package has its licence: $(head -n 1 "$T/sbom.out")"
else
	fail "sbom.cdx.json lists every file of lib/ by package, with licences" "$(head -n 20 "$T/sbom.out")"
fi
contains "libc.so.6 is libc6's in the SBOM" "$(cat "$T/sbom.out")" "libc.so.6 from libc6"

# The SBOM against the official CycloneDX 1.5 JSON schema, vendored in tests/cyclonedx (from the
# npm package @cyclonedx/cyclonedx-library 10.3.0; see its README)
if /usr/bin/python3 "$REPO_DIR/packaging/portable/validate-sbom.py" "$REPO_DIR/tests/cyclonedx" "$TREE/sbom.cdx.json" >"$T/cdx.out" 2>&1; then
	ok "sbom.cdx.json is valid against the CycloneDX 1.5 JSON schema"
else
	fail "sbom.cdx.json is valid against the CycloneDX 1.5 JSON schema" "$(head -n 20 "$T/cdx.out")"
fi

# ----------------------------------------------------------------------------- roots
TP="/opt/pib tree/$NAME"   # the tree's path inside each root: a space in it
A=$TP/bin/pib-agent

# inroot ROOT CMD...: CMD chrooted into ROOT, with ROOT's /proc mounted in a private mount
# namespace (gone when the command ends), bounded in time. Sets RC; stdout, stderr in $T/o, $T/e.
inroot() {
	local r=$1
	shift
	timeout -k 5 300 unshare -m --propagation private -- /bin/sh -c \
		'r=$1; shift; mount -t proc proc "$r/proc" || exit 125; exec chroot "$r" "$@"' sh "$r" "$@" \
		</dev/null >"$T/o" 2>"$T/e"
	RC=$?
}

R1=$T/deb11
R2=$T/busybox
DEB11=$("$TOOLS_DIR/make-deb11-root.sh" 2>"$T/deb11.err" | tail -n 1) ||
	bail_out "make-deb11-root.sh failed: $(tail -n 20 "$T/deb11.err")"
cp -a "$DEB11" "$R1" || bail_out "cp -a $DEB11 failed"

mkdir -p "$R2/proc" "$R2/tmp" "$R2/dev" "$R2/root" "$R2/etc"
chmod 1777 "$R2/tmp"
mkdir -p "$R2/bin"
install -m 0755 "$BUSYBOX" "$R2/bin/busybox"
while read -r applet; do
	[ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
	mkdir -p "$R2/$(dirname "$applet")"
	ln -sf /bin/busybox "$R2/$applet"
done < <("$BUSYBOX" --list-full)
mknod -m 666 "$R2/dev/null" c 1 3 && mknod -m 666 "$R2/dev/zero" c 1 5 &&
	mknod -m 666 "$R2/dev/random" c 1 8 && mknod -m 666 "$R2/dev/urandom" c 1 9 || bail_out "mknod failed"

for R in "$R1" "$R2"; do
	mkdir -p "$R/opt/pib tree" "$R/tmp/files" "$R/tmp/elsewhere" "$R/usr/local/bin"
	tar -C "$R/opt/pib tree" -xzf "$TARBALL" || bail_out "cannot unpack into $R"
	"$REPO_DIR/tests/scan/make-db.sh" "$R/tmp/db" >/dev/null 2>&1 || bail_out "tests/scan/make-db.sh failed"
	printf 'a clean file\n' >"$R/tmp/files/clean1.txt"
	head -c 100000 /dev/urandom >"$R/tmp/files/clean2.bin"
	cp /usr/share/clamav-testfiles/clam.exe "$R/tmp/clam.exe"
	ln -s "$A" "$R/usr/local/bin/pib-agent"
	ln -s "../opt/pib tree/$NAME/bin/pib-agent" "$R/tmp/rel-link"
done
# the busybox root: nothing but busybox and the tree (no library of any kind outside the tree)
others=$(cd "$R2" && find . \( -type f -o -type l \) -not -path "./opt/pib tree/*" -not -path './tmp/*' \
	-not -path './dev/*' -not -path ./usr/local/bin/pib-agent -exec sh -c 'for f; do [ "$(readlink "$f")" = /bin/busybox ] || echo "$f"; done' sh {} + | grep -vx './bin/busybox')
is "the busybox root holds nothing but busybox, its links and the tree" "$others" ""
is "the busybox root has no library outside the tree" \
	"$(cd "$R2" && find . -name '*.so*' -not -path "./opt/pib tree/*" | head -n 3)" ""

# ----------------------------------------------------------------------------- in each root
# run_agent ROOT MODE ARGS...: the tree's launcher in ROOT, MODE plain (the test's environment)
# or envi (env -i).
run_agent() {
	local r=$1 mode=$2
	shift 2
	if [ "$mode" = envi ]; then
		inroot "$r" /usr/bin/env -i "$A" "$@"
	else
		inroot "$r" "$A" "$@"
	fi
}

for R in "$R1" "$R2"; do
	rn=$(basename "$R")
	# the carried loader resolves every library of the program inside the tree
	inroot "$R" "$TP/lib/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$TP/lib" --list "$TP/libexec/pib-agent"
	n_all=$(grep -c '=>' "$T/o")
	outside=$(grep '=>' "$T/o" | grep -vF "=> $TP/lib/" | head -n 5)
	if [ "$RC" = 0 ] && [ "$n_all" -ge 20 ] && [ -z "$outside" ]; then
		ok "$rn: the carried loader finds all $n_all libraries of the program in the tree"
	else
		fail "$rn: the carried loader finds all libraries of the program in the tree" "exit $RC, $n_all libraries" "$outside" "$(head -n 5 "$T/e")"
	fi
	inroot "$R" "$TP/lib/ld-linux-x86-64.so.2" --version
	diag "$rn: the tree's loader: $(head -n 1 "$T/o")"

	for mode in plain envi; do
		l="$rn, $mode"
		run_agent "$R" "$mode" --version
		is "$l: --version" "$RC $(cat "$T/o")" "0 pib-agent $VERSION"
		if [ "$mode" = envi ]; then
			inroot "$R" /usr/bin/env -i /bin/sh -c 'cd /tmp/elsewhere && /usr/local/bin/pib-agent --version'
		else
			inroot "$R" /bin/sh -c 'cd /tmp/elsewhere && PATH=/usr/local/bin:$PATH && pib-agent --version'
		fi
		is "$l: --version through an absolute link, from another folder" "$RC $(cat "$T/o")" "0 pib-agent $VERSION"
		if [ "$mode" = envi ]; then
			inroot "$R" /usr/bin/env -i /bin/sh -c 'cd / && /tmp/rel-link --version'
		else
			inroot "$R" /bin/sh -c 'cd / && /tmp/rel-link --version'
		fi
		is "$l: --version through a relative link" "$RC $(cat "$T/o")" "0 pib-agent $VERSION"

		run_agent "$R" "$mode" keygen --out "/tmp/k-$mode"
		if [ "$RC" = 0 ] && [ -s "$R/tmp/k-$mode.key" ] && [ -s "$R/tmp/k-$mode.pub" ]; then
			ok "$l: keygen"
		else
			fail "$l: keygen" "exit $RC" "$(head -n 5 "$T/e")"
		fi

		run_agent "$R" "$mode" scan /tmp/files --db /tmp/db --key "/tmp/k-$mode.key" --report "/tmp/clean-$mode.json"
		if [ "$RC" = 0 ] && [ -s "$R/tmp/clean-$mode.json" ]; then
			ok "$l: scan of clean files: exit 0, a report"
		else
			fail "$l: scan of clean files: exit 0, a report" "exit $RC" "$(tail -n 5 "$T/e")"
		fi
		run_agent "$R" "$mode" scan /tmp/clam.exe /tmp/files --db /tmp/db --key "/tmp/k-$mode.key" --report "/tmp/dirty-$mode.json"
		is "$l: scan of ClamAV's test file: exit 1" "$RC" 1

		run_agent "$R" "$mode" verify "/tmp/dirty-$mode.json" --pubkey "/tmp/k-$mode.pub" --json
		if [ "$RC" = 0 ] && grep -q 'ClamAV-Test-File' "$T/o"; then
			ok "$l: verify of the signed scan report: valid, and it names ClamAV-Test-File"
		else
			fail "$l: verify of the signed scan report" "exit $RC" "$(head -c 600 "$T/o")" "$(head -n 5 "$T/e")"
		fi
		other=plain
		[ "$mode" = plain ] && other=envi
		if [ -s "$R/tmp/k-$other.pub" ]; then
			run_agent "$R" "$mode" verify "/tmp/clean-$mode.json" --pubkey "/tmp/k-$other.pub"
			is "$l: verify with another key: exit 1" "$RC" 1
		fi

		run_agent "$R" "$mode" show "/tmp/clean-$mode.json" --pubkey "/tmp/k-$mode.pub" --html "/tmp/clean-$mode.html"
		if [ "$RC" = 0 ] && grep -qi '<html' "$R/tmp/clean-$mode.html" 2>/dev/null; then
			ok "$l: show --html writes a page"
		else
			fail "$l: show --html writes a page" "exit $RC" "$(head -n 5 "$T/e")"
		fi
	done
done

# ----------------------------------------------------------------------------- deb11: validate
# The jq bundle, for a debian 11 target: Debian 12's libjq1 needs libc6 >= 2.36.
cat >"$T/jq.json" <<EOF
{"schema": "pib-agent/bundle/v1",
 "product": {"name": "jq-on-bullseye", "version": "1.0", "seller": "pib-agent tests"},
 "targets": [{"name": "debian11", "os": [{"id": "debian", "versions": ["11"]}], "arch": ["x86_64"],
   "installer": "deb", "packages": [
     {"file": "debs/$(basename "$DEB_JQ")", "_src": "$DEB_JQ"},
     {"file": "debs/$(basename "$DEB_LIBJQ1")", "_src": "$DEB_LIBJQ1"},
     {"file": "debs/$(basename "$DEB_LIBONIG5")", "_src": "$DEB_LIBONIG5"}]}]}
EOF
mkbundle "$R1/tmp/jq.tar.gz" --manifest "$T/jq.json"
snap "$R1/var/lib/dpkg" "$R1/usr/bin" >"$T/jq-before.snap"
run_agent "$R1" plain validate /tmp/jq.tar.gz --root / --db /tmp/db --key /tmp/k-plain.key --report /tmp/jq-report.json
diag "jq bundle on Debian 11: exit $RC; resolve: $(rep 'steps[name=resolve].error.message' "$R1/tmp/jq-report.json" | head -c 400)"
is "deb11: the jq bundle (Debian 12's) stops at resolve: exit 2" "$RC" 2
is "deb11: its resolve step failed" "$(rep 'steps[name=resolve].status' "$R1/tmp/jq-report.json")" failed
contains "deb11: the resolve error names libc6" "$(rep 'steps[name=resolve].error' "$R1/tmp/jq-report.json")" libc6
snap "$R1/var/lib/dpkg" "$R1/usr/bin" >"$T/jq-after.snap"
same_tree "deb11: nothing was installed by the refused jq bundle" "$T/jq-before.snap" "$T/jq-after.snap"

# The probe bundle: a package built here whose postinst records what it sees, and Debian 12
# packages whose dependencies bullseye meets.
cat >"$T/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	{
		echo "== env"
		env
		echo "== ldd /usr/bin/dpkg"
		ldd /usr/bin/dpkg
		echo "== parent"
		tr '\0' ' ' </proc/$PPID/cmdline
		echo
		echo "== parent maps"
		awk '$6 ~ /^\// { print $6 }' /proc/$PPID/maps | sort -u
	} >/root/pib-probe.out 2>&1
fi
exit 0
EOF
mkdeb "$T/pib-probe_1.0_all.deb" pib-probe 1.0 postinst="$T/postinst"
cat >"$T/probe.json" <<EOF
{"schema": "pib-agent/bundle/v1",
 "product": {"name": "probe-on-bullseye", "version": "1.0", "seller": "pib-agent tests"},
 "targets": [{"name": "debian11", "os": [{"id": "debian", "versions": ["11"]}], "arch": ["x86_64"],
   "installer": "deb", "packages": [
     {"file": "debs/pib-probe_1.0_all.deb", "_src": "$T/pib-probe_1.0_all.deb"},
     {"file": "debs/$(basename "$DEB_FIGLET")", "_src": "$DEB_FIGLET"},
     {"file": "debs/$(basename "$DEB_LIBONIG5")", "_src": "$DEB_LIBONIG5"}]}]}
EOF
mkbundle "$R1/tmp/probe.tar.gz" --manifest "$T/probe.json"

# Hold the root's dpkg frontend lock, so that the agent waits at its install step: then its
# maps and environment can be read while it runs.
exec 7>>"$R1/var/lib/dpkg/lock-frontend"
flock 7
unshare -m --propagation private -- /bin/sh -c \
	'r=$1; shift; mount -t proc proc "$r/proc" || exit 125; exec chroot "$r" "$@"' sh "$R1" \
	/usr/bin/env -i "$A" validate /tmp/probe.tar.gz --root / --db /tmp/db --key /tmp/k-envi.key \
	--report /tmp/probe-report.json </dev/null >"$T/probe.out" 2>"$T/probe.err" 7>&- &
pid=$!
libc_tree="$R1$TP/lib/libc.so.6"
seen=0
for _ in $(seq 1 300); do
	if [ -r "/proc/$pid/maps" ] && grep -qF "$libc_tree" "/proc/$pid/maps" 2>/dev/null &&
		find "/proc/$pid/fd" -lname '*/var/lib/dpkg/lock-frontend' 2>/dev/null | grep -q .; then
		seen=1
		cp "/proc/$pid/maps" "$T/agent.maps" 2>/dev/null
		tr '\0' '\n' <"/proc/$pid/environ" >"$T/agent.environ" 2>/dev/null
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
flock -u 7
exec 7>&-
if [ "$seen" = 1 ]; then
	ok "deb11: the running agent (pid $pid) was seen at its install step"
	libcs=$(awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' "$T/agent.maps" | grep -E '/libc[.-][^/]*$' | sort -u)
	is "deb11: the agent's mapped C library is the tree's lib/libc.so.6, and only that" "$libcs" "$libc_tree"
	other_libs=$(awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' "$T/agent.maps" | grep '\.so' |
		grep -vF "$R1$TP/lib/" | sort -u | head -n 5)
	is "deb11: every library the agent maps is from the tree" "$other_libs" ""
	diag "the agent's environment under env -i: $(tr '\n' ' ' <"$T/agent.environ")"
	is "deb11: the agent's environment has no LD_* variable" "$(grep -E '^LD_' "$T/agent.environ")" ""
	is "deb11: the agent's environment names nothing of the tree" "$(grep -F "pib tree" "$T/agent.environ")" ""
else
	fail "deb11: the running agent was seen at its install step" "$(tail -n 10 "$T/probe.err")"
fi
# bounded: wait at most 400 s for the agent, then kill it
timeout 400 tail --pid="$pid" -f /dev/null
kill -9 "$pid" 2>/dev/null
wait "$pid"
RC=$?
REPORT=$R1/tmp/probe-report.json
diag "probe bundle: exit $RC; install: tool $(rep 'steps[name=install].tool'), $(rep 'steps[name=install].duration_ms') ms"
is "deb11: validate --root / of the probe bundle under env -i: exit 0" "$RC" 0
[ "$RC" = 0 ] || diag "$(tail -n 15 "$T/probe.err")"
is "deb11: the report says succeeded" "$(rep status)" succeeded
for p in pib-probe figlet libonig5; do
	is "deb11: $p is 'install ok installed' in the root" "$(dpkg_status "$R1" "$p")" "install ok installed"
done
inroot "$R1" /usr/bin/figlet ok
[ "$RC" = 0 ] || inroot "$R1" /usr/games/figlet ok
if [ "$RC" = 0 ] && [ -s "$T/o" ]; then ok "deb11: Debian 12's figlet runs in the root"; else fail "deb11: Debian 12's figlet runs in the root" "$(cat "$T/e")"; fi

P=$R1/root/pib-probe.out
if [ -s "$P" ]; then
	ok "deb11: the postinst run by the agent's install wrote its record"
	probe=$(cat "$P")
	diag "postinst record:" "$(head -n 40 "$P")"
	contains "deb11: the postinst's parent is dpkg" "$(sed -n '/^== parent$/,/^== parent maps/p' "$P")" dpkg
	contains "deb11: the postinst has an environment (PATH)" "$(sed -n '/^== env/,/^== ldd/p' "$P")" "PATH="
	is "deb11: the postinst's environment has no LD_LIBRARY_PATH, LD_PRELOAD or other LD_*" \
		"$(sed -n '/^== env/,/^== ldd/p' "$P" | grep -E '^LD_')" ""
	is "deb11: nothing of the tree appears in the postinst's record" "$(grep -F -e "pib tree" -e "$NAME" "$P")" ""
	contains "deb11: ldd /usr/bin/dpkg: the root's own libc" "$probe" "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"
	contains "deb11: dpkg has the root's glibc 2.31 mapped" "$(sed -n '/^== parent maps/,$p' "$P")" "libc-2.31.so"
else
	fail "deb11: the postinst run by the agent's install wrote its record" "$(tail -n 10 "$T/probe.err")"
fi

# the report signed in deb11 verifies in the busybox root (and in deb11)
cp "$REPORT" "$R2/tmp/probe-report.json"
cp "$R1/tmp/k-envi.pub" "$R2/tmp/deb11.pub"
for mode in plain envi; do
	run_agent "$R1" "$mode" verify /tmp/probe-report.json --pubkey /tmp/k-envi.pub
	is "deb11, $mode: verify of the validate report: exit 0" "$RC" 0
	run_agent "$R2" "$mode" verify /tmp/probe-report.json --pubkey /tmp/deb11.pub
	is "busybox, $mode: verify of the report signed in deb11: exit 0" "$RC" 0
	run_agent "$R2" "$mode" show /tmp/probe-report.json --pubkey /tmp/deb11.pub --html /tmp/probe.html
	if [ "$RC" = 0 ] && grep -q 'pib-probe' "$R2/tmp/probe.html"; then
		ok "busybox, $mode: show --html of the deb11 report names pib-probe"
	else
		fail "busybox, $mode: show --html of the deb11 report names pib-probe" "exit $RC" "$(head -n 5 "$T/e")"
	fi
done

# lib.sh's done_testing: no agent_run here
# shellcheck disable=SC2034
RUN_SEQ=0
done_testing
