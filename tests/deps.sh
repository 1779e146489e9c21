#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what pib-agent needs to build and to run its tests, on Debian 12 (as root).
# Set PIB_SKIP_APT=1 to skip (a machine already set up).
set -eu
[ "${PIB_SKIP_APT:-0}" = 1 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
BUILD="meson ninja-build pkg-config gcc libc6-dev libarchive-dev libsolv-dev libsolvext-dev libclamav-dev
 libcurl4-openssl-dev libcjson-dev libssl-dev liblzma-dev libmsi-dev libglib2.0-dev"
RUNTIME="dpkg apt mmdebstrap clamav clamav-testfiles openssl osslsigncode"
TESTS="dpkg-dev rpm zstd zip unzip lz4 python3 python3-securesystemslib python3-jsonschema debsig-verify
 debsigs gnupg chromium time procps binutils util-linux createrepo-c dnf db5.3-util busybox-static
 qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross lintian rpmlint systemd man-db curl wget python3-yaml
 python3-apt wixl msitools gcab osslsigncode wine64"
case "${1:-all}" in
build) PKGS="$BUILD" ;;
example) PKGS="$BUILD $RUNTIME python3 wixl" ;; # python3: the local orchestrator and IMDS stand-in of run-example.sh; wixl: the example's MSI
msi-example) PKGS="$BUILD $RUNTIME wixl wine64" ;; # validate-msi-example.sh: the MSI built with wixl, installed through Wine
rpm-example) PKGS="$BUILD $RUNTIME rpm busybox-static wixl" ;; # validate-rpm-example.sh: a test rpm root (rpmbuild, rpm) with busybox as /bin/sh
*) PKGS="$BUILD $RUNTIME $TESTS" ;;
esac
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
fi
# npm fetches the CycloneDX and HCL parsers the packaging tests use (from the npm registry). The
# machine's Node.js may come from elsewhere with its own npm: Debian's is installed only when
# there is none (Debian's npm package would conflict with such a nodejs).
if [ "${1:-all}" = all ] && ! command -v npm >/dev/null 2>&1; then
	apt-get update && apt-get install -y --no-install-recommends nodejs npm
fi
