#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 8: a real bundle. Every Debian 12 package that apt downloads for openssh-server, nginx,
# cron and systemd into the minbase gold root (44 today, Pre-Depends among them: systemd on
# libssl3, cron on cron-daemon-common, all in the bundle), fetched once with
# tests/tools/real-debs.sh and cached under /var/tmp/pib-real-bundle (PIB_REAL_CACHE), put into
# one bundle with a debian target and validated into a fresh copy of the gold root, both
# scans on: findings only of the image policy (openssh-server's host keys and password logins,
# ssh's setuid and setgid tools, crontab, and the accounts, groups, units, sockets and cron jobs
# the packages added), every package "install ok installed", `dpkg --audit` empty, no trigger
# pending, the set of packages new in the root's status file (name, version, arch) equal to
# the resolve step's transaction and to the report's packages, nothing mounted left under the
# root. Skips when the packages cannot be downloaded and none are cached.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-txn.sh"
setup
gold_root

PKGS=(openssh-server nginx cron systemd)
if ! CACHE=$("$TOOLS_DIR/real-debs.sh" "$PIB_GOLD_ROOT" "${PKGS[@]}" 2>"$T/fetch.err"); then
	diag "$(tail -n 20 "$T/fetch.err")"
	echo "1..0 # SKIP the real packages cannot be downloaded and are not cached"
	exit 0
fi
mapfile -t DEBFILES < <(find "$CACHE" -maxdepth 1 -name '*.deb' | sort)
n=${#DEBFILES[@]}
diag "packages: $n from $CACHE"
if [ "$n" -ge 40 ]; then ok "at least 40 real packages ($n)"; else fail "at least 40 real packages ($n)"; fi
pre=$(for f in "${DEBFILES[@]}"; do dpkg-deb -f "$f" Pre-Depends; done | tr ',' '\n' | sed 's/^ *//; s/ .*//; s/:.*//' | sort -u)
names=$(for f in "${DEBFILES[@]}"; do dpkg-deb -f "$f" Package; done | sort -u)
inside=$(comm -12 <(printf '%s\n' "$pre") <(printf '%s\n' "$names") | tr '\n' ' ')
if [ -n "$inside" ]; then
	ok "the bundle holds packages that others in it Pre-Depend on: $inside"
else
	fail "the bundle holds packages that others in it Pre-Depend on"
fi

B=$T/real.tar.gz
args=()
for f in "${DEBFILES[@]}"; do args+=(--deb "$f"); done
man=$("${MKBUNDLE[@]}" "$B" "${args[@]}" --print-manifest) || bail_out "mkbundle.py $B failed"
is "the manifest lists every .deb with its sha256" \
	"$("$PYTHON" -c 'import json,sys; m=json.load(sys.stdin); print(sum(1 for t in m["targets"] for p in t["packages"] if len(p.get("sha256",""))==64))' <<<"$man")" "$n"

R=$T/root
copy_root "$R"
installed_set "$R" >"$T/before.txt"

"$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 || bail_out "tests/scan/make-db.sh failed"
validate "$B" --root "$R" --db "$T/db"
# openssh-server leaves what an image must not have: host keys made by its postinst, and
# password logins on (Debian's sshd_config leaves PasswordAuthentication at OpenSSH's default)
is "exit code 1: the image policy's findings" "$RC" 1
report_exists
is "status findings" "$(rep status)" findings
is "only the policy step failed" "$(rep 'steps[status=failed].name' | tr '\n' ' ')" "policy "
is "with policy.violation" "$(rep 'steps[name=policy].error.code')" policy.violation
# and what the install added (policy_added.c, only_new): the users and groups of openssh-server,
# cron and systemd, the units they enable (systemd's own in /usr/lib/systemd/system/*.wants too),
# the unix sockets of journald, cron's /etc/crontab; the gold image's own are not listed
is "the findings: password logins, host keys (also as private keys), ssh's setuid and setgid tools, what was added" \
	"$(rep 'policy.id' | sort -u | tr '\n' ' ')" \
	"account.added cron.job_added file.setgid file.setuid group.added secret.openssh_private_key ssh.host_keys ssh.password_auth systemd.listen systemd.unit_enabled "
is "the accounts added: sshd and systemd-network (no login)" \
	"$(rep 'policy[id=account.added].evidence' | cut -d' ' -f1 | tr '\n' ' ')/$(rep 'policy[id=account.added].severity' | sort -u)" \
	"sshd: systemd-network: /info"
contains "ssh.service enabled, running as root" "$(rep 'policy[id=systemd.unit_enabled].evidence' | grep '^ssh.service ')" \
	"ssh.service wanted by multi-user.target; file /usr/lib/systemd/system/ssh.service; ExecStart=/usr/sbin/sshd; no User= (runs as root)"
is "the sockets enabled listen on no network port (info)" "$(rep 'policy[id=systemd.listen].severity' | sort -u)" info
is "what was added is below the failing threshold: reported, never a violation" \
	"$(rep 'policy[status=violation].id' | sort -u | tr '\n' ' ')" \
	"file.setuid secret.openssh_private_key ssh.host_keys ssh.password_auth "
is "the setuid file is ssh-keysign" "$(rep 'policy[id=file.setuid].path')" /usr/lib/openssh/ssh-keysign
is "the setgid files: crontab and ssh-agent" "$(rep 'policy[id=file.setgid].path' | sort | tr '\n' ' ')" \
	"/usr/bin/crontab /usr/bin/ssh-agent "
is "the private keys are the three host keys" "$(rep 'policy[id=secret.openssh_private_key].path' | sort | tr '\n' ' ')" \
	"/etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key "
is "both brought by the bundle" "$(rep 'policy.origin' | sort -u)" bundle
contains "ssh.password_auth: OpenSSH's default, said so" "$(rep 'policy[id=ssh.password_auth].evidence')" "default"
contains "ssh.host_keys: names the ed25519 key and its type" "$(rep 'policy[id=ssh.host_keys].evidence')" \
	"/etc/ssh/ssh_host_ed25519_key (ssh-ed25519 SHA256:"
check_not "ssh.host_keys: no key material in the report" grep -q "PRIVATE KEY" "$REPORT"
is "prescan ran" "$(rep 'steps[name=prescan].status')" ok
is "postscan ran" "$(rep 'steps[name=postscan].status')" ok
diag "install step: tool $(rep 'steps[name=install].tool'), contained $(rep 'steps[name=install].contained'), $(rep 'steps[name=install].duration_ms') ms"

bad=""
for f in "${DEBFILES[@]}"; do
	p=$(dpkg-deb -f "$f" Package)
	s=$(dpkg_status "$R" "$p")
	[ "$s" = "install ok installed" ] || bad="$bad $p($s)"
done
is "every package of the bundle is 'install ok installed'" "$bad" ""
is "dpkg --audit is empty" "$(dpkg --root="$R" --audit 2>&1)" ""
no_trigger_pending "no trigger pending or awaited in the status file" "$R"

installed_set "$R" >"$T/after.txt"
comm -13 "$T/before.txt" "$T/after.txt" >"$T/new.txt"
report_set "packages[*]" >"$T/report-pkgs.txt"
resolve_set >"$T/resolve.txt"
is "the resolve step's transaction has every package of the bundle" "$(wc -l <"$T/resolve.txt")" "$n"
same_tree "the packages new in the root (name version arch) are the resolve step's transaction" \
	"$T/resolve.txt" "$T/new.txt"
same_tree "the report's packages are the resolve step's transaction" "$T/resolve.txt" "$T/report-pkgs.txt"
is "nothing is mounted under the root after the run" "$(mounts_under "$R")" ""
no_debs_left "no copy of the packages is left in the root" "$R"

done_testing
