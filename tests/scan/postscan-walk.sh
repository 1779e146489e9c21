#!/bin/bash
# SPDX-License-Identifier: MIT
# Postscan walks by directory descriptors and skips by filesystem type, never by name: what a
# postinst drops into the root's own /dev (a plain directory on disk), 260 directories deep, or
# under a path longer than PATH_MAX is found; a tree deeper than the walk goes (4096 levels) is
# a scan.skipped entry (limit.max_depth) that makes the run incomplete, never a silent count.
# The agent before this walked by a PATH_MAX buffer, stopped at 256 levels, skipped /dev, /proc
# and /sys of any root by name, and said `succeeded` in all three cases.
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup
need dpkg-deb base64

DB=$T/db
make_db "$DB"
b64=$(eicar | base64 -w0)
# perl-base is in every Debian root: it makes trees a shell's cd cannot (paths over PATH_MAX)
cat >"$T/postinst-drop" <<END
#!/bin/sh
set -e
[ "\$1" = configure ] || exit 0
# A contained install gives scripts a private /dev (a tmpfs) over the root's, and no power to
# unmount it: what they write there vanishes with the install. The root's own /dev on disk is
# still changed by whoever writes it from outside during the install (here: the test, while
# this script waits), and postscan must walk it like any directory.
: >/var/lib/pib-waiting
i=0
while [ ! -e /var/lib/pib-go ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
rm -f /var/lib/pib-waiting /var/lib/pib-go
echo $b64 | base64 -d >/var/lib/.pib-eicar
perl -e '
open(F, "<", "/var/lib/.pib-eicar") or die; local \$/; my \$e = <F>; close F; unlink "/var/lib/.pib-eicar";
sub tree { my (\$top, \$name, \$n) = @_; chdir "/var/lib" or die; mkdir \$top; chdir \$top or die;
	for (1..\$n) { mkdir \$name; chdir \$name or die "\$!" }
	open(O, ">", "dropped.com") or die; print O \$e; close O }
tree("pib-deep", "d", 260);
tree("pib-long", "n" x 250, 20);
'
END
cat >"$T/postinst-toodeep" <<'END'
#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
perl -e 'chdir "/var/lib" or die; mkdir "pib-toodeep"; chdir "pib-toodeep" or die;
for (1..4100) { mkdir "d"; chdir "d" or die "$!" }
open(O, ">", "clean.txt") or die; print O "nothing to see\n"; close O;'
END
echo "an ordinary file" >"$T/plain.txt"
debpkg "$T/drop.deb" pib-drop "usr/share/pib-drop/plain.txt=$T/plain.txt" "postinst=$T/postinst-drop"
debpkg "$T/deep.deb" pib-toodeep "usr/share/pib-toodeep/plain.txt=$T/plain.txt" "postinst=$T/postinst-toodeep"

# ---- a: /dev of a root on disk; b: 260 levels deep, and a path over PATH_MAX
R=$T/root
copy_root "$R"
mkbundle "$T/drop.tar.gz" --deb "$T/drop.deb"
# from the host, into the root's /dev on disk, while the postinst waits (bounded: 60 s)
(
	for _ in $(seq 600); do
		if [ -e "$R/var/lib/pib-waiting" ]; then
			mkdir -p "$R/dev/.cache" && eicar >"$R/dev/.cache/x"
			: >"$R/var/lib/pib-go"
			break
		fi
		sleep 0.1
	done
) &
dropper=$!
validate "$T/drop.tar.gz" --root "$R" --db "$DB"
wait "$dropper"
is "exit 1 (findings)" "$RC" 1
report_exists
is "status findings" "$(rep status)" findings
is "install passed" "$(rep 'steps[name=install].status')" ok
is "postscan failed with scan.malware_found" "$(rep 'steps[name=postscan].error.code')" scan.malware_found
deep=/var/lib/pib-deep$(printf '/d%.0s' $(seq 260))/dropped.com
n250=$(printf 'n%.0s' $(seq 250))
long=/var/lib/pib-long$(for _ in $(seq 20); do printf '/%s' "$n250"; done)/dropped.com
is "the path under the long tree is longer than PATH_MAX" "$((${#long} > 4096))" 1
is "the file in the root's /dev, 260 levels deep, under a path of ${#long} bytes: all found" "$(detections)" \
	"$(printf '%s\n' "/dev/.cache/x|||$EICAR_SIG|postscan|signature" \
		"$deep|||$EICAR_SIG|postscan|signature" "$long|||$EICAR_SIG|postscan|signature" | sort)"
is "nothing skipped" "$(skipped)" ""
check "the file is really on the root's disk" test -s "$R/dev/.cache/x"
is "the root's /dev is no mount: nothing listed as not walked" "$(rep 'steps[name=postscan].not_walked')" ""
is "postscan lists the mounts added during install: none" \
	"$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" 'steps[name=postscan].mounts_added')" "[[]]"
is "and the processes left running: none" \
	"$("$PYTHON" "$TOOLS_DIR/report.py" --json "$REPORT" 'steps[name=postscan].processes_left')" "[[]]"
schema_check

# ---- c: deeper than the walk goes: a skip, the run incomplete
R2=$T/root2
copy_root "$R2"
mkbundle "$T/deep.tar.gz" --deb "$T/deep.deb"
validate "$T/deep.tar.gz" --root "$R2" --db "$DB"
is "exit 0" "$RC" 0
report_exists
is "status incomplete" "$(rep status)" incomplete
is "postscan passed" "$(rep 'steps[name=postscan].status')" ok
contains "postscan says it is incomplete" "$(rep 'steps[name=postscan].incomplete')" "see scan.skipped"
toodeep=/var/lib/pib-toodeep$(printf '/d%.0s' $(seq 4094))
is "one skip: the first directory too deep, limit.max_depth" "$(skipped)" "$toodeep||limit.max_depth"
is "no detection" "$(detections)" ""
schema_check

done_testing
