#!/bin/bash
# SPDX-License-Identifier: MIT
# pib-agent run killed with SIGKILL during fetch, during install and during delivery, then run
# again with the same job: each rerun reaches the end state of an uninterrupted run (package
# installed and configured, no process of the killed run left, each phase's report accepted
# exactly once), continuing a partial download with a Range request; a bundle or a fetched
# vulnerability feed damaged on disk is fetched again (a changed feed is refused after the
# pre-install report).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup
copy_root "$T/gold"
orch_start

# start_agent JOB: the agent in the background; AGENT_PID
start_agent() {
	mkdir -p "$T/agent-tmp"
	TMPDIR=$T/agent-tmp "$PIB_AGENT" run --job "$1" --root "$T/root" --state-dir "$T/state" \
		</dev/null >"$T/bg.out" 2>"$T/bg.err" &
	AGENT_PID=$!
}
# wait_for DESC CMD...: polls CMD every 0.1 s for at most 60 s
wait_for() {
	local desc=$1 i
	shift
	for i in $(seq 1 600); do
		"$@" 2>/dev/null && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$desc" "not reached in 60 s (or the agent ended): $(tail -5 "$T/bg.err")"
	return 1
}
kill9() {
	kill -9 "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
}

# --- killed during fetch: the rerun continues the partial file with a Range request
fresh_root
# a package with 6 MB of random bytes, served at 1 MB/s: the agent is killed with 2 MB on disk
mkdir -p "$T/filler/DEBIAN" "$T/filler/usr/share/pib-filler"
head -c 6000000 /dev/urandom >"$T/filler/usr/share/pib-filler/blob"
printf '%s\n' "Package: pib-filler" "Version: 1.0" "Architecture: all" "Maintainer: tests <t@example.invalid>" \
	"Description: pib-agent test filler" >"$T/filler/DEBIAN/control"
dpkg-deb --root-owner-group -Znone --build "$T/filler" "$T/filler_1.0_all.deb" >/dev/null || bail_out "dpkg-deb failed"
mkbundle "$T/filler.tar.gz" --deb "$T/filler_1.0_all.deb"
put_bundle "$T/filler.tar.gz"
faults '{"bundles": {"rate": 1000000}}'
mkjob "$T/j1.json" b-kill-fetch
start_agent "$T/j1.json"
part_grew() { [ "$(stat -c %s "$T/state/builds/b-kill-fetch/bundle.part" 2>/dev/null || echo 0)" -gt 2000000 ]; }
if wait_for "fetch: the download started" part_grew; then
	# a second agent on the same build while the first works: refused, the first one undisturbed
	run_agent "$T/j1.json"
	is "fetch: a second agent on the same build: exit 4" "$RC" 4
	check "fetch: it says run.busy" grep -q "run.busy" "$T/run.err"
	kill9
	ok "fetch: killed with SIGKILL during the download"
fi
faults ''
run_agent "$T/j1.json"
is "fetch: the rerun ends with exit 0" "$RC" 0
check "fetch: the rerun continued with a Range request" test \
	"$(orch_log "len([x for x in r if x['path'].startswith('/bundles/') and x['range']])")" -ge 1
is "fetch: pre-install and final accepted once each" "$(accepted b-kill-fetch:pre-install) $(accepted b-kill-fetch:final)" "1 1"
check "fetch: pib-filler is installed" installed "$T/root" pib-filler
is "fetch: the blob is the one served" "$(sha256sum <"$T/root/usr/share/pib-filler/blob")" "$(sha256sum <"$T/filler/usr/share/pib-filler/blob")"

# --- killed during install: a postinst that sleeps the first time; the rerun recovers dpkg
fresh_root
cat >"$T/slow.postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ ! -e /var/lib/pib-slow-started ]; then
	touch /var/lib/pib-slow-started
	# outside the package's files, before the agent is killed: only the saved snapshot finds it
	# (in two halves, so that the package itself is clean for the prescan)
	printf '%s%s\n' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >/var/lib/pib-slow-dropped
	sleep 61.25
fi
touch /var/lib/pib-slow-configured
SH
mkdeb "$T/slow_1.0_all.deb" pib-slow 1.0 postinst="$T/slow.postinst"
mkbundle "$T/slow.tar.gz" --deb "$T/slow_1.0_all.deb"
put_bundle "$T/slow.tar.gz"
mkjob "$T/j2.json" b-kill-install
start_agent "$T/j2.json"
if wait_for "install: the postinst started" test -e "$T/root/var/lib/pib-slow-started"; then
	kill9
	ok "install: killed with SIGKILL while a postinst runs"
fi
sleep 0.5
check_not "install: no process of the killed install is left" pgrep -f "sleep 61.25"
run_agent "$T/j2.json"
is "install: the rerun ends with exit 1 (findings: what the killed attempt dropped)" "$RC" 1
check "install: the rerun says it continued an interrupted install" grep -q "stopped during the install" "$T/run.err"
check "install: pib-slow is installed and configured" installed "$T/root" pib-slow
check "install: its postinst finished" test -e "$T/root/var/lib/pib-slow-configured"
is "install: pre-install and final accepted once each" "$(accepted b-kill-install:pre-install) $(accepted b-kill-install:final)" "1 1"
received_report b-kill-install:final "$T/f2.json"
is "install: the final report says findings" "$(rep status "$T/f2.json")" findings
is "install: postscan found the file the killed attempt's postinst dropped (the snapshot saved before it)" \
	"$(rep 'scan.detections[phase=postscan].path' "$T/f2.json")" /var/lib/pib-slow-dropped
check "install: the rerun diffed against the snapshot saved before the first attempt" grep -q "as saved before the first install attempt" "$T/run.err"
is "install: the final report records the rerun" "$(rep resumed.from "$T/f2.json")" installing
check "install: dpkg's audit is empty" test -z "$(dpkg --root="$T/root" --audit 2>&1)"

# --- killed during delivery: the orchestrator refuses until the agent is killed
fresh_root
mkbundle "$T/hello2.tar.gz" --deb "$DEB_HELLO"
put_bundle "$T/hello2.tar.gz"
faults '{"reports": {"always": 503}}'
mkjob "$T/j3.json" b-kill-deliver
start_agent "$T/j3.json"
refused() { [ "$(orch_log "len([x for x in r if x['idempotency_key']=='b-kill-deliver:pre-install'])")" -ge 2 ]; }
if wait_for "delivery: the pre-install report was refused twice" refused; then
	kill9
	ok "delivery: killed with SIGKILL between delivery attempts"
fi
check_not "delivery: nothing was installed" installed "$T/root" hello
faults ''
run_agent "$T/j3.json"
is "delivery: the rerun ends with exit 0" "$RC" 0
is "delivery: pre-install and final accepted once each" "$(accepted b-kill-deliver:pre-install) $(accepted b-kill-deliver:final)" "1 1"
check "delivery: hello is installed" installed "$T/root" hello
# --- the bundle an earlier run fetched is damaged on disk (what a power loss can do, since it is
# not fsynced): a rerun from stage "fetched" checks it and fetches it again
# back_to_fetched JOB BUILD WHAT: a first run of JOB stopped at its pre-install report (reports
# refused), then its state put back to the stage "fetched" (the pre-install report dropped)
back_to_fetched() {
	fresh_root
	faults '{"reports": {"always": 503}}'
	run_agent "$1"
	is "$3: the first run stops at the pre-install report (exit 5)" "$RC" 5
	faults ''
	/usr/bin/python3 - "$T/state/builds/$2/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["stage"] = "fetched"
s.pop("transaction", None)
json.dump(s, open(sys.argv[1], "w"))
PY
	rm -f "$T/state/spool/$2.pre-install.json" "$T/state/spool/$2.pre-install.meta.json"
}
mkjob "$T/j4.json" b-damaged '{"timeouts": {"deliver_seconds": 2}}'
back_to_fetched "$T/j4.json" b-damaged damaged
truncate -s 1000 "$T/state/builds/b-damaged/bundle"
gets0=$(orch_log "len([x for x in r if x['path'].startswith('/bundles/')])")
run_agent "$T/j4.json"
is "damaged: the rerun ends with exit 0" "$RC" 0
check "damaged: it says the bundle is no longer the job's" grep -q "no longer the job's bundle" "$T/run.err"
is "damaged: the bundle was fetched again" "$(orch_log "len([x for x in r if x['path'].startswith('/bundles/')])")" "$((gets0 + 1))"
check "damaged: hello is installed" installed "$T/root" hello
is "damaged: pre-install and final accepted once each" "$(accepted b-damaged:pre-install) $(accepted b-damaged:final)" "1 1"
# --- the same with the job's vulnerability feed fetched ({url, sha256}): damaged on disk, it is
# fetched again on a rerun from stage "fetched", and the run ends as an uninterrupted one
mkdir -p "$T/osv"
printf '{"id": "DSA-1-1", "modified": "%s", "affected": [{"package": {"ecosystem": "Debian:12", "name": "no-such-source"},
 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}]}]}\n' \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$T/osv/DSA-1-1.json"
"$PIB_AGENT" vulns-index --vulns "$T/osv" --out "$T/srv/bundles/feed.pibvx" 2>/dev/null
FEED_SHA=$(sha256sum "$T/srv/bundles/feed.pibvx" | cut -d' ' -f1)
mkjob "$T/j5.json" b-damaged-feed "{\"timeouts\": {\"deliver_seconds\": 2}, \"vulns\": {\"url\": \"$ORCH/bundles/feed.pibvx\", \"sha256\": \"$FEED_SHA\"}}"
back_to_fetched "$T/j5.json" b-damaged-feed "damaged feed"
truncate -s 100 "$T/state/builds/b-damaged-feed/vulns"
feeds0=$(orch_log "len([x for x in r if x['path'] == '/bundles/feed.pibvx'])")
run_agent "$T/j5.json"
is "damaged feed: the rerun ends with exit 0" "$RC" 0
check "damaged feed: it says so" grep -q "no longer the job's bundle or feed" "$T/run.err"
is "damaged feed: the feed was fetched again" "$(orch_log "len([x for x in r if x['path'] == '/bundles/feed.pibvx'])")" "$((feeds0 + 1))"
received_report b-damaged-feed:final "$T/final-feed.json"
is "damaged feed: the final report's vulns step read the fetched index" \
	"$(rep 'steps[name=vulns].status' "$T/final-feed.json") $(rep 'steps[name=vulns].feed.records' "$T/final-feed.json")" "ok 1"
# after the pre-install report (the transaction it announced is what runs) a changed feed is
# not fetched again: refused, nothing installed
fresh_root
faults '{"reports": {"always": 503}}'
mkjob "$T/j6.json" b-changed-feed "{\"timeouts\": {\"deliver_seconds\": 2}, \"vulns\": {\"url\": \"$ORCH/bundles/feed.pibvx\", \"sha256\": \"$FEED_SHA\"}}"
run_agent "$T/j6.json"
is "changed feed: the first run stops at the pre-install report (exit 5)" "$RC" 5
faults ''
truncate -s 100 "$T/state/builds/b-changed-feed/vulns"
run_agent "$T/j6.json"
is "changed feed: the rerun after the pre-install report fails (exit 2)" "$RC" 2
received_report b-changed-feed:final "$T/final-changed.json"
is "changed feed: failed, fetch.digest_mismatch at the vulns step" \
	"$(rep status "$T/final-changed.json") $(rep error.code "$T/final-changed.json") $(rep error.step "$T/final-changed.json")" \
	"failed fetch.digest_mismatch vulns"
check_not "changed feed: hello not installed" installed "$T/root" hello
done_testing
