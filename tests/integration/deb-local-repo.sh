#!/bin/bash
# SPDX-License-Identifier: MIT
# The cowsay bundle that cannot resolve against the bare gold root (deb-missing-deps.sh)
# installs once the root carries its own local apt repository: a file: source inside the
# root holding perl and libtext-charwidth-perl (fetched with apt-get download, indexed with
# dpkg-scanpackages, and apt-get update run in the root, as an image maker would). The
# image is offline: its Debian mirror entries stay in sources.list but their lists were
# never fetched, and the agent must not fetch them. Three images: a file: source (apt
# stores its list as a symlink to /srv/localrepo/./Packages, absolute inside the root),
# the same with lists lz4-compressed (Acquire::GzipIndexes, as Docker-built images do;
# libsolv cannot read lz4 directly), and a copy: source (apt copies the list: a regular
# file).
. "$(dirname "$0")/lib.sh"
setup
gold_root

B=$T/cowsay.tar.gz
mkbundle "$B" --deb "$DEB_COWSAY"

# The repository's packages: perl and libtext-charwidth-perl, plus whatever they need
# (recursively) that the gold root does not have installed.
want=(perl libtext-charwidth-perl)
while IFS= read -r d; do
	case $d in '<'*|'') continue ;; esac
	[ "$(dpkg_status "$PIB_GOLD_ROOT" "$d")" = "install ok installed" ] || want+=("$d")
done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances perl libtext-charwidth-perl 2>/dev/null |
	grep -v '^ ' | sort -u)
mapfile -t want < <(printf "%s\n" "${want[@]}" | sort -u)
diag "local repository packages: ${want[*]}"
DL=$T/downloads
mkdir -p "$DL"
chmod 755 "$T"
(cd "$DL" && apt-get download -q "${want[@]}" >"$T/download.log" 2>&1) ||
	bail_out "apt-get download ${want[*]} failed: $(tail -n 5 "$T/download.log")"
CHARWIDTH_DEB=$(ls "$DL"/libtext-charwidth-perl_*.deb)

# make_image R plain|lz4|copy: the gold root plus a local repository set up as an image
# maker would.
make_image() {
	local R=$1 kind=$2 line list scheme=file
	copy_root "$R"
	mkdir -p "$R/srv/localrepo"
	cp "$DL"/*.deb "$R/srv/localrepo/"
	(cd "$R/srv/localrepo" && dpkg-scanpackages . >Packages 2>"$T/scan.log") ||
		bail_out "dpkg-scanpackages failed: $(cat "$T/scan.log")"
	if [ "$kind" = lz4 ]; then
		lz4 -q -f "$R/srv/localrepo/Packages" "$R/srv/localrepo/Packages.lz4"
		rm "$R/srv/localrepo/Packages"
		printf '%s\n' 'Acquire::GzipIndexes "true";' 'Acquire::CompressionTypes::Order:: "lz4";' \
			>"$R/etc/apt/apt.conf.d/90pib-compressed-lists"
	fi
	[ "$kind" = copy ] && scheme=copy
	echo "deb [trusted=yes] $scheme:/srv/localrepo ./" >"$R/etc/apt/sources.list.d/local.list"
	# Fetch the local repository's list only: the image is offline.
	mv "$R/etc/apt/sources.list" "$R/etc/apt/sources.list.offline"
	chroot "$R" apt-get update -q >"$T/update.log" 2>&1 ||
		bail_out "chroot apt-get update failed: $(tail -n 5 "$T/update.log")"
	mv "$R/etc/apt/sources.list.offline" "$R/etc/apt/sources.list"
	line=$(chroot "$R" apt-cache policy libtext-charwidth-perl 2>&1)
	contains "$kind: precondition: the root's apt sees libtext-charwidth-perl in its local repository" \
		"$line" "$scheme:/srv/localrepo"
	if [ "$kind" = lz4 ]; then
		check "$kind: precondition: the root's apt list is lz4-compressed" \
			compgen -G "$R/var/lib/apt/lists/*Packages.lz4"
	fi
	list=$(compgen -G "$R/var/lib/apt/lists/_srv_localrepo_._Packages*" | head -n 1)
	if [ "$kind" = copy ]; then
		check "$kind: precondition: the root's apt list is a regular file" test -f "$list" -a ! -L "$list"
	else
		check "$kind: precondition: the root's apt list is a symlink into the repository" test -L "$list"
	fi
}

lists_of() { (cd "$1/var/lib/apt/lists" && find . -name partial -prune -o -name lock -prune -o -print | sort); }

one_case() {
	local kind=$1 R=$T/root-$1 out
	make_image "$R" "$kind"
	lists_of "$R" >"$T/lists-before-$kind"

	validate "$B" --root "$R" --no-scan
	is "$kind: exit code 0" "$RC" 0
	report_exists "$kind"
	status_good "$kind"
	is "$kind: dpkg: cowsay is 'install ok installed'" "$(dpkg_status "$R" cowsay)" "install ok installed"
	is "$kind: dpkg: libtext-charwidth-perl is 'install ok installed'" \
		"$(dpkg_status "$R" libtext-charwidth-perl)" "install ok installed"
	out=$(chroot "$R" /usr/games/cowsay moo 2>&1)
	contains "$kind: cowsay runs inside the root" "$out" "< moo >"
	names=$(rep packages.name)
	has_line "$kind: report lists cowsay" "$names" cowsay
	has_line "$kind: report lists libtext-charwidth-perl (from the local repository)" "$names" libtext-charwidth-perl
	is "$kind: report: libtext-charwidth-perl's sha256 is the local repository's .deb" \
		"$(rep 'packages[name=libtext-charwidth-perl].sha256')" "$(sha256_of "$CHARWIDTH_DEB")"
	is "$kind: report: cowsay's sha256 is the bundle's .deb" \
		"$(rep 'packages[name=cowsay].sha256')" "$(sha256_of "$DEB_COWSAY")"
	has_line "$kind: report: libtext-charwidth-perl's files include Text/CharWidth.pm" \
		"$(report_files libtext-charwidth-perl)" /usr/lib/x86_64-linux-gnu/perl5/5.36/Text/CharWidth.pm
	check "$kind: installed through the root's own apt (its history.log names cowsay)" \
		grep -q 'cowsay' "$R/var/log/apt/history.log"
	lists_of "$R" >"$T/lists-after-$kind"
	same_tree "$kind: no apt list was fetched from the network (the root's lists are as before)" \
		"$T/lists-before-$kind" "$T/lists-after-$kind"
	audit=$(dpkg --root="$R" --audit 2>&1)
	is "$kind: dpkg --audit finds nothing half-configured" "$audit" ""
	check_not "$kind: no policy-rc.d is left in the root" test -e "$R/usr/sbin/policy-rc.d"
	no_debs_left "$kind: no copy of the packages is left in the root" "$R"
	rm -rf --one-file-system "$R"
}

one_case plain
one_case lz4
one_case copy

done_testing
