#!/bin/bash
# SPDX-License-Identifier: MIT
# The policy is data (issue 13 item 5): one bundle whose postinst leaves cloud-init user-data
# (cloud.user_data_left, high, origin bundle) judged under the built-in default (findings), a
# --policy raising fail_on to critical (succeeded), an allow-list entry with its reason (allowed,
# the reason in the report), an expired one (counts again, said), a severity raised (exact id
# beats a wildcard: findings), a disabled check (absent, counted); bad policy files (exit 3, the
# file and the field named, nothing installed); a job's inline policy through `run`, and a bad one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup

cat >"$T/postinst" <<'SH'
#!/bin/sh
set -e
mkdir -p /var/lib/cloud/instances/i-0bundle
echo "#cloud-config" > /var/lib/cloud/instances/i-0bundle/user-data.txt
SH
mkdeb "$T/leaves-userdata.deb" pib-leaves-userdata 1.0 postinst="$T/postinst"
mkbundle "$T/leaves.tar.gz" --deb "$T/leaves-userdata.deb"
UD=/var/lib/cloud/instances/i-0bundle/user-data.txt

# pol NAME JSON-OF-THE-REST: a policy file $T/NAME.json (policy_version and name given)
pol() {
	printf '{"policy_version": 1, "name": "%s"%s}\n' "$1" "${2:+, $2}" >"$T/$1.json"
}
# judge NAME [ARGS]: validate the bundle into a fresh copy of the gold root
judge() {
	local name=$1
	shift
	rm -rf "$T/r"
	copy_root "$T/r"
	validate "$T/leaves.tar.gz" --root "$T/r" --no-scan "$@"
}

# 1. the built-in default: the marketplace's rules, high fails
judge default
is "default: exit 1" "$RC" 1
is "default: status findings" "$(rep status)" findings
is "default: violation" "$(rep "policy[path=$UD].status")" violation
is "default: the policy named in the step" "$(rep 'steps[name=policy].policy.name')" marketplace-default
is "default: its source" "$(rep 'steps[name=policy].policy.source')" default
check "default: the sha256 of its canonical bytes" grep -qE '^[0-9a-f]{64}$' <<<"$(rep 'steps[name=policy].policy.sha256')"
is "default: fail_on high" "$(rep 'steps[name=policy].fail_on')" high
DEFAULT_SHA=$(rep 'steps[name=policy].policy.sha256')

# 2. fail_on raised to critical: the high finding is reported, the run succeeds
pol critical '"fail_on": "critical"'
judge critical --policy "$T/critical.json"
is "fail_on critical: exit 0" "$RC" 0
is "fail_on critical: status succeeded" "$(rep status)" succeeded
is "fail_on critical: the finding reported" "$(rep "policy[path=$UD].status")" reported
is "fail_on critical: the step says critical" "$(rep 'steps[name=policy].fail_on')" critical
is "fail_on critical: source file" "$(rep 'steps[name=policy].policy.source')" file
is "fail_on critical: from the file" "$(rep 'steps[name=policy].policy.from')" "$T/critical.json"
check "fail_on critical: another sha256 than the default's" test "$(rep 'steps[name=policy].policy.sha256')" != "$DEFAULT_SHA"
# the same policy with its keys in another order and other white space: the same digest
printf '{\n  "fail_on": "critical",\n  "name": "critical",\n  "policy_version": 1\n}\n' >"$T/critical2.json"
SHA1=$(rep 'steps[name=policy].policy.sha256')
judge critical2 --policy "$T/critical2.json"
is "the digest is of the canonical bytes (keys sorted, no white space)" "$(rep 'steps[name=policy].policy.sha256')" "$SHA1"

# 3. allow-listed with a reason (a pattern of the path): allowed, the reason kept, succeeded
pol allow '"allow": [{"id": "cloud.user_data_left", "path": "/var/lib/cloud/instances/*/user-data*", "reason": "ticket SEC-42: the seeding stage removes it at first boot"}]'
judge allow --policy "$T/allow.json"
is "allowed: exit 0" "$RC" 0
is "allowed: status succeeded" "$(rep status)" succeeded
is "allowed: the finding's status" "$(rep "policy[path=$UD].status")" allowed
is "allowed: its reason in the report" "$(rep "policy[path=$UD].allow_reason")" "ticket SEC-42: the seeding stage removes it at first boot"
is "allowed: counted" "$(rep 'steps[name=policy].allowed')" 1
contains "allowed: the message show prints carries the reason" "$(rep "policy[path=$UD].message")" "(allowed: ticket SEC-42"
is "allowed: still origin bundle" "$(rep "policy[path=$UD].origin")" bundle

# 4. the same entry expired: no longer allows, and the report says so
pol expired '"allow": [{"id": "cloud.user_data_left", "reason": "temporary", "expires": "2026-01-31"}]'
PIB_POLICY_DATE=2026-02-01 judge expired --policy "$T/expired.json"
is "expired allow: exit 1" "$RC" 1
is "expired allow: a violation again" "$(rep "policy[path=$UD].status")" violation
is "expired allow: the finding says which day it expired" "$(rep "policy[path=$UD].allow_expired")" 2026-01-31
is "expired allow: listed in the step" "$(rep 'steps[name=policy].policy.allow_expired[0].expires')" 2026-01-31
PIB_POLICY_DATE=2026-01-31 judge expired --policy "$T/expired.json"
is "expires is the last day it allows: exit 0 on that day" "$RC" 0
is "  and allowed" "$(rep "policy[path=$UD].status")" allowed

# 5. a severity raised: with fail_on critical, cloud.user_data_left made critical fails; the exact
# id beats the wildcard that would lower it
pol raised '"fail_on": "critical", "checks": {"cloud.*": {"severity": "low"}, "cloud.user_data_left": {"severity": "critical"}}'
judge raised --policy "$T/raised.json"
is "severity raised: exit 1" "$RC" 1
is "severity raised: critical" "$(rep "policy[path=$UD].severity")" critical
is "severity raised: the check's own kept beside it" "$(rep "policy[path=$UD].check_severity")" high
is "severity raised: violation" "$(rep "policy[path=$UD].status")" violation
pol lowered '"checks": {"cloud.*": {"severity": "low"}}'
judge lowered --policy "$T/lowered.json"
is "severity lowered by a wildcard: exit 0" "$RC" 0
is "severity lowered by a wildcard: low" "$(rep "policy[path=$UD].severity")" low

# 6. a disabled check: its findings are dropped and counted
pol disabled '"checks": {"cloud.user_data_left": {"enabled": false}}'
judge disabled --policy "$T/disabled.json"
is "disabled: exit 0" "$RC" 0
is "disabled: the finding is absent" "$(rep 'policy[id=cloud.user_data_left].id')" ""
check "disabled: counted" test "$(rep 'steps[name=policy].disabled')" -ge 1
pol all-off '"checks": {"*": {"enabled": false}, "cloud.user_data_left": {"enabled": true}}'
judge all-off --policy "$T/all-off.json"
is "every check off but one: only it is left" "$(rep 'policy.id' | sort -u)" cloud.user_data_left

# 7. bad policy files: exit 3, the file and the field named, nothing installed
# one root for them all, compared whole at the end (snap: every file's digest, mode, owner)
rm -rf "$T/r"
copy_root "$T/r"
snap "$T/r" >"$T/before.snap"
bad_policy() {
	local desc=$1 field=$2
	printf '%s\n' "$3" >"$T/bad.json"
	validate "$T/leaves.tar.gz" --root "$T/r" --no-scan --policy "$T/bad.json"
	if [ "$RC" = 3 ] && grep -qF -- "$T/bad.json: $field" "$T/agent.err" && grep -q "policy.invalid" "$T/agent.err"; then
		ok "bad policy: $desc: exit 3, policy.invalid names the file and $field"
	else
		fail "bad policy: $desc: exit 3, policy.invalid names the file and $field" "exit $RC" "$(head -c 600 "$T/agent.err")"
	fi
	check_not "bad policy: $desc: no report" test -s "$REPORT"
	check_not "bad policy: $desc: the package is not installed" installed "$T/r" pib-leaves-userdata
}
bad_policy "an unknown key" "/colour: unknown key" '{"policy_version": 1, "name": "x", "colour": "red"}'
bad_policy "an unknown check id" "/checks/ssh.pasword_auth: not a check the agent knows" '{"policy_version": 1, "name": "x", "checks": {"ssh.pasword_auth": {"enabled": false}}}'
bad_policy "a wildcard matching nothing" "/checks/nfs.*: no check" '{"policy_version": 1, "name": "x", "checks": {"nfs.*": {"enabled": false}}}'
bad_policy "a bad severity" "/checks/ssh.host_keys/severity" '{"policy_version": 1, "name": "x", "checks": {"ssh.host_keys": {"severity": "severe"}}}'
bad_policy "a bad fail_on" "/fail_on" '{"policy_version": 1, "name": "x", "fail_on": "HIGH"}'
bad_policy "an empty reason" "/allow/1/reason: must not be empty" '{"policy_version": 1, "name": "x", "allow": [{"id": "ssh.host_keys", "reason": "ok"}, {"id": "os.end_of_life", "reason": "  "}]}'
bad_policy "a missing reason" "/allow/0/reason: missing" '{"policy_version": 1, "name": "x", "allow": [{"id": "ssh.host_keys"}]}'
bad_policy "an unknown id allowed" "/allow/0/id" '{"policy_version": 1, "name": "x", "allow": [{"id": "ssh.everything", "reason": "r"}]}'
bad_policy "a bad expiry date" "/allow/0/expires" '{"policy_version": 1, "name": "x", "allow": [{"id": "ssh.host_keys", "reason": "r", "expires": "2026-02-30"}]}'
bad_policy "a duplicate allow entry" "/allow/1: the same id and path as /allow/0" '{"policy_version": 1, "name": "x", "allow": [{"id": "ssh.host_keys", "reason": "a"}, {"id": "ssh.host_keys", "reason": "b"}]}'
bad_policy "a duplicate key" "/checks/ssh.host_keys: duplicate key" '{"policy_version": 1, "name": "x", "checks": {"ssh.host_keys": {}, "ssh.host_keys": {}}}'
bad_policy "a check that is not an object" "/checks/ssh.host_keys: expected an object" '{"policy_version": 1, "name": "x", "checks": {"ssh.host_keys": false}}'
bad_policy "not an object" "expected an object, got an array" '[]'
bad_policy "version 2" "/policy_version" '{"policy_version": 2, "name": "x"}'
bad_policy "not JSON" "not valid JSON" '{"policy_version": 1,'
validate "$T/leaves.tar.gz" --root "$T/r" --no-scan --policy "$T/nonexistent.json"
is "a policy file that does not exist: exit 3" "$RC" 3
check "  it names the file" grep -q "$T/nonexistent.json: cannot be read" "$T/agent.err"
snap "$T/r" >"$T/after.snap"
check "bad policies: the root is unchanged, every file" cmp -s "$T/before.snap" "$T/after.snap"

# 8. a job's inline policy through run; --policy beats it; a bad one fails the job (exit 3)
orch_start
put_bundle "$T/leaves.tar.gz"
copy_root "$T/gold"
fresh_root
mkjob "$T/job.json" b-pol '{"policy": {"policy_version": 1, "name": "job-policy", "fail_on": "critical"}}'
run_agent "$T/job.json"
is "job's policy: run exits 0" "$RC" 0
received_report b-pol:final "$T/final.json"
is "job's policy: the final report names it" "$(rep 'steps[name=policy].policy.name' "$T/final.json")" job-policy
is "job's policy: source job" "$(rep 'steps[name=policy].policy.source' "$T/final.json")" job
is "job's policy: the finding reported" "$(rep "policy[path=$UD].status" "$T/final.json")" reported
fresh_root
mkjob "$T/job2.json" b-pol2 '{"policy": {"policy_version": 1, "name": "job-policy", "fail_on": "critical"}}'
run_agent "$T/job2.json" --policy "$T/allow.json"
received_report b-pol2:final "$T/final2.json"
is "--policy beats the job's: its name" "$(rep 'steps[name=policy].policy.name' "$T/final2.json")" allow
is "--policy beats the job's: allowed" "$(rep "policy[path=$UD].status" "$T/final2.json")" allowed
fresh_root
mkjob "$T/job3.json" b-pol3 '{"policy": {"policy_version": 1, "name": "bad", "allow": [{"id": "ssh.host_keys", "reason": ""}]}}'
run_agent "$T/job3.json"
is "a job with a bad policy: exit 3" "$RC" 3
check "  policy.invalid names /policy/allow/0/reason" grep -q "policy.invalid: $T/job3.json: /policy/allow/0/reason: must not be empty" "$T/run.err"
check_not "  nothing installed" installed "$T/root" pib-leaves-userdata

done_testing
