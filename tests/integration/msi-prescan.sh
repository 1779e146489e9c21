#!/bin/bash
# SPDX-License-Identifier: MIT
# The prescan of an MSI (issue 15): `pib-agent scan X.msi` reads the MSI with libmsi in a child
# process, streams each embedded ("#") cabinet of its Media table into libarchive's CAB reader and
# scans every member from memory under the install path its File row gives, the cabinet and File
# key beside it. MSIs built here with wixl (-a x64, relative Source paths): a cabinet holding EICAR
# (the detection names [ProgramFiles64Folder]Acme/bin/eicar.com and acme.cab!EicarFile); a cabinet
# of 20 files with one infected (only that one named); an external cabinet (listed in
# scan.skipped, each of its files too: incomplete); a cabinet made with gcab whose member is named
# "..\EicarFile", injected with msibuild (listed as msi.unsafe_name, never used as a name); a
# Word document (an OLE file that is no MSI: scanned as a file, not listed as unreadable). The
# EICAR MSI as an msi target's package: validate stops at the prescan, nothing installed.
. "$(dirname "$0")/lib.sh"
setup

for t in wixl msibuild gcab sigtool; do
	command -v "$t" >/dev/null || bail_out "$t is missing (tests/deps.sh installs wixl, msitools, gcab, clamav)"
done
DB=$T/db
"$REPO_DIR/tests/scan/make-db.sh" "$DB" || bail_out "make-db.sh failed"
W=$T/wix
mkdir -p "$W/src/bin" "$W/many"
cd "$W" || bail_out "cd $W"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >src/bin/eicar.com
printf 'hello readme\n' >src/readme.txt

# wix NAME MEDIA FILES-XML: NAME.msi by wixl, the files under [ProgramFiles64Folder]Acme.
wix() {
	cat >"$1.wxs" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Acme $1" Language="1033" Version="1.0.0" Manufacturer="Acme" UpgradeCode="12345678-1234-1234-1234-123456789012">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    $2
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Acme">
$3
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="F" Level="1"><ComponentRef Id="Main"/><ComponentRef Id="Bin"/></Feature>
  </Product>
</Wix>
EOF
	wixl -a x64 -o "$1.msi" "$1.wxs" 2>"$1.err" || bail_out "wixl $1.wxs failed: $(head -c 500 "$1.err")"
}
two_files='
          <Component Id="Main" Guid="11111111-2222-3333-4444-555555555555" Win64="yes">
            <File Id="ReadmeFile" Source="src/readme.txt" Name="readme.txt"/>
          </Component>
          <Directory Id="BinDir" Name="bin">
            <Component Id="Bin" Guid="11111111-2222-3333-4444-555555555556" Win64="yes">
              <File Id="EicarFile" Source="src/bin/eicar.com" Name="eicar.com"/>
            </Component>
          </Directory>'
embedded='<Media Id="1" Cabinet="acme.cab" EmbedCab="yes"/>'

# 1. a cabinet holding EICAR: named by its install path, the cabinet and key beside
wix eicar "$embedded" "$two_files"
agent_run scan eicar.msi --db "$DB"
is "EICAR: exit 1 (findings)" "$RC" 1
is "EICAR: one detection" "$(rep 'scan.detections.signature')" "Test.EICAR.NDB.UNOFFICIAL"
is "EICAR: the detection's path is the MSI" "$(rep 'scan.detections.path')" "eicar.msi"
is "EICAR: member is the real install path" "$(rep 'scan.detections.member')" "[ProgramFiles64Folder]Acme/bin/eicar.com"
is "EICAR: the cabinet and the File key" "$(rep 'scan.detections.cabinet')" "acme.cab!EicarFile"
is "EICAR: the package is the ProductName" "$(rep 'scan.detections.package')" "Acme eicar"
is "EICAR: both files scanned" "$(rep 'scan.files_scanned')" "2"
is "EICAR: nothing skipped" "$(rep 'scan.skipped.code')" ""
contains "EICAR: stderr names the install path" "$(cat "$T/agent.err")" "eicar.msi![ProgramFiles64Folder]Acme/bin/eicar.com: Test.EICAR.NDB.UNOFFICIAL FOUND"

# 1b. the same MSI as an msi target's package: validate --os windows:2022 stops at the prescan,
# the detection under its install path and the bundle member, and nothing is installed (no
# resolve, no install step, no Wine prefix)
cat >"$T/eicar-bundle.json" <<EOF
{"schema": "pib-agent/bundle/v1", "product": {"name": "acme", "version": "1.0", "seller": "Acme"},
 "targets": [{"name": "windows", "os": [{"id": "windows", "versions": ["2022"]}], "arch": ["x86_64"],
   "installer": "msi", "allow_unsigned": true, "packages": [{"file": "msi/eicar.msi", "_src": "$W/eicar.msi"}]}]}
EOF
mkbundle "$T/eicar-bundle.tar.gz" --manifest "$T/eicar-bundle.json"
validate "$T/eicar-bundle.tar.gz" --os windows:2022 --no-scan
is "msi target with EICAR: exit 1 (findings)" "$RC" 1
facts status 'scan.detections.path' 'scan.detections.member' 'scan.detections.phase' 'steps.name'
is "msi target with EICAR: status findings" "$(fact status)" findings
is "msi target with EICAR: the detection names the bundle member" "$(fact 'scan.detections.path')" msi/eicar.msi
is "msi target with EICAR: at its install path" "$(fact 'scan.detections.member')" "[ProgramFiles64Folder]Acme/bin/eicar.com"
is "msi target with EICAR: found by the prescan" "$(fact 'scan.detections.phase')" prescan
check_not "msi target with EICAR: no resolve and no install step" grep -qxE 'resolve|install' <<<"$(fact steps.name)"

# 2. a cabinet of 20 files, one infected: only that one is named
files=''
for i in $(seq 1 20); do
	if [ "$i" = 13 ]; then
		cp src/bin/eicar.com "many/f$i.dll"
	else
		printf 'clean file %s\n' "$i" >"many/f$i.dll"
	fi
	files="$files<File Id=\"F$i\" Source=\"many/f$i.dll\" Name=\"f$i.dll\"/>"
done
wix twenty "$embedded" "
          <Component Id=\"Main\" Guid=\"11111111-2222-3333-4444-555555555555\" Win64=\"yes\">
            <File Id=\"ReadmeFile\" Source=\"src/readme.txt\" Name=\"readme.txt\"/>
          </Component>
          <Directory Id=\"LibDir\" Name=\"lib\">
            <Component Id=\"Bin\" Guid=\"11111111-2222-3333-4444-555555555557\" Win64=\"yes\">$files</Component>
          </Directory>"
agent_run scan twenty.msi --db "$DB"
is "20 files: exit 1" "$RC" 1
is "20 files: only f13.dll is named" "$(rep 'scan.detections.member')" "[ProgramFiles64Folder]Acme/lib/f13.dll"
is "20 files: its cabinet key" "$(rep 'scan.detections.cabinet')" "acme.cab!F13"
is "20 files: all 21 members scanned" "$(rep 'scan.files_scanned')" "21"

# 3. an external cabinet: listed, and each file it holds; nothing passed over as clean
wix external '<Media Id="1" Cabinet="acme.cab" EmbedCab="no"/>' "$two_files"
agent_run scan external.msi --db "$DB"
is "external cabinet: exit 0 (incomplete, not clean)" "$RC" 0
is "external cabinet: status incomplete" "$(rep status)" "incomplete"
is "external cabinet: nothing scanned from it" "$(rep 'scan.files_scanned')" "0"
is "external cabinet: listed" "$(rep 'scan.skipped[code=msi.external_cabinet].member')" "acme.cab"
is "external cabinet: its files listed by install path" \
	"$(rep 'scan.skipped[code=msi.not_in_cabinet].member' | sort | tr '\n' ' ')" \
	"[ProgramFiles64Folder]Acme/bin/eicar.com [ProgramFiles64Folder]Acme/readme.txt "
contains "external cabinet: the reason says why" "$(rep 'scan.skipped[code=msi.not_in_cabinet].reason')" \
	"in the external cabinet acme.cab (a file beside the MSI, not inside it): not scanned"

# 4. a cabinet (gcab) with a member named "..\EicarFile" injected into eicar.msi (msibuild)
mkdir -p g/ab && cp src/bin/eicar.com g/ab/EicarFile && cp src/readme.txt g/ReadmeFile
(cd g && gcab -c -z ../dotdot.cab ab/EicarFile ReadmeFile) || bail_out "gcab failed"
python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
assert d.count(b"ab\\EicarFile\0") == 1
open(sys.argv[1], "wb").write(d.replace(b"ab\\EicarFile\0", b"..\\EicarFile\0"))' dotdot.cab || bail_out "cannot patch dotdot.cab"
check "gcab lists the member as ..\\EicarFile" grep -qF '..\EicarFile' <(gcab -l dotdot.cab)
cp eicar.msi dotdot.msi && msibuild dotdot.msi -a acme.cab dotdot.cab || bail_out "msibuild -a failed"
agent_run scan dotdot.msi --db "$DB"
is "..: exit 0, incomplete" "$RC/$(rep status)" "0/incomplete"
is "..: the member is listed as msi.unsafe_name" "$(rep 'scan.skipped[code=msi.unsafe_name].member')" "acme.cab!../EicarFile"
is "..: the File row it does not hold is listed" "$(rep 'scan.skipped[code=msi.not_in_cabinet].member')" \
	"[ProgramFiles64Folder]Acme/bin/eicar.com"
is "..: the other member is scanned" "$(rep 'scan.files_scanned')" "1"
check_not "..: no file named EicarFile appeared beside the test's" test -e "$T/EicarFile"

# 5. a Word document (OLE, no MSI): scanned as a file by libclamav, not listed as unreadable
doc=/usr/share/clamav-testfiles/clam.ole.doc
if [ -r "$doc" ]; then
	cp "$doc" word.doc
	agent_run scan word.doc --db "$DB"
	is "Word document: not listed as unreadable" "$(rep 'scan.skipped.code')" ""
	is "Word document: scanned whole (ClamAV's test file inside it is found)" "$(rep 'scan.detections.signature')" \
		"ClamAV-Test-File.UNOFFICIAL"
else
	ok "# SKIP $doc is missing (clamav-testfiles)"
fi

done_testing
