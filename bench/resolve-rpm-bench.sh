#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): resolving an rpm bundle against a root whose repository holds 20 000
# packages: the agent's resolve step against `dnf --installroot ROOT install --assumeno` of the
# same bundle, alternated in one run, RUNS runs each (target, issue: resolve <= 0.5x dnf).
#
# Set-up (not timed), in a fresh work folder:
# - the root: tests/tools/make-rpm-root.sh ROOT --os rhel (os-release of RHEL 9.4, an rpmdb at
#   var/lib/rpm holding pib-test-base, which provides /bin/sh and glibc's capabilities); when that
#   script is missing, `rpm --root ROOT --dbpath /var/lib/rpm --initdb` and etc/os-release;
# - the repository: tests/tools/gen-rpm-repo.py ROOT/srv/bigrepo N --seed S (rpm-md metadata only,
#   primary/filelists/other), enabled by ROOT/etc/yum.repos.d/big.repo (baseurl=file:///srv/bigrepo,
#   gpgcheck=0), the path as the root sees it, which is how the agent reads it;
# - the bundle: four noarch rpms built with rpmbuild (AutoReqProv off). Three each Require one
#   package name, one soname, one file (/usr/bin/...) and one python3dist() of the repository
#   (taken from late packages, so each pulls in a web of dependencies), the fourth Requires the
#   first (= 1.0-1) and /bin/sh (which the root's pib-test-base provides); made with
#   tests/tools/mkbundle.py, one target: rpm, rhel ">=9,<10" (an exact "9" does not match the
#   root's VERSION_ID 9.4), x86_64, allow_unsigned.
#
# Each run, in alternating order (odd runs the agent first, even runs dnf first):
# (a) `pib-agent validate BUNDLE --root ROOT --dry-run --no-scan --report R.json`: wall, peak RSS,
#     and the resolve step's duration_ms from the report (the step the target is about: the
#     rpmdb, the repository's primary index and the solver; the whole validate adds open and
#     verify, i.e. rpmkeys on each package);
# (b) dnf, cold: a fresh empty cachedir, so dnf reads and parses the repository's metadata (as
#     the agent does, which keeps no cache): it copies repomd, primary and filelists into the
#     cachedir, parses both, writes its .solv caches, reads the rpmdb and solves;
# (c) dnf, warm: a cachedir primed before the first run (dnf's .solv caches), for information.
# dnf is `dnf --installroot ROOT --config WORK/dnf.conf --setopt=reposdir=WORK/dnf-repos
# --setopt=cachedir=... --releasever=9 --noplugins --setopt=install_weak_deps=False install
# --assumeno RPM...` with HOME=WORK/home (see below); install_weak_deps off because the agent
# does not install Recommends. Both must answer, and with the same set of packages (name,
# epoch:version-release, arch; the bundle's four included): the bench prints both counts and
# stops (exit 1) when either fails or the sets differ.
#
# dnf on Debian:
# - rpm's %_dbpath is ~/.rpmdb on Debian (/usr/lib/rpm/macros), and dnf (librpm through python3-rpm)
#   reads it under --installroot too: it would open, and create, ROOT/root/.rpmdb, an empty
#   database, instead of ROOT/var/lib/rpm. dnf has no --dbpath, so dnf runs with HOME=WORK/home
#   whose .rpmmacros says `%_dbpath /var/lib/rpm`.
# - With --installroot, dnf takes a --setopt=reposdir from the host, and a repository's
#   baseurl=file:// path on the host too (not inside the root): it reads WORK/dnf-repos/big.repo,
#   baseurl=file://ROOT/srv/bigrepo, the same files as the root's big.repo names.
# - Its configuration would be ROOT/etc/dnf/dnf.conf, else the host's /etc/dnf/dnf.conf: the bench
#   gives its own (WORK/dnf.conf), so the host's settings do not count.
# - --setopt=cachedir=DIR puts the metadata copies and the .solv files in DIR on the host, but
#   expired_repos.json in ROOT/DIR: both are removed after every cold run.
# - --releasever=9: the root has no package providing system-release to guess it from.
# - dnf writes its logs into ROOT/var/log (dnf.log, dnf.librepo.log, hawkey.log) as on RHEL.
#
# Prints every run (wall, peak RSS, CPU; the agent's resolve step; the package counts), the
# medians, and the ratios resolve step / dnf cold (the target, <= 0.5), whole validate / dnf
# cold and resolve step / dnf warm, each as the ratio of the medians and as the median of the
# runs' own ratios; the CPU time (user + system) of the whole validate / dnf cold and the peak
# RSS agent (whole validate) / dnf cold, of the medians.
# Usage: bench/resolve-rpm-bench.sh [RUNS] (default 5; 1 to 50)
# Environment: PIB_AGENT (default build-bench-rpm/pib-agent), BENCH_REPO_PACKAGES (default 20000),
# BENCH_SEED (default 1), BENCH_TMPDIR (default /var/tmp), BENCH_KEEP=1 (keep the work folder),
# BENCH_DNF_ONLY=1 (dnf's side alone: no agent needed, nothing compared).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
py=/usr/bin/python3 # not the python3 on PATH, which may be a slow pyenv shim
runs=${1:-${BENCH_RUNS:-5}}
case $runs in '' | *[!0-9]*) echo "usage: $0 [RUNS] (1 to 50)" >&2; exit 2 ;; esac
if [ "$runs" -lt 1 ] || [ "$runs" -gt 50 ]; then echo "usage: $0 [RUNS] (1 to 50)" >&2; exit 2; fi
npkgs=${BENCH_REPO_PACKAGES:-20000}
seed=${BENCH_SEED:-1}
dnf_only=${BENCH_DNF_ONLY:-0}
agent=${PIB_AGENT:-$here/build-bench-rpm/pib-agent}
[ "$(id -u)" = 0 ] || { echo "needs root (rpm --root, make-rpm-root.sh)" >&2; exit 4; }
need=()
for t in dnf:dnf rpm:rpm rpmbuild:rpm /usr/bin/time:time $py:python3; do
	command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
[ ${#need[@]} = 0 ] || { echo "missing tools: apt-get install -y ${need[*]}" >&2; exit 4; }
if [ "$dnf_only" != 1 ] && [ ! -x "$agent" ]; then
	echo "no agent at $agent (meson setup build-bench-rpm && ninja -C build-bench-rpm, or set PIB_AGENT;" \
		"BENCH_DNF_ONLY=1 runs dnf's side alone)" >&2
	exit 4
fi

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/pib-rpm-bench.XXXXXX")
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
fail() {
	echo "resolve-rpm-bench: $*" >&2
	exit 1
}

# ------------------------------------------------------------------ set-up (not timed)
root=$work/root
if [ -f "$here/tests/tools/make-rpm-root.sh" ]; then
	bash "$here/tests/tools/make-rpm-root.sh" "$root" --os rhel || fail "make-rpm-root.sh failed"
	root_how="make-rpm-root.sh --os rhel: rhel 9.4, pib-test-base installed"
else
	mkdir -p "$root/etc"
	rpm --root "$root" --dbpath /var/lib/rpm --initdb || fail "rpm --initdb failed"
	printf 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n' >"$root/etc/os-release"
	root_how="rpm --initdb and os-release: rhel 9.4, empty rpmdb"
fi

t0=$(date +%s.%N)
"$py" "$here/tests/tools/gen-rpm-repo.py" "$root/srv/bigrepo" "$npkgs" --seed "$seed" --summary "$work/repo.json" ||
	fail "gen-rpm-repo.py failed"
t1=$(date +%s.%N)
mkdir -p "$root/etc/yum.repos.d" "$work/dnf-repos"
repo_file() { # repo_file BASEURL
	printf '[big]\nname=generated repository (%s packages, seed %s)\nbaseurl=%s\nenabled=1\ngpgcheck=0\n' \
		"$npkgs" "$seed" "$1"
}
repo_file file:///srv/bigrepo >"$root/etc/yum.repos.d/big.repo"
repo_file "file://$root/srv/bigrepo" >"$work/dnf-repos/big.repo"
mkdir -p "$work/home"
echo '%_dbpath /var/lib/rpm' >"$work/home/.rpmmacros"
cat >"$work/dnf.conf" <<'EOF'
[main]
gpgcheck=0
install_weak_deps=False
best=False
skip_if_unavailable=False
EOF

# the bundle's rpms
mapfile -t reqs < <("$py" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["requires"]))' "$work/repo.json")
[ ${#reqs[@]} = 12 ] || fail "gen-rpm-repo.py's summary has ${#reqs[@]} capabilities, not 12"
top=$work/rpmbuild
mkdir -p "$top/SPECS" "$top/tmp"
spec() { # spec NAME REQUIRES...
	local name=$1 r
	shift
	{
		printf 'Name: %s\nVersion: 1.0\nRelease: 1\nSummary: pib-agent resolve benchmark: %s\n' "$name" "$name"
		printf 'License: MIT\nBuildArch: noarch\nAutoReqProv: no\n'
		for r in "$@"; do printf 'Requires: %s\n' "$r"; done
		printf '%%description\nA package of the rpm resolve benchmark (bench/resolve-rpm-bench.sh).\n'
		printf '%%install\nmkdir -p %%{buildroot}/opt/pib-bench\necho %s > %%{buildroot}/opt/pib-bench/%s.txt\n' "$name" "$name"
		printf '%%files\n/opt/pib-bench/%s.txt\n' "$name"
	} >"$top/SPECS/$name.spec"
	rpmbuild --define "_topdir $top" --define "_tmppath $top/tmp" --define "_buildhost pib-bench" \
		-bb "$top/SPECS/$name.spec" >"$top/$name.log" 2>&1 || { tail -n 20 "$top/$name.log" >&2; fail "rpmbuild $name failed"; }
}
# reqs: 3 names, 3 sonames, 3 files, 3 python3dist(), in that order
for k in 0 1 2; do
	spec "pib-bench-$((k + 1))" "${reqs[k]}" "${reqs[k + 3]}" "${reqs[k + 6]}" "${reqs[k + 9]}"
done
spec pib-bench-plugin "pib-bench-1 = 1.0-1" /bin/sh
mapfile -t rpms < <(find "$top/RPMS" -name '*.rpm' | sort)
[ ${#rpms[@]} = 4 ] || fail "rpmbuild made ${#rpms[@]} rpms, not 4"
"$py" - "$work/manifest.json" "${rpms[@]}" <<'EOF'
import json, os, sys
pkgs = [{"file": "rpms/" + os.path.basename(p), "_src": p, "sha256": "auto"} for p in sys.argv[2:]]
m = {"schema": "pib-agent/bundle/v1",
     "product": {"name": "rpm-resolve-bench", "version": "1.0", "seller": "pib-agent benchmarks"},
     "targets": [{"name": "rhel", "installer": "rpm", "os": [{"id": "rhel", "versions": [">=9,<10"]}],
                  "arch": ["x86_64"], "allow_unsigned": True, "packages": pkgs}]}
json.dump(m, open(sys.argv[1], "w"), indent=1)
EOF
"$py" "$here/tests/tools/mkbundle.py" "$work/bundle.tar.gz" --manifest "$work/manifest.json" || fail "mkbundle.py failed"

# answers.py report|dnf FILE: the transaction as sorted "name epoch:version-release arch" lines
# (epoch 0 written as none), from the agent's report or from dnf's transaction table.
cat >"$work/answers.py" <<'EOF'
import re, sys
def evr(v):
    return v[2:] if v.startswith("0:") else v
kind, path = sys.argv[1], sys.argv[2]
out = []
if kind == "report":
    sys.path.insert(0, sys.argv[3])
    import report
    p = report.load(path)
    for pkg in p.get("packages") or []:
        out.append(f'{pkg["name"]} {evr(pkg["version"])} {pkg["arch"]}')
else:
    # the table between "Installing:" and "Transaction Summary", one row a package: name arch
    # version repo size unit. A name too long for its column is printed on a line of its own,
    # the rest of its row on the next line: such a line is joined to the next.
    on, pending = False, []
    for line in open(path, encoding="utf-8", errors="replace"):
        s = line.split()
        if re.match(r"^(Installing|Upgrading|Reinstalling|Downgrading)( dependencies| weak dependencies)?:$", line.strip()):
            on = True
            continue
        if not s or line.startswith("Transaction Summary") or line.startswith("====="):
            on = False
            continue
        if not on:
            continue
        s = pending + s
        if len(s) < 6:
            pending = s
            continue
        pending = []
        if len(s) != 6:
            sys.exit(f"{path}: cannot read this row of dnf's table: {line.rstrip()}")
        out.append(f"{s[0]} {evr(s[2])} {s[1]}")
print("\n".join(sorted(out)))
EOF

dnf_cmd=(env HOME="$work/home" dnf --installroot "$root" --config "$work/dnf.conf"
	--setopt=reposdir="$work/dnf-repos" --releasever=9 --noplugins --setopt=install_weak_deps=False)

# check_dnf NAME: dnf's last run (WORK/NAME.out) showed a transaction and was aborted by
# --assumeno (its exit status is then 1; "Operation aborted." on stderr); its answer goes to
# WORK/NAME.answer
check_dnf() {
	if ! grep -q '^Operation aborted' "$work/$1.out" "$work/$1.err" || ! grep -q '^Transaction Summary' "$work/$1.out"; then
		echo "dnf ($1) did not resolve the bundle:" >&2
		tail -n 15 "$work/$1.out" "$work/$1.err" >&2
		fail "dnf ($1) failed"
	fi
	"$py" "$work/answers.py" dnf "$work/$1.out" >"$work/$1.answer"
	local n said
	n=$(wc -l <"$work/$1.answer")
	said=$(awk '/^Install +[0-9]+ Package/ { print $2 }' "$work/$1.out")
	[ "$n" = "$said" ] || fail "dnf ($1): read $n packages from its table, its summary says ${said:-nothing}"
}

echo "root: $root_how"
echo "repository: $npkgs packages ($(du -sh "$root/srv/bigrepo/repodata" | cut -f1) of repodata, made in" \
	"$(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }') s; seed $seed)"
echo "bundle: ${#rpms[@]} noarch rpms requiring: ${reqs[*]}"
echo "$(nproc) CPUs; $runs runs each"
echo "warm-up: reading the repository once; priming dnf's warm cache"
cat "$root"/srv/bigrepo/repodata/* >/dev/null
"${dnf_cmd[@]}" --setopt=cachedir="$work/dnf-warm" install --assumeno "${rpms[@]}" >"$work/dnf_prime.out" 2>"$work/dnf_prime.err" || true
check_dnf dnf_prime

# cpu NAME: appends the CPU time (user + system, children included) of the last measure to
# WORK/NAME.cpu: on a loaded machine it varies far less than the wall time
cpu() { awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$work/time.txt" >>"$work/$1.cpu"; }

agent_run() {
	measure agent "$agent" validate "$work/bundle.tar.gz" --root "$root" --dry-run --no-scan --report "$work/report.json"
	cpu agent
	local st rs ms
	st=$("$py" "$here/tests/tools/report.py" "$work/report.json" status 2>/dev/null || echo none)
	rs=$("$py" "$here/tests/tools/report.py" "$work/report.json" 'steps[name=resolve].status' 2>/dev/null || echo none)
	ms=$("$py" "$here/tests/tools/report.py" "$work/report.json" 'steps[name=resolve].duration_ms' 2>/dev/null || echo '')
	if [ "$rs" != ok ] || [ -z "$ms" ]; then
		echo "the agent's resolve did not succeed (status $st, resolve step ${rs:-none}):" >&2
		"$py" "$here/tests/tools/report.py" "$work/report.json" error.message >&2 2>/dev/null || tail -n 5 "$work/agent.err" >&2
		fail "the agent failed"
	fi
	echo "$ms" >>"$work/resolve_ms.runs"
	"$py" "$work/answers.py" report "$work/report.json" "$here/tests/tools" >"$work/agent.answer"
	printf '  %-22s status %s, resolve step %.3f s, %d packages\n' "agent's report" "$st" \
		"$(echo "$ms" | awk '{ print $1 / 1000 }')" "$(wc -l <"$work/agent.answer")"
}

dnf_cold() {
	rm -rf "$work/dnf-cold" "${root:?}$work/dnf-cold"
	measure dnf_cold "${dnf_cmd[@]}" --setopt=cachedir="$work/dnf-cold" install --assumeno "${rpms[@]}"
	cpu dnf_cold
	check_dnf dnf_cold
	rm -rf "$work/dnf-cold" "${root:?}$work/dnf-cold"
	printf '  %-22s %d packages\n' "dnf (cold cache)" "$(wc -l <"$work/dnf_cold.answer")"
}

dnf_warm() {
	measure dnf_warm "${dnf_cmd[@]}" --setopt=cachedir="$work/dnf-warm" install --assumeno "${rpms[@]}"
	cpu dnf_warm
	check_dnf dnf_warm
	printf '  %-22s %d packages\n' "dnf (warm cache)" "$(wc -l <"$work/dnf_warm.answer")"
}

compare() { # compare: the agent's set against dnf's (cold and warm), or the bench stops
	local a
	for a in dnf_cold dnf_warm; do
		if ! cmp -s "$work/$a.answer" "$work/dnf_prime.answer"; then
			diff "$work/dnf_prime.answer" "$work/$a.answer" | head -n 20 >&2
			fail "dnf's answers differ between runs ($a)"
		fi
	done
	[ "$dnf_only" = 1 ] && return 0
	if ! cmp -s "$work/agent.answer" "$work/dnf_cold.answer"; then
		echo "the agent's transaction ($(wc -l <"$work/agent.answer") packages, <) and dnf's" \
			"($(wc -l <"$work/dnf_cold.answer") packages, >) differ:" >&2
		diff "$work/agent.answer" "$work/dnf_cold.answer" | grep '^[<>]' | head -n 30 >&2
		fail "the agent and dnf do not find the same packages to install"
	fi
}

: >"$work/resolve_ms.runs"
for i in $(seq 1 "$runs"); do
	echo "run $i"
	if [ "$dnf_only" = 1 ]; then
		dnf_cold
		dnf_warm
	elif [ $((i % 2)) = 1 ]; then
		agent_run
		dnf_cold
		dnf_warm
	else
		dnf_cold
		dnf_warm
		agent_run
	fi
	compare
	cw=$(tail -n 1 "$work/dnf_cold.runs" | cut -d' ' -f1)
	ww=$(tail -n 1 "$work/dnf_warm.runs" | cut -d' ' -f1)
	if [ "$dnf_only" != 1 ]; then
		ms=$(tail -n 1 "$work/resolve_ms.runs")
		aw=$(tail -n 1 "$work/agent.runs" | cut -d' ' -f1)
		echo "$ms $cw" | awk '{ print $1 / 1000 / $2 }' >>"$work/ratio_resolve.runs"
		echo "$aw $cw" | awk '{ print $1 / $2 }' >>"$work/ratio_validate.runs"
		echo "$ms $ww" | awk '{ print $1 / 1000 / $2 }' >>"$work/ratio_warm.runs"
		printf '  run %d: same %d packages; resolve / dnf cold %.3f, validate / dnf cold %.3f, resolve / dnf warm %.3f\n' \
			"$i" "$(wc -l <"$work/agent.answer")" "$(tail -n 1 "$work/ratio_resolve.runs")" \
			"$(tail -n 1 "$work/ratio_validate.runs")" "$(tail -n 1 "$work/ratio_warm.runs")"
	fi
done

mb() { awk '{ printf "%.1f", $1 / 1024 }'; }
cm=$(cut -d' ' -f1 "$work/dnf_cold.runs" | median)
wm=$(cut -d' ' -f1 "$work/dnf_warm.runs" | median)
crss=$(cut -d' ' -f2 "$work/dnf_cold.runs" | median)
wrss=$(cut -d' ' -f2 "$work/dnf_warm.runs" | median)
echo
echo "transaction: $(wc -l <"$work/dnf_cold.answer") packages (${#rpms[@]} from the bundle) out of $npkgs"
ccpu=$(median <"$work/dnf_cold.cpu")
wcpu=$(median <"$work/dnf_warm.cpu")
printf 'median wall: dnf cold cache %.3f s (CPU %.2f s, peak RSS %s MB), dnf warm cache %.3f s (CPU %.2f s, peak RSS %s MB)\n' \
	"$cm" "$ccpu" "$(echo "$crss" | mb)" "$wm" "$wcpu" "$(echo "$wrss" | mb)"
if [ "$dnf_only" = 1 ]; then
	echo "(BENCH_DNF_ONLY=1: the agent was not run)"
	exit 0
fi
rm_=$(median <"$work/resolve_ms.runs" | awk '{ print $1 / 1000 }')
am=$(cut -d' ' -f1 "$work/agent.runs" | median)
arss=$(cut -d' ' -f2 "$work/agent.runs" | median)
acpu=$(median <"$work/agent.cpu")
printf 'median: agent resolve step %.3f s, whole validate --dry-run --no-scan %.3f s (CPU %.2f s, peak RSS %s MB)\n' \
	"$rm_" "$am" "$acpu" "$(echo "$arss" | mb)"
# the ratio of the medians, and the median of each run's ratio (the two of a run ran side by side)
printf 'resolve step / dnf cold: %.3f of the medians, %.3f the median run (target <= 0.5)\n' \
	"$(echo "$rm_ $cm" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_resolve.runs")"
printf 'validate / dnf cold:     %.3f of the medians, %.3f the median run\n' \
	"$(echo "$am $cm" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_validate.runs")"
printf 'resolve step / dnf warm: %.3f of the medians, %.3f the median run (for information)\n' \
	"$(echo "$rm_ $wm" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_warm.runs")"
# the report gives the resolve step's wall time only: the whole validate's CPU bounds its CPU
printf 'CPU validate / dnf cold:  %.3f of the medians (user + system; the resolve step is a part of validate)\n' \
	"$(echo "$acpu $ccpu" | awk '{ print $1 / $2 }')"
printf 'peak RSS agent / dnf cold: %.2f (%s MB vs %s MB)\n' "$(echo "$arss $crss" | awk '{ print $1 / $2 }')" \
	"$(echo "$arss" | mb)" "$(echo "$crss" | mb)"
