# SPDX-License-Identifier: MIT
# Shared helpers of the signing tests: TAP, a fresh directory, a key pair, bundles from the
# fixtures, reports from the real binary, and the schema check. Sourced, never run.
#
# Arguments of every script: PIB_AGENT MKREPORT SOURCE_ROOT (meson passes them).
# Environment: PIB_FIXTURES (default ../shared/fixtures beside the repository), PIB_KEEP=1
# keeps the test directory.

set -u

AGENT=$(realpath "$1") # meson passes build-relative paths; the tests cd away
MKREPORT=$(realpath "$2")
SRC=$(realpath "$3")
SYSPY=/usr/bin/python3 # Debian's: python3-securesystemslib and python3-jsonschema live there
DSSE="$SRC/tests/signing/dsse.py"
SCHEMA="$SRC/manifests/report.schema.json"
FIXTURES=${PIB_FIXTURES:-$(cd "$SRC/.." && pwd)/shared/fixtures}
[ -d "$FIXTURES/deb" ] && FIXTURES=$FIXTURES/deb
DEB_HELLO=$FIXTURES/hello_2.10-3_amd64.deb

T=$(mktemp -d "${TMPDIR:-/tmp}/pib-signing.XXXXXX")
if [ "${PIB_KEEP:-0}" = 1 ]; then
	echo "# keeping $T"
else
	trap 'rm -rf "$T"' EXIT
fi
cd "$T" || exit 1

N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
# check NAME COMMAND...: ok when the command exits 0
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
# contains NAME FILE STRING: ok when FILE holds STRING (fixed string)
contains() {
	if grep -qF -- "$3" "$2"; then ok "$1"; else not_ok "$1" "no \"$3\" in $2:" "$(head -c 3000 "$2")"; fi
}
lacks() {
	if ! grep -qF -- "$3" "$2"; then ok "$1"; else not_ok "$1" "\"$3\" found in $2"; fi
}
# exit_is NAME WANT GOT [output file]
exit_is() {
	if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else not_ok "$1: exit $3, expected $2" "$(cat "${4:-/dev/null}" 2>/dev/null | head -c 3000)"; fi
}
done_testing() {
	echo "1..$N"
	[ "$FAILED" = 0 ]
}

need() {
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "1..0 # SKIP $f is missing (tests/deps.sh installs what the tests need)"
			exit 0
		fi
	done
}

# bundle OUT [SHA256]: a tar.gz bundle of hello from the fixtures; the manifest lists SHA256
# (default: the package's real digest).
bundle() {
	local out=$1 sha=${2:-$(sha256sum "$DEB_HELLO" | cut -d' ' -f1)}
	local d
	d=$(mktemp -d "$T/bundle.XXXXXX")
	mkdir -p "$d/debs"
	cp "$DEB_HELLO" "$d/debs/"
	cat >"$d/manifest.json" <<JSON
{"schema": "pib-agent/bundle/v1",
 "product": {"name": "hello-suite", "version": "2.10", "seller": "Example Seller"},
 "targets": [{"name": "debian", "os": [{"id": "debian", "versions": ["12"]}], "arch": ["x86_64"],
   "installer": "deb", "packages": [{"file": "debs/$(basename "$DEB_HELLO")", "sha256": "$sha"}]}]}
JSON
	(cd "$d" && tar --owner=0 --group=0 -czf "$T/$out" manifest.json debs)
}

# evil_bundle OUT DBDIR: a bundle whose package carries ClamAV's test file and the EICAR string,
# and a small database that detects both (tests/scan/make-db.sh). Returns non-zero when the
# tools (dpkg-deb, sigtool, clamav-testfiles) are missing.
evil_bundle() {
	local out=$1 db=$2 d
	d=$(mktemp -d "$T/evil.XXXXXX")
	mkdir -p "$d/pkg/DEBIAN" "$d/pkg/usr/share/pib-evil" "$d/b/debs"
	printf 'Package: pib-evil\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <t@example.com>\nDescription: ClamAV test files\n' \
		>"$d/pkg/DEBIAN/control"
	cp /usr/share/clamav-testfiles/clam.exe "$d/pkg/usr/share/pib-evil/clam.exe" || return 1
	# the EICAR test string, put together here so that this source file does not carry it whole
	printf '%s%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-' 'STANDARD-ANTIVIRUS-' 'TEST-FILE!$H+H*' \
		>"$d/pkg/usr/share/pib-evil/eicar.txt"
	dpkg-deb --root-owner-group -b "$d/pkg" "$d/b/debs/pib-evil_1.0_all.deb" >/dev/null || return 1
	cat >"$d/b/manifest.json" <<JSON
{"schema": "pib-agent/bundle/v1",
 "product": {"name": "evil-suite", "version": "1.0", "seller": "Example Seller"},
 "targets": [{"name": "debian", "os": [{"id": "debian", "versions": ["12"]}], "arch": ["x86_64"],
   "installer": "deb", "packages": [{"file": "debs/pib-evil_1.0_all.deb",
   "sha256": "$(sha256sum "$d/b/debs/pib-evil_1.0_all.deb" | cut -d' ' -f1)"}]}]}
JSON
	(cd "$d/b" && tar --owner=0 --group=0 -czf "$T/$out" manifest.json debs) &&
		sh "$SRC/tests/scan/make-db.sh" "$db" >/dev/null
}

# schema_ok NAME REPORT...: every report (envelope and Statement) validates against the schema
schema_ok() {
	local name=$1
	shift
	check "$name" "$SYSPY" "$DSSE" schema "$SCHEMA" "$@"
}

# query REPORT EXPR: a value of the (unverified) Statement, EXPR a python expression on st
query() {
	"$SYSPY" -c 'import base64,json,sys; env=json.load(open(sys.argv[1])); st=json.loads(base64.b64decode(env["payload"])); print(eval(sys.argv[2]))' "$1" "$2"
}
