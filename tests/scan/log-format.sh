#!/bin/bash
# SPDX-License-Identifier: MIT
# --log-format: json gives one well-formed object a line on stderr (time, level, command,
# message), for the scan's summary, its detections, the report and the command line's own
# errors, whichever side of the command the option is on; a bad value is a usage error; text
# says warnings and errors; hostile bytes in a file name never reach the log raw.
# shellcheck disable=SC2119,SC2015
. "$(dirname "$0")/lib.sh"
setup

DB=$T/db
make_db "$DB"
D=$T/files
mkdir -p "$D"
eicar >"$D/eicar.com"
# a name with an escape sequence, a C1 control and invalid UTF-8
bad=$(printf 'x\033]0;owned\007\302\233y\377.com')
eicar >"$D/$bad"

# lines FILE: checks that every line of FILE is a JSON object with the four keys; prints
# "level|message" a line on stdout, or BAD: why.
lines() {
	python3 - "$1" <<'PY'
import json, re, sys
for n, raw in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    try:
        o = json.loads(raw.decode("utf-8", "strict"))
    except Exception as e:
        print(f"BAD: line {n} is not JSON: {e}: {raw[:200]!r}")
        continue
    if set(o) - {"time", "level", "command", "message"} or not {"time", "level", "message"} <= set(o):
        print(f"BAD: line {n} keys {sorted(o)}")
    elif not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]):
        print(f"BAD: line {n} time {o['time']}")
    elif o["level"] not in ("info", "warning", "error"):
        print(f"BAD: line {n} level {o['level']}")
    elif any(ord(c) < 0x20 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in o["message"]):
        print(f"BAD: line {n} has a control character: {o['message']!r}")
    else:
        print(o["level"] + "|" + o.get("command", "") + "|" + o["message"])
PY
}

# ---------------------------------------------------------------- json
scan_run "$D" --db "$DB" --log-format json
is "json: exit 1 (detections)" "$RC" 1
out=$(lines "$T/agent.err")
is "json: every stderr line is an object with time, level, command, message" "$(grep -c '^BAD' <<<"$out")" 0
contains "json: the summary is info" "$out" "info|scan|scan: 2 files"
contains "json: a detection is a warning naming the file" "$out" "warning|scan|$D/eicar.com: $EICAR_SIG FOUND"
contains "json: the hostile name is escaped" "$out" 'x\x1b]0;owned\x07\xc2\x9by\xff.com'
contains "json: the status line" "$out" "info|scan|status: findings (exit 1)"
is "json: no progress line, no carriage return" "$(tr -cd '\r' <"$T/agent.err" | wc -c)" 0
is "json: the report is the same envelope" "$(rep scan.files_scanned)" 2

# the command line's own errors, with --log-format after and before them
scan_run "$D" --db "$DB" --jobs 0 --log-format json
out=$(lines "$T/agent.err")
is "json, a bad --jobs: exit 3" "$RC" 3
is "json, a bad --jobs: well-formed" "$(grep -c '^BAD' <<<"$out")" 0
contains "json, a bad --jobs: an error naming the option" "$out" 'error|scan|--jobs: expected a number from 1 to 256, got "0"'
scan_run --log-format=json "$D" --no-such-option --db "$DB"
out=$(lines "$T/agent.err")
is "json (given first, with =), an unknown option: exit 3" "$RC" 3
contains "json, an unknown option: an error" "$out" "error|scan|--no-such-option: unknown option or missing argument (see pib-agent scan --help)"
"$PIB_AGENT" frobnicate --log-format json 2>"$T/agent.err"
RC=$?
out=$(lines "$T/agent.err")
is "json, an unknown command: exit 3 and an error without a command" "$RC:$out" \
	'3:error||unknown command "frobnicate" (see pib-agent --help)'

# ---------------------------------------------------------------- a bad value, and text
scan_run "$D" --db "$DB" --log-format xml
is "--log-format xml: exit 3" "$RC" 3
contains "--log-format xml: said in text, naming the value" "$(cat "$T/agent.err")" \
	'pib-agent: error: --log-format: expected text or json, got "xml"'
scan_run "$D" --db "$DB"
err=$(cat "$T/agent.err")
contains "text: a detection is a warning" "$err" "pib-agent: warning: $D/eicar.com: $EICAR_SIG FOUND"
contains "text: the summary has no level" "$err" "pib-agent: scan: 2 files"
contains "text: the hostile name is escaped too" "$err" 'x\x1b]0;owned\x07\xc2\x9by\xff.com'
is "text: no raw escape character" "$(tr -cd '\033\233' <"$T/agent.err" | wc -c)" 0

done_testing
