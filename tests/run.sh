#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's second command: sets up a fresh Debian 12 machine (as root), builds pib-agent,
# runs the whole test suite, then builds it again with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the unit tests there. Both runs must pass.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tests/deps.sh all

# the real packages of ../shared/fixtures (see its README): beside the project, or as given
if [ -z "${PIB_FIXTURES:-}" ]; then
	for f in "$here/../shared/fixtures" /work/shared/fixtures; do
		[ -d "$f/deb" ] && { PIB_FIXTURES=$(cd "$f" && pwd); break; }
	done
fi
[ -n "${PIB_FIXTURES:-}" ] || { echo "tests/run.sh: no fixtures: ../shared/fixtures is missing; set PIB_FIXTURES" >&2; exit 4; }
export PIB_FIXTURES

# one real Debian 12 root per test run, copied by each test that needs one
export PIB_GOLD_ROOT=${PIB_GOLD_ROOT:-/var/tmp/pib-gold-root}
tests/integration/make-gold.sh "$PIB_GOLD_ROOT"

[ -f build/build.ninja ] || meson setup build
meson compile -C build
meson test -C build --print-errorlogs --num-processes 2 "$@"

[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs
echo "all tests passed (normal and sanitizer builds)"
