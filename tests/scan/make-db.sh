#!/bin/sh
# SPDX-License-Identifier: MIT
# Makes a small ClamAV signature database in DIR with sigtool, for the tests and the README's
# example (no database ships with Debian): ClamAV's own test file by MD5 (ClamAV-Test-File,
# from the clamav-testfiles package) and the EICAR test string as a body signature
# (Test.EICAR.NDB). libclamav names them ClamAV-Test-File.UNOFFICIAL and
# Test.EICAR.NDB.UNOFFICIAL. Usage: make-db.sh DIR (created if needed; its two files replaced).
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 3
fi
dir=$1
clam=/usr/share/clamav-testfiles/clam.exe
for tool in sigtool od; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool is missing (apt-get install clamav coreutils)" >&2; exit 4; }
done
[ -r "$clam" ] || { echo "$0: $clam is missing (apt-get install clamav-testfiles)" >&2; exit 4; }
mkdir -p "$dir"
sigtool --md5 "$clam" | sed 's/:clam\.exe$/:ClamAV-Test-File/' >"$dir/test.hdb.tmp"
grep -q ':544:ClamAV-Test-File$' "$dir/test.hdb.tmp" || { echo "$0: sigtool gave an unexpected line" >&2; exit 4; }
mv "$dir/test.hdb.tmp" "$dir/test.hdb"
hex=$(printf '%s' 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' | od -An -tx1 | tr -d ' \n')
printf 'Test.EICAR.NDB:0:*:%s\n' "$hex" >"$dir/eicar.ndb.tmp"
mv "$dir/eicar.ndb.tmp" "$dir/eicar.ndb"
