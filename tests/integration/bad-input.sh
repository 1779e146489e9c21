#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad bundles are refused before anything is installed: malformed or invalid manifests,
# missing, unlisted and duplicate members, digest mismatches, unsafe member names and
# links, and decompression bombs. Each gives exit 2, an error on stderr naming the file and
# field (or the member), a report with status failed and the expected error code, and a
# root that is exactly as before. Nothing named by an evil member appears anywhere on the
# host. Then the good formats: the same hello bundle as tar.zst and zip (made here), and
# as tar.gz and zip made by the real tar and zip tools (./ names, directory entries),
# each install.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"
snap "$R" >"$T/snap.0"
SNAP_N=0
TAG=$$-$RANDOM
PASSWD_SHA=$(sha256_of /etc/passwd)
HELLO=debs/hello_2.10-3_amd64.deb
FIGLET=debs/figlet_2.2.5-3+b1_amd64.deb
HELLO_SHA=$(sha256_of "$DEB_HELLO")

# base manifest: one debian target with hello (and figlet) as packages.
"$PYTHON" -c '
import json, sys
sys.path.insert(0, sys.argv[1])
import mkbundle
print(json.dumps(mkbundle.default_manifest(sys.argv[2:]), indent=2))
' "$TOOLS_DIR" "$DEB_HELLO" "$DEB_FIGLET" >"$T/base.json" || bail_out "base manifest"

# variant NAME PYTHON: $T/NAME.json is the base manifest after PYTHON edits dict m.
variant() {
	"$PYTHON" -c '
import json, sys
m = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(m, indent=2))
' "$T/base.json" "$2" >"$T/$1.json" || bail_out "variant $1"
}

# bad LABEL FORMAT CODE NEEDLE... -- MKBUNDLE-ARGS...
# CODE may list alternatives as a|b. Each NEEDLE must appear on the agent's stderr.
bad() {
	local label=$1 fmt=$2 code=$3 got needles=() err n prev
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		needles+=("$1")
		shift
	done
	shift
	local b=$T/$label.$fmt
	mkbundle "$b" --format "$fmt" "$@"
	validate "$b" --root "$R" --no-scan
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	is "$label: status failed" "$(rep status)" failed
	got=$(rep error.code)
	if grep -qxE "$code" <<<"$got"; then
		ok "$label: error.code is $got"
	else
		fail "$label: error.code is $code" "got: '$got'" "error: $(rep error)"
	fi
	err=$(agent_stderr)
	contains "$label: stderr has the error code" "$err" "${got:-$code}"
	for n in "${needles[@]}"; do
		contains "$label: stderr names '$n'" "$err" "$n"
	done
	if [ "$(rep 'steps[name=install].status')" = ok ]; then
		fail "$label: nothing was installed (install step did not run)"
	else
		ok "$label: nothing was installed (install step did not run)"
	fi
	prev=$SNAP_N
	SNAP_N=$((SNAP_N + 1))
	snap "$R" >"$T/snap.$SNAP_N"
	same_tree "$label: the root is unchanged" "$T/snap.$prev" "$T/snap.$SNAP_N"
}

# --- the manifest
printf '{"schema": "pib-agent/bundle/v1", "targets": [{"name": "debian",\n' >"$T/malformed.json"
bad malformed-json tar.gz manifest.invalid manifest.json -- \
	--raw-manifest "$T/malformed.json" --file "$HELLO=$DEB_HELLO"

variant wrong-type 'm["targets"][0]["arch"] = "x86_64"'
bad wrong-type tar.gz manifest.invalid "manifest.json: targets[0].arch" -- --manifest "$T/wrong-type.json"

variant wrong-type-nested 'm["targets"][0]["packages"][1]["file"] = 42'
bad wrong-type-nested tar.gz manifest.invalid "manifest.json: targets[0].packages[1].file" -- \
	--manifest "$T/wrong-type-nested.json" --file "$FIGLET=$DEB_FIGLET"

variant unknown-key 'm["targets"][0]["colour"] = "blue"'
bad unknown-key tar.gz manifest.invalid "manifest.json: targets[0].colour" -- --manifest "$T/unknown-key.json"

variant unknown-top-key 'm["signature"] = "trust me"'
bad unknown-top-key tar.gz manifest.invalid "manifest.json: signature" -- --manifest "$T/unknown-top-key.json"

variant short-digest 'm["targets"][0]["packages"][0]["sha256"] = "abc"'
bad short-digest tar.gz manifest.invalid "manifest.json: targets[0].packages[0].sha256" -- \
	--manifest "$T/short-digest.json"

variant wrong-schema 'm["schema"] = "pib-agent/bundle/v9"'
bad wrong-schema tar.gz manifest.invalid "manifest.json: schema" -- --manifest "$T/wrong-schema.json"

variant rpm-for-debian 'm["targets"][0]["installer"] = "rpm"'
bad rpm-for-debian tar.gz manifest.invalid "manifest.json: targets[0].installer" -- \
	--manifest "$T/rpm-for-debian.json"

"$PYTHON" -c 'import sys; d=100000; sys.stdout.write("{\"schema\": \"pib-agent/bundle/v1\", \"product\": " + "["*d + "]"*d + "}")' \
	>"$T/deep.json"
bad deep-nesting tar.gz manifest.invalid manifest.json -- \
	--raw-manifest "$T/deep.json" --file "$HELLO=$DEB_HELLO"

bad no-manifest tar.gz 'bundle\..*|manifest\..*' manifest.json -- \
	--no-manifest --file "$HELLO=$DEB_HELLO"
bad empty-manifest tar.gz manifest.invalid manifest.json -- \
	--raw-manifest /dev/null --file "$HELLO=$DEB_HELLO"

# --- members against the manifest
bad missing-member tar.gz bundle.missing_member "$FIGLET" -- --manifest "$T/base.json" --omit "$FIGLET"
bad unlisted-member tar.gz bundle.unlisted_member extra.txt -- --manifest "$T/base.json" --text extra.txt=hello
bad digest-mismatch tar.gz package.digest_mismatch "manifest.json: targets[0].packages[1].sha256" -- \
	--manifest "$T/base.json" --bad-digest "$FIGLET"
bad duplicate-member tar.gz bundle.duplicate_member "$HELLO" -- --manifest "$T/base.json" --dup "$HELLO"
variant other 'm["targets"][0]["packages"] = m["targets"][0]["packages"][:1]'
bad duplicate-manifest tar.gz bundle.duplicate_member manifest.json -- \
	--manifest "$T/base.json" --dup-manifest "$T/other.json"

# --- packages that are not what they claim
mkdeb "$T/pib-arm_1.0_arm64.deb" pib-arm 1.0 arch=arm64
bad wrong-arch tar.gz package.wrong_arch pib-arm -- --deb "$T/pib-arm_1.0_arm64.deb"
head -c 70000 /dev/urandom >"$T/pib-noise_1.0_amd64.deb"
bad not-a-deb tar.gz package.invalid debs/pib-noise_1.0_amd64.deb -- --deb "$T/pib-noise_1.0_amd64.deb"

# --- unsafe names and links
bad dotdot tar.gz bundle.unsafe_path "../pib-evil-dotdot-$TAG" -- \
	--manifest "$T/base.json" --text "../pib-evil-dotdot-$TAG=owned"
bad dotdot-nested tar.gz bundle.unsafe_path "debs/../../pib-evil-nested-$TAG" -- \
	--manifest "$T/base.json" --text "debs/../../pib-evil-nested-$TAG=owned"
bad absolute tar.gz bundle.unsafe_path "/etc/pib-evil-abs-$TAG" -- \
	--manifest "$T/base.json" --text "/etc/pib-evil-abs-$TAG=owned"
bad symlink-absolute tar.gz bundle.unsafe_path "link-$TAG" -- \
	--manifest "$T/base.json" --symlink "link-$TAG=/etc/passwd"
bad symlink-up tar.gz bundle.unsafe_path "uplink-$TAG" -- \
	--manifest "$T/base.json" --symlink "uplink-$TAG=../../pib-evil-up-$TAG"
bad hardlink-absolute tar.gz bundle.unsafe_path "hl-$TAG" -- \
	--manifest "$T/base.json" --hardlink "hl-$TAG=/etc/passwd"
# A listed package that is a link to the host's /etc/passwd, listed with passwd's own
# digest: only the link check can stop it.
variant passwd "m['targets'][0]['packages'] = [{'file': '$HELLO', 'sha256': '$PASSWD_SHA'}]"
bad symlink-as-package tar.gz bundle.unsafe_path "$HELLO" -- \
	--manifest "$T/passwd.json" --symlink "$HELLO=/etc/passwd"
bad hardlink-as-package tar.gz bundle.unsafe_path "$HELLO" -- \
	--manifest "$T/passwd.json" --hardlink "$HELLO=/etc/passwd"
bad zip-dotdot zip bundle.unsafe_path "../pib-evil-zipdotdot-$TAG" -- \
	--manifest "$T/base.json" --text "../pib-evil-zipdotdot-$TAG=owned"
bad zip-symlink zip bundle.unsafe_path "$HELLO" -- \
	--manifest "$T/passwd.json" --symlink "$HELLO=/etc/passwd"
bad zstd-absolute tar.zst bundle.unsafe_path "/etc/pib-evil-zstabs-$TAG" -- \
	--manifest "$T/base.json" --text "/etc/pib-evil-zstabs-$TAG=owned"

# --- bombs: 1 GiB of zeros as a listed package with its true digest (about 1 MB packed)
variant hello-only 'm["targets"][0]["packages"] = m["targets"][0]["packages"][:1]'
bad zip-bomb zip bundle.too_large debs/bomb_1.0_amd64.deb -- \
	--manifest "$T/hello-only.json" --bomb debs/bomb_1.0_amd64.deb=1G
bad tar-bomb tar.gz bundle.too_large debs/bomb_1.0_amd64.deb -- \
	--manifest "$T/hello-only.json" --bomb debs/bomb_1.0_amd64.deb=1G
diag "$(ls -la "$T"/*bomb*)"

# --- not an archive at all
head -c 4096 /dev/urandom >"$T/noise.tar.gz"
validate "$T/noise.tar.gz" --root "$R" --no-scan
is "noise: exit code 2" "$RC" 2
report_exists noise
is "noise: status failed" "$(rep status)" failed
code=$(rep error.code)
if grep -qE '^bundle\.' <<<"$code"; then ok "noise: a bundle.* error code ($code)"; else fail "noise: a bundle.* error code" "got: '$code'"; fi

# --- nothing escaped, anywhere
escaped=$(find / -xdev -name "*pib-evil*$TAG*" 2>/dev/null; ls -d "/etc/pib-evil-abs-$TAG" 2>/dev/null)
is "no file named by an evil member exists anywhere on the host" "$escaped" ""
is "the host's /etc/passwd is unchanged" "$(sha256_of /etc/passwd)" "$PASSWD_SHA"
snap "$R" >"$T/snap.final"
same_tree "the root is as at the start" "$T/snap.0" "$T/snap.final"

# --- good formats
good() { # good LABEL BUNDLE
	local label=$1 b=$2 R2=$T/root-$1
	copy_root "$R2"
	validate "$b" --root "$R2" --no-scan
	is "$label: exit code 0" "$RC" 0
	report_exists "$label"
	status_good "$label"
	is "$label: dpkg: hello is 'install ok installed'" "$(dpkg_status "$R2" hello)" "install ok installed"
	is "$label: report: hello's sha256" "$(rep 'packages[name=hello].sha256')" "$HELLO_SHA"
	is "$label: report: the bundle's sha256" "$(rep bundle.sha256)" "$(sha256_of "$b")"
	no_debs_left "$label: no copy of the package is left in the root" "$R2"
	rm -rf --one-file-system "$R2"
}
mkbundle "$T/hello.tar.zst" --deb "$DEB_HELLO"
good tar.zst "$T/hello.tar.zst"
mkbundle "$T/hello.zip" --deb "$DEB_HELLO" --manifest-last
good zip "$T/hello.zip"

# The same with the real tools: ./ names, directory entries, the manifest where it falls.
S=$T/src
mkdir -p "$S/debs"
cp "$DEB_HELLO" "$S/debs/"
mkbundle "$T/unused.tar.gz" --deb "$DEB_HELLO" --print-manifest >"$S/manifest.json"
tar -C "$S" -czf "$T/tar-tool.tar.gz" .
diag "tar listing: $(tar -tzf "$T/tar-tool.tar.gz" | tr '\n' ' ')"
good tar-tool "$T/tar-tool.tar.gz"
(cd "$S" && zip -q -r "$T/zip-tool.zip" .)
diag "zip listing: $(unzip -Z1 "$T/zip-tool.zip" | tr '\n' ' ')"
good zip-tool "$T/zip-tool.zip"

done_testing
