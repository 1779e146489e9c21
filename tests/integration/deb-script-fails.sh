#!/bin/bash
# SPDX-License-Identifier: MIT
# A failing maintainer script is a failed install: exit 2, status failed,
# install.script_failed, and dpkg's output (with the script's own message) in the report.
# Packages built here with dpkg-deb: one whose postinst fails (dpkg leaves it
# half-configured), one whose preinst fails (dpkg does not install it).
. "$(dirname "$0")/lib.sh"
setup

cat >"$T/postinst" <<'EOF'
#!/bin/sh
echo "pib-probe: postinst failing on purpose" >&2
exit 1
EOF
cat >"$T/preinst" <<'EOF'
#!/bin/sh
echo "pib-probe: preinst failing on purpose" >&2
exit 3
EOF
mkdeb "$T/pib-fail-postinst_1.0_all.deb" pib-fail-postinst 1.0 postinst="$T/postinst"
mkdeb "$T/pib-fail-preinst_1.0_all.deb" pib-fail-preinst 1.0 preinst="$T/preinst"

one_case() { # one_case LABEL PKG MESSAGE DPKG-STATUS-WANTED [VALIDATE-OPTION...]
	local label=$1 pkg=$2 msg=$3 want=$4 R=$T/root-$1 b=$T/$1.tar.gz all
	shift 4
	copy_root "$R"
	mkbundle "$b" --deb "$T/${pkg}_1.0_all.deb"
	validate "$b" --root "$R" --no-scan "$@"
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	is "$label: status failed" "$(rep status)" failed
	is "$label: error.code" "$(rep error.code)" install.script_failed
	is "$label: the install step failed" "$(rep 'steps[name=install].status')" failed
	all=$("$PYTHON" "$TOOLS_DIR/report.py" "$REPORT")
	contains "$label: the report carries the script's own message (the tool's output)" "$all" "$msg"
	contains "$label: stderr has the error code" "$(agent_stderr)" install.script_failed
	is "$label: dpkg's state of $pkg" "$(dpkg_status "$R" "$pkg")" "$want"
	rm -rf --one-file-system "$R"
}

one_case postinst pib-fail-postinst "postinst failing on purpose" "install ok half-configured"
one_case preinst pib-fail-preinst "preinst failing on purpose" "install ok not-installed" --log-format json

# that last run logged JSON: one object a line, the failed step an error, nothing of dpkg's
# output loose on stderr (it is in the report)
is "--log-format json: every stderr line is a JSON object with a level and a message" "$("$PYTHON" -c '
import json, sys
bad = 0
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        o = json.loads(line)
        bad += not (isinstance(o, dict) and o.get("level") in ("info", "warning", "error") and "message" in o and o.get("command") == "validate")
    except ValueError:
        bad += 1
print(bad)' "$T/agent.err")" 0
contains "--log-format json: the failed install is an error line" "$(grep '"level":"error"' "$T/agent.err")" \
	'"message":"install failed: install.script_failed'

done_testing
