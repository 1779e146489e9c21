#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 8: packages built here with dpkg-deb, installed into copies of the gold root.
#  - one bundle: a Pre-Depends chain (pib-a Pre-Depends on pib-b, pib-b Depends on pib-c; each
#    maintainer script checks that what it needs is configured, and fails otherwise), a package
#    whose postinst reads /proc/self/status, and a trigger pair (pib-trig-t with `interest
#    /usr/share/pib-trig`, pib-trig-u shipping a file there; u Pre-Depends on t, so that t is
#    configured when u's unpack activates the trigger: dpkg does not call the postinst of a
#    package that is only unpacked with `triggered`, its configure covers it): succeeded, all "install ok
#    installed", dpkg --audit empty, no trigger pending, the trigger ran, the installed set is
#    the resolve step's transaction, nothing mounted under the root after the run;
#  - the same bundle into a root given as a relative path;
#  - a bundle where one postinst fails after the others were unpacked: failed, yet postscan ran
#    over what reached the root, and the report says which packages are left in which state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-txn.sh"
setup
"$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 || bail_out "tests/scan/make-db.sh failed"

# pkg NAME [FIELD=VALUE | SCRIPT@FILE | triggers@FILE | +PATH=TEXT]...: builds
# $T/debs/NAME_1.0_all.deb: control fields (Depends=..., Pre-Depends=...), maintainer
# scripts and a triggers file from files, data files /PATH holding TEXT.
mkdir -p "$T/debs"
pkg() {
	local name=$1 d a f
	shift
	d=$(mktemp -d "$T/deb.XXXXXX")
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$name"
	printf '%s\n' "Package: $name" "Version: 1.0" "Architecture: all" \
		"Maintainer: pib-agent tests <tests@example.invalid>" "Section: misc" "Priority: optional" >"$d/DEBIAN/control"
	for a in "$@"; do
		case $a in
		+*)
			f=${a%%=*}
			f=${f#+}
			mkdir -p "$d/$(dirname "$f")" && printf '%s\n' "${a#*=}" >"$d/$f"
			;;
		triggers@*) install -m 0644 "${a#*@}" "$d/DEBIAN/triggers" ;;
		*@*) install -m 0755 "${a#*@}" "$d/DEBIAN/${a%%@*}" ;;
		*=*) echo "${a%%=*}: ${a#*=}" >>"$d/DEBIAN/control" ;;
		esac
	done
	echo "Description: pib-agent test package $name" >>"$d/DEBIAN/control"
	echo "$name 1.0" >"$d/usr/share/doc/$name/README"
	dpkg-deb --root-owner-group -Zxz --build "$d" "$T/debs/${name}_1.0_all.deb" >/dev/null ||
		bail_out "dpkg-deb --build $name failed"
	rm -rf "$d"
}

# script WHO NEEDS...: a maintainer script that fails unless every package NEEDS is configured
# ("install ok installed"), and records that it ran in /var/lib/pib-test/WHO.
script() {
	local who=$1 f=$T/script.$1 n
	shift
	{
		echo '#!/bin/sh'
		echo 'set -e'
		for n in "$@"; do
			echo "s=\$(dpkg-query -W -f '\${Status}' $n 2>&1 || true)"
			echo "[ \"\$s\" = 'install ok installed' ] || { echo \"pib-probe: $who: $n is not configured: \$s\" >&2; exit 1; }"
		done
		echo 'mkdir -p /var/lib/pib-test'
		echo "echo \"\$0 \$*\" >>/var/lib/pib-test/$who"
	} >"$f"
	echo "$f"
}

cat >"$T/proc.postinst" <<'EOF'
#!/bin/sh
[ "$1" = configure ] || exit 0
pid=$(awk '/^Pid:/ { print $2 }' /proc/self/status 2>/dev/null)
if [ -z "$pid" ]; then
	echo "pib-probe: /proc/self/status cannot be read" >&2
	exit 1
fi
mkdir -p /var/lib/pib-test
echo "pid $pid" >/var/lib/pib-test/proc
EOF
printf 'interest /usr/share/pib-trig\n' >"$T/t.triggers"
cat >"$T/t.postinst" <<'EOF'
#!/bin/sh
mkdir -p /var/lib/pib-test
if [ "$1" = triggered ]; then
	echo "triggered $2" >>/var/lib/pib-test/trig
fi
exit 0
EOF
cat >"$T/fail.postinst" <<'EOF'
#!/bin/sh
[ "$1" = configure ] || exit 0
echo "pib-probe: pib-fail's postinst failing on purpose" >&2
exit 1
EOF

pkg pib-c postinst@"$(script c-postinst)"
pkg pib-b Depends=pib-c postinst@"$(script b-postinst pib-c)"
pkg pib-a Pre-Depends=pib-b preinst@"$(script a-preinst pib-b pib-c)" postinst@"$(script a-postinst pib-b pib-c)"
pkg pib-proc postinst@"$T/proc.postinst"
pkg pib-trig-t triggers@"$T/t.triggers" postinst@"$T/t.postinst"
pkg pib-trig-u Pre-Depends=pib-trig-t +usr/share/pib-trig/u.txt="pib-trig-u was here"
pkg pib-fail postinst@"$T/fail.postinst"
GOOD=(pib-a pib-b pib-c pib-proc pib-trig-t pib-trig-u)
B=$T/good.tar.gz
args=()
for p in "${GOOD[@]}"; do args+=(--deb "$T/debs/${p}_1.0_all.deb"); done
mkbundle "$B" "${args[@]}"

# good_run LABEL ROOT-AS-GIVEN ROOT [TOOL]: validates the good bundle and checks the outcome
# (TOOL: the install tool the agent must choose, apt-get unless the root has none).
good_run() {
	local l=$1 given=$2 R=$3 tool=${4:-apt-get} p bad=""
	installed_set "$R" >"$T/before.txt"
	validate "$B" --root "$given" --db "$T/db"
	is "$l: exit code 0" "$RC" 0
	report_exists "$l"
	is "$l: status succeeded" "$(rep status)" succeeded
	is "$l: the report names the root by its absolute path" "$(rep host.root)" "$R"
	is "$l: the install step ran contained (a root other than /)" "$(rep 'steps[name=install].contained')" true
	is "$l: the install step says which tool it used" "$(rep 'steps[name=install].tool')" "$tool"
	for p in "${GOOD[@]}"; do
		s=$(dpkg_status "$R" "$p")
		[ "$s" = "install ok installed" ] || bad="$bad $p($s)"
	done
	is "$l: every package is 'install ok installed'" "$bad" ""
	is "$l: dpkg --audit is empty" "$(dpkg --root="$R" --audit 2>&1)" ""
	no_trigger_pending "$l: no trigger pending or awaited" "$R"
	check "$l: pib-a's preinst ran once pib-b and pib-c were configured (Pre-Depends)" test -s "$R/var/lib/pib-test/a-preinst"
	check "$l: pib-b's postinst ran once pib-c was configured" test -s "$R/var/lib/pib-test/b-postinst"
	check "$l: pib-a's postinst ran" test -s "$R/var/lib/pib-test/a-postinst"
	contains "$l: pib-proc's postinst read /proc/self/status" "$(cat "$R/var/lib/pib-test/proc" 2>&1)" "pid "
	check "$l: pib-trig-u's file is in /usr/share/pib-trig" test -s "$R/usr/share/pib-trig/u.txt"
	contains "$l: pib-trig-t's postinst was called with 'triggered' for /usr/share/pib-trig" \
		"$(cat "$R/var/lib/pib-test/trig" 2>&1)" "triggered /usr/share/pib-trig"
	installed_set "$R" >"$T/after.txt"
	comm -13 "$T/before.txt" "$T/after.txt" >"$T/new.txt"
	resolve_set >"$T/resolve.txt"
	report_set "packages[*]" >"$T/report-pkgs.txt"
	is "$l: the resolve step's transaction has the ${#GOOD[@]} packages" "$(wc -l <"$T/resolve.txt")" "${#GOOD[@]}"
	same_tree "$l: the packages new in the root are the resolve step's transaction" "$T/resolve.txt" "$T/new.txt"
	same_tree "$l: the report's packages are the resolve step's transaction" "$T/resolve.txt" "$T/report-pkgs.txt"
	is "$l: the host's mountinfo shows nothing under the root after the run" "$(mounts_under "$R")" ""
	no_debs_left "$l: no copy of the packages is left in the root" "$R"
}

copy_root "$T/root"
good_run absolute "$T/root" "$T/root"

# --root as a relative path (issue 8, deliver 4): resolved against the working directory
mkdir -p "$T/rel"
copy_root "$T/rel/root2"
cd "$T/rel" || bail_out "cd $T/rel"
good_run relative root2 "$T/rel/root2"
cd / || bail_out "cd /"

# a root without apt-get: the root's dpkg alone, one --install per package in libsolv's order
# (prerequisites first), then --configure --pending; the same outcome is required
copy_root "$T/root-noapt"
rm -f "$T/root-noapt/usr/bin/apt-get"
good_run no-apt "$T/root-noapt" "$T/root-noapt" dpkg

# a postinst that fails once the others were unpacked: the install fails, postscan still runs
# over what reached the root, and the report says which package is left in which state
R=$T/root-fail
copy_root "$R"
F=$T/fail.tar.gz
mkbundle "$F" --deb "$T/debs/pib-c_1.0_all.deb" --deb "$T/debs/pib-b_1.0_all.deb" \
	--deb "$T/debs/pib-fail_1.0_all.deb" --deb "$T/debs/pib-proc_1.0_all.deb"
validate "$F" --root "$R" --db "$T/db"
l=failing
is "$l: exit code 2" "$RC" 2
report_exists "$l"
is "$l: status failed" "$(rep status)" failed
code=$(rep error.code)
case $code in
install.script_failed | install.half_configured) ok "$l: error.code says the install was left unfinished ($code)" ;;
*) fail "$l: error.code says the install was left unfinished" "got: '$code'" ;;
esac
is "$l: the install step failed" "$(rep 'steps[name=install].status')" failed
contains "$l: the report carries the script's own message" "$("$PYTHON" "$TOOLS_DIR/report.py" "$REPORT")" \
	"pib-fail's postinst failing on purpose"
is "$l: dpkg leaves pib-fail half-configured" "$(dpkg_status "$R" pib-fail)" "install ok half-configured"
# the install step's `unfinished`: one entry a package, {name, version, status} (a string
# "NAME VERSION ARCH: STATUS" is read too), as "NAME VERSION|STATUS" lines
unfinished=$("$PYTHON" -c '
import re, sys
sys.path.insert(0, sys.argv[1])
import report
for u in report.query(report.load(sys.argv[2]), "steps[name=install].unfinished[*]"):
    if isinstance(u, dict):
        print("%s %s|%s" % (u.get("name"), u.get("version"), u.get("status")))
    else:
        m = re.match(r"(\S+) (\S+) \S+: ([^,]*)", str(u))
        print("%s %s|%s" % m.groups() if m else u)' "$TOOLS_DIR" "$REPORT" 2>&1)
has_line "$l: the install step lists pib-fail 1.0 as unfinished, with its dpkg state" "$unfinished" \
	"pib-fail 1.0|install ok half-configured"
# every state the report gives is the one dpkg has
bad=""
while IFS='|' read -r nv st; do
	[ -n "$nv" ] || continue
	[ "$st" = "$(dpkg_status "$R" "${nv%% *}")" ] || bad="$bad ${nv%% *}($st)"
done <<<"$unfinished"
is "$l: each unfinished package's state in the report is dpkg's" "$bad" ""
is "$l: postscan still ran" "$(rep 'steps[name=postscan].status')" ok
n=$(rep scan.phases.postscan.files_scanned)
if [ "${n:-0}" -gt 0 ] 2>/dev/null; then
	ok "$l: postscan scanned what reached the root ($n files)"
else
	fail "$l: postscan scanned what reached the root" "scan.phases.postscan.files_scanned: '$n'"
fi
has_line "$l: the report lists pib-c, which reached the root" "$(rep packages.name)" pib-c
is "$l: the host's mountinfo shows nothing under the root after the run" "$(mounts_under "$R")" ""

done_testing
