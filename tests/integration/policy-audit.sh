#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent policy --root (issue 13): the image policy checks alone, for a security team auditing
# an image. A copy of the gold root fails each check (sshd's PasswordAuthentication only in a
# drop-in, a Match block, an empty root password, root's authorized_keys, a PEM key and an AWS key
# pair, a sudoers drop-in with NOPASSWD: ALL, setuid and world-writable files, cloud-init's
# user-data, an end-of-life os-release) and the untouched copy passes them; the report is signed
# (checked by openssl pkeyutl) and valid against the schema; nothing of the root changes; a secret
# is never in the report; and this machine's own root, mounted read-only in a private mount
# namespace, is audited to the end.
. "$(dirname "$0")/lib.sh"
setup

"$PIB_AGENT" keygen --out "$T/k" >/dev/null 2>&1 || bail_out "keygen failed"

# 1. the untouched gold root: none of the planted findings
R0=$T/clean
copy_root "$R0"
snap "$R0" >"$T/clean.before"
agent_run policy --root "$R0" --key "$T/k.key"
snap "$R0" >"$T/clean.after"
same_tree "clean root: nothing of the root changed" "$T/clean.before" "$T/clean.after"
is "clean root: exit 0 (the image's own setuid tools and GnuTLS's test keys are its packages' as shipped: low)" "$RC" 0
is "clean root: status succeeded" "$(rep status)" succeeded
contains "clean root: passwd is setuid as its package ships it" "$(rep 'policy[path=/usr/bin/passwd].evidence')" "package passwd"
is "clean root: ... low" "$(rep 'policy[path=/usr/bin/passwd].severity')" low
contains "clean root: su (dpkg lists /bin/su, merged /usr) too" "$(rep 'policy[path=/usr/bin/su].evidence')" "ships this file unchanged"
is "clean root: the built-in policy judged" "$(rep 'steps[name=policy].policy.source')" default
is "clean root: command policy" "$(rep command)" policy
is "clean root: every finding is the image's" "$(rep 'policy.origin' | sort -u)" image
for id in ssh.password_auth ssh.root_login ssh.empty_passwords ssh.authorized_keys account.empty_password \
	sudo.nopasswd_all secret.aws_access_key cloud.user_data_left os.end_of_life \
	file.world_writable_dir; do
	is "clean root: no $id" "$(rep "policy[id=$id].id")" ""
done
is "clean root: no world-writable file outside the standard devices" "$(rep 'policy[id=file.world_writable].path')" ""
check "clean root: every file walked" test "$(rep 'steps[name=policy].walk.files')" -ge 5000
check "clean root: every file read for secrets" test "$(rep 'steps[name=policy].walk.files_read')" -ge 5000
# GnuTLS's self-test keys inside libgnutls.so: found, and known for what they are
contains "clean root: a key a package ships unchanged is named by its package" \
	"$(rep 'policy[id=secret.private_key_pem].evidence')" "package libgnutls30"
is "clean root: ... and is low" "$(rep 'policy[id=secret.private_key_pem].severity' | sort -u)" low
clean_ids=$(rep 'policy.id' | sort -u)

# a policy file: fail_on low makes the packages' own tools violations; an allow-list entry with its reason
printf '{"policy_version": 1, "name": "strict", "fail_on": "low", "allow": [{"id": "file.setuid", "path": "/usr/bin/*", "reason": "AUD-7: reviewed"}]}' >"$T/strict.json"
agent_run policy --root "$R0" --policy "$T/strict.json"
is "--policy fail_on low: exit 1" "$RC" 1
is "--policy: the file named in the report" "$(rep 'steps[name=policy].policy.source')" file
is "--policy: the allowed setuid tool, with the reason" "$(rep 'policy[path=/usr/bin/passwd].status')/$(rep 'policy[path=/usr/bin/passwd].allow_reason')" "allowed/AUD-7: reviewed"
is "--policy: a low finding not allowed is a violation" "$(rep 'policy[path=/usr/sbin/unix_chkpwd].status')" violation
printf '{"policy_version": 1, "name": "bad", "fail_on": "severe"}' >"$T/bad-policy.json"
agent_run policy --root "$R0" --policy "$T/bad-policy.json"
is "a bad policy: exit 3" "$RC" 3
contains "a bad policy: file and field named" "$(cat "$T/agent.err")" "bad-policy.json: /fail_on"

# 2. the same root with one of each planted
R1=$T/bad
copy_root "$R1"
mkdir -p "$R1/etc/ssh/sshd_config.d" "$R1/root/.ssh" "$R1/opt/app" "$R1/etc/sudoers.d" \
	"$R1/var/lib/cloud/instances/i-0audit" "$R1/srv/drop"
printf 'Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nMatch User deploy\n\tPermitRootLogin yes\n' \
	>"$R1/etc/ssh/sshd_config"
printf 'PasswordAuthentication yes\n' >"$R1/etc/ssh/sshd_config.d/50-cloud.conf"
sed -i 's/^root:[^:]*:/root::/' "$R1/etc/shadow"
ssh-keygen -q -t ed25519 -N '' -C audit@example -f "$T/idkey" || bail_out "ssh-keygen failed"
cp "$T/idkey.pub" "$R1/root/.ssh/authorized_keys"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$R1/opt/app/key.pem" 2>/dev/null ||
	bail_out "openssl genpkey failed"
akid=AKIA$(head -c 64 /dev/urandom | base32 | tr -dc 'A-Z2-7' | head -c 16)
asecret=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$akid" "$asecret" >"$R1/opt/app/credentials"
printf 'root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n' >"$R1/etc/sudoers"
printf 'deploy ALL=(ALL) NOPASSWD: ALL\n' >"$R1/etc/sudoers.d/90-deploy"
printf '#!/bin/sh\n' >"$R1/opt/app/helper" && chmod 4755 "$R1/opt/app/helper"
printf 'x\n' >"$R1/opt/app/open.conf" && chmod 0666 "$R1/opt/app/open.conf"
chmod 0777 "$R1/srv/drop"
echo "#cloud-config" >"$R1/var/lib/cloud/instances/i-0audit/user-data.txt"
sed -i 's/^VERSION_ID=.*/VERSION_ID="9"/; s/^VERSION_CODENAME=.*/VERSION_CODENAME=stretch/' "$R1/etc/os-release"
# os-release may be a link to ../usr/lib/os-release: sed -i replaced it with a file, as intended
snap "$R1" >"$T/bad.before"
agent_run policy --root "$R1" --key "$T/k.key"
snap "$R1" >"$T/bad.after"
same_tree "planted root: nothing of the root changed" "$T/bad.before" "$T/bad.after"
is "planted root: exit 1" "$RC" 1
is "planted root: status findings" "$(rep status)" findings
is "planted root: policy.violation" "$(rep 'steps[name=policy].error.code')" policy.violation
facts 'policy[id=ssh.password_auth].path' 'policy[id=ssh.root_login].evidence' \
	'policy[id=account.empty_password].severity' 'policy[id=ssh.authorized_keys].path' \
	'policy[id=secret.private_key_pem].path' 'policy[id=secret.aws_access_key].path' \
	'policy[id=sudo.nopasswd_all].path' 'policy[id=file.setuid].path' 'policy[id=file.world_writable].path' \
	'policy[id=file.world_writable_dir].path' 'policy[id=cloud.user_data_left].path' \
	'policy[id=os.end_of_life].evidence' 'policy[id=ssh.authorized_keys].evidence'
is "sshd: PasswordAuthentication yes from the drop-in, first value wins" "$(fact 'policy[id=ssh.password_auth].path')" \
	/etc/ssh/sshd_config.d/50-cloud.conf
contains "sshd: PermitRootLogin yes in the Match block, named" "$(fact 'policy[id=ssh.root_login].evidence')" "User deploy"
is "shadow: root's empty password is critical" "$(fact 'policy[id=account.empty_password].severity')" critical
is "authorized_keys: root's" "$(fact 'policy[id=ssh.authorized_keys].path')" /root/.ssh/authorized_keys
contains "authorized_keys: by its fingerprint" "$(fact 'policy[id=ssh.authorized_keys].evidence')" \
	"$(ssh-keygen -l -f "$T/idkey.pub" | awk '{print $2}')"
has_line "PEM key found" "$(fact 'policy[id=secret.private_key_pem].path')" /opt/app/key.pem
is "PEM key: critical (no package ships it)" "$(rep 'policy[path=/opt/app/key.pem].severity')" critical
is "AWS key pair found" "$(fact 'policy[id=secret.aws_access_key].path')" /opt/app/credentials
is "sudoers drop-in: NOPASSWD ALL" "$(fact 'policy[id=sudo.nopasswd_all].path')" /etc/sudoers.d/90-deploy
has_line "setuid file found" "$(fact 'policy[id=file.setuid].path')" /opt/app/helper
is "world-writable file found (and only it)" "$(fact 'policy[id=file.world_writable].path')" /opt/app/open.conf
is "world-writable folder found" "$(fact 'policy[id=file.world_writable_dir].path')" /srv/drop
is "cloud-init's user-data found" "$(fact 'policy[id=cloud.user_data_left].path')" \
	/var/lib/cloud/instances/i-0audit/user-data.txt
contains "end of life: Debian 9" "$(fact 'policy[id=os.end_of_life].evidence')" "9"
check_not "the AWS secret is not in the report" grep -q "$asecret" "$REPORT"
check_not "the AWS key id is not in the report whole" grep -q "$akid" "$REPORT"
body=$(sed -n 2p "$R1/opt/app/key.pem" | cut -c1-24)
check_not "no line of the private key is in the report" grep -qF "$body" "$REPORT"
is "planted root: the image's own findings are still there" \
	"$(comm -23 <(printf '%s\n' "$clean_ids") <(rep 'policy.id' | sort -u))" ""

# the signature, checked by openssl and by the agent
"$PYTHON" - "$REPORT" "$T/pae" "$T/sig" <<'PY' || bail_out "cannot split the envelope"
import base64, json, sys
e = json.load(open(sys.argv[1]))
p = base64.b64decode(e["payload"])
t = e["payloadType"].encode()
open(sys.argv[2], "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(p), p))
open(sys.argv[3], "wb").write(base64.b64decode(e["signatures"][0]["sig"]))
PY
check "openssl pkeyutl verifies the audit's signature" \
	openssl pkeyutl -verify -pubin -inkey "$T/k.pub" -rawin -in "$T/pae" -sigfile "$T/sig"
check "pib-agent verify agrees" "$PIB_AGENT" verify "$REPORT" --pubkey "$T/k.pub"

# 3. usage: a root that is not a directory
agent_run policy --root "$T/nothing-here"
is "a missing --root: exit 3" "$RC" 3
contains "a missing --root: named" "$(cat "$T/agent.err")" "$T/nothing-here"

# 4. this machine's own root, read-only: a private mount namespace where / is remounted
# read-only (only in that namespace), the agent run there to the end
snap /etc >"$T/etc.before"
timeout -k 10 1500 unshare -m --propagation private sh -c '
	mount -o remount,bind,ro / || exit 90
	touch /pib-audit-probe 2>/dev/null && exit 91
	exec "$1" policy --root / --jobs 2
' sh "$PIB_AGENT" </dev/null >"$T/self.json" 2>"$T/self.err"
RC=$?
diag "pib-agent policy --root / (read-only) -> exit $RC; $(grep -c . "$T/self.err") log lines"
snap /etc >"$T/etc.after"
check_not "read-only: / could not be written in the namespace" test "$RC" = 91
check "the machine's root: the audit finished (exit 0, 1 or incomplete 0)" test "$RC" -le 1
check "the machine's root: a report" test -s "$T/self.json"
REPORT=$T/self.json schema_check
check "the machine's root: many files walked" test "$(rep 'steps[name=policy].walk.files' "$T/self.json")" -ge 10000
check "the machine's root: its findings listed" test -n "$(rep 'policy.id' "$T/self.json")"
check_not "the machine's root: nothing left at /" test -e /pib-audit-probe
same_tree "the machine's /etc did not change" "$T/etc.before" "$T/etc.after"

done_testing
