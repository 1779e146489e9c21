#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 9, attack 4: the image's own policy-rc.d survives agents that run at once or die, and a
# killed agent leaves nothing running. The root carries a policy-rc.d of its own (known bytes):
#   - two agents validate into the same root at the same time: both end, the file is
#     byte-identical at its path, nothing saved aside or left beside it;
#   - an agent is killed with SIGKILL while a postinst sleeps: every process of its install
#     ends with it, the image's file is intact, no agent's `exit 101` script is left in the
#     image, and the next run on the root succeeds (dpkg's state recovered);
#   - an agent gets SIGTERM while a postinst sleeps: it writes its report (install failed,
#     install.interrupted) and no process of its install (dpkg, apt, the script's sleep) is left.
. "$(dirname "$0")/contain-lib.sh"
contain_setup

# The sleeps carry odd durations, markers no other test uses, to find them with pgrep -f.
KILL9_MARK='^sleep 42\.73$'
TERM_MARK='^sleep 41\.37$'
# shellcheck disable=SC2034 # read by contain-lib.sh at exit
CONTAIN_MARKERS=("$KILL9_MARK" "$TERM_MARK")

IMAGE_PRC=$T/policy-rc.d.image
printf '%s\n' '#!/bin/sh' "# the image's own policy-rc.d (pib-agent attack test)" 'exit 0' >"$IMAGE_PRC"

# exit101 ROOT: the files of ROOT's usr/sbin and etc that say `exit 101` (the image has some of
# its own, dpkg-fsys-usrunmess for one).
exit101() {
	(cd "$1" && grep -rlF 'exit 101' usr/sbin etc 2>/dev/null | sort)
}

# image_policy ROOT: gives ROOT its own policy-rc.d and records what usr/sbin holds and which
# files say `exit 101`.
image_policy() {
	install -m 0755 "$IMAGE_PRC" "$1/usr/sbin/policy-rc.d"
	ls -A "$1/usr/sbin" >"$T/sbin.before"
	exit101 "$1" >"$T/exit101.before"
}

# policy_intact LABEL: the root's policy-rc.d is the image's (bytes, mode, a regular file),
# usr/sbin holds what it held, and nothing of the agent's is left in the root.
policy_intact() {
	local l=$1 left
	if [ -f "$R/usr/sbin/policy-rc.d" ] && [ ! -L "$R/usr/sbin/policy-rc.d" ] &&
		cmp -s "$IMAGE_PRC" "$R/usr/sbin/policy-rc.d"; then
		ok "$l: the image's policy-rc.d is byte-identical at its path"
	else
		fail "$l: the image's policy-rc.d is byte-identical at its path" \
			"$(ls -la "$R/usr/sbin/policy-rc.d" 2>&1)" "$(head -c 300 "$R/usr/sbin/policy-rc.d" 2>&1)"
	fi
	is "$l: ... with its mode 755" "$(stat -c %a "$R/usr/sbin/policy-rc.d" 2>&1)" 755
	is "$l: usr/sbin holds the same names as before" "$(ls -A "$R/usr/sbin" | diff "$T/sbin.before" - | grep '^[<>]')" ""
	left=$(find "$R" -xdev \( -name '*pib-agent*' -o -name '*.pib-agent-saved' \) 2>/dev/null | head -n 10)
	is "$l: nothing named after pib-agent is left in the root" "$left" ""
	left=$(exit101 "$R" | diff "$T/exit101.before" - | grep '^[<>]')
	is "$l: no 'exit 101' policy script of an agent is left in the image (usr/sbin, etc)" "$left" ""
}

# bg_report NAME LABEL: the background run NAME wrote a readable report, valid against the schema.
bg_report() {
	local REPORT=$T/$1.json
	RUN_ID=$2
	_SHOWN_RUN=$2 # fail() shows $T/agent.err, which is another run's
	report_exists "$2"
	schema_check
}

# ---------------------------------------------------------------- two agents at once
image_policy "$R"
for x in a b; do
	printf '%s\n' '#!/bin/sh' 'set -e' '[ "$1" = configure ] || exit 0' 'sleep 3' >"$T/postinst-$x"
	pkg_start "pib-conc-$x"
	pkg_script postinst "$T/postinst-$x"
	pkg_build "$T/conc-$x.deb"
	mkbundle "$T/conc-$x.tar.gz" --deb "$T/conc-$x.deb"
done
agent_bg conc-a "$T/conc-a.tar.gz" --root "$R" --db "$T/db"
pid_a=$BG_PID
agent_bg conc-b "$T/conc-b.tar.gz" --root "$R" --db "$T/db"
pid_b=$BG_PID
wait_pid "$pid_a" 400
rc_a=$BG_RC
wait_pid "$pid_b" 400
rc_b=$BG_RC
check_not "both agents ended (exits $rc_a and $rc_b)" test "$rc_a" = 124 -o "$rc_b" = 124
for x in a b; do
	bg_report "conc-$x" "concurrent $x"
	st=$(report_of "conc-$x" status)
	code=$(report_of "conc-$x" 'steps[name=install].error.code')
	diag "agent $x: status $st, install $(report_of "conc-$x" 'steps[name=install].status') $code"
	if [ "$st" = succeeded ] && [ "$(dpkg_status "$R" "pib-conc-$x")" = "install ok installed" ]; then
		ok "concurrent $x: succeeded and pib-conc-$x is installed"
	elif [ "$st" = failed ] && [[ $code == install.lock* ]]; then
		ok "concurrent $x: refused on dpkg's lock ($code)"
	else
		fail "concurrent $x: succeeded with pib-conc-$x installed, or refused on the lock" \
			"status '$st', install error '$code', dpkg: '$(dpkg_status "$R" "pib-conc-$x")'" \
			"$(tail -n 8 "$T/conc-$x.err")"
	fi
done
policy_intact "two agents"
root_unmounted "two agents"

# ---------------------------------------------------------------- kill -9 mid-install
# The postinst sleeps while the root holds a flag file (the rerun removes it). A sleep killed by
# someone else is started again, so that the script and dpkg stay until the install ends.
cat >"$T/postinst-kill9" <<'EOF'
#!/bin/sh
[ "$1" = configure ] || exit 0
n=0
while [ -e /var/lib/pib-kill9.slow ] && [ $n -lt 4 ]; do
	sleep 42.73
	n=$((n + 1))
done
exit 0
EOF
pkg_start pib-kill9
pkg_script postinst "$T/postinst-kill9"
pkg_build "$T/kill9.deb"
mkbundle "$T/kill9.tar.gz" --deb "$T/kill9.deb"
touch "$R/var/lib/pib-kill9.slow"
# a killed agent cannot clean its TMPDIR: it gets its own, not checked by done_testing
BG_TMPDIR=$T/agent-tmp-killed agent_bg kill9 "$T/kill9.tar.gz" --root "$R" --db "$T/db"
pid_k=$BG_PID
if sp=$(wait_marker "$KILL9_MARK" 240); then
	chain=$(proc_chain "$sp" "$pid_k")
	diag "the install's processes, from the postinst's sleep up:" "$chain"
	kill -KILL "$pid_k"
	wait_pid "$pid_k" 20
	is "kill -9: the agent died of SIGKILL" "$BG_RC" 137
	chain_gone "kill -9: every process of the install ended with the agent (5 s)" "$chain" 5
	chain_kill "$chain"
else
	fail "kill -9: the postinst's sleep started" "$(tail -n 15 "$T/kill9.err")"
	kill -KILL "$pid_k" 2>/dev/null
	wait_pid "$pid_k" 20
fi
policy_intact "after kill -9"
root_unmounted "after kill -9"

rm -f "$R/var/lib/pib-kill9.slow"
validate "$T/kill9.tar.gz" --root "$R" --db "$T/db"
report_exists "rerun after kill -9"
status_good "rerun after kill -9"
is "rerun after kill -9: pib-kill9 is 'install ok installed'" "$(dpkg_status "$R" pib-kill9)" "install ok installed"
is "rerun after kill -9: dpkg --audit finds nothing" "$(dpkg --root="$R" --audit 2>&1)" ""
policy_intact "rerun after kill -9"
root_unmounted "rerun after kill -9"

# ---------------------------------------------------------------- kill -TERM mid-install
R=$T/root-term
copy_root "$R"
image_policy "$R"
printf '%s\n' '#!/bin/sh' '[ "$1" = configure ] || exit 0' 'for n in 1 2 3 4; do sleep 41.37; done' >"$T/postinst-term"
pkg_start pib-term
pkg_script postinst "$T/postinst-term"
pkg_build "$T/term.deb"
mkbundle "$T/term.tar.gz" --deb "$T/term.deb"
agent_bg term "$T/term.tar.gz" --root "$R" --db "$T/db"
pid_t=$BG_PID
chain=
if sp=$(wait_marker "$TERM_MARK" 240); then
	chain=$(proc_chain "$sp" "$pid_t")
	diag "the install's processes, from the postinst's sleep up:" "$chain"
	kill -TERM "$pid_t"
	if wait_pid "$pid_t" 60; then
		ok "kill -TERM: the agent ended within 60 s (exit $BG_RC)"
	else
		fail "kill -TERM: the agent ended within 60 s" "$(tail -n 15 "$T/term.err")"
		kill -KILL "$pid_t"
		wait_pid "$pid_t" 20
	fi
	check_not "kill -TERM: the agent's exit is not 0 (it is $BG_RC)" test "$BG_RC" = 0
	chain_gone "kill -TERM: no process of the install (dpkg, apt, the sleep) is left (2 s)" "$chain" 2
	check_not "kill -TERM: no process runs the postinst's sleep" pgrep -f -- "$TERM_MARK"
	chain_kill "$chain"
else
	fail "kill -TERM: the postinst's sleep started" "$(tail -n 15 "$T/term.err")"
	kill -KILL "$pid_t" 2>/dev/null
	wait_pid "$pid_t" 20
fi
bg_report term "kill -TERM"
diag "kill -TERM: status $(report_of term status); install $(report_of term 'steps[name=install].status')" \
	"$(report_of term 'steps[name=install].error.code'): $(report_of term 'steps[name=install].error.message')"
is "kill -TERM: the report's status is failed" "$(report_of term status)" failed
is "kill -TERM: the install step failed" "$(report_of term 'steps[name=install].status')" failed
is "kill -TERM: ... with install.interrupted" "$(report_of term 'steps[name=install].error.code')" install.interrupted
policy_intact "after kill -TERM"
root_unmounted "after kill -TERM"

done_testing
