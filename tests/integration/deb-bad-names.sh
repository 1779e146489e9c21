#!/bin/bash
# SPDX-License-Identifier: MIT
# Names from a package are validated before use (issue 9, attack 7): a .deb whose control
# says Package: ../../../../some/dir/secret, Version: 1.0/../../x or Architecture: ../x (written
# by hand, tests/tools/rawdeb.py: dpkg-deb refuses such names) is package.invalid at verify,
# the message naming the bundle member and the field with the value escaped; the root is
# unchanged, nothing of the host is read into the report, a report is written. A hand-made
# .deb with a good control passes verify, so the tool itself is not what is refused.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"
snap "$R" >"$T/snap.0"
SNAP_N=0
RAWDEB=("$PYTHON" "$TOOLS_DIR/rawdeb.py")

# The host file the attack aims at, in a throwaway directory: dpkg's list of a package named
# ../../(...)$T/host/secret is $T/host/secret.list, read into the report by the old agent.
mkdir -p "$T/host"
printf '/PIB-HOST-SECRET-%s\n' "$$" >"$T/host/secret.list"
ESCAPE=../../../../../../../../../../../../../../../..$T/host/secret

# bad LABEL FIELD NEEDLE CONTROL-TEXT: a bundle of one hand-made .deb with that control (backslash
# escapes decoded) is refused at verify with package.invalid, naming the member and FIELD;
# NEEDLE must be on stderr too.
bad() {
	local label=$1 field=$2 needle=$3 control=$4 deb=$T/$1.deb prev err
	"${RAWDEB[@]}" "$deb" --escapes --control-text "$control" || bail_out "rawdeb.py $label"
	mkbundle "$T/$label.tar.gz" --deb "$deb"
	validate "$T/$label.tar.gz" --root "$R" --no-scan
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	is "$label: status failed" "$(rep status)" failed
	is "$label: error.code is package.invalid" "$(rep error.code)" package.invalid
	is "$label: the error is at verify" "$(rep error.step)" verify
	is "$label: verify failed" "$(rep 'steps[name=verify].status')" failed
	err=$(agent_stderr)
	contains "$label: stderr names the member and the field" "$err" "debs/$label.deb: field $field: "
	contains "$label: stderr shows the value" "$err" "$needle"
	if grep -q $'\x1b' "$T/agent.err" "$REPORT"; then
		fail "$label: no raw ESC on stderr or in the report"
	else
		ok "$label: no raw ESC on stderr or in the report"
	fi
	if [ "$(rep 'steps[name=install].status')" = ok ]; then
		fail "$label: nothing was installed (install step did not run)"
	else
		ok "$label: nothing was installed (install step did not run)"
	fi
	if grep -q PIB-HOST-SECRET "$REPORT" "$T/agent.err" "$T/agent.out"; then
		fail "$label: the host's secret.list is not in the report" "$(grep -o 'PIB-HOST-SECRET[^"]*' "$REPORT" | head -3)"
	else
		ok "$label: the host's secret.list is not in the report"
	fi
	prev=$SNAP_N
	SNAP_N=$((SNAP_N + 1))
	snap "$R" >"$T/snap.$SNAP_N"
	same_tree "$label: the root is unchanged" "$T/snap.$prev" "$T/snap.$SNAP_N"
}

CTL='Maintainer: pib-agent tests <tests@example.invalid>\nDescription: pib-agent test\n'

bad escape-host Package "\"$ESCAPE\" is not a valid Debian package name" \
	"Package: $ESCAPE\nVersion: 1.0\nArchitecture: all\n$CTL"
bad escape-tmp Package '"../../../../tmp/x/secret" is not a valid Debian package name' \
	"Package: ../../../../tmp/x/secret\nVersion: 1.0\nArchitecture: all\n$CTL"
bad slash-name Package '"a/b"' "Package: a/b\nVersion: 1.0\nArchitecture: all\n$CTL"
bad upper-name Package '"Pib-Upper"' "Package: Pib-Upper\nVersion: 1.0\nArchitecture: all\n$CTL"
bad esc-name Package '"pib\x1b[31mred"' "Package: pib\x1b[31mred\nVersion: 1.0\nArchitecture: all\n$CTL"
bad bad-version Version '"1.0/../../x" is not a valid Debian version' \
	"Package: pib-badver\nVersion: 1.0/../../x\nArchitecture: all\n$CTL"
bad bad-arch Architecture '"../../x" is not a valid Debian architecture' \
	"Package: pib-badarch\nVersion: 1.0\nArchitecture: ../../x\n$CTL"
bad no-version Version 'missing' "Package: pib-nover\nArchitecture: all\n$CTL"

# the same tool with a good control: verify passes (and resolve, with --dry-run: nothing installed)
"${RAWDEB[@]}" "$T/good.deb" --escapes \
	--control-text "Package: pib-rawdeb\nVersion: 1:1.0~rc1-1+b2\nArchitecture: all\n$CTL" ||
	bail_out "rawdeb.py good"
mkbundle "$T/good.tar.gz" --deb "$T/good.deb"
validate "$T/good.tar.gz" --root "$R" --no-scan --dry-run
is "good hand-made .deb: exit code 0" "$RC" 0
is "good hand-made .deb: verify ok" "$(rep 'steps[name=verify].status')" ok
is "good hand-made .deb: resolve ok" "$(rep 'steps[name=resolve].status')" ok
is "good hand-made .deb: resolved with its version" "$(rep 'packages[name=pib-rawdeb].version')" 1:1.0~rc1-1+b2

done_testing
