#!/bin/bash
# SPDX-License-Identifier: MIT
# The portable tree's TLS trust: with no ca_bundle in the job, the agent trusts the image's own
# CA store wherever the image's OS family keeps it (Debian/Ubuntu, RHEL/Fedora/Amazon Linux,
# RHEL's extracted bundle, SUSE, SUSE 15's real file, Alpine), never a file of the tree or of the
# machine that built it; with a ca_bundle it trusts that file alone. Each case is a real
# `pib-agent deliver` of a signed report, run from the portable tree (packaging/portable.sh)
# inside a root holding only a static busybox and the tree, to tests/tools/orchestrator.py on
# 127.0.0.1 (HTTPS, a CA made by make-ca.sh); tests/tools/spool-tool puts the report into the
# spool with the job's ca_bundle (or none).
. "$(dirname "$0")/lib.sh"

setup
SPOOL_TOOL=${PIB_SPOOL_TOOL:-}
[ -x "$SPOOL_TOOL" ] || bail_out "PIB_SPOOL_TOOL is not set to the spool-tool binary"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || bail_out "no $BUSYBOX (busybox-static)"
command -v unshare >/dev/null || bail_out "no unshare (util-linux)"

"$TOOLS_DIR/make-ca.sh" "$T/pki" >/dev/null 2>&1 || bail_out "make-ca.sh failed"
"$PIB_AGENT" keygen --out "$T/key" >/dev/null 2>&1 || bail_out "pib-agent keygen failed"
"$REPO_DIR/tests/scan/make-db.sh" "$T/db" >/dev/null 2>&1 || bail_out "make-db.sh failed"
echo "a file to scan" >"$T/scanned"
"$PIB_AGENT" scan "$T/scanned" --db "$T/db" --key "$T/key.key" --report "$T/r.json" </dev/null \
	>/dev/null 2>"$T/scan.err" || bail_out "pib-agent scan failed: $(cat "$T/scan.err")"

# The tree, made once per commit by portable.sh (it locks and rebuilds only what changed).
mkdir -p "$T/out"
tarball=$("$REPO_DIR/packaging/portable.sh" "$T/out" 2>"$T/portable.err" | tail -n 1)
[ -f "$tarball" ] || bail_out "packaging/portable.sh made no tarball: $(tail -n 5 "$T/portable.err")"

# The root: busybox, its applets as links, the tree under /opt, a state folder. Nothing else.
R=$T/root
mkdir -p "$R/bin" "$R/opt" "$R/tmp" "$R/proc" "$R/state" "$R/dev"
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s /bin || bail_out "busybox --install failed"
tar -C "$R/opt" -xzf "$tarball" || bail_out "cannot unpack $tarball"
tree=$(basename "$tarball" .tar.gz)
AGENT=/opt/$tree/bin/pib-agent
[ -x "$R$AGENT" ] || bail_out "no $AGENT in the tarball"
check "the root has no C library but the tree's" \
	test -z "$(find "$R" -name 'libc.so*' -not -path "$R/opt/$tree/lib/*")"

"$PYTHON" "$TOOLS_DIR/orchestrator.py" --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
	--bundles "$T" --reports "$T/reports" --log "$T/orch.log" --port-file "$T/port" \
	--faults "$T/faults" >"$T/orch.err" 2>&1 &
ORCH_PID=$!
trap 'kill "$ORCH_PID" 2>/dev/null; _cleanup' EXIT
mkdir -p "$T/reports"
for _ in $(seq 100); do
	[ -s "$T/port" ] && break
	sleep 0.1
done
[ -s "$T/port" ] || bail_out "the orchestrator did not start: $(tail -n 5 "$T/orch.err")"
PORT=$(cat "$T/port")

STORES="/etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt
/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem /etc/ssl/ca-bundle.pem
/var/lib/ca-certificates/ca-bundle.pem /etc/ssl/cert.pem"

# no_stores: the root with none of the CA stores
no_stores() {
	rm -rf "$R/etc" "$R/var" "$R/ca"
	mkdir -p "$R/etc"
}

# deliver BUILD CA|-: the report spooled for BUILD (with the job's ca_bundle CA, a path inside
# the root, or none), then `pib-agent deliver` from the tree in the root under env -i, with
# /proc mounted in a private mount namespace. Sets RC; stderr in $T/deliver.err.
deliver() {
	rm -rf "$R/state"
	mkdir -p "$R/state"
	chmod 0700 "$R/state"
	"$SPOOL_TOOL" put "$R/state" "$1" final "https://127.0.0.1:$PORT/reports/$1" POST "$2" "$T/r.json" \
		2>"$T/put.err" || bail_out "spool-tool put $1 failed: $(cat "$T/put.err")"
	env -i PIB_DELIVER_SECONDS=3 timeout -k 5 120 unshare -m --propagation private /bin/sh -c \
		'mount -t proc proc "$1/proc" && exec chroot "$1" "$2" deliver --state-dir /state' \
		sh "$R" "$AGENT" </dev/null >"$T/deliver.out" 2>"$T/deliver.err"
	RC=$?
}

i=0
for store in $STORES; do
	i=$((i + 1))
	no_stores
	mkdir -p "$R$(dirname "$store")"
	# a bundle as the image keeps it: another CA first, ours after it
	cat "$T/pki/other-ca.pem" "$T/pki/ca.pem" >"$R$store"
	deliver "store$i" -
	is "the image's CA store at $store is trusted (deliver exits 0)" "$RC" 0
	[ "$RC" = 0 ] || diag "$(tail -n 5 "$T/deliver.err")"
	contains "the orchestrator received the report (store$i)" "$(cat "$T/orch.log")" "/reports/store$i"
done

no_stores
deliver nostore -
is "no CA store in the image and no ca_bundle: deliver keeps the report (exit 5)" "$RC" 5
contains "the failure is the server certificate" "$(cat "$T/deliver.err")" "certificate"

no_stores
mkdir -p "$R/etc/ssl/certs"
cp "$T/pki/other-ca.pem" "$R/etc/ssl/certs/ca-certificates.crt"
deliver otherstore -
is "the image's store without the orchestrator's CA: refused (exit 5)" "$RC" 5

# the job's ca_bundle alone: trusted even when the image's store lacks it
mkdir -p "$R/ca"
cp "$T/pki/ca.pem" "$R/ca/job-ca.pem"
deliver jobca /ca/job-ca.pem
is "the job's ca_bundle is trusted (exit 0)" "$RC" 0
[ "$RC" = 0 ] || diag "$(tail -n 5 "$T/deliver.err")"

# ... and is the only thing trusted: the image's store has our CA, the ca_bundle another one
rm -rf "$R/etc"
mkdir -p "$R/etc/ssl/certs"
cp "$T/pki/ca.pem" "$R/etc/ssl/certs/ca-certificates.crt"
cp "$T/pki/other-ca.pem" "$R/ca/job-ca.pem"
deliver jobonly /ca/job-ca.pem
is "a ca_bundle of another CA is refused even when the image's store would trust the server (exit 5)" "$RC" 5

done_testing
