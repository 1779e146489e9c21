# SPDX-License-Identifier: MIT
# Shared helpers of the integration tests: TAP output, the test directory, the gold root,
# running the agent, reading its report, and tree snapshots. Sourced, never run.
#
# Environment:
#   PIB_AGENT      absolute path of the pib-agent binary under test (required)
#   PIB_GOLD_ROOT  a prebuilt minimal Debian 12 root (make-gold.sh); when unset it is built
#                  (once, under a lock) into /var/tmp/pib-gold-root
#   PIB_FIXTURES   the fixtures folder holding deb/ and rpm/ (default: ../shared/fixtures
#                  next to the repository); a folder of .deb files is accepted too
#   PIB_KEEP=1     keep the test directory (its path is printed as a TAP comment)

# shellcheck shell=bash disable=SC2034
set -uo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
TOOLS_DIR=$REPO_DIR/tests/tools
# Debian's python3 (tests/deps.sh installs it, with the modules the tools use) before whatever
# python3 PATH finds first: a pyenv shim there costs 0.6 s a call (0.07 s for /usr/bin/python3),
# and the tests read reports with hundreds of calls
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
MKBUNDLE=("$PYTHON" "$TOOLS_DIR/mkbundle.py")
GOLD_CACHE=/var/tmp/pib-gold-root

if [ -n "${PIB_FIXTURES:-}" ]; then
	if [ -d "$PIB_FIXTURES/deb" ]; then
		FIXTURES=$PIB_FIXTURES
		DEBS=$PIB_FIXTURES/deb
	else
		FIXTURES=$(dirname "$PIB_FIXTURES")
		DEBS=$PIB_FIXTURES
	fi
else
	FIXTURES=$(cd "$REPO_DIR/.." && pwd)/shared/fixtures
	DEBS=$FIXTURES/deb
fi
RPMS=$FIXTURES/rpm

DEB_JQ=$DEBS/jq_1.6-2.1+deb12u3_amd64.deb
DEB_LIBJQ1=$DEBS/libjq1_1.6-2.1+deb12u3_amd64.deb
DEB_LIBONIG5=$DEBS/libonig5_6.9.8-1_amd64.deb
DEB_FIGLET=$DEBS/figlet_2.2.5-3+b1_amd64.deb
DEB_HELLO=$DEBS/hello_2.10-3_amd64.deb
DEB_COWSAY=$DEBS/cowsay_3.03+dfsg2-8_all.deb
RPM_HELLO=$RPMS/hello-2.0-1.x86_64.rpm

# ---------------------------------------------------------------------------- TAP
TAP_N=0
TAP_FAILED=0
_SHOWN_RUN=

diag() {
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

ok() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

# fail DESC [DIAG...]: a failed check; the diagnostics and, once per agent run, the tail
# of the agent's stderr follow as TAP comments.
fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	shift
	[ $# -gt 0 ] && diag "$@"
	if [ -n "${RUN_ID:-}" ] && [ "$_SHOWN_RUN" != "$RUN_ID" ] && [ -s "$T/agent.err" ]; then
		_SHOWN_RUN=$RUN_ID
		diag "agent: ${RUN_CMD:-}" "exit: ${RC:-}" "stderr (last 15 lines):"
		diag "$(tail -n 15 "$T/agent.err")"
	fi
}

# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		ok "$desc"
	else
		fail "$desc" "command failed: $*" "$(head -c 2000 "$T/check.out")"
	fi
}

# check_not DESC CMD...: ok when CMD fails.
check_not() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		fail "$desc" "command succeeded but should not: $*" "$(head -c 2000 "$T/check.out")"
	else
		ok "$desc"
	fi
}

# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "got:  '$2'" "want: '$3'"
	fi
}

# contains DESC TEXT NEEDLE: TEXT has NEEDLE as a fixed substring.
contains() {
	if grep -qF -- "$3" <<<"$2"; then
		ok "$1"
	else
		fail "$1" "wanted to find: '$3'" "in: '$(head -c 1500 <<<"$2")'"
	fi
}

# has_line DESC TEXT LINE: one line of TEXT is exactly LINE.
has_line() {
	if grep -qxF -- "$3" <<<"$2"; then
		ok "$1"
	else
		fail "$1" "no line '$3' in:" "$(head -c 1500 <<<"$2")"
	fi
}

# done_testing: checks that no mount is left in the test directory, prints the plan and
# exits non-zero when a check failed.
done_testing() {
	local m left
	if [ "$RUN_SEQ" -gt 0 ]; then
		left=$(cd "$T/agent-tmp" && find . -mindepth 1 -maxdepth 2 | head -n 20)
		if [ -z "$left" ]; then
			ok "the agent left nothing in its TMPDIR ($RUN_SEQ runs)"
		else
			fail "the agent left nothing in its TMPDIR ($RUN_SEQ runs)" "$left"
		fi
	fi
	m=$(mounts_under "$T")
	if [ -z "$m" ]; then
		ok "no mount left under the test directory"
	else
		fail "no mount left under the test directory" "$m"
	fi
	printf '1..%d\n' "$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 99
}

# ---------------------------------------------------------------------------- setup
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

_cleanup() {
	local m
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	for m in $(mounts_under "$T" | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	if [ -n "$(mounts_under "$T")" ]; then
		echo "# mounts left under $T; not removing it" >&2
		return 0
	fi
	if [ "${PIB_KEEP:-0}" = 1 ]; then
		echo "# kept $T"
		return 0
	fi
	rm -rf --one-file-system "$T"
}

# setup [--no-agent]: the test's own fresh directory $T (removed on exit), and checks
# the environment: root, the agent binary (unless --no-agent), the fixtures.
setup() {
	if [ "${1:-}" != --no-agent ]; then
		[ "$(id -u)" = 0 ] || bail_out "the integration tests need root (dpkg --root, chroot)"
		[ -n "${PIB_AGENT:-}" ] || bail_out "PIB_AGENT is not set (the pib-agent binary to test)"
		[ -x "$PIB_AGENT" ] || bail_out "PIB_AGENT=$PIB_AGENT is not an executable file"
	fi
	[ -d "$DEBS" ] || bail_out "no fixtures at $DEBS (set PIB_FIXTURES)"
	T=$(mktemp -d "${TMPDIR:-/tmp}/pib-it.XXXXXX") || bail_out "mktemp failed"
	trap _cleanup EXIT
	trap 'exit 130' INT TERM
	REPORT=$T/report.json
}

# gold_root: makes sure $PIB_GOLD_ROOT names a finished gold root, building it if unset.
gold_root() {
	if [ -z "${PIB_GOLD_ROOT:-}" ]; then
		PIB_GOLD_ROOT=$GOLD_CACHE
		"$LIB_DIR/make-gold.sh" "$PIB_GOLD_ROOT" >&2 || bail_out "make-gold.sh $PIB_GOLD_ROOT failed"
	fi
	[ -e "$PIB_GOLD_ROOT/.pib-gold-ok" ] || bail_out "PIB_GOLD_ROOT=$PIB_GOLD_ROOT is not a finished gold root"
	export PIB_GOLD_ROOT
}

# copy_root DEST: a private copy of the gold root at DEST.
copy_root() {
	gold_root
	cp -a "$PIB_GOLD_ROOT" "$1" || bail_out "cp -a $PIB_GOLD_ROOT $1 failed"
}

# ---------------------------------------------------------------------------- tools
# snap PATH...: a listing of every path below PATH (type, mode, owner, links, size,
# SHA-256 of regular files, link targets, devices); diff two to prove nothing changed.
snap() {
	"$PYTHON" "$TOOLS_DIR/snap.py" "$@"
}

# same_tree DESC BEFORE AFTER: two snap listings are equal.
same_tree() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1" "changed paths (diff before after, first 30 lines):" \
			"$(diff "$2" "$3" | grep '^[<>]' | head -n 30)"
	fi
}

# rep QUERY [FILE]: the values QUERY selects in the report's predicate (tests/tools/report.py).
rep() {
	"$PYTHON" "$TOOLS_DIR/report.py" "${2:-$REPORT}" "$1" 2>/dev/null
}

# facts QUERY...: every QUERY on $REPORT in one Python run (report.py's queries); fact QUERY
# then prints its values, one per line (python starts slowly on a loaded test machine).
# facts_of FILE QUERY...: the same on the report FILE.
declare -A FACT
facts_of() {
	local code file=$1
	shift
	FACT=()
	code=$("$PYTHON" - "$TOOLS_DIR" "$file" "$@" <<'PY'
import shlex, sys
sys.path.insert(0, sys.argv[1])
import report
try:
    pred = report.load(sys.argv[2])
except Exception:
    pred = None
for q in sys.argv[3:]:
    try:
        v = "\n".join(report.render(report.query(pred, q))) if pred is not None else ""
    except Exception:
        v = ""
    print("FACT[%s]=%s" % (shlex.quote(q), shlex.quote(v)))
PY
) || bail_out "facts: cannot read $file"
	eval "$code"
}
facts() {
	facts_of "$REPORT" "$@"
}
fact() {
	printf '%s' "${FACT[$1]-}"
}

# report_files PKG [FILE]: the files the report lists for package PKG, one per line
# (entries may be paths or objects with a "path").
report_files() {
	local out
	out=$(rep "packages[name=$1].files" "${2:-$REPORT}")
	if grep -q '^{' <<<"$out"; then
		rep "packages[name=$1].files.path" "${2:-$REPORT}"
	else
		printf '%s\n' "$out"
	fi
}

# mkbundle OUT ARGS...: tests/tools/mkbundle.py.
mkbundle() {
	"${MKBUNDLE[@]}" "$@" || bail_out "mkbundle.py $* failed"
}

# mk_rpm_bundle OUT RPM: a bundle of one unsigned rpm for a rhel target (as the rpm test root
# of tests/tools/make-rpm-root.sh is), its manifest beside OUT
mk_rpm_bundle() {
	"$PYTHON" - "$2" >"$1.manifest.json" <<'PY'
import json, os, sys
print(json.dumps({"schema": "pib-agent/bundle/v1",
                  "product": {"name": "pib-test", "version": "1.0", "seller": "pib-agent tests"},
                  "targets": [{"name": "rhel", "os": [{"id": "rhel", "versions": [">=8"]}], "arch": ["x86_64"],
                               "installer": "rpm", "allow_unsigned": True,
                               "packages": [{"file": "rpms/" + os.path.basename(sys.argv[1]), "_src": sys.argv[1]}]}]}))
PY
	mkbundle "$1" --manifest "$1.manifest.json"
}

# validate ARGS...: runs `pib-agent validate ARGS... --report $REPORT`, stdin closed,
# bounded in time, with TMPDIR=$T/agent-tmp (done_testing checks it is left empty); sets
# RC, and leaves stdout and stderr in $T/agent.out and $T/agent.err.
RUN_SEQ=0
validate() {
	local a
	# The scans run for real, with a small database made by sigtool (none ships with Debian):
	# a test's --no-scan becomes --db DB, unless PIB_TEST_NO_SCAN=1 keeps it.
	if [ "${PIB_TEST_NO_SCAN:-0}" != 1 ]; then
		[ -f "$T/db/eicar.ndb" ] || "$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 ||
			bail_out "cannot make the test ClamAV database with tests/scan/make-db.sh"
		for a in "$@"; do
			shift
			if [ "$a" = --no-scan ]; then
				set -- "$@" --db "$T/db"
			else
				set -- "$@" "$a"
			fi
		done
	fi
	agent_run validate "$@"
}

# agent_run COMMAND ARGS...: `pib-agent COMMAND ARGS... --report $REPORT` with its own TMPDIR,
# stdin from /dev/null, a time limit; sets RC, RUN_ID, RUN_CMD, keeps $T/agent.out and
# $T/agent.err, and checks the report against the schema.
agent_run() {
	local cmd=$1
	shift
	RUN_SEQ=$((RUN_SEQ + 1))
	RUN_ID=$RUN_SEQ
	rm -f "$REPORT"
	mkdir -p "$T/agent-tmp"
	RUN_CMD="pib-agent $cmd $* --report $REPORT"
	TMPDIR=$T/agent-tmp timeout -k 10 540 "$PIB_AGENT" "$cmd" "$@" --report "$REPORT" \
		</dev/null >"$T/agent.out" 2>"$T/agent.err"
	RC=$?
	diag "ran: $RUN_CMD -> exit $RC"
	schema_check
}

# schema_check: every report the agent writes is valid against manifests/report.schema.json
# (issue 4); one check for the last run's $REPORT, when there is one.
schema_check() {
	if [ -s "$REPORT" ] && [ "${PIB_TEST_NO_SCHEMA:-0}" != 1 ]; then
		if /usr/bin/python3 "$REPO_DIR/tests/signing/dsse.py" schema \
			"$REPO_DIR/manifests/report.schema.json" "$REPORT" >"$T/schema.out" 2>&1; then
			ok "run $RUN_ID: the report is valid against report.schema.json"
		else
			fail "run $RUN_ID: the report is valid against report.schema.json" "$(head -n 20 "$T/schema.out")"
		fi
	fi
}

# no_debs_left DESC ROOT: no .deb file is in ROOT outside its local repository
# /srv/localrepo and apt's own download cache (the agent must not leave copies of the
# packages in the image).
no_debs_left() {
	local found
	found=$(find "$2" -xdev -name '*.deb' -not -path "$2/srv/localrepo/*" \
		-not -path "$2/var/cache/apt/archives/*" | head -n 10)
	if [ -z "$found" ]; then
		ok "$1"
	else
		fail "$1" "$found"
	fi
}

# mkdeb OUT NAME VERSION [arch=ARCH] [SCRIPT=FILE]...: builds a tiny package with dpkg-deb
# (Architecture: all unless arch= is given; a doc file; the maintainer scripts given:
# preinst, postinst, prerm, postrm).
mkdeb() {
	local out=$1 name=$2 ver=$3 arch=all d s
	shift 3
	d=$(mktemp -d "$T/deb.XXXXXX")
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$name"
	for s in "$@"; do
		case $s in
		arch=*) arch=${s#arch=} ;;
		*) install -m 0755 "${s#*=}" "$d/DEBIAN/${s%%=*}" ;;
		esac
	done
	printf '%s\n' "Package: $name" "Version: $ver" "Architecture: $arch" \
		"Maintainer: pib-agent tests <tests@example.invalid>" "Section: misc" "Priority: optional" \
		"Description: pib-agent test package $name" >"$d/DEBIAN/control"
	echo "$name $ver" >"$d/usr/share/doc/$name/README"
	dpkg-deb --root-owner-group -Zxz --build "$d" "$out" >/dev/null || bail_out "dpkg-deb --build $name failed"
	rm -rf "$d"
}

agent_stderr() {
	cat "$T/agent.err"
}

# report_exists [LABEL]: a report was written and its predicate can be read.
report_exists() {
	local l=${1:+$1: }
	if [ -s "$REPORT" ] && "$PYTHON" "$TOOLS_DIR/report.py" "$REPORT" >/dev/null 2>"$T/check.out"; then
		ok "${l}a readable report is written"
	else
		fail "${l}a readable report is written" "$(cat "$T/check.out" 2>/dev/null)"
	fi
}

# status_good [LABEL]: the run passed. The report says succeeded, or incomplete with nothing
# skipped but the scans that --no-scan turns off (design.md: --no-scan makes a run
# incomplete once the scanner is built), and no step failed.
status_good() {
	local st skipped failed l=${1:+$1: }
	st=$(rep status)
	failed=$(rep 'steps[status=failed].name' | tr '\n' ' ')
	if [ "${PIB_TEST_NO_SCAN:-0}" = 1 ]; then
		skipped=$(rep 'steps[status=skipped].name' | grep -vxE 'prescan|postscan|scan' | tr '\n' ' ')
	else
		skipped=$(rep 'steps[status=skipped].name' | tr '\n' ' ')
	fi
	if [ -n "$failed" ]; then
		fail "${l}no step failed" "failed steps: $failed"
	else
		ok "${l}no step failed"
	fi
	if [ "$st" = succeeded ] || { [ "$st" = incomplete ] && [ -z "$skipped" ]; }; then
		ok "${l}status is succeeded (or incomplete only for --no-scan): $st"
	else
		fail "${l}status is succeeded (or incomplete only for --no-scan)" "status: '$st'" \
			"skipped steps other than the scans: '$skipped'"
	fi
}

# dpkg_status ROOT PKG: the dpkg status words of PKG in ROOT ("install ok installed").
dpkg_status() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Status}' "$2" 2>/dev/null
}

sha256_of() {
	sha256sum "$1" | cut -d' ' -f1
}
