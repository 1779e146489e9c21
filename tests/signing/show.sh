#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent show: the terminal view (status first, everything a person needs, nothing that can
# drive the terminal) and the self-contained HTML page, opened in a real headless Chromium:
# a screenshot is taken, and the page's text holds the status, the product and every detection;
# status, detections and findings sit above the fold of a 1366x768 laptop screen.
. "$(dirname "$0")/lib.sh"
need "$SYSPY" "$DEB_HELLO"

CHROMIUM=$(command -v chromium || true)
chromium_run() { # URL ARGS...: a fresh profile each time, no network services
	local url=$1
	shift
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chromium.XXXXXX")" --window-size=1366,768 "$@" "$url"
}

"$AGENT" keygen --out agent >/dev/null 2>&1
"$AGENT" keygen --out other >/dev/null 2>&1
"$MKREPORT" rep.json --key agent.key && ok "mkreport writes a report with detections" || not_ok "mkreport writes a report with detections"
"$MKREPORT" hostile.json --key agent.key --hostile && ok "mkreport --hostile" || not_ok "mkreport --hostile"
"$MKREPORT" unsigned.json && ok "mkreport writes an unsigned report" || not_ok "mkreport writes an unsigned report"
schema_ok "the test reports validate against the schema" rep.json hostile.json unsigned.json
bundle good.tar.gz
"$AGENT" validate good.tar.gz --key agent.key --report good.json --no-scan 2>/dev/null
schema_ok "the validate report validates against the schema" good.json
if evil_bundle evil.tar.gz db; then
	"$AGENT" validate evil.tar.gz --db db --key agent.key --report findings.json 2>findings.err
	exit_is "validate a bundle carrying test malware: findings" 1 $? findings.err
	schema_ok "its report validates against the schema" findings.json
else
	not_ok "a bundle with test malware can be made (dpkg-deb, sigtool, clamav-testfiles)"
fi

# the detections the views must show, straight from the report
query rep.json '"\n".join(d["signature"] + "\t" + d["path"] for d in st["predicate"]["scan"]["detections"])' >dets.txt
[ "$(wc -l <dets.txt)" = 2 ] && ok "the report has two detections" || not_ok "the report has two detections"

# --- terminal
"$AGENT" show rep.json >term.out 2>term.err
exit_is "show REPORT" 0 $? term.err
head -1 term.out | grep -q "^FINDINGS  hello-suite 2.10" && ok "the overall status comes first" ||
	not_ok "the overall status comes first" "$(head -1 term.out)"
contains "the signature is said to be not checked" term.out "not checked (1 signature"
contains "the target OS" term.out "debian (deb) on Debian GNU/Linux 12 (bookworm) x86_64"
while IFS=$'\t' read -r sig path; do
	contains "detection $sig is shown" term.out "$sig  $path"
done <dets.txt
contains "policy findings are shown" term.out "ssh.password_authentication: PasswordAuthentication yes"
contains "checks are shown" term.out "hello runs: exit status 1"
contains "packages are shown" term.out "hello                    2.10-3"
contains "each step with its duration" term.out "resolve    ok"
contains "a failed step with its error" term.out "postscan   failed        0 ms  scan.malware: 2 files are infected"
contains "a skipped step with its reason" term.out "checks     skipped       0 ms  not supported yet"
if grep -q $'\033' term.out; then not_ok "no colours when stdout is not a terminal"; else ok "no colours when stdout is not a terminal"; fi
if command -v script >/dev/null; then
	TERM=xterm script -qec "$AGENT show rep.json" /dev/null >tty.out 2>&1
	grep -q $'^\033\\[1;31mFINDINGS' tty.out && ok "colours on a terminal" || not_ok "colours on a terminal" "$(head -3 tty.out | cat -v)"
	NO_COLOR=1 TERM=xterm script -qec "$AGENT show rep.json" /dev/null >tty.out 2>&1
	grep -q $'\033' tty.out && not_ok "NO_COLOR turns them off" "$(head -3 tty.out | cat -v)" || ok "NO_COLOR turns them off"
fi
"$AGENT" show rep.json --pubkey agent.pub >t.out 2>t.err
exit_is "show --pubkey, genuine" 0 $? t.err
contains "the signature is shown valid" t.out "valid (Ed25519, keyid"
"$AGENT" show good.json >t.out 2>t.err
exit_is "show a validate report" 0 $? t.err
head -1 t.out | grep -q "^INCOMPLETE  hello-suite 2.10" && ok "its status comes first" || not_ok "its status comes first" "$(head -1 t.out)"
contains "the skipped scan is said so" t.out "scan not run: skipped by request (--no-scan)"
"$AGENT" show findings.json --pubkey agent.pub >t.out 2>t.err
exit_is "show the findings report of a real scan" 0 $? t.err
head -1 t.out | grep -q "^FINDINGS  evil-suite 1.0" && ok "its status comes first" || not_ok "its status comes first" "$(head -1 t.out)"
query findings.json '"\n".join(d["signature"] + "\t" + d["path"] + " [" + d["member"] + "]" for d in st["predicate"]["scan"]["detections"])' >fdets.txt
[ "$(wc -l <fdets.txt)" = 2 ] && ok "the real scan found both test files" || not_ok "the real scan found both test files" "$(cat fdets.txt)"
while IFS=$'\t' read -r sig where; do
	contains "detection $sig is shown with its file and member" t.out "$sig  $where"
done <fdets.txt
contains "the scan's engine and database are shown" t.out "clamav "
contains "the failed prescan step and its error" t.out "prescan    failed"
"$SYSPY" "$DSSE" tamper rep.json status tampered.json
"$AGENT" show tampered.json --pubkey agent.pub >t.out 2>t.err
exit_is "show --pubkey of a changed report" 1 $? t.err
contains "it says INVALID and why" t.out "INVALID: the payload was changed"
contains "and warns on stderr" t.err "do not trust this report"
"$SYSPY" "$DSSE" tamper rep.json payload flipped.json
"$AGENT" show flipped.json --pubkey agent.pub >t.out 2>t.err
exit_is "show --pubkey of a report with a flipped payload byte" 1 $? t.err
contains "it says INVALID" t.err "INVALID"
"$AGENT" show unsigned.json >t.out 2>t.err
exit_is "show an unsigned report" 0 $? t.err
contains "it says unsigned" t.out "unsigned: the report carries no signature"
"$AGENT" show unsigned.json --pubkey agent.pub >t.out 2>t.err
exit_is "show --pubkey of an unsigned report" 1 $? t.err
"$AGENT" show rep.json --pubkey /nonexistent.pub >t.out 2>t.err
exit_is "show with an unreadable key" 4 $? t.err
printf 'not json' >junk.json
"$AGENT" show junk.json >t.out 2>t.err
exit_is "show a file that is not a report" 1 $? t.err
"$AGENT" show hostile.json >hostile.out 2>&1
exit_is "show a report with control sequences" 0 $? hostile.out
if LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <hostile.out); then
	not_ok "no control character of the report reaches the terminal" "$(cat -v hostile.out | head -20)"
else
	ok "no control character of the report reaches the terminal"
fi
contains "the escape sequences are shown defused" hostile.out "?[2J?]0;pwned?"
# bidi controls (U+202E right-to-left override, U+2066 left-to-right isolate) in the product and
# seller names: never raw, shown as \u{XXXX}
RLO=$'\xe2\x80\xae' LRI=$'\xe2\x81\xa6'
for raw in "202E:$RLO" "2066:$LRI"; do
	if LC_ALL=C grep -qF -- "${raw#*:}" hostile.out; then
		not_ok "no raw U+${raw%%:*} reaches the terminal" "$(grep -a 'evil\|Seller' hostile.out | od -c | head -5)"
	else
		ok "no raw U+${raw%%:*} reaches the terminal"
	fi
done
contains "the product's U+202E is shown escaped" hostile.out '</script>&co\u{202E}fdp.exe'
contains "the seller's U+2066 and U+202E are shown escaped" hostile.out 'by Example \u{2066}Seller\u{202E} Inc'
contains "a file not scanned is listed with its code, path and reason, defused" hostile.out \
	"limit.max_filesize     /usr/bin/<img src=x onerror=alert(1)>?[2J?]0;pwned?: <b>pwned</b>?[31m larger"

# --- HTML
"$AGENT" show rep.json --pubkey agent.pub --html page.html >t.out 2>t.err
exit_is "show --html" 0 $? t.err
[ -s page.html ] && ok "the page is written" || not_ok "the page is written"
[ ! -s t.out ] && ok "nothing else on stdout" || not_ok "nothing else on stdout"
lacks "the page has no script" page.html "<script"
lacks "the page loads nothing (no src=)" page.html "src="
lacks "the page links nothing (no href=)" page.html "href="
lacks "the page's CSS loads nothing (no url())" page.html "url("
lacks "the page's CSS imports nothing" page.html "@import"
contains "the page forbids loading anything (CSP)" page.html "default-src 'none'"
"$AGENT" show hostile.json --html hostile.html >/dev/null 2>&1
lacks "the report's markup is escaped (product)" hostile.html '<script>alert'
lacks "the report's markup is escaped (detection)" hostile.html '<img src=x'
contains "it is shown as text" hostile.html '&lt;img src=x onerror=alert(1)&gt;'
lacks "the report's markup is escaped (a file not scanned)" hostile.html '<b>pwned'
contains "the file not scanned is listed, as text" hostile.html '<td>limit.max_filesize</td>'
if LC_ALL=C grep -q $'\033' hostile.html; then not_ok "no escape byte in the page"; else ok "no escape byte in the page"; fi
for raw in "202E:$RLO" "2066:$LRI"; do
	if LC_ALL=C grep -qF -- "${raw#*:}" hostile.html; then
		not_ok "no raw U+${raw%%:*} in the page"
	else
		ok "no raw U+${raw%%:*} in the page"
	fi
done
contains "the product's U+202E is marked on the page" hostile.html '&amp;co<span class="ctl">U+202E</span>fdp.exe'
contains "the seller's U+2066 is marked on the page" hostile.html 'Example <span class="ctl">U+2066</span>Seller'
contains "the title shows U+202E as text" hostile.html '&amp;co[U+202E]fdp.exe 2.10</title>'
"$AGENT" show unsigned.json --html unsigned.html >/dev/null 2>&1
contains "an unsigned page says so" unsigned.html "Signature: unsigned"
"$AGENT" show rep.json --html unchecked.html >/dev/null 2>&1
contains "a page made without --pubkey says the signature was not checked" unchecked.html "Signature: not checked"
"$AGENT" show tampered.json --pubkey agent.pub --html tampered.html >/dev/null 2>&1
contains "a changed report's page says INVALID" tampered.html "Signature: INVALID"
contains "and that nothing on it can be trusted" tampered.html "nothing below can be trusted"

# --- in a real browser
if [ -z "$CHROMIUM" ]; then
	not_ok "chromium is installed (tests/deps.sh installs it)"
	done_testing
	exit
fi
# browser_checks PAGE REPORT: a screenshot of PAGE at 1366x768, its text holding the report's
# status, product and every detection, and the verdict above the fold
browser_checks() {
	local page=$1 rep=$2 status product sig path
	status=$(query "$rep" 'st["predicate"]["status"].upper()')
	product=$(query "$rep" 'st["predicate"]["bundle"]["product"]["name"] + " " + st["predicate"]["bundle"]["product"]["version"]')
	rm -f shot.png
	chromium_run "file://$T/$page" --screenshot="$T/shot.png" >chromium.log 2>&1
	exit_is "chromium takes a screenshot of $page" 0 $? chromium.log
	if [ -s shot.png ] && [ "$(head -c 8 shot.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
		ok "the screenshot is a PNG"
	else
		not_ok "the screenshot is a PNG" "$(ls -l shot.png 2>&1)"
	fi
	size=$("$SYSPY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' shot.png 2>/dev/null)
	[ "$size" = 1366x768 ] && ok "of a 1366x768 laptop screen" || not_ok "of a 1366x768 laptop screen" "$size"
	cp shot.png "shot-${page%.html}.png"
	chromium_run "file://$T/$page" --dump-dom >dom.html 2>chromium.log
	exit_is "chromium dumps the DOM of $page" 0 $? chromium.log
	"$SYSPY" "$DSSE" text dom.html >dom.txt
	contains "the page's text has the status $status" dom.txt "$status"
	contains "the page's text has the product $product" dom.txt "$product"
	contains "the page's text has the signature state" dom.txt "Signature: valid (Ed25519"
	query "$rep" '"\n".join(d["signature"] + "\t" + d["path"] for d in st["predicate"]["scan"]["detections"])' >pdets.txt
	while IFS=$'\t' read -r sig path; do
		contains "the page's text has detection $sig" dom.txt "$sig"
		contains "and its path $path" dom.txt "$path"
	done <pdets.txt
	# above the fold: the page with a measuring script (CSP removed) in the same window
	"$SYSPY" "$DSSE" probe "$page" probe.html
	chromium_run "file://$T/probe.html" --dump-dom >probe-dom.html 2>chromium.log
	"$SYSPY" "$DSSE" layout probe-dom.html >layout.json
	if "$SYSPY" -c '
import json, sys
l = json.load(open("layout.json"))
h = l.pop("innerHeight"); l.pop("innerWidth")
low = [k for k, v in l.items() if v is not None and v > h]
print("viewport", h, l)
sys.exit(1 if low or l["#detections tr:last-child"] is None else 0)' >fold.txt 2>&1; then
		ok "status, signature, detections and findings of $page are visible without scrolling"
	else
		not_ok "status, signature, detections and findings of $page are visible without scrolling" "$(cat fold.txt layout.json)"
	fi
}
browser_checks page.html rep.json
contains "the page's text has the policy finding" dom.txt "ssh.password_authentication"
contains "the page's text has the failed check" dom.txt "hello runs"
if [ -s findings.json ]; then
	"$AGENT" show findings.json --pubkey agent.pub --html findings.html >/dev/null 2>&1
	browser_checks findings.html findings.json
fi
chromium_run "file://$T/hostile.html" --dump-dom >hdom.html 2>chromium.log
if grep -qiE '<(script|img)[ >]' hdom.html; then
	not_ok "the hostile page parses to no script or img element" "$(grep -oiE '<(script|img)[^>]*' hdom.html)"
else
	ok "the hostile page parses to no script or img element"
fi
"$SYSPY" "$DSSE" text hdom.html >hdom.txt
contains "the hostile product is shown as text" hdom.txt 'evil<script>alert("x")</script>&co'
done_testing
