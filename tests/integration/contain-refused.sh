#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 9, deliver 1: when the kernel refuses the namespaces of a contained install, the agent
# refuses to install into the --root (contain.unavailable, an environment error, exit 4) and
# never falls back to an uncontained install. tests/tools/deny-ns runs the agent under a seccomp
# filter that makes clone with CLONE_NEW* flags, unshare and setns fail with EPERM, as a
# locked-down container does. The same bundle into a copy of the same root without the filter
# succeeds, so what fails is the containment alone.
. "$(dirname "$0")/contain-lib.sh"
contain_setup

[ -x "${PIB_DENY_NS:-}" ] || bail_out "PIB_DENY_NS (tests/tools/deny-ns, built by meson) is not set"
REAL_AGENT=$PIB_AGENT
DENIED=$T/agent-denied
cat >"$DENIED" <<EOF2
#!/bin/sh
exec "$PIB_DENY_NS" "$REAL_AGENT" "\$@"
EOF2
chmod 755 "$DENIED"

B=$T/hello.tar.gz
mkbundle "$B" --deb "$DEB_HELLO"

# ---- refused: the kernel says no
R=$T/root
copy_root "$R"
snap "$R" >"$T/before.txt"
PIB_AGENT=$DENIED
validate "$B" --root "$R" --no-scan
PIB_AGENT=$REAL_AGENT
is "refused: exit 4 (an environment error)" "$RC" 4
report_exists
is "refused: status failed" "$(rep status)" failed
is "refused: the install step failed with contain.unavailable" "$(rep 'steps[name=install].error.code')" contain.unavailable
msg=$(rep 'steps[name=install].error.message')
contains "refused: the message says which call the kernel refused" "$msg" "clone"
contains "refused: and its errno" "$msg" "Operation not permitted"
contains "refused: and that nothing is installed uncontained" "$msg" "uncontained"
contains "refused: stderr has the code" "$(cat "$T/agent.err")" contain.unavailable
is "refused: hello is not installed" "$(dpkg_status "$R" hello)" ""
is "refused: no postscan ran (nothing was installed)" "$(rep 'steps[name=postscan].status')" ""
snap "$R" >"$T/after.txt"
same_tree "refused: the root is unchanged" "$T/before.txt" "$T/after.txt"
is "refused: nothing mounted under the root" "$(mounts_under "$R")" ""

# ---- the same bundle without the filter: contained, succeeded
R2=$T/root2
copy_root "$R2"
validate "$B" --root "$R2" --no-scan
is "allowed: exit 0" "$RC" 0
is "allowed: status succeeded" "$(rep status)" succeeded
is "allowed: the install ran contained" "$(rep 'steps[name=install].contained')" true
is "allowed: hello is installed" "$(dpkg_status "$R2" hello)" "install ok installed"

done_testing
