#!/bin/bash
# SPDX-License-Identifier: MIT
# A file cut short while the agent scans it: a watcher (inotify) truncates a 96 MiB file the
# moment the agent first reads from it (the 24 bytes it looks at to tell a package, after its
# fstat and before the scan proper), so the agent has its size but the bytes are gone by the
# time it scans them. The agent must not crash (SIGBUS on its view of the file), must still
# report what it found in what was there, and must list the file as `changed`: the run is
# incomplete, never clean. A file left alone beside it is scanned as usual.
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup

DB=$T/db
make_db "$DB"
D=$T/files
mkdir -p "$D" "$T/clean"
# EICAR first, then 96 MiB of bytes that are not zeros (so that a scan of zeros is not a scan of
# it; under the default --max-filesize of 100M, which would skip the file unscanned)
{ eicar; head -c $((96 << 20)) /dev/urandom; } >"$D/cut.bin"
{ head -c $((8 << 20)) /dev/urandom; eicar; } >"$D/whole.bin"

# start_watch FILE: in the background, waits (60 s at most) for the first read of FILE and cuts
# it to 4 KiB then; "watching" and "cut" in $T/watch.out say how far it got. $watcher: its pid.
start_watch() {
	python3 - "$1" >"$T/watch.out" 2>&1 <<'PY' &
import ctypes, os, select, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
IN_ACCESS = 0x1
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), IN_ACCESS) < 0:
    print("no inotify:", os.strerror(ctypes.get_errno())); sys.exit(1)
print("watching", flush=True)
if not select.select([fd], [], [], 60)[0]:
    print("never read"); sys.exit(1)
os.read(fd, 4096)
os.truncate(sys.argv[1], 4096)
print("cut", flush=True)
PY
	watcher=$!
	for _ in $(seq 1 100); do grep -q watching "$T/watch.out" && break; sleep 0.1; done
	contains "the watcher of $(basename "$1") is ready" "$(cat "$T/watch.out")" watching
}

start_watch "$D/cut.bin"
scan_run "$D" --db "$DB" --jobs 1
wait "$watcher"
contains "the file was cut when the agent first read it" "$(cat "$T/watch.out")" cut
is "the agent survived the cut (no SIGBUS): exit 1 for the detections" "$RC" 1
has_line "the cut file is listed as changed" "$(skipped)" "$D/cut.bin||changed"
has_line "what was there is still scanned: EICAR at its start found" "$(detections | cut -d"|" -f1,4)" \
	"$D/cut.bin|$EICAR_SIG"
has_line "the file beside it is scanned as usual" "$(detections | cut -d"|" -f1,4)" "$D/whole.bin|$EICAR_SIG"
contains "the reason says what happened" "$("$PYTHON" -c 'import json,sys; sys.path.insert(0, sys.argv[2]); import report; print([s["reason"] for s in report.load(sys.argv[1])["scan"]["skipped"]])' "$REPORT" "$TOOLS_DIR")" \
	"shrank while it was scanned"

# without a detection, the status says the scan is not whole: incomplete, not succeeded
head -c $((96 << 20)) /dev/urandom >"$T/clean/cut2.bin"
start_watch "$T/clean/cut2.bin"
scan_run "$T/clean" --db "$DB"
wait "$watcher"
is "a clean file cut while scanned: exit 0, status incomplete (not succeeded)" "$RC:$(rep status)" 0:incomplete
has_line "... and it is listed as changed" "$(skipped)" "$T/clean/cut2.bin||changed"

# a person reading the report sees which file and why, in the terminal and on the HTML page
"$PIB_AGENT" show "$REPORT" >"$T/show.out" 2>&1
contains "show lists the file not scanned whole, with its code" "$(cat "$T/show.out")" "changed                $T/clean/cut2.bin: it shrank"
"$PIB_AGENT" show "$REPORT" --html "$T/show.html" >/dev/null 2>&1
contains "show --html has it in its own section" "$(tr -d '\n' <"$T/show.html" | grep -o '<section id="skipped">.*</section>' | head -c 2000)" \
	"<td>changed</td><td class=\"mono\">$T/clean/cut2.bin</td>"

done_testing
