#!/bin/bash
# SPDX-License-Identifier: MIT
# What the install changed in the customer's image (issue 13, item 4): a postinst that edits
# /etc/pam.d/common-auth and /etc/sysctl.conf of a copy of the gold root and removes /etc/issue
# is listed in image_changes with the digests before (the gold root's own files) and after, the
# modes and owners, unified diffs, and the PAM and sysctl changes as hardening findings of the
# bundle (status findings: PAM is high); a new sudoers.d file a postinst makes is one too. A
# package that only adds its own files, or ships a conffile in /etc, changes nothing of the image.
. "$(dirname "$0")/lib.sh"
setup

gold_root
G=$PIB_GOLD_ROOT
cat >"$T/postinst" <<'EOF'
#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
sed -i 's/^auth\t\[success=1 default=ignore\]\tpam_unix.so nullok$/auth\t[success=1 default=ignore]\tpam_unix.so nullok try_first_pass/' /etc/pam.d/common-auth
printf 'net.ipv4.ip_forward=1\n' >> /etc/sysctl.conf
rm -f /etc/issue
EOF
mkdeb "$T/edits.deb" pib-edits 1.0 postinst="$T/postinst"
mkbundle "$T/edits.tar.gz" --deb "$T/edits.deb"

# 1. the edits: three image changes, two hardening findings
R1=$T/root1
copy_root "$R1"
# the customer's own kernel settings (minbase has no /etc/sysctl.conf)
printf '# the customer'"'"'s settings\nkernel.kptr_restrict = 2\nnet.ipv4.ip_forward = 0\n' >"$R1/etc/sysctl.conf"
mkdir -p "$T/before/etc/pam.d"
cp -a "$G/etc/pam.d/common-auth" "$T/before/etc/pam.d/"
cp -a "$G/etc/issue" "$R1/etc/sysctl.conf" "$T/before/etc/"
validate "$T/edits.tar.gz" --root "$R1" --no-scan
is "edits: exit 1 (a high hardening finding of the bundle)" "$RC" 1
is "edits: status findings" "$(rep status)" findings
is "edits: the three files, sorted" "$(rep 'image_changes.path' | tr '\n' ' ')" \
	"/etc/issue /etc/pam.d/common-auth /etc/sysctl.conf "
for f in /etc/pam.d/common-auth /etc/sysctl.conf /etc/issue; do
	is "$f: sha256 before is the image's" "$(rep "image_changes[path=$f].before.sha256")" \
		"$(sha256sum <"$T/before$f" | cut -d' ' -f1)"
	is "$f: mode and owner before" \
		"$(rep "image_changes[path=$f].before.mode") $(rep "image_changes[path=$f].before.owner")" \
		"$(stat -c '%04a %u:%g' "$T/before$f")"
	is "$f: size before" "$(rep "image_changes[path=$f].before.size")" "$(stat -c %s "$T/before$f")"
done
is "common-auth: changed (sed -i: another inode)" "$(rep 'image_changes[path=/etc/pam.d/common-auth].change')" replaced
is "common-auth: sha256 after is the root's" "$(rep 'image_changes[path=/etc/pam.d/common-auth].after.sha256')" \
	"$(sha256sum <"$R1/etc/pam.d/common-auth" | cut -d' ' -f1)"
check "common-auth: really edited" grep -q try_first_pass "$R1/etc/pam.d/common-auth"
is "sysctl.conf: modified in place" "$(rep 'image_changes[path=/etc/sysctl.conf].change')" modified
is "sysctl.conf: sha256 after" "$(rep 'image_changes[path=/etc/sysctl.conf].after.sha256')" \
	"$(sha256sum <"$R1/etc/sysctl.conf" | cut -d' ' -f1)"
is "issue: removed" "$(rep 'image_changes[path=/etc/issue].change')" removed
is "issue: after is null" "$(rep 'image_changes[path=/etc/issue].after')" null
is "hardening areas" "$(rep 'image_changes.hardening' | tr '\n' ' ')" "null pam sysctl "

# the diffs are those of diff -u, the labels aside
for f in /etc/pam.d/common-auth /etc/sysctl.conf; do
	is "$f: the diff is diff -u's" "$(rep "image_changes[path=$f].diff" | tail -n +3)" \
		"$(diff -u "$T/before$f" "$R1$f" | tail -n +3)"
	is "$f: diff not cut" "$(rep "image_changes[path=$f].diff_cut")" false
done
is "sysctl.conf: the diff's labels" "$(rep 'image_changes[path=/etc/sysctl.conf].diff' | head -n 2 | tr '\n' ' ')" \
	"--- a/etc/sysctl.conf +++ b/etc/sysctl.conf "
contains "sysctl.conf: the added line" "$(rep 'image_changes[path=/etc/sysctl.conf].diff')" "+net.ipv4.ip_forward=1"
is "issue: the diff removes every line" "$(rep 'image_changes[path=/etc/issue].diff' | tail -n +4)" \
	"$(sed 's/^/-/' "$G/etc/issue")"
contains "issue: to /dev/null" "$(rep 'image_changes[path=/etc/issue].diff')" "+++ /dev/null"

# the findings
is "hardening.pam: origin bundle, high, a violation" \
	"$(rep 'policy[id=hardening.pam].origin')/$(rep 'policy[id=hardening.pam].severity')/$(rep 'policy[id=hardening.pam].status')" \
	bundle/high/violation
is "hardening.pam: its path" "$(rep 'policy[id=hardening.pam].path')" /etc/pam.d/common-auth
contains "hardening.pam: the digests in the evidence" "$(rep 'policy[id=hardening.pam].evidence')" \
	"$(sha256sum <"$G/etc/pam.d/common-auth" | cut -d' ' -f1) -> $(sha256sum <"$R1/etc/pam.d/common-auth" | cut -d' ' -f1)"
is "hardening.sysctl: origin bundle, medium, reported" \
	"$(rep 'policy[id=hardening.sysctl].origin')/$(rep 'policy[id=hardening.sysctl].severity')/$(rep 'policy[id=hardening.sysctl].status')" \
	bundle/medium/reported
contains "hardening.sysctl: the change in the evidence" "$(rep 'policy[id=hardening.sysctl].evidence')" "/etc/sysctl.conf modified"
is "no hardening finding for /etc/issue" "$(rep 'policy.id' | grep -c '^hardening\.')" 2
is "the policy step's error" "$(rep 'steps[name=policy].error.code')" policy.violation
is "the step counts the changes" "$(rep 'steps[name=policy].image_changes.changes')" 3
check "the package manager's own files are not changes" test "$(rep 'steps[name=policy].image_changes.excluded_package_manager')" -ge 1

# show: its own section, terminal and HTML
"$PIB_AGENT" show "$REPORT" >"$T/show.out" 2>&1
contains "show: an Image changes section" "$(cat "$T/show.out")" "Image changes"
contains "show: the removed file" "$(cat "$T/show.out")" "/etc/issue"
contains "show: the diff" "$(cat "$T/show.out")" "+net.ipv4.ip_forward=1"
"$PIB_AGENT" show "$REPORT" --html "$T/show.html" >"$T/show-html.out" 2>&1
contains "show --html: the section" "$(cat "$T/show.html")" 'id="image-changes"'
contains "show --html: the path" "$(cat "$T/show.html")" "/etc/pam.d/common-auth"

# 2. a package that only adds its own files, and one that ships a conffile in /etc: nothing changed
d=$T/pkg-conf
mkdir -p "$d/DEBIAN" "$d/etc/pib-conf" "$d/usr/share/pib-conf"
printf '%s\n' "Package: pib-conf" "Version: 1.0" "Architecture: all" \
	"Maintainer: pib-agent tests <tests@example.invalid>" "Description: ships a conffile" >"$d/DEBIAN/control"
echo "setting = 1" >"$d/etc/pib-conf/pib.conf"
echo /etc/pib-conf/pib.conf >"$d/DEBIAN/conffiles"
echo data >"$d/usr/share/pib-conf/data"
dpkg-deb --root-owner-group --build "$d" "$T/conf.deb" >/dev/null || bail_out "dpkg-deb failed"
mkbundle "$T/own.tar.gz" --deb "$DEB_HELLO" --deb "$T/conf.deb"
R2=$T/root2
copy_root "$R2"
validate "$T/own.tar.gz" --root "$R2" --no-scan
is "own files: exit 0" "$RC" 0
status_good "own files"
is "own files: image_changes empty" "$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" image_changes)" "[[]]"
is "own files: no hardening finding" "$(rep 'policy.id' | grep -c '^hardening\.')" 0
check "own files: the conffile was installed" test -f "$R2/etc/pib-conf/pib.conf"
"$PIB_AGENT" show "$REPORT" >"$T/show.out" 2>&1
contains "own files: show says nothing changed" "$(cat "$T/show.out")" "Image changes (0)"

# 3. a new sudoers drop-in made by a postinst, and a mode change of /etc/login.defs
cat >"$T/postinst3" <<'EOF'
#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
mkdir -p /etc/sudoers.d
printf 'pib ALL=(ALL) ALL\n' > /etc/sudoers.d/pib
chmod 0440 /etc/sudoers.d/pib
chmod 0600 /etc/login.defs
EOF
mkdeb "$T/sudo.deb" pib-sudo 1.0 postinst="$T/postinst3"
mkbundle "$T/sudo.tar.gz" --deb "$T/sudo.deb"
R3=$T/root3
copy_root "$R3"
validate "$T/sudo.tar.gz" --root "$R3" --no-scan
is "new sudoers.d file: added, before null" \
	"$(rep 'image_changes[path=/etc/sudoers.d/pib].change')/$(rep 'image_changes[path=/etc/sudoers.d/pib].before')" added/null
is "new sudoers.d file: hardening.sudoers, bundle, high" \
	"$(rep 'policy[id=hardening.sudoers].origin')/$(rep 'policy[id=hardening.sudoers].severity')" bundle/high
contains "new sudoers.d file: its diff (sudoers: no secrets)" "$(rep 'image_changes[path=/etc/sudoers.d/pib].diff')" \
	"+pib ALL=(ALL) ALL"
is "login.defs: a mode change" "$(rep 'image_changes[path=/etc/login.defs].change')" mode
is "login.defs: modes before and after" \
	"$(rep 'image_changes[path=/etc/login.defs].before.mode')/$(rep 'image_changes[path=/etc/login.defs].after.mode')" \
	"$(stat -c %04a "$G/etc/login.defs")/0600"
is "login.defs: hardening.login_defs, medium" "$(rep 'policy[id=hardening.login_defs].severity')" medium

done_testing
