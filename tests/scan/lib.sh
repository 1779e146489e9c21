# SPDX-License-Identifier: MIT
# Shared helpers of the scanner tests: the integration tests' TAP lib, a test database,
# the EICAR string, packages carrying it, and running `pib-agent scan`. Sourced, never run.
# shellcheck shell=bash disable=SC2034,SC2016

SCAN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$SCAN_DIR/../integration/lib.sh"

EICAR_SIG=Test.EICAR.NDB.UNOFFICIAL
CLAM_SIG=ClamAV-Test-File.UNOFFICIAL
TESTFILES=/usr/share/clamav-testfiles

# eicar: the EICAR test string on stdout (kept in two pieces here, so that this file is not one).
eicar() {
	printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$' 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
}

# make_db DIR: the project's small database (tests/scan/make-db.sh).
make_db() {
	"$SCAN_DIR/make-db.sh" "$1" || bail_out "make-db.sh $1 failed"
}

need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || bail_out "$t is missing (tests/deps.sh installs it)"
	done
}

# scan_run ARGS...: `pib-agent scan ARGS... --report $REPORT`, like validate (RC, agent.out/err).
scan_run() {
	agent_run scan "$@"
}

# debpkg OUT NAME [path/in/pkg=SRC]... [postinst=FILE] [Z=xz|gzip|zstd|none]: a .deb with those
# files (paths relative to /) and maintainer scripts, built by dpkg-deb.
debpkg() {
	local out=$1 name=$2 comp=xz d s
	shift 2
	d=$(mktemp -d "$T/deb.XXXXXX")
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$name"
	echo "$name test package" >"$d/usr/share/doc/$name/README"
	for s in "$@"; do
		case $s in
		Z=*) comp=${s#Z=} ;;
		preinst=* | postinst=* | prerm=* | postrm=*) install -m 0755 "${s#*=}" "$d/DEBIAN/${s%%=*}" ;;
		*)
			mkdir -p "$d/$(dirname "${s%%=*}")"
			cp "${s#*=}" "$d/${s%%=*}"
			;;
		esac
	done
	printf '%s\n' "Package: $name" "Version: 1.0" "Architecture: all" \
		"Maintainer: pib-agent tests <tests@example.invalid>" "Section: misc" "Priority: optional" \
		"Description: pib-agent scanner test package $name" >"$d/DEBIAN/control"
	dpkg-deb --root-owner-group "-Z$comp" --build "$d" "$out" >/dev/null || bail_out "dpkg-deb --build $name failed"
	rm -rf "$d"
}

# rpmpkg OUT NAME PAYLOAD [path/in/pkg=SRC]...: a noarch .rpm built by rpmbuild; PAYLOAD is
# rpm's _binary_payload (w9.xzdio, w6.gzdio, w19.zstdio, w0.ufdio).
rpmpkg() {
	local out=$1 name=$2 payload=$3 top s i=0
	shift 3
	top=$(mktemp -d "$T/rpm.XXXXXX")
	mkdir -p "$top/SOURCES" "$top/SPECS"
	{
		printf '%s\n' "Name: $name" "Version: 1.0" "Release: 1" "Summary: pib-agent scanner test package" \
			"License: MIT" "BuildArch: noarch" "%description" "pib-agent scanner test package" "%install"
		for s in "$@"; do
			i=$((i + 1))
			cp "${s#*=}" "$top/SOURCES/src$i"
			printf 'mkdir -p "%%{buildroot}/%s"\ncp %%{_sourcedir}/src%d "%%{buildroot}/%s"\n' \
				"$(dirname "${s%%=*}")" "$i" "${s%%=*}"
		done
		echo "%files"
		for s in "$@"; do
			echo "/${s%%=*}"
		done
	} >"$top/SPECS/t.spec"
	rpmbuild --define "_topdir $top" --define "_binary_payload $payload" -bb "$top/SPECS/t.spec" \
		>"$top/build.log" 2>&1 || bail_out "rpmbuild $name failed: $(tail -n 5 "$top/build.log")"
	mv "$top"/RPMS/noarch/*.rpm "$out"
	rm -rf "$top"
}

# detections [FILE]: "path|member|package|signature|phase|kind" per detection, sorted.
detections() {
	"$PYTHON" - "${1:-$REPORT}" "$TOOLS_DIR" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import report
scan = report.load(sys.argv[1]).get("scan") or {}
rows = ["|".join("" if d.get(k) is None else str(d.get(k)) for k in
        ("path", "member", "package", "signature", "phase", "kind")) for d in scan.get("detections", [])]
print("\n".join(sorted(rows)))
EOF
}

# skipped [FILE]: "path|member|code" per skipped entry, sorted.
skipped() {
	"$PYTHON" - "${1:-$REPORT}" "$TOOLS_DIR" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import report
scan = report.load(sys.argv[1]).get("scan") or {}
rows = ["|".join("" if d.get(k) is None else str(d.get(k)) for k in ("path", "member", "code"))
        for d in scan.get("skipped", [])]
print("\n".join(sorted(rows)))
EOF
}
