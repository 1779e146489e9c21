#!/bin/bash
# SPDX-License-Identifier: MIT
# The agent's own packages (issue 12): packaging/deb.sh and packaging/rpm.sh build them; the
# .deb installs with dpkg -i into a copy of the Debian 12 gold root (with the libraries its
# Depends name, downloaded once) and runs there, lintian finds no error, purge removes it all;
# the .rpm (the portable tree) installs into an rpm test root that holds no C library, runs
# there from its own tree, rpm -V and its SBOM agree with the installed bytes, it provides
# none of its carried libraries, rpmlint finds no error; pib-agent-run.service has the keys
# the issue asks for and `systemd-analyze verify` accepts it next to cloud-init's real units,
# with no ordering cycle (a variant with default dependencies shows the cycle it avoids).
#
# Cache: /var/tmp/pib-pkg-debs/KEY, the .debs the agent's Depends pull beyond the gold root
# and cloud-init's .deb (for its units), fetched with this machine's apt (KEY: the Depends
# line, the gold root's dpkg status, the text of the function that fetches them).
# PIB_RPM_PAYLOAD defaults to gzip here (xz makes the same package 30 s slower).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || bail_out "needs root (chroot, dpkg -i, rpm --root)"
for t in dpkg-deb lintian rpm rpmbuild rpmlint systemd-analyze apt-get readelf; do
	command -v "$t" >/dev/null || bail_out "$t is missing"
done
setup --no-agent
gold_root

UNIT=pib-agent-run.service
STAMP=/var/lib/pib-agent/$UNIT.done
VERSION=$(meson introspect --projectinfo "$REPO_DIR/meson.build" 2>/dev/null |
	"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["version"])') ||
	bail_out "no project version from meson introspect"
ARCH_DEB=$(dpkg --print-architecture)
ARCH_RPM=$(uname -m)
OUT=$T/out
mkdir -p "$OUT"

# mount_proc ROOT: ROOT/proc mounted (the carried glibc reads /proc/self); done_testing checks
# that nothing stays mounted.
mount_proc() {
	mkdir -p "$1/proc" || bail_out "cannot make $1/proc"
	mount -t proc proc "$1/proc" || bail_out "cannot mount proc in $1"
}

# The rpm (the portable tree, xz or gzip) takes longest: built in the background meanwhile.
PIB_RPM_PAYLOAD=${PIB_RPM_PAYLOAD:-w6.gzdio} "$REPO_DIR/packaging/rpm.sh" "$OUT" "$ARCH_RPM" \
	>"$T/rpm-build.out" 2>"$T/rpm-build.err" &
RPM_PID=$!

# ============================================================================ the .deb
if "$REPO_DIR/packaging/deb.sh" "$OUT" >"$T/deb-build.out" 2>"$T/deb-build.err"; then
	DEB=$(tail -n 1 "$T/deb-build.out")
	is "deb.sh prints the package's path last" "$DEB" "$OUT/pib-agent_$VERSION-1_$ARCH_DEB.deb"
else
	fail "deb.sh builds the package" "$(tail -n 20 "$T/deb-build.err")"
	wait "$RPM_PID"
	bail_out "no .deb"
fi
[ -f "$DEB" ] || bail_out "deb.sh printed $DEB, which is no file"

is "the .deb's Version is the project's, -1" "$(dpkg-deb -f "$DEB" Version)" "$VERSION-1"
depends=$(dpkg-deb -f "$DEB" Depends)
contains "Depends (dpkg-shlibdeps) names libc6 with a version" "$depends" "libc6 (>= "
contains "Depends names the ClamAV library" "$depends" "libclamav"
contains "Depends names libsolv" "$depends" "libsolv1 (>= "

# the binary as shipped: stripped, with Debian's hardening
mkdir -p "$T/deb-x"
dpkg-deb -x "$DEB" "$T/deb-x"
# (readelf's output kept first: with pipefail, grep -q closing the pipe early fails it)
sections=$(readelf -SW "$T/deb-x/usr/bin/pib-agent")
if grep -q '\.symtab' <<<"$sections" || ! grep -q '\.dynsym' <<<"$sections"; then
	fail "the packaged binary is stripped (no .symtab, .dynsym kept)"
else
	ok "the packaged binary is stripped (no .symtab, .dynsym kept)"
fi
dyn=$(readelf -d "$T/deb-x/usr/bin/pib-agent")
contains "the binary is linked with -z now (BIND_NOW)" "$dyn" "NOW"
contains "the binary has a GNU_RELRO segment" "$(readelf -lW "$T/deb-x/usr/bin/pib-agent")" "GNU_RELRO"
dynsyms=$(readelf -W --dyn-syms "$T/deb-x/usr/bin/pib-agent")
if grep -q '__[a-z]*_chk@' <<<"$dynsyms"; then
	ok "the binary calls fortified functions (_FORTIFY_SOURCE)"
else
	fail "the binary calls fortified functions (_FORTIFY_SOURCE)"
fi
check "the man page is shipped gzipped and whole" gzip -t "$T/deb-x/usr/share/man/man1/pib-agent.1.gz"
contains "copyright is the machine-readable format, Expat (MIT)" \
	"$(cat "$T/deb-x/usr/share/doc/pib-agent/copyright")" "License: Expat"

# lintian: no error; the rest is listed
lintian --tag-display-limit 0 -I "$DEB" >"$T/lintian.out" 2>"$T/lintian.err"
lrc=$?
if [ "$lrc" -eq 0 ] && ! grep -q '^E: ' "$T/lintian.out"; then
	ok "lintian: no error"
else
	fail "lintian: no error" "exit $lrc" "$(grep -v '^N:' "$T/lintian.out" | head -n 30)" "$(head -n 5 "$T/lintian.err")"
fi
diag "lintian said (warnings and infos):" "$(grep -E '^[WIO]: ' "$T/lintian.out")"

# -------------------------------------------------------------- the Depends, downloaded once
# deb_deps: the .debs the package's Depends pull beyond the gold root, and cloud-init's .deb,
# in $DEPS (apt-get of this machine, reading the gold root's dpkg status).
deb_deps() {
	local key cache=/var/tmp/pib-pkg-debs tmp
	key=$({
		dpkg-deb -f "$DEB" Depends
		sha256sum <"$PIB_GOLD_ROOT/var/lib/dpkg/status"
		declare -f deb_deps | sha256sum # this function's own text
	} | sha256sum | cut -c1-16)
	DEPS=$cache/$key
	[ -e "$DEPS/.ok" ] && return 0
	mkdir -p "$cache"
	exec 7>"$cache/.lock"
	flock 7
	if [ ! -e "$DEPS/.ok" ]; then
		tmp=$(mktemp -d "$cache/.tmp.XXXXXX")
		mkdir -p "$tmp/partial" "$tmp/cloud-init"
		# the package itself (a local file) gives apt its Depends; --download-only fetches
		# what the gold root lacks
		if ! apt-get -q -y --no-install-recommends --download-only \
			-o Dir::State::status="$PIB_GOLD_ROOT/var/lib/dpkg/status" \
			-o Dir::Cache::archives="$tmp" -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
			install "$DEB" >"$T/apt.log" 2>&1 ||
			! (cd "$tmp/cloud-init" && apt-get -q -o APT::Sandbox::User=root download cloud-init) >>"$T/apt.log" 2>&1; then
			rm -rf "$tmp"
			flock -u 7
			bail_out "cannot download the Depends or cloud-init (apt-get update?): $(tail -n 5 "$T/apt.log")"
		fi
		rm -rf "$tmp/partial" "$tmp/lock"
		touch "$tmp/.ok"
		rm -rf "$DEPS"
		mv "$tmp" "$DEPS"
	fi
	flock -u 7
}
deb_deps
ndeps=$(find "$DEPS" -maxdepth 1 -name '*.deb' | wc -l)
diag "the Depends pull $ndeps packages into the gold root (cached in $DEPS)"

# ------------------------------------------------------------------- dpkg -i into the gold root
R=$T/deb-root
copy_root "$R"
mkdir -p "$R/tmp/deps"
cp "$DEPS"/*.deb "$R/tmp/deps/"
cp "$DEB" "$R/tmp/"
debname=$(basename "$DEB")
# without its libraries dpkg refuses to configure it: the Depends are real
if chroot "$R" dpkg -i "/tmp/$debname" >"$T/dpkg-nodeps.out" 2>&1; then
	fail "dpkg -i into the bare gold root stops on the missing Depends" "$(tail -n 5 "$T/dpkg-nodeps.out")"
else
	contains "dpkg -i into the bare gold root stops on the missing Depends" \
		"$(cat "$T/dpkg-nodeps.out")" "depends on libclamav"
fi
if chroot "$R" sh -c 'dpkg -i /tmp/deps/*.deb' >"$T/dpkg-deps.out" 2>&1; then
	ok "the Depends install from the cached .debs"
else
	fail "the Depends install from the cached .debs" "$(tail -n 10 "$T/dpkg-deps.out")"
fi
check "dpkg -i pib-agent.deb into the gold root" chroot "$R" dpkg -i "/tmp/$debname"
is "dpkg: pib-agent is installed" "$(dpkg_status "$R" pib-agent)" "install ok installed"
mount_proc "$R"
is "pib-agent --version runs in the root (chroot)" "$(chroot "$R" pib-agent --version 2>&1)" "pib-agent $VERSION"
umount "$R/proc"
listed=$(chroot "$R" dpkg -L pib-agent 2>&1)
for f in /usr/bin/pib-agent /usr/share/man/man1/pib-agent.1.gz /lib/systemd/system/$UNIT \
	/usr/share/doc/pib-agent/copyright /usr/share/doc/pib-agent/changelog.Debian.gz; do
	has_line "dpkg -L lists $f" "$listed" "$f"
done
is "postinst enabled the unit for the next boot (multi-user.target.wants)" \
	"$(readlink "$R/etc/systemd/system/multi-user.target.wants/$UNIT")" "/lib/systemd/system/$UNIT"

# ============================================================================ the unit
U=$REPO_DIR/packaging/systemd/$UNIT
if cmp -s "$U" "$R/lib/systemd/system/$UNIT"; then
	ok "the installed unit is packaging/systemd/$UNIT"
else
	fail "the installed unit is packaging/systemd/$UNIT"
fi
# key SECTION KEY: the values of KEY in [SECTION], one per line, in order (no systemctl)
key() {
	awk -v s="[$1]" -v k="$2" '
		/^[ \t]*[#;]/ || /^[ \t]*$/ { next }
		/^\[/ { sec = $0; next }
		sec == s { i = index($0, "="); if (i && substr($0, 1, i - 1) == k) print substr($0, i + 1) }' "$U"
}
words() { # the whitespace-separated words of every value of KEY in SECTION, one per line
	key "$1" "$2" | tr -s ' \t' '\n' | sed '/^$/d'
}
is "Type=oneshot" "$(key Service Type)" oneshot
is "ExecStart runs the job from IMDS" "$(key Service ExecStart)" "/usr/bin/pib-agent run --job imds"
has_line "After= network-online.target" "$(words Unit After)" network-online.target
has_line "Wants= network-online.target" "$(words Unit Wants)" network-online.target
has_line "After= cloud-init.target" "$(words Unit After)" cloud-init.target
is "DefaultDependencies=no (cloud-init.target is after multi-user.target)" "$(key Unit DefaultDependencies)" no
has_line "Before= shutdown.target (a default dependency, kept)" "$(words Unit Before)" shutdown.target
has_line "Conflicts= shutdown.target (a default dependency, kept)" "$(words Unit Conflicts)" shutdown.target
has_line "After= sysinit.target (a default dependency, kept)" "$(words Unit After)" sysinit.target
is "ConditionPathExists=! the stamp" "$(key Unit ConditionPathExists)" "!$STAMP"
is "ExecStartPost= writes the same stamp (only after ExecStart= succeeded)" \
	"$(key Service ExecStartPost)" "/bin/touch $STAMP"
case $STAMP in
"$(key Service StateDirectory | sed 's|^|/var/lib/|')"/*) ok "the stamp is in the StateDirectory= (the agent's state folder)" ;;
*) fail "the stamp is in the StateDirectory= (the agent's state folder)" "StateDirectory=$(key Service StateDirectory)" ;;
esac
is "a time limit (TimeoutStartSec=)" "$(key Service TimeoutStartSec | grep -c .)" 1
is "WantedBy=multi-user.target" "$(key Install WantedBy)" multi-user.target
is "Documentation=man:pib-agent(1)" "$(key Unit Documentation)" "man:pib-agent(1)"
if grep -qE '^(ProtectSystem|ReadOnlyPaths|RestrictSUIDSGID|NoNewPrivileges|PrivateTmp)=' "$U"; then
	fail "no hardening that stops installing into /" "$(grep -E '^(ProtectSystem|ReadOnlyPaths|RestrictSUIDSGID|NoNewPrivileges|PrivateTmp)=' "$U")"
else
	ok "no hardening that stops installing into /"
fi

# systemd-analyze verify in the installed root: the root gets this machine's systemd units
# (minbase has no systemd) and cloud-init's own units, cloud-init.target wanted by
# multi-user.target as cloud-init's generator does. Verifying multi-user.target builds its
# start transaction, where an ordering cycle would show.
cp -an /usr/lib/systemd/system/. "$R/usr/lib/systemd/system/"
mkdir -p "$T/ci"
dpkg-deb -x "$(find "$DEPS/cloud-init" -name 'cloud-init_*.deb' | head -n 1)" "$T/ci" ||
	bail_out "cannot unpack cloud-init's .deb"
cp -a "$T/ci/lib/systemd/system/." "$R/usr/lib/systemd/system/"
if grep -q '^After=multi-user.target' "$R/usr/lib/systemd/system/cloud-init.target"; then
	ok "cloud-init's cloud-init.target is ordered after multi-user.target"
else
	fail "cloud-init's cloud-init.target is ordered after multi-user.target"
fi
ln -sf /lib/systemd/system/cloud-init.target "$R/etc/systemd/system/multi-user.target.wants/cloud-init.target"
# The unit's Documentation=man:pib-agent(1) is checked too: verify runs this machine's man,
# pointed at the root's manual pages (multi-user.target's, systemd's, are not in the root).
man_opt=--man=yes
command -v man >/dev/null || { man_opt=--man=no; diag "no man here: Documentation= not checked"; }
verify() { # verify: systemd-analyze verify of the unit, then of multi-user.target with it, in $R
	(
		cd "$T" || exit 1
		MANPATH=$R/usr/share/man systemd-analyze verify --root="$R" "$man_opt" "$UNIT" &&
			systemd-analyze verify --root="$R" --man=no "$UNIT" multi-user.target
	) >"$T/verify.out" 2>&1
}
if verify && [ ! -s "$T/verify.out" ]; then
	ok "systemd-analyze verify accepts the unit (and multi-user.target with it): no message"
else
	fail "systemd-analyze verify accepts the unit (and multi-user.target with it): no message" "$(head -n 20 "$T/verify.out")"
fi
# the check can see the cycle: the same unit with the default dependencies
cp "$R/lib/systemd/system/$UNIT" "$T/unit.good"
sed -i 's/^DefaultDependencies=no$/DefaultDependencies=yes/' "$R/lib/systemd/system/$UNIT"
verify
contains "with DefaultDependencies=yes the same check finds the ordering cycle" "$(cat "$T/verify.out")" "ordering cycle"
cp "$T/unit.good" "$R/lib/systemd/system/$UNIT"
# a unit whose command is missing is refused (verify looks inside the root)
mv "$R/usr/bin/pib-agent" "$T/pib-agent.moved"
verify
contains "without /usr/bin/pib-agent in the root verify refuses the unit" "$(cat "$T/verify.out")" "/usr/bin/pib-agent"
mv "$T/pib-agent.moved" "$R/usr/bin/pib-agent"

# ------------------------------------------------------------------------- purge
mkdir -p "$R/var/lib/pib-agent"
touch "$R$STAMP"
check "dpkg --purge pib-agent" chroot "$R" dpkg --purge pib-agent
left=$(for f in /usr/bin/pib-agent /lib/systemd/system/$UNIT /etc/systemd/system/multi-user.target.wants/$UNIT \
	/var/lib/pib-agent /usr/share/doc/pib-agent; do [ -e "$R$f" ] || [ -L "$R$f" ] && echo "$f"; done)
is "purge leaves nothing: binary, unit, enable link, state folder, docs" "$left" ""

# ============================================================================ the .rpm
wait "$RPM_PID"
rrc=$?
if [ "$rrc" -eq 0 ]; then
	RPM=$(tail -n 1 "$T/rpm-build.out")
	is "rpm.sh prints the package's path last" "$RPM" "$OUT/pib-agent-$VERSION-1.$ARCH_RPM.rpm"
else
	fail "rpm.sh builds the package" "exit $rrc" "$(tail -n 20 "$T/rpm-build.err")"
	done_testing
fi
[ -f "$RPM" ] || bail_out "rpm.sh printed $RPM, which is no file"

reqs=$(rpm -qp --requires "$RPM" 2>/dev/null | grep -v '^rpmlib(' | sort -u)
is "the rpm requires /bin/sh alone (nothing of the carried libraries)" "$reqs" "/bin/sh"
provs=$(rpm -qp --provides "$RPM" 2>/dev/null)
if grep -qv '^pib-agent' <<<"$provs"; then
	fail "the rpm provides itself only (no libc.so.6 etc. offered to the system)" "$provs"
else
	ok "the rpm provides itself only (no libc.so.6 etc. offered to the system)"
fi
rpmfiles=$(rpm -qpl "$RPM" 2>/dev/null)
if [ -z "$rpmfiles" ] || grep -qE '^/usr/lib/(debug|\.build-id)' <<<"$rpmfiles"; then
	fail "no debuginfo or build-id links in the rpm"
else
	ok "no debuginfo or build-id links in the rpm"
fi

(cd "$T" && rpmlint -r "$REPO_DIR/packaging/rpm/pib-agent.rpmlintrc" "$RPM") >"$T/rpmlint.out" 2>&1
if grep -q ': E: ' "$T/rpmlint.out" || ! grep -q ' 0 errors' "$T/rpmlint.out"; then
	fail "rpmlint (with packaging/rpm/pib-agent.rpmlintrc): no error" "$(grep -v ': W: ' "$T/rpmlint.out" | head -n 30)"
else
	ok "rpmlint (with packaging/rpm/pib-agent.rpmlintrc): no error"
fi
diag "rpmlint said (warnings):" "$(grep ': W: ' "$T/rpmlint.out")"

# ------------------------------------------------------------- rpm -i into the rpm test root
RR=$T/rpm-root
"$TOOLS_DIR/make-rpm-root.sh" "$RR" >"$T/mkroot.log" 2>&1 || bail_out "make-rpm-root.sh failed: $(tail -n 5 "$T/mkroot.log")"
RPMQ=(rpm --root "$RR" --dbpath /var/lib/rpm)
libc_in_root=$(find "$RR" -name 'libc.so*' -o -name 'ld-linux*' | head -n 3)
is "the rpm test root has no C library of its own" "$libc_in_root" ""
check "rpm -i into the rpm test root (its dependencies checked)" "${RPMQ[@]}" -i "$RPM"
ql=$("${RPMQ[@]}" -ql pib-agent 2>&1)
for f in /usr/bin/pib-agent /usr/lib/pib-agent/bin/pib-agent /usr/lib/pib-agent/libexec/pib-agent \
	/usr/lib/pib-agent/lib/libc.so.6 /usr/lib/pib-agent/sbom.cdx.json /usr/share/man/man1/pib-agent.1.gz \
	/usr/lib/systemd/system/$UNIT; do
	has_line "rpm -ql lists $f" "$ql" "$f"
done
check "rpm -V: the installed files are the package's" "${RPMQ[@]}" -V pib-agent
is "/usr/bin/pib-agent is a relative link to the tree's launcher" "$(readlink "$RR/usr/bin/pib-agent")" \
	"../lib/pib-agent/bin/pib-agent"
if cmp -s "$U" "$RR/usr/lib/systemd/system/$UNIT"; then
	ok "the rpm's unit is packaging/systemd/$UNIT"
else
	fail "the rpm's unit is packaging/systemd/$UNIT"
fi
# the tree is installed byte for byte: every file the SBOM lists has its SHA-256
sbom=$("$PYTHON" - "$RR/usr/lib/pib-agent" <<'PY'
import hashlib, json, os, sys
top = sys.argv[1]
bom = json.load(open(os.path.join(top, "sbom.cdx.json")))
bad, n = [], 0
def walk(c):
    global n
    for x in c.get("components", []):
        name = x.get("name", "")
        for h in x.get("hashes", []):
            if h.get("alg") == "SHA-256" and x.get("type") == "file":
                n += 1
                p = os.path.join(top, name)
                if not os.path.isfile(p) or hashlib.sha256(open(p, "rb").read()).hexdigest() != h["content"]:
                    bad.append(name)
        walk(x)
walk(bom.get("metadata", {}).get("component", {}))
walk(bom)
print("%d %s" % (n, " ".join(bad[:10])))
PY
)
nsbom=${sbom%% *}
if [ "${nsbom:-0}" -gt 10 ] && [ "$sbom" = "$nsbom " ]; then
	ok "the installed tree has the SHA-256 its SBOM lists for each of $nsbom files"
else
	fail "the installed tree has the SHA-256 its SBOM lists for each file" "checked, then mismatches: $sbom"
fi
mount_proc "$RR"
mkdir -p "$RR/dev"
[ -e "$RR/dev/null" ] || mknod -m 0666 "$RR/dev/null" c 1 3 # the launcher writes 2>/dev/null
is "pib-agent --version runs in the rpm root from its own tree (chroot)" \
	"$(chroot "$RR" /usr/bin/pib-agent --version 2>&1)" "pib-agent $VERSION"
is "... and under env -i" "$(chroot "$RR" /usr/bin/env -i /usr/bin/pib-agent --version 2>&1)" "pib-agent $VERSION"
umount "$RR/proc"
check "rpm -e pib-agent" "${RPMQ[@]}" -e pib-agent
left=$(for f in /usr/bin/pib-agent /usr/lib/pib-agent /usr/lib/systemd/system/$UNIT /usr/share/man/man1/pib-agent.1.gz; do
	[ -e "$RR$f" ] || [ -L "$RR$f" ] && echo "$f"; done)
is "rpm -e leaves none of its files" "$left" ""

done_testing
