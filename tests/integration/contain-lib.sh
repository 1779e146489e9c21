# SPDX-License-Identifier: MIT
# Shared helpers of the contained-install attack tests (issue 9): packages built by hand with
# dpkg-deb, the host's mounts under a root, agents run in the background, and the processes an
# install started. Sourced after nothing else (it brings the scan and integration libs), never run.
# shellcheck shell=bash disable=SC2034

CONTAIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../scan/lib.sh
. "$CONTAIN_DIR/../scan/lib.sh"

# pkg_start NAME [CONTROL-LINE...]: a fresh package tree for NAME (version 1.0, Architecture:
# all, a doc file); its path is in PKG. Add files, links and DEBIAN/ scripts, then pkg_build.
pkg_start() {
	local name=$1
	shift
	PKG=$(mktemp -d "$T/pkg.XXXXXX")
	mkdir -p "$PKG/DEBIAN" "$PKG/usr/share/doc/$name"
	echo "$name test package" >"$PKG/usr/share/doc/$name/README"
	printf '%s\n' "Package: $name" "Version: 1.0" "Architecture: all" \
		"Maintainer: pib-agent tests <tests@example.invalid>" "Section: misc" "Priority: optional" \
		"$@" "Description: pib-agent attack test package $name" >"$PKG/DEBIAN/control"
}

# pkg_script KIND FILE: FILE becomes the package's maintainer script KIND (postinst, ...).
pkg_script() {
	install -m 0755 "$2" "$PKG/DEBIAN/$1"
}

# pkg_build OUT: the package tree in PKG as the .deb OUT.
pkg_build() {
	dpkg-deb --root-owner-group -Zxz --build "$PKG" "$1" >/dev/null || bail_out "dpkg-deb --build $1 failed"
	rm -rf "$PKG"
}

# root_unmounted LABEL: the host's /proc/self/mountinfo shows nothing at or under the root $R.
root_unmounted() {
	local m
	m=$(mounts_under "$R")
	if [ -z "$m" ]; then
		ok "$1: the host has nothing mounted under the root"
	else
		fail "$1: the host has nothing mounted under the root" "$m"
	fi
}

# contain_db: the test's ClamAV database in $T/db (postscan runs for real).
contain_db() {
	[ -f "$T/db/eicar.ndb" ] || make_db "$T/db" >/dev/null
}

# agent_bg NAME ARGS...: starts `pib-agent validate ARGS... --report $T/NAME.json` in the
# background (stdin closed, stdout and stderr in $T/NAME.out and $T/NAME.err, TMPDIR from
# $BG_TMPDIR, default $T/agent-tmp); its pid in BG_PID. Not under timeout(1), so that a signal
# sent to BG_PID reaches the agent itself.
agent_bg() {
	local name=$1 tmp=${BG_TMPDIR:-$T/agent-tmp}
	shift
	[ "$tmp" = "$T/agent-tmp" ] && RUN_SEQ=$((RUN_SEQ + 1))
	mkdir -p "$tmp"
	rm -f "$T/$name.json"
	TMPDIR=$tmp "$PIB_AGENT" validate "$@" --report "$T/$name.json" \
		</dev/null >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
	diag "started: pib-agent validate $* --report $T/$name.json (pid $BG_PID)"
}
BG_PIDS=()

# wait_pid PID SECONDS: waits for the background child PID to end; its exit status in BG_RC
# (124 when it is still running after SECONDS).
wait_pid() {
	local pid=$1 n=$(($2 * 10))
	while kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ] && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	if [ "$n" -eq 0 ]; then
		BG_RC=124
		return 1
	fi
	wait "$pid"
	BG_RC=$?
}

proc_state() {
	awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null
}

# start_time PID: the process's start time (field 22 of /proc/PID/stat), to tell a pid reused.
start_time() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'
}

# wait_marker REGEX SECONDS: prints the pid of the first process whose whole command line
# (pgrep -f) matches REGEX, waiting for one to appear; fails when none does in time.
wait_marker() {
	local n=$(($2 * 10)) p
	while [ "$n" -gt 0 ]; do
		p=$(pgrep -f -- "$1" | head -n 1)
		if [ -n "$p" ]; then
			echo "$p"
			return 0
		fi
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# proc_chain PID STOP: "pid:starttime:comm" of PID and each ancestor up to, not including,
# STOP (or pid 1): the processes of one install, from a script's child up to the agent.
proc_chain() {
	local p=$1 stop=$2
	while [ -n "$p" ] && [ "$p" != "$stop" ] && [ "$p" != 1 ] && [ "$p" != 0 ]; do
		printf '%s:%s:%s\n' "$p" "$(start_time "$p")" "$(cat "/proc/$p/comm" 2>/dev/null)"
		p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $2 }')
	done
}

# chain_alive CHAIN: the entries of a proc_chain listing still running (same pid, same start).
chain_alive() {
	local e p s
	while IFS= read -r e; do
		[ -n "$e" ] || continue
		p=${e%%:*}
		s=${e#*:}
		s=${s%%:*}
		if [ -e "/proc/$p" ] && [ "$(start_time "$p")" = "$s" ] && [ "$(proc_state "$p")" != Z ]; then
			echo "$e $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		fi
	done <<<"$1"
}

# chain_gone DESC CHAIN SECONDS: none of CHAIN's processes is running after at most SECONDS.
chain_gone() {
	local n=$(($3 * 10)) left
	left=$(chain_alive "$2")
	while [ -n "$left" ] && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
		left=$(chain_alive "$2")
	done
	if [ -z "$left" ]; then
		ok "$1"
	else
		fail "$1" "still running:" "$left"
	fi
}

# chain_kill CHAIN: kills (SIGKILL, by pid) what is left of CHAIN, the test's own processes
# started through the agent, so that a failing check does not leave them running.
chain_kill() {
	local e
	while IFS= read -r e; do
		[ -n "$e" ] && kill -KILL "${e%%:*}" 2>/dev/null
	done <<<"$(chain_alive "$1")"
	return 0
}

# marker_kill REGEX: kills (SIGKILL, by pid) the processes whose command line matches REGEX,
# a marker unique to this test (a sleep with an odd duration its own package started).
marker_kill() {
	local p
	for p in $(pgrep -f -- "$1"); do
		kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# The background agents of the test end with it.
_contain_cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${CONTAIN_MARKERS[@]}"; do
		marker_kill "$p"
	done
	_cleanup
}
CONTAIN_MARKERS=()

# contain_setup: setup, the test's cleanup, the database, and a copy of the gold root at $R.
contain_setup() {
	setup
	need dpkg-deb base64 pgrep
	trap _contain_cleanup EXIT
	contain_db
	R=$T/root
	copy_root "$R"
}

# report_of NAME QUERY: rep QUERY on the background run NAME's report.
report_of() {
	rep "$2" "$T/$1.json"
}

# report_mentions FILE TEXT: the report's predicate, as JSON text, holds TEXT.
report_mentions() {
	"$PYTHON" "$TOOLS_DIR/report.py" "$1" 2>/dev/null | grep -qF -- "$2"
}
