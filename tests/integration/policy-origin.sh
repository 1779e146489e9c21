#!/bin/bash
# SPDX-License-Identifier: MIT
# The policy step and whose fault a finding is (issue 13): the same finding, cloud-init's
# user-data left in /var/lib/cloud/instances, already in the gold image (origin image: reported,
# status unchanged), brought by a package's postinst (origin bundle: findings, exit 1,
# policy.violation), both at once, absent (no finding), and an instances folder that is a link
# out of the root (never followed).
. "$(dirname "$0")/lib.sh"
setup

cat >"$T/postinst" <<'EOF'
#!/bin/sh
set -e
mkdir -p /var/lib/cloud/instances/i-0bundle
echo "#cloud-config" > /var/lib/cloud/instances/i-0bundle/user-data.txt
EOF
mkdeb "$T/leaves-userdata.deb" pib-leaves-userdata 1.0 postinst="$T/postinst"
mkbundle "$T/leaves.tar.gz" --deb "$T/leaves-userdata.deb"
mkbundle "$T/hello.tar.gz" --deb "$DEB_HELLO"

# 1. the gold image already has it: image origin, the seller's run succeeds
R1=$T/root1
copy_root "$R1"
mkdir -p "$R1/var/lib/cloud/instances/i-0image"
echo "#cloud-config" >"$R1/var/lib/cloud/instances/i-0image/user-data.txt"
validate "$T/hello.tar.gz" --root "$R1" --no-scan
is "image's finding: exit 0" "$RC" 0
is "image's finding: status succeeded" "$(rep status)" succeeded
is "image's finding: the policy step ok" "$(rep 'steps[name=policy].status')" ok
is "image's finding: listed once" "$(rep 'policy.id')" cloud.user_data_left
is "image's finding: origin image" "$(rep 'policy[0].origin')" image
is "image's finding: status reported" "$(rep 'policy[0].status')" reported
is "image's finding: severity high" "$(rep 'policy[0].severity')" high
is "image's finding: its path" "$(rep 'policy[0].path')" /var/lib/cloud/instances/i-0image/user-data.txt
contains "image's finding: evidence gives the size, not the content" "$(rep 'policy[0].evidence')" "14 bytes"
check_not "image's finding: the user-data's content is not in the report" grep -q "cloud-config" "$REPORT"
check "image's finding: a remediation" test -n "$(rep 'policy[0].remediation')"

# 2. the bundle brings it: bundle origin, findings
R2=$T/root2
copy_root "$R2"
validate "$T/leaves.tar.gz" --root "$R2" --no-scan
is "bundle's finding: exit 1" "$RC" 1
is "bundle's finding: status findings" "$(rep status)" findings
is "bundle's finding: the policy step failed" "$(rep 'steps[name=policy].status')" failed
is "bundle's finding: policy.violation" "$(rep 'steps[name=policy].error.code')" policy.violation
is "bundle's finding: origin bundle" "$(rep 'policy[0].origin')" bundle
is "bundle's finding: status violation" "$(rep 'policy[0].status')" violation
is "bundle's finding: its path" "$(rep 'policy[0].path')" /var/lib/cloud/instances/i-0bundle/user-data.txt
is "bundle's finding: counted as from the bundle" "$(rep 'steps[name=policy].from_bundle')" 1
contains "stderr says VIOLATION" "$(cat "$T/agent.err")" "cloud.user_data_left"

# 3. both: the image's stays image, the bundle's is bundle
R3=$T/root3
copy_root "$R3"
mkdir -p "$R3/var/lib/cloud/instances/i-0image"
echo "#cloud-config" >"$R3/var/lib/cloud/instances/i-0image/user-data.txt"
validate "$T/leaves.tar.gz" --root "$R3" --no-scan
is "both: exit 1" "$RC" 1
is "both: two findings" "$(rep 'policy.id' | wc -l)" 2
is "both: the image's is image" "$(rep 'policy[path=/var/lib/cloud/instances/i-0image/user-data.txt].origin')" image
is "both: the bundle's is bundle" "$(rep 'policy[path=/var/lib/cloud/instances/i-0bundle/user-data.txt].origin')" bundle

# 4. nothing of it: no finding
R4=$T/root4
copy_root "$R4"
validate "$T/hello.tar.gz" --root "$R4" --no-scan
is "clean: exit 0" "$RC" 0
is "clean: the policy step ok" "$(rep 'steps[name=policy].status')" ok
is "clean: policy[] empty" "$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" policy)" "[[]]"

# 5. a link out of the root is not followed: instances pointing at this machine's folder
R5=$T/root5
copy_root "$R5"
mkdir -p "$T/host-cloud/i-0host" "$R5/var/lib/cloud"
echo x >"$T/host-cloud/i-0host/user-data.txt"
ln -s "$T/host-cloud" "$R5/var/lib/cloud/instances"
validate "$T/hello.tar.gz" --root "$R5" --no-scan
is "link out of the root: exit 0" "$RC" 0
check_not "link out of the root: this machine's folder is not read" grep -q "i-0host" "$REPORT"

done_testing
