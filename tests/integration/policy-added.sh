#!/bin/bash
# SPDX-License-Identifier: MIT
# What a bundle added to the image (issue 13 item 2, scanners/policy_added.c): a .deb whose
# postinst adds a user with a login shell and a password, puts it in the sudo group, enables a
# systemd service (run as root) and a socket listening on port 8080 (the wants links
# deb-systemd-helper makes) and drops /etc/cron.d/x. `pib-agent validate` reports each
# (account.added, group.added, systemd.unit_enabled, systemd.listen, cron.job_added) with origin
# bundle and never the password hash; the gold image's own accounts, groups, units and cron jobs,
# which the same checks see, are not in the report (only_new findings of origin image are
# dropped and counted), neither in that run nor in a run of a bundle that adds none of these.
. "$(dirname "$0")/lib.sh"
setup

# pick ID NEEDLE: "origin severity status" of each finding ID whose evidence holds NEEDLE
pick() {
	"$PYTHON" - "$TOOLS_DIR" "$REPORT" "$1" "$2" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import report
for p in report.load(sys.argv[2]).get("policy", []):
    if p["id"] == sys.argv[3] and sys.argv[4] in p["evidence"]:
        print(p["origin"], p["severity"], p["status"])
PY
}
# evidence ID NEEDLE: the evidence of the findings ID whose evidence holds NEEDLE
evidence() {
	rep "policy[id=$1].evidence" | grep -F -- "$2"
}

# a password hash made here for the test (not a secret): it must never reach the report
HASH=$(openssl passwd -6 -salt pibadded12345678 'test-password-of-pibuser') || bail_out "openssl passwd failed"
d=$T/pkg-added
mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/lib/systemd/system"
printf '%s\n' "Package: pib-added" "Version: 1.0" "Architecture: all" \
	"Maintainer: pib-agent tests <tests@example.invalid>" \
	"Description: adds a user, a service, a socket and a cron job" >"$d/DEBIAN/control"
printf '#!/bin/sh\nexit 0\n' >"$d/usr/bin/pib-demo"
chmod 0755 "$d/usr/bin/pib-demo"
printf '%s\n' "[Unit]" "Description=pib demo" "[Service]" "ExecStart=/usr/bin/pib-demo --serve" \
	"[Install]" "WantedBy=multi-user.target" >"$d/lib/systemd/system/pib-demo.service"
printf '%s\n' "[Unit]" "Description=pib demo socket" "[Socket]" "ListenStream=8080" \
	"[Install]" "WantedBy=sockets.target" >"$d/lib/systemd/system/pib-demo.socket"
cat >"$d/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
useradd -m -s /bin/bash -G sudo pibuser
usermod -p '$HASH' pibuser
# what deb-systemd-helper enable does
mkdir -p /etc/systemd/system/multi-user.target.wants /etc/systemd/system/sockets.target.wants
ln -sf /lib/systemd/system/pib-demo.service /etc/systemd/system/multi-user.target.wants/pib-demo.service
ln -sf /lib/systemd/system/pib-demo.socket /etc/systemd/system/sockets.target.wants/pib-demo.socket
printf '%s\n' '*/5 * * * * root /usr/bin/pib-demo --tick' >/etc/cron.d/x
EOF
chmod 0755 "$d/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$d" "$T/added.deb" >/dev/null || bail_out "dpkg-deb failed"
mkbundle "$T/added.tar.gz" --deb "$T/added.deb"
mkbundle "$T/hello.tar.gz" --deb "$DEB_HELLO"

# 1. the bundle adds them: each reported, origin bundle
R1=$T/root1
copy_root "$R1"
validate "$T/added.tar.gz" --root "$R1" --no-scan
is "added: the install step ok" "$(rep 'steps[name=install].status')" ok
check "added: the postinst made the user" grep -q '^pibuser:' "$R1/etc/passwd"
is "added: the policy step ok (nothing added is high)" "$(rep 'steps[name=policy].status')" ok
is "account.added pibuser: bundle, medium (a login shell)" "$(pick account.added 'pibuser:')" "bundle medium reported"
contains "account.added pibuser: the shell" "$(evidence account.added pibuser:)" "shell /bin/bash (login shell)"
contains "account.added pibuser: the password's state and scheme" "$(evidence account.added pibuser:)" \
	"password usable (sha512crypt hash in /etc/shadow, not shown)"
is "account.password_set still judges the password (low, bundle)" \
	"$(pick account.password_set 'pibuser')" "bundle low reported"
check_not "the password hash is not in the report" grep -qF "${HASH#\$6\$pibadded12345678\$}" "$REPORT"
check_not "nor its salt" grep -qF "pibadded12345678" "$REPORT"
is "group.added sudo: bundle, medium (a privileged group with a member)" "$(pick group.added 'sudo (gid 27')" \
	"bundle medium reported"
contains "group.added sudo: its member" "$(evidence group.added 'sudo (gid 27')" "members pibuser"
is "group.added pibuser (the user's own group): bundle, info" "$(pick group.added 'pibuser (gid')" "bundle info reported"
is "systemd.unit_enabled pib-demo.service: bundle, medium (root)" \
	"$(pick systemd.unit_enabled 'pib-demo.service wanted by multi-user.target')" "bundle medium reported"
contains "systemd.unit_enabled pib-demo.service: ExecStart's program, no User=" \
	"$(evidence systemd.unit_enabled pib-demo.service)" \
	"file /usr/lib/systemd/system/pib-demo.service; ExecStart=/usr/bin/pib-demo; no User= (runs as root)"
is "systemd.unit_enabled pib-demo.socket: bundle, low" \
	"$(pick systemd.unit_enabled 'pib-demo.socket wanted by sockets.target')" "bundle low reported"
is "systemd.listen port 8080: bundle, medium" "$(pick systemd.listen 'ListenStream=8080')" "bundle medium reported"
contains "systemd.listen: tcp on all addresses" "$(evidence systemd.listen 8080)" "tcp port 8080 on all addresses"
# the gold root has a merged /usr: systemd finds the unit in /usr/lib/systemd/system first
is "systemd.listen: the socket's file" "$(rep 'policy[id=systemd.listen].path')" /usr/lib/systemd/system/pib-demo.socket
is "cron.job_added /etc/cron.d/x: bundle, medium (root)" "$(pick cron.job_added '*/5 * * * * as root: /usr/bin/pib-demo --tick')" \
	"bundle medium reported"
is "cron.job_added: its file and line" "$(rep 'policy[id=cron.job_added].path')/$(rep 'policy[id=cron.job_added].line')" /etc/cron.d/x/1
# the image's own: seen by the checks, dropped as image (only_new)
is "the image's accounts are not listed: only pibuser" "$(rep 'policy[id=account.added].evidence' | cut -d: -f1)" pibuser
is "the image's cron jobs are not listed: only /etc/cron.d/x" "$(rep 'policy[id=cron.job_added].path' | sort -u)" /etc/cron.d/x
is "the image's units are not listed: only pib-demo's" \
	"$(rep 'policy[id=systemd.unit_enabled].path' | sort | tr '\n' ' ')" \
	"/etc/systemd/system/multi-user.target.wants/pib-demo.service /etc/systemd/system/sockets.target.wants/pib-demo.socket "
is "the image's groups are not listed: sudo (changed) and pibuser only" \
	"$(rep 'policy[id=group.added].evidence' | cut -d' ' -f1 | sort | tr '\n' ' ')" "pibuser sudo "
n_image=$(rep 'steps[name=policy].image_inventory_not_shown')
check "the image's inventory was seen and not shown (${n_image:-none} findings)" test "${n_image:-0}" -ge 50
is "every finding of the added ids is of origin bundle" \
	"$("$PYTHON" - "$TOOLS_DIR" "$REPORT" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import report
ids = ("account.added", "group.added", "systemd.unit_enabled", "systemd.listen", "cron.job_added")
print(sorted({p["origin"] for p in report.load(sys.argv[2])["policy"] if p["id"] in ids}))
PY
)" "['bundle']"

# 2. the gold image with a bundle that adds none of it: none of these findings
R2=$T/root2
copy_root "$R2"
validate "$T/hello.tar.gz" --root "$R2" --no-scan
is "gold: exit 0" "$RC" 0
is "gold: none of the added findings" \
	"$(rep 'policy.id' | grep -cE '^(account\.added|group\.added|systemd\.unit_enabled|systemd\.listen|cron\.job_added)$')" 0
is "gold: the same inventory not shown, and the sudo group the bundle changed" \
	"$(rep 'steps[name=policy].image_inventory_not_shown')" "$((n_image + 1))"
check "gold: the image has what the checks list (cron.d/e2scrub_all, timers, users)" \
	test -f "$R2/etc/cron.d/e2scrub_all" -a -L "$R2/etc/systemd/system/timers.target.wants/apt-daily.timer"

done_testing
