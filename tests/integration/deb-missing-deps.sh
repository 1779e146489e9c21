#!/bin/bash
# SPDX-License-Identifier: MIT
# cowsay alone cannot be installed into the gold root: its dependency
# libtext-charwidth-perl is neither in the root nor in the bundle, and the root has no
# repository. The run fails with exit 2 and resolve.unsatisfiable naming what is missing,
# and the root is left exactly as it was. A package that dpkg knows only as removed
# ("deinstall ok config-files") or broken ("half-installed") does not count as present.
. "$(dirname "$0")/lib.sh"
setup
gold_root

B=$T/cowsay.tar.gz
mkbundle "$B" --deb "$DEB_COWSAY"

# Which of cowsay's dependencies the gold root lacks (minbase has perl through usrmerge).
missing=()
for d in libtext-charwidth-perl perl; do
	[ "$(dpkg_status "$PIB_GOLD_ROOT" "$d")" = "install ok installed" ] || missing+=("$d")
done
diag "cowsay's dependencies missing from the gold root: ${missing[*]}"
has_line "precondition: the gold root lacks libtext-charwidth-perl" \
	"$(printf '%s\n' "${missing[@]}")" libtext-charwidth-perl

stanza() { # stanza STATUS: a dpkg status entry for libtext-charwidth-perl in that state
	cat <<-EOF
	Package: libtext-charwidth-perl
	Status: $1
	Priority: optional
	Section: perl
	Installed-Size: 22
	Maintainer: Debian Perl Group <pkg-perl-maintainers@lists.alioth.debian.org>
	Architecture: amd64
	Version: 0.04-11
	Config-Version: 0.04-11
	Depends: libc6 (>= 2.4), perl-base (>= 5.36.0-4), perlapi-5.36.0
	Description: get display widths of characters on the terminal
	 This module permits perl software to get the display widths of characters.

	EOF
}

one_case() { # one_case LABEL [STATUS-WORDS]
	local label=$1 words=${2:-} R=$T/root-$1 m msg err
	copy_root "$R"
	if [ -n "$words" ]; then
		stanza "$words" >>"$R/var/lib/dpkg/status"
		is "$label: precondition: dpkg sees libtext-charwidth-perl as '$words'" \
			"$(dpkg_status "$R" libtext-charwidth-perl)" "$words"
	fi
	snap "$R" >"$T/before-$label"

	validate "$B" --root "$R" --no-scan
	is "$label: exit code 2" "$RC" 2
	report_exists "$label"
	is "$label: status failed" "$(rep status)" failed
	is "$label: error.code" "$(rep error.code)" resolve.unsatisfiable
	msg=$(rep error.message)
	err=$(agent_stderr)
	contains "$label: stderr has the error code" "$err" resolve.unsatisfiable
	for m in "${missing[@]}"; do
		contains "$label: error.message names $m" "$msg" "$m"
		contains "$label: stderr names $m" "$err" "$m"
	done
	contains "$label: error.message names cowsay, the package that needs them" "$msg" cowsay
	if [ "$(rep 'steps[name=install].status')" = ok ]; then
		fail "$label: the install step did not run"
	else
		ok "$label: the install step did not run"
	fi
	is "$label: cowsay is not installed" "$(dpkg_status "$R" cowsay)" ""
	snap "$R" >"$T/after-$label"
	same_tree "$label: the root is unchanged" "$T/before-$label" "$T/after-$label"
	rm -rf --one-file-system "$R"
}

one_case plain
one_case config-files "deinstall ok config-files"
one_case half-installed "install reinstreq half-installed"

done_testing
