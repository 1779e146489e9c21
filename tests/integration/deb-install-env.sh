#!/bin/bash
# SPDX-License-Identifier: MIT
# How the install runs, seen from inside a maintainer script (a probe package built here
# with dpkg-deb): chrooted into the root, DEBIAN_FRONTEND=noninteractive, and a
# policy-rc.d that forbids starting services (exit 101) while it runs, removed afterwards;
# an image's own policy-rc.d is restored byte for byte. And the dpkg lock: while another
# process holds the root's dpkg locks, the agent waits (bounded) instead of failing.
. "$(dirname "$0")/lib.sh"
setup

cat >"$T/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	mkdir -p /var/lib/pib-probe
	rc=none
	if [ -x /usr/sbin/policy-rc.d ]; then
		rc=0
		/usr/sbin/policy-rc.d pib-probe start >/dev/null 2>&1 || rc=$?
	fi
	{
		echo "frontend=${DEBIAN_FRONTEND:-}"
		echo "policy=$rc"
		echo "marker=$(cat /etc/pib-probe-marker 2>/dev/null || echo missing)"
	} >/var/lib/pib-probe/env
fi
exit 0
EOF
mkdeb "$T/pib-probe_1.0_all.deb" pib-probe 1.0 postinst="$T/postinst"
B=$T/probe.tar.gz
mkbundle "$B" --deb "$T/pib-probe_1.0_all.deb"
check_not "precondition: the host has no /var/lib/pib-probe" test -e /var/lib/pib-probe

probe_case() { # probe_case LABEL [own-policy]
	local label=$1 own=${2:-} R=$T/root-$1 env token
	copy_root "$R"
	token=token-$RANDOM$RANDOM
	echo "$token" >"$R/etc/pib-probe-marker"
	if [ -n "$own" ]; then
		printf '#!/bin/sh\n# the image'"'"'s own policy-rc.d\nexit 0\n' >"$R/usr/sbin/policy-rc.d"
		chmod 0750 "$R/usr/sbin/policy-rc.d"
		snap "$R/usr/sbin/policy-rc.d" >"$T/policy-before"
	fi
	validate "$B" --root "$R" --no-scan
	is "$label: exit code 0" "$RC" 0
	is "$label: dpkg: pib-probe is 'install ok installed'" "$(dpkg_status "$R" pib-probe)" "install ok installed"
	env=$(cat "$R/var/lib/pib-probe/env" 2>/dev/null)
	has_line "$label: the postinst ran chrooted into the root (it read the root's marker)" "$env" "marker=$token"
	has_line "$label: the postinst saw DEBIAN_FRONTEND=noninteractive" "$env" "frontend=noninteractive"
	has_line "$label: a policy-rc.d forbidding services (exit 101) was in place" "$env" "policy=101"
	if [ -n "$own" ]; then
		snap "$R/usr/sbin/policy-rc.d" >"$T/policy-after"
		same_tree "$label: the image's own policy-rc.d is restored as it was" "$T/policy-before" "$T/policy-after"
	else
		check_not "$label: no policy-rc.d is left in the root" test -e "$R/usr/sbin/policy-rc.d"
	fi
	check_not "$label: nothing was written to the host's /var/lib/pib-probe" test -e /var/lib/pib-probe
	rm -rf --one-file-system "$R"
}

probe_case plain
probe_case own-policy own

# The lock: hold the root's dpkg locks (fcntl, as dpkg and apt take them) for 8 seconds.
R=$T/root-lock
copy_root "$R"
"$PYTHON" - "$R/var/lib/dpkg" "$T/locked" 8 <<'EOF' &
import fcntl, os, sys, time
adm, flag, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
fds = []
for name in ("lock-frontend", "lock"):
    fd = os.open(os.path.join(adm, name), os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fds.append(fd)
open(flag, "w").close()
time.sleep(secs)
EOF
locker=$!
for _ in $(seq 50); do [ -e "$T/locked" ] && break; sleep 0.1; done
check "precondition: the dpkg locks of the root are held" test -e "$T/locked"
start=$(date +%s)
validate "$B" --root "$R" --no-scan
elapsed=$(($(date +%s) - start))
wait "$locker"
is "locked: exit code 0 (the agent waited for the lock)" "$RC" 0
is "locked: dpkg: pib-probe is 'install ok installed'" "$(dpkg_status "$R" pib-probe)" "install ok installed"
if [ "$elapsed" -ge 5 ]; then
	ok "locked: the run took as long as the lock was held (${elapsed}s)"
else
	fail "locked: the run took as long as the lock was held" "only ${elapsed}s: did it wait at all?"
fi

done_testing
