# SPDX-License-Identifier: MIT
# Helpers of the issue-8 install tests (sourced after lib.sh, never run): the packages a root
# has installed, the resolve step's transaction and the report's packages, each as sorted
# "NAME VERSION ARCH" lines so that they can be compared with same_tree.

# installed_set ROOT: the packages "install ok installed" in ROOT's dpkg database.
installed_set() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${db:Status-Abbrev}|${Package} ${Version} ${Architecture}\n' |
		awk -F'|' '$1 ~ /^ii/ { print $2 }' | sort
}

# report_set QUERY: name, version and arch of the objects QUERY selects in $REPORT.
report_set() {
	[ -s "$REPORT" ] || return 0
	"$PYTHON" -c '
import sys
sys.path.insert(0, sys.argv[1])
import report
for p in report.query(report.load(sys.argv[2]), sys.argv[3]):
    print(p["name"], p["version"], p["arch"])' "$TOOLS_DIR" "$REPORT" "$1" 2>/dev/null | sort
}

# resolve_set: the resolve step's transaction: its "transaction" detail when the report has
# one, else the lines the agent logs after resolve ("  NAME VERSION ARCH [REPO]").
resolve_set() {
	if rep 'steps[name=resolve].transaction' >/dev/null; then
		report_set 'steps[name=resolve].transaction[*]'
	else
		awk '/^pib-agent:   [^ ]+ [^ ]+ [^ ]+ \[[^]]+\]/ { print $2, $3, $4 }' "$T/agent.err" | sort
	fi
}

# no_trigger_pending DESC ROOT: no package of ROOT has triggers pending or awaited.
no_trigger_pending() {
	local p
	p=$(grep -E '^Triggers-(Pending|Awaited):' "$2/var/lib/dpkg/status" | head -n 5)
	p=$p$(awk '/^Package:/ { n = $2 } /^Status:.*triggers-(pending|awaited)/ { print n ": " $0 }' "$2/var/lib/dpkg/status")
	is "$1" "$p" ""
}
