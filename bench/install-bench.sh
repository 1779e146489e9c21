#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): installing the real bundle of tests/integration/deb-real-bundle.sh (every
# Debian 12 package apt downloads for openssh-server, nginx, cron and systemd into the minbase
# gold root; cached by tests/tools/real-debs.sh) with `pib-agent validate --root COPY` against
# `apt-get install` of the same .debs chrooted into another copy of the same root, alternated,
# BENCH_RUNS runs each. apt gets what the agent gives maintainer scripts: a private mount
# namespace with /proc, /sys, /dev/pts and /dev/shm, and a policy-rc.d that exits 101 (the agent
# brings its own). Each run starts from a fresh copy (not timed) after a warm-up read of the
# packages. Prints every run and the medians of: the agent's install step (the report's
# duration_ms), the whole validate (both scans, wall), apt's wall, and the ratios
# install / apt (target, issue 8: <= 1.05) and validate / apt (target: <= 1.3), both as the
# ratio of the medians and as the median of the runs' own ratios.
# Usage: bench/install-bench.sh
# Environment: PIB_AGENT (default build/pib-agent), BENCH_RUNS (default 3), PIB_GOLD_ROOT
# (default /var/tmp/pib-gold-root), PIB_REAL_CACHE (default /var/tmp/pib-real-bundle),
# BENCH_TMPDIR (where the copies go; default /var/tmp).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
agent=${PIB_AGENT:-$here/build/pib-agent}
gold=${PIB_GOLD_ROOT:-/var/tmp/pib-gold-root}
runs=${BENCH_RUNS:-3}
bench_need "clamav dpkg coreutils util-linux time" sigtool dpkg-deb chroot unshare /usr/bin/time
[ "$(id -u)" = 0 ] || { echo "needs root (chroot, mounts)" >&2; exit 4; }
bench_agent
[ -e "$gold/.pib-gold-ok" ] || { echo "no gold root at $gold (tests/integration/make-gold.sh $gold)" >&2; exit 4; }

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/pib-bench.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
"$here/tests/scan/make-db.sh" "$work/db"
debs=$("$here/tests/tools/real-debs.sh" "$gold" openssh-server nginx cron systemd)
mapfile -t files < <(find "$debs" -maxdepth 1 -name '*.deb' | sort)
args=()
for f in "${files[@]}"; do args+=(--deb "$f"); done
python3 "$here/tests/tools/mkbundle.py" "$work/real.tar.gz" "${args[@]}"
echo "bundle: ${#files[@]} packages, $(($(du -cb "${files[@]}" | tail -n 1 | cut -f1) / 1000000)) MB of .debs" \
	"(from $debs); $(nproc) CPUs; $runs runs each"
echo "warm-up: reading the packages and the gold root once"
cat "${files[@]}" "$work/real.tar.gz" >/dev/null
tar -C "$gold" -cf - . >/dev/null

# apt_install ROOT: apt-get install of the .debs (copied into ROOT/tmp/pib-debs beforehand),
# chrooted into ROOT inside a private mount namespace with /proc, /sys, /dev/pts, /dev/shm.
apt_install() {
	unshare --mount --propagation private sh -euc '
		r=$1
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mkdir -p "$r/dev/pts" "$r/dev/shm"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
		mount -t tmpfs tmpfs "$r/dev/shm"
		DEBIAN_FRONTEND=noninteractive chroot "$r" sh -c "apt-get install -y -q --no-install-recommends /tmp/pib-debs/*.deb"
	' sh "$1"
}
export -f apt_install

fresh() { # fresh DIR: a copy of the gold root at DIR (the previous one removed)
	rm -rf --one-file-system "$1"
	cp -a "$gold" "$1"
}

: >"$work/install_ms.runs"
for i in $(seq 1 "$runs"); do
	echo "run $i"
	fresh "$work/root-apt"
	mkdir -p "$work/root-apt/tmp/pib-debs"
	cp "${files[@]}" "$work/root-apt/tmp/pib-debs/"
	printf '#!/bin/sh\nexit 101\n' >"$work/root-apt/usr/sbin/policy-rc.d"
	chmod 0755 "$work/root-apt/usr/sbin/policy-rc.d"
	sync
	measure apt bash -c 'apt_install "$1"' sh "$work/root-apt"
	left=$(dpkg --root="$work/root-apt" --audit 2>&1 | head -n 3)
	if ! grep -q 'newly installed' "$work/apt.out" || [ -n "$left" ]; then
		echo "  apt did not install cleanly: $(tail -n 3 "$work/apt.err") $left" >&2
	fi
	fresh "$work/root-agent"
	sync
	measure validate "$agent" validate "$work/real.tar.gz" --root "$work/root-agent" --db "$work/db" \
		--report "$work/report.json"
	st=$(python3 "$here/tests/tools/report.py" "$work/report.json" status || echo none)
	ms=$(python3 "$here/tests/tools/report.py" "$work/report.json" 'steps[name=install].duration_ms' || echo 0)
	tool=$(python3 "$here/tests/tools/report.py" "$work/report.json" 'steps[name=install].tool' || echo '?')
	echo "$ms" >>"$work/install_ms.runs"
	aw=$(tail -n 1 "$work/apt.runs" | cut -d' ' -f1)
	vw=$(tail -n 1 "$work/validate.runs" | cut -d' ' -f1)
	echo "$ms $aw" | awk '{ print $1 / 1000 / $2 }' >>"$work/ratio_install.runs"
	echo "$vw $aw" | awk '{ print $1 / $2 }' >>"$work/ratio_validate.runs"
	printf '  agent: status %s, install step (%s) %.2f s; run %d ratios: install/apt %.3f, validate/apt %.3f\n' \
		"$st" "$tool" "$(echo "$ms" | awk '{ print $1 / 1000 }')" "$i" \
		"$(echo "$ms $aw" | awk '{ print $1 / 1000 / $2 }')" "$(echo "$vw $aw" | awk '{ print $1 / $2 }')"
	# findings: openssh-server leaves host keys and password logins on (the image policy)
	[ "$st" = succeeded ] || [ "$st" = findings ] || echo "  the agent's run did not succeed: $(grep 'error' "$work/validate.err" | tail -n 2)" >&2
done
rm -rf --one-file-system "$work/root-apt" "$work/root-agent"

am=$(cut -d' ' -f1 "$work/apt.runs" | median)
vm=$(cut -d' ' -f1 "$work/validate.runs" | median)
im=$(median <"$work/install_ms.runs" | awk '{ print $1 / 1000 }')
echo
printf 'median wall: apt-get install (chrooted) %.2f s, agent install step %.2f s, whole validate %.2f s\n' "$am" "$im" "$vm"
# the ratio of the medians, and the median of each run's ratio (the two of a run ran side by side)
printf 'install step / apt: %.3f of the medians, %.3f the median run (target <= 1.05)\n' \
	"$(echo "$im $am" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_install.runs")"
printf 'validate / apt:     %.3f of the medians, %.3f the median run (target <= 1.3)\n' \
	"$(echo "$vm $am" | awk '{ print $1 / $2 }')" "$(median <"$work/ratio_validate.runs")"
