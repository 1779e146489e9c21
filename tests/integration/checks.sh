#!/bin/bash
# SPDX-License-Identifier: MIT
# The seller's checks (a target's `checks`, issue 13 item 6), run by validate after the install
# into a copy of the gold root: a passing one, a failing one (exit code and output in the
# report), one sleeping past its timeout with a child (both killed: check.timeout), one trying
# the network (no route, nothing reaches this machine's listener), one writing 10 MiB (the end
# kept, the size said), one run as another user, one naming a user the image lacks, one whose
# command is missing; and no checks at all when nothing was installed.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"

# A listener on this machine's 127.0.0.1: the network check must not reach it.
"$PYTHON" - "$T/port" "$T/got" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(5)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(120)
try:
    c, _ = s.accept()
    open(sys.argv[2], "w").write("connected\n")
except OSError:
    pass
EOF
LISTENER=$!
trap 'kill "$LISTENER" 2>/dev/null; _cleanup' EXIT
for _ in $(seq 100); do
	[ -s "$T/port" ] && break
	sleep 0.1
done
[ -s "$T/port" ] || bail_out "the test listener did not start"
PORT=$(cat "$T/port")

marker=pib-check-$$-$RANDOM
cat >"$T/manifest.json" <<EOF
{"schema": "pib-agent/bundle/v1",
 "product": {"name": "pib-test", "version": "1.0", "seller": "pib-agent tests"},
 "targets": [{"name": "debian", "os": [{"id": "debian", "versions": ["12"]}], "arch": ["x86_64"],
   "installer": "deb",
   "packages": [{"file": "debs/hello_2.10-3_amd64.deb", "_src": "$DEB_HELLO"}],
   "checks": [
     {"name": "hello runs", "run": ["/usr/bin/hello", "-g", "checked"], "timeout": 30},
     {"name": "fails", "run": ["/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"]},
     {"name": "sleeps", "run": ["/bin/sh", "-c", "sleep 300 & echo \$! > /tmp/$marker.child; exec sleep 301"], "timeout": 2},
     {"name": "network", "run": ["/bin/bash", "-c", "echo x > /dev/tcp/127.0.0.1/$PORT && echo SENT"], "timeout": 20},
     {"name": "big output", "run": ["/bin/sh", "-c", "head -c 10485760 /dev/zero | tr '\\\\000' a; echo; echo THE-END"], "timeout": 60},
     {"name": "as nobody", "run": ["/usr/bin/id", "-u"], "user": "nobody"},
     {"name": "as root by default", "run": ["/usr/bin/id", "-u"]},
     {"name": "unknown user", "run": ["/usr/bin/id"], "user": "no-such-user"},
     {"name": "missing command", "run": ["/usr/bin/no-such-command"]}
   ]}]}
EOF
B=$T/checks.tar.gz
mkbundle "$B" --manifest "$T/manifest.json"

t0=$(date +%s)
validate "$B" --root "$R" --no-scan
t1=$(date +%s)
is "a failed check is a finding: exit 1" "$RC" 1
is "status findings" "$(rep status)" findings
is "the checks step failed" "$(rep 'steps[name=checks].status')" failed
is "its error is the first failed check's" "$(rep 'steps[name=checks].error.code')" check.failed
contains "the message names the check and counts the failures" "$(rep 'steps[name=checks].error.message')" \
	'"fails" failed (5 of 9 failed'
is "nine checks in checks[]" "$(rep 'checks.name' | wc -l)" 9
order=$(rep 'steps.name' | tr '\n' ' ')
contains "steps in order: install, postscan, policy, checks" "$order" "install postscan policy checks"

is "passing: status passed" "$(rep 'checks[name=hello runs].status')" passed
is "passing: exit code 0" "$(rep 'checks[name=hello runs].exit_code')" 0
is "passing: its output" "$(rep 'checks[name=hello runs].output')" checked
is "passing: the argv as written" "$(rep 'checks[name=hello runs].run' | tr '\n' ' ')" "/usr/bin/hello -g checked "
is "passing: run as root" "$(rep 'checks[name=hello runs].user')" root

is "failing: status failed" "$(rep 'checks[name=fails].status')" failed
is "failing: finding check.failed" "$(rep 'checks[name=fails].finding')" check.failed
is "failing: exit code 3" "$(rep 'checks[name=fails].exit_code')" 3
contains "failing: stdout and stderr kept" "$(rep 'checks[name=fails].output')" "to-stdout"
contains "failing: stderr too" "$(rep 'checks[name=fails].output')" "to-stderr"

is "timeout: finding check.timeout" "$(rep 'checks[name=sleeps].finding')" check.timeout
is "timeout: timed_out true" "$(rep 'checks[name=sleeps].timed_out')" true
dur=$(rep 'checks[name=sleeps].duration_ms')
check "timeout: stopped after about 2 s ($dur ms)" test "${dur%.*}" -ge 1900 -a "${dur%.*}" -lt 15000
check "timeout: the whole run did not wait for the sleeps ($((t1 - t0)) s)" test $((t1 - t0)) -lt 200
sleep 0.5
check_not "timeout: its background child is gone too" pgrep -f "sleep 300"
check_not "timeout: and the check itself" pgrep -f "sleep 301"

is "network: the check failed (no network inside)" "$(rep 'checks[name=network].status')" failed
check_not "network: it never said SENT" grep -q SENT <<<"$(rep 'checks[name=network].output')"
check_not "network: nothing reached this machine's listener" test -e "$T/got"

is "big output: passed" "$(rep 'checks[name=big output].status')" passed
is "big output: the size said" "$(rep 'checks[name=big output].output_bytes')" 10485769
is "big output: truncated" "$(rep 'checks[name=big output].output_truncated')" true
out=$(rep 'checks[name=big output].output')
check "big output: the end kept (THE-END), at most 64 KiB" test "${#out}" -le 65536 -a -n "$(grep THE-END <<<"$out")"
check "the report stays small (under 1 MiB)" test "$(stat -c %s "$REPORT")" -lt 1048576

is "user: runs as nobody (uid 65534)" "$(rep 'checks[name=as nobody].output')" 65534
is "user: recorded" "$(rep 'checks[name=as nobody].user')" nobody
is "user: root by default (uid 0)" "$(rep 'checks[name=as root by default].output')" 0
is "unknown user: failed" "$(rep 'checks[name=unknown user].status')" failed
contains "unknown user: said so" "$(rep 'checks[name=unknown user].message')" "no-such-user is not in the image's /etc/passwd"
is "missing command: failed" "$(rep 'checks[name=missing command].status')" failed
contains "missing command: cannot start" "$(rep 'checks[name=missing command].message')" "cannot start"
contains "stderr names each failed check" "$(cat "$T/agent.err")" 'check "fails": FAILED: exited 3'

# The same bundle validated without --root: nothing installed, the checks are skipped (incomplete).
validate "$B" --no-scan
is "no --root: exit 0" "$RC" 0
is "no --root: status incomplete" "$(rep status)" incomplete
is "no --root: the checks step is skipped" "$(rep 'steps[name=checks].status')" skipped
contains "no --root: and says why" "$(rep 'steps[name=checks].reason')" "nothing was installed"
is "no --root: checks[] is empty" "$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" checks)" "[[]]"

# A manifest naming a malformed user is refused before anything is done.
sed 's/"user": "nobody"/"user": "Bad User"/' "$T/manifest.json" >"$T/bad.json"
mkbundle "$T/bad.tar.gz" --manifest "$T/bad.json"
R2=$T/root2
copy_root "$R2"
snap "$R2" >"$T/before"
validate "$T/bad.tar.gz" --root "$R2" --no-scan
is "a malformed check user: exit 2" "$RC" 2
contains "named with its field" "$(rep 'error.message')" "checks[5].user"
snap "$R2" >"$T/after"
same_tree "the root is unchanged" "$T/before" "$T/after"

done_testing
