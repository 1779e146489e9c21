#!/bin/bash
# SPDX-License-Identifier: MIT
# The test tools test themselves: mkbundle.py writes the members it claims (evil ones
# included, checked with Python's own readers and the real tar/zstd/unzip), report.py
# reads the same predicate from all three report forms, and snap.py sees every kind of
# change. Needs neither the agent nor root.
. "$(dirname "$0")/lib.sh"
setup --no-agent

HELLO=debs/hello_2.10-3_amd64.deb
HELLO_SHA=$(sha256_of "$DEB_HELLO")

# members ARCHIVE: "name<TAB>type<TAB>linkname<TAB>size" per member, via Python's readers.
members() {
	"$PYTHON" - "$1" <<'EOF'
import stat, subprocess, sys, tarfile, zipfile, io
p = sys.argv[1]
if p.endswith(".zip"):
    for zi in zipfile.ZipFile(p).infolist():
        mode = zi.external_attr >> 16
        t = "l" if stat.S_ISLNK(mode) else "d" if zi.is_dir() else "f"
        link = zipfile.ZipFile(p).read(zi).decode() if t == "l" else ""
        print(f"{zi.filename}\t{t}\t{link}\t{zi.file_size}")
else:
    if p.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", p], check=True, capture_output=True).stdout
        tf = tarfile.open(fileobj=io.BytesIO(data))
    else:
        tf = tarfile.open(p)
    for m in tf:
        t = {tarfile.SYMTYPE: "l", tarfile.LNKTYPE: "h", tarfile.DIRTYPE: "d"}.get(m.type, "f")
        print(f"{m.name}\t{t}\t{m.linkname}\t{m.size}")
EOF
}

# manifest_of ARCHIVE: the first manifest.json member's bytes.
manifest_of() {
	"$PYTHON" - "$1" <<'EOF'
import subprocess, sys, tarfile, zipfile, io
p = sys.argv[1]
if p.endswith(".zip"):
    z = zipfile.ZipFile(p)
    name = next(n for n in z.namelist() if n.lstrip("./") == "manifest.json" or n == "./manifest.json")
    sys.stdout.write(z.read(name).decode())
else:
    if p.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", p], check=True, capture_output=True).stdout
        tf = tarfile.open(fileobj=io.BytesIO(data))
    else:
        tf = tarfile.open(p)
    m = next(m for m in tf if m.name in ("manifest.json", "./manifest.json"))
    sys.stdout.write(tf.extractfile(m).read().decode())
EOF
}

for fmt in tar.gz tar.zst zip; do
	b=$T/good.$fmt
	mkbundle "$b" --deb "$DEB_HELLO"
	l=$(members "$b")
	is "$fmt: members are manifest.json then the package" "$(cut -f1,2 <<<"$l" | tr '\t\n' ': ')" \
		"manifest.json:f $HELLO:f "
	m=$(manifest_of "$b")
	is "$fmt: the manifest lists the package's real SHA-256" \
		"$("$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["targets"][0]["packages"][0]["sha256"])' <<<"$m")" \
		"$HELLO_SHA"
	if grep -q '_src' <<<"$m"; then fail "$fmt: no _src key leaks into the manifest"; else ok "$fmt: no _src key leaks into the manifest"; fi
done
check "tar.gz: the real tar reads it" tar -tzf "$T/good.tar.gz"
check "tar.zst: the real zstd and tar read it" sh -c "zstd -dc '$T/good.tar.zst' | tar -t"
check "zip: the real unzip reads it" unzip -tq "$T/good.zip"

b=$T/evil.tar.gz
mkbundle "$b" --deb "$DEB_HELLO" --text ../x=a --text /etc/x=b --symlink link=/etc/passwd \
	--symlink up=../../x --hardlink hl=/etc/passwd --dup "$HELLO" --text extra.txt=c
l=$(members "$b")
has_line "tar: member ../x kept as is" "$l" $'../x\tf\t\t1'
has_line "tar: member /etc/x kept absolute" "$l" $'/etc/x\tf\t\t1'
has_line "tar: symlink link -> /etc/passwd" "$l" $'link\tl\t/etc/passwd\t0'
has_line "tar: symlink up -> ../../x" "$l" $'up\tl\t../../x\t0'
has_line "tar: hardlink hl -> /etc/passwd" "$l" $'hl\th\t/etc/passwd\t0'
is "tar: the package appears twice" "$(grep -c "^$HELLO	f" <<<"$l")" 2
has_line "tar: unlisted extra.txt" "$l" $'extra.txt\tf\t\t1'

b=$T/evil.zip
mkbundle "$b" --deb "$DEB_HELLO" --text ../x=a --symlink "$HELLO=/etc/passwd" --omit "$HELLO"
l=$(members "$b")
has_line "zip: member ../x kept as is" "$l" $'../x\tf\t\t1'
has_line "zip: the package is a symlink to /etc/passwd" "$l" $'debs/hello_2.10-3_amd64.deb\tl\t/etc/passwd\t11'

b=$T/omit.tar.gz
mkbundle "$b" --deb "$DEB_HELLO" --deb "$DEB_FIGLET" --omit debs/figlet_2.2.5-3+b1_amd64.deb --bad-digest "$HELLO"
l=$(members "$b")
if grep -q figlet <<<"$l"; then fail "omit: figlet is not a member"; else ok "omit: figlet is not a member"; fi
contains "omit: figlet is still listed" "$(manifest_of "$b")" figlet_2.2.5-3+b1_amd64.deb
d=$("$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["targets"][0]["packages"][0]["sha256"])' <<<"$(manifest_of "$b")")
if [ "$d" != "$HELLO_SHA" ] && [ "${d:0:63}" = "${HELLO_SHA:0:63}" ]; then
	ok "bad-digest: the listed digest differs from the real one in its last digit"
else
	fail "bad-digest: the listed digest differs from the real one in its last digit" "$d vs $HELLO_SHA"
fi

b=$T/bomb.zip
mkbundle "$b" --bomb debs/bomb.deb=256M
l=$(members "$b")
has_line "bomb: a 256 MiB member" "$l" $'debs/bomb.deb\tf\t\t268435456'
size=$(stat -c %s "$b")
if [ "$size" -lt 1048576 ]; then ok "bomb: the archive is small ($size bytes)"; else fail "bomb: the archive is small" "$size bytes"; fi
contains "bomb: listed with the digest of its zeros" "$(manifest_of "$b")" \
	"$(head -c 268435456 /dev/zero | sha256sum | cut -d' ' -f1)"

b=$T/dot.tar.gz
mkbundle "$b" --deb "$DEB_HELLO" --dot-prefix --manifest-last --dup manifest.json
l=$(cut -f1,2 <<<"$(members "$b")" | tr '\t\n' ': ')
is "dot-prefix, manifest-last, dup manifest" "$l" ".:d ./debs:d ./$HELLO:f ./manifest.json:f ./manifest.json:f "

printf '{"schema": [' >"$T/raw.json"
b=$T/raw.tar.gz
mkbundle "$b" --raw-manifest "$T/raw.json" --file "$HELLO=$DEB_HELLO"
is "raw manifest: bytes verbatim" "$(manifest_of "$b")" '{"schema": ['
b=$T/none.tar.gz
mkbundle "$b" --no-manifest --file "$HELLO=$DEB_HELLO"
is "no-manifest: only the package" "$(members "$b" | cut -f1)" "$HELLO"

# --- report.py on the three forms
cat >"$T/pred.json" <<'EOF'
{"status": "succeeded", "error": null,
 "target": {"name": "debian"},
 "steps": [{"name": "open", "status": "ok"}, {"name": "install", "status": "skipped", "reason": "no root"}],
 "packages": [{"name": "jq", "sha256": "aa", "files": ["/usr/bin/jq", "/usr/share/doc/jq"]},
              {"name": "libjq1", "sha256": "bb", "files": ["/usr/lib/x86_64-linux-gnu/libjq.so.1"]}]}
EOF
"$PYTHON" - "$T" <<'EOF'
import base64, json, sys
t = sys.argv[1]
pred = json.load(open(f"{t}/pred.json"))
st = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x", "predicate": pred}
json.dump(st, open(f"{t}/statement.json", "w"))
env = {"payloadType": "application/vnd.in-toto+json",
       "payload": base64.b64encode(json.dumps(st).encode()).decode(), "signatures": []}
json.dump(env, open(f"{t}/envelope.json", "w"))
EOF
for form in pred statement envelope; do
	f=$T/$form.json
	want=$form
	[ "$form" = pred ] && want=predicate
	is "report.py: $form: form" "$("$PYTHON" "$TOOLS_DIR/report.py" --form "$f")" "$want"
	is "report.py: $form: status" "$(rep status "$f")" succeeded
	is "report.py: $form: packages.name" "$(rep packages.name "$f" | tr '\n' ' ')" "jq libjq1 "
	is "report.py: $form: packages[name=jq].files" "$(rep 'packages[name=jq].files' "$f" | tr '\n' ' ')" \
		"/usr/bin/jq /usr/share/doc/jq "
	is "report.py: $form: steps[name=install].status" "$(rep 'steps[name=install].status' "$f")" skipped
	is "report.py: $form: packages[1].sha256" "$(rep 'packages[1].sha256' "$f")" bb
	is "report.py: $form: error prints null" "$(rep error "$f")" null
	"$PYTHON" "$TOOLS_DIR/report.py" "$f" error.code >/dev/null
	is "report.py: $form: error.code selects nothing: exit 1" "$?" 1
done
is "report.py: an unreadable file: exit 2" "$("$PYTHON" "$TOOLS_DIR/report.py" /nonexistent status 2>/dev/null; echo $?)" 2

# --- snap.py sees changes
D=$T/tree
mkdir -p "$D/a"
echo one >"$D/a/f"
ln -s f "$D/a/l"
snap "$D" >"$T/s0"
snap "$D" >"$T/s1"
is "snap: the same tree twice gives the same listing" "$(cmp -s "$T/s0" "$T/s1" && echo same)" same
changed() { # changed DESC CMD: CMD changes the tree; restore from a copy afterwards
	local desc=$1
	shift
	rm -rf "$T/tree2"
	cp -a "$D" "$T/tree2"
	(cd "$T/tree2" && eval "$*")
	snap "$T/tree2" >"$T/s2"
	if cmp -s "$T/s0" "$T/s2"; then fail "snap sees: $desc"; else ok "snap sees: $desc"; fi
}
changed "content, same size" 'echo two >a/f'
changed "mode" 'chmod 600 a/f'
changed "owner" 'chown 1:1 a/f'
changed "a new empty file" 'touch a/g'
changed "a removed file" 'rm a/f'
changed "a symlink target" 'ln -sfn g a/l'
changed "a hard link" 'ln a/f a/h'
changed "a file replaced by a symlink" 'rm a/f && ln -s /etc/passwd a/f'

done_testing
