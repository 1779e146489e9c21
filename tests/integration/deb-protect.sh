#!/bin/bash
# SPDX-License-Identifier: MIT
# The image's packages are protected (issue 9, attack 3): a bundle package that upgrades,
# downgrades or reinstalls a package of the image, or takes its files with Replaces, is
# refused at resolve (resolve.image_package, both versions named) unless the target lists
# the image's package in may_upgrade; Essential, Protected and Priority: required packages
# never. What is allowed is installed and listed in the report as packages[].replaced.
# Packages are made here with dpkg-deb: a fake dpkg 99 (Essential: yes), a package with
# Replaces: passwd shipping /usr/bin/passwd, and upgrades, a downgrade and a Replaces of a
# package of our own installed into the copied root first.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"

# pkg OUT NAME VERSION ARCH CONTROL-LINES FILE...: a package made with dpkg-deb; the extra
# control lines (newline-separated) go into DEBIAN/control; each FILE (a path like
# /usr/bin/passwd) is a small script holding the package's name.
pkg() {
	local out=$1 name=$2 ver=$3 arch=$4 extra=$5 d f
	shift 5
	d=$(mktemp -d "$T/deb.XXXXXX")
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$name"
	{
		printf '%s\n' "Package: $name" "Version: $ver" "Architecture: $arch" \
			"Maintainer: pib-agent tests <tests@example.invalid>" "Section: misc" "Priority: optional"
		[ -n "$extra" ] && printf '%s\n' "$extra"
		printf '%s\n' "Description: pib-agent protect test package $name"
	} >"$d/DEBIAN/control"
	echo "$name $ver" >"$d/usr/share/doc/$name/README.pib-$name"
	for f in "$@"; do
		mkdir -p "$d$(dirname "$f")"
		printf '#!/bin/sh\necho "%s %s"\n' "$name" "$ver" >"$d$f"
		chmod 0755 "$d$f"
	done
	dpkg-deb --root-owner-group -Zxz --build "$d" "$out" >/dev/null || bail_out "dpkg-deb --build $name failed"
	rm -rf "$d"
}

# bundle OUT MAY_UPGRADE DEB...: a bundle of the DEBs; MAY_UPGRADE is a JSON list or "" (no field).
bundle() {
	local out=$1 mu=$2
	shift 2
	"$PYTHON" -c '
import json, sys
sys.path.insert(0, sys.argv[1])
import mkbundle
m = mkbundle.default_manifest(sys.argv[3:])
if sys.argv[2]:
    m["targets"][0]["may_upgrade"] = json.loads(sys.argv[2])
print(json.dumps(m, indent=2))
' "$TOOLS_DIR" "$mu" "$@" >"$out.json" || bail_out "manifest for $out"
	mkbundle "$out" --manifest "$out.json"
}


SNAP_N=0
snap "$R" >"$T/snap.0"
# refused LABEL BUNDLE NEEDLE...: the run fails at resolve with resolve.image_package, names
# each NEEDLE on stderr and in the step's problems, installs nothing, leaves the root as it was.
refused() {
	local label=$1 b=$2 err probs prev n
	shift 2
	validate "$b" --root "$R" --no-scan
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	facts status error.code 'steps[name=resolve].status' 'steps[name=install].status' \
		'steps[name=resolve].problems'
	is "$label: status failed" "$(fact status)" failed
	is "$label: error.code is resolve.image_package" "$(fact error.code)" resolve.image_package
	is "$label: the resolve step failed" "$(fact 'steps[name=resolve].status')" failed
	if [ "$(fact 'steps[name=install].status')" = ok ]; then
		fail "$label: the install step did not run"
	else
		ok "$label: the install step did not run"
	fi
	err=$(agent_stderr)
	probs=$(fact 'steps[name=resolve].problems')
	for n in "$@"; do
		contains "$label: stderr names '$n'" "$err" "$n"
		contains "$label: the resolve step's problems name '$n'" "$probs" "$n"
	done
	prev=$SNAP_N
	SNAP_N=$((SNAP_N + 1))
	snap "$R" >"$T/snap.$SNAP_N"
	same_tree "$label: the root is unchanged" "$T/snap.$prev" "$T/snap.$SNAP_N"
}

DPKG_V=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' dpkg)
PASSWD_V=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' passwd)
[ -n "$DPKG_V" ] && [ -n "$PASSWD_V" ] || bail_out "the gold root has no dpkg or passwd"
is "passwd is Priority: required in the gold root" \
	"$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Priority}' passwd)" required
PASSWD_SHA=$(sha256_of "$R/usr/bin/passwd")

# --- (a) a fake dpkg 99, Essential: yes: refused, and refused even when named in may_upgrade
pkg "$T/dpkg_99_amd64.deb" dpkg 99 amd64 "Essential: yes"
bundle "$T/dpkg.tar.gz" "" "$T/dpkg_99_amd64.deb"
refused "dpkg 99" "$T/dpkg.tar.gz" "dpkg" "$DPKG_V" "99" "Essential"
bundle "$T/dpkg-allowed.tar.gz" '["dpkg"]' "$T/dpkg_99_amd64.deb"
refused "dpkg 99 in may_upgrade" "$T/dpkg-allowed.tar.gz" "dpkg" "$DPKG_V" "99" "Essential"
check "dpkg is still the image's ($DPKG_V)" \
	test "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' dpkg)" = "$DPKG_V"
check "the image's dpkg binary is still there" test -x "$R/usr/bin/dpkg"

# --- (b) Replaces: passwd, shipping /usr/bin/passwd: refused; passwd is required, so always
pkg "$T/pib-passwd_1.0_all.deb" pib-passwd 1.0 all "Replaces: passwd" /usr/bin/passwd
bundle "$T/passwd.tar.gz" "" "$T/pib-passwd_1.0_all.deb"
refused "Replaces: passwd" "$T/passwd.tar.gz" "pib-passwd" "passwd" "$PASSWD_V" "Replaces"
bundle "$T/passwd-allowed.tar.gz" '["passwd"]' "$T/pib-passwd_1.0_all.deb"
refused "Replaces: passwd in may_upgrade" "$T/passwd-allowed.tar.gz" "passwd" "$PASSWD_V" "required"
is "/usr/bin/passwd is the image's" "$(sha256_of "$R/usr/bin/passwd")" "$PASSWD_SHA"
is "passwd still owns /usr/bin/passwd" "$(dpkg --root="$R" -S /usr/bin/passwd 2>/dev/null)" "passwd: /usr/bin/passwd"

# --- (c) a non-essential package of the image: our own pib-lib 1.0, installed first
pkg "$T/pib-lib_1.0_all.deb" pib-lib 1.0 all "" /usr/bin/pib-lib
dpkg --root="$R" --install "$T/pib-lib_1.0_all.deb" >"$T/dpkg.out" 2>&1 || bail_out "dpkg --install pib-lib 1.0: $(cat "$T/dpkg.out")"
SNAP_N=$((SNAP_N + 1))
snap "$R" >"$T/snap.$SNAP_N"

# the very package the image has (same name, version, architecture and dependencies): the
# image's stays, the bundle's copy is left out of the transaction (as apt does), nothing refused
bundle "$T/same.tar.gz" "" "$T/pib-lib_1.0_all.deb"
validate "$T/same.tar.gz" --root "$R" --no-scan --dry-run
facts 'steps[name=resolve].status' packages.name
is "the image's own pib-lib 1.0 in a bundle: resolve ok" "$(fact 'steps[name=resolve].status')" ok
is "the image's own pib-lib 1.0 in a bundle: left out of the transaction" "$(fact packages.name)" ""

pkg "$T/pib-lib_2.0_all.deb" pib-lib 2.0 all "" /usr/bin/pib-lib
bundle "$T/up.tar.gz" "" "$T/pib-lib_2.0_all.deb"
refused "upgrade pib-lib 1.0 -> 2.0" "$T/up.tar.gz" "pib-lib" "1.0" "2.0" "upgrade" "may_upgrade"

pkg "$T/pib-lib_0.9_all.deb" pib-lib 0.9 all "" /usr/bin/pib-lib
bundle "$T/down.tar.gz" "" "$T/pib-lib_0.9_all.deb"
refused "downgrade pib-lib 1.0 -> 0.9" "$T/down.tar.gz" "pib-lib" "1.0" "0.9" "downgrade"

# the same version, different contents (a new dependency): a reinstall over the image's
pkg "$T/pib-lib_1.0_other.deb" pib-lib 1.0 all "Depends: dpkg" /usr/bin/pib-lib
bundle "$T/re.tar.gz" "" "$T/pib-lib_1.0_other.deb"
refused "reinstall pib-lib 1.0 with other contents" "$T/re.tar.gz" "pib-lib" "1.0" "reinstall"

pkg "$T/pib-taker_1.0_all.deb" pib-taker 1.0 all "Replaces: pib-lib (<< 5)" /usr/bin/pib-lib
bundle "$T/take.tar.gz" "" "$T/pib-taker_1.0_all.deb"
refused "Replaces: pib-lib" "$T/take.tar.gz" "pib-taker" "pib-lib" "1.0" "Replaces"

# a Replaces whose version range misses the image's version takes nothing: it is a plain
# new package (and dpkg itself refuses the file conflict), so resolve lets it through.
pkg "$T/pib-miss_1.0_all.deb" pib-miss 1.0 all "Replaces: pib-lib (<< 1.0)"
bundle "$T/miss.tar.gz" "" "$T/pib-miss_1.0_all.deb"
validate "$T/miss.tar.gz" --root "$R" --no-scan --dry-run
facts 'steps[name=resolve].status' 'packages[name=pib-miss].replaced'
is "Replaces: pib-lib (<< 1.0) with pib-lib 1.0 installed: resolve ok" "$(fact 'steps[name=resolve].status')" ok
is "Replaces: pib-lib (<< 1.0): nothing replaced" "$(fact 'packages[name=pib-miss].replaced')" ""

# allowed: the upgrade named in may_upgrade installs, and the report says what it replaced
bundle "$T/up-allowed.tar.gz" '["pib-lib"]' "$T/pib-lib_2.0_all.deb"
validate "$T/up-allowed.tar.gz" --root "$R" --no-scan
is "upgrade in may_upgrade: exit code 0" "$RC" 0
report_exists "upgrade in may_upgrade"
status_good "upgrade in may_upgrade"
is "pib-lib 2.0 is installed" "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' pib-lib)" 2.0
facts 'packages[name=pib-lib].version' 'packages[name=pib-lib].replaced.name' \
	'packages[name=pib-lib].replaced.version' 'packages[name=pib-lib].replaced.how'
is "the report: pib-lib's version is 2.0" "$(fact 'packages[name=pib-lib].version')" 2.0
is "the report: pib-lib replaced pib-lib" "$(fact 'packages[name=pib-lib].replaced.name')" pib-lib
is "the report: the replaced version is 1.0" "$(fact 'packages[name=pib-lib].replaced.version')" 1.0
is "the report: how is upgrade" "$(fact 'packages[name=pib-lib].replaced.how')" upgrade

# allowed: Replaces of pib-lib (now 2.0) named in may_upgrade
pkg "$T/pib-taker_1.0b_all.deb" pib-taker 1.0 all "Replaces: pib-lib" /usr/bin/pib-lib
bundle "$T/take-allowed.tar.gz" '["pib-lib"]' "$T/pib-taker_1.0b_all.deb"
validate "$T/take-allowed.tar.gz" --root "$R" --no-scan
is "Replaces in may_upgrade: exit code 0" "$RC" 0
status_good "Replaces in may_upgrade"
facts 'packages[name=pib-taker].replaced.name' 'packages[name=pib-taker].replaced.version' \
	'packages[name=pib-taker].replaced.how'
is "the report: pib-taker replaced pib-lib" "$(fact 'packages[name=pib-taker].replaced.name')" pib-lib
is "the report: the replaced version is 2.0" "$(fact 'packages[name=pib-taker].replaced.version')" 2.0
is "the report: how is replaces" "$(fact 'packages[name=pib-taker].replaced.how')" replaces
is "pib-taker now owns /usr/bin/pib-lib" "$(dpkg --root="$R" -S /usr/bin/pib-lib 2>/dev/null)" "pib-taker: /usr/bin/pib-lib"

done_testing
