#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent policy PACKAGE.msi (issue 13, the Windows checks from an MSI's tables): MSIs built
# here with wixl from WiX XML. One installs a service that starts by itself as LocalSystem, a Run
# key, a deferred custom action without impersonation and a file in [SystemFolder]: each finding
# with its evidence, origin bundle, the high ones violations (exit 1). A clean one (files only
# under [ProgramFiles64Folder]Acme, a demand-start service as LocalService, an impersonated
# deferred action) has no finding (exit 0). Bad input is msi.unreadable or msi.invalid (exit 2)
# naming the file and the table, row and column: a truncated MSI, an OLE file that is not an MSI
# (a Word document), a random file with the OLE signature, one on which libmsi itself crashes (it
# reads in a child process), a row naming a missing row, a cycle of directories, a ".." name. With --root too, the root is walked as well.
. "$(dirname "$0")/lib.sh"
setup

for t in wixl msibuild; do
	command -v "$t" >/dev/null || bail_out "$t is missing (tests/deps.sh installs wixl and msitools)"
done
W=$T/wix
mkdir -p "$W/bin"
cd "$W" || bail_out "cd $W"
printf 'MZ acme agent\n' >bin/acme.exe
printf 'MZ acme helper\n' >bin/acme-helper.dll
printf 'setting=1\n' >bin/acme.conf

# wix_product NAME UPGRADECODE BODY SEQUENCE: a whole WiX document on stdout.
wix_product() {
	cat <<EOF
<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="$1" Language="1033" Version="1.2.3" Manufacturer="Acme Corp" UpgradeCode="$2">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="acme.cab" EmbedCab="yes"/>
$3
    <InstallExecuteSequence>
$4
    </InstallExecuteSequence>
  </Product>
</Wix>
EOF
}

wix_product "Acme Agent" 12345678-1234-1234-1234-123456789012 '
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Acme">
          <Directory Id="BinDir" Name="bin">
            <Component Id="MainExe" Guid="11111111-2222-3333-4444-555555555551">
              <File Id="AcmeExe" Name="acme.exe" Source="bin/acme.exe" KeyPath="yes"/>
              <ServiceInstall Id="AcmeSvc" Name="AcmeSvc" DisplayName="Acme Service" Type="ownProcess" Start="auto" ErrorControl="normal"/>
              <ServiceControl Id="AcmeSvcCtl" Name="AcmeSvc" Start="install" Stop="both" Remove="uninstall"/>
              <RegistryValue Root="HKLM" Key="Software\Microsoft\Windows\CurrentVersion\Run" Name="AcmeTray" Type="string" Value="&quot;[BinDir]acme.exe&quot; --tray --a-very-long-option-that-goes-on-and-on-past-eighty-characters-of-value"/>
              <RegistryValue Root="HKLM" Key="Software\Acme\Agent" Name="Level" Type="string" Value="3"/>
            </Component>
          </Directory>
        </Directory>
      </Directory>
      <Directory Id="SystemFolder">
        <Component Id="SysDll" Guid="11111111-2222-3333-4444-555555555552">
          <File Id="AcmeDll" Name="acme-helper.dll" Source="bin/acme-helper.dll" KeyPath="yes"/>
        </Component>
      </Directory>
    </Directory>
    <CustomAction Id="AcmeSetup" FileKey="AcmeExe" ExeCommand="--setup --all" Execute="deferred" Impersonate="no" Return="check"/>
    <Feature Id="Main" Level="1">
      <ComponentRef Id="MainExe"/>
      <ComponentRef Id="SysDll"/>
    </Feature>' '      <Custom Action="AcmeSetup" After="InstallFiles">NOT Installed</Custom>' >bad.wxs

wix_product "Acme Clean" 12345678-1234-1234-1234-123456789013 '
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Acme">
          <Directory Id="BinDir" Name="bin">
            <Component Id="MainExe" Guid="11111111-2222-3333-4444-555555555561">
              <File Id="AcmeExe" Name="acme.exe" Source="bin/acme.exe" KeyPath="yes"/>
SERVICE
              <RegistryValue Root="HKLM" Key="Software\Acme\Agent" Name="Level" Type="string" Value="3"/>
            </Component>
          </Directory>
          <Directory Id="EtcDir" Name="etc">
            <Component Id="Conf" Guid="11111111-2222-3333-4444-555555555562">
              <File Id="AcmeConf" Name="acme.conf" Source="bin/acme.conf" KeyPath="yes"/>
            </Component>
          </Directory>
        </Directory>
      </Directory>
    </Directory>
    <CustomAction Id="AcmeCheck" FileKey="AcmeExe" ExeCommand="--check" Execute="deferred" Impersonate="yes" Return="check"/>
    <Feature Id="Main" Level="1">
      <ComponentRef Id="MainExe"/>
      <ComponentRef Id="Conf"/>
    </Feature>' '      <Custom Action="AcmeCheck" After="InstallFiles">NOT Installed</Custom>' >clean.in
grep -v '^SERVICE$' clean.in >clean.wxs
# mild: the clean one with a service started on demand as LocalService: reported at medium
sed -e 's|^SERVICE$|              <ServiceInstall Id="AcmeSvc" Name="AcmeSvc" DisplayName="Acme Service" Type="ownProcess" Start="demand" ErrorControl="normal" Account="NT AUTHORITY\\LocalService"/>|' \
	-e 's/Acme Clean/Acme Mild/' clean.in >mild.wxs

for m in bad clean mild; do
	wixl -a x64 -o "$m.msi" "$m.wxs" >"$T/wixl.$m.out" 2>&1 || bail_out "wixl $m.wxs failed: $(cat "$T/wixl.$m.out")"
done

# 1. the MSI with one of each
agent_run policy bad.msi
is "bad: exit 1 (high findings of the package)" "$RC" 1
facts status command 'error.code' 'steps[name=policy].root' 'steps[name=policy].msi.product_code' \
	'steps[name=policy].msi.manufacturer' 'steps[name=policy].msi.files' 'policy.origin' 'policy.path' \
	'policy[id=msi.service].severity' 'policy[id=msi.service].evidence' 'policy[id=msi.service].status' \
	'policy[id=msi.run_key].severity' 'policy[id=msi.run_key].evidence' \
	'policy[id=msi.custom_action_system].severity' 'policy[id=msi.custom_action_system].evidence' \
	'policy[id=msi.file_outside_installdir].severity' 'policy[id=msi.file_outside_installdir].evidence' 'policy.id'
is "bad: status findings" "$(fact status)" findings
is "bad: command policy" "$(fact command)" policy
is "bad: error policy.violation" "$(fact error.code)" policy.violation
is "bad: no root walked" "$(fact 'steps[name=policy].root')" null
check "bad: the product code is read" grep -Eq '^\{[0-9A-F-]{36}\}$' <<<"$(fact 'steps[name=policy].msi.product_code')"
is "bad: manufacturer" "$(fact 'steps[name=policy].msi.manufacturer')" "Acme Corp"
is "bad: two files" "$(fact 'steps[name=policy].msi.files')" 2
is "bad: every finding is the package's (origin bundle)" "$(fact policy.origin | sort -u)" bundle
is "bad: each finding names the MSI" "$(fact policy.path | sort -u)" bad.msi
is "bad: four findings, one of each" "$(fact policy.id | sort | tr '\n' ' ')" \
	"msi.custom_action_system msi.file_outside_installdir msi.run_key msi.service "
is "bad: service auto as LocalSystem is high" "$(fact 'policy[id=msi.service].severity')" high
is "bad: ... a violation" "$(fact 'policy[id=msi.service].status')" violation
is "bad: service evidence" "$(fact 'policy[id=msi.service].evidence')" \
	"ServiceInstall AcmeSvc: service AcmeSvc, start auto (StartType 2), account LocalSystem, binary [ProgramFiles64Folder]Acme/bin/acme.exe"
is "bad: run key medium" "$(fact 'policy[id=msi.run_key].severity')" medium
ev=$(fact 'policy[id=msi.run_key].evidence')
contains "bad: run key evidence: root, key and name" "$ev" 'HKLM\Software\Microsoft\Windows\CurrentVersion\Run, value AcmeTray = "'
contains "bad: run key evidence: the value, cut to 80 characters" "$ev" '"[BinDir]acme.exe" --tray --a-very-long-option-that-goes-on-and-on-past-eighty-c..."'
check_not "bad: the registry value outside Run is not a finding" grep -q 'Software\\Acme' <<<"$ev"
is "bad: custom action high" "$(fact 'policy[id=msi.custom_action_system].severity')" high
is "bad: custom action evidence" "$(fact 'policy[id=msi.custom_action_system].evidence')" \
	'CustomAction AcmeSetup: type 3090 (exe from an installed file, deferred, no impersonation (runs as LocalSystem)), source File AcmeExe ([ProgramFiles64Folder]Acme/bin/acme.exe), target "--setup --all"; in InstallExecuteSequence at 6601, condition NOT Installed'
is "bad: file outside medium" "$(fact 'policy[id=msi.file_outside_installdir].severity')" medium
contains "bad: file outside evidence" "$(fact 'policy[id=msi.file_outside_installdir].evidence')" \
	"File AcmeDll (component SysDll, directory SystemFolder): [SystemFolder]acme-helper.dll, not below"

# 1b. other custom action types, made by changing the Type column (wixl 0.101 sets no rollback or
# commit bit and writes no Directory, inline script or Binary exe action)
# ca_type NAME TYPE: a copy of bad.msi whose AcmeSetup has TYPE; runs policy on it.
ca_type() {
	cp bad.msi "$1" && msibuild "$1" -q "UPDATE \`CustomAction\` SET \`Type\`=$2 WHERE \`Action\`='AcmeSetup'" ||
		bail_out "msibuild $1 failed"
	agent_run policy "$1"
}
ca_type rollback.msi 3346 # 18 | in-script | rollback | no impersonation
contains "rollback: the type in words" "$(rep 'policy[id=msi.custom_action_system].evidence')" \
	'type 3346 (exe from an installed file, deferred, no impersonation, rollback (runs as LocalSystem))'
ca_type hidden.msi 11282 # 18 | in-script | no impersonation | hide target
ev=$(rep 'policy[id=msi.custom_action_system].evidence')
contains "hidden target: said" "$ev" 'target "hidden by the MSI (HideTarget): not shown"'
check_not "hidden target: its value is not in the report" grep -q -- '--setup --all' <<<"$ev"
ca_type impersonated.msi 1042 # 18 | in-script: deferred, as the installing user
is "deferred but impersonated: no custom action finding" "$(rep 'policy[id=msi.custom_action_system].id')" ""
ca_type immediate.msi 2066 # 18 | no impersonation, not deferred: runs as the user in the client
is "immediate: no custom action finding" "$(rep 'policy[id=msi.custom_action_system].id')" ""
ca_type propset.msi 3123 # 51 (a property set) | in-script | no impersonation: no code
is "a property set as LocalSystem runs no code: no finding" "$(rep 'policy[id=msi.custom_action_system].id')" ""

# 2. the clean MSI
agent_run policy clean.msi
is "clean: exit 0" "$RC" 0
facts status 'policy.id' 'steps[name=policy].msi.files' 'steps[name=policy].msi.services' 'steps[name=policy].msi.custom_actions'
is "clean: succeeded" "$(fact status)" succeeded
is "clean: no finding" "$(fact policy.id)" ""
is "clean: its two files, no service, one custom action read" \
	"$(fact 'steps[name=policy].msi.files') $(fact 'steps[name=policy].msi.services') $(fact 'steps[name=policy].msi.custom_actions')" "2 0 1"

agent_run policy mild.msi
is "mild: exit 0 (a medium finding is reported, not a violation)" "$RC" 0
facts 'policy.id' 'policy[id=msi.service].severity' 'policy[id=msi.service].status' 'policy[id=msi.service].evidence'
is "mild: only the service" "$(fact policy.id)" msi.service
is "mild: a service on demand as LocalService is medium" "$(fact 'policy[id=msi.service].severity')" medium
is "mild: ... reported" "$(fact 'policy[id=msi.service].status')" reported
contains "mild: its start and account" "$(fact 'policy[id=msi.service].evidence')" 'start demand (StartType 3), account NT AUTHORITY\LocalService'

# 3. two MSIs at once: the findings of both, each named
agent_run policy clean.msi bad.msi
is "both: exit 1" "$RC" 1
is "both: two summaries" "$(rep 'steps[name=policy].msi.path' | tr '\n' ' ')" "clean.msi bad.msi "

# 4. bad input: each a clear error, exit 2, the step failed
# bad_input DESC FILE CODE TEXT: policy on FILE ends with exit 2, error CODE, a message holding TEXT.
bad_input() {
	agent_run policy "$2"
	is "$1: exit 2" "$RC" 2
	is "$1: error $3" "$(rep error.code)" "$3"
	contains "$1: the message says what and where" "$(rep error.message)" "$4"
	is "$1: no finding" "$(rep policy.id)" ""
	check "$1: the agent said it on stderr" grep -q "$3" "$T/agent.err"
	check_not "$1: no GLib message on stderr" grep -Eq 'WARNING \*\*|CRITICAL \*\*' "$T/agent.err"
}
head -c 6000 bad.msi >trunc.msi
bad_input "truncated MSI" trunc.msi msi.invalid "trunc.msi: not an MSI, or a damaged one"
cp /usr/share/clamav-testfiles/clam.ole.doc word.msi 2>/dev/null || bail_out "clamav-testfiles' clam.ole.doc is missing"
bad_input "an OLE file that is not an MSI (a Word document)" word.msi msi.invalid "not a MSI database"
{ printf '\320\317\021\340\241\261\032\341'; head -c 4096 /dev/urandom; } >ole-random.msi
bad_input "random bytes after the OLE signature" ole-random.msi msi.invalid "ole-random.msi: not an MSI"
# a damaged MSI on which libmsi 0.101 itself dereferences NULL (a stream's blocks missing; found by
# tests/fuzz/fuzz_msi.c): libmsi reads in a child process, whose death is msi.invalid
cp "$REPO_DIR/tests/fuzz/corpus/msi/libmsi-segv.msi" segv.msi || bail_out "no libmsi-segv.msi in the fuzz corpus"
bad_input "an MSI on which libmsi crashes" segv.msi msi.invalid "segv.msi: not an MSI, or a damaged one: reading its tables with libmsi ended with signal 11"
head -c 4096 /dev/urandom >random.msi
bad_input "random bytes" random.msi msi.invalid "no OLE compound file signature"
bad_input "a missing file" missing.msi msi.unreadable "missing.msi: cannot open"
ln -s bad.msi link.msi
bad_input "a symbolic link (never followed)" link.msi msi.unreadable "link.msi: cannot open"
# edit_msi NAME SQL: a copy of bad.msi changed by one SQL statement (msitools' msibuild)
edit_msi() {
	cp bad.msi "$1" && msibuild "$1" -q "$2" || bail_out "msibuild $1 failed"
}
edit_msi dirmiss.msi "UPDATE \`Directory\` SET \`Directory_Parent\`='Nowhere' WHERE \`Directory\`='BinDir'"
bad_input "a directory whose parent is no row" dirmiss.msi msi.invalid \
	"dirmiss.msi: table Directory, row BinDir, column Directory_Parent: no Directory row Nowhere"
edit_msi cycle.msi "UPDATE \`Directory\` SET \`Directory_Parent\`='BinDir' WHERE \`Directory\`='INSTALLDIR'"
bad_input "a cycle of directories" cycle.msi msi.invalid "column Directory_Parent: a cycle of parents"
edit_msi filemiss.msi "UPDATE \`File\` SET \`Component_\`='Ghost' WHERE \`File\`='AcmeDll'"
bad_input "a file whose component is no row" filemiss.msi msi.invalid \
	"table File, row AcmeDll, column Component_: no Component row Ghost"
edit_msi compmiss.msi "UPDATE \`Component\` SET \`Directory_\`='Ghost' WHERE \`Component\`='SysDll'"
bad_input "a component whose directory is no row" compmiss.msi msi.invalid \
	"table Component, row SysDll, column Directory_: no Directory row Ghost"
edit_msi dotdot.msi "UPDATE \`Directory\` SET \`DefaultDir\`='ACME|..' WHERE \`Directory\`='INSTALLDIR'"
bad_input "a directory named .." dotdot.msi msi.invalid \
	"table Directory, row INSTALLDIR, column DefaultDir: \"ACME|..\" is not a directory name"
edit_msi slash.msi "UPDATE \`File\` SET \`FileName\`='x|..\\..\\evil.dll' WHERE \`File\`='AcmeDll'"
bad_input "a file name with separators" slash.msi msi.invalid "table File, row AcmeDll, column FileName"
edit_msi svcmiss.msi "UPDATE \`ServiceInstall\` SET \`Component_\`='Ghost' WHERE \`ServiceInstall\`='AcmeSvc'"
bad_input "a service whose component is no row" svcmiss.msi msi.invalid \
	"table ServiceInstall, row AcmeSvc, column Component_: no Component row Ghost"

# 5. with --root too: the MSI's findings (bundle) and the root's (image)
R=$T/root
mkdir -p "$R/etc"
printf 'ID=debian\nVERSION_ID=12\n' >"$R/etc/os-release"
agent_run policy --root "$R" bad.msi
is "with --root: exit 1" "$RC" 1
is "with --root: the root walked" "$(rep 'steps[name=policy].root')" "$R"
check "with --root: the walk ran" test -n "$(rep 'steps[name=policy].walk.files')"
is "with --root: the MSI's findings are still the package's" \
	"$(rep 'policy[id=msi.service].origin') $(rep 'policy[id=msi.run_key].origin')" "bundle bundle"

cd / || true
done_testing
