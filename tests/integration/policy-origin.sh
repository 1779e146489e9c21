#!/bin/bash
# SPDX-License-Identifier: MIT
# The policy step and whose fault a finding is (issue 13): the same finding, cloud-init's
# user-data left in /var/lib/cloud/instances, already in the gold image (origin image: reported,
# status unchanged), brought by a package's postinst (origin bundle: findings, exit 1,
# policy.violation), both at once, absent (no finding), and an instances folder that is a link
# out of the root (never followed); files a package ships (a setuid binary, a PEM private key, an
# AWS key pair: bundle, never the secret in the report); an OS past its end of life (image).
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

# 6. files the bundle ships: a setuid binary, a PEM private key, an AWS key pair
d=$T/pkg-secrets
mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/etc/pib"
printf '%s\n' "Package: pib-secrets" "Version: 1.0" "Architecture: all" \
	"Maintainer: pib-agent tests <tests@example.invalid>" "Description: ships what it should not" >"$d/DEBIAN/control"
printf '#!/bin/sh\nexit 0\n' >"$d/usr/bin/pib-suid"
chmod 4755 "$d/usr/bin/pib-suid"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/etc/pib/key.pem" 2>/dev/null ||
	bail_out "openssl genpkey failed"
akid=AKIA$(head -c 64 /dev/urandom | base32 | tr -dc 'A-Z2-7' | head -c 16)
asecret=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$akid" "$asecret" >"$d/etc/pib/credentials"
dpkg-deb --root-owner-group --build "$d" "$T/secrets.deb" >/dev/null || bail_out "dpkg-deb failed"
mkbundle "$T/secrets.tar.gz" --deb "$T/secrets.deb"
R6=$T/root6
copy_root "$R6"
validate "$T/secrets.tar.gz" --root "$R6" --no-scan
is "shipped secrets: exit 1" "$RC" 1
is "setuid binary: file.setuid, bundle, violation" \
	"$(rep 'policy[id=file.setuid].path')/$(rep 'policy[id=file.setuid].origin')/$(rep 'policy[id=file.setuid].status')" \
	/usr/bin/pib-suid/bundle/violation
is "PEM private key: secret.private_key_pem, critical" \
	"$(rep 'policy[id=secret.private_key_pem].path')/$(rep 'policy[id=secret.private_key_pem].severity')" \
	/etc/pib/key.pem/critical
is "AWS key pair: secret.aws_access_key, critical (a secret beside the id)" \
	"$(rep 'policy[id=secret.aws_access_key].path')/$(rep 'policy[id=secret.aws_access_key].severity')" \
	/etc/pib/credentials/critical
check_not "the AWS secret is not in the report" grep -q "$asecret" "$REPORT"
check_not "the AWS key id is not in the report whole" grep -q "$akid" "$REPORT"
body=$(sed -n 2p "$d/etc/pib/key.pem" | cut -c1-24)
check_not "no line of the private key is in the report" grep -qF "$body" "$REPORT"
check "the files were judged" test "$(rep 'steps[name=policy].files_judged')" -ge 3

# 7. an OS past its end of life: the image's, never the seller's (PIB_POLICY_DATE: a fixed day)
R7=$T/root7
copy_root "$R7"
PIB_POLICY_DATE=2031-01-01 validate "$T/hello.tar.gz" --root "$R7" --no-scan
is "end of life: exit 0" "$RC" 0
is "end of life: os.end_of_life, origin image" "$(rep 'policy[id=os.end_of_life].origin')" image
contains "end of life: the OS and the date in the evidence" "$(rep 'policy[id=os.end_of_life].evidence')" "Debian GNU/Linux 12"
PIB_POLICY_DATE=2025-01-01 validate "$T/hello.tar.gz" --root "$R7" --no-scan
is "supported on 2025-01-01: no os finding" "$(rep 'policy.id' | grep -c '^os\.')" 0

done_testing
