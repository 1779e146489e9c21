#!/bin/bash
# SPDX-License-Identifier: MIT
# Target choice by the root's os-release and architecture. A bundle whose first target is
# rpm for rhel >=8 and whose second is deb for debian picks the deb target on the Debian
# gold root and installs it (nothing of the rpm target touches the root). A bundle that
# offers nothing for debian 12 x86_64 fails and says what it does offer. The root's
# os-release is read inside the root, also through an absolute symlink.
. "$(dirname "$0")/lib.sh"
setup

R=$T/root
copy_root "$R"
HELLO_SHA=$(sha256_of "$DEB_HELLO")
RPM_SHA=$(sha256_of "$RPM_HELLO")

cat >"$T/two.json" <<EOF
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "hello-everywhere", "version": "2.10", "seller": "pib-agent tests"},
  "targets": [
    {
      "name": "rhel",
      "os": [{"id": "rhel", "versions": [">=8"]}],
      "arch": ["x86_64"],
      "installer": "rpm",
      "packages": [{"file": "rpms/hello-2.0-1.x86_64.rpm", "_src": "$RPM_HELLO"}],
      "allow_unsigned": true
    },
    {
      "name": "debian-bookworm",
      "os": [{"id": "debian", "versions": [">=11,<13"]}, {"id": "ubuntu", "versions": [">=22.04"]}],
      "arch": ["x86_64"],
      "installer": "deb",
      "packages": [{"file": "debs/hello_2.10-3_amd64.deb", "_src": "$DEB_HELLO"}]
    }
  ]
}
EOF
B=$T/two.tar.gz
mkbundle "$B" --manifest "$T/two.json"

validate "$B" --root "$R" --no-scan
is "exit code 0" "$RC" 0
report_exists
status_good
is "the deb target (the second) is chosen" "$(rep target.name)" debian-bookworm
is "dpkg: hello is 'install ok installed'" "$(dpkg_status "$R" hello)" "install ok installed"
is "hello runs inside the root" "$(chroot "$R" /usr/bin/hello 2>&1)" "Hello, world!"
is "report lists hello only" "$(rep packages.name | tr '\n' ' ')" "hello "
is "report: hello's sha256 is the .deb's" "$(rep 'packages[name=hello].sha256')" "$HELLO_SHA"
if rep packages.sha256 | grep -qxF "$RPM_SHA"; then
	fail "the rpm is not among the packages"
else
	ok "the rpm is not among the packages"
fi
check_not "no rpm database was created in the root" test -e "$R/var/lib/rpm"
no_debs_left "no copy of the packages is left in the root" "$R"

# Nothing for this root: an rpm target and a deb target for arm64 only.
cat >"$T/none.json" <<EOF
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "hello-elsewhere", "version": "2.10", "seller": "pib-agent tests"},
  "targets": [
    {
      "name": "rhel",
      "os": [{"id": "rhel", "versions": [">=8"]}],
      "arch": ["x86_64"],
      "installer": "rpm",
      "packages": [{"file": "rpms/hello-2.0-1.x86_64.rpm", "_src": "$RPM_HELLO"}],
      "allow_unsigned": true
    },
    {
      "name": "debian-arm",
      "os": [{"id": "debian", "versions": ["12"]}],
      "arch": ["aarch64"],
      "installer": "deb",
      "packages": [{"file": "debs/hello_2.10-3_amd64.deb", "_src": "$DEB_HELLO"}]
    }
  ]
}
EOF
R2=$T/root2
copy_root "$R2"
snap "$R2" >"$T/before"
B2=$T/none.tar.gz
mkbundle "$B2" --manifest "$T/none.json"
validate "$B2" --root "$R2" --no-scan
is "no matching target: exit code 2" "$RC" 2
report_exists
is "no matching target: status failed" "$(rep status)" failed
code=$(rep error.code)
if [ -n "$code" ] && [ "$code" != null ]; then
	ok "no matching target: an error code is given ($code)"
else
	fail "no matching target: an error code is given" "error: $(rep error)"
fi
err=$(agent_stderr)
contains "no matching target: stderr says what the root is" "$err" "no target for debian 12 x86_64"
contains "no matching target: stderr lists the rhel target" "$err" "rhel >=8 x86_64"
contains "no matching target: stderr lists the arm64 debian target" "$err" "debian 12 aarch64"
snap "$R2" >"$T/after"
same_tree "no matching target: the root is unchanged" "$T/before" "$T/after"

# The root's /etc/os-release as an absolute symlink to /usr/lib/os-release, which says 13:
# only reading it inside the root (not the host's /usr/lib/os-release, which says 12)
# finds the debian 13 target.
R3=$T/root3
copy_root "$R3"
sed -i 's/^VERSION_ID=.*/VERSION_ID="13"/' "$R3/usr/lib/os-release"
ln -sfn /usr/lib/os-release "$R3/etc/os-release"
is "precondition: the host's os-release differs from the root's" \
	"$(. /usr/lib/os-release && echo "$VERSION_ID")" 12
cat >"$T/thirteen.json" <<EOF
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "hello-13", "version": "2.10", "seller": "pib-agent tests"},
  "targets": [
    {
      "name": "debian-12",
      "os": [{"id": "debian", "versions": ["12"]}],
      "arch": ["x86_64"],
      "installer": "deb",
      "packages": [{"file": "debs/hello_2.10-3_amd64.deb", "_src": "$DEB_HELLO"}]
    },
    {
      "name": "debian-13",
      "os": [{"id": "debian", "versions": ["13"]}],
      "arch": ["x86_64"],
      "installer": "deb",
      "packages": [{"file": "debs/hello_2.10-3_amd64.deb", "_src": "$DEB_HELLO"}]
    }
  ]
}
EOF
mkbundle "$T/thirteen.tar.gz" --manifest "$T/thirteen.json"
validate "$T/thirteen.tar.gz" --root "$R3" --no-scan
is "os-release via an absolute symlink: exit code 0" "$RC" 0
is "os-release via an absolute symlink: the debian 13 target is chosen" "$(rep target.name)" debian-13
is "os-release via an absolute symlink: the report's host says 13" "$(rep host.version_id)" 13
is "os-release via an absolute symlink: hello installed" "$(dpkg_status "$R3" hello)" "install ok installed"

done_testing
