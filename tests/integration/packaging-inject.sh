#!/bin/bash
# SPDX-License-Identifier: MIT
# The three ways a pipeline injects the agent (packaging/): the EC2 Image Builder component has
# an AWSTOE document's structure; the Packer example parses with HashiCorp's HCL2 parser
# (tests/tools/hcl2json) and has its source, build and provisioners; every pib-agent command
# line in the three is one the agent's CLI takes; make-user-data.py writes a MIME multipart
# under EC2's 16384 bytes that the agent reads its job from (over the IMDSv2 stand-in), and
# refuses bad input; and the user-data's shell part, run for real with dash and busybox sh
# (curl, GNU wget, busybox only) against the HTTPS test orchestrator, fetches the agent
# tarball (packaging/portable.sh's when it exists, else a stand-in tree), checks its SHA-256,
# runs `pib-agent run --job imds` and exits with its code; a wrong SHA-256, a certificate of
# another CA, a tarball for another architecture are refused with nothing unpacked and no
# agent run. The Image Builder and Packer shell steps are run for real the same way.
#
# `pib-agent run --job imds` works on `/`: each run is in a private mount namespace where
# /var/lib and /var/tmp are overlays on a tmpfs (the agent's state, the fixed folders of the
# Image Builder and Packer steps), and the job's bundle digest is wrong on purpose, so that the
# run stops after fetch (exit 2, final report delivered) without touching this machine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run-lib.sh"
run_setup
T0=$(date +%s)
lap() { diag "$1 done at $(($(date +%s) - T0)) s"; }
command -v unshare >/dev/null || bail_out "unshare is missing"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	bail_out "node and npm are needed (tests/tools/hcl2json)"
fi

PKG=$REPO_DIR/packaging
TEMPLATE=$PKG/cloud-init/pib-agent-inject.sh
MKUD=$PKG/make-user-data.py
IB=$PKG/imagebuilder/pib-agent.yml
PK=$PKG/packer/pib-agent.pkr.hcl
PKVARS=$PKG/packer/variables.pkr.hcl
ARCH=$(uname -m)
SYSPY=/usr/bin/python3
UD_MAX=16384

# ---------------------------------------------------------------- the CLI, for the command lines
"$PIB_AGENT" --help >"$T/help.top" 2>&1 || bail_out "pib-agent --help failed"
for c in $(sed -n '/^Commands:/,/^$/p' "$T/help.top" | grep -oE '^  [a-z]+' | tr -d ' '); do
	"$PIB_AGENT" "$c" --help >"$T/help.$c" 2>&1 || bail_out "pib-agent $c --help failed"
done

# ---------------------------------------------------------------- EC2 Image Builder (AWSTOE)
"$SYSPY" - "$IB" >"$T/ib.checks" 2>&1 <<'PY'
import re, sys, yaml
# AWSTOE's action modules (Image Builder user guide, "Action modules supported by AWSTOE")
ACTIONS = {"Assert", "ExecuteBash", "ExecuteBinary", "ExecuteDocument", "ExecutePowerShell",
           "S3Download", "S3Upload", "WebDownload", "AppendFile", "CopyFile", "CopyFolder",
           "CreateFile", "CreateFolder", "CreateSymlink", "DeleteFile", "DeleteFolder", "ListFiles",
           "MoveFile", "MoveFolder", "ReadFile", "SetFileEncoding", "SetFileOwner", "SetFolderOwner",
           "SetFilePermissions", "SetFolderPermissions", "InstallMSI", "UninstallMSI", "Reboot",
           "SetRegistry", "UpdateOS"}
STEP_KEYS = {"name", "action", "inputs", "onFailure", "maxAttempts", "timeoutSeconds", "if", "loop"}
def out(desc, problems):
    print("%s\t%s" % (desc, "; ".join(problems)))
try:
    doc = yaml.safe_load(open(sys.argv[1]))
except Exception as e:
    out("the component parses as YAML", [str(e)]); sys.exit(0)
out("the component parses as YAML", [] if isinstance(doc, dict) else ["not a mapping"])
p = []
for k in ("name", "description"):
    if not isinstance(doc.get(k), str) or not doc[k].strip():
        p.append("no %s" % k)
if doc.get("schemaVersion") != 1.0:
    p.append("schemaVersion is %r, not 1.0" % doc.get("schemaVersion"))
extra = set(doc) - {"name", "description", "schemaVersion", "parameters", "constants", "phases"}
if extra:
    p.append("unknown top-level keys %s" % sorted(extra))
out("AWSTOE top level: name, description, schemaVersion 1.0, nothing else", p)
params, p = set(), []
for e in doc.get("parameters") or []:
    if not isinstance(e, dict) or len(e) != 1:
        p.append("a parameter is not a one-key mapping: %r" % e); continue
    (k, v), = e.items()
    params.add(k)
    if not isinstance(v, dict) or v.get("type") != "string" or not v.get("description"):
        p.append("%s: needs type string and a description" % k)
if params != {"AgentUrl", "AgentSha256", "JobS3Uri", "BuildId"}:
    p.append("parameters are %s" % sorted(params))
out("parameters AgentUrl, AgentSha256, JobS3Uri, BuildId: each type string, described", p)
phases = doc.get("phases") or []
out("phases are build then validate", [] if [ph.get("name") for ph in phases] == ["build", "validate"]
    else ["phases: %r" % [ph.get("name") for ph in phases]])
p, steps = [], {}
for ph in phases:
    names = []
    for st in ph.get("steps") or []:
        for k in ("name", "action", "inputs"):
            if k not in st:
                p.append("%s: a step without %s" % (ph.get("name"), k))
        if set(st) - STEP_KEYS:
            p.append("%s.%s: unknown keys %s" % (ph.get("name"), st.get("name"), sorted(set(st) - STEP_KEYS)))
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", str(st.get("name"))):
            p.append("step name %r" % st.get("name"))
        if st.get("action") not in ACTIONS:
            p.append("%s: action %r is not one of AWSTOE's" % (st.get("name"), st.get("action")))
        a, i = st.get("action"), st.get("inputs")
        if a == "ExecuteBash" and not (isinstance(i, dict) and isinstance(i.get("commands"), list)
                                       and all(isinstance(c, str) for c in i["commands"])):
            p.append("%s: ExecuteBash inputs need a commands list" % st.get("name"))
        if a in ("S3Download", "WebDownload") and not (isinstance(i, list) and i and all(
                isinstance(x, dict) and "source" in x and "destination" in x for x in i)):
            p.append("%s: %s inputs need a list of source/destination" % (st.get("name"), a))
        names.append(st.get("name"))
        steps[(ph.get("name"), st.get("name"))] = st
    if len(names) != len(set(names)) or not names:
        p.append("%s: step names %r (none, or not unique)" % (ph.get("name"), names))
out("every step has name, action (one of AWSTOE's action modules) and fitting inputs", p)
text = open(sys.argv[1]).read()
refs = set(re.findall(r"\{\{\s*([^}\s]+)\s*\}\}", text))
bad = [r for r in refs if r not in params and not (
    re.fullmatch(r"(build|validate|test)\.[A-Za-z0-9]+\.outputs\.stdout", r)
    and tuple(r.split(".")[:2]) in steps)]
out("every {{ reference }} is a declared parameter", ["undeclared: %s" % sorted(bad)] if bad else [])
unused = params - refs
out("every parameter is used", ["unused: %s" % sorted(unused)] if unused else [])
def bash_of(phase, step):
    st = steps.get((phase, step))
    return "\n".join(st["inputs"]["commands"]) if st and st.get("action") == "ExecuteBash" else ""
fetch = bash_of("build", "FetchAgent")
p = []
if "--proto =https" not in fetch: p.append("curl without --proto =https")
if not (0 <= fetch.find("sha256sum") < fetch.find("tar -x")): p.append("sha256sum does not come before tar -x")
if "{{ AgentSha256 }}" not in fetch or "{{ AgentUrl }}" not in fetch: p.append("AgentUrl/AgentSha256 not used")
out("build.FetchAgent downloads over https only and checks the SHA-256 before unpacking", p)
s3 = steps.get(("build", "GetJob"), {})
out("build.GetJob is an S3Download of {{ JobS3Uri }}",
    [] if s3.get("action") == "S3Download" and s3["inputs"][0]["source"] == "{{ JobS3Uri }}" else ["%r" % s3])
out("build.RunAgent runs the agent with --job", [] if re.search(r'"\$agent" run --job ', bash_of("build", "RunAgent")) else ["no run --job"])
v = bash_of("validate", "FinalReportAccepted")
out("validate checks the build's done record (written once the final report was accepted)",
    [] if "/var/lib/pib-agent/done/{{ BuildId }}" in v and "final_report_sha256" in v else ["no done record check"])
PY
while IFS=$'\t' read -r desc problems; do
	if [ -z "$problems" ]; then ok "Image Builder: $desc"; else fail "Image Builder: $desc" "$problems"; fi
done <"$T/ib.checks"
[ "$(wc -l <"$T/ib.checks")" -ge 11 ] || fail "the Image Builder checks ran" "$(cat "$T/ib.checks")"
# the shell of each ExecuteBash step, the parameters filled in: bash -n, and kept for later
"$SYSPY" - "$IB" "$T/ib" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for ph in doc["phases"]:
    for st in ph["steps"]:
        if st["action"] == "ExecuteBash":
            open("%s.%s.%s.sh" % (sys.argv[2], ph["name"], st["name"]), "w").write("\n".join(st["inputs"]["commands"]) + "\n")
PY
n=0
for f in "$T"/ib.*.sh; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	check "Image Builder: $(basename "$f" .sh | cut -d. -f2-) is valid bash" bash -n "$f"
done
[ "$n" -ge 3 ] || fail "Image Builder: three ExecuteBash steps or more" "found $n"

lap "Image Builder structure"
# ---------------------------------------------------------------- Packer (HCL2)
HCL2JSON=$TOOLS_DIR/hcl2json/hcl2json
if "$HCL2JSON" "$PK" "$PKVARS" >"$T/packer.json" 2>"$T/hcl.err"; then
	ok "Packer: pib-agent.pkr.hcl and variables.pkr.hcl parse as HCL2 (HashiCorp's hcl)"
else
	fail "Packer: pib-agent.pkr.hcl and variables.pkr.hcl parse as HCL2 (HashiCorp's hcl)" "$(cat "$T/hcl.err")"
fi
# the parser can fail: a provisioner block cut short
sed '$d' "$PK" >"$T/broken.pkr.hcl"
check_not "Packer: the parser refuses a copy with its last brace cut" "$HCL2JSON" "$T/broken.pkr.hcl"
"$SYSPY" - "$T/packer.json" "$PK" "$PKVARS" "$T/pk" >"$T/pk.checks" 2>&1 <<'PY'
import json, re, sys
def out(desc, problems):
    print("%s\t%s" % (desc, "; ".join(problems)))
try:
    j = json.load(open(sys.argv[1]))
    pk, pv = j[sys.argv[2]], j[sys.argv[3]]
except Exception as e:
    out("the parser's JSON is read", [str(e)]); sys.exit(0)
plug = ((pk.get("packer") or [{}])[0].get("required_plugins") or [{}])[0].get("amazon") or {}
out("required_plugins: amazon from github.com/hashicorp/amazon, with a version",
    [] if plug.get("source") == "github.com/hashicorp/amazon" and plug.get("version") else ["%r" % plug])
srcs = (pk.get("source") or {}).get("amazon-ebs") or {}
p = []
if len(srcs) != 1: p.append("amazon-ebs sources: %r" % list(srcs))
name, body = (list(srcs.items()) or [("", [{}])])[0]
body = body[0]
for k in ("region", "source_ami", "instance_type", "ssh_username", "ami_name"):
    if k not in body: p.append("no %s" % k)
mo = (body.get("metadata_options") or [{}])[0]
if mo.get("http_tokens") != "required": p.append("metadata_options.http_tokens is not required (IMDSv2)")
out('one source "amazon-ebs" with region, source_ami, instance_type, ssh_username, ami_name, IMDSv2 only', p)
b = (pk.get("build") or [{}])[0]
out("build uses that source", [] if b.get("sources") == ["source.amazon-ebs." + name] else ["%r" % b.get("sources")])
prov = b.get("provisioner") or {}
files = prov.get("file") or []
out("file provisioners upload the tarball and the job",
    [] if sorted(f.get("source") for f in files) == ["${var.agent_tarball}", "${var.job_file}"] else ["%r" % files])
shells = prov.get("shell") or []
allsh = ["\n".join(s.get("inline", [])) for s in shells]
out("a shell provisioner checks the SHA-256 before unpacking",
    [] if any(0 <= s.find("sha256sum") < s.find("tar -xf") and "$AGENT_SHA256" in s for s in allsh) else ["none"])
out("a shell provisioner runs the agent with --job, as root",
    [] if any(re.search(r'"\$agent" run --job ', s) and "sudo" in (sh.get("execute_command") or "")
              for s, sh in zip(allsh, shells)) else ["none"])
declared = set((pv.get("variable") or {}).keys())
used = set(re.findall(r"var\.([A-Za-z0-9_]+)", open(sys.argv[2]).read()))
out("every var.X used is declared in variables.pkr.hcl", ["undeclared: %s" % sorted(used - declared)] if used - declared else [])
out("every declared variable is used", ["unused: %s" % sorted(declared - used)] if declared - used else [])
# each shell provisioner's script as Packer writes it: $${ is ${, variables given
for k, (s, sh) in enumerate(zip(allsh, shells)):
    s = s.replace("$${", "${")
    open("%s.%d.sh" % (sys.argv[4], k), "w").write("#!%s\n%s\n" % (sh.get("inline_shebang", "/bin/sh -e"), s))
    env = [re.sub(r"\$\{var\.([A-Za-z0-9_]+)\}", r"@\1@", e) for e in sh.get("environment_vars", [])]
    open("%s.%d.env" % (sys.argv[4], k), "w").write("\n".join(env) + "\n")
PY
while IFS=$'\t' read -r desc problems; do
	if [ -z "$problems" ]; then ok "Packer: $desc"; else fail "Packer: $desc" "$problems"; fi
done <"$T/pk.checks"
[ "$(wc -l <"$T/pk.checks")" -ge 8 ] || fail "the Packer checks ran" "$(cat "$T/pk.checks")"
for f in "$T"/pk.*.sh; do
	[ -e "$f" ] || continue
	check "Packer: shell provisioner $(basename "$f" .sh | cut -d. -f2) is valid sh" sh -n "$f"
done

lap "Packer structure"
# ---------------------------------------------------------------- the agent's command lines
# every `pib-agent ...` in backquotes and every "$agent" ... line in the three, checked against
# --help and by the agent's own parser (ARGS --help exits 0 only when every option applies)
"$SYSPY" - "$TEMPLATE" "$T"/ib.*.sh "$T"/pk.*.sh "$IB" "$PK" >"$T/cmdlines" <<'PY'
import json, re, shlex, sys
seen = []
for f in sys.argv[1:]:
    text = open(f).read()
    # the .yml and .hcl whole: only `pib-agent ...` in backquotes (their scripts are the .sh files)
    lines = [] if f.endswith((".yml", ".hcl")) else re.findall(r'"\$agent"\s+([^\n]*)', text)
    lines += re.findall(r"`pib-agent\s+([^`]*)`", text)
    for l in lines:
        try:
            toks = shlex.split(l, comments=True)
        except ValueError:
            toks = l.split()
        argv = []
        for t in toks:
            if t in ("||", "&&", "|", ";", ")", ">", "2>") or t.startswith((">", "2>")):
                break
            argv.append("X" if "$" in t else t)
        seen.append((f.split("/")[-1], argv))
for f, argv in seen:
    print(f + "\t" + json.dumps(argv))
PY
n=0
while IFS=$'\t' read -r file argv; do
	n=$((n + 1))
	problems=$("$SYSPY" - "$T" "$argv" <<'PY'
import json, re, sys
t, argv = sys.argv[1], json.loads(sys.argv[2])
top = open(t + "/help.top").read()
cmds = re.findall(r"^  ([a-z]+) ", top.split("Commands:")[1].split("\n\n")[0], re.M)
if not argv:
    print("empty"); sys.exit()
if argv[0].startswith("-"):
    print("" if argv == ["--version"] or argv == ["--help"] else "not a command: %s" % argv[0]); sys.exit()
if argv[0] not in cmds:
    print("no command %r (the CLI has %s)" % (argv[0], " ".join(cmds))); sys.exit()
opts = dict(re.findall(r"^  --([a-z-]+)( [^ ]+)?", open(t + "/help." + argv[0]).read(), re.M))
i, p = 1, []
while i < len(argv):
    a = argv[i]
    if a.startswith("--"):
        name = a[2:].split("=")[0]
        if name not in opts:
            p.append("%s %s: no such option" % (argv[0], a))
        elif opts[name] and "=" not in a:
            i += 1
            if i >= len(argv): p.append("%s: its value is missing" % a)
    i += 1
print("; ".join(p))
PY
)
	# the agent's own parser: the same line with --help appended (X for a shell expansion)
	mapfile -t args < <("$SYSPY" -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])))' "$argv")
	if [ "${args[0]}" = --version ]; then
		"$PIB_AGENT" --version >/dev/null 2>"$T/cl.err"
	else
		"$PIB_AGENT" "${args[@]}" --help >/dev/null 2>"$T/cl.err"
	fi
	prc=$?
	[ "$prc" = 0 ] || problems="$problems; the agent's parser says (exit $prc): $(head -c 300 "$T/cl.err")"
	desc="$file: pib-agent ${args[*]} is a command line of the agent's CLI"
	if [ -z "$problems" ]; then ok "$desc"; else fail "$desc" "$problems"; fi
done <"$T/cmdlines"
[ "$n" -ge 6 ] || fail "the command lines were found in the three files" "$(cat "$T/cmdlines")"
has_line "user-data: the agent runs as pib-agent run --job imds" "$(grep '^pib-agent-inject.sh' "$T/cmdlines" | cut -f2)" '["run", "--job", "imds"]'
contains "Image Builder: the agent runs as pib-agent run --job FILE" "$(grep '^ib\.build\.RunAgent' "$T/cmdlines")" '["run", "--job", "X"]'
contains "Packer: the agent runs as pib-agent run --job FILE" "$(grep '^pk\.' "$T/cmdlines")" '["run", "--job", "X"]'
# and a made-up option or command is caught by the same two checks
check_not "the parser check catches an option the CLI does not have" "$PIB_AGENT" run --job X --no-such-option --help
check_not "the parser check catches an option of another command" "$PIB_AGENT" run --job X --pubkey K --help

lap "command lines"
# ---------------------------------------------------------------- the tarball: portable.sh's, else a stand-in
# standin DIR NAME: a tree NAME/bin/pib-agent that execs the agent under test, as DIR/NAME.tar.gz
standin() {
	mkdir -p "$1/st/$2/bin"
	printf '#!/bin/sh\nexec %s "$@"\n' "$PIB_AGENT" >"$1/st/$2/bin/pib-agent"
	chmod 755 "$1/st/$2/bin/pib-agent"
	tar -C "$1/st" -czf "$1/$2.tar.gz" "$2"
	rm -rf "$1/st"
}
if [ -x "$PKG/portable.sh" ]; then
	CACHE=/var/tmp/pib-inject-portable
	# made again when portable.sh, its files or the agent's sources change (not on every commit,
	# nor between the plain and ASan runs of the suite, whose PIB_AGENT differ)
	src=(agent base manifests installers scanners meson.build)
	key=$( (cat "$PKG/portable.sh"; find "$PKG/portable" -type f -exec cat {} + 2>/dev/null
		git -C "$REPO_DIR" ls-files -s -- "${src[@]}"; git -C "$REPO_DIR" diff -- "${src[@]}") |
		sha256sum | cut -d' ' -f1)
	mkdir -p "$CACHE"
	(
		flock 9
		if [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$key" ] || [ ! -s "$CACHE/tarball" ]; then
			rm -f "$CACHE"/*.tar.gz "$CACHE/stamp" "$CACHE/tarball"
			out=$("$PKG/portable.sh" "$CACHE" "$ARCH" 2>"$CACHE/build.log" | tail -n 1) &&
				[ -f "$out" ] && printf '%s\n' "$out" >"$CACHE/tarball" && echo "$key" >"$CACHE/stamp"
		fi
	) 9>"$CACHE.lock"
	TARBALL=$(cat "$CACHE/tarball" 2>/dev/null)
	if [ -f "$TARBALL" ]; then
		ok "packaging/portable.sh made the agent tarball (cached in $CACHE)"
	else
		fail "packaging/portable.sh made the agent tarball (cached in $CACHE)" "$(tail -n 20 "$CACHE/build.log" 2>/dev/null)"
		diag "the rest runs with a stand-in tree"
		standin "$T" "pib-agent-0.0.0-$ARCH"
		TARBALL=$T/pib-agent-0.0.0-$ARCH.tar.gz
	fi
else
	standin "$T" "pib-agent-0.0.0-$ARCH"
	TARBALL=$T/pib-agent-0.0.0-$ARCH.tar.gz
	diag "packaging/portable.sh is not there yet: a stand-in tree whose bin/pib-agent execs $PIB_AGENT"
fi
TARNAME=$(basename "$TARBALL")
cp "$TARBALL" "$T/srv/bundles/$TARNAME"
AGENT_SHA=$(sha256sum "$TARBALL" | cut -d' ' -f1)
standin "$T" "pib-agent-0.0.0-notthisarch"
cp "$T/pib-agent-0.0.0-notthisarch.tar.gz" "$T/srv/bundles/"

lap "the tarball"
# ---------------------------------------------------------------- servers
orch_start
GOOD=$ORCH
AGENT_URL=$GOOD/bundles/$TARNAME
# the orchestrator again, with a certificate of another CA
"$PYTHON" "$TOOLS_DIR/orchestrator.py" --cert "$T/pki/other-server.pem" --key "$T/pki/other-server.key" \
	--bundles "$T/srv/bundles" --reports "$T/srv/reports" --log "$T/orch-other.log" \
	--port-file "$T/orch-other.port" >"$T/orch-other.out" 2>&1 &
RUN_PIDS+=("$!")
OTHER=https://127.0.0.1:$(wait_port "$T/orch-other.port") || bail_out "the second orchestrator did not start"
printf '{"instanceId": "i-0123456789abcdef0", "region": "eu-west-1", "architecture": "%s"}' "$ARCH" >"$T/iid.json"
printf 'c2lnbmF0dXJl' >"$T/iid.sig"
: >"$T/ud.current"
"$PYTHON" "$TOOLS_DIR/imds.py" --port-file "$T/imds.port" --log "$T/imds.log" --user-data "$T/ud.current" \
	--document "$T/iid.json" --signature "$T/iid.sig" >"$T/imds.out" 2>&1 &
RUN_PIDS+=("$!")
IMDS=http://127.0.0.1:$(wait_port "$T/imds.port") || bail_out "the IMDS stand-in did not start"
: >"$T/imds.log"

# the job's bundle: bytes that are not the job's digest, so the run ends after fetch
head -c 4096 /dev/urandom >"$T/srv/bundles/not-the-bundle.tar.gz"
# shellcheck disable=SC2034 # mkjob's
BUNDLE_URL=$GOOD/bundles/not-the-bundle.tar.gz
# shellcheck disable=SC2034 # mkjob's
BUNDLE_SHA=$(printf '%064d' 0)

# ---------------------------------------------------------------- make-user-data.py
KEY_JSON=$("$PYTHON" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/agent.key")
job_for() { # job_for BUILD_ID: $T/job.BUILD_ID.json, the signing key inline as in real user-data
	mkjob "$T/job.$1.json" "$1" "{\"signing_key\": {\"path\": null, \"pem\": $KEY_JSON}}"
}
job_for b-inject-ud
"$SYSPY" "$MKUD" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.b-inject-ud.json" \
	--ca "$T/pki/ca.pem" >"$T/ud" 2>"$T/mkud.err"
is "make-user-data.py: exit 0" "$?" 0
size=$(wc -c <"$T/ud")
check "the user-data (a job with an inline key, and a CA) is under EC2's limit: $size < $UD_MAX bytes" test "$size" -lt "$UD_MAX"
"$SYSPY" "$MKUD" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.b-inject-ud.json" \
	--ca "$T/pki/ca.pem" --output "$T/ud.again" 2>/dev/null
check "the same inputs make the same bytes (--output FILE)" cmp "$T/ud" "$T/ud.again"
"$SYSPY" - "$T/ud" "$T/job.b-inject-ud.json" "$TEMPLATE" "$AGENT_URL" "$AGENT_SHA" "$T/pki/ca.pem" "$T/part.ud.sh" >"$T/mime.checks" 2>&1 <<'PY'
import email, email.policy, re, sys
ud, job, tpl, url, sha, ca, part_out = sys.argv[1:8]
raw = open(ud, "rb").read()
def out(desc, problems):
    print("%s\t%s" % (desc, "; ".join(problems)))
out("it starts with its MIME headers (no comment line before), MIME-Version in the first 4096 bytes",
    [] if raw.startswith(b"Content-Type: multipart/mixed;") and b"MIME-Version: 1.0" in raw[:4096] else ["%r" % raw[:80]])
m = email.message_from_bytes(raw, policy=email.policy.compat32)
leaves = [p for p in m.walk() if not p.is_multipart()]
out("a multipart/mixed of two parts: text/x-shellscript, then application/vnd.pib-agent.job+json",
    [] if m.get_content_type() == "multipart/mixed" and [p.get_content_type() for p in leaves]
    == ["text/x-shellscript", "application/vnd.pib-agent.job+json"] and not m.defects else
    ["%s %r %r" % (m.get_content_type(), [p.get_content_type() for p in leaves], m.defects)])
b = m.get_boundary() or ""
out("its boundary is 1 to 70 characters", [] if 0 < len(b) <= 70 else ["%r" % b])
if len(leaves) == 2:
    got_job = leaves[1].get_payload(decode=True)
    out("the job part is the job, byte for byte", [] if got_job.rstrip(b"\n") == open(job, "rb").read().rstrip(b"\n") else ["differs"])
    script = leaves[0].get_payload(decode=True).decode("ascii")
    want = open(tpl).read().replace("@AGENT_URL@", url).replace("@AGENT_SHA256@", sha).replace(
        "@AGENT_CA@", open(ca).read().strip())
    out("the shell part is the template with the URL, SHA-256 and CA filled in",
        [] if script == want else ["differs from the filled-in template"])
    out("no placeholder is left", [] if "@AGENT_" not in script else ["placeholder left"])
    open(part_out, "w").write(script)
PY
while IFS=$'\t' read -r desc problems; do
	if [ -z "$problems" ]; then ok "user-data: $desc"; else fail "user-data: $desc" "$problems"; fi
done <"$T/mime.checks"
[ "$(wc -l <"$T/mime.checks")" -ge 6 ] || fail "the MIME checks ran" "$(cat "$T/mime.checks")"

# a pre-signed bundle URL longer than a mail line: still fits, and the job part says binary
mkjob "$T/job.long.json" b-inject-long "{\"bundle\": {\"url\": \"$GOOD/bundles/x?$(head -c 1500 /dev/zero | tr '\0' a)\"}}"
"$SYSPY" - "$T/job.long.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); open(sys.argv[1], "w").write(json.dumps(j))  # one long line
PY
"$SYSPY" "$MKUD" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.long.json" >"$T/ud.long" 2>&1
is "a job on one line of over 1500 bytes: exit 0" "$?" 0
contains "its part says Content-Transfer-Encoding: binary (over 998 bytes a line)" "$(cat "$T/ud.long")" "Content-Transfer-Encoding: binary"

# refusals: nothing written
mkjob "$T/job.big.json" b-inject-big "{\"bundle\": {\"url\": \"$GOOD/bundles/$(head -c 16000 /dev/zero | tr '\0' b)\"}}"
rm -f "$T/ud.big"
"$SYSPY" "$MKUD" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.big.json" --output "$T/ud.big" 2>"$T/mkud.err"
rc=$?
check "user-data over $UD_MAX bytes: refused (exit $rc), nothing written" test "$rc" != 0 -a ! -e "$T/ud.big"
contains "it says the size and EC2's limit" "$(cat "$T/mkud.err")" "over EC2's limit of 16384"
refused() { # refused DESC ARGS...: make-user-data.py exits non-zero and prints nothing on stdout
	local out rc
	out=$("$SYSPY" "$MKUD" "$@" 2>"$T/mkud.err")
	rc=$?
	if [ "$rc" != 0 ] && [ -z "$out" ]; then ok "$1"; else fail "$1" "exit $rc, stdout ${#out} bytes"; fi
}
printf '[1, 2]' >"$T/job.array.json"
printf '{"build_id": ' >"$T/job.cut.json"
refused "an http:// agent URL is refused" --agent-url "http://127.0.0.1/$TARNAME" --agent-sha256 "$AGENT_SHA" --job "$T/job.b-inject-ud.json"
refused "an agent URL with a quote is refused" --agent-url "$AGENT_URL'x" --agent-sha256 "$AGENT_SHA" --job "$T/job.b-inject-ud.json"
refused "a SHA-256 of 63 digits is refused" --agent-url "$AGENT_URL" --agent-sha256 "${AGENT_SHA:1}" --job "$T/job.b-inject-ud.json"
refused "a job that is not JSON is refused" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.cut.json"
refused "a job that is not an object is refused" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.array.json"
refused "a CA file that is not PEM is refused" --agent-url "$AGENT_URL" --agent-sha256 "$AGENT_SHA" --job "$T/job.b-inject-ud.json" --ca "$T/job.cut.json"

# the agent under test reads the job from that user-data (IMDSv2), into a throwaway root
mkdir -p "$T/root-direct/etc" "$T/state-direct"
cp /etc/os-release "$T/root-direct/etc/"
cp "$T/ud" "$T/ud.current"
AWS_EC2_METADATA_SERVICE_ENDPOINT=$IMDS timeout 120 "$PIB_AGENT" run --job imds --root "$T/root-direct" \
	--state-dir "$T/state-direct" --report "$T/direct.json" </dev/null >/dev/null 2>"$T/direct.err"
rc=$?
check_not "the agent reads the generated user-data: no job.invalid or job.not_found" grep -Eq 'job\.(invalid|not_found)|imds\.' "$T/direct.err"
is "it ran the job: build b-inject-ud, the job from the user-data" \
	"$(rep build_id "$T/direct.json") $(rep 'steps[name=configure].job' "$T/direct.json")" "b-inject-ud EC2 user-data (IMDSv2)"
is "and stopped at the job's wrong bundle digest, as meant (exit 2)" "$rc $(rep error.code "$T/direct.json")" "2 fetch.digest_mismatch"

lap "make-user-data.py"
# ---------------------------------------------------------------- the shell part, for real
# run in a private mount namespace: /var/lib and /var/tmp are overlays on a tmpfs, so the
# agent's state (/var/lib/pib-agent) and the fixed folders of the Image Builder and Packer
# steps stay there; what the agent left in /var/lib/pib-agent is copied out.
cat >"$T/ns.sh" <<'EOF'
#!/bin/sh
# ns.sh OUT CMD...: runs CMD (with PATH=$CASE_PATH) in this mount namespace's overlays
out=$1
shift
mount -t tmpfs -o mode=0700 pib-inject "$NS_OV" || exit 90
for dir in /var/lib /var/tmp; do
	n=$(echo "$dir" | tr / _)
	mkdir "$NS_OV/up$n" "$NS_OV/work$n" || exit 91
	mount -t overlay overlay -o "lowerdir=$dir,upperdir=$NS_OV/up$n,workdir=$NS_OV/work$n" "$dir" || exit 92
done
PATH=$CASE_PATH "$@"
rc=$?
[ -d /var/lib/pib-agent ] && cp -a /var/lib/pib-agent "$out"
[ -e /var/tmp/pib-agent-inject ] && touch "$out.inject-dir-left"
exit $rc
EOF
chmod 755 "$T/ns.sh"
mkdir -p "$T/ns-ov" "$T/inj-tmp" "$T/bin-bb" "$T/bin-nocurl"
busybox --install -s "$T/bin-bb" 2>/dev/null || bail_out "busybox --install failed"
cp -s /usr/sbin/* /usr/bin/* "$T/bin-nocurl/" 2>/dev/null
rm -f "$T/bin-nocurl/curl"
if [ ! -x "$T/bin-nocurl/wget" ] || [ ! -x "$T/bin-nocurl/sha256sum" ]; then
	bail_out "no GNU wget (apt-get install wget)"
fi
[ -z "$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v pib-agent)" ] || bail_out "a pib-agent on PATH would hide which one ran"

# in_ns NAME PATH CMD...: CMD in the namespace with TMPDIR=$T/inj-tmp and IMDS; RC, $T/err.NAME
in_ns() {
	local name=$1 path=$2
	shift 2
	rm -rf "$T/state.$name" "$T/state.$name.inject-dir-left"
	env -u http_proxy -u https_proxy -u HTTPS_PROXY -u ALL_PROXY CASE_PATH="$path" NS_OV="$T/ns-ov" \
		TMPDIR="$T/inj-tmp" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" \
		timeout -k 5 300 unshare --mount --propagation private "$T/ns.sh" "$T/state.$name" "$@" \
		</dev/null >"$T/out.$name" 2>"$T/err.$name"
	RC=$?
	diag "$name: exit $RC"
}

# ud_case NAME URL SHA [--ca FILE]: user-data for build b-inject-NAME, served by IMDS; its shell part
ud_case() {
	local name=$1 url=$2 sha=$3
	shift 3
	job_for "b-inject-$name"
	"$SYSPY" "$MKUD" --agent-url "$url" --agent-sha256 "$sha" --job "$T/job.b-inject-$name.json" "$@" \
		>"$T/ud.$name" || bail_out "make-user-data.py failed for $name"
	cp "$T/ud.$name" "$T/ud.current"
	"$SYSPY" -c 'import email,sys; m=email.message_from_bytes(open(sys.argv[1],"rb").read())
[open(sys.argv[2],"wb").write(p.get_payload(decode=True)) for p in m.walk() if p.get_content_type()=="text/x-shellscript"]' \
		"$T/ud.$name" "$T/part.$name.sh"
}

n_imds() { wc -l <"$T/imds.log"; }
# the orchestrator's log (one JSON object a line, keys sorted) read with grep: python starts slowly
n_posts() { cat "$T/orch.log" 2>/dev/null | grep -cF '"method": "POST"'; }
tarball_gets() {
	cat "$T/orch.log" 2>/dev/null | grep -F '"method": "GET"' | grep -F "\"path\": \"/bundles/$1\"" | grep -cF '"status": 200'
}

# ran_ok NAME: the agent ran from the tarball, read the job from IMDS, delivered its final report
ran_ok() {
	local name=$1 b=b-inject-$1
	is "$name: the shell part exits with the agent's exit code (2: the job's bundle digest is wrong on purpose)" "$RC" 2
	check_not "$name: no error of the shell part itself" grep -q '^pib-agent-inject:' "$T/err.$name"
	is "$name: the agent read the job from the user-data and delivered the final report (accepted once)" "$(accepted "$b:final")" 1
	received_report "$b:final" "$T/final.$name.json"
	is "$name: the final report: its build, the job from IMDS, stopped at fetch.digest_mismatch" \
		"$(rep build_id "$T/final.$name.json") | $(rep 'steps[name=configure].job' "$T/final.$name.json") | $(rep error.code "$T/final.$name.json")" \
		"$b | EC2 user-data (IMDSv2) | fetch.digest_mismatch"
	check "$name: the agent recorded the build as done" test -s "$T/state.$name/done/$b"
	is "$name: the private folder is gone, nothing left in TMPDIR" "$(ls -A "$T/inj-tmp")" ""
}

# refused_case NAME CODE WORDS: the shell part refused with CODE before any agent ran
refused_case() {
	local name=$1
	is "$name: exit $2" "$RC" "$2"
	contains "$name: it says why" "$(cat "$T/err.$name")" "$3"
	is "$name: nothing unpacked, nothing left in TMPDIR" "$(ls -A "$T/inj-tmp")" ""
	is "$name: the agent never ran (no IMDS request, no report)" "$(n_imds) $(n_posts)" "$IMDS_BEFORE $POSTS_BEFORE"
}
before() { IMDS_BEFORE=$(n_imds); POSTS_BEFORE=$(n_posts); GETS_BEFORE=$(tarball_gets "$TARNAME"); }

# (a) the right SHA-256: dash + curl, busybox sh + curl, dash + GNU wget
ud_case dash "$AGENT_URL" "$AGENT_SHA" --ca "$T/pki/ca.pem"
g0=$(tarball_gets "$TARNAME")
in_ns dash /usr/sbin:/usr/bin:/sbin:/bin /bin/dash "$T/part.dash.sh"
ran_ok dash
is "dash: the tarball was fetched once" "$(($(tarball_gets "$TARNAME") - g0))" 1

ud_case busybox "$AGENT_URL" "$AGENT_SHA" --ca "$T/pki/ca.pem"
in_ns busybox /usr/sbin:/usr/bin:/sbin:/bin busybox sh "$T/part.busybox.sh"
ran_ok busybox

ud_case wget "$AGENT_URL" "$AGENT_SHA" --ca "$T/pki/ca.pem"
g0=$(tarball_gets "$TARNAME")
in_ns wget "$T/bin-nocurl" /bin/dash "$T/part.wget.sh"
ran_ok wget
is "wget: the tarball was fetched once (no curl on PATH: by GNU wget)" "$(($(tarball_gets "$TARNAME") - g0))" 1

# busybox alone (its wget checks no certificate): refused before any download
ud_case bbonly "$AGENT_URL" "$AGENT_SHA" --ca "$T/pki/ca.pem"
before
in_ns bbonly "$T/bin-bb" busybox sh "$T/part.bbonly.sh"
refused_case bbonly 6 "neither curl nor GNU wget"
is "bbonly: nothing was downloaded" "$(tarball_gets "$TARNAME")" "$GETS_BEFORE"

# (b) a wrong SHA-256 (dash and busybox sh): downloaded, refused, nothing unpacked
for sh in dash busybox; do
	ud_case "badsha-$sh" "$AGENT_URL" "$(printf '%s' "$AGENT_SHA" | tr 0-9a-f 1-9a-f0)" --ca "$T/pki/ca.pem"
	before
	if [ "$sh" = dash ]; then shell=(/bin/dash); else shell=(busybox sh); fi
	in_ns "badsha-$sh" /usr/sbin:/usr/bin:/sbin:/bin "${shell[@]}" "$T/part.badsha-$sh.sh"
	refused_case "badsha-$sh" 8 "refused, nothing unpacked"
	is "badsha-$sh: the tarball was downloaded, then refused" "$(($(tarball_gets "$TARNAME") - GETS_BEFORE))" 1
done

# (c) certificates: the server's from another CA; no --ca (the test CA is not in this machine's store)
ud_case othercert "$OTHER/bundles/$TARNAME" "$AGENT_SHA" --ca "$T/pki/ca.pem"
before
in_ns othercert /usr/sbin:/usr/bin:/sbin:/bin /bin/dash "$T/part.othercert.sh"
refused_case othercert 7 "the download of the agent failed"
is "othercert: the server sent no tarball" "$(cat "$T/orch-other.log" 2>/dev/null | grep -c '"status": 200')" 0
ud_case othercert-wget "$OTHER/bundles/$TARNAME" "$AGENT_SHA" --ca "$T/pki/ca.pem"
before
in_ns othercert-wget "$T/bin-nocurl" /bin/dash "$T/part.othercert-wget.sh"
refused_case othercert-wget 7 "the download of the agent failed"
ud_case noca "$AGENT_URL" "$AGENT_SHA"
before
in_ns noca /usr/sbin:/usr/bin:/sbin:/bin /bin/dash "$T/part.noca.sh"
refused_case noca 7 "the download of the agent failed"
is "noca: no tarball was sent" "$(tarball_gets "$TARNAME")" "$GETS_BEFORE"

# a tarball for another architecture: refused after the digest, before running
NA=pib-agent-0.0.0-notthisarch.tar.gz
ud_case arch "$GOOD/bundles/$NA" "$(sha256sum "$T/$NA" | cut -d' ' -f1)" --ca "$T/pki/ca.pem"
before
in_ns arch /usr/sbin:/usr/bin:/sbin:/bin /bin/dash "$T/part.arch.sh"
refused_case arch 9 "is not for this machine ($ARCH)"

lap "the shell part"
# ---------------------------------------------------------------- Image Builder's and Packer's steps, for real
# the same machinery: parameters filled in, S3Download played by a copy, curl trusting the test
# CA through CURL_CA_BUNDLE (those steps use the image's CA store)
fill() { # fill IN OUT KEY=VALUE...: {{ KEY }} and @KEY@ replaced
	local in=$1 out=$2
	shift 2
	"$SYSPY" - "$in" "$out" "$@" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    s = re.sub(r"\{\{\s*%s\s*\}\}" % k, lambda m: v, s).replace("@%s@" % k, v)
open(sys.argv[2], "w").write(s)
PY
}
job_for b-inject-ib
P=(AgentUrl="$AGENT_URL" AgentSha256="$AGENT_SHA" BuildId=b-inject-ib)
for s in build.FetchAgent build.RunAgent validate.FinalReportAccepted; do
	fill "$T/ib.$s.sh" "$T/ibrun.$s.sh" "${P[@]}"
done
cat >"$T/ib-all.sh" <<EOF
#!/bin/bash
# the component as AWSTOE runs it: each step a bash script, stopping at the first failure
bash "$T/ibrun.build.FetchAgent.sh" || exit 11
cp "$T/job.b-inject-ib.json" /var/tmp/pib-agent-inject/job.json || exit 12  # GetJob (S3Download)
bash "$T/ibrun.build.RunAgent.sh"; echo "RunAgent: \$?"
bash "$T/ibrun.validate.FinalReportAccepted.sh"; echo "FinalReportAccepted: \$?"
EOF
CURL_CA_BUNDLE=$T/pki/ca.pem in_ns ib /usr/sbin:/usr/bin:/sbin:/bin bash "$T/ib-all.sh"
has_line "Image Builder: RunAgent ends with the agent's exit code (2, as meant)" "$(cat "$T/out.ib")" "RunAgent: 2"
is "Image Builder: the final report was accepted once" "$(accepted b-inject-ib:final)" 1
has_line "Image Builder: validate finds the build's done record (exit 0)" "$(cat "$T/out.ib")" "FinalReportAccepted: 0"
check_not "Image Builder: the agent's folder was removed" test -e "$T/state.ib.inject-dir-left"
# a wrong SHA-256: FetchAgent fails, the folder is removed, validate fails
fill "$T/ib.build.FetchAgent.sh" "$T/ibrun.build.FetchAgent.sh" AgentUrl="$AGENT_URL" AgentSha256="$(printf %064d 7)" BuildId=b-inject-ib2
fill "$T/ib.validate.FinalReportAccepted.sh" "$T/ibrun.validate.FinalReportAccepted.sh" BuildId=b-inject-ib2
cat >"$T/ib-bad.sh" <<EOF
#!/bin/bash
bash "$T/ibrun.build.FetchAgent.sh"; echo "FetchAgent: \$?"
bash "$T/ibrun.validate.FinalReportAccepted.sh"; echo "FinalReportAccepted: \$?"
EOF
before
CURL_CA_BUNDLE=$T/pki/ca.pem in_ns ib-bad /usr/sbin:/usr/bin:/sbin:/bin bash "$T/ib-bad.sh"
has_line "Image Builder: a wrong SHA-256 fails FetchAgent" "$(cat "$T/out.ib-bad")" "FetchAgent: 1"
contains "Image Builder: it says the SHA-256 was refused" "$(cat "$T/err.ib-bad")" "refused"
check_not "Image Builder: the refused tarball's folder was removed" test -e "$T/state.ib-bad.inject-dir-left"
has_line "Image Builder: validate fails when the build has no done record" "$(cat "$T/out.ib-bad")" "FinalReportAccepted: 1"
is "Image Builder: no agent ran" "$(n_imds) $(n_posts)" "$IMDS_BEFORE $POSTS_BEFORE"

# Packer: the file provisioners played by copies into the upload folder, the shell ones run as
# Packer writes them (the environment_vars given, /tmp/pib-agent-upload moved under $T)
job_for b-inject-pk
pk_run() { # pk_run NAME SHA: all provisioners; prints "provisioner K: EXIT" lines
	local k f
	{
		echo '#!/bin/bash'
		for f in "$T"/pk.*.sh; do
			k=$(basename "$f" .sh | cut -d. -f2)
			fill "$f" "$T/pkrun.$k.sh" && sed -i "s#/tmp/pib-agent-upload#$T/upload#g" "$T/pkrun.$k.sh"
			chmod 755 "$T/pkrun.$k.sh"
			if [ "$k" = 1 ]; then
				echo "cp '$TARBALL' '$T/upload/pib-agent.tar.gz' && cp '$T/job.b-inject-pk.json' '$T/upload/job.json' || exit 12"
			fi
			fill "$T/pk.$k.env" "$T/pkrun.$k.env" agent_sha256="$2" build_id=b-inject-pk
			echo "env $(tr '\n' ' ' <"$T/pkrun.$k.env") '$T/pkrun.$k.sh'; rc=\$?; echo \"provisioner $k: \$rc\"; [ \$rc = 0 ] || exit \$rc"
		done
	} >"$T/pk-all.sh"
	in_ns "$1" /usr/sbin:/usr/bin:/sbin:/bin bash "$T/pk-all.sh"
}
pk_run pk "$AGENT_SHA"
has_line "Packer: the SHA-256 provisioner passes" "$(cat "$T/out.pk")" "provisioner 1: 0"
has_line "Packer: the run provisioner ends with the agent's exit code (2, as meant)" "$(cat "$T/out.pk")" "provisioner 2: 2"
is "Packer: the final report was accepted once" "$(accepted b-inject-pk:final)" 1
check "Packer: the build's done record is there" test -s "$T/state.pk/done/b-inject-pk"
check_not "Packer: the agent's folder was removed" test -e "$T/state.pk.inject-dir-left"
check_not "Packer: the upload folder was removed" test -e "$T/upload"
before
pk_run pk-bad "$(printf %064d 7)"
has_line "Packer: a wrong SHA-256 fails its provisioner" "$(cat "$T/out.pk-bad")" "provisioner 1: 1"
check_not "Packer: the refused tarball's folder was removed" test -e "$T/state.pk-bad.inject-dir-left"
is "Packer: no agent ran" "$(n_imds) $(n_posts)" "$IMDS_BEFORE $POSTS_BEFORE"

lap "Image Builder and Packer steps"
done_testing
