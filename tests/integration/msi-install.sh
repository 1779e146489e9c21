#!/bin/bash
# SPDX-License-Identifier: MIT
# The msi installer (issue 15): MSIs built here with wixl from WiX XML, in bundles with an msi
# target for Windows Server, validated on this Linux machine with --os windows:2022.
# 1. inspection (--dry-run): the report's packages[].msi holds the product, every file under
#    its install path, the service, the registry value and the custom action (type in words).
# 2. bad input refused before anything is installed, each naming the file or field: a truncated
#    MSI, an OLE file that is not an MSI (a Word document), a File row naming a missing
#    Component, a property value with a quote, one with a control character, a non-public name.
# 3. without Wine (PIB_WINE=none, and a PIB_WINE that is no file): the install step is skipped
#    with the reason, the run incomplete, exit 0. This part always runs.
# 4. with Wine (skipped, said as TAP skips, only when wine64 is not installed): the clean MSI
#    installed through Wine's msiexec in a throwaway prefix: its files under drive_c listed in
#    the report, postscan and the MSI table policy ran, exit 0, the prefix removed after; an MSI
#    whose custom action (type 19, an error) ends the install: failed with msiexec's real result
#    1603 (Wine's exit status is its low 8 bits, 67) and the log's lines around the failure.
# report.py and mkbundle.py need nothing beyond Python's standard library: the system's
# python3 starts much faster than a version manager's shim, and this test reads many values
PYTHON=${PYTHON:-/usr/bin/python3}
. "$(dirname "$0")/lib.sh"
setup

for t in wixl msibuild; do
	command -v "$t" >/dev/null || bail_out "$t is missing (tests/deps.sh installs wixl and msitools)"
done
W=$T/wix
mkdir -p "$W/bin" "$W/doc"
cd "$W" || bail_out "cd $W"
printf 'MZ acme agent\n' >bin/acme.exe
printf 'MZ acme helper\n' >bin/acme-helper.dll
printf 'setting=1\n' >bin/acme.conf
printf 'read me\n' >doc/readme.txt

# wix NAME GUIDSUFFIX ACTION CONDITION: the product as WiX XML on stdout.
wix() {
	cat <<EOF
<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="$1" Language="1033" Version="1.2.3" Manufacturer="Acme Corp" UpgradeCode="12345678-1234-1234-1234-1234567890$2">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="acme.cab" EmbedCab="yes"/>
    <Property Id="ACME_MODE" Value="normal"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Acme">
          <Directory Id="BinDir" Name="bin">
            <Component Id="MainExe" Guid="11111111-2222-3333-4444-5555555555$2">
              <File Id="AcmeExe" Name="acme.exe" Source="bin/acme.exe" KeyPath="yes"/>
              <File Id="AcmeDll" Name="acme-helper.dll" Source="bin/acme-helper.dll"/>
              <ServiceInstall Id="AcmeSvc" Name="AcmeSvc" DisplayName="Acme Service" Type="ownProcess" Start="demand" ErrorControl="normal" Account="NT AUTHORITY\\LocalService"/>
              <RegistryValue Root="HKLM" Key="Software\\Acme\\Agent" Name="Mode" Type="string" Value="[ACME_MODE]"/>
            </Component>
          </Directory>
          <Directory Id="EtcDir" Name="etc">
            <Component Id="Conf" Guid="11111111-2222-3333-4444-6666666666$2">
              <File Id="AcmeConf" Name="acme.conf" Source="bin/acme.conf" KeyPath="yes"/>
            </Component>
            <Directory Id="DocDir" Name="doc">
              <Component Id="Doc" Guid="11111111-2222-3333-4444-7777777777$2">
                <File Id="Readme" Name="readme.txt" Source="doc/readme.txt" KeyPath="yes"/>
              </Component>
            </Directory>
          </Directory>
        </Directory>
      </Directory>
    </Directory>
    <CustomAction Id="$3" FileKey="AcmeExe" ExeCommand="--check" Execute="deferred" Impersonate="yes" Return="ignore"/>
    <Feature Id="Main" Level="1"><ComponentRef Id="MainExe"/><ComponentRef Id="Conf"/><ComponentRef Id="Doc"/></Feature>
    <InstallExecuteSequence>
      <Custom Action="$3" After="InstallFiles">$4</Custom>
    </InstallExecuteSequence>
  </Product>
</Wix>
EOF
}
# the clean one: its custom action runs only when ACME_RUN_CHECK is set (it is not)
wix "Acme Agent" 11 AcmeCheck "NOT Installed AND ACME_RUN_CHECK" >good.wxs
# the failing one: its action made a type-19 error action (wixl 0.101 writes none) by msibuild
wix "Acme Broken" 22 AcmeFail "NOT Installed" >fail.wxs
for m in good fail; do
	wixl -a x64 -o "$m.msi" "$m.wxs" >"$T/wixl.$m.out" 2>&1 || bail_out "wixl $m.wxs failed: $(cat "$T/wixl.$m.out")"
done
msibuild fail.msi -q "UPDATE \`CustomAction\` SET \`Type\`=19, \`Source\`='', \`Target\`='Acme refuses this machine' WHERE \`Action\`='AcmeFail'" ||
	bail_out "msibuild fail.msi failed"
head -c 6000 good.msi >trunc.msi
cp /usr/share/clamav-testfiles/clam.ole.doc word.msi 2>/dev/null || bail_out "clamav-testfiles' clam.ole.doc is missing"
cp good.msi ghost.msi && msibuild ghost.msi -q "UPDATE \`File\` SET \`Component_\`='Ghost' WHERE \`File\`='Readme'" ||
	bail_out "msibuild ghost.msi failed"
# a second product that asks for a reboot (ScheduleReboot: msiexec's result 3010, 194 through Wine)
wix "Acme Reboot" 33 AcmeCheck "NOT Installed AND ACME_RUN_CHECK" | sed 's/Name="Acme">/Name="AcmeReboot">/' >reboot.wxs
wixl -a x64 -o reboot.msi reboot.wxs >"$T/wixl.reboot.out" 2>&1 || bail_out "wixl reboot.wxs failed: $(cat "$T/wixl.reboot.out")"
msibuild reboot.msi -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('ScheduleReboot', '', 6650)" ||
	bail_out "msibuild reboot.msi failed"
# the clean one signed (Authenticode, osslsigncode) by a code signing certificate made here
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >cs.cnf
openssl req -new -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr -subj "/CN=Acme Code Signing/O=Acme Corp" >/dev/null 2>&1 &&
	openssl x509 -req -in signer.csr -signkey signer.key -days 30 -extfile cs.cnf -out signer.pem >/dev/null 2>&1 ||
	bail_out "openssl: the signing certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -subj "/CN=Someone Else" -days 30 >/dev/null 2>&1 ||
	bail_out "openssl: the other certificate"
SIGNER_SHA=$(openssl x509 -in signer.pem -outform DER | sha256sum | cut -d' ' -f1)
osslsigncode sign -certs signer.pem -key signer.key -h sha256 -n "Acme Agent" -in good.msi -out signed.msi >"$T/sign.out" 2>&1 ||
	bail_out "osslsigncode sign failed: $(cat "$T/sign.out")"

# bundle NAME MSI [PROPERTIES-JSON [AUTH-JSON [MSI2]]]: $T/NAME.tar.gz with one msi target for
# Windows Server; AUTH-JSON (default "allow_unsigned": true) may name keys/NAME.pem (then the
# member of $W/NAME.pem); MSI2 is a second package of the target.
bundle() {
	local props=${3:-} auth=${4:-} second=
	[ -n "$props" ] || props='{"ACME_MODE": "fast mode"}'
	[ -n "$auth" ] || auth='"allow_unsigned": true'
	[ -z "${5:-}" ] || second=", {\"file\": \"msi/second.msi\", \"_src\": \"$W/$5\"}"
	cat >"$T/$1.json" <<EOF
{"schema": "pib-agent/bundle/v1", "product": {"name": "acme", "version": "1.2.3", "seller": "Acme"},
 "targets": [{"name": "windows", "os": [{"id": "windows", "versions": ["2016", "2019", "2022", "2025"]}],
   "arch": ["x86_64"], "installer": "msi", $auth,
   "properties": $props,
   "packages": [{"file": "msi/acme.msi", "_src": "$W/$2"}$second]}]}
EOF
	local key extra=()
	for key in $(grep -o 'keys/[a-z]*\.pem' <<<"$auth"); do
		extra+=(--file "$key=$W/${key#keys/}")
	done
	mkbundle "$T/$1.tar.gz" --manifest "$T/$1.json" "${extra[@]}"
}
bundle good good.msi
bundle fail fail.msi
bundle two good.msi "" "" reboot.msi
bundle signed signed.msi "" '"keys": ["keys/signer.pem"]'
bundle wrongkey signed.msi "" '"keys": ["keys/other.pem"]'

# 1. inspection
validate --os windows:2022 --no-scan --dry-run "$T/good.tar.gz"
is "inspect: exit 0" "$RC" 0
is "inspect: incomplete (dry run)" "$(rep status)" incomplete
is "inspect: the msi target chosen" "$(rep target.installer)" msi
is "inspect: resolve ok" "$(rep 'steps[name=resolve].status')" ok
is "inspect: name and version from the Property table" "$(rep packages.name) $(rep packages.version) $(rep packages.arch)" \
	"Acme Agent 1.2.3 x86_64"
check "inspect: the product code" grep -Eq '^\{[0-9A-F-]{36}\}$' <<<"$(rep packages.msi.product_code)"
is "inspect: manufacturer, upgrade code, template" \
	"$(rep packages.msi.manufacturer) $(rep packages.msi.upgrade_code) $(rep packages.msi.template)" \
	"Acme Corp {12345678-1234-1234-1234-123456789011} x64;1033"
is "inspect: every file under its install path" "$(rep packages.msi.files.path | sort | tr '\n' ' ')" \
	"[ProgramFiles64Folder]Acme/bin/acme-helper.dll [ProgramFiles64Folder]Acme/bin/acme.exe [ProgramFiles64Folder]Acme/etc/acme.conf [ProgramFiles64Folder]Acme/etc/doc/readme.txt "
is "inspect: the files' components" "$(rep packages.msi.files.component | sort | tr '\n' ' ')" "Conf Doc MainExe MainExe "
is "inspect: the files' sizes" "$(rep packages.msi.files.size | sort -n | tr '\n' ' ')" "8 10 14 15 "
is "inspect: files_total" "$(rep packages.msi.files_total)" 4
is "inspect: the service" "$(rep packages.msi.services.name) $(rep packages.msi.services.start) $(rep packages.msi.services.account)" \
	'AcmeSvc demand NT AUTHORITY\LocalService'
is "inspect: the registry value" \
	"$(rep packages.msi.registry.root) $(rep packages.msi.registry.key) $(rep packages.msi.registry.name) $(rep packages.msi.registry.value)" \
	'HKLM Software\Acme\Agent Mode [ACME_MODE]'
is "inspect: the custom action" \
	"$(rep packages.msi.custom_actions.action) $(rep packages.msi.custom_actions.type) $(rep packages.msi.custom_actions.source) $(rep packages.msi.custom_actions.target) $(rep packages.msi.custom_actions.sequenced)" \
	"AcmeCheck 1106 AcmeExe --check true"
is "inspect: its type in words" "$(rep packages.msi.custom_actions.type_words)" \
	"exe from an installed file, deferred, continue on error"
is "inspect: the unsigned MSI accepted (allow_unsigned) is said" "$(rep 'steps[name=verify].unsigned_accepted')" msi/acme.msi
is "inspect: install skipped (dry run)" "$(rep 'steps[name=install].status')" skipped


# 1b. signed: verified against the target's key, the signer's subject and certificate reported;
# with another certificate as the key: refused, the signer reported all the same
validate --os windows:2022 --no-scan --dry-run "$T/signed.tar.gz"
is "signed: exit 0" "$RC" 0
is "signed: verify ok" "$(rep 'steps[name=verify].status')" ok
is "signed: signed by the certificate's SHA-256" "$(rep 'steps[name=verify].signatures.signed_by')" "$SIGNER_SHA"
is "signed: its certificate_sha256" "$(rep 'steps[name=verify].signatures.certificate_sha256')" "$SIGNER_SHA"
contains "signed: its subject" "$(rep 'steps[name=verify].signatures.subject')" "CN=Acme Code Signing"
is "signed: nothing accepted unsigned" "$(rep 'steps[name=verify].unsigned_accepted')" ""
validate --os windows:2022 --no-scan --dry-run "$T/wrongkey.tar.gz"
is "signed by another key: exit 2, package.signature_invalid" "$RC $(rep error.code)" "2 package.signature_invalid"
is "signed by another key: its signer still reported, not accepted" \
	"$(rep 'steps[name=verify].signatures.certificate_sha256') $(rep 'steps[name=verify].signatures.accepted')" "$SIGNER_SHA false"
contains "signed by another key: its subject" "$(rep 'steps[name=verify].signatures.subject')" "CN=Acme Code Signing"
is "signed by another key: nothing resolved or installed" "$(rep 'steps[name=resolve].status')$(rep 'steps[name=install].status')" ""
diag "inspection done at ${SECONDS} s"
# 2. bad input: failed (exit 2), nothing installed (no install step ran)
# bad NAME DESC CODE TEXT: the bundle NAME refused with CODE and a message holding TEXT.
bad() {
	# without scans: the Word document is one of ClamAV's test files (a detection at prescan)
	PIB_TEST_NO_SCAN=1 validate --os windows:2022 --no-scan "$T/$1.tar.gz"
	is "$2: exit 2" "$RC" 2
	is "$2: error $3" "$(rep error.code)" "$3"
	contains "$2: the message names it" "$(rep error.message)" "$4"
	is "$2: nothing installed" "$(rep 'steps[name=install].status')" ""
}
bundle trunc trunc.msi
bad trunc "a truncated MSI" msi.invalid "msi/acme.msi: not an MSI, or a damaged one"
bundle word word.msi
bad word "an OLE file that is not an MSI" msi.invalid "msi/acme.msi: not an MSI, or a damaged one: libmsi cannot open it"
bundle ghost ghost.msi
bad ghost "a File row naming a missing Component" msi.invalid \
	"msi/acme.msi: table File, row Readme, column Component_: no Component row Ghost"
bundle quote good.msi '{"ACME_MODE": "fast\" /qb OTHER=\"1"}'
bad quote "a property value with a quote" msi.property_invalid \
	'manifest.json: targets[0].properties.ACME_MODE: the value holds a double quote'
bundle ctl good.msi '{"ACME_MODE": "a\tb"}'
bad ctl "a property value with a control character" msi.property_invalid \
	'targets[0].properties.ACME_MODE: the value holds a control character'
bundle digit good.msi '{"1ACME": "x"}'
bad digit "a property name that is not public" msi.property_invalid \
	'targets[0].properties.1ACME: not a public property name'
sed 's/"2016", "2019", "2022", "2025"/"2022", "10"/' "$T/good.json" >"$T/winver.json" || bail_out "sed winver.json"
mkbundle "$T/winver.tar.gz" --manifest "$T/winver.json"
bad winver "a Windows version that is no Windows Server's" manifest.invalid \
	'manifest.json: targets[0].os[0].versions[1]: "10" is not a Windows Server version (2016, 2019, 2022, 2025)'

diag "bad input done at ${SECONDS} s"
# 3. without Wine: PIB_WINE=none (and a PATH without wine64) or a PIB_WINE that is no file
PIB_WINE=none PATH=/usr/sbin:/usr/bin:/sbin:/bin PIB_TEST_NO_SCAN=1 validate --os windows:2022 --no-scan "$T/good.tar.gz"
is "no Wine: exit 0" "$RC" 0
is "no Wine: incomplete" "$(rep status)" incomplete
is "no Wine: install skipped" "$(rep 'steps[name=install].status')" skipped
contains "no Wine: the reason" "$(rep 'steps[name=install].reason')" "PIB_WINE=none: Wine is not used"
is "no Wine: resolve still read the tables" "$(rep packages.msi.files_total)" 4
is "no Wine: no postscan" "$(rep 'steps[name=postscan].status')" ""
check "no Wine: said on stderr" grep -q "install skipped: PIB_WINE=none" "$T/agent.err"
PIB_WINE=$T/no-such-wine64 PIB_TEST_NO_SCAN=1 validate --os windows:2022 --no-scan "$T/good.tar.gz"
is "PIB_WINE not a file: exit 0, incomplete" "$RC $(rep status)" "0 incomplete"
contains "PIB_WINE not a file: the reason" "$(rep 'steps[name=install].reason')" "PIB_WINE=$T/no-such-wine64: not an executable file"

diag "no-Wine runs done at ${SECONDS} s"
# 4. through Wine
if [ ! -x /usr/lib/wine/wine64 ] && ! command -v wine64 >/dev/null; then
	for d in "clean install through Wine" "failed install through Wine"; do
		ok "$d # SKIP wine64 is not installed (tests/deps.sh installs it)"
	done
	done_testing
fi
t0=$(date +%s.%N)
validate --os windows:2022 --no-scan "$T/two.tar.gz"
t1=$(date +%s.%N)
diag "the clean install took $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s"
is "wine: exit 0" "$RC" 0
is "wine: succeeded" "$(rep status)" succeeded
is "wine: install ok" "$(rep 'steps[name=install].status')" ok
is "wine: msiexec (Wine)" "$(rep 'steps[name=install].tool')" "msiexec (Wine)"
contains "wine: the first MSI's result 0" "$(rep 'steps[name=install].output')" "msi/acme.msi: msiexec's result 0 (ERROR_SUCCESS"
contains "wine: the second's 3010, from Wine's 194" "$(rep 'steps[name=install].output')" \
	"msi/second.msi: msiexec's result 3010 (ERROR_SUCCESS_REBOOT_REQUIRED; Wine's exit status 194)"
is "wine: a reboot is required (3010), recorded" "$(rep 'steps[name=install].exit_code') $(rep 'steps[name=install].reboot_required')" "3010 true"
contains "wine: wineboot ran first" "$(rep 'steps[name=install].output')" "wineboot -i"
contains "wine: the property given to msiexec" "$(rep 'steps[name=install].output')" "/l*v P:\\pkg1-1.log ACME_MODE=fast mode"
is "wine: the files found under drive_c" "$(rep 'packages[name=Acme Agent].files' | sort | tr '\n' '|')" \
	"/drive_c/Program Files/Acme/bin/acme-helper.dll|/drive_c/Program Files/Acme/bin/acme.exe|/drive_c/Program Files/Acme/etc/acme.conf|/drive_c/Program Files/Acme/etc/doc/readme.txt|"
is "wine: the second product's files" "$(rep 'packages[name=Acme Reboot].files' | grep -c '^/drive_c/Program Files/AcmeReboot/')" 4
is "wine: postscan ok, the packages' files scanned" \
	"$(rep 'steps[name=postscan].status') $(rep 'steps[name=postscan].files_from_packages')" "ok 8"
check "wine: postscan saw what else changed in the prefix (its registry)" \
	test "$(rep 'steps[name=postscan].files_changed_outside_packages')" -ge 1
is "wine: the policy step judged the MSIs' tables" "$(rep 'policy.id' | tr '\n' ' ')/$(rep 'policy.path' | tr '\n' ' ')/$(rep 'policy.origin' | sort -u)" \
	"msi.service msi.service /msi/acme.msi msi/second.msi /bundle"
prefix=$(rep 'steps[name=install].prefix')
check "wine: the prefix was under the agent's TMPDIR" grep -q "^$T/agent-tmp/pib-wine" <<<"$prefix"
check_not "wine: the prefix is removed after the run" test -e "$prefix"

validate --os windows:2022 --no-scan "$T/fail.tar.gz"
is "wine fail: exit 2" "$RC" 2
is "wine fail: failed" "$(rep status)" failed
is "wine fail: install.failed" "$(rep error.code)" install.failed
contains "wine fail: the real result, not the 8-bit one" "$(rep error.message)" \
	"msi/acme.msi: msiexec failed: result 1603 (ERROR_INSTALL_FAILURE), at action \"AcmeFail\" (Wine's exit status 67"
is "wine fail: exit_code 1603" "$(rep 'steps[name=install].exit_code')" 1603
contains "wine fail: the log's lines around the failure" "$(rep error.output)" "Action ended"
contains "wine fail: ... up to the failed action" "$(rep error.output)" "AcmeFail. Return value 0."
is "wine fail: what msiexec left is still scanned" "$(rep 'steps[name=postscan].status')" ok
is "wine fail: the package is unfinished" "$(rep 'steps[name=install].unfinished')" "Acme Broken 1.2.3 x86_64: msiexec ran"

done_testing
