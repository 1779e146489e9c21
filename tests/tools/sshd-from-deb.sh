#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs Debian's sshd from an unpacked openssh-server .deb (not installed), for PIB_TEST_SSHD of
# unit-policy-accounts (its parser compared with `sshd -T`) on a machine without openssh-server.
#
# Usage: PIB_SSHD_TREE=DIR sshd-from-deb.sh SSHD-ARGS...
#   DIR holds `dpkg -x` of openssh-server and libwrap0 (apt-get download openssh-server libwrap0).
# sshd -T wants its privilege separation user and /run/sshd: a private mount namespace (root
# needed) gets a copy of /etc/passwd with an sshd user bind-mounted over the real one and an empty
# tmpfs on /run; nothing of the machine changes.
set -eu
D=${PIB_SSHD_TREE:?PIB_SSHD_TREE: the unpacked openssh-server tree}
P=$(mktemp)
trap 'rm -f "$P"' EXIT
cp /etc/passwd "$P"
grep -q '^sshd:' "$P" || echo 'sshd:x:101:65534::/run/sshd:/usr/sbin/nologin' >>"$P"
unshare -m sh -c 'p=$1 d=$2 && shift 2 && mount --bind "$p" /etc/passwd && mount -t tmpfs none /run &&
	mkdir /run/sshd && LD_LIBRARY_PATH="$d/usr/lib/x86_64-linux-gnu" "$d/usr/sbin/sshd" "$@"' sh "$P" "$D" "$@"
