#!/bin/sh
# SPDX-License-Identifier: MIT
# The option table is the truth: every command and option that --help prints is in the README
# and the man page, and every error code the code can emit is documented in the README.
set -u
agent=$1
src=$2
n=0
fail=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

help=$("$agent" --help)
check $? "pib-agent --help exits 0"
for opt in $(printf '%s\n' "$help" | grep -oE '^  --[a-z-]+' | sed 's/^ *//'); do
	grep -q -- "\`$opt" "$src/README.md"
	check $? "README documents $opt"
	manopt=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
	grep -q -- "$manopt" "$src/packaging/pib-agent.1"
	check $? "the man page documents $opt"
done
for cmd in $(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/p' | grep -oE '^  [a-z][a-z-]*' | sed 's/^ *//'); do
	grep -q -- "| \`$cmd " "$src/README.md"
	check $? "README's command table has $cmd"
	mancmd=$(printf '%s' "$cmd" | sed 's/-/\\\\-/g')
	grep -q -- "^\.BI\? $mancmd \|^\.B $mancmd\$\|^\.BI $mancmd " "$src/packaging/pib-agent.1"
	check $? "the man page has the command $cmd"
	"$agent" "$cmd" --help >/dev/null
	check $? "pib-agent $cmd --help exits 0"
done
for code in $(grep -rhoE 'PIB_ERR_[A-Z]+, *"[a-z]+\.[a-z_]+"' "$src/agent" "$src/installers" "$src/manifests" "$src/scanners" 2>/dev/null | grep -oE '"[a-z]+\.[a-z_]+"' | tr -d '"' | sort -u); do
	grep -q -- "\`$code\`" "$src/README.md"
	check $? "README documents the error code $code"
done
# every installer of the registry has its entry in the man page's TARGETS section
for inst in $(grep -oE '^extern const struct installer inst_[a-z]+' "$src/installers/registry.c" | sed 's/.*inst_//'); do
	sed -n '/^\.SH TARGETS/,/^\.SH /p' "$src/packaging/pib-agent.1" | grep -qx -- ".B $inst"
	check $? "the man page's TARGETS section describes the $inst installer"
	grep -q -- "\`$inst\`\|$inst targets\|$inst target" "$src/README.md"
	check $? "README describes $inst targets"
done
# every example script is named in the README
for ex in "$src"/manifests/examples/*.sh; do
	case $(basename "$ex") in prepare.sh | make-bundle.sh) continue ;; esac
	grep -q -- "manifests/examples/$(basename "$ex")" "$src/README.md"
	check $? "README names manifests/examples/$(basename "$ex")"
done
echo "1..$n"
exit $fail
