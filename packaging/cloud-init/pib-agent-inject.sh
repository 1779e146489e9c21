#!/bin/sh
# SPDX-License-Identifier: MIT
# pib-agent's first-boot script: the text/x-shellscript part of the EC2 user-data that
# packaging/make-user-data.py writes (it fills in the three values below). cloud-init runs it
# once, as root. It fetches the portable agent tarball over HTTPS (curl, else GNU wget; never
# busybox wget, which does not check certificates), checks its SHA-256 before anything is
# unpacked, unpacks it into a private folder (mktemp -d, 0700) under $TMPDIR (default
# /var/tmp), runs `pib-agent run --job imds` (the job is the user-data's other part, read back
# over IMDSv2), removes the folder and exits with the agent's exit code.
# POSIX sh: runs under dash, bash and busybox sh.
#
# Exit codes: 0-5 the agent's own (see pib-agent(1)); 6 no private folder or no usable
# downloader; 7 the download failed; 8 the SHA-256 is not the expected one (nothing was
# unpacked, the agent never ran); 9 the tarball is not one pib-agent tree for this machine's
# architecture.
set -u

AGENT_URL='@AGENT_URL@'
AGENT_SHA256='@AGENT_SHA256@'
# PEM of the CA that signs the download server's certificate; empty: the image's CA store
AGENT_CA='@AGENT_CA@'

say() { echo "pib-agent-inject: $*" >&2; }

d=
# finish CODE: removes the private folder (the agent tree, the download) and exits with CODE
finish() {
	[ -n "$d" ] && rm -rf "$d"
	exit "$1"
}
trap 'finish 130' INT
trap 'finish 143' TERM
trap 'finish 129' HUP

umask 077
case $AGENT_URL in
https://*) ;;
*) say "the agent's URL must be https://"; finish 6 ;;
esac
case $AGENT_SHA256 in
*[!0-9a-f]*) say "the expected SHA-256 is not 64 lowercase hex digits"; finish 6 ;;
esac
[ ${#AGENT_SHA256} -eq 64 ] || { say "the expected SHA-256 is not 64 lowercase hex digits"; finish 6; }

d=$(mktemp -d "${TMPDIR:-/var/tmp}/pib-agent.XXXXXX") || { d=; say "cannot make a private folder"; finish 6; }
chmod 0700 "$d" || finish 6
if [ -n "$AGENT_CA" ]; then
	printf '%s\n' "$AGENT_CA" >"$d/ca.pem" || finish 6
fi

# the download: https only (redirects too), TLS 1.2 or later, retried
if command -v curl >/dev/null 2>&1; then
	set -- curl --proto =https --proto-redir =https --tlsv1.2 --fail --silent --show-error \
		--location --max-redirs 5 --retry 5 --retry-delay 2 --retry-connrefused \
		--connect-timeout 20 --max-time 1800 --output "$d/agent.tar.gz"
	[ -n "$AGENT_CA" ] && set -- "$@" --cacert "$d/ca.pem"
elif wget --version 2>/dev/null | grep -q 'GNU Wget'; then
	# no redirect at all: GNU wget could follow one to plain http
	set -- wget --quiet --https-only --secure-protocol=TLSv1_2 --max-redirect=0 --tries=5 \
		--waitretry=2 --retry-connrefused --timeout=60 --output-document="$d/agent.tar.gz"
	[ -n "$AGENT_CA" ] && set -- "$@" --ca-certificate="$d/ca.pem"
else
	say "neither curl nor GNU wget is installed (busybox wget does not check certificates)"
	finish 6
fi
"$@" "$AGENT_URL" || { say "the download of the agent failed ($1 exit $?)"; finish 7; }

# the digest, before anything of the tarball is read
got=$(sha256sum <"$d/agent.tar.gz") || { say "sha256sum failed"; finish 8; }
got=${got%% *}
if [ "$got" != "$AGENT_SHA256" ]; then
	say "the agent's tarball has SHA-256 $got, not the expected $AGENT_SHA256: refused, nothing unpacked"
	finish 8
fi

mkdir "$d/tree" || finish 9
gzip -dc "$d/agent.tar.gz" | (cd "$d/tree" && tar -xf -) || { say "the tarball cannot be unpacked"; finish 9; }
rm -f "$d/agent.tar.gz"
set -- "$d"/tree/pib-agent-*/bin/pib-agent
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	say "the tarball does not hold exactly one pib-agent-VERSION-ARCH/bin/pib-agent"
	finish 9
fi
agent=$1
top=${agent%/bin/pib-agent}
arch=$(uname -m)
case ${top##*/} in
*-"$arch") ;;
*) say "${top##*/} is not for this machine ($arch)"; finish 9 ;;
esac

"$agent" run --job imds
finish $?
