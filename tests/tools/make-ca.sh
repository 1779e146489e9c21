#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes the test PKI of the HTTPS tests with the openssl CLI: a CA and a server certificate it
# signs (for 127.0.0.1, ::1 and localhost), and an unrelated second CA with its own server
# certificate (for "a certificate from another CA" tests).
#
# usage: make-ca.sh DIR
# writes DIR/ca.pem (+ ca.key), DIR/server.pem + server.key (SAN IP:127.0.0.1, IP:::1,
# DNS:localhost, signed by ca.pem), DIR/other-ca.pem (+ other-ca.key), DIR/other-server.pem +
# other-server.key (same names, signed by other-ca.pem). EC P-256 keys, valid for 2 days.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: make-ca.sh DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

# ca NAME SUBJECT: a self-signed CA, NAME.pem + NAME.key
ca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# server NAME CA: NAME.pem + NAME.key for 127.0.0.1, ::1 and localhost, signed by CA
server() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=localhost" 2>/dev/null
	printf '%s\n' 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost' \
		'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
		'extendedKeyUsage=serverAuth' >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
		-out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca ca "pib-agent test CA"
server server ca
ca other-ca "another test CA"
server other-server other-ca
chmod 644 ./*.pem
