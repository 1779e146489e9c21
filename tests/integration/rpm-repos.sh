#!/bin/bash
# SPDX-License-Identifier: MIT
# The image's own rpm repositories: resolve reads the root's /etc/yum.repos.d/*.repo file://
# repositories; the install copies the packages it takes from them out of the root (paths
# resolved inside it, SHA-256 checked) and gives them to this machine's dnf --installroot as
# local files (--disablerepo=*).
# Roots from tests/tools/make-rpm-root.sh --repo /srv/repo (a pib-local.repo for
# file:///srv/repo), packages and createrepo_c repositories of pib-repo-dep from
# tests/tools/make-test-rpms.sh; the bundle holds pib-needs-repo (Requires: pib-repo-dep).
#  - the repository found: pib-repo-dep from the image, pib-needs-repo from the bundle, installed
#    by dnf, both in the rpmdb and in the report; every compression of repodata (gz, xz, zst, bz2)
#  - $releasever, $releasever_major and $basearch in a baseurl expand (installers/rpm.c
#    expand_vars: RHEL's releasever is its major version, 9; the arch x86_64 read from /bin/sh);
#    a variable of the image's /etc/dnf/vars is used, and overrides releasever
#  - the root's file:// repository next to an unreachable https one: installed from the first
#  - refused, the root unchanged (every path and the rpmdb): a disabled repository, one on https
#    or with a variable the agent does not know (named in the problems as not read), a repomd.xml
#    whose primary index is outside the repository (".."), a .repo file or a repository folder
#    that is a link pointing out of the root (resolved inside the root: pib_path_in_root)
#  - refused: a primary index linked out of the root (not read), a repository package whose bytes
#    are not the index's (install.download_failed), the root unchanged
#  - links as this machine would see them: a repository folder that is a link inside the root
#    (installed), a repository package that is a link to a host file (not installed)
# the system's python: a python3 on PATH may be a slow shim (pyenv), and this test asks ~100 queries
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
setup

P=$T/rpms
"$TOOLS_DIR/make-test-rpms.sh" "$P" >"$T/mkrpms.out" 2>&1 || bail_out "make-test-rpms.sh failed: $(tail -n 20 "$T/mkrpms.out")"
TPL=$T/template
"$TOOLS_DIR/make-rpm-root.sh" "$TPL" --repo /srv/repo >"$T/mkroot.out" 2>&1 ||
	bail_out "make-rpm-root.sh failed: $(tail -n 20 "$T/mkroot.out")"

cat >"$T/needs-repo.json" <<EOF
{
  "schema": "pib-agent/bundle/v1",
  "product": {"name": "pib-needs-repo", "version": "1.0", "seller": "pib-agent tests"},
  "targets": [
    {
      "name": "rhel",
      "os": [{"id": "rhel", "versions": [">=8"]}],
      "arch": ["x86_64"],
      "installer": "rpm",
      "packages": [{"file": "rpms/pib-needs-repo-1.0-1.noarch.rpm", "_src": "$P/pib-needs-repo-1.0-1.noarch.rpm"}],
      "allow_unsigned": true
    }
  ]
}
EOF
B=$T/needs-repo.tar.gz
mkbundle "$B" --manifest "$T/needs-repo.json"

# rpmdb ROOT: the packages of ROOT's rpmdb, sorted.
rpmdb() {
	rpm --root "$1" --dbpath /var/lib/rpm -qa 2>&1 | sort
}
# new_root NAME [REPO]: a copy of the template root at $T/NAME (echoed), with the repository
# $P/REPO (repo, repo-xz, ...) copied into its /srv/repo.
new_root() {
	local r=$T/$1
	rm -rf --one-file-system "$r"
	cp -a "$TPL" "$r" || bail_out "cp -a $TPL $r"
	if [ -n "${2:-}" ]; then
		cp -a "$P/$2/." "$r/srv/repo/" || bail_out "cp -a $P/$2 $r/srv/repo"
	fi
	echo "$r"
}
# before ROOT / unchanged LABEL ROOT: ROOT's whole tree and its rpmdb, then the same after a run.
before() {
	rpmdb "$1" >"$T/before.db"
	snap "$1" >"$T/before.snap"
}
unchanged() {
	snap "$2" >"$T/after.snap"
	same_tree "$1: the root is unchanged (every path)" "$T/before.snap" "$T/after.snap"
	is "$1: the rpmdb is unchanged" "$(rpmdb "$2")" "$(cat "$T/before.db")"
}
# resolved LABEL: the resolve step's transaction is pib-repo-dep from the image's repository
# REPO_ID and pib-needs-repo from the bundle.
resolved() {
	local label=$1 repo_id=${2:-pib-local}
	is "$label: resolve ok" "$(rep 'steps[name=resolve].status')" ok
	is "$label: the transaction" "$(rep 'steps[name=resolve].transaction.name' | tr '\n' ' ')" \
		"pib-repo-dep pib-needs-repo "
	is "$label: pib-repo-dep comes from the image" \
		"$(rep 'steps[name=resolve].transaction[name=pib-repo-dep].source')" image
	is "$label: pib-needs-repo comes from the bundle" \
		"$(rep 'steps[name=resolve].transaction[name=pib-needs-repo].source')" bundle
	is "$label: the report names the repository of pib-repo-dep" \
		"$(rep 'packages[name=pib-repo-dep].repository')" "$repo_id"
}
# unsatisfiable LABEL: the run failed at resolve, the problems say nothing provides pib-repo-dep.
PROBLEMS=
unsatisfiable() {
	is "$1: exit code 2" "$RC" 2
	is "$1: error.code" "$(rep error.code)" resolve.unsatisfiable
	is "$1: the resolve step failed" "$(rep 'steps[name=resolve].status')" failed
	is "$1: no install step (the run stopped at resolve)" "$(rep 'steps[name=install].status')" ""
	PROBLEMS=$(rep 'steps[name=resolve].problems')
	contains "$1: the problems say nothing provides pib-repo-dep" "$PROBLEMS" \
		"nothing provides pib-repo-dep needed by pib-needs-repo-1.0-1.noarch"
}
# installed LABEL ROOT: both packages installed by dnf, in the rpmdb, on disk and in the report.
installed() {
	local label=$1 r=$2 out
	is "$label: exit code 0" "$RC" 0
	status_good "$label"
	is "$label: the install step's tool is dnf" "$(rep 'steps[name=install].tool')" dnf
	is "$label: not contained (the root has no rpm of its own)" "$(rep 'steps[name=install].contained')" false
	out=$(rep 'steps[name=install].output')
	contains "$label: the output has this machine's dnf on the root" "$out" "dnf -y"
	contains "$label: ... with --installroot=ROOT" "$out" "--installroot=$r "
	is "$label: the rpmdb holds the base and both packages" "$(rpmdb "$r" | tr '\n' ' ')" \
		"pib-needs-repo-1.0-1.noarch pib-repo-dep-1.0-1.noarch pib-test-base-1.0-1.x86_64 "
	is "$label: pib-repo-dep's file is in the root" "$(cat "$r/opt/pib-repo-dep/f" 2>&1)" "pib-repo-dep 1.0"
	is "$label: pib-needs-repo's file is in the root" "$(cat "$r/opt/pib-needs-repo/f" 2>&1)" "pib-needs-repo 1.0"
	is "$label: the report lists both packages" "$(rep packages.name | sort | tr '\n' ' ')" \
		"pib-needs-repo pib-repo-dep "
	is "$label: pib-repo-dep in the report: source image" "$(rep 'packages[name=pib-repo-dep].source')" image
	is "$label: pib-repo-dep's sha256 is the repository's file's" "$(rep 'packages[name=pib-repo-dep].sha256')" \
		"$(sha256_of "$P/repo/pib-repo-dep-1.0-1.noarch.rpm")"
	is "$label: pib-repo-dep's files in the report" "$(report_files pib-repo-dep)" /opt/pib-repo-dep/f
	is "$label: pib-needs-repo in the report: source bundle" "$(rep 'packages[name=pib-needs-repo].source')" bundle
	is "$label: pib-needs-repo's member" "$(rep 'packages[name=pib-needs-repo].member')" \
		rpms/pib-needs-repo-1.0-1.noarch.rpm
}

# ---------------------------------------------------------------- the repository, installed
R=$(new_root gz repo)
validate "$B" --root "$R" --no-scan
installed "gz repository" "$R"
resolved "gz repository"
# dnf --installroot puts its cachedir inside the root: the agent's private cache must not be left there
is "gz repository: nothing of the agent's dnf cache (pib-dnf.*) is left in the root" \
	"$(cd "$R" && find . -path '*pib-dnf*' -prune -print | head -n 3)" ""
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- every compression resolves
for repo in repo-xz repo-zst repo-bz2; do
	R=$(new_root "$repo" "$repo")
	ls "$R/srv/repo/repodata" >"$T/md.list"
	case $repo in
	repo-xz) ext=xml.xz ;; repo-zst) ext=xml.zst ;; repo-bz2) ext=xml.bz2 ;;
	esac
	check "$repo: its primary index is *-primary.$ext" grep -q "primary\.$ext\$" "$T/md.list"
	before "$R"
	validate "$B" --root "$R" --no-scan --dry-run
	is "$repo: exit code 0 (--dry-run)" "$RC" 0
	resolved "$repo"
	is "$repo: install skipped (--dry-run)" "$(rep 'steps[name=install].status')" skipped
	unchanged "$repo (--dry-run)" "$R"
	rm -rf --one-file-system "$R"
done

# ---------------------------------------------------------------- variables in the baseurl
# installed for real: dnf (--releasever from the root) must find the same folder
R=$(new_root vars)
mkdir -p "$R/srv/repo/9/x86_64"
cp -a "$P/repo/." "$R/srv/repo/9/x86_64/"
sed -i 's|^baseurl=.*|baseurl=file:///srv/repo/$releasever/$basearch|' "$R/etc/yum.repos.d/pib-local.repo"
has_line "vars: the .repo file's baseurl" "$(cat "$R/etc/yum.repos.d/pib-local.repo")" \
	'baseurl=file:///srv/repo/$releasever/$basearch'
validate "$B" --root "$R" --no-scan
installed "\$releasever/\$basearch" "$R"
resolved "\$releasever/\$basearch"
rm -rf --one-file-system "$R"

# the image's own variables: /etc/dnf/vars/NAME (here $pibmirror, and releasever itself)
R=$(new_root vars-file)
mkdir -p "$R/srv/mirror-a/9.4-eus" "$R/etc/dnf/vars"
cp -a "$P/repo/." "$R/srv/mirror-a/9.4-eus/"
echo mirror-a >"$R/etc/dnf/vars/pibmirror"
echo 9.4-eus >"$R/etc/dnf/vars/releasever"
sed -i 's|^baseurl=.*|baseurl=file:///srv/$pibmirror/$releasever|' "$R/etc/yum.repos.d/pib-local.repo"
validate "$B" --root "$R" --no-scan --dry-run
is "/etc/dnf/vars: exit code 0 (--dry-run)" "$RC" 0
resolved "/etc/dnf/vars (\$pibmirror, \$releasever)"
rm -rf --one-file-system "$R"

R=$(new_root vars-major)
mkdir -p "$R/srv/el9/x86_64"
cp -a "$P/repo/." "$R/srv/el9/x86_64/"
sed -i 's|^baseurl=.*|baseurl=file:///srv/el${releasever_major}/$arch/|' "$R/etc/yum.repos.d/pib-local.repo"
before "$R"
validate "$B" --root "$R" --no-scan --dry-run
is "\${releasever_major}/\$arch: exit code 0 (--dry-run)" "$RC" 0
resolved "\${releasever_major}/\$arch"
unchanged "\${releasever_major}/\$arch (--dry-run)" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- refused: a disabled repository
R=$(new_root disabled repo)
sed -i 's/^enabled=1$/enabled=0/' "$R/etc/yum.repos.d/pib-local.repo"
has_line "disabled: the .repo file says enabled=0" "$(cat "$R/etc/yum.repos.d/pib-local.repo")" enabled=0
before "$R"
validate "$B" --root "$R" --no-scan
unsatisfiable "enabled=0"
if grep -q pib-local <<<"$PROBLEMS"; then
	fail "enabled=0: the disabled repository is not named as one not read" "$PROBLEMS"
else
	ok "enabled=0: the disabled repository is not named as one not read"
fi
unchanged "enabled=0" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- refused: https, unknown variable
R=$(new_root https repo)
sed -i 's|^baseurl=.*|baseurl=https://repo.example.invalid/el9/x86_64/|' "$R/etc/yum.repos.d/pib-local.repo"
before "$R"
validate "$B" --root "$R" --no-scan
unsatisfiable "https baseurl"
contains "https baseurl: the problems name the repository as not read" "$PROBLEMS" \
	"repository pib-local (/etc/yum.repos.d/pib-local.repo) was not read: only file:// repositories are read while resolving"
unchanged "https baseurl" "$R"
rm -rf --one-file-system "$R"

# An https repository next to the file:// one (as real images have: the vendor's network
# repositories, unreachable here): resolve takes pib-repo-dep from the file:// one, and the
# install must get it from there too.
R=$(new_root https-too repo)
printf '%s\n' "[pib-web]" "name=unreachable" "baseurl=https://repo.example.invalid/el9/x86_64/" "enabled=1" \
	"gpgcheck=0" >"$R/etc/yum.repos.d/pib-web.repo"
validate "$B" --root "$R" --no-scan
resolved "https repository too"
is "https repository too: installed from the file:// repository (exit code 0)" "$RC" 0
rm -rf --one-file-system "$R"

R=$(new_root unknown-var repo)
sed -i 's|^baseurl=.*|baseurl=file:///srv/repo/$contentdir/|' "$R/etc/yum.repos.d/pib-local.repo"
before "$R"
validate "$B" --root "$R" --no-scan
unsatisfiable "unknown variable"
contains "unknown variable: the problems name the repository as not read" "$PROBLEMS" \
	"repository pib-local (/etc/yum.repos.d/pib-local.repo) was not read: its baseurl uses a variable the agent does not know"
unchanged "unknown variable" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- refused: primary index out of the repository
# /srv/outside is a whole good copy of the repository; /srv/repo's repomd.xml points at its
# primary index with "../outside/repodata/..."
R=$(new_root dotdot repo)
mkdir -p "$R/srv/outside"
cp -a "$P/repo/." "$R/srv/outside/"
sed -i 's|<location href="repodata/\([0-9a-f]*-primary\.xml\.gz\)"|<location href="../outside/repodata/\1"|' \
	"$R/srv/repo/repodata/repomd.xml"
check "dotdot: repomd.xml's primary location is ../outside/repodata/..." \
	grep -q '<location href="\.\./outside/repodata/[0-9a-f]*-primary\.xml\.gz"' "$R/srv/repo/repodata/repomd.xml"
rm -f "$R"/srv/repo/repodata/*-primary.xml.gz
before "$R"
validate "$B" --root "$R" --no-scan
unsatisfiable "primary at ../outside"
contains "primary at ../outside: the problems name the repository as not read" "$PROBLEMS" \
	"repository pib-local (/etc/yum.repos.d/pib-local.repo, file:///srv/repo) was not read: its repomd.xml names no primary index"
unchanged "primary at ../outside" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- links pointing out of the root
# A host file $H/pib-host.repo defines the repository "pib-host" at file:///srv/repo, which the
# root holds: read from the host, it would resolve. Inside the root the link's target is missing.
H=$T/host-side
mkdir -p "$H"
printf '%s\n' "[pib-host]" "name=read from the host" "baseurl=file:///srv/repo" "enabled=1" "gpgcheck=0" \
	>"$H/pib-host.repo"
for how in absolute relative; do
	R=$(new_root "link-$how" repo)
	rm "$R/etc/yum.repos.d/pib-local.repo"
	if [ "$how" = absolute ]; then
		ln -s "$H/pib-host.repo" "$R/etc/yum.repos.d/pib-host.repo"
	else
		# from ROOT/etc/yum.repos.d, enough ".." to reach the host's / and more
		ln -s "../../../../../../../../../../../../../../../..$H/pib-host.repo" "$R/etc/yum.repos.d/pib-host.repo"
	fi
	check "link-$how: on the host, the link reaches the host's file" grep -q pib-host "$R/etc/yum.repos.d/pib-host.repo"
	check_not "link-$how: inside the root, its target is missing" test -e "$R$H/pib-host.repo"
	before "$R"
	validate "$B" --root "$R" --no-scan
	unsatisfiable "$how .repo link out of the root"
	if grep -q pib-host <<<"$PROBLEMS$(rep 'steps[name=resolve].transaction')"; then
		fail "$how .repo link out of the root: the host's repository pib-host is nowhere in the resolve step" "$PROBLEMS"
	else
		ok "$how .repo link out of the root: the host's repository pib-host is nowhere in the resolve step"
	fi
	unchanged "$how .repo link out of the root" "$R"
	rm -rf --one-file-system "$R"
done

# The same absolute link, and the root has its own file at the link's target path (repository
# "pib-inroot"): that one is read, by resolve and by dnf (installed for real).
R=$(new_root link-inroot repo)
rm "$R/etc/yum.repos.d/pib-local.repo"
ln -s "$H/pib-host.repo" "$R/etc/yum.repos.d/pib-host.repo"
mkdir -p "$R$H"
printf '%s\n' "[pib-inroot]" "name=the root's own file" "baseurl=file:///srv/repo" "enabled=1" "gpgcheck=0" \
	>"$R$H/pib-host.repo"
validate "$B" --root "$R" --no-scan
installed ".repo link resolved inside the root" "$R"
resolved ".repo link resolved inside the root" pib-inroot
out=$(rep 'steps[name=install].output')
is ".repo link resolved inside the root: pib-repo-dep comes from pib-inroot" "$(rep 'packages[name=pib-repo-dep].repository')" pib-inroot
contains ".repo link resolved inside the root: dnf read no repository, only the copied files" "$out" "--disablerepo=*"
if grep -q pib-host <<<"$out"; then
	fail ".repo link resolved inside the root: dnf never saw the host's pib-host" "$out"
else
	ok ".repo link resolved inside the root: dnf never saw the host's pib-host"
fi
rm -rf --one-file-system "$R"

# The repository folder itself is a link to a host copy of the repository.
cp -a "$P/repo" "$T/host-repo"
R=$(new_root link-repo-dir)
rmdir "$R/srv/repo"
ln -s "$T/host-repo" "$R/srv/repo"
check "link-repo-dir: on the host, the link reaches a repository" test -f "$R/srv/repo/repodata/repomd.xml"
before "$R"
validate "$B" --root "$R" --no-scan
unsatisfiable "repository folder linked out of the root"
contains "repository folder linked out of the root: the problems name the repository as not read" "$PROBLEMS" \
	"repository pib-local (/etc/yum.repos.d/pib-local.repo, file:///srv/repo) was not read: its repodata/repomd.xml cannot be read"
unchanged "repository folder linked out of the root" "$R"
rm -rf --one-file-system "$R"

# The primary index is a link to a host copy of it (the root lacks the target).
R=$(new_root link-primary repo)
prim=$(cd "$R/srv/repo/repodata" && ls -- *-primary.xml.gz)
mkdir -p "$T/host-md"
mv "$R/srv/repo/repodata/$prim" "$T/host-md/"
ln -s "$T/host-md/$prim" "$R/srv/repo/repodata/$prim"
check "link-primary: on the host, the link reaches the primary index" test -s "$R/srv/repo/repodata/$prim"
before "$R"
validate "$B" --root "$R" --no-scan
# (followed inside the root, the link leads to nothing: the repository is "not read", like any other broken one)
is "primary index linked out of the root: exit code 2" "$RC" 2
is "primary index linked out of the root: error.code" "$(rep error.code)" resolve.unsatisfiable
contains "primary index linked out of the root: the problems name the repository as not read" \
	"$(rep 'steps[name=resolve].problems')" "was not read: the primary index its repomd.xml names is not a file inside the root"
unchanged "primary index linked out of the root" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- a package that is not the index's
# The repository's pib-repo-dep file is replaced by another package's bytes: its SHA-256 is not
# the one of the repository's index.
R=$(new_root wrong-bytes repo)
cp "$P/pib-ok-1.0-1.noarch.rpm" "$R/srv/repo/pib-repo-dep-1.0-1.noarch.rpm"
before "$R"
validate "$B" --root "$R" --no-scan
is "repository package changed: exit code 2" "$RC" 2
is "repository package changed: error.code" "$(rep error.code)" install.download_failed
contains "repository package changed: the error gives both digests" "$(rep error.message)" \
	"has SHA-256 $(sha256_of "$P/pib-ok-1.0-1.noarch.rpm"), the repository's index says $(sha256_of "$P/repo/pib-repo-dep-1.0-1.noarch.rpm")"
unchanged "repository package changed" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- links inside the root, as this machine sees them
# The repository folder is an absolute link to another folder of the root: resolve reads it
# there (inside the root); the install must find the same packages.
R=$(new_root link-inside)
rmdir "$R/srv/repo"
mkdir -p "$R/srv/repo-real"
cp -a "$P/repo/." "$R/srv/repo-real/"
ln -s /srv/repo-real "$R/srv/repo"
validate "$B" --root "$R" --no-scan
installed "repository folder linked inside the root" "$R"
resolved "repository folder linked inside the root"
rm -rf --one-file-system "$R"

# A package file of the repository is a link to a host file (the root lacks it): what resolve
# chose from the image's repository must not be installed from the host.
mkdir -p "$T/host-pkg"
R=$(new_root link-pkg repo)
mv "$R/srv/repo/pib-repo-dep-1.0-1.noarch.rpm" "$T/host-pkg/"
ln -s "$T/host-pkg/pib-repo-dep-1.0-1.noarch.rpm" "$R/srv/repo/pib-repo-dep-1.0-1.noarch.rpm"
check_not "link-pkg: inside the root, the package's link target is missing" test -e "$R$T/host-pkg/pib-repo-dep-1.0-1.noarch.rpm"
before "$R"
validate "$B" --root "$R" --no-scan
is "repository package linked to a host file: exit code 2" "$RC" 2
is "repository package linked to a host file: error.code" "$(rep error.code)" install.download_failed
contains "repository package linked to a host file: the error names the package's path in the root" \
	"$(rep error.message)" "/srv/repo/pib-repo-dep-1.0-1.noarch.rpm (inside $R)"
is "repository package linked to a host file: pib-repo-dep is not installed" \
	"$(rpmdb "$R" | grep -c pib-repo-dep)" 0
unchanged "repository package linked to a host file" "$R"
rm -rf --one-file-system "$R"

# ---------------------------------------------------------------- a decompression bomb
# 5 MB of gzip that unpacks to 1.1 GiB of valid XML: the index is streamed into libsolv, and
# stopped at 1 GiB (resolve.error) instead of being read to its end
R=$(new_root bomb)
mkdir -p "$R/srv/repo/repodata"
"$PYTHON" - "$R/srv/repo/repodata" <<'PY'
import gzip, sys
d = sys.argv[1]
with gzip.open(d + "/primary.xml.gz", "wb", compresslevel=1) as f:
    f.write(b'<?xml version="1.0"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" packages="0">')
    chunk = b" " * (1 << 20)
    for _ in range(1100):
        f.write(chunk)
    f.write(b"</metadata>\n")
open(d + "/repomd.xml", "w").write('<repomd><data type="primary"><location href="repodata/primary.xml.gz"/></data></repomd>')
PY
before "$R"
validate "$B" --root "$R" --no-scan
is "index bomb: exit code 2" "$RC" 2
is "index bomb: resolve.error" "$(rep error.code)" resolve.error
contains "index bomb: the message says it is over 1 GiB" "$(rep error.message)" "is over 1024 MiB uncompressed"
unchanged "index bomb" "$R"
rm -rf --one-file-system "$R"

done_testing
